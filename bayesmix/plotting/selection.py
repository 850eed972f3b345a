"""Model selection pictures: the criterion against the number of components
(mclust's BIC plot), and the geometry of mclust's covariance models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bayesmix._validation import check_bool, check_int, check_option
from bayesmix.covariance import MCLUST_MODELS, get_structure
from bayesmix.covariance.eigen import compose

from bayesmix.plotting.parts import (
    component_colors,
    draw_components,
    make_ax,
)

#: ``plot_selection(relative=True)`` draws differences of the criterion linearly within
#: this many units of the chosen fit (Kass and Raftery's "very strong" evidence is a BIC
#: difference of 10) and logarithmically beyond.
RELATIVE_LINEAR_RANGE = 10.0
#: :func:`plot_selection`'s symbols, one per covariance structure in the table's order
#: (as mclust's BIC plot tells its 14 models apart by symbol as well as colour).
SELECTION_MARKERS = ("o", "s", "^", "P", "D", "X", "v", "*", "<", "p", ">", "h", "d", "8")
#: :func:`plot_selection`'s line styles, one per family and noise setting of the table
#: (``select_em(families=..., noise=...)``), in the table's order.
SELECTION_LINESTYLES = ("-", "--", ":", "-.")


def _variant_label(family: str, noise: bool) -> str:
    """``"gaussian"``, ``"student_t + noise"``: a family and noise setting in words."""
    return f"{family} + noise" if noise else str(family)

def plot_selection(select_result: Any, criterion: str | None = None,
                   ax: Axes | None = None, relative: bool = False) -> Axes:
    """BIC or ICL against the number of components, one line per covariance structure.

    Each structure has its own colour and symbol (:data:`SELECTION_MARKERS`), as in
    mclust's BIC plot, so that the 14 models of ``covariance_types="mclust"`` stay
    apart; with several families or a noise component (the table's ``family`` and
    ``noise`` columns), each has its own line style (:data:`SELECTION_LINESTYLES`) and
    its name in the labels. Lower is better. The chosen fit
    (``select_result.best_index_``) is marked with a star; fits with a degenerate
    component, which are never chosen, with a red cross.

    Parameters
    ----------
    select_result : EMSelection
        The result of :func:`bayesmix.select_em`.
    criterion : {"bic", "icl"}, optional
        The criterion drawn; the one the choice was made on by default.
    ax : matplotlib.axes.Axes, optional
    relative : bool, default=False
        Draw each fit's criterion minus the chosen fit's on a symmetric-log axis, linear
        within :data:`RELATIVE_LINEAR_RANGE` of the choice: differences that matter (a
        few units) stay readable when some curves are thousands of units away (raw
        columns on very different scales, e.g. ``spherical`` on unstandardised data).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from bayesmix import make_mixture, select_em
    >>> from bayesmix.plotting import plot_selection
    >>> X, _, _ = make_mixture(200, n_components=2, random_state=0)
    >>> selection = select_em(X, [1, 2, 3], ["full", "spherical"], random_state=0)
    >>> ax = plot_selection(selection)
    >>> [(line.get_label(), line.get_marker()) for line in ax.get_lines()]
    [('full', 'o'), ('spherical', 's')]
    >>> ax.get_ylabel()
    'BIC (lower is better)'
    >>> plot_selection(selection, relative=True).get_ylabel()
    'BIC - chosen BIC (lower is better)'
    >>> both = select_em(X, [1, 2], ["full"], families=("gaussian", "student_t"),
    ...                  random_state=0)
    >>> [(line.get_label(), line.get_linestyle()) for line in plot_selection(both).get_lines()]
    [('full, gaussian', '-'), ('full, student_t', '--')]
    """
    table = getattr(select_result, "table_", None)
    if not isinstance(table, pd.DataFrame) or not hasattr(select_result, "best_index_"):
        raise ValueError(f"select_result must be the EMSelection returned by "
                         f"bayesmix.select_em, got {type(select_result).__name__}.")
    chosen_by = str(select_result.criterion)
    criterion = check_option(criterion or chosen_by, "criterion", ("bic", "icl"))
    relative = check_bool(relative, "relative")
    ax = make_ax(ax)
    best = table.loc[select_result.best_index_]
    values = table[criterion] - (best[criterion] if relative else 0.0)
    structures = list(dict.fromkeys(table["covariance_type"]))
    colors = component_colors(len(structures))
    with_variants = "family" in table
    variants = (list(dict.fromkeys(zip(table["family"], table["noise"]))) if with_variants
                else [None])
    for index, (color, structure) in enumerate(zip(colors, structures)):
        for position, variant in enumerate(variants):
            chosen = table["covariance_type"] == structure
            label = str(structure)
            if with_variants:
                chosen &= (table["family"] == variant[0]) & (table["noise"] == variant[1])
                label += ", " + _variant_label(*variant)
            rows = table[chosen].sort_values("n_components")
            ax.plot(rows["n_components"], values[rows.index], color=color, label=label,
                    marker=SELECTION_MARKERS[index % len(SELECTION_MARKERS)],
                    linestyle=SELECTION_LINESTYLES[position % len(SELECTION_LINESTYLES)])
    degenerate = table[table["degenerate"].astype(bool)]
    if len(degenerate):
        ax.scatter(degenerate["n_components"], values[degenerate.index], marker="x", s=90,
                   color="red", linewidths=2, zorder=3,
                   label="degenerate fit (never chosen)")
    ax.scatter([best["n_components"]], [values[select_result.best_index_]], marker="*",
               s=300, facecolor="gold", edgecolor="black", zorder=4,
               label=f"chosen by {chosen_by.upper()}: K={int(best['n_components'])}, "
                     f"{best['covariance_type']}" + (
                         f", {_variant_label(best['family'], best['noise'])}"
                         if with_variants else ""))
    ax.set_xticks(sorted(set(int(k) for k in table["n_components"])))
    ax.set_xlabel("number of components K")
    name = criterion.upper()
    if relative:
        ax.set_yscale("symlog", linthresh=RELATIVE_LINEAR_RANGE)
        ax.set_ylabel(f"{name} - chosen {name} (lower is better)")
    else:
        ax.set_ylabel(f"{name} (lower is better)")
    ax.set_title(f"Model selection by {criterion.upper()}")
    ax.legend(fontsize="small", ncol=2 if len(structures) * len(variants) > 6 else 1)
    return ax


def _geometry_words(code: str) -> str:
    """mclust's three letters in words: ``"EEV"`` -> volume, shape and orientation."""
    words = {"E": "equal", "V": "variable"}
    volume, shape, orientation = code
    return (f"{words[volume]} volume\n"
            f"{'spherical' if shape == 'I' else words[shape] + ' shape'}, "
            f"{'axis-aligned' if orientation == 'I' else words[orientation] + ' axes'}")


def example_covariances(covariance_type: str, n_components: int = 3) -> np.ndarray:
    """(K, 2, 2) covariances with the geometry of one of mclust's models, for pictures.

    Equal volumes, shapes or orientations are one value for every component; variable
    ones differ clearly between components; ``I`` means spherical (shape) or along the
    axes (orientation). :func:`plot_covariance_models` draws them.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.plotting import example_covariances
    >>> covariances = example_covariances("VEI", 2)
    >>> np.linalg.det(covariances).round(3), bool(np.all(covariances[:, 0, 1] == 0))
    (array([0.062, 0.303]), True)
    """
    code = get_structure(covariance_type).name
    n_components = check_int(n_components, "n_components", min_value=1)
    volume, shape, orientation = code
    k = np.arange(n_components)
    volumes = np.full(n_components, 0.5) if volume == "E" else 0.25 + 0.3 * k
    ratios = {"I": np.ones(n_components), "E": np.full(n_components, 5.0),
              "V": 2.0 + 4.0 * (k % 3)}[shape]
    shapes = np.column_stack([np.sqrt(ratios), 1.0 / np.sqrt(ratios)])
    angles = {"I": np.zeros(n_components), "E": np.full(n_components, np.pi / 6),
              "V": np.pi / 6 + k * np.pi / 3}[orientation]
    cos, sin = np.cos(angles), np.sin(angles)
    orientations = np.stack([np.column_stack([cos, sin]), np.column_stack([-sin, cos])],
                            axis=-1)
    return compose(volumes, shapes, orientations)


def plot_covariance_models(covariance_types: Sequence[str] = MCLUST_MODELS,
                           n_components: int = 3, n_columns: int = 7) -> Figure:
    """mclust's covariance models pictured: one panel per model, its components' ellipses.

    Each panel draws ``n_components`` one- and two-standard-deviation ellipses around
    the same means, with covariances ``volume * orientation @ diag(shape) @
    orientation.T`` whose volumes, shapes and orientations are equal (``E``) or vary
    (``V``) between components as the model's letters say (``I``: spherical shape, or
    orientation along the axes). A teaching figure: what each model ties, at a glance.

    Parameters
    ----------
    covariance_types : sequence of str, default=mclust's 14 models
        Any registered names; each panel is titled with mclust's code.
    n_components : int, default=3
    n_columns : int, default=7

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from bayesmix.plotting import plot_covariance_models
    >>> figure = plot_covariance_models()
    >>> [ax.get_title().split()[0] for ax in figure.axes][:4]
    ['EII', 'VII', 'EEI', 'VEI']
    """
    structures = [get_structure(name, "covariance_types") for name in covariance_types]
    if not structures:
        raise ValueError("covariance_types is empty; pass at least one model's name, e.g. "
                         "('VII', 'VEV'), or leave it out for mclust's 14.")
    n_components = check_int(n_components, "n_components", min_value=1)
    n_columns = check_int(n_columns, "n_columns", min_value=1)
    n_rows = -(-len(structures) // n_columns)
    figure, axes = plt.subplots(n_rows, n_columns, figsize=(2.1 * n_columns, 2.7 * n_rows),
                                squeeze=False)
    angles = 2.0 * np.pi * np.arange(n_components) / n_components + np.pi / 2
    means = 2.6 * np.column_stack([np.cos(angles), np.sin(angles)])
    colors = component_colors(n_components)
    for ax, structure in zip(axes.ravel(), structures):
        draw_components(ax, means, example_covariances(structure.name, n_components),
                         (1.0, 2.0), colors)
        ax.scatter(means[:, 0], means[:, 1], c=colors, s=12)
        ax.set_title(f"{structure.name}\n{_geometry_words(structure.name)}", fontsize=8)
        ax.set_xlim(-5.5, 5.5)
        ax.set_ylim(-5.5, 5.5)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.ravel()[len(structures):]:
        ax.set_visible(False)
    figure.tight_layout()
    return figure
