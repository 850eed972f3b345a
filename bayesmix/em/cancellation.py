"""Where the batched E step's expanded quadratic forms lose their digits, and the runs
evaluated from differences there instead.

:mod:`bayesmix.em.batch` evaluates each run's log densities as one matrix product of
every component's coefficients ``c`` with the rows' features ``f(x) = [products of x |
x | 1]``
(:meth:`~bayesmix.covariance.base.CovarianceStructure.batch_log_density_coefficients`):
``c @ f(x)`` is ``-(x - mu)' P (x - mu) / 2`` plus constants, expanded into ``-x' P x / 2 +
x' P mu - mu' P mu / 2``. Each term is rounded to about ``eps`` of its own magnitude, so
the sum may be off by ``eps sum_f |c_f f(x)|``, which is negligible only while the terms
are not much larger than the sum. They are where a component lies far from the data's
mean beside its spread, or its covariance is nearly singular: on 60 standard normal
rows beside 20 rows 1e7 away, the prior's grid read log-likelihoods up to 118 off (and
chose VVV,8 where the exact values choose EEE,8); with one row 1e8 away, up to 26 off
(VVV,4 instead of VVV,3); with one row 1e10 away, 3.3 off for a single component.

So at every E step a run's bound ``eps sum_f |c_f| F_f`` (:func:`imprecise_runs`,
``F_f`` an upper bound of ``|f(x)|`` over the rows: :func:`feature_bounds`) says
whether its expansion holds to :data:`EXPANSION_ERROR` per row. A run where it does
not (on real data, a few runs of a grid without a prior) is evaluated from each row's
difference from each mean, through the precision factor
(:func:`direct_log_probabilities`), and its log prior density as the one-fit engine
computes it (:meth:`~bayesmix.covariance.base.CovarianceStructure.log_prior_terms`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bayesmix.covariance.base import CovarianceStructure
from bayesmix.covariance.kernel_compiler import compiled
from bayesmix.covariance.quadratic import RowProducts

__all__ = ["EXPANSION_ERROR", "direct_log_probabilities", "feature_bounds",
           "imprecise_runs"]

#: The largest error bound of a run's expanded log densities, per row, below which the
#: batch keeps them: a tenth of the grid's ``tol`` (1e-6 per row, on the mean
#: log-likelihood's change). Of the 14-model grids' E steps, a span had a run above it
#: in none of Old Faithful's, 1 to 5 % of iris', diabetes', wine's, thyroid's and
#: banknote's, 44 % of Boston's and 20 % of state.x77's (columns whose scales span
#: 1e5); under the prior, in none of these.
EXPANSION_ERROR = 1e-7

_EPSILON = float(np.finfo(np.float64).eps)


def feature_bounds(source: Any, kind: str) -> np.ndarray:
    """Upper bounds of the magnitudes of the rows' features of ``kind`` (F,).

    The features (``RowProducts.features``) of the point whose coordinates are the
    columns' largest distances from ``source.shift`` (by which the batch centres the
    rows), kept in ``source.cache``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.cancellation import feature_bounds
    >>> from bayesmix.em.sources import InMemorySource
    >>> feature_bounds(InMemorySource(np.array([[0.0, 1.0], [4.0, 3.0]])), "squares")
    array([4., 1., 2., 1., 1.])
    """
    key = ("feature_bounds", kind)
    if key not in source.cache:
        X, shift = source.X, source.shift
        largest = np.maximum(X.max(axis=0) - shift, shift - X.min(axis=0))
        source.cache[key] = RowProducts(largest[np.newaxis]).features(kind)[0]
    return source.cache[key]


@compiled
def imprecise_runs(coefficients: np.ndarray, bounds: np.ndarray, tolerance: float
                   ) -> np.ndarray:
    """Which runs' expanded log densities may be off by more than ``tolerance`` per row.

    A component's bound is ``eps sum_f |c_f| bounds_f``; a component whose constant is
    not finite (absent: ``log 0``) has no density to lose.

    Parameters
    ----------
    coefficients : ndarray of shape (n, K, F)
    bounds : ndarray of shape (F,)
        :func:`feature_bounds`.
    tolerance : float

    Returns
    -------
    ndarray of shape (n,), bool

    Examples
    --------
    A unit component at the data's mean, and one 1e8 away whose expansion's terms reach
    1e16:

    >>> import numpy as np
    >>> from bayesmix.em.cancellation import imprecise_runs
    >>> near = [-0.5, 0.0, -1.0]  # -(x - 0)^2 / 2 - 1 as [x^2 | x | 1]
    >>> far = [-0.5, 1e8, -0.5e16 - 1.0]  # -(x - 1e8)^2 / 2 - 1
    >>> imprecise_runs(np.array([[near], [far]]), np.array([4.0, 2.0, 1.0]), 1e-7)
    array([False,  True])
    """
    n_runs, n_components, n_features = coefficients.shape
    imprecise = np.zeros(n_runs, dtype=np.bool_)
    for run in range(n_runs):
        for component in range(n_components):
            weights = coefficients[run, component]
            if not np.isfinite(weights[n_features - 1]):
                continue
            total = 0.0
            for feature in range(n_features):
                total += abs(weights[feature]) * bounds[feature]
            if _EPSILON * total > tolerance:
                imprecise[run] = True
                break
    return imprecise


def direct_log_probabilities(X: np.ndarray, structure: CovarianceStructure,
                             means: np.ndarray, factors: np.ndarray, constants: np.ndarray
                             ) -> np.ndarray:
    """One run's joint log probabilities ``constants_k + D log(2 pi) / 2 + log N(x |
    mu_k, Sigma_k)`` (K, N), from each row's difference from each mean.

    ``-|(x - mu_k)' U_k|^2 / 2`` plus the log-determinant: the difference first, so
    that nothing cancels (the estimator's ``x' U_k - mu_k' U_k``, one product for all
    components, loses ``eps |x| |U_k|`` per coordinate: 2e-5 per row on the far
    clusters above). ``X`` (N, D) are the batch's centred rows, ``means`` (K, D),
    ``factors`` the run's precision factors (the structure's stored shape: each
    component's upper factor ``U_k`` is their full form) and ``constants`` (K,) the log
    weights minus ``D log(2 pi) / 2``, as in the batch's coefficients.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.cancellation import direct_log_probabilities
    >>> direct_log_probabilities(np.array([[1e8 + 1.0]]), get_structure("spherical"),
    ...                          np.array([[1e8]]), np.ones(1), np.array([0.0]))
    array([[-0.5]])
    """
    n_components, n_features = means.shape
    upper = structure.to_full(factors, n_components, n_features)
    projected = np.matmul(X[np.newaxis] - means[:, np.newaxis], upper)
    log_prob = np.einsum("knd,knd->kn", projected, projected)
    log_prob *= -0.5
    log_prob += (constants + structure.log_det_cholesky(factors, n_features))[:, np.newaxis]
    return log_prob
