"""The decomposed models' scatters, compiled: the M step's (:func:`matrix_within_scatter`,
:func:`pooled_within_scatter`) and the MAP step's (:func:`matrix_map_scatter`,
:func:`pooled_map_scatter`).

:func:`~bayesmix.covariance.scatter.within_scatter` builds ``W_k + reg_covar n_k I`` from
the second moments in six NumPy calls (and two more, with ``own_axes``, for the
rounding test), about 15 microseconds for the 18 runs of a structure in a 14-model
grid, mostly the calls' own cost: a fifth of the M step of EVV, and as much in every M
step of mclust's decomposed models; :func:`~bayesmix.covariance.scatter.map_scatter`
adds the prior's terms in six more, and a pooled scatter (EII's, EEI's) takes two
three-operand ``einsum`` calls. These kernels make the same floating-point operations
in the same order (their results are equal to the last bit) in one call, about 3
microseconds. The four scikit-learn structures' M steps keep NumPy's, so that their fits
do not load the compiler.
"""

from __future__ import annotations

import numpy as np

from bayesmix.covariance.kernel_compiler import compiled
from bayesmix.covariance.scatter import ROUNDING

__all__ = ["matrix_map_scatter", "matrix_within_scatter", "pooled_map_scatter",
           "pooled_within_scatter"]


@compiled
def matrix_within_scatter(counts: np.ndarray, means: np.ndarray, second_moments: np.ndarray,
                          reg_covar: float, own_axes: bool) -> np.ndarray:
    """``second_moments - n_k mu_k mu_k^T + reg_covar n_k I`` of stacked components.

    :func:`~bayesmix.covariance.scatter.within_scatter` of the ``"matrix"`` kind, equal
    to it to the last bit: with ``own_axes``, a scatter whose trace is at most
    :data:`~bayesmix.covariance.scatter.ROUNDING` of its second moments' is zero before
    ``reg_covar`` is added.

    Parameters
    ----------
    counts : ndarray of shape (n, K)
    means : ndarray of shape (n, K, D)
    second_moments : ndarray of shape (n, K, D, D)
    reg_covar : float
    own_axes : bool

    Returns
    -------
    ndarray of shape (n, K, D, D)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.scatter import within_scatter
    >>> from bayesmix.covariance.scatter_kernel import matrix_within_scatter
    >>> counts, means = np.array([[2.0]]), np.array([[[1.0, 0.5]]])
    >>> second = np.array([[[[4.0, 1.0], [1.0, 3.0]]]])
    >>> matrix_within_scatter(counts, means, second, 0.5, False)[0, 0]
    array([[3. , 0. ],
           [0. , 3.5]])
    >>> bool((matrix_within_scatter(counts, means, second, 0.5, True)
    ...       == within_scatter("matrix", counts, means, second, None, 0.5, True)).all())
    True
    """
    n_entries, n_components, n_features = means.shape
    scatters = np.empty((n_entries, n_components, n_features, n_features))
    for entry in range(n_entries):
        for k in range(n_components):
            count, mean = counts[entry, k], means[entry, k]
            second, scatter = second_moments[entry, k], scatters[entry, k]
            for i in range(n_features):
                weighted = count * mean[i]
                for j in range(n_features):
                    scatter[i, j] = second[i, j] - weighted * mean[j]
            if own_axes:
                trace, second_trace = 0.0, 0.0
                for i in range(n_features):
                    trace += scatter[i, i]
                    second_trace += second[i, i]
                if trace <= ROUNDING * second_trace:
                    scatter[:, :] = 0.0
            regularisation = reg_covar * count
            for i in range(n_features):
                scatter[i, i] += regularisation
    return scatters


@compiled
def matrix_map_scatter(counts: np.ndarray, means: np.ndarray, second_moments: np.ndarray,
                       reg_covar: float, prior_mean: np.ndarray, shrinkage: float,
                       scale_matrices: np.ndarray) -> np.ndarray:
    """``W_k + reg_covar n_k I + Lambda + c_k d_k d_k^T`` of stacked components.

    :func:`~bayesmix.covariance.scatter.map_scatter` of the ``"matrix"`` kind, equal to it
    to the last bit: ``d_k = xbar_k - mu_p`` and ``c_k = kappa n_k / (n_k + kappa)``
    (``prior_mean``, ``shrinkage``), ``Lambda`` each entry's scale matrix.

    Parameters
    ----------
    counts : ndarray of shape (n, K)
    means : ndarray of shape (n, K, D)
    second_moments : ndarray of shape (n, K, D, D)
    reg_covar : float
    prior_mean : ndarray of shape (D,)
    shrinkage : float
    scale_matrices : ndarray of shape (n, D, D)

    Returns
    -------
    ndarray of shape (n, K, D, D)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.prior import ConjugatePrior
    >>> from bayesmix.covariance.scatter import map_scatter
    >>> from bayesmix.covariance.scatter_kernel import matrix_map_scatter
    >>> counts, means = np.array([[2.0]]), np.array([[[1.0, 0.5]]])
    >>> second, scale = np.array([[[[4.0, 1.0], [1.0, 3.0]]]]), np.array([[[1.0, 0.0], [0.0, 2.0]]])
    >>> prior = ConjugatePrior(shrinkage=1.0, mean=np.zeros(2))
    >>> scatters = matrix_map_scatter(counts, means, second, 0.5, prior.mean, 1.0, scale)
    >>> scatters[0, 0]  # W + reg n I + Lambda + (2 / 3) d d'
    array([[4.66666667, 0.33333333],
           [0.33333333, 5.66666667]])
    >>> bool((scatters == map_scatter("matrix", counts, means, second, None, 0.5, prior,
    ...                               scale)).all())
    True
    """
    scatters = matrix_within_scatter(counts, means, second_moments, reg_covar, False)
    n_entries, n_components, n_features = means.shape
    offset = np.empty(n_features)
    for entry in range(n_entries):
        scale = scale_matrices[entry]
        for k in range(n_components):
            count, scatter = counts[entry, k], scatters[entry, k]
            for i in range(n_features):
                offset[i] = means[entry, k, i] - prior_mean[i]
            pull = shrinkage * count / (count + shrinkage)
            for i in range(n_features):
                weighted = pull * offset[i]
                for j in range(n_features):
                    scatter[i, j] = (scatter[i, j] + scale[i, j]) + weighted * offset[j]
    return scatters


@compiled
def pooled_within_scatter(total_scatter: np.ndarray, counts: np.ndarray,
                          total_counts: np.ndarray, means: np.ndarray,
                          reg_covar: float) -> np.ndarray:
    """``S - sum_k n_k mu_k mu_k^T + reg_covar n I`` of stacked fits.

    :func:`~bayesmix.covariance.scatter.within_scatter` of the pooled kind (``None``),
    equal to it to the last bit, given each fit's ``n = sum_k n_k`` (``total_counts``,
    NumPy's sum, whose order is pairwise).

    Parameters
    ----------
    total_scatter : ndarray of shape (D, D)
    counts : ndarray of shape (n, K)
    total_counts : ndarray of shape (n,)
    means : ndarray of shape (n, K, D)
    reg_covar : float

    Returns
    -------
    ndarray of shape (n, D, D)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.scatter_kernel import pooled_within_scatter
    >>> counts, means = np.array([[1.0, 1.0]]), np.array([[[1.0], [-1.0]]])
    >>> pooled_within_scatter(np.array([[4.0]]), counts, counts.sum(axis=-1), means, 0.5)
    array([[[3.]]])
    """
    n_entries, n_components, n_features = means.shape
    scatters = np.empty((n_entries, n_features, n_features))
    for entry in range(n_entries):
        scatter = scatters[entry]
        for d in range(n_features):
            for e in range(n_features):
                between = 0.0
                for k in range(n_components):
                    between += counts[entry, k] * means[entry, k, d] * means[entry, k, e]
                scatter[d, e] = total_scatter[d, e] - between
        regularisation = reg_covar * total_counts[entry]
        for d in range(n_features):
            scatter[d, d] += regularisation
    return scatters


@compiled
def pooled_map_scatter(total_scatter: np.ndarray, counts: np.ndarray,
                       total_counts: np.ndarray, means: np.ndarray, reg_covar: float,
                       prior_mean: np.ndarray, shrinkage: float, n_components: np.ndarray,
                       scale_matrices: np.ndarray) -> np.ndarray:
    """``W + reg_covar n I + K Lambda + sum_k c_k d_k d_k^T`` of stacked fits.

    :func:`~bayesmix.covariance.scatter.map_scatter` of the pooled kind, equal to it to
    the last bit: :func:`pooled_within_scatter` plus each fit's number of components
    (``n_components``, as floats) times its scale matrix and the prior's pull (``d_k =
    xbar_k - mu_p``, ``c_k = kappa n_k / (n_k + kappa)``).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.prior import ConjugatePrior
    >>> from bayesmix.covariance.scatter import map_scatter
    >>> from bayesmix.covariance.scatter_kernel import pooled_map_scatter
    >>> counts, means = np.array([[1.0, 1.0]]), np.array([[[1.0], [-1.0]]])
    >>> prior = ConjugatePrior(shrinkage=1.0, mean=np.zeros(1))
    >>> scatter = pooled_map_scatter(np.array([[4.0]]), counts, counts.sum(axis=-1), means,
    ...                              0.5, prior.mean, 1.0, np.array([2.0]),
    ...                              np.array([[[0.25]]]))
    >>> scatter  # 3 + 2 * 0.25 + 2 * (1 / 2) * 1**2
    array([[[4.5]]])
    >>> bool((scatter == map_scatter(None, counts, means, None, np.array([[4.0]]), 0.5,
    ...                              prior, np.array([[[0.25]]]), np.array([2]))).all())
    True
    """
    scatters = pooled_within_scatter(total_scatter, counts, total_counts, means, reg_covar)
    n_entries, n_fit_components, n_features = means.shape
    pulls = np.empty(n_fit_components)
    for entry in range(n_entries):
        for k in range(n_fit_components):
            count = counts[entry, k]
            pulls[k] = shrinkage * count / (count + shrinkage)
        scatter, scale = scatters[entry], scale_matrices[entry]
        for d in range(n_features):
            for e in range(n_features):
                pulled = 0.0
                for k in range(n_fit_components):
                    pulled += (pulls[k] * (means[entry, k, d] - prior_mean[d])
                               * (means[entry, k, e] - prior_mean[e]))
                scatter[d, e] = (scatter[d, e] + n_components[entry] * scale[d, e]) + pulled
    return scatters
