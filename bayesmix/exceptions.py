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
    """Base class of every warning raised by bayesmix."""


class ConvergenceWarning(BayesmixWarning, _SklearnConvergenceWarning):
    """An iterative fit (EM, variational inference) stopped before it converged.

    Also a :class:`sklearn.exceptions.ConvergenceWarning`, so scikit-learn's own
    filters apply to it.
    """


class DegenerateComponentWarning(BayesmixWarning):
    """A fitted component has collapsed and the fit should not be trusted as a model.

    Raised when a component's covariance sits at the ``reg_covar`` floor (it has
    collapsed onto a point or a lower-dimensional set, typically repeated or rounded
    values) or when it holds fewer effective points than it needs to estimate its
    covariance. The offending components are listed in the estimator's
    ``degenerate_components_`` attribute.
    """


class SamplerDiagnosticWarning(BayesmixWarning):
    """A MCMC diagnostic says the posterior draws should not be trusted as they are.

    The parent of :class:`DivergenceWarning`, :class:`RhatWarning` and
    :class:`ESSWarning`; filter it to silence all three.
    """


class DivergenceWarning(SamplerDiagnosticWarning):
    """NUTS reported divergent transitions: the draws may miss part of the posterior."""


class RhatWarning(SamplerDiagnosticWarning):
    """The chains disagree (rank-normalised split R-hat above 1.01)."""


class ESSWarning(SamplerDiagnosticWarning):
    """Too few effective draws (bulk ESS below 100 per chain) for reliable summaries."""


class VIConvergenceWarning(ConvergenceWarning):
    """Variational inference stopped at its iteration limit before its parameters settled."""
