"""EM on Dask arrays and DataFrames, chunk by chunk, on any Dask scheduler.

:meth:`GaussianMixtureEM.fit <bayesmix.GaussianMixtureEM.fit>` comes here when ``X`` is a
Dask collection. Every pass over the data maps the in-memory kernel of :mod:`bayesmix.em`
(:func:`~bayesmix.em._e_step_block_range`) over the row chunks and sums the chunks'
sufficient statistics in a tree, so that only ``K x D x D`` numbers per chunk travel and
the client never holds the rows. The passes are:

1. one summary pass: validation (NaN or infinity in ``X``, bad ``sample_weight``), the
   weighted mean by which the data are centred, and the centred scatter matrix (merged
   across chunks with Chan's pairwise update, as accurate as the in-memory one);
2. the initialisation, run by the in-memory initialiser (:mod:`bayesmix.em.init`) on a
   uniform random sample of at most :data:`INIT_SAMPLE_SIZE` rows (all of them when
   there are fewer, so the fit then equals the in-memory one from the same seed);
3. one pass per EM iteration, and a final one for the components' counts.

The passes run on whatever scheduler is active: Dask's threads by default, or a
``dask.distributed.Client`` once one is created. The data are read once per pass, so
data that fit in the cluster's memory are best persisted first (``X = X.persist()``),
while larger data (a Zarr store, a memory-mapped ``.npy`` file) are streamed from storage
at every iteration. This module imports Dask; :mod:`bayesmix.em` imports it only when
given a Dask collection.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_feature_names, check_is_fitted

from bayesmix._parallel import _controller
from bayesmix._validation import _check_dataframe_dtypes, check_sample_weight
from bayesmix.covariance import log_det_cholesky
from bayesmix.em.estimator import (
    GaussianMixtureEM,
    _e_step_block_range,
    _empty_statistics,
    _finish,
    _scatter_rows,
    _SufficientStatistics,
    _sum_statistics,
)

__all__ = ["INIT_SAMPLE_SIZE", "fit_predict_dask", "map_rows"]

#: The most rows the initialiser sees: a uniform random sample of this many rows of a
#: larger Dask array is loaded and initialised in memory.
INIT_SAMPLE_SIZE = 200_000
#: How many partial results one task of the tree reduction sums.
_FAN_IN = 8


# ---------------------------------------------------------------------- input
def _as_dask_array(estimator: GaussianMixtureEM, X: Any, *, reset: bool) -> da.Array:
    """Validate a Dask collection's shape and dtype; return a float64 Dask array.

    Checks (and in ``fit`` records) the feature names of a Dask DataFrame as for a pandas
    one, makes the row chunk sizes known and every chunk span all the columns. The values
    themselves are checked during the first pass over them.
    """
    if isinstance(X, dd.DataFrame):
        # scikit-learn reads column names from in-memory frames only: an empty one.
        _check_feature_names(estimator, pd.DataFrame(columns=X.columns), reset=reset)
        _check_dataframe_dtypes(X, "X")
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

    ``bad_x`` is ``(count, row, column, value)`` of the non-finite values of ``X``, the
    first one's position and value; ``bad_weight`` is ``(row, value)`` of the first
    negative or non-finite weight. ``mean`` and ``scatter`` are the weighted mean and the
    scatter matrix about it, ``sum_n w_n (x_n - mean)(x_n - mean)^T``.
    """

    total_weight: float
    mean: np.ndarray
    scatter: np.ndarray
    n_positive: int
    bad_x: tuple | None
    bad_weight: tuple | None


def _summarise_chunk(block: np.ndarray, weight: np.ndarray | None, offset: int) -> _Summary:
    n_rows, n_features = block.shape
    weight = np.ones(n_rows) if weight is None else weight
    bad_x = bad_weight = None
    finite = np.isfinite(block)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        bad_x = (int((~finite).sum()), offset + int(row), int(col), float(block[row, col]))
    wrong = ~np.isfinite(weight) | (weight < 0)
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        bad_weight = (offset + row, float(weight[row]))
    total = float(weight.sum()) if bad_weight is None else 0.0
    mean, scatter = np.zeros(n_features), np.zeros((n_features, n_features))
    if bad_x is None and total > 0:
        mean = (weight @ block) / total
        scatter = _scatter_rows(block, weight, slice(0, n_rows), mean)
    return _Summary(total, mean, scatter, int(np.count_nonzero(weight)), bad_x, bad_weight)


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
        if part.bad_x is not None:
            count = part.bad_x[0] + (0 if total.bad_x is None else total.bad_x[0])
            first = part.bad_x if total.bad_x is None else total.bad_x
            total.bad_x = (count,) + first[1:]
        total.bad_weight = total.bad_weight or part.bad_weight
    return total


def _check_summary(summary: _Summary) -> None:
    """Raise for the problems the summary pass found."""
    if summary.bad_x is not None:
        count, row, col, value = summary.bad_x
        kind = "NaN" if np.isnan(value) else "infinity"
        raise ValueError(
            f"Input X contains NaN or inf: {count} non-finite value(s) in the Dask array, "
            f"the first ({kind}) at row {row}, column {col}. Drop or impute those rows "
            f"before calling bayesmix, e.g. X = X[da.isfinite(X).all(axis=1)] (and "
            f"X.compute_chunk_sizes()), or ddf.dropna() for a Dask DataFrame."
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


def _chunk_statistics(block, weight, shift, log_weights, means, factors, log_det,
                      covariance_type) -> _SufficientStatistics:
    """The in-memory streaming E step over one chunk, centred by ``shift``."""
    return _e_step_block_range(block, weight, slice(0, block.shape[0]), log_weights, means,
                               factors, log_det, covariance_type, labels=None, shift=shift)


def _add_statistics(parts: list[_SufficientStatistics], n_components: int, n_features: int,
                    covariance_type: str) -> _SufficientStatistics:
    # Sum into fresh statistics: a task must not modify its inputs.
    empty = _empty_statistics(n_components, n_features, covariance_type)
    return _sum_statistics([empty, *parts])


def _e_step(blocks: list[tuple], shift: np.ndarray, covariance_type: str, weights: np.ndarray,
            means: np.ndarray, factors: np.ndarray) -> _SufficientStatistics:
    """One EM pass over the chunks; returns the summed sufficient statistics."""
    n_components, n_features = means.shape
    log_det = log_det_cholesky(factors, covariance_type, n_features)
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    chunk = dask.delayed(_chunk_statistics, pure=True)
    parts = [chunk(x, w, shift, log_weights, means, factors, log_det, covariance_type)
             for x, w, _ in blocks]
    combine = partial(_add_statistics, n_components=n_components, n_features=n_features,
                      covariance_type=covariance_type)
    (stats,) = dask.compute(_tree_reduce(parts, combine))
    return _finish(stats, covariance_type)


def _initialiser(estimator: GaussianMixtureEM, X: da.Array, weights: da.Array | None,
                 shift: np.ndarray, given: dict, random_state: np.random.RandomState
                 ) -> Callable[[np.random.RandomState], tuple]:
    """``initialise(random_state)`` for :meth:`GaussianMixtureEM._fit_restarts`.

    Runs the in-memory initialiser on a uniform random sample of at most
    :data:`INIT_SAMPLE_SIZE` rows (loaded only when the initial parameters are not all
    given), its rows weighted by their ``sample_weight``.
    """
    sample = {}

    def initialise(seed_state: np.random.RandomState) -> tuple:
        if not sample:
            n_samples = X.shape[0]
            rows = slice(None)
            if n_samples > INIT_SAMPLE_SIZE:
                rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
                rows = np.sort(rng.choice(n_samples, size=INIT_SAMPLE_SIZE, replace=False))
            X_rows = X[rows]
            w_rows = da.ones(X_rows.shape[0]) if weights is None else weights[rows]
            sample["X"], sample["weight"] = dask.compute(X_rows, w_rows)
            sample["second"] = None
            if estimator.covariance_type == "tied":
                sample["second"] = _scatter_rows(sample["X"], sample["weight"],
                                                 slice(0, len(sample["weight"])), shift)
        return estimator._initial_parameters(sample["X"], shift, sample["weight"], given,
                                             seed_state, sample["second"])

    return initialise


# ---------------------------------------------------------------------- public entry points
def fit_predict_dask(estimator: GaussianMixtureEM, X: Any, sample_weight: Any,
                     start_time: float) -> da.Array:
    """Fit ``estimator`` on a Dask array or DataFrame; return the lazy labels.

    The E step and the sufficient statistics are computed chunk by chunk with the
    in-memory kernel and summed in a tree, on the active Dask scheduler; the fitted
    attributes are NumPy arrays. The initialisation (``init_params``) runs in memory on
    a uniform random sample of at most :data:`INIT_SAMPLE_SIZE` rows, drawn lazily with
    ``random_state`` (on all the rows when there are fewer, so that the fit then equals
    the in-memory fit with the same ``random_state``).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from bayesmix import GaussianMixtureEM
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (500, 2)), rng.normal(6, 1, (500, 2))])
    >>> em = GaussianMixtureEM(2, random_state=0).fit(da.from_array(X, chunks=(250, 2)))
    >>> np.sort(em.means_[:, 0]).round(1)
    array([-0.1,  6. ])
    >>> labels = em.predict(da.from_array(X, chunks=(250, 2)))  # lazy
    >>> type(labels).__name__, labels.chunks
    ('Array', ((250, 250, 250, 250),))
    """
    X = _as_dask_array(estimator, X, reset=True)
    n_samples, n_features = X.shape
    estimator.n_features_in_ = n_features
    if n_samples < 2:
        raise ValueError(
            f"X has {n_samples} sample(s) (shape={X.shape}) while a minimum of 2 is "
            f"required. Pass more rows."
        )
    estimator._check_n_samples(n_samples)
    given = estimator._check_parameters(n_features)
    weights = _as_dask_weights(sample_weight, X)
    blocks = _blocks(X, weights)

    # The rows are processed by Dask's threads or workers: BLAS' own threads would only
    # compete with them (distributed's worker processes already start with one).
    with _controller().limit(limits=1, user_api="blas"):
        summarise = dask.delayed(_summarise_chunk, pure=True)
        summary = _tree_reduce([summarise(x, w, offset) for x, w, offset in blocks],
                               _merge_summaries)
        (summary,) = dask.compute(summary)
        _check_summary(summary)
        estimator._check_n_positive_weights(summary.n_positive)

        # EM is translation invariant: fit on data centred by their weighted mean.
        shift = summary.mean
        total_second_moment = summary.scatter if estimator.covariance_type == "tied" else None
        if "means" in given:
            given["means"] = given["means"] - shift
        warm = estimator.warm_start and hasattr(estimator, "converged_")
        n_init = 1 if warm else estimator.n_init
        random_state = check_random_state(estimator.random_state)
        seeds = random_state.randint(np.iinfo(np.int32).max, size=n_init)
        initialise = _initialiser(estimator, X, weights, shift, given, random_state)
        e_step = partial(_e_step, blocks, shift, estimator.covariance_type)
        best = estimator._fit_restarts(initialise, e_step, summary.total_weight, seeds, warm,
                                       shift, total_second_moment)
        mixing, means, _, factors = best["params"]
        final = e_step(mixing, means, factors)

    data_covariance = summary.scatter / summary.total_weight
    estimator._store_fit(best, n_init, shift, final.counts, data_covariance)
    estimator._X_fit = None
    estimator.fit_time_ = time.perf_counter() - start_time
    return _map_method(estimator, X, "predict")


def _apply(block: np.ndarray, estimator: GaussianMixtureEM, method: str,
           feature_names: np.ndarray | None) -> np.ndarray:
    if feature_names is not None:  # the in-memory method checks the column names
        block = pd.DataFrame(block, columns=feature_names, copy=False)
    return getattr(estimator, method)(block)


def map_rows(estimator: GaussianMixtureEM, X: Any, method: str) -> da.Array:
    """A fitted estimator's in-memory ``method`` mapped lazily over the row chunks of ``X``.

    ``method`` is ``"predict"``, ``"predict_proba"`` or ``"score_samples"``; the result
    is a Dask array with the row chunks of ``X``.
    """
    check_is_fitted(estimator)
    return _map_method(estimator, _as_dask_array(estimator, X, reset=False), method)


def _map_method(estimator: GaussianMixtureEM, X: da.Array, method: str) -> da.Array:
    fitted = copy.copy(estimator)
    fitted._X_fit = None  # keep the training rows out of the task graph
    names = getattr(estimator, "feature_names_in_", None)
    if method == "predict_proba":
        layout = {"chunks": (X.chunks[0], (estimator.n_components,)),
                  "meta": np.empty((0, 0))}
    else:
        dtype = np.intp if method == "predict" else np.float64
        layout = {"drop_axis": 1, "meta": np.empty((0,), dtype=dtype)}
    return X.map_blocks(_apply, fitted, method, names, **layout)
