"""The compiled M steps of the common shapes (VEI, VEV) and Numba's cache."""

import os
import subprocess
import sys

import numpy as np
import pytest

from bayesmix.covariance import get_structure
from bayesmix.covariance.decomposed import INNER_TOL
from bayesmix.covariance.inner_kernels import (
    fit_common_shape,
    fit_common_shape_orientations,
    invert_into,
    iterate_common_shape,
    iterate_common_shape_matrix,
    sign_log_det,
)


def _scatters(seed, n_components=3, n_features=3):
    rng = np.random.default_rng(seed)
    draws = rng.normal(size=(n_components, n_features, 2 * n_features))
    return draws @ np.swapaxes(draws, -1, -2), rng.uniform(2.0, 5.0, n_components)


@pytest.mark.parametrize("n_features", [1, 2, 3, 5, 8])
def test_the_determinants_loop_is_numpys_slogdet(n_features):
    """Signs of either kind (a row swap, a negative pivot), positive definite matrices
    over ten orders of magnitude, and a singular one (0, -inf)."""
    rng = np.random.default_rng(n_features)
    draws = rng.normal(size=(20, n_features, n_features))
    scales = 10.0 ** rng.uniform(-5.0, 5.0, size=(20, n_features))
    positive_definite = draws @ np.swapaxes(draws, -1, -2) + n_features * np.eye(n_features)
    matrices = [*draws, *(scales[:, :, None] * positive_definite * scales[:, None, :]),
                np.zeros((n_features, n_features))]
    work = np.empty((n_features, n_features))
    for matrix in matrices:
        expected_sign, expected_log = np.linalg.slogdet(matrix)
        sign, log_det = sign_log_det(matrix, work)
        assert sign == expected_sign
        np.testing.assert_allclose(log_det, expected_log, rtol=1e-12, atol=1e-10)
    assert {np.linalg.slogdet(matrix)[0] for matrix in draws} == {-1.0, 1.0}



@pytest.mark.parametrize("n_features", [1, 2, 3, 6])
def test_the_inverses_loop_is_numpys_inverse(n_features):
    """A row swap, a positive definite matrix; a singular or non-finite one is refused."""
    rng = np.random.default_rng(n_features)
    matrix = rng.normal(size=(n_features, n_features))
    inverse, work = np.empty_like(matrix), np.empty_like(matrix)
    assert invert_into(matrix, inverse, work)
    np.testing.assert_allclose(inverse, np.linalg.inv(matrix), rtol=1e-9, atol=1e-12)
    singular = matrix.copy()
    singular[-1] = 0.0
    assert not invert_into(singular, inverse, work)
    singular[-1, 0] = np.nan
    assert not invert_into(singular, inverse, work)


def test_a_shape_matrix_singular_to_rounding_gives_nan_volumes_instead_of_raising():
    """VEE's shape ``[[1e16, 1e16 - 1], [1e16 - 1, 1e16]]``, whose determinant 1 is lost
    to rounding (one row 1e10 standard deviations out gave such a shape): LAPACK's
    inverse raised "Matrix is singular to machine precision" from the M step."""
    shape = np.array([[1e16, 1e16 - 1.0], [1e16 - 1.0, 1e16]])
    scatters, weights = _scatters(0, n_components=2, n_features=2)
    volumes, _ = iterate_common_shape_matrix(scatters[np.newaxis], weights[np.newaxis],
                                             shape[np.newaxis], 10, INNER_TOL)
    assert np.isnan(volumes).all()

def test_the_common_shape_starts_from_the_start_where_it_is_a_shape():
    """A finite, positive start is used up to scale; one with a zero (or NaN) falls back
    to the shape of the summed values, as no start does."""
    values = np.random.default_rng(0).uniform(0.5, 4.0, size=(1, 3, 4))
    weights = np.ones((1, 3))
    total = values[0].sum(axis=0)
    cold = np.exp(np.log(total) - np.log(total).mean())
    start = np.array([[2.0, 1.0, 0.5, 4.0]])
    shape = start[0] / np.exp(np.log(start[0]).mean())
    for given, expected in ((np.empty((0, 4)), cold), (3.0 * start, shape),
                            (np.array([[2.0, 0.0, 1.0, 1.0]]), cold),
                            (np.array([[2.0, np.nan, 1.0, 1.0]]), cold)):
        ended = fit_common_shape(values, weights, given, 0, INNER_TOL)
        alone = iterate_common_shape(values, weights, expected[np.newaxis], 0, INNER_TOL)
        np.testing.assert_allclose(ended[1], alone[1], rtol=1e-14)
        np.testing.assert_allclose(ended[0], alone[0], rtol=1e-14)


def test_vevs_m_step_is_its_scatters_axes_with_a_common_shape():
    """Each covariance has its scatter's eigenvectors; all share one shape (product 1)
    and the M step is VEV's (the structure's own call)."""
    scatters, weights = _scatters(1)
    covariances = fit_common_shape_orientations(scatters[np.newaxis], weights[np.newaxis],
                                                np.empty((0, 3, 3, 3)), 1000, INNER_TOL)[0]
    np.testing.assert_array_equal(
        covariances, get_structure("VEV").maximise_scatter(weights, scatters))
    shapes = []
    for scatter, covariance in zip(scatters, covariances):
        axes = np.linalg.eigh(scatter)[1]
        along = axes.T @ covariance @ axes
        np.testing.assert_allclose(along, np.diag(np.diagonal(along)), atol=1e-10)
        values = np.diagonal(along)
        shapes.append(values / np.exp(np.log(values).mean()))
    np.testing.assert_allclose(shapes, np.broadcast_to(shapes[0], (3, 3)), rtol=1e-8)


def test_a_broken_scatter_gives_singular_covariances_instead_of_raising():
    """Numba's eigendecomposition refuses a matrix that is not finite: a NaN scatter
    (a degenerate component's) gets NaN eigenvalues instead, and its entry's covariances
    are zero (the common shape is NaN), which the precision factors reject; the other
    entries are as alone."""
    scatters, weights = _scatters(2)
    broken = scatters.copy()
    broken[1, 0, 0] = np.nan
    stacked = np.stack([scatters, broken])
    covariances = fit_common_shape_orientations(stacked, np.stack([weights, weights]),
                                                np.empty((0, 3, 3, 3)), 1000, INNER_TOL)
    np.testing.assert_array_equal(covariances[1], 0.0)
    np.testing.assert_array_equal(
        covariances[0], fit_common_shape_orientations(scatters[np.newaxis],
                                                      weights[np.newaxis],
                                                      np.empty((0, 3, 3, 3)), 1000,
                                                      INNER_TOL)[0])


def test_without_a_writable_cache_the_kernels_compile_in_each_process():
    """Where Numba finds no place to write its cache (here: only zip-file locations
    allowed), ``cache=True`` would raise at import; the kernels compile without it and
    give the same fit."""
    code = ("import bayesmix\n"
            "X = bayesmix.make_mixture(60, 2, 2, 'full', random_state=0).X\n"
            "print(repr(bayesmix.GaussianMixtureEM(2, covariance_type='VEE', "
            "random_state=0).fit(X).lower_bound_))")
    outputs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=300, env={**os.environ, **extra})
               for extra in ({}, {"NUMBA_CACHE_LOCATOR_CLASSES": "ZipCacheLocator"})]
    for output in outputs:
        assert output.returncode == 0, output.stderr[-2000:]
    assert outputs[0].stdout == outputs[1].stdout
