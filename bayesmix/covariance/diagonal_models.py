"""The axis-aligned structures beyond VII and VVI: ``EII``, ``EEI``, ``VEI``, ``EVI``.

They are stored as the spherical (``EII``: (K,), every entry equal) and diagonal
(``EEI``, ``VEI``, ``EVI``: (K, D)) structures are, so they share their density kernels
and linear algebra; what differs is the M step (Celeux & Govaert 1995, mclust's
``mseii``, ``mseei``, ``msvei``, ``msevi``), written for any leading batch axes.
"""

from __future__ import annotations

import numpy as np

from bayesmix.covariance.decomposed import (
    DecomposedStructure,
    common_shape,
    singular_where_not_finite,
)
from bayesmix.covariance.diag import DiagonalCovariance
from bayesmix.covariance.eigen import geometric_mean
from bayesmix.covariance.spherical import SphericalCovariance

__all__ = ["EEICovariance", "EIICovariance", "EVICovariance", "VEICovariance"]


class EIICovariance(DecomposedStructure, SphericalCovariance):
    """Equal volume, spherical: one variance ``sigma^2 I`` shared by every component.

    Stored as (K,), every entry equal. M step: ``sigma^2 = tr(W) / (D n)`` of the pooled
    within scatter ``W``, O(K D^2) from the total scatter.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> eii = get_structure("E")
    >>> eii.name, eii.stored_shape(3, 2), eii.n_parameters(3, 2), eii.shares_covariance()
    ('EII', (3,), 1, True)
    """

    name = "EII"
    one_feature_alias = "E"
    second_moments = None
    supports_prior = True
    supports_posterior = True
    nonlinear_constraints = False  # equal variances: SQUAREM's jumps keep them equal

    def shares_covariance(self):
        return True

    def maximise_scatter(self, weights, scatters, start=None, floor=0.0):
        variance = np.trace(scatters, axis1=-2, axis2=-1) / (
            scatters.shape[-1] * weights.sum(axis=-1))
        return np.repeat(variance[..., np.newaxis], weights.shape[-1], axis=-1)

    def smallest_variances(self, covariances, data_covariance):
        return super().smallest_variances(covariances[:1], data_covariance)

    # mclust's EM (meeiip): sum_k tr B_k / (D n + nu + 2 + D K [kappa > 0]), without
    # the scale, which only its one-feature model E (me1ep) adds. (Its mstep, mseiip,
    # takes the residuals about the posterior means, a difference of order kappa^2.)
    def prior_terms(self, prior, n_components, n_features):
        scale = prior.scale / n_components if n_features == 1 else 0.0
        return ((prior.shrinkage > 0) + (prior.dof + 2) / (n_features * n_components),
                scale * np.eye(n_features))


class EEICovariance(DecomposedStructure, DiagonalCovariance):
    """Equal volume and shape, axis-aligned: one diagonal covariance shared by all.

    Stored as (K, D), every row equal. M step: the pooled within scatter's diagonal
    divided by ``n``, O(K D^2) from the total scatter.

    Examples
    --------
    >>> from bayesmix.covariance import get_structure
    >>> eei = get_structure("EEI")
    >>> eei.stored_shape(3, 2), eei.n_parameters(3, 2), eei.description
    ((3, 2), 2, 'equal volume, equal shape, axis-aligned')
    """

    name = "EEI"
    second_moments = None
    supports_prior = True
    supports_posterior = True
    nonlinear_constraints = False  # equal variances: SQUAREM's jumps keep them equal

    def shares_covariance(self):
        return True

    def maximise_scatter(self, weights, scatters, start=None, floor=0.0):
        variances = np.diagonal(scatters, axis1=-2, axis2=-1) / weights.sum(
            axis=-1)[..., np.newaxis]
        return np.repeat(variances[..., np.newaxis, :], weights.shape[-1], axis=-2)

    def smallest_variances(self, covariances, data_covariance):
        return super().smallest_variances(covariances[:1], data_covariance)

    # mclust's EM (meeeip): (scale + sum_k B_kj) / (n + nu + 1 + [kappa > 0]). (Its
    # mstep, mseeip, divides by n + nu + 2 + K [kappa > 0]; both keep the ML means.)
    def prior_terms(self, prior, n_components, n_features):
        return ((prior.dof + 1 + (prior.shrinkage > 0)) / n_components,
                prior.scale / n_components * np.eye(n_features))


class VEICovariance(DecomposedStructure, DiagonalCovariance):
    """Variable volume, equal shape, axis-aligned: ``Sigma_k = lambda_k A``, A diagonal.

    M step: :func:`~bayesmix.covariance.decomposed.common_shape` of the within
    scatters' diagonals (from the shape of ``start``), O(K D) per inner iteration.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> vei = get_structure("VEI")
    >>> vei.maximise_scatter(np.array([2.0, 2.0]), np.array([[8.0, 2.0], [16.0, 4.0]])).round(6)
    array([[4., 1.],
           [8., 2.]])
    """

    name = "VEI"
    second_moments = "diagonal"
    supports_prior = True

    def maximise_scatter(self, weights, scatters, start=None, floor=0.0):
        volumes, shape = common_shape(scatters, weights,
                                      None if start is None else start.sum(axis=-2))
        return singular_where_not_finite(volumes[..., np.newaxis] * shape[..., np.newaxis, :],
                                         1)

    # mclust's msveip: lambda_k = sum_j B_kj / a_j / (D n_k + nu + 2 + [kappa > 0]),
    # B_kj with the scale added.
    def prior_terms(self, prior, n_components, n_features):
        return ((prior.dof + 2 + (prior.shrinkage > 0)) / n_features,
                prior.scale * np.eye(n_features))


class EVICovariance(DecomposedStructure, DiagonalCovariance):
    """Equal volume, variable shape, axis-aligned: ``Sigma_k = lambda A_k``, A_k diagonal.

    M step in closed form: with ``g_k`` the geometric mean of ``diag(W_k)``,
    ``lambda = sum_k g_k / n`` and ``A_k = diag(W_k) / g_k``; O(K D).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> get_structure("EVI").maximise_scatter(np.array([1.0, 1.0]),
    ...                                       np.array([[4.0, 1.0], [1.0, 1.0]]))
    array([[3.  , 0.75],
           [1.5 , 1.5 ]])
    """

    name = "EVI"
    second_moments = "diagonal"
    supports_prior = True

    def maximise_scatter(self, weights, scatters, start=None, floor=0.0):
        scales = geometric_mean(scatters)[..., np.newaxis]
        volume = scales.sum(axis=-2, keepdims=True) / weights.sum(axis=-1)[
            ..., np.newaxis, np.newaxis]
        shapes = np.divide(scatters, scales, out=np.zeros_like(scatters), where=scales > 0)
        return singular_where_not_finite(volume * shapes, 1)

    # mclust's EM (meevip): lambda = sum_k g(B_k) / (n + nu + 1 + [kappa > 0]), B_kj
    # with the scale added. (Its mstep, msevip, divides by n + nu + 2 + K [kappa > 0].)
    def prior_terms(self, prior, n_components, n_features):
        return ((prior.dof + 1 + (prior.shrinkage > 0)) / n_components,
                prior.scale * np.eye(n_features))
