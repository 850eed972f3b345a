"""Data sources: where the EM engine's passes over the rows happen.

The engine (:mod:`bayesmix.em.engine`) never touches rows itself. It asks a data source
for the few things EM needs of the data:

- ``n_samples``, ``n_features``, ``total_weight``, ``n_positive`` (rows of positive
  weight), ``shift`` (the weighted mean, by which every row is centred as it is read:
  EM is translation invariant and centred second moments lose no precision) and
  ``scatter`` (``sum_n w_n (x_n - shift)(x_n - shift)^T``, which a source may compute
  on first use; a source whose E step returns the statistics' ``total_scatter``, as
  the missing-value source does, has none) and ``data_covariance(full)`` (the
  covariance, or only its variances);
- ``dtype``: the precision of the E step's passes and of the fitted parameters (float32
  for float32 rows, whose passes multiply in float32 within cache-sized blocks and add
  the blocks' statistics up in float64; float64 otherwise);
- ``n_features_in_`` and ``feature_names_in_`` as an estimator records them in ``fit``;
- ``training_rows`` (the rows, or ``None`` when they are not in memory) and
  ``new_labels()`` (an array the final E step writes labels into, or ``None``, in which
  case the estimator predicts lazily on ``collection``);
- :meth:`~InMemorySource.initialisation_sample`: the rows the initialisers run on and
  their weights, and :meth:`~InMemorySource.initialisation_scatter`, their scatter;
- :meth:`~InMemorySource.e_step`: one pass at given parameters, folded into
  :class:`~bayesmix.em.statistics.SufficientStatistics` (optionally writing each row's
  most likely component);
- ``cache``: a dict where initialisers keep what fits on the same data can share (the
  hierarchical merge tree, k-means partitions), so that model selection computes them
  once for every structure;
- ``session(row_width)``: a context manager around a fit (thread pools, BLAS limits).

:class:`InMemorySource` (rows of a NumPy array, row ranges on threads) lives here; the
Dask source, which maps the same per-block kernel over chunks, lives in
:mod:`bayesmix.em.dask_source` and is imported only for Dask input; rows with missing
values (NaN) are the :class:`~bayesmix.em.missing_source.MissingValuesSource`'s. A fitted
:class:`~bayesmix.GaussianMixtureEM` accepts a source in place of ``X``, which is how
:func:`bayesmix.select_em` validates the data and computes its summaries once for a
whole grid of fits. Every source's E step starts from :func:`e_step_constants` and turns
each block's log densities into responsibilities with :func:`fold_log_densities`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import numpy as np

from bayesmix._parallel import RowThreads
from bayesmix._validation import check_memory, check_sample_weight, validate_data
from bayesmix.covariance.base import CovarianceStructure
from bayesmix.density import component_log_prob, normalise_rows, row_chunks
from bayesmix.em.statistics import SufficientStatistics
from bayesmix.families.noise import fold_noise

__all__ = ["InMemorySource", "RowsInMemory", "block_statistics", "centred_blocks",
           "e_step_constants", "fold_log_densities", "is_dask_collection", "scatter_matrix"]


def is_dask_collection(X: Any) -> bool:
    """Whether ``X`` is a Dask collection, without importing Dask when it is not loaded.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.sources import is_dask_collection
    >>> is_dask_collection(np.zeros(3))
    False
    """
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(X)


def centred_blocks(X: np.ndarray, rows: slice, row_width: int, shift: np.ndarray,
                   rows_per_block: int | None = None) -> Iterator[tuple[slice, np.ndarray]]:
    """``(block_rows, X[block_rows] - shift)`` over ``X[rows]``, in cache-sized blocks.

    The blocks are sized for ``row_width`` temporary values per row
    (:func:`~bayesmix.density.row_chunks`), or hold ``rows_per_block`` rows each if given.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.sources import centred_blocks
    >>> [(rows, block.ravel()) for rows, block in centred_blocks(
    ...     np.array([[1.0], [3.0]]), slice(0, 2), 1, np.array([2.0]))]
    [(slice(0, 2, None), array([-1.,  1.]))]
    >>> [rows for rows, _ in centred_blocks(np.zeros((5, 1)), slice(0, 5), 1, np.zeros(1),
    ...                                     rows_per_block=2)]
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    n_rows = rows.stop - rows.start
    chunks = (row_chunks(n_rows, row_width) if rows_per_block is None else
              (slice(start, min(start + rows_per_block, n_rows))
               for start in range(0, n_rows, rows_per_block)))
    for chunk in chunks:
        block_rows = slice(rows.start + chunk.start, rows.start + chunk.stop)
        yield block_rows, X[block_rows] - shift


def scatter_matrix(X: np.ndarray, sample_weight: np.ndarray | None, rows: slice,
                   shift: np.ndarray) -> np.ndarray:
    """``sum_n w_n y_n y_n^T`` with ``y = X[rows] - shift``, block by block.

    ``sample_weight=None`` means unit weights. Centred by the weighted mean of ``X``, this
    is the weighted scatter matrix: the data covariance times the total weight.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.sources import scatter_matrix
    >>> scatter_matrix(np.array([[1.0], [3.0]]), None, slice(0, 2), np.array([2.0]))
    array([[2.]])
    """
    n_features = X.shape[1]
    scatter = np.zeros((n_features, n_features))
    for block_rows, block in centred_blocks(X, rows, n_features, shift):
        weighted = block if sample_weight is None else block * sample_weight[block_rows, None]
        scatter += weighted.T @ block
    return scatter


def e_step_constants(structure: CovarianceStructure, weights: np.ndarray,
                     precisions_cholesky: np.ndarray, n_features: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(log_weights, log_det)`` of an E step: what every pass adds to each row's
    component log densities.

    ``log_weights`` is ``log(weights)`` (``-inf`` for an empty component), ``log_det``
    half the log-determinant of each precision.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.sources import e_step_constants
    >>> e_step_constants(get_structure("spherical"), np.array([1.0, 0.0]),
    ...                  np.array([1.0, 2.0]), 3)
    (array([  0., -inf]), array([0.        , 2.07944154]))
    """
    log_det = structure.log_det_cholesky(precisions_cholesky, n_features)
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    return log_weights, log_det


def fold_log_densities(stats: SufficientStatistics, log_prob: np.ndarray,
                       log_weights: np.ndarray, row_weights: np.ndarray | None,
                       labels: np.ndarray | None = None, label_rows: Any = None,
                       log_noise: float | None = None) -> np.ndarray | None:
    """Turn a block's component log densities into row-weighted responsibilities, in place.

    Adds ``log_weights``, normalises the rows (adding a uniform noise component of log
    density ``log_noise`` when given, :func:`~bayesmix.families.noise.fold_noise`), writes
    the most likely component of each row to ``labels[label_rows]`` when ``labels`` is
    given (-1 where the noise is more likely) and adds the rows' (weighted)
    log-likelihood to ``stats``; ``row_weights=None`` means unit weights.

    Returns
    -------
    ndarray of shape (n_rows,) or None
        The rows' (weighted) noise responsibilities; None without ``log_noise``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.sources import fold_log_densities
    >>> from bayesmix.em.statistics import SufficientStatistics
    >>> stats = SufficientStatistics.zeros(2, 1, get_structure("VII"))
    >>> log_prob = np.log([[1.0, 3.0]])
    >>> fold_log_densities(stats, log_prob, np.zeros(2), np.array([2.0]))
    >>> log_prob, round(float(stats.log_likelihood), 6)
    (array([[0.5, 1.5]]), 2.772589)
    >>> log_prob = np.log([[1.0, 3.0]])
    >>> fold_log_densities(stats, log_prob, np.zeros(2), None, log_noise=np.log(4.0))
    array([0.5])
    """
    log_prob += log_weights
    log_norm = normalise_rows(log_prob)
    block_labels = None if labels is None else log_prob.argmax(axis=1)
    noise_resp = (None if log_noise is None
                  else fold_noise(log_prob, log_norm, log_noise, block_labels))
    if labels is not None:
        labels[label_rows] = block_labels
    if row_weights is None:
        stats.log_likelihood += log_norm.sum(dtype=np.float64)
    else:
        stats.log_likelihood += row_weights @ log_norm
        log_prob *= row_weights[:, np.newaxis]
        if noise_resp is not None:
            noise_resp *= row_weights
    return noise_resp


def block_statistics(
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    rows: slice,
    shift: np.ndarray,
    structure: CovarianceStructure,
    log_weights: np.ndarray,
    means: np.ndarray,
    precisions_cholesky: np.ndarray,
    log_det: np.ndarray,
    labels: np.ndarray | None = None,
    log_noise: float | None = None,
) -> SufficientStatistics:
    """The E step over ``X[rows] - shift``, block by block, folded into statistics.

    The kernel every source maps over its rows (row ranges of an array, Dask chunks).
    ``sample_weight=None`` means unit weights (a faster path); ``labels``, when given,
    receives the most likely component of each row (-1 for the noise component).
    ``log_noise``, when given, is a noise component's ``log(pi_0) - log(V)``
    (:func:`~bayesmix.families.noise.fold_noise`): its count is the statistics'
    ``noise_count``, and the pooled structures get the scatter weighted by the
    components' share in ``total_scatter``. The blocks are computed in ``X``'s
    precision (float32 rows: float32 products, added up in the float64 statistics).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.sources import block_statistics
    >>> X = np.array([[0.0], [2.0]])
    >>> stats = block_statistics(X, None, slice(0, 2), np.array([1.0]), get_structure("VII"),
    ...                          np.zeros(1), np.zeros((1, 1)), np.ones(1), np.zeros(1))
    >>> stats.counts, stats.sums
    (array([2.]), array([[0.]]))
    """
    n_components, n_features = means.shape
    stats = SufficientStatistics.zeros(n_components, n_features, structure)
    if log_noise is not None and structure.needs_total_scatter:
        stats.total_scatter = np.zeros((n_features, n_features))
    width = structure.row_width(n_components, n_features)
    if X.dtype != np.float64:
        shift, log_weights, means, precisions_cholesky, log_det = (
            np.asarray(value, dtype=X.dtype)
            for value in (shift, log_weights, means, precisions_cholesky, log_det))
    for block_rows, block in centred_blocks(X, rows, width, shift):
        resp = component_log_prob(block, means, precisions_cholesky, structure, log_det)
        noise_resp = fold_log_densities(
            stats, resp, log_weights, None if sample_weight is None else sample_weight[block_rows],
            labels, block_rows, log_noise)
        stats.add_block(block, resp)
        if noise_resp is not None:
            stats.noise_count += float(noise_resp.sum())
            if stats.total_scatter is not None:
                stats.add_scatter(block, resp.sum(axis=1))
    return stats


class RowsInMemory:
    """What the in-memory sources share: validated rows, their weights, and passes run
    over row ranges on threads (:meth:`session`).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Validated as an estimator's ``fit`` validates it (at least two rows).
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative row weights; ``None`` means unit weights.
    allow_missing : bool, default=False
        Accept NaN as missing values.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.sources import RowsInMemory
    >>> rows = RowsInMemory(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]]), [1.0, 0.0, 2.0])
    >>> rows.n_samples, rows.n_positive, rows.total_weight
    (3, 2, 3.0)
    """

    def __init__(self, X: Any, sample_weight: Any = None, *,
                 allow_missing: bool = False) -> None:
        self.X = validate_data(self, X, reset=True, min_samples=2, keep_float32=True,
                               allow_missing=allow_missing)
        self.dtype = self.X.dtype
        self.n_samples, self.n_features = self.X.shape
        weights = check_sample_weight(sample_weight, self.n_samples)
        self.n_positive = int(np.count_nonzero(weights))
        # The E step takes None for unit weights, a faster path.
        self.sample_weight = None if sample_weight is None else weights
        self.total_weight = float(weights.sum())
        self._weights = weights
        self.cache: dict[Any, Any] = {}
        self._threads: RowThreads | None = None

    @contextmanager
    def session(self, row_width: int) -> Iterator[RowsInMemory]:
        """Thread pool (or single-thread limits) for the passes of one fit.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.em.sources import InMemorySource
        >>> source = InMemorySource(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]]))
        >>> with source.session(row_width=4) as opened:
        ...     opened is source
        True
        """
        with RowThreads(self.n_samples, row_width) as threads:
            self._threads = threads
            try:
                yield self
            finally:
                self._threads = None

    @property
    def training_rows(self) -> np.ndarray:
        """The rows (NaN where missing), kept by a fitted estimator for its InferenceData."""
        return self.X

    def new_labels(self) -> np.ndarray:
        """An array for the final E step to write each row's most likely component into.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.em.sources import InMemorySource
        >>> InMemorySource(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]])).new_labels().shape
        (3,)
        """
        return np.empty(self.n_samples, dtype=np.intp)


class InMemorySource(RowsInMemory):
    """The rows of an in-memory array; each pass runs over row ranges on threads.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Validated here as an estimator's ``fit`` validates it (at least two rows).
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative row weights; ``None`` means unit weights.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.em.sources import InMemorySource
    >>> source = InMemorySource(load_old_faithful())
    >>> source.n_samples, source.shift.round(2), list(source.feature_names_in_)
    (272, array([ 3.49, 70.9 ]), ['eruptions', 'waiting'])
    >>> em = GaussianMixtureEM(2, random_state=0).fit(source)  # validated once, reusable
    >>> em.means_.shape
    (2, 2)
    """

    def __init__(self, X: Any, sample_weight: Any = None) -> None:
        super().__init__(X, sample_weight)
        self.shift = (self._weights @ self.X) / self.total_weight

    @cached_property
    def scatter(self) -> np.ndarray:
        """``sum_n w_n (x_n - shift)(x_n - shift)^T``, computed on first use (D x D).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.em.sources import InMemorySource
        >>> source = InMemorySource(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]]))
        >>> source.scatter
        array([[ 8., 14.],
               [14., 26.]])
        """
        check_memory(8.0 * self.n_features**2, f"the scatter matrix of {self.n_features} "
                     f"features", "Use covariance_type='diag' or 'spherical'.")
        with RowThreads(self.n_samples, self.n_features) as threads:
            return sum(threads.map(
                lambda rows: scatter_matrix(self.X, self.sample_weight, rows, self.shift),
                self.n_samples))

    @cached_property
    def squares(self) -> np.ndarray:
        """``sum_n w_n (x_n - shift)^2`` per feature, computed on first use (D,).

        Read block by block without the D x D matrix, unless :attr:`scatter` is already
        known (its diagonal).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.em.sources import InMemorySource
        >>> InMemorySource(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]])).squares
        array([ 8., 26.])
        """
        if "scatter" in vars(self):
            return np.diagonal(self.scatter).copy()
        squares = np.zeros(self.n_features)
        for rows, block in centred_blocks(self.X, slice(0, self.n_samples), self.n_features,
                                          self.shift):
            weighted = block if self.sample_weight is None else (
                block * self.sample_weight[rows, None])
            squares += np.einsum("nd,nd->d", weighted, block)
        return squares

    def data_covariance(self, full: bool) -> np.ndarray:
        """The data's weighted covariance (D, D), or only its variances (D,) if not ``full``
        (from :attr:`squares`, without the D x D matrix).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.em.sources import InMemorySource
        >>> source = InMemorySource(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]]))
        >>> source.data_covariance(full=False).round(3)
        array([2.667, 8.667])
        """
        if full:
            return self.scatter / self.total_weight
        return self.squares / self.total_weight

    def initialisation_sample(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows initialisers run on (all of them) and their weights.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.em.sources import InMemorySource
        >>> source = InMemorySource(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]]))
        >>> rows, weights = source.initialisation_sample()
        >>> rows.shape, weights
        ((3, 2), array([1., 1., 1.]))
        """
        return self.X, self._weights

    def initialisation_scatter(self) -> np.ndarray:
        """The scatter matrix of the initialisation sample about ``shift``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.em.sources import InMemorySource
        >>> source = InMemorySource(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]]))
        >>> bool((source.initialisation_scatter() == source.scatter).all())
        True
        """
        return self.scatter

    def e_step(self, structure: CovarianceStructure, weights: np.ndarray, means: np.ndarray,
               precisions_cholesky: np.ndarray, labels: np.ndarray | None = None,
               log_noise: float | None = None) -> SufficientStatistics:
        """One pass over the rows at the given (centred) parameters.

        ``log_noise``: a noise component's ``log(pi_0) - log(V)``, or ``None`` for none
        (see :func:`block_statistics`).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.em.sources import InMemorySource
        >>> source = InMemorySource(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]]))
        >>> from bayesmix.covariance import get_structure
        >>> stats = source.e_step(get_structure("VII"), np.ones(1), np.zeros((1, 2)),
        ...                       np.ones(1))
        >>> stats.counts
        array([3.])
        """
        log_weights, log_det = e_step_constants(structure, weights, precisions_cholesky,
                                                self.n_features)
        threads = self._threads or RowThreads(self.n_samples)

        def statistics(rows: slice) -> SufficientStatistics:
            return block_statistics(self.X, self.sample_weight, rows, self.shift, structure,
                                    log_weights, means, precisions_cholesky, log_det, labels,
                                    log_noise)

        parts = threads.map(statistics, self.n_samples)
        return parts[0] if len(parts) == 1 else SufficientStatistics.total(parts)
