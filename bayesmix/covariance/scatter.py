"""Within-component scatter: what every constrained M step maximises over.

The expected complete-data log-likelihood of the covariances is, up to a constant,
``-1/2 sum_k [n_k log|Sigma_k| + tr(W_k inv(Sigma_k))]`` with the within scatter
``W_k = sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T = S_k - n_k mu_k mu_k^T`` (``S_k`` the
second moments). A structure's M step maximises it under its constraints; the MAP step
maximises the same form with larger counts and a larger scatter (see
:mod:`bayesmix.covariance.prior`). :func:`within_scatter` computes ``W_k`` in the form the
structure reads (its :attr:`~bayesmix.covariance.base.CovarianceStructure.second_moments`):
matrices, their diagonals, or one pooled matrix for the structures that read the total
scatter. Every array may carry leading batch axes (``counts`` (*B, K)); a total scatter
(D, D) is shared by the batch.
"""

from __future__ import annotations

import numpy as np

__all__ = ["add_to_diagonal", "floor_variance", "map_scatter", "within_scatter"]

#: A component's scatter matrix whose trace is at most this fraction of its second
#: moments' is rounding (of ``S_k - n_k mu_k mu_k^T``, and of the counts' floor): exactly
#: zero in exact arithmetic, as a component of one row's (see :func:`within_scatter`).
ROUNDING = 1e-12


def add_to_diagonal(matrices: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``matrices + values * I`` (``values`` broadcast over the leading axes), in place.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.scatter import add_to_diagonal
    >>> add_to_diagonal(np.zeros((2, 2, 2)), np.array([1.0, 2.0]))[1]
    array([[2., 0.],
           [0., 2.]])
    """
    diagonal = np.einsum("...dd->...d", matrices)
    diagonal += np.asarray(values)[..., np.newaxis]
    return matrices


def floor_variance(reg_covar: float) -> float:
    """The variance at or below which a covariance regularised by ``reg_covar`` has
    collapsed: ``2 * reg_covar``, where what is left once ``reg_covar`` is taken off is
    at most ``reg_covar`` (the floor of :func:`~bayesmix.em.diagnostics.at_reg_covar_floor`).

    Examples
    --------
    >>> from bayesmix.covariance.scatter import floor_variance
    >>> floor_variance(1e-6)
    2e-06
    """
    return 2.0 * reg_covar


def within_scatter(kind: str | None, counts: np.ndarray, means: np.ndarray,
                   second_moments: np.ndarray | None, total_scatter: np.ndarray | None,
                   reg_covar: float, own_axes: bool = False) -> np.ndarray:
    """``W_k + reg_covar * n_k * I`` in the form a structure's M step reads.

    With ``own_axes`` (a structure whose components take their axes from their own
    scatters: :attr:`~bayesmix.covariance.base.CovarianceStructure.axes_from_scatter`),
    a scatter matrix that is rounding (:data:`ROUNDING`) is taken as zero: such a
    component, of one row say, then has the features' axes, as mclust gives it (the
    singular vectors of its zero rows), not the arbitrary ones of the rounding.

    Parameters
    ----------
    kind : {"matrix", "diagonal", None}
        The structure's ``second_moments``: per-component matrices (*B, K, D, D), their
        diagonals (*B, K, D), or ``None`` for the pooled ``sum_k W_k`` (*B, D, D) from
        the total scatter (``reg_covar * n`` on its diagonal, ``n = sum_k n_k``).
    counts : ndarray of shape (*B, K)
    means : ndarray of shape (*B, K, D)
    second_moments : ndarray or None
        ``sum_n r_nk x_n x_n^T`` (or its diagonal) as ``kind`` says.
    total_scatter : ndarray of shape (D, D) or None
        ``sum_n w_n x_n x_n^T``, read when ``kind`` is ``None``.
    reg_covar : float
    own_axes : bool, default=False

    Returns
    -------
    ndarray, a new array (the inputs are not changed).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.scatter import within_scatter
    >>> counts, means = np.array([2.0]), np.array([[1.0]])
    >>> within_scatter("diagonal", counts, means, np.array([[4.0]]), None, 0.5)
    array([[3.]])
    >>> within_scatter(None, counts, means, None, np.array([[4.0]]), 0.0)
    array([[2.]])
    >>> one_row = np.array([[[4.0, 2.0], [2.0, 1.0 + 1e-15]]])  # at (2, 1), and rounding
    >>> within_scatter("matrix", np.array([1.0]), np.array([[2.0, 1.0]]), one_row, None, 0.0,
    ...                own_axes=True)
    array([[[0., 0.],
            [0., 0.]]])
    """
    counts = np.asarray(counts, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    if kind == "diagonal":
        return second_moments - counts[..., np.newaxis] * means**2 + (
            reg_covar * counts[..., np.newaxis])
    if kind == "matrix":
        scatter = second_moments - (counts[..., np.newaxis, np.newaxis]
                                    * means[..., :, np.newaxis] * means[..., np.newaxis, :])
        if own_axes:
            rounding = (np.einsum("...dd->...", scatter)
                        <= ROUNDING * np.einsum("...dd->...", second_moments))
            if rounding.any():
                scatter[rounding] = 0.0
        return add_to_diagonal(scatter, reg_covar * counts)
    scatter = total_scatter - np.einsum("...k,...kd,...ke->...de", counts, means, means)
    return add_to_diagonal(scatter, reg_covar * counts.sum(axis=-1))


def map_scatter(kind: str | None, counts: np.ndarray, means: np.ndarray,
                second_moments: np.ndarray | None, total_scatter: np.ndarray | None,
                reg_covar: float, prior: object, scale_matrix: np.ndarray,
                n_components: int | np.ndarray | None = None) -> np.ndarray:
    """The MAP step's scatter ``W_k + reg_covar n_k I + Lambda_k + c_k d_k d_k^T``.

    ``d_k = xbar_k - mu_p`` and ``c_k = kappa n_k / (n_k + kappa)`` (``prior.mean`` and
    ``prior.shrinkage``), as mclust's MAP steps (``ms*p``) add them: the scatter about
    the posterior mean plus the prior's pull. ``scale_matrix`` is each component's
    ``Lambda_k`` (D, D), or one per fit of a batch (*B, D, D); a pooled scatter gets
    ``K Lambda_k`` and ``sum_k c_k d_k d_k^T``, a diagonal one their diagonals.
    ``n_components`` is ``K`` (one per fit of a batch whose fits are padded, with
    count 0 in their padded components); by default the length of ``counts``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.prior import ConjugatePrior
    >>> from bayesmix.covariance.scatter import map_scatter
    >>> prior = ConjugatePrior(shrinkage=1.0, mean=np.array([0.0]))
    >>> map_scatter("diagonal", np.array([1.0]), np.array([[2.0]]), np.array([[5.0]]), None,
    ...             0.0, prior, np.array([[0.5]]))  # 1 + 0.5 + (1 / 2) * 2**2
    array([[3.5]])
    """
    scatter = within_scatter(kind, counts, means, second_moments, total_scatter, reg_covar)
    counts = np.asarray(counts, dtype=np.float64)
    offsets = np.asarray(means, dtype=np.float64) - prior.mean
    pulls = prior.shrinkage * counts / (counts + prior.shrinkage)
    if kind == "diagonal":
        scales = np.diagonal(scale_matrix, axis1=-2, axis2=-1)[..., np.newaxis, :]
        return scatter + scales + pulls[..., np.newaxis] * offsets**2
    if kind == "matrix":
        return scatter + np.expand_dims(scale_matrix, -3) + (
            pulls[..., np.newaxis, np.newaxis] * offsets[..., :, np.newaxis]
            * offsets[..., np.newaxis, :])
    n_components = counts.shape[-1] if n_components is None else n_components
    return scatter + np.asarray(n_components)[..., np.newaxis, np.newaxis] * scale_matrix + (
        np.einsum("...k,...kd,...ke->...de", pulls, offsets, offsets))
