"""Maximum-likelihood mixtures of multivariate t, fitted by the ECM algorithm.

:class:`StudentMixtureEM` has :class:`~bayesmix.GaussianMixtureEM`'s parameters, methods
and attributes plus the degrees of freedom ``dof``: heavy-tailed components, so that
outlying rows are down-weighted instead of stretching a cluster or taking a component
for themselves (McLachlan & Peel 2000, chapter 7). The fit template is
:class:`~bayesmix.em.base.BaseMixtureEM`'s; the engine is
:class:`~bayesmix.em.student_engine.StudentEMEngine`; the density is
:mod:`bayesmix.families.student_t`'s.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from bayesmix._validation import (
    check_int,
    check_memory,
    check_random_state,
    short_repr,
    validate_data,
)
from bayesmix.covariance import CovarianceStructure, get_structure, n_parameters
from bayesmix.density import logsumexp_rows, normalise_rows
from bayesmix.em.base import BaseMixtureEM
from bayesmix.em.engine import EMRun
from bayesmix.em.missing_source import MissingValuesSource
from bayesmix.em.sources import InMemorySource
from bayesmix.em.student_engine import StudentEMEngine, StudentParameters
from bayesmix.families.student_t import mixture_log_prob

__all__ = ["StudentMixtureEM"]

#: The degrees of freedom the runs start from when ``dof=None`` estimates them.
START_DOF = 10.0


class StudentMixtureEM(BaseMixtureEM):
    """Mixture of multivariate t distributions fitted by maximum likelihood (ECM).

    Each component has a mean ``mu_k``, a scale matrix ``Sigma_k`` (constrained by
    ``covariance_type`` as a Gaussian covariance is) and degrees of freedom ``nu_k``.
    Each iteration is an E step (responsibilities and the latent scale weights ``u_nk =
    (nu_k + D) / (nu_k + delta_nk)``, ``delta`` the squared Mahalanobis distance), the
    structure's Gaussian M step on the statistics weighted by ``r_nk u_nk``, and, when
    ``dof=None``, a one-dimensional root search for each ``nu_k``
    (:func:`~bayesmix.families.student_t.update_dof`). The log-likelihood never
    decreases.

    Parameters
    ----------
    n_components, covariance_type, tol, reg_covar, max_iter, n_init, init_params,
    weights_init, means_init, precisions_init, random_state, warm_start, verbose,
    verbose_interval
        As :class:`~bayesmix.GaussianMixtureEM`; ``precisions_init`` are inverse scale
        matrices.
    acceleration : None
        SQUAREM is not available for t mixtures; anything else is refused.
    prior : None
        The conjugate prior is Gaussian-only; anything else is refused.
    dof : float or None, default=None
        ``None`` estimates each component's degrees of freedom (starting from
        :data:`START_DOF`, within :data:`~bayesmix.families.student_t.DOF_BOUNDS`); a
        positive float fixes them all.
    noise, noise_init
        A uniform noise component beside the t components, as
        :class:`~bayesmix.GaussianMixtureEM`'s.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,), or (n_components + 1,) with noise
    component_weights_, noise_weight_, hypervolume_
        As :class:`~bayesmix.GaussianMixtureEM`'s.
    means_ : ndarray of shape (n_components, n_features)
    scales_ : ndarray
        The scale matrices, in the structure's stored shape (as
        ``GaussianMixtureEM.covariances_``).
    dof_ : ndarray of shape (n_components,)
    covariances_ : ndarray of shape (n_components, n_features, n_features)
        Each component's covariance, ``Sigma_k nu_k / (nu_k - 2)``, as full matrices
        (components of one shared scale differ by their dof); infinite where ``nu_k <=
        2``.
    precisions_, precisions_cholesky_ : ndarray
        Inverses of the scale matrices and their upper Cholesky factors (stored shape).
    converged_, n_iter_, lower_bound_, lower_bound_history_, lower_bounds_,
    degenerate_components_, degenerate_reasons_, fit_time_, n_features_in_,
    feature_names_in_
        As :class:`~bayesmix.GaussianMixtureEM` (degeneracy is read on the scales).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix import StudentMixtureEM
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.standard_t(3, size=(200, 2)), rng.standard_t(3, size=(200, 2)) + 8])
    >>> em = StudentMixtureEM(2, random_state=0).fit(X)
    >>> np.sort(em.means_[:, 0]).round(1), bool((em.dof_ < 10).all())
    (array([0.1, 7.9]), True)
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
        prior: Any = None,
        dof: float | None = None,
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
        self.dof = dof
        self.noise = noise
        self.noise_init = noise_init

    # ------------------------------------------------------------------ fitting hooks
    def _check_parameters(self, structure: CovarianceStructure, n_features: int
                          ) -> dict[str, np.ndarray]:
        if self.dof is not None and (isinstance(self.dof, bool) or not isinstance(
                self.dof, (int, float, np.integer, np.floating)) or not self.dof > 0
                or not np.isfinite(self.dof)):
            raise ValueError(
                f"dof must be None (estimated per component) or a finite number > 0, got "
                f"{short_repr(self.dof)}. Pass e.g. dof=4.0, or dof=None.")
        for name in ("acceleration", "prior"):
            if getattr(self, name) is not None:
                raise ValueError(
                    f"{name}={short_repr(getattr(self, name))} is not available for "
                    f"StudentMixtureEM (Gaussian components only); pass {name}=None.")
        return super()._check_parameters(structure, n_features)

    @property
    def _engine_class(self) -> Any:
        start = START_DOF if self.dof is None else float(self.dof)
        return functools.partial(StudentEMEngine, start_dof=start,
                                 fixed_dof=self.dof is not None)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False  # the t family fits complete rows only
        return tags

    def _data_source(self, X: Any, sample_weight: Any) -> Any:
        source = super()._data_source(X, sample_weight)
        if isinstance(source, MissingValuesSource):
            raise ValueError(
                "X has missing values (NaN), which StudentMixtureEM does not fit yet. Drop "
                "or impute those rows, or use GaussianMixtureEM, which fits them on the "
                "observed coordinates.")
        if not isinstance(source, InMemorySource):
            raise TypeError(
                f"StudentMixtureEM fits rows in memory; got {type(source).__name__}. Pass "
                f"a NumPy array or DataFrame (e.g. a Dask collection's .compute()).")
        return source

    def _warm_start(self, shift: np.ndarray) -> StudentParameters:
        return StudentParameters(self.component_weights_, self.means_ - shift, self.scales_,
                                 self.precisions_cholesky_, self.dof_,
                                 noise_weight=self._previous_noise_weight())

    def _store_fit(self, best: EMRun, n_init: int, source: Any, counts: np.ndarray,
                   scatters: np.ndarray | None = None) -> None:
        super()._store_fit(best, n_init, source, counts, scatters)
        self.scales_ = self.covariances_
        self.dof_ = best.parameters.dof.astype(source.dtype, copy=False)
        self.covariances_ = self._covariances()

    def _covariances(self) -> np.ndarray:
        """``Sigma_k nu_k / (nu_k - 2)`` as full matrices; infinite where ``nu_k <= 2``
        (except the entries a diagonal or spherical scale holds at zero, which stay 0)."""
        K, D = self.means_.shape
        full = get_structure(self.covariance_type).to_full(self.scales_, K, D)
        with np.errstate(divide="ignore"):
            factor = np.where(self.dof_ > 2, self.dof_ / (self.dof_ - 2), np.inf)
        with np.errstate(invalid="ignore"):
            scaled = np.where(full == 0.0, 0.0, full * factor[:, np.newaxis, np.newaxis])
        return scaled.astype(self.scales_.dtype)

    def permute_components(self, order: Any) -> StudentMixtureEM:
        """Relabel the fitted components (see ``GaussianMixtureEM.permute_components``).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import StudentMixtureEM
        >>> X = np.array([[0.0], [0.2], [0.1], [0.3], [5.0], [5.2], [5.1], [5.3]])
        >>> em = StudentMixtureEM(2, dof=4.0, random_state=1).fit(X)
        >>> em.permute_components(np.argsort(em.means_[:, 0])).predict(X)
        array([0, 0, 0, 0, 1, 1, 1, 1])
        """
        covariances = self.covariances_
        self.covariances_ = self.scales_  # the base class permutes the stored-shape arrays
        try:
            super().permute_components(order)
        finally:
            self.scales_, self.covariances_ = self.covariances_, covariances
        order = np.asarray(order)
        self.dof_ = self.dof_[order]
        self.covariances_ = covariances[order]
        return self

    # ------------------------------------------------------------------ prediction
    def _check_X(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return validate_data(self, X, reset=False, keep_float32=True)

    def _weighted_log_prob(self, X: Any) -> np.ndarray:
        return self._checked_log_prob(self._check_X(X))

    def _checked_log_prob(self, X: np.ndarray) -> np.ndarray:
        """``log pi_k + log t_k(x_n)`` of validated rows, in float64, then the noise
        column if any."""
        return self._with_noise(mixture_log_prob(
            X, self.component_weights_, self.means_, self.precisions_cholesky_,
            get_structure(self.covariance_type), self.dof_))

    def score_samples(self, X: Any) -> np.ndarray:
        """Log density of the t mixture at each row of ``X`` (in ``X``'s precision:
        float32 for float32 rows, computed in float64).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import StudentMixtureEM
        >>> X = np.array([[0.0], [0.2], [0.1], [0.3], [5.0], [5.2], [5.1], [5.3]])
        >>> StudentMixtureEM(2, dof=4.0, random_state=0).fit(X).score_samples(X).shape
        (8,)
        """
        X = self._check_X(X)
        return logsumexp_rows(self._checked_log_prob(X)).astype(X.dtype, copy=False)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood per row of ``X``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import StudentMixtureEM
        >>> X = np.array([[0.0], [0.2], [0.1], [0.3], [5.0], [5.2], [5.1], [5.3]])
        >>> em = StudentMixtureEM(2, dof=4.0, random_state=0).fit(X)
        >>> bool(np.isclose(em.score(X), em.score_samples(X).mean()))
        True
        """
        return float(self.score_samples(X).mean())

    def predict_proba(self, X: Any) -> np.ndarray:
        """Responsibilities: probability of each component for each row (the noise
        component's last, if any).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import StudentMixtureEM
        >>> X = np.array([[0.0], [0.2], [0.1], [0.3], [5.0], [5.2], [5.1], [5.3]])
        >>> StudentMixtureEM(2, dof=4.0, random_state=0).fit(X).predict_proba(X).sum(axis=1)
        array([1., 1., 1., 1., 1., 1., 1., 1.])
        """
        X = self._check_X(X)
        resp = self._checked_log_prob(X)
        normalise_rows(resp)
        return resp.astype(X.dtype, copy=False)

    def predict(self, X: Any) -> np.ndarray:
        """Most likely component of each row; -1 for the noise component.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import StudentMixtureEM
        >>> X = np.array([[0.0], [0.2], [0.1], [0.3], [5.0], [5.2], [5.1], [5.3]])
        >>> labels = StudentMixtureEM(2, dof=4.0, random_state=0).fit(X).predict(X)
        >>> len(set(labels[:4])), len(set(labels[4:])), bool(labels[0] != labels[4])
        (1, 1, True)
        """
        return self._labels(self._weighted_log_prob(X))

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw rows from the fitted mixture: ``mu + z / sqrt(g / nu)``, ``z ~ N(0,
        Sigma)``, ``g ~ chi2(nu)``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import StudentMixtureEM
        >>> X = np.array([[0.0], [0.2], [0.1], [0.3], [5.0], [5.2], [5.1], [5.3]])
        >>> rows, labels = StudentMixtureEM(2, dof=4.0, random_state=0).fit(X).sample(5)
        >>> rows.shape, labels.shape
        ((5, 1), (5,))
        """
        self._check_fitted()
        self._refuse_noise_sample()
        n_samples = check_int(n_samples, "n_samples", min_value=1)
        K, D = self.means_.shape
        check_memory(8.0 * n_samples * D * 2, f"sample(n_samples={n_samples})",
                     "Draw fewer rows, in batches if need be.")
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        full = get_structure(self.covariance_type).to_full(self.scales_, K, D)
        parts = []
        for mean, scale, dof, count in zip(self.means_, full, self.dof_, counts):
            gaussian = rng.multivariate_normal(np.zeros(D), scale, int(count))
            parts.append(mean + gaussian / np.sqrt(rng.chisquare(dof, int(count)) / dof
                                                   )[:, np.newaxis])
        return np.vstack(parts), np.repeat(np.arange(K), counts)

    # ------------------------------------------------------------------ criteria
    def _n_parameters(self) -> int:
        """Free parameters: the Gaussian mixture's plus one dof per component if
        estimated, plus the noise component's (mclust's 2) if any."""
        gaussian = n_parameters(self.n_components, self.means_.shape[1], self.covariance_type)
        return (gaussian + (self.n_components if self.dof is None else 0)
                + self._n_noise_parameters())

    def bic(self, X: Any) -> float:
        """Bayesian information criterion (lower is better), the dof counted.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import StudentMixtureEM
        >>> X = np.array([[0.0], [0.2], [0.1], [0.3], [5.0], [5.2], [5.1], [5.3]])
        >>> em = StudentMixtureEM(2, random_state=0).fit(X)
        >>> em._n_parameters(), bool(np.isclose(em.bic(X), -2 * 8 * em.score(X) + 7 * np.log(8)))
        (7, True)
        """
        return self.criteria(X)["bic"]

    def aic(self, X: Any) -> float:
        """Akaike information criterion (lower is better): ``-2 log L + 2 p``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import StudentMixtureEM
        >>> X = np.array([[0.0], [0.2], [0.1], [0.3], [5.0], [5.2], [5.1], [5.3]])
        >>> em = StudentMixtureEM(2, dof=4.0, random_state=0).fit(X)
        >>> bool(np.isclose(em.aic(X), -2 * 8 * em.score(X) + 2 * 5))
        True
        """
        return self.criteria(X)["aic"]

    def icl(self, X: Any) -> float:
        """Integrated completed likelihood: ``BIC + 2 * entropy`` (lower is better).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import StudentMixtureEM
        >>> X = np.array([[0.0], [0.2], [0.1], [0.3], [5.0], [5.2], [5.1], [5.3]])
        >>> em = StudentMixtureEM(2, dof=4.0, random_state=0).fit(X)
        >>> bool(em.icl(X) >= em.bic(X))
        True
        """
        return self.criteria(X)["icl"]

    # ------------------------------------------------------------------ export
    fitted_attributes = BaseMixtureEM.fitted_attributes + ("scales_", "dof_")

    def to_inference_data(self, X: Any = None):
        """The fit as a point-mass :class:`arviz.InferenceData`: ``covariances`` holds
        the scale matrices, ``dof`` the degrees of freedom, ``attrs["family"]`` is
        ``"student_t"``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import StudentMixtureEM
        >>> X = np.array([[0.0], [0.2], [0.1], [0.3], [5.0], [5.2], [5.1], [5.3]])
        >>> idata = StudentMixtureEM(2, dof=4.0, random_state=0).fit(X).to_inference_data()
        >>> idata.posterior["dof"].values.ravel(), idata.posterior.attrs["family"]
        (array([4., 4.]), 'student_t')
        """
        from bayesmix.results import build_inference_data

        self._check_fitted()
        X = self._X_fit if X is None else validate_data(self, X, reset=False)
        K, D = self.means_.shape
        point = np.newaxis, np.newaxis
        full = get_structure(self.covariance_type).to_full(self.scales_, K, D)
        history = self.lower_bound_history_
        names = getattr(self, "feature_names_in_", None)
        return build_inference_data(
            X=X, weights=self.component_weights_[point], means=self.means_[point],
            covariances=full[point], covariance_type=self.covariance_type,
            inference_method="em", feature_names=None if names is None else list(names),
            log_likelihood=self.score_samples(X)[point],
            raw_parameters={"dof": (self.dof_[point], ("chain", "draw", "component")),
                            **self._noise_variables()},
            sample_stats={
                "lower_bound_history": (history[point], ("chain", "draw", "iteration")),
                "converged": (np.array([[self.converged_]]), ("chain", "draw")),
                "n_iter": (np.array([[self.n_iter_]]), ("chain", "draw"))},
            extra_coords={"iteration": np.arange(1, len(history) + 1)},
            attrs={"family": "student_t", "dof_fixed": int(self.dof is not None),
                   "reg_covar": float(self.reg_covar),
                   "fit_time": self.fit_time_,
                   "degenerate_components": list(self.degenerate_components_),
                   **self._noise_attrs()},
        )
