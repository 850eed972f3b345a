"""Sampler faults: each is reported by a specific warning or error and recorded.

Faults are provoked deterministically and cheaply: initial values outside the support
(no sampling needed: the check runs first), the back end's failure at a non-finite start
(raised as PyMC raises it), and posteriors built by hand with divergences or a chain in
another mode, run through the diagnostics directly and through ``fit`` with the sampler
replaced by one returning them. A real sampler run is behind the ``slow`` marker.
"""

import json
import warnings

import arviz as az
import numpy as np
import pytest
from pymc.exceptions import SamplingError

from bayesmix.bayes import GaussianMixtureBayes, build_model
from bayesmix.bayes.backends import nuts
from bayesmix.bayes.inference import (
    check_initial_points,
    check_sampler_diagnostics,
    record_diagnostics,
    sample_nuts,
)
from bayesmix.exceptions import (
    ChainDisagreementWarning,
    DivergenceWarning,
    ESSWarning,
    InitialPointError,
    RhatWarning,
    SamplerDiagnosticWarning,
)

RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(-5, 1, (60, 1)), rng.normal(5, 1, (60, 1))])


@pytest.fixture(scope="module")
def model(data):
    return build_model(data, 2, "spherical")


def _good_start():
    return {"weights": np.array([0.5, 0.5]), "means": np.array([[-5.0], [5.0]]),
            "sigma": np.array([1.0, 1.0])}


# ----------------------------------------------------------------- non-finite start
@pytest.mark.parametrize("name, value, support", [
    ("sigma", np.array([1.0, -1.0]), "positive"),
    ("weights", np.array([1.2, -0.2]), "summing to one"),
])
def test_initial_values_outside_the_support_are_a_clear_error(model, name, value, support):
    bad = {**_good_start(), name: value}
    with pytest.raises(InitialPointError,
                       match=rf"Chain 1 cannot start.*log p\({name}\) = nan.*{support}"):
        sample_nuts(model, initvals=[_good_start(), bad], chains=2, draws=5, tune=5)


def test_good_initial_values_pass_the_check(model):
    check_initial_points(model, [_good_start(), _good_start()])


def test_data_that_overflow_the_likelihood_are_a_clear_error(model):
    # sigma = 1e-200 is inside the support, but (x - mean) / sigma overflows: the
    # likelihood is not finite at this start.
    start = {**_good_start(), "sigma": np.array([1e-200, 1e-200])}
    with pytest.raises(InitialPointError,
                       match=r"Chain 0 cannot start.*log p\(x\) = -inf.*data \(x\) "
                             r"overflows.*rescale X"):
        sample_nuts(model, initvals=[start], chains=1, draws=5, tune=5)


def test_a_jittered_start_failing_in_the_sampler_becomes_a_clear_error(model, monkeypatch):
    def failing_backend(*args):
        raise SamplingError("Bad initial energy: SamplerWarning(...)")

    monkeypatch.setattr(nuts, "_sample_backend", failing_backend)
    with pytest.raises(InitialPointError, match="jittered initial point.*Bad initial energy"):
        sample_nuts(model, chains=1, draws=5, tune=5, nuts_sampler="pymc")


def test_other_sampler_errors_pass_through(model, monkeypatch):
    def failing_backend(*args):
        raise SamplingError("Chain 0 failed.")

    monkeypatch.setattr(nuts, "_sample_backend", failing_backend)
    with pytest.raises(SamplingError, match="Chain 0 failed"):
        sample_nuts(model, initvals=[_good_start()], chains=1, draws=5, tune=5)


# ----------------------------------------------------------------- constructed posteriors
def _posterior(n_chains=4, n_draws=400, stuck=(), diverging=None):
    """Relabelled-looking draws of a two-component 1-D mixture; ``stuck`` chains sit in
    another mode (component 0's mean 10 posterior SDs away, the weights 5 SDs)."""
    means = np.array([-5.0, 5.0]) + 0.1 * RNG.standard_normal((n_chains, n_draws, 2))
    weights = np.array([0.5, 0.5]) + 0.02 * RNG.standard_normal((n_chains, n_draws, 2))
    for chain in stuck:
        means[chain, :, 0] += 1.0
        weights[chain] += [-0.1, 0.1]
    stats = {"diverging": np.zeros((n_chains, n_draws), bool) if diverging is None
             else diverging}
    return az.from_dict(posterior={"weights": weights, "means": means[..., None]},
                        sample_stats=stats,
                        dims={"weights": ["component"], "means": ["component", "feature"]},
                        coords={"feature": ["x0"]})


def _record(idata):
    return json.loads(idata.sample_stats.attrs["bayesmix_diagnostics"])


def test_a_chain_in_another_mode_is_named_and_recorded():
    idata = _posterior(stuck=[3])
    with pytest.warns(ChainDisagreementWarning,
                      match=r"Chain\(s\) 3 disagree.*another mode.*chain 3: posterior mean of "
                            r"means\[0, x0\].*sel\(chain=\[0, 1, 2\]\)"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RhatWarning)
            warnings.simplefilter("ignore", ESSWarning)
            diagnostics = check_sampler_diagnostics(idata)
    assert diagnostics["disagreeing_chains"] == [3]
    assert diagnostics["chain_distance"][3] > 5 > 1 > max(diagnostics["chain_distance"][:3])
    record_diagnostics(idata, diagnostics)
    assert idata.sample_stats["chain_disagrees"].values.tolist() == [False] * 3 + [True]
    assert idata.sample_stats["chain_distance"].values[3] == pytest.approx(
        diagnostics["chain_distance"][3])
    warned = [w["warning"] for w in _record(idata)["warnings"]]
    assert warned[:2] == ["ChainDisagreementWarning", "RhatWarning"]


def test_two_disagreeing_chains_say_more_chains_are_needed():
    with pytest.warns(ChainDisagreementWarning, match="two chains.*not possible to say"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RhatWarning)
            warnings.simplefilter("ignore", ESSWarning)
            diagnostics = check_sampler_diagnostics(_posterior(n_chains=2, stuck=[1]))
    assert diagnostics["disagreeing_chains"] == [0, 1]


def test_agreeing_chains_are_not_flagged():
    idata = _posterior()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        diagnostics = check_sampler_diagnostics(idata)
    record_diagnostics(idata, diagnostics)
    assert not idata.sample_stats["chain_disagrees"].values.any()
    assert _record(idata)["warnings"] == []


@pytest.mark.parametrize("numba_on", [True, False])
def test_rhat_and_ess_are_arvizs_and_leave_its_numba_setting_alone(numba_on):
    idata = _posterior(stuck=[3])
    posterior = idata.posterior[["weights", "means"]]
    expected_rhat = float(az.rhat(posterior).to_array().max())
    expected_ess = float(az.ess(posterior, method="bulk").to_array().min())
    if not numba_on:
        az.Numba.disable_numba()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            diagnostics = check_sampler_diagnostics(idata)
        assert az.Numba.numba_flag is numba_on
    finally:
        az.Numba.enable_numba()
    assert diagnostics["max_rhat"] == pytest.approx(expected_rhat, rel=1e-12)
    assert diagnostics["min_ess_bulk"] == pytest.approx(expected_ess, rel=1e-12)


def test_divergences_are_counted_per_chain_and_recorded(tmp_path):
    diverging = np.zeros((4, 400), bool)
    diverging[2, [5, 50, 60]] = True
    idata = _posterior(diverging=diverging)
    with pytest.warns(DivergenceWarning,
                      match=r"3 divergent transition\(s\) out of 1600 draws \(chain 2: 3\).*"
                            r"all come from one chain.*target_accept"):
        diagnostics = check_sampler_diagnostics(idata)
    record_diagnostics(idata, diagnostics)
    assert idata.sample_stats["chain_divergences"].values.tolist() == [0, 0, 3, 0]
    idata.to_netcdf(tmp_path / "idata.nc")  # the record survives saving
    record = _record(az.from_netcdf(tmp_path / "idata.nc"))
    assert record["divergences_per_chain"] == [0, 0, 3, 0]
    assert record["warnings"][0]["warning"] == "DivergenceWarning"
    assert "chain 2: 3" in record["warnings"][0]["message"]


# ----------------------------------------------------------------- through fit
def test_fit_reports_and_records_every_fault(data, monkeypatch):
    """The estimator's own path: relabelling, then diagnostics, then the record."""
    diverging = np.zeros((4, 400), bool)
    diverging[0, 3] = True

    def fake_sampler(model, *, chains, draws, **kwargs):
        idata = _posterior(n_chains=chains, n_draws=draws, stuck=[1], diverging=diverging)
        covariances = np.ones((chains, draws, 2, 1, 1))
        idata.posterior["covariances"] = (("chain", "draw", "component", "feature",
                                           "feature_bis"), covariances)
        return idata

    monkeypatch.setattr(nuts, "sample_nuts", fake_sampler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bayes = GaussianMixtureBayes(2, covariance_type="spherical", random_state=0).fit(
            data, draws=400, chains=4)
    categories = {w.category for w in caught}
    assert {DivergenceWarning, ChainDisagreementWarning} <= categories
    stats = bayes.idata_.sample_stats
    assert stats["chain_disagrees"].values.tolist() == [False, True, False, False]
    assert stats["chain_divergences"].values.tolist() == [1, 0, 0, 0]
    assert bayes.diagnostics_["disagreeing_chains"] == [1]
    recorded = json.loads(stats.attrs["bayesmix_diagnostics"])["warnings"]
    assert {w["warning"] for w in recorded} == {
        c.__name__ for c in categories if issubclass(c, SamplerDiagnosticWarning)}


@pytest.mark.slow
def test_real_sampler_with_a_tiny_target_accept_diverges_and_records_it(data):
    with pytest.warns(DivergenceWarning, match="divergent transition"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ESSWarning)
            warnings.simplefilter("ignore", RhatWarning)
            warnings.simplefilter("ignore", ChainDisagreementWarning)
            bayes = GaussianMixtureBayes(3, covariance_type="spherical", random_state=0).fit(
                data, draws=200, tune=50, chains=2, target_accept=0.05)
    stats = bayes.idata_.sample_stats
    assert stats["chain_divergences"].values.sum() == stats["diverging"].values.sum() > 0
