"""ECM for mixtures of multivariate t: the E step's latent weights, the CM steps.

:class:`StudentEMEngine` is :class:`~bayesmix.em.engine.EMEngine` with the t family's E
and M steps (Liu & Rubin 1995; McLachlan & Peel 2000, section 7.5). The E step gives
each row its responsibilities ``r_nk`` under the t densities and its expected latent
scale weights ``u_nk`` (:func:`~bayesmix.families.student_t.latent_scale_weights`); the
first CM step is the Gaussian M step of the covariance structure on the statistics
weighted by ``r_nk u_nk`` (means ``sum r u x / sum r u``, scales ``sum r u (x - mu)(x -
mu)^T / sum r``), the second updates the degrees of freedom
(:func:`~bayesmix.families.student_t.update_dof`) unless they are fixed. Iterations,
convergence and restarts are the engine's.

The rows must be in memory (:class:`~bayesmix.em.sources.InMemorySource`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayesmix.covariance.base import CovarianceStructure
from bayesmix.density import normalise_rows
from bayesmix.em.engine import EMEngine, MixtureParameters, mixing_weights
from bayesmix.em.sources import centred_blocks
from bayesmix.em.statistics import SufficientStatistics
from bayesmix.families.noise import fold_noise
from bayesmix.families.student_t import latent_scale_weights, student_t_log_prob, update_dof

__all__ = ["StudentEMEngine", "StudentParameters", "StudentStatistics"]


@dataclass
class StudentParameters(MixtureParameters):
    """:class:`~bayesmix.em.engine.MixtureParameters` of t components, plus their
    degrees of freedom; ``covariances`` are the scale matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.student_engine import StudentParameters
    >>> StudentParameters(np.ones(1), np.zeros((1, 1)), np.ones(1), np.ones(1),
    ...                   np.array([4.0])).dof
    array([4.])
    """

    dof: np.ndarray | None = None


@dataclass
class StudentStatistics(SufficientStatistics):
    """Statistics of one t E step.

    ``counts``, ``sums`` and ``second_moments`` are weighted by ``r_nk u_nk`` (and the
    row weights).

    Attributes
    ----------
    responsibility_counts : ndarray of shape (K,)
        ``n_k = sum_n r_nk``.
    log_weight_terms : ndarray of shape (K,)
        ``sum_n r_nk (log u_nk - u_nk)``, for the degrees-of-freedom step.
    weighted_scatter : ndarray of shape (D, D) or None
        ``sum_n (sum_k r_nk u_nk) x_n x_n^T``, for the pooled structures.
    dof : ndarray of shape (K,)
        The degrees of freedom the E step used.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.student_engine import StudentStatistics
    >>> StudentStatistics.zeros(2, 3, get_structure("tied")).weighted_scatter.shape
    (3, 3)
    """

    responsibility_counts: np.ndarray | None = None
    log_weight_terms: np.ndarray | None = None
    weighted_scatter: np.ndarray | None = None
    dof: np.ndarray | None = None

    @classmethod
    def zeros(cls, n_components: int, n_features: int, structure: CovarianceStructure
              ) -> StudentStatistics:
        """Empty statistics with what ``structure``'s M step needs."""
        empty = SufficientStatistics.zeros(n_components, n_features, structure)
        scatter = (np.zeros((n_features, n_features)) if structure.needs_total_scatter
                   else None)
        return cls(empty.log_likelihood, empty.counts, empty.sums, empty.second_moments,
                   responsibility_counts=np.zeros(n_components),
                   log_weight_terms=np.zeros(n_components), weighted_scatter=scatter)


class StudentEMEngine(EMEngine):
    """EM (ECM) for mixtures of multivariate t on rows in memory.

    Parameters
    ----------
    source, structure, n_components, settings, prior
        As :class:`~bayesmix.em.engine.EMEngine` (``prior`` must be ``None``).
    start_dof : float
        The degrees of freedom the runs start from (or keep, if ``fixed_dof``).
    fixed_dof : bool
        Keep the degrees of freedom at ``start_dof`` instead of estimating them.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.engine import EMSettings
    >>> from bayesmix.em.sources import InMemorySource
    >>> from bayesmix.em.student_engine import StudentEMEngine
    >>> X = np.array([[0.0], [0.3], [0.1], [0.2], [5.0], [5.3], [5.1], [5.2], [40.0]])
    >>> engine = StudentEMEngine(InMemorySource(X), get_structure("V"), 2,
    ...                          EMSettings(tol=1e-8, max_iter=500), start_dof=5.0)
    >>> run = engine.run(engine.from_responsibilities(np.eye(2)[[0] * 4 + [1] * 5]))
    >>> (run.parameters.means.ravel() + engine.source.shift).round(2)
    array([0.15, 5.15])
    """

    def __init__(self, source, structure, n_components, settings, prior=None, *,
                 start_dof: float = 10.0, fixed_dof: bool = False,
                 noise_log_volume: float | None = None) -> None:
        super().__init__(source, structure, n_components, settings, prior,
                         noise_log_volume=noise_log_volume)
        self.start_dof = float(start_dof)
        self.fixed_dof = fixed_dof

    def _dof(self, params: MixtureParameters) -> np.ndarray:
        """The parameters' degrees of freedom; the starting ones for Gaussian-shaped
        parameters (a start given by the user)."""
        dof = getattr(params, "dof", None)
        return np.full(self.n_components, self.start_dof) if dof is None else dof

    def from_responsibilities(self, resp: np.ndarray) -> StudentParameters:
        """The Gaussian first M step (every ``u = 1``), with the starting dof.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.engine import EMSettings
        >>> from bayesmix.em.sources import InMemorySource
        >>> from bayesmix.em.student_engine import StudentEMEngine
        >>> X = np.array([[0.0], [0.3], [0.1], [0.2], [5.0], [5.3], [5.1], [5.2], [40.0]])
        >>> engine = StudentEMEngine(InMemorySource(X), get_structure("V"), 2, EMSettings(),
        ...                          start_dof=5.0)
        >>> start = engine.from_responsibilities(np.eye(2)[[0] * 4 + [1] * 5])
        >>> start.dof, start.weights.round(3)
        (array([5., 5.]), array([0.444, 0.556]))
        """
        start = super().from_responsibilities(resp)
        return StudentParameters(**vars(start), dof=self._dof(start))

    def e_step(self, params: MixtureParameters, labels: np.ndarray | None = None
               ) -> StudentStatistics:
        """One pass of the rows at ``params``, block by block.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.engine import EMSettings
        >>> from bayesmix.em.sources import InMemorySource
        >>> from bayesmix.em.student_engine import StudentEMEngine
        >>> X = np.array([[0.0], [0.3], [0.1], [0.2], [5.0], [5.3], [5.1], [5.2], [40.0]])
        >>> engine = StudentEMEngine(InMemorySource(X), get_structure("V"), 2, EMSettings(),
        ...                          start_dof=5.0)
        >>> start = engine.from_responsibilities(np.eye(2)[[0] * 4 + [1] * 5])
        >>> stats = engine.e_step(start)  # the far row (40) gets a small latent weight
        >>> float(round(stats.sums[1, 0] / stats.counts[1] + engine.source.shift[0], 2))
        9.5
        """
        source, structure = self.source, self.structure
        X, sample_weight = source.X, source.sample_weight
        n_features = X.shape[1]
        dof = self._dof(params)
        log_noise = self.log_noise(params)
        log_det = structure.log_det_cholesky(params.precisions_cholesky, n_features)
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        stats = StudentStatistics.zeros(self.n_components, n_features, structure)
        stats.dof = dof
        width = structure.row_width(self.n_components, n_features)
        for rows, block in centred_blocks(X, slice(0, X.shape[0]), width, source.shift):
            block = block.astype(np.float64, copy=False)
            maha = structure.squared_mahalanobis(block, params.means,
                                                 params.precisions_cholesky)
            resp = student_t_log_prob(maha, log_det, dof, n_features)
            resp += log_weights
            if labels is not None:
                labels[rows] = resp.argmax(axis=1)
            log_norm = normalise_rows(resp)
            if log_noise is not None:
                noise_resp = fold_noise(resp, log_norm, log_noise,
                                        None if labels is None else labels[rows])
                stats.noise_count += float(noise_resp.sum() if sample_weight is None
                                           else sample_weight[rows] @ noise_resp)
            if sample_weight is None:
                stats.log_likelihood += log_norm.sum()
            else:
                stats.log_likelihood += sample_weight[rows] @ log_norm
                resp *= sample_weight[rows, np.newaxis]
            scale_weights = latent_scale_weights(maha, dof, n_features)
            stats.responsibility_counts += resp.sum(axis=0)
            stats.log_weight_terms += (resp * (np.log(scale_weights) - scale_weights)
                                       ).sum(axis=0)
            resp *= scale_weights
            stats.add_block(block, resp)
            if stats.weighted_scatter is not None:
                stats.weighted_scatter += (block * resp.sum(axis=1)[:, np.newaxis]).T @ block
        return stats

    def m_step(self, stats: StudentStatistics, total_scatter: np.ndarray | None = None,
               start: np.ndarray | None = None) -> StudentParameters:
        """The CM steps: weights, means and scales, then the degrees of freedom.

        The structure's Gaussian M step reads counts ``n_k`` and second moments whose
        scatter about the means, ``S_k - n_k mu_k mu_k^T``, is the ``u``-weighted
        scatter ``sum r u (x - mu)(x - mu)^T``: the second moments are shifted by
        ``(sum r u - n_k) mu_k mu_k^T``. ``total_scatter`` (the unweighted one) is not
        used: the pooled structures read ``stats.weighted_scatter``. ``start`` is the
        scales an iterative M step starts from, as in ``EMEngine.m_step``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.engine import EMSettings
        >>> from bayesmix.em.sources import InMemorySource
        >>> from bayesmix.em.student_engine import StudentEMEngine
        >>> X = np.array([[0.0], [0.3], [0.1], [0.2], [5.0], [5.3], [5.1], [5.2], [40.0]])
        >>> engine = StudentEMEngine(InMemorySource(X), get_structure("V"), 2, EMSettings(),
        ...                          start_dof=5.0)
        >>> start = engine.from_responsibilities(np.eye(2)[[0] * 4 + [1] * 5])
        >>> following = engine.m_step(engine.e_step(start))  # the start's means: 0.15, 12.12
        >>> (following.means.ravel() + engine.source.shift).round(2), following.dof.round(2)
        (array([0.15, 9.5 ]), array([5.72, 5.37]))
        """
        if not isinstance(stats, StudentStatistics):  # the first M step (every u = 1)
            return super().m_step(stats, total_scatter, start)
        counts = stats.responsibility_counts + self.count_floor
        weighted_counts = stats.counts + self.count_floor
        means = stats.sums / weighted_counts[:, np.newaxis]
        excess = weighted_counts - counts
        second = stats.second_moments
        pooled = None
        if self.structure.second_moments == "matrix":
            second = second - excess[:, None, None] * means[:, :, None] * means[:, None, :]
        elif self.structure.second_moments == "diagonal":
            second = second - excess[:, None] * means**2
        else:
            pooled = stats.weighted_scatter - np.einsum("k,kd,ke->de", excess, means, means)
        scales = self.structure.m_step(counts, means, second, pooled, self.settings.reg_covar,
                                       start)
        factors = self.structure.precision_cholesky(scales)
        previous = stats.dof
        dof = previous if self.fixed_dof else update_dof(
            counts, stats.log_weight_terms, previous, means.shape[1])
        weights, noise_weight = mixing_weights(counts, stats.noise_count)
        return StudentParameters(weights, means, scales, factors, dof,
                                 noise_weight=noise_weight)
