"""GaussianMixtureBayes: recovery, the InferenceData layout, reproducibility, bad input."""

import arviz as az
import numpy as np
import pandas as pd
import pytest
from conftest import FAST_FIT, FEATURE_NAMES, METHODS, N_COMPONENTS, as_frame, quiet_fit

from bayesmix import load_low_dim_gauss_mix
from bayesmix.bayes import GaussianMixtureBayes, MixturePriors
from bayesmix.covariance import posterior_structures, precision_cholesky, to_full
from bayesmix.density import responsibilities
from bayesmix.exceptions import NotFittedError
from bayesmix.relabel import hungarian_permutations
from bayesmix.results import log_likelihood_draws


def _truth_in_fit_order(sample, estimator):
    """True weights and means, permuted to the fitted labels."""
    params = sample.params
    # order[j] is the true component that gets the fitted label j
    order = hungarian_permutations(params["means"][None], estimator.means_)[0]
    return params["weights"][order], params["means"][order]


def _assert_recovered(estimator, sample, n_sd):
    weights, means = _truth_in_fit_order(sample, estimator)
    posterior = estimator.idata_.posterior
    for name, truth in (("weights", weights), ("means", means)):
        draws = posterior[name]
        mean = draws.mean(("chain", "draw")).values
        sd = draws.std(("chain", "draw")).values
        assert np.all(np.abs(mean - truth) <= n_sd * sd + 1e-3), (name, mean, truth, sd)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("covariance_type", posterior_structures())
def test_fast_recovery(fitted, mixtures, covariance_type, method):
    estimator = fitted(covariance_type, method)
    _assert_recovered(estimator, mixtures[covariance_type], n_sd=5)
    truth = to_full(mixtures[covariance_type].params["covariances"], covariance_type,
                    N_COMPONENTS, 2)
    order = hungarian_permutations(mixtures[covariance_type].params["means"][None],
                                   estimator.means_)[0]
    np.testing.assert_allclose(estimator.covariances_, truth[np.argsort(order)], atol=0.5)


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("covariance_type", posterior_structures())
def test_strict_recovery(mixtures, covariance_type, method):
    sample = mixtures[covariance_type]
    kwargs = ({"draws": 1000, "tune": 1000, "chains": 4} if method == "nuts"
              else {"draws": 2000, "n_iter": 30_000})
    estimator = GaussianMixtureBayes(N_COMPONENTS, covariance_type=covariance_type,
                                     random_state=1).fit(sample.X, method=method, **kwargs)
    _assert_recovered(estimator, sample, n_sd=3)
    if method == "nuts":
        assert estimator.diagnostics_["n_divergences"] == 0
        assert estimator.diagnostics_["max_rhat"] < 1.01


@pytest.mark.parametrize("method", METHODS)
def test_inference_data_layout(fitted, mixtures, method):
    estimator = fitted("full", method)
    idata = estimator.idata_
    assert set(idata.groups()) == {"posterior", "log_likelihood", "observed_data",
                                   "sample_stats"}
    posterior = idata.posterior
    n_chains = FAST_FIT[method].get("chains", 1)
    n_draws = FAST_FIT[method]["draws"]
    assert posterior["weights"].dims == ("chain", "draw", "component")
    assert posterior["means"].dims == ("chain", "draw", "component", "feature")
    assert posterior["covariances"].dims == ("chain", "draw", "component", "feature",
                                             "feature_bis")
    assert posterior["sigmas"].dims == ("chain", "draw", "component", "feature")
    assert posterior["corr_cpc"].dims == ("chain", "draw", "component", "feature_pair")
    assert dict(posterior.sizes) == {"chain": n_chains, "draw": n_draws, "component": 2,
                                     "feature": 2, "feature_bis": 2, "feature_pair": 1}
    names = FEATURE_NAMES if method == "nuts" else ["x0", "x1"]
    assert list(posterior.feature.values) == names
    assert list(idata.observed_data.feature.values) == names
    np.testing.assert_allclose(idata.observed_data["x"].values, mixtures["full"].X)
    assert idata.log_likelihood["x"].dims == ("chain", "draw", "obs")
    assert idata.log_likelihood["x"].shape == (n_chains, n_draws, len(mixtures["full"].X))
    assert idata.sample_stats["label_permutation"].dims == ("chain", "draw", "component")
    assert posterior.attrs["inference_method"] == method
    assert posterior.attrs["covariance_type"] == "full"


def test_nuts_sample_stats_and_log_likelihood(fitted, mixtures):
    estimator = fitted("full", "nuts")
    stats = estimator.idata_.sample_stats
    for name in ("diverging", "lp", "step_size", "tree_depth", "acceptance_rate"):
        assert stats[name].dims == ("chain", "draw")
    # the sampler's pointwise log-likelihood (JAX) equals density.py's at the same draws
    posterior = estimator.idata_.posterior
    expected = log_likelihood_draws(mixtures["full"].X, posterior["weights"].values[:, :5],
                                    posterior["means"].values[:, :5],
                                    posterior["covariances"].values[:, :5])
    np.testing.assert_allclose(estimator.idata_.log_likelihood["x"].values[:, :5], expected,
                               rtol=1e-8)


def test_vi_sample_stats_hold_the_loss(fitted):
    stats = fitted("diag", "advi").idata_.sample_stats
    assert stats["loss"].dims == ("iteration",)
    assert np.isfinite(stats["loss"].values).all()


def test_raw_parameters_are_relabelled_with_the_means(fitted):
    posterior = fitted("diag", "nuts").idata_.posterior
    sigmas = posterior["sigmas"].values
    variances = np.diagonal(posterior["covariances"].values, axis1=-2, axis2=-1)
    np.testing.assert_allclose(sigmas**2, variances, rtol=1e-10)


def test_summary_reports_relabelled_parameters(fitted):
    summary = fitted("spherical", "nuts").summary()
    assert list(summary.index[:2]) == ["weights[0]", "weights[1]"]
    assert "means[1, width]" in summary.index
    assert {"mean", "sd", "r_hat", "ess_bulk"} <= set(summary.columns)


def test_predictions(fitted, mixtures):
    estimator = fitted("full", "nuts")
    sample = mixtures["full"]
    X = as_frame(sample.X)
    proba = estimator.predict_proba(X)
    assert proba.shape == (len(X), N_COMPONENTS)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    order = hungarian_permutations(sample.params["means"][None], estimator.means_)[0]
    # well-separated truth: the labels are recovered up to the relabelling
    assert np.mean(np.argsort(order)[sample.labels] == estimator.predict(X)) > 0.95
    scores = estimator.score_samples(X)
    assert scores.shape == (len(X),)
    assert estimator.score(X) == pytest.approx(scores.mean())
    # posterior predictive density: log-mean-exp of the stored pointwise log-likelihood
    ll = estimator.idata_.log_likelihood["x"].values.reshape(-1, len(X))
    expected = np.log(np.mean(np.exp(ll), axis=0))
    np.testing.assert_allclose(scores, expected, rtol=1e-8)


def test_sample_draws_from_the_posterior_predictive(fitted, mixtures):
    estimator = fitted("tied", "advi")
    X, labels = estimator.sample(2000)
    assert X.shape == (2000, 2) and labels.shape == (2000,)
    assert set(np.unique(labels)) <= set(range(N_COMPONENTS))
    for k in range(N_COMPONENTS):
        np.testing.assert_allclose(X[labels == k].mean(axis=0), estimator.means_[k], atol=0.2)
    np.testing.assert_allclose(np.bincount(labels) / 2000, estimator.weights_, atol=0.05)


def test_same_random_state_gives_the_same_draws(fitted, mixtures):
    first = fitted("spherical", "nuts")
    again = quiet_fit(GaussianMixtureBayes(N_COMPONENTS, covariance_type="spherical",
                                           random_state=0),
                      as_frame(mixtures["spherical"].X), "nuts")
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(first.idata_.posterior[name].values,
                                      again.idata_.posterior[name].values)


def test_different_random_state_gives_different_draws(fitted, mixtures):
    first = fitted("spherical", "advi")
    other = quiet_fit(GaussianMixtureBayes(N_COMPONENTS, covariance_type="spherical",
                                           random_state=1),
                      mixtures["spherical"].X, "advi")
    assert not np.allclose(first.idata_.posterior["means"].values,
                           other.idata_.posterior["means"].values)


def test_ordered_means_fit(mixtures):
    estimator = quiet_fit(GaussianMixtureBayes(N_COMPONENTS, covariance_type="diag",
                                               ordered_means=True, random_state=0),
                          mixtures["diag"].X, "advi")
    means = estimator.idata_.posterior["means"].values
    assert np.all(np.diff(means[..., 0], axis=-1) > 0)
    assert estimator.idata_.posterior.attrs["ordered_means"] == 1


@pytest.mark.parametrize(("method", "sign"), [
    ("advi", 1.0), ("advi", -1.0), ("nuts", 1.0),
    pytest.param("nuts", -1.0, marks=pytest.mark.slow),
])
def test_ordered_means_gives_increasing_means_in_every_draw(method, sign):
    """posteriordb's low_dim_gauss_mix and its mirror image: the EM fit labels the
    components in the same order on both (k-means and EM are unchanged by the sign), so
    on one of them the EM order is decreasing (on the data as given, with this seed);
    every draw must still come out increasing, and the EM reference labelled the same
    way."""
    X = sign * load_low_dim_gauss_mix()
    kwargs = {"nuts": {"draws": 50, "tune": 50, "chains": 2},
              "advi": {"draws": 50, "n_iter": 200}}[method]
    estimator = quiet_fit(GaussianMixtureBayes(2, ordered_means=True, random_state=0), X,
                          method, **kwargs)
    means = estimator.idata_.posterior["means"].values[..., 0]
    assert np.all(np.diff(means, axis=-1) > 0)
    assert np.all(np.diff(estimator.em_.means_[:, 0]) > 0)
    weights = estimator.idata_.posterior["weights"].mean(("chain", "draw")).values
    np.testing.assert_allclose(weights, estimator.em_.weights_, atol=0.1)


def test_posterior_follows_the_data_units(mixtures):
    """Rescaling X by 1e-6 rescales the posterior and nothing else.

    The free variables are unit-scale offsets and log standard deviations and the
    reference EM's ``reg_covar`` is relative to the data, so the optimisation is the same
    computation in other units: data measured in micrometres fit like data in metres.
    """
    X = mixtures["full"].X
    fits = {scale: quiet_fit(GaussianMixtureBayes(N_COMPONENTS, random_state=0), X * scale,
                             "advi", n_iter=500, draws=50) for scale in (1.0, 1e-6)}
    small, unit = fits[1e-6], fits[1.0]
    np.testing.assert_allclose(small.idata_.posterior["means"] / 1e-6,
                               unit.idata_.posterior["means"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(small.idata_.posterior["covariances"] / 1e-12,
                               unit.idata_.posterior["covariances"], rtol=1e-9, atol=1e-12)
    n_features = X.shape[1]
    assert small.score(X * 1e-6) == pytest.approx(unit.score(X) - n_features * np.log(1e-6),
                                                  rel=1e-10)


def test_unfitted_estimator_raises():
    with pytest.raises(NotFittedError):
        GaussianMixtureBayes(2).predict(np.zeros((2, 2)))


@pytest.mark.parametrize(
    "params, fit_kwargs, match",
    [
        ({"n_components": 0}, {}, "n_components must be >= 1, got 0"),
        ({"n_components": 500}, {}, "n_components=500 must be <= n_samples=240"),
        ({"covariance_type": "banded"}, {}, "covariance_type must be one of"),
        ({"priors": {"lkj_eta": 1.0}}, {}, "priors must be a MixturePriors instance"),
        ({"priors": MixturePriors(scale_sigma=[1.0, 1.0, 1.0])}, {},
         r"scale_sigma has length 3, but 2 values"),
        ({}, {"method": "smc"}, "method must be one of 'nuts', 'advi', 'fullrank_advi'"),
        ({}, {"nuts_sampler": "stan"}, "nuts_sampler must be one of"),
        ({}, {"draws": 0}, "draws must be >= 1, got 0"),
        ({}, {"chains": 1.5}, "chains must be an integer"),
        ({}, {"init": "kmeans"}, "init must be one of 'em', 'prior'"),
    ],
)
def test_bad_parameters_are_rejected(mixtures, params, fit_kwargs, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixtureBayes(**{"n_components": 2, **params}).fit(mixtures["full"].X,
                                                                   **fit_kwargs)


@pytest.mark.parametrize(
    "X, match",
    [
        ([[0.0, 1.0], [np.inf, 2.0], [1.0, 1.0]], r"contains infinity in 1 row\(s\): rows 1"),
        ([1.0, 2.0, 3.0], "X must be 2-D"),
        ([[0.0, 1.0]], "a minimum of 2 is required"),
        (pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}), "column 'b' has dtype"),
    ],
)
def test_bad_data_is_rejected(X, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixtureBayes(1).fit(X)


def test_prediction_checks_features(fitted):
    estimator = fitted("full", "nuts")
    with pytest.raises(ValueError, match="features"):
        estimator.predict_proba(np.zeros((3, 3)))
    renamed = pd.DataFrame(np.zeros((3, 2)), columns=["width", "length"])
    with pytest.raises(ValueError, match="feature names"):
        estimator.score_samples(renamed)


def test_summary_is_arviz_compatible(fitted):
    idata = fitted("full", "fullrank_advi").idata_
    assert az.summary(idata, var_names=["weights"], kind="stats").shape[0] == N_COMPONENTS


# ---------------------------------------------------------------- responsibility uncertainty
def _inside_and_between(estimator):
    """Rows at the two fitted means, and the point on the segment between them where
    the posterior mean responsibility is closest to 1/2."""
    means = estimator.means_
    segment = means[0] + np.linspace(0.0, 1.0, 201)[:, None] * (means[1] - means[0])
    proba = estimator.predict_proba(as_frame(segment))
    between = segment[np.argmin(np.abs(proba[:, 0] - 0.5))]
    return as_frame(np.vstack([means, between]))


def _responsibility_draws(estimator, X):
    """Responsibilities of every stored (relabelled) posterior draw, by hand."""
    posterior = estimator.idata_.posterior.stack(sample=("chain", "draw"))
    weights, means, covariances = (np.moveaxis(posterior[name].values, -1, 0)
                                   for name in ("weights", "means", "covariances"))
    return np.stack([
        responsibilities(X, w, m, precision_cholesky(c, "full"), "full")
        for w, m, c in zip(weights, means, covariances)
    ])


def test_predict_proba_std_mean_is_the_plain_prediction(fitted, mixtures):
    estimator = fitted("full", "nuts")
    X = as_frame(mixtures["full"].X)
    mean, std = estimator.predict_proba(X, return_std=True)
    np.testing.assert_array_equal(mean, estimator.predict_proba(X))
    assert std.shape == mean.shape == (len(X), N_COMPONENTS)
    assert np.all(std >= 0) and np.all(std <= 0.5)
    # two components: r_1 = 1 - r_0 in every draw, so both have the same spread
    np.testing.assert_allclose(std[:, 0], std[:, 1], atol=1e-12)


def test_predict_proba_std_matches_the_draws_by_hand(fitted, mixtures):
    estimator = fitted("full", "nuts")
    X = np.vstack([mixtures["full"].X[:5], _inside_and_between(estimator).to_numpy()])
    mean, std = estimator.predict_proba(as_frame(X), return_std=True)
    draws = _responsibility_draws(estimator, X)
    assert draws.shape == (200, len(X), N_COMPONENTS)  # FAST_FIT nuts: 2 chains x 100
    np.testing.assert_allclose(mean, draws.mean(axis=0), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(std, draws.std(axis=0), rtol=1e-7, atol=1e-12)


def test_predict_proba_std_small_inside_large_between(fitted):
    estimator = fitted("full", "nuts")
    mean, std = estimator.predict_proba(_inside_and_between(estimator), return_std=True)
    # deep inside a cluster every draw agrees; between clusters they do not
    assert np.all(std[:2] < 1e-4)
    assert np.all(np.abs(mean[2] - 0.5) < 0.1)
    assert np.all(std[2] > 0.05)
    assert np.all(std[2] > 100 * std[:2].max())


def test_predict_proba_return_std_is_checked(fitted):
    estimator = fitted("full", "advi")
    with pytest.raises(ValueError, match="return_std must be True or False, got 'yes'"):
        estimator.predict_proba(np.zeros((1, 2)), return_std="yes")


def test_settings_live_in_the_constructor_and_fit_overrides_them_for_one_call(mixtures):
    """clone and set_params see every fitting setting; fit's keywords change one call."""
    from sklearn.base import clone

    estimator = GaussianMixtureBayes(N_COMPONENTS, method="advi", draws=30,
                                     sampler_kwargs={"n_iter": 500}, random_state=0)
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params()
    X = mixtures["full"].X
    quiet_fit(copy, X, "advi", draws=40)
    assert copy.idata_.posterior.sizes["draw"] == 40
    assert copy.draws == 30 and copy.sampler_kwargs == {"n_iter": 500}
    assert copy.idata_.posterior.attrs["inference_method"] == "advi"
    with pytest.raises(ValueError, match=r"sampler_kwargs must be a dict .* got 500"):
        GaussianMixtureBayes(N_COMPONENTS, sampler_kwargs=500).fit(X)


def test_a_fitted_posterior_pickles(fitted, mixtures):
    """pickle keeps the draws; the PyMC model, which does not pickle, is rebuilt."""
    import pickle

    estimator = fitted("full", "advi")
    copy = pickle.loads(pickle.dumps(estimator))
    X = mixtures["full"].X
    np.testing.assert_array_equal(copy.score_samples(X), estimator.score_samples(X))
    assert sorted(copy.model_.named_vars) == sorted(estimator.model_.named_vars)
    assert hasattr(estimator, "model_")  # pickling leaves the original whole
