"""StudentMixtureBayes: the t model's log density, its InferenceData and its consumers.

The model's log density at fixed parameters is checked against SciPy's multivariate t
plus SciPy's prior densities for every structure; the fitted InferenceData's pointwise
log-likelihood against SciPy at the draws (ADVI, whose log-likelihood bayesmix computes,
and NUTS, whose log-likelihood the converted model computes). Two tiny fits (one per
method) are shared by the module; the recovery of clusters among gross outliers with
NUTS is ``slow``.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from bayesmix import GaussianMixtureEM, StudentMixtureEM, compare
from bayesmix.bayes import MixturePriors, StudentMixtureBayes, build_model
from bayesmix.bayes.components import get_model_family
from bayesmix.bayes.inference import initial_values
from bayesmix.covariance import posterior_structures, to_full
from bayesmix.exceptions import SamplerDiagnosticWarning, VIConvergenceWarning
from bayesmix.relabel import relabel
from bayesmix.results import build_inference_data, family_of
from bayesmix.scoring import lppd, pointwise_log_likelihood

N_COMPONENTS = 2
#: PyTensor's mode without C compilation: the log densities are checked, not timed.
FAST = "FAST_COMPILE"


def clusters_with_outliers(n_per_cluster, outlier_fraction, seed):
    """Two well-separated 2-D clusters and uniform gross outliers far around them."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-5.0, 0.0], [5.0, 2.0]])
    clean = np.vstack([rng.multivariate_normal(c, [[1.0, 0.4], [0.4, 1.0]], n_per_cluster)
                       for c in centres])
    labels = np.repeat([0, 1], n_per_cluster)
    n_outliers = int(round(outlier_fraction * len(clean)))
    outliers = rng.uniform(-60.0, 60.0, size=(n_outliers, 2))
    return np.vstack([clean, outliers]), labels


def quiet_fit(estimator, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerDiagnosticWarning)
        warnings.simplefilter("ignore", VIConvergenceWarning)
        return estimator.fit(X, progressbar=False, **kwargs)


@pytest.fixture(scope="module")
def data():
    return clusters_with_outliers(60, 0.05, seed=1)


@pytest.fixture(scope="module")
def advi_fit(data):
    X, _ = data
    return quiet_fit(StudentMixtureBayes(N_COMPONENTS, random_state=0), X, method="advi",
                     draws=100, n_iter=3000)


@pytest.fixture(scope="module")
def nuts_fit(data):
    X, _ = data
    frame = pd.DataFrame(X, columns=["length", "width"])
    return quiet_fit(StudentMixtureBayes(N_COMPONENTS, covariance_type="diag",
                                         random_state=0),
                     frame, method="nuts", draws=30, tune=60, chains=2)


def scipy_log_likelihood(X, weights, means, scales, dof):
    """``log sum_k w_k t(x | mu_k, Sigma_k, nu_k)`` of every row, by SciPy."""
    per_component = np.column_stack([
        np.log(w) + stats.multivariate_t(m, s, df=d).logpdf(X)
        for w, m, s, d in zip(weights, means, scales, dof)])
    return logsumexp(per_component, axis=1)


# ----------------------------------------------------------------- the model
def _unconstrained(model, values):
    """The model's value variables (transformed) at the constrained ``values``."""
    point = {}
    for rv in model.free_RVs:
        transform = model.rvs_to_transforms[rv]
        value = np.asarray(values[rv.name], dtype=np.float64)
        if transform is not None:
            value = transform.forward(value, *rv.owner.inputs).eval()
        point[model.rvs_to_values[rv].name] = value
    return point


def _prior_log_density(rv_name, value, priors, covariance_type):
    """SciPy's log prior density of one free variable (no Jacobian)."""
    if rv_name == "weights":
        return stats.dirichlet(priors.weights_alpha).logpdf(value)
    if rv_name == "means_offset":
        return stats.norm.logpdf(value).sum()
    if rv_name in ("sigmas", "sigma"):
        scale = np.broadcast_to(priors.scale_sigma, np.shape(value))
        return stats.halfnorm(scale=scale).logpdf(value).sum()
    if rv_name == "dof":
        shape, rate = priors.dof_prior
        return stats.gamma(shape, scale=1.0 / rate).logpdf(value).sum()
    if rv_name == "corr_cpc":
        from bayesmix.bayes.correlations import cpc_beta_parameters

        beta = cpc_beta_parameters(2, priors.lkj_eta)
        return stats.beta(beta, beta).logpdf(value).sum()
    raise AssertionError(f"no SciPy prior for {rv_name}")


@pytest.mark.parametrize("covariance_type", posterior_structures())
def test_model_log_density_is_scipy_t_likelihood_plus_the_priors(covariance_type):
    X, _ = clusters_with_outliers(15, 0.1, seed=2)
    priors = MixturePriors(dof_prior=(3.0, 0.2))
    model = build_model(X, N_COMPONENTS, covariance_type, priors, family="student_t")
    resolved = priors.resolve(X, N_COMPONENTS, covariance_type, "student_t")
    rng = np.random.default_rng(0)
    values = {}
    for rv in model.free_RVs:
        shape = model.initial_point()[model.rvs_to_values[rv].name].shape
        if rv.name == "weights":
            values[rv.name] = np.array([0.3, 0.7])
        elif rv.name == "means_offset":
            values[rv.name] = rng.normal(size=shape)
        elif rv.name == "dof":
            values[rv.name] = np.array([2.5, 17.0])
        elif rv.name == "corr_cpc":
            values[rv.name] = rng.uniform(0.2, 0.8, size=shape)
        else:
            values[rv.name] = rng.uniform(0.5, 2.0, size=shape)
    point = _unconstrained(model, values)
    model_log_density = model.compile_logp(jacobian=False, mode=FAST)(point)

    (covariances,) = model.replace_rvs_by_values([model["covariances"]])
    scales = model.compile_fn(covariances, inputs=model.value_vars, mode=FAST,
                              on_unused_input="ignore")(point)
    means = resolved.means_loc + resolved.means_scale * values["means_offset"]
    expected = scipy_log_likelihood(X, values["weights"], means, scales,
                                    values["dof"]).sum()
    expected += sum(_prior_log_density(rv.name, values[rv.name], resolved, covariance_type)
                    for rv in model.free_RVs)
    assert model_log_density == pytest.approx(expected, rel=1e-10, abs=1e-8)


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_model_likelihood_equals_student_mixture_em_kernel(covariance_type):
    """The model's likelihood term at StudentMixtureEM's estimate is EM's log-likelihood."""
    X, _ = clusters_with_outliers(60, 0.05, seed=3)
    em = StudentMixtureEM(N_COMPONENTS, covariance_type=covariance_type, n_init=3,
                          random_state=0).fit(X)
    assert not em.degenerate_components_ and em.weights_.min() > 0.3
    model = build_model(X, N_COMPONENTS, covariance_type, family="student_t")
    priors = MixturePriors().resolve(X, N_COMPONENTS, covariance_type, "student_t")
    scales = to_full(em.scales_, covariance_type, N_COMPONENTS, X.shape[1])
    values = initial_values(em.weights_, em.means_, scales, covariance_type, priors)
    point = _unconstrained(model, {**values, "dof": em.dof_})
    likelihood = model.compile_logp(vars=[model["x"]], jacobian=False, mode=FAST)(point)
    assert likelihood == pytest.approx(em.score(X) * len(X), rel=1e-10)


def test_model_refuses_missing_values_for_the_t_family():
    X, _ = clusters_with_outliers(10, 0.0, seed=0)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="family='student_t' does not fit yet"):
        build_model(X, N_COMPONENTS, family="student_t")


def test_model_draws_rows_from_t_components():
    family = get_model_family("student_t")
    rng = np.random.default_rng(0)
    rows = family.draw_rows(rng, np.zeros((40000, 1)), np.ones((40000, 1, 1)),
                            [np.full(40000, 3.0)])
    # Kolmogorov-Smirnov against t(3): the draws are t, not Gaussian.
    assert stats.kstest(rows.ravel(), stats.t(3).cdf).pvalue > 1e-3
    assert stats.kstest(rows.ravel(), stats.norm.cdf).pvalue < 1e-6


# ----------------------------------------------------------------- fitted posteriors
@pytest.mark.parametrize("fit_name", ["advi_fit", "nuts_fit"])
def test_inference_data_layout_and_family(request, fit_name):
    bayes = request.getfixturevalue(fit_name)
    posterior = bayes.idata_.posterior
    assert posterior["dof"].dims == ("chain", "draw", "component")
    assert posterior["covariances"].dims == ("chain", "draw", "component", "feature",
                                            "feature_bis")
    for group in bayes.idata_.groups():
        assert bayes.idata_[group].attrs["family"] == "student_t"
    assert family_of(bayes.idata_) == "student_t"
    assert bayes.idata_.log_likelihood["x"].dims == ("chain", "draw", "obs")
    assert bayes.dof_.shape == (N_COMPONENTS,)
    assert (bayes.idata_.posterior["dof"] > 0).all()
    np.testing.assert_allclose(bayes.dof_, posterior["dof"].mean(("chain", "draw")))
    np.testing.assert_allclose(bayes.scales_,
                               posterior["covariances"].mean(("chain", "draw")))
    heavy = bayes.dof_ <= 2  # no finite covariance
    factor = bayes.dof_[~heavy] / (bayes.dof_[~heavy] - 2)
    np.testing.assert_allclose(bayes.covariances_[~heavy],
                               bayes.scales_[~heavy] * factor[:, None, None])
    variances = np.diagonal(bayes.covariances_[heavy], axis1=-2, axis2=-1)
    assert np.isposinf(variances).all()
    assert not np.isnan(bayes.covariances_).any()
    assert bayes.priors_.dof_prior == (2.0, 0.1)
    assert type(bayes.em_) is StudentMixtureEM


@pytest.mark.parametrize("fit_name", ["advi_fit", "nuts_fit"])
def test_pointwise_log_likelihood_is_scipy_t_mixture_at_the_draws(request, fit_name, data):
    bayes = request.getfixturevalue(fit_name)
    X, _ = data
    posterior = bayes.idata_.posterior
    stored = bayes.idata_.log_likelihood["x"].values
    for chain, draw in [(0, 0), (0, posterior.sizes["draw"] - 1), (-1, 7)]:
        pick = {"chain": chain, "draw": draw}
        expected = scipy_log_likelihood(
            X, posterior["weights"][pick].values, posterior["means"][pick].values,
            posterior["covariances"][pick].values, posterior["dof"][pick].values)
        np.testing.assert_allclose(stored[chain, draw], expected, rtol=1e-9)
    # New rows are scored through the same family seam.
    new_rows = X[:5] + 0.5
    values = pointwise_log_likelihood(bayes, new_rows).values
    expected = scipy_log_likelihood(
        new_rows, posterior["weights"][0, 3].values, posterior["means"][0, 3].values,
        posterior["covariances"][0, 3].values, posterior["dof"][0, 3].values)
    np.testing.assert_allclose(values[0, 3], expected, rtol=1e-9)


def test_score_and_predict_average_the_t_densities_over_draws(advi_fit, data):
    X, _ = data
    posterior = advi_fit.idata_.posterior.stack(sample=("chain", "draw"))
    per_draw = np.stack([
        scipy_log_likelihood(X, posterior["weights"].values[:, s],
                             posterior["means"].values[:, :, s],
                             posterior["covariances"].values[:, :, :, s],
                             posterior["dof"].values[:, s])
        for s in range(posterior.sizes["sample"])])
    expected = logsumexp(per_draw, axis=0) - np.log(len(per_draw))
    np.testing.assert_allclose(advi_fit.score_samples(X), expected, rtol=1e-9)
    assert advi_fit.score(X) == pytest.approx(expected.mean(), rel=1e-9)
    np.testing.assert_allclose(lppd(advi_fit, X).pointwise.values, expected, rtol=1e-9)
    proba = advi_fit.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (advi_fit.predict(X) == proba.argmax(axis=1)).all()


@pytest.mark.parametrize("fit_name", ["advi_fit", "nuts_fit"])
def test_fits_recover_the_clusters_among_outliers(request, fit_name, data):
    bayes = request.getfixturevalue(fit_name)
    X, labels = data
    clean = X[:len(labels)]
    if hasattr(bayes, "feature_names_in_"):
        clean = pd.DataFrame(clean, columns=bayes.feature_names_in_)
    assert adjusted_rand_score(labels, bayes.predict(clean)) > 0.95
    np.testing.assert_allclose(np.sort(bayes.means_[:, 0]), [-5.0, 5.0], atol=0.6)


def test_sample_draws_heavy_tailed_rows(advi_fit):
    rows, labels = advi_fit.sample(4000)
    assert rows.shape == (4000, 2) and labels.shape == (4000,)
    assert set(np.unique(labels)) <= {0, 1}
    assert np.isfinite(rows).all()


def test_summary_includes_the_degrees_of_freedom(advi_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = advi_fit.summary(kind="stats")
    assert {"dof[0]", "dof[1]"} <= set(table.index)


def test_compare_scores_the_t_posterior_with_the_t_density(advi_fit, data):
    X, labels = data
    X_test = X[:len(labels)] + 0.1
    em = advi_fit.em_  # the best of ten starts
    gaussian = GaussianMixtureEM(N_COMPONENTS, n_init=10, init_params="random_from_data",
                                 random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few draws: Pareto k
        table = compare({"t posterior": advi_fit, "t EM": em, "Gaussian EM": gaussian},
                        X_test=X_test, y_true=labels)
    row = table.loc["t posterior"]
    assert row["lpd_test"] == pytest.approx(lppd(advi_fit, X_test).elpd, rel=1e-12)
    posterior = advi_fit.idata_.posterior.stack(sample=("chain", "draw"))
    per_draw = np.stack([
        scipy_log_likelihood(X_test, posterior["weights"].values[:, s],
                             posterior["means"].values[:, :, s],
                             posterior["covariances"].values[:, :, :, s],
                             posterior["dof"].values[:, s])
        for s in range(posterior.sizes["sample"])])
    expected = (logsumexp(per_draw, axis=0) - np.log(len(per_draw))).sum()
    assert row["lpd_test"] == pytest.approx(expected, rel=1e-9)
    # The full-covariance t mixture: 2 weights-1, 4 means, 6 scale, 2 dof parameters.
    assert row["n_parameters"] == 1 + 4 + 6 + 2
    assert table.loc["t EM", "n_parameters"] == 1 + 4 + 6 + 2
    assert table.loc["t EM", "bic"] == pytest.approx(em.bic(X), rel=1e-12)
    assert np.isfinite(row[["elpd_waic", "elpd_loo", "bic", "ari"]].astype(float)).all()
    assert row["ari"] > 0.95
    # The t fits explain the outliers better than the Gaussian one.
    assert table.loc["t EM", "bic"] < table.loc["Gaussian EM", "bic"]


# ----------------------------------------------------------------- settings
def test_dof_prior_is_set_in_the_constructor_or_the_priors(data):
    X, _ = data
    bayes = StudentMixtureBayes(2, dof_prior=(4.0, 0.5))
    assert bayes._resolved_priors(X, 2, "full").dof_prior == (4.0, 0.5)
    bayes = StudentMixtureBayes(2, priors=MixturePriors(dof_prior=(1.5, 0.05)))
    assert bayes._resolved_priors(X, 2, "full").dof_prior == (1.5, 0.05)
    both = StudentMixtureBayes(2, priors=MixturePriors(dof_prior=(1.5, 0.05)),
                               dof_prior=(4.0, 0.5))
    assert both._resolved_priors(X, 2, "full").dof_prior == (4.0, 0.5)
    assert clone(both).get_params()["dof_prior"] == (4.0, 0.5)


@pytest.mark.parametrize("dof_prior", [(2.0, -0.1), (2.0,), "gamma", (np.inf, 1.0)])
def test_bad_dof_prior_is_refused_by_name(data, dof_prior):
    X, _ = data
    with pytest.raises(ValueError, match="dof_prior must be"):
        StudentMixtureBayes(2, dof_prior=dof_prior).fit(X, method="advi", n_iter=10)
    with pytest.raises(ValueError, match="dof_prior must be"):
        MixturePriors(dof_prior=dof_prior)


def test_missing_values_are_refused_with_the_way_out(advi_fit, data):
    X, _ = data
    incomplete = X[:10].copy()
    incomplete[0, 1] = np.nan
    with pytest.raises(ValueError, match="does not fit yet"):
        StudentMixtureBayes(2).fit(incomplete, method="advi", n_iter=10)
    with pytest.raises(ValueError, match="student_t family does not score"):
        advi_fit.score_samples(incomplete)
    with pytest.raises(ValueError, match="cannot impute"):
        advi_fit.impute(incomplete)


def test_pickle_round_trip_rebuilds_the_t_model(advi_fit, data):
    X, _ = data
    copy = pickle.loads(pickle.dumps(advi_fit))
    assert "dof" in [rv.name for rv in copy.model_.free_RVs]
    np.testing.assert_array_equal(copy.score_samples(X), advi_fit.score_samples(X))


# ----------------------------------------------------------------- relabelling
def test_relabelling_carries_the_degrees_of_freedom_with_their_components():
    X = np.array([[0.0], [5.0]])
    idata = build_inference_data(
        X=X, weights=np.array([[[0.3, 0.7], [0.7, 0.3]]]),
        means=np.array([[[[0.0], [5.0]], [[5.1], [0.2]]]]),
        covariances=np.ones((1, 2, 2, 1, 1)), covariance_type="full",
        inference_method="nuts", family="student_t",
        family_parameters={"dof": np.array([[[3.0, 30.0], [31.0, 2.9]]])})
    out = relabel(idata, reference_means=[[0.0], [5.0]])
    np.testing.assert_allclose(out.posterior["dof"].values, [[[3.0, 30.0], [2.9, 31.0]]])
    assert family_of(out) == "student_t"


# ----------------------------------------------------------------- slow, statistical
@pytest.mark.slow
def test_nuts_recovers_clean_clusters_where_the_gaussian_posterior_does_not():
    """5 % gross outliers around two clusters: the t posterior's ARI on the clean points
    is above 0.95; the Gaussian posterior's (same settings) is below."""
    from bayesmix.bayes import GaussianMixtureBayes

    X, labels = clusters_with_outliers(150, 0.05, seed=5)
    clean = X[:len(labels)]
    student = quiet_fit(StudentMixtureBayes(2, random_state=0), X, method="nuts",
                        draws=500, tune=500, chains=2)
    gaussian = quiet_fit(GaussianMixtureBayes(2, random_state=0), X, method="nuts",
                         draws=500, tune=500, chains=2)
    assert adjusted_rand_score(labels, student.predict(clean)) > 0.95
    assert adjusted_rand_score(labels, gaussian.predict(clean)) < 0.95
    assert student.diagnostics_["n_divergences"] == 0
    assert student.diagnostics_["max_rhat"] < 1.05
