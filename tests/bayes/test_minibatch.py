"""Minibatch ADVI: the scaled likelihood, recovery, the stored log-likelihood, bad input."""

import warnings

import numpy as np
import pytest

from bayesmix.bayes import GaussianMixtureBayes, build_model
from bayesmix.covariance import precision_cholesky
from bayesmix.datasets import make_mixture
from bayesmix.density import log_mixture_density
from bayesmix.exceptions import VIConvergenceWarning
from bayesmix.relabel import hungarian_permutations
from bayesmix.results import log_likelihood_draws

N_ROWS = 3000
BATCH_SIZE = 200
N_COMPONENTS = 3


@pytest.fixture(scope="module")
def sample():
    return make_mixture(N_ROWS, N_COMPONENTS, 2, "diag", random_state=1)


def _fit(X, n_components, batch_size, method="advi", **kwargs):
    estimator = GaussianMixtureBayes(n_components, covariance_type="diag", random_state=0)
    with warnings.catch_warnings():
        # Minibatch gradients are noisy: the parameters settle slowly under the default
        # tol, which is not what these tests are about.
        warnings.simplefilter("ignore", VIConvergenceWarning)
        return estimator.fit(X, method=method, batch_size=batch_size, **kwargs)


@pytest.fixture(scope="module")
def minibatch_fit(sample):
    # learning_rate=1e-2: the approximation's spread settles within these steps (at the
    # default 1e-3 it is still shrinking, full batch or not).
    return _fit(sample.X, N_COMPONENTS, BATCH_SIZE, draws=200, n_iter=5000,
                learning_rate=1e-2)


def _truth_in_fit_order(sample, estimator):
    """True weights, means and covariances, permuted to the fitted labels."""
    order = hungarian_permutations(sample.params["means"][None], estimator.means_)[0]
    params = sample.params
    return params["weights"][order], params["means"][order], params["covariances"][order]


def test_minibatch_likelihood_is_scaled_to_the_full_data(sample):
    model = build_model(sample.X, N_COMPONENTS, "diag", batch_size=BATCH_SIZE)
    batch = model.rvs_to_values[model["x"]]
    parameters = model.replace_rvs_by_values(
        [model["weights"], model["means"], model["sigmas"]])
    evaluate = model.compile_fn([model.observedlogp, batch, *parameters], random_seed=0)
    point = model.initial_point()
    first_rows = None
    for _ in range(3):
        logp, rows, weights, means, sigmas = evaluate(point)
        assert rows.shape == (BATCH_SIZE, 2)
        # The minibatch holds rows of the data ...
        assert np.isin(rows[:, 0], sample.X[:, 0]).all()
        # ... and its log-likelihood is scaled by n_rows / batch_size.
        density = log_mixture_density(rows, weights, means,
                                      precision_cholesky(sigmas**2, "diag"), "diag")
        assert logp == pytest.approx(N_ROWS / BATCH_SIZE * density.sum(), rel=1e-10)
        assert first_rows is None or not np.array_equal(rows, first_rows)
        first_rows = rows


def test_minibatch_advi_recovers_the_truth(minibatch_fit, sample):
    weights, means, _ = _truth_in_fit_order(sample, minibatch_fit)
    np.testing.assert_allclose(minibatch_fit.means_, means, atol=0.15)
    np.testing.assert_allclose(minibatch_fit.weights_, weights, atol=0.03)


def test_minibatch_posterior_width_is_that_of_all_the_rows(minibatch_fit, sample):
    # The sd of a component mean is about sqrt(variance / rows in the component): with
    # the likelihood scaled to the minibatch instead, it would be sqrt(15) times wider.
    weights, _, variances = _truth_in_fit_order(sample, minibatch_fit)
    expected = np.sqrt(variances / (N_ROWS * weights[:, None]))
    sd = minibatch_fit.idata_.posterior["means"].std(("chain", "draw")).values
    assert np.all((sd > expected / 2) & (sd < 2 * expected)), (sd, expected)


def test_minibatch_log_likelihood_covers_every_row(minibatch_fit, sample):
    idata = minibatch_fit.idata_
    log_lik = idata.log_likelihood["x"]
    assert log_lik.dims == ("chain", "draw", "obs")
    assert dict(log_lik.sizes) == {"chain": 1, "draw": 200, "obs": N_ROWS}
    np.testing.assert_array_equal(idata.observed_data["x"].values, sample.X)
    posterior = idata.posterior.isel(draw=[0, 199])
    expected = log_likelihood_draws(sample.X, posterior["weights"].values,
                                    posterior["means"].values,
                                    posterior["covariances"].values)
    np.testing.assert_allclose(log_lik.isel(draw=[0, 199]).values, expected, rtol=1e-12)
    assert idata.posterior.attrs["batch_size"] == BATCH_SIZE
    assert idata.posterior.attrs["inference_method"] == "advi"


def test_minibatch_fullrank_advi_runs():
    X = make_mixture(400, 2, 2, "diag", random_state=2).X
    estimator = _fit(X, 2, 100, method="fullrank_advi", draws=20, n_iter=300)
    assert estimator.idata_.log_likelihood["x"].shape == (1, 20, 400)
    assert estimator.idata_.posterior.attrs["batch_size"] == 100


@pytest.mark.parametrize("batch_size", [0, -5, 2.5, True, "100", 50, 51])
def test_bad_batch_size(batch_size):
    X = make_mixture(50, 2, 2, "diag", random_state=0).X
    with pytest.raises(ValueError, match=f"batch_size must be .* got {batch_size!r}"):
        build_model(X, 2, "diag", batch_size=batch_size)
    with pytest.raises(ValueError, match="batch_size must be .* n_samples - 1 = 49"):
        GaussianMixtureBayes(2, covariance_type="diag").fit(X, method="advi",
                                                            batch_size=batch_size)


def test_batch_size_with_nuts_is_refused():
    X = make_mixture(50, 2, 2, "diag", random_state=0).X
    with pytest.raises(ValueError, match="batch_size=10 is for variational inference"):
        GaussianMixtureBayes(2).fit(X, method="nuts", batch_size=10)


@pytest.mark.slow
def test_minibatch_advi_recovers_the_truth_on_500k_rows():
    sample = make_mixture(500_000, 3, 2, "full", random_state=3)
    estimator = GaussianMixtureBayes(3, covariance_type="full", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VIConvergenceWarning)
        # tol=1e-4: the default 1e-2 would stop while the offsets are still settling.
        estimator.fit(sample.X, method="advi", batch_size=1000, draws=100, n_iter=20_000,
                      tol=1e-4)
    weights, means, _ = _truth_in_fit_order(sample, estimator)
    np.testing.assert_allclose(estimator.means_, means, atol=0.02)
    np.testing.assert_allclose(estimator.weights_, weights, atol=0.005)
    assert estimator.idata_.log_likelihood["x"].shape == (1, 100, 500_000)
