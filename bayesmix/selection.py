"""Model selection: choose the number of components and the covariance structure.

:func:`select_em` fits :class:`~bayesmix.GaussianMixtureEM` over a grid of numbers of
components and covariance structures and picks the fit with the lowest BIC (or ICL), as
R's mclust does. A fit with a degenerate component (one that collapsed onto repeated or
rounded values, so that its likelihood is inflated by a near-singular covariance) is
listed in the table with its flag and never chosen, as mclust reports such fits as
missing.

:func:`select_bayes` fits :class:`~bayesmix.GaussianMixtureBayes` for each number of
components (and structure), scores every posterior by PSIS-LOO (or WAIC), compares them
with :func:`arviz.compare` and its stacking weights, and picks the highest expected log
predictive density.

Both return a :class:`SelectionResult`: ``table_`` (one row per fit),
``best_estimator_``, ``best_params_``, ``best_index_`` and ``criterion``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesmix._validation import (
    _short,
    check_array,
    check_covariance_type,
    check_int,
    check_option,
)
from bayesmix.covariance import COVARIANCE_TYPES, n_parameters
from bayesmix.density import weighted_log_prob
from bayesmix.em import GaussianMixtureEM
from bayesmix.em.init import DETERMINISTIC_INITS, INIT_METHODS
from bayesmix.em.sources import InMemorySource
from bayesmix.exceptions import (
    ConvergenceWarning,
    DegenerateComponentWarning,
    SamplerDiagnosticWarning,
    VIConvergenceWarning,
)
from bayesmix.scoring import ParetoKWarning, information_criteria, loo, waic

if TYPE_CHECKING:  # the Bayesian names are imported by select_bayes: they load PyMC
    import arviz as az

    from bayesmix.bayes.backends import InferenceBackend
    from bayesmix.bayes.estimator import GaussianMixtureBayes
    from bayesmix.bayes.priors import MixturePriors

__all__ = ["BayesSelection", "EMSelection", "SelectionResult", "select_bayes", "select_em"]

CRITERIA = ("bic", "icl")
#: :func:`select_em`'s default ``reg_covar``, relative to the smallest column variance.
RELATIVE_REG_COVAR = 1e-6
#: The tolerance to which :func:`select_em` runs its later start schemes before it
#: decides whether they are worth running to convergence.
SCREEN_TOL = 1e-3
#: Criteria of :func:`select_bayes`: higher expected log predictive density is better.
BAYES_CRITERIA = ("loo", "waic")

#: Columns of :attr:`EMSelection.table_`, in order.
TABLE_COLUMNS = ("n_components", "covariance_type", "log_likelihood", "n_parameters", "bic",
                 "icl", "degenerate", "converged", "note")

#: Columns of :attr:`BayesSelection.table_`, in order, for each criterion.
BAYES_COLUMNS = {
    ic: ("n_components", "covariance_type", f"elpd_{ic}", "se", f"p_{ic}", f"d_{ic}", "dse",
         "weight", "max_pareto_k", "divergences", "converged", "note")
    for ic in BAYES_CRITERIA
}

#: Headers used by :meth:`EMSelection.to_string`.
_HEADERS = {"n_components": "K", "covariance_type": "structure", "log_likelihood": "log-lik",
            "n_parameters": "n_params", "bic": "BIC", "icl": "ICL"}


class SelectionResult:
    """Base of the selection results: one row per fit, and the chosen fit.

    Subclasses set :attr:`_headers` (short column headers for :meth:`to_string`) and
    write :meth:`_choice`, the closing sentence saying how the choice was made.

    Attributes
    ----------
    table_ : pandas.DataFrame
        One row per fit, starting with ``n_components`` and ``covariance_type`` and
        ending with ``note`` (why a fit is suspect or not selectable; empty otherwise).
    best_estimator_ : estimator
        The chosen fit.
    best_params_ : dict
        ``{"n_components": ..., "covariance_type": ...}`` of the chosen fit.
    best_index_ : int
        Row of ``table_`` holding the chosen fit.
    criterion : str
        The criterion the choice was made on.

    Examples
    --------
    :func:`select_em` and :func:`select_bayes` return subclasses; the chosen row is the
    chosen estimator's:

    >>> from bayesmix import make_mixture, select_em
    >>> from bayesmix.selection import SelectionResult
    >>> X, _, _ = make_mixture(200, n_components=2, random_state=0)
    >>> result = select_em(X, [1, 2, 3], ["full"], random_state=0)
    >>> isinstance(result, SelectionResult), result.best_params_
    (True, {'n_components': 2, 'covariance_type': 'full'})
    >>> int(result.table_.loc[result.best_index_, "n_components"])
    2
    """

    #: Column headers shown by :meth:`to_string` in place of the column names.
    _headers: dict[str, str] = {"n_components": "K", "covariance_type": "structure"}

    def __init__(self, table: pd.DataFrame, estimator: Any, best_index: int,
                 criterion: str) -> None:
        self.table_ = table
        self.best_estimator_ = estimator
        self.best_index_ = best_index
        self.best_params_ = {"n_components": int(table.at[best_index, "n_components"]),
                             "covariance_type": str(table.at[best_index, "covariance_type"])}
        self.criterion = criterion

    def _choice(self) -> str:
        """The closing sentence of :meth:`to_string`."""
        raise NotImplementedError

    def _chosen(self) -> str:
        return (f"n_components={self.best_params_['n_components']}, "
                f"covariance_type={self.best_params_['covariance_type']!r}")

    def to_string(self) -> str:
        """The table as text, the chosen fit marked with ``*``, its notes and the choice.

        Examples
        --------
        >>> from bayesmix import make_mixture, select_em
        >>> X, _, _ = make_mixture(200, n_components=2, random_state=0)
        >>> print(select_em(X, [1, 2], ["tied"], random_state=0).to_string())
        ... # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
           K structure  log-lik  n_params  BIC  ICL  degenerate  converged
           1      tied  ...
        *  2      tied  ...
        Chosen by lowest BIC among non-degenerate fits: n_components=2, covariance_type='tied'.
        """
        shown = self.table_.drop(columns="note").rename(columns=self._headers)
        shown.insert(0, "", np.where(shown.index == self.best_index_, "*", ""))
        lines = [shown.to_string(index=False, float_format=lambda value: f"{value:.2f}")]
        lines += [f"K={row.n_components} {row.covariance_type}: {row.note}"
                  for row in self.table_.itertuples() if row.note]
        lines.append(self._choice())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.to_string()


class EMSelection(SelectionResult):
    """The result of :func:`select_em`: one row per fit and the chosen model.

    Attributes
    ----------
    table_ : pandas.DataFrame
        One row per fit, with columns ``n_components``, ``covariance_type``,
        ``log_likelihood`` (total over the rows of ``X``), ``n_parameters``, ``bic``,
        ``icl`` (both lower is better), ``degenerate`` (bool), ``converged`` (bool) and
        ``note`` (why a fit was not selectable or is suspect; empty otherwise).
    best_estimator_ : GaussianMixtureEM
        The chosen fit: the lowest ``criterion`` among the fits without a degenerate
        component.
    best_params_ : dict
        ``{"n_components": ..., "covariance_type": ...}`` of the chosen fit.
    best_index_ : int
        Row of ``table_`` holding the chosen fit.
    criterion : {"bic", "icl"}
        The criterion the choice was made on.

    Examples
    --------
    >>> from bayesmix import make_mixture, select_em
    >>> X, _, _ = make_mixture(300, n_components=2, random_state=0)
    >>> selection = select_em(X, n_components=[1, 2, 3], covariance_types=["full"],
    ...                       random_state=0)
    >>> selection.best_params_
    {'n_components': 2, 'covariance_type': 'full'}
    >>> list(selection.table_.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['n_components', 'covariance_type', 'log_likelihood', 'n_parameters', 'bic', 'icl',
     'degenerate', 'converged', 'note']
    """

    _headers = _HEADERS

    def _choice(self) -> str:
        return (f"Chosen by lowest {self.criterion.upper()} among non-degenerate fits: "
                f"{self._chosen()}.")


class BayesSelection(SelectionResult):
    """The result of :func:`select_bayes`: one row per posterior and the chosen model.

    Attributes
    ----------
    table_ : pandas.DataFrame
        One row per fit, in the order of the grid, with columns ``n_components``,
        ``covariance_type``, ``elpd_loo`` (``elpd_waic`` for WAIC; the expected log
        predictive density, **higher is better**), ``se`` (its standard error),
        ``p_loo`` (``p_waic``; the effective number of parameters), ``d_loo``
        (``d_waic``; the best elpd minus this one, 0 for the best), ``dse`` (standard
        error of that paired difference), ``weight`` (stacking weight; the weights sum
        to one), ``max_pareto_k`` (LOO only, NaN for WAIC), ``divergences`` (NUTS; NaN
        for variational fits), ``converged`` (variational inference's flag, or for NUTS
        whether every R-hat is at most 1.01; ``<NA>`` when undefined, e.g. one chain)
        and ``note`` (diagnostics that make the row suspect; empty otherwise). The
        first columns are those of :func:`arviz.compare`.
    best_estimator_ : GaussianMixtureBayes
        The fit with the highest elpd.
    best_params_ : dict
        ``{"n_components": ..., "covariance_type": ...}`` of the chosen fit.
    best_index_ : int
        Row of ``table_`` holding the chosen fit.
    criterion : {"loo", "waic"}
        The criterion the choice was made on.
    estimators_ : list of GaussianMixtureBayes
        Every fit, in the order of the rows of ``table_``.

    Examples
    --------
    A result can be built from its parts; :func:`select_bayes` does so after fitting.

    >>> import pandas as pd
    >>> from bayesmix.selection import BAYES_COLUMNS, BayesSelection
    >>> table = pd.DataFrame([[1, "full", -560.1, 11.0, 4.8, 93.0, 12.9, 0.0, 0.31, 0,
    ...                        True, ""],
    ...                       [2, "full", -467.1, 10.8, 10.5, 0.0, 0.0, 1.0, 0.42, 0,
    ...                        True, ""]], columns=list(BAYES_COLUMNS["loo"]))
    >>> print(BayesSelection(table, None, 1, "loo"))
    ... # doctest: +NORMALIZE_WHITESPACE
        K structure  elpd_loo    se  p_loo  d_loo   dse  weight  max_k  divergences  converged
        1      full   -560.10 11.00   4.80  93.00 12.90    0.00   0.31            0       True
    *   2      full   -467.10 10.80  10.50   0.00  0.00    1.00   0.42            0       True
    Chosen by highest elpd_loo (higher is better): n_components=2, covariance_type='full'.
    d_loo: the best elpd_loo minus this one, dse its standard error; weight: stacking weights (sum to 1).
    """

    _headers = {"n_components": "K", "covariance_type": "structure",
                "max_pareto_k": "max_k"}

    def __init__(self, table: pd.DataFrame, estimator: Any, best_index: int,
                 criterion: str, estimators: list[Any] | None = None) -> None:
        super().__init__(table, estimator, best_index, criterion)
        self.estimators_ = list(estimators) if estimators is not None else [estimator]

    def _choice(self) -> str:
        ic = self.criterion
        return (f"Chosen by highest elpd_{ic} (higher is better): {self._chosen()}.\n"
                f"d_{ic}: the best elpd_{ic} minus this one, dse its standard error; "
                f"weight: stacking weights (sum to 1).")


def _check_values(name: str, values: Any, example: str) -> list[Any]:
    """A non-empty iterable of distinct values, as a list."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValueError(
            f"{name} must be an iterable such as {example}, got {_short(values)}. For a "
            f"single value pass a one-element list, e.g. [{values!r}]."
        )
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty; pass at least one value, e.g. {example}.")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} has repeated values {values}; list each value once.")
    return values


def _check_grid(n_components: Any, covariance_types: Any, *,
                k_example: str = "range(1, 10)",
                structures_name: str = "covariance_types") -> tuple[list[int], list[str]]:
    """Validate the grid: non-empty iterables of distinct values."""
    ks = [check_int(k, "n_components", min_value=1)
          for k in _check_values("n_components", n_components, k_example)]
    structures = [check_covariance_type(c, structures_name) for c in
                  _check_values(structures_name, covariance_types, "('full', 'tied')")]
    return ks, structures


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
    schemes = [init_params] if isinstance(init_params, str) else _check_values(
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
    array([0.17, 0.36, 0.47])
    """
    ks, structures = _check_grid(n_components, covariance_types)
    criterion = check_option(criterion, "criterion", CRITERIA)
    starts = _check_starts(init_params)
    n_init = check_int(n_init, "n_init", min_value=1)
    # X is validated and summarised once; the estimators check the other settings.
    source = InMemorySource(X)
    if reg_covar is None:
        smallest_variance = float(np.diagonal(source.scatter).min()) / source.total_weight
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


# --------------------------------------------------------------------------- Bayesian
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
    return {"n_components": estimator.n_components,
            "covariance_type": estimator.covariance_type,
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
    method : {"nuts", "advi", "fullrank_advi"}, default="nuts"
        Inference for every fit. ADVI is much faster but only approximates the
        posterior (its LOO values are those of the approximation).
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
        ``learning_rate`` for variational inference.

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

    structures = [covariance_type] if isinstance(covariance_type, str) else covariance_type
    ks, structures = _check_grid(n_components, structures, k_example="range(1, 6)",
                                 structures_name="covariance_type")
    backend = get_backend(method)
    criterion = check_option(criterion, "criterion", BAYES_CRITERIA)
    n_samples = check_array(X, name="X", min_samples=2).shape[0]
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
