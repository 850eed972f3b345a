"""StudentMixtureEM against an independent t-mixture EM written here from the textbook.

The reference is McLachlan and Peel's (2000, section 7.5) ECM for a mixture of
multivariate t with full scale matrices, written plainly (a loop over components, SciPy's
``multivariate_t`` for the density, ``brentq`` for the degrees of freedom): none of
bayesmix's code. On Old Faithful with 5 % gross outliers, bayesmix's fit must reach the
log-likelihood the reference reaches from a start of its own, and be a fixed point of the
reference's iteration (the textbook ECM leaves its parameters where they are).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import digamma
from scipy.stats import multivariate_t

from bayesmix import StudentMixtureEM, load_old_faithful

#: The largest degrees of freedom, bayesmix's bound (families.student_t.DOF_BOUNDS), set
#: here by hand: beyond it the component is Gaussian for every practical purpose.
DOF_MAX = 200.0


def _faithful_with_outliers() -> np.ndarray:
    X = load_old_faithful().to_numpy()
    rng = np.random.default_rng(0)
    low, high = X.min(axis=0), X.max(axis=0)
    span = high - low
    outliers = rng.uniform(low - span, high + span, size=(14, 2))
    return np.vstack([X, outliers])


def _log_densities(X, weights, means, scales, dof):
    return np.column_stack([np.log(w) + multivariate_t(m, s, df=v).logpdf(X)
                            for w, m, s, v in zip(weights, means, scales, dof)])


def _reference_ecm(X, weights, means, scales, dof, n_iter=3000, tol=1e-12):
    """McLachlan and Peel's ECM; returns the parameters and the log-likelihood."""
    n, p = X.shape
    previous = -np.inf
    for _ in range(n_iter):
        log_dens = _log_densities(X, weights, means, scales, dof)
        log_lik = np.logaddexp.reduce(log_dens, axis=1)
        total = log_lik.sum()
        if abs(total - previous) < tol * abs(total):
            break
        previous = total
        tau = np.exp(log_dens - log_lik[:, None])
        new_weights, new_means, new_scales, new_dof = [], [], [], []
        for k in range(len(weights)):
            centred = X - means[k]
            delta = np.einsum("ij,jk,ik->i", centred, np.linalg.inv(scales[k]), centred)
            u = (dof[k] + p) / (dof[k] + delta)
            n_k = tau[:, k].sum()
            mean = (tau[:, k] * u) @ X / (tau[:, k] * u).sum()
            centred = X - mean
            scale = (tau[:, k] * u * centred.T) @ centred / n_k
            constant = (1.0 + (tau[:, k] * (np.log(u) - u)).sum() / n_k
                        + digamma((dof[k] + p) / 2) - np.log((dof[k] + p) / 2))

            def score(nu, constant=constant):
                return -digamma(nu / 2) + np.log(nu / 2) + constant

            new_dof.append(brentq(score, 1e-3, DOF_MAX) if score(DOF_MAX) < 0 else DOF_MAX)
            new_weights.append(n_k / n)
            new_means.append(mean)
            new_scales.append(scale)
        weights, means = np.array(new_weights), np.array(new_means)
        scales, dof = np.array(new_scales), np.array(new_dof)
    return weights, means, scales, dof, total


@pytest.fixture(scope="module")
def fits():
    X = _faithful_with_outliers()
    ours = StudentMixtureEM(2, covariance_type="full", n_init=5, tol=1e-12, max_iter=5000,
                            random_state=0).fit(X)
    # The reference starts from our fit's hard partition, its moments and dof 10.
    labels = ours.predict(X)
    weights = np.bincount(labels, minlength=2) / len(X)
    means = np.array([X[labels == k].mean(axis=0) for k in range(2)])
    scales = np.array([np.cov(X[labels == k].T) for k in range(2)])
    reference = _reference_ecm(X, weights, means, scales, np.full(2, 10.0))
    return X, ours, reference


def test_the_maximised_log_likelihood_reaches_the_reference_ecms(fits):
    X, ours, (*_, reference_log_lik) = fits
    ours_log_lik = ours.score(X) * len(X)
    assert ours_log_lik >= reference_log_lik - 1e-6, (ours_log_lik, reference_log_lik)
    assert ours_log_lik == pytest.approx(reference_log_lik, abs=0.01)


def test_the_fit_is_a_fixed_point_of_the_reference_ecm(fits):
    X, ours, _ = fits
    start = ours.weights_, ours.means_, ours.scales_, ours.dof_
    weights, means, scales, dof, log_lik = _reference_ecm(X, *start, n_iter=20, tol=0.0)
    assert log_lik == pytest.approx(ours.score(X) * len(X), abs=1e-6)
    np.testing.assert_allclose(weights, ours.weights_, rtol=1e-5)
    np.testing.assert_allclose(means, ours.means_, rtol=1e-5)
    np.testing.assert_allclose(scales, ours.scales_, rtol=1e-4)  # reg_covar = 1e-6 aside
    np.testing.assert_allclose(dof, ours.dof_, rtol=1e-4)


def test_the_score_is_scipys_density_at_the_fitted_parameters(fits):
    X, ours, _ = fits
    log_dens = _log_densities(X, ours.weights_, ours.means_, ours.scales_, ours.dof_)
    expected = np.logaddexp.reduce(log_dens, axis=1)
    np.testing.assert_allclose(ours.score_samples(X), expected, rtol=0, atol=1e-8)
    assert abs(ours.score(X) - expected.mean()) < 1e-8
