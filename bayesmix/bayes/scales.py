"""The posterior's covariance parameterisation, one class per supported structure.

The EM side of a covariance structure lives in :mod:`bayesmix.covariance`; its Bayesian
side lives here, so that the covariance registry stays free of PyMC and the dependencies
run one way (the Bayesian model above the structures). A :class:`PosteriorScale` says,
for one registered structure, what its scale parameter is, which priors it has, how the
component log densities and draws are computed from it, and how an EM fit becomes
initial values. :func:`get_scale` looks one up by any name of the structure; a structure
without one is EM-only, refused with the list of those the posterior supports.

=============  ===================================================================
structure      scale parameter and priors
=============  ===================================================================
``VVV`` full   lower Cholesky factors (K, D, D): half-normal standard deviations
               times LKJ(eta) correlations, per component
``EEE`` tied   one such factor (D, D) shared by the components
``VVI`` diag   half-normal standard deviations (K, D)
``VII``        one half-normal standard deviation per component (K,)
spherical
``EEI``        half-normal standard deviations (D,) shared by the components
``EII``        one half-normal standard deviation shared by the components ()
=============  ===================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayesmix.bayes.correlations import (
    correlation_cholesky,
    cpc_beta_parameters,
    cpc_from_correlation,
    forward_substitution,
)
from bayesmix.covariance import get_structure, posterior_structures

if TYPE_CHECKING:  # priors.py asks this module which structures take a scalar scale
    from bayesmix.bayes.priors import MixturePriors

__all__ = ["SCALES", "PosteriorScale", "get_scale"]

_LOG_2PI = float(np.log(2.0 * np.pi))


class PosteriorScale:
    """How the posterior parametrises the covariances of one structure.

    Attributes
    ----------
    structure : str
        The registered structure's mclust name (see :mod:`bayesmix.covariance`).
    ndim : int
        Core dimensions of the scale parameter.
    signature : str
        The generalised-ufunc signature of the mixture's ``(weights, means, scale)``.
    correlations : bool
        Whether the model has canonical partial correlations (``corr_cpc``, dims
        ``feature_pair``).
    scalar_scale_sigma : bool
        Whether the half-normal prior has one scale for all features (``scale_sigma``
        a scalar) rather than one per feature.

    Examples
    --------
    >>> from bayesmix.bayes.scales import get_scale
    >>> scale = get_scale("full")
    >>> scale.structure, scale.ndim, scale.signature
    ('VVV', 3, '(k),(k,d),(k,d,d)->(d)')
    """

    structure: str = ""
    ndim: int = 0
    signature: str = ""
    correlations: bool = False
    scalar_scale_sigma: bool = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def prior(self, priors: MixturePriors, n_components: int, n_features: int):
        """The scale parameter's PyMC variables and the full covariances (K, D, D).

        Called inside a ``pm.Model`` context.

        Examples
        --------
        >>> import pymc as pm
        >>> from bayesmix.bayes import MixturePriors
        >>> from bayesmix.bayes.scales import get_scale
        >>> priors = MixturePriors(scale_sigma=1.0)
        >>> with pm.Model(coords={"component": [0, 1]}) as model:
        ...     scale, covariances = get_scale("spherical").prior(priors, 2, 3)
        >>> [rv.name for rv in model.free_RVs], covariances.eval().shape
        (['sigma'], (2, 3, 3))
        """
        raise NotImplementedError

    def mahalanobis(self, value, means, scale, n_features: int):
        """Squared Mahalanobis distances (N, K) and half log determinants of the
        covariances (K,) or scalar, from the scale parameter.

        The one place a structure's geometry is written: the Gaussian and the t
        components' log densities are both built on it.

        Examples
        --------
        >>> import numpy as np
        >>> import pytensor.tensor as pt
        >>> from bayesmix.bayes.scales import get_scale
        >>> maha, half_log_det = get_scale("spherical").mahalanobis(
        ...     pt.as_tensor(np.ones((1, 2))), pt.as_tensor(np.zeros((1, 2))),
        ...     pt.as_tensor(np.array([2.0])), 2)
        >>> maha.eval(), bool(np.isclose(half_log_det.eval()[0], 2 * np.log(2.0)))
        (array([[0.5]]), True)
        """
        raise NotImplementedError

    def component_log_prob(self, value, means, scale, n_features: int):
        """``log N(x_n | mean_k, cov_k)`` of shape (N, K) from the scale parameter.

        Examples
        --------
        >>> import numpy as np
        >>> import pytensor.tensor as pt
        >>> from bayesmix.bayes.scales import get_scale
        >>> value = pt.as_tensor(np.zeros((1, 2)))
        >>> get_scale("diag").component_log_prob(value, pt.as_tensor(np.zeros((1, 2))),
        ...                                      pt.as_tensor(np.ones((1, 2))), 2).eval()
        array([[-1.83787707]])
        """
        maha, half_log_det = self.mahalanobis(value, means, scale, n_features)
        return -0.5 * maha - half_log_det - 0.5 * n_features * _LOG_2PI

    def cholesky(self, scale: np.ndarray, n_components: int, n_features: int) -> np.ndarray:
        """Lower Cholesky factors (K, D, D) of the covariances, from a drawn scale.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes.scales import get_scale
        >>> get_scale("spherical").cholesky(np.array([2.0]), 1, 2)
        array([[[2., 0.],
                [0., 2.]]])
        """
        raise NotImplementedError

    def initial_values(self, sds: np.ndarray, correlation: np.ndarray,
                       noise: Callable[..., np.ndarray]) -> dict[str, np.ndarray]:
        """The scale's free variables from per-component standard deviations (K, D) and
        correlation matrices (K, D, D), each jittered by ``noise(*shape)``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes.scales import get_scale
        >>> values = get_scale("tied").initial_values(
        ...     np.ones((2, 2)), np.stack([np.eye(2)] * 2), lambda *shape: np.zeros(shape))
        >>> values["sigmas"], values["corr_cpc"]
        (array([1., 1.]), array([0.5]))
        """
        raise NotImplementedError


def _correlation_factor(priors: MixturePriors, n_features: int, dims: tuple[str, ...]):
    """Lower Cholesky factor of the LKJ correlation matrices (identity when ``D = 1``)."""
    if n_features == 1:
        return pt.ones((1, 1))
    beta = cpc_beta_parameters(n_features, priors.lkj_eta)
    cpc01 = pm.Beta("corr_cpc", alpha=beta, beta=beta, dims=dims + ("feature_pair",))
    return correlation_cholesky(2.0 * cpc01 - 1.0, n_features)


def _jittered_cpc(correlation: np.ndarray, noise: Callable[..., np.ndarray]) -> np.ndarray:
    """``corr_cpc``'s values (in (0, 1)) of correlation matrices, jittered on Fisher's z."""
    cpc = cpc_from_correlation(correlation)
    cpc = np.tanh(np.arctanh(np.clip(cpc, -0.999, 0.999)) + noise(*cpc.shape))
    return (cpc + 1.0) / 2.0


class FullScale(PosteriorScale):
    """``VVV``: per component, half-normal standard deviations times LKJ correlations."""

    structure = "VVV"
    ndim = 3
    signature = "(k),(k,d),(k,d,d)->(d)"
    correlations = True

    def prior(self, priors, n_components, n_features):
        sigmas = pm.HalfNormal("sigmas", sigma=priors.scale_sigma,
                               dims=("component", "feature"))
        chol = sigmas[..., :, None] * _correlation_factor(priors, n_features, ("component",))
        return chol, pt.matmul(chol, pt.swapaxes(chol, -1, -2))

    def mahalanobis(self, value, means, scale, n_features):
        diff = value[:, None, :] - means[None, :, :]
        scaled = forward_substitution(scale[None], diff, n_features)
        half_log_det = pt.sum(pt.log(pt.diagonal(scale, axis1=-2, axis2=-1)), axis=-1)
        return pt.sum(scaled**2, axis=-1), half_log_det

    def cholesky(self, scale, n_components, n_features):
        return np.asarray(scale)

    def initial_values(self, sds, correlation, noise):
        values = {"sigmas": sds * np.exp(noise(*sds.shape))}
        if sds.shape[-1] > 1:
            values["corr_cpc"] = _jittered_cpc(correlation, noise)
        return values


class TiedScale(FullScale):
    """``EEE``: one factor of half-normal standard deviations and LKJ correlations."""

    structure = "EEE"
    ndim = 2
    signature = "(k),(k,d),(d,d)->(d)"

    def prior(self, priors, n_components, n_features):
        sigmas = pm.HalfNormal("sigmas", sigma=priors.scale_sigma, dims=("feature",))
        chol = sigmas[:, None] * _correlation_factor(priors, n_features, ())
        covariance = pt.matmul(chol, chol.T)
        return chol, pt.broadcast_to(covariance, (n_components, n_features, n_features))

    def mahalanobis(self, value, means, scale, n_features):
        scaled = (forward_substitution(scale, value, n_features)[:, None, :]
                  - forward_substitution(scale, means, n_features)[None, :, :])
        half_log_det = pt.sum(pt.log(pt.diagonal(scale, axis1=-2, axis2=-1)))
        return pt.sum(scaled**2, axis=-1), half_log_det

    def cholesky(self, scale, n_components, n_features):
        return np.broadcast_to(scale, (n_components, n_features, n_features))

    def initial_values(self, sds, correlation, noise):
        return super().initial_values(sds.mean(axis=0), correlation.mean(axis=0), noise)


class DiagonalScale(PosteriorScale):
    """``VVI``: half-normal standard deviations per component and feature."""

    structure = "VVI"
    ndim = 2
    signature = "(k),(k,d),(k,d)->(d)"

    def prior(self, priors, n_components, n_features):
        sigmas = pm.HalfNormal("sigmas", sigma=priors.scale_sigma,
                               dims=("component", "feature"))
        return sigmas, sigmas[:, :, None] ** 2 * np.eye(n_features)

    def mahalanobis(self, value, means, scale, n_features):
        scaled = (value[:, None, :] - means[None, :, :]) / scale[None]
        return pt.sum(scaled**2, axis=-1), pt.sum(pt.log(scale), axis=-1)

    def cholesky(self, scale, n_components, n_features):
        return scale[:, :, None] * np.eye(n_features)

    def initial_values(self, sds, correlation, noise):
        return {"sigmas": sds * np.exp(noise(*sds.shape))}


class SphericalScale(PosteriorScale):
    """``VII``: one half-normal standard deviation per component."""

    structure = "VII"
    ndim = 1
    signature = "(k),(k,d),(k)->(d)"
    scalar_scale_sigma = True

    def prior(self, priors, n_components, n_features):
        sigma = pm.HalfNormal("sigma", sigma=priors.scale_sigma, dims="component")
        return sigma, sigma[:, None, None] ** 2 * np.eye(n_features)

    def mahalanobis(self, value, means, scale, n_features):
        scaled = (value[:, None, :] - means[None, :, :]) / scale[None, :, None]
        return pt.sum(scaled**2, axis=-1), n_features * pt.log(scale)

    def cholesky(self, scale, n_components, n_features):
        return scale[:, None, None] * np.eye(n_features)

    def initial_values(self, sds, correlation, noise):
        return {"sigma": np.sqrt(np.mean(sds**2, axis=1)) * np.exp(noise(sds.shape[0]))}


class SharedDiagonalScale(DiagonalScale):
    """``EEI``: half-normal standard deviations per feature, shared by the components."""

    structure = "EEI"
    ndim = 1
    signature = "(k),(k,d),(d)->(d)"

    def prior(self, priors, n_components, n_features):
        sigmas = pm.HalfNormal("sigmas", sigma=priors.scale_sigma, dims=("feature",))
        covariance = sigmas[:, None] ** 2 * np.eye(n_features)
        return sigmas, pt.broadcast_to(covariance, (n_components, n_features, n_features))

    def mahalanobis(self, value, means, scale, n_features):
        return super().mahalanobis(value, means, scale[None, :], n_features)

    def cholesky(self, scale, n_components, n_features):
        return np.broadcast_to(scale[:, None] * np.eye(n_features),
                               (n_components, n_features, n_features))

    def initial_values(self, sds, correlation, noise):
        pooled = np.sqrt(np.mean(sds**2, axis=0))
        return {"sigmas": pooled * np.exp(noise(*pooled.shape))}


class SharedSphericalScale(SphericalScale):
    """``EII``: one half-normal standard deviation shared by the components."""

    structure = "EII"
    ndim = 0
    signature = "(k),(k,d),()->(d)"

    def prior(self, priors, n_components, n_features):
        sigma = pm.HalfNormal("sigma", sigma=priors.scale_sigma)
        return sigma, pt.broadcast_to(sigma**2 * np.eye(n_features),
                                      (n_components, n_features, n_features))

    def mahalanobis(self, value, means, scale, n_features):
        return super().mahalanobis(value, means, pt.stack([scale]), n_features)

    def cholesky(self, scale, n_components, n_features):
        return np.broadcast_to(np.asarray(scale) * np.eye(n_features),
                               (n_components, n_features, n_features))

    def initial_values(self, sds, correlation, noise):
        return {"sigma": np.sqrt(np.mean(sds**2)) * np.exp(noise())}


#: The structures the posterior supports, by their mclust name.
SCALES: dict[str, PosteriorScale] = {
    scale.structure: scale
    for scale in (FullScale(), TiedScale(), DiagonalScale(), SphericalScale(),
                  SharedDiagonalScale(), SharedSphericalScale())
}


def get_scale(covariance_type: str, argument: str = "covariance_type") -> PosteriorScale:
    """The posterior parameterisation of a registered covariance structure.

    Raises
    ------
    ValueError
        For an unknown name (the registry's message) or a structure the posterior does
        not support (EM only), listing those it supports.

    Examples
    --------
    >>> from bayesmix.bayes.scales import get_scale
    >>> get_scale("tied") is get_scale("EEE")
    True
    """
    structure = get_structure(covariance_type, argument)
    scale = SCALES.get(structure.name)
    if scale is None:
        supported = ", ".join(map(repr, posterior_structures()))
        raise ValueError(
            f"{argument}={covariance_type!r} is fitted by EM only: the posterior supports "
            f"{supported}. Use GaussianMixtureEM for {covariance_type!r}, or one of those."
        )
    return scale
