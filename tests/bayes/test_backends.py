"""The inference back ends, parametrised over the registry.

Every registered back end fits a tiny model into the common InferenceData layout, with
the diagnostics of its kind (sampler or approximation), and reports them to selection,
comparison and plot titles through the same interface. A new back end needs only its
fast-tier settings in ``conftest.FAST_FIT`` to be tested here.
"""

import inspect
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import FAST_FIT, N_COMPONENTS

from bayesmix import GaussianMixtureEM, compare
from bayesmix.bayes import GaussianMixtureBayes
from bayesmix.bayes.backends import (
    BACKENDS,
    InferenceBackend,
    InferenceMethod,
    available_methods,
    get_backend,
    inference_method_of,
)
from bayesmix.bayes.backends.base import SelectionDiagnostics
from bayesmix.bayes.estimator import FIT_SETTINGS
from bayesmix.exceptions import DivergenceWarning, VIConvergenceWarning
from bayesmix.results import build_inference_data
from bayesmix.selection import select_bayes

NAMES = available_methods()
SAMPLERS = [name for name in NAMES if BACKENDS[name].is_sampler]
APPROXIMATIONS = [name for name in NAMES if not BACKENDS[name].is_sampler]
STRUCTURE = "spherical"  # the cheapest model to compile and sample


@pytest.fixture(scope="module")
def fit_of(fitted):
    """``fit_of(name)``: the session's fast-tier fit of that back end (of ``STRUCTURE``,
    or of the first structure the back end fits when it does not fit that one)."""
    return lambda name: fitted(structure_of(name), name)


def structure_of(name):
    fits = BACKENDS[name].covariance_types
    return STRUCTURE if fits is None or STRUCTURE in fits else fits[0]


@pytest.fixture(scope="module")
def X(mixtures):
    return mixtures[STRUCTURE].X


# ----------------------------------------------------------------- the registry
def test_the_registry_names_every_back_end_once():
    assert NAMES == tuple(BACKENDS) == ("nuts", "advi", "fullrank_advi", "gibbs")
    assert SAMPLERS and APPROXIMATIONS
    for name, backend in BACKENDS.items():
        assert isinstance(backend, InferenceBackend)
        assert backend.name == name and backend.fittable and backend.label
        assert get_backend(name) is backend
    assert set(FAST_FIT) == set(NAMES), "every back end needs fast-tier settings"


def test_the_registry_loads_neither_pymc_nor_arviz():
    """Comparison and plot titles look EM fits up here too: that must stay light."""
    code = ("import sys, bayesmix.bayes.backends; print(sorted(name for name in "
            "('pymc', 'pytensor', 'jax', 'arviz') if name in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"


@pytest.mark.parametrize("name", NAMES)
def test_fit_options_are_settings_of_the_estimator_or_options_of_the_back_end(name):
    """Every option a back end takes is a constructor setting (which fit may override)
    or one of the back end's own options (passed through sampler_kwargs)."""
    backend = BACKENDS[name]
    settings = set(FIT_SETTINGS)
    assert settings <= set(inspect.signature(GaussianMixtureBayes.__init__).parameters)
    assert set(backend.fit_options) <= settings | set(backend.options)
    assert not set(backend.options) & settings


@pytest.mark.parametrize("name", ["stan", "em", "NUTS", None])
def test_an_unknown_method_is_one_clear_error_naming_the_valid_ones(name, X):
    message = re.escape(f"method must be one of 'nuts', 'advi', 'fullrank_advi', 'gibbs', got "
                        f"{name!r}.")
    with pytest.raises(ValueError, match=f"^{message}$"):
        get_backend(name)
    with pytest.raises(ValueError, match=f"^{message}$"):
        GaussianMixtureBayes(1).fit(X, method=name)
    with pytest.raises(ValueError, match=f"^{message}$"):
        select_bayes(X, n_components=[1], method=name)


@pytest.mark.parametrize(("name", "options", "error", "match"), [
    *[(name, {"target_accept": 0.9}, TypeError,
       rf"unexpected keyword argument 'target_accept' for method='{name}', which accepts "
       rf"n_iter, tol, learning_rate\. Remove it, or use method='nuts'")
      for name in APPROXIMATIONS],
    ("gibbs", {"target_accept": 0.9}, TypeError,
     r"unexpected keyword argument 'target_accept' for method='gibbs', which accepts "
     r"conjugate_prior\."),
    ("gibbs", {"batch_size": 10}, ValueError,
     r"batch_size=10 does not apply to method='gibbs'"),
    ("nuts", {"batch_size": 10}, ValueError,
     r"batch_size=10 is for variational inference, but method='nuts'"),
    ("nuts", {"nuts_sampler": "stan"}, ValueError,
     r"nuts_sampler must be one of 'numpyro', 'pymc', 'nutpie', got 'stan'"),
])
def test_options_of_another_back_end_are_refused_before_any_work(name, options, error,
                                                                 match, X):
    estimator = GaussianMixtureBayes(1)
    with pytest.raises(error, match=match):
        estimator.fit(X, method=name, **options)
    assert not hasattr(estimator, "model_")


# ----------------------------------------------------------------- fitting
@pytest.mark.parametrize("name", NAMES)
def test_every_back_end_fits_the_common_layout(fit_of, X, name):
    estimator = fit_of(name)
    idata = estimator.idata_
    n_chains = FAST_FIT[name]["chains"] if BACKENDS[name].is_sampler else 1
    n_draws = FAST_FIT[name]["draws"]
    assert {"posterior", "log_likelihood", "observed_data", "sample_stats"} <= set(
        idata.groups())
    posterior = idata.posterior
    assert posterior["weights"].dims == ("chain", "draw", "component")
    assert posterior["means"].dims == ("chain", "draw", "component", "feature")
    assert posterior["covariances"].dims == ("chain", "draw", "component", "feature",
                                             "feature_bis")
    assert (posterior.sizes["chain"], posterior.sizes["draw"],
            posterior.sizes["component"]) == (n_chains, n_draws, N_COMPONENTS)
    assert idata.log_likelihood["x"].shape == (n_chains, n_draws, len(X))
    assert "label_permutation" in idata.sample_stats
    for group in idata.groups():
        attrs = idata[group].attrs
        assert attrs["inference_method"] == name
        assert attrs["covariance_type"] == structure_of(name)
        assert attrs["fit_time"] == estimator.diagnostics_["fit_time"] > 0
    assert inference_method_of(idata) is BACKENDS[name]


@pytest.mark.parametrize("name", SAMPLERS)
def test_a_sampler_checks_and_records_its_chains(fit_of, name):
    estimator = fit_of(name)
    diagnostics = estimator.diagnostics_
    assert {"n_divergences", "max_rhat", "min_ess_bulk", "divergences_per_chain",
            "chain_distance", "disagreeing_chains", "warnings"} <= set(diagnostics)
    assert np.isfinite(diagnostics["max_rhat"])  # two chains: R-hat is defined
    stats = estimator.idata_.sample_stats
    assert stats["chain_divergences"].values.sum() == diagnostics["n_divergences"]
    assert "bayesmix_diagnostics" in stats.attrs


@pytest.mark.parametrize("name", APPROXIMATIONS)
def test_an_approximation_records_its_convergence_and_loss(fit_of, name):
    estimator = fit_of(name)
    converged = estimator.diagnostics_["converged"]
    assert isinstance(converged, bool)
    assert estimator.idata_.posterior.attrs["converged"] == int(converged)
    loss = estimator.idata_.sample_stats["loss"]
    assert loss.dims == ("iteration",)
    assert (len(loss) < FAST_FIT[name]["n_iter"]) == converged


# ----------------------------------------------------------------- consumers
@pytest.mark.parametrize("name", NAMES)
def test_compare_fills_the_columns_of_the_back_ends_kind(fit_of, name):
    estimator = fit_of(name)
    row = compare({name: estimator}).loc[name]
    assert row["method"] == name
    sampler_columns = row[["divergences", "max_rhat", "min_ess_bulk"]]
    if BACKENDS[name].is_sampler:
        assert sampler_columns.notna().all() and np.isnan(row["converged"])
        assert row["divergences"] == estimator.diagnostics_["n_divergences"]
    else:
        assert sampler_columns.isna().all()
        assert row["converged"] == float(estimator.diagnostics_["converged"])


@pytest.mark.parametrize("name", NAMES)
def test_a_selection_row_reads_the_back_ends_diagnostics(fit_of, name):
    backend, estimator = BACKENDS[name], fit_of(name)
    result = backend.selection_diagnostics(estimator.diagnostics_)
    assert isinstance(result, SelectionDiagnostics)
    assert all(isinstance(note, str) for note in result.notes)
    if backend.is_sampler:
        assert result.divergences == estimator.diagnostics_["n_divergences"]
    else:
        assert np.isnan(result.divergences)
        assert result.converged == estimator.diagnostics_["converged"]


@pytest.mark.parametrize("name", NAMES)
def test_the_chosen_fit_is_warned_about_in_the_back_ends_terms(name):
    backend = BACKENDS[name]
    what = "The chosen fit (2 components, 'full')"
    clean = pd.Series({"divergences": 0.0 if backend.is_sampler else np.nan,
                       "converged": True})
    assert backend.choice_warnings(clean, what) == []
    if backend.is_sampler:
        bad, category, advice = (pd.Series({"divergences": 3.0, "converged": True}),
                                 DivergenceWarning, "raise target_accept")
    else:
        bad, category, advice = (pd.Series({"divergences": np.nan, "converged": False}),
                                 VIConvergenceWarning, "raise n_iter")
    [(message, warned)] = backend.choice_warnings(bad, what)
    assert warned is category and message.startswith(what) and advice in message


@pytest.mark.parametrize("name", NAMES)
def test_plot_titles_name_the_back_end(name):
    assert BACKENDS[name].plot_label("posterior mean") == f"posterior mean ({name})"


def test_fits_from_elsewhere_are_described_without_a_back_end(X):
    em = GaussianMixtureEM(2, random_state=0).fit(X).to_inference_data()
    described = inference_method_of(em)
    assert (described.name, described.plot_label(), described.fittable) == ("em", "EM",
                                                                            False)
    assert described.compare_columns(em) == {"converged": 1.0}

    draws = build_inference_data(
        X=X, weights=np.ones((1, 3, 1)), means=np.zeros((1, 3, 1, 2)),
        covariances=np.broadcast_to(np.eye(2), (1, 3, 1, 2, 2)), covariance_type="full",
        inference_method="smc")
    described = inference_method_of(draws)
    assert type(described) is InferenceMethod and not described.is_sampler
    assert described.plot_label() == "posterior (smc)"
    assert described.compare_columns(draws) == {}
    del draws.posterior.attrs["inference_method"]
    assert inference_method_of(draws).plot_label() == "posterior (fit)"
    # Bootstrap draws are called bootstrap draws; without sample_stats, no convergence.
    draws.posterior.attrs["inference_method"] = "bootstrap"
    described = inference_method_of(draws)
    assert (described.plot_label(), described.plot_label("posterior mean")) == (
        "bootstrap", "bootstrap mean")
    assert not described.fittable and described.compare_columns(draws) == {}
