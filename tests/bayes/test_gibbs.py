"""The blocked Gibbs sampler of the conjugate mixture (bayesmix.bayes.backends.gibbs).

Its conditional updates are checked against their closed-form posteriors on tiny data
(Monte Carlo error bounds of four standard errors); the fitted layout against NUTS's is
in test_backends.py, which runs every registered back end.
"""

import warnings

import numpy as np
import pytest

from bayesmix import make_mixture
from bayesmix.bayes import GaussianMixtureBayes, MixturePriors, StudentMixtureBayes
from bayesmix.bayes.backends.gibbs import (
    draw_component_parameters,
    draw_log_weights,
    resolve_conjugate_prior,
    sample_gibbs,
)
from bayesmix.covariance.prior import ConjugatePrior
from bayesmix.exceptions import SamplerDiagnosticWarning
from bayesmix.selection import select_bayes

N_DRAWS = 4000
#: Six rows in two features, all in component 0 of two; component 1 stays empty.
X = np.array([[1.0, 2.0], [2.0, 1.5], [0.5, 3.0], [1.5, 2.5], [3.0, 2.0], [2.0, 4.0]])
PRIOR = ConjugatePrior(shrinkage=0.5, mean=np.array([0.0, 1.0]), dof=5.0,
                       scale=np.array([[2.0, 0.3], [0.3, 1.0]]))


def within_monte_carlo_error(draws, expected, n_se=4.0):
    """Whether the mean of ``draws`` (axis 0) is within ``n_se`` standard errors."""
    error = draws.std(axis=0) / np.sqrt(len(draws))
    return np.all(np.abs(draws.mean(axis=0) - expected) <= n_se * error + 1e-12)


@pytest.fixture(scope="module")
def component_draws():
    rng = np.random.RandomState(0)
    labels = np.zeros(len(X), dtype=int)
    draws = [draw_component_parameters(X, labels, 2, PRIOR, rng) for _ in range(N_DRAWS)]
    return np.stack([m for m, _ in draws]), np.stack([c for _, c in draws])


def niw_posterior(X, prior):
    """The closed-form normal-inverse-Wishart posterior given the rows ``X``."""
    n, n_features = X.shape
    xbar = X.mean(axis=0)
    kappa = prior.shrinkage + n
    location = (prior.shrinkage * prior.mean + n * xbar) / kappa
    scatter = (X - xbar).T @ (X - xbar)
    offset = xbar - prior.mean
    scale = prior.scale + scatter + prior.shrinkage * n / kappa * np.outer(offset, offset)
    return kappa, location, prior.dof + n, scale


def test_an_occupied_components_draws_have_the_niw_posterior_moments(component_draws):
    means, covariances = component_draws[0][:, 0], component_draws[1][:, 0]
    kappa, location, dof, scale = niw_posterior(X, PRIOR)
    n_features = X.shape[1]
    mean_covariance = scale / (dof - n_features - 1)
    assert within_monte_carlo_error(means, location)
    assert within_monte_carlo_error(covariances, mean_covariance)
    # Var(Sigma_ii) of the inverse Wishart, and Cov(mu) = E[Sigma] / kappa
    variance = 2 * np.diag(scale) ** 2 / ((dof - n_features - 1) ** 2
                                         * (dof - n_features - 3))
    diagonal = np.diagonal(covariances, axis1=1, axis2=2)
    assert within_monte_carlo_error((diagonal - np.diag(mean_covariance)) ** 2, variance,
                                    n_se=5.0)
    centred = means - location
    products = np.einsum("ni,nj->nij", centred, centred)
    assert within_monte_carlo_error(products, mean_covariance / kappa, n_se=5.0)


def test_an_empty_components_draws_have_the_prior_moments(component_draws):
    means, covariances = component_draws[0][:, 1], component_draws[1][:, 1]
    assert within_monte_carlo_error(means, PRIOR.mean)
    assert within_monte_carlo_error(covariances, PRIOR.scale / (PRIOR.dof - 3))


def test_the_draws_are_symmetric_positive_definite(component_draws):
    covariances = component_draws[1]
    assert np.allclose(covariances, np.swapaxes(covariances, -1, -2))
    assert (np.linalg.eigvalsh(covariances) > 0).all()


def test_dirichlet_weights_have_the_conjugate_posterior_mean():
    priors = MixturePriors(weights_alpha=[0.5, 1.0, 2.0]).resolve(X, 3)
    counts = np.array([3, 0, 1])
    rng = np.random.RandomState(1)
    weights = np.exp([draw_log_weights(counts, priors, rng) for _ in range(N_DRAWS)])
    assert np.allclose(weights.sum(axis=1), 1.0)
    alpha = priors.weights_alpha + counts
    assert within_monte_carlo_error(weights, alpha / alpha.sum())


def test_sparse_weights_of_empty_components_are_tiny_but_positive():
    priors = MixturePriors.sparse().resolve(X, 4)
    log_weights = draw_log_weights(np.array([6, 0, 0, 0]), priors, np.random.RandomState(0))
    assert np.isfinite(log_weights).all()
    assert np.exp(log_weights[0]) > 0.99


def test_stick_breaking_weights_have_the_conjugate_posterior_mean():
    """``v_k ~ Beta(1 + n_k, alpha + sum_{j>k} n_j)``: ``E[w_1] = E[v_1]``, ``E[w_2] =
    E[v_2] (1 - E[v_1])`` (independent sticks), and the last weight takes the rest."""
    priors = MixturePriors.dirichlet_process(alpha=2.0).resolve(X, 3)
    counts = np.array([2, 3, 1])
    rng = np.random.RandomState(2)
    weights = np.exp([draw_log_weights(counts, priors, rng) for _ in range(N_DRAWS)])
    first = 3 / (3 + 2.0 + 4)  # Beta(1 + 2, 2 + 3 + 1)
    second = 4 / (4 + 2.0 + 1)  # Beta(1 + 3, 2 + 1)
    expected = np.array([first, second * (1 - first), (1 - second) * (1 - first)])
    assert within_monte_carlo_error(weights, expected)


def test_the_conjugate_prior_defaults_to_mclusts_and_refuses_no_shrinkage():
    resolved = resolve_conjugate_prior(None, X, 2)
    assert resolved.shrinkage == 0.01 and resolved.dof == 4.0
    assert np.allclose(resolved.mean, X.mean(axis=0))
    assert np.allclose(resolved.scale, np.cov(X.T) / 2)  # K^(2/D) = 2
    with pytest.raises(ValueError, match=r"conjugate_prior.shrinkage must be > 0"):
        resolve_conjugate_prior(ConjugatePrior(shrinkage=0.0), X, 2)
    with pytest.raises(TypeError, match=r"conjugate_prior must be a .*ConjugatePrior"):
        resolve_conjugate_prior({"shrinkage": 1.0}, X, 2)


def test_the_same_seed_gives_the_same_draws():
    priors = MixturePriors().resolve(X, 2)
    first, second = (sample_gibbs(X, 2, priors, draws=5, tune=2, chains=2, random_state=3)
                     for _ in range(2))
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_fit_passes_the_conjugate_prior_and_refuses_what_it_cannot_sample():
    data, _, _ = make_mixture(60, n_components=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerDiagnosticWarning)
        tight = GaussianMixtureBayes(1, random_state=0).fit(
            data, method="gibbs", draws=200, tune=20, chains=1,
            conjugate_prior=ConjugatePrior(shrinkage=1e6, mean=np.zeros(2)))
    assert np.abs(tight.means_).max() < 0.05  # the mean pinned at the prior's
    with pytest.raises(ValueError, match=r"covariance_type='full' only"):
        GaussianMixtureBayes(2, covariance_type="diag").fit(data, method="gibbs")
    missing = data.copy()
    missing[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"needs complete data"):
        GaussianMixtureBayes(2).fit(missing, method="gibbs")
    with pytest.raises(ValueError, match=r"samples Gaussian components .* student_t"):
        StudentMixtureBayes(2).fit(data, method="gibbs")


def test_gibbs_takes_mclusts_name_of_full():
    # It compared names as written, so VVV (full's mclust name) was refused.
    data, _, _ = make_mixture(40, n_components=2, random_state=0)
    fits = []
    for name in ("full", "VVV"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SamplerDiagnosticWarning)
            fits.append(GaussianMixtureBayes(2, covariance_type=name, random_state=0).fit(
                data, method="gibbs", draws=20, tune=10, chains=1))
    np.testing.assert_array_equal(fits[0].means_, fits[1].means_)


@pytest.mark.slow
def test_an_overfitted_sparse_mixture_by_gibbs_finds_four_well_separated_clusters():
    """K=10 with the sparse prior on four clusters: the posterior mode is 4 (the same
    data as the NUTS test of test_occupied.py; about 5 s)."""
    X4, labels, _ = make_mixture(200, n_components=4, covariance_type="spherical",
                                 separation=8.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerDiagnosticWarning)  # empty components
        bayes = GaussianMixtureBayes(10, priors=MixturePriors.sparse(), random_state=0).fit(
            X4, method="gibbs", draws=500, tune=200, chains=2)
    table = bayes.posterior_n_components(random_state=0)
    assert table.idxmax() == 4 and table[4] > 0.9, table
    assert table.attrs["rhat"] < 1.05 or np.isnan(table.attrs["rhat"])
    sampler_counts = np.bincount(bayes.idata_.sample_stats["n_occupied"].values.ravel())
    assert sampler_counts.argmax() == 4


def test_select_bayes_runs_the_gibbs_sampler():
    data, _, _ = make_mixture(80, n_components=2, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short chains: R-hat, ESS and Pareto-k warnings
        selection = select_bayes(data, n_components=[1, 2], method="gibbs", random_state=0,
                                 draws=100, tune=50, chains=2)
    assert selection.best_params_["n_components"] == 2
    assert {"occupied", "p_occupied"} <= set(selection.table_.columns)
    assert selection.best_estimator_.idata_.posterior.attrs["inference_method"] == "gibbs"


def test_ordered_means_sorts_every_gibbs_draw():
    data, _, _ = make_mixture(60, n_components=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerDiagnosticWarning)
        bayes = GaussianMixtureBayes(2, ordered_means=True, random_state=0).fit(
            data, method="gibbs", draws=50, tune=20, chains=2)
    first = bayes.idata_.posterior["means"].isel(feature=0).values
    assert (np.diff(first, axis=-1) > 0).all()
