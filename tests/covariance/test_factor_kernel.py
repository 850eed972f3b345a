"""The batch's compiled precision factors against NumPy's."""

import numpy as np
import pytest

from bayesmix.covariance.base import lower_cholesky_inverse_transpose
from bayesmix.covariance.factor_kernel import precision_factors


def _spd(seed, n_matrices, n_features):
    draws = np.random.default_rng(seed).normal(size=(n_matrices, n_features, 2 * n_features))
    return draws @ np.swapaxes(draws, -1, -2)


@pytest.mark.parametrize("n_features", [1, 2, 3, 6, 13])
def test_the_factors_are_numpys_to_rounding(n_features):
    covariances = _spd(n_features, 20, n_features)
    factors, valid = precision_factors(covariances)
    assert valid.all()
    np.testing.assert_allclose(factors, lower_cholesky_inverse_transpose(covariances),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(factors @ np.swapaxes(factors, -1, -2),
                               np.linalg.inv(covariances), rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(np.tril(factors, -1), 0.0)  # upper triangular
    batched = lower_cholesky_inverse_transpose(covariances.reshape(4, 5, n_features,
                                                                   n_features), batched=True)
    np.testing.assert_array_equal(batched.reshape(factors.shape), factors)


def test_a_matrix_that_is_not_positive_definite_or_not_finite_is_invalid_alone():
    """Each such matrix is flagged (its factor zero), the others factorised as alone; the
    batched call returns None, as NumPy's path does; only the lower triangle is read."""
    covariances = _spd(0, 5, 3)
    covariances[1] = -np.eye(3)
    covariances[2, 1, 1] = np.nan
    covariances[3, 2, 0] = np.inf
    factors, valid = precision_factors(covariances)
    np.testing.assert_array_equal(valid, [True, False, False, False, True])
    np.testing.assert_array_equal(factors[1:4], 0.0)
    np.testing.assert_array_equal(factors[[0, 4]], precision_factors(covariances[[0, 4]])[0])
    assert lower_cholesky_inverse_transpose(covariances, batched=True) is None
    upper_garbage = covariances[[0]].copy()
    upper_garbage[0, 0, 2] = 1e6
    np.testing.assert_array_equal(precision_factors(upper_garbage)[0],
                                  precision_factors(covariances[[0]])[0])
