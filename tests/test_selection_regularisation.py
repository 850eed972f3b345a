"""select_em's default reg_covar: a fraction of the data's smallest scale."""

import numpy as np
import pytest

from bayesmix import select_em
from bayesmix.selection.regularisation import (
    EIGENVALUE_FLOOR,
    RELATIVE_REG_COVAR,
    WITHIN_FACTOR,
    WITHIN_ROWS,
    default_reg_covar,
    within_cluster_variances,
)

rng = np.random.default_rng(7)


def _far_apart(separation: float) -> tuple[np.ndarray, np.ndarray]:
    """Two unit-variance clusters of 100 rows, ``separation`` apart along both axes."""
    labels = np.repeat([0, 1], 100)
    return rng.normal(size=(200, 2)) + separation * labels[:, np.newaxis], labels


def test_one_group_is_the_column_variance():
    X = rng.normal(size=(50, 3)) * [1.0, 10.0, 0.1]
    np.testing.assert_allclose(within_cluster_variances(X, 1), X.var(axis=0), rtol=1e-12)


def test_the_groups_are_cut_at_the_widest_gaps():
    column = np.array([0.0, 1.0, 2.0, 100.0, 101.0, 102.0, 1000.0, 1002.0])
    within = within_cluster_variances(column[:, np.newaxis], 3)
    # groups {0, 1, 2}, {100, 101, 102}, {1000, 1002}: squared deviations 2 + 2 + 2,
    # over 8 values less 3 groups
    assert within[0] == pytest.approx(6.0 / 5.0, rel=1e-12)


def test_missing_values_are_left_out():
    X = np.array([[0.0, 1.0], [1.0, np.nan], [10.0, 3.0], [11.0, 5.0], [np.nan, 7.0]])
    expected = within_cluster_variances(np.array([[0.0], [1.0], [10.0], [11.0]]), 2)
    assert within_cluster_variances(X, 2)[0] == expected[0] == pytest.approx(0.5)
    assert within_cluster_variances(X, 2)[1] == within_cluster_variances(
        np.array([[1.0], [3.0], [5.0], [7.0]]), 2)[0]


def test_a_discrete_column_keeps_its_variance():
    """Cut at its gaps, a column of five values splits into constant groups: no scale."""
    column = rng.integers(1, 6, size=(100, 1)).astype(float)
    np.testing.assert_allclose(within_cluster_variances(column, 9), column.var(axis=0))


def test_a_constant_column_falls_back_to_the_estimators_default():
    X = np.column_stack([np.ones(20), rng.normal(size=20)])
    assert default_reg_covar(X, 3) == 1e-6


def test_default_reg_covar_is_equivariant_with_the_units():
    X, _ = _far_apart(50.0)
    assert default_reg_covar(X * 1e-3, 9) == pytest.approx(default_reg_covar(X, 9) * 1e-6,
                                                           rel=1e-12)


@pytest.mark.parametrize("separation", [1e2, 1e4, 1e5])
def test_far_apart_clusters_are_found(separation):
    """Before, reg_covar was 1e-6 of the columns' whole variance: for clusters 1e4 apart
    it was 25, every fit with two or more components was flagged collapsed, and
    select_em chose one component. mclust (6.0) chooses EII or VII with two. (From about
    1e6 apart, a variance of 1 is below COLLAPSE_RTOL times the data's variance and
    counts as collapsed whatever reg_covar is.)"""
    X, labels = _far_apart(separation)
    selection = select_em(X, n_components=range(1, 5), random_state=0)
    assert selection.best_params_["n_components"] == 2
    # at most RELATIVE_REG_COVAR * WITHIN_FACTOR of the clusters' variance, about 1
    assert selection.best_estimator_.reg_covar < 1.5 * RELATIVE_REG_COVAR * WITHIN_FACTOR
    assert set(selection.best_estimator_.predict(X)[labels == 0]).isdisjoint(
        selection.best_estimator_.predict(X)[labels == 1])
    two = selection.table_[selection.table_["n_components"] == 2]
    assert not two["degenerate"].any()
    # the fitted variances are the clusters' own (about 1), not swamped by reg_covar
    assert np.all(np.abs(selection.best_estimator_.covariances_ - 1.0) < 0.35)


def test_columns_without_clusters_far_apart_keep_their_variance():
    """One Gaussian cluster, or clusters a few standard deviations apart: the cuts split
    off a few tail values, and reg_covar is RELATIVE_REG_COVAR times the data's smallest
    variance in any direction (of independent columns, about the smallest column's)."""
    for X in (rng.normal(size=(300, 3)) * [1.0, 2.0, 3.0], _far_apart(5.0)[0]):
        smallest = np.linalg.eigvalsh(np.cov(X, rowvar=False, bias=True))[0]
        assert default_reg_covar(X, 9) == pytest.approx(RELATIVE_REG_COVAR * smallest,
                                                        rel=1e-12)
    assert default_reg_covar(X, 9) < RELATIVE_REG_COVAR * X.var(axis=0).min()


def test_nearly_collinear_columns_scale_by_the_direction_they_leave():
    """Two columns that follow each other up to noise of variance 1e-4 vary little
    across their line: reg_covar follows that variance, not the columns' (about 1). Of
    exactly collinear columns, it is EIGENVALUE_FLOOR of the largest variance."""
    line = rng.normal(size=200)
    X = np.column_stack([line, line + 1e-2 * rng.normal(size=200)])
    assert default_reg_covar(X, 9) == pytest.approx(RELATIVE_REG_COVAR * 0.5e-4, rel=0.3)
    collinear = np.column_stack([line, 2.0 * line])
    largest = np.linalg.eigvalsh(np.cov(collinear, rowvar=False, bias=True))[-1]
    assert default_reg_covar(collinear, 9) == pytest.approx(
        RELATIVE_REG_COVAR * EIGENVALUE_FLOOR * largest, rel=1e-12)


def test_nearly_collinear_columns_reach_mclusts_likelihood(test_data):
    """longley's seven economic series are nearly collinear (its covariance's smallest
    eigenvalue is 8.8e-3, its smallest column variance 11.6): scaled by the columns,
    reg_covar lowered EEE with 9 components, mclust's choice, to -128.726 against
    mclust 6.0's -128.550, and its BIC below mclust's."""
    X = test_data("longley").to_numpy(float)
    selection = select_em(X, n_components=[9], covariance_types=["EEE"], random_state=0)
    assert selection.table_["log_likelihood"].iloc[0] >= -128.5503 - 0.01


def test_the_scale_of_clustered_columns_is_capped_by_their_within_cluster_variance():
    X = _far_apart(1e4)[0][:, :1]  # (the direction across two clusters has no spread)
    within = within_cluster_variances(X, 9).min()
    assert default_reg_covar(X, 9) == pytest.approx(RELATIVE_REG_COVAR * WITHIN_FACTOR
                                                    * within, rel=1e-12)
    assert default_reg_covar(X, 1) == RELATIVE_REG_COVAR * X.var(axis=0).min()


def test_many_rows_take_their_within_cluster_variances_from_every_kth_row():
    X = _far_apart(1e4)[0][:, :1]
    X = np.tile(X, (WITHIN_ROWS // len(X) * 2 + 1, 1))  # 2 * WITHIN_ROWS rows and more
    step = -(-len(X) // WITHIN_ROWS)
    assert step == 3
    expected = RELATIVE_REG_COVAR * min(
        X.var(axis=0).min(), WITHIN_FACTOR * within_cluster_variances(X[::step], 9).min())
    assert default_reg_covar(X, 9) == pytest.approx(expected, rel=1e-12)
