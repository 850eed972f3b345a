"""Warning and error classes raised by bayesmix.

Every warning bayesmix emits is a subclass of :class:`BayesmixWarning`, so a user can
silence or escalate them as a group (``warnings.simplefilter("error", BayesmixWarning)``).
"""

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from sklearn.exceptions import NotFittedError

__all__ = [
    "BayesmixWarning",
    "ChainDisagreementWarning",
    "ConvergenceWarning",
    "DegenerateComponentWarning",
    "InitialPointError",
    "NotFittedError",
    "NotPositiveDefiniteError",
    "RegCovarScaleWarning",
]


class BayesmixWarning(UserWarning):
    """Base class of every warning raised by bayesmix.

    Examples
    --------
    Escalate every bayesmix warning to an error, e.g. in a pipeline that must not
    accept a doubtful fit:

    >>> import warnings
    >>> from bayesmix import BayesmixWarning, DegenerateComponentWarning
    >>> issubclass(DegenerateComponentWarning, BayesmixWarning)
    True
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", BayesmixWarning)
    ...     try:
    ...         warnings.warn("collapsed", DegenerateComponentWarning)
    ...     except BayesmixWarning as error:
    ...         print(type(error).__name__)
    DegenerateComponentWarning
    """


class ConvergenceWarning(BayesmixWarning, _SklearnConvergenceWarning):
    """An iterative fit (EM, variational inference) stopped before it converged.

    Also a :class:`sklearn.exceptions.ConvergenceWarning`, so scikit-learn's own
    filters apply to it.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from bayesmix import ConvergenceWarning, GaussianMixtureEM
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     em = GaussianMixtureEM(3, max_iter=2, random_state=0).fit(X)
    >>> em.converged_, any(issubclass(w.category, ConvergenceWarning) for w in caught)
    (False, True)
    """


class DegenerateComponentWarning(BayesmixWarning):
    """A fitted component has collapsed and the fit should not be trusted as a model.

    Raised when a component's covariance sits at the ``reg_covar`` floor (it has
    collapsed onto a point or a lower-dimensional set, typically repeated or rounded
    values) or when it holds fewer effective points than it needs to estimate its
    covariance (or, for EEV and VEV, too few to fix its own axes). The offending
    components are listed in the estimator's ``degenerate_components_`` attribute.

    Examples
    --------
    Ten rows repeated exactly pull a component onto a single point:

    >>> import warnings
    >>> import numpy as np
    >>> from bayesmix import DegenerateComponentWarning, GaussianMixtureEM
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(100, 2)), np.full((10, 2), 5.0)])
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     em = GaussianMixtureEM(2, random_state=0).fit(X)
    >>> any(issubclass(w.category, DegenerateComponentWarning) for w in caught)
    True
    >>> len(em.degenerate_components_)
    1
    """


class RegCovarScaleWarning(BayesmixWarning):
    """``reg_covar`` is not small next to the data's variances, so it dominates the fit.

    ``reg_covar`` is an absolute amount added to every component's variances; on data
    measured in tiny units (variances near or below it) it swamps the components'
    own spread and EM returns a confident but wrong clustering. Standardise the data,
    or set ``reg_covar`` relative to it (e.g. ``1e-6`` times the smallest column
    variance, as :func:`~bayesmix.select_em` does by default).

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from bayesmix import GaussianMixtureEM, RegCovarScaleWarning
    >>> X = np.random.default_rng(0).normal(size=(100, 2)) * 1e-6
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     em = GaussianMixtureEM(2, random_state=0).fit(X)
    >>> any(w.category is RegCovarScaleWarning for w in caught)
    True
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     em = GaussianMixtureEM(2, reg_covar=1e-18, random_state=0).fit(X)
    >>> any(w.category is RegCovarScaleWarning for w in caught)
    False
    """


class SamplerDiagnosticWarning(BayesmixWarning):
    """A MCMC diagnostic says the posterior draws should not be trusted as they are.

    The parent of :class:`DivergenceWarning`, :class:`RhatWarning`, :class:`ESSWarning`
    and :class:`ChainDisagreementWarning`; filter it to silence all four.

    Examples
    --------
    >>> from bayesmix import (ChainDisagreementWarning, DivergenceWarning, ESSWarning,
    ...                       RhatWarning, SamplerDiagnosticWarning)
    >>> all(issubclass(warning, SamplerDiagnosticWarning) for warning in
    ...     (DivergenceWarning, RhatWarning, ESSWarning, ChainDisagreementWarning))
    True
    """


class DivergenceWarning(SamplerDiagnosticWarning):
    """NUTS reported divergent transitions: the draws may miss part of the posterior.

    Examples
    --------
    >>> from bayesmix import DivergenceWarning, SamplerDiagnosticWarning
    >>> issubclass(DivergenceWarning, SamplerDiagnosticWarning)
    True
    """


class RhatWarning(SamplerDiagnosticWarning):
    """The chains disagree (rank-normalised split R-hat above 1.01).

    Examples
    --------
    >>> from bayesmix import RhatWarning, SamplerDiagnosticWarning
    >>> issubclass(RhatWarning, SamplerDiagnosticWarning)
    True
    """


class ESSWarning(SamplerDiagnosticWarning):
    """Too few effective draws (bulk ESS below 100 per chain) for reliable summaries.

    Examples
    --------
    >>> from bayesmix import ESSWarning, SamplerDiagnosticWarning
    >>> issubclass(ESSWarning, SamplerDiagnosticWarning)
    True
    """


class ChainDisagreementWarning(SamplerDiagnosticWarning):
    """A chain's relabelled draws sit in another mode than the other chains'.

    Its posterior means of the relabelled weights or means lie far (several within-chain
    standard deviations) from those of the other chains: the chain is stuck in another
    mode of the posterior. The warning names the chain, which R-hat does not.

    Examples
    --------
    Four chains of draws, the last one elsewhere in its first weight:

    >>> import warnings
    >>> import arviz as az
    >>> import numpy as np
    >>> from bayesmix import ChainDisagreementWarning
    >>> from bayesmix.bayes.inference import check_sampler_diagnostics
    >>> weights = np.random.default_rng(0).dirichlet([50, 50], size=(4, 200))
    >>> weights[3] = weights[3, :, ::-1] * [0.3, 1.0] + [0.0, 0.35]
    >>> idata = az.from_dict(posterior={"weights": weights}, dims={"weights": ["component"]})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     result = check_sampler_diagnostics(idata)
    >>> result["disagreeing_chains"]
    [3]
    >>> any(w.category is ChainDisagreementWarning for w in caught)
    True
    """


class InitialPointError(ValueError):
    """NUTS cannot start: the log density is not finite at a chain's initial point.

    Raised before sampling when initial values lie outside their variables' support, and
    instead of the back end's own error when the sampler finds a non-finite log density
    at the start (for instance data so extreme that the likelihood overflows).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix import InitialPointError
    >>> from bayesmix.bayes import build_model
    >>> from bayesmix.bayes.inference import check_initial_points
    >>> model = build_model(np.random.default_rng(0).normal(size=(20, 1)), 1, "spherical")
    >>> try:
    ...     check_initial_points(model, [{"sigma": np.array([-1.0])}])
    ... except InitialPointError as error:
    ...     print(str(error).split(":")[0])
    Chain 0 cannot start
    """


class NotPositiveDefiniteError(ValueError):
    """A fitted covariance is not positive definite: the fit cannot go on.

    Raised when an M step gives a covariance whose precision factor does not exist (a
    component collapsed onto fewer points than its covariance needs, or columns whose
    scales are too far apart for the regularisation to keep it invertible in floating
    point). The message names the component and what to try. A ``ValueError``, so code
    that catches those catches it too; :func:`~bayesmix.select_em` catches it per grid
    cell and reports the cell as not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix import NotPositiveDefiniteError
    >>> from bayesmix.covariance import get_structure
    >>> try:
    ...     get_structure("full").precision_cholesky(np.zeros((1, 2, 2)))
    ... except NotPositiveDefiniteError as error:
    ...     print(error)  # doctest: +ELLIPSIS
    The covariance of component 0 is not positive definite (smallest eigenvalue 0). Increase...
    """


class VIConvergenceWarning(ConvergenceWarning):
    """Variational inference stopped at its iteration limit before its parameters settled.

    Examples
    --------
    >>> from bayesmix import VIConvergenceWarning, ConvergenceWarning
    >>> issubclass(VIConvergenceWarning, ConvergenceWarning)
    True
    """
