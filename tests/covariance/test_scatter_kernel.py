"""The decomposed models' compiled scatters against NumPy's, to the last bit."""

import numpy as np
import pytest

from bayesmix.covariance import get_structure
from bayesmix.covariance.prior import ConjugatePrior
from bayesmix.covariance.scatter import map_scatter, within_scatter
from bayesmix.covariance.scatter_kernel import (
    matrix_map_scatter,
    matrix_within_scatter,
    pooled_map_scatter,
    pooled_within_scatter,
)


def _moments(seed, n_entries, n_components, n_features):
    """Counts, means and second moments of random weighted rows, the last component's
    a single row (its scatter rounding, which ``own_axes`` zeroes)."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(n_entries, n_components, 12, n_features)) * 10.0 ** rng.uniform(
        -3, 3, size=n_features)
    weights = rng.uniform(0.0, 1.0, size=(n_entries, n_components, 12))
    weights[:, -1] = 0.0
    weights[:, -1, 0] = 1.0
    counts = weights.sum(axis=-1)
    means = np.einsum("bkn,bknd->bkd", weights, rows) / counts[..., np.newaxis]
    second = np.einsum("bkn,bknd,bkne->bkde", weights, rows, rows)
    return counts, means, second


@pytest.mark.parametrize("n_features", [1, 2, 3, 5, 13])
@pytest.mark.parametrize("own_axes", [False, True])
def test_the_compiled_scatter_is_numpys_to_the_last_bit(n_features, own_axes):
    counts, means, second = _moments(n_features, 6, 4, n_features)
    compiled = matrix_within_scatter(counts, means, second, 1e-4, own_axes)
    np.testing.assert_array_equal(
        compiled, within_scatter("matrix", counts, means, second, None, 1e-4, own_axes))
    if own_axes and n_features > 1:  # the one-row component's rounding is zeroed
        np.testing.assert_array_equal(compiled[:, -1] - 1e-4 * np.eye(n_features), 0.0)


def test_nan_moments_give_nan_scatters_as_numpys():
    counts, means, second = _moments(0, 2, 3, 3)
    second[0, 1, 0, 0] = np.nan
    compiled = matrix_within_scatter(counts, means, second, 0.0, True)
    np.testing.assert_array_equal(
        compiled, within_scatter("matrix", counts, means, second, None, 0.0, True))
    assert np.isnan(compiled[0, 1]).any()


@pytest.mark.parametrize("name", ["EVE", "VVE", "EEV", "VEV", "EVV", "VEE"])
def test_a_decomposed_m_step_reads_the_compiled_scatter(name):
    """Batched (leading axes) or not, the M step's scatter is within_scatter's."""
    structure = get_structure(name)
    counts, means, second = _moments(1, 6, 3, 3)
    stacked = counts.reshape(2, 3, 3), means.reshape(2, 3, 3, 3), second.reshape(2, 3, 3, 3, 3)
    expected = within_scatter("matrix", *stacked[:2], stacked[2], None, 1e-6,
                              structure.axes_from_scatter)
    np.testing.assert_array_equal(structure.m_step_scatter(*stacked, None, 1e-6), expected)
    np.testing.assert_array_equal(
        structure.m_step_scatter(counts[0], means[0], second[0], None, 1e-6), expected[0, 0])


@pytest.mark.parametrize("n_features", [1, 3, 13])
def test_the_compiled_map_scatter_is_numpys_to_the_last_bit(n_features):
    counts, means, second = _moments(n_features + 1, 6, 4, n_features)
    rng = np.random.default_rng(n_features)
    prior = ConjugatePrior(shrinkage=0.3, mean=rng.normal(size=n_features))
    draws = rng.normal(size=(6, n_features, n_features + 2))
    scales = draws @ np.swapaxes(draws, -1, -2)  # one per entry, as the batch's prior terms
    np.testing.assert_array_equal(
        matrix_map_scatter(counts, means, second, 1e-4, prior.mean, 0.3, scales),
        map_scatter("matrix", counts, means, second, None, 1e-4, prior, scales))


@pytest.mark.parametrize("name", ["EEV", "VEV"])
def test_a_decomposed_map_step_reads_the_compiled_scatter(name):
    """Batched with a scale matrix per fit, or one fit with one scale matrix."""
    structure = get_structure(name)
    counts, means, second = _moments(2, 6, 3, 3)
    prior = ConjugatePrior(shrinkage=0.01, mean=np.ones(3))
    scales = np.broadcast_to(np.diag([1.0, 2.0, 3.0]), (6, 3, 3)) * np.arange(1.0, 7.0)[
        :, np.newaxis, np.newaxis]
    expected = map_scatter("matrix", counts, means, second, None, 1e-6, prior, scales)
    np.testing.assert_array_equal(
        structure.map_step_scatter(counts, means, second, None, 1e-6, prior, scales), expected)
    np.testing.assert_array_equal(
        structure.map_step_scatter(counts[0], means[0], second[0], None, 1e-6, prior,
                                   scales[0]), expected[0])


@pytest.mark.parametrize("n_components", [1, 7, 8, 9, 20])
def test_the_compiled_pooled_scatters_are_numpys_to_the_last_bit(n_components):
    """Eight components and more: NumPy's sum of the counts is pairwise, and comes in."""
    counts, means, second = _moments(n_components, 5, n_components, 3)
    total = second.sum(axis=(0, 1))
    rng = np.random.default_rng(n_components)
    prior = ConjugatePrior(shrinkage=0.2, mean=rng.normal(size=3))
    scales = np.eye(3) * rng.uniform(1.0, 2.0, size=(5, 1, 1))
    fit_components = rng.integers(1, n_components + 1, size=5)
    np.testing.assert_array_equal(
        pooled_within_scatter(total, counts, counts.sum(axis=-1), means, 1e-4),
        within_scatter(None, counts, means, None, total, 1e-4))
    np.testing.assert_array_equal(
        pooled_map_scatter(total, counts, counts.sum(axis=-1), means, 1e-4, prior.mean, 0.2,
                           fit_components.astype(float), scales),
        map_scatter(None, counts, means, None, total, 1e-4, prior, scales, fit_components))


@pytest.mark.parametrize("name", ["EII", "EEI"])
def test_a_pooled_decomposed_structure_reads_the_compiled_scatters(name):
    structure = get_structure(name)
    counts, means, second = _moments(3, 6, 4, 2)
    total = second.sum(axis=(0, 1))
    prior = ConjugatePrior(shrinkage=0.01, mean=np.ones(2))
    scales = np.broadcast_to(np.eye(2), (2, 3, 2, 2))
    stacked = counts.reshape(2, 3, 4), means.reshape(2, 3, 4, 2)
    np.testing.assert_array_equal(
        structure.m_step_scatter(*stacked, None, total, 1e-6),
        within_scatter(None, *stacked, None, total, 1e-6))
    np.testing.assert_array_equal(
        structure.map_step_scatter(*stacked, None, total, 1e-6, prior, scales),
        map_scatter(None, *stacked, None, total, 1e-6, prior, scales))
    np.testing.assert_array_equal(  # one fit, K of its own
        structure.map_step_scatter(counts[0], means[0], None, total, 1e-6, prior, np.eye(2), 4),
        map_scatter(None, counts[0], means[0], None, total, 1e-6, prior, np.eye(2), 4))
