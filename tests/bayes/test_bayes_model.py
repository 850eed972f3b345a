"""build_model: log density against density.py and SciPy, coords, the LKJ construction."""

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import pytest
from scipy import stats

from bayesmix.bayes import MixturePriors, build_model
from bayesmix.bayes.correlations import correlation_cholesky, cpc_beta_parameters
from bayesmix.bayes.model import _covariance_cholesky, _mixture_random
from bayesmix.bayes.scales import get_scale
from bayesmix.covariance import precision_cholesky
from bayesmix.datasets import make_mixture
from bayesmix.density import log_mixture_density

K = 2
PRIORS = {
    "weights_alpha": [1.5, 2.5], "means_loc": [0.5, -0.5], "means_scale": [2.0, 3.0],
    "scale_sigma": [1.5, 0.7], "lkj_eta": 3.0,
}


@pytest.fixture(scope="module")
def data():
    return make_mixture(60, K, 2, "full", random_state=3).X


def _priors(covariance_type):
    values = dict(PRIORS)
    if covariance_type == "spherical":
        values["scale_sigma"] = 1.2
    return MixturePriors(**values)


def _evaluate(model, seed):
    """Constrained values of every variable and the log density without Jacobian terms,
    at a random point of the unconstrained space."""
    rng = np.random.default_rng(seed)
    point = {name: value + rng.normal(scale=0.5, size=np.shape(value))
             for name, value in model.initial_point().items()}
    outputs = model.unobserved_value_vars + [model.logp(jacobian=False)]
    function = model.compile_fn(outputs, inputs=model.value_vars, on_unused_input="ignore")
    *values, logp = function(point)
    return dict(zip([v.name for v in model.unobserved_value_vars], values)), float(logp)


def _prior_logp(values, covariance_type, priors):
    logp = stats.dirichlet.logpdf(values["weights"], priors.weights_alpha)
    # The free variables are the means' standard normal offsets (non-centred): their
    # density is the means' Normal(means_loc, means_scale) density times prod(means_scale).
    offsets = (values["means"] - priors.means_loc) / priors.means_scale
    logp += stats.norm.logpdf(offsets).sum()
    sigmas = values["sigma" if covariance_type == "spherical" else "sigmas"]
    logp += stats.halfnorm.logpdf(sigmas, scale=priors.scale_sigma).sum()
    if covariance_type in ("full", "tied"):
        b = cpc_beta_parameters(2, priors.lkj_eta)
        logp += stats.beta.logpdf(values["corr_cpc"], b, b).sum()
    return logp


def _expected_covariances(values, covariance_type):
    """Full covariances from the raw parameters, written out for two features."""
    if covariance_type == "spherical":
        return values["sigma"][:, None, None] ** 2 * np.eye(2)
    sigmas = values["sigmas"]
    if covariance_type == "diag":
        return sigmas[:, :, None] ** 2 * np.eye(2)
    r = 2.0 * values["corr_cpc"][..., 0] - 1.0  # with D = 2 the CPC is the correlation
    correlation = np.stack([np.stack([np.ones_like(r), r], -1),
                            np.stack([r, np.ones_like(r)], -1)], -2)
    covariances = sigmas[..., :, None] * correlation * sigmas[..., None, :]
    return np.broadcast_to(covariances, (K, 2, 2))


@pytest.mark.parametrize(
    "covariance_type, ordered_means",
    [("full", False), ("tied", False), ("diag", False), ("spherical", False),
     ("full", True)],
)
def test_log_density_equals_density_py_plus_priors(data, covariance_type, ordered_means):
    priors = _priors(covariance_type)
    model = build_model(data, K, covariance_type, priors, ordered_means=ordered_means)
    values, logp = _evaluate(model, seed=1)
    resolved = priors.resolve(data, K, covariance_type)

    expected_covariances = _expected_covariances(values, covariance_type)
    np.testing.assert_allclose(values["covariances"], expected_covariances, rtol=1e-10)
    likelihood = log_mixture_density(
        data, values["weights"], values["means"],
        precision_cholesky(expected_covariances, "full"), "full").sum()
    expected = likelihood + _prior_logp(values, covariance_type, resolved)
    assert logp == pytest.approx(expected, rel=1e-9)
    if ordered_means:
        assert np.all(np.diff(values["means"][:, 0]) > 0)
        offsets = np.column_stack([values["means_offset_first"], values["means_offset_rest"]])
    else:
        offsets = values["means_offset"]
    np.testing.assert_allclose(values["means"],
                               resolved.means_loc + resolved.means_scale * offsets, rtol=1e-12)


def test_log_density_changes_with_the_data(data):
    """The likelihood term is really there: moving one row changes the log density."""
    logps = []
    for shift in (0.0, 5.0):
        X = data.copy()
        X[0] += shift
        model = build_model(X, K, "spherical", _priors("spherical"))
        logps.append(model.compile_logp()(model.initial_point()))
    assert logps[0] != pytest.approx(logps[1])


@pytest.mark.parametrize(
    "covariance_type, free",
    [("full", ["corr_cpc", "means_offset", "sigmas", "weights"]),
     ("tied", ["corr_cpc", "means_offset", "sigmas", "weights"]),
     ("diag", ["means_offset", "sigmas", "weights"]),
     ("spherical", ["means_offset", "sigma", "weights"])],
)
def test_variables_and_dims(data, covariance_type, free):
    model = build_model(data, 3, covariance_type)
    assert sorted(rv.name for rv in model.free_RVs) == free
    assert model.named_vars_to_dims["covariances"] == ("component", "feature", "feature_bis")
    assert model.named_vars_to_dims["x"] == ("obs", "feature")
    assert list(model.coords["component"]) == [0, 1, 2]
    assert list(model.coords["feature"]) == ["x0", "x1"]
    assert len(model.coords["obs"]) == len(data)
    assert [rv.name for rv in model.observed_RVs] == ["x"]


def test_dataframe_column_names_become_feature_coords(data):
    frame = pd.DataFrame(data, columns=["eruptions", "waiting"])
    model = build_model(frame, 2, "full", ordered_means=True)
    assert list(model.coords["feature"]) == ["eruptions", "waiting"]
    assert list(model.coords["feature_pair"]) == ["eruptions:waiting"]
    assert list(model.coords["feature_rest"]) == ["waiting"]
    assert {rv.name for rv in model.free_RVs} >= {"means_offset_first", "means_offset_rest"}


def test_one_feature_model_has_no_correlations():
    X = np.random.default_rng(0).normal(size=(30, 1))
    model = build_model(X, 2, "full")
    assert sorted(rv.name for rv in model.free_RVs) == ["means_offset", "sigmas", "weights"]
    assert np.isfinite(model.compile_logp()(model.initial_point()))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"X": [[np.nan, np.nan], [1.0, 2.0], [0.0, 1.0]]},
         r"1 row\(s\) with every value missing \(NaN\): rows 0\."),
        ({"X": [[0.0, np.inf], [1.0, 2.0]]}, r"contains infinity in 1 row\(s\): rows 0\."),
        ({"X": [1.0, 2.0, 3.0]}, "X must be 2-D"),
        ({"n_components": 0}, "n_components must be >= 1, got 0"),
        ({"covariance_type": "banded"}, "covariance_type must be one of"),
        ({"priors": {"lkj_eta": 2.0}}, "priors must be a MixturePriors instance or None"),
        ({"priors": MixturePriors(means_loc=[0.0, 0.0, 0.0])},
         r"means_loc has length 3, but 2 values"),
    ],
)
def test_bad_input_is_rejected(data, kwargs, match):
    arguments = {"X": data, "n_components": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        build_model(**arguments)


def test_cpc_construction_gives_lkj_marginals():
    """Every correlation of an LKJ(eta) matrix in D dims is Beta(eta - 1 + D/2) on (-1, 1)."""
    n_features, eta = 3, 2.0
    rng = np.random.default_rng(0)
    b = cpc_beta_parameters(n_features, eta)
    cpc = 2.0 * rng.beta(b, b, size=(20_000, len(b))) - 1.0
    chol = correlation_cholesky(cpc, n_features)
    correlation = chol @ np.swapaxes(chol, -1, -2)
    np.testing.assert_allclose(np.diagonal(correlation, axis1=1, axis2=2), 1.0)
    marginal = stats.beta(eta - 1 + n_features / 2, eta - 1 + n_features / 2, loc=-1, scale=2)
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        assert stats.kstest(correlation[:, i, j], marginal.cdf).pvalue > 1e-3


def test_correlation_cholesky_agrees_between_numpy_and_pytensor():
    cpc = np.random.default_rng(1).uniform(-0.9, 0.9, size=(2, 6))
    symbolic = correlation_cholesky(pt.as_tensor(cpc), 4).eval()
    np.testing.assert_allclose(symbolic, correlation_cholesky(cpc, 4))
    assert np.allclose(np.triu(symbolic, 1), 0.0)


def test_model_is_a_plain_pymc_model_users_can_extend(data):
    model = build_model(data, 2, "diag")
    with model:
        pm.Deterministic("spread", model["means"][1] - model["means"][0], dims="feature")
    assert "spread" in model.named_vars


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "missing"])
def test_random_draws_have_the_mixture_moments(covariance_type):
    """The observed variable's random function (prior/posterior predictive) is right;
    "missing" is the model with missing values, whose scale is the full covariances."""
    weights = np.array([0.3, 0.7])
    means = np.array([[-2.0, 1.0], [3.0, 0.0]])
    scale = {
        "full": np.array([[[1.0, 0.0], [0.6, 0.8]], [[0.5, 0.0], [-0.2, 1.5]]]),
        "tied": np.array([[1.0, 0.0], [0.6, 0.8]]),
        "diag": np.array([[1.0, 0.5], [2.0, 0.3]]),
        "spherical": np.array([0.7, 1.3]),
        "missing": np.array([[[1.0, 0.6], [0.6, 1.0]], [[0.25, -0.1], [-0.1, 2.29]]]),
    }[covariance_type]
    if covariance_type == "missing":
        draws = _mixture_random(weights, means, scale, cholesky=_covariance_cholesky,
                                scale_ndim=3, rng=np.random.default_rng(0), size=200_000)
    else:
        posterior_scale = get_scale(covariance_type)
        draws = _mixture_random(weights, means, scale, cholesky=posterior_scale.cholesky,
                                scale_ndim=posterior_scale.ndim,
                                rng=np.random.default_rng(0), size=200_000)
    if covariance_type == "missing":
        chol = np.linalg.cholesky(scale)
    elif covariance_type in ("full", "tied"):
        chol = np.broadcast_to(scale, (2, 2, 2))
    else:
        chol = (scale if covariance_type == "diag" else scale[:, None])[:, :, None] * np.eye(2)
    covariances = chol @ np.swapaxes(chol, -1, -2)
    mean = weights @ means
    second = np.einsum("k,kij->ij", weights,
                       covariances + means[:, :, None] * means[:, None, :])
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=0.02)
    np.testing.assert_allclose(np.cov(draws.T), second - np.outer(mean, mean), atol=0.05)


def test_prior_predictive_draws_have_the_data_shape(data):
    model = build_model(data, 2, "full")
    draws = pm.draw(model["x"], random_seed=0)
    assert draws.shape == data.shape
    assert np.isfinite(draws).all()
