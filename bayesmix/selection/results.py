"""What model selection returns: the table of fits and the chosen one.

:class:`SelectionResult` holds the table and the choice; :class:`EMSelection` and
:class:`BayesSelection` add their headers and the sentence that says how the choice was
made.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bayesmix._validation import check_int

__all__ = ["BAYES_COLUMNS", "BAYES_CRITERIA", "TABLE_COLUMNS", "BayesSelection",
           "EMSelection", "SelectionResult"]

#: Criteria of :func:`~bayesmix.select_bayes`: higher expected log predictive density is
#: better.
BAYES_CRITERIA = ("loo", "waic")

#: Columns of :attr:`EMSelection.table_`, in order (``family`` and ``noise`` only when
#: the grid has more than the Gaussian family without noise).
TABLE_COLUMNS = ("n_components", "covariance_type", "family", "noise", "log_likelihood",
                 "n_parameters", "bic", "icl", "degenerate", "converged", "note")

#: Columns of :attr:`BayesSelection.table_`, in order, for each criterion.
BAYES_COLUMNS = {
    ic: ("n_components", "covariance_type", f"elpd_{ic}", "se", f"p_{ic}", f"d_{ic}", "dse",
         "weight", "occupied", "p_occupied", "max_pareto_k", "divergences", "converged",
         "note")
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
        ``{"n_components": ..., "covariance_type": ...}`` of the chosen fit, and
        ``"noise": True`` for a fit with a noise component (the family is
        ``type(best_estimator_)``, and the table's ``family`` column).
    best_index_ : int
        Row of ``table_`` holding the chosen fit.
    criterion : str
        The criterion the choice was made on.
    estimators_ : list of estimators
        Every fit, in the order of the rows of ``table_`` (``[best_estimator_]`` when
        none are given).

    Examples
    --------
    :func:`select_em` and :func:`select_bayes` return subclasses; the chosen row is the
    chosen estimator's, and every row has its fitted estimator:

    >>> from bayesmix import make_mixture, select_em
    >>> from bayesmix.selection import SelectionResult
    >>> X, _, _ = make_mixture(200, n_components=2, random_state=0)
    >>> result = select_em(X, [1, 2, 3], ["full"], random_state=0)
    >>> isinstance(result, SelectionResult), result.best_params_
    (True, {'n_components': 2, 'covariance_type': 'full'})
    >>> int(result.table_.loc[result.best_index_, "n_components"])
    2
    >>> [em.n_components for em in result.estimators_]
    [1, 2, 3]
    """

    #: Column headers shown by :meth:`to_string` in place of the column names.
    _headers: dict[str, str] = {"n_components": "K", "covariance_type": "structure"}

    def __init__(self, table: pd.DataFrame, estimator: Any, best_index: int,
                 criterion: str, estimators: list[Any] | None = None) -> None:
        self.table_ = table
        self.best_estimator_ = estimator
        self.estimators_ = list(estimators) if estimators is not None else [estimator]
        self.best_index_ = best_index
        self.best_params_ = {"n_components": int(table.at[best_index, "n_components"]),
                             "covariance_type": str(table.at[best_index, "covariance_type"])}
        if "noise" in table and table.at[best_index, "noise"]:
            self.best_params_["noise"] = True
        self.criterion = criterion

    def _choice(self) -> str:
        """The closing sentence of :meth:`to_string`."""
        raise NotImplementedError

    def _chosen(self) -> str:
        chosen = (f"n_components={self.best_params_['n_components']}, "
                  f"covariance_type={self.best_params_['covariance_type']!r}")
        if "family" in self.table_:
            chosen += f", family={self.table_.at[self.best_index_, 'family']!r}"
        if self.best_params_.get("noise"):
            chosen += ", noise=True"
        return chosen

    def to_string(self, top: int | None = None) -> str:
        """The table as text, the chosen fit marked with ``*``, its notes and the choice.

        Parameters
        ----------
        top : int, optional
            Show only this many fits, the best by the criterion first (as mclust's
            summary shows its top models); every fit by default, in the table's order.

        Examples
        --------
        >>> from bayesmix import make_mixture, select_em
        >>> X, _, _ = make_mixture(200, n_components=2, random_state=0)
        >>> selection = select_em(X, [1, 2, 3], ["tied"], random_state=0)
        >>> print(selection.to_string())
        ... # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
           K structure  log-lik  n_params  BIC  ICL  degenerate  converged
           1      tied  ...
        *  2      tied  ...
           3      tied  ...
        Chosen by lowest BIC among non-degenerate fits: n_components=2, covariance_type='tied'.
        >>> print(selection.to_string(top=1))
        ... # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
           K structure  log-lik  n_params  BIC  ICL  degenerate  converged
        *  2      tied  ...
        (2 more fits in table_)
        Chosen by lowest BIC among non-degenerate fits: n_components=2, covariance_type='tied'.
        """
        table = self.table_ if top is None else self._best_rows(
            check_int(top, "top", min_value=1))
        shown = table.drop(columns="note").rename(columns=self._headers)
        shown.insert(0, "", np.where(shown.index == self.best_index_, "*", ""))
        lines = [shown.to_string(index=False, float_format=lambda value: f"{value:.2f}")]
        if len(table) < len(self.table_):
            lines.append(f"({len(self.table_) - len(table)} more fits in table_)")
        lines += [f"K={row.n_components} {row.covariance_type}: {row.note}"
                  for row in table.itertuples() if row.note]
        lines.append(self._choice())
        return "\n".join(lines)

    def _best_rows(self, top: int) -> pd.DataFrame:
        """The ``top`` best rows by the criterion, best first."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.to_string()


class EMSelection(SelectionResult):
    """The result of :func:`select_em`: one row per fit and the chosen model.

    Attributes
    ----------
    table_ : pandas.DataFrame
        One row per fit, with columns ``n_components``, ``covariance_type``, (for a
        grid over several families or with noise) ``family`` and ``noise``,
        ``log_likelihood`` (total over the rows of ``X``), ``n_parameters``, ``bic``,
        ``icl`` (both lower is better; all three missing, and ``n_parameters`` too, for
        a cell that no start could fit), ``degenerate`` (bool), ``converged`` (bool) and
        ``note`` (why a fit was not selectable or is suspect; empty otherwise).
    best_estimator_ : GaussianMixtureEM or StudentMixtureEM
        The chosen fit: the lowest ``criterion`` among the fits without a degenerate
        component.
    best_params_ : dict
        ``{"n_components": ..., "covariance_type": ...}`` of the chosen fit, and
        ``"noise": True`` for a fit with a noise component (the family is
        ``type(best_estimator_)``, and the table's ``family`` column).
    best_index_ : int
        Row of ``table_`` holding the chosen fit.
    criterion : {"bic", "icl"}
        The criterion the choice was made on.
    estimators_ : list of GaussianMixtureEM or StudentMixtureEM
        Every fit, in the order of the rows of ``table_``: any cell's parameters,
        without refitting it (unfitted for a cell that no start could fit, whose row's
        criteria are missing).

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

    def _best_rows(self, top):
        # Degenerate fits, never chosen, come after every selectable one, and cells
        # without a fit (their criteria missing) last.
        table = self.table_
        rank = table["degenerate"].astype(int) + 2 * table[self.criterion].isna()
        order = table.assign(rank=rank).sort_values(["rank", self.criterion], kind="stable")
        return table.loc[order.index].head(top)


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
        to one), ``occupied`` and ``p_occupied`` (the posterior's most probable number of
        occupied components, i.e. clusters, and its probability:
        :meth:`~bayesmix.bayes.GaussianMixtureBayes.posterior_n_components`; with a
        sparse prior on the weights, the posterior's own answer to "how many
        clusters?"), ``max_pareto_k`` (LOO only, NaN for WAIC), ``divergences`` (NUTS; NaN
        for variational fits), ``converged`` (variational inference's flag, or for NUTS
        whether every R-hat is at most 1.01; ``<NA>`` when undefined, e.g. one chain)
        and ``note`` (diagnostics that make the row suspect; empty otherwise). The
        first columns are those of :func:`arviz.compare`.
    best_estimator_ : GaussianMixtureBayes
        The fit with the highest elpd.
    best_params_ : dict
        ``{"n_components": ..., "covariance_type": ...}`` of the chosen fit, and
        ``"noise": True`` for a fit with a noise component (the family is
        ``type(best_estimator_)``, and the table's ``family`` column).
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
    >>> table = pd.DataFrame([[1, "full", -560.1, 11.0, 4.8, 93.0, 12.9, 0.0, 1, 1.0, 0.31,
    ...                        0, True, ""],
    ...                       [2, "full", -467.1, 10.8, 10.5, 0.0, 0.0, 1.0, 2, 0.98, 0.42,
    ...                        0, True, ""]], columns=list(BAYES_COLUMNS["loo"]))
    >>> print(BayesSelection(table, None, 1, "loo"))
    ... # doctest: +NORMALIZE_WHITESPACE
       K structure  elpd_loo    se  p_loo  d_loo   dse  weight  occ  p_occ  max_k  div  converged
       1      full   -560.10 11.00   4.80  93.00 12.90    0.00    1   1.00   0.31    0       True
    *  2      full   -467.10 10.80  10.50   0.00  0.00    1.00    2   0.98   0.42    0       True
    Chosen by highest elpd_loo (higher is better): n_components=2, covariance_type='full'.
    d_loo: the best elpd_loo minus this one, dse its standard error; weight: stacking weights (sum to 1); occ: the most probable number of occupied components (p_occ its posterior probability).
    """

    _headers = {"n_components": "K", "covariance_type": "structure",
                "max_pareto_k": "max_k", "occupied": "occ", "p_occupied": "p_occ",
                "divergences": "div"}

    def _best_rows(self, top):
        return self.table_.sort_values(f"elpd_{self.criterion}", ascending=False,
                                       kind="stable").head(top)

    def _choice(self) -> str:
        ic = self.criterion
        return (f"Chosen by highest elpd_{ic} (higher is better): {self._chosen()}.\n"
                f"d_{ic}: the best elpd_{ic} minus this one, dse its standard error; "
                f"weight: stacking weights (sum to 1); occ: the most probable number of "
                f"occupied components (p_occ its posterior probability).")
