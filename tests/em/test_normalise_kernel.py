"""The batch's compiled normalisation and exponential against NumPy's."""

import numpy as np
import pytest

from bayesmix.density import normalise_rows
from bayesmix.em.normalise_kernel import exp_in_place, log_in_place, normalise_log_probabilities


def _exp(values):
    out = np.array(values, dtype=float)
    exp_in_place(out, np.empty((2, out.size), dtype=np.int64))
    return out


def test_the_exponential_is_numpys_to_one_unit_in_the_last_place():
    rng = np.random.default_rng(0)
    values = np.concatenate([-rng.exponential(5.0, 200_000), -rng.uniform(0.0, 708.0, 200_000),
                             rng.uniform(0.0, 700.0, 20_000), -np.logspace(-300, 2.8, 2000)])
    expected = np.exp(values)
    ulps = np.abs(_exp(values) - expected) / np.spacing(expected)
    assert ulps.max() <= 1.0
    assert np.mean(ulps == 0.0) > 0.85  # mostly NumPy's very value


def test_the_exponential_rounds_below_the_normal_range_and_keeps_the_special_values():
    """Results below 2.2e-308 are rounded once (to a subnormal, or to 0 below -745.13);
    -inf gives 0, 0 gives 1 and NaN stays NaN."""
    subnormal = -np.linspace(708.4, 745.2, 5001)
    np.testing.assert_allclose(_exp(subnormal), np.exp(subnormal), rtol=0.0, atol=5e-324)
    special = np.array([-np.inf, -1e300, -746.0, -745.2, 0.0, -0.0, np.nan, 710.0])
    np.testing.assert_array_equal(_exp(special), [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, np.nan,
                                                  np.inf])


def test_the_logarithm_is_numpys_to_one_unit_in_the_last_place():
    """Over the normalisers' range (1 to a few dozen components), near 1 and sqrt(2)
    (where the reduction switches), and over every exponent of the normal doubles."""
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(1.0, 50.0, 200_000), 1.0 + rng.uniform(0, 1e-9, 20_000),
                             np.sqrt(2.0) * (1.0 + rng.uniform(-1e-12, 1e-12, 20_000)),
                             np.logspace(-307, 307, 20_000), [1.0, 2.0, 0.5, 1e-300]])
    expected = np.log(values)
    result = values.copy()
    log_in_place(result, np.empty(values.size))
    ulps = np.abs(result - expected) / np.spacing(np.abs(expected) + 1e-300)
    assert ulps.max() <= 1.0
    assert np.mean(ulps == 0.0) > 0.9
    assert result[-4:-2].tolist() == [0.0, np.log(2.0)]


def _reference(log_prob, sizes, weights):
    """Responsibilities (times the weights), log-likelihood and entropy in NumPy."""
    n_runs, n_components, n_rows = log_prob.shape
    resp = np.zeros_like(log_prob)
    log_likelihood, entropy = np.empty(n_runs), np.empty(n_runs)
    for run, size in enumerate(sizes):
        real = log_prob[run, :size].T.copy()
        log_norm = normalise_rows(real)
        resp[run, :size] = real.T * weights
        log_likelihood[run] = log_norm @ weights
        entropy[run] = -np.log(real.max(axis=1)) @ weights
    return resp, log_likelihood, entropy


@pytest.mark.parametrize("weighted", [False, True])
def test_the_normalisation_is_numpys_on_the_real_components(weighted):
    """Whatever the padded components hold (NaN, +inf, large values), they get 0 and do
    not enter the sums; the real ones get NumPy's responsibilities."""
    rng = np.random.default_rng(1)
    n_runs, n_components, n_rows = 7, 5, 300
    sizes = np.array([1, 2, 3, 4, 5, 5, 2])
    log_prob = rng.normal(-40.0, 30.0, size=(n_runs, n_components, n_rows))
    log_prob[1, 1, :10] = -np.inf  # a real component without density on a few rows
    padded = np.arange(n_components) >= sizes[:, np.newaxis]
    log_prob[padded] = np.array([np.nan, np.inf, 1e300])[
        rng.integers(0, 3, size=(np.count_nonzero(padded), 1))]
    weights = rng.uniform(0.0, 3.0, n_rows) if weighted else np.ones(n_rows)
    expected = _reference(log_prob, sizes, weights)
    log_likelihood, entropy = normalise_log_probabilities(
        log_prob, sizes.astype(np.int64), weights if weighted else np.empty(0))
    np.testing.assert_allclose(log_prob, expected[0], rtol=1e-13, atol=1e-300)
    np.testing.assert_array_equal(log_prob[padded], 0.0)
    np.testing.assert_allclose(log_likelihood, expected[1], rtol=1e-12)
    np.testing.assert_allclose(entropy, expected[2], rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(entropy[0], 0.0)  # one component: certain


def test_a_row_without_density_gets_equal_shares_and_minus_infinite_log_likelihood():
    """Rows 1 (every real component -inf) and 2 (a NaN) of two real components."""
    with np.errstate(divide="ignore"):
        log_prob = np.log([[[0.2, 0.0, 0.5], [0.6, 0.0, 0.5], [0.3, 0.0, 0.1]]])
    log_prob[0, 0, 2] = np.nan
    log_likelihood, entropy = normalise_log_probabilities(log_prob, np.array([2]),
                                                          np.array([1.0, 2.0, 1.0]))
    np.testing.assert_allclose(log_prob[0, :, 0], [0.25, 0.75, 0.0])
    np.testing.assert_array_equal(log_prob[0, :, 1:], [[1.0, 0.5], [1.0, 0.5], [0.0, 0.0]])
    assert log_likelihood[0] == -np.inf
    # Equal shares of two: -log(1/2) each, weighted 2 and 1, beside row 0's -log(0.75).
    assert entropy[0] == pytest.approx(3.0 * np.log(2.0) - np.log(0.75), rel=1e-15)
