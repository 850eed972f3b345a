"""GaussianMixtureEM errors outside the bad-input catalogue (tests/test_bad_input.py)."""

import numpy as np
import pytest

from bayesmix import GaussianMixtureEM, NotFittedError

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 2))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score", "score_samples",
                                    "bic", "aic", "icl"])
def test_not_fitted(method):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(GaussianMixtureEM(1), method)(X)


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
