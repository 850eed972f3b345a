"""The EM data source for rows with missing values (NaN).

EM was made for missing data (Dempster, Laird and Rubin 1977; for Gaussian mixtures
Ghahramani and Jordan 1994): the E step scores each row on its observed coordinates
(the marginal of each component's Gaussian) and completes the sufficient statistics
with the missing coordinates' conditional moments given the observed ones,

- ``E[x_M | x_O, k]`` in the sums and second moments in place of the missing values,
- plus ``Cov[x_M | x_O, k]`` on the missing block of the second moments,

each weighted by the row's responsibility for component ``k``. The M step of every
covariance structure is then the complete-data one on these statistics. The structures
that read the total scatter (``tied``, EII, EEI) get it from the E step too
(:attr:`~bayesmix.em.statistics.SufficientStatistics.total_scatter`, the sum of the
completed per-component second moments): with missing values it changes from one
iteration to the next. The rows are grouped once by missingness pattern
(:class:`~bayesmix.patterns.MissingPatterns`); every pass inverts the missing block of
each component's precision once per pattern (:mod:`bayesmix.patterns`) and splits each
group of patterns evenly between the threads.

:class:`MissingValuesSource` implements the data-source protocol of
:mod:`bayesmix.em.sources`. :func:`memory_source` is how an estimator's ``fit`` picks
it: only when the data hold a NaN, so that complete data run the unchanged
:class:`~bayesmix.em.sources.InMemorySource`, bit for bit. The source keeps a float64
copy of the rows, centred and sorted by pattern, which the passes read (in float64
whatever the rows' precision; the fitted parameters are returned in it). Its length
(about 530 lines, half of them docstrings) is that of one data source.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from bayesmix._parallel import RowThreads
from bayesmix.covariance.base import CovarianceStructure
from bayesmix.density import row_chunks
from bayesmix.em.sources import (
    InMemorySource,
    RowsInMemory,
    e_step_constants,
    fold_log_densities,
    scatter_matrix,
)
from bayesmix.em.statistics import SufficientStatistics
from bayesmix.patterns import (
    BlockConditionals,
    MissingPatterns,
    PatternGroup,
    block_conditionals,
    component_precisions,
    has_missing,
    missing_pairs,
)
from bayesmix.pattern_inverses import RangeMap, map_groups
from bayesmix.prefix_tree import MissingBlockInverses

__all__ = ["MissingValuesSource", "add_completed_block", "add_conditional_covariances",
           "contains_missing", "memory_source", "missing_statistics",
           "observed_data_covariance", "observed_means", "sort_by_pattern"]


def contains_missing(X: Any) -> bool:
    """Whether an array-like or DataFrame holds a missing value (NaN, None, pandas' NA or
    a masked entry).

    Anything that is not numbers gives ``False``: validation then says what is wrong.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.missing_source import contains_missing
    >>> contains_missing([[1.0, None]]), contains_missing(np.ones((2, 2)))
    (True, False)
    """
    if isinstance(X, pd.DataFrame):
        return bool(X.isna().to_numpy().any())
    if np.ma.is_masked(X):
        return True
    try:
        values = np.asarray(X)
        if values.dtype.kind == "O":
            values = values.astype(np.float64)
    except (TypeError, ValueError):
        return False
    return has_missing(values)


def memory_source(X: Any, sample_weight: Any = None) -> InMemorySource | MissingValuesSource:
    """The source over rows in memory: :class:`MissingValuesSource` if ``X`` has a NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.missing_source import memory_source
    >>> type(memory_source(np.array([[0.0, 1.0], [2.0, np.nan]]))).__name__
    'MissingValuesSource'
    >>> type(memory_source(np.array([[0.0, 1.0], [2.0, 3.0]]))).__name__
    'InMemorySource'
    """
    if contains_missing(X):
        return MissingValuesSource(X, sample_weight)
    return InMemorySource(X, sample_weight)


def observed_means(observed_sums: np.ndarray, observed_weight: np.ndarray) -> np.ndarray:
    """Each column's weighted mean over its observed values, the missing-value sources'
    ``shift``; a column observed on no row of positive weight is refused.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.missing_source import observed_means
    >>> observed_means(np.array([4.0, 3.0]), np.array([2.0, 3.0]))
    array([2., 1.])
    """
    unobserved = np.flatnonzero(observed_weight <= 0)
    if unobserved.size:
        raise ValueError(
            f"sample_weight is zero on every row where column {int(unobserved[0])} of X "
            f"is observed, so nothing is known of it. Give some of those rows a "
            f"positive weight or drop the column."
        )
    return observed_sums / observed_weight


def observed_data_covariance(variances: np.ndarray, filled_covariance: np.ndarray,
                             full: bool) -> np.ndarray:
    """The data's covariance for diagnostics from rows with missing values.

    ``variances`` are those of each column's observed values, ``filled_covariance`` the
    covariance of the rows with their missing values replaced by the column means. The
    variances alone when not ``full``; else the filled rows' correlations (shrunk towards
    0, but positive semi-definite) scaled to these variances.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.missing_source import observed_data_covariance
    >>> observed_data_covariance(np.array([4.0, 1.0]), np.array([[1.0, 0.5], [0.5, 1.0]]),
    ...                          full=True)
    array([[4., 1.],
           [1., 1.]])
    """
    if not full:
        return variances
    spread = np.sqrt(np.diagonal(filled_covariance))
    scale = np.divide(np.sqrt(variances), spread, out=np.zeros_like(spread),
                      where=spread > 0)
    return filled_covariance * np.outer(scale, scale)


def sort_by_pattern(X: np.ndarray, missing: np.ndarray, shift: np.ndarray
                    ) -> tuple[MissingPatterns, np.ndarray]:
    """The rows grouped by missingness pattern, and the rows in that order, centred by
    ``shift`` and 0 where missing (float64): what :func:`missing_statistics` reads.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.missing_source import sort_by_pattern
    >>> X = np.array([[1.0, np.nan], [3.0, 4.0]])
    >>> patterns, rows = sort_by_pattern(X, np.isnan(X), np.array([2.0, 4.0]))
    >>> patterns.order, rows
    (array([1, 0]), array([[ 1.,  0.],
           [-1.,  0.]]))
    """
    patterns = MissingPatterns(missing)
    order = patterns.order
    rows = X[order] - shift
    rows[missing[order]] = 0.0
    return patterns, rows


def add_completed_block(stats: SufficientStatistics, rows: np.ndarray, resp: np.ndarray,
                        conditionals: BlockConditionals, kind: str | None) -> None:
    """Fold a block of rows, completed by their conditional means, into ``stats``.

    ``rows`` are centred, with 0 at the missing coordinates; ``resp`` the row-weighted
    responsibilities; ``kind`` the structure's ``second_moments`` (``None``: the total
    scatter, ``stats.total_scatter``, is completed instead). The conditional covariances
    are added pattern by pattern (:func:`add_conditional_covariances`).

    Examples
    --------
    One row missing its second value, whose conditional mean is 1: the second moments
    are those of ``(2, 1)``.

    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.missing_source import add_completed_block
    >>> from bayesmix.em.statistics import SufficientStatistics
    >>> from bayesmix.patterns import MissingPatterns, block_conditionals
    >>> from bayesmix.pattern_inverses import group_inverses
    >>> X = np.array([[2.0, np.nan]])
    >>> precision = np.linalg.inv([[1.0, 0.5], [0.5, 1.0]])[np.newaxis]
    >>> [(group, _, inverses)] = group_inverses(MissingPatterns(np.isnan(X)), precision)
    >>> conditionals = block_conditionals(np.nan_to_num(X), group, slice(0, 1),
    ...                                   np.zeros((1, 2)), precision, np.zeros(1), inverses)
    >>> stats = SufficientStatistics.zeros(1, 2, get_structure("full"))
    >>> add_completed_block(stats, np.nan_to_num(X), np.ones((1, 1)), conditionals, "matrix")
    >>> stats.sums, stats.second_moments
    (array([[2., 1.]]), array([[[4., 2.],
            [2., 1.]]]))
    """
    if conditionals.pattern_missing_index.shape[1] == 0:  # complete rows
        stats.add_block(rows, resp)
        if kind is None:  # sum_k r_nk = w_n
            stats.total_scatter += (rows * resp.sum(axis=1)[:, np.newaxis]).T @ rows
        return
    n_features = rows.shape[1]
    stats.counts += np.ones(resp.shape[0]) @ resp
    # The completed rows times the square roots of the responsibilities, one array for
    # the sums and the second moments (r x x' = (sqrt(r) x)(sqrt(r) x)').
    root_resp = np.sqrt(resp.T)
    scaled = conditionals.completed_rows(rows, root_resp)  # (K, n_rows, D)
    stats.sums += (root_resp[:, np.newaxis, :] @ scaled)[:, 0]
    if kind == "matrix":
        stats.second_moments += np.swapaxes(scaled, 1, 2) @ scaled
    elif kind == "diagonal":
        stats.second_moments += np.einsum("knd,knd->kd", scaled, scaled)
    else:
        flat = scaled.reshape(-1, n_features)
        stats.total_scatter += flat.T @ flat


#: Elements of the conditional covariances scattered at a time (2 MiB of float64).
SCATTER_ELEMENTS = 1 << 18


def add_conditional_covariances(stats: SufficientStatistics, group: PatternGroup,
                                first: int, pattern_counts: np.ndarray, kind: str | None,
                                inverses: MissingBlockInverses | None,
                                precisions: np.ndarray) -> None:
    """Add each pattern's conditional covariances, weighted by its rows'
    responsibilities, on its missing block of the second moments (or of the total
    scatter when ``kind`` is ``None``).

    Parameters
    ----------
    stats : SufficientStatistics
    group : PatternGroup
    first : int
        The first of the group's patterns, counted by ``pattern_counts``.
    pattern_counts : ndarray of shape (n_patterns, K)
        The responsibilities summed over the rows of each of patterns ``first`` to
        ``first + n_patterns`` (:meth:`~bayesmix.patterns.PatternGroup.pattern_indicator`).
    kind : {"matrix", "diagonal"} or None
        The structure's ``second_moments``.
    inverses : MissingBlockInverses or None
        Those of the patterns; ``None`` for diagonal ``precisions`` (K, D), under which
        the missing coordinates are independent, with variances ``1 / precisions``.
    precisions : ndarray

    Examples
    --------
    One pattern missing its second coordinate, with conditional variance 0.75, whose
    rows' responsibilities sum to 2:

    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.missing_source import add_conditional_covariances
    >>> from bayesmix.em.statistics import SufficientStatistics
    >>> from bayesmix.patterns import MissingPatterns
    >>> from bayesmix.prefix_tree import MissingBlockInverses
    >>> group = MissingPatterns(np.array([[False, True]])).groups[0]
    >>> inverses = MissingBlockInverses(np.full((1, 1, 1, 1), 0.75), np.zeros((1, 1)), 0)
    >>> stats = SufficientStatistics.zeros(1, 2, get_structure("full"))
    >>> add_conditional_covariances(stats, group, 0, np.array([[2.0]]), "matrix", inverses,
    ...                             None)
    >>> stats.second_moments
    array([[[0. , 0. ],
            [0. , 1.5]]])
    """
    n_components, n_features = stats.sums.shape
    n_patterns = pattern_counts.shape[0]
    n_missing = group.n_missing
    if inverses is None:  # diagonal: each missing coordinate's variance, weighted
        missing = np.zeros((n_patterns, n_features))
        missing[np.arange(n_patterns)[:, np.newaxis],
                group.missing_index[first:first + n_patterns]] = 1.0
        variances = (pattern_counts.T @ missing) / precisions  # (K, D)
        if kind is None:
            stats.total_scatter[np.diag_indices(n_features)] += variances.sum(axis=0)
        else:  # the axis-aligned structures keep diagonal second moments
            stats.second_moments += variances
        return
    # The pairs i <= j of missing coordinates (the blocks are symmetric), the components
    # on the last axis as the covariances hold them, added to their cells by a product
    # with a one-hot sparse matrix (made once per chunk of patterns and kept), a chunk
    # of patterns at a time: temporaries of a few MiB, which the threads' allocators
    # keep (larger ones go back to the system, and cost page faults at every pass).
    diagonal = kind == "diagonal"
    rows, columns = missing_pairs(n_missing, diagonal)
    stack = inverses.covariances
    by_pair = stack.reshape(-1, stack.shape[3])  # (j * j * slots, K)
    pair_rows = (rows * n_missing + columns)[:, np.newaxis] * stack.shape[2]
    slots = inverses.stack_slots(first, first + n_patterns)
    if isinstance(slots, slice):
        slots = np.arange(slots.start, slots.stop)
    upper = np.zeros((n_features**2, 1 if kind is None else n_components))
    step = max(1, SCATTER_ELEMENTS // (rows.size * n_components))
    for start in range(0, n_patterns, step):
        chunk = slice(start, min(start + step, n_patterns))
        values = by_pair[pair_rows + slots[chunk]] * pattern_counts[chunk]  # (pairs, P, K)
        if kind is None:
            values = values.sum(axis=-1, keepdims=True)
        upper += group.pair_cells(first + chunk.start, first + chunk.stop, diagonal,
                                  n_features) @ values.reshape(-1, values.shape[-1])
    upper = upper.reshape(n_features, n_features, -1)
    if kind == "diagonal":
        stats.second_moments += np.diagonal(upper)
        return
    symmetric = upper + upper.transpose(1, 0, 2)
    symmetric[np.arange(n_features), np.arange(n_features)] = np.diagonal(upper).T
    if kind == "matrix":
        stats.second_moments += np.moveaxis(symmetric, -1, 0)
    else:
        stats.total_scatter += symmetric[..., 0]


def missing_statistics(
    rows: np.ndarray,
    patterns: MissingPatterns,
    row_weights: np.ndarray | None,
    structure: CovarianceStructure,
    log_weights: np.ndarray,
    means: np.ndarray,
    precisions: np.ndarray,
    log_det: np.ndarray,
    labels: np.ndarray | None = None,
    map_ranges: RangeMap | None = None,
    n_shares: int = 1,
) -> SufficientStatistics:
    """The E step over rows with missing values, folded into statistics.

    The kernel the missing-value sources run over their rows (all of them in memory,
    on threads; a Dask chunk's): ``rows`` and ``row_weights`` (``None``: unit weights)
    are in the pattern order of ``patterns`` (:func:`sort_by_pattern`), ``precisions``
    those of :func:`~bayesmix.patterns.component_precisions`; the work is split in
    ``n_shares`` shares run by ``map_ranges`` (:func:`~bayesmix.pattern_inverses.map_groups`:
    threads, by default one). ``labels``,
    when given, receives the most likely component of each row, at its original index.
    The structures that read the total scatter get it completed in ``total_scatter``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.missing_source import missing_statistics, sort_by_pattern
    >>> X = np.array([[-1.0, -1.0], [1.0, np.nan]])
    >>> patterns, rows = sort_by_pattern(X, np.isnan(X), np.array([0.0, -1.0]))
    >>> stats = missing_statistics(rows, patterns, None, get_structure("full"), np.zeros(1),
    ...                            np.zeros((1, 2)), np.eye(2)[np.newaxis], np.zeros(1))
    >>> stats.counts, stats.second_moments[0, 1, 1]  # 0 + the conditional variance 1
    (array([2.]), np.float64(1.0))
    """
    n_components, n_features = means.shape
    patterns.keep_matrices_for((n_components, precisions.shape[0], n_shares))

    def share_statistics(group: PatternGroup, positions: slice,
                         inverses: MissingBlockInverses | None) -> SufficientStatistics:
        stats = SufficientStatistics.zeros(n_components, n_features, structure)
        if structure.second_moments is None:
            stats.total_scatter = np.zeros((n_features, n_features))
        if positions.stop == positions.start:
            return stats
        first, stop = group.patterns_of(positions)
        # The responsibilities summed over each of the range's patterns, block by block
        # (a pattern may span two blocks).
        pattern_counts = np.zeros((stop - first, n_components))
        for _, block in patterns.blocks(positions, n_components, row_chunks):
            block_rows = rows[block]
            conditionals = block_conditionals(block_rows, group, block, means, precisions,
                                              log_det, inverses)
            resp = conditionals.log_prob
            fold_log_densities(stats, resp, log_weights,
                               None if row_weights is None else row_weights[block], labels,
                               None if labels is None else patterns.order[block])
            add_completed_block(stats, block_rows, resp, conditionals,
                                structure.second_moments)
            if group.n_missing:
                offset = group.pattern_of_position[block.start - group.positions.start] - first
                pattern_counts[offset:offset + conditionals.pattern_missing_index.shape[0]] += (
                    group.pattern_indicator(block) @ resp)
        if group.n_missing:
            add_conditional_covariances(stats, group, first, pattern_counts,
                                        structure.second_moments, inverses, precisions)
        return stats

    return SufficientStatistics.total(map_groups(patterns, precisions, share_statistics,
                                                 map_ranges, n_shares))


class MissingValuesSource(RowsInMemory):
    """Rows in memory with missing values (NaN); each pass runs over row ranges on threads.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Validated as an estimator's ``fit`` validates it, NaN accepted (a row or a
        column with every value missing, and infinities, are refused).
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative row weights; ``None`` means unit weights.

    Attributes
    ----------
    patterns : MissingPatterns
        The rows grouped by missingness pattern.
    shift : ndarray of shape (n_features,)
        The weighted mean of each column's observed values.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix import GaussianMixtureEM
    >>> from bayesmix.em.missing_source import MissingValuesSource
    >>> rng = np.random.default_rng(0)
    >>> X = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.8], [0.8, 1.0]], size=2000)
    >>> X[rng.random(X.shape) < 0.2] = np.nan
    >>> X[np.isnan(X).all(axis=1), 0] = 0.0
    >>> source = MissingValuesSource(X)
    >>> source.patterns.n_patterns
    3
    >>> em = GaussianMixtureEM(1, tol=1e-8).fit(source)
    >>> em.covariances_.round(1)
    array([[[0.9, 0.8],
            [0.8, 1. ]]])
    """

    def __init__(self, X: Any, sample_weight: Any = None) -> None:
        super().__init__(X, sample_weight, allow_missing=True)
        weights = self._weights
        missing = np.isnan(self.X)
        self._observed_weight = weights @ ~missing
        self.shift = observed_means(weights @ np.where(missing, 0.0, self.X),
                                    self._observed_weight)
        # The passes read the rows in pattern order, centred, 0 where missing: a float64
        # copy of the data, made once rather than gathered at every pass.
        self.patterns, self._sorted_rows = sort_by_pattern(self.X, missing, self.shift)
        self._sorted_weight = (None if self.sample_weight is None
                               else weights[self.patterns.order])

    @cached_property
    def _filled(self) -> np.ndarray:
        """The rows with each missing value replaced by its column's observed mean."""
        return np.where(np.isnan(self.X), self.shift, self.X).astype(self.dtype, copy=False)

    def initialisation_sample(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows initialisers run on, missing values replaced by the column means.

        The initial partition and the first M step see these rows; EM then works on the
        observed values only.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.em.missing_source import MissingValuesSource
        >>> source = MissingValuesSource(np.array([[0.0, 1.0], [2.0, np.nan], [4.0, 5.0]]))
        >>> source.initialisation_sample()[0]
        array([[0., 1.],
               [2., 3.],
               [4., 5.]])
        """
        return self._filled, self._weights

    def initialisation_scatter(self) -> np.ndarray:
        """The scatter matrix of :meth:`initialisation_sample` about ``shift``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.em.missing_source import MissingValuesSource
        >>> MissingValuesSource(np.array([[0.0, 1.0], [2.0, np.nan], [4.0, 5.0]])
        ...                     ).initialisation_scatter()
        array([[8., 8.],
               [8., 8.]])
        """
        return scatter_matrix(self._filled, self.sample_weight, slice(0, self.n_samples),
                              self.shift)

    def data_covariance(self, full: bool) -> np.ndarray:
        """The data's covariance for diagnostics (D, D), or only its variances (D,).

        The variances are those of each column's observed values; the full matrix has
        them on its diagonal and the correlations of the rows with their missing values
        replaced by the column means (shrunk towards 0, but positive semi-definite).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.em.missing_source import MissingValuesSource
        >>> source = MissingValuesSource(np.array([[0.0, 1.0], [2.0, np.nan], [4.0, 5.0]]))
        >>> source.data_covariance(full=False).round(3)
        array([2.667, 4.   ])
        """
        centred = np.where(np.isnan(self.X), 0.0, self.X - self.shift)
        variances = (self._weights @ np.square(centred)) / self._observed_weight
        if not full:
            return variances
        return observed_data_covariance(
            variances, self.initialisation_scatter() / self.total_weight, full)

    def e_step(self, structure: CovarianceStructure, weights: np.ndarray, means: np.ndarray,
               precisions_cholesky: np.ndarray, labels: np.ndarray | None = None
               ) -> SufficientStatistics:
        """One pass over the rows' observed values at the given (centred) parameters.

        ``log_likelihood`` is the observed-data log-likelihood; the statistics are those
        of the completed rows (see the module docstring).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.missing_source import MissingValuesSource
        >>> source = MissingValuesSource(np.array([[-1.0, -1.0], [1.0, np.nan]]))
        >>> source.shift
        array([ 0., -1.])
        >>> stats = source.e_step(get_structure("full"), np.ones(1), np.zeros((1, 2)),
        ...                       np.eye(2)[np.newaxis])
        >>> stats.counts, stats.sums, stats.second_moments[0, 1, 1]  # 0 + the variance 1
        (array([2.]), array([[0., 0.]]), np.float64(1.0))
        """
        n_components, n_features = means.shape
        precisions = component_precisions(structure, precisions_cholesky, n_components,
                                          n_features)
        log_weights, log_det = e_step_constants(structure, weights, precisions_cholesky,
                                                n_features)
        threads = self._threads or RowThreads(self.n_samples)
        return missing_statistics(self._sorted_rows, self.patterns, self._sorted_weight,
                                  structure, log_weights, means, precisions, log_det, labels,
                                  threads.map, threads.n_threads)
