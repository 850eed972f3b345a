"""select_em over mclust's 14 models and with its conjugate prior (issue 13)."""

import numpy as np
import pytest
from sklearn.datasets import load_iris

from bayesmix import select_em
from bayesmix.covariance import MCLUST_MODELS, mclust_models
from bayesmix.plotting import plot_selection


@pytest.fixture(scope="module")
def faithful_mclust(old_faithful):
    return select_em(old_faithful, range(1, 5), covariance_types="mclust", random_state=0)


def test_old_faithful_mclust_grid_chooses_eee_3(faithful_mclust):
    """mclust's answer on Old Faithful: EEE, 3 components."""
    assert faithful_mclust.best_params_ == {"n_components": 3, "covariance_type": "EEE"}
    assert list(dict.fromkeys(faithful_mclust.table_["covariance_type"])) == list(MCLUST_MODELS)
    assert "prior" not in faithful_mclust.table_.columns


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


@pytest.mark.slow
def test_iris_chooses_mclusts_published_vev_2():
    """mclust's documentation: iris -> VEV, 2 components, BIC -561.73 (mclust's sign)."""
    selection = select_em(load_iris().data, covariance_types="mclust", random_state=0)
    assert selection.best_params_ == {"n_components": 2, "covariance_type": "VEV"}
    assert -selection.table_.at[selection.best_index_, "bic"] == pytest.approx(-561.73,
                                                                                abs=0.01)
    assert np.isfinite(selection.table_["bic"]).all()


def test_batched_mclust_grid_equals_the_cell_by_cell_grid(monkeypatch):
    """The 14 models fitted in one batch (bayesmix.em.batch: projected jumps, padded
    components absent from the coupled M steps) reach the cell-by-cell fits' optima."""
    from bayesmix.covariance import get_structure

    X = load_iris().data
    kwargs = {"n_components": range(1, 4), "covariance_types": "mclust", "random_state": 0,
              "tol": 1e-9}
    batched = select_em(X, **kwargs)
    with monkeypatch.context() as patch:
        for name in MCLUST_MODELS:
            patch.setattr(get_structure(name), "batched_m_step", False)
        by_cell = select_em(X, **kwargs)
    columns = ["n_components", "covariance_type", "n_parameters", "degenerate", "converged"]
    assert batched.table_[columns].equals(by_cell.table_[columns])
    np.testing.assert_allclose(batched.table_["log_likelihood"],
                               by_cell.table_["log_likelihood"], rtol=0, atol=1e-4)
    assert batched.best_params_ == by_cell.best_params_ == {"n_components": 2,
                                                            "covariance_type": "VEV"}
