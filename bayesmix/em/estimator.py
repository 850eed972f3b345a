"""Maximum-likelihood Gaussian mixtures fitted by expectation-maximisation.

:class:`GaussianMixtureEM` is a drop-in for :class:`sklearn.mixture.GaussianMixture`
(same parameters, methods and fitted attributes, the same starts from the same
``random_state``, the same iterates from the same initial parameters, float32 kept as
float32) that is faster and says more about its fit: sample weights, the ICL
criterion, the convergence history, degenerate-component detection and export to the
bayesmix :class:`arviz.InferenceData` layout.

Speed comes from doing each EM iteration as one streaming pass over the rows of ``X``:
for a cache-sized block of rows, the E step evaluates every component at once in a
single matrix product (:mod:`bayesmix.density`) and the block's responsibilities are
immediately folded into the sufficient statistics (weighted counts, sums and second
moments) of the M step, again as matrix products. Nothing of size ``n_samples x
n_components x n_features`` is ever materialised. Its length (about 520 lines, 300 of
them docstrings) is that of scikit-learn's interface, documented as scikit-learn's is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bayesmix._validation import (
    check_int,
    check_memory,
    check_random_state,
    validate_data,
)
from bayesmix.covariance import get_structure, n_parameters
from bayesmix.covariance.prior import ConjugatePrior, describe_prior
from bayesmix.density import (
    log_mixture_density,
    logsumexp_rows,
    normalise_rows,
    responsibilities,
    weighted_log_prob,
)
from bayesmix.em.base import BaseMixtureEM
from bayesmix.em.sources import is_dask_collection
from bayesmix.imputation import conditional_expectation, draw_imputations

__all__ = ["GaussianMixtureEM"]


class GaussianMixtureEM(BaseMixtureEM):
    """Gaussian mixture fitted by maximum likelihood with the EM algorithm.

    A scikit-learn compatible drop-in for :class:`sklearn.mixture.GaussianMixture`, with
    the same parameters and iterates, that adds ``sample_weight``, :meth:`icl`, the
    convergence history, degenerate-component detection and :meth:`to_inference_data`.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : str, default="full"
        Covariance structure: scikit-learn's ``"full"``, ``"tied"``, ``"diag"``,
        ``"spherical"`` or any of mclust's 14 models by volume, shape and orientation
        (``"EII"``, ``"VII"``, ``"EEI"``, ``"VEI"``, ``"EVI"``, ``"VVI"``, ``"EEE"``,
        ``"VEE"``, ``"EVE"``, ``"VVE"``, ``"EEV"``, ``"VEV"``, ``"EVV"``, ``"VVV"``;
        ``"E"`` and ``"V"`` for one feature); see :mod:`bayesmix.covariance`.
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
        Seeds the initialisations and :meth:`sample`. The restarts draw from one
        generator in turn, as scikit-learn's do, so a seed gives scikit-learn's starts
        and the same fit.
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
    prior : {None, "default"} or ConjugatePrior, default=None
        ``None`` fits by maximum likelihood. A conjugate prior on the means and
        covariances (mclust's ``priorControl()``) fits the posterior mode instead
        (MAP-EM), which keeps components from collapsing: ``"default"`` is mclust's
        ``defaultPrior`` (shrinkage 0.01 towards the column means, ``n_features + 2``
        degrees of freedom, a scale from the data's variances), a
        :class:`~bayesmix.covariance.prior.ConjugatePrior` sets each value. The
        structures mclust fits without a prior (EVE, VEE, VVE, EVV) refuse one. The
        criteria (:meth:`bic`, ...) use the log-likelihood at the posterior mode, as
        mclust's do; ``lower_bound_`` adds the log prior per sample.
    noise : bool, default=False
        Add a uniform noise component over the data's hypervolume (mclust's noise; see
        :class:`~bayesmix.em.base.BaseMixtureEM`) for scattered, outlying rows. Rows in
        memory without missing values; not with ``acceleration``.
    noise_init : array-like of bool, shape (n_samples,), optional
        With ``noise=True``, the rows EM starts as noise (mclust's
        ``initialization=list(noise=...)``); by default those of
        :func:`~bayesmix.families.noise.nearest_neighbour_noise`.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,), or (n_components + 1,) with noise
        With a noise component, its weight is the last (as mclust's ``pro``).
    component_weights_ : ndarray of shape (n_components,)
        ``weights_`` without the noise weight.
    noise_weight_ : float
        The noise component's weight (only with ``noise=True``).
    hypervolume_ : float
        The volume ``V`` of the noise density ``1 / V`` (only with ``noise=True``).
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        Stored shape of the structure: (K, D, D) full, (D, D) tied, (K, D) diag, (K,)
        spherical (see :mod:`bayesmix.covariance` for mclust's models).
    volumes_, shapes_, orientations_ : ndarray of shape (K,), (K, D), (K, D, D)
        The covariances decomposed as mclust reports them, ``Sigma_k = volume_k *
        orientation_k @ diag(shape_k) @ orientation_k.T`` with ``prod(shape_k) = 1``.
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
    lower_bounds_ : ndarray of shape ``(n_iter_,)``
        scikit-learn's name for ``lower_bound_history_``.
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
    floor (the unregularised variance is at most ``reg_covar``) or its variance in some
    direction is at most ``1e-10`` of the data's variance there, which happens when it
    collapses onto repeated or rounded values, or when it holds fewer effective points
    than its covariance needs
    (``n_features + 1`` for ``full``, 2 for ``diag`` and ``spherical``, 1 for ``tied``;
    mclust's models have other rules, :mod:`bayesmix.em.diagnostics`).
    The likelihood of such a fit is inflated by a near-singular covariance, so it must not
    be read as a good model: a :class:`~bayesmix.exceptions.DegenerateComponentWarning`
    is raised and model selection (:func:`bayesmix.select_em`) never picks it. EM checks
    its iterate for a collapsed component every
    :data:`~bayesmix.em.engine.COLLAPSE_CHECK_EVERY` iterations and stops the run there
    (``converged_`` False, no ``ConvergenceWarning``): its likelihood would only creep up
    as the collapse goes on.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> X = load_old_faithful()
    >>> em = GaussianMixtureEM(n_components=3, covariance_type="tied",
    ...                        init_params="hc").fit(X)  # mclust's hierarchical start
    >>> em.weights_.round(2)
    array([0.16, 0.36, 0.48])
    >>> round(em.score(X) * len(X), 1)
    -1126.4
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
        prior: str | ConjugatePrior | None = None,
        noise: bool = False,
        noise_init: Any = None,
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
        self.prior = prior
        self.noise = noise
        self.noise_init = noise_init

    # ------------------------------------------------------------------ decomposition
    def _decomposition(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self._check_fitted()
        return get_structure(self.covariance_type).decompose(
            self.covariances_, *self.means_.shape)

    @property
    def volumes_(self) -> np.ndarray:
        """Each component's volume, ``det(Sigma_k)^(1/D)`` (mclust's ``scale``).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> em = GaussianMixtureEM(2, covariance_type="VEV", random_state=0).fit(
        ...     load_old_faithful())
        >>> em.volumes_.shape, bool(np.allclose(em.shapes_[0], em.shapes_[1]))
        ((2,), True)
        """
        return self._decomposition()[0]

    @property
    def shapes_(self) -> np.ndarray:
        """Each component's shape: its covariance's eigenvalues over its volume."""
        return self._decomposition()[1]

    @property
    def orientations_(self) -> np.ndarray:
        """Each component's orientation: its covariance's eigenvectors, as columns."""
        return self._decomposition()[2]

    # ------------------------------------------------------------------ prediction
    def _check_X(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return validate_data(self, X, reset=False, keep_float32=True, allow_missing=True)

    def _parameters(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        return (self.component_weights_, self.means_, self.precisions_cholesky_,
                self.covariance_type)

    def _weighted_log_prob(self, X: Any) -> np.ndarray:
        """``log pi_k + log N(x_n | mu_k, Sigma_k)`` (N, K), then the noise column if any."""
        return self._with_noise(weighted_log_prob(self._check_X(X), *self._parameters()))

    def _log_density(self, X: np.ndarray) -> np.ndarray:
        """The mixture's log density at rows already checked (:meth:`_check_X`): checking
        them again as an array would lose a DataFrame's column names."""
        if hasattr(self, "noise_weight_"):
            return logsumexp_rows(self._with_noise(weighted_log_prob(X, *self._parameters())))
        return log_mixture_density(X, *self._parameters())

    def score_samples(self, X: Any) -> np.ndarray:
        """Log density of the mixture at each row of ``X`` (in ``X``'s precision: float32
        for float32 rows, computed in float64).

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
        >>> em.score_samples(X.iloc[:2]).round(3)
        array([-4.638, -3.673])
        """
        if is_dask_collection(X):
            return _map_dask_rows(self, X, "score_samples")
        X = self._check_X(X)
        return self._log_density(X).astype(X.dtype, copy=False)

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
        return float(mean.compute() if is_dask_collection(mean) else mean)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Responsibilities: probability of each component for each row.

        With a noise component, its probability is the last column.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
        >>> em.predict_proba(X.iloc[:2]).round(3)
        array([[0., 1.],
               [1., 0.]])
        """
        if is_dask_collection(X):
            return _map_dask_rows(self, X, "predict_proba")
        X = self._check_X(X)
        if hasattr(self, "noise_weight_"):
            resp = self._weighted_log_prob(X)
            normalise_rows(resp)
        else:
            resp = responsibilities(X, *self._parameters())
        return resp.astype(X.dtype, copy=False)

    def predict(self, X: Any) -> np.ndarray:
        """Most likely component of each row; -1 for the noise component.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> X = load_old_faithful()
        >>> GaussianMixtureEM(2, random_state=0).fit(X).predict(X.iloc[:4])
        array([1, 0, 1, 0])
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> Y = np.vstack([rng.normal(size=(100, 2)), [[30.0, -30.0]]])
        >>> GaussianMixtureEM(1, noise=True, random_state=0).fit(Y).predict(Y[-2:])
        array([ 0, -1])
        """
        if is_dask_collection(X):
            return _map_dask_rows(self, X, "predict")
        return self._labels(self._weighted_log_prob(X))

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
        self._check_fitted()
        self._refuse_noise_sample()
        n_samples = check_int(n_samples, "n_samples", min_value=1)
        n_features = self.means_.shape[1]
        check_memory(8.0 * n_samples * n_features * 2, f"sample(n_samples={n_samples})",
                     "Draw fewer rows, in batches if need be.")
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        full = get_structure(self.covariance_type).to_full(
            self.covariances_, self.n_components, self.means_.shape[1])
        # Symmetric to the last bit (float32 covariances can differ across the diagonal
        # by one unit, which NumPy's sampler warns of).
        full = (full + np.swapaxes(full, -1, -2)) / 2.0
        X = np.vstack([rng.multivariate_normal(mean, cov, int(count))
                       for mean, cov, count in zip(self.means_, full, counts)])
        labels = np.repeat(np.arange(self.n_components), counts)
        return X, labels

    def impute(self, X: Any, n_imputations: int | None = None,
               random_state: Any = None) -> np.ndarray:
        """Fill the missing values (NaN) of ``X`` from the fitted mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with NaN where values are missing (no row entirely missing).
        n_imputations : int, optional
            ``None`` (default) fills each missing value with its conditional expectation
            given the row's observed values, ``E[x_M | x_O]``; an integer ``m`` draws
            ``m`` completed copies of ``X`` from the conditional distribution (multiple
            imputation: analyse each copy and pool the results).
        random_state : int, RandomState instance or None, default=None
            Seeds the draws of multiple imputation.

        Returns
        -------
        ndarray of shape (n_samples, n_features), or (n_imputations, n_samples,
        n_features)
            In ``X``'s precision; the observed values are unchanged.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import GaussianMixtureEM
        >>> rng = np.random.default_rng(0)
        >>> X = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.9], [0.9, 1.0]], size=500)
        >>> em = GaussianMixtureEM(1, random_state=0).fit(X)
        >>> em.impute(np.array([[2.0, np.nan]])).round(1)
        array([[2. , 1.8]])
        >>> em.impute(np.array([[2.0, np.nan]]), n_imputations=3, random_state=0).shape
        (3, 1, 2)
        """
        X = self._check_X(X)
        arguments = (X, *self._parameters())
        if n_imputations is None:
            return conditional_expectation(*arguments).astype(X.dtype, copy=False)
        n_imputations = check_int(n_imputations, "n_imputations", min_value=1)
        check_memory(8.0 * n_imputations * X.size, f"impute(n_imputations={n_imputations})",
                     "Draw fewer imputations, in batches if need be.")
        return draw_imputations(*arguments, n_imputations, check_random_state(random_state)
                                ).astype(X.dtype, copy=False)

    # ------------------------------------------------------------------ criteria
    def _n_parameters(self) -> int:
        return (n_parameters(self.n_components, self.means_.shape[1], self.covariance_type)
                + self._n_noise_parameters())

    def bic(self, X: Any) -> float:
        """Bayesian information criterion (lower is better): ``-2 log L + p log N``.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(3, covariance_type="tied", init_params="hc").fit(X)
        >>> round(em.bic(X), 2)
        2314.52
        """
        return self.criteria(X)["bic"]

    def aic(self, X: Any) -> float:
        """Akaike information criterion (lower is better): ``-2 log L + 2 p``.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(3, covariance_type="tied", init_params="hc").fit(X)
        >>> round(em.aic(X), 2)
        2274.85
        """
        return self.criteria(X)["aic"]

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
        return self.criteria(X)["icl"]

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

        self._check_fitted()
        if X is None and self._X_fit is None:
            raise ValueError(
                "This GaussianMixtureEM was fitted on a Dask collection, whose rows it does "
                "not keep; pass the data for observed_data explicitly: "
                "to_inference_data(X=...) with an in-memory array (e.g. a sample of the rows)."
            )
        X = self._X_fit if X is None else validate_data(self, X, reset=False,
                                                         allow_missing=True)
        K, D = self.means_.shape
        structure = get_structure(self.covariance_type)
        full = structure.to_full(self.covariances_, K, D)
        point = np.newaxis, np.newaxis
        log_likelihood = self._log_density(X)
        raw = self._noise_variables()
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
            X=X, weights=self.component_weights_[point], means=self.means_[point],
            covariances=full[point], covariance_type=self.covariance_type,
            inference_method="em", feature_names=None if names is None else list(names),
            log_likelihood=log_likelihood[point], raw_parameters=raw, sample_stats=stats,
            extra_coords={"iteration": np.arange(1, len(history) + 1)},
            attrs={"reg_covar": float(self.reg_covar), "fit_time": self.fit_time_,
                   "degenerate_components": list(self.degenerate_components_),
                   **self._noise_attrs(),
                   **({} if self.prior is None else {"prior": describe_prior(self.prior)})},
        )


def _map_dask_rows(estimator: GaussianMixtureEM, X: Any, method: str) -> Any:
    from bayesmix.em.dask_source import map_rows

    return map_rows(estimator, X, method)
