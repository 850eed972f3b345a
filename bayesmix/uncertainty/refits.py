"""Many EM refits of one mixture: the engine of the bootstrap and the bootstrap LRT.

A bootstrap refits the same mixture (covariance structure, number of components, EM
settings) to hundreds of resampled, reweighted or simulated data sets, each started
next to the answer (from the original fit's responsibilities or parameters), so that
each converges in a few iterations. :class:`RefitModel` runs one such refit directly
on the EM engine (:class:`~bayesmix.em.engine.EMEngine` over an
:class:`~bayesmix.em.sources.InMemorySource`): no estimator object, no validation of
settings, no restarts. :func:`run_replicates` runs many replicates, each from its own
seed, in this process or on joblib's worker processes; a replicate whose refit failed
(a degenerate component, a covariance that is not positive definite) is drawn again
from the next seed, as R mclust's ``MclustBootstrap`` and ``mclustBootstrapLRT`` redraw
a failed resample.

The seeds depend on the replicate's index only (``[base, index, attempt]``), so the
result does not depend on ``n_jobs``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from bayesmix._parallel import blas_single_thread
from bayesmix._validation import check_random_state
from bayesmix.covariance import get_structure
from bayesmix.covariance.base import CovarianceStructure
from bayesmix.em.diagnostics import find_degenerate
from bayesmix.em.engine import EMEngine, EMSettings, MixtureParameters
from bayesmix.results import default_feature_names

__all__ = ["MAX_ATTEMPTS", "Refit", "RefitModel", "parameters_of", "run_replicates",
           "simulate"]

#: Draws a replicate may take before the run gives up (R mclust allows ten failed
#: resamples per requested one in ``MclustBootstrap``).
MAX_ATTEMPTS = 10

T = TypeVar("T")


@dataclass(frozen=True)
class Refit:
    """One successful refit, its parameters in the data's units.

    Attributes
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray
        In the structure's stored shape.
    log_likelihood : float
        The (weighted) total log-likelihood at the returned parameters.
    converged : bool
    n_iter : int

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.uncertainty.refits import Refit
    >>> Refit(np.ones(1), np.zeros((1, 1)), np.ones(1), -3.2, True, 4).n_iter
    4
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    log_likelihood: float
    converged: bool
    n_iter: int


def parameters_of(estimator: Any) -> MixtureParameters:
    """A fitted EM estimator's parameters, in the data's units (not centred).

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.uncertainty.refits import parameters_of
    >>> em = GaussianMixtureEM(2, random_state=0).fit(load_old_faithful())
    >>> bool((parameters_of(em).means == em.means_).all())
    True
    """
    return MixtureParameters(estimator.weights_, estimator.means_, estimator.covariances_,
                             estimator.precisions_cholesky_)


def simulate(estimator: Any, n_samples: int, rng: np.random.RandomState) -> np.ndarray:
    """``n_samples`` rows drawn from a fitted estimator's mixture with ``rng``.

    The estimator's own :meth:`~bayesmix.GaussianMixtureEM.sample` draws them, on a
    shallow copy whose ``random_state`` is ``rng``; the estimator is left untouched.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.uncertainty.refits import simulate
    >>> em = GaussianMixtureEM(2, random_state=0).fit(load_old_faithful())
    >>> simulate(em, 5, np.random.RandomState(0)).shape
    (5, 2)
    """
    return copy.copy(estimator).set_params(random_state=rng).sample(n_samples)[0]


@dataclass(frozen=True)
class RefitModel:
    """The mixture every refit of a bootstrap fits, and how precisely.

    Parameters
    ----------
    structure : CovarianceStructure
    n_components : int
    settings : EMSettings
        Tolerance, ``reg_covar``, ``max_iter``; SQUAREM when ``accelerate``.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.em.sources import InMemorySource
    >>> from bayesmix.uncertainty.refits import RefitModel
    >>> X = load_old_faithful()
    >>> em = GaussianMixtureEM(2, covariance_type="tied", random_state=0).fit(X)
    >>> model = RefitModel.like(em, tol=1e-8, max_iter=1000)
    >>> refit = model.fit(InMemorySource(X), model.start_from_responsibilities(
    ...     em.predict_proba(X)))
    >>> round(refit.log_likelihood, 2), refit.converged
    (-1140.19, True)
    """

    structure: CovarianceStructure
    n_components: int
    settings: EMSettings

    @classmethod
    def like(cls, estimator: Any, tol: float, max_iter: int) -> RefitModel:
        """The model of a fitted EM estimator (its structure, ``n_components`` and
        ``reg_covar``), refitted to ``tol`` within ``max_iter`` SQUAREM-accelerated
        iterations."""
        settings = EMSettings(tol=tol, reg_covar=estimator.reg_covar, max_iter=max_iter,
                              accelerate=True)
        return cls(get_structure(estimator.covariance_type), estimator.n_components,
                   settings)

    @staticmethod
    def start_from_responsibilities(resp: np.ndarray
                                    ) -> Callable[[EMEngine], MixtureParameters]:
        """A start: the M step from ``resp`` (rows of the source, times its weights)."""
        return lambda engine: engine.from_responsibilities(resp)

    @staticmethod
    def start_from_parameters(parameters: MixtureParameters
                              ) -> Callable[[EMEngine], MixtureParameters]:
        """A start: ``parameters`` (data units), centred like the source's rows."""
        return lambda engine: MixtureParameters(
            parameters.weights, parameters.means - engine.source.shift,
            parameters.covariances, parameters.precisions_cholesky)

    def fit(self, source: Any, start: Callable[[EMEngine], MixtureParameters]
            ) -> Refit | None:
        """Run EM on ``source`` from ``start``; ``None`` when the refit failed.

        A refit fails when a covariance stops being positive definite, the
        log-likelihood is not finite, or a component is degenerate (collapsed onto
        repeated rows, or holding fewer points than its covariance needs: see
        :mod:`bayesmix.em.diagnostics`), as R mclust's EM returns no log-likelihood for
        a singular covariance.

        Examples
        --------
        A component started on four copies of one row collapses onto it:

        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.engine import EMSettings
        >>> from bayesmix.em.sources import InMemorySource
        >>> from bayesmix.uncertainty.refits import RefitModel
        >>> X = np.vstack([np.full((4, 2), 5.0), np.random.default_rng(0).normal(size=(40, 2))])
        >>> model = RefitModel(get_structure("full"), 2, EMSettings(tol=1e-8))
        >>> print(model.fit(InMemorySource(X), model.start_from_responsibilities(
        ...     np.eye(2)[[1] * 4 + [0] * 40])))
        None
        """
        engine = EMEngine(source, self.structure, self.n_components, self.settings)
        try:
            run = engine.run(start(engine))
            params = run.parameters
            final = source.e_step(self.structure, params.weights, params.means,
                                  params.precisions_cholesky)
        except (ValueError, np.linalg.LinAlgError):
            return None
        if not np.isfinite(final.log_likelihood):
            return None
        data_covariance = source.data_covariance(full=self.structure.estimates_correlations)
        labels = default_feature_names(source.n_features)
        if find_degenerate(self.structure, params.covariances, final.counts,
                           data_covariance, self.settings.reg_covar,
                           labels.__getitem__).reasons:
            return None
        return Refit(params.weights, params.means + source.shift, params.covariances,
                     float(final.log_likelihood), bool(run.converged), int(run.n_iter))


def _run_chunk(replicate: Callable[[np.random.RandomState], T | None], base_seed: int,
               indices: Sequence[int]) -> list[tuple[T, int]]:
    """``(result, failed attempts)`` of the replicates ``indices``, in order."""
    out = []
    with blas_single_thread():
        for index in indices:
            for attempt in range(MAX_ATTEMPTS):
                result = replicate(np.random.RandomState([base_seed, int(index), attempt]))
                if result is not None:
                    out.append((result, attempt))
                    break
            else:
                raise ValueError(
                    f"Replicate {index} failed {MAX_ATTEMPTS} times in a row (every refit "
                    f"had a degenerate component or a covariance that is not positive "
                    f"definite): the model is too large for these data. Use fewer "
                    f"components, a constrained covariance_type ('tied'), or a larger "
                    f"reg_covar in the fitted estimator."
                )
    return out


def run_replicates(replicate: Callable[[np.random.RandomState], T | None],
                   n_replicates: int, random_state: Any, n_jobs: int | None
                   ) -> tuple[list[T], int]:
    """Run ``replicate(rng)`` for ``n_replicates`` seeds; redraw those that return ``None``.

    Parameters
    ----------
    replicate : callable
        Takes a :class:`numpy.random.RandomState`, returns a result or ``None`` (failed,
        drawn again with the next seed). Picklable when ``n_jobs`` asks for processes.
    n_replicates : int
    random_state : int, RandomState instance or None
        Draws the base seed; replicate ``i`` uses the seeds ``[base, i, attempt]``.
    n_jobs : int or None
        Worker processes (joblib's convention: ``None`` or 1 runs here, -1 on every
        core). Each worker runs one contiguous chunk of the replicates.

    Returns
    -------
    results : list
        One result per replicate, in order.
    n_failed : int
        Failed attempts, all replicates together.

    Examples
    --------
    >>> from bayesmix.uncertainty.refits import run_replicates
    >>> results, n_failed = run_replicates(lambda rng: rng.randint(10), 3, 0, None)
    >>> len(results), n_failed
    (3, 0)
    """
    import joblib

    base_seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    n_workers = max(1, min(joblib.effective_n_jobs(n_jobs), n_replicates))
    chunks = np.array_split(np.arange(n_replicates), n_workers)
    if n_workers == 1:
        parts = [_run_chunk(replicate, base_seed, chunks[0])]
    else:
        parts = joblib.Parallel(n_jobs=n_workers)(
            joblib.delayed(_run_chunk)(replicate, base_seed, chunk) for chunk in chunks)
    pairs = [pair for part in parts for pair in part]
    return [result for result, _ in pairs], sum(failed for _, failed in pairs)
