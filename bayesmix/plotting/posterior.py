"""Posteriors of the mixture's size: the weights, and the number of occupied
components.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from bayesmix.scoring import point_estimate

from bayesmix.plotting.parts import (
    component_colors,
    fit_label,
    make_ax,
    reference_fit,
    require_draws,
    resolve_idata,
    stacked_draws,
)


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
    idata = resolve_idata(bayes_model, "bayes_model")
    require_draws(idata, "bayes_model", "plot_weights")
    em_idata = reference_fit(bayes_model, em, idata)
    ax = make_ax(ax)
    weights = stacked_draws(idata)["weights"]
    K = weights.shape[1]
    colors = component_colors(K)
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
    ax.set_title(f"Mixture weights, {fit_label(idata)}")
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

    idata = resolve_idata(bayes_model, "bayes_model")
    require_draws(idata, "bayes_model", "plot_n_components")
    probabilities = posterior_n_components(idata, random_state)
    ax = make_ax(ax)
    ax.bar(probabilities.index, probabilities.values, color="C0", width=0.7)
    ax.set_xticks(probabilities.index)
    ax.set_xlabel("number of occupied components")
    ax.set_ylabel("posterior probability")
    rhat = probabilities.attrs["rhat"]
    diagnosis = "" if np.isnan(rhat) else f" (R-hat {rhat:.3f})"
    ax.set_title(f"How many clusters? {fit_label(idata)}{diagnosis}")
    return ax
