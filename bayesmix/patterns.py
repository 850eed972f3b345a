"""Missing values: rows grouped by pattern and the Gaussian algebra of each pattern.

A row with missing coordinates (NaN) is scored on its observed ones: under a Gaussian
component ``N(mu, Sigma)`` with precision ``Lambda = inv(Sigma)``, the observed
coordinates ``O`` of a row follow the marginal ``N(mu_O, Sigma_OO)`` and the missing ones
``M``, given them, follow ``N(mu_M - inv(Lambda_MM) Lambda_MO (x_O - mu_O),
inv(Lambda_MM))`` (``inv(Lambda_MM)`` is the Schur complement ``Sigma_MM - Sigma_MO
inv(Sigma_OO) Sigma_OM``). Everything a row needs therefore comes from the small block
``Lambda_MM`` of its pattern: with ``d`` the row minus the mean, zero at ``M``, and
``u = (Lambda d)_M``,

- the squared Mahalanobis distance of ``x_O`` is ``d^T Lambda d - u^T inv(Lambda_MM) u``,
- ``log|inv(Sigma_OO)| = log|Lambda| - log|Lambda_MM|``,
- the conditional mean of ``x_M`` is ``mu_M - inv(Lambda_MM) u``.

:class:`MissingPatterns` groups the rows of a data set by which coordinates they miss
(once per data set); :func:`block_conditionals` evaluates a block of rows of one pattern
group against every component, inverting each (pattern, component) block
``Lambda_MM`` once, for all patterns of the block at a time. The EM source for missing
values (:mod:`bayesmix.em.missing_source`), the density kernels
(:mod:`bayesmix.density`) and imputation (:mod:`bayesmix.imputation`) build on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from bayesmix.covariance.base import CovarianceStructure

__all__ = ["BlockConditionals", "MissingPatterns", "PatternGroup", "block_conditionals",
           "component_precisions", "flat_positions", "has_missing", "invert_positive_definite"]

_LOG_2PI = np.log(2.0 * np.pi)
#: Matrices inverted together by :func:`invert_positive_definite`: larger stacks fall
#: out of the cache and run slower.
_INVERSION_BATCH = 4096


def has_missing(X: np.ndarray) -> bool:
    """Whether a float array holds a NaN, without an (N, D) temporary when it does not.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.patterns import has_missing
    >>> has_missing(np.array([[1.0, np.nan]])), has_missing(np.ones((2, 2)))
    (True, False)
    """
    if X.dtype.kind != "f":
        return False
    # A sum is NaN when an entry is NaN (or +inf and -inf meet, which isnan then rules out).
    with np.errstate(invalid="ignore", over="ignore"):
        total = X.sum()
    return bool(np.isnan(total)) and bool(np.isnan(X).any())


def invert_positive_definite(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverses and log-determinants of a stack of symmetric positive definite matrices.

    Gauss-Jordan elimination without pivoting (stable for positive definite matrices,
    whose pivots are positive Schur complements), vectorised over the stack: for the
    small blocks of missing coordinates, a loop over the ``j`` pivots of whole-stack
    operations is several times faster than LAPACK called once per matrix. The stack
    runs along the trailing axes, so that each pivot step is a few operations on
    contiguous vectors (and :func:`block_conditionals` gathers its blocks straight into
    that layout).

    Parameters
    ----------
    matrices : ndarray of shape (j, j, ...)
        Matrix ``[..., :, :]`` of the usual layout is ``matrices[:, :, ...]`` here.

    Returns
    -------
    inverses : ndarray of shape (j, j, ...)
    log_dets : ndarray of shape (...)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.patterns import invert_positive_definite
    >>> inverse, log_det = invert_positive_definite(np.array([[4.0, 2.0], [2.0, 2.0]])[..., None])
    >>> inverse[..., 0], log_det.round(6)
    (array([[ 0.5, -0.5],
           [-0.5,  1. ]]), array([1.386294]))
    """
    size = matrices.shape[0]
    batch = matrices.shape[2:]
    n_matrices = int(np.prod(batch))
    stack = matrices.reshape(size, size, n_matrices).copy()
    pivots = np.empty((size, n_matrices))
    for start in range(0, n_matrices, _INVERSION_BATCH):
        part = stack[..., start:start + _INVERSION_BATCH]
        update = np.empty_like(part)
        for pivot in range(size):
            pivots[pivot, start:start + _INVERSION_BATCH] = part[pivot, pivot]
            inverse_pivot = 1.0 / part[pivot, pivot]
            column = part[:, pivot].copy()
            column[pivot] = 0.0
            part[pivot] *= inverse_pivot
            np.multiply(column[:, np.newaxis], part[pivot], out=update)
            part -= update
            np.multiply(column, -inverse_pivot, out=part[:, pivot])
            part[pivot, pivot] = inverse_pivot
    return stack.reshape(size, size, *batch), np.log(pivots).sum(axis=0).reshape(batch)


def component_precisions(structure: CovarianceStructure, precisions_cholesky: np.ndarray,
                          n_components: int, n_features: int) -> np.ndarray:
    """Each component's precision: (K, D, D) matrices, or (K, D) diagonals.

    The axis-aligned structures (those that estimate no correlation) give the diagonals,
    which :func:`block_conditionals` handles without matrix algebra: their missing
    coordinates are independent of the observed ones. A covariance shared by the
    components gives one, (1, D, D) or (1, D), which broadcasts: its missing blocks are
    then inverted once per pattern, not once per pattern and component.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.patterns import component_precisions
    >>> component_precisions(get_structure("full"), np.array([[[2.0, 0.0], [0.0, 1.0]]]), 1, 2)
    array([[[4., 0.],
            [0., 1.]]])
    >>> component_precisions(get_structure("spherical"), np.array([2.0, 1.0]), 2, 3)
    array([[4., 4., 4.],
           [1., 1., 1.]])
    >>> component_precisions(get_structure("tied"), np.eye(2), 3, 2).shape
    (1, 2, 2)
    """
    precisions = structure.precisions_from_cholesky(precisions_cholesky)
    shared = structure.shares_covariance()
    matrices = structure.to_full(precisions, 1 if shared else n_components, n_features)
    if structure.estimates_correlations:
        return matrices
    return np.diagonal(matrices, axis1=-2, axis2=-1).copy()


@dataclass(frozen=True)
class PatternGroup:
    """The rows missing the same number of coordinates, sorted by pattern.

    Attributes
    ----------
    n_missing : int
        Coordinates missing in every row of the group (0 for complete rows).
    missing_index : ndarray of shape (n_patterns, n_missing)
        The missing columns of each of the group's patterns, ascending.
    positions : slice
        The group's rows in :attr:`MissingPatterns.order`.
    pattern_of_position : ndarray of shape (n_rows,)
        The pattern (row of ``missing_index``) of each of the group's rows, ascending.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.patterns import MissingPatterns
    >>> group = MissingPatterns(np.array([[True, False], [False, False]])).groups[1]
    >>> group.n_missing, group.missing_index, group.positions
    (1, array([[0]]), slice(1, 2, None))
    """

    n_missing: int
    missing_index: np.ndarray
    positions: slice
    pattern_of_position: np.ndarray

    def row_width(self, n_components: int, n_features: int) -> int:
        """Float64 elements per row of the largest temporaries of :func:`block_conditionals`
        (the rows against every component, and the missing blocks' covariances).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.patterns import MissingPatterns
        >>> MissingPatterns(np.array([[True, False, False]])).groups[0].row_width(2, 3)
        8
        """
        return n_components * (n_features + self.n_missing**2)


class MissingPatterns:
    """The rows of a data set grouped by which coordinates they miss (computed once).

    Rows are sorted (:attr:`order`) by number of missing coordinates, then by pattern,
    so that every :class:`PatternGroup` is a contiguous range of positions and a block
    of positions spans few patterns.

    Parameters
    ----------
    missing : ndarray of bool, shape (n_samples, n_features)
        Where the data are missing (``np.isnan(X)``).

    Attributes
    ----------
    order : ndarray of shape (n_samples,)
        Row indices, sorted by pattern.
    groups : list of PatternGroup
        By increasing number of missing coordinates.
    n_patterns : int

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.patterns import MissingPatterns
    >>> X = np.array([[1.0, np.nan], [2.0, 3.0], [np.nan, 1.0], [4.0, np.nan]])
    >>> patterns = MissingPatterns(np.isnan(X))
    >>> patterns.order, patterns.n_patterns
    (array([1, 0, 3, 2]), 3)
    >>> [(group.n_missing, group.missing_index.tolist()) for group in patterns.groups]
    [(0, [[]]), (1, [[1], [0]])]
    """

    def __init__(self, missing: np.ndarray) -> None:
        self.n_samples, self.n_features = missing.shape
        packed = np.ascontiguousarray(np.packbits(missing, axis=1))
        keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
        _, first_row, pattern_of_row = np.unique(keys, return_index=True,
                                                 return_inverse=True)
        masks = missing[first_row]
        by_count = np.argsort(masks.sum(axis=1), kind="stable")
        renamed = np.empty_like(by_count)
        renamed[by_count] = np.arange(by_count.size)
        masks = masks[by_count]
        pattern_of_row = renamed[pattern_of_row.ravel()]
        self.order = np.argsort(pattern_of_row, kind="stable")
        sorted_patterns = pattern_of_row[self.order]
        self.n_patterns = masks.shape[0]
        counts = masks.sum(axis=1)
        self.groups = []
        for n_missing in np.unique(counts):
            patterns = np.flatnonzero(counts == n_missing)
            first, stop = int(patterns[0]), int(patterns[-1]) + 1
            positions = slice(int(np.searchsorted(sorted_patterns, first)),
                              int(np.searchsorted(sorted_patterns, stop)))
            self.groups.append(PatternGroup(
                int(n_missing), np.nonzero(masks[first:stop])[1].reshape(stop - first, -1),
                positions, sorted_patterns[positions] - first))

    @property
    def complete(self) -> bool:
        """Whether no value is missing.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.patterns import MissingPatterns
        >>> MissingPatterns(np.zeros((3, 2), dtype=bool)).complete
        True
        """
        return self.n_patterns == 1 and self.groups[0].n_missing == 0

    def blocks(self, positions: slice, n_components: int, chunks) -> Iterator[
            tuple[PatternGroup, slice]]:
        """``(group, block)`` over ``positions`` of :attr:`order`, group by group.

        ``chunks(n_rows, row_width)`` splits a group's share of ``positions`` into
        blocks (:func:`bayesmix.density.row_chunks`); the blocks are slices of
        positions, never across groups.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.density import row_chunks
        >>> from bayesmix.patterns import MissingPatterns
        >>> patterns = MissingPatterns(np.array([[False, True], [False, False]]))
        >>> [(group.n_missing, block) for group, block in patterns.blocks(
        ...     slice(0, 2), 1, row_chunks)]
        [(0, slice(0, 1, None)), (1, slice(1, 2, None))]
        """
        for group in self.groups:
            start = max(positions.start, group.positions.start)
            stop = min(positions.stop, group.positions.stop)
            width = group.row_width(n_components, self.n_features)
            for chunk in (chunks(stop - start, width) if stop > start else ()):
                yield group, slice(start + chunk.start, start + chunk.stop)


@dataclass
class BlockConditionals:
    """A block of rows of one pattern group, evaluated against every component.

    Attributes
    ----------
    log_prob : ndarray of shape (n_rows, K)
        ``log N(x_O | mu_kO, Sigma_kOO)``, the density of each row's observed values.
    conditional_means : ndarray of shape (K, n_rows, n_missing)
        ``E[x_M | x_O, k]``.
    missing_index : ndarray of shape (n_rows, n_missing)
        Each row's missing columns.
    block_patterns : ndarray of shape (n_rows,)
        Each row's pattern among :attr:`pattern_missing_index`.
    pattern_missing_index : ndarray of shape (n_patterns, n_missing)
        The missing columns of the block's patterns.
    conditional_covariances : ndarray of shape (K, n_patterns, n_missing, n_missing)
        ``Cov[x_M | x_O, k] = inv(Lambda_kMM)`` of each of the block's patterns (first
        axis of length 1 when the components share their covariance).

    Examples
    --------
    See :func:`block_conditionals`, which makes them:

    >>> import numpy as np
    >>> from bayesmix.patterns import MissingPatterns, block_conditionals
    >>> group = MissingPatterns(np.array([[False, True]])).groups[0]
    >>> result = block_conditionals(np.array([[2.0, 0.0]]), group, slice(0, 1),
    ...                             np.zeros((1, 2)), np.eye(2)[np.newaxis], np.zeros(1))
    >>> result.missing_index, result.conditional_means
    (array([[1]]), array([[[0.]]]))
    """

    log_prob: np.ndarray
    conditional_means: np.ndarray
    missing_index: np.ndarray
    block_patterns: np.ndarray
    pattern_missing_index: np.ndarray
    conditional_covariances: np.ndarray

    def completed_rows(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` completed by each component's conditional means, (K, n_rows, D).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.patterns import BlockConditionals
        >>> conditionals = BlockConditionals(None, np.array([[[5.0]], [[7.0]]]),
        ...                                  np.array([[1]]), None, None, None)
        >>> conditionals.completed_rows(np.array([[1.0, 0.0]]))
        array([[[1., 5.]],
        <BLANKLINE>
               [[1., 7.]]])
        """
        n_components = self.conditional_means.shape[0]
        completed = np.broadcast_to(rows, (n_components, *rows.shape)).copy()
        completed.reshape(n_components, -1)[:, flat_positions(self.missing_index,
                                                             rows.shape[1])] = (
            self.conditional_means.reshape(n_components, self.conditional_means[0].size))
        return completed


def flat_positions(missing_index: np.ndarray, n_features: int) -> np.ndarray:
    """Where each row's missing columns fall in the flattened rows, (n_rows * n_missing,).

    One flat index for a gather or a scatter along the last two axes is several times
    faster than a pair of index arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.patterns import flat_positions
    >>> flat_positions(np.array([[1], [0]]), 3)
    array([1, 3])
    """
    n_rows, _ = missing_index.shape
    return (np.arange(n_rows)[:, np.newaxis] * n_features + missing_index).ravel()


def block_conditionals(rows: np.ndarray, group: PatternGroup, block: slice,
                       means: np.ndarray, precisions: np.ndarray, log_det: np.ndarray
                       ) -> BlockConditionals:
    """Observed-data log densities and conditional moments of a block of rows.

    Parameters
    ----------
    rows : ndarray of shape (n_rows, D)
        The block's rows (of ``group``, at ``block`` of the pattern order), float64,
        with 0 at the missing coordinates.
    group : PatternGroup
    block : slice
        The rows' positions in :attr:`MissingPatterns.order`.
    means : ndarray of shape (K, D)
    precisions : ndarray of shape (K, D, D) or (K, D)
        Precision matrices, or their diagonals for the axis-aligned structures (one
        component's when shared; :func:`component_precisions`).
    log_det : ndarray of shape (K,)
        Half the log-determinant of each precision.

    Returns
    -------
    BlockConditionals

    Examples
    --------
    A row missing its second coordinate, under a standard bivariate normal with
    correlation 0.5: its first coordinate is N(0, 1), the second given it has mean
    ``0.5 x_1`` and variance 0.75.

    >>> import numpy as np
    >>> from bayesmix.patterns import MissingPatterns, block_conditionals
    >>> X = np.array([[2.0, np.nan]])
    >>> group = MissingPatterns(np.isnan(X)).groups[0]
    >>> precision = np.linalg.inv([[1.0, 0.5], [0.5, 1.0]])[np.newaxis]
    >>> result = block_conditionals(np.nan_to_num(X), group, slice(0, 1), np.zeros((1, 2)),
    ...                             precision, 0.5 * np.linalg.slogdet(precision)[1])
    >>> result.log_prob.round(6), result.conditional_means, result.conditional_covariances
    (array([[-2.918939]]), array([[[1.]]]), array([[[[0.75]]]]))
    """
    n_components, n_features = means.shape
    n_missing = group.n_missing
    pattern_of_row = group.pattern_of_position[block.start - group.positions.start:
                                               block.stop - group.positions.start]
    first = int(pattern_of_row[0])
    block_patterns = pattern_of_row - first
    pattern_missing_index = group.missing_index[first:int(pattern_of_row[-1]) + 1]
    missing_index = pattern_missing_index[block_patterns]

    if precisions.ndim == 2:  # diagonal: the observed coordinates say nothing of the others
        offsets = rows - means[:, np.newaxis, :]
        offsets.reshape(n_components, -1)[:, flat_positions(missing_index, n_features)] = 0.0
        distances = ((offsets * offsets) @ precisions[..., np.newaxis])[..., 0].T
        missing_precisions = precisions[:, pattern_missing_index]
        # The layouts of the other branch: (j, j, n_patterns, K) and (j, n_rows, K).
        covariances = ((1.0 / missing_precisions)[..., np.newaxis]
                       * np.eye(n_missing)).transpose(2, 3, 1, 0)
        log_dets = np.log(missing_precisions).sum(axis=-1).T
        conditional_means = means[:, missing_index].transpose(2, 1, 0)
    else:
        # The components on the last axis: every row-wise array below is (..., n_rows, K)
        # and contiguous, so that one product gives x Lambda_k of every component and
        # the pattern-wise blocks are gathered row by row in runs of K values.
        by_component = np.ascontiguousarray(np.moveaxis(precisions, 0, -1))  # (D, D, K)
        n_precisions = by_component.shape[-1]
        # d = x - mu_k at the fill value 0 of the missing coordinates: d^T Lambda d -
        # u^T inv(Lambda_MM) u and -inv(Lambda_MM) u do not depend on d_M, so x Lambda_k
        # needs no masking, and d^T Lambda d = x Lambda x - 2 x Lambda mu + mu Lambda mu.
        products = (rows @ by_component.reshape(n_features, -1)).reshape(
            -1, n_precisions)  # (n_rows * D, K)
        mean_products = (precisions @ means[..., np.newaxis])[..., 0].T  # (D, K)
        distances = np.einsum("ndk,nd->nk", products.reshape(rows.shape[0], n_features, -1),
                              rows)
        distances = distances - 2.0 * (rows @ mean_products)
        distances += np.einsum("kd,dk->k", means, mean_products)
        # u = (Lambda_k d)_M, (n_missing, n_rows, K), gives the correction of the distance
        # and the conditional means.
        offsets = (products[flat_positions(missing_index, n_features).reshape(
            missing_index.shape).T] - mean_products[missing_index.T])
        flat = pattern_missing_index.T[:, np.newaxis, :] * n_features + (
            pattern_missing_index.T[np.newaxis, :, :])
        covariances, log_dets = invert_positive_definite(
            by_component.reshape(-1, n_precisions)[flat])  # (j, j, n_patterns, K)
        corrections = np.einsum("ijnk,jnk->ink", np.take(covariances, block_patterns, axis=2),
                                offsets)
        distances -= np.einsum("ink,ink->nk", offsets, corrections)
        np.maximum(distances, 0.0, out=distances)  # rounding below zero, at a mean
        conditional_means = np.subtract(0.0, corrections, out=corrections)  # no -0.0
    distances += log_dets[block_patterns]
    log_prob = np.multiply(distances, -0.5, out=distances)
    log_prob += log_det - 0.5 * (n_features - n_missing) * _LOG_2PI
    return BlockConditionals(log_prob, conditional_means.transpose(2, 1, 0), missing_index,
                             block_patterns, pattern_missing_index,
                             covariances.transpose(3, 2, 0, 1))
