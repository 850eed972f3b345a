"""The batched E step's responsibilities, compiled with Numba.

:mod:`bayesmix.em.batch` has every run's joint log probabilities
``log w_k + log N(x_n | mu_k, Sigma_k)`` of a block of rows as one array (runs x
components x rows, the components padded to the largest number). In NumPy, turning them
into responsibilities, the log-likelihood and the classification entropy took a dozen
passes over the whole padded array (row maxima, a subtraction, the exponentials, sums, a
test for rows without density, a division, logarithms, the row weights, two
reductions), a dozen calls at every iteration whatever the stack.
:func:`normalise_log_probabilities` makes one pass per run over its real components
only.

Its exponentials are :func:`exp_in_place`'s. Numba's ``np.exp`` calls the C library
once per value, about three times the time of NumPy's vectorised exponential, which
would cost the pass most of what it saves; :func:`exp_in_place` computes ``2**m p(r)``
(Cody and Waite's reduction ``x = m log 2 + r``, ``|r| <= log(2) / 2``, and ``p`` the
Taylor polynomial of degree 13, whose truncation error is below ``4e-18`` relative) in
loops that the compiler vectorises. Its values are within one unit in the last place of
NumPy's: rounding, not bit for bit. Compiled as
:func:`~bayesmix.covariance.inner_kernels.compiled` says.
"""

from __future__ import annotations

import math

import numpy as np

from bayesmix.covariance.inner_kernels import compiled

__all__ = ["exp_in_place", "normalise_log_probabilities"]

_LOG2_E = 1.4426950408889634
#: ``log(2)`` in two parts: ``m * _LN2_HIGH`` is exact for the exponents of doubles.
_LN2_HIGH = 6.93147180369123816490e-01
_LN2_LOW = 1.90821492927058770002e-10
#: ``1 / k!`` for k = 0..13, the Taylor polynomial's coefficients.
_TAYLOR = np.array([1.0 / math.factorial(k) for k in range(14)])
_TAYLOR.flags.writeable = False
#: Arguments are clamped to plus or minus this: beyond it ``exp`` is 0 in double
#: precision (``exp(-745.2)`` already rounds to 0), or ``inf``.
_CLAMP = 746.0


@compiled
def exp_in_place(values: np.ndarray, scale_bits: np.ndarray) -> None:
    """``values[:] = exp(values)`` to one unit in the last place, vectorised.

    The power of two ``2**m`` is two factors ``2**(m // 2)`` and ``2**(m - m // 2)``,
    written as the bits of doubles, so that a result below the normal range (``exp(x)``
    for ``x < -708.4``) is rounded once; below -745.2 it is 0, as ``-inf`` gives. NaN
    stays NaN.

    Parameters
    ----------
    values : ndarray of shape (n,)
        Float64, overwritten.
    scale_bits : ndarray of shape (2, n)
        Int64 workspace (its values are not read).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.normalise_kernel import exp_in_place
    >>> values = np.array([0.0, -1.0, -np.inf, -800.0])
    >>> exp_in_place(values, np.empty((2, 4), dtype=np.int64))
    >>> values.tolist() == np.exp([0.0, -1.0, -np.inf, -800.0]).tolist()
    True
    """
    taylor = _TAYLOR
    low, high = scale_bits[0], scale_bits[1]
    for i in range(values.shape[0]):
        value = values[i]  # (NaN stays NaN)
        if value < -_CLAMP:
            value = -_CLAMP
        elif value > _CLAMP:
            value = _CLAMP
        power = np.floor(value * _LOG2_E + 0.5)
        remainder = (value - power * _LN2_HIGH) - power * _LN2_LOW
        polynomial = taylor[13]
        for k in range(12, -1, -1):
            polynomial = polynomial * remainder + taylor[k]
        exponent = np.int64(power) if power == power else np.int64(0)
        low[i] = ((exponent >> 1) + 1023) << 52
        high[i] = ((exponent - (exponent >> 1)) + 1023) << 52
        values[i] = polynomial
    low_scale, high_scale = low.view(np.float64), high.view(np.float64)
    for i in range(values.shape[0]):
        values[i] = values[i] * low_scale[i] * high_scale[i]


@compiled
def normalise_log_probabilities(log_prob: np.ndarray, sizes: np.ndarray,
                                weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Turn joint log probabilities into weighted responsibilities, in place.

    Each run's first ``sizes[b]`` components are its real ones; the others (padding) get
    responsibility 0 whatever their log probabilities. A row where no real component
    has a positive probability (every log probability ``-inf``, or one NaN) gets equal
    shares of the real components and log normaliser ``-inf``, as
    :func:`~bayesmix.density.normalise_rows` gives.

    Parameters
    ----------
    log_prob : ndarray of shape (B, K, n)
        C-contiguous float64, ``log w_k + log N(x_n | mu_k, Sigma_k)`` of each run;
        overwritten with the responsibilities times the row weights.
    sizes : ndarray of shape (B,)
        Int64, each run's number of real components (1 to K).
    weights : ndarray of shape (n,) or (0,)
        The rows' weights, or none (all 1).

    Returns
    -------
    log_likelihood : ndarray of shape (B,)
        ``sum_n w_n log p(x_n)``, ``log p(x_n)`` the log of the row's sum of
        probabilities.
    entropy : ndarray of shape (B,)
        ``-sum_n w_n log max_k r_nk``, the entropy of the hard classification.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.normalise_kernel import normalise_log_probabilities
    >>> log_prob = np.log([[[0.1, 0.6], [0.3, 0.2], [0.5, 0.5]]])  # the last padding
    >>> log_likelihood, entropy = normalise_log_probabilities(
    ...     log_prob, np.array([2]), np.empty(0))
    >>> log_prob.round(6), log_likelihood.round(6)  # log(0.4) + log(0.8)
    (array([[[0.25, 0.75],
            [0.75, 0.25],
            [0.  , 0.  ]]]), array([-1.139434]))
    """
    n_runs, n_components, n_rows = log_prob.shape
    weighted = weights.shape[0] > 0
    log_likelihood = np.zeros(n_runs)
    entropy = np.zeros(n_runs)
    row_max = np.empty(n_rows)
    row_sum = np.empty(n_rows)
    scale_bits = np.empty((2, n_rows), dtype=np.int64)
    for run in range(n_runs):
        size = sizes[run]
        probabilities = log_prob[run]
        row_max[:] = probabilities[0]
        for k in range(1, size):
            for i in range(n_rows):
                if probabilities[k, i] > row_max[i]:
                    row_max[i] = probabilities[k, i]
        row_sum[:] = 0.0
        for k in range(size):
            component = probabilities[k]
            for i in range(n_rows):
                component[i] -= row_max[i]
            exp_in_place(component, scale_bits)
            for i in range(n_rows):
                row_sum[i] += component[i]
        for k in range(size, n_components):
            probabilities[k, :] = 0.0
        run_log_likelihood = 0.0
        run_entropy = 0.0
        for i in range(n_rows):
            weight = weights[i] if weighted else 1.0
            if row_sum[i] > 0.0:
                share = weight / row_sum[i]
                for k in range(size):
                    probabilities[k, i] *= share
            else:  # no density: equal shares
                row_max[i], row_sum[i] = -np.inf, 1.0
                for k in range(size):
                    probabilities[k, i] = weight / size
            log_norm = np.log(row_sum[i]) + row_max[i]
            run_log_likelihood += weight * log_norm
            run_entropy += weight * (log_norm - row_max[i])
        log_likelihood[run] = run_log_likelihood
        entropy[run] = run_entropy
    return log_likelihood, entropy
