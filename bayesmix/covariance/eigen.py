"""The volume-shape-orientation decomposition of covariance matrices (Banfield & Raftery).

mclust writes every covariance as ``Sigma_k = lambda_k D_k A_k D_k^T``: the volume
``lambda_k = |Sigma_k|^(1/D)``, the shape ``A_k`` (diagonal, determinant 1, listed from
the largest axis down) and the orientation ``D_k`` (orthogonal, the axes as columns).
These functions work on stacks of matrices with any leading axes; the structures use them
for their M steps, their random covariances and :meth:`decompose`.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "compose",
    "decompose_matrices",
    "eigh_descending",
    "geometric_mean",
    "orient_columns",
]


def geometric_mean(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Geometric mean along ``axis``: 0 where a value is 0, NaN where one is negative.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.eigen import geometric_mean
    >>> geometric_mean(np.array([[1.0, 4.0], [0.0, 2.0]]))
    array([2., 0.])
    """
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.exp(np.mean(np.log(values), axis=axis))


def eigh_descending(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (largest first) and eigenvectors (as columns) of symmetric matrices.

    Equal eigenvalues keep the order of their eigenvectors: a multiple of the identity
    has the identity's axes, in order, as LAPACK's singular value decomposition gives
    them to mclust (``numpy.linalg.eigh``'s ascending order, reversed, would reverse
    them). A matrix that is not finite has NaN values and vectors. Compiled
    (:func:`~bayesmix.covariance.eigen_kernel.stacked_eigh_descending`: Jacobi's
    rotations for a few features, LAPACK's ``dsyevd`` for more).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.eigen import eigh_descending
    >>> values, vectors = eigh_descending(np.diag([1.0, 3.0]))
    >>> values, np.abs(vectors)
    (array([3., 1.]), array([[0., 1.],
           [1., 0.]]))
    >>> eigh_descending(2.0 * np.eye(2))[1]
    array([[1., 0.],
           [0., 1.]])
    """
    # Numba loads and compiles on the first decomposition, not on import.
    from bayesmix.covariance.eigen_kernel import stacked_eigh_descending

    matrices = np.asarray(matrices, dtype=np.float64)
    n_features = matrices.shape[-1]
    values, vectors = stacked_eigh_descending(
        np.ascontiguousarray(matrices.reshape(-1, n_features, n_features)))
    return (values.reshape(matrices.shape[:-1]), vectors.reshape(matrices.shape))


def orient_columns(vectors: np.ndarray) -> np.ndarray:
    """The columns with their entry of largest magnitude made positive (a fixed sign).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.eigen import orient_columns
    >>> orient_columns(np.array([[0.6, 0.8], [-0.8, 0.6]]))
    array([[-0.6,  0.8],
           [ 0.8,  0.6]])
    """
    largest = np.take_along_axis(vectors, np.abs(vectors).argmax(axis=-2)[..., None, :],
                                 axis=-2)
    return vectors * np.where(largest < 0.0, -1.0, 1.0)


def compose(volumes: np.ndarray, shapes: np.ndarray, orientations: np.ndarray
            ) -> np.ndarray:
    """``volume * D diag(shape) D^T`` for every component (leading axes broadcast).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.eigen import compose
    >>> compose(np.array([2.0]), np.array([[2.0, 0.5]]), np.eye(2)[None])
    array([[[4., 0.],
            [0., 1.]]])
    """
    scaled = orientations * (volumes[..., None] * shapes)[..., None, :]
    return scaled @ np.swapaxes(orientations, -1, -2)


def decompose_matrices(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Volumes, shapes (largest first, product 1) and orientations of covariance matrices.

    The orientation's columns are the eigenvectors, each signed by
    :func:`orient_columns`, so that ``matrices == compose(volumes, shapes,
    orientations)``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.eigen import decompose_matrices
    >>> volumes, shapes, orientations = decompose_matrices(np.array([[[4.0, 0.0], [0.0, 1.0]]]))
    >>> volumes, shapes, orientations
    (array([2.]), array([[2. , 0.5]]), array([[[1., 0.],
            [0., 1.]]]))
    """
    values, vectors = eigh_descending(np.asarray(matrices, dtype=np.float64))
    volumes = geometric_mean(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        shapes = values / volumes[..., None]
    return volumes, shapes, orient_columns(vectors)
