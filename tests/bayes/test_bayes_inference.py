"""Inference helpers: initial values, diagnostics warnings, VI convergence, back ends."""

import importlib.util
import os
import warnings

import arviz as az
import numpy as np
import pytest

from bayesmix.bayes import MixturePriors, build_model
from bayesmix.bayes.inference import (
    check_sampler_diagnostics,
    configure_host_devices,
    fit_vi,
    initial_values,
    sample_nuts,
)
from bayesmix.bayes.correlations import correlation_cholesky
from bayesmix.exceptions import (
    DivergenceWarning,
    ESSWarning,
    RhatWarning,
    SamplerDiagnosticWarning,
    VIConvergenceWarning,
)

RNG = np.random.default_rng(0)
A = RNG.normal(size=(3, 3, 3))
COVARIANCES = A @ np.swapaxes(A, 1, 2) + np.eye(3)
WEIGHTS = np.array([0.2, 0.5, 0.3])
MEANS = np.array([[2.0, 0.0, 1.0], [-1.0, 1.0, 0.0], [0.5, -2.0, 3.0]])
PRIORS = MixturePriors(means_loc=[0.5, -1.0, 2.0], means_scale=[2.0, 3.0, 4.0])


def _covariances_from(values, covariance_type):
    if covariance_type == "spherical":
        return values["sigma"] ** 2
    sigmas = values["sigmas"]
    if covariance_type == "diag":
        return sigmas**2
    chol = sigmas[..., :, None] * correlation_cholesky(2 * values["corr_cpc"] - 1, 3)
    return chol @ np.swapaxes(chol, -1, -2)


def test_initial_values_reproduce_full_covariances():
    values = initial_values(WEIGHTS, MEANS, COVARIANCES, "full", PRIORS)
    np.testing.assert_allclose(_covariances_from(values, "full"), COVARIANCES, rtol=1e-8)
    np.testing.assert_allclose(values["weights"], WEIGHTS)
    np.testing.assert_allclose(PRIORS.means_loc + PRIORS.means_scale * values["means_offset"],
                               MEANS)


@pytest.mark.parametrize("covariance_type", ["tied", "diag", "spherical"])
def test_initial_values_of_the_other_structures(covariance_type):
    values = initial_values(WEIGHTS, MEANS, COVARIANCES, covariance_type, PRIORS)
    variances = np.diagonal(COVARIANCES, axis1=1, axis2=2)
    expected = {"tied": None, "diag": variances, "spherical": variances.mean(axis=1)}
    result = _covariances_from(values, covariance_type)
    if covariance_type == "tied":
        assert result.shape == (3, 3)
        np.testing.assert_allclose(np.diag(result), np.sqrt(variances).mean(axis=0) ** 2)
    else:
        np.testing.assert_allclose(result, expected[covariance_type])


def test_initial_values_ordered_and_jittered():
    rng = np.random.default_rng(1)
    values = initial_values(WEIGHTS, MEANS, COVARIANCES, "full", PRIORS, ordered_means=True,
                            rng=rng, jitter=0.05)
    assert np.all(np.diff(values["means_offset_first"]) > 0)
    assert values["means_offset_rest"].shape == (3, 2)
    assert values["weights"].sum() == pytest.approx(1.0)
    order = np.argsort(MEANS[:, 0])
    assert not np.allclose(values["weights"], WEIGHTS[order])
    np.testing.assert_allclose(values["weights"], WEIGHTS[order], atol=0.1)
    first_means = PRIORS.means_loc[0] + PRIORS.means_scale[0] * values["means_offset_first"]
    np.testing.assert_allclose(first_means, MEANS[order, 0], atol=0.5)
    assert np.all((values["corr_cpc"] > 0) & (values["corr_cpc"] < 1))


def _posterior(values, diverging=None):
    idata = az.from_dict(posterior={"weights": values},
                         sample_stats=None if diverging is None else {"diverging": diverging},
                         dims={"weights": ["component"]})
    return idata


def test_good_draws_raise_no_warning():
    draws = RNG.dirichlet([5, 5], size=(4, 500))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SamplerDiagnosticWarning)
        result = check_sampler_diagnostics(_posterior(draws, np.zeros((4, 500), bool)))
    assert result["n_divergences"] == 0
    assert result["max_rhat"] < 1.01
    assert result["min_ess_bulk"] > 400


def test_divergences_warn():
    diverging = np.zeros((4, 500), bool)
    diverging[1, 10] = True
    with pytest.warns(DivergenceWarning, match="1 divergent transition.*target_accept"):
        check_sampler_diagnostics(_posterior(RNG.dirichlet([5, 5], size=(4, 500)),
                                             diverging))


def test_disagreeing_chains_warn_about_rhat():
    draws = RNG.dirichlet([5, 5], size=(4, 500))
    draws[0] = draws[0][:, ::-1] * 0.5 + 0.25  # one chain elsewhere
    with pytest.warns(RhatWarning, match="R-hat.*chains disagree"):
        check_sampler_diagnostics(_posterior(draws))


@pytest.mark.filterwarnings("ignore::bayesmix.exceptions.RhatWarning")
def test_autocorrelated_draws_warn_about_ess():
    walk = np.cumsum(RNG.normal(scale=0.01, size=(4, 200)), axis=1) + 0.5
    draws = np.stack([walk, 1 - walk], axis=-1)
    with pytest.warns(ESSWarning, match="effective sample size.*draws="):
        check_sampler_diagnostics(_posterior(draws))


@pytest.fixture(scope="module")
def small_model():
    X = np.random.default_rng(2).normal(size=(40, 1))
    return build_model(X, 1, "spherical")


def test_vi_that_stops_early_warns(small_model):
    with pytest.warns(VIConvergenceWarning, match="did not converge in n_iter=100"):
        result = fit_vi(small_model, n_iter=100, tol=1e-12, draws=10, random_seed=0)
    assert not result.converged
    assert result.loss.shape == (100,)


def test_bad_sampler_arguments(small_model):
    with pytest.raises(ValueError, match="nuts_sampler must be one of"):
        sample_nuts(small_model, nuts_sampler="stan")
    with pytest.raises(ValueError, match=r"target_accept must be in \(0, 1\)"):
        sample_nuts(small_model, target_accept=1.0)
    with pytest.raises(ValueError, match="method must be one of 'advi', 'fullrank_advi'"):
        fit_vi(small_model, method="svgd")


@pytest.mark.skipif(importlib.util.find_spec("nutpie") is not None,
                    reason="nutpie is installed")
def test_missing_nutpie_is_explained(small_model):
    with pytest.raises(ValueError, match="pip install nutpie"):
        sample_nuts(small_model, nuts_sampler="nutpie")


def test_host_devices_are_configured_once():
    assert "--xla_force_host_platform_device_count" in os.environ["XLA_FLAGS"]
    assert configure_host_devices(8) is False


def test_diverging_vi_says_what_to_change():
    model = build_model(np.random.default_rng(0).normal(size=(40, 1)), 2, "full")
    with pytest.raises(ValueError, match=r"advi diverged.*Lower learning_rate \(it is "
                                         r"100000000.0\)"):
        fit_vi(model, n_iter=500, learning_rate=1e8, random_seed=0)
