"""EM on Dask arrays and DataFrames, chunk by chunk, on any Dask scheduler.

:meth:`GaussianMixtureEM.fit <bayesmix.GaussianMixtureEM.fit>` comes here when ``X`` is a
Dask collection, through :class:`DaskSource`, the data source (see
:mod:`bayesmix.em.sources`) the EM engine drives. Every pass over the data maps the
in-memory kernel (:func:`~bayesmix.em.sources.block_statistics`) over the row chunks and
sums the chunks' sufficient statistics in a tree, so that only ``K x D x D`` numbers per
chunk travel and the client never holds the rows. The passes are:

1. one summary pass: validation (infinities or rows with every value missing in ``X``,
   bad ``sample_weight``), the weighted mean by which the data are centred, and the
   centred scatter matrix (merged across chunks with Chan's pairwise update, as accurate
   as the in-memory one); with missing values (NaN), the mean of each column's observed
   values instead, and a second pass for the diagnostics' covariance (see
   :mod:`bayesmix.em.missing_source`);
2. the initialisation, run by the in-memory initialiser (:mod:`bayesmix.em.init`) on a
   uniform random sample of at most :data:`INIT_SAMPLE_SIZE` rows (all of them when
   there are fewer, so the fit then equals the in-memory one from the same seed);
3. one pass per EM iteration, and a final one for the components' counts. With missing
   values, each chunk's rows are grouped by their missingness patterns as the chunk is
   read, and the missing-value kernel
   (:func:`~bayesmix.em.missing_source.missing_statistics`) runs on them.

The passes run on whatever scheduler is active: Dask's threads by default, or a
``dask.distributed.Client`` once one is created. The data are read once per pass, so
data that fit in the cluster's memory are best persisted first (``X = X.persist()``),
while larger data (a Zarr store, a memory-mapped ``.npy`` file) are streamed from storage
at every iteration. This module imports Dask; :mod:`bayesmix.em` imports it only when
given a Dask collection. Its length (about 550 lines) is that of everything that
touches Dask, kept in the one module that imports it: the input checks, the summary
passes (with and without missing values), the E-step passes and the lazy predictions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from sklearn.utils.validation import _check_feature_names

from bayesmix._parallel import blas_single_thread
from bayesmix._validation import (
    check_dataframe_dtypes,
    check_fitted,
    check_random_state,
    check_sample_weight,
)
from bayesmix.covariance.base import CovarianceStructure
from bayesmix.em.missing_source import (
    missing_statistics,
    observed_data_covariance,
    observed_means,
    sort_by_pattern,
)
from bayesmix.em.sources import block_statistics, e_step_constants, scatter_matrix
from bayesmix.em.statistics import SufficientStatistics
from bayesmix.patterns import component_precisions

__all__ = ["INIT_SAMPLE_SIZE", "DaskSource", "map_rows"]

#: The most rows the initialiser sees: a uniform random sample of this many rows of a
#: larger Dask array is loaded and initialised in memory.
INIT_SAMPLE_SIZE = 200_000
#: How many partial results one task of the tree reduction sums.
_FAN_IN = 8
#: Rows a refusal message names.
_ROWS_NAMED = 10


# ---------------------------------------------------------------------- input
def _as_dask_array(estimator: Any, X: Any, *, reset: bool) -> da.Array:
    """Validate a Dask collection's shape and dtype; return a float64 Dask array.

    Checks (and in ``fit`` records) the feature names of a Dask DataFrame as for a pandas
    one, makes the row chunk sizes known and every chunk span all the columns. The values
    themselves are checked during the first pass over them.
    """
    if isinstance(X, dd.DataFrame):
        # scikit-learn reads column names from in-memory frames only: an empty one.
        _check_feature_names(estimator, pd.DataFrame(columns=X.columns), reset=reset)
        check_dataframe_dtypes(X, "X")
        X = X.to_dask_array(lengths=True)
    elif isinstance(X, da.Array):
        _check_feature_names(estimator, X, reset=reset)
    else:
        raise TypeError(
            f"X is a Dask {type(X).__name__}; bayesmix takes a Dask Array or DataFrame. "
            f"Convert it first, e.g. with dask.array.from_delayed or to_dask_array()."
        )
    if X.ndim != 2:
        raise ValueError(
            f"X must be 2-D (n_samples, n_features), got a Dask array of shape {X.shape}. "
            f"Reshape it to two dimensions, e.g. X.reshape(-1, 1) for a single feature."
        )
    if X.dtype.kind not in "iuf":
        raise ValueError(
            f"X has dtype {X.dtype}; a Gaussian mixture needs real numbers. Convert it "
            f"with X.astype(float) if that is what you mean."
        )
    if any(np.isnan(size) for size in X.chunks[0]):
        X = X.compute_chunk_sizes()
    if len(X.chunks[1]) > 1:
        # Each task needs whole rows; re-chunking columns into one keeps the row chunks.
        X = X.rechunk({1: -1})
    if not reset and X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input, the number seen in fit. Pass "
            f"data with the same columns as in fit."
        )
    return X.astype(np.float64)


def _as_dask_weights(sample_weight: Any, X: da.Array) -> da.Array | None:
    """``sample_weight`` as a 1-D Dask array chunked like the rows of ``X``."""
    if sample_weight is None:
        return None
    if not dask.is_dask_collection(sample_weight):
        weights = check_sample_weight(sample_weight, X.shape[0])
        return da.from_array(weights, chunks=(X.chunks[0],))
    weights = da.asarray(sample_weight)
    if any(np.isnan(size) for size in weights.chunks[0]):
        weights = weights.compute_chunk_sizes()
    if weights.ndim != 1 or weights.shape[0] != X.shape[0]:
        raise ValueError(
            f"sample_weight has shape {weights.shape}, but X has {X.shape[0]} rows. Pass a "
            f"1-D array of length {X.shape[0]}, one weight per row."
        )
    if weights.dtype.kind not in "biuf":
        raise ValueError(
            f"sample_weight must hold numbers, got dtype {weights.dtype}. Pass one "
            f"non-negative number per row of X."
        )
    return weights.astype(np.float64).rechunk((X.chunks[0],))


# ---------------------------------------------------------------------- first pass
@dataclass
class _Summary:
    """Validation findings and weighted moments of some rows.

    ``infinite_rows`` and ``empty_rows`` are ``(count, first rows)`` of the rows with an
    infinity and of those with every value missing (at most :data:`_ROWS_NAMED` rows
    named); ``bad_weight`` is ``(row, value)`` of the first negative or non-finite
    weight. ``n_missing`` counts the NaN; ``observed_weight`` and ``observed_sums`` are
    ``sum_n w_n`` and ``sum_n w_n x_n`` over each column's observed values. ``mean`` and
    ``scatter`` are the weighted mean and the scatter matrix about it, ``sum_n w_n (x_n -
    mean)(x_n - mean)^T``, of rows without a missing value (zero otherwise: they serve
    only when no value is missing).
    """

    total_weight: float
    mean: np.ndarray
    scatter: np.ndarray
    n_positive: int
    n_missing: int
    observed_weight: np.ndarray
    observed_sums: np.ndarray
    infinite_rows: tuple[int, list[int]]
    empty_rows: tuple[int, list[int]]
    bad_weight: tuple | None


def _named_rows(flags: np.ndarray, offset: int) -> tuple[int, list[int]]:
    rows = np.flatnonzero(flags)
    return int(rows.size), (offset + rows[:_ROWS_NAMED]).tolist()


def _summarise_chunk(block: np.ndarray, weight: np.ndarray | None, offset: int) -> _Summary:
    n_rows, n_features = block.shape
    weight = np.ones(n_rows) if weight is None else weight
    bad_weight = None
    missing = np.isnan(block)
    infinite_rows = _named_rows(np.isinf(block).any(axis=1), offset)
    empty_rows = _named_rows(missing.all(axis=1), offset)
    wrong = ~np.isfinite(weight) | (weight < 0)
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        bad_weight = (offset + row, float(weight[row]))
    total = float(weight.sum()) if bad_weight is None else 0.0
    n_missing = int(missing.sum())
    observed = np.where(missing, 0.0, block)
    mean, scatter = np.zeros(n_features), np.zeros((n_features, n_features))
    if n_missing == 0 and infinite_rows[0] == 0 and total > 0:
        mean = (weight @ block) / total
        scatter = scatter_matrix(block, weight, slice(0, n_rows), mean)
    return _Summary(total, mean, scatter, int(np.count_nonzero(weight)), n_missing,
                    weight @ ~missing, weight @ observed, infinite_rows, empty_rows,
                    bad_weight)


def _merge_named(first: tuple[int, list[int]], second: tuple[int, list[int]]
                 ) -> tuple[int, list[int]]:
    return first[0] + second[0], (first[1] + second[1])[:_ROWS_NAMED]


def _merge_summaries(parts: list[_Summary]) -> _Summary:
    """Pool summaries: Chan et al.'s pairwise update of the mean and scatter matrix."""
    total = copy.deepcopy(parts[0])
    for part in parts[1:]:
        weight = total.total_weight + part.total_weight
        if part.total_weight > 0:
            delta = part.mean - total.mean
            share = part.total_weight / weight
            total.scatter = (total.scatter + part.scatter
                             + np.outer(delta, delta) * total.total_weight * share)
            total.mean = total.mean + delta * share
        total.total_weight = weight
        total.n_positive += part.n_positive
        total.n_missing += part.n_missing
        total.observed_weight = total.observed_weight + part.observed_weight
        total.observed_sums = total.observed_sums + part.observed_sums
        total.infinite_rows = _merge_named(total.infinite_rows, part.infinite_rows)
        total.empty_rows = _merge_named(total.empty_rows, part.empty_rows)
        total.bad_weight = total.bad_weight or part.bad_weight
    return total


def _row_names(named: tuple[int, list[int]]) -> str:
    count, rows = named
    listed = ", ".join(str(row) for row in rows)
    return listed if count <= len(rows) else f"{listed} and {count - len(rows)} more"


def _check_summary(summary: _Summary) -> None:
    """Raise for the problems the summary pass found."""
    if summary.infinite_rows[0]:
        raise ValueError(
            f"Input X contains infinity in {summary.infinite_rows[0]} row(s) of the Dask "
            f"array: rows {_row_names(summary.infinite_rows)}. Replace the infinities by "
            f"NaN to treat them as missing values (X = da.where(da.isinf(X), np.nan, X)), "
            f"or drop those rows, e.g. X = X[~da.isinf(X).any(axis=1)] (and "
            f"X.compute_chunk_sizes())."
        )
    if summary.empty_rows[0]:
        raise ValueError(
            f"Input X has {summary.empty_rows[0]} row(s) with every value missing (NaN) in "
            f"the Dask array: rows {_row_names(summary.empty_rows)}. They carry no "
            f"information; drop them, e.g. X = X[~da.isnan(X).all(axis=1)] (and "
            f"X.compute_chunk_sizes()), or ddf.dropna(how='all') for a Dask DataFrame."
        )
    if summary.bad_weight is not None:
        row, value = summary.bad_weight
        raise ValueError(
            f"sample_weight must be finite and non-negative, got {value:g} at row {row}. "
            f"Use 0 to leave a row out."
        )
    if summary.total_weight <= 0:
        raise ValueError(
            "sample_weight is zero for every row; at least one row must have a positive weight."
        )


def _spread_of_chunk(block: np.ndarray, weight: np.ndarray | None, shift: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(squares, filled scatter)`` of a chunk with missing values: ``sum_n w_n (x_n -
    shift)^2`` over each column's observed values, and the scatter matrix about ``shift``
    of the rows with their missing values replaced by ``shift``."""
    missing = np.isnan(block)
    centred = np.where(missing, 0.0, block - shift)
    weight = np.ones(block.shape[0]) if weight is None else weight
    filled = np.where(missing, shift, block)
    return (weight @ np.square(centred),
            scatter_matrix(filled, weight, slice(0, block.shape[0]), shift))


def _add_spreads(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return sum(part[0] for part in parts), sum(part[1] for part in parts)


# ---------------------------------------------------------------------- passes
def _blocks(X: da.Array, weights: da.Array | None) -> list[tuple]:
    """``(X block, weight block or None, first row)`` of every row chunk, as Delayed."""
    x_blocks = X.to_delayed().ravel()
    w_blocks = [None] * len(x_blocks) if weights is None else weights.to_delayed().ravel()
    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(int)
    return list(zip(x_blocks, w_blocks, offsets.tolist()))


def _tree_reduce(parts: list, combine: Callable[[list], Any]) -> Any:
    """Sum Delayed ``parts`` in a tree of ``combine`` tasks, ``_FAN_IN`` at a time."""
    while len(parts) > 1:
        parts = [dask.delayed(combine, pure=True)(parts[i:i + _FAN_IN])
                 for i in range(0, len(parts), _FAN_IN)]
    return parts[0]


def _chunk_statistics(block, weight, shift, structure, log_weights, means, factors,
                      log_det) -> SufficientStatistics:
    """The in-memory streaming E step over one chunk, centred by ``shift``."""
    return block_statistics(block, weight, slice(0, block.shape[0]), shift, structure,
                            log_weights, means, factors, log_det)


def _chunk_missing_statistics(block, weight, shift, structure, log_weights, means,
                              precisions, log_det) -> SufficientStatistics:
    """The missing-value E step over one chunk, its rows grouped by their patterns."""
    patterns, rows = sort_by_pattern(block, np.isnan(block), shift)
    return missing_statistics(rows, patterns,
                              None if weight is None else weight[patterns.order], structure,
                              log_weights, means, precisions, log_det)


def _add_statistics(parts: list[SufficientStatistics]) -> SufficientStatistics:
    # Sum into fresh statistics: a task must not modify its inputs.
    return SufficientStatistics.total(parts)


class DaskSource:
    """The row chunks of a Dask array or DataFrame, processed on the active scheduler.

    One summary pass, at construction, validates the values, and computes the weighted
    mean, the scatter matrix and the total weight; every E step is one more pass. Missing
    values (NaN) are fitted on the observed coordinates, as in memory
    (:class:`~bayesmix.em.missing_source.MissingValuesSource`): the construction then
    makes a second pass, for the data's covariance.

    Parameters
    ----------
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
    sample_weight : array-like or Dask array of shape (n_samples,), optional
    random_state : int, RandomState instance or None
        Draws the initialisation sample when there are more than
        :data:`INIT_SAMPLE_SIZE` rows.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from bayesmix.em.dask_source import DaskSource
    >>> source = DaskSource(da.from_array(np.arange(8.0).reshape(4, 2), chunks=(2, 2)))
    >>> source.n_samples, source.shift
    (4, array([3., 4.]))
    >>> X = np.array([[0.0, 1.0], [2.0, np.nan], [4.0, 5.0], [np.nan, 7.0]])
    >>> DaskSource(da.from_array(X, chunks=(2, 2))).shift  # the observed values' means
    array([2.        , 4.33333333])
    """

    training_rows = None

    def __init__(self, X: Any, sample_weight: Any = None, random_state: Any = None) -> None:
        self.collection = X
        X = _as_dask_array(self, X, reset=True)
        self.n_samples, self.n_features = X.shape
        self.dtype = np.dtype(np.float64)  # the chunks are read as float64
        self.n_features_in_ = self.n_features
        if self.n_samples < 2:
            raise ValueError(
                f"X has {self.n_samples} sample(s) (shape={X.shape}) while a minimum of 2 is "
                f"required. Pass more rows."
            )
        self._X = X
        self._weights = _as_dask_weights(sample_weight, X)
        self._blocks = _blocks(X, self._weights)
        self._random_state = check_random_state(random_state)
        self._sample: tuple[np.ndarray, np.ndarray] | None = None
        self._sample_scatter: np.ndarray | None = None
        self.cache: dict[Any, Any] = {}
        # The rows are processed by Dask's threads or workers: BLAS' own threads would
        # only compete with them (distributed's worker processes already start with one).
        with blas_single_thread():
            summarise = dask.delayed(_summarise_chunk, pure=True)
            summary = _tree_reduce([summarise(x, w, offset) for x, w, offset in self._blocks],
                                   _merge_summaries)
            (summary,) = dask.compute(summary)
        _check_summary(summary)
        self.n_positive = summary.n_positive
        self.total_weight = summary.total_weight
        self.has_missing = summary.n_missing > 0
        if not self.has_missing:
            self.shift = summary.mean
            self.scatter = summary.scatter
            return
        # The E step completes the total scatter (SufficientStatistics.total_scatter).
        self.scatter = None
        self.shift = observed_means(summary.observed_sums, summary.observed_weight)
        with blas_single_thread():
            spread = dask.delayed(_spread_of_chunk, pure=True)
            squares, filled_scatter = dask.compute(_tree_reduce(
                [spread(x, w, self.shift) for x, w, _ in self._blocks], _add_spreads))[0]
        self._observed_variances = squares / summary.observed_weight
        self._filled_covariance = filled_scatter / self.total_weight

    @contextmanager
    def session(self, row_width: int) -> Iterator[DaskSource]:
        """BLAS held to one thread while Dask's threads run the passes.

        Examples
        --------
        >>> import dask.array as da
        >>> import numpy as np
        >>> from bayesmix.em.dask_source import DaskSource
        >>> source = DaskSource(da.from_array(np.arange(8.0).reshape(4, 2), chunks=(2, 2)))
        >>> with source.session(row_width=4) as opened:
        ...     opened is source
        True
        """
        with blas_single_thread():
            yield self

    def new_labels(self) -> None:
        """The labels are not written by the final pass, but predicted lazily.

        Examples
        --------
        >>> import dask.array as da
        >>> import numpy as np
        >>> from bayesmix.em.dask_source import DaskSource
        >>> source = DaskSource(da.from_array(np.arange(8.0).reshape(4, 2), chunks=(2, 2)))
        >>> source.new_labels() is None
        True
        """
        return None

    def data_covariance(self, full: bool) -> np.ndarray:
        """The data's weighted covariance (D, D), or only its variances (D,).

        Examples
        --------
        >>> import dask.array as da
        >>> import numpy as np
        >>> from bayesmix.em.dask_source import DaskSource
        >>> source = DaskSource(da.from_array(np.arange(8.0).reshape(4, 2), chunks=(2, 2)))
        >>> source.data_covariance(full=False)
        array([5., 5.])
        """
        if self.has_missing:
            return observed_data_covariance(self._observed_variances,
                                            self._filled_covariance, full)
        covariance = self.scatter / self.total_weight
        return covariance if full else np.diagonal(covariance).copy()

    def initialisation_scatter(self) -> np.ndarray:
        """The scatter matrix of the initialisation sample about ``shift``.

        Examples
        --------
        >>> import dask.array as da
        >>> import numpy as np
        >>> from bayesmix.em.dask_source import DaskSource
        >>> source = DaskSource(da.from_array(np.arange(8.0).reshape(4, 2), chunks=(2, 2)))
        >>> source.initialisation_scatter()
        array([[20., 20.],
               [20., 20.]])
        """
        X_sample, w_sample = self.initialisation_sample()
        if self._sample_scatter is None:
            self._sample_scatter = scatter_matrix(X_sample, w_sample,
                                                  slice(0, len(w_sample)), self.shift)
        return self._sample_scatter

    def initialisation_sample(self) -> tuple[np.ndarray, np.ndarray]:
        """A uniform random sample of at most :data:`INIT_SAMPLE_SIZE` rows (all of them
        when there are fewer), loaded once, with its weights; missing values are replaced
        by the column means (``shift``), as in memory.

        Examples
        --------
        >>> import dask.array as da
        >>> import numpy as np
        >>> from bayesmix.em.dask_source import DaskSource
        >>> source = DaskSource(da.from_array(np.arange(8.0).reshape(4, 2), chunks=(2, 2)))
        >>> rows, weights = source.initialisation_sample()
        >>> rows.shape, weights
        ((4, 2), array([1., 1., 1., 1.]))
        """
        if self._sample is None:
            rows = slice(None)
            if self.n_samples > INIT_SAMPLE_SIZE:
                rng = np.random.default_rng(self._random_state.randint(np.iinfo(np.int32).max))
                rows = np.sort(rng.choice(self.n_samples, size=INIT_SAMPLE_SIZE,
                                          replace=False))
            X_rows = self._X[rows]
            w_rows = da.ones(X_rows.shape[0]) if self._weights is None else self._weights[rows]
            X_sample, w_sample = dask.compute(X_rows, w_rows)
            if self.has_missing:
                X_sample = np.where(np.isnan(X_sample), self.shift, X_sample)
            self._sample = X_sample, w_sample
        return self._sample

    def e_step(self, structure: CovarianceStructure, weights: np.ndarray, means: np.ndarray,
               precisions_cholesky: np.ndarray, labels: None = None) -> SufficientStatistics:
        """One EM pass over the chunks; returns the summed sufficient statistics.

        Examples
        --------
        >>> import dask.array as da
        >>> import numpy as np
        >>> from bayesmix.em.dask_source import DaskSource
        >>> source = DaskSource(da.from_array(np.arange(8.0).reshape(4, 2), chunks=(2, 2)))
        >>> from bayesmix.covariance import get_structure
        >>> stats = source.e_step(get_structure("VII"), np.ones(1), np.zeros((1, 2)),
        ...                       np.ones(1))
        >>> stats.counts
        array([4.])
        """
        log_weights, log_det = e_step_constants(structure, weights, precisions_cholesky,
                                                self.n_features)
        if self.has_missing:
            chunk = dask.delayed(_chunk_missing_statistics, pure=True)
            factors = component_precisions(structure, precisions_cholesky, len(means),
                                           self.n_features)
        else:
            chunk = dask.delayed(_chunk_statistics, pure=True)
            factors = precisions_cholesky
        parts = [chunk(x, w, self.shift, structure, log_weights, means, factors, log_det)
                 for x, w, _ in self._blocks]
        (stats,) = dask.compute(_tree_reduce(parts, _add_statistics))
        return stats


# ---------------------------------------------------------------------- prediction
def _apply(block: np.ndarray, estimator: Any, method: str,
           feature_names: np.ndarray | None) -> np.ndarray:
    if feature_names is not None:  # the in-memory method checks the column names
        block = pd.DataFrame(block, columns=feature_names, copy=False)
    return getattr(estimator, method)(block)


def map_rows(estimator: Any, X: Any, method: str) -> da.Array:
    """A fitted estimator's in-memory ``method`` mapped lazily over the row chunks of ``X``.

    ``method`` is ``"predict"``, ``"predict_proba"`` or ``"score_samples"``; the result
    is a Dask array with the row chunks of ``X``.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from bayesmix import GaussianMixtureEM
    >>> from bayesmix.em.dask_source import map_rows
    >>> X = np.vstack([np.zeros((5, 1)), np.ones((5, 1)) * 8]) + np.arange(10)[:, None] / 10
    >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
    >>> map_rows(em, da.from_array(X, chunks=(5, 1)), "score_samples").chunks
    ((5, 5),)
    """
    check_fitted(estimator)
    X = _as_dask_array(estimator, X, reset=False)
    fitted = copy.copy(estimator)
    fitted._X_fit = None  # keep the training rows out of the task graph
    names = getattr(estimator, "feature_names_in_", None)
    layout = {
        "predict": {"drop_axis": 1, "meta": np.empty((0,), dtype=np.intp)},
        "score_samples": {"drop_axis": 1, "meta": np.empty((0,))},
        "predict_proba": {"chunks": (X.chunks[0], (estimator.n_components,)),
                          "meta": np.empty((0, 0))},
    }[method]
    return X.map_blocks(_apply, fitted, method, names, **layout)
