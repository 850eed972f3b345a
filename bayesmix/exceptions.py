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

    The parent of :class:`DivergenceWarning`, :class:`RhatWarning`, :class:`ESSWarning`
    and :class:`ChainDisagreementWarning`; filter it to silence all four.
    """


class DivergenceWarning(SamplerDiagnosticWarning):
    """NUTS reported divergent transitions: the draws may miss part of the posterior."""


class RhatWarning(SamplerDiagnosticWarning):
    """The chains disagree (rank-normalised split R-hat above 1.01)."""


class ESSWarning(SamplerDiagnosticWarning):
    """Too few effective draws (bulk ESS below 100 per chain) for reliable summaries."""


class ChainDisagreementWarning(SamplerDiagnosticWarning):
    """A chain's relabelled draws sit in another mode than the other chains'.

    Its posterior means of the relabelled weights or means lie far (several within-chain
    standard deviations) from those of the other chains: the chain is stuck in another
    mode of the posterior. The warning names the chain, which R-hat does not.
    """


class InitialPointError(ValueError):
    """NUTS cannot start: the log density is not finite at a chain's initial point.

    Raised before sampling when initial values lie outside their variables' support, and
    instead of the back end's own error when the sampler finds a non-finite log density
    at the start (for instance data so extreme that the likelihood overflows).
    """


class VIConvergenceWarning(ConvergenceWarning):
    """Variational inference stopped at its iteration limit before its parameters settled."""
