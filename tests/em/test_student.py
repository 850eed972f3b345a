"""StudentMixtureEM: t densities, ECM monotonicity, limits, robustness, persistence."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_t
from sklearn.metrics import adjusted_rand_score

from bayesmix import GaussianMixtureEM, StudentMixtureEM, load, scoring
from bayesmix.covariance import COVARIANCE_TYPES, MCLUST_MODELS, get_structure

STRUCTURES = COVARIANCE_TYPES + MCLUST_MODELS


def _clusters(seed: int = 0, n_per: int = 60) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    return np.vstack([rng.standard_t(5, size=(n_per, 2)) @ np.array([[1.0, 0.3], [0.0, 0.7]])
                      + centre for centre in centres])


def _scipy_log_density(em: StudentMixtureEM, X: np.ndarray) -> np.ndarray:
    K, D = em.means_.shape
    scales = get_structure(em.covariance_type).to_full(em.scales_, K, D)
    parts = [np.log(weight) + multivariate_t(mean, scale, df=dof).logpdf(X)
             for weight, mean, scale, dof in zip(em.weights_, em.means_, scales, em.dof_)]
    return np.logaddexp.reduce(np.array(parts), axis=0)


@pytest.mark.filterwarnings("ignore::bayesmix.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_density_matches_scipy_for_every_structure(covariance_type):
    X = _clusters()
    em = StudentMixtureEM(3, covariance_type=covariance_type, max_iter=20, tol=0.0,
                          random_state=0).fit(X)
    np.testing.assert_allclose(em.score_samples(X), _scipy_log_density(em, X),
                               rtol=0, atol=1e-8)
    assert abs(em.score(X) - _scipy_log_density(em, X).mean()) < 1e-8


@pytest.mark.filterwarnings("ignore::bayesmix.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_ecm_is_monotone(covariance_type):
    X = _clusters(seed=1)
    em = StudentMixtureEM(3, covariance_type=covariance_type, max_iter=60, tol=0.0,
                          random_state=1).fit(X)
    steps = np.diff(em.lower_bound_history_)
    assert steps.min() > -1e-10, steps.min()
    # the lower bound is the mean log-likelihood at the parameters of its E step
    assert em.lower_bound_history_[-1] <= em.score(X) + 1e-10


def test_large_dof_tends_to_the_gaussian_fit():
    X = _clusters(seed=2)
    gaussian = GaussianMixtureEM(3, tol=1e-10, max_iter=500, random_state=0).fit(X)
    gaps = []
    for dof in (10.0, 1e3, 1e7):
        t = StudentMixtureEM(3, dof=dof, tol=1e-10, max_iter=500, random_state=0).fit(X)
        order = [int(np.argmin(np.linalg.norm(t.means_ - mean, axis=1)))
                 for mean in gaussian.means_]
        gaps.append(np.abs(t.means_[order] - gaussian.means_).max())
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-4
    assert abs(t.score(X) - gaussian.score(X)) < 1e-5


@pytest.mark.filterwarnings("ignore::bayesmix.ConvergenceWarning")
def test_estimated_dof_follow_the_tails():
    rng = np.random.default_rng(3)
    heavy = StudentMixtureEM(1, tol=1e-8, max_iter=500).fit(rng.standard_t(2.5, (3000, 2)))
    light = StudentMixtureEM(1, tol=1e-8, max_iter=500).fit(rng.normal(size=(3000, 2)))
    assert 1.5 < heavy.dof_[0] < 4.0
    assert light.dof_[0] > 30


def test_covariances_from_scales_and_dof():
    X = _clusters(seed=4)
    em = StudentMixtureEM(3, covariance_type="diag", dof=4.0, random_state=0).fit(X)
    full = get_structure("diag").to_full(em.scales_, 3, 2)
    np.testing.assert_allclose(em.covariances_, full * 2.0)
    em = StudentMixtureEM(3, covariance_type="tied", dof=1.5, random_state=0).fit(X)
    assert em.covariances_.shape == (3, 2, 2) and np.isinf(em.covariances_).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no 0 x inf
        em = StudentMixtureEM(3, covariance_type="diag", dof=1.5, random_state=0).fit(X)
    diagonal = np.eye(2, dtype=bool)
    assert np.isinf(em.covariances_[:, diagonal]).all()
    assert (em.covariances_[:, ~diagonal] == 0.0).all()


def _with_outliers(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 9.0]])
    clean = np.vstack([rng.normal(size=(100, 2)) + centre for centre in centres])
    labels = np.repeat(np.arange(3), 100)
    outliers = rng.uniform(-60, 70, size=(16, 2))  # 5 % of the 316 rows
    return np.vstack([clean, outliers]), labels, np.arange(300)


@pytest.mark.parametrize("seed", [5, 6])
@pytest.mark.filterwarnings("ignore::bayesmix.ConvergenceWarning")
def test_t_fit_recovers_clusters_with_gross_outliers_where_gaussian_does_not(seed):
    X, labels, clean = _with_outliers(seed)
    # Best of 10 starts from random rows: k-means starts put a centre on the outliers.
    start = dict(n_init=10, init_params="random_from_data", random_state=0)
    t_ari = adjusted_rand_score(labels, StudentMixtureEM(3, **start).fit(X).predict(X[clean]))
    gauss_ari = adjusted_rand_score(labels,
                                    GaussianMixtureEM(3, **start).fit(X).predict(X[clean]))
    assert t_ari > 0.95
    assert gauss_ari < 0.95


@pytest.mark.filterwarnings("ignore::bayesmix.ConvergenceWarning")
def test_sample_weight_counts_as_repeated_rows():
    X = _clusters(seed=6, n_per=20)
    repeats = np.tile([1, 2, 3], len(X) // 3)
    # The same start and number of iterations: the iterates must agree.
    start = dict(weights_init=np.full(3, 1 / 3), means_init=np.array([[0.0, 0.0], [8.0, 0.0],
                                                                      [0.0, 8.0]]),
                 precisions_init=np.stack([np.eye(2)] * 3), tol=0.0, max_iter=50)
    weighted = StudentMixtureEM(3, **start).fit(X, sample_weight=repeats)
    repeated = StudentMixtureEM(3, **start).fit(np.repeat(X, repeats, axis=0))
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-9)
    np.testing.assert_allclose(weighted.scales_, repeated.scales_, rtol=1e-9)
    np.testing.assert_allclose(weighted.dof_, repeated.dof_, rtol=1e-9)
    np.testing.assert_allclose(weighted.lower_bound_history_, repeated.lower_bound_history_,
                               rtol=1e-9)


def test_bic_counts_the_dof():
    X = _clusters(seed=7)
    free = StudentMixtureEM(3, random_state=0).fit(X)
    fixed = StudentMixtureEM(3, dof=float(free.dof_.mean()), random_state=0).fit(X)
    assert free._n_parameters() == fixed._n_parameters() + 3
    assert np.isclose(free.bic(X), -2 * len(X) * free.score(X) + 20 * np.log(len(X)))
    # the shared scoring of the fits' InferenceData counts the same parameters
    for em in (free, fixed):
        assert np.isclose(scoring.bic(em), em.bic(X))


def test_sample_draws_heavy_tails():
    X = _clusters(seed=8)
    em = StudentMixtureEM(1, dof=3.0, random_state=0).fit(X[:60])
    rows, labels = em.sample(20000)
    assert rows.shape == (20000, 2) and (labels == 0).all()
    np.testing.assert_allclose(np.median(rows, axis=0), em.means_[0], atol=0.05)


@pytest.mark.filterwarnings("ignore::bayesmix.ConvergenceWarning")
def test_warm_start_and_permutation_keep_the_fit():
    X = _clusters(seed=9)
    em = StudentMixtureEM(3, random_state=0, warm_start=True, max_iter=5).fit(X)
    first_dof = em.dof_.copy()
    em.fit(X)  # continues from the previous fit, dof included
    assert em.n_iter_ <= 5 and not np.array_equal(em.dof_, first_dof)
    before = em.score_samples(X)
    order = np.array([2, 0, 1])
    dof, scales, covariances = em.dof_.copy(), em.scales_.copy(), em.covariances_.copy()
    em.permute_components(order)
    np.testing.assert_allclose(em.score_samples(X), before)
    np.testing.assert_array_equal(em.dof_, dof[order])
    np.testing.assert_array_equal(em.scales_, scales[order])
    np.testing.assert_array_equal(em.covariances_, covariances[order])
    with pytest.raises(ValueError, match="permutation"):
        em.permute_components([0, 0, 1])
    np.testing.assert_array_equal(em.scales_, scales[order])  # unchanged by the refusal


def test_save_and_load_round_trip(tmp_path):
    X = _clusters(seed=10)
    em = StudentMixtureEM(3, covariance_type="VEI", random_state=0).fit(X)
    reloaded = load(em.save(tmp_path / "t.nc"))
    assert type(reloaded) is StudentMixtureEM
    np.testing.assert_array_equal(reloaded.score_samples(X), em.score_samples(X))
    np.testing.assert_array_equal(reloaded.dof_, em.dof_)


@pytest.mark.parametrize("dof", [0.0, -1.0, np.inf, "4", True])
def test_bad_dof_is_refused(dof):
    with pytest.raises(ValueError, match="dof must be None"):
        StudentMixtureEM(2, dof=dof).fit(_clusters())


@pytest.mark.parametrize("setting", [{"acceleration": "squarem"}, {"prior": "default"}])
def test_gaussian_only_options_are_refused(setting):
    name = next(iter(setting))
    with pytest.raises(ValueError, match=f"{name}=.*not available for StudentMixtureEM"):
        StudentMixtureEM(2, **setting).fit(_clusters())


def test_float32_rows_give_float32_results_and_dataframes_keep_their_names():
    import pandas as pd

    X = _clusters(seed=11)
    em = StudentMixtureEM(3, random_state=0).fit(X.astype(np.float32))
    assert em.means_.dtype == em.dof_.dtype == np.float32
    assert em.score_samples(X.astype(np.float32)).dtype == np.float32
    assert em.predict_proba(X.astype(np.float32)).dtype == np.float32
    frame = pd.DataFrame(X, columns=["a", "b"])
    em = StudentMixtureEM(3, random_state=0).fit(frame)
    assert list(em.feature_names_in_) == ["a", "b"]
    plain = StudentMixtureEM(3, random_state=0).fit(X)
    np.testing.assert_array_equal(em.predict(frame), plain.predict(X))


def test_dask_rows_are_refused():
    da = pytest.importorskip("dask.array")
    with pytest.raises(TypeError, match="StudentMixtureEM fits rows in memory"):
        StudentMixtureEM(2).fit(da.from_array(_clusters()))


def test_missing_values_are_refused_with_the_way_out():
    X = np.random.default_rng(0).normal(size=(40, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="X has missing values .* use GaussianMixtureEM"):
        StudentMixtureEM(2).fit(X)
