"""The batch's compiled log prior terms against their NumPy expression."""

import numpy as np
import pytest

from bayesmix.em.prior_kernel import component_log_prior_terms, move_to_posterior_means


def _numpy_terms(coefficients, constants, means, weights, extras, shrinkage):
    """``c @ w + (e - kappa) (c1 + mu' (P mu) / 2) - e c0``, as NumPy computed it."""
    n_features = means.shape[-1]
    constant_log_det = coefficients[..., -1] + 0.5 * np.einsum(
        "nkd,nkd->nk", means, coefficients[..., -1 - n_features:-1])
    return (np.einsum("nkf,nf->nk", coefficients, weights)
            + (extras - shrinkage)[:, np.newaxis] * constant_log_det
            - extras[:, np.newaxis] * constants)


@pytest.mark.parametrize("n_features, n_products", [(1, 1), (3, 6), (3, 3), (13, 91)])
def test_the_terms_are_numpys_to_rounding(n_features, n_products):
    rng = np.random.default_rng(n_features)
    n_runs, n_components = 7, 4
    n_coefficients = n_products + n_features + 1
    coefficients = rng.normal(size=(n_runs, n_components, n_coefficients)) * 10.0 ** rng.uniform(
        -4, 4, size=n_coefficients)
    constants = rng.normal(size=(n_runs, n_components))
    means = rng.normal(size=(n_runs, n_components, n_features))
    weights = rng.normal(size=(n_runs, n_coefficients))
    extras = rng.uniform(0.0, 10.0, size=n_runs)
    out = np.full((n_runs, n_components), np.nan)
    component_log_prior_terms(coefficients, constants, means, weights, extras, 0.01, out)
    expected = _numpy_terms(coefficients, constants, means, weights, extras, 0.01)
    np.testing.assert_allclose(out, expected, rtol=1e-13,
                               atol=1e-13 * np.abs(coefficients).max())


def test_the_terms_fill_a_strided_view_of_the_stack():
    """The batch passes rows of its stack: views, the means strided in the packed rows."""
    rng = np.random.default_rng(0)
    packed = rng.normal(size=(6, 3 + 3 * 2 + 5))
    means = packed[:, 3:9].reshape(6, 3, 2)[2:5]
    coefficients = rng.normal(size=(3, 3, 6))
    constants, weights = rng.normal(size=(3, 3)), rng.normal(size=(3, 6))
    extras = np.array([1.0, 2.0, 3.0])
    terms = np.zeros((6, 3))
    component_log_prior_terms(coefficients, constants, means, weights, extras, 0.5, terms[2:5])
    np.testing.assert_allclose(
        terms[2:5], _numpy_terms(coefficients, constants, means, weights, extras, 0.5),
        rtol=1e-13)
    np.testing.assert_array_equal(terms[[0, 1, 5]], 0.0)


def test_the_posterior_means_are_the_priors_to_the_last_bit():
    """Present components move to ConjugatePrior.posterior_means; absent ones stay."""
    from bayesmix.covariance.prior import ConjugatePrior

    rng = np.random.default_rng(3)
    counts = rng.uniform(0.0, 50.0, size=(5, 4))
    means = rng.normal(size=(5, 4, 3)) * 100.0
    present = np.arange(4) < rng.integers(1, 5, size=5)[:, np.newaxis]
    prior = ConjugatePrior(shrinkage=0.01, mean=rng.normal(size=3))
    moved = means.copy()
    move_to_posterior_means(counts, moved, present, prior.mean, 0.01)
    np.testing.assert_array_equal(
        moved, np.where(present[..., np.newaxis], prior.posterior_means(counts, means), means))
