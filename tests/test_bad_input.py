"""Catalogue of malformed input across the public API.

One table, one test: every row calls the public API with one bad input and asserts the
exception type and a fragment of its message (a regular expression), which must be a
bayesmix message naming the argument, the value and the fix, raised before any heavy
work (no sampler is compiled, nothing large is allocated). Command-line rows run
``bayesmix.cli.main`` as the ``bayesmix`` command does (``SystemExit`` with its exit code)
and match the one-line message on stderr.
"""

import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import h5py

import matplotlib
import numpy as np
import pandas as pd
import pytest
import xarray as xr

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bayesmix import (  # noqa: E402
    GaussianMixtureBayes,
    GaussianMixtureEM,
    MixturePriors,
    load,
    NotFittedError,
    build_model,
    compare,
    load_old_faithful,
    make_mixture,
    plotting,
    scoring,
    select_bayes,
    select_em,
)
import bayesmix  # noqa: E402
from bayesmix import persistence  # noqa: E402
from bayesmix.relabel import relabel  # noqa: E402
from bayesmix.cli import main  # noqa: E402

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 2))
EM = GaussianMixtureEM
BAYES = GaussianMixtureBayes


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """Fitted objects and files the rows need; built once."""
    folder = tmp_path_factory.mktemp("bad_input")
    csv = folder / "faithful.csv"
    load_old_faithful().to_csv(csv, index=False)
    em = EM(2, random_state=0).fit(X)
    return SimpleNamespace(
        em=em,
        saved=em.save(folder / "model.nc"),
        folder=folder,
        selection=select_em(X, n_components=[1, 2], covariance_types=["full"],
                            random_state=0),
        csv=str(csv),
        out=str(folder / "out"),
    )


def _cli(*argv):
    """What the ``bayesmix`` command does: exit with ``main``'s code when it is not 0."""
    code = main([str(arg) for arg in argv])
    if code:
        raise SystemExit(code)


def advi(estimator, data=X, **kwargs):
    """A short ADVI fit (every row using it fails before the sampler starts)."""
    kwargs = {"n_iter": 100, "draws": 10, **kwargs}
    return estimator.fit(data, method="advi", **kwargs)


def damaged(ctx, name, damage):
    """A copy of the saved EM model named ``name``, damaged by ``damage(path)``."""
    path = shutil.copy(ctx.saved, ctx.folder / name)
    damage(path)
    return path


def truncate(fraction):
    def damage(path):
        with open(path, "r+b") as file:
            file.truncate(int(file.seek(0, 2) * fraction))
    return damage


def set_value(dataset, index, value):
    def damage(path):
        with h5py.File(path, "r+") as file:
            name = next(key for key in file if key.endswith(dataset)) if "/" not in dataset \
                else dataset
            file[name][index] = value
    return damage


def set_attribute(name, value):
    def damage(path):
        with h5py.File(path, "r+") as file:
            file.attrs[name] = value
    return damage


def declaring_a_huge_dimension(path):
    """A 6 kB file with bayesmix's format attributes declaring a 4 GiB variable."""
    with h5py.File(path, "w") as file:
        file.attrs["format"] = persistence.FORMAT
        file.attrs["format_version"] = persistence.FORMAT_VERSION
        file.create_dataset("x", shape=(2**29,), dtype="f8")  # nothing written
    return path


def set_format_version(path):
    with h5py.File(path, "r+") as file:
        file.attrs["format_version"] = persistence.FORMAT_VERSION + 1


def row(case_id, error, match, call):
    return pytest.param(call, error, match, id=case_id)


CASES = [
    # ---------------------------------------------------------------- X: arrays
    row("X-row-all-nan", ValueError, r"1 row\(s\) with every value missing \(NaN\): rows 0\.",
        lambda c: EM(1).fit(np.array([[np.nan, np.nan]] + [[0.0, 0.0]] * 5))),
    row("X-column-all-nan", ValueError, r"column 1 has no observed value",
        lambda c: EM(1).fit(np.array([[1.0, np.nan]] * 6))),
    row("X-inf", ValueError, r"contains infinity in 1 row\(s\): rows 0\. Replace",
        lambda c: EM(1).fit(np.array([[1.0, np.inf]] + [[0.0, 0.0]] * 5))),
    row("X-inf-with-nan", ValueError, r"contains infinity in 1 row\(s\): rows 1\.",
        lambda c: EM(1).fit(np.array([[1.0, np.nan], [np.inf, 0.0]] + [[0.0, 0.0]] * 5))),
    row("X-1d", ValueError, r"must be 2-D .*reshape\(-1, 1\)",
        lambda c: EM(1).fit(np.arange(10.0))),
    row("X-3d", ValueError, "must be 2-D", lambda c: EM(1).fit(np.zeros((2, 2, 2)))),
    row("X-empty", ValueError, "0 sample", lambda c: EM(1).fit(np.zeros((0, 2)))),
    row("X-one-row", ValueError, r"1 sample\(s\) \(shape=\(1, 2\)\) while a minimum of 2",
        lambda c: EM(1).fit(np.zeros((1, 2)))),
    row("X-no-columns", ValueError, r"0 feature\(s\)", lambda c: EM(1).fit(np.zeros((5, 0)))),
    row("X-strings", ValueError, "must hold numbers",
        lambda c: EM(1).fit(np.array([["a", "b"], ["c", "d"]]))),
    row("X-dicts", TypeError, "X must hold numbers, got dtype object.*Convert",
        lambda c: EM(1).fit(np.array([[{}], [{}]], dtype=object))),
    row("X-bool", ValueError, "boolean dtype", lambda c: EM(1).fit(np.ones((4, 2), dtype=bool))),
    row("X-complex", ValueError, "Complex data not supported",
        lambda c: EM(1).fit(np.ones((4, 2)) + 1j)),
    row("X-ragged", ValueError, "X cannot be read as a 2-D array.*rows of equal length",
        lambda c: EM(1).fit([[1.0, 2.0], [3.0]])),
    row("X-text", ValueError, "must be an array-like", lambda c: EM(1).fit("not an array")),
    row("X-scalar", ValueError, "must be an array-like.*got float 3.0", lambda c: EM(1).fit(3.0)),
    row("X-None", ValueError, "X is None", lambda c: EM(1).fit(None)),
    row("X-underflowing-range", ValueError, r"X column 0 varies by only .*e-300 .*underflow "
        r"float64.*standardise", lambda c: EM(2).fit(X * 1e-300)),
    row("select_em-constant-X", ValueError, "Every column of X is constant.*Pass data with at "
        "least one varying feature", lambda c: select_em(np.ones((20, 2)), n_components=[1, 2])),
    row("hc-constant-X", ValueError, "Every column of X is constant", lambda c: EM(
        2, init_params="hc").fit(np.ones((20, 2)))),
    row("select_em-underflowing-range", ValueError, "varies by only .*underflow float64",
        lambda c: select_em(X * 1e-300, n_components=[1, 2])),
    row("X-overflowing-range", ValueError, r"X column 0 spans too wide a range.*standardise",
        lambda c: EM(2).fit(np.array([[1e308, 0.0], [-1e308, 1.0], [0.0, 2.0], [1.0, 1.0]]))),
    row("bayes-X-row-all-nan", ValueError, r"1 row\(s\) with every value missing \(NaN\): "
        r"rows 40\.", lambda c: advi(BAYES(2), np.r_[X, [[np.nan, np.nan]]])),
    row("build_model-one-row", ValueError, r"1 sample\(s\).*minimum of 2",
        lambda c: build_model(X[:1], 1)),
    # ---------------------------------------------------------------- X: DataFrames
    row("df-text-column", ValueError, r"column 'b' has dtype .*select_dtypes",
        lambda c: EM(1).fit(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}))),
    row("df-categorical-column", ValueError, "column 'a' has dtype category",
        lambda c: EM(1).fit(pd.DataFrame({"a": pd.Categorical([1, 2, 3])}))),
    row("df-datetime-column", ValueError, "column 'a' has dtype datetime64",
        lambda c: EM(1).fit(pd.DataFrame({"a": pd.date_range("2020", periods=3)}))),
    row("df-duplicate-columns", ValueError, r"X has repeated column names \['a'\].*"
        r"columns.duplicated", lambda c: EM(1).fit(pd.DataFrame(X[:, [0, 1, 0]],
                                                                  columns=["a", "b", "a"]))),
    row("bayes-df-duplicate-columns", ValueError, r"X has repeated column names \['a'\]",
        lambda c: advi(BAYES(2), pd.DataFrame(X, columns=["a", "a"]))),
    row("df-row-all-missing", ValueError, r"rows 1\..*dropna\(how='all'\)",
        lambda c: EM(1).fit(pd.DataFrame({"a": [1.0, None, 3.0], "b": [1.0, None, 3.0]}))),
    row("df-missing-column-at-predict", ValueError, "Feature names seen at fit time, yet now "
        "missing:\n- b", lambda c: EM(1).fit(pd.DataFrame(X, columns=["a", "b"])).predict(
            pd.DataFrame(X, columns=["a", "c"]))),
    row("predict-wrong-n-features", ValueError, "X has 3 features, but GaussianMixtureEM is "
        "expecting 2", lambda c: c.em.predict(np.zeros((4, 3)))),
    # ---------------------------------------------------------------- EM hyper-parameters
    row("em-n_components-0", ValueError, "n_components must be >= 1, got 0",
        lambda c: EM(0).fit(X)),
    row("em-n_components-float", ValueError, "n_components must be an integer, got 2.5",
        lambda c: EM(2.5).fit(X)),
    row("em-n_components-above-n", ValueError, "40 samples but n_components=50",
        lambda c: EM(50).fit(X)),
    row("em-n_components-1e9", ValueError, "40 samples but n_components=1000000000",
        lambda c: EM(10**9).fit(X)),
    row("em-covariance_type", ValueError, r"covariance_type must be one of 'full', 'tied', "
        r"'diag', 'spherical' or mclust's 'EII', 'VII', .*, 'VVV' \('E', 'V' for one "
        r"feature\), got 'banana'",
        lambda c: EM(1, covariance_type="banana").fit(X)),
    row("em-tol-negative", ValueError, r"tol must be >= 0.0, got -1.0",
        lambda c: EM(1, tol=-1.0).fit(X)),
    row("em-tol-text", ValueError, "tol must be a finite real number, got '0.1'",
        lambda c: EM(1, tol="0.1").fit(X)),
    row("em-reg_covar-negative", ValueError, "reg_covar must be >= 0.0",
        lambda c: EM(1, reg_covar=-1e-6).fit(X)),
    row("em-reg_covar-nan", ValueError, "reg_covar must be a finite real number",
        lambda c: EM(1, reg_covar=float("nan")).fit(X)),
    row("em-max_iter-negative", ValueError, "max_iter must be >= 0",
        lambda c: EM(1, max_iter=-1).fit(X)),
    row("em-n_init-0", ValueError, "n_init must be >= 1", lambda c: EM(1, n_init=0).fit(X)),
    row("em-init_params", ValueError, "init_params must be one of 'kmeans'",
        lambda c: EM(1, init_params="kmedoids").fit(X)),
    row("em-verbose-negative", ValueError, "verbose must be >= 0, got -1",
        lambda c: EM(1, verbose=-1).fit(X)),
    row("em-warm_start-text", ValueError, "warm_start must be True or False, got 'yes'",
        lambda c: EM(1, warm_start="yes").fit(X)),
    row("em-random_state-text", ValueError, "random_state must be None, an integer.*got 'x'.*"
        "Pass an integer", lambda c: EM(1, random_state="x").fit(X)),
    row("em-random_state-negative", ValueError, r"random_state must be None, an integer in "
        r"\[0, 2\*\*32 - 1\].*got -1", lambda c: EM(1, random_state=-1).fit(X)),
    row("em-weights_init-not-normalised", ValueError, "weights_init must be non-negative and "
        "sum to 1.*Normalise", lambda c: EM(2, weights_init=[0.5, 0.2]).fit(X)),
    row("em-weights_init-wrong-length", ValueError, r"weights_init has shape \(1,\), but \(2,\)",
        lambda c: EM(2, weights_init=[1.0]).fit(X)),
    row("em-weights_init-nan", ValueError, "weights_init contains NaN or infinity",
        lambda c: EM(2, weights_init=[np.nan, 1.0]).fit(X)),
    row("em-means_init-wrong-shape", ValueError, r"means_init has shape \(2, 3\), but \(2, 2\) "
        r"\(n_components, n_features\)", lambda c: EM(2, means_init=np.zeros((2, 3))).fit(X)),
    row("em-means_init-text", ValueError, "means_init must hold real numbers",
        lambda c: EM(2, means_init="zeros").fit(X)),
    row("em-means_init-nan", ValueError, "means_init contains NaN",
        lambda c: EM(2, means_init=[[0.0, np.nan], [1.0, 1.0]]).fit(X)),
    row("em-precisions_init-wrong-shape", ValueError, r"precisions_init has shape \(2, 2\), but "
        r"\(2, 2, 2\)", lambda c: EM(2, precisions_init=np.ones((2, 2))).fit(X)),
    row("em-precisions_init-not-pd", ValueError, r"precisions_init\[1\] is not positive definite",
        lambda c: EM(2, precisions_init=np.stack([np.eye(2), -np.eye(2)])).fit(X)),
    row("em-precisions_init-tied-not-pd", ValueError, r"precisions_init\[0\] is not positive "
        r"definite", lambda c: EM(2, covariance_type="tied", precisions_init=-np.eye(2)).fit(X)),
    row("em-precisions_init-asymmetric", ValueError, r"precisions_init\[0\] is not symmetric",
        lambda c: EM(1, precisions_init=np.array([[[1.0, 2.0], [0.0, 1.0]]])).fit(X)),
    row("em-precisions_init-diag-negative", ValueError, "precisions_init must be positive",
        lambda c: EM(2, covariance_type="diag", precisions_init=-np.ones((2, 2))).fit(X)),
    row("em-sample-n_samples-text", ValueError, "n_samples must be an integer, got '3'",
        lambda c: c.em.sample("3")),
    row("em-sample-too-many", ValueError, r"sample\(n_samples=1000000000000000\) needs about "
        r".* GiB of memory.*Draw fewer rows", lambda c: c.em.sample(10**15)),
    row("em-full-too-many-features", ValueError, r"GaussianMixtureEM\(n_components=2, "
        r"covariance_type='full'\) on 400000 features needs about .* GiB.*'diag'",
        lambda c: EM(2).fit(np.zeros((3, 400_000)))),
    row("em-full-wide-data", ValueError, r"covariance_type='full'\) on 10000 features needs "
        r"about 2e\+12 floating-point operations per EM iteration.*'diag' or 'spherical'",
        lambda c: EM(2, covariance_type="full").fit(rng.normal(size=(50, 10_000)))),
    # ---------------------------------------------------------------- sample_weight
    row("sample_weight-negative", ValueError, "sample_weight must be non-negative, got -1 at row 0",
        lambda c: EM(2).fit(X, sample_weight=-np.ones(40))),
    row("sample_weight-wrong-length", ValueError, r"sample_weight has shape \(39,\), but X has "
        r"40 rows", lambda c: EM(2).fit(X, sample_weight=np.ones(39))),
    row("sample_weight-2d", ValueError, r"sample_weight has shape \(40, 1\).*1-D array",
        lambda c: EM(2).fit(X, sample_weight=np.ones((40, 1)))),
    row("sample_weight-zero", ValueError, "sample_weight is zero for every row",
        lambda c: EM(2).fit(X, sample_weight=np.zeros(40))),
    row("sample_weight-nan", ValueError, "sample_weight contains NaN",
        lambda c: EM(2).fit(X, sample_weight=np.r_[np.nan, np.ones(39)])),
    row("sample_weight-text", ValueError, "sample_weight must hold numbers",
        lambda c: EM(2).fit(X, sample_weight="ones")),
    row("sample_weight-too-few-positive", ValueError, "1 non-zero entries but n_components=2",
        lambda c: EM(2).fit(X, sample_weight=np.r_[1.0, np.zeros(39)])),
    # ---------------------------------------------------------------- Bayes hyper-parameters
    row("bayes-n_components-0", ValueError, "n_components must be >= 1, got 0",
        lambda c: advi(BAYES(0))),
    row("bayes-n_components-above-n", ValueError, "n_components=50 must be <= n_samples=40",
        lambda c: advi(BAYES(50))),
    row("bayes-covariance_type", ValueError, "covariance_type must be one of.*got 'VVX'",
        lambda c: advi(BAYES(2, covariance_type="VVX"))),
    row("bayes-priors-dict", ValueError, "priors must be a MixturePriors instance or None, got "
        "dict", lambda c: advi(BAYES(2, priors={"lkj_eta": 2.0}))),
    row("bayes-ordered_means-text", ValueError, "ordered_means must be True or False, got 'yes'",
        lambda c: advi(BAYES(2, ordered_means="yes"))),
    row("bayes-random_state-text", ValueError, "random_state must be None, an integer.*'seed'",
        lambda c: advi(BAYES(2, random_state="seed"))),
    row("bayes-method", ValueError, "method must be one of 'nuts', 'advi', 'fullrank_advi', "
        "'gibbs', got 'smc'", lambda c: BAYES(2).fit(X, method="smc")),
    row("bayes-init", ValueError, "init must be one of 'em', 'prior', got 'kmeans'",
        lambda c: advi(BAYES(2), init="kmeans")),
    row("bayes-draws-0", ValueError, "draws must be >= 1, got 0",
        lambda c: advi(BAYES(2), draws=0)),
    row("bayes-chains-0", ValueError, "chains must be >= 1, got 0",
        lambda c: BAYES(2).fit(X, chains=0)),
    row("bayes-nuts_sampler", ValueError, "nuts_sampler must be one of 'numpyro', 'pymc', "
        "'nutpie', got 'stan'", lambda c: BAYES(2).fit(X, nuts_sampler="stan")),
    row("bayes-vi-unknown-kwarg", TypeError, "unexpected keyword argument 'bogus' for "
        "method='advi', which accepts n_iter, tol, learning_rate",
        lambda c: advi(BAYES(2), bogus=1)),
    row("bayes-vi-nuts-kwarg", TypeError, "'target_accept' for method='advi'.*use method='nuts'",
        lambda c: advi(BAYES(2), target_accept=0.9)),
    row("bayes-n_iter-too-small", ValueError, "n_iter must be >= 100, got 10",
        lambda c: advi(BAYES(2), n_iter=10)),
    row("bayes-learning_rate-negative", ValueError, "learning_rate must be > 0, got -1.0",
        lambda c: advi(BAYES(2), learning_rate=-1.0)),
    row("em-predict-not-fitted", NotFittedError, "GaussianMixtureEM instance is not fitted "
        "yet", lambda c: EM(2).predict(X)),
    row("bayes-predict-not-fitted", NotFittedError, "GaussianMixtureBayes instance is not "
        "fitted yet", lambda c: BAYES(2).predict(X)),
    # ---------------------------------------------------------------- priors
    row("priors-negative", ValueError, "weights_alpha must be positive and finite, got -1.0",
        lambda c: MixturePriors(weights_alpha=-1.0)),
    row("priors-nan", ValueError, r"means_scale must be positive and finite, got \[1.0, nan\]",
        lambda c: MixturePriors(means_scale=[1.0, np.nan])),
    row("priors-inf", ValueError, "scale_sigma must be positive and finite, got inf",
        lambda c: MixturePriors(scale_sigma=np.inf)),
    row("priors-lkj_eta-0", ValueError, "lkj_eta must be > 0, got 0.0",
        lambda c: MixturePriors(lkj_eta=0)),
    row("priors-lkj_eta-text", ValueError, "lkj_eta must be a finite real number, got '2'",
        lambda c: MixturePriors(lkj_eta="2")),
    row("priors-text", ValueError, "means_loc must be a real number or a 1-D array",
        lambda c: MixturePriors(means_loc="abc")),
    row("priors-2d", ValueError, "weights_alpha must be a real number or a 1-D array",
        lambda c: MixturePriors(weights_alpha=[[1.0, 2.0]])),
    row("priors-weights_alpha-wrong-length", ValueError, "weights_alpha has length 3, but 2 "
        r"values \(one per component\)", lambda c: advi(BAYES(2, priors=MixturePriors(
            weights_alpha=[1.0, 1.0, 1.0])))),
    row("priors-means_loc-wrong-length", ValueError, "means_loc has length 3, but 2 values "
        r"\(one per feature\)", lambda c: build_model(X, 2, priors=MixturePriors(
            means_loc=[0.0, 1.0, 2.0]))),
    row("priors-spherical-vector-scale", ValueError, "scale_sigma must be a scalar for "
        "covariance_type='spherical'", lambda c: build_model(X, 2, "spherical", MixturePriors(
            scale_sigma=[1.0, 2.0]))),
    row("build_model-priors-list", ValueError, "priors must be a MixturePriors instance or "
        "None, got list", lambda c: build_model(X, 2, priors=[1, 2])),
    # ---------------------------------------------------------------- selection
    row("select_em-empty-grid", ValueError, r"n_components is empty; pass at least one value",
        lambda c: select_em(X, n_components=[])),
    row("select_em-string-grid", ValueError, "n_components must be an iterable such as "
        r"range\(1, 10\), got '3'", lambda c: select_em(X, n_components="3")),
    row("select_em-zero-components", ValueError, "n_components must be >= 1, got 0",
        lambda c: select_em(X, n_components=[0, 1])),
    row("select_em-single-component-count", ValueError, r"n_components must be an iterable "
        r"such as range\(1, 10\), got 3\. For a single value pass a one-element list, e\.g\. "
        r"\[3\]\.", lambda c: select_em(X, n_components=3)),
    row("select_em-single-bad-count", ValueError, r"n_components must be an iterable such as "
        r"range\(1, 10\), got 0\.$", lambda c: select_em(X, n_components=0)),
    row("select_em-one-structure-twice", ValueError, "covariance_types names one structure "
        "twice: 'full' and 'VVV' are both mclust's 'VVV'. List it once.",
        lambda c: select_em(X, n_components=[1], covariance_types=["full", "tied", "VVV"])),
    row("select_em-families-none", ValueError, r"families must be an iterable such as "
        r"\('gaussian', 'student_t'\), got None\.$",
        lambda c: select_em(X, n_components=[1], families=None)),
    row("select_em-max_iter-0", ValueError, "max_iter must be >= 1, got 0",
        lambda c: select_em(X, n_components=[1], max_iter=0)),
    row("fit-warm-start-components", ValueError, "warm_start=True resumes the previous fit, "
        "which has 2 components, but this fit has n_components=3. Set warm_start=False",
        lambda c: EM(2, warm_start=True, random_state=0).fit(X).set_params(n_components=3)
        .fit(X)),
    row("fit-warm-start-features", ValueError, "which has 2 features, but this fit has X with "
        "1 features", lambda c: EM(2, warm_start=True, random_state=0).fit(X).fit(X[:, :1])),
    row("fit-warm-start-structure", ValueError, r"which has covariances of shape \(2, 2, 2\), "
        r"but this fit has covariance_type='tied', which stores covariances of shape \(2, 2\)",
        lambda c: EM(2, warm_start=True, random_state=0).fit(X)
        .set_params(covariance_type="tied").fit(X)),
    row("predict-after-set_params-components", ValueError, r"This GaussianMixtureEM was fitted "
        r"with 2 components \(precision factors of shape \(2, 2, 2\)\), but its parameters now "
        r"say n_components=3.*Fit it again", lambda c: EM(2, random_state=0).fit(X)
        .set_params(n_components=3).predict(X)),
    row("bic-after-set_params-structure", ValueError, "but its parameters now say "
        "n_components=2, covariance_type='diag': set_params does not change a fit",
        lambda c: EM(2, random_state=0).fit(X).set_params(covariance_type="diag").bic(X)),
    row("fit-X-mixed-column-names", TypeError, "Feature names are only supported if all "
        "input features have string names", lambda c: EM(2).fit(pd.DataFrame(X, columns=["a", 1]))),
    row("predict-X-renamed-columns", ValueError, "(?s)The feature names should match those that "
        "were passed during fit.*unseen at fit time:\\n- c", lambda c: EM(2, random_state=0)
        .fit(pd.DataFrame(X, columns=["a", "b"])).predict(pd.DataFrame(X, columns=["a", "c"]))),
    row("fit-X-timedelta", ValueError, r"X has dtype timedelta64\[s\], times rather than "
        r"numbers.*X / np\.timedelta64\(1, 's'\)",
        lambda c: EM(2).fit(X.astype("timedelta64[s]"))),
    row("fit-X-masked-text", ValueError, "X is a masked array of dtype <U1; bayesmix reads "
        "masked entries as missing values", lambda c: EM(2).fit(
            np.ma.masked_array(np.full((40, 2), "a"), mask=np.eye(40, 2, dtype=bool)))),
    row("select_em-repeated", ValueError, r"n_components has repeated values \[1, 1\]",
        lambda c: select_em(X, n_components=[1, 1])),
    row("select_em-covariance_types", ValueError, "covariance_types must be one of.*got 'VVX'",
        lambda c: select_em(X, n_components=[1], covariance_types=["full", "VVX"])),
    row("select_em-criterion", ValueError, "criterion must be one of 'bic', 'icl', got 'aic'",
        lambda c: select_em(X, n_components=[1], criterion="aic")),
    row("select_em-X-text", ValueError, "X must be an array-like.*got str 'data'",
        lambda c: select_em("data", n_components=[1])),
    row("select_em-reg_covar", ValueError, "reg_covar must be >= 0.0, got -1.0",
        lambda c: select_em(X, n_components=[1], reg_covar=-1)),
    row("select_em-random_state-generator", ValueError, "random_state must be None, an "
        r"integer in \[0, 2\*\*32 - 1\] or a numpy.random.RandomState, got Generator",
        lambda c: select_em(X, n_components=[1], random_state=np.random.default_rng(0))),
    row("select_bayes-criterion", ValueError, "criterion must be one of 'loo', 'waic', got 'bic'",
        lambda c: select_bayes(X, n_components=[1], criterion="bic")),
    row("select_bayes-method", ValueError, "method must be one of 'nuts'.*got 'em'",
        lambda c: select_bayes(X, n_components=[1], method="em")),
    row("select_bayes-too-many-components", ValueError, "n_components=50 must be <= "
        "n_samples=40", lambda c: select_bayes(X, n_components=[1, 50])),
    row("select_bayes-vi-unknown-kwarg", TypeError, "unexpected keyword argument 'draw' for "
        "method='advi'", lambda c: select_bayes(X, n_components=[1], method="advi", draw=10)),
    # ---------------------------------------------------------------- compare and scoring
    row("compare-list", ValueError, "models must be a non-empty mapping.*got list",
        lambda c: compare([c.em])),
    row("compare-empty", ValueError, "models must be a non-empty mapping",
        lambda c: compare({})),
    row("compare-not-a-model", ValueError, "model must be a fitted GaussianMixtureEM or "
        "GaussianMixtureBayes.*got str", lambda c: compare({"a": "model"})),
    row("compare-unfitted", ValueError, "got GaussianMixtureEM. Fit the estimator first",
        lambda c: compare({"a": EM(2)})),
    row("compare-y_true-without-X_test", ValueError, "pass X_test together with y_true",
        lambda c: compare({"a": c.em}, y_true=[0, 1])),
    row("compare-y_true-wrong-length", ValueError, "y_true has 2 labels but X_test has 40 rows",
        lambda c: compare({"a": c.em}, X_test=X, y_true=[0, 1])),
    row("compare-X_test-wrong-features", ValueError, "X has 3 features, but "
        "GaussianMixtureEM is expecting 2", lambda c: compare({"a": c.em},
                                                          X_test=np.zeros((3, 3)))),
    row("scoring-n_parameters-zero-components", ValueError, "n_components and n_features "
        "must be integers >= 1, got 0 and 2", lambda c: scoring.n_parameters(0, 2, "full")),
    row("scoring-n_parameters-one-feature-name", ValueError, "covariance_type='E' is "
        "mclust's name for one feature, but X has 2", lambda c: scoring.n_parameters(2, 2, "E")),
    row("scoring-bic-not-a-model", ValueError, "model must be a fitted.*got str",
        lambda c: scoring.bic("model")),
    row("scoring-waic-point-mass", ValueError, "WAIC needs posterior draws, but this is a "
        "point-mass fit", lambda c: scoring.waic(c.em)),
    row("scoring-loo-point-mass", ValueError, "LOO needs posterior draws",
        lambda c: scoring.loo(c.em)),
    row("scoring-lppd-row-all-nan", ValueError, r"every value missing \(NaN\): rows 0\.",
        lambda c: scoring.lppd(c.em, np.array([[np.nan, np.nan]]))),
    row("scoring-criteria-1d", ValueError, r"must be 2-D.*reshape\(-1, 1\)",
        lambda c: scoring.criteria(c.em, np.zeros(3))),
    # ---------------------------------------------------------------- plotting
    row("plot_components-n_std", ValueError, "n_std must be one or more positive numbers",
        lambda c: plotting.plot_components(c.em, X, n_std=-1)),
    row("plot_components-n_std-text", ValueError, "n_std must be one or more positive numbers "
        "of standard deviations, got '2'", lambda c: plotting.plot_components(c.em, X, n_std="2")),
    row("plot_selection-relative-text", ValueError, "relative must be True or False, got 'x'",
        lambda c: plotting.plot_selection(c.selection, relative="x")),
    row("plot_covariance_models-empty", ValueError, "covariance_types is empty; pass at "
        "least one model's name", lambda c: plotting.plot_covariance_models([])),
    row("permute_components-booleans", ValueError, r"order must be a permutation of "
        r"range\(2\), got array\(\[ True, False\]\)",
        lambda c: EM(2, random_state=0).fit(X).permute_components([True, False])),
    row("permute_components-floats", ValueError, "order must be a permutation of range",
        lambda c: EM(2, random_state=0).fit(X).permute_components([1.0, 0.0])),
    row("make_mixture-random_state-bool", ValueError, "random_state must be None, an integer "
        r"in \[0, 2\*\*32 - 1\] or a numpy.random.RandomState, got True",
        lambda c: make_mixture(10, random_state=True)),
    row("relabel-reference-covariances-shape", ValueError, r"reference_covariances has shape "
        r"\(2, 2\); pass one \(n_features, n_features\) matrix per reference mean",
        lambda c: relabel(c.em.to_inference_data(), c.em.means_, np.zeros((2, 2)))),
    row("relabel-reference-covariances-negative", ValueError, "reference_covariances must be "
        "symmetric positive definite", lambda c: relabel(
            c.em.to_inference_data(), c.em.means_, -np.stack([np.eye(2)] * 2))),
    row("relabel-reference-means-nan", ValueError, "reference_means must be finite",
        lambda c: relabel(c.em.to_inference_data(), np.full((2, 2), np.nan))),
    row("relabel-not-inference-data", ValueError, "idata must be a bayesmix InferenceData, "
        "whose posterior holds 'means' and 'covariances'", lambda c: relabel(X)),
    row("plot_components-ax", ValueError, "ax must be a matplotlib Axes or None, got str",
        lambda c: plotting.plot_components(c.em, X, ax="axes")),
    row("plot_components-X-features", ValueError, r"X has 3 features, but the model \(features "
        r"\['x0', 'x1'\]\)", lambda c: plotting.plot_components(c.em, np.zeros((3, 3)))),
    row("plot_posterior_components-point-mass", ValueError, "plot_posterior_components needs "
        "posterior draws", lambda c: plotting.plot_posterior_components(c.em, X)),
    row("plot_selection-not-a-selection", ValueError, "select_result must be the EMSelection",
        lambda c: plotting.plot_selection(c.em)),
    row("plot_selection-criterion", ValueError, "criterion must be one of 'bic', 'icl'",
        lambda c: plotting.plot_selection(c.selection, criterion="aic")),
    row("plot_trace-point-mass", ValueError, "plot_trace needs posterior draws",
        lambda c: plotting.plot_trace(c.em)),
    row("plot_em_history-not-a-model", ValueError, "em: model must be a fitted",
        lambda c: plotting.plot_em_history("em")),
    # ---------------------------------------------------------------- make_mixture
    row("make_mixture-n_samples-0", ValueError, "n_samples must be >= 1, got 0",
        lambda c: make_mixture(0)),
    row("make_mixture-n_features-float", ValueError, r"n_features must be an integer, got 2.5",
        lambda c: make_mixture(10, n_features=2.5)),
    row("make_mixture-covariance_type", ValueError, "covariance_type must be one of",
        lambda c: make_mixture(10, covariance_type="VVX")),
    row("make_mixture-separation-negative", ValueError, "separation must be >= 0.0, got -1.0",
        lambda c: make_mixture(10, separation=-1)),
    row("make_mixture-separation-overflow", ValueError, "separation=1e[+]308 is too large.*"
        "between 0 and a few tens", lambda c: make_mixture(10, separation=1e308)),
    row("make_mixture-separation-rounds-the-spread-away", ValueError, "separation=1e[+]10 is "
        "too large: beside means that far apart, float64 would round away most of the rows' "
        "spread", lambda c: make_mixture(10, separation=1e10)),
    row("make_mixture-random_state", ValueError, "random_state must be None.*got 'x'",
        lambda c: make_mixture(10, random_state="x")),
    row("make_mixture-too-many-rows", ValueError, r"make_mixture\(n_samples=1000000000000, "
        r"n_features=2\) needs about .* GiB", lambda c: make_mixture(10**12)),
    # ---------------------------------------------------------------- saved files
    row("load-missing-file", FileNotFoundError, r"missing\.nc: no such file",
        lambda c: load(c.folder / "missing.nc")),
    row("load-text-file", ValueError, r"notes\.nc: it is not a readable netCDF-4 file",
        lambda c: load(damaged(c, "notes.nc", lambda p: p.write_text("not netCDF\n")))),
    row("load-plain-netcdf", ValueError, r"plain\.nc.*not a saved bayesmix model.*"
        r"model\.save\(path\)", lambda c: load(damaged(
            c, "plain.nc", lambda p: xr.Dataset({"a": ("x", np.arange(3.0))}).to_netcdf(
                p, engine="h5netcdf")))),
    row("load-arviz-file", ValueError, "not a saved bayesmix model.*arviz.from_netcdf",
        lambda c: load(damaged(c, "idata.nc",
                               lambda p: c.em.to_inference_data().to_netcdf(p)))),
    *[row(f"load-truncated-{fraction}", ValueError,
          r"Cannot load .*truncated-.*\.nc: .*(truncated|damaged)",
          lambda c, f=fraction: load(damaged(c, f"truncated-{f}.nc", truncate(f))))
      for fraction in (0.1, 0.5, 0.9)],
    row("load-changed-posterior", ValueError, r"changed\.nc: its content does not match the "
        r"SHA-256.*Save the model again",
        lambda c: load(damaged(c, "changed.nc", set_value("posterior/weights", (0, 0, 0),
                                                          0.123)))),
    row("load-changed-data", ValueError, "content does not match the SHA-256",
        lambda c: load(damaged(c, "data.nc", set_value("observed_data/x", (0, 0), 1e-3)))),
    row("load-changed-root-array", ValueError, "content does not match the SHA-256",
        lambda c: load(damaged(c, "root.nc", set_value("means_", (0, 0), 0.0)))),
    row("load-crafted-huge-dimension", ValueError, r"huge\.nc: its variables declare 4 GiB "
        r"of values, more than its \d+ bytes can hold.*nothing was read",
        lambda c: load(declaring_a_huge_dimension(c.folder / "huge.nc"))),
    row("load-model-text-not-utf8", ValueError, "content does not match the SHA-256",
        lambda c: load(damaged(c, "utf8.nc", set_attribute("model", np.bytes_(b"{\xff}"))))),
    row("save-missing-folder", FileNotFoundError, r"Cannot save to .*missing[/\\]em\.nc: "
        r".*missing does not exist", lambda c: c.em.save(c.folder / "missing" / "em.nc")),
    row("save-folder-is-a-file", FileNotFoundError, r"model\.nc is not a folder",
        lambda c: c.em.save(c.saved / "em.nc")),
    row("save-to-a-folder", IsADirectoryError, r"Cannot save to .*: it is a folder\. Pass a "
        r"file's path, e\.g\. .*model\.nc", lambda c: c.em.save(c.folder, overwrite=True)),
    row("save-empty-path", ValueError, "path is empty; pass the name of a file to save to",
        lambda c: c.em.save("", overwrite=True)),
    row("save-path-none", TypeError, "path must be a str or a pathlib.Path naming a file to "
        "save to, got NoneType None", lambda c: c.em.save(None)),
    row("load-path-bytes", TypeError, "path must be a str or a pathlib.Path naming a file to "
        "load, got bytes", lambda c: load(b"model.nc")),
    row("save-feature-name-with-nul", ValueError, r"the feature name 'b\\x00' holds a NUL "
        r"character, which netCDF cannot store", lambda c: EM(2, random_state=0).fit(
            pd.DataFrame(X, columns=["a", "b\x00"])).save(c.folder / "nul.nc")),
    row("load-newer-format", ValueError, rf"format_version={persistence.FORMAT_VERSION + 1}"
        rf".*reads format_version={persistence.FORMAT_VERSION}.*upgrade bayesmix",
        lambda c: load(damaged(c, "newer.nc", set_format_version))),
    # ---------------------------------------------------------------- command line
    row("cli-draws-0", SystemExit, "argument --draws: expected an integer >= 1, got 0",
        lambda c: _cli("fit", c.csv, "-k", "2", "--draws", "0", "--out", c.out)),
    row("cli-components-0", SystemExit, "argument --components/-k: expected one number of "
        "components", lambda c: _cli("fit", c.csv, "-k", "0", "--out", c.out)),
    row("cli-seed-text", SystemExit, "argument --seed: expected an integer seed between 0 and "
        "2[*][*]32 - 1, got 'abc'", lambda c: _cli("select", c.csv, "--seed", "abc")),
    row("cli-seed-negative", SystemExit, "argument --seed: expected an integer seed.*got '-1'",
        lambda c: _cli("fit", c.csv, "-k", "2", "--seed", "-1", "--out", c.out)),
    row("cli-columns-empty", SystemExit, "argument --columns: expected comma-separated column "
        "names", lambda c: _cli("select", c.csv, "--columns", "")),
    row("cli-criterion-aic", SystemExit, "argument --criterion: invalid choice: 'aic'",
        lambda c: _cli("select", c.csv, "--criterion", "aic")),
    row("cli-components-range-from-0", SystemExit, "the smallest number of components is 1",
        lambda c: _cli("select", c.csv, "-k", "0-3")),
    row("cli-too-many-components", SystemExit, "has 272 data row[(]s[)], too few for 300 "
        "components", lambda c: _cli("fit", c.csv, "-k", "300", "--out", c.out)),
    row("cli-sep-two-characters", SystemExit, "argument --sep: expected one character such "
        "as ';'", lambda c: _cli("select", c.csv, "--sep", ";;")),
    row("cli-encoding-unknown", SystemExit, "argument --encoding: unknown encoding 'utf-99'",
        lambda c: _cli("select", c.csv, "--encoding", "utf-99")),
    row("cli-features-one", SystemExit, "argument --features: expected two different column "
        "names", lambda c: _cli("fit", c.csv, "-k", "2", "--features", "waiting",
                                "--out", c.out)),
    row("cli-columns-and-exclude", SystemExit, "argument --exclude: not allowed with "
        "argument --columns", lambda c: _cli("select", c.csv, "--columns", "waiting",
                                             "--exclude", "eruptions")),
    row("cli-exclude-unknown", SystemExit, "argument --exclude: no column 'duration'",
        lambda c: _cli("select", c.csv, "--exclude", "duration")),
    row("cli-out-is-a-file", SystemExit, "argument --out: .*faithful.csv' is a file; pass a "
        "folder", lambda c: _cli("fit", c.csv, "-k", "2", "--out", c.csv)),
    row("cli-predict-out-exists", SystemExit, "argument --out: .*faithful.csv' already "
        "exists; pass --overwrite", lambda c: _cli("predict", c.saved, c.csv, "--out", c.csv)),
]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(("call", "error", "match"), CASES)
def test_bad_input(call, error, match, ctx, capsys):
    with pytest.raises(error) as info:
        call(ctx)
    message = f"{info.value}\n{capsys.readouterr().err}"
    assert re.search(match, message), message
    assert "Traceback" not in message
    if error is not SystemExit:  # (the command line's usage errors exit through argparse)
        raised_in = info.traceback[-1].path  # bayesmix's own frame, no dependency's
        assert Path(bayesmix.__file__).parent in Path(raised_in).parents, raised_in
