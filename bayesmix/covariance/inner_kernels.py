"""Numba's compilation of the decomposed models' inner iterations, and the common shapes'.

Where mclust's M step has no closed form it iterates: the common shape of VEI and VEV
(:func:`iterate_common_shape`), VEE's common shape matrix
(:func:`iterate_common_shape_matrix`), and EVE's and VVE's common orientation
(:mod:`~bayesmix.covariance.orientation_kernels`: Jacobi sweeps of pairwise rotations,
each angle found by Newton's method). Model selection runs these M steps for every cell
and SQUAREM projects its extrapolations with them. In NumPy each iteration was one to
two dozen calls over the batch entries still changing, whose overhead exceeded the
arithmetic on small data (iris' 14-model grid spent a third of its time in the
orientation's). Compiled (:func:`~bayesmix.covariance.kernel_compiler.compiled`), each
entry iterates on its own in one loop, so an entry that converges early costs nothing
more and a slow one pays no per-call overhead; the eigendecompositions are
:mod:`~bayesmix.covariance.eigen_kernel`'s, the inverses and determinants of a
component's few features loops (:func:`invert_into`, :func:`sign_log_det`). The callers
prepare the shape iterations' starts and bring the arrays to the kernels' layout
(C-contiguous float64, one leading batch axis:
:func:`~bayesmix.covariance.decomposed.stacked_entries`).

The shape iterations stop an entry when no value changes by more than ``tol``
(relative), an iteration whose change is not above ``tol`` not taken. Numba compiles a
kernel on its first call (about 2 s for these, 12 s for the orientation's M step); an
absent component's ``0 / 0`` gives NaN, as in NumPy.
"""

from __future__ import annotations

import numpy as np

from bayesmix.covariance.eigen_kernel import eigh_descending_into
from bayesmix.covariance.kernel_compiler import compiled

__all__ = ["eliminate", "fit_common_shape", "fit_common_shape_orientations", "invert_into",
           "iterate_common_shape", "iterate_common_shape_matrix", "sign_log_det"]


@compiled
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


@compiled
def fit_common_shape(values: np.ndarray, weights: np.ndarray, start: np.ndarray,
                     max_iter: int, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """VEI's and VEV's common shape of each batch entry, from its start.

    The start is the shape (product 1) of the entry's ``start`` (a shape up to scale:
    the last M step's) where that is finite and positive, else of ``sum_k v_k`` (which
    makes the iteration equivariant under scalings of the axes); then
    :func:`iterate_common_shape`.

    Parameters
    ----------
    values : ndarray of shape (n, K, D)
    weights : ndarray of shape (n, K)
    start : ndarray of shape (n, D) or (0, D)
        Empty: none.
    max_iter : int
    tol : float

    Returns
    -------
    volumes : ndarray of shape (n, K)
    shape : ndarray of shape (n, D)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.inner_kernels import fit_common_shape
    >>> volumes, shape = fit_common_shape(np.array([[[4.0, 1.0], [8.0, 2.0]]]),
    ...                                   np.ones((1, 2)), np.empty((0, 2)), 1000, 1e-8)
    >>> volumes.round(6), shape.round(6)
    (array([[2., 4.]]), array([[2. , 0.5]]))
    """
    n_entries, n_components, n_features = values.shape[0], values.shape[1], values.shape[2]
    shapes = np.empty((n_entries, n_features))
    for entry in range(n_entries):
        total = np.zeros(n_features)
        for k in range(n_components):
            total += values[entry, k]
        shapes[entry] = _unit_product(total)
        if start.shape[0] > 0:
            guess = _unit_product(start[entry])
            if ((guess > 0.0) & (guess < np.inf)).all():
                shapes[entry] = guess
    return iterate_common_shape(values, weights, shapes, max_iter, tol)


@compiled
def fit_common_shape_orientations(scatters: np.ndarray, weights: np.ndarray,
                                  start: np.ndarray, max_iter: int, tol: float
                                  ) -> np.ndarray:
    """VEV's M step for each batch entry (mclust's ``msvev``): its covariances.

    The orientations are the eigenvectors of the scatters ``W_k`` (eigenvalues
    decreasing, equal ones in the order of their eigenvectors, as
    :func:`~bayesmix.covariance.eigen.eigh_descending` orders them), the volumes and
    common shape :func:`fit_common_shape` of their eigenvalues, from the shape of the
    sum of the eigenvalues of ``start`` (the last M step's covariances, a non-finite one
    counting as zero); the covariances ``lambda_k D_k diag(a) D_k^T``, zero (singular)
    where not finite. A scatter that is not finite (a broken component's) has NaN
    eigenvalues.

    Parameters
    ----------
    scatters : ndarray of shape (n, K, D, D)
    weights : ndarray of shape (n, K)
    start : ndarray of shape (n, K, D, D) or (0, K, D, D)
        Empty: none (a cold start).
    max_iter : int
    tol : float

    Returns
    -------
    ndarray of shape (n, K, D, D)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.inner_kernels import fit_common_shape_orientations
    >>> scatters = np.array([[np.diag([4.0, 1.0]), np.diag([2.0, 8.0])]])
    >>> fit_common_shape_orientations(scatters, np.ones((1, 2)), np.empty((0, 2, 2, 2)),
    ...                               1000, 1e-8).round(6)
    array([[[[4., 0.],
             [0., 1.]],
    <BLANKLINE>
            [[2., 0.],
             [0., 8.]]]])
    """
    n_entries, n_components, n_features = scatters.shape[0], scatters.shape[1], \
        scatters.shape[2]
    values = np.empty((n_entries, n_components, n_features))
    vectors = np.empty((n_entries, n_components, n_features, n_features))
    work = np.empty((n_features, n_features))
    for entry in range(n_entries):
        for k in range(n_components):
            eigh_descending_into(scatters[entry, k], values[entry, k], vectors[entry, k],
                                 work)
            if not np.isfinite(values[entry, k, 0]):
                vectors[entry, k] = np.eye(n_features)
    guesses = np.zeros((n_entries if start.shape[0] > 0 else 0, n_features))
    start_values, start_vectors = np.empty(n_features), np.empty((n_features, n_features))
    for entry in range(guesses.shape[0]):
        for k in range(n_components):
            if np.isfinite(start[entry, k]).all():
                eigh_descending_into(start[entry, k], start_values, start_vectors, work)
                guesses[entry] += start_values
    volumes, shape = fit_common_shape(values, weights, guesses, max_iter, tol)
    covariances = np.zeros((n_entries, n_components, n_features, n_features))
    for entry in range(n_entries):
        for k in range(n_components):
            axes = vectors[entry, k]
            for i in range(n_features):
                for j in range(n_features):
                    total = 0.0
                    for m in range(n_features):
                        total += axes[i, m] * (volumes[entry, k] * shape[entry, m]) * axes[j, m]
                    covariances[entry, k, i, j] = total
            if not np.isfinite(covariances[entry, k]).all():
                covariances[entry, k] = 0.0
    return covariances


@compiled
def _unit_product(values: np.ndarray) -> np.ndarray:
    """``values`` divided by their geometric mean (product 1)."""
    return values / np.exp(np.log(values).mean())


@compiled
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


@compiled
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


@compiled
def _volumes_of_shape(scatters: np.ndarray, weights: np.ndarray, shape: np.ndarray,
                      out: np.ndarray) -> None:
    """``tr(W_k inv(C)) / (D w_k)`` into ``out`` (NaN where ``C`` is not finite or is
    singular to rounding: a shape of condition 1e20, from an outlier 1e10 standard
    deviations out, where LAPACK's inverse raised)."""
    n_components, n_features = scatters.shape[0], scatters.shape[1]
    inverse = np.empty((n_features, n_features))
    if not invert_into(shape, inverse, np.empty((n_features, n_features))):
        out[:] = np.nan
        return
    for k in range(n_components):
        trace = 0.0
        for d in range(n_features):
            for e in range(n_features):
                trace += scatters[k, d, e] * inverse[e, d]
        out[k] = trace / (n_features * weights[k])


@compiled
def _to_unit_determinant(matrix: np.ndarray) -> None:
    """``matrix / |matrix|^(1/D)`` in place (NaN where the determinant is not positive)."""
    if not np.isfinite(matrix).all():
        matrix[:, :] = np.nan
        return
    sign, log_det = sign_log_det(matrix, np.empty_like(matrix))
    if sign > 0.0:
        matrix /= np.exp(log_det / matrix.shape[0])
    else:
        matrix[:, :] = np.nan


@compiled
def _pivot_row(matrix: np.ndarray, column: int) -> int:
    """Partial pivoting's row: the one at or below ``column`` whose entry in ``column``
    is the largest in magnitude (the first of equal ones)."""
    pivot = column
    for row in range(column + 1, matrix.shape[0]):
        if abs(matrix[row, column]) > abs(matrix[pivot, column]):
            pivot = row
    return pivot


@compiled
def invert_into(matrix: np.ndarray, inverse: np.ndarray, work: np.ndarray) -> bool:
    """The inverse of a square ``matrix`` into ``inverse``, by Gauss-Jordan elimination
    with partial pivoting in ``work`` (its shape); whether it is one: ``False`` where
    ``matrix`` is not finite, singular (a zero pivot) or its inverse overflows.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.inner_kernels import invert_into
    >>> inverse, work = np.empty((2, 2)), np.empty((2, 2))
    >>> invert_into(np.array([[0.0, 2.0], [4.0, 1.0]]), inverse, work), inverse
    (True, array([[-0.125,  0.25 ],
           [ 0.5  ,  0.   ]]))
    >>> invert_into(np.array([[1.0, 2.0], [2.0, 4.0]]), inverse, work)
    False
    """
    n_rows = matrix.shape[0]
    if not np.isfinite(matrix).all():
        return False
    work[:, :] = matrix
    for i in range(n_rows):
        for j in range(n_rows):
            inverse[i, j] = 1.0 if i == j else 0.0
    for column in range(n_rows):
        pivot = _pivot_row(work, column)
        if work[pivot, column] == 0.0:
            return False
        for j in range(n_rows):
            work[column, j], work[pivot, j] = work[pivot, j], work[column, j]
            inverse[column, j], inverse[pivot, j] = inverse[pivot, j], inverse[column, j]
        scale = 1.0 / work[column, column]
        for j in range(n_rows):
            work[column, j] *= scale
            inverse[column, j] *= scale
        for row in range(n_rows):
            factor = work[row, column]
            if row == column or factor == 0.0:
                continue
            for j in range(n_rows):
                work[row, j] -= factor * work[column, j]
                inverse[row, j] -= factor * inverse[column, j]
    return bool(np.isfinite(inverse).all())


@compiled
def eliminate(matrix: np.ndarray) -> float:
    """Gaussian elimination with partial pivoting of a square ``matrix``, in place.

    Its upper triangle becomes ``U`` of ``P M = L U`` (below it, what is left is of no
    use). Returns the sign of the permutation ``P``, or 0 for a singular matrix (a zero
    pivot, where the elimination stops).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.inner_kernels import eliminate
    >>> matrix = np.array([[0.0, 2.0], [3.0, 1.0]])
    >>> eliminate(matrix), np.diag(matrix)
    (-1.0, array([3., 2.]))
    """
    n_rows = matrix.shape[0]
    sign = 1.0
    for column in range(n_rows):
        pivot = _pivot_row(matrix, column)
        if matrix[pivot, column] == 0.0:
            return 0.0
        if pivot != column:
            sign = -sign
            for j in range(n_rows):
                matrix[column, j], matrix[pivot, j] = matrix[pivot, j], matrix[column, j]
        for row in range(column + 1, n_rows):
            factor = matrix[row, column] / matrix[column, column]
            for j in range(column + 1, n_rows):
                matrix[row, j] -= factor * matrix[column, j]
    return sign


@compiled
def sign_log_det(matrix: np.ndarray, work: np.ndarray) -> tuple[float, float]:
    """The sign and the log of the absolute determinant, as NumPy's ``slogdet``, by
    :func:`eliminate` in ``work`` (D, D): ``(0, -inf)`` for a singular matrix. For the
    few features of a component's covariance a loop costs a fraction of LAPACK's call
    from Numba, which copies the matrix and allocates.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.inner_kernels import sign_log_det
    >>> matrix = np.array([[0.0, 2.0], [3.0, 1.0]])
    >>> sign, log_det = sign_log_det(matrix, np.empty((2, 2)))
    >>> sign, round(float(np.exp(log_det)), 12)
    (-1.0, 6.0)
    """
    work[:, :] = matrix
    sign = eliminate(work)
    if sign == 0.0:
        return 0.0, -np.inf
    log_det = 0.0
    for column in range(work.shape[0]):
        if work[column, column] < 0.0:
            sign = -sign
        log_det += np.log(abs(work[column, column]))
    return sign, log_det
