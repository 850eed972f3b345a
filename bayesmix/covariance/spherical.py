"""``VII`` (scikit-learn's ``spherical``): every component has its own single variance."""

from __future__ import annotations

import numpy as np

from bayesmix.covariance.base import DiagonalFamily

__all__ = ["SphericalCovariance"]


class SphericalCovariance(DiagonalFamily):
    """Variable volume, spherical shape: ``Sigma_k = sigma_k^2 I``, one variance each.

    Examples
    --------
    >>> from bayesmix.covariance import get_structure
    >>> spherical = get_structure("VII")
    >>> spherical.label, spherical.stored_shape(3, 2), spherical.n_parameters(3, 2)
    ('spherical', (3,), 3)
    """

    name = "VII"
    aliases = ("spherical",)
    one_feature_alias = "V"
    description = "every component has its own single variance"
    second_moments = "diagonal"
    supports_prior = True
    supports_posterior = True
    batched_m_step = True

    def stored_shape(self, n_components, n_features):
        return (n_components,)

    def stored_shape_text(self):
        return "(n_components,)"

    def n_parameters(self, n_components, n_features):
        return n_components

    def min_points(self, n_features):
        return 2

    def m_step(self, counts, means, second_moments, total_scatter, reg_covar, start=None):
        variances = second_moments / counts[..., np.newaxis] - means**2 + reg_covar
        return variances.mean(axis=-1)

    def maximise_scatter(self, weights, scatters, start=None, floor=0.0):
        return scatters.mean(axis=-1) / weights

    # mclust's msviip (ms1vp): (scale + tr B_k) / (D n_k + nu + 2 + D [kappa > 0]).
    def prior_terms(self, prior, n_components, n_features):
        return ((prior.shrinkage > 0) + (prior.dof + 2) / n_features,
                prior.scale / n_features * np.eye(n_features))

    def log_det_cholesky(self, factors, n_features):
        return n_features * np.log(np.asarray(factors, dtype=np.float64))

    def _squared_distances(self, X, means, factors):
        precisions = factors**2
        return (np.sum(means**2, axis=1) * precisions
                - 2.0 * (X @ means.T) * precisions
                + np.outer(np.einsum("nd,nd->n", X, X), precisions))

    def batch_log_density_coefficients(self, means, factors, constants):
        from bayesmix.covariance.coefficient_kernels import diagonal_coefficients

        # One factor per component, the same for every feature.
        return diagonal_coefficients(factors[..., np.newaxis], means, constants)

    def to_full(self, covariances, n_components, n_features):
        covariances = np.asarray(covariances, dtype=np.float64)
        return covariances[..., np.newaxis, np.newaxis] * np.eye(n_features)

    def from_full(self, matrices):
        return np.array(np.diagonal(matrices, axis1=-2, axis2=-1).mean(axis=-1),
                        dtype=np.float64)

    def smallest_variances(self, covariances, data_covariance):
        return covariances, None, np.full(covariances.shape, data_covariance.mean())

    def random_covariances(self, rng, n_components, n_features, low, high):
        return rng.uniform(low, high, size=n_components)
