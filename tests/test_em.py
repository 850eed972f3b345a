"""GaussianMixtureEM: parity with scikit-learn, recovery, weights, seeds, diagnostics."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from bayesmix import (
    ConvergenceWarning,
    DegenerateComponentWarning,
    GaussianMixtureEM,
    load_old_faithful,
    make_mixture,
)
from bayesmix.covariance import COVARIANCE_TYPES, n_parameters, structure_names


@pytest.fixture(scope="module")
def blobs():
    """Three overlapping 3-D clusters far from the origin (tests the centring)."""
    rng = np.random.default_rng(1)
    X = np.vstack([
        rng.normal(size=(200, 3)) + [3, 0, 0],
        rng.normal(size=(150, 3)) @ np.diag([1.0, 2.0, 0.5]) - [0, 3, 1],
        0.5 * rng.normal(size=(100, 3)) + [0, 4, 4],
    ])
    return X + 100.0


def sklearn_start(X, covariance_type, n_components=3):
    """Initial parameters from one EM step of scikit-learn, shared by both fitters."""
    start = GaussianMixture(n_components, covariance_type=covariance_type, max_iter=1,
                            random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start.fit(X)
    return {"weights_init": start.weights_, "means_init": start.means_,
            "precisions_init": start.precisions_}


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_iteration_matches_sklearn(blobs, covariance_type):
    init = sklearn_start(blobs, covariance_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = GaussianMixture(3, covariance_type=covariance_type, max_iter=30, tol=0,
                              **init).fit(blobs)
        ours = GaussianMixtureEM(3, covariance_type=covariance_type, max_iter=30, tol=0,
                                 **init).fit(blobs)
    assert ours.n_iter_ == ref.n_iter_ == 30
    np.testing.assert_allclose(ours.lower_bound_history_, ref.lower_bounds_, rtol=1e-8)
    assert ours.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-8)
    np.testing.assert_allclose(ours.weights_, ref.weights_, rtol=1e-8)
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-8)
    np.testing.assert_allclose(ours.covariances_, ref.covariances_, rtol=1e-7)
    np.testing.assert_allclose(ours.precisions_, ref.precisions_, rtol=1e-7)
    np.testing.assert_allclose(ours.score_samples(blobs), ref.score_samples(blobs), rtol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(blobs), ref.predict_proba(blobs),
                               atol=1e-8)
    assert ours.bic(blobs) == pytest.approx(ref.bic(blobs), rel=1e-8)
    assert ours.aic(blobs) == pytest.approx(ref.aic(blobs), rel=1e-8)


@pytest.mark.parametrize("covariance_type", structure_names())
def test_recovers_simulated_clusters(covariance_type):
    X, labels, _ = make_mixture(600, n_components=3, n_features=2,
                                covariance_type=covariance_type, random_state=3)
    em = GaussianMixtureEM(3, covariance_type=covariance_type, n_init=3, random_state=0)
    assert adjusted_rand_score(labels, em.fit_predict(X)) > 0.95
    assert em.converged_ and em.degenerate_components_ == []


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_sample_weight_equals_repeated_rows(blobs, covariance_type):
    counts = np.random.default_rng(0).integers(0, 4, size=len(blobs))
    init = sklearn_start(blobs, covariance_type)
    weighted = GaussianMixtureEM(3, covariance_type=covariance_type, max_iter=15, tol=0,
                                 **init)
    repeated = GaussianMixtureEM(3, covariance_type=covariance_type, max_iter=15, tol=0,
                                 **init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted.fit(blobs, sample_weight=counts)
        repeated.fit(np.repeat(blobs, counts, axis=0))
    np.testing.assert_allclose(weighted.lower_bound_history_, repeated.lower_bound_history_,
                               rtol=1e-10)
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-10)
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-9)
    np.testing.assert_allclose(weighted.weights_, repeated.weights_, rtol=1e-10)


def test_fractional_sample_weight_shifts_the_fit(blobs):
    weights = np.where(blobs[:, 0] > 101.5, 5.0, 0.2)
    plain = GaussianMixtureEM(1).fit(blobs)
    weighted = GaussianMixtureEM(1).fit(blobs, sample_weight=weights)
    np.testing.assert_allclose(weighted.means_[0], np.average(blobs, axis=0, weights=weights),
                               rtol=1e-10)
    assert weighted.means_[0, 0] > plain.means_[0, 0] + 1.0


@pytest.mark.parametrize("covariance_type", ["full", "VEV", "diag"])
@pytest.mark.parametrize("factor", [1e-20, 1e20])
def test_weights_scaled_by_any_factor_fit_the_same_mixture(blobs, covariance_type, factor):
    """The M step's floor on the counts is in the weights' unit: weights of 1e-20 per row
    (counts below the bare floor, every mean pulled to the origin) fit what weights of 1
    fit. (Their components are flagged: a weight counts rows, and 1e-20 of a row is too
    few for a covariance.)"""
    weights = np.random.default_rng(1).uniform(0.5, 2.0, len(blobs))
    fits = []
    for scale in (1.0, factor):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateComponentWarning)
            fits.append(GaussianMixtureEM(3, covariance_type=covariance_type, random_state=0)
                        .fit(blobs, sample_weight=weights * scale))
    plain, scaled = fits
    np.testing.assert_allclose(scaled.means_, plain.means_, rtol=1e-8)
    np.testing.assert_allclose(scaled.covariances_, plain.covariances_, rtol=1e-7)
    np.testing.assert_allclose(scaled.score_samples(blobs), plain.score_samples(blobs),
                               rtol=1e-8)


@pytest.mark.parametrize(("covariance_type", "noise"), [("full", False), ("EVE", False),
                                                       ("full", True)])
def test_a_pickled_fit_predicts_bit_for_bit(blobs, covariance_type, noise):
    """The fitted arrays are C-ordered, as a pickled copy's are: the same arithmetic, the
    same bits (a transposed view of the precision factors gave 4e-16 apart)."""
    import pickle

    em = GaussianMixtureEM(3, covariance_type=covariance_type, noise=noise,
                           random_state=0).fit(blobs)
    copy = pickle.loads(pickle.dumps(em))
    assert all(value.flags["C_CONTIGUOUS"] for value in vars(em).values()
               if isinstance(value, np.ndarray))
    np.testing.assert_array_equal(copy.predict_proba(blobs), em.predict_proba(blobs))
    np.testing.assert_array_equal(copy.score_samples(blobs), em.score_samples(blobs))


def test_a_float32_fit_samples_without_numpys_warning(blobs):
    """float32 covariances one unit apart across the diagonal are drawn from as the
    symmetric matrices they stand for, without NumPy's "not symmetric" warning."""
    em = GaussianMixtureEM(3, random_state=0).fit(blobs.astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        X, labels = em.sample(500)
    assert X.shape == (500, blobs.shape[1]) and np.bincount(labels).sum() == 500


def test_same_seed_same_fit_and_restarts_pick_the_best(blobs):
    fits = [GaussianMixtureEM(3, init_params="random", n_init=4, random_state=11).fit(blobs)
            for _ in range(2)]
    np.testing.assert_array_equal(fits[0].means_, fits[1].means_)
    singles = [GaussianMixtureEM(3, init_params="random", random_state=seed)
               for seed in range(4)]
    best = max(s.fit(blobs).lower_bound_ for s in singles)
    assert GaussianMixtureEM(3, init_params="random", n_init=8,
                             random_state=0).fit(blobs).lower_bound_ >= best - 1e-3


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_initialisation_converges(blobs, init_params):
    em = GaussianMixtureEM(3, init_params=init_params, random_state=0, max_iter=500).fit(blobs)
    assert em.converged_
    assert np.all(np.diff(em.lower_bound_history_) > -1e-10)  # EM never goes down
    assert em.lower_bound_ == em.lower_bound_history_[-1]


def test_warm_start_continues_from_previous_fit(blobs):
    em = GaussianMixtureEM(3, max_iter=2, warm_start=True, random_state=0)
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=2"):
        em.fit(blobs)
    first = em.lower_bound_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        em.fit(blobs)
    assert em.lower_bound_history_[0] >= first - 1e-12


def test_criteria(blobs):
    em = GaussianMixtureEM(3, covariance_type="diag", random_state=0).fit(blobs)
    loglik = em.score(blobs) * len(blobs)
    p = n_parameters(3, 3, "diag")
    assert em.bic(blobs) == pytest.approx(-2 * loglik + p * np.log(len(blobs)))
    assert em.aic(blobs) == pytest.approx(-2 * loglik + 2 * p)
    resp = em.predict_proba(blobs)
    entropy = -np.sum(np.log(resp.max(axis=1)))
    assert em.icl(blobs) == pytest.approx(em.bic(blobs) + 2 * entropy)
    assert em.icl(blobs) > em.bic(blobs)


def test_sample_follows_the_fit(blobs):
    em = GaussianMixtureEM(2, covariance_type="tied", random_state=0).fit(blobs)
    X, labels = em.sample(20000)
    assert X.shape == (20000, 3)
    np.testing.assert_allclose(np.bincount(labels) / 20000, em.weights_, atol=0.02)
    np.testing.assert_allclose(X[labels == 0].mean(axis=0), em.means_[0], atol=0.1)
    np.testing.assert_allclose(np.cov(X[labels == 1], rowvar=False), em.covariances_,
                               rtol=0.1, atol=0.1)
    np.testing.assert_array_equal(em.sample(5)[0], em.sample(5)[0])


def test_dataframe_feature_names_and_inference_data():
    X = load_old_faithful()
    em = GaussianMixtureEM(2, random_state=0).fit(X)
    np.testing.assert_array_equal(em.feature_names_in_, ["eruptions", "waiting"])
    idata = em.to_inference_data()
    assert set(idata.groups()) == {"posterior", "log_likelihood", "observed_data",
                                   "sample_stats"}
    post = idata.posterior
    assert post["weights"].dims == ("chain", "draw", "component")
    assert post["covariances"].dims == ("chain", "draw", "component", "feature", "feature_bis")
    assert list(post.feature.values) == ["eruptions", "waiting"]
    np.testing.assert_allclose(post["covariances"].values[0, 0], em.covariances_)
    np.testing.assert_allclose(idata.log_likelihood["x"].values[0, 0], em.score_samples(X))
    np.testing.assert_array_equal(idata.observed_data["x"].values, X.to_numpy())
    history = idata.sample_stats["lower_bound_history"]
    assert history.sizes["iteration"] == em.n_iter_
    assert post.attrs["inference_method"] == "em"
    assert post.attrs["covariance_type"] == "full"


def test_old_faithful_tied_three_matches_mclust():
    """mclust's EEE model with 3 components reports log-likelihood -1126.361.

    mclust stops when the relative change of the log-likelihood falls under 1e-5 (about
    0.011 here); run to a tight tolerance, EM reaches the same optimum slightly higher.
    """
    X = load_old_faithful()
    em = GaussianMixtureEM(3, covariance_type="tied", tol=1e-8, max_iter=1000, n_init=5,
                           random_state=0).fit(X)
    assert -1126.361 <= em.score(X) * len(X) <= -1126.361 + 0.06
    assert em.degenerate_components_ == []


def test_collapsed_component_is_flagged_and_named():
    X = load_old_faithful()
    # Many rows share waiting == 83 (whole minutes): a diagonal component can sit on them.
    on_83 = X["waiting"].to_numpy() == 83
    means = np.array([[2.0, 54.0], [4.4, 80.0], [X["eruptions"][on_83].mean(), 83.0]])
    precisions = np.array([[10.0, 0.03], [10.0, 0.03], [10.0, 1e6]])
    em = GaussianMixtureEM(3, covariance_type="diag", means_init=means,
                           weights_init=[0.35, 0.55, 0.1], precisions_init=precisions)
    with pytest.warns(DegenerateComponentWarning, match=r"component 2: its smallest variance "
                      r".* reg_covar floor .*feature 'waiting'"):
        em.fit(X)
    assert em.degenerate_components_ == [2]
    assert "feature 'waiting'" in em.degenerate_reasons_[2]
    assert em.covariances_[2, 1] < 2e-6


def test_a_starved_count_is_rounded_down_in_the_reason():
    """3.496 effective points of the 4 a full 3-D covariance needs read "3.49", never
    "3.5 effective points, fewer than the 3.5" of the count less COUNT_SLACK."""
    from bayesmix.covariance import get_structure
    from bayesmix.em.diagnostics import find_degenerate

    covariances = np.stack([np.eye(3), np.eye(3)])
    report = find_degenerate(get_structure("full"), covariances, np.array([50.0, 3.496]),
                             np.eye(3), 1e-6, "x{}".format)
    assert report.reasons == {1: "it holds 3.49 effective points, fewer than the 4 its "
                                 "covariance needs"}


def test_a_soft_count_just_short_of_the_need_is_not_starved():
    """Two rows, one at 99 %: 1.99 effective points are the two rows a variable volume
    needs (mtcars' VEI,6 and VEI,8, which mclust fits, were flagged for it); 1.4 are not."""
    from bayesmix.covariance import get_structure
    from bayesmix.em.diagnostics import COUNT_SLACK, find_degenerate

    covariances = np.full((3, 2), 1.0)
    report = find_degenerate(get_structure("VEI"), covariances,
                             np.array([50.0, 1.99, 1.4]), np.ones(2), 1e-6, "x{}".format)
    assert list(report.reasons) == [2]
    assert 1.99 >= 2 - COUNT_SLACK > 1.4


@pytest.mark.parametrize(("structure", "needed"), [
    ("EII", 1), ("EEI", 1), ("EEE", 1), ("EEV", 1), ("EVI", 2), ("EVE", 2), ("VII", 2),
    ("VEI", 2), ("VVI", 2), ("VEE", 2), ("VVE", 2), ("VEV", 2), ("EVV", 5), ("VVV", 5)])
def test_points_a_component_needs(structure, needed):
    """A shared volume and shape need one row; a shape or volume of the component's own,
    two; its own shape along its own axes, D + 1 (4 features here). Axes of its own
    with a shared shape (EEV, VEV) are tested on the scatter instead, not counted."""
    from bayesmix.covariance import get_structure

    structure = get_structure(structure)
    assert structure.min_points(4) == needed
    assert structure.axes_from_scatter == (structure.name in ("EEV", "VEV"))


def _one_component_scatter(rows, resp):
    centred = rows - resp @ rows / resp.sum()
    return ((centred.T * resp) @ centred)[np.newaxis]


def test_own_axes_are_arbitrary_where_too_few_rows_vary_in_too_few_directions():
    """EEV's and VEV's components take their axes from their own scatter. Two rows in
    three dimensions leave it null in a plane, where the axes rest on those two rows
    alone: flagged. Six rows constant in two columns are null in a plane too, but they
    are a cluster of the data (as Boston's rows with tax = 666 are), which mclust fits:
    not flagged. One row at 98.5 % with small shares of others (geyser's EEV,5, women's
    EEV,4, which mclust fits and chooses) varies in every direction: its axes are not
    arbitrary, though it holds fewer effective points than features (VEV's own volume
    still needs two). Under a prior, and for structures whose axes do not come from the
    scatter, nothing is tested."""
    from bayesmix.covariance import get_structure
    from bayesmix.em.diagnostics import find_degenerate

    rng = np.random.default_rng(0)
    pair = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 0.5]])
    flat = np.column_stack([rng.normal(size=6), np.full(6, 3.0), np.full(6, -1.0)])
    spread = np.vstack([[5.0, 5.0, 5.0], rng.normal(5.0, 1.0, size=(5, 3))])
    soft = np.array([0.985, 0.1, 0.03, 0.03, 0.02, 0.006])
    cases = [(pair, np.ones(2)), (flat, np.ones(6)), (spread, soft)]
    scatters = np.concatenate([_one_component_scatter(rows, resp) for rows, resp in cases])
    counts = np.array([resp.sum() for _, resp in cases])
    covariances = np.tile(np.eye(3), (3, 1, 1))
    for name in ("EEV", "VEV"):
        report = find_degenerate(get_structure(name), covariances, counts, np.eye(3), 1e-6,
                                 "x{}".format, scatters=scatters)
        assert report.reasons[0] == ("its 2 effective points vary in only 1 of the 3 "
                                     "directions, so its own axes are arbitrary in the "
                                     "other 2")
        assert 1 not in report.reasons
        # VEV's own volume needs two rows, which 1.2 effective points are not; EEV's is
        # shared.
        assert "directions" not in report.reasons.get(2, "")
        assert (2 in report.reasons) == (name == "VEV")
        assert not find_degenerate(get_structure(name), covariances, counts, np.eye(3),
                                   1e-6, "x{}".format, prior=True, scatters=scatters).reasons
    assert counts[2] < 3
    assert not find_degenerate(get_structure("EVV"), covariances, np.full(3, 10.0),
                               np.eye(3), 1e-6, "x{}".format, scatters=scatters).reasons


@pytest.mark.parametrize("name", ["full", "diag"])
def test_a_collapse_relative_to_the_data_does_not_depend_on_the_eigenvector_chosen(name):
    """A component with two equal tiny variances (rows constant in two columns), one
    along a column where the data vary 1e5 times more than along the other: whichever
    of the two directions its smallest eigenvalue is found along (here decided by a
    relative difference of 1e-9), it has collapsed relative to the data in the first
    (1e-11 of the data's variance there), and is flagged so, naming that column."""
    from bayesmix.covariance import get_structure
    from bayesmix.em.diagnostics import find_degenerate

    structure = get_structure(name)
    data = np.array([1.0, 1.0, 1e5])
    for tilt in (1.0 + 1e-9, 1.0 - 1e-9):
        variances = np.array([[1.0, 1e-6, 1e-6 * tilt], [1.0, 1.0, 1e5]])
        covariances = (np.array([np.diag(row) for row in variances]) if name == "full"
                       else variances)
        report = find_degenerate(structure, covariances, np.array([30.0, 30.0]),
                                 np.diag(data) if name == "full" else data, 1e-12,
                                 "x{}".format)
        assert list(report.reasons) == [0]
        assert report.reasons[0] == ("its variance 1e-06 mostly along feature 'x2' is "
                                     "1e-11 of the data's there: it has collapsed in that "
                                     "direction")


def test_a_stretched_component_names_the_variance_it_was_compared_with():
    """EVI components with volume 1: (1e-6, 1e6) has collapsed along x0 and stretched
    along x1. Where the data vary as much along x0 as the components do, the message
    gives the ratio to the data's variance there; where the data's variance along x0 is
    inflated by gaps between far clusters (1e3 against pooled variances near 1), to 100
    times the components' pooled variance, which is then what it was compared with."""
    from bayesmix.covariance import get_structure
    from bayesmix.em.diagnostics import find_degenerate

    evi = get_structure("EVI")
    variances = np.array([[2.0, 0.5], [1e-6, 1e6], [0.5, 2.0]])
    counts = np.array([30.0, 5.0, 30.0])
    near = find_degenerate(evi, variances, counts, np.array([1.0, 1.0]), 0.0, "x{}".format)
    assert list(near.reasons) == [1]
    assert "is 1e-06 of the data's variance there" in near.reasons[1]
    far = find_degenerate(evi, variances, counts, np.array([1e3, 1.0]), 0.0, "x{}".format)
    assert list(far.reasons) == [1]
    pooled = (30.0 * 2.0 + 5.0 * 1e-6 + 30.0 * 0.5) / 65.0
    assert (f"is {1e-6 / (100 * pooled):.2g} of 100 times the components' pooled variance "
            f"there") in far.reasons[1]


def test_a_fit_whose_own_axes_are_arbitrary_is_flagged_by_the_estimator_and_select_em():
    """Two clusters and a far pair of rows in three features: EEV with three components
    gives the pair a component whose axes rest on two rows, and both the estimator and
    select_em's batch flag the fit."""
    from bayesmix import GaussianMixtureEM, select_em

    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(size=(60, 3)), rng.normal(size=(60, 3)) + 8.0,
                   [[40.0, 0.0, 0.0], [41.0, 1.0, 0.5]]])
    with pytest.warns(UserWarning, match="own axes are arbitrary"):
        em = GaussianMixtureEM(3, covariance_type="EEV", random_state=0).fit(X)
    assert len(em.degenerate_components_) == 1
    table = select_em(X, n_components=[3], covariance_types=["EEV", "EEE"],
                      random_state=0).table_.set_index("covariance_type")
    assert table.loc["EEV", "degenerate"] and not table.loc["EEE", "degenerate"]
    assert "own axes are arbitrary" in table.loc["EEV", "note"]


def test_starved_component_is_flagged():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(100, 3)), [[50.0, 50.0, 50.0], [51.0, 49.0, 50.5]]])
    means = np.vstack([X[:100].mean(axis=0), X[100:].mean(axis=0)])
    em = GaussianMixtureEM(2, means_init=means, random_state=0)
    with pytest.warns(DegenerateComponentWarning, match="component 1: .*2 effective points, "
                      "fewer than the 4"):
        em.fit(X)
    assert em.degenerate_components_ == [1]


def test_verbose_prints_progress(blobs, capsys):
    GaussianMixtureEM(2, verbose=2, verbose_interval=1, random_state=0).fit(blobs)
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "Iteration 1" in out and "converged" in out


def test_large_input_uses_threads_and_matches_serial(monkeypatch):
    from bayesmix._parallel import RowThreads, available_cores
    from bayesmix.covariance import get_structure

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(40000, 2)), rng.normal(size=(40000, 2)) + 4])
    threads = RowThreads(len(X), get_structure("full").row_width(2, 2))
    assert threads.n_threads == min(2, available_cores())
    threaded = GaussianMixtureEM(2, max_iter=5, tol=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        threaded.fit(X)
        monkeypatch.setattr("bayesmix._parallel.MIN_WORK_PER_THREAD", 10**12)
        assert RowThreads(len(X), get_structure("full").row_width(2, 2)).n_threads == 1
        serial = GaussianMixtureEM(2, max_iter=5, tol=0, random_state=0).fit(X)
    np.testing.assert_allclose(threaded.lower_bound_history_, serial.lower_bound_history_,
                               rtol=1e-12)
    np.testing.assert_allclose(threaded.score_samples(X), serial.score_samples(X), rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True], ids=["unit-weights", "sample-weight"])
def test_scatter_is_summed_block_by_block_as_numpy_cov(weighted, monkeypatch):
    """The data covariance (and ``tied``'s total second moment), centred block by block."""
    from bayesmix import density
    from bayesmix.em.sources import scatter_matrix

    monkeypatch.setattr(density, "_CHUNK_ELEMENTS", 1 << 8)  # blocks of 64 rows
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1000, 3)) @ rng.normal(size=(3, 3))
    weights = rng.uniform(0.0, 3.0, size=1000) if weighted else np.ones(1000)
    shift = weights @ X / weights.sum()
    centred = X - shift
    rows = slice(37, 1000)  # a row range, as a thread gets: its mean is not zero
    scatter = scatter_matrix(X, weights if weighted else None, rows, shift)
    block, block_weights = centred[rows], weights[rows]
    mean = block_weights @ block / block_weights.sum()
    covariance = np.cov(block, rowvar=False, aweights=block_weights, bias=True)
    expected = block_weights.sum() * (covariance + np.outer(mean, mean))
    np.testing.assert_allclose(scatter, expected, rtol=1e-12)


def test_degenerate_warning_is_a_bayesmix_warning():
    from bayesmix import BayesmixWarning

    assert issubclass(DegenerateComponentWarning, BayesmixWarning)
    assert issubclass(ConvergenceWarning, BayesmixWarning)


def test_predict_on_dataframe_with_other_columns_fails():
    X = load_old_faithful()
    em = GaussianMixtureEM(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="feature names should match"):
        em.predict(pd.DataFrame({"a": [1.0], "b": [2.0]}))
