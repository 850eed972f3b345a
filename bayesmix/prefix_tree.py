"""The inverses of the missing blocks of precision matrices, bordered along a prefix tree.

Scoring a row with missing coordinates ``M`` under a Gaussian of precision ``Lambda``
needs ``inv(Lambda_MM)`` and ``log|Lambda_MM|`` (:mod:`bayesmix.patterns`), once per
pattern and component. The missing coordinates of a pattern, ascending, extend those of
a shorter prefix by one coordinate, so that each inverse is its prefix's grown by a row
and a column (bordering: ``O(j^2)`` work instead of the ``O(j^3)`` of an inversion), and
the prefixes of the patterns form a tree (:class:`PrefixLevel`, from
:func:`prefix_levels`) little larger than the patterns themselves: with 16 columns and
30 % of the values missing, about 39,000 nodes for 35,600 patterns.

:func:`level_inverses` borders the levels of the tree from size 1, walking it in
lexicographic chunks of nodes so that the memory held stays bounded whatever the number
of patterns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["ELIMINATION_ELEMENTS", "INVERSE_CHUNK_ELEMENTS", "INVERSION_BATCH",
           "MissingBlockInverses", "PrefixLevel", "invert_positive_definite",
           "level_inverses", "node_coordinates", "prefix_levels",
           "cost_shares"]



@dataclass(frozen=True)
class PrefixLevel:
    """The sets of ``j`` missing coordinates that begin a pattern's: one level of the
    tree along which :func:`level_inverses` borders the inverses.

    Attributes
    ----------
    last : ndarray of shape (n_nodes,)
        Each node's last (largest) coordinate; the others are its parent's (a node is
        the first ``j`` missing coordinates of some pattern, the pattern itself when it
        misses ``j``). Only these are stored: a tree of unique patterns has about ``j``
        nodes per pattern (:func:`node_coordinates` gives them all).
    parents : ndarray of shape (n_nodes,)
        The node of the level below made of the first ``j - 1`` coordinates (0 when
        ``j`` is 1).
    rank : ndarray of shape (n_nodes,)
        Each node's place in the lexicographic order of the nodes of every level (a
        depth-first walk of the tree), ascending: the nodes are in that order.

    Examples
    --------
    Two patterns, missing columns 0 and 2, and 1 and 2:

    >>> import numpy as np
    >>> from bayesmix.prefix_tree import prefix_levels
    >>> levels, _ = prefix_levels([np.array([[0, 2], [1, 2]])], 3)
    >>> [(level.last.tolist(), level.parents.tolist(), level.rank.tolist())
    ...  for level in levels]
    [([0, 1], [0, 0], [0, 2]), ([2, 2], [0, 1], [1, 3])]
    """

    last: np.ndarray
    parents: np.ndarray
    rank: np.ndarray


def prefix_levels(indexes: list[np.ndarray], n_features: int
                  ) -> tuple[list[PrefixLevel], list[np.ndarray]]:
    """The prefix tree of patterns, and each pattern's node in the level of its size.

    Parameters
    ----------
    indexes : list of ndarray of shape (n_patterns, j)
        The missing columns of the patterns (ascending), one array per number missing.
    n_features : int

    Returns
    -------
    levels : list of PrefixLevel
        By size from 1 (empty when nothing is missing).
    nodes : list of ndarray of shape (n_patterns,)
        Each pattern's node in ``levels[j - 1]``, array by array (0 for ``j = 0``).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.prefix_tree import prefix_levels
    >>> levels, nodes = prefix_levels([np.array([[1], [0]]), np.array([[0, 2]])], 3)
    >>> [level.last.tolist() for level in levels], nodes
    ([[0, 1], [2]], [array([1, 0]), array([0])])
    """
    nodes = [np.zeros(index.shape[0], dtype=np.intp) for index in indexes]
    tree: list[tuple[np.ndarray, np.ndarray]] = []
    for size in range(1, max(index.shape[1] for index in indexes) + 1):
        longer = [number for number, index in enumerate(indexes) if index.shape[1] >= size]
        # A prefix is its shorter prefix's node and one more coordinate: ordered by both,
        # the nodes are in lexicographic order, as their parents are.
        keys = np.concatenate([nodes[number] * n_features + indexes[number][:, size - 1]
                               for number in longer])
        unique, node_of_key = np.unique(keys, return_inverse=True)
        parents, last = np.divmod(unique, n_features)
        tree.append((last, parents))
        bounds = np.cumsum([0] + [indexes[number].shape[0] for number in longer])
        for number, start, stop in zip(longer, bounds[:-1], bounds[1:]):
            nodes[number] = node_of_key.ravel()[start:stop]
    # The lexicographic order is a depth-first walk: a node's rank is its parent's, plus
    # one, plus the sizes of the subtrees of its siblings before it.
    subtree = [np.ones(last.size, dtype=np.intp) for last, _ in tree]
    for size in range(len(tree) - 1, 0, -1):
        subtree[size - 1] += np.bincount(tree[size][1], weights=subtree[size],
                                         minlength=subtree[size - 1].size).astype(np.intp)
    levels: list[PrefixLevel] = []
    for (last, parents), sizes in zip(tree, subtree):
        before = np.cumsum(sizes) - sizes
        if levels:
            siblings_start = np.searchsorted(parents, parents)
            rank = levels[-1].rank[parents] + 1 + before - before[siblings_start]
        else:
            rank = before
        levels.append(PrefixLevel(last, parents, rank))
    return levels, nodes


def node_coordinates(levels: list[PrefixLevel], size: int, nodes: np.ndarray
                     ) -> np.ndarray:
    """The missing coordinates of ``nodes`` of ``levels[size - 1]``, (size, n_nodes).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.prefix_tree import node_coordinates, prefix_levels
    >>> levels, _ = prefix_levels([np.array([[0, 2], [1, 2]])], 3)
    >>> node_coordinates(levels, 2, np.array([1]))
    array([[1],
           [2]])
    """
    coordinates = np.empty((size, nodes.size), dtype=np.intp)
    for depth in range(size, 0, -1):
        coordinates[depth - 1] = levels[depth - 1].last[nodes]
        nodes = levels[depth - 1].parents[nodes]
    return coordinates


@dataclass(frozen=True)
class MissingBlockInverses:
    """``inv(Lambda_MM)`` and ``log|Lambda_MM|`` of a range of nodes of one
    :class:`PrefixLevel`, or of patterns (one component's when the components share
    their covariance).

    Attributes
    ----------
    covariances : ndarray of shape (j, j, n_blocks, K)
        ``Cov[x_M | x_O, k]`` of the coordinates ``M`` of node (or pattern) ``first + p``
        is ``covariances[:, :, p, k]`` (the stack on the trailing axes, so that each
        step of the bordering or of the elimination is a few operations on contiguous
        vectors).
    log_dets : ndarray of shape (n_blocks, K)
    first : int
    slots : ndarray of shape (n_patterns,), optional
        Where on the stack pattern ``first + p`` sits, when the stack holds more than the
        patterns (the nodes of a level of the prefix tree, some of which are only
        prefixes); by default pattern ``first + p`` sits at ``p``.

    Examples
    --------
    The inverse of ``[[2, 1], [1, 2]]``, a pattern missing two columns:

    >>> import numpy as np
    >>> from bayesmix.prefix_tree import level_inverses, prefix_levels
    >>> levels, nodes = prefix_levels([np.array([[0, 1]])], 2)
    >>> precision = np.array([[[2.0, 1.0], [1.0, 2.0]]])
    >>> *_, (size, inverses, first, stop) = level_inverses(levels, precision)
    >>> slot = nodes[0][0] - inverses.first
    >>> inverses.covariances[:, :, slot, 0] * 3, inverses.log_dets[slot].round(6)
    (array([[ 2., -1.],
           [-1.,  2.]]), array([1.098612]))
    """

    covariances: np.ndarray
    log_dets: np.ndarray
    first: int
    slots: np.ndarray | None = None

    def stack_slots(self, first: int, stop: int) -> slice | np.ndarray:
        """Where patterns ``first`` to ``stop`` sit on the stack: a slice, or an index.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.prefix_tree import MissingBlockInverses
        >>> stack = np.zeros((1, 1, 4, 1))
        >>> MissingBlockInverses(stack, np.zeros((4, 1)), 10).stack_slots(11, 13)
        slice(1, 3, None)
        >>> MissingBlockInverses(stack, np.zeros((4, 1)), 10, np.array([0, 2, 3])
        ...                      ).stack_slots(11, 13)
        array([2, 3])
        """
        if self.slots is None:
            return slice(first - self.first, stop - self.first)
        return self.slots[first - self.first:stop - self.first]


#: Float64 elements of the inverses bordered at a time (about 64 MiB): the tree is
#: walked in lexicographic chunks of nodes of about this size, whatever the number of
#: patterns.
INVERSE_CHUNK_ELEMENTS = 1 << 23


#: Matrices eliminated together by :func:`invert_positive_definite`: larger stacks fall
#: out of the cache and run slower.
INVERSION_BATCH = 4096
#: Float64 elements of the blocks a caller hands :func:`invert_positive_definite` at a
#: time (about 2 MiB).
ELIMINATION_ELEMENTS = 1 << 18


def invert_positive_definite(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverses and log-determinants of a stack of symmetric positive definite matrices.

    Gauss-Jordan elimination without pivoting (stable for positive definite matrices,
    whose pivots are positive Schur complements), vectorised over the stack: for the
    small blocks of missing coordinates, a loop over the ``j`` pivots of whole-stack
    operations is several times faster than LAPACK called once per matrix. The stack
    runs along the trailing axes, so that each pivot step is a few operations on
    contiguous vectors. The inverses of patterns whose prefixes are not shared (where
    bordering pays nothing) are made so (:func:`bayesmix.pattern_inverses.group_inverses`).

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
    >>> from bayesmix.prefix_tree import invert_positive_definite
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
    for start in range(0, n_matrices, INVERSION_BATCH):
        part = stack[..., start:start + INVERSION_BATCH]
        update = np.empty_like(part)
        for pivot in range(size):
            pivots[pivot, start:start + INVERSION_BATCH] = part[pivot, pivot]
            inverse_pivot = 1.0 / part[pivot, pivot]
            column = part[:, pivot].copy()
            column[pivot] = 0.0
            part[pivot] *= inverse_pivot
            np.multiply(column[:, np.newaxis], part[pivot], out=update)
            part -= update
            np.multiply(column, -inverse_pivot, out=part[:, pivot])
            part[pivot, pivot] = inverse_pivot
    return stack.reshape(size, size, *batch), np.log(pivots).sum(axis=0).reshape(batch)


def _border_level(levels: list[PrefixLevel], size: int, below: MissingBlockInverses | None,
                  by_component: np.ndarray, n_features: int, out: MissingBlockInverses,
                  nodes: slice) -> None:
    """Fill ``out`` at ``nodes`` (counted from its node ``first + 1``) of
    ``levels[size - 1]`` from the inverses of the level below, which hold the nodes'
    parents.

    With ``Lambda_MM = [[A, b], [b', a]]`` and ``inv(A)`` known, ``s = a - b' inv(A) b``
    (a positive Schur complement) and ``g = inv(A) b`` give ``inv(Lambda_MM) = [[inv(A) +
    g g' / s, -g / s], [-g' / s, 1 / s]]`` and ``log|Lambda_MM| = log|A| + log s``.
    ``by_component`` holds the precisions, (D * D, K).
    """
    first = out.first + 1
    level = levels[size - 1]
    coordinates = node_coordinates(levels, size, np.arange(first + nodes.start,
                                                           first + nodes.stop))
    slots = slice(1 + nodes.start, 1 + nodes.stop)
    last = coordinates[-1]
    diagonal = by_component[last * (n_features + 1)]  # (n_nodes, K)
    if below is None:
        np.divide(1.0, diagonal, out=out.covariances[0, 0, slots])
        np.log(diagonal, out=out.log_dets[slots])
        return
    parents = level.parents[first + nodes.start:first + nodes.stop] - below.first
    inverse = np.take(below.covariances, parents, axis=2)
    border = by_component[coordinates[:-1] * n_features + last]  # (j - 1, n_nodes, K)
    scaled = np.einsum("ijnk,jnk->ink", inverse, border)
    schur = diagonal - np.einsum("ink,ink->nk", border, scaled)
    shrunk = scaled / schur
    corner = out.covariances[:size - 1, :size - 1, slots]
    np.multiply(scaled[:, np.newaxis], shrunk[np.newaxis], out=corner)
    corner += inverse
    np.negative(shrunk, out=out.covariances[:size - 1, size - 1, slots])
    np.negative(shrunk, out=out.covariances[size - 1, :size - 1, slots])
    np.divide(1.0, schur, out=out.covariances[size - 1, size - 1, slots])
    np.log(schur, out=out.log_dets[slots])
    out.log_dets[slots] += below.log_dets[parents]


def _chunk_bounds(levels: list[PrefixLevel], n_precisions: int, chunk_elements: int,
                  ranks: tuple[int, int]) -> np.ndarray:
    """Ranks cutting ``ranks`` of the lexicographic order of the nodes into chunks of
    about ``chunk_elements`` elements of inverses."""
    elements = np.empty(sum(level.rank.size for level in levels))
    for size, level in enumerate(levels, start=1):
        elements[level.rank] = size * size * n_precisions
    cumulative = np.cumsum(elements[ranks[0]:ranks[1]])
    if cumulative.size == 0:
        return np.array(ranks)
    cuts = np.searchsorted(cumulative, np.arange(chunk_elements, cumulative[-1],
                                                 chunk_elements), side="right")
    return np.unique(np.concatenate(([0], cuts, [cumulative.size]))) + ranks[0]


def cost_shares(costs: np.ndarray, n_shares: int) -> np.ndarray:
    """Ranks cutting the lexicographic order of the nodes into ``n_shares`` ranges of
    about equal ``costs``: each range is bordered on its own (:func:`level_inverses`,
    on a thread), from the inverses of the ancestors of its first node.

    Parameters
    ----------
    costs : ndarray of shape (n_nodes,)
        The work of each node, by rank.
    n_shares : int

    Returns
    -------
    ndarray of shape (n_shares + 1,)
        Ascending, from 0 to the number of nodes (a share may be empty).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.prefix_tree import cost_shares
    >>> cost_shares(np.array([3.0, 1.0, 1.0, 1.0]), 2)
    array([0, 1, 4])
    """
    before = np.concatenate(([0.0], np.cumsum(costs)))
    targets = before[-1] * np.arange(1, n_shares) / n_shares
    cuts = np.searchsorted(before, targets)
    # The nearer of the two ranks around each target.
    cuts -= (cuts > 0) & (targets - before[np.maximum(cuts - 1, 0)] < before[cuts] - targets)
    return np.concatenate(([0], np.maximum.accumulate(cuts), [costs.size]))


def _ancestors(levels: list[PrefixLevel], rank: int, by_component: np.ndarray,
               n_features: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The inverses of the ancestors of the node of ``rank``, by size: the parents from
    before it of the nodes from it on (bordered along the chain from its root)."""
    firsts = [int(np.searchsorted(level.rank, rank)) for level in levels]
    depth = next((size for size, (level, first) in enumerate(zip(levels, firsts), start=1)
                  if first < level.rank.size and level.rank[first] == rank), 1)
    chain, ancestors, below = {}, [], None
    node = firsts[depth - 1]
    for size in range(depth - 1, 0, -1):  # ancestors of the node, from its parent up
        node = int(levels[size].parents[node])
        ancestors.insert(0, node)
    for size, node in enumerate(ancestors, start=1):
        inverses = MissingBlockInverses(np.empty((size, size, 2, by_component.shape[1])),
                                        np.empty((2, by_component.shape[1])), node - 1)
        _border_level(levels, size, below, by_component, n_features, inverses, slice(0, 1))
        chain[size] = (inverses.covariances[:, :, 1], inverses.log_dets[1])
        below = inverses
    return chain


def level_inverses(levels: list[PrefixLevel], precisions: np.ndarray,
                   ranks: tuple[int, int] | None = None,
                   chunk_elements: int = INVERSE_CHUNK_ELEMENTS
                   ) -> Iterator[tuple[int, MissingBlockInverses, int, int]]:
    """The inverses of the missing blocks of every node of ``levels``, range by range.

    The levels are bordered from size 1 (``_border_level``), in chunks of nodes in
    lexicographic order (a depth-first walk) of about ``chunk_elements`` elements, of
    which at most two levels are held: the nodes of a chunk whose parent lies before it
    have the same parent, the last node of the level below in the chunks before, whose
    inverse is carried over (for the first chunk of ``ranks``, the inverses of the
    ancestors of its first node, bordered from their root). ``ranks`` restricts the walk
    to a range of the nodes (:func:`cost_shares`: a thread's share).

    Parameters
    ----------
    levels : list of PrefixLevel
    precisions : ndarray of shape (K, D, D)
        One component's when the components share their covariance.
    ranks : (int, int), optional
        Every node by default.
    chunk_elements : int, default=INVERSE_CHUNK_ELEMENTS

    Yields
    ------
    size : int
        The level's ``j``.
    inverses : MissingBlockInverses
        Of nodes ``first`` to ``stop`` (and of node ``first - 1``, from an earlier chunk).
    first, stop : int

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.prefix_tree import level_inverses, prefix_levels
    >>> levels, _ = prefix_levels([np.array([[0], [1]]), np.array([[0, 1]])], 2)
    >>> precision = np.array([[[2.0, 1.0], [1.0, 2.0]]])
    >>> [(size, first, stop, inverses.log_dets[1:].round(4).ravel().tolist())
    ...  for size, inverses, first, stop in level_inverses(levels, precision)]
    [(1, 0, 2, [0.6931, 0.6931]), (2, 0, 1, [1.0986])]
    """
    if not levels:
        return
    n_precisions, n_features = precisions.shape[0], precisions.shape[-1]
    by_component = np.ascontiguousarray(np.moveaxis(precisions, 0, -1)).reshape(
        -1, n_precisions)
    ranks = ranks or (0, sum(level.rank.size for level in levels))
    carried = _ancestors(levels, ranks[0], by_component, n_features)
    bounds = _chunk_bounds(levels, n_precisions, chunk_elements, ranks)
    for chunk in zip(bounds[:-1], bounds[1:]):
        below = None
        for size, level in enumerate(levels, start=1):
            first, stop = (int(bound) for bound in np.searchsorted(level.rank, chunk))
            # Slot 0 holds node first - 1, the parent from an earlier chunk.
            inverses = MissingBlockInverses(
                np.empty((size, size, stop - first + 1, n_precisions)),
                np.empty((stop - first + 1, n_precisions)), first - 1)
            if size in carried:
                inverses.covariances[:, :, 0], inverses.log_dets[0] = carried[size]
            if stop > first:
                _border_level(levels, size, below, by_component, n_features, inverses,
                              slice(0, stop - first))
                carried[size] = (inverses.covariances[:, :, -1].copy(),
                                 inverses.log_dets[-1].copy())
                yield size, inverses, first, stop
            below = inverses
