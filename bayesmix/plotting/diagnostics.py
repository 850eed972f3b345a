"""Convergence pictures: trace plots of the posterior draws and the EM history.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import arviz as az
import numpy as np
import xarray as xr
from matplotlib import MatplotlibDeprecationWarning
from matplotlib.axes import Axes


from bayesmix.plotting.parts import (
    feature_names_of,
    make_ax,
    require_draws,
    resolve_idata,
)


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
    idata = resolve_idata(bayes_model, "bayes_model")
    require_draws(idata, "bayes_model", "plot_trace")
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
    names = feature_names_of(posterior)
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
    idata = resolve_idata(em, "em")
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
    ax = make_ax(ax)
    ax.plot(history["iteration"].values, history.values, marker="o", markersize=3)
    ax.set_xlabel("iteration")
    ax.set_ylabel("mean log-likelihood per observation")
    n_iter = history.sizes["iteration"]
    status = {True: "converged", False: "did NOT converge", None: "ran"}[converged]
    ax.set_title(f"EM {status} after {n_iter} iterations")
    return ax
