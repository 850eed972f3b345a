"""The posterior with missing values: the model marginalises them pattern by pattern."""

import warnings

import numpy as np
import pytest

from bayesmix.bayes import GaussianMixtureBayes, build_model
from bayesmix.covariance import posterior_structures, precision_cholesky
from bayesmix.datasets import make_mixture
from bayesmix.density import log_mixture_density


@pytest.fixture(scope="module")
def incomplete():
    X = make_mixture(80, 2, 3, "full", random_state=0).X
    holes = np.random.default_rng(0).random(X.shape) < 0.25
    holes[holes.all(axis=1), 0] = False
    return np.where(holes, np.nan, X)


def parameters_at(model, point):
    """``weights``, ``means`` and ``covariances`` of the model at a point of its values."""
    outputs = model.replace_rvs_by_values(
        [model["weights"], model["means"], model["covariances"]])
    function = model.compile_fn(outputs, inputs=model.value_vars, on_unused_input="ignore",
                                point_fn=False)
    return function(*[point[value.name] for value in model.value_vars])


@pytest.mark.parametrize("covariance_type", posterior_structures())
def test_log_density_is_the_observed_data_likelihood_plus_the_priors(incomplete,
                                                                     covariance_type):
    model = build_model(incomplete, 2, covariance_type)
    rng = np.random.default_rng(1)
    point = {name: value + 0.3 * rng.normal(size=np.shape(value))
             for name, value in model.initial_point().items()}
    weights, means, covariances = parameters_at(model, point)
    expected = log_mixture_density(incomplete, weights, means,
                                   precision_cholesky(covariances, "full"), "full")
    pointwise = model.compile_fn(model.logp(vars=[model["x"]], sum=False)[0],
                                 inputs=model.value_vars, on_unused_input="ignore")(point)
    np.testing.assert_allclose(pointwise, expected, rtol=1e-10)
    priors = model.compile_logp(vars=model.free_RVs)(point)
    assert model.compile_logp()(point) == pytest.approx(priors + expected.sum(), rel=1e-12)


def test_minibatches_with_missing_values_are_refused(incomplete):
    with pytest.raises(ValueError, match="batch_size=10 cannot be used with missing values"):
        build_model(incomplete, 2, "diag", batch_size=10)


def test_fit_score_and_impute_with_missing_values(incomplete):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bayes = GaussianMixtureBayes(2, covariance_type="diag", random_state=0).fit(
            incomplete, method="advi", draws=50, n_iter=2000)
    posterior = bayes.idata_.posterior
    # The pointwise log-likelihood for WAIC and LOO is the observed-data density.
    draw = {name: posterior[name].values[0, 3] for name in ("weights", "means",
                                                            "covariances")}
    expected = log_mixture_density(incomplete, draw["weights"], draw["means"],
                                   precision_cholesky(draw["covariances"], "full"), "full")
    np.testing.assert_allclose(bayes.idata_.log_likelihood["x"].values[0, 3], expected,
                               rtol=1e-10)
    assert np.isnan(bayes.idata_.observed_data["x"].values).sum() == np.isnan(
        incomplete).sum()
    assert np.isfinite(bayes.score_samples(incomplete)).all()
    np.testing.assert_allclose(bayes.predict_proba(incomplete).sum(axis=1), 1.0)
    filled = bayes.impute(incomplete)
    seen = ~np.isnan(incomplete)
    assert np.isfinite(filled).all() and np.all(filled[seen] == incomplete[seen])
    draws = bayes.impute(incomplete, n_imputations=4, random_state=0)
    assert draws.shape == (4, *incomplete.shape)
    assert np.all(draws[:, seen] == incomplete[seen])
    assert not np.allclose(draws[0], draws[1])


@pytest.mark.slow
def test_nuts_stores_the_observed_data_log_likelihood(incomplete):
    """NUTS (NumPyro, compiled by JAX) samples the marginalised model; PyMC's pointwise
    log-likelihood of ``x`` is the observed-data density, which WAIC reads."""
    from bayesmix import scoring

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bayes = GaussianMixtureBayes(2, covariance_type="full", random_state=0).fit(
            incomplete, method="nuts", draws=30, tune=30, chains=1)
        waic = scoring.waic(bayes)
    posterior = bayes.idata_.posterior
    draw = {name: posterior[name].values[0, 5] for name in ("weights", "means",
                                                            "covariances")}
    expected = log_mixture_density(incomplete, draw["weights"], draw["means"],
                                   precision_cholesky(draw["covariances"], "full"), "full")
    np.testing.assert_allclose(bayes.idata_.log_likelihood["x"].values[0, 5], expected,
                               rtol=1e-10)
    assert np.isfinite(waic.elpd_waic)


@pytest.mark.slow
def test_select_bayes_with_missing_values(incomplete):
    from bayesmix import select_bayes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        selection = select_bayes(incomplete, n_components=[1, 2], covariance_type="diag",
                                 method="advi", draws=50, n_iter=1500, random_state=0)
    assert len(selection.table_) == 2
    assert np.isfinite(selection.table_["elpd_loo"]).all()
