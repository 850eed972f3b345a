"""The EM template shared by the mixture estimators: validation, restarts, fitted state.

:class:`BaseMixtureEM` holds what a maximum-likelihood mixture estimator does around the
EM engine (:mod:`bayesmix.em.engine`), whatever its component family: it validates the
constructor parameters, builds the data source (rows in memory, Dask chunks, or a source
given in place of ``X``), runs the restarts, stores the best run's fitted attributes,
diagnoses degenerate components and declares what persistence saves. A concrete
estimator (:class:`~bayesmix.GaussianMixtureEM`) adds its constructor, its density-based
prediction and scoring, and its export, as scikit-learn's ``BaseMixture`` and
``GaussianMixture`` share the work; what a noise component adds is
:class:`~bayesmix.em.noise.NoiseComponentMixin`'s. Its length (about 720 lines, half of
it docstrings and examples) is that of the one template every EM estimator shares:
validation of scikit-learn's parameters and the prior, the data source, restarts (and
their noise starts), runs fitted outside ``fit`` (:mod:`bayesmix.em.batch`), the fitted
state and its diagnosis.
"""

from __future__ import annotations

import numbers
import time
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin

from bayesmix._validation import (
    check_bool,
    check_fitted,
    check_int,
    check_memory,
    check_option,
    check_random_state,
    check_real,
    check_shape,
    physical_memory,
    short_repr,
)
from bayesmix.covariance import COVARIANCE_TYPES, CovarianceStructure, get_structure
from bayesmix.covariance.prior import ConjugatePrior, as_conjugate_prior
from bayesmix.em.diagnostics import axes_scatters, find_degenerate
from bayesmix.em.engine import EMEngine, EMRun, EMSettings, MixtureParameters
from bayesmix.em.init import INIT_METHODS, initial_responsibilities
from bayesmix.em.missing_source import memory_source
from bayesmix.em.noise import NoiseComponentMixin, noise_hypervolume
from bayesmix.em.sources import is_dask_collection
from bayesmix.exceptions import (
    ConvergenceWarning,
    DegenerateComponentWarning,
    RegCovarScaleWarning,
)
from bayesmix.families.noise import noise_responsibilities
from bayesmix.scoring import information_criteria

__all__ = ["ACCELERATIONS", "MAX_FACTORISATION_FLOPS", "REG_COVAR_RTOL", "BaseMixtureEM",
           "covariance_cost"]

#: Accepted values of ``acceleration`` besides ``None``.
ACCELERATIONS = ("squarem",)
#: The most floating-point operations one EM iteration may spend factorising the
#: covariance matrices (about ``n_features**3`` per matrix) before ``fit`` refuses: a
#: minute or more per iteration. Raise it to fit very wide data with a full or tied
#: covariance on a machine that can afford it.
MAX_FACTORISATION_FLOPS = 1e11
#: Arrays of the covariances' stored size a fit holds at its peak (measured on the
#: full structure: covariances, precisions, their factors, second moments, temporaries).
_COVARIANCE_COPIES = 10
#: ``fit`` warns (:class:`~bayesmix.RegCovarScaleWarning`) when ``reg_covar`` exceeds
#: this fraction of a column's variance.
REG_COVAR_RTOL = 1e-3


def covariance_cost(structure: CovarianceStructure, n_components: int, n_features: int
                    ) -> tuple[float, float]:
    """Memory (bytes) and factorisation work (floating-point operations per EM iteration)
    of a structure's covariances.

    A structure that estimates correlations stores matrices, each factorised and
    inverted at every iteration in about ``n_features**3`` operations; the others store
    variances, one operation each.

    Parameters
    ----------
    structure : CovarianceStructure
    n_components, n_features : int

    Returns
    -------
    (float, float)
        Bytes held at the fit's peak, and operations per iteration.

    Examples
    --------
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.base import covariance_cost
    >>> memory, flops = covariance_cost(get_structure("full"), 2, 10_000)
    >>> f"{memory / 2**30:.3g} GiB, {flops:.2g} operations"
    '14.9 GiB, 2e+12 operations'
    >>> covariance_cost(get_structure("diag"), 2, 10_000)
    (1600000.0, 20000.0)
    """
    entries = float(np.prod(structure.stored_shape(n_components, n_features)))
    flops = entries * n_features if structure.estimates_correlations else entries
    return 8.0 * _COVARIANCE_COPIES * entries, flops


def _refuse_resuming(before: str, now: str) -> None:
    """Refuse a warm start from a previous fit that has ``before`` for a fit with ``now``."""
    raise ValueError(f"warm_start=True resumes the previous fit, which has {before}, but this "
                     f"fit has {now}. Set warm_start=False to fit afresh.")


class BaseMixtureEM(NoiseComponentMixin, DensityMixin, BaseEstimator):
    """Fitting template of the EM mixture estimators (see the module docstring).

    Subclasses define ``__init__`` with scikit-learn's mixture parameters
    (``n_components``, ``covariance_type``, ``tol``, ``reg_covar``, ``max_iter``,
    ``n_init``, ``init_params``, ``weights_init``, ``means_init``, ``precisions_init``,
    ``random_state``, ``warm_start``, ``verbose``, ``verbose_interval``),
    ``acceleration``, ``prior``, ``noise`` and ``noise_init``.

    With ``noise=True`` the mixture has a uniform noise component of density ``1 / V``
    over the data's hypervolume (:func:`~bayesmix.families.noise.hypervolume`, mclust's
    ``hypvol``), whose weight EM estimates (Banfield & Raftery 1993; mclust's
    ``initialization=list(noise=...)``). EM starts from the rows ``noise_init`` marks
    (default: :func:`~bayesmix.families.noise.nearest_neighbour_noise`) as noise and the
    initialisation (``init_params``) of the other rows. ``weights_`` then ends with the
    noise weight (as mclust's ``pro``), also in ``noise_weight_``; ``predict_proba`` has
    the noise as its last column and ``predict`` labels the rows it takes ``-1``.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM
    >>> from bayesmix.em.base import BaseMixtureEM
    >>> issubclass(GaussianMixtureEM, BaseMixtureEM)
    True
    """

    #: The engine that runs EM for this estimator's component family.
    _engine_class = EMEngine

    def __sklearn_tags__(self) -> Any:
        # NaN is a missing value, fitted and scored on the observed coordinates.
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

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
        check_bool(self.noise, "noise")
        if self.noise and self.acceleration is not None:
            raise ValueError(
                f"acceleration={self.acceleration!r} is not available with noise=True (its "
                f"extrapolation does not carry the noise weight); pass acceleration=None.")
        if self.noise_init is not None and not self.noise:
            raise ValueError(
                "noise_init was given but noise=False: the initial noise rows need a noise "
                "component. Pass noise=True, or drop noise_init.")
        if self.acceleration is not None:
            check_option(self.acceleration, "acceleration", ACCELERATIONS)
        if self.prior is not None:
            if not (isinstance(self.prior, ConjugatePrior)
                    or (isinstance(self.prior, str) and self.prior == "default")):
                raise ValueError(
                    f"prior must be None (maximum likelihood), 'default' (mclust's "
                    f"defaultPrior) or a bayesmix.covariance.prior.ConjugatePrior, got "
                    f"{short_repr(self.prior)}."
                )
            structure.check_prior_support()
        structure.check_name_for_features(self.covariance_type, n_features)
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
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> BaseMixtureEM:
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
        array([5.1, 0.1])
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
        array([1, 1, 1, 0, 0, 0])
        """
        start_time = time.perf_counter()
        check_int(self.n_components, "n_components", min_value=1)
        structure = get_structure(self.covariance_type)
        source = self._data_source(X, sample_weight)
        given = self.check_fit(source)
        self._record_features(source)
        if "means" in given:
            given["means"] = given["means"] - source.shift

        settings = EMSettings(tol=self.tol, reg_covar=self.reg_covar, max_iter=self.max_iter,
                              verbose=self.verbose, verbose_interval=self.verbose_interval,
                              accelerate=self.acceleration == "squarem")
        noise = ({"noise_log_volume": float(np.log(noise_hypervolume(source)))}
                 if self.noise else {})
        engine = self._engine_class(source, structure, self.n_components, settings,
                                    self._resolved_prior(structure, source), **noise)
        warm = self.warm_start and hasattr(self, "converged_")
        n_init = 1 if warm else self.n_init
        # One generator for every restart, drawn from in turn, as scikit-learn does: the
        # same random_state gives scikit-learn's starts.
        random_state = check_random_state(self.random_state)
        seed = self.random_state if isinstance(self.random_state, numbers.Integral) else None
        with source.session(structure.row_width(self.n_components, source.n_features)):
            if warm:
                resumed = self._resumed(structure, source)
                best = engine.best_run([(0, lambda: resumed)],
                                       lower_bound=self.lower_bound_)
            else:
                best = engine.best_run(
                    (restart, lambda restart=restart: self._start(
                        engine, given, random_state,
                        None if seed is None else (int(seed), restart)))
                    for restart in range(n_init))
            # Final E step, so that the labels agree with the returned parameters.
            labels = source.new_labels()
            final = engine.e_step(best.parameters, labels=labels)

        self._store_fit(best, n_init, source, final.counts, axes_scatters(
            structure, final.counts, final.sums, final.second_moments))
        self._X_fit = source.training_rows
        self.fit_time_ = time.perf_counter() - start_time
        if labels is None:  # the rows are not in memory: predicted lazily, by chunks
            return self.predict(source.collection)
        return labels

    def _resolved_prior(self, structure: CovarianceStructure, source: Any
                        ) -> ConjugatePrior | None:
        """The prior with mclust's defaults filled in from the data (its initialisation
        sample, which is every row in memory), centred like the engine's data."""
        prior = as_conjugate_prior(self.prior)
        return None if prior is None else prior.for_source(source, structure,
                                                           self.n_components)

    def check_fit(self, source: Any) -> dict[str, np.ndarray]:
        """Validate the parameters against a data source as ``fit`` does, before any work.

        Returns the initial values given (``weights_init``, ``means_init``, the factors
        of ``precisions_init``) by name. :func:`bayesmix.select_em` checks a grid's
        settings with it once, not once per fit.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import GaussianMixtureEM
        >>> from bayesmix.em.sources import InMemorySource
        >>> GaussianMixtureEM(5).check_fit(InMemorySource(np.zeros((3, 1))))
        Traceback (most recent call last):
            ...
        ValueError: X has 3 samples but n_components=5: a mixture needs at least as many samples as components. Lower n_components or pass more rows.
        """
        structure = get_structure(self.covariance_type)
        self._check_n_samples(source.n_samples)
        given = self._check_parameters(structure, source.n_features)
        self._check_cost(structure, source.n_features)
        self._check_n_positive_weights(source.n_positive)
        if self.noise:
            self._initial_noise_rows(source)
        return given

    def set_fitted_run(self, run: EMRun, source: Any, counts: np.ndarray,
                       fit_time: float, scatters: np.ndarray | None = None
                       ) -> BaseMixtureEM:
        """Set the fitted attributes from an EM run made outside ``fit``, without refitting.

        As ``fit`` sets them from its best run: :mod:`bayesmix.em.batch` fits many
        models at once and hands each its run here.

        Parameters
        ----------
        run : EMRun
            Its parameters are those of the data centred by ``source.shift``.
        source : data source
            The rows the run was fitted on.
        counts : ndarray of shape (n_components,)
            Weighted counts of one E step at the run's parameters.
        fit_time : float
            Seconds, for ``fit_time_``.
        scatters : ndarray of shape (n_components, n_features, n_features), optional
            That E step's within scatters, which the degeneracy checks test for a
            structure whose axes come from them
            (:func:`~bayesmix.em.diagnostics.axes_scatters`).

        Returns
        -------
        self : GaussianMixtureEM

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import GaussianMixtureEM
        >>> from bayesmix.em.engine import EMRun, MixtureParameters
        >>> from bayesmix.em.sources import InMemorySource
        >>> source = InMemorySource(np.array([[0.0], [2.0]]))
        >>> run = EMRun(MixtureParameters(np.ones(1), np.zeros((1, 1)), np.ones((1, 1)),
        ...                               np.ones((1, 1))), -1.4, True, 2, 0.0)
        >>> em = GaussianMixtureEM(1, covariance_type="diag").set_fitted_run(
        ...     run, source, np.array([2.0]), fit_time=0.0)
        >>> em.means_, em.predict(np.array([[5.0]]))
        (array([[1.]]), array([0]))
        """
        self._record_features(source)
        self._store_fit(run, self.n_init, source, counts, scatters)
        self._X_fit = source.training_rows
        self.fit_time_ = fit_time
        return self

    def _data_source(self, X: Any, sample_weight: Any) -> Any:
        """The data source over ``X``: as given, Dask chunks, or rows in memory (with
        missing values or not)."""
        if hasattr(X, "e_step") and hasattr(X, "initialisation_sample"):
            if sample_weight is not None:
                raise ValueError(
                    "sample_weight was passed with a data source, which carries its own "
                    "weights. Build the source with the weights instead, e.g. "
                    "InMemorySource(X, sample_weight=w)."
                )
            return X
        if is_dask_collection(X):
            from bayesmix.em.dask_source import DaskSource

            return DaskSource(X, sample_weight, self.random_state)
        if is_dask_collection(sample_weight):
            sample_weight = sample_weight.compute()
        return memory_source(X, sample_weight)

    def _check_cost(self, structure: CovarianceStructure, n_features: int) -> None:
        """Refuse, before any work, covariances too large for memory or too slow to factorise."""
        what = (f"{type(self).__name__}(n_components={self.n_components}, covariance_type="
                f"{self.covariance_type!r}) on {n_features} features")
        # The four common structures span the costs (one matrix per component, one
        # shared, variances): naming all of mclust's 14 would drown the message.
        affordable = [name for name in COVARIANCE_TYPES
                      if self._affordable(get_structure(name), n_features)]
        fix = (f"Use covariance_type={' or '.join(map(repr, affordable))}, or reduce the "
               f"features (drop columns or use PCA)." if affordable else
               "Reduce the features (drop columns or use PCA) or the components.")
        memory, flops = covariance_cost(structure, self.n_components, n_features)
        check_memory(memory, what, fix)
        if flops > MAX_FACTORISATION_FLOPS:
            raise ValueError(
                f"{what} needs about {flops:.2g} floating-point operations per EM iteration "
                f"to factorise its covariance matrices (and about {memory / 2**30:.3g} GiB "
                f"of memory), more than MAX_FACTORISATION_FLOPS={MAX_FACTORISATION_FLOPS:.2g}"
                f": minutes to hours per iteration. {fix} To run it anyway, raise "
                f"bayesmix.em.base.MAX_FACTORISATION_FLOPS."
            )

    def _affordable(self, structure: CovarianceStructure, n_features: int) -> bool:
        """Whether ``structure``'s covariances fit this machine's memory and the work limit."""
        memory, flops = covariance_cost(structure, self.n_components, n_features)
        total = physical_memory()
        return flops <= MAX_FACTORISATION_FLOPS and (total is None or memory <= total)

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

    def _check_fitted(self) -> None:
        """Refuse an estimator that is not fitted, or whose fit its parameters no longer
        describe (``n_components`` or ``covariance_type`` set after ``fit``, which does
        not change the fitted attributes)."""
        check_fitted(self)
        n_components, n_features = self.means_.shape
        stored = get_structure(self.covariance_type).stored_shape(self.n_components,
                                                                  n_features)
        if n_components != self.n_components or self.precisions_cholesky_.shape != stored:
            raise ValueError(
                f"This {type(self).__name__} was fitted with {n_components} components "
                f"(precision factors of shape {self.precisions_cholesky_.shape}), but its "
                f"parameters now say n_components={self.n_components}, covariance_type="
                f"{self.covariance_type!r}: set_params does not change a fit. Fit it "
                f"again, or set those parameters back.")

    def _resumed(self, structure: CovarianceStructure, source: Any) -> MixtureParameters:
        """The previous fit's parameters, which a warm start resumes from (:meth:`_warm_start`).

        Refused where they are not parameters of this model on such data: another number
        of components or of features, or covariances the structure does not store (one
        matrix per component from 'full' does start 'VEV').
        """
        n_components, n_previous = self.means_.shape
        for now, before, differs in (
                (f"n_components={self.n_components}", f"{n_components} components",
                 self.n_components != n_components),
                (f"X with {source.n_features} features", f"{n_previous} features",
                 source.n_features != n_previous)):
            if differs:
                _refuse_resuming(before, now)
        resumed = self._warm_start(source.shift)
        stored = structure.stored_shape(self.n_components, source.n_features)
        if resumed.covariances.shape != stored:
            _refuse_resuming(f"covariances of shape {resumed.covariances.shape}",
                             f"covariance_type={self.covariance_type!r}, which stores "
                             f"covariances of shape {stored}")
        return resumed

    def _warm_start(self, shift: np.ndarray) -> MixtureParameters:
        """The previous fit's parameters, centred like the new data."""
        return MixtureParameters(self.component_weights_, self.means_ - shift,
                                 self.covariances_, self.precisions_cholesky_,
                                 noise_weight=self._previous_noise_weight())

    def criteria(self, X: Any) -> dict[str, float]:
        """The log-likelihood of ``X`` and the criteria of this fit, from one pass.

        Returns
        -------
        dict
            ``log_likelihood``, ``n_parameters``, ``bic``, ``aic``, ``icl``
            (:func:`bayesmix.scoring.information_criteria`), the noise component (if any)
            counted as mclust counts it.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
        >>> values = em.criteria(X)
        >>> values["n_parameters"], values["bic"] == em.bic(X)
        (11, True)
        """
        return information_criteria(self._weighted_log_prob(X), self._n_parameters())

    def _start(self, engine: EMEngine, given: dict[str, np.ndarray],
               random_state: np.random.RandomState, stream: tuple[int, int] | None
               ) -> MixtureParameters:
        """Parameters (of the centred data) to start one EM run from.

        The initial assignment (:func:`~bayesmix.em.init.initial_responsibilities`) is
        made on the source's initialisation sample, drawing from ``random_state``
        (``stream``, ``(seed, restart)`` for an integer ``random_state``, lets fits on
        the same source share k-means partitions); given initial values replace what it
        yields.
        """
        structure, source = engine.structure, engine.source
        X, weights = source.initialisation_sample()
        noise_rows = self._initial_noise_rows(source) if self.noise else None
        if {"weights", "means", "precisions_cholesky"} <= given.keys():
            start = self._given_start(structure, given)
        else:
            cache = source.cache
            if noise_rows is not None:  # the initialisation sees the other rows only
                X, weights = X[~noise_rows], weights[~noise_rows]
                cache = cache.setdefault(("without noise rows", noise_rows.tobytes()), {})
            resp = initial_responsibilities(X, self.n_components, self.init_params,
                                            random_state, weights, cache=cache, stream=stream)
            if noise_rows is not None:
                resp = noise_responsibilities(resp, noise_rows)
            start = engine.from_responsibilities(resp)
            if "precisions_cholesky" in given:
                start = self._given_start(structure, {**vars(start), **given})
            start.means = given.get("means", start.means)
        if noise_rows is not None:
            all_weights = source.initialisation_sample()[1]
            start.noise_weight = float(all_weights @ noise_rows / all_weights.sum())
        if "weights" in given:
            start.weights = given["weights"] * (1.0 - start.noise_weight)
        return start

    @staticmethod
    def _given_start(structure: CovarianceStructure, given: dict[str, np.ndarray]
                     ) -> MixtureParameters:
        return MixtureParameters.from_precision_factors(
            structure, given["weights"], given["means"], given["precisions_cholesky"])

    def _store_fit(self, best: EMRun, n_init: int, source: Any, counts: np.ndarray,
                   scatters: np.ndarray | None = None) -> None:
        """Set the fitted attributes from the best run; warn if it did not converge.

        ``counts`` and ``scatters`` come from one E step at its parameters (see
        :meth:`set_fitted_run`).
        """
        if not best.converged and best.n_iter >= self.max_iter > 0:  # not a run stopped early
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
        # In the data's precision, as scikit-learn returns them (EM ran its M steps in
        # float64 either way).
        dtype = source.dtype
        weights = params.weights
        for name in ("noise_weight_", "hypervolume_"):
            if hasattr(self, name):
                delattr(self, name)
        if self.noise:  # mclust's pro: the noise weight last
            weights = np.append(weights, params.noise_weight)
            self.noise_weight_ = float(params.noise_weight)
            self.hypervolume_ = noise_hypervolume(source)
        self.weights_ = weights.astype(dtype, copy=False)
        self.means_ = (params.means + source.shift).astype(dtype, copy=False)
        self.covariances_ = params.covariances.astype(dtype, copy=False)
        # C order, as a pickled or saved copy has it: the same arithmetic after a round trip.
        self.precisions_cholesky_ = np.ascontiguousarray(params.precisions_cholesky,
                                                         dtype=dtype)
        self.precisions_ = structure.precisions_from_cholesky(
            params.precisions_cholesky).astype(dtype, copy=False)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.lower_bound
        self.lower_bound_history_ = np.asarray(best.history)
        failed = {k: f"its covariance stopped being positive definite, so EM stopped at "
                     f"iteration {best.n_iter}" for k in best.failed_components}
        self.degenerate_reasons_ = self._find_degenerate(
            structure, counts, source.data_covariance(full=structure.estimates_correlations),
            failed, scatters)
        self.degenerate_components_ = list(self.degenerate_reasons_)
        self._warn_if_reg_covar_dominates(source.data_covariance(full=False))

    # ------------------------------------------------------------------ diagnostics
    def _find_degenerate(self, structure: CovarianceStructure, counts: np.ndarray,
                         data_covariance: np.ndarray, failed: dict[int, str],
                         scatters: np.ndarray | None = None) -> dict[int, str]:
        """Flag collapsed, starved and ``failed`` components (and those whose own axes
        are arbitrary), warn once listing them and why."""
        report = find_degenerate(structure, self.covariances_, counts, data_covariance,
                                 self.reg_covar, self._feature_label,
                                 prior=self.prior is not None, scatters=scatters)
        reasons = {k: "; ".join(why for why in (report.reasons.get(k), failed.get(k)) if why)
                   for k in sorted({*report.reasons, *failed})}
        if reasons:
            listed = "; ".join(f"component {k}: {why}" for k, why in reasons.items())
            if report.flat_data:
                listed += f". {report.flat_data}"
            warnings.warn(
                f"{len(reasons)} of {self.n_components} components are degenerate, "
                f"so this fit is not a trustworthy density model; {listed}. This happens "
                f"when a component collapses onto repeated or rounded values. Use fewer "
                f"components or a constrained covariance_type ('tied'), raise reg_covar, "
                f"or jitter rounded data; bayesmix.select_em never selects such a fit.",
                DegenerateComponentWarning,
                stacklevel=4,
            )
        return reasons

    def _warn_if_reg_covar_dominates(self, variances: np.ndarray) -> None:
        """Warn when ``reg_covar`` is not small next to a column's variance.

        Constant columns (variance 0) are left to the degeneracy diagnosis.
        """
        varying = np.where(variances > 0, variances, np.inf)
        column = int(np.argmin(varying))
        if not np.isfinite(varying[column]) or self.reg_covar <= REG_COVAR_RTOL * varying[column]:
            return
        warnings.warn(
            f"reg_covar={self.reg_covar:g} is not small next to the variance of X column "
            f"{self._feature_label(column)!r} ({varying[column]:.3g}): it is added to every "
            f"component's variances, so it swamps the data's own spread and the clustering "
            f"may be wrong. Standardise X (divide each column by its standard deviation), "
            f"or set reg_covar relative to the data, e.g. reg_covar=1e-6 * "
            f"X.var(axis=0).min() (as select_em does).",
            RegCovarScaleWarning,
            stacklevel=4,
        )

    def permute_components(self, order: Any) -> BaseMixtureEM:
        """Relabel the fitted components: new component ``j`` is old component ``order[j]``.

        The mixture is unchanged (the same density and scores); its per-component
        attributes, predictions and responsibilities follow the new labels.

        Parameters
        ----------
        order : array-like of int, shape (n_components,)
            A permutation of ``range(n_components)``.

        Returns
        -------
        self : GaussianMixtureEM

        Examples
        --------
        Label the components in increasing order of their first mean coordinate:

        >>> import numpy as np
        >>> from bayesmix import GaussianMixtureEM
        >>> X = np.array([[0.0], [0.2], [0.1], [5.0], [5.2], [5.1]])
        >>> em = GaussianMixtureEM(2, random_state=1).fit(X)
        >>> em.permute_components(np.argsort(em.means_[:, 0])).means_.ravel().round(1)
        array([0.1, 5.1])
        >>> em.predict(X)
        array([0, 0, 0, 1, 1, 1])
        """
        self._check_fitted()
        order = np.asarray(order)
        # Integers only: True and False would pass as 1 and 0 and index as a mask.
        if (order.dtype.kind not in "iu" or order.shape != (self.n_components,)
                or set(order.tolist()) != set(range(self.n_components))):
            raise ValueError(
                f"order must be a permutation of range({self.n_components}), got "
                f"{short_repr(order)}. Pass e.g. np.argsort(model.means_[:, 0])."
            )
        self.weights_ = np.concatenate([self.weights_[order],
                                        self.weights_[self.n_components:]])
        self.means_ = self.means_[order]
        if not get_structure(self.covariance_type).shares_covariance():
            for name in ("covariances_", "precisions_", "precisions_cholesky_"):
                setattr(self, name, getattr(self, name)[order])
        new_label = np.argsort(order)
        self.degenerate_reasons_ = dict(sorted(
            (int(new_label[k]), why) for k, why in self.degenerate_reasons_.items()))
        self.degenerate_components_ = list(self.degenerate_reasons_)
        return self

    def _feature_label(self, j: int) -> str:
        names = getattr(self, "feature_names_in_", None)
        return str(names[j]) if names is not None else f"x{j}"

    @property
    def lower_bounds_(self) -> np.ndarray:
        """scikit-learn's name for :attr:`lower_bound_history_` (the best run's lower
        bound at every iteration).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import GaussianMixtureEM
        >>> em = GaussianMixtureEM(2, random_state=0).fit(np.array([[0.0], [0.1], [5.0], [5.2]]))
        >>> em.lower_bounds_ is em.lower_bound_history_
        True
        """
        return self.lower_bound_history_

    #: What :mod:`bayesmix.persistence` stores of a fit (the attributes present); the
    #: training rows are the saved file's ``observed_data``.
    fitted_attributes = (
        "weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
        "converged_", "n_iter_", "lower_bound_", "lower_bound_history_",
        "degenerate_components_", "degenerate_reasons_", "fit_time_", "n_features_in_",
        "feature_names_in_", "noise_weight_", "hypervolume_",
    )

    def restore_fitted_state(self, fitted: dict[str, Any], idata: Any) -> None:
        """Set the fitted attributes read from a saved file (:func:`bayesmix.load`).

        Parameters
        ----------
        fitted : dict
            The saved values of :attr:`fitted_attributes`.
        idata : arviz.InferenceData
            The file's InferenceData; its ``observed_data`` holds the training rows.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
        >>> fitted = {name: getattr(em, name) for name in em.fitted_attributes
        ...           if hasattr(em, name)}
        >>> copy = GaussianMixtureEM(2)
        >>> copy.restore_fitted_state(fitted, em.to_inference_data())
        >>> bool((copy.predict(X) == em.predict(X)).all())
        True
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
