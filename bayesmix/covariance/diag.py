"""``VVI`` (scikit-learn's ``diag``): every component has its own diagonal covariance."""

from __future__ import annotations

import numpy as np

from bayesmix.covariance.base import DiagonalFamily

__all__ = ["DiagonalCovariance"]


class DiagonalCovariance(DiagonalFamily):
    """Variable volume and shape, axis-aligned: one variance per component and feature.

    Examples
    --------
    >>> from bayesmix.covariance import get_structure
    >>> diag = get_structure("diag")
    >>> diag.name, diag.stored_shape(3, 2), diag.n_parameters(3, 2)
    ('VVI', (3, 2), 6)
    """

    name = "VVI"
    aliases = ("diag",)
    description = "every component has its own diagonal covariance"
    second_moments = "diagonal"
    supports_prior = True
    supports_posterior = True
    batched_m_step = True

    def stored_shape(self, n_components, n_features):
        return (n_components, n_features)

    def stored_shape_text(self):
        return "(n_components, n_features)"

    def n_parameters(self, n_components, n_features):
        return n_components * n_features

    def min_points(self, n_features):
        return 2

    def m_step(self, counts, means, second_moments, total_scatter, reg_covar, start=None):
        return second_moments / counts[..., np.newaxis] - means**2 + reg_covar

    def maximise_scatter(self, weights, scatters, start=None, floor=0.0):
        return scatters / weights[..., np.newaxis]

    # mclust's msvvip: (scale + B_kj) / (n_k + nu + 2 + [kappa > 0]).
    def prior_terms(self, prior, n_components, n_features):
        return prior.dof + 2 + (prior.shrinkage > 0), prior.scale * np.eye(n_features)

    def log_det_cholesky(self, factors, n_features):
        return np.sum(np.log(np.asarray(factors, dtype=np.float64)), axis=-1)

    def _squared_distances(self, X, means, factors):
        precisions = factors**2
        return (np.sum(means**2 * precisions, axis=1)
                - 2.0 * (X @ (means * precisions).T)
                + (X * X) @ precisions.T)

    def batch_log_density_coefficients(self, means, factors, constants):
        from bayesmix.covariance.coefficient_kernels import diagonal_coefficients

        return diagonal_coefficients(factors, means, constants)

    def to_full(self, covariances, n_components, n_features):
        covariances = np.asarray(covariances, dtype=np.float64)
        return covariances[..., np.newaxis] * np.eye(n_features)

    def from_full(self, matrices):
        return np.array(np.diagonal(matrices, axis1=-2, axis2=-1), dtype=np.float64)

    def smallest_variances(self, covariances, data_covariance):
        smallest, where = covariances.min(axis=1), covariances.argmin(axis=1)
        directions = np.zeros(covariances.shape)
        directions[np.arange(len(where)), where] = 1.0
        return smallest, directions, data_covariance[where]

    def random_covariances(self, rng, n_components, n_features, low, high):
        return rng.uniform(low, high, size=(n_components, n_features))
