"""The model on JAX: one conversion per structure and size, programs compiled once.

The converted log density, its terms and the posterior's variables must equal PyMC's own
(compiled by PyTensor) for the model's data and priors, also when the functions were
converted from another model of the same size; a second fit of the same size must
compile nothing; the compilation cache goes where ``BAYESMIX_CACHE_DIR`` says; the JAX
ADVI must find the approximation PyMC's loop finds from the same start.
"""

import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
import warnings
import weakref

import jax
import numpy as np
import pymc as pm
import pytest

from bayesmix.bayes import GaussianMixtureBayes, build_model
from bayesmix.bayes.backends import advi
from bayesmix.bayes.backends.jax_model import jax_model
from bayesmix.bayes.inference import check_initial_points, initial_values, sample_nuts
from bayesmix.datasets import make_mixture
from bayesmix.exceptions import SamplerDiagnosticWarning
from bayesmix.results import log_likelihood_draws

RNG = np.random.default_rng(3)


def pytensor_values(model, outputs, point):
    """``outputs`` evaluated by PyTensor (Python linker: no C compilation) at ``point``."""
    function = model.compile_fn(outputs, inputs=model.value_vars, mode="FAST_COMPILE",
                                point_fn=False, on_unused_input="ignore")
    return function(*[point[value.name] for value in model.value_vars])


def random_point(model):
    """An unconstrained point near the model's default one."""
    return {name: value + 0.3 * RNG.standard_normal(np.shape(value))
            for name, value in model.initial_point().items()}


def assert_converted_equals_pymc(model, functions, constants):
    point = random_point(model)
    values = [point[name] for name in functions.value_names]
    np.testing.assert_allclose(functions.log_density(values, constants),
                               pytensor_values(model, [model.logp()], point)[0], rtol=1e-10)
    draws, log_likelihood = functions.posterior(values, constants)
    by_name = {variable.name: variable for variable in model.unobserved_value_vars}
    expected = pytensor_values(model, [by_name[name] for name in functions.draw_names], point)
    for name, value in zip(functions.draw_names, expected):
        np.testing.assert_allclose(draws[name], value, rtol=1e-10, atol=1e-12, err_msg=name)
    pointwise = model.logp(model.observed_RVs, sum=False)
    np.testing.assert_allclose(log_likelihood["x"],
                               pytensor_values(model, pointwise, point)[0], rtol=1e-10)


@pytest.mark.parametrize(("covariance_type", "n_features", "ordered_means"), [
    ("full", 3, True), ("spherical", 2, False), ("diag", 1, False), ("tied", 2, False),
])
def test_the_converted_model_is_pymcs(covariance_type, n_features, ordered_means):
    X = make_mixture(50, 2, n_features, covariance_type, random_state=0).X
    model = build_model(X, 2, covariance_type, ordered_means=ordered_means)
    converted = jax_model(model)
    assert_converted_equals_pymc(model, converted.functions, converted.constants)


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_models_of_the_same_size_share_functions_and_keep_their_own_data(covariance_type):
    first = build_model(RNG.normal(size=(40, 2)), 2, covariance_type)
    second = build_model(5.0 + 3.0 * RNG.normal(size=(40, 2)), 2, covariance_type)
    shared = jax_model(first).functions
    converted = jax_model(second)
    if covariance_type == "full":
        assert converted.functions is shared
    # spherical's scalar prior scale stays a constant of the program: it may differ.
    assert_converted_equals_pymc(second, converted.functions, converted.constants)
    for other in (build_model(RNG.normal(size=(41, 2)), 2, covariance_type),
                  build_model(RNG.normal(size=(40, 2)), 3, covariance_type)):
        assert jax_model(other).functions is not shared


def test_a_changed_model_is_converted_again():
    model = build_model(RNG.normal(size=(30, 1)), 1, "spherical")
    before = jax_model(model)
    with model:
        pm.Normal("extra", 0.0, 1.0)
    after = jax_model(model)
    assert "extra" in after.functions.free_names and "extra" not in before.functions.free_names


@pytest.mark.parametrize("method", ["nuts", "advi"])
def test_the_pointwise_log_likelihood_computed_on_jax_is_the_mixture_density(fitted, method):
    estimator = fitted("full", method)
    posterior = estimator.idata_.posterior
    X = estimator.idata_.observed_data["x"].values
    expected = log_likelihood_draws(X, posterior["weights"].values, posterior["means"].values,
                                    posterior["covariances"].values)
    np.testing.assert_allclose(estimator.idata_.log_likelihood["x"].values, expected,
                               rtol=1e-10, atol=1e-10)


def test_converted_models_are_not_kept_alive():
    models = [build_model(RNG.normal(size=(30, 1)), 1, "spherical") for _ in range(2)]
    for model in models:
        jax_model(model)
    references = [weakref.ref(model) for model in models]
    del models, model
    gc.collect()
    assert [reference() for reference in references] == [None, None]


def _compile_events(run):
    """The JAX compilations (or loads from the disk cache) while ``run()`` runs."""
    events = []

    def listener(event, seconds, **_):
        if event == "/jax/core/compile/backend_compile_duration":
            events.append(seconds)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        run()
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    return events


@pytest.mark.parametrize("method", ["nuts", "advi"])
def test_a_second_fit_of_the_same_size_compiles_nothing(method):
    sample = make_mixture(120, 2, 2, "diag", random_state=0)
    settings = ({"draws": 20, "tune": 30, "chains": 2} if method == "nuts"
                else {"draws": 20, "n_iter": 200})

    def fit(X, seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return GaussianMixtureBayes(2, covariance_type="diag", random_state=seed).fit(
                X, method=method, **settings)

    fit(sample.X, 0)
    new_data = sample.X[::-1] * 2.0 + 1.0
    second = []
    assert _compile_events(lambda: second.append(fit(new_data, 1))) == []
    assert second[0].idata_.posterior.sizes["draw"] == 20


def test_the_compilation_cache_goes_where_bayesmix_cache_dir_says(tmp_path):
    code = textwrap.dedent(f"""
        import json, os
        import jax
        from bayesmix.bayes.backends.compile_cache import enable_compilation_cache
        os.environ["BAYESMIX_CACHE_DIR"] = ""
        none = enable_compilation_cache()
        os.environ["BAYESMIX_CACHE_DIR"] = {str(tmp_path / "cache")!r}
        ours = enable_compilation_cache()
        os.environ["BAYESMIX_CACHE_DIR"] = {str(tmp_path / "other")!r}
        kept = enable_compilation_cache()  # JAX has one now: it is left alone
        print(json.dumps([none, ours, kept, jax.config.jax_compilation_cache_dir]))
        """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    none, ours, kept, jax_dir = json.loads(result.stdout.splitlines()[-1])
    assert none is None
    assert ours == kept == jax_dir == str(tmp_path / "cache")
    assert (tmp_path / "cache").is_dir() and not (tmp_path / "other").exists()


def test_unknown_numpyro_options_are_refused_before_any_work():
    X = RNG.normal(size=(30, 1))
    with pytest.raises(TypeError, match="unexpected option 'cores' for "
                                        "nuts_sampler='numpyro'"):
        GaussianMixtureBayes(1).fit(X, cores=2)
    with pytest.raises(TypeError, match="unexpected option 'var_names'"):
        sample_nuts(build_model(X, 1), var_names=["means"])


def test_initial_values_need_one_dict_per_chain():
    model = build_model(RNG.normal(size=(30, 1)), 1, "spherical")
    with pytest.raises(ValueError, match=r"initvals holds 1 dict\(s\) for chains=2"):
        sample_nuts(model, initvals=[{"sigma": np.ones(1)}], chains=2)


def test_initial_values_for_a_name_the_model_lacks_are_refused():
    model = build_model(RNG.normal(size=(30, 1)), 1, "spherical")
    with pytest.raises(ValueError, match="initvals names 'sigmas'.*free variables are "
                                         "weights, means_offset, sigma"):
        check_initial_points(model, [{"sigmas": np.ones(1)}])


@pytest.mark.parametrize("progressbar", [False, True])
def test_nuts_keeps_the_log_density_and_the_sampler_statistics(progressbar):
    X = make_mixture(60, 1, 2, "spherical", random_state=1).X
    model = build_model(X, 1, "spherical")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerDiagnosticWarning)
        idata = sample_nuts(model, draws=30, tune=30, chains=2, random_seed=0,
                            progressbar=progressbar)
    stats = idata.sample_stats
    assert {"lp", "energy", "step_size", "n_steps", "tree_depth", "acceptance_rate",
            "diverging"} <= set(stats)
    # ``lp`` is the log density (PyMC's convention), not NumPyro's potential energy.
    converted = jax_model(model)
    sigma = idata.posterior["sigma"].values[0, -1]
    offsets = idata.posterior["means_offset"].values[0, -1]
    log_density = converted.functions.log_density(
        [np.zeros(0), offsets, np.log(sigma)], converted.constants)
    np.testing.assert_allclose(stats["lp"].values[0, -1], log_density, rtol=1e-8)
    assert dict(idata.log_likelihood["x"].sizes) == {"chain": 2, "draw": 30, "obs": 60}


@pytest.mark.parametrize(("method", "correlated"), [("advi", False),
                                                  ("fullrank_advi", True)])
def test_only_full_rank_advi_correlates_the_parameters(method, correlated):
    """Two overlapping clusters: the posterior's means (offsets) and scales are
    correlated; full-rank ADVI's draws show it (|r| about 0.8), mean-field ADVI's, whose
    coordinates are independent, do not (|r| below 0.04)."""
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0.0, 1.0, 150), rng.normal(1.5, 1.0, 150)])[:, None]
    posterior = advi.fit_vi(build_model(X, 2, "spherical"), method=method, draws=1000,
                            n_iter=5000, random_seed=0, progressbar=False).idata.posterior
    free = np.column_stack([posterior["means_offset"].values[0].reshape(1000, -1),
                            np.log(posterior["sigma"].values[0]),
                            posterior["weights"].values[0, :, :1]])
    correlations = np.corrcoef(free.T)[np.triu_indices(free.shape[1], 1)]
    assert (np.abs(correlations).max() > 0.5) == correlated


@pytest.mark.slow
@pytest.mark.parametrize("method", ["advi", "fullrank_advi"])
def test_jax_advi_finds_pymcs_approximation(method):
    """From the same start (the EM fit), the JAX loop and PyMC's find the same Gaussian."""
    sample = make_mixture(300, 2, 2, "full", separation=4.0, random_state=2)
    estimator = GaussianMixtureBayes(2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(sample.X, method=method, draws=4000)
    start = initial_values(estimator.em_.weights_, estimator.em_.means_,
                           estimator.em_.covariances_, "full", estimator.priors_)
    settings = dict(method=method, draws=4000, n_iter=20_000, tol=1e-2, start=start,
                    seeds=np.array([1, 2]), progressbar=False, learning_rate=1e-3)
    ours = advi._fit_jax(estimator.model_, **settings)[0].posterior
    pymc = advi._fit_pymc(estimator.model_, **settings)[0].posterior
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(ours[name].mean(("chain", "draw")),
                                   pymc[name].mean(("chain", "draw")), rtol=0.05, atol=0.05,
                                   err_msg=name)
        np.testing.assert_allclose(ours[name].std(("chain", "draw")),
                                   pymc[name].std(("chain", "draw")), rtol=0.5, atol=0.01,
                                   err_msg=name)


def test_programs_get_the_cpu_compiler_options_that_xla_accepts(monkeypatch):
    from bayesmix.bayes.backends import compile_cache

    assert compile_cache.compiler_options() == compile_cache.CPU_COMPILER_OPTIONS
    monkeypatch.setattr(compile_cache, "CPU_COMPILER_OPTIONS", {"xla_no_such_option": 1})
    compile_cache.compiler_options.cache_clear()
    try:
        assert compile_cache.compiler_options() == {}  # refused: programs compile without
        assert float(compile_cache.jit(lambda x: x + 1)(1.0)) == 2.0
    finally:
        compile_cache.compiler_options.cache_clear()


@pytest.mark.parametrize("chain_method", ["parallel", "vectorized"])
def test_chains_are_mapped_one_device_each_or_vectorised(chain_method):
    from bayesmix.bayes.backends.jax_nuts import ChainProgram

    mapped = ChainProgram(lambda x, shift: (2 * x + shift, {"sum": x.sum()}), (0, None),
                          chain_method)
    doubled, sums = mapped(np.arange(8.0).reshape(4, 2), 1.0)
    np.testing.assert_array_equal(doubled, 2 * np.arange(8.0).reshape(4, 2) + 1)
    np.testing.assert_array_equal(sums["sum"], [1.0, 5.0, 9.0, 13.0])
    devices = {device for shard in doubled.addressable_shards for device in [shard.device]}
    assert len(devices) == (4 if chain_method == "parallel" else 1)


@pytest.mark.parametrize("chain_method", ["parallel", "vectorized"])
def test_a_program_compiled_ahead_is_not_compiled_again_when_called(chain_method):
    from bayesmix.bayes.backends.jax_nuts import ChainProgram

    start = ChainProgram(lambda x: {"state": 2.0 * x}, (0,), chain_method)
    advance = ChainProgram(lambda state, shift: state["state"].sum() + shift, (0, None),
                           chain_method)
    x = np.arange(12.0).reshape(4, 3)
    # As compile_ahead does: the next program compiled for the first one's outputs, on
    # the background thread, while this one compiles and runs the first.
    advance.compile_ahead(start.output_shapes(x), 1.0)
    state = start(x)
    main_thread = threading.current_thread()
    compiled_here = []

    def listener(event, seconds, **_):
        if (event == "/jax/core/compile/backend_compile_duration"
                and threading.current_thread() is main_thread):
            compiled_here.append(seconds)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        totals = advance(state, 1.0)  # waits for the background compilation, if need be
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    np.testing.assert_array_equal(totals, 2.0 * x.sum(axis=1) + 1.0)
    # A placement of the outputs other than the one compiled for (parallel chains are
    # spread over the devices) would compile the program again, here.
    assert compiled_here == []


def test_sampling_compiles_its_iterations_and_post_processing_ahead():
    from bayesmix.bayes.backends.jax_nuts import compile_ahead

    # A size no other test samples: its programs are new to the process.
    model = build_model(RNG.normal(size=(31, 1)), 2, "spherical")
    threads = []

    def listener(event, seconds, **_):
        if event == "/jax/core/compile/backend_compile_duration":
            threads.append(threading.current_thread().name)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        idata = sample_nuts(model, draws=7, tune=5, chains=2, random_seed=0)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert idata.posterior.sizes["draw"] == 7
    # The iterations and the draws' post-processing, compiled (or loaded from the disk
    # cache) on the background thread while the chains' start compiled here.
    assert sum(name.startswith("bayesmix-compile") for name in threads) == 2, threads
    plan = compile_ahead(model, draws=7, tune=5, chains=2, target_accept=0.8,
                         progressbar=False)
    assert (plan.group, plan.calls, plan.n_steps) == (2, 1, 12)


#: A first fit in a fresh interpreter: the model's import, its conversion and a short
#: NUTS run (whose later programs compile on background threads). ``sys.meta_path`` and
#: ``sys.path`` are replaced by lists that note each change made off the main thread,
#: and an audit hook notes each module search made off it; the script prints the draws
#: and those notes.
FIRST_FIT = """
import json, sys, threading

notes = []


def note(what):
    thread = threading.current_thread()
    if thread is not threading.main_thread():
        notes.append(f"{thread.name}: {what}")


class Noted(list):
    def __init__(self, name, items):
        super().__init__(items)
        self.name = name


def noting(method):
    def changed(self, *args):
        note(f"sys.{self.name}.{method}")
        return getattr(list, method)(self, *args)
    return changed


for method in ("__setitem__", "__delitem__", "__iadd__", "append", "extend", "insert", "pop",
               "remove", "clear", "sort", "reverse"):
    setattr(Noted, method, noting(method))


sys.meta_path = Noted("meta_path", sys.meta_path)
sys.path = Noted("path", sys.path)
sys.addaudithook(lambda event, args: event == "import" and note(f"import {args[0]}"))

import numpy as np
from bayesmix.bayes import build_model
from bayesmix.bayes.inference import sample_nuts
model = build_model(np.random.default_rng(0).normal(size=(30, 2)), 2)
idata = sample_nuts(model, draws=5, tune=5, chains=1, random_seed=0)
print(json.dumps({"draws": idata.posterior.sizes["draw"], "notes": sorted(set(notes))}))
"""


@pytest.fixture(scope="module")
def first_fit(tmp_path_factory):
    """``FIRST_FIT`` run with an empty PyTensor cache folder: (its printout, the folder)."""
    cache = tmp_path_factory.mktemp("first_fit") / "pytensor"
    result = subprocess.run([sys.executable, "-c", FIRST_FIT], capture_output=True,
                            text=True, timeout=300,
                            env={**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={cache}"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1]), cache


def test_sampling_on_jax_compiles_no_c_code(first_fit):
    # PyTensor's C compilation (a compiler and BLAS probe, then C modules for every new
    # operation) would be paid by the first fit on a new machine: nothing on the JAX
    # path needs it, so PyTensor's cache folder is never even made.
    printed, cache = first_fit
    assert printed["draws"] == 5
    assert not cache.exists()


def test_background_threads_neither_import_nor_change_the_import_machinery(first_fit):
    """Imports belong to the main thread. A module search on another thread iterates
    ``sys.meta_path`` and ``sys.path`` while the main thread may change them (PyTensor
    puts its cache folder on ``sys.path`` to load a C module), and the first import of
    ``setuptools`` inserts and removes a finder at the head of ``sys.meta_path``: a
    search running on another thread then skips the next finder, Python's own, and a
    module that is there is "not found". CI saw this twice (``bayesmix.em.base`` in a
    notebook, ``narwhals._interchange`` in ``bayesmix select``) while a thread computed
    PyTensor's BLAS flags, whose first step imports ``setuptools``."""
    printed, _ = first_fit
    assert printed["notes"] == []
