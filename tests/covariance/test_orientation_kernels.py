"""The compiled M step of EVE's and VVE's common orientation, entry by entry."""

import numpy as np
import pytest

from bayesmix.covariance.decomposed import INNER_TOL
from bayesmix.covariance.orientation_kernels import (
    common_axes,
    fit_common_orientation,
    iterate_common_orientation,
)


def _entry(seed, n_components=3, n_features=3):
    rng = np.random.default_rng(seed)
    draws = rng.normal(size=(n_components, n_features, 2 * n_features))
    scatters = draws @ np.swapaxes(draws, -1, -2)
    start = np.linalg.qr(rng.normal(size=(n_features, n_features)))[0]
    return scatters, rng.uniform(2.0, 5.0, n_components), start


def _stack(*entries):
    return [np.ascontiguousarray(np.stack(parts)) for parts in zip(*entries)]


@pytest.mark.parametrize("equal_volume", [True, False], ids=["EVE", "VVE"])
def test_each_entry_iterates_on_its_own_and_a_broken_one_stays_apart(equal_volume):
    """Stacking entries changes none of them; a NaN scatter makes its component's
    variances NaN (EVE: every component's, through the common volume) without raising
    or touching the other entries."""
    first, second = _entry(0), _entry(1)
    broken = list(_entry(2))
    broken[0] = broken[0].copy()
    broken[0][1, 0, 0] = np.nan
    together = iterate_common_orientation(*_stack(first, broken, second), equal_volume,
                                          1000, INNER_TOL)
    for row, entry in ((0, first), (2, second)):
        alone = iterate_common_orientation(*_stack(entry), equal_volume, 1000, INNER_TOL)
        np.testing.assert_array_equal(together[0][row], alone[0][0])
        np.testing.assert_array_equal(together[1][row], alone[1][0])
    assert np.isnan(together[1][1, 1]).all()
    assert np.isnan(together[1][1]).all() == equal_volume


@pytest.mark.parametrize("equal_volume", [True, False], ids=["EVE", "VVE"])
def test_no_iteration_gives_the_optimal_variances_along_the_start(equal_volume):
    """``max_iter=0``: the start, with the closed-form variances along its axes (VVE:
    ``diag(D'W_k D) / w_k``; EVE: the same shapes with one volume)."""
    scatters, weights, start = _entry(4)
    orientation, variances = iterate_common_orientation(
        *_stack((scatters, weights, start)), equal_volume, 0, INNER_TOL)
    diagonals = np.einsum("dj,kde,ej->kj", start, scatters, start)
    np.testing.assert_array_equal(orientation[0], start)
    if equal_volume:
        volumes = np.exp(np.log(variances[0]).mean(axis=1))
        np.testing.assert_allclose(volumes, volumes[0], rtol=1e-12)
        np.testing.assert_allclose(variances[0] / volumes[:, None],
                                   diagonals / np.exp(np.log(diagonals).mean(axis=1))[:, None],
                                   rtol=1e-12)
    else:
        np.testing.assert_allclose(variances[0], diagonals / weights[:, None], rtol=1e-12)


@pytest.mark.parametrize("equal_volume", [True, False], ids=["EVE", "VVE"])
def test_an_entry_stops_once_a_variance_is_at_the_floor(equal_volume):
    """A component whose variance along an axis is at most ``floor`` has collapsed: the
    entry stops before its next iteration (here its first: the variances along the
    start), while an entry whose variances are all above the floor iterates as without
    one, and an absent component (weight 0, scatter 0: NaN variances) stops nothing."""
    scatters, weights, start = _entry(6)
    stacked = _stack((scatters, weights, start))
    along_start = iterate_common_orientation(*stacked, equal_volume, 0, INNER_TOL)
    iterated = iterate_common_orientation(*stacked, equal_volume, 1000, INNER_TOL)
    assert not np.allclose(iterated[1], along_start[1])
    smallest = float(along_start[1].min())
    at_floor = iterate_common_orientation(*stacked, equal_volume, 1000, INNER_TOL, smallest)
    np.testing.assert_array_equal(at_floor[1], along_start[1])
    np.testing.assert_array_equal(at_floor[0], start[np.newaxis])
    below = iterate_common_orientation(*stacked, equal_volume, 1000, INNER_TOL,
                                       0.5 * float(iterated[1].min()))
    np.testing.assert_array_equal(below[1], iterated[1])
    absent = [part.copy() for part in stacked]  # component 0 absent: NaN variances
    absent[0][0, 0], absent[1][0, 0] = 0.0, 0.0
    assert np.isnan(iterate_common_orientation(*absent, equal_volume, 0, INNER_TOL)[1][0, 0]
                    ).all()
    np.testing.assert_array_equal(
        iterate_common_orientation(*absent, equal_volume, 1000, INNER_TOL, 0.5 * smallest)[1],
        iterate_common_orientation(*absent, equal_volume, 1000, INNER_TOL)[1])


def test_each_iteration_lowers_the_orientation_objective():
    """Each Jacobi sweep lowers the profile objective, so the M step's objective rises
    with the sweeps it is allowed."""
    scatters, weights, start = _entry(5, n_components=4, n_features=4)

    def objective(iterations):
        orientation, variances = iterate_common_orientation(
            *_stack((scatters, weights, start)), False, iterations, 0.0)
        covariances = np.einsum("dj,kj,ej->kde", orientation[0], variances[0], orientation[0])
        return -0.5 * float(np.sum(weights * np.linalg.slogdet(covariances)[1]
                                   + np.einsum("kde,ked->k", scatters,
                                               np.linalg.inv(covariances))))

    values = [objective(iterations) for iterations in range(8)]
    assert all(later >= earlier - 1e-10 for earlier, later in zip(values, values[1:]))
    assert values[-1] > values[0]


@pytest.mark.parametrize("equal_volume", [True, False], ids=["EVE", "VVE"])
def test_a_few_sweeps_find_the_common_axes_of_scatters_at_far_apart_scales(equal_volume):
    """Scatters that share their axes exactly, with variances from 1e-3 to 1e4 (features
    on different scales, as wine's): from a random start, 30 sweeps recover every
    covariance to 1e-8. Majorisation-minimisation steps (mclust's) crawl here: their
    bound is as loose as the largest variance is far from the smallest."""
    rng = np.random.default_rng(7)
    n_components, n_features = 3, 6
    axes = np.linalg.qr(rng.normal(size=(n_features, n_features)))[0]
    variances = 10.0 ** rng.uniform(-3.0, 4.0, size=(n_components, n_features))
    if equal_volume:  # one volume: each component's variances of product 1, times it
        variances /= np.exp(np.log(variances).mean(axis=1, keepdims=True))
    weights = np.array([20.0, 35.0, 50.0])
    covariances = np.einsum("dj,kj,ej->kde", axes, variances, axes)
    start = np.linalg.qr(rng.normal(size=(n_features, n_features)))[0]
    orientation, fitted = iterate_common_orientation(
        *_stack((weights[:, None, None] * covariances, weights, start)), equal_volume,
        30, INNER_TOL)
    recovered = np.einsum("dj,kj,ej->kde", orientation[0], fitted[0], orientation[0])
    np.testing.assert_allclose(recovered, covariances, rtol=1e-8, atol=1e-8 * 1e4)


@pytest.mark.parametrize("equal_volume", [True, False], ids=["EVE", "VVE"])
def test_the_m_step_starts_from_the_pooled_scatters_axes_or_the_start_covariances(
        equal_volume):
    """``fit_common_orientation`` without iterations: a cold start sweeps from the
    eigenvectors of ``sum_k W_k / w_k`` (largest first), a warm one from the common axes
    of its start covariances; the covariances are ``D diag(v_k) D^T`` along the axes, as
    ``iterate_common_orientation`` gives them from the same start."""
    scatters, weights, _ = _entry(8)
    pooled = (scatters / weights[:, None, None]).sum(axis=0)
    rotation = np.linalg.qr(np.random.default_rng(8).normal(size=(3, 3)))[0]
    start = np.einsum("dj,kj,ej->kde", rotation, [[4.0, 2.0, 1.0], [3.0, 1.0, 0.5],
                                                  [9.0, 2.0, 0.25]], rotation)
    for starts, axes in ((np.empty((0, 3, 3, 3)), np.linalg.eigh(pooled)[1][:, ::-1]),
                         (start[np.newaxis], rotation)):
        orientation, variances, covariances = fit_common_orientation(
            scatters[np.newaxis], weights[np.newaxis], starts, equal_volume, 0, INNER_TOL)
        np.testing.assert_allclose(np.abs(orientation[0]), np.abs(axes), atol=1e-10)
        expected = iterate_common_orientation(*_stack((scatters, weights, orientation[0])),
                                              equal_volume, 0, INNER_TOL)[1]
        np.testing.assert_array_equal(variances, expected)
        np.testing.assert_allclose(
            covariances[0], np.einsum("dj,kj,ej->kde", orientation[0], variances[0],
                                      orientation[0]), rtol=1e-12)
    np.testing.assert_allclose(np.abs(common_axes(start[np.newaxis])[0]), np.abs(rotation),
                               atol=1e-10)


def test_a_component_with_a_broken_scatter_gets_a_singular_covariance():
    """A NaN scatter (a degenerate component's) makes its variances NaN: its covariance
    is zero, which the precision factors reject, and the M step does not raise (Numba's
    eigendecomposition refuses a matrix that is not finite: the start is the identity)."""
    scatters, weights, _ = _entry(9)
    scatters = scatters.copy()
    scatters[1, 0, 0] = np.nan
    covariances = fit_common_orientation(scatters[np.newaxis], weights[np.newaxis],
                                         np.empty((0, 3, 3, 3)), False, 100, INNER_TOL)[2]
    np.testing.assert_array_equal(covariances[0, 1], 0.0)
    assert np.isfinite(covariances[0, [0, 2]]).all()


@pytest.mark.parametrize("equal_volume", [True, False], ids=["EVE", "VVE"])
@pytest.mark.parametrize("scale", [1e-150, 1e-100, 3e-7, 1e100, 1e150])
def test_the_m_step_is_equivariant_under_scaling_to_the_ends_of_float64(equal_volume, scale):
    """Scatters times ``scale`` give covariances times ``scale``, at every scale whose
    variances float64 holds: the sweeps' products of two variances (1e-300 at scale
    1e-150) would otherwise underflow (data scaled by 1e-100 made EVE's covariances
    singular) or overflow."""
    scatters, weights, _ = _stack(_entry(4), _entry(5))
    no_start = np.empty((0, *scatters.shape[1:]))
    unscaled = fit_common_orientation(scatters, weights, no_start, equal_volume, 100,
                                      INNER_TOL)[2]
    scaled = fit_common_orientation(scatters * scale, weights, no_start, equal_volume, 100,
                                    INNER_TOL)[2]
    np.testing.assert_allclose(scaled / scale, unscaled, rtol=1e-9, atol=0.0)
