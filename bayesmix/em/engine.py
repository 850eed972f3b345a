"""The EM engine: iterations, convergence and restarts over any data source.

:class:`EMEngine` runs expectation-maximisation for one covariance structure and number of
components on a data source (:mod:`bayesmix.em.sources`): each iteration is one E step
pass of the source, folded into sufficient statistics, and the structure's M step. It
knows nothing of estimators, validation or Dask; :class:`~bayesmix.GaussianMixtureEM`
and :func:`~bayesmix.select_em` drive it.

The parameters it works with are those of the data centred by the source's ``shift``
(EM is translation invariant); :class:`MixtureParameters` holds them. Its length
(about 570 lines, half of them docstrings) is that of one loop, its restarts and its
acceleration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesmix.covariance.base import CovarianceStructure
from bayesmix.em.diagnostics import has_collapsed, has_stretched, still_starved
from bayesmix.em.sources import centred_blocks
from bayesmix.em.statistics import SufficientStatistics

if TYPE_CHECKING:
    from bayesmix.covariance.prior import ConjugatePrior

__all__ = ["COLLAPSE_CHECK_EVERY", "COUNT_FLOOR", "count_floor", "MAX_SQUAREM_STEP", "SQUAREM_FIRST",
           "SQUAREM_FROM", "SQUAREM_JUMP", "SQUAREM_SECOND", "SQUAREM_STEP_GROWTH", "EMEngine",
           "EMRun", "EMSettings", "MixtureParameters", "mixing_weights"]

#: The longest SQUAREM extrapolation, in units of the EM step.
MAX_SQUAREM_STEP = 64.0
#: SQUAREM extrapolates only once an EM step changes the lower bound by less than this:
#: early jumps, far from an optimum, can land in another (worse) basin.
SQUAREM_FROM = 1e-3
#: How much the longest SQUAREM step grows each time a step reaches it.
SQUAREM_STEP_GROWTH = 4.0
#: A run's place in its SQUAREM cycle, as the batched runs track it
#: (:mod:`bayesmix.em.batch`): its next E step evaluates the cycle's first EM step, its
#: second, or the extrapolated jump.
SQUAREM_FIRST, SQUAREM_SECOND, SQUAREM_JUMP = 0, 1, 2
#: Added to every component's weighted count, as scikit-learn does, so that an empty
#: component divides by a tiny number instead of zero.
COUNT_FLOOR = 10 * np.finfo(np.float64).eps


def count_floor(source: Any) -> float:
    """:data:`COUNT_FLOOR` in the unit of ``source``'s weights: times their mean over the
    rows of positive weight (exactly 1 without weights, or with weights 0 and 1), so that
    weights scaled by any factor fit the same mixture (with weights of 1e-20 a
    component's count was below the bare floor, its mean pulled to the origin).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.engine import COUNT_FLOOR, count_floor
    >>> from bayesmix.em.sources import InMemorySource
    >>> X = np.array([[0.0], [1.0], [3.0]])
    >>> floor = float(COUNT_FLOOR)
    >>> count_floor(InMemorySource(X)) / floor
    1.0
    >>> count_floor(InMemorySource(X, sample_weight=np.full(3, 1e-20))) / floor
    1e-20
    """
    return float(COUNT_FLOOR * (source.total_weight / source.n_positive))
#: Every this many iterations, EM checks its iterate for a collapsed component (a
#: variance at the ``reg_covar`` floor, :func:`~bayesmix.em.diagnostics.has_collapsed`)
#: and stops the run there: the fit is degenerate whatever follows, and its likelihood
#: would only creep up, often for the whole of ``max_iter``, as the collapse goes on.
COLLAPSE_CHECK_EVERY = 10


@dataclass(frozen=True)
class EMSettings:
    """How long and how precisely EM runs.

    Examples
    --------
    >>> from bayesmix.em.engine import EMSettings
    >>> EMSettings(tol=1e-6).max_iter
    100

    Attributes
    ----------
    tol : float
        Convergence threshold on the change of the mean log-likelihood per unit weight.
    reg_covar : float
        Added to the diagonal of every covariance.
    max_iter : int
        Iterations per run.
    verbose, verbose_interval : int
        Progress lines, as scikit-learn prints them.
    accelerate : bool
        Extrapolate the iterates with SQUAREM (fewer passes to the same optimum, but not
        scikit-learn's iterates).
    stop_starved : bool
        Also stop a run, at the collapse checks, once a component has held fewer
        effective points than its covariance needs at two checks running without gaining
        any (:func:`~bayesmix.em.diagnostics.still_starved`; not under a prior, where such
        a component takes the prior's covariance), or, for EVI, EVE and EVV, once one
        has collapsed in a direction and stretched in the others
        (:func:`~bayesmix.em.diagnostics.has_stretched`). Such a fit can only be flagged
        degenerate, and with a volume shared by the components it does not collapse, so
        EM would creep on to ``max_iter``. :func:`~bayesmix.select_em` sets it; the
        estimators keep scikit-learn's iterations.
    """

    tol: float = 1e-3
    reg_covar: float = 1e-6
    max_iter: int = 100
    verbose: int = 0
    verbose_interval: int = 10
    accelerate: bool = False
    stop_starved: bool = False


@dataclass
class MixtureParameters:
    """Weights, means, covariances (stored shape) and precision Cholesky factors.

    With a noise component, ``noise_weight`` is its weight and ``weights`` (the
    components') sum to one minus it.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.engine import MixtureParameters
    >>> MixtureParameters(np.ones(1), np.zeros((1, 1)), np.ones(1), np.ones(1)).weights
    array([1.])
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray
    noise_weight: float = field(default=0.0, kw_only=True)

    @classmethod
    def from_precision_factors(cls, structure: CovarianceStructure, weights: np.ndarray,
                               means: np.ndarray, factors: np.ndarray
                               ) -> MixtureParameters:
        """The parameters whose covariances have the precision Cholesky ``factors``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.engine import MixtureParameters
        >>> MixtureParameters.from_precision_factors(
        ...     get_structure("diag"), np.ones(1), np.zeros((1, 1)), np.full((1, 1), 0.5)
        ... ).covariances
        array([[4.]])
        """
        covariances = structure.covariances_from_precisions(
            structure.precisions_from_cholesky(factors))
        return cls(weights, means, covariances, factors)


def mixing_weights(counts: np.ndarray, noise_count: float) -> tuple[np.ndarray, float]:
    """The M step's component weights and noise weight from their weighted counts.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.engine import mixing_weights
    >>> mixing_weights(np.array([3.0, 5.0]), 2.0)
    (array([0.3, 0.5]), 0.2)
    """
    total = counts.sum() + noise_count
    return counts / total, float(noise_count / total)


@dataclass
class EMRun:
    """The end of one EM run: its parameters and how it got there.

    ``failed_components`` lists the components whose covariance stopped being positive
    definite, for a run that stopped there at its last valid parameters (only
    :mod:`bayesmix.em.batch` stops a run so; :class:`EMEngine` raises instead).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.engine import EMRun, MixtureParameters
    >>> start = MixtureParameters(np.ones(1), np.zeros((1, 1)), np.ones(1), np.ones(1))
    >>> EMRun(start, -1.0, True, 3, 1e-9).converged
    True
    """

    parameters: MixtureParameters
    lower_bound: float
    converged: bool
    n_iter: int
    last_change: float
    history: list[float] = field(default_factory=list)
    failed_components: tuple[int, ...] = ()


class EMEngine:
    """EM for one structure and number of components on one data source.

    With a conjugate prior the engine runs MAP-EM (mclust's ``priorControl``): the M step
    is the structure's posterior mode
    (:meth:`~bayesmix.covariance.base.CovarianceStructure.map_step`) and the lower bound
    it ascends is the mean log-likelihood plus the log prior density per unit weight.

    Parameters
    ----------
    source : data source
        See :mod:`bayesmix.em.sources`.
    structure : CovarianceStructure
    n_components : int
    settings : EMSettings
    prior : ConjugatePrior, optional
        Resolved (:meth:`~bayesmix.covariance.prior.ConjugatePrior.resolve`), with its
        mean in the source's centred coordinates.
    noise_log_volume : float, optional
        With a uniform noise component (Banfield & Raftery 1993): the log of the volume
        ``V`` its density ``1 / V`` spreads over (:func:`~bayesmix.families.noise.hypervolume`).
        The source's E step then takes ``log_noise``; the parameters carry the noise
        weight, and :meth:`from_responsibilities` takes a last, noise column.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.engine import EMEngine, EMSettings
    >>> from bayesmix.em.sources import InMemorySource
    >>> X = np.array([[0.0], [0.2], [0.1], [5.0], [5.2], [5.1]])
    >>> engine = EMEngine(InMemorySource(X), get_structure("diag"), 2, EMSettings())
    >>> start = engine.from_responsibilities(np.eye(2)[[0, 0, 0, 1, 1, 1]])
    >>> run = engine.run(start)
    >>> run.converged, (run.parameters.means.ravel() + engine.source.shift).round(2)
    (True, array([0.1, 5.1]))
    """

    def __init__(self, source: Any, structure: CovarianceStructure, n_components: int,
                 settings: EMSettings, prior: ConjugatePrior | None = None, *,
                 noise_log_volume: float | None = None) -> None:
        self.source = source
        self.structure = structure
        self.n_components = n_components
        self.settings = settings
        self.prior = prior
        self.noise_log_volume = noise_log_volume
        self.count_floor = count_floor(source)

    def log_noise(self, params: MixtureParameters) -> float | None:
        """The noise component's ``log(pi_0) - log(V)`` at ``params``; ``None`` without one.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.engine import EMEngine, EMSettings, MixtureParameters
        >>> from bayesmix.em.sources import InMemorySource
        >>> engine = EMEngine(InMemorySource(np.array([[0.0], [2.0]])), get_structure("V"), 1,
        ...                   EMSettings(), noise_log_volume=np.log(2.0))
        >>> params = MixtureParameters(np.array([0.5]), np.zeros((1, 1)), np.ones(1),
        ...                            np.ones(1), noise_weight=0.5)
        >>> float(np.exp(engine.log_noise(params)))
        0.25
        """
        if self.noise_log_volume is None:
            return None
        with np.errstate(divide="ignore"):
            return float(np.log(params.noise_weight)) - self.noise_log_volume

    # ------------------------------------------------------------ M step
    def m_step(self, stats: SufficientStatistics, total_scatter: np.ndarray | None,
               start: np.ndarray | None = None) -> MixtureParameters:
        """Parameters maximising the expected complete log-likelihood of ``stats``.

        ``start``: the covariances from which an iterative M step starts (see
        :meth:`~bayesmix.covariance.base.CovarianceStructure.maximise_scatter`).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.engine import EMEngine, EMSettings
        >>> from bayesmix.em.sources import InMemorySource
        >>> from bayesmix.em.statistics import SufficientStatistics
        >>> engine = EMEngine(InMemorySource(np.array([[0.0], [2.0]])),
        ...                   get_structure("spherical"), 1, EMSettings(reg_covar=0.0))
        >>> stats = SufficientStatistics(0.0, np.array([2.0]), np.array([[0.0]]),
        ...                              np.array([[2.0]]))
        >>> engine.m_step(stats, None).covariances
        array([1.])
        """
        counts = stats.counts + self.count_floor
        means = stats.sums / counts[:, np.newaxis]
        if self.prior is None:
            covariances = self.structure.m_step(counts, means, stats.second_moments,
                                                total_scatter, self.settings.reg_covar, start)
        else:
            covariances = self.structure.map_step(counts, means, stats.second_moments,
                                                  total_scatter, self.settings.reg_covar,
                                                  self.prior, start)
            means = self.prior.posterior_means(counts, means)
        factors = self.structure.precision_cholesky(covariances)
        weights, noise_weight = mixing_weights(counts, stats.noise_count)
        return MixtureParameters(weights, means, covariances, factors,
                                 noise_weight=noise_weight)

    def from_responsibilities(self, resp: np.ndarray) -> MixtureParameters:
        """The first M step, from responsibilities of the source's initialisation sample.

        ``resp`` is (rows of the sample, K), not yet multiplied by the row weights; with
        a noise component, (rows, K + 1), the noise last.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.engine import EMEngine, EMSettings
        >>> from bayesmix.em.sources import InMemorySource
        >>> X = np.array([[0.0], [1.0], [9.0], [10.0]])
        >>> engine = EMEngine(InMemorySource(X), get_structure("diag"), 2, EMSettings())
        >>> start = engine.from_responsibilities(np.eye(2)[[0, 0, 1, 1]])
        >>> (start.means.ravel() + engine.source.shift).round(6), start.weights
        (array([0.5, 9.5]), array([0.5, 0.5]))
        """
        X, weights = self.source.initialisation_sample()
        noise = self.noise_log_volume is not None
        pooled = self.structure.needs_total_scatter
        stats = SufficientStatistics.zeros(self.n_components, X.shape[1], self.structure)
        if noise:
            stats.noise_count = float(weights @ resp[:, self.n_components])
            resp = resp[:, :self.n_components]
        weighted = resp * weights[:, np.newaxis]
        width = self.structure.row_width(self.n_components, X.shape[1])
        for rows, block in centred_blocks(X, slice(0, X.shape[0]), width, self.source.shift):
            stats.add_block(block, weighted[rows])
            if noise and pooled:  # the scatter of the components' share of the rows
                stats.add_scatter(block, weighted[rows].sum(axis=1))
        scatter = stats.total_scatter
        if pooled and not noise:
            scatter = self.source.initialisation_scatter()
        return self.m_step(stats, scatter)

    # ------------------------------------------------------------ iterations
    def e_step(self, params: MixtureParameters, labels: np.ndarray | None = None
               ) -> SufficientStatistics:
        """One pass of the source at ``params``: the statistics of the M step.

        ``labels``, when given, receives each row's most likely component. A component
        family other than the Gaussian overrides this (and :meth:`m_step`).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.engine import EMEngine, EMSettings
        >>> from bayesmix.em.sources import InMemorySource
        >>> X = np.array([[0.0], [1.0], [9.0], [10.0]])
        >>> engine = EMEngine(InMemorySource(X), get_structure("diag"), 2, EMSettings())
        >>> engine.e_step(engine.from_responsibilities(np.eye(2)[[0, 0, 1, 1]])).counts
        array([2., 2.])
        """
        noise = {} if self.noise_log_volume is None else {"log_noise": self.log_noise(params)}
        return self.source.e_step(self.structure, params.weights, params.means,
                                  params.precisions_cholesky, labels=labels, **noise)

    def step(self, params: MixtureParameters) -> tuple[float, MixtureParameters]:
        """One EM iteration: the lower bound at ``params`` and the next parameters.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.engine import EMEngine, EMSettings
        >>> from bayesmix.em.sources import InMemorySource
        >>> X = np.array([[0.0], [1.0], [9.0], [10.0]])
        >>> engine = EMEngine(InMemorySource(X), get_structure("diag"), 2, EMSettings())
        >>> bound, following = engine.step(engine.from_responsibilities(np.eye(2)[[0, 0, 1, 1]]))
        >>> float(round(bound, 3)), following.weights
        (-1.419, array([0.5, 0.5]))
        """
        stats = self.e_step(params)
        scatter = None
        if self.structure.needs_total_scatter:
            scatter = (self.source.scatter if stats.total_scatter is None
                       else stats.total_scatter)
        objective = stats.log_likelihood
        if self.prior is not None:
            objective += self.structure.log_prior(params.means, params.covariances, self.prior)
        return objective / self.source.total_weight, self.m_step(stats, scatter,
                                                                 params.covariances)

    def run(self, start: MixtureParameters, lower_bound: float = -np.inf,
            label: int = 0) -> EMRun:
        """Iterate EM from ``start`` until the change of the lower bound is below ``tol``.

        A run whose iterate has a collapsed component, or a component still starved
        (checked every :data:`COLLAPSE_CHECK_EVERY` iterations, :meth:`collapsed` and
        :meth:`starving`), stops there, not converged.

        The lower bound of an iteration is the mean log-likelihood (per unit weight) at
        the parameters its E step used, as scikit-learn reports it (plus the log prior
        per unit weight under a prior). With ``settings.accelerate``, the iterates are
        extrapolated by SQUAREM (:meth:`_squarem_jump`) between pairs of EM steps.

        Examples
        --------
        >>> from bayesmix import load_old_faithful
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.engine import EMEngine, EMSettings
        >>> from bayesmix.em.init import initial_responsibilities
        >>> from bayesmix.em.sources import InMemorySource
        >>> source = InMemorySource(load_old_faithful())
        >>> plain, fast = (EMEngine(source, get_structure("tied"), 3,
        ...                         EMSettings(tol=1e-8, max_iter=1000, accelerate=flag))
        ...                for flag in (False, True))
        >>> start = plain.from_responsibilities(
        ...     initial_responsibilities(source.X, 3, "hc", random_state=0, cache=source.cache))
        >>> slow_run, fast_run = plain.run(start), fast.run(start)
        >>> float(round(slow_run.lower_bound * 272, 2)), float(round(fast_run.lower_bound * 272, 2))
        (-1126.32, -1126.32)
        >>> fast_run.n_iter < slow_run.n_iter
        True
        """
        settings = self.settings
        if settings.verbose:
            print(f"Initialization {label}")
        iterations = self._iterate(start, lower_bound)
        params, history, change, n_iter, converged, collapsed = start, [], np.inf, 0, False, False
        starved_counts = np.full(self.n_components, np.nan)  # at the last check
        for n_iter, (lower_bound, step_change, params) in enumerate(iterations, start=1):
            if step_change is None:  # a rejected extrapolation
                continue
            change = step_change
            history.append(lower_bound)
            if settings.verbose >= 2 and n_iter % settings.verbose_interval == 0:
                print(f"  Iteration {n_iter}\t mean log-likelihood {lower_bound:.6f}\t "
                      f"change {change:.3g}")
            if abs(change) < settings.tol:
                converged = True
                break
            if n_iter % COLLAPSE_CHECK_EVERY == 0:
                starving, starved_counts = self.starving(params, starved_counts)
                if starving or self.collapsed(params):
                    collapsed = True
                    break
        if settings.verbose:
            status = ("converged" if converged else "stopped, a component collapsed"
                      if collapsed else "did not converge")
            print(f"Initialization {status}: {n_iter} iterations, lower bound "
                  f"{lower_bound:.6f}")
        return EMRun(params, lower_bound, converged, n_iter, change, history)

    def collapsed(self, params: MixtureParameters) -> bool:
        """Whether a component of ``params`` has a variance at the ``reg_covar`` floor
        (or, with ``stop_starved``, has collapsed and stretched:
        :func:`~bayesmix.em.diagnostics.has_stretched`).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.engine import EMEngine, EMSettings, MixtureParameters
        >>> from bayesmix.em.sources import InMemorySource
        >>> engine = EMEngine(InMemorySource(np.array([[0.0], [1.0], [9.0]])),
        ...                   get_structure("diag"), 2, EMSettings(reg_covar=1e-6))
        >>> variances = np.array([[1.0], [1.5e-6]])
        >>> engine.collapsed(MixtureParameters(np.ones(2) / 2, np.zeros((2, 1)), variances,
        ...                                    1.0 / np.sqrt(variances)))
        True
        """
        if has_collapsed(self.structure, params.covariances, self.n_components,
                         self.source.n_features, self.settings.reg_covar):
            return True
        if not (self.settings.stop_starved and self.structure.collapse_stretches):
            return False  # (no pass over the data for the others)
        return bool(has_stretched(
            self.structure, params.covariances[np.newaxis],
            (params.weights * self.source.total_weight)[np.newaxis],
            self.source.data_covariance(full=self.structure.estimates_correlations),
            self.settings.reg_covar)[0])

    def starving(self, params: MixtureParameters, last_counts: np.ndarray
                 ) -> tuple[bool, np.ndarray]:
        """With ``stop_starved`` and no prior, whether a component of ``params`` is still
        starved (:func:`~bayesmix.em.diagnostics.still_starved`: at this check and the
        last, ``last_counts``, without gaining points); and the counts for the next check.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.engine import EMEngine, EMSettings, MixtureParameters
        >>> from bayesmix.em.sources import InMemorySource
        >>> engine = EMEngine(InMemorySource(np.arange(10.0)[:, np.newaxis]),
        ...                   get_structure("diag"), 2, EMSettings(stop_starved=True))
        >>> params = MixtureParameters(np.array([0.95, 0.05]), np.zeros((2, 1)),
        ...                            np.ones((2, 1)), np.ones((2, 1)))
        >>> starving, counts = engine.starving(params, np.full(2, np.nan))
        >>> starving, counts
        (False, array([nan, 0.5]))
        >>> engine.starving(params, counts)[0]
        True
        """
        if not self.settings.stop_starved or self.prior is not None:
            return False, last_counts
        starving, counts = still_starved(self.structure,
                                         params.weights * self.source.total_weight,
                                         self.source.n_features, last_counts)
        return bool(starving), counts

    def _iterate(self, params: MixtureParameters, previous: float
                 ) -> Iterator[tuple[float, float | None, MixtureParameters]]:
        """``(lower bound, change, next parameters)`` of each E step, up to ``max_iter``.

        ``change`` is the change of the lower bound over one EM step; it is ``None`` for
        the evaluation of a rejected SQUAREM jump, which is not an iterate (the lower
        bound and parameters are then those before the jump).
        """
        n_left, max_step = self.settings.max_iter, 1.0
        while n_left > 0:
            lower_bound, following = self.step(params)
            n_left -= 1
            yield lower_bound, lower_bound - previous, following
            if not self.settings.accelerate or n_left == 0:
                params, previous = following, lower_bound
                continue
            next_bound, second = self.step(following)
            n_left -= 1
            yield next_bound, next_bound - lower_bound, second
            settled = abs(next_bound - lower_bound) < SQUAREM_FROM
            jump, max_step = (self._squarem_jump(params, following, second, max_step)
                              if settled else (None, max_step))
            params, previous = second, next_bound
            if jump is None or n_left == 0:
                continue
            jump_bound, after_jump = self.step(jump)
            n_left -= 1
            if jump_bound >= next_bound:  # accepted: the iterates stay monotone
                params, previous = after_jump, jump_bound
                yield jump_bound, jump_bound - next_bound, after_jump
            else:
                yield next_bound, None, second

    def _squarem_jump(self, start: MixtureParameters, first: MixtureParameters,
                      second: MixtureParameters, max_step: float
                      ) -> tuple[MixtureParameters | None, float]:
        """SQUAREM's extrapolation from two EM steps (Varadhan and Roland 2008, S3).

        With ``r = first - start`` and ``v = second - 2 first + start`` over the weights,
        means and covariances, the jump is ``start - 2 a r + a**2 v`` with
        ``a = -|r| / |v|``, between ``-max_step`` and -1. As in the authors' SQUAREM
        package, ``max_step`` starts at 1 and grows fourfold each time the step reaches
        it, so that the early, far-from-converged iterations are not thrown into another
        basin. The jump's covariances are projected back into the structure's constraints
        (:meth:`~bayesmix.covariance.base.CovarianceStructure.project`), which a
        combination of constrained covariances can leave. Returns the jump, or ``None``
        when it would not leave the plain EM step or leaves the parameter space (a weight
        <= 0, a covariance not positive definite), and the next ``max_step``.
        """
        fields = ("weights", "means", "covariances")
        r = [getattr(first, f) - getattr(start, f) for f in fields]
        v = [getattr(second, f) - 2.0 * getattr(first, f) + getattr(start, f) for f in fields]
        r_norm = np.sqrt(sum(np.vdot(x, x) for x in r))
        v_norm = np.sqrt(sum(np.vdot(x, x) for x in v))
        if not v_norm > 0.0:
            return None, max_step
        alpha = max(-r_norm / v_norm, -max_step)
        if alpha == -max_step:
            max_step = min(SQUAREM_STEP_GROWTH * max_step, MAX_SQUAREM_STEP)
        if alpha >= -1.0:
            return None, max_step
        weights, means, covariances = (
            getattr(start, f) - 2.0 * alpha * dr + alpha * alpha * dv
            for f, dr, dv in zip(fields, r, v))
        if not (weights > 0.0).all():
            return None, max_step
        try:
            # Back into the structure's constraints, which an extrapolation can leave.
            covariances = self.structure.project(covariances, weights, means.shape[1])
            factors = self.structure.precision_cholesky(covariances)
        except ValueError:
            return None, max_step
        return MixtureParameters(weights / weights.sum(), means, covariances, factors), max_step

    def best_run(self, starts: Iterable[tuple[int, Callable[[], MixtureParameters]]],
                 lower_bound: float = -np.inf) -> EMRun:
        """Run EM from every start; return the run with the highest lower bound.

        ``starts`` yields ``(order, make_start)`` pairs; an exact tie goes to the smaller
        ``order`` (the earlier restart, as in scikit-learn).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.engine import EMEngine, EMSettings
        >>> from bayesmix.em.sources import InMemorySource
        >>> X = np.array([[0.0], [1.0], [9.0], [10.0]])
        >>> engine = EMEngine(InMemorySource(X), get_structure("diag"), 2, EMSettings())
        >>> starts = [(order, lambda labels=labels: engine.from_responsibilities(np.eye(2)[labels]))
        ...           for order, labels in ((0, [0, 1, 0, 1]), (1, [0, 0, 1, 1]))]
        >>> engine.best_run(starts).parameters.weights.tolist()
        [0.5, 0.5]
        """
        best, best_rank = None, None
        for label, (order, make_start) in enumerate(starts):
            run = self.run(make_start(), lower_bound, label)
            rank = (run.lower_bound, -int(order))
            if best is None or rank > best_rank:
                best, best_rank = run, rank
        return best

