"""Tests of bayesmix.uncertainty: the bootstrap of an EM fit and the bootstrap LRT."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

from bayesmix import (  # noqa: E402
    BootstrapResult,
    GaussianMixtureEM,
    NotFittedError,
    StudentMixtureEM,
    bootstrap,
    bootstrap_lrt,
    compare,
    select_em,
)
from bayesmix.covariance import get_structure  # noqa: E402
from bayesmix.covariance.prior import ConjugatePrior  # noqa: E402
from bayesmix.em.engine import EMSettings  # noqa: E402
from bayesmix.em.sources import InMemorySource  # noqa: E402
from bayesmix.exceptions import BayesmixWarning, ConvergenceWarning  # noqa: E402
from bayesmix.plotting import plot_posterior_components  # noqa: E402
from bayesmix.uncertainty import BOOTSTRAP_KINDS, standard_deviations  # noqa: E402
from bayesmix.uncertainty.refits import MAX_ATTEMPTS, RefitModel, run_replicates  # noqa: E402

#: A two-component mixture in two dimensions whose estimates vary visibly with the data.
TRUE_WEIGHTS = np.array([0.4, 0.6])
TRUE_MEANS = np.array([[0.0, 0.0], [3.0, 2.5]])
TRUE_COVARIANCES = np.array([[[1.0, 0.3], [0.3, 1.0]], [[1.0, -0.2], [-0.2, 0.5]]])
N_SAMPLES = 300


def simulate(rng, n_samples=N_SAMPLES):
    """Rows from the true mixture (every component present)."""
    counts = rng.multinomial(n_samples, TRUE_WEIGHTS)
    return np.vstack([rng.multivariate_normal(mean, cov, count) for mean, cov, count in
                      zip(TRUE_MEANS, TRUE_COVARIANCES, counts)])


def fit(X, sample_weight=None, **settings):
    """The EM fit, labelled as the truth (started at the true means)."""
    settings = {"tol": 1e-8, "max_iter": 1000, **settings}
    return GaussianMixtureEM(2, covariance_type="full", means_init=TRUE_MEANS,
                             **settings).fit(X, sample_weight=sample_weight)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def faithful_em(old_faithful):
    return GaussianMixtureEM(2, covariance_type="tied", tol=1e-8, random_state=0).fit(
        old_faithful)


@pytest.fixture(scope="module")
def faithful_boot(faithful_em, old_faithful):
    return bootstrap(faithful_em, old_faithful, n_boot=40, random_state=0)


@pytest.fixture(scope="module")
def small_sample():
    """30 rows of the true mixture: few enough for a prior to move the estimates."""
    return simulate(np.random.default_rng(1), n_samples=30)


# ---------------------------------------------------------------- the bootstrap's draws
@pytest.mark.parametrize("kind", list(BOOTSTRAP_KINDS))
def test_every_kind_gives_draws_in_the_posterior_layout(kind, faithful_em, old_faithful):
    result = bootstrap(faithful_em, old_faithful, n_boot=15, kind=kind, random_state=1)
    assert isinstance(result, BootstrapResult) and result.kind == kind
    idata = result.idata_
    posterior = idata.posterior
    assert dict(posterior["covariances"].sizes) == {
        "chain": 1, "draw": 15, "component": 2, "feature": 2, "feature_bis": 2}
    assert posterior.feature.values.tolist() == ["eruptions", "waiting"]
    assert posterior.attrs["inference_method"] == "bootstrap"
    assert posterior.attrs["bootstrap_kind"] == kind
    np.testing.assert_array_equal(idata.observed_data["x"].values, old_faithful.to_numpy())
    stats = idata.sample_stats
    assert stats["converged"].values.all() and (stats["n_iter"].values >= 1).all()
    assert dict(idata.log_likelihood["x"].sizes) == {"chain": 1, "draw": 15, "obs": 272}
    # Every draw is a proper mixture whose tied covariance is shared by its components.
    np.testing.assert_allclose(posterior["weights"].sum("component"), 1.0)
    covariances = posterior["covariances"].values
    np.testing.assert_allclose(covariances[:, :, 0], covariances[:, :, 1])
    # The refits vary, and stay labelled as the original fit.
    assert (result.standard_errors()["means"] > 0).all()
    np.testing.assert_allclose(posterior["means"].mean(("chain", "draw")),
                               faithful_em.means_, rtol=0.05)


def test_same_seed_same_draws_whatever_the_workers(faithful_em, old_faithful):
    first = bootstrap(faithful_em, old_faithful, n_boot=6, random_state=3)
    again = bootstrap(faithful_em, old_faithful, n_boot=6, random_state=3, n_jobs=2)
    other = bootstrap(faithful_em, old_faithful, n_boot=6, random_state=4)
    means = [r.idata_.posterior["means"].values for r in (first, again, other)]
    np.testing.assert_array_equal(means[0], means[1])
    assert not np.allclose(means[0], means[2])


def test_a_resample_counted_as_weights_is_the_resample_itself(old_faithful):
    """mclust refits ``data[idx]`` from ``z[idx]``; weights by counts are the same fit."""
    em = GaussianMixtureEM(3, covariance_type="full", tol=1e-8, max_iter=1000,
                           random_state=0).fit(old_faithful)
    X = old_faithful.to_numpy()
    rng = np.random.default_rng(0)
    rows = rng.integers(0, len(X), len(X))
    counts = np.bincount(rows, minlength=len(X)).astype(float)
    resp = em.predict_proba(old_faithful)
    model = RefitModel.like(em, tol=1e-10, max_iter=1000)
    weighted = model.fit(InMemorySource(X, counts), model.start_from_responsibilities(resp))
    copied = model.fit(InMemorySource(X[rows]), model.start_from_responsibilities(resp[rows]))
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(getattr(weighted, name), getattr(copied, name), rtol=1e-6)
    assert weighted.log_likelihood == pytest.approx(copied.log_likelihood, rel=1e-10)


def test_draws_follow_the_labels_of_the_fit(faithful_em, old_faithful):
    swapped = GaussianMixtureEM(**faithful_em.get_params()).fit(old_faithful)
    swapped.permute_components([1, 0])
    result = bootstrap(swapped, old_faithful, n_boot=10, random_state=0)
    np.testing.assert_allclose(result.idata_.posterior["means"].mean(("chain", "draw")),
                               swapped.means_, rtol=0.05)
    assert "label_permutation" in result.idata_.sample_stats


def test_standard_errors_and_intervals_are_those_of_the_draws(faithful_boot, faithful_em):
    posterior = faithful_boot.idata_.posterior
    means = posterior["means"].values[0]  # (draw, component, feature)
    se = faithful_boot.standard_errors()
    assert se["means"].dims == ("component", "feature")
    np.testing.assert_allclose(se["means"].values, means.std(axis=0, ddof=1))
    assert se["covariances"].dims == ("component", "feature", "feature_bis")
    ci = faithful_boot.confidence_intervals(0.8)
    assert ci.attrs["level"] == 0.8 and ci["means"].dims == ("bound", "component", "feature")
    np.testing.assert_allclose(ci["means"].sel(bound="lower"),
                               np.quantile(means, 0.1, axis=0))
    np.testing.assert_allclose(ci["means"].sel(bound="upper"),
                               np.quantile(means, 0.9, axis=0))
    table = faithful_boot.summary(level=0.8)
    row = table.loc["means[1, waiting]"]
    assert row["estimate"] == faithful_em.means_[1, 1]
    assert row["se"] == se["means"].values[1, 1]
    assert row["lower"] < row["mean"] < row["upper"]
    assert "covariances[0, waiting, eruptions]" in table.index
    assert standard_deviations(faithful_boot.idata_).equals(se)


# ---------------------------------------------------------------- failed refits
def test_failed_replicates_are_drawn_again_then_given_up():
    results, n_failed = run_replicates(lambda rng: rng.randint(3) or None, 20, 0, None)
    assert len(results) == 20 and all(r in (1, 2) for r in results) and n_failed > 0
    with pytest.raises(ValueError, match=f"failed {MAX_ATTEMPTS} times in a row"):
        run_replicates(lambda rng: None, 2, 0, None)


def test_a_refit_with_a_collapsed_component_fails():
    rng = np.random.default_rng(0)
    X = np.vstack([np.tile([5.0, 5.0], (6, 1)), rng.normal(size=(60, 2))])
    resp = np.eye(2)[[1] * 6 + [0] * 60]
    model = RefitModel(get_structure("full"), 2, EMSettings(tol=1e-8, max_iter=100))
    assert model.fit(InMemorySource(X), model.start_from_responsibilities(resp)) is None
    spread = np.vstack([rng.normal(5.0, 1.0, (30, 2)), rng.normal(size=(60, 2))])
    resp = np.eye(2)[[1] * 30 + [0] * 60]
    assert model.fit(InMemorySource(spread), model.start_from_responsibilities(resp))


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"n_boot": 0}, ValueError, "n_boot must be >= 2, got 0"),
    ({"n_boot": 1}, ValueError, "n_boot must be >= 2, got 1"),
    ({"n_boot": 2.5}, ValueError, "n_boot must be an integer"),
    ({"kind": "jackknife"}, ValueError,
     "kind must be one of 'nonparametric', 'weighted', 'parametric', got 'jackknife'"),
    ({"tol": -1.0}, ValueError, "tol must be >= 0"),
    ({"max_iter": 0}, ValueError, "max_iter must be >= 1"),
    ({"n_jobs": 0}, ValueError, "n_jobs must be None, a number of worker processes .* got 0"),
    ({"n_jobs": "2"}, ValueError, "n_jobs must be an integer, got '2'"),
], ids=["n_boot-0", "n_boot-1", "n_boot-float", "kind", "tol", "max_iter", "n_jobs-0",
        "n_jobs-str"])
def test_bad_bootstrap_arguments_are_named(kwargs, error, match, faithful_em, old_faithful):
    with pytest.raises(error, match=match):
        bootstrap(faithful_em, old_faithful, **kwargs)


def test_bootstrap_refuses_what_it_cannot_resample(faithful_em, old_faithful):
    with pytest.raises(NotFittedError, match="not fitted"):
        bootstrap(GaussianMixtureEM(2), old_faithful)
    with pytest.raises(TypeError, match="estimator must be a fitted GaussianMixtureEM, got "
                                        "dict"):
        bootstrap({"weights": [1.0]}, old_faithful)
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now missing"):
        bootstrap(faithful_em, old_faithful[["eruptions"]])


def test_bootstrap_refuses_a_t_mixture(small_sample):
    em = StudentMixtureEM(2, random_state=0).fit(small_sample)
    with pytest.raises(TypeError, match=r"got StudentMixtureEM\. bootstrap refits Gaussian "
                                        r"components only"):
        bootstrap(em, small_sample, n_boot=2)


def test_bootstrap_refuses_a_fit_with_a_noise_component(small_sample):
    rows = np.vstack([small_sample, [[30.0, -30.0], [-25.0, 20.0]]])
    em = GaussianMixtureEM(2, noise=True, random_state=0).fit(rows)
    with pytest.raises(ValueError, match="estimator was fitted with noise=True, and bootstrap "
                                         "does not refit a noise component"):
        bootstrap(em, rows, n_boot=2)


def _fit_with_weights(X):
    return fit(X, sample_weight=np.linspace(0.2, 3.0, len(X)))


def _fit_to_other_rows(X):
    return fit(X[::2])


def _fit_whose_prior_was_dropped_since(X):
    return fit(X, prior="default").set_params(prior=None)


def _fit_stopped_short(X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixtureEM(2, init_params="random", tol=1e-8, max_iter=3,
                                 random_state=0).fit(X)


@pytest.mark.parametrize("make_fit", [_fit_with_weights, _fit_to_other_rows,
                                      _fit_whose_prior_was_dropped_since, _fit_stopped_short])
def test_bootstrap_warns_of_a_fit_that_is_not_a_converged_fit_of_x(make_fit, small_sample):
    """Refits of X centre on its unweighted fit: the intervals would be another fit's."""
    with pytest.warns(BayesmixWarning, match="estimator is not a converged fit of X: one EM "
                                             "step on X from its parameters raises"):
        bootstrap(make_fit(small_sample), small_sample, n_boot=2)


def test_bootstrap_takes_a_fit_whose_weights_change_nothing(small_sample):
    em = fit(small_sample, sample_weight=np.full(len(small_sample), 3.0))
    assert bootstrap(em, small_sample, n_boot=2, random_state=0).n_boot == 2


# ---------------------------------------------------------------- the refitted model
def test_refits_carry_every_setting_that_changes_the_fit(small_sample):
    """Each setting of GaussianMixtureEM defines the model every refit fits, or only how
    a fit starts, runs or reports (a refit starts from the fit, with its own tol); the
    noise component is refused."""
    starts_runs_or_reports = {"tol", "max_iter", "n_init", "init_params", "weights_init",
                              "means_init", "precisions_init", "random_state", "warm_start",
                              "verbose", "verbose_interval", "acceleration", "noise_init"}
    prior = ConjugatePrior(shrinkage=0.1)
    em = GaussianMixtureEM(2, covariance_type="VEV", reg_covar=1e-4, prior=prior,
                           random_state=0).fit(small_sample)
    model = RefitModel.like(em, tol=1e-6, max_iter=50)
    carried = {"n_components": model.n_components == 2,
               "covariance_type": model.structure is get_structure("VEV"),
               "reg_covar": model.settings.reg_covar == 1e-4,
               "prior": model.prior == prior}
    assert all(carried.values()), carried
    assert set(em.get_params()) == {*carried, *starts_runs_or_reports, "noise"}


def test_a_map_fit_is_refitted_under_its_prior(small_sample):
    map_fit, ml_fit = fit(small_sample, prior="default"), fit(small_sample)
    prior_effect = np.abs(map_fit.covariances_ - ml_fit.covariances_).max()
    assert prior_effect > 0.05  # these few rows leave the prior a visible effect
    model = RefitModel.like(map_fit, tol=1e-10, max_iter=1000)
    refit = model.fit(InMemorySource(small_sample),
                      model.start_from_responsibilities(map_fit.predict_proba(small_sample)))
    np.testing.assert_allclose(refit.covariances, map_fit.covariances_, atol=1e-6)
    result = bootstrap(map_fit, small_sample, n_boot=10, kind="weighted", random_state=0)
    centre = result.idata_.posterior["covariances"].mean(("chain", "draw")).values
    assert (np.abs(centre - map_fit.covariances_).max()
            < np.abs(centre - ml_fit.covariances_).max())


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.1, "0.9"])
def test_a_level_outside_zero_one_is_refused(level, faithful_boot):
    match = "level must be strictly between 0 and 1|level must be a finite real number"
    with pytest.raises(ValueError, match=match):
        faithful_boot.confidence_intervals(level)


# ---------------------------------------------------------------- compare and plots
def test_compare_scores_the_fit_and_adds_its_standard_errors(faithful_boot, faithful_em,
                                                             old_faithful):
    table = compare({"EM": faithful_em, "EM + bootstrap": faithful_boot})
    em_row, boot_row = table.loc["EM"], table.loc["EM + bootstrap"]
    spread = ["sd_weights", "sd_means", "sd_covariances"]
    assert em_row[spread].isna().all() and boot_row[spread].notna().all()
    same = ["method", "n_components", "log_likelihood", "bic", "icl"]
    assert em_row[same].tolist() == boot_row[same].tolist()
    assert np.isnan(boot_row["elpd_loo"])  # the bootstrap is not a posterior
    se = faithful_boot.standard_errors()
    assert boot_row["sd_weights"] == pytest.approx(float(se["weights"].mean()))
    scale = old_faithful.to_numpy().std(axis=0)
    assert boot_row["sd_means"] == pytest.approx(float((se["means"].values / scale).mean()))
    assert "bootstrap" in table.attrs["footnotes"]["spread"]


def test_plot_draws_the_refits_under_the_fit(faithful_boot, faithful_em, old_faithful):
    ax = plot_posterior_components(faithful_boot, old_faithful, n_draws=12, random_state=0)
    ellipses = [patch for patch in ax.patches if isinstance(patch, Ellipse)]
    assert len(ellipses) == 12 * 2 + 2
    np.testing.assert_allclose([e.center for e in ellipses[-2:]], faithful_em.means_)
    assert ax.get_title() == "12 bootstrap draws, 2 sigma ellipses over the EM fit"
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["component 0: bootstrap", "component 1: bootstrap", "EM fit"]


# ---------------------------------------------------------------- the bootstrap LRT
@pytest.fixture(scope="module")
def two_clusters():
    return simulate(np.random.default_rng(5), n_samples=150)


@pytest.fixture(scope="module")
def lrt_table(two_clusters):
    return bootstrap_lrt(two_clusters, "full", max_components=3, n_boot=19, random_state=0)


def test_lrt_statistics_are_twice_the_gain_of_the_maximised_likelihood(lrt_table,
                                                                       two_clusters):
    assert lrt_table.index.tolist() == ["1 vs 2", "2 vs 3"]
    assert lrt_table["n_components"].tolist() == [1, 2]
    n = len(two_clusters)
    for k, row in zip((1, 2), lrt_table.itertuples()):
        for components, value in ((k, row.log_likelihood_null),
                                  (k + 1, row.log_likelihood_alternative)):
            fitted = select_em(two_clusters, [components], ["full"], tol=1e-8,
                               random_state=0).best_estimator_
            assert value == pytest.approx(fitted.score(two_clusters) * n, abs=1e-6)
        assert row.lrts == 2 * (row.log_likelihood_alternative - row.log_likelihood_null)
    assert (lrt_table["log_likelihood_null"].iloc[1]
            == lrt_table["log_likelihood_alternative"].iloc[0])


def test_lrt_p_values_count_the_replicates_at_least_as_large(lrt_table):
    for label, row in lrt_table.iterrows():
        replicates = np.asarray(lrt_table.attrs["null_lrts"][label])
        assert replicates.shape == (19,)
        assert row["p_value"] == (1 + (replicates >= row["lrts"]).sum()) / 20
        assert 1 / 20 <= row["p_value"] <= 1
    # Two clusters: the second is needed (smallest p-value), the third is not.
    assert lrt_table.loc["1 vs 2", "p_value"] == 1 / 20
    assert lrt_table.loc["2 vs 3", "p_value"] > 0.1


def test_lrt_stops_at_the_first_test_above_level(two_clusters):
    table = bootstrap_lrt(two_clusters, "full", max_components=4, n_boot=19, level=0.1,
                          random_state=0)
    assert table.index.tolist() == ["1 vs 2", "2 vs 3"]
    assert table["p_value"].iloc[-1] > 0.1


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"max_components": 1}, "max_components must be >= 2, got 1"),
    ({"n_boot": 0}, "n_boot must be >= 1, got 0"),
    ({"n_jobs": 0}, "n_jobs must be None, a number of worker processes .* got 0"),
    ({"covariance_type": "banded"}, "covariance_type must be one of"),
    ({"covariance_type": "E"}, "^covariance_type='E' is mclust's name for one feature, but "
                               "X has 2. Use 'EII'"),
    ({"level": 1.0}, "level must be strictly between 0 and 1"),
    ({"max_components": 200}, "X has 150 sample"),
], ids=["max_components", "n_boot", "n_jobs", "covariance_type", "one-feature-name", "level",
        "too-few-rows"])
def test_bad_lrt_arguments_are_named(kwargs, match, two_clusters):
    arguments = {"covariance_type": "full", "max_components": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        bootstrap_lrt(two_clusters, **arguments)


def test_lrt_without_rows_for_its_first_test_says_what_to_do(two_clusters):
    with pytest.raises(ValueError, match=r"The 2-component 'full' model cannot be fitted .*"
                                         r"The first test \(1 vs 2 components\) needs it: "
                                         r"pass more rows") as caught:
        bootstrap_lrt(two_clusters[::30], "full", max_components=3, n_boot=2)
    assert "max_components to" not in str(caught.value)


# ---------------------------------------------------------------- statistical behaviour
@pytest.mark.slow
@pytest.mark.parametrize("kind", list(BOOTSTRAP_KINDS))
def test_standard_errors_match_the_spread_over_fresh_data(kind):
    """The bootstrap SE of one data set against the SD of the estimates of 200 others.

    Monte Carlo error of the ratio: about 5% from 200 resamples, 5% from 200 fresh
    fits, and the bootstrap's own variation from data set to data set: 30% is about
    three standard errors.
    """
    rng = np.random.default_rng(11)
    fresh = [fit(simulate(rng)) for _ in range(200)]
    spread = {name: np.std([getattr(em, name) for em in fresh], axis=0, ddof=1)
              for name in ("weights_", "means_")}
    X = simulate(rng)
    se = bootstrap(fit(X), X, n_boot=200, kind=kind, random_state=0).standard_errors()
    ratios = np.concatenate([(se["weights"].values / spread["weights_"]).ravel(),
                             (se["means"].values / spread["means_"]).ravel()])
    assert ((ratios > 0.7) & (ratios < 1.3)).all(), ratios


@pytest.mark.slow
def test_parametric_intervals_cover_the_truth_at_the_nominal_rate():
    """90% percentile intervals of a correctly specified model, over 200 data sets.

    Binomial standard error of a coverage rate of 0.9 over 200 sets: 2.1%; the rate
    must lie within three of them.
    """
    rng = np.random.default_rng(12)
    covered = []
    for replicate in range(200):
        X = simulate(rng)
        intervals = bootstrap(fit(X), X, n_boot=99, kind="parametric",
                              random_state=replicate).confidence_intervals(0.9)
        covered.append(np.concatenate([
            ((intervals[name].sel(bound="lower").values <= truth)
             & (truth <= intervals[name].sel(bound="upper").values)).ravel()
            for name, truth in (("weights", TRUE_WEIGHTS), ("means", TRUE_MEANS))]))
    rates = np.mean(covered, axis=0)
    assert ((rates > 0.9 - 3 * 0.021) & (rates < 0.9 + 3 * 0.021)).all(), rates


def test_unconverged_refits_are_reported(faithful_em, old_faithful):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = bootstrap(faithful_em, old_faithful, n_boot=5, tol=0.0, max_iter=2,
                           random_state=0)
    assert any("did not converge in max_iter=2" in str(w.message) for w in caught)
    assert not result.idata_.sample_stats["converged"].values.any()
