"""Many EM refits of one mixture: the engine of the bootstrap and the bootstrap LRT.

A bootstrap refits the same mixture (covariance structure, number of components, prior,
EM settings) to hundreds of resampled, reweighted or simulated data sets, each started
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
from bayesmix._validation import check_int, check_random_state
from bayesmix.covariance import get_structure
from bayesmix.covariance.base import CovarianceStructure
from bayesmix.covariance.prior import ConjugatePrior, as_conjugate_prior
from bayesmix.em.diagnostics import find_degenerate
from bayesmix.em.engine import EMEngine, EMSettings, MixtureParameters
from bayesmix.results import default_feature_names

__all__ = ["MAX_ATTEMPTS", "Refit", "RefitModel", "check_n_jobs", "parameters_of",
           "run_replicates", "simulate"]

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
    prior : ConjugatePrior, optional
        The conjugate prior of a MAP fit (``None``: maximum likelihood), as the
        estimator gives it: the values it leaves unset are filled in from each refit's
        own rows (:meth:`~bayesmix.covariance.prior.ConjugatePrior.for_source`), as
        ``fit`` fills them in from its data.

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
    prior: ConjugatePrior | None = None

    @classmethod
    def like(cls, estimator: Any, tol: float, max_iter: int) -> RefitModel:
        """The model of a fitted EM estimator, refitted to ``tol`` within ``max_iter``
        SQUAREM-accelerated iterations.

        The model is every setting of the estimator that changes what EM converges to:
        its structure, ``n_components``, ``reg_covar`` and ``prior``. The others choose
        how a fit starts (``n_init``, ``init_params``, ``*_init``, ``random_state``,
        ``warm_start``), how long it runs (``tol``, ``max_iter``, ``acceleration``) or
        what it prints; a refit starts from the original fit instead. A noise component
        (``noise=True``) is not refitted: its callers refuse such a fit.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> from bayesmix.uncertainty.refits import RefitModel
        >>> em = GaussianMixtureEM(2, prior="default", random_state=0).fit(
        ...     load_old_faithful())
        >>> RefitModel.like(em, tol=1e-8, max_iter=1000).prior is not None
        True
        """
        settings = EMSettings(tol=tol, reg_covar=estimator.reg_covar, max_iter=max_iter,
                              accelerate=True)
        return cls(get_structure(estimator.covariance_type), estimator.n_components,
                   settings, as_conjugate_prior(estimator.prior))

    def engine(self, source: Any) -> EMEngine:
        """The EM engine of this model on ``source``, under the prior resolved on its rows.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.covariance.prior import ConjugatePrior
        >>> from bayesmix.em.engine import EMSettings
        >>> from bayesmix.em.sources import InMemorySource
        >>> from bayesmix.uncertainty.refits import RefitModel
        >>> model = RefitModel(get_structure("V"), 1, EMSettings(), ConjugatePrior())
        >>> model.engine(InMemorySource(np.array([[0.0], [2.0], [4.0]]))).prior.mean
        array([0.])
        """
        prior = (None if self.prior is None
                 else self.prior.for_source(source, self.structure, self.n_components))
        return EMEngine(source, self.structure, self.n_components, self.settings, prior)

    def step_gain(self, source: Any, parameters: MixtureParameters) -> float:
        """The rise of EM's objective over one step from ``parameters`` on ``source``.

        The objective is the mean log-likelihood per unit weight (plus the log prior per
        unit weight under a prior), which a fit converged on ``source`` under this
        model no longer raises by more than its ``tol``.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, load_old_faithful
        >>> from bayesmix.em.sources import InMemorySource
        >>> from bayesmix.uncertainty.refits import RefitModel, parameters_of
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(2, tol=1e-6, random_state=0).fit(X)
        >>> model = RefitModel.like(em, tol=1e-8, max_iter=1000)
        >>> bool(model.step_gain(InMemorySource(X), parameters_of(em)) < 1e-6)
        True
        >>> bool(model.step_gain(InMemorySource(X.iloc[:100]), parameters_of(em)) > 1e-6)
        True
        """
        engine = self.engine(source)
        before, following = engine.step(self.start_from_parameters(parameters)(engine))
        after, _ = engine.step(following)
        return float(after - before)

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
        engine = self.engine(source)
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
                           labels.__getitem__, prior=self.prior is not None).reasons:
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


def check_n_jobs(n_jobs: Any) -> int | None:
    """Validate ``n_jobs``: ``None`` or a non-zero integer, in joblib's convention.

    Examples
    --------
    >>> from bayesmix.uncertainty.refits import check_n_jobs
    >>> check_n_jobs(-1)
    -1
    >>> check_n_jobs(0)
    Traceback (most recent call last):
    ...
    ValueError: n_jobs must be None, a number of worker processes (1 or more) or a negative number (joblib's convention: -1 for every core, -2 for all but one), got 0. Pass None or 1 to run in this process only.
    """
    if n_jobs is None:
        return None
    n_jobs = check_int(n_jobs, "n_jobs")
    if n_jobs == 0:
        raise ValueError(
            "n_jobs must be None, a number of worker processes (1 or more) or a negative "
            "number (joblib's convention: -1 for every core, -2 for all but one), got 0. "
            "Pass None or 1 to run in this process only."
        )
    return n_jobs


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
