"""``select_em``: the number of components and the structure by BIC or ICL, EM fits.

The data are validated and summarised once (one :class:`~bayesmix.em.sources.InMemorySource`
for the grid); every fit starts from mclust's hierarchical clustering, whose merge tree
serves every cell, and from k-means screened by a short EM run; the fits are
SQUAREM-accelerated and the criteria of each cell come from one density pass.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from bayesmix._validation import check_distinct_values, check_grid, check_int, check_option
from bayesmix.covariance import COVARIANCE_TYPES, n_parameters
from bayesmix.density import weighted_log_prob
from bayesmix.em import GaussianMixtureEM
from bayesmix.em.init import DETERMINISTIC_INITS, INIT_METHODS
from bayesmix.em.missing_source import memory_source
from bayesmix.em.sources import InMemorySource
from bayesmix.exceptions import ConvergenceWarning, DegenerateComponentWarning
from bayesmix.scoring import information_criteria
from bayesmix.selection.results import TABLE_COLUMNS, EMSelection

__all__ = ["CRITERIA", "RELATIVE_REG_COVAR", "SCREEN_TOL", "select_em"]

CRITERIA = ("bic", "icl")
#: :func:`select_em`'s default ``reg_covar``, relative to the smallest column variance.
RELATIVE_REG_COVAR = 1e-6
#: The tolerance to which :func:`select_em` runs its later start schemes before it
#: decides whether they are worth running to convergence.
SCREEN_TOL = 1e-3


def _bound_at(em: GaussianMixtureEM, tol: float) -> float:
    """The lower bound of ``em``'s run when its change first fell below ``tol``."""
    history = em.lower_bound_history_
    below = np.flatnonzero(np.abs(np.diff(history)) < tol)
    return float(history[below[0] + 1] if below.size else history[-1])


def _fit_cell(source: InMemorySource, starts: list[str], n_init: int,
              **params: Any) -> GaussianMixtureEM:
    """Fit one grid point from every start scheme and keep the highest likelihood.

    The first scheme runs to ``tol``. Each later one is screened as in a "small EM"
    (Biernacki, Celeux and Govaert 2003): it runs to the looser :data:`SCREEN_TOL`
    first and goes on to ``tol`` (within ``max_iter`` iterations in all) only if it then
    stands at least as high as the best run did at the same stage; a screened run with
    no iterations left is dropped. A deterministic scheme (``"hc"``) runs once, the others
    ``n_init`` times; an exact tie goes to the earlier scheme. The degenerate and
    convergence warnings go into the table.
    """
    tol = params.pop("tol")
    screen_tol = max(SCREEN_TOL, tol)
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateComponentWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        for scheme in starts:
            restarts = 1 if scheme in DETERMINISTIC_INITS else n_init
            em = GaussianMixtureEM(init_params=scheme, n_init=restarts,
                                   tol=tol if best is None else screen_tol, **params)
            em.fit(source)
            if best is not None:
                budget = em.max_iter - em.n_iter_
                if em.lower_bound_ < _bound_at(best, screen_tol) or budget == 0:
                    continue
                if screen_tol > tol:  # on to tol from where it stopped
                    em.set_params(tol=tol, warm_start=True, max_iter=budget).fit(source)
                    em.set_params(warm_start=False, max_iter=params["max_iter"])
            if best is None or em.lower_bound_ > best.lower_bound_:
                best = em
    return best


def _row(em: GaussianMixtureEM, X: np.ndarray) -> dict[str, Any]:
    """The table row of an estimator fitted on the validated rows ``X``."""
    notes = [f"component {k} degenerate ({why}): not selectable"
             for k, why in em.degenerate_reasons_.items()]
    if not em.converged_:
        notes.append(f"did not converge in max_iter={em.max_iter}")
    values = information_criteria(
        weighted_log_prob(X, em.weights_, em.means_, em.precisions_cholesky_,
                          em.covariance_type),
        n_parameters(em.n_components, em.n_features_in_, em.covariance_type))
    return {
        "n_components": em.n_components,
        "covariance_type": em.covariance_type,
        "log_likelihood": values["log_likelihood"],
        "n_parameters": values["n_parameters"],
        "bic": values["bic"],
        "icl": values["icl"],
        "degenerate": bool(em.degenerate_components_),
        "converged": bool(em.converged_),
        "note": "; ".join(notes),
    }


def _check_starts(init_params: Any) -> list[str]:
    """``init_params`` of :func:`select_em`: one scheme or a non-empty list of them."""
    schemes = [init_params] if isinstance(init_params, str) else check_distinct_values(
        "init_params", init_params, "('hc', 'kmeans')")
    return [check_option(scheme, "init_params", INIT_METHODS) for scheme in schemes]


def select_em(
    X: Any,
    n_components: Iterable[int] = range(1, 10),
    covariance_types: Iterable[str] = COVARIANCE_TYPES,
    *,
    criterion: str = "bic",
    n_init: int = 1,
    tol: float = 1e-6,
    max_iter: int = 1000,
    reg_covar: float | None = None,
    init_params: str | Iterable[str] = ("hc", "kmeans"),
    random_state: Any = None,
) -> EMSelection:
    """Choose the number of components and the covariance structure by BIC or ICL.

    Fits a :class:`~bayesmix.GaussianMixtureEM` for every pair of ``n_components`` and
    ``covariance_types`` and chooses the fit with the lowest criterion (scikit-learn's
    sign: lower is better; mclust reports the same numbers with the opposite sign). Fits
    with a degenerate component are flagged in the table and never chosen.

    Every fit starts from each scheme of ``init_params`` and keeps the highest
    likelihood. The default starts are mclust's (its model-based hierarchical
    clustering, whose one merge tree serves every number of components and structure)
    and k-means (one partition per number of components and seed, shared by the
    structures). The data are validated and summarised once for the whole grid, and
    the iterations are accelerated by SQUAREM (``acceleration="squarem"``).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        The data; column names of a DataFrame are kept by the fitted estimators.
    n_components : iterable of int, default=range(1, 10)
        Numbers of components to try.
    covariance_types : iterable of {"full", "tied", "diag", "spherical"}, default=all four
        Covariance structures to try.
    criterion : {"bic", "icl"}, default="bic"
        ``"icl"`` adds twice the entropy of the classification to BIC, so it prefers
        well separated clusters over a better density fit.
    n_init : int, default=1
        Restarts of each random scheme of ``init_params`` per fit (the hierarchical
        start is deterministic and runs once); the best (highest likelihood) is kept.
    tol : float, default=1e-6
        Convergence threshold on the change of the mean log-likelihood per sample. Much
        tighter than ``GaussianMixtureEM``'s default (1e-3): criteria compare total
        log-likelihoods, and slow EM runs otherwise stop short of the optimum.
    max_iter : int, default=1000
        EM iterations per initialisation.
    reg_covar : float, optional
        Added to the diagonal of every covariance. By default :data:`RELATIVE_REG_COVAR`
        times the smallest variance of X's columns, so that the regularisation follows
        the data's units (an absolute 1e-6 lowers the likelihood of data whose columns
        vary by 1e-4 noticeably); the value used is the estimators' ``reg_covar``.
    init_params : str or iterable of str, default=("hc", "kmeans")
        The start schemes of every fit, among ``"hc"``, ``"kmeans"``, ``"k-means++"``,
        ``"random"`` and ``"random_from_data"`` (see :mod:`bayesmix.em.init`).
    random_state : int, RandomState instance or None, default=None
        Passed to every fit, so ``GaussianMixtureEM(**best_params_, init_params=...,
        ...)`` with the same settings, the winning scheme
        (``best_estimator_.init_params``) and an integer seed reproduces
        ``best_estimator_``.

    Returns
    -------
    EMSelection
        ``table_`` (one row per fit), ``best_estimator_``, ``best_params_``.

    Raises
    ------
    ValueError
        For a bad argument, or when every fit is degenerate (the message says what to
        try instead).

    Warns
    -----
    ConvergenceWarning
        If the chosen fit did not converge within ``max_iter``.

    See Also
    --------
    GaussianMixtureEM.bic, GaussianMixtureEM.icl : the criteria.

    Examples
    --------
    On Old Faithful, BIC chooses mclust's model: three components sharing one covariance.

    >>> import numpy as np
    >>> from bayesmix import load_old_faithful, select_em
    >>> selection = select_em(load_old_faithful(), n_components=range(1, 5), random_state=0)
    >>> selection.best_params_
    {'n_components': 3, 'covariance_type': 'tied'}
    >>> np.sort(selection.best_estimator_.weights_).round(2)
    array([0.17, 0.36, 0.48])
    """
    ks, structures = check_grid(n_components, covariance_types)
    criterion = check_option(criterion, "criterion", CRITERIA)
    starts = _check_starts(init_params)
    n_init = check_int(n_init, "n_init", min_value=1)
    # X is validated and summarised once; the estimators check the other settings.
    source = memory_source(X)  # a MissingValuesSource when X has NaN
    if reg_covar is None:
        smallest_variance = float(source.data_covariance(full=False).min())
        reg_covar = RELATIVE_REG_COVAR * smallest_variance if smallest_variance > 0 else 1e-6
    settings = {"tol": tol, "max_iter": max_iter, "reg_covar": reg_covar,
                "random_state": random_state, "acceleration": "squarem"}
    fits = [_fit_cell(source, starts, n_init, n_components=k, covariance_type=structure,
                      **settings)
            for k in ks for structure in structures]
    table = pd.DataFrame([_row(em, source.X) for em in fits], columns=list(TABLE_COLUMNS))

    selectable = table.loc[~table["degenerate"], criterion]
    if selectable.empty:
        raise ValueError(
            f"Every fit of the grid n_components={ks}, covariance_types={structures} has a "
            f"degenerate component, so none can be chosen. Try fewer components, the "
            f"'tied' structure, a larger reg_covar (now {reg_covar:g}), or jitter rounded "
            f"values in X."
        )
    best = int(selectable.idxmin())
    if not table.at[best, "converged"]:
        warnings.warn(
            f"The chosen fit ({table.at[best, 'n_components']} components, "
            f"{table.at[best, 'covariance_type']!r}) did not converge in max_iter={max_iter} "
            f"iterations; raise max_iter before trusting it.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return EMSelection(table, fits[best], best, criterion)
