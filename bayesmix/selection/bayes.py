"""``select_bayes``: the number of components (and structure) by PSIS-LOO or WAIC.

The Bayesian names are imported inside the functions: selecting EM fits never loads
PyMC or ArviZ.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesmix._validation import check_array, check_grid, check_option
from bayesmix.exceptions import SamplerDiagnosticWarning, VIConvergenceWarning
from bayesmix.scoring import ParetoKWarning, loo, waic
from bayesmix.selection.results import BAYES_COLUMNS, BAYES_CRITERIA, BayesSelection

if TYPE_CHECKING:  # the Bayesian names are imported by select_bayes: they load PyMC
    import arviz as az

    from bayesmix.bayes.backends import InferenceBackend
    from bayesmix.bayes.estimator import GaussianMixtureBayes
    from bayesmix.bayes.priors import MixturePriors

__all__ = ["BAYES_CRITERIA", "select_bayes"]


def _fit_bayes(X: Any, n_components: int, covariance_type: str, method: str, criterion: str,
               priors: MixturePriors | None, random_state: Any,
               fit_kwargs: dict[str, Any]) -> tuple[GaussianMixtureBayes, az.ELPDData]:
    """Fit one grid point and score it; its diagnostics warnings go into the table."""
    from bayesmix.bayes.estimator import GaussianMixtureBayes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerDiagnosticWarning)
        warnings.simplefilter("ignore", VIConvergenceWarning)
        warnings.simplefilter("ignore", ParetoKWarning)
        estimator = GaussianMixtureBayes(n_components, covariance_type=covariance_type,
                                         priors=priors, random_state=random_state)
        estimator.fit(X, method=method, **fit_kwargs)
        elpd = loo(estimator) if criterion == "loo" else waic(estimator, pointwise=True)
    return estimator, elpd


def _bayes_row(estimator: GaussianMixtureBayes, elpd: az.ELPDData, criterion: str,
               backend: InferenceBackend) -> dict[str, Any]:
    """The table row of a fitted posterior, without the comparison columns."""
    notes = []
    max_k = np.nan
    if criterion == "loo":
        max_k = float(elpd.pareto_k.max())
        n_bad = int((elpd.pareto_k.values > elpd.good_k).sum())
        if n_bad:
            notes.append(f"{n_bad} of {elpd.pareto_k.size} Pareto k > {elpd.good_k:.2f}: "
                         f"LOO unreliable there")
    elif elpd.warning:
        notes.append("WAIC may be unreliable (posterior variance of a pointwise log "
                     "density > 0.4); prefer criterion='loo'")
    diagnostics = backend.selection_diagnostics(estimator.diagnostics_)
    occupied = estimator.posterior_n_components(random_state=0)
    return {"n_components": estimator.n_components,
            "covariance_type": estimator.covariance_type,
            "occupied": int(occupied.idxmax()), "p_occupied": float(occupied.max()),
            "max_pareto_k": max_k, "divergences": diagnostics.divergences,
            "converged": diagnostics.converged, "note": "; ".join(notes + diagnostics.notes)}


def _warn_about_choice(row: pd.Series, backend: InferenceBackend) -> None:
    """Pass the chosen fit's diagnostics on as warnings, as its own fit would."""
    what = (f"The chosen fit ({row['n_components']} components, "
            f"{row['covariance_type']!r})")
    note = row["note"]
    if "Pareto k" in note:
        warnings.warn(f"{what}: {note.split(';')[0]}. Draw more samples, or compare on "
                      f"held-out data with bayesmix.compare(..., X_test=...).",
                      ParetoKWarning, stacklevel=3)
    for message, category in backend.choice_warnings(row, what):
        warnings.warn(message, category, stacklevel=3)


def select_bayes(
    X: Any,
    n_components: Iterable[int] = range(1, 6),
    covariance_type: str | Iterable[str] = "full",
    method: str = "nuts",
    criterion: str = "loo",
    random_state: Any = None,
    *,
    priors: MixturePriors | None = None,
    **fit_kwargs: Any,
) -> BayesSelection:
    """Choose the number of components (and structure) by PSIS-LOO or WAIC.

    Fits a :class:`~bayesmix.GaussianMixtureBayes` for every number of components (and
    every covariance structure, if several are given), estimates each posterior's
    expected log predictive density (elpd) by PSIS leave-one-out cross-validation or
    WAIC (:func:`bayesmix.scoring.loo`, :func:`bayesmix.scoring.waic`), compares them
    with :func:`arviz.compare` and its stacking weights, and chooses the highest elpd
    (**higher is better**, unlike BIC). The table reports the difference of each fit to
    the best with its standard error: a difference within about two ``dse`` is not a
    clear preference, and the stacking weights show how a predictive average would mix
    the fits.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        The data; column names of a DataFrame are kept by the fitted estimators.
    n_components : iterable of int, default=range(1, 6)
        Numbers of components to try.
    covariance_type : {"full", "tied", "diag", "spherical"} or iterable of them, \
default="full"
        One covariance structure, or several to try for every number of components.
    method : {"nuts", "advi", "fullrank_advi", "gibbs"}, default="nuts"
        Inference for every fit. ADVI is much faster but only approximates the
        posterior (its LOO values are those of the approximation). ``"gibbs"`` samples
        the conjugate model of :mod:`bayesmix.bayes.backends.gibbs` (``full``
        covariances only; pass its prior as ``conjugate_prior=``).
    criterion : {"loo", "waic"}, default="loo"
        PSIS-LOO (recommended; with Pareto-k diagnostics) or WAIC.
    random_state : int, RandomState instance or None, default=None
        Passed to every fit, so ``GaussianMixtureBayes(**best_params_,
        random_state=...)`` fitted with the same settings and an integer seed reproduces
        ``best_estimator_``.
    priors : MixturePriors, optional
        Prior hyper-parameters of every fit; data-scaled defaults where ``None``.
    **fit_kwargs
        Passed to :meth:`GaussianMixtureBayes.fit`: ``draws``, ``tune``, ``chains``,
        ``nuts_sampler``, ``target_accept`` for NUTS; ``draws``, ``n_iter``,
        ``learning_rate`` for variational inference; ``draws``, ``tune``, ``chains``,
        ``conjugate_prior`` for Gibbs.

    Returns
    -------
    BayesSelection
        ``table_`` (one row per fit, in grid order), ``best_estimator_``,
        ``best_params_``, ``best_index_``, ``estimators_``.

    Raises
    ------
    ValueError
        For a bad argument (before any fit), or bad data.

    Warns
    -----
    ParetoKWarning, DivergenceWarning, VIConvergenceWarning
        When the chosen fit has unreliable Pareto k values, divergent transitions or an
        unconverged approximation. The same diagnostics of the other fits are only
        noted in the table, not warned about.

    See Also
    --------
    select_em : the same choice for EM fits, by BIC or ICL.
    bayesmix.compare : EM fits and posteriors side by side.

    Examples
    --------
    Two well separated clusters: LOO prefers two components, and the stacking weights
    put (nearly) everything on them.

    >>> import warnings
    >>> from bayesmix import make_mixture
    >>> from bayesmix.selection import select_bayes
    >>> X, _, _ = make_mixture(200, n_components=2, random_state=0)

    Each fit compiles a PyMC model (several seconds), so the fitting lines are skipped
    when the examples are tested.

    >>> with warnings.catch_warnings():  # doctest: +SKIP
    ...     warnings.simplefilter("ignore")  # short ADVI runs do not meet their tolerance
    ...     selection = select_bayes(X, n_components=[1, 2], method="advi",
    ...                              random_state=0, draws=200, n_iter=3000,
    ...                              learning_rate=0.01)
    >>> selection.best_params_  # doctest: +SKIP
    {'n_components': 2, 'covariance_type': 'full'}
    >>> selection.table_[["n_components", "weight"]].round(2)  # doctest: +SKIP
       n_components  weight
    0             1     0.0
    1             2     1.0
    """
    import arviz as az

    from bayesmix.bayes.backends import get_backend
    from bayesmix.bayes.priors import MixturePriors
    from bayesmix.bayes.scales import get_scale

    structures = [covariance_type] if isinstance(covariance_type, str) else covariance_type
    ks, structures = check_grid(n_components, structures, k_example="range(1, 6)",
                                 structures_name="covariance_type")
    backend = get_backend(method)
    for structure in structures:  # refused before any fit, not after the first ones
        get_scale(structure)  # a structure fitted by EM only
        if not backend.fits_structure(structure):
            raise ValueError(
                f"method={method!r} samples covariance_type "
                f"{', '.join(map(repr, backend.covariance_types))} only, got {structure!r}. "
                f"Drop {structure!r}, or use method='nuts' for it.")
    criterion = check_option(criterion, "criterion", BAYES_CRITERIA)
    n_samples = check_array(X, name="X", min_samples=2, allow_missing=True).shape[0]
    if max(ks) > n_samples:
        raise ValueError(
            f"n_components={max(ks)} must be <= n_samples={n_samples}. Drop it from "
            f"n_components or pass more data."
        )
    if priors is not None and not isinstance(priors, MixturePriors):
        raise ValueError(
            f"priors must be a MixturePriors instance or None, got {type(priors).__name__}. "
            f"Build one with bayesmix.bayes.MixturePriors."
        )

    fits, rows, elpds = [], [], {}
    for k in ks:
        for structure in structures:
            estimator, elpd = _fit_bayes(X, k, structure, method, criterion, priors,
                                         random_state, fit_kwargs)
            fits.append(estimator)
            rows.append(_bayes_row(estimator, elpd, criterion, backend))
            elpds[len(rows) - 1] = elpd
    with warnings.catch_warnings():
        # az.compare repeats the per-fit Pareto-k / WAIC warnings, already in the notes,
        # and pandas deprecations of its own internals, which a user cannot act on.
        warnings.simplefilter("ignore")
        compared = az.compare({str(i): e for i, e in elpds.items()}, ic=criterion,
                              method="stacking")
    compared.index = compared.index.astype(int)
    compared = compared.sort_index().rename(columns={"elpd_diff": f"d_{criterion}"})
    table = pd.DataFrame(rows)
    for column in (f"elpd_{criterion}", "se", f"p_{criterion}", f"d_{criterion}", "dse",
                   "weight"):
        table[column] = compared[column].to_numpy(dtype=float)
    table["converged"] = table["converged"].astype("boolean")
    table = table[list(BAYES_COLUMNS[criterion])]

    best = int(table[f"elpd_{criterion}"].idxmax())
    _warn_about_choice(table.loc[best], backend)
    return BayesSelection(table, fits[best], best, criterion, fits)
