"""Tests of bayesmix.datasets: shipped data and simulated mixtures with known truth."""

import numpy as np
import pandas as pd
import pytest

from bayesmix.covariance import covariance_shape, structure_names, to_full
from bayesmix.datasets import load_low_dim_gauss_mix, load_old_faithful, make_mixture


def test_old_faithful_is_r_faithful(old_faithful):
    assert isinstance(old_faithful, pd.DataFrame)
    assert old_faithful.shape == (272, 2)
    assert list(old_faithful.columns) == ["eruptions", "waiting"]
    assert old_faithful.notna().all().all()
    # First row and column means of R's datasets::faithful.
    assert old_faithful.iloc[0].tolist() == [3.6, 79]
    assert old_faithful["eruptions"].mean() == pytest.approx(3.487783, abs=1e-6)
    assert old_faithful["waiting"].mean() == pytest.approx(70.89706, abs=1e-5)
    # waiting is rounded to whole minutes: the source of collapsed components.
    assert (old_faithful["waiting"] % 1 == 0).all()


def test_old_faithful_returns_a_fresh_copy():
    first = load_old_faithful()
    first.iloc[0, 0] = -1.0
    assert load_old_faithful().iloc[0, 0] == 3.6


def test_low_dim_gauss_mix_is_two_separated_groups():
    y = load_low_dim_gauss_mix()
    assert y.shape == (1000, 1)
    assert y.dtype == np.float64
    assert np.isfinite(y).all()
    assert y[0, 0] == pytest.approx(-3.58542974746427)
    # Well separated: both signs well represented, few values near zero.
    assert 0.2 < (y > 0).mean() < 0.8
    assert (np.abs(y) < 0.5).mean() < 0.1


@pytest.mark.parametrize("covariance_type", structure_names())
@pytest.mark.parametrize("n_features", [1, 3])
def test_make_mixture_shapes(covariance_type, n_features):
    X, labels, params = make_mixture(50, n_components=4, n_features=n_features,
                                     covariance_type=covariance_type, random_state=0)
    assert X.shape == (50, n_features)
    assert labels.shape == (50,)
    assert set(np.unique(labels)) <= set(range(4))
    assert params["weights"].shape == (4,)
    assert params["means"].shape == (4, n_features)
    assert params["covariances"].shape == covariance_shape(covariance_type, 4, n_features)
    assert params["covariance_type"] == covariance_type
    assert params["weights"].sum() == pytest.approx(1.0)
    full = to_full(params["covariances"], covariance_type, 4, n_features)
    assert (np.linalg.eigvalsh(full) > 0).all()


def test_make_mixture_is_reproducible_by_seed():
    first = make_mixture(100, random_state=3)
    again = make_mixture(100, random_state=np.random.RandomState(3))
    other = make_mixture(100, random_state=4)
    np.testing.assert_array_equal(first.X, again.X)
    np.testing.assert_array_equal(first.labels, again.labels)
    np.testing.assert_array_equal(first.params["means"], again.params["means"])
    assert not np.allclose(first.X, other.X)


@pytest.mark.parametrize("separation", [0.0, 2.0, 6.0])
def test_make_mixture_means_are_separated(separation):
    _, _, params = make_mixture(10, n_components=8, n_features=2, separation=separation,
                                random_state=0)
    means = params["means"]
    full = to_full(params["covariances"], "full", 8, 2)
    largest_sd = np.sqrt(np.linalg.eigvalsh(full).max())
    distances = np.linalg.norm(means[:, None] - means[None], axis=-1)[np.triu_indices(8, 1)]
    assert distances.min() >= separation * largest_sd


@pytest.mark.parametrize("covariance_type", structure_names())
def test_make_mixture_sample_moments_match_truth(covariance_type):
    n_samples, K, D = 20_000, 3, 2
    X, labels, params = make_mixture(n_samples, K, D, covariance_type, random_state=1)
    full = to_full(params["covariances"], covariance_type, K, D)
    counts = np.bincount(labels, minlength=K)
    # Weights: binomial standard error.
    weight_se = np.sqrt(params["weights"] * (1 - params["weights"]) / n_samples)
    assert np.all(np.abs(counts / n_samples - params["weights"]) < 5 * weight_se)
    for k in range(K):
        rows = X[labels == k]
        mean_se = np.sqrt(np.diag(full[k]) / counts[k])
        assert np.all(np.abs(rows.mean(axis=0) - params["means"][k]) < 5 * mean_se)
        # Covariance entries: standard error about sqrt((s_ii s_jj + s_ij^2) / n).
        cov_se = np.sqrt((np.outer(np.diag(full[k]), np.diag(full[k])) + full[k] ** 2)
                         / counts[k])
        assert np.all(np.abs(np.cov(rows, rowvar=False) - full[k]) < 5 * cov_se)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_samples": 0}, "n_samples must be >= 1, got 0"),
        ({"n_samples": 10.5}, "n_samples must be an integer"),
        ({"n_components": 0}, "n_components must be >= 1, got 0"),
        ({"n_features": -1}, "n_features must be >= 1, got -1"),
        ({"covariance_type": "ful"}, "covariance_type must be one of 'full'.*got 'ful'"),
        ({"separation": -1.0}, "separation must be >= 0.0, got -1.0"),
        ({"separation": np.nan}, "separation must be a finite real number"),
    ],
)
def test_make_mixture_bad_input(kwargs, match):
    arguments = {"n_samples": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_mixture(**arguments)
