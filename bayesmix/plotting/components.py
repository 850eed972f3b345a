"""Data and fitted components: EM ellipses, a posterior's cloud of ellipses, and the
classification uncertainty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bayesmix._validation import check_int
from bayesmix.results import family_of, has_noise
from bayesmix.scoring import point_estimate

from bayesmix.plotting.parts import (
    CLOUD_N_STD,
    UNCERTAINTY_LABEL,
    check_n_std,
    checked_data,
    component_colors,
    density_panel,
    draw_components,
    feature_names,
    feature_pair,
    fit_label,
    make_ax,
    mark_missing,
    predicted_labels,
    n_components_of,
    project_pair,
    reference_fit,
    require_draws,
    resolve_idata,
    scatter_clusters,
    single_ax,
    stacked_draws,
    uncertainty,
)


def plot_components(
    model: Any,
    X: Any = None,
    ax: Axes | None = None,
    n_std: float | Sequence[float] = (1, 2, 3),
) -> Axes | Figure:
    """Data coloured by predicted cluster, with the fitted components drawn over it.

    - 2 features: a scatter plot with each component's ellipses at ``n_std`` standard
      deviations (the contours of its Gaussian; for t components, the contours that hold
      the same probability, :func:`~bayesmix.plotting.parts.t_radii`), the rows a noise
      component takes as grey crosses;
    - more features: a grid of pairwise panels (projected covariances off the diagonal,
      histogram and marginal densities on it);
    - 1 feature: a histogram with the mixture density and the weighted component
      densities.

    A posterior is drawn at its posterior mean parameters; clusters are the most probable
    component under the posterior mean responsibilities.

    Parameters
    ----------
    model : GaussianMixtureEM, StudentMixtureEM, GaussianMixtureBayes or arviz.InferenceData
        A fitted model, or the InferenceData it produced (a t or noise fit: the
        estimator, which labels the rows).
    X : array-like or DataFrame of shape (n_samples, n_features), optional
        Data to draw; the data the model was fitted to when omitted.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (1 or 2 features only); a new figure when omitted.
    n_std : float or sequence of float, default=(1, 2, 3)
        Sigma levels of the ellipses (for t components, the probability of the
        Gaussian's at these levels).

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
    idata = resolve_idata(model, "model")
    X = checked_data(idata, X)
    levels = check_n_std(n_std)
    weights, means, covariances = point_estimate(idata)
    dof = (idata.posterior["dof"].mean(("chain", "draw")).values
           if "dof" in idata.posterior else None)
    names = feature_names(idata)
    K, D = means.shape
    labels = predicted_labels(model, idata, X)
    colors = component_colors(K)
    family, noise = family_of(idata), has_noise(idata)
    kind = ("" if family == "gaussian" else f" {family}") + (" + noise" if noise else "")
    title = f"{fit_label(idata, 'posterior mean')}: {K}{kind} component{'s' * (K != 1)}"

    if D == 1:
        ax = make_ax(ax)
        density_panel(ax, X[:, 0], labels, weights, means[:, 0], covariances[:, 0, 0],
                       colors, names[0], dof)
        ax.legend(fontsize="small")
        ax.set_title(f"{title}, mixture density")
        return ax
    sigma_text = "/".join(f"{level:g}" for level in levels)
    if D == 2:
        ax = make_ax(ax)
        scatter_clusters(ax, X, labels, colors)
        draw_components(ax, means, covariances, levels, colors, dof=dof)
        ax.scatter(means[:, 0], means[:, 1], c=colors, marker="X", s=80, edgecolors="black")
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.set_title(f"{title}, {sigma_text} sigma ellipses")
        ax.autoscale_view()
        return ax

    single_ax(ax, "plot_components", f"{D} features, {D} x {D} pairwise panels")
    fig, axes = plt.subplots(D, D, figsize=(2.6 * D, 2.6 * D), squeeze=False)
    for i in range(D):
        for j in range(D):
            panel = axes[i, j]
            if i == j:
                density_panel(panel, X[:, i], labels, weights, means[:, i],
                               covariances[:, i, i], colors, names[i], dof)
                panel.set_title(f"{names[i]}: density", fontsize="medium")
                panel.set_xlabel(names[i] if i == D - 1 else "")
                panel.set_ylabel(names[i] if j == 0 else "")
                continue
            pair = [j, i]
            means2, covs2 = project_pair(means, covariances, pair)
            scatter_clusters(panel, X[:, pair], labels, colors, size=6.0)
            draw_components(panel, means2, covs2, levels, colors, linewidth=1.5, dof=dof)
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
    idata = resolve_idata(bayes_model, "bayes_model")
    require_draws(idata, "bayes_model", "plot_posterior_components")
    n_draws = check_int(n_draws, "n_draws", min_value=1)
    pair = feature_pair(idata, features, "plot_posterior_components")
    X = checked_data(idata, X)
    em_idata = reference_fit(bayes_model, em, idata)
    names = feature_names(idata)
    K = n_components_of(idata)
    colors = component_colors(K)
    ax = make_ax(ax)

    draws = stacked_draws(idata)
    n_total = draws["weights"].shape[0]
    rng = np.random.default_rng(random_state)
    chosen = np.sort(rng.choice(n_total, size=min(n_draws, n_total), replace=False))
    means2, covs2 = project_pair(draws["means"][chosen], draws["covariances"][chosen], pair)
    alpha = float(np.clip(4.0 / len(chosen), 0.08, 0.5))

    ax.scatter(X[:, pair[0]], X[:, pair[1]], s=8, color="0.6", alpha=0.5, linewidths=0)
    mark_missing(ax, X[:, pair], "0.6")
    for draw_means, draw_covs in zip(means2, covs2):
        draw_components(ax, draw_means, draw_covs, [CLOUD_N_STD], colors, linewidth=1.0,
                         alpha=alpha)
    handles = [Line2D([], [], color=colors[k], alpha=0.8,
                      label=f"component {k}: {fit_label(idata)}") for k in range(K)]
    if em_idata is not None:
        _, em_means, em_covs = point_estimate(em_idata)
        em_means2, em_covs2 = project_pair(em_means, em_covs, pair)
        draw_components(ax, em_means2, em_covs2, [CLOUD_N_STD], ["black"] * K,
                         linewidth=2.0, linestyle="--")
        ax.scatter(em_means2[:, 0], em_means2[:, 1], marker="X", s=70, color="black")
        handles.append(Line2D([], [], color="black", linestyle="--", linewidth=2,
                              label="EM fit"))
    ax.legend(handles=handles, fontsize="small")
    ax.set_xlabel(names[pair[0]])
    ax.set_ylabel(names[pair[1]])
    over = " over the EM fit" if em_idata is not None else ""
    ax.set_title(f"{len(chosen)} {fit_label(idata)} draws, {CLOUD_N_STD:g} sigma "
                 f"ellipses{over}")
    ax.autoscale_view()
    return ax


def _uncertainty_panel(ax: Axes, idata: az.InferenceData, X: np.ndarray,
                       pair: Sequence[int] | None, vmax: float):
    """Points shaded and sized by uncertainty; 2-sigma ellipses for orientation."""
    names = feature_names(idata)
    values = uncertainty(idata, X)
    sizes = 8.0 + 60.0 * values / vmax
    _, means, covariances = point_estimate(idata)
    if pair is None:  # one feature: the uncertainty itself on the y axis
        points = ax.scatter(X[:, 0], values, c=values, s=sizes, cmap="viridis", vmin=0,
                            vmax=vmax, linewidths=0)
        ax.set_xlabel(names[0])
        ax.set_ylabel(UNCERTAINTY_LABEL)
    else:
        points = ax.scatter(X[:, pair[0]], X[:, pair[1]], c=values, s=sizes, cmap="viridis",
                            vmin=0, vmax=vmax, linewidths=0)
        mark_missing(ax, X[:, pair], points.to_rgba(values))
        means2, covs2 = project_pair(means, covariances, pair)
        draw_components(ax, means2, covs2, [CLOUD_N_STD], ["0.3"] * len(means2),
                         linewidth=1.0, linestyle=":")
        ax.set_xlabel(names[pair[0]])
        ax.set_ylabel(names[pair[1]])
        ax.autoscale_view()
    ax.set_title(f"{fit_label(idata)}: classification uncertainty")
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
    idatas = [resolve_idata(model, "model")]
    if compare_to is not None:
        idatas.append(resolve_idata(compare_to, "compare_to"))
    names = feature_names(idatas[0])
    for other in idatas[1:]:
        if feature_names(other) != names:
            raise ValueError(f"compare_to was fitted on features {feature_names(other)}, "
                             f"but model on {names}. Compare fits on the same data.")
    X = checked_data(idatas[0], X)
    pair = None if len(names) == 1 else feature_pair(idatas[0], features, "plot_uncertainty")
    vmax = max(1.0 - 1.0 / n_components_of(idata) for idata in idatas) or 1.0

    if compare_to is None:
        ax = make_ax(ax)
        points = _uncertainty_panel(ax, idatas[0], X, pair, vmax)
        ax.figure.colorbar(points, ax=ax, label=UNCERTAINTY_LABEL)
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
    fig.colorbar(points[-1], ax=list(axes), label=UNCERTAINTY_LABEL)
    return fig
