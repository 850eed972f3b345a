"""select_em over mclust's 14 models and with its conjugate prior (issue 13)."""

import numpy as np
import pytest
from sklearn.datasets import load_iris, load_wine

from bayesmix import GaussianMixtureEM, select_em
from bayesmix.covariance import MCLUST_MODELS, get_structure, mclust_models
from bayesmix.plotting import plot_selection
from bayesmix.selection.em import PRIOR_TOL, TOL


@pytest.fixture(scope="module")
def faithful_mclust(old_faithful):
    return select_em(old_faithful, range(1, 5), covariance_types="mclust", random_state=0)


def test_old_faithful_mclust_grid_chooses_eee_3(faithful_mclust):
    """mclust's answer on Old Faithful: EEE, 3 components."""
    assert faithful_mclust.best_params_ == {"n_components": 3, "covariance_type": "EEE"}
    assert list(dict.fromkeys(faithful_mclust.table_["covariance_type"])) == list(MCLUST_MODELS)
    assert "prior" not in faithful_mclust.table_.columns


def _below_special_cases(selection, n_samples):
    """The cells (not degenerate) whose log-likelihood is below that of a special case
    (not degenerate either) at the same number of components, by more than ``tol``
    per row."""
    from bayesmix.covariance import special_cases

    table = selection.table_[~selection.table_["degenerate"]]
    log_likelihood = table.set_index(["covariance_type", "n_components"])["log_likelihood"]
    margin = TOL * n_samples
    return [(general, k, special) for (general, k), value in log_likelihood.items()
            for special in special_cases(general)
            if (special, k) in log_likelihood and log_likelihood[special, k] > value + margin]


def test_no_cell_is_below_a_special_case_of_its_model(faithful_mclust, old_faithful):
    """EVE's fit at K is one of VVE's, EVV's and VVV's: a general model's cell is refitted
    from its special cases' fits where it ends below them (on Old Faithful, EVV,3 ended
    0.83 below EVE,3)."""
    assert _below_special_cases(faithful_mclust, len(old_faithful)) == []


def test_without_the_refits_a_cell_is_below_a_special_case(old_faithful, monkeypatch):
    """The test above can fail: without the refits Old Faithful's EVV,3 is below EVE,3."""
    import bayesmix.selection.em as selection_em

    monkeypatch.setattr(selection_em, "_reachable_origins", lambda *args: lambda: ())
    selection = select_em(old_faithful, range(1, 5), covariance_types="mclust",
                          random_state=0)
    assert ("EVV", 3, "EVE") in _below_special_cases(selection, len(old_faithful))


def test_a_cell_below_its_fit_with_a_component_fewer_is_refitted_from_a_split():
    """iris, EVI: from the usual starts 6 components end at -248.39, below the -247.62 of
    5 components, which 6 can reach; refitted from the 5-component fit with a component
    split in two, the cell reaches -240.81."""
    X = load_iris().data
    table = select_em(X, [5, 6], covariance_types=["EVI"], random_state=0).table_
    log_likelihood = table.set_index("n_components")["log_likelihood"]
    assert log_likelihood[6] == pytest.approx(-240.81, abs=0.01)
    assert log_likelihood[5] == pytest.approx(-247.62, abs=0.01)


def test_without_the_refits_a_cell_is_below_its_fit_with_a_component_fewer(monkeypatch):
    """The test above can fail: without the refits iris' EVI,6 is below EVI,5."""
    import bayesmix.selection.em as selection_em

    monkeypatch.setattr(selection_em, "_reachable_origins", lambda *args: lambda: ())
    table = select_em(load_iris().data, [5, 6], covariance_types=["EVI"],
                      random_state=0).table_
    log_likelihood = table.set_index("n_components")["log_likelihood"]
    assert log_likelihood[6] < log_likelihood[5] - 0.5


def test_one_feature_data_run_e_and_v(old_faithful):
    selection = select_em(old_faithful[["waiting"]], [1, 2, 3], covariance_types="mclust",
                          random_state=0)
    assert set(selection.table_["covariance_type"]) == {"E", "V"}


def test_the_plot_has_one_line_and_symbol_per_model(faithful_mclust):
    ax = plot_selection(faithful_mclust)
    lines = [line for line in ax.get_lines() if line.get_label() in MCLUST_MODELS]
    assert len(lines) == 14
    assert len({line.get_marker() for line in lines}) == 14


def test_prior_runs_the_models_mclust_fits_with_one(old_faithful):
    selection = select_em(old_faithful, [2, 3], covariance_types="mclust", prior="default",
                          random_state=0)
    assert list(dict.fromkeys(selection.table_["covariance_type"])) == mclust_models(
        2, prior=True)
    assert (selection.table_["prior"] == "mclust default").all()
    assert selection.best_estimator_.prior == "default"
    with pytest.raises(ValueError, match="mclust fits no conjugate prior for "
                                         "covariance_type='EVE'"):
        select_em(old_faithful, [2], covariance_types=["EEE", "EVE"], prior="default")


def test_the_default_tolerance_passes_a_saddle_that_1e_6_stops_at(old_faithful):
    """Old Faithful, VVI with 4 components under mclust's prior: EM slows near a saddle
    point (a change of 2.5e-4 in the total log posterior) before it climbs 0.78 more to
    the mode that R mclust 6.0 reaches (log-likelihood -1184.945, converged to 1e-10).
    tol=1e-6, the default without a prior, stops at the saddle; the default under the
    prior goes on to the mode."""
    settings = {"n_components": [4], "covariance_types": ["VVI"], "prior": "default",
                "random_state": 0}
    at_saddle = select_em(old_faithful, tol=TOL, **settings).table_.at[0, "log_likelihood"]
    at_mode = select_em(old_faithful, **settings)
    assert at_saddle < -1185.4
    assert at_mode.table_.at[0, "log_likelihood"] == pytest.approx(-1184.945, abs=0.01)
    assert at_mode.best_estimator_.tol == PRIOR_TOL
    without_prior = select_em(old_faithful, [1], ["VVI"]).best_estimator_
    assert without_prior.tol == TOL


def test_the_prior_tolerance_crosses_a_plateau_to_mclusts_mode(test_data):
    """quakes, EEI with 7 components under mclust's prior: from the hierarchical start
    MAP-EM changes by about 2e-8 per row per iteration for 150 iterations, then climbs
    to the mode where mclust's converged EM ends (log-likelihood -13287.74); tol 1e-7
    stopped on the plateau, 148 below in log-likelihood and 77 in log posterior."""
    X = test_data("quakes").to_numpy(float)
    settings = {"random_state": 0, "prior": "default"}
    at_mode = select_em(X, [7], ["EEI"], **settings).table_.at[0, "log_likelihood"]
    on_plateau = select_em(X, [7], ["EEI"], tol=1e-7, **settings).table_.at[0,
                                                                            "log_likelihood"]
    assert at_mode == pytest.approx(-13287.74, abs=0.02)
    assert on_plateau < -13400.0


@pytest.mark.slow
def test_iris_chooses_mclusts_published_vev_2():
    """mclust's documentation: iris -> VEV, 2 components, BIC -561.73 (mclust's sign)."""
    selection = select_em(load_iris().data, covariance_types="mclust", random_state=0)
    assert selection.best_params_ == {"n_components": 2, "covariance_type": "VEV"}
    assert -selection.table_.at[selection.best_index_, "bic"] == pytest.approx(-561.73,
                                                                                abs=0.01)
    assert np.isfinite(selection.table_["bic"]).all()


def test_vve_is_also_started_from_the_vev_fit():
    """iris, 5 components: from the hierarchical and k-means starts VVE stops at -191.34,
    below mclust's -190.84; with VEV in the grid, VVE also starts from VEV's fit and
    reaches -186.58, the fit that VEV's parameters start (``seeded_by``)."""
    X = load_iris().data
    alone = select_em(X, [5], covariance_types=["VVE"], random_state=0)
    seeded = select_em(X, [5], covariance_types=["VEV", "VVE"], random_state=0)
    vev = seeded.best_estimator_
    assert vev.covariance_type == "VEV"
    log_likelihood = seeded.table_.set_index("covariance_type")["log_likelihood"]
    assert log_likelihood["VVE"] > alone.table_.at[0, "log_likelihood"] + 4.0
    assert log_likelihood["VVE"] > -190.84
    from_vev = GaussianMixtureEM(
        5, covariance_type="VVE", weights_init=vev.weights_, means_init=vev.means_,
        precisions_init=vev.precisions_, tol=vev.tol, max_iter=1000, reg_covar=vev.reg_covar,
        acceleration="squarem").fit(X)
    assert from_vev.score(X) * len(X) == pytest.approx(log_likelihood["VVE"], abs=1e-3)


def test_eve_reaches_mclusts_fit_where_the_features_have_different_scales():
    """wine, EVE with 5 components: R mclust 6.0 reaches a log-likelihood of -2929.36
    (``Mclust(wine, G=5, modelNames="EVE")``). The majorisation steps of the common
    orientation crawl on wine's features (their variances span 0.015 to 1e5): with them
    the cell ended at -2944.57. Jacobi sweeps reach mclust's value."""
    table = select_em(load_wine().data, [5], covariance_types=["EVE"], random_state=0).table_
    assert not table.at[0, "degenerate"]
    assert table.at[0, "log_likelihood"] > -2929.36 - 0.1


def test_eve_is_started_from_every_seeds_fit():
    """wine, 2 components: EVE's own starts end at -3199.92, and so does the fit that
    VEV's parameters start (its first seed); EEV's fit starts -3153.88. With both in the
    grid, EVE starts from each and keeps the better."""
    X = load_wine().data
    alone = select_em(X, [2], covariance_types=["EVE"], random_state=0)
    seeded = select_em(X, [2], covariance_types=["VEV", "EEV", "EVE"], random_state=0)
    eev = select_em(X, [2], covariance_types=["EEV"], random_state=0).best_estimator_
    from_eev = GaussianMixtureEM(
        2, covariance_type="EVE", weights_init=eev.weights_, means_init=eev.means_,
        precisions_init=eev.precisions_, tol=eev.tol, max_iter=1000, reg_covar=eev.reg_covar,
        acceleration="squarem").fit(X)
    log_likelihood = seeded.table_.set_index("covariance_type")["log_likelihood"]
    assert log_likelihood["EVE"] > alone.table_.at[0, "log_likelihood"] + 40.0
    assert from_eev.score(X) * len(X) == pytest.approx(log_likelihood["EVE"], abs=1e-3)


def test_vve_is_also_started_from_the_vvv_fit(test_data):
    """birthwt (MASS), 5 components: VVE's own starts end at -2947.09, 5.2 below mclust's
    -2941.89, and the fits of VEV, EEV and VEE start nothing higher; the unconstrained
    fit's common axes start -2938.64."""
    X = test_data("birthwt")
    seeds = ["VEV", "EEV", "VEE"]
    without = select_em(X, [5], covariance_types=[*seeds, "VVE"], random_state=0)
    seeded = select_em(X, [5], covariance_types=[*seeds, "VVV", "VVE"], random_state=0)
    vve = [table.set_index("covariance_type").at["VVE", "log_likelihood"]
           for table in (without.table_, seeded.table_)]
    assert vve[1] > vve[0] + 5.0


def test_evv_is_started_from_the_vvv_fit():
    """iris, 9 components: EVV's own starts end at -125.55; the VVV fit starts -113.00."""
    X = load_iris().data
    alone = select_em(X, [9], covariance_types=["EVV"], random_state=0)
    seeded = select_em(X, [9], covariance_types=["VVV", "EVV"], random_state=0)
    evv = seeded.table_.set_index("covariance_type").at["EVV", "log_likelihood"]
    assert evv > alone.table_.at[0, "log_likelihood"] + 10.0


def test_a_grid_whose_seeded_fits_are_all_screened_out_keeps_its_own_fits(monkeypatch):
    """When every fit started from a seed is screened out (on Swiss Fertility, 3
    components, VEV and EVE, they all were, and select_em failed in NumPy), each cell
    keeps the fit of its own starts."""
    import bayesmix.selection.em as selection_em

    X = load_iris().data
    alone = select_em(X, [3], covariance_types=["VVE"], random_state=0).table_
    monkeypatch.setattr(selection_em, "_bound_at", lambda em, tol: np.inf)
    table = select_em(X, [3], covariance_types=["VEV", "VVE"], random_state=0).table_
    vve = table[table["covariance_type"] == "VVE"]
    assert vve["log_likelihood"].to_numpy() == pytest.approx(alone["log_likelihood"], abs=1e-9)


def test_under_the_prior_eev_is_also_started_from_the_vev_fit():
    """iris, 9 components, mclust's prior: from the hierarchical and k-means starts EEV
    stops at a log posterior 7.4 below the one VEV's fit starts (``prior_seeded_by``);
    with VEV in the grid, EEV's cell is that fit."""
    X = load_iris().data
    settings = {"random_state": 0, "prior": "default"}
    alone = select_em(X, [9], covariance_types=["EEV"], **settings)
    seeded = select_em(X, [9], covariance_types=["EEV", "VEV"], **settings)
    vev = select_em(X, [9], covariance_types=["VEV"], **settings).best_estimator_
    from_vev = GaussianMixtureEM(
        9, covariance_type="EEV", prior="default", weights_init=vev.weights_,
        means_init=vev.means_, precisions_init=vev.precisions_, tol=vev.tol, max_iter=1000,
        reg_covar=vev.reg_covar, acceleration="squarem").fit(X)
    assert from_vev.lower_bound_ > alone.best_estimator_.lower_bound_ + 5.0 / len(X)
    log_likelihood = seeded.table_.set_index("covariance_type")["log_likelihood"]
    assert from_vev.score(X) * len(X) == pytest.approx(log_likelihood["EEV"], abs=1e-2)
    assert log_likelihood["EEV"] > alone.table_.at[0, "log_likelihood"] + 10.0


@pytest.mark.parametrize("random_state", [0, 4])
def test_under_the_prior_vvv_is_also_started_from_the_vev_fit(test_data, random_state):
    """mclust's diabetes, 3 components under its prior: from the hierarchical and k-means
    starts VVV's MAP-EM ends at log posterior -2676.88 (BIC -4781.60), or -2697.56 (BIC
    -4831.54) with the k-means draws of ``random_state=4``, where select_em over the 14
    models chose EEE,8 (BIC -4805.14), below mclust's VVV,4 (-4800.65). From VEV's fit
    (``prior_seeded_by``) it reaches -2671.27 (BIC -4762.52) whatever the seed."""
    X = test_data("diabetes")
    selection = select_em(X, [3], ["VEV", "VVV"], prior="default", random_state=random_state)
    vvv = selection.estimators_[1]
    assert vvv.covariance_type == "VVV"
    assert vvv.lower_bound_ * len(X) == pytest.approx(-2671.27, abs=0.01)
    assert -selection.table_.at[1, "bic"] == pytest.approx(-4762.52, abs=0.01)


def test_only_a_model_with_the_prior_is_seeded_under_it():
    """Seeds under the prior name models that fit it, and a decomposed model does not
    inherit the seeds of the class it is stored as (VVV's)."""
    for name in MCLUST_MODELS:
        structure = get_structure(name)
        assert structure.supports_prior or not structure.prior_seeded_by, name
        assert all(get_structure(seed).supports_prior for seed in structure.prior_seeded_by)
    assert get_structure("EVE").prior_seeded_by == ()


def test_seeded_fits_with_missing_values_replace_a_degenerate_cell():
    """Cell by cell (NaN in X), a seeded fit replaces the cell's degenerate fit."""
    X = load_iris().data.copy()
    X[np.random.default_rng(0).random(X.shape) < 0.05] = np.nan
    alone = select_em(X, [4, 5], covariance_types=["VVE"], random_state=0).table_
    seeded = select_em(X, [4, 5], covariance_types=["VEV", "VVE"], random_state=0).table_
    assert alone.set_index("n_components").at[5, "degenerate"]
    vve = seeded[seeded["covariance_type"] == "VVE"].set_index("n_components")
    assert not vve.at[5, "degenerate"]


@pytest.mark.parametrize("prior", [None, "default"], ids=["ml", "prior"])
def test_batched_mclust_grid_equals_the_cell_by_cell_grid(monkeypatch, prior):
    """The 14 models (10 under the prior) fitted in one batch (bayesmix.em.batch:
    projected jumps, padded components absent from the coupled M steps; under the prior
    the runs of each number of components take their prior together) reach the
    cell-by-cell fits' optima."""
    from bayesmix.covariance import get_structure

    X = load_iris().data
    kwargs = {"n_components": range(1, 4), "covariance_types": "mclust", "random_state": 0,
              "tol": 1e-9, "prior": prior}
    batched = select_em(X, **kwargs)
    with monkeypatch.context() as patch:
        for name in MCLUST_MODELS:
            patch.setattr(get_structure(name), "batched_m_step", False)
        by_cell = select_em(X, **kwargs)
    columns = ["n_components", "covariance_type", "n_parameters", "degenerate", "converged"]
    assert batched.table_[columns].equals(by_cell.table_[columns])
    # (under the prior, the log-likelihood is not what the fits maximise: flat
    # directions of the posterior move it more, 1.2e-4 in iris EEE,3)
    np.testing.assert_allclose(batched.table_["log_likelihood"],
                               by_cell.table_["log_likelihood"], rtol=0,
                               atol=1e-4 if prior is None else 1e-3)
    assert batched.best_params_ == by_cell.best_params_ == {"n_components": 2,
                                                            "covariance_type": "VEV"}


def test_exactly_collinear_columns_flag_the_decomposed_models_instead_of_failing():
    """A column twice another makes the data's covariance singular. The batch pads a
    fit with fewer components with that covariance plus ``reg_covar`` (what the linear
    structures' M steps give it), so VEE, EVE and VVE with one component are fitted and
    flagged degenerate like EEE, and the grid still chooses among the axis-aligned
    models (as mclust does, apart from its singular EEE,1)."""
    rng = np.random.default_rng(0)
    X = np.c_[np.arange(60.0), 2.0 * np.arange(60.0), rng.normal(size=60)]
    selection = select_em(X, [1, 2, 3], covariance_types=["EEI", "VEE", "EVE", "VVE"],
                          random_state=0)
    table = selection.table_.set_index(["covariance_type", "n_components"])
    assert table.loc[[("VEE", 1), ("EVE", 1), ("VVE", 1)], "degenerate"].all()
    assert np.isfinite(table["log_likelihood"]).all()
    assert selection.best_params_["covariance_type"] == "EEI"


def test_seeds_that_improve_seed_again_under_the_prior(test_data):
    """birthwt (MASS), 7 components under mclust's prior: mclust 6.0's EEV mode has
    log-likelihood -2931.40 (BIC -6130.13). EEV and VEV seed each other; VEV's fit
    improves from EEV's (log-likelihood -2926.18 to -2921.17), and only then starts EEV at
    a better mode: -2922.69, BIC -6112.70. With one round of seeds EEV ended at -2931.65,
    below mclust's."""
    X = test_data("birthwt")
    table = select_em(X, [7], ["EEV", "VEV"], prior="default", random_state=0).table_
    log_likelihood = table.set_index("covariance_type")["log_likelihood"]
    assert log_likelihood["EEV"] == pytest.approx(-2922.69, abs=0.01)
    assert log_likelihood["VEV"] == pytest.approx(-2921.17, abs=0.01)


def test_a_starved_component_that_gains_points_is_not_stopped(test_data):
    """birthwt (MASS), EVI with 9 components: mclust 6.0's fit has log-likelihood
    -2924.89, with a component of 1.16 effective points (EVI's variances need 2) that EM
    fills if it goes on. The batch stopped a run at its first check with a starved
    component, so every fit of the cell was degenerate and this grid raised; a run now
    stops only if the component gains no points by the next check."""
    X = test_data("birthwt")
    selection = select_em(X, [9], ["EVI"], random_state=0)
    row = selection.table_.iloc[0]
    assert not row["degenerate"]
    assert row["log_likelihood"] == pytest.approx(-2922.578, abs=1e-3)


def test_a_refitted_cell_is_its_estimators_fit_from_its_initial_values(test_data):
    """birthwt (MASS), EVE with 9 components started from VVV's fit: the cell's
    estimator carries the start (``weights_init``, ``means_init``, ``precisions_init``).
    The batch started the refit from the responsibilities at those parameters, the
    estimator starts from the parameters themselves (its first E step evaluates them, its
    first M step starts from their covariances): the cell ended at -2927.57 and
    ``GaussianMixtureEM(**its params).fit(X)`` at -2923.71. The batch now starts a refit
    as the estimator does, so the two agree (-2923.71; mclust's cell, -2932.09)."""
    X = test_data("birthwt")
    selection = select_em(X, [8, 9], ["EVE", "VVV"], random_state=0)
    refits = {(em.covariance_type, em.n_components): em for em in selection.estimators_
              if em.weights_init is not None}
    assert ("EVE", 9) in refits
    for refit in refits.values():  # the other refits: from merges of the fits with 9
        again = GaussianMixtureEM(**refit.get_params()).fit(X)
        # To rounding, which the run carries along: the batch's E step weighs the rows'
        # features, the estimator's projects the rows (measured: 1.7e-12 relative in the
        # bound, 1.5e-8 in the means; the cell's path once differed by 3.9 in
        # log-likelihood).
        assert again.lower_bound_ == pytest.approx(refit.lower_bound_, rel=1e-10)
        np.testing.assert_allclose(again.means_, refit.means_, rtol=1e-7)
    assert refits["EVE", 9].lower_bound_ * len(X) == pytest.approx(-2923.706, abs=1e-3)


def test_a_cell_keeps_the_scheme_whose_fit_is_not_degenerate(test_data):
    """mtcars, VEI with 6 and 8 components: mclust 6.0's fits (from its hierarchical
    start) have log-likelihoods -440.2748 and -358.1832, and mclust chooses VEI,8 over
    its 14 models. The k-means start collapses onto the binary columns (a likelihood
    about 94 higher at 8 components, flagged degenerate), so the cell keeps the
    hierarchical start's fit, which reaches mclust's. Its component of two rows (1.99
    effective points) is not starved: COUNT_SLACK."""
    X = test_data("mtcars")
    both = select_em(X, [6, 8], ["VEI"], random_state=0)
    assert not both.table_["degenerate"].any()
    np.testing.assert_allclose(both.table_["log_likelihood"], [-440.2748, -358.1832],
                               atol=0.01)
    with pytest.raises(ValueError, match="Every fit of the grid .* has a degenerate"):
        select_em(X, [6, 8], ["VEI"], random_state=0, init_params="kmeans")


def test_a_component_of_one_row_and_shares_of_others_has_determined_axes(test_data):
    """R's women, mclust's 14 models: mclust 6.0 chooses EEV,4 (log-likelihood -35.155,
    BIC -116.347). One of its components holds one row and 19 % of another: 1.19
    effective rows, fewer than the two features, but its scatter has full rank, so its
    own axes are determined and the fit is not degenerate. select_em chooses it too
    (it chose EEV,3, BIC -123.54, while a count of rows flagged it)."""
    X = test_data("women")
    selection = select_em(X, covariance_types="mclust", random_state=0)
    assert selection.best_params_ == {"n_components": 4, "covariance_type": "EEV"}
    best = selection.table_.loc[selection.best_index_]
    np.testing.assert_allclose([best["log_likelihood"], -best["bic"]], [-35.155, -116.347],
                               atol=0.01)


def test_seeded_fits_of_a_data_frame_raise_no_feature_name_warning(old_faithful):
    """A seed fitted on a DataFrame's columns starts the seeded fits from its parameters,
    not through predict_proba on the source's array (scikit-learn warned that X has no
    feature names)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        select_em(old_faithful, [2, 3], covariance_types=["VEV", "VVE"], random_state=0)
    assert not [w for w in caught if "feature names" in str(w.message)]


def test_an_equal_volume_component_that_collapsed_in_one_direction_is_flagged(test_data):
    """R's swiss, mclust's 14 models: EVE,4's fit has a component of five rows in six
    columns with 1.3e-6 of the data's variance along one direction (its shared volume
    keeps it off the reg_covar floor: its other variances grow). Such fits are flagged
    (EVE,3's among them), and select_em chooses VEE,4 (BIC -2017.69 in mclust's sign;
    mclust 6.0 chooses EEE,3, -2027.84)."""
    selection = select_em(test_data("swiss"), covariance_types="mclust", random_state=0)
    assert selection.best_params_ == {"n_components": 4, "covariance_type": "VEE"}
    assert -selection.table_.at[selection.best_index_, "bic"] == pytest.approx(-2017.69,
                                                                               abs=0.01)
    table = selection.table_.set_index(["covariance_type", "n_components"])
    assert "stretched" in table.at[("EVE", 3), "note"]


def test_without_the_stretch_test_a_collapsed_equal_volume_fit_is_chosen(test_data,
                                                                          monkeypatch):
    """The test above can fail: without it select_em chooses EVE,3's fit (BIC
    -1998.52), the one it flags as stretched."""
    import bayesmix.em.diagnostics as diagnostics

    monkeypatch.setattr(diagnostics, "STRETCH_RTOL", 0.0)
    selection = select_em(test_data("swiss"), covariance_types="mclust", random_state=0)
    assert selection.best_params_ == {"n_components": 3, "covariance_type": "EVE"}
    assert -selection.table_.at[selection.best_index_, "bic"] == pytest.approx(-1998.52,
                                                                               abs=0.01)


def test_a_cell_of_a_large_grid_reaches_the_optimum_of_its_own_fit(test_data):
    """MASS's Boston, mclust's 14 models: EEV with 5, 6 and 7 components reach mclust
    6.0's log-likelihoods (-13609.556, -13307.009, -11995.889), which their hierarchical
    starts reach in fits of their own. When the batch sized its row blocks by the stack,
    this grid's 252 runs split the 506 rows into five blocks, and rounding steered the
    three cells 17 to 25 units below. The choice is at least mclust's, VEV,6 (BIC
    -27908.94 in mclust's sign), in BIC: rounding decides whether VEV,6's slow creep
    toward a collapsed component stops before it is flagged, and whether a refit finds
    EEV,5 at -12165.18 (BIC -27711.38), which the choice then is: an optimum of mclust's
    own EM too (``meEEV`` from its responsibilities stays there, return code 0), which
    mclust's one start misses."""
    X = test_data("boston")
    selection = select_em(X, covariance_types="mclust", random_state=0)
    table = selection.table_.set_index(["covariance_type", "n_components"])
    for k, mclust in [(5, -13609.556), (6, -13307.009), (7, -11995.889)]:
        assert not table.at[("EEV", k), "degenerate"]
        assert table.at[("EEV", k), "log_likelihood"] >= mclust - 0.1
    chosen = table.loc[(selection.best_params_["covariance_type"],
                        selection.best_params_["n_components"])]
    assert not chosen["degenerate"]
    assert -chosen["bic"] >= -27908.94 - 0.01


def test_refits_too_large_for_one_batch_run_one_by_one(monkeypatch):
    """Refits whose start responsibilities would exceed BATCH_ELEMENTS are not batched
    (the grid's own limit), and still reach the batched refit's fit."""
    import bayesmix.selection.em as selection_em

    X = load_iris().data
    batched = select_em(X, [5, 6], covariance_types=["EVI"], random_state=0).table_
    one_by_one = []
    original = selection_em._refits_one_by_one
    monkeypatch.setattr(selection_em, "_refits_one_by_one",
                        lambda *args: one_by_one.append(1) or original(*args))
    monkeypatch.setattr(selection_em, "BATCH_ELEMENTS", 100)
    table = select_em(X, [5, 6], covariance_types=["EVI"], random_state=0).table_
    assert one_by_one
    np.testing.assert_allclose(table["log_likelihood"], batched["log_likelihood"], atol=1e-3)


def test_equal_fits_choose_the_first_model_of_the_grid():
    """With one component every full-covariance model fits the same mixture: their BICs
    differ by rounding only (1e-13 here). The first in the grid's order is chosen, in
    every order (mclust's order puts EEE first), not whichever rounding favours."""
    X = np.random.default_rng(0).normal(size=(60, 3)) @ np.array([[1.0, 0.5, 0.0],
                                                                   [0.0, 1.0, 0.3],
                                                                   [0.0, 0.0, 1.0]])
    models = ["VVV", "EEE", "EEV", "VEV", "EVV", "VVE"]
    for shift in range(len(models)):
        order = models[shift:] + models[:shift]
        selection = select_em(X, n_components=[1], covariance_types=order, random_state=0)
        assert selection.best_params_["covariance_type"] == order[0]
    assert select_em(X, n_components=[1], covariance_types="mclust",
                     random_state=0).best_params_["covariance_type"] == "EEE"


def test_a_cell_is_refitted_from_its_fit_with_a_component_more_merged(test_data,
                                                                      monkeypatch):
    """R's morley (two discrete columns), VII: with 6 and 7 components the grid's starts
    end 7.4 and 2.3 below mclust 6.0's log-likelihoods (-908.905, -894.692); the fits
    with one component more, their two most overlapping components merged, start fits
    above them."""
    import bayesmix.selection.em as selection_em

    X = test_data("morley")
    mclust = {6: -908.905, 7: -894.692}

    def log_likelihoods():
        table = select_em(X, covariance_types=["VII"], random_state=0).table_
        return table.set_index("n_components")["log_likelihood"]

    merged = log_likelihoods()
    for k, value in mclust.items():
        assert merged[k] >= value - 0.1
    monkeypatch.setattr(selection_em, "_merge_origins", lambda *args: lambda: ())
    unmerged = log_likelihoods()
    assert all(unmerged[k] < value - 1.0 for k, value in mclust.items())
