"""MixturePriors: data-scaled defaults, explicit values, and clear errors."""

import numpy as np
import pytest

from bayesmix.bayes import MixturePriors
from bayesmix.bayes.priors import DEFAULT_LKJ_ETA, DEFAULT_MEANS_SCALE_FACTOR

X = np.array([[0.0, 10.0], [2.0, 30.0], [4.0, 20.0], [6.0, 40.0]])


def test_defaults_are_scaled_by_the_data():
    priors = MixturePriors().resolve(X, n_components=3, covariance_type="full")
    np.testing.assert_allclose(priors.weights_alpha, np.ones(3))
    np.testing.assert_allclose(priors.means_loc, X.mean(axis=0))
    np.testing.assert_allclose(priors.means_scale, DEFAULT_MEANS_SCALE_FACTOR * X.std(axis=0))
    np.testing.assert_allclose(priors.scale_sigma, X.std(axis=0))
    assert priors.lkj_eta == DEFAULT_LKJ_ETA


def test_spherical_scale_is_the_root_mean_square_of_the_column_scales():
    priors = MixturePriors().resolve(X, 2, "spherical")
    assert priors.scale_sigma == pytest.approx(np.sqrt(np.mean(X.var(axis=0))))


def test_explicit_values_are_kept_and_broadcast():
    priors = MixturePriors(weights_alpha=0.5, means_loc=[1.0, 2.0], means_scale=3.0,
                           scale_sigma=[4.0, 5.0], lkj_eta=1.0).resolve(X, 2, "diag")
    np.testing.assert_allclose(priors.weights_alpha, [0.5, 0.5])
    np.testing.assert_allclose(priors.means_loc, [1.0, 2.0])
    np.testing.assert_allclose(priors.means_scale, [3.0, 3.0])
    np.testing.assert_allclose(priors.scale_sigma, [4.0, 5.0])
    assert priors.lkj_eta == 1.0


def test_resolve_does_not_modify_the_original():
    priors = MixturePriors(lkj_eta=3.0)
    priors.resolve(X, 2)
    assert priors.means_loc is None


def test_repr_shows_resolved_values():
    text = repr(MixturePriors().resolve(X, 2, "full"))
    assert "means_loc=[3.0, 25.0]" in text
    assert "weights_alpha=[1.0, 1.0]" in text
    assert repr(MixturePriors()) == (
        "MixturePriors(weights_alpha=None, means_loc=None, means_scale=None, "
        "scale_sigma=None, lkj_eta=None)")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"scale_sigma": -1.0}, "scale_sigma must be positive and finite, got -1.0"),
        ({"means_scale": [1.0, 0.0]}, r"means_scale must be positive and finite"),
        ({"weights_alpha": [1.0, -2.0]}, "weights_alpha must be positive and finite"),
        ({"means_loc": [0.0, np.nan]}, "means_loc must be finite"),
        ({"lkj_eta": 0.0}, r"lkj_eta must be > 0, got 0.0"),
        ({"lkj_eta": "two"}, "lkj_eta must be a finite real number"),
        ({"scale_sigma": [[1.0, 2.0]]}, "scale_sigma must be a real number or a 1-D array"),
        ({"means_loc": "centre"}, "means_loc must be a real number or a 1-D array"),
    ],
)
def test_bad_priors_are_rejected_on_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MixturePriors(**kwargs)


@pytest.mark.parametrize(
    "kwargs, covariance_type, match",
    [
        ({"weights_alpha": [1.0, 1.0]}, "full",
         r"weights_alpha has length 2, but 3 values \(one per component\) are needed"),
        ({"means_loc": [0.0, 1.0, 2.0]}, "full",
         r"means_loc has length 3, but 2 values \(one per feature\)"),
        ({"scale_sigma": [1.0]}, "diag", r"scale_sigma has length 1, but 2 values"),
        ({"scale_sigma": [1.0, 2.0]}, "spherical",
         r"scale_sigma must be a scalar for covariance_type='spherical'"),
    ],
)
def test_wrong_lengths_are_rejected_against_the_data(kwargs, covariance_type, match):
    with pytest.raises(ValueError, match=match):
        MixturePriors(**kwargs).resolve(X, 3, covariance_type)
