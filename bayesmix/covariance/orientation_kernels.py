"""EVE's and VVE's M step, compiled with Numba: their common orientation.

Given the orientation ``D`` the variances are closed form; what is left to minimise
over ``D`` is a profile objective (:func:`iterate_common_orientation`), which Jacobi
sweeps of pairwise rotations lower, each angle found by Newton's method, where mclust
iterates Browne & McNicholas's (2014) majorisation-minimisation steps. The sweeps each
lower the objective and are all taken, an entry stopping after one whose change is not
above ``tol``. The whole M step is one compiled call (:func:`fit_common_orientation`:
the start's axes, the sweeps and the covariances): on small data its NumPy calls around
the sweeps had taken twice the sweeps' time (Old Faithful's and diabetes' 14-model grids
take about 10 % less time in one call). Compiled as
:func:`~bayesmix.covariance.kernel_compiler.compiled` says (about 12 s once per
installation).
"""

from __future__ import annotations

import numpy as np

from bayesmix.covariance.eigen_kernel import eigh_descending_into
from bayesmix.covariance.inner_kernels import sign_log_det
from bayesmix.covariance.kernel_compiler import compiled

__all__ = ["common_axes", "fit_common_orientation", "iterate_common_orientation"]

#: The most Newton steps that minimise one pair's objective; the largest Newton step
#: taken without testing that it lowers the objective (within it the slope is close to
#: linear); the step below which the angle has converged.
_NEWTON_MAX_ITER = 30
_LOCAL_STEP = 1e-3
_SMALLEST_ANGLE = 1e-12

@compiled
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
    >>> from bayesmix.covariance.orientation_kernels import iterate_common_orientation
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
        unit = _power_of_two_scale(scatters[entry], weights[entry])
        entry_scatters, entry_weights = scatters[entry] / unit, weights[entry]
        present = entry_weights > 0.0
        _rotate_scatters(entry_scatters, axes, rotated, log_diagonals, equal_volume)
        _variances_from(rotated, entry_weights, equal_volume, current)
        for _ in range(max_iter):
            if _collapsed(current, floor / unit):
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
        current *= unit
    return orientation, variances


@compiled
def _power_of_two_scale(scatters: np.ndarray, weights: np.ndarray) -> float:
    """The power of two nearest the entry's mean variance ``sum_k tr(W_k) / (D sum_k
    w_k)`` (1 where that is not finite and positive).

    The sweeps multiply pairs of variances (``m_kp m_kq``), which leave float64's range
    for variances beyond about 1e+-154 (data scaled by 1e-100 made EVE's covariances
    singular); divided by this, they are near 1, and a power of two scales every
    product and quotient exactly, so the orientation is that of the scatters as given.
    """
    trace, total = 0.0, 0.0
    for k in range(scatters.shape[0]):
        total += weights[k]
        for j in range(scatters.shape[1]):
            trace += scatters[k, j, j]
    mean_variance = trace / (scatters.shape[1] * total)
    if not (np.isfinite(mean_variance) and mean_variance > 0.0):
        return 1.0
    return 2.0 ** np.round(np.log2(mean_variance))


@compiled
def fit_common_orientation(scatters: np.ndarray, weights: np.ndarray, start: np.ndarray,
                           equal_volume: bool, max_iter: int, tol: float, floor: float = 0.0
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EVE's or VVE's M step for each batch entry: orientation, variances, covariances.

    Per entry, the start orientation (:func:`_start_axes`: the common axes of the
    entry's ``start`` covariances where they are all finite, else the axes of its
    pooled scatter), then :func:`iterate_common_orientation` from it, and the
    covariances ``D diag(v_k) D^T`` (zero for a component with a non-finite variance,
    a singular covariance that the precision factors reject). The whole M step in one
    compiled call: on small data its NumPy calls around the sweeps cost twice the sweeps.

    Parameters
    ----------
    scatters : ndarray of shape (n, K, D, D)
    weights : ndarray of shape (n, K)
    start : ndarray of shape (n, K, D, D) or (0, K, D, D)
        The covariances the last M step gave (empty: none, a cold start).
    equal_volume : bool
    max_iter : int
    tol : float
    floor : float, default=0.0

    Returns
    -------
    orientation : ndarray of shape (n, D, D)
    variances : ndarray of shape (n, K, D)
    covariances : ndarray of shape (n, K, D, D)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.orientation_kernels import fit_common_orientation
    >>> scatters = np.array([[np.diag([4.0, 1.0]), np.diag([1.0, 2.0])]])
    >>> no_start = np.empty((0, 2, 2, 2))
    >>> covariances = fit_common_orientation(scatters, np.ones((1, 2)), no_start, False,
    ...                                      100, 1e-8)[2]
    >>> covariances.round(6)
    array([[[[4., 0.],
             [0., 1.]],
    <BLANKLINE>
            [[1., 0.],
             [0., 2.]]]])
    """
    n_entries, n_components, n_features = scatters.shape[0], scatters.shape[1], \
        scatters.shape[2]
    axes = np.empty((n_entries, n_features, n_features))
    for entry in range(n_entries):
        warm = start.shape[0] > 0 and np.isfinite(start[entry]).all()
        axes[entry] = _start_axes(scatters[entry], weights[entry],
                                  start[entry] if warm else None)
    orientation, variances = iterate_common_orientation(scatters, weights, axes, equal_volume,
                                                        max_iter, tol, floor)
    covariances = np.zeros((n_entries, n_components, n_features, n_features))
    for entry in range(n_entries):
        for k in range(n_components):
            along = variances[entry, k]
            if not np.isfinite(along).all():
                continue  # left zero: singular
            columns = orientation[entry]
            for i in range(n_features):
                for j in range(n_features):
                    total = 0.0
                    for m in range(n_features):
                        total += columns[i, m] * along[m] * columns[j, m]
                    covariances[entry, k, i, j] = total
    return orientation, variances, covariances


@compiled
def common_axes(covariances: np.ndarray) -> np.ndarray:
    """The common axes of each batch entry's covariances (n, K, D, D): (n, D, D).

    The eigenvectors of ``sum_k (k + 1) Sigma_k / |Sigma_k|^(1/D)``, largest first: a
    combination whose eigenvalues are distinct unless the shapes are degenerate (a
    singular ``Sigma_k`` counts with weight 0 instead of infinity). Covariances that
    share their axes (EVE's, VVE's) give those axes.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.orientation_kernels import common_axes
    >>> rotation = np.array([[0.6, -0.8], [0.8, 0.6]])
    >>> covariances = rotation @ np.array([np.diag([4.0, 1.0]), np.diag([1.0, 2.0])]) @ rotation.T
    >>> np.abs(common_axes(covariances[np.newaxis])[0]).round(6)
    array([[0.6, 0.8],
           [0.8, 0.6]])
    """
    axes = np.empty((covariances.shape[0], covariances.shape[2], covariances.shape[3]))
    for entry in range(covariances.shape[0]):
        axes[entry] = _axes_of(_shape_combination(covariances[entry]))
    return axes


@compiled
def _start_axes(scatters: np.ndarray, weights: np.ndarray, start: np.ndarray | None
                ) -> np.ndarray:
    """The orientation an M step starts from (D, D), largest axis first.

    The common axes of the covariances ``start`` (:func:`common_axes`), where given;
    else those of the pooled scatter ``sum_k W_k / w_k`` over the present components (not
    mclust's identity, which would depend on the coordinates).
    """
    if start is not None:
        return _axes_of(_shape_combination(start))
    combination = np.zeros(scatters.shape[1:])
    for k in range(scatters.shape[0]):
        if weights[k] > 0.0:
            combination += scatters[k] / weights[k]
    return _axes_of(combination)


@compiled
def _shape_combination(covariances: np.ndarray) -> np.ndarray:
    """``sum_k (k + 1) Sigma_k / |Sigma_k|^(1/D)`` (a singular ``Sigma_k`` left out)."""
    n_features = covariances.shape[1]
    combination = np.zeros(covariances.shape[1:])
    work = np.empty(covariances.shape[1:])
    for k in range(covariances.shape[0]):
        sign, log_det = sign_log_det(covariances[k], work)
        if sign > 0.0:
            combination += (k + 1) * np.exp(-log_det / n_features) * covariances[k]
    return combination


@compiled
def _axes_of(matrix: np.ndarray) -> np.ndarray:
    """The eigenvectors of a symmetric matrix as columns, largest eigenvalue first; the
    identity where it is not finite (a broken scatter, whose component the sweeps then
    leave NaN)."""
    n_features = matrix.shape[0]
    if not np.isfinite(matrix).all():
        return np.eye(n_features)
    values, axes = np.empty(n_features), np.empty((n_features, n_features))
    eigh_descending_into(matrix, values, axes, np.empty((n_features, n_features)))
    return axes


@compiled
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


@compiled
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


@compiled
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


@compiled
def _collapsed(variances: np.ndarray, floor: float) -> bool:
    """Whether a variance is at most ``floor`` (NaN, an absent component's, is not)."""
    for k in range(variances.shape[0]):
        for j in range(variances.shape[1]):
            if variances[k, j] <= floor:
                return True
    return False


@compiled
def _rotate_scatters(scatters: np.ndarray, axes: np.ndarray, rotated: np.ndarray,
                     log_diagonals: np.ndarray, with_logs: bool) -> None:
    """``D^T W_k D`` into ``rotated`` (K, D, D) and (``with_logs``, EVE's) the logs of its
    diagonals (K, D); in loops, as ``(D^T W_k) D``: matrix products of a few features
    called from Numba each allocate their result and go through BLAS."""
    n_features = scatters.shape[1]
    half = np.empty((n_features, n_features))
    for k in range(scatters.shape[0]):
        scatter = scatters[k]
        for i in range(n_features):
            for j in range(n_features):
                total = 0.0
                for m in range(n_features):
                    total += axes[m, i] * scatter[m, j]
                half[i, j] = total
        for i in range(n_features):
            for j in range(n_features):
                total = 0.0
                for m in range(n_features):
                    total += half[i, m] * axes[m, j]
                rotated[k, i, j] = total
        if with_logs:
            for j in range(scatters.shape[1]):
                log_diagonals[k, j] = np.log(rotated[k, j, j])


@compiled
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
