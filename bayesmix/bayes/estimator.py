"""GaussianMixtureBayes: the Bayesian mixture as an estimator holding an InferenceData.

Its length (about 840 lines, more than half of them docstrings with examples) is that of one
scikit-learn estimator with scikit-learn's full method set; fitting itself lives in the
back ends (:mod:`bayesmix.bayes.backends`).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, DensityMixin

from bayesmix._validation import (
    check_covariance_type,
    check_fitted,
    check_int,
    check_option,
    check_random_state,
    short_repr,
    validate_data,
)
from bayesmix.bayes.backends import get_backend
from bayesmix.bayes.backends.base import BackendRun, FitData
from bayesmix.bayes.inference import initial_values
from bayesmix.bayes.model import build_model
from bayesmix.bayes.occupied import draw_labels, posterior_n_components
from bayesmix.bayes.priors import MixturePriors
from bayesmix.covariance import precision_cholesky, to_full
from bayesmix.density import FAMILY_PARAMETERS, draw_component_rows, responsibilities
from bayesmix.em import GaussianMixtureEM
from bayesmix.exceptions import DegenerateComponentWarning
from bayesmix.imputation import posterior_imputations
from bayesmix.relabel import order_permutations, relabel
from bayesmix.results import build_inference_data, log_predictive_density

__all__ = ["FIT_SETTINGS", "GaussianMixtureBayes"]

#: The constructor's fitting settings, which ``fit`` may override for one call.
FIT_SETTINGS = ("method", "draws", "tune", "chains", "nuts_sampler", "init", "progressbar",
                "batch_size")

_PARAMETERS = ("weights", "means", "covariances")
#: ``reg_covar`` of the reference EM fit, relative to the data's smallest column variance.
REFERENCE_REG_COVAR = 1e-6


class GaussianMixtureBayes(DensityMixin, BaseEstimator):
    """Bayesian Gaussian mixture fitted with PyMC (NUTS or variational inference) or Gibbs.

    The model is :func:`~bayesmix.bayes.build_model` (labels marginalised, priors from
    :class:`~bayesmix.bayes.MixturePriors`). ``fit`` starts every chain from a jittered
    EM fit, samples (or fits ADVI), relabels every draw to the EM fit with the Hungarian
    algorithm (:func:`bayesmix.relabel.relabel`; with ``ordered_means``, by increasing
    first mean coordinate), checks the diagnostics on the relabelled
    draws and stores everything in ``idata_``. Prediction and scoring average over the
    posterior draws.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    priors : MixturePriors, optional
        Prior hyper-parameters; data-scaled defaults where ``None``.
    ordered_means : bool, default=False
        Order the components by their first mean coordinate inside the model. Every
        draw in ``idata_`` then keeps that order (increasing first mean coordinate),
        and ``em_`` is labelled the same way, instead of the draws being matched to the
        EM fit's arbitrary order.
    method : {"nuts", "advi", "fullrank_advi", "gibbs"}, default="nuts"
        The back end (:func:`bayesmix.bayes.backends.available_methods`). ``"gibbs"``
        samples a conjugate variant of the model (normal-inverse-Wishart means and
        covariances, ``covariance_type="full"`` only; see
        :mod:`bayesmix.bayes.backends.gibbs`).
    draws : int, default=1000
        Draws per chain (NUTS) or from the approximation (VI).
    tune : int, default=1000
        NUTS warm-up iterations per chain.
    chains : int, default=4
        NUTS chains (VI draws form one chain).
    nuts_sampler : {"numpyro", "pymc", "nutpie"}, optional
        NUTS back end; the fastest measured (``"numpyro"``) when omitted.
    init : {"em", "prior"}, default="em"
        Start from a jittered EM fit, or from PyMC's default initial point.
    progressbar : bool, optional
        Default: on in a notebook, off elsewhere.
    batch_size : int, optional
        VI only: each optimisation step sees a random minibatch of this many rows,
        its log-likelihood scaled to the full data (stochastic variational inference;
        see :func:`~bayesmix.bayes.build_model`). For large data: the cost of a step no
        longer grows with the number of rows. The priors, the EM initialisation and the
        stored ``log_likelihood`` still use every row.
    sampler_kwargs : dict, optional
        Back-end options: ``target_accept`` and others for NUTS (see
        :func:`~bayesmix.bayes.backends.nuts.sample_nuts`); ``n_iter``, ``tol``,
        ``learning_rate`` for VI (see :func:`~bayesmix.bayes.backends.advi.fit_vi`).
    random_state : int, RandomState instance or None, default=None
        Seeds the EM initialisation, the jitter, the sampler and :meth:`sample`; the same
        seed gives the same draws.

    Every setting is a constructor parameter, so that :func:`sklearn.base.clone`,
    ``set_params`` and grid searches see them; :meth:`fit` may override any of them for
    one call (``fit(X, method="advi")``).

    Attributes
    ----------
    idata_ : arviz.InferenceData
        ``posterior`` (relabelled ``weights``, ``means``, full ``covariances`` and the
        model's raw parameters), ``log_likelihood`` (``x (chain, draw, obs)``),
        ``observed_data`` and ``sample_stats`` (sampler statistics, or the VI loss, and
        ``label_permutation``).
    model_ : pymc.Model
        The fitted PyMC model.
    priors_ : MixturePriors
        The resolved priors.
    em_ : GaussianMixtureEM
        The EM fit used for initialisation and as the relabelling reference.
    weights_, means_, covariances_ : ndarray
        Posterior means (after relabelling); ``covariances_`` as full matrices
        (n_components, n_features, n_features).
    diagnostics_ : dict
        ``n_divergences``, ``max_rhat``, ``min_ess_bulk``, ``divergences_per_chain``,
        ``chain_distance``, ``disagreeing_chains`` and the ``warnings`` raised (NUTS, see
        :func:`~bayesmix.bayes.diagnostics.check_sampler_diagnostics`; also stored in
        ``idata_.sample_stats``), ``converged`` (VI) and ``fit_time`` in seconds: what
        the back end's ``diagnose`` gives (:mod:`bayesmix.bayes.backends`).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame with string column names.

    See Also
    --------
    GaussianMixtureEM : the maximum-likelihood fit, same prediction methods.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from bayesmix.bayes import GaussianMixtureBayes
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(-3, 1, (100, 1)), rng.normal(3, 1, (100, 1))])
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # so few draws trigger the ESS warning
    ...     bayes = GaussianMixtureBayes(2, random_state=0).fit(
    ...         X, draws=100, tune=100, chains=2)
    >>> np.sort(bayes.means_.ravel()).round(0)
    array([-3.,  3.])
    >>> sorted(bayes.idata_.groups())
    ['log_likelihood', 'observed_data', 'posterior', 'sample_stats']
    """

    #: The components' family (:data:`bayesmix.density.FAMILY_PARAMETERS`): subclasses
    #: with other components set it and the family's hooks below.
    component_family = "gaussian"
    #: The maximum-likelihood estimator of the same components: the reference fit ``em_``.
    _em_class = GaussianMixtureEM
    #: How the reference EM fit starts: the best of three k-means starts.
    _em_starts: dict[str, Any] = {"n_init": 3}

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        priors: MixturePriors | None = None,
        ordered_means: bool = False,
        method: str = "nuts",
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        nuts_sampler: str | None = None,
        init: str = "em",
        progressbar: bool | None = None,
        batch_size: int | None = None,
        sampler_kwargs: dict[str, Any] | None = None,
        random_state: Any = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.priors = priors
        self.ordered_means = ordered_means
        self.method = method
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.nuts_sampler = nuts_sampler
        self.init = init
        self.progressbar = progressbar
        self.batch_size = batch_size
        self.sampler_kwargs = sampler_kwargs
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        # NaN is a missing value, marginalised in the likelihood (as in GaussianMixtureEM).
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None, **overrides: Any) -> GaussianMixtureBayes:
        """Sample (or approximate) the posterior and store it in ``idata_``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : ignored
        **overrides
            Values for this call of the constructor's fitting settings (``method``,
            ``draws``, ``tune``, ``chains``, ``nuts_sampler``, ``init``,
            ``progressbar``, ``batch_size``); any other keyword is a back-end option
            added to ``sampler_kwargs`` (e.g. ``n_iter`` for VI, ``target_accept`` for
            NUTS). The estimator's parameters are left as they are.

        Returns
        -------
        self : GaussianMixtureBayes

        Raises
        ------
        InitialPointError
            When NUTS cannot start: the log density is not finite at a chain's initial
            point.

        Warns
        -----
        DivergenceWarning, ChainDisagreementWarning, RhatWarning, ESSWarning
            NUTS diagnostics on the relabelled draws, also recorded in
            ``idata_.sample_stats`` (see
            :func:`~bayesmix.bayes.diagnostics.record_diagnostics`).
        VIConvergenceWarning
            VI stopped at ``n_iter``.

        Examples
        --------
        Full-rank ADVI, which also learns the correlations between parameters:

        >>> import warnings
        >>> import numpy as np
        >>> from bayesmix.bayes import GaussianMixtureBayes
        >>> rng = np.random.default_rng(0)
        >>> X = np.concatenate([rng.normal(-3, 1, (100, 1)), rng.normal(3, 1, (100, 1))])
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")  # 3000 iterations may stop short of tol
        ...     bayes = GaussianMixtureBayes(2, random_state=0).fit(
        ...         X, method="fullrank_advi", draws=200, n_iter=3000)
        >>> bayes.idata_.posterior.sizes["draw"], bayes.weights_.round(1).tolist()
        (200, [0.5, 0.5])
        """
        start_time = time.perf_counter()
        settings, sampler_kwargs = self._fit_settings(overrides)
        method, draws, tune, chains, nuts_sampler, init, progressbar, batch_size = (
            settings[name] for name in FIT_SETTINGS)
        X_raw = X
        X = validate_data(self, X, reset=True, min_samples=2, allow_missing=True)
        backend = get_backend(method)
        check_option(init, "init", ("em", "prior"))
        n_components = check_int(self.n_components, "n_components", min_value=1)
        covariance_type = check_covariance_type(self.covariance_type)
        if n_components > X.shape[0]:
            raise ValueError(
                f"n_components={n_components} must be <= n_samples={X.shape[0]}. Use fewer "
                f"components or more data."
            )
        if self.priors is not None and not isinstance(self.priors, MixturePriors):
            raise ValueError(
                f"priors must be a MixturePriors instance or None, got "
                f"{type(self.priors).__name__}. Build one with bayesmix.bayes.MixturePriors."
            )
        draws = check_int(draws, "draws", min_value=1)
        chains = check_int(chains, "chains", min_value=1)
        backend.check_fit_options(sampler_kwargs, nuts_sampler=nuts_sampler,
                                  batch_size=batch_size)

        rng = check_random_state(self.random_state)
        em_seed, init_seed, sampler_seed = (int(s) for s in rng.randint(2**31 - 1, size=3))
        self.priors_ = self._resolved_priors(X, n_components, covariance_type)
        model_data = X_raw if isinstance(X_raw, pd.DataFrame) else X
        self.model_ = build_model(model_data, n_components, covariance_type, self.priors_,
                                  self.ordered_means, batch_size=batch_size,
                                  family=self.component_family)
        self.em_ = self._fit_em(model_data, em_seed)
        em_covariances = to_full(self._em_scale_matrices(), covariance_type, n_components,
                                 X.shape[1])
        init_rng = np.random.default_rng(init_seed)

        def start(jitter: float) -> dict[str, np.ndarray]:
            values = initial_values(self.em_.weights_, self.em_.means_, em_covariances,
                                    covariance_type, self.priors_,
                                    ordered_means=self.ordered_means,
                                    rng=init_rng, jitter=jitter)
            return {**values, **self._family_initial_values(init_rng, jitter)}

        fit_data = FitData(X=X, n_components=n_components, covariance_type=covariance_type,
                           priors=self.priors_,
                           initial=((self.em_.weights_, self.em_.means_, em_covariances)
                                    if init == "em" else None),
                           family=self.component_family)
        run = backend.run(self.model_, draws=draws, tune=tune, chains=chains,
                          nuts_sampler=nuts_sampler, start=start if init == "em" else None,
                          random_seed=sampler_seed, progressbar=progressbar,
                          batch_size=batch_size, **sampler_kwargs,
                          **backend.fit_data_options(fit_data))
        idata = self._inference_data(X, run, backend.name)
        self.idata_ = self._relabel(idata, em_covariances)
        fit_time = time.perf_counter() - start_time
        self._set_summaries()
        # Called here, not in a helper: the diagnostics' warnings point at this frame.
        self.diagnostics_ = backend.diagnose(self.idata_)
        self.diagnostics_["fit_time"] = fit_time
        for group in self.idata_.groups():
            self.idata_[group].attrs["fit_time"] = fit_time
        return self

    def _fit_settings(self, overrides: dict[str, Any]
                      ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The fitting settings of one call: the constructor's, overridden by ``fit``'s
        keywords; the keywords that are not settings join ``sampler_kwargs``."""
        if self.sampler_kwargs is not None and not isinstance(self.sampler_kwargs, dict):
            raise ValueError(
                f"sampler_kwargs must be a dict of back-end options or None, got "
                f"{short_repr(self.sampler_kwargs)}, e.g. sampler_kwargs={{'n_iter': 5000}}."
            )
        settings = {name: overrides.pop(name, getattr(self, name)) for name in FIT_SETTINGS}
        return settings, {**(self.sampler_kwargs or {}), **overrides}

    def _resolved_priors(self, X: np.ndarray, n_components: int, covariance_type: str
                         ) -> MixturePriors:
        """The priors, their defaults filled in for the data and the family."""
        return (self.priors or MixturePriors()).resolve(X, n_components, covariance_type,
                                                        self.component_family)

    def _em_scale_matrices(self) -> np.ndarray:
        """The EM fit's covariances in their stored shape (the t family: its scales)."""
        return self.em_.covariances_

    def _family_initial_values(self, rng: np.random.Generator, jitter: float
                               ) -> dict[str, np.ndarray]:
        """Initial values of the family's own parameters (none for the Gaussian)."""
        return {}

    def _fit_em(self, X: Any, seed: int) -> GaussianMixtureEM:
        """The reference EM fit that starts the chains and labels the components.

        Its ``reg_covar`` is 1e-6 of the smallest column variance (EM's default is an
        absolute 1e-6), so that data measured in small units are regularised, not swamped.
        With ``ordered_means`` its components are put in the model's order (increasing
        first mean coordinate), so that they pair with the posterior's.
        """
        smallest_variance = float(np.nanvar(np.asarray(X, dtype=np.float64), axis=0).min())
        with warnings.catch_warnings():
            # A degenerate EM optimum is still a useful starting point for the sampler.
            warnings.simplefilter("ignore", DegenerateComponentWarning)
            em = self._em_class(self.n_components, covariance_type=self.covariance_type,
                                reg_covar=REFERENCE_REG_COVAR * smallest_variance,
                                random_state=seed, **self._em_starts).fit(X)
        if self.ordered_means:
            em.permute_components(order_permutations(em.means_))
        return em

    def _relabel(self, idata: az.InferenceData, em_covariances: np.ndarray
                 ) -> az.InferenceData:
        """Every draw's components in increasing order of the first mean coordinate
        (``ordered_means``, the model's own order), or matched to the EM fit."""
        if self.ordered_means:
            return relabel(idata, method="order")
        return relabel(idata, self.em_.means_, em_covariances)

    def _inference_data(self, X: np.ndarray, run: BackendRun,
                        method: str) -> az.InferenceData:
        raw = run.raw
        posterior = raw.posterior
        extra_coords = dict(run.extra_coords)
        family_parameters = FAMILY_PARAMETERS[self.component_family]
        raw_parameters = {
            name: (variable.values, variable.dims)
            for name, variable in posterior.data_vars.items()
            if name not in _PARAMETERS + family_parameters
        }
        for name in ("feature_pair", "feature_rest"):
            if name in posterior.coords:
                extra_coords[name] = posterior[name].values
        names = getattr(self, "feature_names_in_", None)
        values = {name: posterior[name].values for name in _PARAMETERS}
        log_likelihood = None  # computed by build_inference_data unless the sampler did
        if "log_likelihood" in raw.groups():
            log_likelihood = raw.log_likelihood["x"].transpose("chain", "draw", "obs").values
        return build_inference_data(
            X=X, **values, log_likelihood=log_likelihood,
            covariance_type=self.covariance_type, inference_method=method,
            family=self.component_family,
            family_parameters={name: posterior[name].transpose("chain", "draw",
                                                               "component").values
                               for name in family_parameters},
            feature_names=None if names is None else list(names),
            raw_parameters=raw_parameters, sample_stats=run.sample_stats,
            extra_coords=extra_coords,
            attrs={**run.attrs, "ordered_means": int(bool(self.ordered_means))},
        )

    def _set_summaries(self) -> None:
        """Posterior means and the stacked draws of the relabelled ``idata_``."""
        posterior = self.idata_.posterior
        self.weights_ = posterior["weights"].mean(("chain", "draw")).values
        self.means_ = posterior["means"].mean(("chain", "draw")).values
        self.covariances_ = posterior["covariances"].mean(("chain", "draw")).values
        self._draws = _stacked_draws(posterior, self.component_family)

    def _family_draws(self, draws: dict[str, np.ndarray], index: Any = slice(None)
                      ) -> dict[str, np.ndarray]:
        """The family's parameters of the stacked draws ``index``."""
        return {name: draws[name][index] for name in FAMILY_PARAMETERS[self.component_family]}

    # ------------------------------------------------------------------ prediction
    def _check_X(self, X: Any) -> np.ndarray:
        check_fitted(self, "idata_")
        return validate_data(self, X, reset=False, allow_missing=True)

    def score_samples(self, X: Any) -> np.ndarray:
        """Log posterior predictive density of each row: log-mean-exp over the draws.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)

        Examples
        --------
        >>> import warnings
        >>> import numpy as np
        >>> from bayesmix.bayes import GaussianMixtureBayes
        >>> X = np.random.default_rng(1).normal(size=(60, 1))
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     bayes = GaussianMixtureBayes(1, random_state=0).fit(
        ...         X, method="advi", draws=100, n_iter=2000)
        >>> log_density = bayes.score_samples([[0.0], [10.0]])
        >>> log_density.shape, bool(log_density[0] > log_density[1])
        ((2,), True)
        """
        X = self._check_X(X)
        draws = self._draws
        return log_predictive_density(X, draws["weights"], draws["means"],
                                      draws["covariances"], self.component_family,
                                      self._family_draws(draws))

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log posterior predictive density per row of ``X``.

        Examples
        --------
        >>> import warnings
        >>> import numpy as np
        >>> from bayesmix.bayes import GaussianMixtureBayes
        >>> X = np.random.default_rng(1).normal(size=(60, 1))
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     bayes = GaussianMixtureBayes(1, random_state=0).fit(
        ...         X, method="advi", draws=100, n_iter=2000)
        >>> bool(bayes.score(X) < 0)
        True
        """
        return float(self.score_samples(X).mean())

    def predict_proba(
        self, X: Any, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Posterior mean responsibilities (relabelled components), optionally their SD.

        For every posterior draw the responsibilities of each row are computed with
        :func:`bayesmix.density.responsibilities`; the draws were relabelled to the EM
        fit, so component ``k`` means the same cluster in every draw and per-component
        statistics over the draws are meaningful. The draws are visited one at a time,
        accumulating sums, so memory stays at a few ``(n_samples, n_components)`` arrays
        whatever the number of draws.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False
            Also return the posterior standard deviation of each responsibility: near 0
            where every draw agrees (deep inside a cluster), larger where the
            assignment itself is uncertain under the posterior (between clusters).

        Returns
        -------
        mean : ndarray of shape (n_samples, n_components)
            Posterior mean responsibilities; rows sum to one.
        std : ndarray of shape (n_samples, n_components)
            Only with ``return_std=True``: the standard deviation over the draws
            (``ddof=0``, as :func:`numpy.std`).

        Examples
        --------
        >>> import warnings
        >>> import numpy as np
        >>> from bayesmix.bayes import GaussianMixtureBayes
        >>> X = np.random.default_rng(1).normal(size=(60, 1))
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     bayes = GaussianMixtureBayes(1, random_state=0).fit(
        ...         X, method="advi", draws=100, n_iter=2000)
        >>> bayes.predict_proba([[0.0]])
        array([[1.]])
        >>> mean, std = bayes.predict_proba([[0.0]], return_std=True)
        >>> mean, std
        (array([[1.]]), array([[0.]]))
        """
        X = self._check_X(X)
        if not isinstance(return_std, (bool, np.bool_)):
            raise ValueError(f"return_std must be True or False, got {return_std!r}.")
        draws = self._draws
        n_draws = len(draws["weights"])
        factors = precision_cholesky(draws["covariances"], "full")
        total = np.zeros((X.shape[0], self.means_.shape[0]))
        shift = shifted_sum = shifted_squares = None
        for index, (weights, means, factor) in enumerate(
                zip(draws["weights"], draws["means"], factors)):
            resp = responsibilities(X, weights, means, factor, "full", self.component_family,
                                    self._family_draws(draws, index))
            total += resp
            if not return_std:
                continue
            # Sums of deviations from the first draw: E[d^2] - E[d]^2 without the
            # cancellation of E[r^2] - E[r]^2 when every draw gives nearly 0 or 1.
            if shift is None:
                shift = resp
                shifted_sum, shifted_squares = np.zeros_like(resp), np.zeros_like(resp)
                continue
            resp -= shift
            shifted_sum += resp
            resp *= resp
            shifted_squares += resp
        mean = total
        mean /= n_draws
        if not return_std:
            return mean
        shifted_sum /= n_draws
        variance = shifted_squares / n_draws - shifted_sum * shifted_sum
        return mean, np.sqrt(np.maximum(variance, 0.0))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable component of each row under the posterior mean responsibilities.

        Examples
        --------
        >>> import warnings
        >>> import numpy as np
        >>> from bayesmix.bayes import GaussianMixtureBayes
        >>> X = np.random.default_rng(1).normal(size=(60, 1))
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     bayes = GaussianMixtureBayes(1, random_state=0).fit(
        ...         X, method="advi", draws=100, n_iter=2000)
        >>> bayes.predict([[0.0], [1.0]])
        array([0, 0])
        """
        return self.predict_proba(X).argmax(axis=1)

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw rows from the posterior predictive distribution.

        Each row comes from a posterior draw chosen at random, then from a component of
        that draw's mixture.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        labels : ndarray of shape (n_samples,)
            The (relabelled) component each row was drawn from.

        Examples
        --------
        >>> import warnings
        >>> import numpy as np
        >>> from bayesmix.bayes import GaussianMixtureBayes
        >>> X = np.random.default_rng(1).normal(size=(60, 2))
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     bayes = GaussianMixtureBayes(1, random_state=0).fit(
        ...         X, method="advi", draws=100, n_iter=2000)
        >>> Xs, labels = bayes.sample(5)
        >>> Xs.shape, labels.shape
        ((5, 2), (5,))
        """
        check_fitted(self, "idata_")
        n_samples = check_int(n_samples, "n_samples", min_value=1)
        rng = check_random_state(self.random_state)
        draws = self._draws
        chosen = rng.randint(len(draws["weights"]), size=n_samples)
        labels = draw_labels(draws["weights"][chosen], rng)
        chol = np.linalg.cholesky(draws["covariances"][chosen, labels])
        X = draw_component_rows(rng, draws["means"][chosen, labels], chol,
                                self.component_family,
                                self._family_draws(draws, (chosen, labels)))
        return X, labels

    def posterior_n_components(self, random_state: Any = None) -> pd.Series:
        """Posterior probabilities of the number of occupied components (clusters).

        Fit more components than there can be clusters with a sparse prior on the
        weights (``priors=MixturePriors.sparse()``): the posterior leaves the components
        it does not need empty, and this is the posterior distribution of the number of
        components that hold at least one observation, the labels drawn from each
        draw's responsibilities (see :mod:`bayesmix.bayes.occupied`).

        Parameters
        ----------
        random_state : int, RandomState instance or None, default=None
            Seeds the allocations; the estimator's ``random_state`` when ``None``.

        Returns
        -------
        pandas.Series
            Indexed by ``n_components``; ``attrs["rhat"]`` and ``attrs["ess_bulk"]``
            diagnose the per-draw counts (see
            :func:`~bayesmix.bayes.occupied.posterior_n_components`).

        Examples
        --------
        >>> import warnings
        >>> import numpy as np
        >>> from bayesmix.bayes import GaussianMixtureBayes, MixturePriors
        >>> rng = np.random.default_rng(0)
        >>> X = np.concatenate([rng.normal(-4, 1, (80, 1)), rng.normal(4, 1, (80, 1))])
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     bayes = GaussianMixtureBayes(5, priors=MixturePriors.sparse(),
        ...                                  random_state=0).fit(X, draws=100, tune=200)
        >>> int(bayes.posterior_n_components().idxmax())
        2
        """
        check_fitted(self, "idata_")
        return posterior_n_components(
            self, self.random_state if random_state is None else random_state)

    def impute(self, X: Any, n_imputations: int | None = None,
               random_state: Any = None) -> np.ndarray:
        """Fill the missing values (NaN) of ``X`` from the posterior.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with NaN where values are missing (no row entirely missing).
        n_imputations : int, optional
            ``None`` (default): the posterior mean of each missing value's conditional
            expectation given the row's observed values. An integer ``m``: ``m``
            completed copies of ``X`` drawn from the posterior predictive distribution
            of the missing values (multiple imputation that carries the parameters'
            uncertainty too).
        random_state : int, RandomState instance or None, default=None
            Seeds the draws.

        Returns
        -------
        ndarray of shape (n_samples, n_features) or (n_imputations, n_samples, n_features)

        Examples
        --------
        >>> import warnings
        >>> import numpy as np
        >>> from bayesmix.bayes import GaussianMixtureBayes
        >>> rng = np.random.default_rng(1)
        >>> X = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.9], [0.9, 1.0]], size=200)
        >>> X[:20, 1] = np.nan
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     bayes = GaussianMixtureBayes(1, random_state=0).fit(
        ...         X, method="advi", draws=100, n_iter=3000)
        >>> imputed = bayes.impute([[2.0, np.nan]])

        The posterior's conditional mean agrees with EM's (ADVI's draws vary by a few
        hundredths between machines, so the example compares rather than prints them):

        >>> from bayesmix import GaussianMixtureEM
        >>> em_imputed = GaussianMixtureEM(1).fit(X).impute([[2.0, np.nan]])
        >>> em_imputed.round(1)
        array([[2., 2.]])
        >>> bool(abs(imputed[0, 1] - em_imputed[0, 1]) < 0.1)
        True
        >>> bayes.impute([[2.0, np.nan]], n_imputations=5, random_state=0).shape
        (5, 1, 2)
        """
        X = self._check_X(X)
        if n_imputations is not None:
            n_imputations = check_int(n_imputations, "n_imputations", min_value=1)
        draws = self._draws
        return posterior_imputations(X, draws["weights"], draws["means"],
                                     draws["covariances"], n_imputations,
                                     check_random_state(random_state))

    def summary(self, **kwargs: Any) -> pd.DataFrame:
        """ArviZ summary of the relabelled ``weights``, ``means`` and ``covariances``.

        Parameters
        ----------
        **kwargs
            Passed to :func:`arviz.summary` (e.g. ``hdi_prob``, ``kind``).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import warnings
        >>> import numpy as np
        >>> from bayesmix.bayes import GaussianMixtureBayes
        >>> X = np.random.default_rng(1).normal(size=(60, 1))
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     bayes = GaussianMixtureBayes(1, random_state=0).fit(
        ...         X, method="advi", draws=100, n_iter=2000)
        >>> list(bayes.summary(kind="stats").index)
        ['weights[0]', 'means[0, x0]', 'covariances[0, x0, x0]']
        """
        check_fitted(self, "idata_")
        kwargs.setdefault("var_names",
                          list(_PARAMETERS + FAMILY_PARAMETERS[self.component_family]))
        return az.summary(self.idata_, **kwargs)

    #: The fitted attributes :func:`bayesmix.persistence.save` stores (those set). The
    #: posterior itself is the file's InferenceData, from which :meth:`restore_fitted_state`
    #: rebuilds the stacked draws and the PyMC model.
    fitted_attributes = (
        "priors_", "em_", "weights_", "means_", "covariances_", "diagnostics_",
        "n_features_in_", "feature_names_in_",
    )

    def restore_fitted_state(self, fitted: dict[str, Any], idata: az.InferenceData) -> None:
        """Set the fitted attributes read from a saved file (:func:`bayesmix.load`).

        Parameters
        ----------
        fitted : dict
            The saved values of :attr:`fitted_attributes`.
        idata : arviz.InferenceData
            The file's InferenceData: it becomes ``idata_``, and the stacked draws and
            the PyMC model ``model_`` (on the full data) are rebuilt from it.

        Examples
        --------
        >>> import warnings
        >>> import numpy as np
        >>> from bayesmix.bayes import GaussianMixtureBayes
        >>> X = np.random.default_rng(1).normal(size=(60, 1))
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     bayes = GaussianMixtureBayes(1, random_state=0).fit(
        ...         X, method="advi", draws=100, n_iter=2000)
        >>> copy = GaussianMixtureBayes(**bayes.get_params())
        >>> copy.restore_fitted_state({name: getattr(bayes, name) for name in
        ...                            bayes.fitted_attributes if hasattr(bayes, name)},
        ...                           bayes.idata_)
        >>> bool((copy.score_samples(X) == bayes.score_samples(X)).all())
        True
        """
        for name, value in fitted.items():
            setattr(self, name, value)
        self.idata_ = idata
        self._draws = _stacked_draws(idata.posterior, self.component_family)
        self.model_ = self._rebuilt_model()

    def _rebuilt_model(self) -> Any:
        """The PyMC model of the fit, built again on the full observed data."""
        X = self.idata_.observed_data["x"].values
        names = getattr(self, "feature_names_in_", None)
        model_data = X if names is None else pd.DataFrame(X, columns=names)
        return build_model(model_data, self.n_components, self.covariance_type,
                           self.priors_, self.ordered_means, family=self.component_family)

    def __getstate__(self) -> dict[str, Any]:
        # A PyMC model does not pickle (its custom distribution's graph holds partial
        # functions); it is rebuilt from the data and priors on unpickling.
        state = dict(super().__getstate__())  # a copy: it can be the instance's own dict
        state.pop("model_", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "idata_" in state:
            self.model_ = self._rebuilt_model()

    def save(self, path: Any, overwrite: bool = False) -> Any:
        """Write the fitted posterior to one netCDF file; :func:`bayesmix.load` reads it back.

        The file holds ``idata_`` (readable with ``arviz.from_netcdf``), the priors, the
        EM reference fit ``em_`` and every other fitted attribute, so the reloaded model
        predicts, scores, samples and plots bit-identically. See
        :func:`bayesmix.persistence.save`.

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
        >>> import warnings
        >>> from pathlib import Path
        >>> import numpy as np
        >>> from bayesmix import load
        >>> from bayesmix.bayes import GaussianMixtureBayes
        >>> X = np.random.default_rng(1).normal(size=(60, 1))
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     bayes = GaussianMixtureBayes(1, random_state=0).fit(
        ...         X, method="advi", draws=100, n_iter=2000)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     reloaded = load(bayes.save(Path(folder) / "bayes.nc"))
        >>> bool((reloaded.score_samples(X) == bayes.score_samples(X)).all())
        True
        """
        from bayesmix.persistence import save

        return save(self, path, overwrite=overwrite)


def _stacked_draws(posterior: Any, family: str) -> dict[str, np.ndarray]:
    """``weights``, ``means``, ``covariances`` and the family's parameters, with chain and
    draw stacked into one axis."""
    names = list(_PARAMETERS + FAMILY_PARAMETERS[family])
    draws = posterior[names].stack(sample=("chain", "draw"))
    return {name: np.moveaxis(draws[name].values, -1, 0) for name in names}
