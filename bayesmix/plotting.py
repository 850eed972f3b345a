"""Pictures of Gaussian mixtures: EM fits and posteriors drawn the same way.

Every function takes a fitted :class:`~bayesmix.GaussianMixtureEM`,
:class:`~bayesmix.bayes.GaussianMixtureBayes` or the :class:`arviz.InferenceData` either
produces (the layout of :mod:`bayesmix.results`), draws with matplotlib and returns the
:class:`~matplotlib.axes.Axes` it drew on (a :class:`~matplotlib.figure.Figure` when it
draws several panels). None calls ``plt.show()``. Axis labels use the data's column
names.

- :func:`plot_components`: data coloured by cluster with 1, 2, 3 sigma ellipses (2-D),
  pairwise panels (more features) or histogram and densities (1-D);
- :func:`plot_posterior_components`: a cloud of posterior ellipses under the EM ellipses;
- :func:`plot_uncertainty`: classification uncertainty ``1 - max responsibility``,
  optionally side by side with a second fit;
- :func:`plot_selection`: BIC or ICL against the number of components;
- :func:`plot_covariance_models`: the geometry of mclust's covariance models, one small
  picture per model;
- :func:`plot_weights` and :func:`plot_trace`: the posterior of the weights, and ArviZ
  trace plots of the relabelled draws;
- :func:`plot_n_components`: the posterior of the number of occupied components;
- :func:`plot_em_history`: the EM convergence history.

Its length (about 1000 lines, most of it docstrings with examples) is that of twelve
independent figure functions sharing one set of colour, ellipse and label helpers;
splitting them would scatter those helpers.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from bayesmix import GaussianMixtureEM, load_old_faithful
>>> from bayesmix.plotting import plot_components
>>> X = load_old_faithful()
>>> ax = plot_components(GaussianMixtureEM(2, random_state=0).fit(X), X)
>>> ax.get_xlabel(), ax.get_ylabel()
('eruptions', 'waiting')
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib import MatplotlibDeprecationWarning
from matplotlib.axes import Axes
from matplotlib.colors import Colormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse
from scipy.stats import norm

from bayesmix._validation import check_array, check_int, check_option
from bayesmix.covariance import MCLUST_MODELS, get_structure, precision_cholesky
from bayesmix.covariance.eigen import compose
from bayesmix.density import responsibilities
from bayesmix.scoring import inference_data, is_point_mass, point_estimate

__all__ = [
    "example_covariances",
    "plot_components",
    "plot_covariance_models",
    "plot_em_history",
    "plot_n_components",
    "plot_posterior_components",
    "plot_selection",
    "plot_trace",
    "plot_uncertainty",
    "plot_weights",
]

#: Sigma level of the ellipses in the posterior cloud and the uncertainty map.
_CLOUD_N_STD = 2.0
#: ``plot_selection(relative=True)`` draws differences of the criterion linearly within
#: this many units of the chosen fit (Kass and Raftery's "very strong" evidence is a BIC
#: difference of 10) and logarithmically beyond.
RELATIVE_LINEAR_RANGE = 10.0
#: :func:`plot_selection`'s symbols, one per covariance structure in the table's order
#: (as mclust's BIC plot tells its 14 models apart by symbol as well as colour).
SELECTION_MARKERS = ("o", "s", "^", "P", "D", "X", "v", "*", "<", "p", ">", "h", "d", "8")
_UNCERTAINTY_LABEL = "uncertainty: 1 - max responsibility"


# ---------------------------------------------------------------- resolving inputs
def _resolve(model: Any, name: str) -> az.InferenceData:
    """The bayesmix InferenceData of ``model``; errors name the argument."""
    try:
        return inference_data(model)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _require_draws(idata: az.InferenceData, name: str, function: str) -> None:
    if is_point_mass(idata):
        method = idata.posterior.attrs.get("inference_method")
        raise ValueError(
            f"{function} needs posterior draws, but {name} is a point-mass fit "
            f"(inference_method={method!r}, 1 chain x 1 draw). Pass a fitted "
            f"GaussianMixtureBayes or its idata_; for an EM fit use plot_components."
        )


def _feature_names(idata: az.InferenceData) -> list[str]:
    return _feature_names_of(idata.posterior)


def _feature_names_of(dataset: xr.Dataset) -> list[str]:
    return [str(name) for name in dataset["feature"].values]


def _n_components(idata: az.InferenceData) -> int:
    return int(idata.posterior.sizes["component"])


def _fit_label(idata: az.InferenceData, posterior: str = "posterior") -> str:
    """``"EM"`` for an EM fit, ``"posterior (nuts)"`` (or another word) for draws."""
    from bayesmix.bayes.backends import inference_method_of

    return inference_method_of(idata).plot_label(posterior)


def _data(idata: az.InferenceData, X: Any, name: str = "X") -> np.ndarray:
    """``X`` checked against the model's features; the fitted data when ``X`` is None."""
    if X is None:
        return idata.observed_data["x"].values
    names = _feature_names(idata)
    values = check_array(X, name=name, n_features=len(names),
                         owner=f"the model (features {names})", allow_missing=True)
    if isinstance(X, pd.DataFrame) and [str(c) for c in X.columns] != names:
        raise ValueError(
            f"{name} has columns {[str(c) for c in X.columns]}, but the model was fitted on "
            f"{names}. Pass {name}[{names}] (the same columns, in the same order)."
        )
    return values


def _feature_pair(idata: az.InferenceData, features: Sequence[Any] | None,
                  function: str) -> list[int]:
    """Indices of the two features shown in a 2-D picture (the first two by default)."""
    names = _feature_names(idata)
    if len(names) < 2:
        raise ValueError(
            f"{function} draws 2-D ellipses, but the model has a single feature "
            f"{names}. Use plot_components for 1-D data."
        )
    if features is None:
        return [0, 1]
    chosen = list(features)
    if len(chosen) != 2:
        raise ValueError(f"features must name exactly two features, got {chosen!r}; e.g. "
                         f"features={names[:2]!r}.")
    indices = []
    for feature in chosen:
        if isinstance(feature, (int, np.integer)) and 0 <= feature < len(names):
            indices.append(int(feature))
        elif str(feature) in names:
            indices.append(names.index(str(feature)))
        else:
            raise ValueError(f"features: {feature!r} is not a feature of the model; use one "
                             f"of {names} or an index below {len(names)}.")
    if indices[0] == indices[1]:
        raise ValueError(f"features must be two different features, got {chosen!r}.")
    return indices


def _stacked_draws(idata: az.InferenceData) -> dict[str, np.ndarray]:
    """``weights``, ``means``, ``covariances`` with one leading ``sample`` axis."""
    post = idata.posterior
    out = {}
    for name in ("weights", "means", "covariances"):
        stacked = post[name].stack(sample=("chain", "draw"))
        out[name] = stacked.transpose("sample", *post[name].dims[2:]).values
    return out


def _mean_responsibilities(idata: az.InferenceData, X: np.ndarray) -> np.ndarray:
    """Responsibilities averaged over the draws (the EM responsibilities for a point)."""
    draws = _stacked_draws(idata)
    factors = precision_cholesky(draws["covariances"], "full")
    total = np.zeros((X.shape[0], draws["weights"].shape[1]))
    for weights, means, factor in zip(draws["weights"], draws["means"], factors):
        total += responsibilities(X, weights, means, factor, "full")
    return total / len(factors)


def _uncertainty(idata: az.InferenceData, X: np.ndarray) -> np.ndarray:
    return 1.0 - _mean_responsibilities(idata, X).max(axis=1)


# ---------------------------------------------------------------- geometry and colours
def _component_colors(n_components: int) -> list[tuple[float, ...]]:
    cmap: Colormap = plt.get_cmap("tab10" if n_components <= 10 else "tab20")
    return [cmap(k % cmap.N) for k in range(n_components)]


def _check_n_std(n_std: Any) -> tuple[float, ...]:
    levels = np.atleast_1d(np.asarray(n_std, dtype=float)).ravel()
    if levels.size == 0 or not np.all(np.isfinite(levels)) or np.any(levels <= 0):
        raise ValueError(f"n_std must be one or more positive numbers of standard deviations, "
                         f"got {n_std!r}; e.g. n_std=(1, 2, 3).")
    return tuple(float(level) for level in levels)


def _ellipse_geometry(covariance: np.ndarray, n_std: float) -> tuple[float, float, float]:
    """Width, height and angle (degrees) of the ``n_std`` contour of a 2x2 covariance.

    The width lies along the leading eigenvector: ``2 n_std sqrt(largest eigenvalue)``.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(np.asarray(covariance, dtype=float))
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    major = eigenvectors[:, 1]
    angle = float(np.degrees(np.arctan2(major[1], major[0])))
    width, height = 2.0 * n_std * np.sqrt(eigenvalues[::-1])
    return float(width), float(height), angle


def _add_ellipse(ax: Axes, mean: np.ndarray, covariance: np.ndarray, n_std: float,
                 **style: Any) -> Ellipse:
    width, height, angle = _ellipse_geometry(covariance, n_std)
    patch = Ellipse(tuple(mean), width, height, angle=angle, fill=False, **style)
    ax.add_patch(patch)
    return patch


def _project(means: np.ndarray, covariances: np.ndarray, pair: Sequence[int]
             ) -> tuple[np.ndarray, np.ndarray]:
    """Means and covariances of the marginal on two features (works on leading axes)."""
    pair = list(pair)
    return means[..., pair], covariances[..., pair, :][..., pair]


def _draw_components(ax: Axes, means: np.ndarray, covariances: np.ndarray,
                     levels: Sequence[float], colors: Sequence[Any], linewidth: float = 2.0,
                     **style: Any) -> None:
    """One ellipse per component and level; the lines thin out with the level."""
    for k, (mean, covariance) in enumerate(zip(means, covariances)):
        for i, level in enumerate(levels):
            _add_ellipse(ax, mean, covariance, level, edgecolor=colors[k],
                         linewidth=linewidth / (1 + 0.4 * i), **style)


def _make_ax(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5))
    elif not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}.")
    return ax


def _single_ax(ax: Any, function: str, reason: str) -> None:
    if ax is not None:
        raise ValueError(f"ax: {function} draws several panels here ({reason}) and makes "
                         f"its own Figure; leave ax=None.")


# ---------------------------------------------------------------- panels
def _mark_missing(ax: Axes, X2: np.ndarray, colors: Any) -> None:
    """Rows missing one of the two shown coordinates (NaN): a tick on the axis of the
    other, at its observed value (matplotlib leaves such points out of a scatter).

    ``colors`` is one colour, or one per row of ``X2``.
    """
    missing = np.isnan(X2)
    for shown, transform, marker in ((0, ax.get_xaxis_transform(), "|"),
                                     (1, ax.get_yaxis_transform(), "_")):
        rows = missing[:, 1 - shown] & ~missing[:, shown]
        if not rows.any():
            continue
        row_colors = colors if isinstance(colors, str) else [
            color for color, chosen in zip(colors, rows) if chosen]
        position = X2[rows, shown]
        xy = (position, np.zeros_like(position))[::1 if shown == 0 else -1]
        ax.scatter(*xy, c=row_colors, marker=marker, s=60, transform=transform,
                   clip_on=False, linewidths=1.0)


def _scatter_clusters(ax: Axes, X2: np.ndarray, labels: np.ndarray,
                      colors: Sequence[Any], size: float = 12.0) -> None:
    row_colors = [colors[k] for k in labels]
    ax.scatter(X2[:, 0], X2[:, 1], c=row_colors, s=size, alpha=0.6, linewidths=0)
    _mark_missing(ax, X2, row_colors)


def _density_panel(ax: Axes, x: np.ndarray, labels: np.ndarray, weights: np.ndarray,
                   means: np.ndarray, variances: np.ndarray, colors: Sequence[Any],
                   name: str) -> None:
    """Histogram of ``x``, weighted component densities and their sum (the mixture).

    Missing values (NaN) are left out."""
    observed = ~np.isnan(x)
    x, labels = x[observed], labels[observed]
    sd = np.sqrt(variances)
    lower = min(x.min(), float(np.min(means - 4 * sd)))
    upper = max(x.max(), float(np.max(means + 4 * sd)))
    grid = np.linspace(lower, upper, 400)
    ax.hist(x, bins="auto", density=True, color="0.85", edgecolor="0.6", label="data")
    parts = weights[:, None] * norm.pdf(grid[None, :], means[:, None], sd[:, None])
    for k, part in enumerate(parts):
        ax.plot(grid, part, color=colors[k], linestyle="--", label=f"component {k}")
    ax.plot(grid, parts.sum(axis=0), color="black", linewidth=2, label="mixture")
    ax.scatter(x, np.zeros_like(x), c=[colors[k] for k in labels], marker="|", s=60)
    ax.set_xlabel(name)
    ax.set_ylabel("density")


# ---------------------------------------------------------------- public functions
def plot_components(
    model: Any,
    X: Any = None,
    ax: Axes | None = None,
    n_std: float | Sequence[float] = (1, 2, 3),
) -> Axes | Figure:
    """Data coloured by predicted cluster, with the fitted components drawn over it.

    - 2 features: a scatter plot with each component's ellipses at ``n_std`` standard
      deviations (the contours of its Gaussian);
    - more features: a grid of pairwise panels (projected covariances off the diagonal,
      histogram and marginal densities on it);
    - 1 feature: a histogram with the mixture density and the weighted component
      densities.

    A posterior is drawn at its posterior mean parameters; clusters are the most probable
    component under the posterior mean responsibilities.

    Parameters
    ----------
    model : GaussianMixtureEM, GaussianMixtureBayes or arviz.InferenceData
        A fitted model, or the InferenceData it produced.
    X : array-like or DataFrame of shape (n_samples, n_features), optional
        Data to draw; the data the model was fitted to when omitted.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (1 or 2 features only); a new figure when omitted.
    n_std : float or sequence of float, default=(1, 2, 3)
        Sigma levels of the ellipses.

    Returns
    -------
    matplotlib.axes.Axes, or matplotlib.figure.Figure for the pairwise panels.

    Raises
    ------
    ValueError
        For an unfitted model, ``X`` with other columns than the model, a non-positive
        ``n_std``, or ``ax`` given with more than two features.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.plotting import plot_components
    >>> X = load_old_faithful()
    >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
    >>> ax = plot_components(em, X)
    >>> len(ax.patches)  # 2 components x 3 sigma levels
    6
    >>> ax.get_title()
    'EM: 2 components, 1/2/3 sigma ellipses'
    """
    idata = _resolve(model, "model")
    X = _data(idata, X)
    levels = _check_n_std(n_std)
    weights, means, covariances = point_estimate(idata)
    names = _feature_names(idata)
    K, D = means.shape
    labels = _mean_responsibilities(idata, X).argmax(axis=1)
    colors = _component_colors(K)
    title = f"{_fit_label(idata, 'posterior mean')}: {K} component{'s' * (K != 1)}"

    if D == 1:
        ax = _make_ax(ax)
        _density_panel(ax, X[:, 0], labels, weights, means[:, 0], covariances[:, 0, 0],
                       colors, names[0])
        ax.legend(fontsize="small")
        ax.set_title(f"{title}, mixture density")
        return ax
    sigma_text = "/".join(f"{level:g}" for level in levels)
    if D == 2:
        ax = _make_ax(ax)
        _scatter_clusters(ax, X, labels, colors)
        _draw_components(ax, means, covariances, levels, colors)
        ax.scatter(means[:, 0], means[:, 1], c=colors, marker="X", s=80, edgecolors="black")
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.set_title(f"{title}, {sigma_text} sigma ellipses")
        ax.autoscale_view()
        return ax

    _single_ax(ax, "plot_components", f"{D} features, {D} x {D} pairwise panels")
    fig, axes = plt.subplots(D, D, figsize=(2.6 * D, 2.6 * D), squeeze=False)
    for i in range(D):
        for j in range(D):
            panel = axes[i, j]
            if i == j:
                _density_panel(panel, X[:, i], labels, weights, means[:, i],
                               covariances[:, i, i], colors, names[i])
                panel.set_title(f"{names[i]}: density", fontsize="medium")
                panel.set_xlabel(names[i] if i == D - 1 else "")
                panel.set_ylabel(names[i] if j == 0 else "")
                continue
            pair = [j, i]
            means2, covs2 = _project(means, covariances, pair)
            _scatter_clusters(panel, X[:, pair], labels, colors, size=6.0)
            _draw_components(panel, means2, covs2, levels, colors, linewidth=1.5)
            panel.autoscale_view()
            panel.set_xlabel(names[j] if i == D - 1 else "")
            panel.set_ylabel(names[i] if j == 0 else "")
    fig.suptitle(f"{title}, pairwise projections with {sigma_text} sigma ellipses")
    fig.tight_layout()
    return fig


def plot_posterior_components(
    bayes_model: Any,
    X: Any = None,
    n_draws: int = 50,
    em: Any = None,
    ax: Axes | None = None,
    random_state: Any = None,
    features: Sequence[Any] | None = None,
) -> Axes:
    """A cloud of posterior (or bootstrap) 2-sigma ellipses, with the EM ellipses over it.

    Each of ``n_draws`` relabelled posterior draws contributes one translucent ellipse
    per component (coloured by component), so the spread of the cloud shows how
    uncertain each component's location, size and orientation is. The EM fit's
    ellipses are drawn on top as thick dashed black outlines. The refits of an EM fit's
    bootstrap (:func:`bayesmix.bootstrap`) are drawn the same way, under that fit, so
    that EM's uncertainty can be set beside the posterior's.

    Parameters
    ----------
    bayes_model : GaussianMixtureBayes, BootstrapResult or arviz.InferenceData
        A posterior or a bootstrap (more than one draw).
    X : array-like or DataFrame, optional
        Data drawn as grey points; the fitted data when omitted.
    n_draws : int, default=50
        Number of draws to show, chosen at random without replacement (all the draws
        when there are fewer).
    em : GaussianMixtureEM or arviz.InferenceData, optional
        The EM fit drawn over the cloud; ``bayes_model.em_`` (the posterior's reference
        fit, or the bootstrapped fit) when omitted and present.
    ax : matplotlib.axes.Axes, optional
    random_state : int, numpy Generator or None
        Chooses the draws.
    features : pair of str or int, optional
        The two features shown when there are more than two (the first two by default).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        For a point-mass fit, ``n_draws < 1``, one feature, or an ``em`` fitted on
        another number of components or features.

    Examples
    --------
    A posterior made by hand (four draws around an EM fit):

    >>> import numpy as np
    >>> from bayesmix import GaussianMixtureEM, make_mixture
    >>> from bayesmix.results import build_inference_data
    >>> from bayesmix.plotting import plot_posterior_components
    >>> X, _, _ = make_mixture(200, n_components=2, random_state=0)
    >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
    >>> rng = np.random.default_rng(0)
    >>> shift = rng.normal(0, 0.1, (1, 4, 2, 2))
    >>> posterior = build_inference_data(
    ...     X=X, weights=np.broadcast_to(em.weights_, (1, 4, 2)),
    ...     means=em.means_ + shift, covariances=np.broadcast_to(em.covariances_, (1, 4, 2, 2, 2)),
    ...     covariance_type="full", inference_method="nuts")
    >>> ax = plot_posterior_components(posterior, X, n_draws=4, em=em, random_state=0)
    >>> len(ax.patches)  # 4 draws x 2 components, then 2 EM ellipses
    10

    The EM fit's own uncertainty, from 30 bootstrap refits:

    >>> from bayesmix import bootstrap
    >>> ax = plot_posterior_components(bootstrap(em, X, n_boot=30, random_state=0), X)
    >>> len(ax.patches), ax.get_title()
    (62, '30 bootstrap draws, 2 sigma ellipses over the EM fit')
    """
    idata = _resolve(bayes_model, "bayes_model")
    _require_draws(idata, "bayes_model", "plot_posterior_components")
    n_draws = check_int(n_draws, "n_draws", min_value=1)
    pair = _feature_pair(idata, features, "plot_posterior_components")
    X = _data(idata, X)
    em_idata = _reference_fit(bayes_model, em, idata)
    names = _feature_names(idata)
    K = _n_components(idata)
    colors = _component_colors(K)
    ax = _make_ax(ax)

    draws = _stacked_draws(idata)
    n_total = draws["weights"].shape[0]
    rng = np.random.default_rng(random_state)
    chosen = np.sort(rng.choice(n_total, size=min(n_draws, n_total), replace=False))
    means2, covs2 = _project(draws["means"][chosen], draws["covariances"][chosen], pair)
    alpha = float(np.clip(4.0 / len(chosen), 0.08, 0.5))

    ax.scatter(X[:, pair[0]], X[:, pair[1]], s=8, color="0.6", alpha=0.5, linewidths=0)
    _mark_missing(ax, X[:, pair], "0.6")
    for draw_means, draw_covs in zip(means2, covs2):
        _draw_components(ax, draw_means, draw_covs, [_CLOUD_N_STD], colors, linewidth=1.0,
                         alpha=alpha)
    handles = [Line2D([], [], color=colors[k], alpha=0.8,
                      label=f"component {k}: {_fit_label(idata)}") for k in range(K)]
    if em_idata is not None:
        _, em_means, em_covs = point_estimate(em_idata)
        em_means2, em_covs2 = _project(em_means, em_covs, pair)
        _draw_components(ax, em_means2, em_covs2, [_CLOUD_N_STD], ["black"] * K,
                         linewidth=2.0, linestyle="--")
        ax.scatter(em_means2[:, 0], em_means2[:, 1], marker="X", s=70, color="black")
        handles.append(Line2D([], [], color="black", linestyle="--", linewidth=2,
                              label="EM fit"))
    ax.legend(handles=handles, fontsize="small")
    ax.set_xlabel(names[pair[0]])
    ax.set_ylabel(names[pair[1]])
    over = " over the EM fit" if em_idata is not None else ""
    ax.set_title(f"{len(chosen)} {_fit_label(idata)} draws, {_CLOUD_N_STD:g} sigma "
                 f"ellipses{over}")
    ax.autoscale_view()
    return ax


def _reference_fit(bayes_model: Any, em: Any, idata: az.InferenceData
                   ) -> az.InferenceData | None:
    """The EM fit to draw over a posterior: ``em``, else ``bayes_model.em_``, else none."""
    if em is None:
        em = getattr(bayes_model, "em_", None)
        if em is None:
            return None
    em_idata = _resolve(em, "em")
    sizes, em_sizes = idata.posterior.sizes, em_idata.posterior.sizes
    if (em_sizes["component"], em_sizes["feature"]) != (sizes["component"], sizes["feature"]):
        raise ValueError(
            f"em has {em_sizes['component']} components and {em_sizes['feature']} features, "
            f"but bayes_model has {sizes['component']} and {sizes['feature']}. Pass the EM "
            f"fit of the same model (bayes_model.em_), or em=None."
        )
    return em_idata


def _uncertainty_panel(ax: Axes, idata: az.InferenceData, X: np.ndarray,
                       pair: Sequence[int] | None, vmax: float):
    """Points shaded and sized by uncertainty; 2-sigma ellipses for orientation."""
    names = _feature_names(idata)
    values = _uncertainty(idata, X)
    sizes = 8.0 + 60.0 * values / vmax
    _, means, covariances = point_estimate(idata)
    if pair is None:  # one feature: the uncertainty itself on the y axis
        points = ax.scatter(X[:, 0], values, c=values, s=sizes, cmap="viridis", vmin=0,
                            vmax=vmax, linewidths=0)
        ax.set_xlabel(names[0])
        ax.set_ylabel(_UNCERTAINTY_LABEL)
    else:
        points = ax.scatter(X[:, pair[0]], X[:, pair[1]], c=values, s=sizes, cmap="viridis",
                            vmin=0, vmax=vmax, linewidths=0)
        _mark_missing(ax, X[:, pair], points.to_rgba(values))
        means2, covs2 = _project(means, covariances, pair)
        _draw_components(ax, means2, covs2, [_CLOUD_N_STD], ["0.3"] * len(means2),
                         linewidth=1.0, linestyle=":")
        ax.set_xlabel(names[pair[0]])
        ax.set_ylabel(names[pair[1]])
        ax.autoscale_view()
    ax.set_title(f"{_fit_label(idata)}: classification uncertainty")
    return points


def plot_uncertainty(
    model: Any,
    X: Any = None,
    ax: Axes | Sequence[Axes] | None = None,
    compare_to: Any = None,
    features: Sequence[Any] | None = None,
) -> Axes | Figure:
    """Points shaded and sized by classification uncertainty, ``1 - max responsibility``.

    For a posterior the responsibilities are averaged over the draws first, so the map
    includes the uncertainty about the parameters that an EM fit does not show. With
    ``compare_to``, two panels side by side (e.g. EM and the posterior) share one colour
    scale. Dotted ellipses mark each component at 2 sigma; with one feature the
    uncertainty is on the y axis.

    Parameters
    ----------
    model : GaussianMixtureEM, GaussianMixtureBayes or arviz.InferenceData
    X : array-like or DataFrame, optional
        The points; the data ``model`` was fitted to when omitted.
    ax : matplotlib.axes.Axes, or a pair of them with ``compare_to``, optional
    compare_to : fitted model or InferenceData, optional
        A second fit on the same features, drawn in a second panel.
    features : pair of str or int, optional
        The two features shown when there are more than two (the first two by default).

    Returns
    -------
    matplotlib.axes.Axes, or matplotlib.figure.Figure with ``compare_to``.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.plotting import plot_uncertainty
    >>> X = load_old_faithful()
    >>> em2 = GaussianMixtureEM(2, random_state=0).fit(X)
    >>> em3 = GaussianMixtureEM(3, random_state=0).fit(X)
    >>> ax = plot_uncertainty(em2, X)
    >>> ax.get_title()
    'EM: classification uncertainty'
    >>> fig = plot_uncertainty(em2, X, compare_to=em3)
    >>> len(fig.axes)  # two panels and the shared colour bar
    3
    """
    idatas = [_resolve(model, "model")]
    if compare_to is not None:
        idatas.append(_resolve(compare_to, "compare_to"))
    names = _feature_names(idatas[0])
    for other in idatas[1:]:
        if _feature_names(other) != names:
            raise ValueError(f"compare_to was fitted on features {_feature_names(other)}, "
                             f"but model on {names}. Compare fits on the same data.")
    X = _data(idatas[0], X)
    pair = None if len(names) == 1 else _feature_pair(idatas[0], features, "plot_uncertainty")
    vmax = max(1.0 - 1.0 / _n_components(idata) for idata in idatas) or 1.0

    if compare_to is None:
        ax = _make_ax(ax)
        points = _uncertainty_panel(ax, idatas[0], X, pair, vmax)
        ax.figure.colorbar(points, ax=ax, label=_UNCERTAINTY_LABEL)
        return ax
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharex=True, sharey=True,
                                 layout="constrained")
    else:
        axes = list(np.ravel(ax)) if not isinstance(ax, Axes) else [ax]
        if len(axes) != 2 or not all(isinstance(a, Axes) for a in axes):
            raise ValueError(f"ax: with compare_to, pass a pair of Axes or None, got "
                             f"{type(ax).__name__}.")
        fig = axes[0].figure
    points = [_uncertainty_panel(a, idata, X, pair, vmax) for a, idata in zip(axes, idatas)]
    fig.colorbar(points[-1], ax=list(axes), label=_UNCERTAINTY_LABEL)
    return fig


def plot_selection(select_result: Any, criterion: str | None = None,
                   ax: Axes | None = None, relative: bool = False) -> Axes:
    """BIC or ICL against the number of components, one line per covariance structure.

    Each structure has its own colour and symbol (:data:`SELECTION_MARKERS`), as in
    mclust's BIC plot, so that the 14 models of ``covariance_types="mclust"`` stay
    apart. Lower is better. The chosen fit (``select_result.best_index_``) is marked with a
    star; fits with a degenerate component, which are never chosen, with a red cross.

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
    """
    table = getattr(select_result, "table_", None)
    if not isinstance(table, pd.DataFrame) or not hasattr(select_result, "best_index_"):
        raise ValueError(f"select_result must be the EMSelection returned by "
                         f"bayesmix.select_em, got {type(select_result).__name__}.")
    chosen_by = str(select_result.criterion)
    criterion = check_option(criterion or chosen_by, "criterion", ("bic", "icl"))
    ax = _make_ax(ax)
    best = table.loc[select_result.best_index_]
    values = table[criterion] - (best[criterion] if relative else 0.0)
    structures = list(dict.fromkeys(table["covariance_type"]))
    colors = _component_colors(len(structures))
    for index, (color, structure) in enumerate(zip(colors, structures)):
        rows = table[table["covariance_type"] == structure].sort_values("n_components")
        ax.plot(rows["n_components"], values[rows.index], color=color, label=str(structure),
                marker=SELECTION_MARKERS[index % len(SELECTION_MARKERS)])
    degenerate = table[table["degenerate"].astype(bool)]
    if len(degenerate):
        ax.scatter(degenerate["n_components"], values[degenerate.index], marker="x", s=90,
                   color="red", linewidths=2, zorder=3,
                   label="degenerate fit (never chosen)")
    ax.scatter([best["n_components"]], [values[select_result.best_index_]], marker="*",
               s=300, facecolor="gold", edgecolor="black", zorder=4,
               label=f"chosen by {chosen_by.upper()}: K={int(best['n_components'])}, "
                     f"{best['covariance_type']}")
    ax.set_xticks(sorted(set(int(k) for k in table["n_components"])))
    ax.set_xlabel("number of components K")
    name = criterion.upper()
    if relative:
        ax.set_yscale("symlog", linthresh=RELATIVE_LINEAR_RANGE)
        ax.set_ylabel(f"{name} - chosen {name} (lower is better)")
    else:
        ax.set_ylabel(f"{name} (lower is better)")
    ax.set_title(f"Model selection by {criterion.upper()}")
    ax.legend(fontsize="small", ncol=2 if len(structures) > 6 else 1)
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
    n_components = check_int(n_components, "n_components", min_value=1)
    n_columns = check_int(n_columns, "n_columns", min_value=1)
    n_rows = -(-len(structures) // n_columns)
    figure, axes = plt.subplots(n_rows, n_columns, figsize=(2.1 * n_columns, 2.7 * n_rows),
                                squeeze=False)
    angles = 2.0 * np.pi * np.arange(n_components) / n_components + np.pi / 2
    means = 2.6 * np.column_stack([np.cos(angles), np.sin(angles)])
    colors = _component_colors(n_components)
    for ax, structure in zip(axes.ravel(), structures):
        _draw_components(ax, means, example_covariances(structure.name, n_components),
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


def plot_weights(bayes_model: Any, ax: Axes | None = None, em: Any = None) -> Axes:
    """Posterior of the mixture weights: one violin per (relabelled) component.

    The EM weights are drawn as black diamonds (``em``, else ``bayes_model.em_``).

    Parameters
    ----------
    bayes_model : GaussianMixtureBayes or arviz.InferenceData
        A posterior (more than one draw).
    ax : matplotlib.axes.Axes, optional
    em : GaussianMixtureEM or arviz.InferenceData, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        For a point-mass fit such as a GaussianMixtureEM.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.results import build_inference_data
    >>> from bayesmix.plotting import plot_weights
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 1))
    >>> weights = rng.dirichlet([30, 10], size=(1, 100))
    >>> posterior = build_inference_data(
    ...     X=X, weights=weights, means=np.zeros((1, 100, 2, 1)),
    ...     covariances=np.ones((1, 100, 2, 1, 1)), covariance_type="full",
    ...     inference_method="nuts")
    >>> ax = plot_weights(posterior)
    >>> [label.get_text() for label in ax.get_xticklabels()]
    ['component 0', 'component 1']
    """
    idata = _resolve(bayes_model, "bayes_model")
    _require_draws(idata, "bayes_model", "plot_weights")
    em_idata = _reference_fit(bayes_model, em, idata)
    ax = _make_ax(ax)
    weights = _stacked_draws(idata)["weights"]
    K = weights.shape[1]
    colors = _component_colors(K)
    positions = np.arange(K)
    for k in positions:
        values = weights[:, k]
        label = f"component {k}"
        if np.ptp(values) > 0:
            parts = ax.violinplot(values, positions=[k], widths=0.8, showmedians=True)
            body = parts["bodies"][0]
            body.set(facecolor=colors[k], edgecolor=colors[k], alpha=0.6, label=label)
            for name in ("cmedians", "cmins", "cmaxes", "cbars"):
                parts[name].set_color(colors[k])
        else:  # every draw the same (a single component): a line at that value
            ax.hlines(values[0], k - 0.4, k + 0.4, color=colors[k], linewidth=3, label=label)
    if em_idata is not None:
        em_weights = point_estimate(em_idata)[0]
        markers = ax.scatter(positions, em_weights, marker="D", s=50, color="black",
                             zorder=3, label="EM weight")
        ax.legend(handles=[markers], fontsize="small")
    ax.set_xticks(positions, [f"component {k}" for k in positions])
    ax.set_ylabel("weight")
    ax.set_title(f"Mixture weights, {_fit_label(idata)}")
    return ax


def plot_n_components(bayes_model: Any, ax: Axes | None = None,
                      random_state: Any = None) -> Axes:
    """Bars of the posterior probabilities of the number of occupied components.

    The posterior of the number of clusters of a sparse finite mixture (an overfitted
    ``GaussianMixtureBayes`` with ``priors=MixturePriors.sparse()``); see
    :func:`~bayesmix.bayes.occupied.posterior_n_components`. The title gives the R-hat
    of the per-draw counts when there are several chains.

    Parameters
    ----------
    bayes_model : GaussianMixtureBayes or arviz.InferenceData
        A posterior (more than one draw).
    ax : matplotlib.axes.Axes, optional
    random_state : int, RandomState instance or None
        Seeds the allocations.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.results import build_inference_data
    >>> from bayesmix.plotting import plot_n_components
    >>> X = np.array([[0.0], [0.1], [9.9], [10.0]])
    >>> posterior = build_inference_data(
    ...     X=X, weights=np.array([[[0.5, 0.5, 0.0], [0.4, 0.3, 0.3]]]),
    ...     means=np.array([[[[0.0], [10.0], [50.0]], [[0.0], [10.0], [0.05]]]]),
    ...     covariances=np.full((1, 2, 3, 1, 1), 0.01), covariance_type="full",
    ...     inference_method="nuts")
    >>> ax = plot_n_components(posterior, random_state=0)
    >>> [float(bar.get_height()) for bar in ax.patches]
    [0.0, 0.5, 0.5]
    """
    from bayesmix.bayes.occupied import posterior_n_components

    idata = _resolve(bayes_model, "bayes_model")
    _require_draws(idata, "bayes_model", "plot_n_components")
    probabilities = posterior_n_components(idata, random_state)
    ax = _make_ax(ax)
    ax.bar(probabilities.index, probabilities.values, color="C0", width=0.7)
    ax.set_xticks(probabilities.index)
    ax.set_xlabel("number of occupied components")
    ax.set_ylabel("posterior probability")
    rhat = probabilities.attrs["rhat"]
    diagnosis = "" if np.isnan(rhat) else f" (R-hat {rhat:.3f})"
    ax.set_title(f"How many clusters? {_fit_label(idata)}{diagnosis}")
    return ax


def plot_trace(bayes_model: Any, var_names: Sequence[str] = ("weights", "means"),
               **kwargs: Any) -> np.ndarray:
    """ArviZ trace plot of the relabelled posterior draws.

    Delegates to :func:`arviz.plot_trace` on ``bayes_model.idata_`` (relabelled, so one
    component's trace does not jump between modes).

    Parameters
    ----------
    bayes_model : GaussianMixtureBayes or arviz.InferenceData
        A posterior (more than one draw).
    var_names : sequence of str, default=("weights", "means")
        Posterior variables to plot, e.g. ``"covariances"`` too.
    **kwargs
        Passed to :func:`arviz.plot_trace` (``compact``, ``combined``, ``figsize``, ...).

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        As returned by ArviZ: density and trace columns, one row per variable and
        feature (``means[eruptions]``; ``covariances[eruptions, waiting]`` for each
        feature pair), so that features of different scales never share an axis.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.results import build_inference_data
    >>> from bayesmix.plotting import plot_trace
    >>> rng = np.random.default_rng(0)
    >>> posterior = build_inference_data(
    ...     X=rng.normal(size=(20, 1)), weights=rng.dirichlet([5, 5], size=(2, 30)),
    ...     means=rng.normal(size=(2, 30, 2, 1)), covariances=np.ones((2, 30, 2, 1, 1)),
    ...     covariance_type="full", inference_method="nuts")
    >>> axes = plot_trace(posterior)
    >>> [ax.get_title() for ax in axes[:, 0]]
    ['weights', 'means[x0]']
    """
    idata = _resolve(bayes_model, "bayes_model")
    _require_draws(idata, "bayes_model", "plot_trace")
    var_names = [var_names] if isinstance(var_names, str) else list(var_names)
    available = list(idata.posterior.data_vars)
    missing = [name for name in var_names if name not in available]
    if missing or not var_names:
        raise ValueError(f"var_names: {missing or var_names!r} not in the posterior; choose "
                         f"from {available}.")
    with warnings.catch_warnings():
        # ArviZ 0.23 calls a matplotlib helper deprecated in 3.11; nothing a user can fix.
        warnings.filterwarnings("ignore", category=MatplotlibDeprecationWarning,
                                module="arviz")
        axes = az.plot_trace(_split_features(idata.posterior, var_names), **kwargs)
    figure = np.ravel(axes)[0].figure
    if "axes" not in kwargs and figure.get_layout_engine() is None:
        figure.tight_layout()
    return axes


def _split_features(posterior: xr.Dataset, var_names: Sequence[str]) -> xr.Dataset:
    """One variable per feature (per feature pair for covariances), so that a compact
    trace never puts features of different scales on one axis."""
    names = _feature_names_of(posterior)
    out = {}
    for name in var_names:
        variable = posterior[name]
        if "feature_bis" in variable.dims:
            for i, first in enumerate(names):
                for second in names[i:]:
                    out[f"{name}[{first}, {second}]"] = variable.sel(
                        feature=first, feature_bis=second, drop=True)
        elif "feature" in variable.dims:
            for feature in names:
                out[f"{name}[{feature}]"] = variable.sel(feature=feature, drop=True)
        else:
            out[name] = variable
    return xr.Dataset(out)


def plot_em_history(em: Any, ax: Axes | None = None) -> Axes:
    """Mean log-likelihood per observation at every EM iteration (the best restart).

    Parameters
    ----------
    em : GaussianMixtureEM or its InferenceData (``to_inference_data()``)
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.plotting import plot_em_history
    >>> em = GaussianMixtureEM(2, random_state=0).fit(load_old_faithful())
    >>> ax = plot_em_history(em)
    >>> ax.get_title() == f"EM converged after {em.n_iter_} iterations"
    True
    """
    idata = _resolve(em, "em")
    stats = idata["sample_stats"] if "sample_stats" in idata.groups() else {}
    if "lower_bound_history" not in stats:
        raise ValueError(
            f"em has no EM convergence history (inference_method="
            f"{idata.posterior.attrs.get('inference_method')!r}). Pass a fitted "
            f"GaussianMixtureEM or its to_inference_data(); for a GaussianMixtureBayes, "
            f"pass its em_."
        )
    history = stats["lower_bound_history"].isel(chain=0, draw=0)
    converged = bool(stats["converged"].values.ravel()[0]) if "converged" in stats else None
    ax = _make_ax(ax)
    ax.plot(history["iteration"].values, history.values, marker="o", markersize=3)
    ax.set_xlabel("iteration")
    ax.set_ylabel("mean log-likelihood per observation")
    n_iter = history.sizes["iteration"]
    status = {True: "converged", False: "did NOT converge", None: "ran"}[converged]
    ax.set_title(f"EM {status} after {n_iter} iterations")
    return ax
