"""Every bad input to GaussianMixtureEM gets a clear error naming argument, value and fix."""

import numpy as np
import pandas as pd
import pytest

from bayesmix import GaussianMixtureEM, NotFittedError

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 2))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (np.array([[1.0, np.nan]] + [[0.0, 0.0]] * 5), r"contains NaN or inf.*row 0, column 1"),
        (np.array([[1.0, np.inf]] + [[0.0, 0.0]] * 5), r"first \(infinity\)"),
        (np.arange(10.0), r"must be 2-D .*reshape\(-1, 1\)"),
        (np.zeros((2, 2, 2)), "must be 2-D"),
        (np.zeros((0, 2)), "0 sample"),
        (np.zeros((1, 2)), r"1 sample\(s\) \(shape=\(1, 2\)\) while a minimum of 2"),
        (np.zeros((5, 0)), r"0 feature\(s\)"),
        (np.array([["a", "b"], ["c", "d"]]), "must hold numbers"),
        (np.ones((4, 2), dtype=bool), "boolean dtype"),
        (np.ones((4, 2)) + 1j, "Complex data not supported"),
        (pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}), r"column 'b' has dtype .*select_dtypes"),
        ("not an array", "must be an array-like"),
        (None, "X is None"),
    ],
)
def test_bad_X(data, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixtureEM(1).fit(data)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_components": 0}, "n_components must be >= 1, got 0"),
        ({"n_components": 2.5}, "n_components must be an integer, got 2.5"),
        ({"n_components": 50}, "40 samples but n_components=50"),
        ({"covariance_type": "banana"}, "covariance_type must be one of 'full', 'tied', 'diag', "
                                        "'spherical', got 'banana'"),
        ({"tol": -1.0}, "tol must be >= 0.0, got -1.0"),
        ({"reg_covar": -1e-6}, "reg_covar must be >= 0.0"),
        ({"reg_covar": float("nan")}, "reg_covar must be a finite real number"),
        ({"max_iter": -1}, "max_iter must be >= 0"),
        ({"n_init": 0}, "n_init must be >= 1"),
        ({"init_params": "kmedoids"}, "init_params must be one of 'kmeans'"),
        ({"n_components": 2, "weights_init": [0.5, 0.2]}, r"weights_init must be non-negative "
                                                          r"and sum to 1.*Normalise"),
        ({"n_components": 2, "weights_init": [1.0]}, r"weights_init has shape \(1,\), but \(2,\)"),
        ({"n_components": 2, "means_init": np.zeros((2, 3))},
         r"means_init has shape \(2, 3\), but \(2, 2\) \(n_components, n_features\)"),
        ({"n_components": 2, "precisions_init": np.ones((2, 2))},
         r"precisions_init has shape \(2, 2\), but \(2, 2, 2\)"),
        ({"n_components": 2, "precisions_init": np.stack([np.eye(2), -np.eye(2)])},
         r"precisions_init\[1\] is not positive definite"),
        ({"n_components": 1, "precisions_init": np.array([[[1.0, 2.0], [0.0, 1.0]]])},
         r"precisions_init\[0\] is not symmetric"),
        ({"n_components": 2, "covariance_type": "diag", "precisions_init": -np.ones((2, 2))},
         "precisions_init must be positive"),
        ({"n_components": 2, "means_init": [[0.0, np.nan], [1.0, 1.0]]}, "means_init contains NaN"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixtureEM(**params).fit(X)


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (-np.ones(40), r"sample_weight must be non-negative, got -1 at row 0"),
        (np.ones(39), r"sample_weight has shape \(39,\), but X has 40 rows"),
        (np.zeros(40), "sample_weight is zero for every row"),
        (np.r_[np.nan, np.ones(39)], "sample_weight contains NaN"),
        (np.r_[1.0, np.zeros(39)], "1 non-zero entries but n_components=2"),
    ],
)
def test_bad_sample_weight(weights, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixtureEM(2).fit(X, sample_weight=weights)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score", "score_samples",
                                    "bic", "aic", "icl"])
def test_not_fitted(method):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(GaussianMixtureEM(1), method)(X)


def test_wrong_number_of_features_at_predict():
    em = GaussianMixtureEM(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 3 features, but GaussianMixtureEM is expecting 2 features"):
        em.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="reshape"):
        em.predict(np.zeros(2))


def test_bad_n_samples_to_sample():
    em = GaussianMixtureEM(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="n_samples must be >= 1, got 0"):
        em.sample(0)


def test_collapsed_fit_without_regularisation_says_what_to_do():
    data = np.vstack([np.zeros((10, 2)), rng.normal(size=(30, 2))])
    means = np.array([[0.0, 0.0], [0.0, 0.0]])
    em = GaussianMixtureEM(2, reg_covar=0.0, means_init=means + [[0, 0], [1, 1]],
                           precisions_init=np.stack([np.eye(2) * 1e8, np.eye(2)]))
    with pytest.raises(ValueError, match="not positive definite.*Increase reg_covar"):
        em.fit(data)
