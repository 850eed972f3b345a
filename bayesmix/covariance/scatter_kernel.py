"""The decomposed models' scatters, compiled: :func:`matrix_within_scatter` for the M
step, :func:`matrix_map_scatter` for the MAP step.

:func:`~bayesmix.covariance.scatter.within_scatter` builds ``W_k + reg_covar n_k I`` from
the second moments in six NumPy calls (and two more, with ``own_axes``, for the
rounding test), about 15 microseconds for the 18 runs of a structure in a 14-model
grid, mostly the calls' own cost: a fifth of the M step of EVV, and as much in every M
step of mclust's decomposed models; :func:`~bayesmix.covariance.scatter.map_scatter`
adds the prior's terms in six more. These kernels make the same floating-point
operations in the same order (their results are equal to the last bit) in one call,
about 3 microseconds. The four scikit-learn structures' M steps keep NumPy's, so that
their fits do not load the compiler.
"""

from __future__ import annotations

import numpy as np

from bayesmix.covariance.kernel_compiler import compiled
from bayesmix.covariance.scatter import ROUNDING

__all__ = ["matrix_map_scatter", "matrix_within_scatter"]


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
