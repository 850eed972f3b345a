"""The multivariate t component: log density, latent scale weights, dof update.

A t component with mean ``mu``, scale matrix ``Sigma`` and ``nu`` degrees of freedom is
a Gaussian scale mixture: ``x | u ~ N(mu, Sigma / u)`` with ``u ~ Gamma(nu/2, nu/2)``.
EM for a mixture of t components (the ECM algorithm of Liu & Rubin 1995 and McLachlan
& Peel 2000, chapter 7) needs, per row and component, the squared Mahalanobis distance
``delta`` under the scale matrix, from which come the log density and the expected
latent weight ``u = (nu + D) / (nu + delta)``; the scale matrices are stored and
factorised by the covariance structures (:mod:`bayesmix.covariance`) exactly as
Gaussian covariances are.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from scipy.optimize import brentq
from scipy.special import digamma, gammaln

from bayesmix.covariance.base import CovarianceStructure

__all__ = ["DOF_BOUNDS", "NUMPY_MATH", "draw_rows", "latent_scale_weights",
           "mixture_log_prob", "student_t_log_prob", "update_dof"]

#: The interval the degrees of freedom are estimated in. The upper end (as R's teigen
#: bounds them at 200) stands for "Gaussian": the likelihood is flat beyond it.
DOF_BOUNDS = (1e-2, 200.0)

#: The functions :func:`student_t_log_prob` evaluates with, for NumPy arrays. The PyMC
#: model passes PyTensor's (``gammaln``, ``log``, ``log1p`` of :mod:`pytensor.tensor`),
#: so that the posterior's likelihood is this same density, not a second copy of it.
NUMPY_MATH = SimpleNamespace(gammaln=gammaln, log=np.log, log1p=np.log1p)


def student_t_log_prob(maha: np.ndarray, log_det: np.ndarray, dof: np.ndarray,
                       n_features: int, *, math: SimpleNamespace = NUMPY_MATH) -> np.ndarray:
    """``log t(x_n | mu_k, Sigma_k, nu_k)`` from the squared Mahalanobis distances.

    Parameters
    ----------
    maha : ndarray of shape (N, K)
        ``(x_n - mu_k)^T Sigma_k^-1 (x_n - mu_k)``.
    log_det : ndarray of shape (K,)
        ``log det`` of each precision's Cholesky factor, ``-log det(Sigma_k) / 2``.
    dof : ndarray of shape (K,)
    n_features : int
    math : namespace, default=NUMPY_MATH
        ``gammaln``, ``log`` and ``log1p`` for the arrays given: :data:`NUMPY_MATH`, or
        :mod:`pytensor.tensor` for symbolic ones (the PyMC model's likelihood).

    Returns
    -------
    ndarray of shape (N, K)

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import t
    >>> from bayesmix.families.student_t import student_t_log_prob
    >>> value = student_t_log_prob(np.array([[4.0]]), np.zeros(1), np.array([3.0]), 1)
    >>> bool(np.isclose(value[0, 0], t(3.0).logpdf(2.0)))
    True

    The same function builds a PyTensor graph:

    >>> import pytensor.tensor as pt
    >>> symbolic = student_t_log_prob(pt.as_tensor(np.array([[4.0]])), np.zeros(1),
    ...                               pt.as_tensor(np.array([3.0])), 1, math=pt)
    >>> bool(np.isclose(symbolic.eval()[0, 0], value[0, 0]))
    True
    """
    half = 0.5 * (dof + n_features)
    constant = (math.gammaln(half) - math.gammaln(0.5 * dof)
                - 0.5 * n_features * math.log(dof * np.pi) + log_det)
    return constant - half * math.log1p(maha / dof)


def latent_scale_weights(maha: np.ndarray, dof: np.ndarray, n_features: int) -> np.ndarray:
    """The E step's expected latent weights ``u_nk = (nu_k + D) / (nu_k + delta_nk)``.

    Rows far from a component (large ``delta``) get small weights, so they pull its
    mean and scale less: the robustness of the t.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.families.student_t import latent_scale_weights
    >>> latent_scale_weights(np.array([[0.0, 98.0]]), np.array([2.0, 2.0]), 2)
    array([[2.  , 0.04]])
    """
    return (dof + n_features) / (dof + maha)


def update_dof(counts: np.ndarray, log_weight_terms: np.ndarray, previous: np.ndarray,
               n_features: int) -> np.ndarray:
    """The CM step for each component's degrees of freedom (McLachlan & Peel 2000, 7.5).

    With ``n_k = sum_n r_nk`` and ``c_k = sum_n r_nk (log u_nk - u_nk) / n_k +
    psi((nu_old + D) / 2) - log((nu_old + D) / 2)`` (``psi`` the digamma function), the
    new ``nu_k`` solves ``-psi(nu / 2) + log(nu / 2) + 1 + c_k = 0``, found by Brent's
    method in :data:`DOF_BOUNDS`. The left side decreases in ``nu``; where it does not
    change sign in the interval, the end of the interval that maximises the expected
    complete log-likelihood is taken (the upper one when the data are as light-tailed
    as a Gaussian).

    Parameters
    ----------
    counts : ndarray of shape (K,)
        ``n_k`` (floored away from zero).
    log_weight_terms : ndarray of shape (K,)
        ``sum_n r_nk (log u_nk - u_nk)``, with the row weights in ``r``.
    previous : ndarray of shape (K,)
        The degrees of freedom the E step used.
    n_features : int

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.families.student_t import update_dof

    Every ``u = 1`` (no row far out) raises the degrees of freedom; small weights
    lower them:

    >>> update_dof(np.array([10.0]), np.array([-10.0]), np.array([5.0]), 1).round(2)
    array([6.])
    >>> update_dof(np.array([10.0]), np.array([-14.0]), np.array([5.0]), 1).round(2)
    array([2.])
    """
    half = 0.5 * (previous + n_features)
    offsets = log_weight_terms / counts + digamma(half) - np.log(half) + 1.0
    low, high = DOF_BOUNDS

    def slope(dof: float, offset: float) -> float:
        return float(-digamma(0.5 * dof) + np.log(0.5 * dof) + offset)

    updated = np.empty_like(offsets)
    for k, offset in enumerate(offsets):
        if slope(high, offset) >= 0.0:
            updated[k] = high
        elif slope(low, offset) <= 0.0:
            updated[k] = low
        else:
            updated[k] = brentq(slope, low, high, args=(offset,), xtol=1e-10)
    return updated


def mixture_log_prob(X: np.ndarray, weights: np.ndarray, means: np.ndarray,
                     precisions_cholesky: np.ndarray, structure: CovarianceStructure,
                     dof: np.ndarray) -> np.ndarray:
    """``log pi_k + log t(x_n | mu_k, Sigma_k, nu_k)`` of every row, shape (N, K).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import multivariate_t
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.families.student_t import mixture_log_prob
    >>> value = mixture_log_prob(np.array([[1.0, 2.0]]), np.ones(1), np.zeros((1, 2)),
    ...                          np.ones(1), get_structure("spherical"), np.array([4.0]))
    >>> bool(np.isclose(value[0, 0], multivariate_t(np.zeros(2), np.eye(2), df=4).logpdf([1, 2])))
    True
    """
    n_features = means.shape[1]
    X = np.asarray(X, dtype=np.float64)
    maha = structure.squared_mahalanobis(X, means, precisions_cholesky)
    log_det = structure.log_det_cholesky(precisions_cholesky, n_features)
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    return student_t_log_prob(maha, log_det, dof, n_features) + log_weights


def draw_rows(rng: np.random.Generator | np.random.RandomState, means: np.ndarray,
              cholesky: np.ndarray, dof: np.ndarray) -> np.ndarray:
    """One row from each t component given: ``mu + L z / sqrt(g / nu)``.

    ``z`` is standard normal and ``g ~ chi2(nu)``, so that ``L z / sqrt(g / nu)`` is a
    t variate with scale matrix ``L L^T``.

    Parameters
    ----------
    rng : numpy.random.Generator or RandomState
    means : ndarray of shape (..., n_features)
    cholesky : ndarray of shape (..., n_features, n_features)
        Lower Cholesky factors of the scale matrices.
    dof : ndarray of shape (...)

    Returns
    -------
    ndarray of shape (..., n_features)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.families.student_t import draw_rows
    >>> rows = draw_rows(np.random.default_rng(0), np.zeros((20000, 1)),
    ...                  np.ones((20000, 1, 1)), np.full(20000, 5.0))
    >>> round(float(np.mean(np.abs(rows) < 2.015)), 2)  # t(5)'s 95 % quantile is 2.015
    0.9
    """
    means = np.asarray(means, dtype=np.float64)
    dof = np.broadcast_to(np.asarray(dof, dtype=np.float64), means.shape[:-1])
    noise = rng.standard_normal(means.shape)
    gaussian = np.einsum("...ij,...j->...i", cholesky, noise)
    return means + gaussian / np.sqrt(rng.chisquare(dof) / dof)[..., np.newaxis]
