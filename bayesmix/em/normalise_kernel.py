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
NumPy's: rounding, not bit for bit. The logarithms of the rows' normalisers are
:func:`log_in_place`'s (fdlibm's, vectorised), for the same reason: one call of the C
library per row cost as much as the exponentials of a row's nine components.

Both polynomials are compiled with fused multiply-adds (``contract``, as
:func:`~bayesmix.covariance.kernel_compiler.compiled` says): on the development machine
(AVX-512) the exponential takes 1.4 ns per value instead of 2.0, and the normalisation
of 20 runs of 2 to 9 components on 3000 rows 3.3 to 2.3 ns per value instead of 7.6 to
3.7 (with the logarithms of the C library, one row at a time, and no fused operations).
``benchmarks/normalise_kernel.py`` times them against NumPy in the same run.
"""

from __future__ import annotations

import math

import numpy as np

from bayesmix.covariance.kernel_compiler import compiled

__all__ = ["exp_in_place", "log_in_place", "normalise_log_probabilities"]

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
#: The bits of a double: its mantissa, the bit above it, and those of 1.0.
_MANTISSA = np.int64(0x000FFFFFFFFFFFFF)
_IMPLICIT_BIT = np.int64(0x0010000000000000)
_ONE_BITS = np.int64(0x3FF0000000000000)
#: Added to a mantissa, carries into the bit above it from sqrt(2)'s mantissa on (fdlibm's
#: ``0x95f64`` of the high word).
_SQRT2_CARRY = np.int64(0x00095F6400000000)
#: fdlibm's polynomial of ``log(1 + f)`` in ``s**2``, ``s = f / (2 + f)``.
_LG = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
       2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
       1.479819860511658591e-01)


@compiled(contract=True)
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


@compiled(contract=True)
def log_in_place(values: np.ndarray, powers: np.ndarray) -> None:
    """``values[:] = log(values)`` to one unit in the last place, vectorised.

    fdlibm's logarithm (``e_log.c``): ``x = 2**k (1 + f)`` with ``sqrt(2) / 2 <= 1 + f <
    sqrt(2)``, and ``log(1 + f) = 2 atanh(s)``, ``s = f / (2 + f)``, by a polynomial in
    ``s**2``; without fdlibm's branches for ``f`` near 0 (its general formula holds
    there too), so that the loops vectorise. For positive normal values only: the
    normalisation takes the logarithms of rows' sums of probabilities relative to their
    largest, which lie between 1 and the number of components.

    Parameters
    ----------
    values : ndarray of shape (n,)
        Float64, positive and normal, overwritten.
    powers : ndarray of shape (n,)
        Float64 workspace (its values are not read).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.normalise_kernel import log_in_place
    >>> values = np.array([1.0, 2.0, 9.0, 1.5e-300, 3.0e300])
    >>> expected = np.log(values)
    >>> log_in_place(values, np.empty(5))
    >>> bool(np.all(np.abs(values - expected) <= np.spacing(np.abs(expected))))
    True
    """
    lg1, lg2, lg3, lg4, lg5, lg6, lg7 = _LG
    bits = values.view(np.int64)
    for i in range(values.shape[0]):
        word = bits[i]
        mantissa = word & _MANTISSA
        halved = (mantissa + _SQRT2_CARRY) & _IMPLICIT_BIT  # 1 + f from sqrt(2) on: halved
        powers[i] = float((word >> 52) - 1023 + (halved >> 52))
        bits[i] = mantissa | (halved ^ _ONE_BITS)
    for i in range(values.shape[0]):
        f = values[i] - 1.0
        s = f / (2.0 + f)
        z = s * s
        w = z * z
        r = z * (lg1 + w * (lg3 + w * (lg5 + w * lg7))) + w * (lg2 + w * (lg4 + w * lg6))
        half_square = 0.5 * f * f
        power = powers[i]
        values[i] = power * _LN2_HIGH - (
            (half_square - (s * (half_square + r) + power * _LN2_LOW)) - f)


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
    share = np.empty(n_rows)
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
        without_density = 0
        for i in range(n_rows):
            has_density = row_sum[i] > 0.0  # (not a NaN)
            without_density += not has_density
            row_sum[i] = row_sum[i] if has_density else 1.0
            row_max[i] = row_max[i] if has_density else -np.inf
            share[i] = (weights[i] if weighted else 1.0) / row_sum[i]
        for k in range(size):
            component = probabilities[k]
            for i in range(n_rows):
                component[i] *= share[i]
        if without_density:  # equal shares
            for i in range(n_rows):
                if row_max[i] == -np.inf:
                    for k in range(size):
                        probabilities[k, i] = share[i] / size
        # log(row_sum): -log of the largest responsibility, from 0 to log(size).
        log_inverse_max = row_sum
        log_in_place(log_inverse_max, share)
        run_log_likelihood = 0.0
        run_entropy = 0.0
        for i in range(n_rows):
            weight = weights[i] if weighted else 1.0
            run_log_likelihood += weight * (log_inverse_max[i] + row_max[i])
            run_entropy += weight * (log_inverse_max[i] if row_max[i] > -np.inf
                                     else np.log(size))
        log_likelihood[run] = run_log_likelihood
        entropy[run] = run_entropy
    return log_likelihood, entropy
