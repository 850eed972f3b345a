"""The inner iterations of the decomposed models' M steps, compiled with Numba.

Where mclust's M step has no closed form it iterates: the common shape of VEI and VEV
(:func:`iterate_common_shape`), VEE's common shape matrix
(:func:`iterate_common_shape_matrix`), and EVE's and VVE's common orientation
(:func:`iterate_common_orientation`: Jacobi sweeps of pairwise rotations, each angle
found by Newton's method). Model selection runs these M steps for every cell and SQUAREM
projects its extrapolations with them. In NumPy each iteration was one to two dozen calls
over the batch entries still changing, whose overhead exceeded the arithmetic on small
data (iris' 14-model grid spent a third of its time in the orientation's). Compiled,
each entry iterates on its own in one loop, so an entry that converges early costs
nothing more and a slow one pays no per-call overhead; the inverses and determinants
are the LAPACK routines NumPy calls. The callers prepare the starts and bring the arrays
to the kernels' layout (C-contiguous float64, one leading batch axis:
:func:`~bayesmix.covariance.decomposed.stacked_entries`).

The shape iterations stop an entry when no value changes by more than ``tol``
(relative), an iteration whose change is not above ``tol`` not taken; the orientation's
sweeps each lower the objective and are all taken, an entry stopping after one whose
change is not above ``tol``. Numba compiles a kernel on its first call (about 6 s for
the orientation's, 2 s for the others) and keeps the machine code in the package's
``__pycache__`` (``cache=True``; elsewhere, where that is not writable), so a later
process only loads it (about 0.5 s with Numba's start-up). What else these M steps do
stays in NumPy: compiling it too (the starts' eigenvectors) doubled the orientation
kernel's compile time for a gain within the noise of a 14-model grid.
``error_model="numpy"``: a division by zero gives ``inf`` or NaN as in NumPy (an absent
component's ``0 / 0``) instead of raising.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

__all__ = ["iterate_common_orientation", "iterate_common_shape", "iterate_common_shape_matrix"]

#: The most Newton steps that minimise one pair's objective; the largest Newton step
#: taken without testing that it lowers the objective (within it the slope is close to
#: linear); the step below which the angle has converged.
_NEWTON_MAX_ITER = 30
_LOCAL_STEP = 1e-3
_SMALLEST_ANGLE = 1e-12


def _compiled(function: Callable) -> Callable:
    """``function`` compiled by Numba, its machine code cached where Numba can write.

    Where it can write nowhere (a read-only installation and home directory), Numba
    refuses ``cache=True`` with a RuntimeError; the kernel is then compiled anew in each
    process instead of failing.
    """
    options = {"error_model": "numpy", "nogil": True}
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(**options)(function)


@_compiled
def iterate_common_orientation(scatters: np.ndarray, weights: np.ndarray,
                               orientation: np.ndarray, equal_volume: bool, max_iter: int,
                               tol: float, floor: float = 0.0
                               ) -> tuple[np.ndarray, np.ndarray]:
    """The common orientation and variances of each batch entry, from a start.

    Per entry: the variances along the start ``orientation`` (in closed form), then up to
    ``max_iter`` Jacobi sweeps, each rotating every pair of axes in turn by the angle
    that minimises the profile objective (:func:`_best_pair_angle`), and the variances
    along the new orientation. The entry stops after a sweep whose largest relative
    change of a variance is not above ``tol`` (NaN changes ignored; all NaN: a degenerate
    entry), or once a variance is at most ``floor`` (collapsed), before its next sweep.

    Given the orientation ``D`` the variances are closed form, from ``m_kj = (D^T W_k
    D)_jj``; what is left to minimise over ``D`` is ``sum_k w_k sum_j log m_kj`` (VVE)
    or ``sum_k prod_j m_kj^(1/D)`` (EVE). Rotating axes ``p`` and ``q`` by ``phi / 2``
    changes only ``m_kp m_kq = h_k^2 - (a_k cos phi + e_k sin phi)^2`` (``h_k``, ``a_k``
    the half sum and half difference of ``m_kp`` and ``m_kq``, ``e_k`` their
    off-diagonal), a function of one angle that Newton's method minimises. Each sweep
    lowers the objective and costs O(K D^3); unlike the majorisation-minimisation steps
    of Browne & McNicholas (2014), which mclust iterates, its progress does not slow
    down where the scatters' eigenvalues are far apart (data whose features have
    different scales).

    Parameters
    ----------
    scatters : ndarray of shape (n, K, D, D)
        Each entry's weighted scatter matrices ``W_k`` (float64, C-contiguous).
    weights : ndarray of shape (n, K)
        The components' weights (counts); 0 with scatter 0 is an absent component.
    orientation : ndarray of shape (n, D, D)
        The start; not changed.
    equal_volume : bool
        EVE's common volume (else VVE's volume per component).
    max_iter : int
    tol : float
    floor : float, default=0.0

    Returns
    -------
    orientation : ndarray of shape (n, D, D)
    variances : ndarray of shape (n, K, D)
        NaN for an absent component.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.inner_kernels import iterate_common_orientation
    >>> scatters = np.array([[np.diag([4.0, 1.0]), np.diag([1.0, 2.0])]])
    >>> start = np.array([[[0.8, -0.6], [0.6, 0.8]]])
    >>> orientation, variances = iterate_common_orientation(
    ...     scatters, np.ones((1, 2)), start, False, 1000, 1e-8)
    >>> variances.round(6)
    array([[[4., 1.],
            [1., 2.]]])
    """
    n_entries, n_components, n_features = scatters.shape[0], scatters.shape[1], \
        scatters.shape[2]
    orientation = orientation.copy()
    variances = np.empty((n_entries, n_components, n_features))
    following = np.empty((n_components, n_features))
    rotated = np.empty((n_components, n_features, n_features))
    log_diagonals = np.empty((n_components, n_features))
    half_sums, half_differences = np.empty(n_components), np.empty(n_components)
    off_diagonals, coefficients = np.empty(n_components), np.empty(n_components)
    for entry in range(n_entries):
        axes, current = orientation[entry], variances[entry]
        entry_scatters, entry_weights = scatters[entry], weights[entry]
        present = entry_weights > 0.0
        _rotate_scatters(entry_scatters, axes, rotated, log_diagonals, equal_volume)
        _variances_from(rotated, entry_weights, equal_volume, current)
        for _ in range(max_iter):
            if _collapsed(current, floor):
                break
            for p in range(n_features - 1):
                for q in range(p + 1, n_features):
                    for k in range(n_components):
                        first, second = rotated[k, p, p], rotated[k, q, q]
                        half_sums[k] = 0.5 * (first + second)
                        half_differences[k] = 0.5 * (first - second)
                        off_diagonals[k] = rotated[k, p, q]
                        if equal_volume:  # the other axes' factor of prod_j m_kj^(1/D)
                            others = log_diagonals[k].sum() - log_diagonals[k, p] \
                                - log_diagonals[k, q]
                            coefficients[k] = np.exp(others / n_features)
                        else:
                            coefficients[k] = entry_weights[k]
                    angle = _best_pair_angle(half_sums, half_differences, off_diagonals,
                                             coefficients, present, equal_volume, n_features)
                    if angle != 0.0:
                        _rotate_pair(axes, rotated, log_diagonals, equal_volume, p, q,
                                     0.5 * angle)
            # afresh (the pairs' updates round), for these variances and the next sweep
            _rotate_scatters(entry_scatters, axes, rotated, log_diagonals, equal_volume)
            _variances_from(rotated, entry_weights, equal_volume, following)
            change = np.nan
            for k in range(n_components):
                for j in range(n_features):
                    relative = abs(following[k, j] / current[k, j] - 1.0)
                    if relative > change or (np.isnan(change) and not np.isnan(relative)):
                        change = relative
            current[:, :] = following
            if not change > tol:
                break
    return orientation, variances


@_compiled
def _pair_objective(angle: float, half_sums: np.ndarray, half_differences: np.ndarray,
                    off_diagonals: np.ndarray, coefficients: np.ndarray, present: np.ndarray,
                    equal_volume: bool, n_features: int) -> tuple[float, float, float]:
    """The pair's objective at ``angle`` (``phi``) and its first two derivatives.

    With ``u_k = h_k^2 - r_k^2``, ``r_k = a_k cos phi + e_k sin phi``: ``sum_k c_k
    u_k^(1/D)`` (EVE, ``c_k`` the other axes' factor) or ``sum_k w_k log u_k`` (VVE),
    over the present components.
    """
    value, slope, curvature = 0.0, 0.0, 0.0
    cosine, sine = np.cos(angle), np.sin(angle)
    power = 1.0 / n_features
    for k in range(half_sums.shape[0]):
        if not present[k]:
            continue
        r = half_differences[k] * cosine + off_diagonals[k] * sine
        r_slope = off_diagonals[k] * cosine - half_differences[k] * sine
        u = half_sums[k] * half_sums[k] - r * r
        u_slope = -2.0 * r * r_slope
        u_curvature = -2.0 * (r_slope * r_slope - r * r)
        if equal_volume:
            term = coefficients[k] * np.exp(power * np.log(u))
            value += term
            slope += term * power * u_slope / u
            curvature += term * power * ((power - 1.0) * u_slope * u_slope / u
                                         + u_curvature) / u
        else:
            value += coefficients[k] * np.log(u)
            slope += coefficients[k] * u_slope / u
            curvature += coefficients[k] * (u_curvature - u_slope * u_slope / u) / u
    return value, slope, curvature


@_compiled
def _best_pair_angle(half_sums: np.ndarray, half_differences: np.ndarray,
                     off_diagonals: np.ndarray, coefficients: np.ndarray, present: np.ndarray,
                     equal_volume: bool, n_features: int) -> float:
    """The angle ``phi`` that lowers a pair's objective most, by Newton's method from 0.

    A Newton step where the curvature is positive (else a step of 1/4 against the
    slope; at most 1/2 either way) is halved until it lowers the objective, as long as it
    is above :data:`_LOCAL_STEP`; a smaller Newton step is taken as it is, and the
    iteration ends at one below :data:`_SMALLEST_ANGLE`. So the angle ends at the root of
    the slope to full precision, varying smoothly with the scatters: a test of the
    objective's values could place it no closer than the square root of the machine
    epsilon (where rounding decides whether a step lowers it). 0 where the objective is
    not finite at 0 (a singular or broken scatter).
    """
    args = (half_sums, half_differences, off_diagonals, coefficients, present,
            equal_volume, n_features)
    value, slope, curvature = _pair_objective(0.0, *args)
    if not np.isfinite(value):
        return 0.0
    angle = 0.0
    for _ in range(_NEWTON_MAX_ITER):
        step = -slope / curvature if curvature > 0.0 else -np.sign(slope) * 0.25
        step = min(max(step, -0.5), 0.5)
        if curvature > 0.0 and abs(step) < _LOCAL_STEP:
            if abs(step) < _SMALLEST_ANGLE:
                return angle + step
            angle += step
            value, slope, curvature = _pair_objective(angle, *args)
            continue
        while abs(step) >= _SMALLEST_ANGLE:
            following, following_slope, following_curvature = _pair_objective(
                angle + step, *args)
            if following < value:
                break
            step *= 0.5
        if abs(step) < _SMALLEST_ANGLE:
            break
        angle += step
        value, slope, curvature = following, following_slope, following_curvature
    return angle


@_compiled
def _rotate_pair(axes: np.ndarray, rotated: np.ndarray, log_diagonals: np.ndarray,
                 with_logs: bool, p: int, q: int, theta: float) -> None:
    """Rotate axes ``p`` and ``q`` by ``theta``, with ``D^T W_k D`` and (``with_logs``,
    EVE's) its log-diagonal."""
    cosine, sine = np.cos(theta), np.sin(theta)
    for i in range(axes.shape[0]):
        along_p, along_q = axes[i, p], axes[i, q]
        axes[i, p] = cosine * along_p + sine * along_q
        axes[i, q] = cosine * along_q - sine * along_p
    for k in range(rotated.shape[0]):
        matrix = rotated[k]
        for i in range(matrix.shape[0]):
            along_p, along_q = matrix[i, p], matrix[i, q]
            matrix[i, p] = cosine * along_p + sine * along_q
            matrix[i, q] = cosine * along_q - sine * along_p
        for j in range(matrix.shape[1]):
            along_p, along_q = matrix[p, j], matrix[q, j]
            matrix[p, j] = cosine * along_p + sine * along_q
            matrix[q, j] = cosine * along_q - sine * along_p
        if with_logs:
            log_diagonals[k, p] = np.log(matrix[p, p])
            log_diagonals[k, q] = np.log(matrix[q, q])


@_compiled
def _collapsed(variances: np.ndarray, floor: float) -> bool:
    """Whether a variance is at most ``floor`` (NaN, an absent component's, is not)."""
    for k in range(variances.shape[0]):
        for j in range(variances.shape[1]):
            if variances[k, j] <= floor:
                return True
    return False


@_compiled
def _rotate_scatters(scatters: np.ndarray, axes: np.ndarray, rotated: np.ndarray,
                     log_diagonals: np.ndarray, with_logs: bool) -> None:
    """``D^T W_k D`` into ``rotated`` (K, D, D) and (``with_logs``, EVE's) the logs of its
    diagonals (K, D)."""
    for k in range(scatters.shape[0]):
        rotated[k] = axes.T @ scatters[k] @ axes
        if with_logs:
            for j in range(scatters.shape[1]):
                log_diagonals[k, j] = np.log(rotated[k, j, j])


@_compiled
def _variances_from(rotated: np.ndarray, weights: np.ndarray, equal_volume: bool,
                    out: np.ndarray) -> None:
    """The optimal ``v_k`` given the orientation, into ``out`` (K, D).

    From ``m_k = diag(D^T W_k D)`` (the diagonals of ``rotated``): ``m_k / w_k`` (VVE), or
    ``(sum_l g_l / sum_l w_l) m_k / g_k`` with ``g_k`` the geometric mean of ``m_k``
    (EVE).
    """
    n_components, n_features = rotated.shape[0], rotated.shape[1]
    for k in range(n_components):
        for j in range(n_features):
            out[k, j] = rotated[k, j, j]
    if not equal_volume:
        for k in range(n_components):
            for j in range(n_features):
                out[k, j] /= weights[k]
        return
    scales = np.empty(n_components)
    for k in range(n_components):
        log_total = 0.0
        for j in range(n_features):
            log_total += np.log(out[k, j])
        scales[k] = np.exp(log_total / n_features)
    volume = scales.sum() / weights.sum()
    for k in range(n_components):
        for j in range(n_features):
            out[k, j] *= volume / scales[k]


@_compiled
def iterate_common_shape(values: np.ndarray, weights: np.ndarray, shape: np.ndarray,
                         max_iter: int, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Volumes and a common shape of each batch entry, by mclust's alternating updates.

    Per entry, from the start ``shape`` (product 1): ``lambda_k = sum_j v_kj / a_j /
    (D w_k)`` (a null axis adds 0), then ``a`` proportional to ``sum_k v_kj / lambda_k``
    (a null volume adds 0) with product 1, until no ``a_j`` changes by more than ``tol``
    (relative; a NaN change stops the entry); the volumes of the last shape.

    Parameters
    ----------
    values : ndarray of shape (n, K, D)
        Per-component values along the axes (diagonal scatters, or eigenvalues).
    weights : ndarray of shape (n, K)
    shape : ndarray of shape (n, D)
        The start; not changed.
    max_iter : int
    tol : float

    Returns
    -------
    volumes : ndarray of shape (n, K)
    shape : ndarray of shape (n, D)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.inner_kernels import iterate_common_shape
    >>> volumes, shape = iterate_common_shape(np.array([[[4.0, 1.0], [8.0, 2.0]]]),
    ...                                       np.ones((1, 2)), np.ones((1, 2)), 1000, 1e-8)
    >>> volumes.round(6), shape.round(6)
    (array([[2., 4.]]), array([[2. , 0.5]]))
    """
    n_entries, n_components, n_features = values.shape[0], values.shape[1], values.shape[2]
    shape = shape.copy()
    volumes = np.empty((n_entries, n_components))
    following = np.empty(n_features)
    for entry in range(n_entries):
        current = shape[entry]
        for _ in range(max_iter):
            _volumes_along(values[entry], weights[entry], current, volumes[entry])
            following[:] = 0.0
            for k in range(n_components):
                if volumes[entry, k] > 0.0:
                    for j in range(n_features):
                        following[j] += values[entry, k, j] * (1.0 / volumes[entry, k])
            following /= np.exp(np.log(following).mean())
            if not np.max(np.abs(following / current - 1.0)) > tol:  # NaN: stop
                break
            current[:] = following
        _volumes_along(values[entry], weights[entry], current, volumes[entry])
    return volumes, shape


@_compiled
def _volumes_along(values: np.ndarray, weights: np.ndarray, shape: np.ndarray,
                   out: np.ndarray) -> None:
    """``lambda_k = sum_j v_kj / a_j / (D w_k)`` into ``out``, a null axis adding 0."""
    n_components, n_features = values.shape[0], values.shape[1]
    for k in range(n_components):
        total = 0.0
        for j in range(n_features):
            if shape[j] > 0.0:
                total += values[k, j] / shape[j]
        out[k] = total / (n_features * weights[k])


@_compiled
def iterate_common_shape_matrix(scatters: np.ndarray, weights: np.ndarray,
                                shape: np.ndarray, max_iter: int, tol: float
                                ) -> tuple[np.ndarray, np.ndarray]:
    """Volumes and a common shape matrix of each batch entry (VEE, mclust's ``msvee``).

    Per entry, from the start ``shape`` (determinant 1): ``lambda_k = tr(W_k inv(C)) /
    (D w_k)``, then ``C`` proportional to ``sum_k W_k / lambda_k`` (a null volume adds 0)
    with determinant 1 (NaN where it is not positive), until no entry of ``C`` changes by
    more than ``tol`` relative to its diagonal (``|C'_de - C_de| / sqrt(C'_dd C'_ee)``; a
    NaN change stops the entry); the volumes of the last ``C``.

    Parameters
    ----------
    scatters : ndarray of shape (n, K, D, D)
    weights : ndarray of shape (n, K)
    shape : ndarray of shape (n, D, D)
        The start; not changed.
    max_iter : int
    tol : float

    Returns
    -------
    volumes : ndarray of shape (n, K)
        NaN where ``C`` is not finite.
    shape : ndarray of shape (n, D, D)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.inner_kernels import iterate_common_shape_matrix
    >>> scatters = np.array([[[[2.0, 1.0], [1.0, 2.0]], [[4.0, 2.0], [2.0, 4.0]]]])
    >>> volumes, shape = iterate_common_shape_matrix(scatters, np.array([[1.0, 2.0]]),
    ...                                              np.eye(2)[None], 1000, 1e-8)
    >>> volumes.round(6), (volumes[0, 0] * shape[0]).round(6)
    (array([[1.732051, 1.732051]]), array([[2., 1.],
           [1., 2.]]))
    """
    n_entries, n_components, n_features = scatters.shape[0], scatters.shape[1], \
        scatters.shape[2]
    shape = shape.copy()
    volumes = np.empty((n_entries, n_components))
    following = np.empty((n_features, n_features))
    for entry in range(n_entries):
        current = shape[entry]
        for _ in range(max_iter):
            _volumes_of_shape(scatters[entry], weights[entry], current, volumes[entry])
            following[:, :] = 0.0
            for k in range(n_components):
                if volumes[entry, k] > 0.0:
                    following += scatters[entry, k] * (1.0 / volumes[entry, k])
            _to_unit_determinant(following)
            scale = np.sqrt(np.diag(following))
            if not np.max(np.abs(following - current) / np.outer(scale, scale)) > tol:
                break
            current[:, :] = following
        _volumes_of_shape(scatters[entry], weights[entry], current, volumes[entry])
    return volumes, shape


@_compiled
def _volumes_of_shape(scatters: np.ndarray, weights: np.ndarray, shape: np.ndarray,
                      out: np.ndarray) -> None:
    """``tr(W_k inv(C)) / (D w_k)`` into ``out`` (NaN where ``C`` is not finite)."""
    n_components, n_features = scatters.shape[0], scatters.shape[1]
    if not np.isfinite(shape).all():
        out[:] = np.nan
        return
    inverse = np.linalg.inv(shape)
    for k in range(n_components):
        trace = 0.0
        for d in range(n_features):
            for e in range(n_features):
                trace += scatters[k, d, e] * inverse[e, d]
        out[k] = trace / (n_features * weights[k])


@_compiled
def _to_unit_determinant(matrix: np.ndarray) -> None:
    """``matrix / |matrix|^(1/D)`` in place (NaN where the determinant is not positive)."""
    if not np.isfinite(matrix).all():
        matrix[:, :] = np.nan
        return
    sign, log_det = np.linalg.slogdet(matrix)
    if sign > 0.0:
        matrix /= np.exp(log_det / matrix.shape[0])
    else:
        matrix[:, :] = np.nan
