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
(once per data set), and the prefixes of its patterns' missing coordinates into a tree
along which the blocks ``inv(Lambda_MM)`` of every (pattern, component) are inverted
once per pass, by bordering (:mod:`bayesmix.prefix_tree`; :mod:`bayesmix.pattern_inverses`
pairs them with the rows). :func:`block_conditionals` evaluates a block of rows of one
pattern group against every component from these inverses. The EM source for missing
values (:mod:`bayesmix.em.missing_source`), the density kernels
(:mod:`bayesmix.density`) and imputation (:mod:`bayesmix.imputation`) build on it.
Its length (about 670 lines, more than half of them docstrings) is that of this algebra
and the grouping it needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix

from bayesmix.covariance.base import CovarianceStructure
from bayesmix.prefix_tree import MissingBlockInverses, prefix_levels

__all__ = ["BORDERING_GAIN", "BlockConditionals", "MissingPatterns", "PatternGroup",
           "block_conditionals", "component_precisions", "flat_positions", "has_missing",
           "missing_pairs"]

_LOG_2PI = np.log(2.0 * np.pi)
#: How many times less work bordering along the prefix tree must take than inverting
#: each pattern's block on its own to be used (it runs slower per unit of work: 200,000
#: x 16 at 30 % missing saves 6.6 times the work and runs 3.9 times faster; 20,000 x 50,
#: unique patterns, saves 2.8 times and runs 1.5 times slower).
BORDERING_GAIN = 4.0


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


@cache
def missing_pairs(size: int, diagonal: bool) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``i <= j`` of ``size`` missing coordinates (``i == j`` if ``diagonal``),
    the entries of a symmetric block that the conditional covariances add to.

    Examples
    --------
    >>> from bayesmix.patterns import missing_pairs
    >>> missing_pairs(2, diagonal=False)
    (array([0, 0, 1]), array([0, 1, 1]))
    """
    return (np.arange(size),) * 2 if diagonal else np.triu_indices(size)


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
    nodes : ndarray of shape (n_patterns,)
        Each pattern's node in the :class:`~bayesmix.prefix_tree.PrefixLevel` of its
        size (``[0]`` for the complete rows).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.patterns import MissingPatterns
    >>> group = MissingPatterns(np.array([[True, False], [False, False]])).groups[1]
    >>> group.n_missing, group.missing_index, group.positions, group.nodes
    (1, array([[0]]), slice(1, 2, None), array([0]))
    """

    n_missing: int
    missing_index: np.ndarray
    positions: slice
    pattern_of_position: np.ndarray
    nodes: np.ndarray
    _matrices: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def drop_matrices(self) -> None:
        """Forget the one-hot matrices kept by :meth:`pattern_indicator` and
        :meth:`pair_cells`.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.patterns import MissingPatterns
        >>> group = MissingPatterns(np.array([[True, False]])).groups[0]
        >>> kept = group.pattern_indicator(slice(0, 1))
        >>> group.pattern_indicator(slice(0, 1)) is kept
        True
        >>> group.drop_matrices()
        >>> group.pattern_indicator(slice(0, 1)) is kept
        False
        """
        self._matrices.clear()

    def pattern_indicator(self, block: slice) -> csr_matrix:
        """The (patterns, rows) matrix whose product with values of the rows at
        ``block`` (positions of :attr:`MissingPatterns.order`, in this group) sums them
        by pattern, the block's first pattern first. Made once per block and kept.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.patterns import MissingPatterns
        >>> group = MissingPatterns(np.array([[True, False], [False, True],
        ...                                   [False, True]])).groups[0]
        >>> group.pattern_indicator(slice(0, 3)) @ np.array([1.0, 2.0, 3.0])
        array([1., 5.])
        """
        key = ("indicator", block.start, block.stop)
        if key not in self._matrices:
            offset = self.positions.start
            patterns = self.pattern_of_position[block.start - offset:block.stop - offset]
            # A pattern's rows are contiguous: row p of the matrix holds ones over them.
            # (int32 indices, which scipy would otherwise copy into.)
            starts = np.flatnonzero(np.diff(patterns, prepend=-1)).astype(np.int32)
            self._matrices[key] = csr_matrix(
                (np.ones(patterns.size), np.arange(patterns.size, dtype=np.int32),
                 np.append(starts, np.int32(patterns.size))),
                shape=(starts.size, patterns.size))
        return self._matrices[key]

    def pair_cells(self, first: int, stop: int, diagonal: bool, n_features: int
                   ) -> csc_matrix:
        """The one-hot matrix (D * D, pairs * patterns) that adds a value of each pair
        ``i <= j`` of :func:`missing_pairs` of each of patterns ``first`` to ``stop``
        (pair-major) at cell ``(M_i, M_j)`` of a D x D matrix. Made once per range and
        kept: EM asks for the same ranges at every pass.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.patterns import MissingPatterns
        >>> group = MissingPatterns(np.array([[True, False, True]])).groups[0]
        >>> (group.pair_cells(0, 1, False, 3) @ np.array([1.0, 2.0, 3.0])).reshape(3, 3)
        array([[1., 0., 2.],
               [0., 0., 0.],
               [0., 0., 3.]])
        """
        key = ("cells", first, stop, diagonal)
        if key not in self._matrices:
            rows, columns = missing_pairs(self.n_missing, diagonal)
            index = self.missing_index[first:stop]
            cells = (index[:, rows] * n_features + index[:, columns]).T.ravel()
            self._matrices[key] = csc_matrix(  # int32 indices, as scipy keeps them
                (np.ones(cells.size), cells.astype(np.int32),
                 np.arange(cells.size + 1, dtype=np.int32)),
                shape=(n_features**2, cells.size))
        return self._matrices[key]

    def rows_of(self, first: int, stop: int) -> slice:
        """The positions of the rows of patterns ``first`` to ``stop``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.patterns import MissingPatterns
        >>> group = MissingPatterns(np.array([[True, False], [False, True],
        ...                                   [False, True]])).groups[0]
        >>> group.rows_of(1, 2)
        slice(1, 3, None)
        """
        bounds = self.positions.start + np.searchsorted(self.pattern_of_position,
                                                        (first, stop))
        return slice(int(bounds[0]), int(bounds[1]))

    def patterns_of(self, positions: slice) -> tuple[int, int]:
        """The patterns ``first`` to ``stop`` of the rows at ``positions`` (not empty),
        whole patterns or not.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.patterns import MissingPatterns
        >>> group = MissingPatterns(np.array([[True, False], [False, True],
        ...                                   [False, True]])).groups[0]
        >>> group.patterns_of(slice(1, 3))
        (1, 2)
        """
        offset = self.positions.start
        return (int(self.pattern_of_position[positions.start - offset]),
                int(self.pattern_of_position[positions.stop - 1 - offset]) + 1)

    def row_width(self, n_components: int, n_features: int) -> int:
        """Half the float64 elements per row of the largest temporaries of
        :func:`block_conditionals` (the rows against every component, and the missing
        blocks' covariances), as the ``row_width`` of
        :func:`bayesmix.density.row_chunks`: blocks of about 4 MiB of them, not 2, as
        the per-row algebra makes many small NumPy calls whose overhead holds the
        interpreter lock that the threads share (with 2 threads, an E step at 30 %
        missing on 200,000 x 16 ran 1.5x faster than on one, against 1.4x with blocks
        half the size).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.patterns import MissingPatterns
        >>> MissingPatterns(np.array([[True, False, False]])).groups[0].row_width(2, 3)
        4
        """
        return n_components * (n_features + self.n_missing**2) // 2


class MissingPatterns:
    """The rows of a data set grouped by which coordinates they miss (computed once).

    Rows are sorted (:attr:`order`) by number of missing coordinates, then by pattern
    (in the lexicographic order of the missing coordinates), so that every
    :class:`PatternGroup` is a contiguous range of positions and a block of positions
    spans few patterns.

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
    levels : list of bayesmix.prefix_tree.PrefixLevel
        The prefix tree of the patterns' missing coordinates, by size from 1.
    n_patterns : int

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.patterns import MissingPatterns
    >>> X = np.array([[1.0, np.nan], [2.0, 3.0], [np.nan, 1.0], [4.0, np.nan]])
    >>> patterns = MissingPatterns(np.isnan(X))
    >>> patterns.order, patterns.n_patterns
    (array([1, 2, 0, 3]), 3)
    >>> [(group.n_missing, group.missing_index.tolist()) for group in patterns.groups]
    [(0, [[]]), (1, [[0], [1]])]
    """

    def __init__(self, missing: np.ndarray) -> None:
        self.n_samples, self.n_features = missing.shape
        packed = np.ascontiguousarray(np.packbits(missing, axis=1))
        keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
        _, first_row, pattern_of_row = np.unique(keys, return_index=True,
                                                 return_inverse=True)
        masks = missing[first_row]
        by_count = np.argsort(masks.sum(axis=1), kind="stable")
        counts = masks.sum(axis=1)[by_count]
        sizes = np.unique(counts)
        bounds = np.append(np.searchsorted(counts, sizes), counts.size)
        indexes = [np.nonzero(masks[by_count[first:stop]])[1].reshape(stop - first, -1)
                   for first, stop in zip(bounds[:-1], bounds[1:])]
        self.levels, nodes = prefix_levels(indexes, self.n_features)
        # Patterns by size, then in lexicographic order (their nodes'), as group_inverses
        # walks them.
        lexical = [np.argsort(pattern_nodes) for pattern_nodes in nodes]
        indexes = [index[order] for index, order in zip(indexes, lexical)]
        nodes = [pattern_nodes[order] for pattern_nodes, order in zip(nodes, lexical)]
        by_pattern = np.concatenate([by_count[first:stop][order] for first, stop, order
                                     in zip(bounds[:-1], bounds[1:], lexical)])
        renamed = np.empty_like(by_pattern)
        renamed[by_pattern] = np.arange(by_pattern.size)
        pattern_of_row = renamed[pattern_of_row.ravel()]
        self.order = np.argsort(pattern_of_row, kind="stable")
        sorted_patterns = pattern_of_row[self.order]
        self.n_patterns = masks.shape[0]
        self.groups = []
        self._matrices_layout: tuple | None = None
        for n_missing, first, stop, index, pattern_nodes in zip(sizes, bounds[:-1],
                                                                bounds[1:], indexes, nodes):
            positions = slice(int(np.searchsorted(sorted_patterns, first)),
                              int(np.searchsorted(sorted_patterns, stop)))
            self.groups.append(PatternGroup(int(n_missing), index, positions,
                                            sorted_patterns[positions] - first,
                                            pattern_nodes))

    def keep_matrices_for(self, layout: tuple) -> None:
        """Keep the groups' one-hot matrices (:meth:`PatternGroup.pair_cells`,
        :meth:`PatternGroup.pattern_indicator`) only for one ``layout`` of the passes
        (anything their ranges depend on: components, threads): a new layout drops them,
        so that a grid of fits over K does not pile them up.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.patterns import MissingPatterns
        >>> patterns = MissingPatterns(np.array([[True, False], [False, True]]))
        >>> group = patterns.groups[0]
        >>> patterns.keep_matrices_for((2, 1))
        >>> kept = group.pattern_indicator(slice(0, 2))
        >>> patterns.keep_matrices_for((2, 1)); group.pattern_indicator(slice(0, 2)) is kept
        True
        >>> patterns.keep_matrices_for((3, 1)); group.pattern_indicator(slice(0, 2)) is kept
        False
        """
        if layout != self._matrices_layout:
            for group in self.groups:
                group.drop_matrices()
            self._matrices_layout = layout

    @cached_property
    def bordering_pays(self) -> bool:
        """Whether bordering along :attr:`levels` saves at least
        :data:`BORDERING_GAIN` times the work of inverting each pattern's block on its
        own (``j^2`` a node against ``j^3`` a pattern).

        When many patterns share their prefixes (few columns, or many rows), the tree
        has about as many nodes as there are patterns; with unique patterns of many
        missing values, about ``j`` nodes a pattern, and bordering them all costs as
        much as the eliminations.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.patterns import MissingPatterns
        >>> rng = np.random.default_rng(0)
        >>> MissingPatterns(rng.random((10_000, 8)) < 0.3).bordering_pays
        True
        >>> MissingPatterns(rng.random((100, 40)) < 0.3).bordering_pays
        False
        """
        tree_work = sum(level.rank.size * size * size
                        for size, level in enumerate(self.levels, start=1))
        own_work = sum(group.missing_index.shape[0] * group.n_missing**3
                       for group in self.groups)
        return own_work >= BORDERING_GAIN * tree_work

    @cached_property
    def node_costs(self) -> np.ndarray:
        """The work of each node of :attr:`levels`, by rank: its bordering (``j^2``) and
        its pattern's rows (``D + j^2`` each), for sharing the work out
        (:func:`~bayesmix.prefix_tree.cost_shares`).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.patterns import MissingPatterns
        >>> MissingPatterns(np.array([[True, False], [True, False]])).node_costs
        array([7.])
        """
        costs = np.zeros(sum(level.rank.size for level in self.levels))
        for size, level in enumerate(self.levels, start=1):
            costs[level.rank] += size * size
        for group in self.groups[1 if self.groups[0].n_missing == 0 else 0:]:
            rows = np.bincount(group.pattern_of_position,
                               minlength=group.missing_index.shape[0])
            costs[self.levels[group.n_missing - 1].rank[group.nodes]] += rows * (
                self.n_features + group.n_missing**2)
        return costs

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
    inverses : MissingBlockInverses
        A stack holding ``inv(Lambda_kMM)`` of the block's patterns, at
        ``pattern_slots``.
    pattern_slots : slice or ndarray of shape (n_patterns,)

    Examples
    --------
    See :func:`block_conditionals`, which makes them (here for a diagonal precision,
    which needs no inverses):

    >>> import numpy as np
    >>> from bayesmix.patterns import MissingPatterns, block_conditionals
    >>> group = MissingPatterns(np.array([[False, True]])).groups[0]
    >>> result = block_conditionals(np.array([[2.0, 0.0]]), group, slice(0, 1),
    ...                             np.zeros((1, 2)), np.ones((1, 2)), np.zeros(1), None)
    >>> result.missing_index, result.conditional_means
    (array([[1]]), array([[[0.]]]))
    """

    log_prob: np.ndarray
    conditional_means: np.ndarray
    missing_index: np.ndarray
    block_patterns: np.ndarray
    pattern_missing_index: np.ndarray
    inverses: MissingBlockInverses
    pattern_slots: slice | np.ndarray

    @property
    def conditional_covariances(self) -> np.ndarray:
        """``Cov[x_M | x_O, k] = inv(Lambda_kMM)`` of each of the block's patterns, (K,
        n_patterns, n_missing, n_missing) (first axis of length 1 when the components
        share their covariance).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.patterns import MissingPatterns, block_conditionals
        >>> group = MissingPatterns(np.array([[False, True]])).groups[0]
        >>> block_conditionals(np.array([[2.0, 0.0]]), group, slice(0, 1), np.zeros((1, 2)),
        ...                    np.full((1, 2), 4.0), np.zeros(1), None
        ...                    ).conditional_covariances
        array([[[[0.25]]]])
        """
        return self.inverses.covariances[:, :, self.pattern_slots].transpose(3, 2, 0, 1)

    def completed_rows(self, rows: np.ndarray, scales: np.ndarray | None = None
                       ) -> np.ndarray:
        """``rows`` completed by each component's conditional means, (K, n_rows, D),
        each component's rows multiplied by ``scales`` (K, n_rows) when given.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.patterns import BlockConditionals
        >>> conditionals = BlockConditionals(None, np.array([[[5.0]], [[7.0]]]),
        ...                                  np.array([[1]]), None, None, None, None)
        >>> conditionals.completed_rows(np.array([[1.0, 0.0]]))
        array([[[1., 5.]],
        <BLANKLINE>
               [[1., 7.]]])
        >>> conditionals.completed_rows(np.array([[1.0, 0.0]]), np.array([[2.0], [0.5]]))
        array([[[ 2. , 10. ]],
        <BLANKLINE>
               [[ 0.5,  3.5]]])
        """
        n_components = self.conditional_means.shape[0]
        if scales is None:
            completed = np.broadcast_to(rows, (n_components, *rows.shape)).copy()
            means = self.conditional_means
        else:
            completed = np.empty((n_components, *rows.shape))  # C order, for the scatter
            np.multiply(rows, scales[:, :, np.newaxis], out=completed)
            means = self.conditional_means * scales[:, :, np.newaxis]
        # One flat index over every component: a scatter along one axis is the fastest.
        completed.reshape(-1)[(np.arange(n_components)[:, np.newaxis] * rows.size
                               + flat_positions(self.missing_index, rows.shape[1])).ravel()
                              ] = means.ravel()
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
                       means: np.ndarray, precisions: np.ndarray, log_det: np.ndarray,
                       inverses: MissingBlockInverses | None) -> BlockConditionals:
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
    inverses : MissingBlockInverses or None
        Those of the block's patterns (:func:`~bayesmix.pattern_inverses.group_inverses`);
        ``None`` for diagonal precisions.

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
    >>> from bayesmix.pattern_inverses import group_inverses
    >>> X = np.array([[2.0, np.nan]])
    >>> precision = np.linalg.inv([[1.0, 0.5], [0.5, 1.0]])[np.newaxis]
    >>> [(group, _, inverses)] = group_inverses(MissingPatterns(np.isnan(X)), precision)
    >>> result = block_conditionals(np.nan_to_num(X), group, slice(0, 1), np.zeros((1, 2)),
    ...                             precision, 0.5 * np.linalg.slogdet(precision)[1],
    ...                             inverses)
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
        # The block's patterns on a stack of the other branch's layout, (j, j, P, K).
        inverses = MissingBlockInverses(
            ((1.0 / missing_precisions)[..., np.newaxis]
             * np.eye(n_missing)).transpose(2, 3, 1, 0),
            np.log(missing_precisions).sum(axis=-1).T, first)
        row_slots = block_patterns
        conditional_means = means[:, missing_index]
    else:
        # The components on the last axis: every row-wise array below is (..., n_rows, K)
        # and contiguous, so that one product gives x Lambda_k of every component and
        # the pattern-wise blocks are gathered row by row in runs of K values.
        by_component = precisions.transpose(1, 2, 0).copy()  # (D, D, K)
        n_precisions = by_component.shape[-1]
        # d = x - mu_k at the fill value 0 of the missing coordinates: d^T Lambda d -
        # u^T inv(Lambda_MM) u and -inv(Lambda_MM) u do not depend on d_M, so x Lambda_k
        # needs no masking, and d^T Lambda d = x Lambda x - 2 x Lambda mu + mu Lambda mu.
        products = (rows @ by_component.reshape(n_features, -1)).reshape(
            -1, n_precisions)  # (n_rows * D, K)
        mean_products = (precisions @ means[..., np.newaxis])[..., 0].T  # (D, K)
        distances = (rows[:, np.newaxis, :] @ products.reshape(rows.shape[0], n_features, -1)
                     )[:, 0]  # x Lambda_k x, (n_rows, K): faster than an einsum
        distances = distances - 2.0 * (rows @ mean_products)
        distances += np.einsum("kd,dk->k", means, mean_products)
        # u = (Lambda_k d)_M, (n_missing, n_rows, K), gives the correction of the distance
        # and the conditional means.
        offsets = (products[flat_positions(missing_index, n_features).reshape(
            missing_index.shape).T] - mean_products[missing_index.T])
        stack = inverses.stack_slots(first, first + pattern_missing_index.shape[0])
        row_slots = (block_patterns + stack.start if isinstance(stack, slice)
                     else stack[block_patterns])
        corrections = np.einsum("ijnk,jnk->kni",
                                np.take(inverses.covariances, row_slots, axis=2),
                                offsets)  # (K, n_rows, j), as the conditional means are
        distances -= np.einsum("jnk,knj->nk", offsets, corrections)
        np.maximum(distances, 0.0, out=distances)  # rounding below zero, at a mean
        conditional_means = np.subtract(0.0, corrections, out=corrections)  # no -0.0
    distances += inverses.log_dets[row_slots]
    log_prob = np.multiply(distances, -0.5, out=distances)
    log_prob += log_det - 0.5 * (n_features - n_missing) * _LOG_2PI
    return BlockConditionals(log_prob, conditional_means, missing_index, block_patterns,
                             pattern_missing_index, inverses,
                             inverses.stack_slots(first, first + pattern_missing_index.shape[0]))
