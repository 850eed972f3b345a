"""StudentMixtureBayes: the Bayesian mixture of multivariate t distributions.

:class:`~bayesmix.bayes.GaussianMixtureBayes` with t components: the same model (labels
marginalised, the same priors and covariance structures), each component's density the
marginal multivariate t (:mod:`bayesmix.bayes.components`) and its degrees of freedom a
free variable with a Gamma prior. Fitting, relabelling, diagnostics, scoring, prediction
and persistence are the parent's, which ask the density seam keyed on the family
(:mod:`bayesmix.density`) for every density; this class supplies the family's reference
EM fit (:class:`~bayesmix.StudentMixtureEM`), its initial values and summaries.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from bayesmix.bayes.estimator import GaussianMixtureBayes
from bayesmix.bayes.priors import MixturePriors
from bayesmix.em import StudentMixtureEM

__all__ = ["StudentMixtureBayes"]

#: The range the chains' initial degrees of freedom are clipped to: EM's estimate sits
#: at its upper bound (200) for Gaussian-like clusters, far in the prior's tail.
INITIAL_DOF_RANGE = (1.0, 100.0)


class StudentMixtureBayes(GaussianMixtureBayes):
    """Bayesian mixture of multivariate t distributions fitted with PyMC.

    Heavy-tailed components: outlying rows are explained by a component's tails instead
    of stretching its covariance or taking a component for themselves (McLachlan & Peel
    2000, chapter 7). The likelihood is the marginal multivariate t (no latent scale
    weights); each component's degrees of freedom ``dof[k]`` has the prior
    ``Gamma(shape, rate)`` (default ``Gamma(2, 0.1)``, Juarez and Steel 2010). Every
    chain starts from a jittered :class:`~bayesmix.StudentMixtureEM` fit (the best of ten
    starts from random rows), which is also the relabelling reference.

    Parameters
    ----------
    n_components, covariance_type, priors, ordered_means, method, draws, tune, chains, \
nuts_sampler, init, progressbar, batch_size, sampler_kwargs, random_state
        As :class:`~bayesmix.bayes.GaussianMixtureBayes`; the half-normal and LKJ
        priors are those of the components' scale matrices.
    dof_prior : (float, float), optional
        ``(shape, rate)`` of the Gamma prior of the degrees of freedom; overrides
        ``priors.dof_prior``. Default: ``priors.dof_prior``, else
        :data:`~bayesmix.bayes.priors.DEFAULT_DOF_PRIOR` ``(2.0, 0.1)``.

    Attributes
    ----------
    idata_ : arviz.InferenceData
        As :class:`~bayesmix.bayes.GaussianMixtureBayes`'s, with ``attrs["family"] ==
        "student_t"``, ``posterior["covariances"]`` holding the scale matrices and
        ``posterior["dof"] (chain, draw, component)`` the degrees of freedom.
    em_ : StudentMixtureEM
    weights_, means_ : ndarray
        Posterior means.
    scales_ : ndarray of shape (n_components, n_features, n_features)
        Posterior mean of the scale matrices.
    dof_ : ndarray of shape (n_components,)
        Posterior mean of the degrees of freedom.
    covariances_ : ndarray of shape (n_components, n_features, n_features)
        ``scales_ * dof_ / (dof_ - 2)``: the covariances at the posterior means, infinite
        where ``dof_ <= 2`` (their nonzero entries).
    model_, priors_, diagnostics_, n_features_in_, feature_names_in_
        As :class:`~bayesmix.bayes.GaussianMixtureBayes`; ``priors_.dof_prior`` is set.

    See Also
    --------
    StudentMixtureEM : the maximum-likelihood fit of the same model.
    GaussianMixtureBayes : Gaussian components.

    Examples
    --------
    Two clusters and a few gross outliers, fitted with ADVI:

    >>> import warnings
    >>> import numpy as np
    >>> from bayesmix.bayes import StudentMixtureBayes
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-4, 1, (100, 1)), rng.normal(4, 1, (100, 1)),
    ...                [[40.0], [-35.0], [60.0]]])
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # 3000 iterations may stop short of tol
    ...     bayes = StudentMixtureBayes(2, random_state=0).fit(
    ...         X, method="advi", draws=200, n_iter=3000)
    >>> np.sort(bayes.means_.ravel()).round(0)
    array([-4.,  4.])
    >>> bayes.idata_.posterior["dof"].dims
    ('chain', 'draw', 'component')
    >>> bayes.priors_.dof_prior
    (2.0, 0.1)
    >>> bayes.predict([[-4.0], [4.0], [60.0]]).tolist() == bayes.predict(
    ...     [[-4.0], [4.0], [4.0]]).tolist()
    True
    """

    component_family = "student_t"
    _em_class = StudentMixtureEM
    #: The best of ten starts from random rows: k-means starts put a centre on gross
    #: outliers, and a t mixture then keeps it there (a component of heavy tails).
    _em_starts = {"n_init": 10, "init_params": "random_from_data"}

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
        dof_prior: tuple[float, float] | None = None,
    ) -> None:
        super().__init__(
            n_components, covariance_type=covariance_type, priors=priors,
            ordered_means=ordered_means, method=method, draws=draws, tune=tune,
            chains=chains, nuts_sampler=nuts_sampler, init=init, progressbar=progressbar,
            batch_size=batch_size, sampler_kwargs=sampler_kwargs, random_state=random_state)
        self.dof_prior = dof_prior

    def __sklearn_tags__(self) -> Any:
        # The t posterior refuses NaN (no marginalisation of missing coordinates yet).
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    # ------------------------------------------------------------------ family hooks
    def _resolved_priors(self, X: np.ndarray, n_components: int, covariance_type: str
                         ) -> MixturePriors:
        """The priors, ``dof_prior`` (when given) in place of ``priors.dof_prior``."""
        priors = self.priors or MixturePriors()
        if self.dof_prior is not None:
            priors = dataclasses.replace(priors, dof_prior=self.dof_prior)  # checks it
        return priors.resolve(X, n_components, covariance_type, self.component_family)

    def _em_scale_matrices(self) -> np.ndarray:
        return self.em_.scales_

    def _family_initial_values(self, rng: np.random.Generator, jitter: float
                               ) -> dict[str, np.ndarray]:
        """EM's degrees of freedom (clipped to :data:`INITIAL_DOF_RANGE`), their logs
        jittered by about ``jitter``."""
        dof = np.clip(self.em_.dof_.astype(np.float64), *INITIAL_DOF_RANGE)
        return {"dof": dof * np.exp(jitter * rng.standard_normal(dof.shape))}

    def _set_summaries(self) -> None:
        super()._set_summaries()
        self.scales_ = self.covariances_
        self.dof_ = self.idata_.posterior["dof"].mean(("chain", "draw")).values
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(self.dof_ > 2, self.dof_ / (self.dof_ - 2), np.inf)
            covariances = self.scales_ * factor[:, np.newaxis, np.newaxis]
        # Zero covariances (a diagonal structure's) stay zero, not 0 * inf = NaN.
        self.covariances_ = np.where(self.scales_ == 0.0, 0.0, covariances)

    fitted_attributes = GaussianMixtureBayes.fitted_attributes + ("scales_", "dof_")

    def impute(self, X: Any, n_imputations: int | None = None,
               random_state: Any = None) -> np.ndarray:
        """Not available for t components yet: refused with the way out.

        Raises
        ------
        ValueError
            Always; :class:`~bayesmix.bayes.GaussianMixtureBayes` imputes.

        Examples
        --------
        >>> from bayesmix.bayes import StudentMixtureBayes
        >>> StudentMixtureBayes(2).impute([[0.0, float("nan")]])
        Traceback (most recent call last):
        ...
        ValueError: StudentMixtureBayes cannot impute missing values yet ...
        """
        raise ValueError(
            "StudentMixtureBayes cannot impute missing values yet (the t's conditional "
            "distributions are not implemented). Use GaussianMixtureBayes(...).impute, or "
            "impute before fitting."
        )
