"""The batched E step's log-density coefficients, compiled with Numba.

:mod:`bayesmix.em.batch` writes each component's joint log density
``log w_k + log N(x | mu_k, Sigma_k)`` as a linear function of a few features of the
rows (:mod:`bayesmix.covariance.quadratic`) and recomputes its weights for every run at
every iteration. In NumPy that was half a dozen small calls per structure and
iteration (the precisions from their factors, their upper triangles, the scaled means,
the log-determinants, the constant), about a seventh of a small model-selection grid;
compiled, one loop per component writes the weights from the precision factors
directly. The values are NumPy's to rounding, not bit for bit. Compiled as
:func:`~bayesmix.covariance.kernel_compiler.compiled` says.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bayesmix.covariance.kernel_compiler import compiled

__all__ = ["diagonal_coefficients", "matrix_coefficients"]


def matrix_coefficients(factors: np.ndarray, means: np.ndarray, constants: np.ndarray
                        ) -> np.ndarray:
    """Weights of ``[outer | x | 1]`` for upper precision factors ``U`` (``P = U U^T``).

    ``constants - (x - mu)' P (x - mu) / 2 + sum(log(diag(U)))`` for each component: the
    outer products' weights are ``-P / 2`` on the diagonal and ``-P`` off it (each stands
    for two entries), the rows' ``P mu``, the constant's ``constants - mu' P mu / 2 +
    sum(log(diag(U)))``.

    Parameters
    ----------
    factors : ndarray of shape (*B, K, D, D) or (*B, 1, D, D)
        One factor per component, or one shared by the components of each batch entry.
    means : ndarray of shape (*B, K, D)
    constants : ndarray of shape (*B, K)

    Returns
    -------
    ndarray of shape (*B, K, D (D + 1) / 2 + D + 1)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.coefficient_kernels import matrix_coefficients
    >>> from bayesmix.covariance.quadratic import RowProducts
    >>> coefficients = matrix_coefficients(np.eye(2)[None], np.array([[1.0, 0.0]]),
    ...                                    np.array([0.5]))
    >>> coefficients @ RowProducts(np.array([[3.0, 4.0]])).features("outer").T  # 0.5 - 20/2
    array([[-9.5]])
    """
    return _over_batch(_matrix_coefficients, factors, means, constants)


def diagonal_coefficients(factors: np.ndarray, means: np.ndarray, constants: np.ndarray
                          ) -> np.ndarray:
    """Weights of ``[squares | x | 1]`` for diagonal precision factors ``f`` (``p = f**2``).

    ``constants - sum_d p_d (x_d - mu_d)**2 / 2 + sum_d log(f_d)``: the squares' weights
    ``-p / 2``, the rows' ``p mu``, the constant's ``constants - sum_d p_d mu_d**2 / 2 +
    sum_d log(f_d)``.

    Parameters
    ----------
    factors : ndarray of shape (*B, K, D) or (*B, K, 1)
        One factor per feature, or one for all the features of a component.
    means : ndarray of shape (*B, K, D)
    constants : ndarray of shape (*B, K)

    Returns
    -------
    ndarray of shape (*B, K, 2 D + 1)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.coefficient_kernels import diagonal_coefficients
    >>> from bayesmix.covariance.quadratic import RowProducts
    >>> coefficients = diagonal_coefficients(np.array([[1.0]]), np.array([[1.0, 0.0]]),
    ...                                      np.array([0.5]))
    >>> coefficients @ RowProducts(np.array([[3.0, 4.0]])).features("squares").T
    array([[-9.5]])
    """
    return _over_batch(_diagonal_coefficients, factors, means, constants)


def _over_batch(kernel: Callable, factors: np.ndarray, means: np.ndarray,
                constants: np.ndarray) -> np.ndarray:
    """``kernel`` of one batch axis over the leading axes of ``means`` (*B, K, D):
    each array's leading axes flattened into one (C-contiguous float64), and back."""
    batch_shape = means.shape[:-2]
    flat = [np.ascontiguousarray(array, dtype=np.float64).reshape(
                -1, *array.shape[len(batch_shape):]) for array in (factors, means, constants)]
    return kernel(*flat).reshape(*means.shape[:-1], -1)


@compiled
def _matrix_coefficients(factors: np.ndarray, means: np.ndarray, constants: np.ndarray
                         ) -> np.ndarray:
    n_entries, n_components, n_features = means.shape
    n_pairs = n_features * (n_features + 1) // 2
    coefficients = np.empty((n_entries, n_components, n_pairs + n_features + 1))
    precision = np.empty((n_features, n_features))
    shared = factors.shape[1] == 1
    for entry in range(n_entries):
        for component in range(n_components):
            factor = factors[entry, 0 if shared else component]
            mean = means[entry, component]
            weights = coefficients[entry, component]
            log_det = 0.0
            for i in range(n_features):
                log_det += np.log(factor[i, i])
            pair = 0
            for i in range(n_features):  # P = U U^T, U upper triangular
                for j in range(i, n_features):
                    entry_ij = 0.0
                    for m in range(j, n_features):
                        entry_ij += factor[i, m] * factor[j, m]
                    precision[i, j] = precision[j, i] = entry_ij
                    weights[pair] = -0.5 * entry_ij if i == j else -entry_ij
                    pair += 1
            quadratic = 0.0
            for i in range(n_features):
                scaled = 0.0
                for j in range(n_features):
                    scaled += precision[i, j] * mean[j]
                weights[n_pairs + i] = scaled
                quadratic += scaled * mean[i]
            weights[n_pairs + n_features] = (-0.5 * quadratic + constants[entry, component]
                                             + log_det)
    return coefficients


@compiled
def _diagonal_coefficients(factors: np.ndarray, means: np.ndarray, constants: np.ndarray
                           ) -> np.ndarray:
    n_entries, n_components, n_features = means.shape
    coefficients = np.empty((n_entries, n_components, 2 * n_features + 1))
    shared = factors.shape[2] == 1
    for entry in range(n_entries):
        for component in range(n_components):
            weights = coefficients[entry, component]
            log_det = 0.0
            quadratic = 0.0
            for d in range(n_features):
                factor = factors[entry, component, 0 if shared else d]
                precision = factor * factor
                mean = means[entry, component, d]
                weights[d] = -0.5 * precision
                weights[n_features + d] = precision * mean
                if shared:  # one factor for every feature: p sum(mu**2), D log(f)
                    quadratic += mean * mean
                else:
                    quadratic += precision * mean * mean
                    log_det += np.log(factor)
            if shared:
                factor = factors[entry, component, 0]
                quadratic *= factor * factor
                log_det = n_features * np.log(factor)
            weights[2 * n_features] = -0.5 * quadratic + constants[entry, component] + log_det
    return coefficients
