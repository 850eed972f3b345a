"""The EM engine: iterations, convergence and restarts over any data source.

:class:`EMEngine` runs expectation-maximisation for one covariance structure and number of
components on a data source (:mod:`bayesmix.em.sources`): each iteration is one E step
pass of the source, folded into sufficient statistics, and the structure's M step. It
knows nothing of estimators, validation or Dask; :class:`~bayesmix.GaussianMixtureEM`
and :func:`~bayesmix.select_em` drive it.

The parameters it works with are those of the data centred by the source's ``shift``
(EM is translation invariant); :class:`MixtureParameters` holds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bayesmix.covariance.base import CovarianceStructure
from bayesmix.em.sources import centred_blocks
from bayesmix.em.statistics import SufficientStatistics

__all__ = ["COUNT_FLOOR", "EMEngine", "EMRun", "EMSettings", "MixtureParameters"]

#: Added to every component's weighted count, as scikit-learn does, so that an empty
#: component divides by a tiny number instead of zero.
COUNT_FLOOR = 10 * np.finfo(np.float64).eps


@dataclass(frozen=True)
class EMSettings:
    """How long and how precisely EM runs.

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
    """

    tol: float = 1e-3
    reg_covar: float = 1e-6
    max_iter: int = 100
    verbose: int = 0
    verbose_interval: int = 10


@dataclass
class MixtureParameters:
    """Weights, means, covariances (stored shape) and precision Cholesky factors."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray


@dataclass
class EMRun:
    """The end of one EM run: its parameters and how it got there."""

    parameters: MixtureParameters
    lower_bound: float
    converged: bool
    n_iter: int
    last_change: float
    history: list[float] = field(default_factory=list)


class EMEngine:
    """EM for one structure and number of components on one data source.

    Parameters
    ----------
    source : data source
        See :mod:`bayesmix.em.sources`.
    structure : CovarianceStructure
    n_components : int
    settings : EMSettings

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.engine import EMEngine, EMSettings
    >>> from bayesmix.em.sources import InMemorySource
    >>> X = np.array([[0.0], [0.2], [0.1], [5.0], [5.2], [5.1]])
    >>> engine = EMEngine(InMemorySource(X), get_structure("diag"), 2, EMSettings())
    >>> start = engine.from_labels(np.array([0, 0, 0, 1, 1, 1]))
    >>> run = engine.run(start)
    >>> run.converged, (run.parameters.means.ravel() + engine.source.shift).round(2)
    (True, array([0.1, 5.1]))
    """

    def __init__(self, source: Any, structure: CovarianceStructure, n_components: int,
                 settings: EMSettings) -> None:
        self.source = source
        self.structure = structure
        self.n_components = n_components
        self.settings = settings

    # ------------------------------------------------------------ M step
    def m_step(self, stats: SufficientStatistics, total_scatter: np.ndarray
               ) -> MixtureParameters:
        """Parameters maximising the expected complete log-likelihood of ``stats``."""
        counts = stats.counts + COUNT_FLOOR
        means = stats.sums / counts[:, np.newaxis]
        covariances = self.structure.m_step(counts, means, stats.second_moments,
                                            total_scatter, self.settings.reg_covar)
        factors = self.structure.precision_cholesky(covariances)
        return MixtureParameters(counts / counts.sum(), means, covariances, factors)

    def from_responsibilities(self, resp: np.ndarray) -> MixtureParameters:
        """The first M step, from responsibilities of the source's initialisation sample.

        ``resp`` is (rows of the sample, K), not yet multiplied by the row weights.
        """
        X, weights, scatter = self.source.initialisation_sample()
        stats = SufficientStatistics.zeros(self.n_components, X.shape[1], self.structure)
        weighted = resp * weights[:, np.newaxis]
        width = self.structure.row_width(self.n_components, X.shape[1])
        for rows, block in centred_blocks(X, slice(0, X.shape[0]), width, self.source.shift):
            stats.add_block(block, weighted[rows])
        return self.m_step(stats, scatter)

    def from_labels(self, labels: np.ndarray) -> MixtureParameters:
        """The first M step from a hard partition of the initialisation sample."""
        resp = np.zeros((labels.shape[0], self.n_components))
        resp[np.arange(labels.shape[0]), labels] = 1.0
        return self.from_responsibilities(resp)

    # ------------------------------------------------------------ iterations
    def run(self, start: MixtureParameters, lower_bound: float = -np.inf,
            label: int = 0) -> EMRun:
        """Iterate EM from ``start`` until the change of the lower bound is below ``tol``.

        The lower bound of an iteration is the mean log-likelihood (per unit weight) at
        the parameters its E step used, as scikit-learn reports it.
        """
        settings, params = self.settings, start
        history: list[float] = []
        converged, change, n_iter = False, np.inf, 0
        total_weight = self.source.total_weight
        scatter = self.source.scatter
        if settings.verbose:
            print(f"Initialization {label}")
        for n_iter in range(1, settings.max_iter + 1):
            previous = lower_bound
            stats = self.source.e_step(self.structure, params.weights, params.means,
                                       params.precisions_cholesky)
            params = self.m_step(stats, scatter)
            lower_bound = stats.log_likelihood / total_weight
            history.append(lower_bound)
            change = lower_bound - previous
            if settings.verbose >= 2 and n_iter % settings.verbose_interval == 0:
                print(f"  Iteration {n_iter}\t mean log-likelihood {lower_bound:.6f}\t "
                      f"change {change:.3g}")
            if abs(change) < settings.tol:
                converged = True
                break
        if settings.verbose:
            status = "converged" if converged else "did not converge"
            print(f"Initialization {status}: {n_iter} iterations, lower bound "
                  f"{lower_bound:.6f}")
        return EMRun(params, lower_bound, converged, n_iter, change, history)

    def best_run(self, starts: Iterable[tuple[int, Callable[[], MixtureParameters]]],
                 lower_bound: float = -np.inf) -> EMRun:
        """Run EM from every start; return the run with the highest lower bound.

        ``starts`` yields ``(seed, make_start)`` pairs; an exact tie goes to the smaller
        seed, so the choice depends on the set of starts only, not on their order.
        """
        best, best_rank = None, None
        for label, (seed, make_start) in enumerate(starts):
            run = self.run(make_start(), lower_bound, label)
            rank = (run.lower_bound, -int(seed))
            if best is None or rank > best_rank:
                best, best_rank = run, rank
        return best

