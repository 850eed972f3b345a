"""The truncated stick-breaking Dirichlet-process prior on the weights.

``MixturePriors.dirichlet_process(alpha)``: in the PyMC model (NUTS, ADVI) the weights
are built from Beta sticks; the Gibbs sampler draws the sticks from their conjugate
posterior (its update is tested in test_gibbs.py).
"""

import warnings

import numpy as np
import pymc as pm
import pytest

from bayesmix import make_mixture
from bayesmix.bayes import GaussianMixtureBayes, MixturePriors, build_model
from bayesmix.bayes.model import sticks_from_weights, weights_initial_values
from bayesmix.bayes.priors import DEFAULT_DP_CONCENTRATION
from bayesmix.exceptions import SamplerDiagnosticWarning, VIConvergenceWarning

X, _, _ = make_mixture(60, n_components=2, random_state=0)


def test_the_dirichlet_process_prior_is_one_concentration():
    priors = MixturePriors.dirichlet_process()
    assert priors.dp_concentration == DEFAULT_DP_CONCENTRATION == 1.0
    assert priors.weights_alpha is None
    resolved = MixturePriors.dirichlet_process(alpha=0.5, lkj_eta=3.0).resolve(X, 4)
    assert resolved.weights_alpha is None and resolved.dp_concentration == 0.5
    assert resolved.lkj_eta == 3.0
    assert "dp_concentration=0.5" in repr(resolved)
    assert "dp_concentration" not in repr(MixturePriors())  # shown only when set


@pytest.mark.parametrize(("make", "match"), [
    (lambda: MixturePriors.dirichlet_process(alpha=0.0), r"dp_concentration must be > 0"),
    (lambda: MixturePriors.dirichlet_process(alpha="1"),
     r"dp_concentration must be a finite real number"),
    (lambda: MixturePriors(weights_alpha=0.5, dp_concentration=1.0),
     r"two priors on the weights; pass one"),
])
def test_a_bad_concentration_is_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_sticks_break_the_stick_into_the_weights():
    weights = np.array([0.4, 0.3, 0.2, 0.1])
    sticks = sticks_from_weights(weights)
    rebuilt = np.append(sticks, 1.0) * np.concatenate([[1.0], np.cumprod(1 - sticks)])
    np.testing.assert_allclose(rebuilt, weights)
    assert weights_initial_values(weights, MixturePriors().resolve(X, 4)) == {
        "weights": weights}
    assert set(weights_initial_values(weights, MixturePriors.dirichlet_process())) == {
        "sticks"}


def test_the_models_weights_follow_the_stick_breaking_prior():
    """Prior draws of the PyMC model's weights: ``E[w_k] = (1 / (1 + a)) (a / (1 +
    a))^(k - 1)`` for ``k < K`` and the last takes the rest, ``(a / (1 + a))^(K - 1)``."""
    alpha, n_components = 2.0, 4
    model = build_model(X, n_components, priors=MixturePriors.dirichlet_process(alpha))
    assert "sticks" in [rv.name for rv in model.free_RVs]
    assert "weights" not in [rv.name for rv in model.free_RVs]
    draws = pm.draw(model["weights"], draws=8000, random_seed=0)
    assert draws.shape == (8000, n_components)
    np.testing.assert_allclose(draws.sum(axis=1), 1.0)
    ratio = alpha / (1 + alpha)
    expected = np.append(ratio ** np.arange(n_components - 1) / (1 + alpha),
                         ratio ** (n_components - 1))
    error = draws.std(axis=0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - expected) < 4 * error)


def test_the_model_refuses_one_component_and_ordered_means():
    priors = MixturePriors.dirichlet_process()
    with pytest.raises(ValueError, match=r"needs n_components >= 2, got 1"):
        build_model(X, 1, priors=priors)
    with pytest.raises(ValueError, match=r"ordered_means=True cannot be used"):
        build_model(X, 3, priors=priors, ordered_means=True)


@pytest.mark.parametrize(("method", "settings"), [
    pytest.param("advi", {"draws": 100, "n_iter": 1500}, marks=pytest.mark.slow),
    ("gibbs", {"draws": 100, "tune": 50, "chains": 2}),
])
def test_a_dirichlet_process_mixture_fits_and_counts_its_clusters(method, settings):
    """ADVI starts from the EM fit's weights turned into sticks; both back ends give the
    common layout, and posterior_n_components counts the occupied components."""
    bayes = GaussianMixtureBayes(4, priors=MixturePriors.dirichlet_process(0.5),
                                 random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerDiagnosticWarning)
        warnings.simplefilter("ignore", VIConvergenceWarning)
        bayes.fit(X, method=method, **settings)
    weights = bayes.idata_.posterior["weights"]
    assert weights.dims == ("chain", "draw", "component") and weights.sizes["component"] == 4
    np.testing.assert_allclose(weights.sum("component"), 1.0)
    table = bayes.posterior_n_components(random_state=0)
    assert list(table.index) == [1, 2, 3, 4]
    assert table.sum() == pytest.approx(1.0) and table[2:].sum() > 0.5


@pytest.mark.slow
def test_nuts_samples_the_stick_breaking_model():
    """NUTS on the stick-breaking weights (about a minute): the two well-separated
    clusters of ``X`` are found, with the chains in agreement."""
    bayes = GaussianMixtureBayes(4, covariance_type="spherical",
                                 priors=MixturePriors.dirichlet_process(0.5), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerDiagnosticWarning)
        bayes.fit(X, draws=300, tune=300, chains=2)
    assert "sticks" in bayes.idata_.posterior
    table = bayes.posterior_n_components(random_state=0)
    assert table.idxmax() == 2, table
