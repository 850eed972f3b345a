"""The posterior of the number of occupied components (bayesmix.bayes.occupied)."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bayesmix import GaussianMixtureEM, make_mixture, posterior_n_components  # noqa: E402
from bayesmix.bayes import GaussianMixtureBayes, MixturePriors  # noqa: E402
from bayesmix.bayes.occupied import draw_labels, occupied_components  # noqa: E402
from bayesmix.bayes.priors import SPARSE_WEIGHTS_ALPHA  # noqa: E402
from bayesmix.exceptions import SamplerDiagnosticWarning  # noqa: E402
from bayesmix.plotting import plot_n_components  # noqa: E402
from bayesmix.results import build_inference_data  # noqa: E402

#: Three clusters on a line, far apart.
CENTRES = np.array([0.0, 10.0, 20.0])
X = np.repeat(CENTRES, 5)[:, None] + np.tile(np.linspace(-0.2, 0.2, 5), 3)[:, None]


def posterior(weights, means, variance=0.05):
    """Draws of a 1-D mixture: ``weights`` (chain, draw, K), ``means`` (chain, draw, K)."""
    weights, means = np.asarray(weights, float), np.asarray(means, float)
    return build_inference_data(
        X=X, weights=weights, means=means[..., None],
        covariances=np.full(means.shape + (1, 1), variance), covariance_type="full",
        inference_method="nuts")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_empty_components_are_not_counted():
    # Draw 0: components 3 and 4 have no weight; draw 1: component 4 (weight 1e-300)
    # sits on the third cluster beside component 2, and component 3 on no data.
    weights = [[[0.3, 0.3, 0.4, 0.0, 0.0], [0.3, 0.3, 0.4, 0.0, 1e-300]]]
    means = [[[0, 10, 20, 5, 5], [0, 10, 20, 100, 20]]]
    counts = occupied_components(posterior(weights, means), random_state=0)
    assert counts.dims == ("chain", "draw") and counts.name == "n_occupied"
    np.testing.assert_array_equal(counts.values, [[3, 3]])


def test_a_cluster_shared_by_two_components_occupies_both_or_one():
    """Two equal components on the 5 rows of the middle cluster: each row picks one at
    random, so both are occupied with probability 1 - 2 / 2**5 = 0.9375."""
    n_draws = 400
    weights = np.broadcast_to([0.3, 0.2, 0.2, 0.3], (1, n_draws, 4))
    means = np.broadcast_to([0.0, 10.0, 10.0, 20.0], (1, n_draws, 4))
    counts = occupied_components(posterior(weights, means), random_state=0).values
    assert set(np.unique(counts)) == {3, 4}
    # Four binomial standard errors (0.012).
    assert np.mean(counts == 4) == pytest.approx(0.9375, abs=0.05)
    again = occupied_components(posterior(weights, means), random_state=0).values
    np.testing.assert_array_equal(counts, again)


def test_posterior_n_components_is_the_distribution_of_the_counts():
    rng = np.random.default_rng(0)
    # 2 chains x 40 draws: a third component on the third cluster in half the draws.
    present = rng.random((2, 40)) < 0.5
    weights = np.where(present[..., None], [0.3, 0.3, 0.4, 0.0], [0.5, 0.5, 0.0, 0.0])
    weights[..., 3] = 0.0
    means = np.broadcast_to([0.0, 10.0, 20.0, 50.0], (2, 40, 4))
    idata = posterior(weights / weights.sum(-1, keepdims=True), means)
    table = posterior_n_components(idata, random_state=0)
    assert table.index.tolist() == [1, 2, 3, 4] and table.index.name == "n_components"
    assert table.name == "probability" and table.sum() == pytest.approx(1.0)
    # Without the third component its rows go to the second (the nearer mean).
    assert table[3] == pytest.approx(present.mean()) and table[2] == pytest.approx(
        1 - present.mean())
    assert 0.9 < table.attrs["rhat"] < 1.1 and table.attrs["ess_bulk"] > 20
    constant = posterior_n_components(posterior(np.full((2, 5, 3), 1 / 3),
                                                np.broadcast_to(CENTRES, (2, 5, 3))))
    assert constant[3] == 1.0 and np.isnan(constant.attrs["rhat"])


def test_labels_are_drawn_with_their_probabilities():
    probabilities = np.tile([0.2, 0.5, 0.3], (20_000, 1))
    labels = draw_labels(probabilities, np.random.RandomState(0))
    frequencies = np.bincount(labels, minlength=3) / len(labels)
    # Four binomial standard errors (at most 0.0035 each).
    np.testing.assert_allclose(frequencies, [0.2, 0.5, 0.3], atol=0.014)


def test_a_point_mass_has_no_occupied_components_posterior():
    em = GaussianMixtureEM(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="needs posterior draws, but this fit is a point"):
        posterior_n_components(em)


def test_the_sparse_prior_is_a_small_concentration():
    priors = MixturePriors.sparse().resolve(X, 6, "spherical")
    np.testing.assert_array_equal(priors.weights_alpha, np.full(6, SPARSE_WEIGHTS_ALPHA))
    assert MixturePriors.sparse(weights_alpha=1 / 6).weights_alpha == 1 / 6
    with pytest.raises(ValueError, match="weights_alpha must be positive"):
        MixturePriors.sparse(weights_alpha=0.0)


def test_the_plot_shows_the_probabilities():
    weights = [[[0.3, 0.3, 0.4, 0.0], [0.5, 0.5, 0.0, 0.0]]]
    means = [[[0, 10, 20, 50], [0, 10, 20, 50]]]
    ax = plot_n_components(posterior(weights, means), random_state=0)
    assert [float(bar.get_height()) for bar in ax.patches] == [0.0, 0.5, 0.5, 0.0]
    assert ax.get_xlabel() == "number of occupied components"


@pytest.mark.slow
def test_an_overfitted_sparse_mixture_finds_four_well_separated_clusters():
    """K=10 with the sparse prior on four clusters: the posterior mode is 4.

    NUTS on spherical components, 2 chains of 300 draws (about a minute on two cores);
    the chains must agree on the number of clusters.
    """
    X4, labels, _ = make_mixture(200, n_components=4, covariance_type="spherical",
                                 separation=8.0, random_state=0)
    assert np.bincount(labels).min() >= 30
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerDiagnosticWarning)  # empty components
        bayes = GaussianMixtureBayes(10, covariance_type="spherical",
                                     priors=MixturePriors.sparse(), random_state=0).fit(
            X4, draws=300, tune=300, chains=2)
    table = bayes.posterior_n_components()
    assert table.idxmax() == 4 and table[4] > 0.5, table
    assert np.isnan(table.attrs["rhat"]) or table.attrs["rhat"] < 1.05
