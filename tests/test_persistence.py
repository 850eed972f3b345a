"""Saving and loading fitted models: nothing lost, and clear errors for bad files.

Every estimator and structure is saved and reloaded, and the reloaded model must give
bit-identical predictions, scores, samples, summaries and plots. The fast tier covers EM
with every structure and two posteriors (ADVI on an array, NUTS on a DataFrame); the
other six posterior combinations are ``slow``.
"""

import operator
import os
import tracemalloc
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import arviz as az  # noqa: E402
import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

import bayesmix  # noqa: E402
from bayesmix import (  # noqa: E402
    GaussianMixtureBayes,
    GaussianMixtureEM,
    MixturePriors,
    NotFittedError,
)
from bayesmix import persistence  # noqa: E402
from bayesmix.covariance import posterior_structures, structure_names  # noqa: E402
from bayesmix.datasets import make_mixture  # noqa: E402
from bayesmix.exceptions import SamplerDiagnosticWarning, VIConvergenceWarning  # noqa: E402
from bayesmix.plotting import (  # noqa: E402
    plot_components,
    plot_posterior_components,
    plot_weights,
)

FEATURES = ["length", "width"]
#: Tiny fits: the file only has to hold what they produced.
TINY = {"advi": {"draws": 20, "n_iter": 100}, "fullrank_advi": {"draws": 20, "n_iter": 100},
        "nuts": {"draws": 20, "tune": 20, "chains": 2}}
FAST_BAYES = {("full", "advi"), ("spherical", "nuts")}
BAYES_CASES = [
    pytest.param(structure, method, id=f"{structure}-{method}",
                 marks=() if (structure, method) in FAST_BAYES else pytest.mark.slow)
    for structure in posterior_structures() for method in TINY
]
EM_FITTED = GaussianMixtureEM.fitted_attributes


@pytest.fixture(scope="module")
def data():
    """80 rows of a two-component mixture, as a DataFrame (feature names) and an array."""
    X = make_mixture(80, 2, 2, "full", random_state=3).X
    return pd.DataFrame(X, columns=FEATURES), X


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def em_pairs(data, folder):
    """``structure -> (fitted EM, the EM saved and reloaded)``."""
    frame, _ = data
    pairs = {}
    for structure in structure_names():
        em = GaussianMixtureEM(2, covariance_type=structure, n_init=2, random_state=0).fit(frame)
        pairs[structure] = em, bayesmix.load(em.save(folder / f"em_{structure}.nc"))
    return pairs


@pytest.fixture(scope="module")
def bayes_pair(data, folder):
    """``bayes_pair(structure, method)``: (posterior, reloaded), each fitted at most once.

    NUTS fits a DataFrame, ADVI and full-rank ADVI an array, so both kinds of feature
    names travel.
    """
    cache = {}

    def get(structure, method):
        if (structure, method) not in cache:
            frame, X = data
            model = GaussianMixtureBayes(2, covariance_type=structure, random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SamplerDiagnosticWarning)
                warnings.simplefilter("ignore", VIConvergenceWarning)
                model.fit(frame if method == "nuts" else X, method=method, progressbar=False,
                          **TINY[method])
            path = model.save(folder / f"bayes_{structure}_{method}.nc")
            cache[structure, method] = model, bayesmix.load(path)
        return cache[structure, method]

    return get


def assert_identical(a, b):
    """Equal values of the same type, arrays bit for bit (NaN where NaN)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (a, b)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_identical(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_identical(a[key], b[key])
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def assert_same_priors(a, b):
    assert type(a) is type(b)
    if a is not None:
        for field in ("weights_alpha", "means_loc", "means_scale", "scale_sigma", "lkj_eta",
                      "dof_prior"):
            assert_identical(getattr(a, field), getattr(b, field))


def assert_same_em(em, reloaded, X):
    assert type(reloaded) is GaussianMixtureEM
    assert_identical(reloaded.get_params(), em.get_params())
    for attr in EM_FITTED + ("_X_fit",):
        assert hasattr(reloaded, attr) == hasattr(em, attr), attr
        if hasattr(em, attr):
            assert_identical(getattr(reloaded, attr), getattr(em, attr))
    for method in ("predict", "predict_proba", "score_samples", "score", "bic", "aic", "icl"):
        assert_identical(getattr(reloaded, method)(X), getattr(em, method)(X))
    assert_identical(reloaded.sample(7), em.sample(7))


def assert_same_idata(a, b):
    assert sorted(a.groups()) == sorted(b.groups())
    for group in a.groups():
        xr.testing.assert_identical(a[group].drop_attrs(), b[group].drop_attrs())
        assert a[group].attrs.keys() == b[group].attrs.keys()


# ----------------------------------------------------------------- round trips
@pytest.mark.parametrize("structure", structure_names())
def test_em_round_trip_is_bit_identical(em_pairs, data, structure):
    em, reloaded = em_pairs[structure]
    frame, _ = data
    assert_same_em(em, reloaded, frame)
    assert_same_idata(reloaded.to_inference_data(), em.to_inference_data())


@pytest.mark.parametrize(("structure", "method"), BAYES_CASES)
def test_bayes_round_trip_is_bit_identical(bayes_pair, data, structure, method):
    model, reloaded = bayes_pair(structure, method)
    frame, X = data
    X = frame if method == "nuts" else X
    assert type(reloaded) is GaussianMixtureBayes
    assert_identical(reloaded.get_params().keys(), model.get_params().keys())
    for name in ("n_components", "covariance_type", "ordered_means", "random_state"):
        assert_identical(reloaded.get_params()[name], model.get_params()[name])
    assert_same_priors(reloaded.priors, model.priors)
    assert_same_priors(reloaded.priors_, model.priors_)
    for attr in ("weights_", "means_", "covariances_", "diagnostics_", "n_features_in_",
                 "_draws"):
        assert_identical(getattr(reloaded, attr), getattr(model, attr))
    assert hasattr(reloaded, "feature_names_in_") == (method == "nuts")
    if method == "nuts":
        assert_identical(reloaded.feature_names_in_, model.feature_names_in_)
    assert_same_idata(reloaded.idata_, model.idata_)
    assert_identical(reloaded.idata_.sample_stats["label_permutation"].values,
                     model.idata_.sample_stats["label_permutation"].values)
    assert_same_em(model.em_, reloaded.em_, X)
    for method_name in ("predict", "predict_proba", "score_samples", "score"):
        assert_identical(getattr(reloaded, method_name)(X), getattr(model, method_name)(X))
    assert_identical(reloaded.predict_proba(X, return_std=True),
                     model.predict_proba(X, return_std=True))
    assert_identical(reloaded.sample(9), model.sample(9))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ: too few draws for R-hat
        pd.testing.assert_frame_equal(reloaded.summary(), model.summary(), check_exact=True)


def test_student_posterior_round_trip_is_bit_identical(data, tmp_path):
    """A t posterior comes back as a t posterior: family, dof, scales, its t EM fit."""
    from bayesmix.bayes import StudentMixtureBayes

    _, X = data
    model = StudentMixtureBayes(2, covariance_type="diag", dof_prior=(3.0, 0.2),
                                random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerDiagnosticWarning)
        warnings.simplefilter("ignore", VIConvergenceWarning)
        model.fit(X, method="advi", progressbar=False, **TINY["advi"])
    reloaded = bayesmix.load(model.save(tmp_path / "student.nc"))
    assert type(reloaded) is StudentMixtureBayes
    assert_identical(reloaded.get_params()["dof_prior"], (3.0, 0.2))
    assert_same_priors(reloaded.priors_, model.priors_)
    assert reloaded.priors_.dof_prior == (3.0, 0.2)
    for attr in ("weights_", "means_", "scales_", "dof_", "covariances_", "_draws"):
        assert_identical(getattr(reloaded, attr), getattr(model, attr))
    assert_same_idata(reloaded.idata_, model.idata_)
    assert reloaded.idata_.posterior.attrs["family"] == "student_t"
    assert type(reloaded.em_) is type(model.em_)
    for attr in model.em_.fitted_attributes:
        if hasattr(model.em_, attr):
            assert_identical(getattr(reloaded.em_, attr), getattr(model.em_, attr))
    for method_name in ("predict", "predict_proba", "score_samples", "score"):
        assert_identical(getattr(reloaded, method_name)(X), getattr(model, method_name)(X))
    assert_identical(reloaded.sample(9), model.sample(9))
    assert "dof" in [rv.name for rv in reloaded.model_.free_RVs]
    point = model.model_.initial_point()
    assert (reloaded.model_.compile_logp(mode="FAST_COMPILE")(point)
            == model.model_.compile_logp(mode="FAST_COMPILE")(point))


@pytest.mark.parametrize(("structure", "method"), BAYES_CASES)
def test_bayes_reload_rebuilds_the_same_pymc_model(bayes_pair, structure, method):
    model, reloaded = bayes_pair(structure, method)
    point = model.model_.initial_point()
    assert [rv.name for rv in reloaded.model_.free_RVs] == [rv.name for rv in
                                                            model.model_.free_RVs]
    assert reloaded.model_.coords == model.model_.coords

    def logp(pymc_model):  # FAST_COMPILE: no C compilation, the test stays fast
        return pymc_model.compile_logp(mode="FAST_COMPILE")(point)

    assert logp(reloaded.model_) == logp(model.model_)


def test_the_file_is_an_arviz_netcdf_file(bayes_pair, folder):
    model, _ = bayes_pair("full", "advi")
    idata = az.from_netcdf(folder / "bayes_full_advi.nc")
    assert_same_idata(idata, model.idata_)
    assert idata.attrs["format"] == persistence.FORMAT
    assert idata.attrs["estimator"] == "GaussianMixtureBayes"
    for package in ("bayesmix", "pymc", "arviz"):
        assert idata.attrs[f"{package}_version"]


def test_random_state_instances_and_array_parameters_are_kept(data, tmp_path):
    frame, X = data
    em = GaussianMixtureEM(2, means_init=X[:2], weights_init=[0.5, 0.5],
                           random_state=np.random.RandomState(5)).fit(frame)
    em.sample(3)  # the saved generator is in the state it reached
    reloaded = bayesmix.load(em.save(tmp_path / "em.nc"))
    assert_identical(reloaded.means_init, em.means_init)
    assert_identical(reloaded.weights_init, [0.5, 0.5])
    assert_identical(reloaded.sample(11), em.sample(11))


def test_priors_as_given_are_kept(bayes_pair, tmp_path):
    model, _ = bayes_pair("full", "advi")
    model.set_params(priors=MixturePriors(weights_alpha=np.array([2.0, 3.0]), lkj_eta=4))
    try:
        reloaded = bayesmix.load(model.save(tmp_path / "priors.nc"))
    finally:
        model.set_params(priors=None)
    assert_same_priors(reloaded.priors, MixturePriors(weights_alpha=np.array([2.0, 3.0]),
                                                      lkj_eta=4))


# ----------------------------------------------------------------- plots
def drawn(figure_or_ax):
    """Everything an axes drew: patches' geometry and colours, scatter and line data."""
    axes = figure_or_ax.axes if isinstance(figure_or_ax, Figure) else [figure_or_ax]
    out = []
    for ax in axes:
        for patch in ax.patches:
            out.append((type(patch).__name__, patch.get_verts(), patch.get_facecolor(),
                        patch.get_edgecolor()))
        for collection in ax.collections:
            out.append((collection.get_offsets().data, collection.get_facecolors()))
        for line in ax.lines:
            out.append((line.get_xydata(),))
        out.append((ax.get_title(), ax.get_xlabel(), ax.get_ylabel()))
    plt.close("all")
    return out


def assert_same_drawing(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert len(x) == len(y)
        for u, v in zip(x, y):
            assert np.array_equal(np.asarray(u), np.asarray(v)), (u, v)


@pytest.mark.parametrize("structure", ["full", "spherical"])
def test_reloaded_em_plots_the_same(em_pairs, structure):
    em, reloaded = em_pairs[structure]
    assert_same_drawing(drawn(plot_components(reloaded)), drawn(plot_components(em)))


def test_reloaded_posterior_plots_the_same(bayes_pair):
    model, reloaded = bayes_pair("full", "advi")
    assert_same_drawing(drawn(plot_components(reloaded)), drawn(plot_components(model)))
    assert_same_drawing(drawn(plot_posterior_components(reloaded, n_draws=5, random_state=0)),
                        drawn(plot_posterior_components(model, n_draws=5, random_state=0)))
    assert_same_drawing(drawn(plot_weights(reloaded)), drawn(plot_weights(model)))


# ----------------------------------------------------------------- saving errors
def test_save_refuses_to_overwrite_unless_asked(em_pairs, tmp_path):
    em, _ = em_pairs["full"]
    path = em.save(tmp_path / "model.nc")
    with pytest.raises(FileExistsError, match=r"model\.nc already exists.*overwrite=True"):
        em.save(path)
    other, _ = em_pairs["diag"]
    other.save(path, overwrite=True)
    assert bayesmix.load(path).covariance_type == "diag"


@pytest.mark.parametrize("estimator", [GaussianMixtureEM(2), GaussianMixtureBayes(2)])
def test_saving_an_unfitted_model_raises(estimator, tmp_path):
    with pytest.raises(NotFittedError):
        estimator.save(tmp_path / "model.nc")
    assert not list(tmp_path.iterdir())


def test_a_failed_save_leaves_the_previous_file_intact(em_pairs, tmp_path, monkeypatch):
    em, _ = em_pairs["full"]
    path = em.save(tmp_path / "model.nc")
    before = path.read_bytes()

    def fail_half_way(temporary, root, idata):
        root.to_netcdf(temporary, mode="w", engine="h5netcdf")
        raise OSError("disk full")

    monkeypatch.setattr(persistence, "_write", fail_half_way)
    with pytest.raises(OSError, match="disk full"):
        em_pairs["tied"][0].save(path, overwrite=True)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.nc"]  # no temporary file left


def test_save_checks_its_arguments(em_pairs, tmp_path):
    em, _ = em_pairs["full"]
    with pytest.raises(TypeError, match="model must be a GaussianMixtureEM, "
                                        "GaussianMixtureBayes, StudentMixtureEM or "
                                        "StudentMixtureBayes, got InferenceData"):
        persistence.save(em.to_inference_data(), tmp_path / "idata.nc")
    with pytest.raises(ValueError, match="overwrite must be True or False, got 'yes'"):
        em.save(tmp_path / "model.nc", overwrite="yes")
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_the_saved_file_gets_the_usual_permissions(saved):
    plain = saved.with_name("plain.txt")
    plain.write_text("")
    assert saved.stat().st_mode == plain.stat().st_mode


def test_unsupported_parameters_are_named(data, tmp_path):
    frame, _ = data
    em = GaussianMixtureEM(2, random_state=0).fit(frame)
    em.random_state = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"random_state=Generator.*an int seed"):
        em.save(tmp_path / "model.nc")
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------- saved copies
@pytest.fixture
def saved(em_pairs, tmp_path):
    """A fresh copy of a saved EM model, safe to damage."""
    return em_pairs["full"][0].save(tmp_path / "model.nc")


def test_saving_writes_no_stray_files(saved):
    assert os.listdir(saved.parent) == ["model.nc"]


# ----------------------------------------------------------------- older files, other classes
DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", ["em_format1", "advi_format1"])
def test_files_of_format_1_load_and_predict_as_when_written(name):
    """Files written by bayesmix 0.1 before persistence became generic (tests/data/).

    The labels are those stored; the probabilities and densities within one unit in the
    last place (ulp) of them: NumPy chooses its ``exp`` and ``log`` by the processor at run
    time (AVX-512 or AVX2 code), whose results differ in the last bit, and the stored
    values come from another machine. A parameter loaded wrong moves them by far more.
    The parameters themselves are the file's, bit for bit: each of its variables, read
    with xarray, is the loaded model's attribute of that (dotted) name.
    """
    model = bayesmix.load(DATA / f"{name}.nc")
    with xr.open_dataset(DATA / f"{name}.nc") as saved:
        for variable in saved.data_vars:
            loaded = operator.attrgetter(variable)(model)
            assert np.array_equal(loaded, saved[variable].values), variable
            assert loaded.dtype == saved[variable].dtype or loaded.dtype.kind == "O"
    with np.load(DATA / f"{name}.npz") as stored:
        expected = dict(stored)
    X = pd.DataFrame(expected.pop("X"), columns=FEATURES)
    assert list(model.feature_names_in_) == FEATURES
    for method, values in expected.items():
        predicted = getattr(model, method)(X)
        assert predicted.dtype == values.dtype and predicted.shape == values.shape
        if values.dtype.kind == "f":
            np.testing.assert_array_max_ulp(predicted, values, maxulp=1)
        else:
            assert_identical(predicted, values)


class FutureMixture(GaussianMixtureEM):
    """An estimator a later bayesmix might save, unknown to this one."""


def test_a_file_of_an_unknown_estimator_class_is_refused_by_name(data, tmp_path, monkeypatch):
    frame, _ = data
    model = FutureMixture(2, random_state=0).fit(frame)
    monkeypatch.setitem(persistence.ESTIMATORS, "FutureMixture", f"{__name__}:FutureMixture")
    path = model.save(tmp_path / "future.nc")
    monkeypatch.delitem(persistence.ESTIMATORS, "FutureMixture")
    with pytest.raises(ValueError, match=r"future\.nc: it is a saved model of class "
                                         r"FutureMixture, which is not a bayesmix estimator"
                                         r".*upgrade bayesmix"):
        bayesmix.load(path)


# ----------------------------------------------------------------- hostile files and folders
@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="POSIX permission bits, which root ignores")
def test_saving_into_a_read_only_folder_says_so(em_pairs, tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match=r"read-only is not writable.*Choose a "
                                                  r"folder you can write to"):
            em_pairs["full"][0].save(folder / "model.nc")
    finally:
        folder.chmod(0o700)


def test_randomly_damaged_files_are_refused_with_the_load_message(saved):
    """Bytes changed anywhere: the file loads intact or is refused as a bad file, never
    with an error from h5py or h5netcdf (such as ``'NoneType' object has no attribute
    'split'``)."""
    original = saved.read_bytes()
    rng = np.random.default_rng(1)
    damaged = saved.with_name("damaged.nc")
    for _ in range(60):
        content = bytearray(original)
        content[rng.integers(len(content))] = rng.integers(256)
        damaged.write_bytes(bytes(content))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                bayesmix.load(damaged)
            except ValueError as error:
                assert str(error).startswith(f"Cannot load {damaged}: "), error


def test_a_crafted_file_is_refused_before_allocating_what_it_declares(tmp_path):
    path = tmp_path / "crafted.nc"
    with h5py.File(path, "w") as file:
        file.attrs["format"] = persistence.FORMAT
        file.attrs["format_version"] = persistence.FORMAT_VERSION
        file.create_dataset("x", shape=(2**29,), dtype="f8", chunks=(2**20,))
    assert path.stat().st_size < 10_000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"declare 4 GiB of values.*nothing was read"):
            bayesmix.load(path)
        assert tracemalloc.get_traced_memory()[1] < 2**20
    finally:
        tracemalloc.stop()
