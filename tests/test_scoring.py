"""Shared scoring and compare(): EM fits and posteriors on one scale."""

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from bayesmix import ConjugatePrior, GaussianMixtureEM, bootstrap, compare, make_mixture
from bayesmix.comparison import COLUMNS
from bayesmix.results import build_inference_data
from bayesmix.scoring import (
    ParetoKWarning,
    aic,
    bic,
    criteria,
    icl,
    inference_data,
    information_criteria,
    loo,
    lppd,
    pointwise_log_likelihood,
    waic,
)

COVARIANCE_TYPE = "full"


@pytest.fixture(scope="module")
def data():
    X, labels, _ = make_mixture(400, n_components=2, n_features=2, random_state=0)
    return {"train": X[:300], "test": X[300:], "labels": labels[300:]}


@pytest.fixture(scope="module")
def em(data):
    return GaussianMixtureEM(2, n_init=2, random_state=0).fit(data["train"])


@pytest.fixture(scope="module")
def bootstrap_posterior(data, em):
    """A stand-in posterior: 2 chains x 15 bootstrap EM fits, aligned to the full fit."""
    X = data["train"]
    rng = np.random.default_rng(1)
    draws = {"weights": [], "means": [], "covariances": []}
    for _ in range(30):
        rows = rng.integers(0, len(X), len(X))
        fit = GaussianMixtureEM(2, means_init=em.means_, random_state=0).fit(X[rows])
        draws["weights"].append(fit.weights_)
        draws["means"].append(fit.means_)
        draws["covariances"].append(fit.covariances_)
    shaped = {name: np.reshape(values, (2, 15) + np.shape(values)[1:])
              for name, values in draws.items()}
    return build_inference_data(X=X, covariance_type=COVARIANCE_TYPE,
                                inference_method="bootstrap", **shaped)


def test_pointwise_log_likelihood_matches_scipy(data, bootstrap_posterior):
    post = bootstrap_posterior.posterior
    ours = pointwise_log_likelihood(bootstrap_posterior, data["test"])
    assert ours.dims == ("chain", "draw", "obs") and ours.shape == (2, 15, 100)
    chain, draw = 1, 7
    expected = logsumexp(np.column_stack([
        np.log(post["weights"].values[chain, draw, k]) + multivariate_normal(
            post["means"].values[chain, draw, k],
            post["covariances"].values[chain, draw, k]).logpdf(data["test"])
        for k in range(2)]), axis=1)
    np.testing.assert_allclose(ours.values[chain, draw], expected, rtol=1e-10)
    stored = pointwise_log_likelihood(bootstrap_posterior)
    np.testing.assert_allclose(stored.values,
                               pointwise_log_likelihood(bootstrap_posterior,
                                                        data["train"]).values)


def test_lppd_is_log_mean_exp_over_draws(data, em, bootstrap_posterior):
    result = lppd(bootstrap_posterior, data["test"])
    log_lik = pointwise_log_likelihood(bootstrap_posterior, data["test"]).values.reshape(30, -1)
    expected = logsumexp(log_lik, axis=0) - np.log(30)
    np.testing.assert_allclose(result.pointwise.values, expected)
    assert result.elpd == pytest.approx(expected.sum())
    assert result.se == pytest.approx(np.sqrt(100 * np.var(expected, ddof=1)))
    em_result = lppd(em, data["test"])
    assert em_result.elpd == pytest.approx(em.score(data["test"]) * 100)


def test_criteria_of_em_equal_the_estimator(data, em):
    X = data["train"]
    assert bic(em) == pytest.approx(em.bic(X))
    assert aic(em) == pytest.approx(em.aic(X))
    assert icl(em, X) == pytest.approx(em.icl(X))


def test_criteria_of_posterior_are_plug_in_at_the_posterior_mean(data, bootstrap_posterior):
    post = bootstrap_posterior.posterior
    point = GaussianMixtureEM(2, max_iter=0,
                              weights_init=post["weights"].mean(("chain", "draw")).values,
                              means_init=post["means"].mean(("chain", "draw")).values,
                              precisions_init=np.linalg.inv(
                                  post["covariances"].mean(("chain", "draw")).values))
    point.fit(data["train"])
    assert bic(bootstrap_posterior) == pytest.approx(point.bic(data["train"]), rel=1e-10)


def test_waic_and_loo_agree_with_arviz_by_hand(bootstrap_posterior):
    by_hand = az.from_dict(
        posterior={"mu": np.zeros((2, 15))},
        log_likelihood={"x": bootstrap_posterior.log_likelihood["x"].values})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ArviZ's own small-sample notes
        reference_waic = az.waic(by_hand)
        reference = az.loo(by_hand, pointwise=True)
    assert waic(bootstrap_posterior).elpd_waic == pytest.approx(reference_waic.elpd_waic,
                                                                rel=1e-12)
    with pytest.warns(ParetoKWarning):  # 30 draws are few for PSIS
        ours = loo(bootstrap_posterior)
    assert ours.elpd_loo == pytest.approx(reference.elpd_loo, rel=1e-12)
    np.testing.assert_allclose(ours.pareto_k.values, reference.pareto_k.values)


def test_loo_warns_with_the_number_of_bad_points(bootstrap_posterior):
    idata = bootstrap_posterior.copy()
    idata.log_likelihood["x"].values[:, :, 0] = np.linspace(-50, 0, 30).reshape(2, 15)
    with pytest.warns(ParetoKWarning) as record:
        result = loo(idata)
    n_bad = int((result.pareto_k.values > result.good_k).sum())
    assert n_bad >= 1 and result.pareto_k.values[0] > result.good_k
    assert f"{n_bad} of 300 observations have Pareto k > {result.good_k:.2f}" in str(
        record[0].message)


def test_waic_and_loo_refuse_a_point_mass(em):
    with pytest.raises(ValueError, match="WAIC needs posterior draws.*point-mass fit"):
        waic(em)
    with pytest.raises(ValueError, match="LOO needs posterior draws.*bic/aic/icl"):
        loo(em.to_inference_data())


def test_inference_data_rejects_foreign_objects():
    with pytest.raises(ValueError, match="must be a fitted GaussianMixtureEM"):
        inference_data(object())
    with pytest.raises(ValueError, match="not made by bayesmix"):
        inference_data(az.from_dict(posterior={"mu": np.zeros((1, 5))}))
    with pytest.raises(ValueError, match="must be a fitted"):
        inference_data(GaussianMixtureEM(2))


def test_compare_fills_every_column_where_it_applies(data, em, bootstrap_posterior):
    with pytest.warns(ParetoKWarning):
        result = compare({"EM": em, "bootstrap": bootstrap_posterior}, X_test=data["test"],
                         y_true=data["labels"])
    table = result
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == COLUMNS
    em_row, post_row = table.loc["EM"], table.loc["bootstrap"]
    posterior_only = ["p_waic", "p_loo", "elpd_waic", "se_waic", "elpd_loo", "se_loo",
                      "d_loo", "dse_loo", "max_pareto_k"]
    nuts_only = ["divergences", "max_rhat", "min_ess_bulk"]
    spread = ["sd_weights", "sd_means", "sd_covariances"]  # draws, or an EM bootstrap
    assert em_row[posterior_only + nuts_only + spread].isna().all()
    assert em_row.drop(posterior_only + nuts_only + spread).notna().all()
    assert post_row[posterior_only + spread].notna().all()
    assert post_row[nuts_only + ["converged", "fit_time"]].isna().all()
    assert em_row["prior"] == "none" and pd.isna(post_row["prior"])
    assert em_row["ari"] > 0.95 and post_row["ari"] > 0.95
    # Held-out densities of the two are within a few standard errors of each other.
    assert abs(em_row["lpd_test"] - post_row["lpd_test"]) < 3 * em_row["se_lpd_test"]
    assert min(em_row["d_lpd_test"], post_row["d_lpd_test"]) == 0.0
    assert "plug-in" in table.attrs["footnotes"] and "<table" in table._repr_html_()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"models": {}}, "non-empty mapping"),
     ({"models": ["em"]}, "non-empty mapping"),
     ({"models": {"EM": None}, "y_true": [0, 1]}, "pass X_test together with y_true"),
     ({"models": {"EM": None}, "X_test": np.zeros((3, 2)), "y_true": [0, 1]},
      "y_true has 2 labels but X_test has 3 rows")],
)
def test_compare_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare(**kwargs)


@pytest.fixture(scope="module")
def noisy(data):
    """An EM fit with a noise component, on the training data and 30 uniform outliers."""
    X = np.vstack([data["train"], np.random.default_rng(2).uniform(-15, 15, (30, 2))])
    return GaussianMixtureEM(2, noise=True, random_state=0).fit(X), X


@pytest.fixture(scope="module")
def named(data):
    """An EM fit on a DataFrame with columns a, b."""
    train = pd.DataFrame(data["train"], columns=["a", "b"])
    return GaussianMixtureEM(2, random_state=0).fit(train), train


def test_scores_of_an_em_fit_with_noise_are_its_own(noisy):
    em, X = noisy
    own = em.criteria(X)
    assert own["n_parameters"] == 13  # 11 of the Gaussian mixture, 2 of the noise
    assert criteria(em, X) == pytest.approx(own)
    assert criteria(em) == pytest.approx(own)
    assert (bic(em, X), aic(em, X), icl(em, X)) == pytest.approx(
        (own["bic"], own["aic"], own["icl"]))
    assert lppd(em, X).elpd == pytest.approx(own["log_likelihood"])
    np.testing.assert_allclose(pointwise_log_likelihood(em, X).values[0, 0],
                               em.score_samples(X))
    table = compare({"noise": em}, X_test=X)
    assert table.loc["noise", "bic"] == pytest.approx(own["bic"])
    assert table.loc["noise", "lpd_test"] == pytest.approx(own["log_likelihood"])


def test_the_inference_data_of_a_fit_with_noise_is_refused(noisy):
    em, X = noisy
    idata = em.to_inference_data()
    for score in (lambda: criteria(idata), lambda: lppd(idata, X),
                  lambda: compare({"noise": idata})):
        with pytest.raises(ValueError, match="noise component.*pass the fitted estimator instead"):
            score()


def test_scores_check_the_column_names_of_the_fit(named):
    em, train = named
    swapped = train[["b", "a"]]
    renamed = train.set_axis(["x", "y"], axis=1)
    for X, match in ((swapped, "Feature names must be in the same order as they were in "
                               "fit"), (renamed, "Feature names unseen at fit time")):
        with pytest.raises(ValueError, match=match):
            em.score(X)
        for score in (bic, aic, icl, criteria, lppd, pointwise_log_likelihood):
            with pytest.raises(ValueError, match=match):
                score(em, X)
        with pytest.raises(ValueError, match=match):
            compare({"EM": em}, X_test=X)


def test_criteria_of_a_dataframe_fit_read_its_training_data_by_name(named):
    em, train = named
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'X does not have valid feature names'
        values = criteria(em)
        table = compare({"EM": em})
    assert values == pytest.approx(em.criteria(train))
    assert table.loc["EM", "bic"] == pytest.approx(em.bic(train))


def test_a_bootstrap_is_scored_as_its_fit(data, em):
    X = data["train"]
    resampled = bootstrap(em, X, n_boot=3, random_state=0)
    assert criteria(resampled) == pytest.approx(em.criteria(X))
    assert bic(resampled) == pytest.approx(compare({"boot": resampled}).loc["boot", "bic"])
    assert lppd(resampled, data["test"]).elpd == pytest.approx(lppd(em, data["test"]).elpd)
    with pytest.raises(ValueError, match="WAIC needs posterior draws.*point-mass fit"):
        waic(resampled)


def test_compare_names_the_prior_of_a_map_em_fit_and_its_file_keeps_it(data, em, tmp_path):
    X = data["train"]
    own = ConjugatePrior(shrinkage=0.1, scale=np.eye(2))
    fits = {name: GaussianMixtureEM(2, prior=prior, random_state=0).fit(X)
            for name, prior in (("default", "default"), ("own", own))}
    table = compare({"ML": em, **fits})
    assert table["prior"].tolist() == [
        "none", "mclust default",
        "ConjugatePrior(shrinkage=0.1, mean=None, dof=None, scale=[[1.0, 0.0], [0.0, 1.0]])"]
    assert table.loc["default", "bic"] == pytest.approx(fits["default"].bic(X))
    assert "prior" in table.attrs["footnotes"]
    # The attribute that names it survives the InferenceData's file.
    path = tmp_path / "map_em.nc"
    fits["default"].to_inference_data().to_netcdf(path)
    table = compare({"file": az.from_netcdf(path)})
    assert table.loc["file", "prior"] == "mclust default"
    assert "prior" not in em.to_inference_data().posterior.attrs


@pytest.mark.parametrize(
    ("y_true", "match"),
    [(np.r_[np.nan, np.zeros(99)], r"y_true has 1 missing label\(s\).*at rows \[0\]"),
     ([None] * 100, r"y_true has 100 missing label\(s\)"),
     (np.zeros((100, 2)), r"y_true must be 1-D labels, got an array of shape \(100, 2\)"),
     (3, "y_true must be 1-D labels, got the scalar 3"),
     ([[0, 1], [0]], "y_true must be 1-D labels, got rows of different lengths")],
)
def test_compare_refuses_labels_that_are_not_one_per_row(data, em, y_true, match):
    with pytest.raises(ValueError, match=match + ".*one per row of X_test \\(100\\)"):
        compare({"EM": em}, X_test=data["test"], y_true=y_true)


def test_compare_on_one_test_row_leaves_its_standard_errors_nan(data, em):
    other = GaussianMixtureEM(1).fit(data["train"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "Degrees of freedom <= 0"
        table = compare({"K=2": em, "K=1": other}, X_test=data["test"][:1],
                        y_true=data["labels"][:1])
    assert table["lpd_test"].notna().all() and table["d_lpd_test"].notna().all()
    assert table[["se_lpd_test", "dse_lpd_test"]].isna().all(axis=None)
    assert "X_test of one row" in table.attrs["footnotes"]["standard-errors"]


@pytest.mark.parametrize(
    ("weighted_log_prob", "n_parameters", "match"),
    [(np.zeros(3), 1, r"weighted_log_prob must be a 2-D array.*shape \(3,\)"),
     (np.zeros((2, 2, 2)), 1, r"2-D array.*shape \(2, 2, 2\)"),
     (np.zeros((0, 2)), 1, r"2-D array.*shape \(0, 2\)"),
     ([["a", "b"]], 1, "of real numbers.*dtype <U1"),
     ([[0.0, np.nan]], 1, "1 entries that are NaN or \\+inf"),
     ([[0.0, np.inf]], 1, "1 entries that are NaN or \\+inf"),
     ([[0.0, -np.inf]], -1, "n_parameters must be >= 0, got -1"),
     ([[0.0, -np.inf]], 1.5, "n_parameters must be an integer, got 1.5")],
)
def test_information_criteria_refuse_bad_input(weighted_log_prob, n_parameters, match):
    with pytest.raises(ValueError, match=match):
        information_criteria(weighted_log_prob, n_parameters)


def test_information_criteria_accept_a_component_of_weight_zero():
    values = information_criteria([[0.0, -np.inf]], n_parameters=1)
    assert values["log_likelihood"] == 0.0 and values["icl"] == values["bic"]
