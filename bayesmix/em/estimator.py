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
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils.validation import check_is_fitted

from bayesmix._validation import (
    check_bool,
    check_int,
    check_memory,
    check_option,
    check_random_state,
    check_real,
    check_shape,
    validate_data,
)
from bayesmix.covariance import CovarianceStructure, get_structure, n_parameters
from bayesmix.density import log_mixture_density, responsibilities, weighted_log_prob
from bayesmix.em.diagnostics import find_degenerate
from bayesmix.em.engine import EMEngine, EMRun, EMSettings, MixtureParameters
from bayesmix.em.init import INIT_METHODS, initial_responsibilities
from bayesmix.em.sources import InMemorySource
from bayesmix.exceptions import ConvergenceWarning, DegenerateComponentWarning
from bayesmix.scoring import information_criteria

__all__ = ["ACCELERATIONS", "GaussianMixtureEM"]

#: Accepted values of ``acceleration`` besides ``None``.
ACCELERATIONS = ("squarem",)


def _is_dask(X: Any) -> bool:
    """Whether ``X`` is a Dask collection, without importing Dask when it is not loaded."""
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(X)


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
    acceleration : {None, "squarem"}, default=None
        ``"squarem"`` extrapolates the EM iterates (Varadhan and Roland 2008) between
        pairs of EM steps, keeping only jumps that raise the likelihood: about half the
        passes over the data to the same optimum on slow fits, but not scikit-learn's
        iterates (``n_iter_`` counts passes).

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
        acceleration: str | None = None,
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
        self.acceleration = acceleration


    # ------------------------------------------------------------------ validation
    def _check_parameters(self, structure: CovarianceStructure, n_features: int
                          ) -> dict[str, np.ndarray]:
        """Validate the constructor parameters; return the initial values given."""
        K = check_int(self.n_components, "n_components", min_value=1)
        check_real(self.tol, "tol", min_value=0.0)
        check_real(self.reg_covar, "reg_covar", min_value=0.0)
        check_int(self.max_iter, "max_iter", min_value=0)
        check_int(self.n_init, "n_init", min_value=1)
        check_option(self.init_params, "init_params", INIT_METHODS)
        check_int(self.verbose, "verbose", min_value=0)
        check_int(self.verbose_interval, "verbose_interval", min_value=1)
        check_bool(self.warm_start, "warm_start")
        if self.acceleration is not None:
            check_option(self.acceleration, "acceleration", ACCELERATIONS)
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
            precisions = check_shape(
                self.precisions_init, "precisions_init", structure.stored_shape(K, n_features),
                f"{structure.stored_shape_text()} for covariance_type="
                f"{self.covariance_type!r}")
            given["precisions_cholesky"] = structure.check_precisions(precisions)
        return given

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> GaussianMixtureEM:
        """Fit the mixture with EM, keeping the best of ``n_init`` initialisations.

        Parameters
        ----------
        X : array-like, DataFrame, Dask collection or data source
            The rows, shape (n_samples, n_features). A Dask array or DataFrame is
            fitted chunk by chunk on the active Dask scheduler, without loading it (see
            the *Large data* guide); a data source (:mod:`bayesmix.em.sources`) carries
            rows already validated, shared by several fits.
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
        structure = get_structure(self.covariance_type)
        source = self._data_source(X, sample_weight)
        self._check_n_samples(source.n_samples)
        given = self._check_parameters(structure, source.n_features)
        check_memory(8.0 * np.prod(structure.stored_shape(self.n_components,
                                                          source.n_features)) * 3,
                     f"GaussianMixtureEM(n_components={self.n_components}, covariance_type="
                     f"{self.covariance_type!r}) on {source.n_features} features",
                     "Use covariance_type='diag' or 'spherical', or reduce the features.")
        self._check_n_positive_weights(source.n_positive)
        self._record_features(source)
        if "means" in given:
            given["means"] = given["means"] - source.shift

        settings = EMSettings(tol=self.tol, reg_covar=self.reg_covar, max_iter=self.max_iter,
                              verbose=self.verbose, verbose_interval=self.verbose_interval,
                              accelerate=self.acceleration == "squarem")
        engine = EMEngine(source, structure, self.n_components, settings)
        warm = self.warm_start and hasattr(self, "converged_")
        n_init = 1 if warm else self.n_init
        seeds = check_random_state(self.random_state).randint(np.iinfo(np.int32).max,
                                                              size=n_init)
        with source.session(structure.row_width(self.n_components, source.n_features)):
            if warm:
                best = engine.best_run([(0, lambda: self._warm_start(source.shift))],
                                       lower_bound=self.lower_bound_)
            else:
                best = engine.best_run(
                    (seed, lambda seed=seed: self._start(engine, given, seed))
                    for seed in seeds)
            # Final E step, so that the labels agree with the returned parameters.
            labels = source.new_labels()
            final = source.e_step(structure, best.parameters.weights, best.parameters.means,
                                  best.parameters.precisions_cholesky, labels=labels)

        self._store_fit(best, n_init, source, final.counts)
        self._X_fit = source.training_rows
        self.fit_time_ = time.perf_counter() - start_time
        if labels is None:  # the rows are not in memory: predicted lazily, by chunks
            return self.predict(source.collection)
        return labels

    def _data_source(self, X: Any, sample_weight: Any) -> Any:
        """The data source over ``X``: as given, Dask chunks, or rows in memory."""
        if hasattr(X, "e_step") and hasattr(X, "initialisation_sample"):
            if sample_weight is not None:
                raise ValueError(
                    "sample_weight was passed with a data source, which carries its own "
                    "weights. Build the source with the weights instead, e.g. "
                    "InMemorySource(X, sample_weight=w)."
                )
            return X
        if _is_dask(X):
            from bayesmix.em.dask_source import DaskSource

            return DaskSource(X, sample_weight, self.random_state)
        if _is_dask(sample_weight):
            sample_weight = sample_weight.compute()
        return InMemorySource(X, sample_weight)

    def _record_features(self, source: Any) -> None:
        """``n_features_in_`` and ``feature_names_in_`` of the data, as ``fit`` records them."""
        self.n_features_in_ = source.n_features_in_
        names = getattr(source, "feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

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

    def _warm_start(self, shift: np.ndarray) -> MixtureParameters:
        """The previous fit's parameters, centred like the new data."""
        return MixtureParameters(self.weights_, self.means_ - shift, self.covariances_,
                                 self.precisions_cholesky_)

    def _start(self, engine: EMEngine, given: dict[str, np.ndarray], seed: int
               ) -> MixtureParameters:
        """Parameters (of the centred data) to start one EM run from.

        The initial assignment (:func:`~bayesmix.em.init.initial_responsibilities`) is
        made on the source's initialisation sample; given initial values replace what
        it yields.
        """
        structure = engine.structure
        if {"weights", "means", "precisions_cholesky"} <= given.keys():
            return self._given_start(structure, given)
        X, weights, _ = engine.source.initialisation_sample()
        resp = initial_responsibilities(X, self.n_components, self.init_params, seed,
                                        weights, cache=engine.source.cache)
        start = engine.from_responsibilities(resp)
        if "precisions_cholesky" in given:
            start = self._given_start(structure, {**vars(start), **given})
        start.weights = given.get("weights", start.weights)
        start.means = given.get("means", start.means)
        return start

    @staticmethod
    def _given_start(structure: CovarianceStructure, given: dict[str, np.ndarray]
                     ) -> MixtureParameters:
        factors = given["precisions_cholesky"]
        covariances = structure.covariances_from_precisions(
            structure.precisions_from_cholesky(factors))
        return MixtureParameters(given["weights"], given["means"], covariances, factors)

    def _store_fit(self, best: EMRun, n_init: int, source: Any, counts: np.ndarray) -> None:
        """Set the fitted attributes from the best run; warn if it did not converge."""
        if not best.converged and self.max_iter > 0:
            warnings.warn(
                f"The best of {n_init} initialisation(s) did not converge in max_iter="
                f"{self.max_iter} iterations (last change of the mean log-likelihood "
                f"{best.last_change:.3g} > tol={self.tol}). Raise max_iter or tol, or "
                f"check the data and initialisation.",
                ConvergenceWarning,
                stacklevel=3,
            )
        params = best.parameters
        structure = get_structure(self.covariance_type)
        self.weights_ = params.weights
        self.means_ = params.means + source.shift
        self.covariances_ = params.covariances
        self.precisions_cholesky_ = params.precisions_cholesky
        self.precisions_ = structure.precisions_from_cholesky(params.precisions_cholesky)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.lower_bound
        self.lower_bound_history_ = np.asarray(best.history)
        self.degenerate_reasons_ = self._find_degenerate(
            structure, counts, source.scatter / source.total_weight)
        self.degenerate_components_ = list(self.degenerate_reasons_)

    # ------------------------------------------------------------------ diagnostics
    def _find_degenerate(self, structure: CovarianceStructure, counts: np.ndarray,
                         data_covariance: np.ndarray) -> dict[int, str]:
        """Flag collapsed and starved components, warn once listing them and why."""
        report = find_degenerate(structure, self.covariances_, counts, data_covariance,
                                 self.reg_covar, self._feature_label)
        if report.reasons:
            listed = "; ".join(f"component {k}: {why}" for k, why in report.reasons.items())
            if report.flat_data:
                listed += f". {report.flat_data}"
            warnings.warn(
                f"{len(report.reasons)} of {self.n_components} components are degenerate, "
                f"so this fit is not a trustworthy density model; {listed}. This happens "
                f"when a component collapses onto repeated or rounded values. Use fewer "
                f"components or a constrained covariance_type ('tied'), raise reg_covar, "
                f"or jitter rounded data; bayesmix.select_em never selects such a fit.",
                DegenerateComponentWarning,
                stacklevel=4,
            )
        return report.reasons

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
        full = get_structure(self.covariance_type).to_full(
            self.covariances_, self.n_components, self.means_.shape[1])
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
        structure = get_structure(self.covariance_type)
        full = structure.to_full(self.covariances_, K, D)
        point = np.newaxis, np.newaxis
        log_likelihood = log_mixture_density(X, *self._parameters())
        raw = {}
        if structure.raw_variable is not None:
            dims = ("component", "feature")[: self.covariances_.ndim]
            raw[structure.raw_variable] = (self.covariances_[point], ("chain", "draw") + dims)
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
