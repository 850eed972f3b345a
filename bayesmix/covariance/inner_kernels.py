"""The inner iterations of the decomposed models' M steps, compiled with Numba.

Where mclust's M step has no closed form it iterates: the common shape of VEI and VEV
(:func:`iterate_common_shape`), VEE's common shape matrix
(:func:`iterate_common_shape_matrix`), and EVE's and VVE's common orientation
(:func:`iterate_common_orientation`, Browne & McNicholas's majorisation-minimisation
steps: two small SVDs and ``3 K`` products of D x D matrices per iteration). Model
selection runs these M steps for every cell and SQUAREM projects its extrapolations
with them, up to :data:`~bayesmix.covariance.decomposed.INNER_MAX_ITER` iterations each.
In NumPy each iteration was one to two dozen calls over the batch entries still
changing, whose overhead exceeded the arithmetic on small data (iris' 14-model grid
spent a third of its time in the orientation's). Compiled, each entry iterates on its
own in one loop, so an entry that converges early costs nothing more and a slow one
pays no per-call overhead; the SVDs, inverses and determinants are the LAPACK routines
NumPy calls. The callers prepare the starts and bring the arrays to the kernels' layout
(C-contiguous float64, one leading batch axis:
:func:`~bayesmix.covariance.decomposed.stacked_entries`).

Each entry stops when no value changes by more than ``tol`` (relative); an iteration
whose change is not above ``tol`` is not taken. Numba compiles a kernel on its first
call (about 7 s for the orientation's, 2 s for the others) and keeps the machine code
in the package's ``__pycache__`` (``cache=True``; elsewhere, where that is not
writable), so a later process only loads it (about 0.4 s with Numba's start-up). What
else these M steps do stays in NumPy: compiling it too (the starts' eigenvectors, the
shift by each scatter's largest eigenvalue) doubled the orientation kernel's compile
time for a gain within the noise of a 14-model grid.
``error_model="numpy"``: a division by zero gives ``inf`` or NaN as in NumPy (an absent
component's ``0 / 0``) instead of raising.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

__all__ = ["iterate_common_orientation", "iterate_common_shape", "iterate_common_shape_matrix"]


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
def iterate_common_orientation(scatters: np.ndarray, shifted: np.ndarray,
                               weights: np.ndarray, orientation: np.ndarray,
                               equal_volume: bool, max_iter: int, tol: float,
                               floor: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The common orientation and variances of each batch entry, from a start.

    Per entry: the variances along the start ``orientation`` (in closed form), then up to
    ``max_iter`` iterations of the two MM steps (the rotation nearest ``sum_k
    shifted_k D B_k``, then the rotation nearest ``sum_k W_k D (beta_k I - B_k)``, with
    ``B_k = diag(1 / v_k)``, 0 where ``v_k`` is not positive) and the variances along the
    new orientation. An iteration whose largest relative change of a variance is not above
    ``tol`` (NaN changes ignored; all NaN: a degenerate entry) is not taken, and the
    entry stops; so does an entry with a variance at most ``floor`` (collapsed), before
    its next iteration.

    Parameters
    ----------
    scatters : ndarray of shape (n, K, D, D)
        Each entry's weighted scatter matrices ``W_k`` (float64, C-contiguous).
    shifted : ndarray of shape (n, K, D, D)
        ``omega_k I - W_k``, ``omega_k`` the largest eigenvalue of ``W_k``.
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
    >>> shifted = np.array([[np.diag([0.0, 3.0]), np.diag([1.0, 0.0])]])
    >>> start = np.array([[[0.8, -0.6], [0.6, 0.8]]])
    >>> orientation, variances = iterate_common_orientation(
    ...     scatters, shifted, np.ones((1, 2)), start, False, 1000, 1e-8)
    >>> variances.round(6)
    array([[[4., 1.],
            [1., 2.]]])
    """
    n_entries, n_components, n_features = scatters.shape[0], scatters.shape[1], \
        scatters.shape[2]
    orientation = orientation.copy()
    variances = np.empty((n_entries, n_components, n_features))
    inverse = np.empty((n_components, n_features))
    excess = np.empty((n_components, n_features))
    following = np.empty((n_components, n_features))
    target = np.empty((n_features, n_features))
    for entry in range(n_entries):
        axes, current = orientation[entry], variances[entry]
        _variances_along(scatters[entry], weights[entry], axes, equal_volume, current)
        for _ in range(max_iter):
            if _collapsed(current, floor):
                break
            for k in range(n_components):
                top = 0.0
                for j in range(n_features):
                    inverse[k, j] = 1.0 / current[k, j] if current[k, j] > 0.0 else 0.0
                    top = max(top, inverse[k, j])
                for j in range(n_features):
                    excess[k, j] = top - inverse[k, j]
            _weighted_products(shifted[entry], axes, inverse, target)
            rotation = _nearest_rotation(target)
            _weighted_products(scatters[entry], rotation, excess, target)
            rotation = _nearest_rotation(target)
            _variances_along(scatters[entry], weights[entry], rotation, equal_volume,
                             following)
            change = np.nan
            for k in range(n_components):
                for j in range(n_features):
                    relative = abs(following[k, j] / current[k, j] - 1.0)
                    if relative > change or (np.isnan(change) and not np.isnan(relative)):
                        change = relative
            if not change > tol:
                break
            axes[:, :] = rotation
            current[:, :] = following
    return orientation, variances


@_compiled
def _collapsed(variances: np.ndarray, floor: float) -> bool:
    """Whether a variance is at most ``floor`` (NaN, an absent component's, is not)."""
    for k in range(variances.shape[0]):
        for j in range(variances.shape[1]):
            if variances[k, j] <= floor:
                return True
    return False


@_compiled
def _weighted_products(matrices: np.ndarray, axes: np.ndarray, column_weights: np.ndarray,
                       out: np.ndarray) -> None:
    """``out = sum_k M_k @ axes @ diag(b_k)`` for (K, D, D) ``matrices``, (K, D) ``b``."""
    n_components, n_features = matrices.shape[0], matrices.shape[1]
    out[:, :] = 0.0
    for k in range(n_components):
        for i in range(n_features):
            for j in range(n_features):
                total = 0.0
                for m in range(n_features):
                    total += matrices[k, i, m] * axes[m, j]
                out[i, j] += total * column_weights[k, j]


@_compiled
def _nearest_rotation(matrix: np.ndarray) -> np.ndarray:
    """``U V^T`` of ``U S V^T``; the identity for a matrix with a non-finite entry."""
    if not np.isfinite(matrix).all():
        return np.eye(matrix.shape[0])
    left, _, right = np.linalg.svd(matrix)
    return left @ right


@_compiled
def _variances_along(scatters: np.ndarray, weights: np.ndarray, axes: np.ndarray,
                     equal_volume: bool, out: np.ndarray) -> None:
    """The optimal ``v_k`` given the orientation ``axes``, into ``out`` (K, D).

    From ``m_k = diag(D^T W_k D)``: ``m_k / w_k`` (VVE), or ``(sum_l g_l / sum_l w_l)
    m_k / g_k`` with ``g_k`` the geometric mean of ``m_k`` (EVE).
    """
    n_components, n_features = scatters.shape[0], scatters.shape[1]
    for k in range(n_components):
        for j in range(n_features):
            total = 0.0
            for i in range(n_features):
                along = 0.0
                for m in range(n_features):
                    along += scatters[k, i, m] * axes[m, j]
                total += axes[i, j] * along
            out[k, j] = total
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
