"""Warning and error classes raised by bayesmix.

Every warning bayesmix emits is a subclass of :class:`BayesmixWarning`, so a user can
silence or escalate them as a group (``warnings.simplefilter("error", BayesmixWarning)``).
"""

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from sklearn.exceptions import NotFittedError

__all__ = [
    "BayesmixWarning",
    "ConvergenceWarning",
    "DegenerateComponentWarning",
    "NotFittedError",
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
    covariance. The offending components are listed in the estimator's
    ``degenerate_components_`` attribute.

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


class SamplerDiagnosticWarning(BayesmixWarning):
    """A MCMC diagnostic says the posterior draws should not be trusted as they are.

    The parent of :class:`DivergenceWarning`, :class:`RhatWarning` and
    :class:`ESSWarning`; filter it to silence all three.

    Examples
    --------
    >>> from bayesmix import (DivergenceWarning, ESSWarning, RhatWarning,
    ...                       SamplerDiagnosticWarning)
    >>> all(issubclass(warning, SamplerDiagnosticWarning)
    ...     for warning in (DivergenceWarning, RhatWarning, ESSWarning))
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


class VIConvergenceWarning(ConvergenceWarning):
    """Variational inference stopped at its iteration limit before its parameters settled.

    Examples
    --------
    >>> from bayesmix import VIConvergenceWarning, ConvergenceWarning
    >>> issubclass(VIConvergenceWarning, ConvergenceWarning)
    True
    """
