"""Tests of bayesmix.selection: select_em (BIC/ICL grids over K and covariance structure)
and select_bayes (PSIS-LOO / WAIC with stacking weights)."""

import warnings

import arviz as az
import numpy as np
import pytest

from bayesmix import ConjugatePrior, GaussianMixtureBayes, GaussianMixtureEM
from bayesmix.covariance import get_structure, n_parameters
from bayesmix.datasets import make_mixture
from bayesmix.em.sources import InMemorySource
from bayesmix.exceptions import (
    BayesmixWarning,
    ConvergenceWarning,
    DegenerateComponentWarning,
    NotFittedError,
    NotPositiveDefiniteError,
)
from bayesmix.selection import (
    BAYES_COLUMNS,
    TABLE_COLUMNS,
    BayesSelection,
    EMSelection,
    SelectionResult,
    select_bayes,
    select_em,
)
from bayesmix.selection import bayes as selection_bayes

#: mclust (R) on Old Faithful: BIC chooses EEE (bayesmix "tied") with 3 components,
#: log-likelihood -1126.361 (Fraley, Raftery et al., mclust 6 output for ``faithful``).
MCLUST_EEE3_LOGLIK = -1126.361


@pytest.fixture(scope="module")
def faithful_selection(old_faithful):
    """The full Old Faithful grid, K = 1..9 by the four structures (about 10 s)."""
    return select_em(old_faithful, n_components=range(1, 10), random_state=0)


@pytest.fixture(scope="module")
def simulated():
    """Four well separated diag components in 2-D."""
    return make_mixture(400, n_components=4, n_features=2, covariance_type="diag",
                        random_state=2)


@pytest.fixture(scope="module")
def simulated_selection(simulated):
    return select_em(simulated.X, n_components=range(1, 7), random_state=0)


@pytest.fixture(scope="module")
def duplicated():
    """Two clusters where 30 rows share one value of feature 1: a diag component can
    collapse onto them, and its inflated likelihood wins a naive BIC comparison."""
    X, _, _ = make_mixture(300, n_components=2, covariance_type="diag", random_state=0)
    X = X.copy()
    X[:30, 1] = X[0, 1]
    return X


@pytest.fixture(scope="module")
def duplicated_selection(duplicated):
    return select_em(duplicated, n_components=range(1, 5), covariance_types=["diag"],
                     random_state=0)


def test_old_faithful_chooses_mclust_eee_3(faithful_selection):
    assert faithful_selection.best_params_ == {"n_components": 3, "covariance_type": "tied"}
    best = faithful_selection.table_.loc[faithful_selection.best_index_]
    # The maximum likelihood is at least mclust's (mclust stops at a relative tolerance).
    assert best["log_likelihood"] == pytest.approx(MCLUST_EEE3_LOGLIK, abs=0.1)


def test_old_faithful_naive_bic_would_pick_a_degenerate_fit(old_faithful):
    """From k-means starts alone, some Old Faithful fits collapse onto rounded values."""
    table = select_em(old_faithful, init_params="kmeans", n_init=5, reg_covar=1e-6,
                      random_state=0).table_
    assert len(table) == 36
    assert table["degenerate"].any()
    # The flag matters: without it the lowest BIC is a collapsed fit.
    naive = table.loc[table["bic"].idxmin()]
    assert naive["degenerate"]
    assert "not selectable" in naive["note"]


def test_table_layout_and_values(faithful_selection, old_faithful):
    table = faithful_selection.table_
    # family and noise are columns of grids with more than the Gaussian family
    assert tuple(table.columns) == tuple(
        column for column in TABLE_COLUMNS if column not in ("family", "noise"))
    assert table[["n_components", "covariance_type"]].drop_duplicates().shape[0] == 36
    row = table.loc[faithful_selection.best_index_]
    em = faithful_selection.best_estimator_
    assert isinstance(em, GaussianMixtureEM)
    assert (em.n_components, em.covariance_type) == (3, "tied")
    assert row["log_likelihood"] == pytest.approx(em.score(old_faithful) * 272)
    assert row["bic"] == pytest.approx(em.bic(old_faithful))
    assert row["icl"] == pytest.approx(em.icl(old_faithful))
    assert row["n_parameters"] == n_parameters(3, 2, "tied") == 11
    # BIC = -2 log L + p log N on every row; ICL adds a non-negative entropy term.
    np.testing.assert_allclose(
        table["bic"], -2 * table["log_likelihood"] + table["n_parameters"] * np.log(272))
    assert (table["icl"] >= table["bic"] - 1e-9).all()
    assert list(em.feature_names_in_) == ["eruptions", "waiting"]


def test_every_row_has_its_fitted_estimator(faithful_selection, old_faithful):
    """``estimators_`` holds each row's fit: its cell, flag and every criterion."""
    table, estimators = faithful_selection.table_, faithful_selection.estimators_
    assert len(estimators) == len(table)
    assert estimators[faithful_selection.best_index_] is faithful_selection.best_estimator_
    for row, em in zip(table.itertuples(), estimators):
        assert (em.n_components, em.covariance_type) == (row.n_components,
                                                          row.covariance_type)
        assert bool(em.degenerate_components_) == row.degenerate
        assert em.score(old_faithful) * 272 == pytest.approx(row.log_likelihood)
        assert em.bic(old_faithful) == pytest.approx(row.bic)
        assert em.icl(old_faithful) == pytest.approx(row.icl)


@pytest.mark.parametrize("criterion", ["bic", "icl"])
def test_simulated_data_recovers_k(simulated, criterion):
    selection = select_em(simulated.X, n_components=range(1, 7), covariance_types=["diag"],
                          criterion=criterion, random_state=0)
    assert selection.best_params_["n_components"] == 4
    assert selection.criterion == criterion


def test_simulated_data_full_grid_recovers_k(simulated_selection):
    assert simulated_selection.best_params_["n_components"] == 4
    chosen = simulated_selection.table_.loc[simulated_selection.best_index_]
    assert chosen["bic"] == simulated_selection.table_.loc[
        ~simulated_selection.table_["degenerate"], "bic"].min()


def test_degenerate_fit_is_flagged_and_never_chosen(duplicated_selection):
    table = duplicated_selection.table_
    degenerate = table[table["degenerate"]]
    assert not degenerate.empty
    assert degenerate["note"].str.contains("not selectable").all()
    assert (table.loc[~table["degenerate"], "note"] == "").all()
    # A degenerate fit has the lowest BIC, and still is not chosen.
    assert table.loc[table["bic"].idxmin(), "degenerate"]
    assert not table.loc[duplicated_selection.best_index_, "degenerate"]
    assert duplicated_selection.best_estimator_.degenerate_components_ == []



@pytest.mark.parametrize("seed", [0, 1])
def test_a_collapsed_fit_has_its_estimators_criteria(seed):
    """A degenerate cell's criteria are its estimator's, to rounding: on five points
    repeated ten times EEV and VEV collapse components to variances of 1e-36 (the
    default ``reg_covar`` follows the points' spread), whose expanded quadratic forms
    in the batched pass read log-likelihoods of +-1e21 where the estimator gives -6e5."""
    X = np.repeat(np.random.default_rng(seed).normal(size=(5, 2)), 10, axis=0)
    selection = select_em(X, covariance_types=["EEV", "VEV"], random_state=0)
    table = selection.table_
    assert table["degenerate"].sum() >= 10
    for row, em in zip(table.itertuples(), selection.estimators_):
        if np.isfinite(row.log_likelihood):
            values = em.criteria(X)
            assert row.log_likelihood == pytest.approx(values["log_likelihood"], rel=1e-9)
            assert row.icl == pytest.approx(values["icl"], rel=1e-9)


def test_only_the_kept_degenerate_fits_are_scored_by_their_estimators(monkeypatch):
    """The estimator's own pass scores a degenerate fit only once the grid keeps it: on
    five points repeated ten times most fits are degenerate, and a cell's other scheme's
    fit, and its refits, often are too (each such pass cost a fifth of a millisecond)."""
    X = np.repeat(np.random.default_rng(0).normal(size=(5, 2)), 10, axis=0)
    scored = []
    criteria = GaussianMixtureEM.criteria

    def counted(em, rows):
        scored.append(em)
        return criteria(em, rows)

    monkeypatch.setattr(GaussianMixtureEM, "criteria", counted)
    selection = select_em(X, covariance_types=["EEV", "VEV", "VVV"], random_state=0)
    kept = [em for em, degenerate in zip(selection.estimators_,
                                         selection.table_["degenerate"]) if degenerate]
    assert len(kept) >= 10
    assert len(scored) == len(kept)
    assert all(any(em is other for other in kept) for em in scored)


def test_the_grid_resolves_each_prior_once(old_faithful, monkeypatch):
    """The grid's fits share each structure's and number of components' resolved prior
    (kept in the source's cache by ``ConjugatePrior.for_source``): each is resolved
    once. Each refit batch resolved them anew, and so did the one-iteration batch that
    makes the merges' starts (33 resolutions of these 12 here, each some 0.2 ms)."""
    resolved = []
    resolve = ConjugatePrior.resolve

    def counted(prior, X, structure, n_components, sample_weight=None):
        resolved.append((structure.name, n_components))
        return resolve(prior, X, structure, n_components, sample_weight)

    monkeypatch.setattr(ConjugatePrior, "resolve", counted)
    select_em(old_faithful, n_components=range(1, 5), covariance_types=["EEV", "VEV", "VVV"],
              prior="default", random_state=0)
    assert sorted(resolved) == sorted({(name, k) for name in ["EEV", "VEV", "VVV"]
                                       for k in range(1, 5)})


def test_a_resolved_prior_is_kept_read_only_for_the_fits_that_share_it():
    """The prior a source keeps serves every fit on it: its arrays cannot be changed
    in place by one of them."""
    source = InMemorySource(np.array([[0.0, 1.0], [2.0, 0.0], [4.0, 5.0]]))
    prior = ConjugatePrior().for_source(source, get_structure("VVV"), 2)
    assert prior is ConjugatePrior().for_source(source, get_structure("VVV"), 2)
    assert prior is not ConjugatePrior().for_source(source, get_structure("VVV"), 3)
    assert prior is not ConjugatePrior(shrinkage=0.1).for_source(source, get_structure("VVV"), 2)
    for values in (prior.mean, prior.scale):
        with pytest.raises(ValueError, match="read-only"):
            values[0] = 1.0


@pytest.mark.parametrize("case", ["outlier", "duplicates"])
def test_a_hostile_grid_is_fitted_without_an_internal_error(case):
    """Two grids that raised from inside: one row 1e10 standard deviations out (VEE's
    shape matrix singular to rounding: LAPACK's "Matrix is singular to machine
    precision"), and five points repeated ten times (a split start whose precisions,
    multiplied out, have a zero eigenvalue: "precisions_init[0] is not positive
    definite", an argument the user never passed)."""
    base = np.random.default_rng(0).normal(size=(60, 2))
    X = (np.vstack([base, [[1e10, -1e10]]]) if case == "outlier"
         else np.repeat(base[:5], 10, axis=0))
    selection = select_em(X, covariance_types="mclust", random_state=0)
    assert selection.table_["log_likelihood"].notna().any()
    assert not selection.table_.loc[selection.best_index_, "degenerate"]

def test_selection_does_not_leak_per_fit_warnings(duplicated):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateComponentWarning)
        select_em(duplicated, n_components=[3], covariance_types=["diag", "tied"],
                  n_init=1, random_state=0)


def test_all_degenerate_grid_raises(duplicated):
    with pytest.raises(ValueError, match="Every fit .* has a degenerate component"):
        select_em(duplicated, n_components=[3], covariance_types=["diag"], random_state=0)


@pytest.fixture(scope="module")
def state_x77(test_data):
    """R's state.x77: 50 rows, eight columns whose scales span 1.4e5 (see tests/data)."""
    return test_data("statex77")


def test_the_estimator_names_a_covariance_that_is_not_positive_definite(state_x77):
    # From mclust's hierarchical start, EVE's first M step with 8 components gives
    # covariances whose condition exceeds double precision (with select_em's default
    # reg_covar here, 3.6e-7: a millionth of the smallest column variance).
    with pytest.raises(NotPositiveDefiniteError, match="Increase reg_covar") as caught:
        GaussianMixtureEM(8, covariance_type="EVE", init_params="hc",
                          reg_covar=3.6e-7).fit(state_x77)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("families", [("gaussian",), ("student_t",)])
def test_a_cell_no_start_can_fit_is_a_row_without_criteria(state_x77, families):
    # Batched (Gaussian) and cell by cell (Student-t): the grid goes on, as mclust
    # reports NA for such a cell.
    selection = select_em(state_x77, [2, 8], ["EVE"], init_params="hc", random_state=0,
                          families=families)
    table = selection.table_
    unfitted = table["n_components"] == 8
    assert table.loc[unfitted, ["log_likelihood", "bic", "icl"]].isna().all(axis=None)
    assert table["n_parameters"].dtype == "Int64"
    assert table.loc[unfitted, "n_parameters"].isna().all()
    assert table.loc[~unfitted, "n_parameters"].notna().all()
    assert table.loc[unfitted, "note"].str.startswith("not fitted").all()
    assert not table.loc[unfitted, ["degenerate", "converged"]].any(axis=None)
    assert selection.best_params_["n_components"] == 2
    not_fitted = selection.estimators_[int(np.flatnonzero(unfitted)[0])]
    assert (not_fitted.n_components, not_fitted.covariance_type) == (8, "EVE")
    with pytest.raises(NotFittedError):
        not_fitted.predict(state_x77)
    assert "K=8 EVE: not fitted" in selection.to_string()


def test_a_cell_without_a_fit_comes_after_the_degenerate_ones_in_the_top_rows(state_x77):
    selection = select_em(state_x77, [2, 7, 8], ["EVE"], init_params="hc", random_state=0)
    table = selection.table_
    assert table.loc[table["n_components"] == 7, "degenerate"].all()
    shown = selection.to_string(top=2)
    assert "K=7 EVE: component" in shown and "K=8 EVE" not in shown


def test_a_grid_with_nothing_to_choose_says_a_cell_could_not_be_fitted(state_x77):
    with pytest.raises(ValueError, match="degenerate component or could not be fitted"):
        select_em(state_x77, [8], ["EVE"], init_params="hc", random_state=0)


def test_a_cell_no_start_can_fit_is_refitted_from_a_fit_its_model_can_reach(state_x77):
    # EII's fit with 8 components is one of EVE's (a special case); alone, EVE's cell
    # has no fit (the test above).
    table = select_em(state_x77, [7, 8], ["EVE", "EII"], init_params="hc",
                      random_state=0).table_
    assert np.isfinite(table.loc[(table["covariance_type"] == "EVE")
                                 & (table["n_components"] == 8), "log_likelihood"]).all()


def test_unconverged_choice_warns(simulated):
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=1"):
        selection = select_em(simulated.X, n_components=[4], covariance_types=["diag"],
                              max_iter=1, n_init=1, random_state=0)
    assert not selection.table_["converged"].any()
    assert selection.table_["note"].str.contains("did not converge").all()


def test_seed_reproduces_best_estimator(simulated):
    settings = {"n_init": 2, "tol": 1e-6, "max_iter": 1000, "random_state": 0}
    selection = select_em(simulated.X, n_components=[3, 4], covariance_types=["full"],
                          **settings)
    best = selection.best_estimator_
    refit = GaussianMixtureEM(**selection.best_params_, **settings,
                              init_params=best.init_params, reg_covar=best.reg_covar,
                              acceleration=best.acceleration).fit(simulated.X)
    np.testing.assert_allclose(refit.means_, selection.best_estimator_.means_)
    again = select_em(simulated.X, n_components=[3, 4], covariance_types=["full"], **settings)
    np.testing.assert_array_equal(again.table_["bic"], selection.table_["bic"])


def test_the_grid_seeds_a_generator_per_random_start_only(simulated, monkeypatch):
    """A generator costs about 0.1 ms to seed: one per number of components for the
    k-means start, none for the hierarchical one, whatever the structures."""
    import bayesmix.selection.em as selection_em

    seeded = []
    monkeypatch.setattr(selection_em, "check_random_state",
                        lambda seed: seeded.append(seed) or np.random.RandomState(seed))
    select_em(simulated.X, n_components=[1, 2, 3], covariance_types=["full", "diag"],
              init_params=("hc", "kmeans"), random_state=0)
    assert seeded == [0, 0, 0]


def test_to_string_and_repr(duplicated_selection):
    text = duplicated_selection.to_string()
    assert repr(duplicated_selection) == text
    lines = text.splitlines()
    header = lines[0].split()
    assert header == ["K", "structure", "log-lik", "n_params", "BIC", "ICL", "degenerate",
                      "converged"]
    best = duplicated_selection.best_params_
    marked = [line for line in lines if line.startswith("*")]
    assert len(marked) == 1 and marked[0].split()[1:3] == [str(best["n_components"]), "diag"]
    assert any(line.startswith("K=") and "not selectable" in line for line in lines)
    assert lines[-1] == (f"Chosen by lowest BIC among non-degenerate fits: "
                         f"n_components={best['n_components']}, covariance_type='diag'.")


def test_result_type(duplicated_selection):
    assert isinstance(duplicated_selection, EMSelection)
    assert duplicated_selection.criterion == "bic"
    assert duplicated_selection.table_["degenerate"].dtype == bool


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_components": 3}, r"n_components must be an iterable such as range\(1, 10\), "
                              r"got 3.*\[3\]"),
        ({"n_components": []}, "n_components is empty"),
        ({"n_components": [1, 1]}, "n_components has repeated values"),
        ({"n_components": [0, 1]}, "n_components must be >= 1, got 0"),
        ({"n_components": [1.5]}, "n_components must be an integer"),
        ({"covariance_types": "full"}, r"covariance_types must be an iterable .*\['full'\]"),
        ({"covariance_types": ["full", "ful"]}, "covariance_types must be one of .*got 'ful'"),
        ({"criterion": "aic"}, "criterion must be one of 'bic', 'icl', got 'aic'"),
        ({"n_init": 0}, "n_init must be >= 1, got 0"),
    ],
)
def test_bad_arguments(simulated, kwargs, match):
    arguments = {"n_components": [1, 2], "covariance_types": ["full"], **kwargs}
    with pytest.raises(ValueError, match=match):
        select_em(simulated.X, **arguments)


def test_bad_data_is_reported_by_the_estimator():
    with pytest.raises(ValueError, match="X must be 2-D"):
        select_em(np.arange(10.0), n_components=[1])


# --------------------------------------------------------------------------- select_bayes
#: Fast-tier ADVI: compilation dominates (seconds per fit), so a larger step size gets
#: a usable approximation from few iterations.
FAST_ADVI = {"method": "advi", "draws": 200, "n_iter": 3000, "learning_rate": 0.01}


@pytest.fixture(scope="module")
def two_clusters():
    """Two well separated full-covariance components in 2-D, 300 rows."""
    return make_mixture(300, n_components=2, n_features=2, random_state=0)


@pytest.fixture(scope="module")
def bayes_selection(two_clusters):
    """select_bayes over K = 1, 2, 3 by LOO with ADVI, and the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        selection = select_bayes(two_clusters.X, n_components=[1, 2, 3], random_state=0,
                                 **FAST_ADVI)
    return selection, [w for w in caught if issubclass(w.category, BayesmixWarning)]


def test_select_bayes_recovers_k_by_loo(bayes_selection):
    selection, _ = bayes_selection
    assert isinstance(selection, BayesSelection) and isinstance(selection, SelectionResult)
    assert selection.criterion == "loo"
    assert selection.best_params_ == {"n_components": 2, "covariance_type": "full"}
    table = selection.table_
    assert selection.best_index_ == table["elpd_loo"].idxmax() == 1
    best = selection.best_estimator_
    assert isinstance(best, GaussianMixtureBayes) and best.n_components == 2
    assert [e.n_components for e in selection.estimators_] == [1, 2, 3]
    assert selection.estimators_[selection.best_index_] is best


def test_select_bayes_table(bayes_selection, two_clusters):
    selection, _ = bayes_selection
    table = selection.table_
    assert tuple(table.columns) == BAYES_COLUMNS["loo"] == (
        "n_components", "covariance_type", "elpd_loo", "se", "p_loo", "d_loo", "dse",
        "weight", "occupied", "p_occupied", "max_pareto_k", "divergences", "converged",
        "note")
    assert list(table["n_components"]) == [1, 2, 3]
    assert (table["covariance_type"] == "full").all()
    # stacking weights: a probability vector
    assert table["weight"].sum() == pytest.approx(1.0, abs=1e-6)
    assert (table["weight"] >= -1e-9).all()
    assert table.loc[selection.best_index_, "weight"] > 0.5
    # differences to the best (highest elpd): zero there, positive elsewhere
    best = selection.best_index_
    assert table.at[best, "d_loo"] == 0 and table.at[best, "dse"] == 0
    np.testing.assert_allclose(table["d_loo"], table.at[best, "elpd_loo"] - table["elpd_loo"])
    assert (table.drop(index=best)["dse"] > 0).all()
    # K = 1 is far worse than the two clusters, by many standard errors
    assert table.at[0, "d_loo"] > 5 * table.at[0, "dse"]
    # the values are ArviZ's own, on the stored log-likelihood
    for row, estimator in zip(table.itertuples(), selection.estimators_):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # ArviZ's Pareto-k message
            by_hand = az.loo(estimator.idata_, var_name="x", pointwise=True)
        assert row.elpd_loo == pytest.approx(by_hand.elpd_loo)
        assert row.se == pytest.approx(by_hand.se)
        assert row.p_loo == pytest.approx(by_hand.p_loo)
        assert row.max_pareto_k == pytest.approx(float(by_hand.pareto_k.max()))
    # The posterior's number of clusters: at most K, with its probability; for the two
    # true clusters every posterior of K >= 2 uses two of its components most often.
    assert (table["occupied"] <= table["n_components"]).all()
    assert ((table["p_occupied"] > 0) & (table["p_occupied"] <= 1)).all()
    assert table.at[best, "occupied"] == 2
    # ADVI: no divergences to count; its convergence flag as a nullable boolean
    assert table["divergences"].isna().all()
    assert str(table["converged"].dtype) == "boolean"
    assert (table.loc[~table["converged"], "note"].str.contains("did not converge")).all()


def test_select_bayes_warns_only_about_the_chosen_fit(bayes_selection):
    selection, caught = bayes_selection
    row = selection.table_.loc[selection.best_index_]
    expected = int(not row["converged"]) + int("Pareto k" in row["note"])
    assert len(caught) == expected
    for warning in caught:
        assert "The chosen fit (2 components, 'full')" in str(warning.message)


def test_select_bayes_to_string(bayes_selection):
    selection, _ = bayes_selection
    text = selection.to_string()
    assert repr(selection) == text
    lines = text.splitlines()
    assert lines[0].split() == ["K", "structure", "elpd_loo", "se", "p_loo", "d_loo", "dse",
                                "weight", "occ", "p_occ", "max_k", "div", "converged"]
    marked = [line for line in lines if line.startswith("*")]
    assert len(marked) == 1 and marked[0].split()[1:3] == ["2", "full"]
    assert lines[-2] == ("Chosen by highest elpd_loo (higher is better): n_components=2, "
                         "covariance_type='full'.")
    assert "stacking weights (sum to 1)" in lines[-1]


def test_select_bayes_waic_over_structures(two_clusters):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BayesmixWarning)
        selection = select_bayes(two_clusters.X, n_components=[2],
                                 covariance_type=("full", "spherical"), criterion="waic",
                                 random_state=0, **FAST_ADVI)
    table = selection.table_
    assert tuple(table.columns) == BAYES_COLUMNS["waic"]
    assert list(table["covariance_type"]) == ["full", "spherical"]
    assert table["max_pareto_k"].isna().all()
    assert table["weight"].sum() == pytest.approx(1.0, abs=1e-6)
    assert selection.best_index_ == table["elpd_waic"].idxmax()
    for row, estimator in zip(table.itertuples(), selection.estimators_):
        assert estimator.covariance_type == row.covariance_type
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # ArviZ's WAIC variance message
            by_hand = az.waic(estimator.idata_, var_name="x")
        assert row.elpd_waic == pytest.approx(by_hand.elpd_waic)


@pytest.mark.slow
def test_select_bayes_nuts_recovers_k(two_clusters):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BayesmixWarning)
        # R-hat's 1.01 threshold is meant for 4 chains of 1000 draws (Vehtari et al. 2021):
        # 2 chains of 500 cross it by chance on a well-mixed posterior.
        selection = select_bayes(two_clusters.X, n_components=[1, 2, 3], random_state=0,
                                 draws=1000, tune=1000, chains=4)
    table = selection.table_
    assert selection.best_params_ == {"n_components": 2, "covariance_type": "full"}
    assert selection.best_index_ == table["elpd_loo"].idxmax()
    assert table["weight"].sum() == pytest.approx(1.0, abs=1e-6)
    assert (table["divergences"] >= 0).all()
    # the chosen K mixes well; a redundant third component may not (its R-hat is noted)
    assert table.at[selection.best_index_, "converged"]
    assert table.at[selection.best_index_, "divergences"] == 0
    assert (table.loc[~table["converged"].astype(bool), "note"].str.contains("R-hat")).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_components": 3}, r"n_components must be an iterable such as range\(1, 6\), "
                              r"got 3.*\[3\]"),
        ({"n_components": []}, "n_components is empty"),
        ({"n_components": [2, 2]}, "n_components has repeated values"),
        ({"n_components": [0, 1]}, "n_components must be >= 1, got 0"),
        ({"n_components": [1, 500]}, "n_components=500 must be <= n_samples=300"),
        ({"covariance_type": "ful"}, "covariance_type must be one of .*got 'ful'"),
        ({"covariance_type": ["full", "full"]}, "covariance_type has repeated values"),
        ({"covariance_type": []}, "covariance_type is empty"),
        ({"method": "smc"}, "method must be one of 'nuts', 'advi', 'fullrank_advi', "
                            "'gibbs', got 'smc'"),
        ({"criterion": "bic"}, "criterion must be one of 'loo', 'waic', got 'bic'"),
        ({"priors": {"lkj_eta": 1.0}}, "priors must be a MixturePriors instance or None"),
        ({"covariance_type": ["full", "VEV"]}, "covariance_type='VEV' is fitted by EM only"),
        ({"covariance_type": ["full", "tied"], "method": "gibbs"},
         "method='gibbs' samples covariance_type 'full' only, got 'tied'"),
    ],
)
def test_select_bayes_bad_arguments(two_clusters, kwargs, match, monkeypatch):
    def no_fit(*args, **kwargs):
        raise AssertionError("a bad argument is refused before any fit")

    monkeypatch.setattr(selection_bayes, "_fit_bayes", no_fit)
    arguments = {"n_components": [1, 2], "method": "advi", **kwargs}
    with pytest.raises(ValueError, match=match):
        select_bayes(two_clusters.X, **arguments)


def test_select_bayes_bad_data():
    with pytest.raises(ValueError, match="X must be 2-D"):
        select_bayes(np.arange(10.0), n_components=[1], method="advi")
    with pytest.raises(ValueError, match="a minimum of 2 is required"):
        select_bayes([[1.0, 2.0]], n_components=[1], method="advi")


def test_default_regularisation_follows_the_data_units(old_faithful):
    """reg_covar scales with the columns' variance, so a change of units changes nothing.

    The log-likelihood of ``c X`` is that of ``X`` minus ``N D log c``; an absolute
    reg_covar of 1e-6 would instead swamp data measured in units 1e4 times too large.
    The fits run to a tight ``tol``: at the default, the full three-component fit stops
    on a flat stretch up to 0.08 short of its optimum, wherever rounding in the two
    units sends SQUAREM's extrapolations.
    """
    scale = 1e-4
    # Run to a tight tolerance: the two runs take different rounding paths, and on a
    # flat stretch of the likelihood the default tolerance stops them apart.
    kwargs = {"n_components": [1, 2, 3], "covariance_types": ["full", "diag"],
              "random_state": 0, "tol": 1e-9}
    base = select_em(old_faithful, **kwargs)
    scaled = select_em(old_faithful * scale, **kwargs)
    n_rows, n_features = old_faithful.shape
    np.testing.assert_allclose(scaled.table_["log_likelihood"],
                               base.table_["log_likelihood"] - n_rows * n_features
                               * np.log(scale), rtol=0, atol=0.05)
    assert scaled.best_params_ == base.best_params_
    assert scaled.best_estimator_.reg_covar == pytest.approx(base.best_estimator_.reg_covar
                                                             * scale**2)


def test_hierarchical_start_is_shared_and_reaches_mclust_on_old_faithful(old_faithful):
    """mclust's EEE, 3 log-likelihood (-1126.32, R mclust 6.0) from the default starts."""
    selection = select_em(old_faithful, n_components=[3], covariance_types=["tied"],
                          random_state=0)
    assert selection.table_.loc[0, "log_likelihood"] >= -1126.32 - 0.01


def _selections(X, monkeypatch, unbatched, **kwargs):
    """select_em with the structures of ``unbatched`` fitted cell by cell."""
    with monkeypatch.context() as patch:
        for name in unbatched:
            patch.setattr(get_structure(name), "batched_m_step", False)
        return select_em(X, **kwargs)


@pytest.mark.parametrize("unbatched", [("full", "tied", "diag", "spherical"), ("tied",)],
                         ids=["cell-by-cell", "tied-cell-by-cell"])
def test_batched_grid_equals_the_cell_by_cell_grid(simulated, monkeypatch, unbatched):
    """The batched fits (bayesmix.em.batch) reach the cell-by-cell fits' optima and choice;
    a structure without a batched M step is fitted cell by cell beside the batched ones."""
    kwargs = {"n_components": range(1, 6), "random_state": 0, "tol": 1e-9}
    batched = select_em(simulated.X, **kwargs)
    by_cell = _selections(simulated.X, monkeypatch, unbatched, **kwargs)
    columns = ["n_components", "covariance_type", "n_parameters", "degenerate", "converged"]
    assert batched.table_[columns].equals(by_cell.table_[columns])
    fits = ~batched.table_["degenerate"]
    np.testing.assert_allclose(batched.table_.loc[fits, "log_likelihood"],
                               by_cell.table_.loc[fits, "log_likelihood"], rtol=0, atol=1e-4)
    assert batched.best_params_ == by_cell.best_params_
    best = batched.best_estimator_
    assert isinstance(best, GaussianMixtureEM) and best.init_params in ("hc", "kmeans")
    assert best.n_iter_ > 0 and best.fit_time_ > 0
    assert best.score(simulated.X) * len(simulated.X) == pytest.approx(
        batched.table_.loc[batched.best_index_, "log_likelihood"])


def test_a_grid_too_large_for_one_batch_is_fitted_cell_by_cell(simulated, monkeypatch):
    import bayesmix.selection.em as selection_em
    from bayesmix.em.batch import BatchEM

    kwargs = {"n_components": [1, 2], "covariance_types": ["full", "diag"], "random_state": 0}
    batched = select_em(simulated.X, **kwargs)
    monkeypatch.setattr(selection_em, "BATCH_ELEMENTS", 100)
    monkeypatch.setattr(BatchEM, "run", lambda *args: pytest.fail("batched"))
    by_cell = select_em(simulated.X, **kwargs)
    np.testing.assert_allclose(by_cell.table_["log_likelihood"],
                               batched.table_["log_likelihood"], rtol=0, atol=1e-3)


def _batch_starts(X, monkeypatch, **kwargs):
    """The starts select_em hands to BatchEM, and the grid it fits."""
    from bayesmix.em.batch import BatchEM

    captured = []
    run = BatchEM.run

    def capture(self, starts, *args):
        captured.extend(starts)
        return run(self, starts, *args)

    monkeypatch.setattr(BatchEM, "run", capture)
    select_em(X, **kwargs)
    return captured


def test_an_integer_seed_draws_each_start_once_for_every_structure(simulated, monkeypatch):
    """Each structure starts from what GaussianMixtureEM(random_state=seed) draws, restart
    after restart; each (K, scheme, restart) is drawn once and shared."""
    import bayesmix.selection.em as selection_em
    from bayesmix.em.init import initial_responsibilities

    draws = []
    monkeypatch.setattr(selection_em, "initial_responsibilities",
                        lambda *args, **kwargs: draws.append(args[1:3])
                        or initial_responsibilities(*args, **kwargs))
    structures, ks = ["full", "diag", "spherical"], [2, 3]
    starts = _batch_starts(simulated.X, monkeypatch, n_components=ks, n_init=2,
                           covariance_types=structures, init_params=("hc", "random"),
                           random_state=7)
    assert sorted(draws) == sorted([(k, "hc") for k in ks] + [(k, "random") for k in ks] * 2)
    X = simulated.X - simulated.X.mean(axis=0)  # the source's centred rows
    for position, (structure, k) in enumerate((s, k) for s in structures for k in ks):
        hc, *restarts = starts[3 * position:3 * position + 3]
        assert hc.structure is get_structure(structure)
        generator = np.random.RandomState(7)
        for start in restarts:
            np.testing.assert_array_equal(start.responsibilities, initial_responsibilities(
                X, k, "random", generator))


def test_a_generator_gives_one_seed_shared_by_every_structure(simulated, monkeypatch):
    """A RandomState (or None) is drawn from once: every structure starts from the draws
    of that seed, and each fit carries it."""
    from bayesmix.em.init import initial_responsibilities

    generator = np.random.RandomState(7)
    seed = np.random.RandomState(7).randint(np.iinfo(np.int32).max)
    starts = _batch_starts(simulated.X, monkeypatch, n_components=[2],
                           covariance_types=["full", "diag"], init_params="random",
                           random_state=generator)
    assert [start.structure.name for start in starts[:2]] == ["VVV", "VVI"]
    np.testing.assert_array_equal(starts[0].responsibilities, starts[1].responsibilities)
    X = simulated.X - simulated.X.mean(axis=0)  # the source's centred rows
    np.testing.assert_array_equal(starts[0].responsibilities, initial_responsibilities(
        X, 2, "random", np.random.RandomState(seed)))
    again = _batch_starts(simulated.X, monkeypatch, n_components=[2],
                          covariance_types=["full"], init_params="random",
                          random_state=generator)  # advanced once: another seed
    assert not np.array_equal(again[0].responsibilities, starts[0].responsibilities)


def test_the_seed_drawn_for_none_reproduces_the_chosen_fit(simulated):
    np.random.seed(11)
    selection = select_em(simulated.X, n_components=[1, 2, 3], covariance_types=["full", "diag"])
    best = selection.best_estimator_
    assert isinstance(best.random_state, int)
    assert {em.random_state for em in selection.estimators_} == {best.random_state}
    refit = GaussianMixtureEM(**best.get_params()).fit(simulated.X)
    np.testing.assert_allclose(refit.means_, best.means_, rtol=1e-8, atol=1e-10)
