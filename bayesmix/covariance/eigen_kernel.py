"""Eigendecompositions of small symmetric matrices, compiled: cyclic Jacobi rotations.

The decomposed models decompose a scatter matrix per component at every M step (EEV's
orientations through :func:`~bayesmix.covariance.eigen.eigh_descending`, VEV's in
:func:`~bayesmix.covariance.inner_kernels.fit_common_shape_orientations`, EVE's and
VVE's starting axes in :mod:`~bayesmix.covariance.orientation_kernels`), stacks of a few
dozen matrices thousands of times in one model-selection grid. LAPACK's ``dsyevd``,
which :func:`numpy.linalg.eigh` and Numba's ``np.linalg.eigh`` call, takes about 1
microsecond for a 3 x 3 matrix, most of it set-up (workspace, copies); the rotations
of Jacobi's method (Golub & Van Loan, "Matrix Computations", section 8.5) diagonalise
it in 0.4, to the same accuracy (the eigenvalues even to a high relative accuracy,
Demmel & Veselic 1992). Their cost grows faster with the size: beyond
:data:`JACOBI_MAX_FEATURES` features LAPACK is faster, and these kernels call it.

Every matrix gets its eigenvalues largest first, equal ones in the order of their
eigenvectors (stably sorted: a diagonal matrix keeps the identity's axes, as mclust's
SVD gives them), and a matrix that is not finite NaN values and vectors, as LAPACK's.
Compiled as :func:`~bayesmix.covariance.kernel_compiler.compiled` says (a few seconds
once per installation).
"""

from __future__ import annotations

import numpy as np

from bayesmix.covariance.kernel_compiler import compiled

__all__ = ["JACOBI_MAX_FEATURES", "eigh_descending_into", "stacked_eigh_descending"]

#: The most features whose matrices Jacobi's rotations decompose (LAPACK's ``dsyevd``
#: beyond). Microseconds per matrix, Jacobi against Numba's LAPACK call: 0.08 / 0.48
#: (2 x 2), 0.41 / 1.17 (3 x 3), 0.97 / 1.80, 1.88 / 2.53 (5 x 5), 3.13 / 3.36 (6 x 6),
#: 12.9 / 7.6 (10 x 10).
JACOBI_MAX_FEATURES = 5

#: The machine epsilon of float64: an off-diagonal entry below it relative to its
#: diagonal entries is not rotated away.
EPSILON = float(np.finfo(np.float64).eps)

#: Sweeps of rotations after which Jacobi's method stops, converged or not: it converges
#: quadratically, in 3 to 6 sweeps for these sizes.
MAX_SWEEPS = 50


@compiled
def _rotate(work: np.ndarray, vectors: np.ndarray, p: int, q: int) -> None:
    """Annihilate ``work[p, q]`` by the rotation of rows and columns ``p`` and ``q``
    (Rutishauser's formulas: the smaller angle, no overflow for a tiny ``work[p, q]``);
    ``vectors`` accumulates it."""
    n_features = work.shape[0]
    off_diagonal = work[p, q]
    theta = (work[q, q] - work[p, p]) / (2.0 * off_diagonal)
    if abs(theta) > 1e150:  # theta**2 would overflow: t = 1 / (2 theta)
        tangent = 0.5 / theta
    else:
        tangent = 1.0 / (abs(theta) + np.sqrt(theta * theta + 1.0))
        if theta < 0.0:
            tangent = -tangent
    cosine = 1.0 / np.sqrt(tangent * tangent + 1.0)
    sine = tangent * cosine
    for k in range(n_features):
        at_p, at_q = work[k, p], work[k, q]
        work[k, p] = cosine * at_p - sine * at_q
        work[k, q] = sine * at_p + cosine * at_q
    for k in range(n_features):
        at_p, at_q = work[p, k], work[q, k]
        work[p, k] = cosine * at_p - sine * at_q
        work[q, k] = sine * at_p + cosine * at_q
    work[p, q] = work[q, p] = 0.0
    for k in range(n_features):
        at_p, at_q = vectors[k, p], vectors[k, q]
        vectors[k, p] = cosine * at_p - sine * at_q
        vectors[k, q] = sine * at_p + cosine * at_q


@compiled
def _jacobi(matrix: np.ndarray, values: np.ndarray, vectors: np.ndarray,
            work: np.ndarray) -> None:
    """Eigenvalues (in ``values``, unordered) and eigenvectors (columns of ``vectors``)
    of a finite symmetric ``matrix`` (its lower triangle read), by cyclic sweeps until
    every off-diagonal entry is negligible: ``|a_pq| <= eps sqrt(|a_pp|) sqrt(|a_qq|)``
    (Demmel & Veselic's test, which keeps small eigenvalues accurate; square roots
    taken apart, so that tiny entries do not underflow)."""
    n_features = matrix.shape[0]
    for i in range(n_features):
        for j in range(n_features):
            work[i, j] = matrix[max(i, j), min(i, j)]
            vectors[i, j] = 1.0 if i == j else 0.0
    for _ in range(MAX_SWEEPS):
        rotated = False
        for p in range(n_features - 1):
            for q in range(p + 1, n_features):
                if abs(work[p, q]) > EPSILON * np.sqrt(abs(work[p, p])) * np.sqrt(
                        abs(work[q, q])):
                    _rotate(work, vectors, p, q)
                    rotated = True
        if not rotated:
            break
    for i in range(n_features):
        values[i] = work[i, i]


@compiled
def eigh_descending_into(matrix: np.ndarray, values: np.ndarray, vectors: np.ndarray,
                         work: np.ndarray) -> None:
    """The eigenvalues of a symmetric ``matrix`` into ``values``, largest first, and its
    eigenvectors into the columns of ``vectors``; equal eigenvalues keep the order of
    their eigenvectors. NaN in both where ``matrix`` is not finite. ``work`` is scratch
    of ``matrix``'s shape.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.eigen_kernel import eigh_descending_into
    >>> values, vectors, work = np.empty(2), np.empty((2, 2)), np.empty((2, 2))
    >>> eigh_descending_into(np.diag([1.0, 3.0]), values, vectors, work)
    >>> values, np.abs(vectors)
    (array([3., 1.]), array([[0., 1.],
           [1., 0.]]))
    """
    n_features = matrix.shape[0]
    if not np.isfinite(matrix).all():
        values[:] = np.nan
        vectors[:] = np.nan
        return
    if n_features > JACOBI_MAX_FEATURES:
        ascending, axes = np.linalg.eigh(matrix)
        for i in range(n_features):
            values[i] = ascending[i]
            vectors[:, i] = axes[:, i]
    else:
        _jacobi(matrix, values, vectors, work)
    for i in range(1, n_features):  # insertion sort, largest first: stable for ties
        j = i
        while j > 0 and values[j - 1] < values[j]:
            values[j - 1], values[j] = values[j], values[j - 1]
            for k in range(n_features):
                vectors[k, j - 1], vectors[k, j] = vectors[k, j], vectors[k, j - 1]
            j -= 1


@compiled
def stacked_eigh_descending(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`eigh_descending_into` of each of a stack of matrices (n, D, D).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.eigen_kernel import stacked_eigh_descending
    >>> values, vectors = stacked_eigh_descending(np.array([[[2.0, 1.0], [1.0, 2.0]]]))
    >>> values.round(12), np.abs(vectors).round(6)
    (array([[3., 1.]]), array([[[0.707107, 0.707107],
            [0.707107, 0.707107]]]))
    """
    n_matrices, n_features = matrices.shape[0], matrices.shape[1]
    values = np.empty((n_matrices, n_features))
    vectors = np.empty((n_matrices, n_features, n_features))
    work = np.empty((n_features, n_features))
    for index in range(n_matrices):
        eigh_descending_into(matrices[index], values[index], vectors[index], work)
    return values, vectors
