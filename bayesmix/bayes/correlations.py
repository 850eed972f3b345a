"""Correlation matrices through canonical partial correlations (CPCs).

The C-vine of Lewandowski, Kurowicka and Joe (2009): CPC ``(i, j)`` (row ``i`` > column
``j``) is ``2 b - 1`` with ``b ~ Beta(beta_j, beta_j)`` and ``beta_j = eta + (D - 2 - j) /
2``, which gives exactly an ``LKJ(eta)`` correlation matrix. The functions work on NumPy
arrays and PyTensor tensors alike, and :func:`forward_substitution` solves with a lower
Cholesky factor unrolled over the (few) features.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

__all__ = ["cholesky_unrolled", "correlation_cholesky", "cpc_beta_parameters",
           "cpc_from_correlation", "feature_pairs", "forward_substitution"]


def feature_pairs(n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns (row > column) of the canonical partial correlations, in order.

    Examples
    --------
    >>> from bayesmix.bayes.correlations import feature_pairs
    >>> feature_pairs(3)
    (array([1, 2, 2]), array([0, 0, 1]))
    """
    return np.tril_indices(n_features, -1)


def cpc_beta_parameters(n_features: int, eta: float) -> np.ndarray:
    """Beta parameters of the canonical partial correlations of an ``LKJ(eta)`` matrix.

    Examples
    --------
    >>> from bayesmix.bayes.correlations import cpc_beta_parameters
    >>> cpc_beta_parameters(3, eta=1.0)
    array([1.5, 1.5, 1. ])
    """
    _, columns = feature_pairs(n_features)
    return eta + (n_features - 2 - columns) / 2.0


def correlation_cholesky(cpc, n_features: int):
    """Lower Cholesky factor of the correlation matrix with the given CPCs.

    Works on NumPy arrays and PyTensor tensors alike: ``cpc`` has shape
    ``(..., n_features * (n_features - 1) // 2)`` with values in ``(-1, 1)``, ordered as
    :func:`feature_pairs`; the result has shape ``(..., n_features, n_features)``. Row
    ``i`` is ``z_i0, z_i1 sqrt(1 - z_i0^2), ...``, so every row has unit norm.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes.correlations import correlation_cholesky
    >>> L = correlation_cholesky(np.array([0.5]), 2)
    >>> (L @ L.T).round(3)
    array([[1. , 0.5],
           [0.5, 1. ]])
    """
    xp = pt if isinstance(cpc, pt.TensorVariable) else np
    rows, columns = feature_pairs(n_features)
    # Scatter into a strictly lower-triangular matrix without any symbolic shape (so that
    # every PyTensor back end, JAX included, sees static shapes): a sum of unit matrices.
    units = np.zeros((len(rows), n_features, n_features))
    units[np.arange(len(rows)), rows, columns] = 1.0
    strict = xp.sum(cpc[..., :, None, None] * units, axis=-3)
    # log of prod_{m < j} (1 - z_im^2): an exclusive cumulative sum along each row.
    log_rest = xp.cumsum(xp.log1p(-(strict**2)), axis=-1)
    log_rest = xp.concatenate([xp.zeros_like(log_rest[..., :1]), log_rest[..., :-1]], axis=-1)
    return (strict + xp.eye(n_features)) * xp.exp(0.5 * log_rest)


def forward_substitution(chol, values, n_features: int):
    """``inv(chol) @ v`` for lower-triangular ``chol (..., D, D)`` and ``values (..., D)``.

    Unrolled over the features, so it is elementwise work only: fast under every PyTensor
    back end for the small ``D`` of mixture models.

    Examples
    --------
    >>> import numpy as np
    >>> import pytensor.tensor as pt
    >>> from bayesmix.bayes.correlations import forward_substitution
    >>> chol = pt.as_tensor(np.array([[2.0, 0.0], [1.0, 1.0]]))
    >>> forward_substitution(chol, pt.as_tensor(np.array([2.0, 3.0])), 2).eval()
    array([1., 2.])
    """
    solved = []
    for i in range(n_features):
        residual = values[..., i]
        if i:
            residual = residual - pt.sum(chol[..., i, :i] * pt.stack(solved, axis=-1), axis=-1)
        solved.append(residual / chol[..., i, i])
    return pt.stack(solved, axis=-1)


def cholesky_unrolled(matrices, n_features: int):
    """Lower Cholesky factors of symmetric positive definite ``matrices (..., D, D)``.

    Unrolled over the features like :func:`forward_substitution`: elementwise work only,
    for the small blocks of observed coordinates of the missing-value likelihood.

    Examples
    --------
    >>> import numpy as np
    >>> import pytensor.tensor as pt
    >>> from bayesmix.bayes.correlations import cholesky_unrolled
    >>> cholesky_unrolled(pt.as_tensor(np.array([[4.0, 2.0], [2.0, 5.0]])), 2).eval()
    array([[2., 0.],
           [1., 2.]])
    """
    factor: list[list] = [[None] * n_features for _ in range(n_features)]
    for j in range(n_features):
        done = range(j)
        factor[j][j] = pt.sqrt(matrices[..., j, j] - sum(factor[j][m] ** 2 for m in done))
        for i in range(j + 1, n_features):
            factor[i][j] = (matrices[..., i, j]
                            - sum(factor[i][m] * factor[j][m] for m in done)) / factor[j][j]
    # Scattered as a sum of unit matrices, as correlation_cholesky does: no symbolic
    # shape (zeros) for JAX to trip over.
    total = 0.0
    for i in range(n_features):
        for j in range(i + 1):
            unit = np.zeros((n_features, n_features))
            unit[i, j] = 1.0
            total = total + factor[i][j][..., None, None] * unit
    return total


def cpc_from_correlation(correlation: np.ndarray) -> np.ndarray:
    """Canonical partial correlations of correlation matrices, ordered as the model's.

    The inverse of :func:`correlation_cholesky` (through the matrices' Cholesky factors).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes.correlations import cpc_from_correlation
    >>> cpc_from_correlation(np.array([[1.0, 0.5], [0.5, 1.0]]))
    array([0.5])
    """
    n_features = correlation.shape[-1]
    chol = np.linalg.cholesky(correlation)
    rows, columns = feature_pairs(n_features)
    remaining = 1.0 - np.cumsum(chol**2, axis=-1)
    remaining = np.concatenate([np.ones(chol.shape[:-1] + (1,)), remaining[..., :-1]], -1)
    cpc = chol / np.sqrt(np.clip(remaining, 1e-12, None))
    return cpc[..., rows, columns]
