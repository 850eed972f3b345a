"""The figures the ``bayesmix`` command writes, drawn by :mod:`bayesmix.plotting`.

This module chooses which pictures a fit gets, names the two features a 2-D picture
shows when there are more, adds the legend from colour to component, and draws the
elpd curve of a posterior selection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from bayesmix.cli.report import Report, figure_of

__all__ = ["LABELS", "add_fit_figures", "backend_of", "method_of", "plot_elpd_selection"]

#: How each ``--method`` is named in the printed text and the figures.
LABELS = {"em": "EM", "nuts": "NUTS", "advi": "ADVI", "fullrank_advi": "full-rank ADVI",
          "gibbs": "Gibbs"}


def backend_of(method: str) -> Any:
    """The inference back end ``--method`` names, or ``None`` for EM.

    Examples
    --------
    >>> from bayesmix.cli.figures import backend_of
    >>> backend_of("em") is None, backend_of("nuts").is_sampler
    (True, True)
    """
    from bayesmix.bayes.backends import BACKENDS

    return BACKENDS.get(method)


def method_of(model: Any) -> str:
    """``"em"``, ``"nuts"``, ``"advi"`` or ``"fullrank_advi"``: how ``model`` was fitted.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.cli.figures import method_of
    >>> method_of(GaussianMixtureEM(2, random_state=0).fit(load_old_faithful()))
    'em'
    """
    idata = model.to_inference_data() if hasattr(model, "to_inference_data") else model.idata_
    return str(idata.posterior.attrs["inference_method"])


def _add_component_legend(drawing: Any) -> None:
    """A legend from colour to component on a :func:`~bayesmix.plotting.plot_components`
    picture that has none (2 features: the mean markers' colours; more: the diagonal)."""
    from matplotlib.lines import Line2D

    figure = figure_of(drawing)
    first = figure.axes[0]
    if first.get_legend() is not None:
        return
    handles, labels = first.get_legend_handles_labels()
    if handles:  # pairwise panels: the density lines of the first diagonal panel
        figure.legend(handles, labels, loc="upper right", fontsize="small")
        return
    colours = first.collections[-1].get_facecolors()  # the component means, in order
    handles = [Line2D([], [], marker="o", linestyle="", color=colour) for colour in colours]
    first.legend(handles, [f"component {k}" for k in range(len(colours))], fontsize="small")


def _name_features(drawing: Any, features: Sequence[str], n_features: int) -> None:
    """Say which two of ``n_features`` features a 2-D picture shows, under its title."""
    if n_features <= 2:
        return
    figure = figure_of(drawing)
    shown = f"features shown: {features[0]} and {features[1]} (of {n_features})"
    title = figure.get_suptitle()
    figure.suptitle(f"{title}\n{shown}" if title else shown, fontsize="medium")


def _pair(X: pd.DataFrame, features: Sequence[str] | None) -> list[str]:
    """The two features of the 2-D pictures: ``--features`` or the first two columns."""
    return list(features) if features else [str(name) for name in X.columns[:2]]


def add_fit_figures(report: Report, model: Any, X: pd.DataFrame, em: Any = None,
                    uncertainty: bool = True, features: Sequence[str] | None = None) -> None:
    """Add the standard pictures of a fitted model to ``report``.

    An EM fit: its components and uncertainty map, and its convergence history. A
    posterior: components at the posterior mean, the posterior ellipse cloud over the EM
    fit (2 or more features), the uncertainty of EM and the posterior side by side, the
    weights' posterior and the trace plot. ``uncertainty=False`` leaves out the EM
    uncertainty map (when a posterior's side-by-side map follows). ``features`` chooses
    the two columns of the 2-D pictures when ``X`` has more; a subtitle names them.

    Examples
    --------
    >>> import tempfile
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.cli.figures import add_fit_figures
    >>> from bayesmix.cli.report import Report
    >>> X = load_old_faithful()
    >>> report = Report(tempfile.mkdtemp())
    >>> add_fit_figures(report, GaussianMixtureEM(2, random_state=0).fit(X), X)
    >>> [path.name for path in report.figures]
    ['em_components.png', 'uncertainty.png', 'em_history.png']
    """
    from bayesmix import plotting

    method = method_of(model)
    label = LABELS[method]
    pair = _pair(X, features) if X.shape[1] >= 2 else None
    two_d = {"features": pair} if pair else {}
    em = model if backend_of(method) is None else (em if em is not None else model.em_)
    components = plotting.plot_components(model, X)
    _add_component_legend(components)
    if em is model:
        report.add_figure(components, "em_components", "EM fit: data coloured by cluster, "
                          "component ellipses at 1, 2 and 3 sigma.")
        if uncertainty:
            drawing = plotting.plot_uncertainty(model, X, **two_d)
            _name_features(drawing, pair or [], X.shape[1])
            report.add_figure(drawing, "uncertainty", "EM fit: classification uncertainty "
                              "(1 - max responsibility).")
        report.add_figure(plotting.plot_em_history(model), "em_history",
                          "EM fit: mean log-likelihood per iteration (best restart).")
        return
    report.add_figure(components, "posterior_mean_components",
                      f"{label} posterior mean: data coloured by cluster, component "
                      f"ellipses at 1, 2 and 3 sigma.")
    if pair:
        drawing = plotting.plot_posterior_components(model, X, n_draws=50, em=em,
                                                     random_state=0, features=pair)
        _name_features(drawing, pair, X.shape[1])
        report.add_figure(drawing, "posterior_ellipses", f"{label} posterior: 2-sigma "
                          f"ellipses of 50 draws, EM ellipses dashed on top.")
    drawing = plotting.plot_uncertainty(em, X, compare_to=model, **two_d)
    _name_features(drawing, pair or [], X.shape[1])
    report.add_figure(drawing, "uncertainty", f"Classification uncertainty (1 - max "
                      f"responsibility): EM (left) against the {label} posterior (right).")
    report.add_figure(plotting.plot_weights(model, em=em), "weights",
                      f"{label} posterior of the mixture weights; EM weights as diamonds.")
    report.add_figure(plotting.plot_trace(model, legend=True), "trace",
                      f"{label} trace of the relabelled weights and means; the legend "
                      f"gives each component's colour.")


def plot_elpd_selection(table: pd.DataFrame, criterion: str, best_index: int) -> Any:
    """The expected log predictive density against K, one line per structure, with its
    standard error; the chosen fit starred (higher is better).

    Parameters
    ----------
    table : pandas.DataFrame
        ``select_bayes(...).table_``: ``n_components``, ``covariance_type``,
        ``elpd_<criterion>`` and ``se`` columns.
    criterion : {"loo", "waic"}
    best_index : int
        The row of the chosen fit.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from bayesmix.cli.figures import plot_elpd_selection
    >>> table = pd.DataFrame({"n_components": [1, 2], "covariance_type": ["full"] * 2,
    ...                       "elpd_loo": [-520.0, -480.0], "se": [10.0, 9.0]})
    >>> plot_elpd_selection(table, "loo", 1).get_ylabel()
    'elpd_loo (higher is better)'
    """
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    column = f"elpd_{criterion}"
    for structure, rows in table.groupby("covariance_type", sort=False):
        rows = rows.sort_values("n_components")
        ax.errorbar(rows["n_components"], rows[column], yerr=rows["se"], marker="o",
                    capsize=3, label=str(structure))
    best = table.loc[best_index]
    ax.scatter([best["n_components"]], [best[column]], marker="*", s=300, facecolor="gold",
               edgecolor="black", zorder=4, label=f"chosen: K={int(best['n_components'])}, "
                                                  f"{best['covariance_type']}")
    ax.set_xticks(sorted({int(k) for k in table["n_components"]}))
    ax.set_xlabel("number of components K")
    ax.set_ylabel(f"{column} (higher is better)")
    ax.set_title(f"Model selection by {criterion.upper()} (error bars: 1 standard error)")
    ax.legend(fontsize="small")
    return ax
