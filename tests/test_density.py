"""Density kernels against SciPy, for every covariance structure."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from bayesmix.covariance import (
    structure_names,
    cholesky_from_precisions,
    covariances_from_precisions,
    get_structure,
    log_det_cholesky,
    n_parameters,
    precision_cholesky,
    precisions_from_cholesky,
    to_full,
)
from bayesmix.density import (
    log_gaussian_prob,
    log_mixture_density,
    responsibilities,
    row_chunks,
    weighted_log_prob,
)

K, D = 3, 4


def random_covariances(covariance_type, rng, n_components=K, n_features=D):
    A = rng.normal(size=(n_components, n_features, n_features))
    full = A @ A.transpose(0, 2, 1) + 0.5 * np.eye(n_features)
    drawn = {
        "full": full,
        "tied": full[0],
        "diag": rng.uniform(0.2, 3.0, size=(n_components, n_features)),
        "spherical": rng.uniform(0.2, 3.0, size=n_components),
    }
    if covariance_type in drawn:
        return drawn[covariance_type]
    # mclust's other models: the structure's own draw, with its constraints.
    return get_structure(covariance_type).random_covariances(
        np.random.RandomState(rng.integers(2**31)), n_components, n_features, 0.2, 3.0)


@pytest.fixture(params=structure_names())
def mixture(request):
    rng = np.random.default_rng(7)
    covariance_type = request.param
    covariances = random_covariances(covariance_type, rng)
    return {
        "covariance_type": covariance_type,
        "weights": rng.dirichlet(np.ones(K)),
        "means": rng.normal(scale=3.0, size=(K, D)),
        "covariances": covariances,
        "full": to_full(covariances, covariance_type, K, D),
        "X": rng.normal(scale=4.0, size=(500, D)) + 50.0,
    }


def scipy_log_prob(mixture):
    return np.column_stack([
        multivariate_normal(mixture["means"][k] + 0.0, mixture["full"][k]).logpdf(mixture["X"])
        for k in range(K)
    ])


def factors(mixture):
    return precision_cholesky(mixture["covariances"], mixture["covariance_type"])


def test_log_gaussian_prob_matches_scipy(mixture):
    mixture["means"] = mixture["means"] + 50.0
    ours = log_gaussian_prob(mixture["X"], mixture["means"], factors(mixture),
                             mixture["covariance_type"])
    np.testing.assert_allclose(ours, scipy_log_prob(mixture), rtol=1e-10)


def test_mixture_density_and_responsibilities_match_scipy(mixture):
    expected = scipy_log_prob(mixture) + np.log(mixture["weights"])
    args = (mixture["X"], mixture["weights"], mixture["means"], factors(mixture),
            mixture["covariance_type"])
    np.testing.assert_allclose(weighted_log_prob(*args), expected, rtol=1e-10)
    np.testing.assert_allclose(log_mixture_density(*args), logsumexp(expected, axis=1),
                               rtol=1e-10)
    resp = responsibilities(*args)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0)
    np.testing.assert_allclose(resp, np.exp(expected - logsumexp(expected, axis=1,
                                                                    keepdims=True)),
                               rtol=1e-8, atol=1e-14)


def test_mixture_density_is_stable_far_in_the_tails(mixture):
    far = mixture["X"][:5] + 1e4
    density = log_mixture_density(far, mixture["weights"], mixture["means"], factors(mixture),
                                  mixture["covariance_type"])
    assert np.isfinite(density).all() and (density < -1e3).all()


def test_chunking_does_not_change_results(mixture, monkeypatch):
    args = (mixture["weights"], mixture["means"], factors(mixture), mixture["covariance_type"])
    whole = log_mixture_density(mixture["X"], *args)
    monkeypatch.setattr("bayesmix.density._CHUNK_ELEMENTS", 1)
    assert len(list(row_chunks(500, 10))) == 8
    np.testing.assert_array_equal(log_mixture_density(mixture["X"], *args), whole)


def test_precision_round_trips(mixture):
    covariance_type = mixture["covariance_type"]
    factor = factors(mixture)
    precisions = precisions_from_cholesky(factor, covariance_type)
    np.testing.assert_allclose(covariances_from_precisions(precisions, covariance_type),
                               mixture["covariances"], rtol=1e-10)
    np.testing.assert_allclose(cholesky_from_precisions(precisions, covariance_type), factor,
                               rtol=1e-10, atol=1e-12)
    expected = -0.5 * np.linalg.slogdet(mixture["full"])[1]
    log_det = np.broadcast_to(log_det_cholesky(factor, covariance_type, D), (K,))
    np.testing.assert_allclose(log_det, expected, rtol=1e-10)


@pytest.mark.parametrize(("covariance_type", "expected"),
                         [("full", 2 + 12 + 30), ("tied", 2 + 12 + 10), ("diag", 2 + 12 + 12),
                          ("spherical", 2 + 12 + 3)])
def test_n_parameters(covariance_type, expected):
    assert n_parameters(3, 4, covariance_type) == expected


def test_not_positive_definite_names_the_component():
    covariances = np.stack([np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]])])
    with pytest.raises(ValueError, match="component 1 is not positive definite"):
        precision_cholesky(covariances, "full")
    with pytest.raises(ValueError, match="component 2 is not positive"):
        precision_cholesky(np.array([1.0, 2.0, 0.0]), "spherical")
