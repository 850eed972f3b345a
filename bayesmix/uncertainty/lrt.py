"""The sequential bootstrap likelihood-ratio test of the number of components.

R mclust's ``mclustBootstrapLRT`` (McLachlan 1987): for ``k = 1, 2, ...`` the statistic
``LRTS = 2 (log L_{k+1} - log L_k)`` of the maximised log-likelihoods is referred to its
distribution under the ``k``-component fit, which the regularity conditions of the
chi-squared approximation do not give for mixtures. Each bootstrap replicate simulates
``n`` rows from the ``k``-component fit and refits both models to them by EM, started
from the fits to the original data; its statistic is twice the difference of the two
refits' log-likelihoods, and the p-value is ``(1 + #{replicates >= observed}) / (B +
1)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayesmix._validation import (
    check_array,
    check_covariance_type,
    check_int,
    check_random_state,
    check_real,
)
from bayesmix.covariance import get_structure
from bayesmix.em.sources import InMemorySource
from bayesmix.selection import select_em
from bayesmix.uncertainty.bootstrap import check_level
from bayesmix.uncertainty.refits import (
    RefitModel,
    check_n_jobs,
    parameters_of,
    run_replicates,
    simulate,
)

__all__ = ["LRT_COLUMNS", "bootstrap_lrt"]

#: Columns of :func:`bootstrap_lrt`'s table, in order.
LRT_COLUMNS = ("n_components", "log_likelihood_null", "log_likelihood_alternative", "lrts",
               "p_value", "n_boot")


@dataclass(frozen=True)
class _NullReplicate:
    """One replicate under ``null``: data simulated from it, both models refitted."""

    null: Any
    alternative: Any
    null_model: RefitModel
    alternative_model: RefitModel
    n_samples: int

    def __call__(self, rng: np.random.RandomState) -> float | None:
        source = InMemorySource(simulate(self.null, self.n_samples, rng))
        null_fit = self.null_model.fit(
            source, self.null_model.start_from_parameters(parameters_of(self.null)))
        if null_fit is None:
            return None
        alternative_fit = self.alternative_model.fit(
            source,
            self.alternative_model.start_from_parameters(parameters_of(self.alternative)))
        if alternative_fit is None:
            return None
        return 2.0 * (alternative_fit.log_likelihood - null_fit.log_likelihood)


def _fit(X: np.ndarray, n_components: int, covariance_type: str, random_state: Any,
         tol: float, max_iter: int) -> Any:
    """The maximum-likelihood fit with ``n_components``, started as select_em starts."""
    try:
        return select_em(X, n_components=[n_components], covariance_types=[covariance_type],
                         tol=tol, max_iter=max_iter, random_state=random_state
                         ).best_estimator_
    except ValueError as error:
        if n_components > 2:
            fix = f"Lower max_components to {n_components - 1}."
        else:
            fix = ("The first test (1 vs 2 components) needs it: pass more rows, or a "
                   "covariance_type with fewer parameters ('tied', 'diag', 'spherical').")
        raise ValueError(
            f"The {n_components}-component {covariance_type!r} model cannot be fitted "
            f"without a degenerate component ({error}). {fix}"
        ) from None


def bootstrap_lrt(
    X: Any,
    covariance_type: str,
    max_components: int,
    n_boot: int = 999,
    *,
    level: float | None = None,
    random_state: Any = None,
    tol: float = 1e-8,
    max_iter: int = 1000,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Bootstrap likelihood-ratio tests of ``k`` against ``k + 1`` components.

    R mclust's ``mclustBootstrapLRT`` (see the module docstring). Every model is fitted
    by :func:`~bayesmix.select_em`'s starts (mclust's hierarchical clustering and
    k-means, the highest likelihood kept); the bootstrap refits start from those fits.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
    covariance_type : str
        The structure of every model (``"tied"`` is mclust's ``"EEE"``).
    max_components : int
        The largest model: the tests are 1 vs 2, ..., ``max_components - 1`` vs
        ``max_components`` (mclust's ``maxG`` is ``max_components - 1``).
    n_boot : int, default=999
        Bootstrap replicates per test.
    level : float, optional
        Stop after the first test whose p-value exceeds ``level`` (mclust's sequential
        rule when ``maxG`` is not given); every test is run when ``None``.
    random_state : int, RandomState instance or None, default=None
        Seeds the fits' starts and the replicates.
    tol : float, default=1e-8
        Convergence threshold of every fit and refit on the change of the mean
        log-likelihood per row: tight, so that the statistics are those of maximised
        log-likelihoods.
    max_iter : int, default=1000
        EM iterations per fit and refit.
    n_jobs : int, optional
        Worker processes for the replicates (joblib's convention: ``None`` or 1, this
        process only; -1, every core; not 0).

    Returns
    -------
    pandas.DataFrame
        One row per test, indexed ``"k vs k+1"``: ``n_components`` (``k``),
        ``log_likelihood_null`` and ``log_likelihood_alternative`` (the maximised
        log-likelihoods of ``k`` and ``k + 1`` components), ``lrts`` (twice their
        difference), ``p_value`` (in ``[1 / (n_boot + 1), 1]``) and ``n_boot``.
        ``attrs["null_lrts"]`` maps each row's label to the replicates' statistics
        (a tuple), ``attrs["n_failed"]`` to the replicates redrawn after a failed refit.

    Raises
    ------
    ValueError
        For a bad argument (mclust's one-feature ``"E"`` or ``"V"`` for several
        features included), or a model that cannot be fitted without a degenerate
        component.

    See Also
    --------
    select_em : the number of components by BIC or ICL.
    bootstrap : standard errors of one fit.

    Examples
    --------
    >>> from bayesmix import bootstrap_lrt, load_old_faithful
    >>> table = bootstrap_lrt(load_old_faithful(), "tied", max_components=3, n_boot=19,
    ...                       random_state=0)
    >>> table[["lrts", "p_value"]].round(2)
              lrts  p_value
    1 vs 2  299.22     0.05
    2 vs 3   27.74     0.05
    """
    covariance_type = check_covariance_type(covariance_type)
    max_components = check_int(max_components, "max_components", min_value=2)
    n_boot = check_int(n_boot, "n_boot", min_value=1)
    if level is not None:
        level = check_level(level)
    tol = check_real(tol, "tol", min_value=0.0)
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    n_jobs = check_n_jobs(n_jobs)
    X = check_array(X, min_samples=max_components)
    get_structure(covariance_type).check_name_for_features(covariance_type, X.shape[1])
    seeds = check_random_state(random_state)  # one base seed per test, drawn in turn
    rows, null_lrts, n_failed = {}, {}, {}
    null = _fit(X, 1, covariance_type, random_state, tol, max_iter)
    for k in range(1, max_components):
        alternative = _fit(X, k + 1, covariance_type, random_state, tol, max_iter)
        observed = [float(fit.score(X)) * X.shape[0] for fit in (null, alternative)]
        replicate = _NullReplicate(null, alternative, RefitModel.like(null, tol, max_iter),
                                   RefitModel.like(alternative, tol, max_iter), X.shape[0])
        statistics, failed = run_replicates(replicate, n_boot, seeds, n_jobs)
        lrts = 2.0 * (observed[1] - observed[0])
        label = f"{k} vs {k + 1}"
        rows[label] = (k, observed[0], observed[1], lrts,
                       (1 + int(np.sum(np.asarray(statistics) >= lrts))) / (n_boot + 1),
                       n_boot)
        null_lrts[label], n_failed[label] = tuple(statistics), failed
        if level is not None and rows[label][4] > level:
            break
        null = alternative
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(LRT_COLUMNS))
    table.attrs.update(covariance_type=covariance_type, null_lrts=null_lrts,
                       n_failed=n_failed)
    return table
