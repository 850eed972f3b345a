"""Weighted sufficient statistics: the interface between the data and the M step.

A data source (:mod:`bayesmix.em.sources`) folds each block of rows and its
responsibilities into :class:`SufficientStatistics`; partial statistics of row ranges,
threads or Dask chunks add up; the covariance structure's M step
(:meth:`bayesmix.covariance.base.CovarianceStructure.m_step`) reads them. The rows are
centred by the data's weighted mean before they are folded in, so the second moments
lose no precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayesmix.covariance.base import CovarianceStructure

__all__ = ["SufficientStatistics"]


@dataclass
class SufficientStatistics:
    """Weighted sufficient statistics of one E step, summed over rows.

    Attributes
    ----------
    log_likelihood : float
        ``sum_n w_n log p(x_n)`` at the parameters of the E step.
    counts : ndarray of shape (K,)
        ``sum_n r_nk`` (responsibilities already multiplied by the row weights).
    sums : ndarray of shape (K, D)
        ``sum_n r_nk x_n``.
    second_moments : ndarray or None
        ``sum_n r_nk x_n x_n^T`` (K, D, D) when the structure asks for ``"matrix"``,
        ``sum_n r_nk x_n**2`` (K, D) for ``"diagonal"``, ``None`` when it needs none.
    total_scatter : ndarray of shape (D, D) or None
        ``sum_n w_n E[x_n x_n^T]`` of this E step, for the structures that read the total
        scatter, when it changes between iterations: with missing values it is the
        scatter of the rows completed by their conditional moments
        (:mod:`bayesmix.em.missing_source`). ``None`` when the source's fixed ``scatter``
        applies. With a noise component it is the scatter weighted by each row's share
        of the components, ``sum_n w_n (1 - r_n0) x_n x_n^T``.
    noise_count : float
        ``sum_n w_n r_n0``, the noise component's weighted count (0 without one).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.statistics import SufficientStatistics
    >>> stats = SufficientStatistics.zeros(2, 1, get_structure("diag"))
    >>> stats.add_block(np.array([[1.0], [3.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> stats.counts, stats.sums.ravel(), stats.second_moments.ravel()
    (array([1., 1.]), array([1., 3.]), array([1., 9.]))
    """

    log_likelihood: float
    counts: np.ndarray
    sums: np.ndarray
    second_moments: np.ndarray | None
    total_scatter: np.ndarray | None = None
    noise_count: float = 0.0

    @classmethod
    def zeros(cls, n_components: int, n_features: int, structure: CovarianceStructure
              ) -> SufficientStatistics:
        """Empty statistics with the second moments ``structure`` needs."""
        shapes = {"matrix": (n_components, n_features, n_features),
                  "diagonal": (n_components, n_features), None: None}
        shape = shapes[structure.second_moments]
        second = None if shape is None else np.zeros(shape)
        return cls(0.0, np.zeros(n_components), np.zeros((n_components, n_features)), second)

    def add_block(self, block: np.ndarray, resp: np.ndarray) -> None:
        """Fold a block of (centred) rows and their row-weighted responsibilities in.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.statistics import SufficientStatistics
        >>> stats = SufficientStatistics.zeros(1, 2, get_structure("full"))
        >>> stats.add_block(np.array([[1.0, 2.0]]), np.array([[1.0]]))
        >>> stats.second_moments
        array([[[1., 2.],
                [2., 4.]]])
        """
        self.counts += np.ones(resp.shape[0], dtype=resp.dtype) @ resp
        self.sums += resp.T @ block
        if self.second_moments is None:
            return
        if self.second_moments.ndim == 3:
            n_rows, n_components = resp.shape
            weighted = resp[:, :, np.newaxis] * block[:, np.newaxis, :]
            # A reshaped view of the (K, D, D) array: one matrix product for every k.
            self.second_moments.reshape(-1, block.shape[1])[...] += (
                weighted.reshape(n_rows, -1).T @ block)
        else:
            self.second_moments += resp.T @ (block * block)

    def add_scatter(self, block: np.ndarray, row_weights: np.ndarray) -> None:
        """Fold a block's scatter ``sum_n row_weights_n x_n x_n^T`` into ``total_scatter``.

        Starts it at zero on first use.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.statistics import SufficientStatistics
        >>> stats = SufficientStatistics.zeros(1, 1, get_structure("tied"))
        >>> stats.add_scatter(np.array([[1.0], [3.0]]), np.array([1.0, 0.5]))
        >>> stats.total_scatter
        array([[5.5]])
        """
        scatter = (block * row_weights[:, np.newaxis]).T @ block
        if self.total_scatter is None:
            self.total_scatter = np.zeros(scatter.shape)
        self.total_scatter += scatter

    def __iadd__(self, other: SufficientStatistics) -> SufficientStatistics:
        self.log_likelihood += other.log_likelihood
        self.noise_count += other.noise_count
        self.counts += other.counts
        self.sums += other.sums
        if self.second_moments is not None:
            self.second_moments += other.second_moments
        if self.total_scatter is not None:
            self.total_scatter += other.total_scatter
        return self

    @classmethod
    def total(cls, parts: list[SufficientStatistics]) -> SufficientStatistics:
        """The sum of partial statistics, in a fresh object (the parts are unchanged)."""
        first = parts[0]
        total = cls(first.log_likelihood, first.counts.copy(), first.sums.copy(),
                    None if first.second_moments is None else first.second_moments.copy(),
                    None if first.total_scatter is None else first.total_scatter.copy(),
                    first.noise_count)
        for part in parts[1:]:
            total += part
        return total
