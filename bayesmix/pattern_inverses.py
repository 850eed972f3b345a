"""The rows of a data set with missing values, with the inverses of their missing blocks.

:func:`group_inverses` walks the rows grouped by pattern (:class:`~bayesmix.patterns.
MissingPatterns`) a range of patterns at a time, with the inverses ``inv(Lambda_MM)``
those patterns need: bordered along the prefix tree of the patterns
(:mod:`bayesmix.prefix_tree`) where that pays, else eliminated pattern by pattern.
:func:`map_groups` runs a kernel over them on threads, each thread walking its own
share of the work (its inverses included) in one map a pass. The EM source for missing
values, the density kernels and imputation run on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import numpy as np

from bayesmix.patterns import MissingPatterns, PatternGroup
from bayesmix.prefix_tree import (
    ELIMINATION_ELEMENTS,
    INVERSE_CHUNK_ELEMENTS,
    MissingBlockInverses,
    cost_shares,
    invert_positive_definite,
    level_inverses,
)

__all__ = ["RangeMap", "group_inverses", "map_groups", "one_range"]

T = TypeVar("T")
#: ``map_ranges(function, n)``: ``function`` over slices covering ``0..n``, as
#: :meth:`bayesmix._parallel.RowThreads.map` runs them on threads.
RangeMap = Callable[[Callable[[slice], T], int], list[T]]


def one_range(function: Callable[[slice], T], n_items: int) -> list[T]:
    """``[function(slice(0, n_items))]``: the :data:`RangeMap` of a single thread.

    Examples
    --------
    >>> from bayesmix.pattern_inverses import one_range
    >>> one_range(lambda items: items.stop, 5)
    [5]
    """
    return [function(slice(0, n_items))]


def _share(items: int, share: int, n_shares: int) -> tuple[int, int]:
    """The ``share``-th of ``n_shares`` equal contiguous ranges of ``items``."""
    return items * share // n_shares, items * (share + 1) // n_shares


def group_inverses(patterns: MissingPatterns, precisions: np.ndarray, share: int = 0,
                   n_shares: int = 1, chunk_elements: int = INVERSE_CHUNK_ELEMENTS
                   ) -> Iterator[tuple[PatternGroup, slice, MissingBlockInverses | None]]:
    """A share of the rows of ``patterns``, a range of a group's patterns at a time, with
    the inverses of those patterns' missing blocks.

    Where :attr:`~bayesmix.patterns.MissingPatterns.bordering_pays`, the inverses are
    bordered along the prefix tree (:func:`~bayesmix.prefix_tree.level_inverses`, in
    lexicographic chunks of about ``chunk_elements``), each level's range of nodes giving
    the rows of the group of that size whose patterns it holds, and the shares are
    ranges of nodes of about equal work (:func:`~bayesmix.prefix_tree.cost_shares`); else
    each group's blocks are inverted on their own
    (:func:`~bayesmix.prefix_tree.invert_positive_definite`, in chunks of about
    :data:`~bayesmix.prefix_tree.ELIMINATION_ELEMENTS`), and the shares are equal ranges
    of each group's patterns. Diagonal precisions, (K, D), need no inverses: ``None`` for
    every range. The complete rows come in equal shares.

    Parameters
    ----------
    patterns : MissingPatterns
    precisions : ndarray of shape (K, D, D) or (K, D)
        As :func:`~bayesmix.patterns.component_precisions` gives them.
    share, n_shares : int, default=0 and 1
        Which of how many shares (threads) of the work.
    chunk_elements : int, default=INVERSE_CHUNK_ELEMENTS

    Yields
    ------
    group : PatternGroup
    positions : slice
        Positions of :attr:`~bayesmix.patterns.MissingPatterns.order` within ``group``,
        whole patterns.
    inverses : MissingBlockInverses or None
        Of those patterns (``first`` the first of them; for the complete rows, an
        empty block).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.patterns import MissingPatterns
    >>> from bayesmix.pattern_inverses import group_inverses
    >>> patterns = MissingPatterns(np.array([[False, True], [False, False]]))
    >>> [(group.n_missing, positions, inverses.covariances.shape)
    ...  for group, positions, inverses in group_inverses(patterns, np.eye(2)[np.newaxis])]
    [(0, slice(0, 1, None), (0, 0, 1, 1)), (1, slice(1, 2, None), (1, 1, 1, 1))]
    """
    n_precisions, n_features = precisions.shape[0], precisions.shape[-1]
    for group in patterns.groups:
        if group.n_missing == 0 or precisions.ndim == 2:
            start, stop = _share(group.positions.stop - group.positions.start, share,
                                 n_shares)
            yield group, slice(group.positions.start + start, group.positions.start + stop), (
                None if precisions.ndim == 2 else MissingBlockInverses(
                    np.zeros((0, 0, 1, n_precisions)), np.zeros((1, n_precisions)), 0))
    if precisions.ndim == 2 or not patterns.levels:
        return
    if patterns.bordering_pays:
        groups = {group.n_missing: group for group in patterns.groups}
        ranks = cost_shares(patterns.node_costs, n_shares)[share:share + 2]
        for size, inverses, first, stop in level_inverses(
                patterns.levels, precisions, (int(ranks[0]), int(ranks[1])), chunk_elements):
            group = groups.get(size)
            if group is None:
                continue
            start, end = (int(bound) for bound in np.searchsorted(group.nodes, (first, stop)))
            if end > start:
                yield group, group.rows_of(start, end), MissingBlockInverses(
                    inverses.covariances, inverses.log_dets, start,
                    group.nodes[start:end] - inverses.first)
        return
    by_component = np.ascontiguousarray(np.moveaxis(precisions, 0, -1)).reshape(
        -1, n_precisions)
    for group in patterns.groups[1 if patterns.groups[0].n_missing == 0 else 0:]:
        size = group.n_missing
        # Chunks of about 2 MiB of blocks, which stay in the cache through the pivots.
        per_chunk = max(1, min(chunk_elements, ELIMINATION_ELEMENTS)
                        // (size * size * n_precisions))
        mine = _share(group.missing_index.shape[0], share, n_shares)
        for start in range(mine[0], mine[1], per_chunk):
            end = min(start + per_chunk, mine[1])
            index = group.missing_index[start:end].T
            yield group, group.rows_of(start, end), MissingBlockInverses(
                *invert_positive_definite(by_component[index[:, np.newaxis] * n_features
                                                       + index[np.newaxis]]), start)


def map_groups(patterns: MissingPatterns, precisions: np.ndarray,
               function: Callable[[PatternGroup, slice, MissingBlockInverses | None], T],
               map_ranges: RangeMap | None = None, n_shares: int = 1) -> list[T]:
    """``function(group, positions, inverses)`` over every range of :func:`group_inverses`, in
    ``n_shares`` shares run by ``map_ranges`` (threads).

    Each thread walks its own share from the start (its inverses included): one call of
    ``map_ranges`` a pass, whose threads never wait for each other.

    Parameters
    ----------
    patterns : MissingPatterns
    precisions : ndarray of shape (K, D, D) or (K, D)
    function : callable
        Called with a group, a slice of positions within it, and their inverses.
    map_ranges : callable, optional
        ``map_ranges(function, n)`` is ``[function(range) for range in ranges]``, the
        ranges covering ``0..n`` (:meth:`bayesmix._parallel.RowThreads.map`); by
        default one range.
    n_shares : int, default=1
        How many ranges ``map_ranges`` makes (its threads).

    Returns
    -------
    list
        The results, share by share.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.patterns import MissingPatterns
    >>> from bayesmix.pattern_inverses import map_groups
    >>> patterns = MissingPatterns(np.array([[False, True], [False, False], [False, True]]))
    >>> map_groups(patterns, np.eye(2)[np.newaxis], lambda group, positions, inverses: positions)
    [slice(0, 1, None), slice(1, 3, None)]
    """
    map_ranges = map_ranges or one_range

    def run(shares: slice) -> list[T]:
        return [function(group, positions, inverses)
                for share in range(shares.start, shares.stop)
                for group, positions, inverses in group_inverses(patterns, precisions, share,
                                                                 n_shares)]

    return [result for results in map_ranges(run, n_shares) for result in results]
