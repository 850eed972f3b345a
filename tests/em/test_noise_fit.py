"""Mixtures with a uniform noise component: against R mclust, robustness, the API.

``tests/data/mclust_noise.json`` (``tests/data/make_mclust_noise.R``) holds mclust 6.0's
fits with ``initialization = list(noise = mask)`` on three clusters plus scattered points:
started from the same mask and hierarchical clustering, bayesmix must reach the same
log-likelihood, weights (noise last), hypervolume, BIC and number of parameters.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from bayesmix import GaussianMixtureEM, StudentMixtureEM, load

FIXTURE = json.loads((Path(__file__).parents[1] / "data" / "mclust_noise.json").read_text())
X_MCLUST = np.array(FIXTURE["X"])
MASK = np.array(FIXTURE["noise"])


def _fit_quietly(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X)


@pytest.mark.parametrize("cell", FIXTURE["fits"], ids=lambda c: f"{c['model']}-G{c['G']}")
def test_matches_mclust_noise_fit(cell):
    em = _fit_quietly(GaussianMixtureEM(
        cell["G"], covariance_type=cell["model"], init_params="hc", noise=True,
        noise_init=MASK, tol=1e-10, max_iter=5000,
        reg_covar=1e-9 * X_MCLUST.var(axis=0).min()), X_MCLUST)
    assert em.score(X_MCLUST) * len(X_MCLUST) == pytest.approx(cell["loglik"], abs=1e-3)
    assert -em.bic(X_MCLUST) == pytest.approx(cell["bic"], abs=2e-3)
    assert em._n_parameters() == cell["df"]
    assert em.hypervolume_ == pytest.approx(cell["hypvol"], rel=1e-10)
    pro = np.array(cell["pro"])
    assert em.weights_[-1] == em.noise_weight_ == pytest.approx(pro[-1], abs=1e-4)
    np.testing.assert_allclose(np.sort(em.component_weights_), np.sort(pro[:-1]), atol=5e-4)
    # mclust's classification 0 is the noise; bayesmix's -1
    mclust_noise = np.array(cell["classification"]) == 0
    assert ((em.predict(X_MCLUST) == -1) == mclust_noise).mean() >= 0.99


def _clusters_with_outliers(seed):
    """Three well-separated clusters (600 rows) plus 5 % gross outliers (30 rows)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    clean = np.vstack([rng.normal(centre, 1.0, size=(200, 2)) for centre in centres])
    outliers = rng.uniform(-30.0, 40.0, size=(30, 2))
    return np.vstack([clean, outliers]), np.repeat([0, 1, 2], 200)


@pytest.mark.parametrize("seed", [1, 2])
def test_noise_and_t_fits_recover_clusters_the_gaussian_fit_misses(seed):
    X, truth = _clusters_with_outliers(seed)
    ari = {}
    for name, model in {
        "gaussian": GaussianMixtureEM(3, n_init=5, random_state=0),
        "noise": GaussianMixtureEM(3, noise=True, random_state=0),
        "student_t": StudentMixtureEM(3, n_init=5, random_state=0),
        "student_t_noise": StudentMixtureEM(3, noise=True, random_state=0),
    }.items():
        labels = _fit_quietly(model, X).predict(X)
        ari[name] = adjusted_rand_score(truth, labels[:600])
    assert ari["gaussian"] < 0.9, ari
    assert min(ari["noise"], ari["student_t"], ari["student_t_noise"]) > 0.95, ari


@pytest.mark.parametrize("estimator", [GaussianMixtureEM, StudentMixtureEM])
def test_noise_fit_api(estimator, tmp_path):
    X, _ = _clusters_with_outliers(3)
    em = _fit_quietly(estimator(3, noise=True, random_state=0), X)
    labels = em.fit_predict(X)
    np.testing.assert_array_equal(labels, em.predict(X))
    proba = em.predict_proba(X)
    assert proba.shape == (len(X), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.where(proba.argmax(axis=1) == 3, -1,
                                           proba.argmax(axis=1)), labels)
    assert (labels[600:] == -1).mean() > 0.8 and (labels[:600] == -1).mean() < 0.02
    assert em.weights_.shape == (4,) and em.weights_.sum() == pytest.approx(1.0)
    assert em.noise_weight_ == em.weights_[-1]
    # the log density: the components' plus the noise's 1 / V
    log_prob = em._weighted_log_prob(X)
    np.testing.assert_allclose(log_prob[:, -1], np.log(em.noise_weight_ / em.hypervolume_))
    np.testing.assert_allclose(em.score_samples(X), np.logaddexp.reduce(log_prob, axis=1))
    assert np.all(np.diff(em.lower_bound_history_) > -1e-10)  # EM is monotone
    # mclust's count: the noise weight and the hypervolume
    plain = _fit_quietly(estimator(3, random_state=0), X)
    assert em._n_parameters() == plain._n_parameters() + 2
    idata = em.to_inference_data()
    assert idata.posterior["noise_weight"].item() == pytest.approx(em.noise_weight_)
    assert idata.posterior.attrs["noise_hypervolume"] == em.hypervolume_
    np.testing.assert_allclose(idata.log_likelihood["x"].values.ravel(), em.score_samples(X))
    reloaded = load(em.save(tmp_path / "noise.nc"))
    np.testing.assert_array_equal(reloaded.predict_proba(X), proba)
    # permuting the components keeps the noise weight last
    em.permute_components([2, 0, 1])
    assert em.weights_[-1] == em.noise_weight_
    np.testing.assert_allclose(em.predict_proba(X)[:, [1, 2, 0, 3]], proba)


def test_pooled_structures_weight_the_scatter_by_the_components_share():
    # tied with a noise component: the shared covariance is that of the clusters only
    X, _ = _clusters_with_outliers(4)
    em = _fit_quietly(GaussianMixtureEM(3, covariance_type="tied", noise=True,
                                        random_state=0), X)
    np.testing.assert_allclose(em.covariances_, np.eye(2), atol=0.15)


def test_noise_init_and_bad_input():
    X, _ = _clusters_with_outliers(5)
    mask = np.zeros(len(X), dtype=bool)
    mask[600:] = True
    em = _fit_quietly(GaussianMixtureEM(3, noise=True, noise_init=mask, random_state=0), X)
    assert em.noise_weight_ == pytest.approx(30 / 630, abs=0.01)
    with pytest.raises(ValueError, match="noise_init must be a boolean array of shape"):
        GaussianMixtureEM(3, noise=True, noise_init=mask[:10]).fit(X)
    with pytest.raises(ValueError, match="noise_init must be a boolean array"):
        GaussianMixtureEM(3, noise=True, noise_init=mask.astype(int)).fit(X)
    with pytest.raises(ValueError, match="noise_init was given but noise=False"):
        GaussianMixtureEM(3, noise_init=mask).fit(X)
    with pytest.raises(ValueError, match="leaving 2 for n_components=3"):
        GaussianMixtureEM(3, noise=True, noise_init=np.arange(len(X)) > 1).fit(X)
    with pytest.raises(ValueError, match="not available with noise=True"):
        GaussianMixtureEM(3, noise=True, acceleration="squarem").fit(X)
    with pytest.raises(ValueError, match="noise must be True or False"):
        GaussianMixtureEM(3, noise="yes").fit(X)
    missing = X.copy()
    missing[0, 0] = np.nan
    with pytest.raises(ValueError, match="noise=True fits complete rows in memory"):
        GaussianMixtureEM(3, noise=True).fit(missing)
    with pytest.raises(ValueError, match="does not draw from a fit with a noise"):
        em.sample(3)
    em.set_params(warm_start=True, noise=False, noise_init=None)
    with pytest.raises(ValueError, match="warm_start=True resumes the previous fit"):
        em.fit(X)


def test_warm_start_with_noise_continues():
    X, _ = _clusters_with_outliers(6)
    em = _fit_quietly(GaussianMixtureEM(3, noise=True, random_state=0, max_iter=3), X)
    first = em.lower_bound_
    em.set_params(warm_start=True, max_iter=100)
    _fit_quietly(em, X)
    assert em.lower_bound_ >= first
    assert em.weights_.shape == (4,)



@pytest.mark.parametrize("estimator", [GaussianMixtureEM, StudentMixtureEM])
def test_sample_weight_counts_rows_with_noise(estimator):
    # a row of weight 2 counts as two rows, the noise component's count included
    X, _ = _clusters_with_outliers(7)
    counts = np.ones(len(X), dtype=int)
    counts[::7] = 2
    mask = np.arange(len(X)) >= 600
    start = {"weights_init": np.full(3, 1 / 3),
             "means_init": np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]]),
             "precisions_init": np.repeat(np.eye(2)[np.newaxis], 3, axis=0)}
    settings = {"noise": True, "tol": 1e-12, "max_iter": 50, **start}
    weighted = _fit_quietly(estimator(3, noise_init=mask, **settings), X)
    weighted_fit = estimator(3, noise_init=mask, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted_fit.fit(X, sample_weight=counts.astype(float))
    repeated = _fit_quietly(estimator(3, noise_init=np.repeat(mask, counts), **settings),
                            np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(weighted_fit.weights_, repeated.weights_, rtol=1e-8)
    np.testing.assert_allclose(weighted_fit.means_, repeated.means_, rtol=1e-8, atol=1e-10)
    assert not np.allclose(weighted.weights_, repeated.weights_, rtol=1e-8)


def test_a_noise_fit_on_a_dataframe_scores_it_without_a_feature_name_warning():
    """The rows are checked once: checked again as an array, they lost the DataFrame's
    column names and scikit-learn warned of 'no valid feature names'."""
    import pandas as pd

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(60, 2)) + 6,
                   rng.uniform(-20, 20, size=(15, 2))])
    frame = pd.DataFrame(X, columns=["a", "b"])
    em = GaussianMixtureEM(2, noise=True, random_state=0).fit(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        density = em.score_samples(frame)
        stored = em.to_inference_data().log_likelihood["x"].values.ravel()
    np.testing.assert_allclose(stored, density, rtol=1e-12)
