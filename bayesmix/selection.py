"""Model selection: choose the number of components and the covariance structure.

:func:`select_em` fits :class:`~bayesmix.GaussianMixtureEM` over a grid of numbers of
components and covariance structures and picks the fit with the lowest BIC (or ICL), as
R's mclust does. A fit with a degenerate component (one that collapsed onto repeated or
rounded values, so that its likelihood is inflated by a near-singular covariance) is
listed in the table with its flag and never chosen, as mclust reports such fits as
missing.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from bayesmix._validation import (
    COVARIANCE_TYPES,
    _short,
    check_covariance_type,
    check_int,
    check_option,
)
from bayesmix.covariance import n_parameters
from bayesmix.em import GaussianMixtureEM
from bayesmix.exceptions import ConvergenceWarning, DegenerateComponentWarning

__all__ = ["EMSelection", "select_em"]

CRITERIA = ("bic", "icl")

#: Columns of :attr:`EMSelection.table_`, in order.
TABLE_COLUMNS = ("n_components", "covariance_type", "log_likelihood", "n_parameters", "bic",
                 "icl", "degenerate", "converged", "note")

#: Headers used by :meth:`EMSelection.to_string`.
_HEADERS = {"n_components": "K", "covariance_type": "structure", "log_likelihood": "log-lik",
            "n_parameters": "n_params", "bic": "BIC", "icl": "ICL"}


class EMSelection:
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

    def __init__(self, table: pd.DataFrame, estimator: GaussianMixtureEM, best_index: int,
                 criterion: str) -> None:
        self.table_ = table
        self.best_estimator_ = estimator
        self.best_index_ = best_index
        self.best_params_ = {"n_components": int(table.at[best_index, "n_components"]),
                             "covariance_type": str(table.at[best_index, "covariance_type"])}
        self.criterion = criterion

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
        shown = self.table_.drop(columns="note").rename(columns=_HEADERS)
        shown.insert(0, "", np.where(shown.index == self.best_index_, "*", ""))
        lines = [shown.to_string(index=False, float_format=lambda value: f"{value:.2f}")]
        lines += [f"K={row.n_components} {row.covariance_type}: {row.note}"
                  for row in self.table_.itertuples() if row.note]
        lines.append(f"Chosen by lowest {self.criterion.upper()} among non-degenerate fits: "
                     f"n_components={self.best_params_['n_components']}, "
                     f"covariance_type={self.best_params_['covariance_type']!r}.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.to_string()


def _check_grid(n_components: Any, covariance_types: Any) -> tuple[list[int], list[str]]:
    """Validate the grid: non-empty iterables of distinct values."""
    grid = {}
    for name, values, example in (("n_components", n_components, "range(1, 10)"),
                                  ("covariance_types", covariance_types, "('full', 'tied')")):
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
        grid[name] = values
    ks = [check_int(k, "n_components", min_value=1) for k in grid["n_components"]]
    structures = [check_covariance_type(c, "covariance_types") for c in grid["covariance_types"]]
    return ks, structures


def _fit_one(X: Any, **params: Any) -> GaussianMixtureEM:
    """Fit one grid point; its degenerate and convergence warnings go into the table."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateComponentWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixtureEM(**params).fit(X)


def _row(em: GaussianMixtureEM, X: Any) -> dict[str, Any]:
    """The table row of a fitted estimator."""
    n_rows = np.shape(X)[0]
    degenerate = em.degenerate_components_
    notes = [f"component {k} degenerate ({why}): not selectable"
             for k, why in em.degenerate_reasons_.items()]
    if not em.converged_:
        notes.append(f"did not converge in max_iter={em.max_iter}")
    return {
        "n_components": em.n_components,
        "covariance_type": em.covariance_type,
        "log_likelihood": em.score(X) * n_rows,
        "n_parameters": n_parameters(em.n_components, em.n_features_in_, em.covariance_type),
        "bic": em.bic(X),
        "icl": em.icl(X),
        "degenerate": bool(degenerate),
        "converged": bool(em.converged_),
        "note": "; ".join(notes),
    }


def select_em(
    X: Any,
    n_components: Iterable[int] = range(1, 10),
    covariance_types: Iterable[str] = COVARIANCE_TYPES,
    *,
    criterion: str = "bic",
    n_init: int = 5,
    tol: float = 1e-6,
    max_iter: int = 1000,
    reg_covar: float = 1e-6,
    init_params: str = "kmeans",
    random_state: Any = None,
) -> EMSelection:
    """Choose the number of components and the covariance structure by BIC or ICL.

    Fits a :class:`~bayesmix.GaussianMixtureEM` for every pair of ``n_components`` and
    ``covariance_types`` and chooses the fit with the lowest criterion (scikit-learn's
    sign: lower is better; mclust reports the same numbers with the opposite sign). Fits
    with a degenerate component are flagged in the table and never chosen.

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
    n_init : int, default=5
        Initialisations per fit; the best (highest likelihood) is kept.
    tol : float, default=1e-6
        Convergence threshold on the change of the mean log-likelihood per sample. Much
        tighter than ``GaussianMixtureEM``'s default (1e-3): criteria compare total
        log-likelihoods, and slow EM runs otherwise stop short of the optimum.
    max_iter : int, default=1000
        EM iterations per initialisation.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        Initialisation of every fit.
    random_state : int, RandomState instance or None, default=None
        Passed to every fit, so ``GaussianMixtureEM(**best_params_, ...)`` with the same
        settings and an integer seed reproduces ``best_estimator_``.

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
    # The estimator validates X and the fit settings (on the first fit).
    settings = {"n_init": n_init, "tol": tol, "max_iter": max_iter, "reg_covar": reg_covar,
                "init_params": init_params, "random_state": random_state}
    fits = [_fit_one(X, n_components=k, covariance_type=structure, **settings)
            for k in ks for structure in structures]
    table = pd.DataFrame([_row(em, X) for em in fits], columns=list(TABLE_COLUMNS))

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
