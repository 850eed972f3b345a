"""The compiled eigendecompositions (Jacobi's rotations, LAPACK's beyond) against NumPy's."""

import numpy as np
import pytest

from bayesmix.covariance.eigen import eigh_descending
from bayesmix.covariance.eigen_kernel import JACOBI_MAX_FEATURES, stacked_eigh_descending


def _symmetric(seed, n_matrices, n_features, scale=1.0):
    draws = np.random.default_rng(seed).normal(size=(n_matrices, n_features, n_features))
    return scale * (draws @ np.swapaxes(draws, -1, -2) + np.swapaxes(draws, -1, -2) @ draws)


@pytest.mark.parametrize("n_features", [1, 2, 3, JACOBI_MAX_FEATURES,
                                        JACOBI_MAX_FEATURES + 1, 9])
def test_the_decomposition_is_numpys_to_rounding(n_features):
    """The eigenvalues are NumPy's, largest first, the vectors orthonormal and the same
    axes (up to sign), on both sides of the Jacobi/LAPACK switch."""
    matrices = _symmetric(n_features, 40, n_features)
    values, vectors = stacked_eigh_descending(matrices)
    ascending, axes = np.linalg.eigh(matrices)
    np.testing.assert_allclose(values, ascending[:, ::-1], rtol=1e-12,
                               atol=1e-13 * np.abs(ascending).max())
    np.testing.assert_allclose(np.abs(vectors), np.abs(axes[:, :, ::-1]), atol=1e-10)
    np.testing.assert_allclose(np.swapaxes(vectors, -1, -2) @ vectors,
                               np.broadcast_to(np.eye(n_features), matrices.shape), atol=1e-14)
    np.testing.assert_allclose((vectors * values[:, np.newaxis, :]) @ np.swapaxes(vectors, -1, -2),
                               matrices, atol=1e-13 * np.abs(matrices).max())


def test_equal_eigenvalues_keep_the_order_of_their_axes():
    """A diagonal matrix is not rotated: ties stay in the order of the identity's axes
    (mclust's), the zero matrix of an absent component included."""
    values, vectors = stacked_eigh_descending(np.array([np.diag([1.0, 3.0, 1.0, 3.0]),
                                                        np.zeros((4, 4)), 2.0 * np.eye(4)]))
    np.testing.assert_array_equal(values, [[3.0, 3.0, 1.0, 1.0], [0.0] * 4, [2.0] * 4])
    np.testing.assert_array_equal(vectors[0], np.eye(4)[:, [1, 3, 0, 2]])
    np.testing.assert_array_equal(vectors[1:], np.broadcast_to(np.eye(4), (2, 4, 4)))


@pytest.mark.parametrize("n_features", [3, JACOBI_MAX_FEATURES + 2])
def test_a_matrix_that_is_not_finite_has_nan_alone(n_features):
    """NaN values and vectors for it (as LAPACK's), the others decomposed as alone; only
    the lower triangle is read."""
    matrices = _symmetric(0, 3, n_features)
    matrices[1, 1, 0] = np.nan
    values, vectors = stacked_eigh_descending(matrices)
    assert np.isnan(values[1]).all() and np.isnan(vectors[1]).all()
    alone = stacked_eigh_descending(matrices[[0, 2]])
    np.testing.assert_array_equal(values[[0, 2]], alone[0])
    np.testing.assert_array_equal(vectors[[0, 2]], alone[1])
    upper_garbage = matrices[[0]].copy()
    upper_garbage[0, 0, 2] = 1e6
    np.testing.assert_array_equal(stacked_eigh_descending(upper_garbage)[0], alone[0][:1])


def test_extreme_scales_are_decomposed():
    """Entries spanning 400 orders of magnitude (a collapsing component beside a wide
    one): a rotation whose angle's cotangent would overflow when squared, and tiny
    matrices, keep their relative accuracy."""
    values, vectors = stacked_eigh_descending(np.array([
        [[1e300, 1e140], [1e140, 1.0]],
        [[1e-200, 0.5e-200], [0.5e-200, 1e-200]],
    ]))
    np.testing.assert_allclose(values, [[1e300, 1.0], [1.5e-200, 0.5e-200]], rtol=1e-14)
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.abs(vectors[1]), np.sqrt(0.5), rtol=1e-14)


def test_eigh_descending_keeps_the_leading_axes():
    matrices = _symmetric(3, 6, 3).reshape(2, 3, 3, 3)
    values, vectors = eigh_descending(matrices)
    assert values.shape == (2, 3, 3) and vectors.shape == (2, 3, 3, 3)
    flat = stacked_eigh_descending(matrices.reshape(-1, 3, 3))
    np.testing.assert_array_equal(values.reshape(-1, 3), flat[0])
