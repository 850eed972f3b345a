"""The one :class:`arviz.InferenceData` layout shared by EM fits and posteriors.

Every fit in bayesmix, an EM point estimate or a posterior sample, is stored the same
way, so the same code scores, plots and saves either:

==================  ==============================================================
group               variables (dims)
==================  ==============================================================
``posterior``       ``weights (chain, draw, component)``,
                    ``means (chain, draw, component, feature)``,
                    ``covariances (chain, draw, component, feature, feature_bis)``
                    (always full matrices), plus structure-specific raw parameters
``log_likelihood``  ``x (chain, draw, obs)``: pointwise log mixture density
``observed_data``   ``x (obs, feature)`` with the user's column names as coords
``sample_stats``    sampler diagnostics, or the EM convergence history
==================  ==============================================================

Every group's ``attrs["family"]`` names the components' family (``"gaussian"`` when
absent, as in files written before it was recorded); a family with parameters of its
own stores them in ``posterior`` with dims ``(chain, draw, component)``: for
``"student_t"``, ``dof``, and ``covariances`` then hold the scale matrices. Every
density is evaluated through :mod:`bayesmix.density`'s seam keyed on that family
(:func:`family_of`, :func:`family_draws`).

An EM fit is a point-mass posterior with one chain and one draw. ArviZ and xarray are
imported when an InferenceData is built, so the kernels here are usable without them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesmix._version import __version__
from bayesmix.covariance import precision_cholesky
from bayesmix.density import FAMILY_PARAMETERS, check_family, log_mixture_density

if TYPE_CHECKING:
    import arviz as az
    import xarray as xr

__all__ = ["build_inference_data", "family_draws", "family_of", "has_noise",
           "log_likelihood_draws", "log_predictive_density", "default_feature_names"]

#: Dims of the parameters shared by every fit.
PARAMETER_DIMS = {
    "weights": ("component",),
    "means": ("component", "feature"),
    "covariances": ("component", "feature", "feature_bis"),
}


def default_feature_names(n_features: int) -> list[str]:
    """Names given to the columns of an array without names: ``x0, x1, ...``.

    Examples
    --------
    >>> from bayesmix.results import default_feature_names
    >>> default_feature_names(3)
    ['x0', 'x1', 'x2']
    """
    return [f"x{j}" for j in range(n_features)]


def family_of(idata: az.InferenceData) -> str:
    """The components' family of a bayesmix InferenceData (``attrs["family"]``).

    ``"gaussian"`` when the attribute is absent (fits saved before it was recorded).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix import StudentMixtureEM
    >>> from bayesmix.results import family_of
    >>> X = np.array([[0.0], [0.2], [0.1], [0.3], [5.0], [5.2], [5.1], [5.3]])
    >>> family_of(StudentMixtureEM(2, dof=4.0, random_state=0).fit(X).to_inference_data())
    'student_t'
    """
    family = str(idata.posterior.attrs.get("family", "gaussian"))
    check_family(family, dict.fromkeys(FAMILY_PARAMETERS.get(family, ())))
    return family


def has_noise(idata: az.InferenceData) -> bool:
    """Whether a bayesmix InferenceData's mixture has a uniform noise component (its
    ``attrs["noise_hypervolume"]``, recorded by an EM fit with ``noise=True``).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix import GaussianMixtureEM
    >>> from bayesmix.results import has_noise
    >>> X = np.random.default_rng(0).normal(size=(40, 2))
    >>> has_noise(GaussianMixtureEM(1).fit(X).to_inference_data())
    False
    """
    return "noise_hypervolume" in idata.posterior.attrs


def family_draws(posterior: xr.Dataset, family: str) -> dict[str, np.ndarray]:
    """The family's own parameters of every draw, ``name -> (chain, draw, component)``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix import StudentMixtureEM
    >>> from bayesmix.results import family_draws
    >>> X = np.array([[0.0], [0.2], [0.1], [0.3], [5.0], [5.2], [5.1], [5.3]])
    >>> idata = StudentMixtureEM(2, dof=4.0, random_state=0).fit(X).to_inference_data()
    >>> family_draws(idata.posterior, "student_t")["dof"]
    array([[[4., 4.]]])
    >>> family_draws(idata.posterior, "gaussian")
    {}
    """
    return {name: posterior[name].transpose("chain", "draw", "component").values
            for name in FAMILY_PARAMETERS[family]}


def log_likelihood_draws(
    X: np.ndarray, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray,
    family: str = "gaussian", family_parameters: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Log mixture density of every row of ``X`` under every draw.

    Parameters
    ----------
    X : ndarray of shape (n_obs, n_features)
    weights : ndarray of shape (n_chains, n_draws, n_components)
    means : ndarray of shape (n_chains, n_draws, n_components, n_features)
    covariances : ndarray of shape (n_chains, n_draws, n_components, n_features, n_features)
        The covariances, or the family's scale matrices.
    family : {"gaussian", "student_t"}, default="gaussian"
    family_parameters : mapping, optional
        The family's parameters, each of shape (n_chains, n_draws, n_components) (see
        :data:`bayesmix.density.FAMILY_PARAMETERS`).

    Returns
    -------
    ndarray of shape (n_chains, n_draws, n_obs)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.results import log_likelihood_draws
    >>> X = np.zeros((2, 1))
    >>> ll = log_likelihood_draws(X, np.ones((1, 1, 1)), np.zeros((1, 1, 1, 1)),
    ...                               np.ones((1, 1, 1, 1, 1)))
    >>> ll.shape, round(float(ll[0, 0, 0]), 4)
    ((1, 1, 2), -0.9189)
    """
    n_chains, n_draws = np.shape(weights)[:2]
    parameters = check_family(family, family_parameters)
    factors = precision_cholesky(covariances, "full")
    out = np.empty((n_chains, n_draws, X.shape[0]))
    for chain in range(n_chains):
        for draw in range(n_draws):
            log_mixture_density(X, weights[chain, draw], means[chain, draw],
                                factors[chain, draw], "full", out=out[chain, draw],
                                family=family, family_parameters={
                                    name: value[chain, draw]
                                    for name, value in parameters.items()})
    return out


def log_predictive_density(
    X: np.ndarray, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray,
    family: str = "gaussian", family_parameters: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Log posterior predictive density of every row: log-mean-exp over the draws.

    The draws are visited one at a time and folded into a running log-sum-exp, so memory
    holds two arrays of ``n_obs`` values (and chunk-sized temporaries) whatever the
    number of draws.

    Parameters
    ----------
    X : ndarray of shape (n_obs, n_features)
    weights : ndarray of shape (..., n_components)
        Any leading draw dims, e.g. ``(chain, draw)`` or ``(sample,)``.
    means : ndarray of shape (..., n_components, n_features)
    covariances : ndarray of shape (..., n_components, n_features, n_features)
        The covariances, or the family's scale matrices.
    family : {"gaussian", "student_t"}, default="gaussian"
    family_parameters : mapping, optional
        The family's parameters, each of shape (..., n_components).

    Returns
    -------
    ndarray of shape (n_obs,)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.results import log_predictive_density
    >>> X = np.zeros((2, 1))
    >>> weights, means = np.ones((2, 1)), np.array([[[-1.0]], [[1.0]]])
    >>> log_predictive_density(X, weights, means, np.ones((2, 1, 1, 1))).round(4)
    array([-1.4189, -1.4189])
    """
    n_components, n_features = np.shape(means)[-2:]
    weights = np.reshape(weights, (-1, n_components))
    means = np.reshape(means, (-1, n_components, n_features))
    parameters = {name: np.reshape(value, (-1, n_components))
                  for name, value in check_family(family, family_parameters).items()}
    factors = precision_cholesky(np.reshape(covariances, means.shape + (n_features,)), "full")

    def draw_density(draw: int, out: np.ndarray | None = None) -> np.ndarray:
        return log_mixture_density(
            X, weights[draw], means[draw], factors[draw], "full", out=out, family=family,
            family_parameters={name: value[draw] for name, value in parameters.items()})

    total = draw_density(0)
    log_density = np.empty_like(total)
    for draw in range(1, len(weights)):
        draw_density(draw, out=log_density)
        np.logaddexp(total, log_density, out=total)
    total -= np.log(len(weights))
    return total


def _dataset(
    variables: Mapping[str, tuple[np.ndarray, Sequence[str]]], coords: Mapping[str, Any]
) -> xr.Dataset:
    import xarray as xr

    data_vars = {}
    for name, (values, dims) in variables.items():
        dims = tuple(dims)
        used = {d: coords[d] for d in dims if d in coords}
        data_vars[name] = xr.DataArray(np.asarray(values), dims=dims, coords=used)
    return xr.Dataset(data_vars)


def build_inference_data(
    *,
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    covariance_type: str,
    inference_method: str,
    family: str = "gaussian",
    family_parameters: Mapping[str, np.ndarray] | None = None,
    feature_names: Sequence[str] | None = None,
    log_likelihood: np.ndarray | None = None,
    raw_parameters: Mapping[str, tuple[np.ndarray, Sequence[str]]] | None = None,
    sample_stats: Mapping[str, tuple[np.ndarray, Sequence[str]]] | None = None,
    extra_coords: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> az.InferenceData:
    """Assemble the bayesmix :class:`arviz.InferenceData` for a fit.

    Parameters
    ----------
    X : ndarray of shape (n_obs, n_features)
        The data the model was fitted to (stored as ``observed_data``).
    weights, means, covariances : ndarray
        Per-draw parameters with leading ``(chain, draw)`` dims; covariances as full
        matrices ``(chain, draw, component, feature, feature_bis)``.
    covariance_type : str
        The structure that was fitted.
    inference_method : str
        ``"em"``, ``"nuts"``, ``"advi"``, ...
    family : {"gaussian", "student_t"}, default="gaussian"
        The components' family, stored in the attrs; for ``"student_t"``,
        ``covariances`` are the scale matrices.
    family_parameters : mapping, optional
        The family's parameters, ``name -> (chain, draw, component)`` values, stored in
        ``posterior`` (:data:`bayesmix.density.FAMILY_PARAMETERS`).
    feature_names : sequence of str, optional
        Column names, used as ``feature`` coords (``x0, x1, ...`` when omitted).
    log_likelihood : ndarray of shape (chain, draw, obs), optional
        Pointwise log-likelihood; computed with :mod:`bayesmix.density` when omitted.
    raw_parameters : mapping, optional
        Structure-specific parameters for the posterior, ``name -> (values, dims)``
        where ``dims`` include ``chain`` and ``draw``.
    sample_stats : mapping, optional
        ``name -> (values, dims)`` with leading ``chain, draw`` dims.
    extra_coords : mapping, optional
        Coordinates for dims used by ``raw_parameters`` or ``sample_stats``.
    attrs : mapping, optional
        Extra attributes stored on every group.

    Returns
    -------
    arviz.InferenceData

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.results import build_inference_data
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    >>> idata = build_inference_data(
    ...     X=X, weights=np.ones((1, 1, 1)), means=X.mean(0)[None, None, None],
    ...     covariances=np.eye(2)[None, None, None], covariance_type="full",
    ...     inference_method="em", feature_names=["a", "b"])
    >>> dict(idata.posterior["means"].sizes)
    {'chain': 1, 'draw': 1, 'component': 1, 'feature': 2}
    >>> idata.log_likelihood["x"].dims
    ('chain', 'draw', 'obs')
    """
    import arviz as az

    X = np.asarray(X, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    covariances = np.asarray(covariances, dtype=np.float64)
    n_chains, n_draws, n_components = weights.shape
    n_obs, n_features = X.shape
    names = list(feature_names) if feature_names is not None else default_feature_names(
        n_features)
    coords = {
        "chain": np.arange(n_chains),
        "draw": np.arange(n_draws),
        "component": np.arange(n_components),
        "feature": names,
        "feature_bis": names,
        "obs": np.arange(n_obs),
        **(extra_coords or {}),
    }
    parameters = check_family(family, family_parameters)
    if log_likelihood is None:
        log_likelihood = log_likelihood_draws(X, weights, means, covariances, family,
                                              parameters)

    lead = ("chain", "draw")
    posterior_vars = {
        "weights": (weights, lead + PARAMETER_DIMS["weights"]),
        "means": (means, lead + PARAMETER_DIMS["means"]),
        "covariances": (covariances, lead + PARAMETER_DIMS["covariances"]),
        **{name: (value, lead + ("component",)) for name, value in parameters.items()},
        **(raw_parameters or {}),
    }
    group_attrs = {
        "inference_method": inference_method,
        "family": family,
        "covariance_type": covariance_type,
        "n_components": int(n_components),
        "bayesmix_version": __version__,
        **(attrs or {}),
    }
    groups = {
        "posterior": _dataset(posterior_vars, coords),
        "log_likelihood": _dataset({"x": (log_likelihood, lead + ("obs",))}, coords),
        "observed_data": _dataset({"x": (X, ("obs", "feature"))}, coords),
    }
    if sample_stats:
        groups["sample_stats"] = _dataset(sample_stats, coords)
    for dataset in groups.values():
        dataset.attrs.update(group_attrs)
    return az.InferenceData(**groups)
