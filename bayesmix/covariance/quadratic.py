"""The linear algebra of batched E steps: row features and quadratic forms.

:mod:`bayesmix.em.batch` fits many mixtures at once; each component's squared
Mahalanobis distance is written as a linear function of a few features of the rows
(:class:`RowProducts`, :func:`quadratic_coefficients`), so that the distances of every
row to every component of every fit are one matrix product. The covariance structures
(:mod:`bayesmix.covariance.base`) build on these; the batch's precision factors are
compiled (:mod:`bayesmix.covariance.factor_kernel`).
"""

from __future__ import annotations

from functools import cached_property, lru_cache

import numpy as np

__all__ = ["RowProducts", "quadratic_coefficients", "symmetric_from_upper", "upper_triangle"]


@lru_cache(maxsize=64)
def upper_triangle(n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of a ``D x D`` matrix's upper triangle, row by row.

    Examples
    --------
    >>> from bayesmix.covariance.quadratic import upper_triangle
    >>> upper_triangle(2)
    (array([0, 0, 1]), array([0, 1, 1]))
    """
    rows, columns = np.triu_indices(n_features)
    rows.flags.writeable = columns.flags.writeable = False
    return rows, columns


def symmetric_from_upper(upper: np.ndarray, n_features: int) -> np.ndarray:
    """Symmetric matrices (..., D, D) from their upper triangles (..., D (D + 1) / 2).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.quadratic import symmetric_from_upper
    >>> symmetric_from_upper(np.array([1.0, 2.0, 3.0]), 2)
    array([[1., 2.],
           [2., 3.]])
    """
    rows, columns = upper_triangle(n_features)
    matrices = np.empty((*upper.shape[:-1], n_features, n_features))
    matrices[..., rows, columns] = upper
    matrices[..., columns, rows] = upper
    return matrices


class RowProducts:
    """Rows (already centred) and the products of their coordinates, made on first use.

    The batched E step reads the products it needs of one block of rows: the second
    moments' ``outer`` products (their upper triangles) or ``squares``, and the
    :meth:`features` in which every structure's squared Mahalanobis distance is linear.

    Parameters
    ----------
    X : ndarray of shape (N, D)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.quadratic import RowProducts
    >>> rows = RowProducts(np.array([[1.0, 2.0]]))
    >>> rows.squares, rows.outer, rows.features("squares")
    (array([[1., 4.]]), array([[1., 2., 4.]]), array([[1., 4., 1., 2., 1.]]))
    """

    def __init__(self, X: np.ndarray) -> None:
        self.X = X
        self._features: dict[str, np.ndarray] = {}

    @cached_property
    def squares(self) -> np.ndarray:
        """``X**2``, (N, D)."""
        return self.X * self.X

    @cached_property
    def outer(self) -> np.ndarray:
        """Each row's outer product with itself, its upper triangle: (N, D (D + 1) / 2)."""
        rows, columns = upper_triangle(self.X.shape[1])
        return self.X[:, rows] * self.X[:, columns]

    def features(self, kind: str) -> np.ndarray:
        """``[outer | X | 1]`` (``kind="outer"``) or ``[squares | X | 1]``, (N, F).

        The features ``CovarianceStructure.batch_log_density_coefficients`` weighs, as
        the structure's ``mahalanobis_features`` says.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance.quadratic import RowProducts
        >>> RowProducts(np.array([[1.0, 2.0]])).features("outer")  # x1^2, x1 x2, x2^2, x, 1
        array([[1., 2., 4., 1., 2., 1.]])
        """
        if kind not in self._features:
            products = self.outer if kind == "outer" else self.squares
            self._features[kind] = np.concatenate(
                (products, self.X, np.ones((self.X.shape[0], 1))), axis=1)
        return self._features[kind]


def quadratic_coefficients(precisions: np.ndarray, means: np.ndarray) -> np.ndarray:
    """``[upper(P) | -2 P mu | mu'P mu]`` for precision matrices ``P`` and means ``mu``.

    The weights of ``[outer | x | 1]`` (:meth:`RowProducts.features`) that give
    ``(x - mu)'P(x - mu)``: ``P``'s upper triangle, the off-diagonal entries twice
    (each stands for ``P_de`` and ``P_ed``). Batched over the leading axes,
    (*B, K, D (D + 1) / 2 + D + 1).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.quadratic import RowProducts, quadratic_coefficients
    >>> coefficients = quadratic_coefficients(np.eye(2)[None], np.array([[1.0, 0.0]]))
    >>> coefficients @ RowProducts(np.array([[3.0, 4.0]])).features("outer").T  # 2^2 + 4^2
    array([[20.]])
    """
    rows, columns = upper_triangle(means.shape[-1])
    scaled_means = (precisions @ means[..., np.newaxis])[..., 0]
    return np.concatenate((precisions[..., rows, columns] * _pair_counts(means.shape[-1]),
                           -2.0 * scaled_means,
                           np.sum(scaled_means * means, axis=-1, keepdims=True)), axis=-1)


@lru_cache(maxsize=64)
def _pair_counts(n_features: int) -> np.ndarray:
    """1 for the diagonal entries of :func:`upper_triangle`, 2 for the others."""
    rows, columns = upper_triangle(n_features)
    counts = np.where(rows == columns, 1.0, 2.0)
    counts.flags.writeable = False
    return counts

