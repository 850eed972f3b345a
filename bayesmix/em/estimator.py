"""Maximum-likelihood Gaussian mixtures fitted by expectation-maximisation.

:class:`GaussianMixtureEM` is a drop-in for :class:`sklearn.mixture.GaussianMixture`
(same parameters, methods and fitted attributes, the same iterates from the same initial
parameters) that is faster and says more about its fit: sample weights, the ICL
criterion, the convergence history, degenerate-component detection and export to the
bayesmix :class:`arviz.InferenceData` layout.

Speed comes from doing each EM iteration as one streaming pass over the rows of ``X``:
for a cache-sized block of rows, the E step evaluates every component at once in a
single matrix product (:mod:`bayesmix.density`) and the block's responsibilities are
immediately folded into the sufficient statistics (weighted counts, sums and second
moments) of the M step, again as matrix products. Nothing of size ``n_samples x
n_components x n_features`` is ever materialised.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils.validation import check_is_fitted

from bayesmix._parallel import RowThreads
from bayesmix._validation import (
    check_bool,
    check_covariance_type,
    check_int,
    check_memory,
    check_option,
    check_random_state,
    check_real,
    check_sample_weight,
    check_shape,
    validate_data,
)
from bayesmix.covariance import (
    cholesky_from_precisions,
    covariance_shape,
    covariances_from_precisions,
    log_det_cholesky,
    n_parameters,
    precision_cholesky,
    precisions_from_cholesky,
    to_full,
)
from bayesmix.density import (
    _log_gaussian_prob_chunk,
    _row_width,
    log_mixture_density,
    normalise_rows,
    responsibilities,
    row_chunks,
    weighted_log_prob,
)
from bayesmix.exceptions import ConvergenceWarning, DegenerateComponentWarning
from bayesmix.em.init import INIT_METHODS, initial_responsibilities
from bayesmix.scoring import information_criteria

__all__ = ["GaussianMixtureEM"]

#: Added to every component's weighted count, as scikit-learn does, so that an empty
#: component divides by a tiny number instead of zero.
_COUNT_FLOOR = 10 * np.finfo(np.float64).eps
#: An unregularised variance below this fraction of the data's own variance in the same
#: direction counts as collapsed even when ``reg_covar`` is zero.
_COLLAPSE_RTOL = 1e-10
#: A collapse along a direction where the data's own variance is within this factor of
#: ``reg_covar`` is blamed on the data's scale (constant, collinear or tiny columns).
_FLAT_FACTOR = 100.0


def _is_dask(X: Any) -> bool:
    """Whether ``X`` is a Dask collection, without importing Dask when it is not loaded."""
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(X)


@dataclass
class _SufficientStatistics:
    """Weighted sufficient statistics of one E step, summed over rows.

    ``second_moments`` is ``sum_n r_nk x_n x_n^T`` (K, D, D) for ``full`` and
    ``sum_n r_nk x_n**2`` (K, D) for ``diag`` and ``spherical``; ``tied`` needs only the
    total ``sum_n w_n x_n x_n^T``, which does not change between iterations.
    """

    log_likelihood: float
    counts: np.ndarray
    sums: np.ndarray
    second_moments: np.ndarray | None


def _empty_statistics(n_components: int, n_features: int, covariance_type: str
                      ) -> _SufficientStatistics:
    if covariance_type == "full":
        second = np.zeros((n_components * n_features, n_features))
    elif covariance_type in ("diag", "spherical"):
        second = np.zeros((n_components, n_features))
    else:
        second = None
    return _SufficientStatistics(0.0, np.zeros(n_components),
                                 np.zeros((n_components, n_features)), second)


def _add_block(stats: _SufficientStatistics, block: np.ndarray, resp: np.ndarray,
               covariance_type: str) -> None:
    """Fold one block of rows and its (row-weighted) responsibilities into ``stats``."""
    stats.counts += np.ones(resp.shape[0]) @ resp
    stats.sums += resp.T @ block
    if covariance_type == "full":
        weighted = resp[:, :, np.newaxis] * block[:, np.newaxis, :]
        stats.second_moments += weighted.reshape(block.shape[0], -1).T @ block
    elif stats.second_moments is not None:
        stats.second_moments += resp.T @ (block * block)


def _finish(stats: _SufficientStatistics, covariance_type: str) -> _SufficientStatistics:
    if covariance_type == "full":
        K, D = stats.sums.shape
        stats.second_moments = stats.second_moments.reshape(K, D, D)
    return stats


def _centred_blocks(X: np.ndarray, rows: slice, row_width: int, shift: np.ndarray
                    ) -> Iterator[tuple[slice, np.ndarray]]:
    """``(block_rows, X[block_rows] - shift)`` over ``X[rows]``, in cache-sized blocks.

    EM is translation invariant and centred second moments lose no precision, so the
    kernels centre each block as they read it instead of working on a centred copy of X.
    """
    for chunk in row_chunks(rows.stop - rows.start, row_width):
        block_rows = slice(rows.start + chunk.start, rows.start + chunk.stop)
        yield block_rows, X[block_rows] - shift


def _e_step_block_range(
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    rows: slice,
    log_weights: np.ndarray,
    means: np.ndarray,
    precisions_cholesky: np.ndarray,
    log_det: np.ndarray,
    covariance_type: str,
    labels: np.ndarray | None,
    shift: np.ndarray,
) -> _SufficientStatistics:
    """E step over ``X[rows] - shift``, block by block, folded into sufficient statistics.

    ``sample_weight=None`` means unit weights; ``labels``, when given, receives the most
    likely component of each row.
    """
    n_components, n_features = means.shape
    stats = _empty_statistics(n_components, n_features, covariance_type)
    width = _row_width(n_components, n_features, covariance_type)
    for block_rows, block in _centred_blocks(X, rows, width, shift):
        resp = _log_gaussian_prob_chunk(block, means, precisions_cholesky, covariance_type,
                                        log_det)
        resp += log_weights
        if labels is not None:
            labels[block_rows] = resp.argmax(axis=1)
        log_norm = normalise_rows(resp)
        if sample_weight is None:
            stats.log_likelihood += log_norm.sum()
        else:
            block_weight = sample_weight[block_rows]
            stats.log_likelihood += block_weight @ log_norm
            resp *= block_weight[:, np.newaxis]
        _add_block(stats, block, resp, covariance_type)
    return stats


def _sum_statistics(parts: list[_SufficientStatistics]) -> _SufficientStatistics:
    total = parts[0]
    for part in parts[1:]:
        total.log_likelihood += part.log_likelihood
        total.counts += part.counts
        total.sums += part.sums
        if total.second_moments is not None:
            total.second_moments += part.second_moments
    return total


def _e_step_statistics(
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    weights: np.ndarray,
    means: np.ndarray,
    precisions_cholesky: np.ndarray,
    covariance_type: str,
    threads: RowThreads,
    shift: np.ndarray,
    labels: np.ndarray | None = None,
) -> _SufficientStatistics:
    """One streaming pass over ``X - shift``: the statistics of the next M step.

    ``sample_weight=None`` means unit weights (a faster path); ``labels``, when given,
    receives the most likely component of each row.
    """
    n_features = means.shape[1]
    log_det = log_det_cholesky(precisions_cholesky, covariance_type, n_features)
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    parts = threads.map(
        lambda rows: _e_step_block_range(X, sample_weight, rows, log_weights, means,
                                         precisions_cholesky, log_det, covariance_type,
                                         labels, shift),
        X.shape[0])
    return _finish(_sum_statistics(parts), covariance_type)


def _statistics_from_responsibilities(X: np.ndarray, resp: np.ndarray, covariance_type: str,
                                      shift: np.ndarray) -> _SufficientStatistics:
    """Statistics of ``X - shift`` from given (already row-weighted) responsibilities."""
    stats = _empty_statistics(resp.shape[1], X.shape[1], covariance_type)
    width = _row_width(*stats.sums.shape, covariance_type)
    for rows, block in _centred_blocks(X, slice(0, X.shape[0]), width, shift):
        _add_block(stats, block, resp[rows], covariance_type)
    return _finish(stats, covariance_type)


def _scatter_rows(X: np.ndarray, sample_weight: np.ndarray | None, rows: slice,
                  shift: np.ndarray) -> np.ndarray:
    """``sum_n w_n y_n y_n^T`` with ``y = X[rows] - shift``, block by block.

    ``sample_weight=None`` means unit weights. Centred by the weighted mean of ``X``, this
    is the weighted scatter matrix: the data covariance times the total weight, and the
    total second moment of ``tied``.
    """
    n_features = X.shape[1]
    scatter = np.zeros((n_features, n_features))
    for block_rows, block in _centred_blocks(X, rows, n_features, shift):
        weighted = block if sample_weight is None else block * sample_weight[block_rows, None]
        scatter += weighted.T @ block
    return scatter


def _m_step(
    stats: _SufficientStatistics,
    total_second_moment: np.ndarray | None,
    covariance_type: str,
    reg_covar: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, means and covariances (stored shape) from sufficient statistics."""
    counts = stats.counts + _COUNT_FLOOR
    means = stats.sums / counts[:, np.newaxis]
    n_features = means.shape[1]
    if covariance_type == "full":
        covariances = stats.second_moments / counts[:, np.newaxis, np.newaxis]
        covariances -= means[:, :, np.newaxis] * means[:, np.newaxis, :]
        covariances[:, np.arange(n_features), np.arange(n_features)] += reg_covar
    elif covariance_type == "tied":
        covariances = total_second_moment - (counts * means.T) @ means
        covariances /= counts.sum()
        covariances.flat[:: n_features + 1] += reg_covar
    else:
        covariances = stats.second_moments / counts[:, np.newaxis] - means**2 + reg_covar
        if covariance_type == "spherical":
            covariances = covariances.mean(axis=1)
    weights = counts / counts.sum()
    return weights, means, covariances


def _collapsed_components(
    covariances: np.ndarray, covariance_type: str, reg_covar: float, data_covariance: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Which components' smallest variance sits at the regularisation floor.

    Returns the boolean mask, each component's smallest (regularised) variance, the
    unit direction of that variance (``None`` for ``spherical``, which has no preferred
    direction) and the data's own variance in that direction.
    """
    n_features = data_covariance.shape[0]
    if covariance_type == "spherical":
        smallest, directions = covariances, None
        data_variance = np.full(covariances.shape, np.trace(data_covariance) / n_features)
    else:
        if covariance_type == "diag":
            smallest = covariances.min(axis=1)
            directions = np.eye(n_features)[covariances.argmin(axis=1)]
        else:
            eigenvalues, eigenvectors = np.linalg.eigh(covariances)
            smallest, directions = eigenvalues[..., 0], eigenvectors[..., 0]
            if covariance_type == "tied":
                smallest, directions = smallest[np.newaxis], directions[np.newaxis]
        data_variance = np.einsum("kd,de,ke->k", directions, data_covariance, directions)
    unregularised = smallest - reg_covar
    collapsed = (unregularised <= reg_covar) | (unregularised <= _COLLAPSE_RTOL * data_variance)
    return collapsed, smallest, directions, data_variance


class GaussianMixtureEM(DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by maximum likelihood with the EM algorithm.

    A scikit-learn compatible drop-in for :class:`sklearn.mixture.GaussianMixture`, with
    the same parameters and iterates, that adds ``sample_weight``, :meth:`icl`, the
    convergence history, degenerate-component detection and :meth:`to_inference_data`.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Covariance structure (see :mod:`bayesmix.covariance`).
    tol : float, default=1e-3
        Convergence threshold on the change of the mean log-likelihood per sample.
    reg_covar : float, default=1e-6
        Non-negative regularisation added to the diagonal of every covariance.
    max_iter : int, default=100
        Number of EM iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the one with the highest likelihood is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        How the initial responsibilities are chosen (see :mod:`bayesmix.em.init`).
    weights_init : array-like of shape (n_components,), optional
        Initial weights; replace those of ``init_params``.
    means_init : array-like of shape (n_components, n_features), optional
        Initial means.
    precisions_init : array-like, optional
        Initial precisions (inverse covariances), in the stored shape of the structure.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisations (each restart draws its own seed from it, so a seed
        gives the same fit) and :meth:`sample`.
    warm_start : bool, default=False
        Start each ``fit`` from the previous solution (``n_init`` is then ignored).
    verbose : int, default=0
        Print progress: 1 per initialisation, 2 also every ``verbose_interval`` steps.
    verbose_interval : int, default=10
        Iterations between two progress lines.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        Stored shape of the structure: (K, D, D) full, (D, D) tied, (K, D) diag, (K,)
        spherical.
    precisions_ : ndarray
        Inverses of ``covariances_``, same shape.
    precisions_cholesky_ : ndarray
        Upper Cholesky factors of ``precisions_`` (``precision = U @ U.T``).
    converged_ : bool
        Whether the best initialisation converged within ``max_iter``.
    n_iter_ : int
        Iterations of the best initialisation.
    lower_bound_ : float
        Mean log-likelihood per sample at the last iteration of the best initialisation.
    lower_bound_history_ : ndarray of shape ``(n_iter_,)``
        Mean log-likelihood per sample at every iteration of the best initialisation.
    degenerate_components_ : list of int
        Components whose covariance collapsed or that hold too few points (see Notes).
    degenerate_reasons_ : dict of int to str
        Why each of ``degenerate_components_`` is degenerate, in words.
    fit_time_ : float
        Wall time of the last ``fit``, in seconds.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame with string column names.

    Notes
    -----
    A component is *degenerate* when its smallest variance sits at the regularisation
    floor (the unregularised variance is at most ``reg_covar``, or at most ``1e-10`` of the
    data's variance in that direction), which happens when it collapses onto repeated or
    rounded values, or when it holds fewer effective points than its covariance needs
    (``n_features + 1`` for ``full``, 2 for ``diag`` and ``spherical``, 1 for ``tied``).
    The likelihood of such a fit is inflated by a near-singular covariance, so it must not
    be read as a good model: a :class:`~bayesmix.exceptions.DegenerateComponentWarning`
    is raised and model selection (:func:`bayesmix.select_em`) never picks it.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> X = load_old_faithful()
    >>> em = GaussianMixtureEM(n_components=3, covariance_type="tied", n_init=5,
    ...                        random_state=0).fit(X)
    >>> em.weights_.round(2)
    array([0.47, 0.36, 0.17])
    >>> round(em.score(X) * len(X), 1)
    -1126.3
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Any = None,
        means_init: Any = None,
        precisions_init: Any = None,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # ------------------------------------------------------------------ validation
    def _check_parameters(self, n_features: int) -> dict[str, np.ndarray]:
        """Validate the constructor parameters; return the initial values given."""
        K = check_int(self.n_components, "n_components", min_value=1)
        check_covariance_type(self.covariance_type)
        check_real(self.tol, "tol", min_value=0.0)
        check_real(self.reg_covar, "reg_covar", min_value=0.0)
        check_int(self.max_iter, "max_iter", min_value=0)
        check_int(self.n_init, "n_init", min_value=1)
        check_option(self.init_params, "init_params", INIT_METHODS)
        check_int(self.verbose, "verbose", min_value=0)
        check_int(self.verbose_interval, "verbose_interval", min_value=1)
        check_bool(self.warm_start, "warm_start")
        given = {}
        if self.weights_init is not None:
            weights = check_shape(self.weights_init, "weights_init", (K,), "(n_components,)")
            if (weights < 0).any() or not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-6):
                raise ValueError(
                    f"weights_init must be non-negative and sum to 1, got {weights} (sum "
                    f"{weights.sum():.6g}). Normalise it: weights_init / weights_init.sum()."
                )
            given["weights"] = weights
        if self.means_init is not None:
            given["means"] = check_shape(self.means_init, "means_init", (K, n_features),
                                         "(n_components, n_features)")
        if self.precisions_init is not None:
            shape = covariance_shape(self.covariance_type, K, n_features)
            meaning = {"full": "(n_components, n_features, n_features)",
                       "tied": "(n_features, n_features)", "diag": "(n_components, n_features)",
                       "spherical": "(n_components,)"}[self.covariance_type]
            precisions = check_shape(self.precisions_init, "precisions_init", shape,
                                     f"{meaning} for covariance_type={self.covariance_type!r}")
            given["precisions_cholesky"] = _check_precisions(precisions, self.covariance_type)
        return given

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> GaussianMixtureEM:
        """Fit the mixture with EM, keeping the best of ``n_init`` initialisations.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            A Dask array or DataFrame is fitted chunk by chunk on the active Dask
            scheduler, without loading it (see the *Large data* guide).
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative row weights: a row of weight ``w`` counts as ``w`` rows.

        Returns
        -------
        self : GaussianMixtureEM

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import GaussianMixtureEM
        >>> X = np.array([[0.0], [0.2], [0.1], [5.0], [5.2], [5.1]])
        >>> GaussianMixtureEM(2, random_state=0).fit(X).means_.ravel().round(2)
        array([0.1, 5.1])
        """
        self.fit_predict(X, y, sample_weight=sample_weight)
        return self

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit the mixture and return the most likely component of each row.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import GaussianMixtureEM
        >>> X = np.array([[0.0], [0.2], [0.1], [5.0], [5.2], [5.1]])
        >>> GaussianMixtureEM(2, random_state=0).fit_predict(X)
        array([0, 0, 0, 1, 1, 1])
        """
        start_time = time.perf_counter()
        check_int(self.n_components, "n_components", min_value=1)
        if _is_dask(X):
            from bayesmix.em.dask_source import fit_predict_dask

            return fit_predict_dask(self, X, sample_weight, start_time)
        if _is_dask(sample_weight):
            sample_weight = sample_weight.compute()
        X = validate_data(self, X, reset=True, min_samples=2)
        n_samples, n_features = X.shape
        self._check_n_samples(n_samples)
        given = self._check_parameters(n_features)
        check_memory(8.0 * np.prod(covariance_shape(self.covariance_type, self.n_components,
                                                     n_features)) * 3,
                     f"GaussianMixtureEM(n_components={self.n_components}, covariance_type="
                     f"{self.covariance_type!r}) on {n_features} features",
                     "Use covariance_type='diag' or 'spherical', or reduce the features.")
        unit_weights = sample_weight is None
        sample_weight = check_sample_weight(sample_weight, n_samples)
        self._check_n_positive_weights(np.count_nonzero(sample_weight))

        # EM is translation invariant: the kernels centre each block of rows by the
        # weighted mean as they read it, for accurate second moments without a copy of X.
        shift = (sample_weight @ X) / sample_weight.sum()
        if "means" in given:
            given["means"] = given["means"] - shift

        warm = self.warm_start and hasattr(self, "converged_")
        n_init = 1 if warm else self.n_init
        seeds = check_random_state(self.random_state).randint(np.iinfo(np.int32).max,
                                                              size=n_init)
        # The streaming E step takes None for unit weights, a faster path.
        stream_weight = None if unit_weights else sample_weight
        width = _row_width(self.n_components, n_features, self.covariance_type)
        with RowThreads(n_samples, width) as threads:
            scatter = sum(threads.map(lambda rows: _scatter_rows(X, stream_weight, rows, shift),
                                      n_samples))
            total_second_moment = scatter if self.covariance_type == "tied" else None

            def e_step(weights, means, factors, labels=None):
                return _e_step_statistics(X, stream_weight, weights, means, factors,
                                          self.covariance_type, threads, shift, labels=labels)

            def initialise(random_state):
                return self._initial_parameters(X, shift, sample_weight, given, random_state,
                                                total_second_moment)

            best = self._fit_restarts(initialise, e_step, sample_weight.sum(), seeds, warm,
                                      shift, total_second_moment)
            # Final E step, so that the labels agree with the returned parameters.
            labels = np.empty(n_samples, dtype=np.intp)
            weights, means, _, factors = best["params"]
            final = e_step(weights, means, factors, labels=labels)

        self._store_fit(best, n_init, shift, final.counts, scatter / sample_weight.sum())
        self._X_fit = X
        self.fit_time_ = time.perf_counter() - start_time
        return labels

    def _check_n_samples(self, n_samples: int) -> None:
        if n_samples < self.n_components:
            raise ValueError(
                f"X has {n_samples} samples but n_components={self.n_components}: a mixture "
                f"needs at least as many samples as components. Lower n_components or pass "
                f"more rows."
            )

    def _check_n_positive_weights(self, n_positive: int) -> None:
        if n_positive < self.n_components:
            raise ValueError(
                f"sample_weight has {n_positive} non-zero entries but "
                f"n_components={self.n_components}; at least as many rows as components "
                f"need a positive weight."
            )

    def _store_fit(self, best: dict, n_init: int, shift: np.ndarray, counts: np.ndarray,
                   data_covariance: np.ndarray) -> None:
        """Set the fitted attributes from the best run; warn if it did not converge."""
        if not best["converged"] and self.max_iter > 0:
            warnings.warn(
                f"The best of {n_init} initialisation(s) did not converge in max_iter="
                f"{self.max_iter} iterations (last change of the mean log-likelihood "
                f"{best['last_change']:.3g} > tol={self.tol}). Raise max_iter or tol, or "
                f"check the data and initialisation.",
                ConvergenceWarning,
                stacklevel=3,
            )
        weights, means, covariances, factors = best["params"]
        self._set_parameters(weights, means + shift, covariances, factors)
        self.converged_ = best["converged"]
        self.n_iter_ = best["n_iter"]
        self.lower_bound_ = best["lower_bound"]
        self.lower_bound_history_ = np.asarray(best["history"])
        self.degenerate_reasons_ = self._find_degenerate(counts, data_covariance)
        self.degenerate_components_ = list(self.degenerate_reasons_)

    def _fit_restarts(self, initialise, e_step, total_weight, seeds, warm, shift,
                      total_second_moment) -> dict:
        """Run EM from every initialisation (or the warm start); return the best run.

        ``initialise(random_state)`` returns the starting parameters of one run and
        ``e_step(weights, means, precisions_cholesky)`` the sufficient statistics of one
        pass over the (centred) data. The best run has the highest lower bound, an exact
        tie going to the smaller seed, so the choice depends on the set of seeds only, not
        on the order they are run in.
        """
        best, best_rank = None, None
        for init, seed in enumerate(seeds):
            if warm:
                params = (self.weights_, self.means_ - shift, self.covariances_,
                          self.precisions_cholesky_)
                start = self.lower_bound_
            else:
                params = initialise(np.random.RandomState(seed))
                start = -np.inf
            run = self._run_em(e_step, total_weight, params, total_second_moment, init, start)
            rank = (run["lower_bound"], -int(seed))
            if best is None or rank > best_rank:
                best, best_rank = run, rank
        return best

    def _initial_parameters(self, X, shift, sample_weight, given, random_state,
                            total_second_moment):
        """Parameters (of the data centred by ``shift``) to start one EM run from.

        Weights, means, covariances and precision factors; the initial assignment is made
        on ``X`` itself (:func:`~bayesmix.em.init.initial_responsibilities`).
        """
        if {"weights", "means", "precisions_cholesky"} <= given.keys():
            weights, means, factors = (given["weights"], given["means"],
                                       given["precisions_cholesky"])
            covariances = covariances_from_precisions(
                precisions_from_cholesky(factors, self.covariance_type), self.covariance_type)
            return weights, means, covariances, factors
        resp = initial_responsibilities(X, self.n_components, self.init_params, random_state,
                                        sample_weight)
        resp *= sample_weight[:, np.newaxis]
        stats = _statistics_from_responsibilities(X, resp, self.covariance_type, shift)
        weights, means, covariances = _m_step(stats, total_second_moment, self.covariance_type,
                                              self.reg_covar)
        weights = given.get("weights", weights)
        means = given.get("means", means)
        if "precisions_cholesky" in given:
            factors = given["precisions_cholesky"]
            covariances = covariances_from_precisions(
                precisions_from_cholesky(factors, self.covariance_type), self.covariance_type)
        else:
            factors = precision_cholesky(covariances, self.covariance_type)
        return weights, means, covariances, factors

    def _run_em(self, e_step, total_weight, params, total_second_moment, init, lower_bound):
        """Iterate EM from ``params``; return the final state and its history."""
        weights, means, covariances, factors = params
        history, converged, change = [], False, np.inf
        n_iter = 0
        if self.verbose:
            print(f"Initialization {init}")
        for n_iter in range(1, self.max_iter + 1):
            previous = lower_bound
            stats = e_step(weights, means, factors)
            weights, means, covariances = _m_step(stats, total_second_moment,
                                                  self.covariance_type, self.reg_covar)
            factors = precision_cholesky(covariances, self.covariance_type)
            lower_bound = stats.log_likelihood / total_weight
            history.append(lower_bound)
            change = lower_bound - previous
            if self.verbose >= 2 and n_iter % self.verbose_interval == 0:
                print(f"  Iteration {n_iter}\t mean log-likelihood {lower_bound:.6f}\t "
                      f"change {change:.3g}")
            if abs(change) < self.tol:
                converged = True
                break
        if self.verbose:
            status = "converged" if converged else "did not converge"
            print(f"Initialization {status}: {n_iter} iterations, lower bound {lower_bound:.6f}")
        return {"params": (weights, means, covariances, factors), "lower_bound": lower_bound,
                "history": history, "converged": converged, "n_iter": n_iter,
                "last_change": change}

    def _set_parameters(self, weights, means, covariances, precisions_cholesky) -> None:
        self.weights_ = weights
        self.means_ = means
        self.covariances_ = covariances
        self.precisions_cholesky_ = precisions_cholesky
        self.precisions_ = precisions_from_cholesky(precisions_cholesky, self.covariance_type)

    # ------------------------------------------------------------------ diagnostics
    def _find_degenerate(self, counts: np.ndarray, data_covariance: np.ndarray
                         ) -> dict[int, str]:
        """Flag collapsed and starved components, warn once listing them and why."""
        K, D = self.n_components, data_covariance.shape[0]
        collapsed, smallest, directions, data_variance = _collapsed_components(
            self.covariances_, self.covariance_type, self.reg_covar, data_covariance)
        if self.covariance_type == "tied":  # one shared covariance: all or none collapse
            collapsed = np.repeat(collapsed, K)
            smallest = np.repeat(smallest, K)
            directions = np.repeat(directions, K, axis=0)
            data_variance = np.repeat(data_variance, K)
        min_points = {"full": D + 1, "tied": 1, "diag": 2, "spherical": 2}[self.covariance_type]
        starved = counts < min_points
        degenerate = np.flatnonzero(collapsed | starved)
        reasons = {}
        for k in degenerate:
            why = []
            if collapsed[k]:
                where = "" if directions is None else (
                    f", mostly along feature {self._feature_label(np.abs(directions[k]).argmax())!r}")
                why.append(f"its smallest variance {smallest[k]:.3g} is at the reg_covar floor "
                           f"({self.reg_covar:g}{where})")
            if starved[k]:
                why.append(f"it holds {counts[k]:.3g} effective points, fewer than the "
                           f"{min_points} its covariance needs")
            reasons[int(k)] = " and ".join(why)
        if reasons:
            listed = "; ".join(f"component {k}: {why}" for k, why in reasons.items())
            flat = collapsed & (data_variance <= _FLAT_FACTOR * self.reg_covar)
            if flat.any():
                # The data itself (not one component) barely varies in that direction.
                listed += (
                    f". X itself varies by only {data_variance[flat].min():.3g} (variance) "
                    f"along that direction, within {_FLAT_FACTOR:g} times reg_covar: drop "
                    f"constant or collinear columns, or standardise X"
                )
            warnings.warn(
                f"{len(reasons)} of {K} components are degenerate, so this fit is not a "
                f"trustworthy density model; {listed}. This happens when "
                f"a component collapses onto repeated or rounded values. Use fewer components "
                f"or a constrained covariance_type ('tied'), raise reg_covar, or jitter "
                f"rounded data; bayesmix.select_em never selects such a fit.",
                DegenerateComponentWarning,
                stacklevel=4,
            )
        return reasons

    def _feature_label(self, j: int) -> str:
        names = getattr(self, "feature_names_in_", None)
        return str(names[j]) if names is not None else f"x{j}"

    # ------------------------------------------------------------------ prediction
    def _check_X(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return validate_data(self, X, reset=False)

    def _parameters(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        return self.weights_, self.means_, self.precisions_cholesky_, self.covariance_type

    def _weighted_log_prob(self, X: Any) -> np.ndarray:
        return weighted_log_prob(self._check_X(X), *self._parameters())

    def score_samples(self, X: Any) -> np.ndarray:
        """Log density of the mixture at each row of ``X``.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
        >>> em.score_samples(X.iloc[:2]).round(3)
        array([-4.638, -3.673])
        """
        if _is_dask(X):
            return _map_dask_rows(self, X, "score_samples")
        return log_mixture_density(self._check_X(X), *self._parameters())

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood per row of ``X``.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> X = load_old_faithful()
        >>> round(GaussianMixtureEM(2, random_state=0).fit(X).score(X), 4)
        -4.1554
        """
        mean = self.score_samples(X).mean()
        return float(mean.compute() if _is_dask(mean) else mean)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Responsibilities: probability of each component for each row.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
        >>> em.predict_proba(X.iloc[:2]).round(3)
        array([[0., 1.],
               [1., 0.]])
        """
        if _is_dask(X):
            return _map_dask_rows(self, X, "predict_proba")
        return responsibilities(self._check_X(X), *self._parameters())

    def predict(self, X: Any) -> np.ndarray:
        """Most likely component of each row.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> X = load_old_faithful()
        >>> GaussianMixtureEM(2, random_state=0).fit(X).predict(X.iloc[:4])
        array([1, 0, 1, 0])
        """
        if _is_dask(X):
            return _map_dask_rows(self, X, "predict")
        return self._weighted_log_prob(X).argmax(axis=1)

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw rows from the fitted mixture.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        labels : ndarray of shape (n_samples,)
            The component each row was drawn from.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> em = GaussianMixtureEM(2, random_state=0).fit(load_old_faithful())
        >>> X, labels = em.sample(5)
        >>> X.shape, labels.shape
        ((5, 2), (5,))
        """
        check_is_fitted(self)
        n_samples = check_int(n_samples, "n_samples", min_value=1)
        n_features = self.means_.shape[1]
        check_memory(8.0 * n_samples * n_features * 2, f"sample(n_samples={n_samples})",
                     "Draw fewer rows, in batches if need be.")
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        full = to_full(self.covariances_, self.covariance_type, self.n_components,
                       self.means_.shape[1])
        X = np.vstack([rng.multivariate_normal(mean, cov, int(count))
                       for mean, cov, count in zip(self.means_, full, counts)])
        labels = np.repeat(np.arange(self.n_components), counts)
        return X, labels

    # ------------------------------------------------------------------ criteria
    def _n_parameters(self) -> int:
        return n_parameters(self.n_components, self.means_.shape[1], self.covariance_type)

    def _criteria(self, X: Any) -> dict[str, float]:
        return information_criteria(self._weighted_log_prob(X), self._n_parameters())

    def bic(self, X: Any) -> float:
        """Bayesian information criterion (lower is better): ``-2 log L + p log N``.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(3, covariance_type="tied", n_init=5, random_state=0).fit(X)
        >>> round(em.bic(X), 2)
        2314.36
        """
        return self._criteria(X)["bic"]

    def aic(self, X: Any) -> float:
        """Akaike information criterion (lower is better): ``-2 log L + 2 p``.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(3, covariance_type="tied", n_init=5, random_state=0).fit(X)
        >>> round(em.aic(X), 2)
        2274.69
        """
        return self._criteria(X)["aic"]

    def icl(self, X: Any) -> float:
        """Integrated completed likelihood (mclust's ICL in BIC's sign; lower is better).

        ``BIC + 2 * E``, where ``E = -sum_n log max_k r_nk`` is the entropy of the hard
        classification: ICL penalises components that overlap.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(3, covariance_type="tied", random_state=0).fit(X)
        >>> bool(em.icl(X) >= em.bic(X))
        True
        """
        return self._criteria(X)["icl"]

    # ------------------------------------------------------------------ export
    def to_inference_data(self, X: Any = None):
        """The fit as a point-mass :class:`arviz.InferenceData` (one chain, one draw).

        Parameters
        ----------
        X : array-like, optional
            Data for ``observed_data`` and the pointwise ``log_likelihood``; the training
            data by default.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> em = GaussianMixtureEM(2, random_state=0).fit(load_old_faithful())
        >>> idata = em.to_inference_data()
        >>> dict(idata.posterior["covariances"].sizes)
        {'chain': 1, 'draw': 1, 'component': 2, 'feature': 2, 'feature_bis': 2}
        >>> idata.posterior.feature.values.tolist()
        ['eruptions', 'waiting']
        """
        from bayesmix.results import build_inference_data

        check_is_fitted(self)
        if X is None and self._X_fit is None:
            raise ValueError(
                "This GaussianMixtureEM was fitted on a Dask collection, whose rows it does "
                "not keep; pass the data for observed_data explicitly: "
                "to_inference_data(X=...) with an in-memory array (e.g. a sample of the rows)."
            )
        X = self._X_fit if X is None else validate_data(self, X, reset=False)
        K, D = self.means_.shape
        full = to_full(self.covariances_, self.covariance_type, K, D)
        point = np.newaxis, np.newaxis
        log_likelihood = log_mixture_density(X, *self._parameters())
        raw = {}
        if self.covariance_type in ("diag", "spherical"):
            dims = ("component", "feature")[: self.covariances_.ndim]
            raw["variances"] = (self.covariances_[point], ("chain", "draw") + dims)
        history = self.lower_bound_history_
        stats = {
            "lower_bound_history": (history[point], ("chain", "draw", "iteration")),
            "converged": (np.array([[self.converged_]]), ("chain", "draw")),
            "n_iter": (np.array([[self.n_iter_]]), ("chain", "draw")),
        }
        names = getattr(self, "feature_names_in_", None)
        return build_inference_data(
            X=X, weights=self.weights_[point], means=self.means_[point],
            covariances=full[point], covariance_type=self.covariance_type,
            inference_method="em", feature_names=None if names is None else list(names),
            log_likelihood=log_likelihood[point], raw_parameters=raw, sample_stats=stats,
            extra_coords={"iteration": np.arange(1, len(history) + 1)},
            attrs={"reg_covar": float(self.reg_covar), "fit_time": self.fit_time_,
                   "degenerate_components": list(self.degenerate_components_)},
        )

    #: What :mod:`bayesmix.persistence` stores of a fit (the attributes present); the
    #: training rows are the saved file's ``observed_data``.
    fitted_attributes = (
        "weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
        "converged_", "n_iter_", "lower_bound_", "lower_bound_history_",
        "degenerate_components_", "degenerate_reasons_", "fit_time_", "n_features_in_",
        "feature_names_in_",
    )

    def restore_fitted_state(self, fitted: dict[str, Any], idata: Any) -> None:
        """Set the fitted attributes read from a saved file (:func:`bayesmix.load`).

        Parameters
        ----------
        fitted : dict
            The saved values of :attr:`fitted_attributes`.
        idata : arviz.InferenceData
            The file's InferenceData; its ``observed_data`` holds the training rows.
        """
        for name, value in fitted.items():
            setattr(self, name, value)
        self._X_fit = idata.observed_data["x"].values

    def save(self, path: Any, overwrite: bool = False) -> Any:
        """Write the fitted model to one netCDF file; :func:`bayesmix.load` reads it back.

        Every fitted array is stored, so the reloaded model predicts and scores
        bit-identically. See :func:`bayesmix.persistence.save`.

        Parameters
        ----------
        path : str or path-like
        overwrite : bool, default=False
            Replace ``path`` if it exists (otherwise ``FileExistsError``).

        Returns
        -------
        pathlib.Path

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from bayesmix import GaussianMixtureEM, load, load_old_faithful
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     reloaded = load(em.save(Path(folder) / "em.nc"))
        >>> bool((reloaded.score_samples(X) == em.score_samples(X)).all())
        True
        """
        from bayesmix.persistence import save

        return save(self, path, overwrite=overwrite)


def _map_dask_rows(estimator: GaussianMixtureEM, X: Any, method: str) -> Any:
    from bayesmix.em.dask_source import map_rows

    return map_rows(estimator, X, method)


def _check_precisions(precisions: np.ndarray, covariance_type: str) -> np.ndarray:
    """Cholesky factors of user-given precisions, which must be positive definite."""
    if covariance_type in ("diag", "spherical"):
        if (precisions <= 0).any():
            raise ValueError(
                f"precisions_init must be positive for covariance_type={covariance_type!r}, "
                f"got a minimum of {precisions.min():.3g}. Pass inverse variances (> 0)."
            )
        return cholesky_from_precisions(precisions, covariance_type)
    matrices = precisions[np.newaxis] if covariance_type == "tied" else precisions
    for k, matrix in enumerate(matrices):
        if not np.allclose(matrix, matrix.T, rtol=1e-8, atol=1e-12):
            raise ValueError(
                f"precisions_init[{k}] is not symmetric. Pass symmetric positive definite "
                f"precision matrices (the inverses of covariances)."
            )
        smallest = np.linalg.eigvalsh(matrix)[0]
        if smallest <= 0:
            raise ValueError(
                f"precisions_init[{k}] is not positive definite (smallest eigenvalue "
                f"{smallest:.3g}). Pass positive definite precision matrices (the inverses "
                f"of covariances)."
            )
    return cholesky_from_precisions(precisions, covariance_type)
