"""What the figure functions share: resolving a fit to its InferenceData, checking
the data and the features to show, colours, ellipses and the panels they draw.

None of these draws a whole figure; the public figure functions of
:mod:`bayesmix.plotting` are built from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.colors import Colormap
from matplotlib.patches import Ellipse
from scipy.stats import chi2, f, norm
from scipy.stats import t as student_t

from bayesmix._validation import check_array
from bayesmix.covariance import precision_cholesky
from bayesmix.density import responsibilities
from bayesmix.results import family_draws, family_of, has_noise
from bayesmix.scoring import inference_data, is_point_mass

#: Sigma level of the ellipses in the posterior cloud and the uncertainty map.
CLOUD_N_STD = 2.0
#: The colour bar's label in the uncertainty pictures.
UNCERTAINTY_LABEL = "uncertainty: 1 - max responsibility"
#: How the rows a noise component takes are drawn.
NOISE_STYLE = {"marker": "x", "color": "0.5", "linewidths": 1.0, "label": "noise"}


# ---------------------------------------------------------------- resolving inputs
def resolve_idata(model: Any, name: str) -> az.InferenceData:
    """The bayesmix InferenceData of ``model``; errors name the argument."""
    try:
        return inference_data(model)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def require_draws(idata: az.InferenceData, name: str, function: str) -> None:
    if is_point_mass(idata):
        method = idata.posterior.attrs.get("inference_method")
        raise ValueError(
            f"{function} needs posterior draws, but {name} is a point-mass fit "
            f"(inference_method={method!r}, 1 chain x 1 draw). Pass a fitted "
            f"GaussianMixtureBayes or its idata_; for an EM fit use plot_components."
        )


def feature_names(idata: az.InferenceData) -> list[str]:
    return feature_names_of(idata.posterior)


def feature_names_of(dataset: xr.Dataset) -> list[str]:
    return [str(name) for name in dataset["feature"].values]


def n_components_of(idata: az.InferenceData) -> int:
    return int(idata.posterior.sizes["component"])


def fit_label(idata: az.InferenceData, posterior: str = "posterior") -> str:
    """``"EM"`` for an EM fit, ``"posterior (nuts)"`` (or another word) for draws."""
    from bayesmix.bayes.backends import inference_method_of

    return inference_method_of(idata).plot_label(posterior)


def checked_data(idata: az.InferenceData, X: Any, name: str = "X") -> np.ndarray:
    """``X`` checked against the model's features; the fitted data when ``X`` is None."""
    if X is None:
        return idata.observed_data["x"].values
    names = feature_names(idata)
    values = check_array(X, name=name, n_features=len(names),
                         owner=f"the model (features {names})", allow_missing=True)
    if isinstance(X, pd.DataFrame) and [str(c) for c in X.columns] != names:
        raise ValueError(
            f"{name} has columns {[str(c) for c in X.columns]}, but the model was fitted on "
            f"{names}. Pass {name}[{names}] (the same columns, in the same order)."
        )
    return values


def feature_pair(idata: az.InferenceData, features: Sequence[Any] | None,
                  function: str) -> list[int]:
    """Indices of the two features shown in a 2-D picture (the first two by default)."""
    names = feature_names(idata)
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


def stacked_draws(idata: az.InferenceData) -> dict[str, np.ndarray]:
    """``weights``, ``means``, ``covariances`` with one leading ``sample`` axis."""
    post = idata.posterior
    out = {}
    for name in ("weights", "means", "covariances"):
        stacked = post[name].stack(sample=("chain", "draw"))
        out[name] = stacked.transpose("sample", *post[name].dims[2:]).values
    return out


def mean_responsibilities(idata: az.InferenceData, X: np.ndarray) -> np.ndarray:
    """Responsibilities averaged over the draws (the EM responsibilities for a point),
    each draw's under the density of the fit's component family."""
    draws = stacked_draws(idata)
    family = family_of(idata)
    family_parameters = {name: value.reshape(-1, value.shape[-1]) for name, value
                         in family_draws(idata.posterior, family).items()}
    factors = precision_cholesky(draws["covariances"], "full")
    total = np.zeros((X.shape[0], draws["weights"].shape[1]))
    for index, (weights, means, factor) in enumerate(
            zip(draws["weights"], draws["means"], factors)):
        parameters = {name: value[index] for name, value in family_parameters.items()}
        total += responsibilities(X, weights, means, factor, "full", family, parameters)
    return total / len(factors)


def predicted_labels(model: Any, idata: az.InferenceData, X: np.ndarray) -> np.ndarray:
    """Each row's cluster: the most probable component under the (posterior mean)
    responsibilities; for a fit with a noise component, the estimator's own ``predict``
    (-1 for noise rows)."""
    if not has_noise(idata):
        return mean_responsibilities(idata, X).argmax(axis=1)
    if not hasattr(model, "predict"):
        raise ValueError(
            "model: a fit with a noise component given as InferenceData cannot label rows "
            "here; pass the fitted estimator (e.g. GaussianMixtureEM(noise=True)), whose "
            "predict does.")
    return np.asarray(model.predict(X))


def t_radii(levels: Sequence[float], dof: float, n_dimensions: int = 2) -> np.ndarray:
    """Mahalanobis radii (in units of a t scale matrix) that hold the probability of the
    Gaussian's ``levels`` sigma ellipses.

    An ``n``-sigma Gaussian ellipse in ``d`` dimensions holds ``p = chi2_d(n**2)``; a
    ``d``-dimensional t with ``nu`` degrees of freedom has ``delta / d ~ F(d, nu)``, so
    its region of probability ``p`` is ``delta <= d F^-1_{d, nu}(p)``.

    Examples
    --------
    >>> from bayesmix.plotting.parts import t_radii
    >>> t_radii([1.0, 2.0], dof=1e9).round(4)  # the Gaussian's, as nu grows
    array([1., 2.])
    >>> t_radii([2.0], dof=3.0).round(3)  # heavier tails: a wider 2-sigma ellipse
    array([2.895])
    """
    probabilities = chi2.cdf(np.square(levels), n_dimensions)
    return np.sqrt(n_dimensions * f.ppf(probabilities, n_dimensions, dof))


def uncertainty(idata: az.InferenceData, X: np.ndarray) -> np.ndarray:
    return 1.0 - mean_responsibilities(idata, X).max(axis=1)


# ---------------------------------------------------------------- geometry and colours
def component_colors(n_components: int) -> list[tuple[float, ...]]:
    cmap: Colormap = plt.get_cmap("tab10" if n_components <= 10 else "tab20")
    return [cmap(k % cmap.N) for k in range(n_components)]


def check_n_std(n_std: Any) -> tuple[float, ...]:
    """``n_std`` as positive finite numbers (text such as ``"2"`` is not one)."""
    given = np.atleast_1d(np.asarray(n_std, dtype=object)).ravel()
    numbers = all(isinstance(level, Real) and not isinstance(level, (bool, np.bool_))
                  for level in given)
    levels = given.astype(float) if numbers else np.empty(0)
    if levels.size == 0 or not np.all(np.isfinite(levels)) or np.any(levels <= 0):
        raise ValueError(f"n_std must be one or more positive numbers of standard deviations, "
                         f"got {n_std!r}; e.g. n_std=(1, 2, 3).")
    return tuple(float(level) for level in levels)


def ellipse_geometry(covariance: np.ndarray, n_std: float) -> tuple[float, float, float]:
    """Width, height and angle (degrees) of the ``n_std`` contour of a 2x2 covariance.

    The width lies along the leading eigenvector: ``2 n_std sqrt(largest eigenvalue)``.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(np.asarray(covariance, dtype=float))
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    major = eigenvectors[:, 1]
    angle = float(np.degrees(np.arctan2(major[1], major[0])))
    width, height = 2.0 * n_std * np.sqrt(eigenvalues[::-1])
    return float(width), float(height), angle


def add_ellipse(ax: Axes, mean: np.ndarray, covariance: np.ndarray, n_std: float,
                 **style: Any) -> Ellipse:
    width, height, angle = ellipse_geometry(covariance, n_std)
    patch = Ellipse(tuple(mean), width, height, angle=angle, fill=False, **style)
    ax.add_patch(patch)
    return patch


def project_pair(means: np.ndarray, covariances: np.ndarray, pair: Sequence[int]
             ) -> tuple[np.ndarray, np.ndarray]:
    """Means and covariances of the marginal on two features (works on leading axes)."""
    pair = list(pair)
    return means[..., pair], covariances[..., pair, :][..., pair]


def draw_components(ax: Axes, means: np.ndarray, covariances: np.ndarray,
                     levels: Sequence[float], colors: Sequence[Any], linewidth: float = 2.0,
                     dof: np.ndarray | None = None, **style: Any) -> None:
    """One ellipse per component and level; the lines thin out with the level.

    With ``dof`` (t components, ``covariances`` their scale matrices), each level's
    ellipse holds the probability of the Gaussian's at that level (:func:`t_radii`).
    """
    for k, (mean, covariance) in enumerate(zip(means, covariances)):
        radii = levels if dof is None else t_radii(levels, dof[k])
        for i, radius in enumerate(radii):
            add_ellipse(ax, mean, covariance, radius, edgecolor=colors[k],
                         linewidth=linewidth / (1 + 0.4 * i), **style)


def make_ax(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5))
    elif not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}.")
    return ax


def single_ax(ax: Any, function: str, reason: str) -> None:
    if ax is not None:
        raise ValueError(f"ax: {function} draws several panels here ({reason}) and makes "
                         f"its own Figure; leave ax=None.")


# ---------------------------------------------------------------- panels
def mark_missing(ax: Axes, X2: np.ndarray, colors: Any) -> None:
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


def scatter_clusters(ax: Axes, X2: np.ndarray, labels: np.ndarray,
                      colors: Sequence[Any], size: float = 12.0) -> None:
    """The rows coloured by cluster; rows labelled -1 (a noise component's) as grey
    crosses (:data:`NOISE_STYLE`)."""
    noise = labels == -1
    row_colors = [colors[k] for k in labels[~noise]]
    ax.scatter(X2[~noise, 0], X2[~noise, 1], c=row_colors, s=size, alpha=0.6, linewidths=0)
    if noise.any():
        ax.scatter(X2[noise, 0], X2[noise, 1], s=1.5 * size, **NOISE_STYLE)
    mark_missing(ax, X2[~noise], row_colors)


def density_panel(ax: Axes, x: np.ndarray, labels: np.ndarray, weights: np.ndarray,
                   means: np.ndarray, variances: np.ndarray, colors: Sequence[Any],
                   name: str, dof: np.ndarray | None = None) -> None:
    """Histogram of ``x``, weighted component densities and their sum (the mixture).

    With ``dof``, t components (``variances`` their squared scales). Rows labelled -1
    (noise) are grey; missing values (NaN) are left out."""
    observed = ~np.isnan(x)
    x, labels = x[observed], labels[observed]
    sd = np.sqrt(variances)
    lower = min(x.min(), float(np.min(means - 4 * sd)))
    upper = max(x.max(), float(np.max(means + 4 * sd)))
    grid = np.linspace(lower, upper, 400)
    ax.hist(x, bins="auto", density=True, color="0.85", edgecolor="0.6", label="data")
    if dof is None:
        densities = norm.pdf(grid[None, :], means[:, None], sd[:, None])
    else:
        densities = student_t.pdf(grid[None, :], dof[:, None], means[:, None], sd[:, None])
    parts = weights[:, None] * densities
    for k, part in enumerate(parts):
        ax.plot(grid, part, color=colors[k], linestyle="--", label=f"component {k}")
    ax.plot(grid, parts.sum(axis=0), color="black", linewidth=2, label="mixture")
    ax.scatter(x, np.zeros_like(x), c=[colors[k] if k >= 0 else "0.5" for k in labels],
               marker="|", s=60)
    ax.set_xlabel(name)
    ax.set_ylabel("density")


# ---------------------------------------------------------------- public functions


def reference_fit(bayes_model: Any, em: Any, idata: az.InferenceData
                  ) -> az.InferenceData | None:
    """The EM fit to draw over a posterior: ``em``, else ``bayes_model.em_``, else none."""
    if em is None:
        em = getattr(bayes_model, "em_", None)
        if em is None:
            return None
    em_idata = resolve_idata(em, "em")
    sizes, em_sizes = idata.posterior.sizes, em_idata.posterior.sizes
    if (em_sizes["component"], em_sizes["feature"]) != (sizes["component"], sizes["feature"]):
        raise ValueError(
            f"em has {em_sizes['component']} components and {em_sizes['feature']} features, "
            f"but bayes_model has {sizes['component']} and {sizes['feature']}. Pass the EM "
            f"fit of the same model (bayes_model.em_), or em=None."
        )
    return em_idata
