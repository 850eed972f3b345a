"""select_em over component families and with a noise component; compare and
plot_selection with them."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from bayesmix import GaussianMixtureEM, StudentMixtureEM, compare, select_em
from bayesmix.plotting import plot_selection
from bayesmix.scoring import inference_data


def _clusters_with_outliers(seed=1):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    clean = np.vstack([rng.normal(centre, 1.0, size=(100, 2)) for centre in centres])
    return np.vstack([clean, rng.uniform(-30.0, 40.0, size=(15, 2))])


@pytest.fixture(scope="module")
def outlying():
    return _clusters_with_outliers()


def test_families_are_rows_and_columns_of_the_table(outlying):
    selection = select_em(outlying, [2, 3], ["full", "tied"],
                          families=("gaussian", "student_t"), random_state=0)
    table = selection.table_
    assert list(table.columns[:4]) == ["n_components", "covariance_type", "family", "noise"]
    assert sorted(table["family"].unique()) == ["gaussian", "student_t"]
    assert len(table) == 8 and not table["noise"].any()
    for row in table.itertuples():
        estimator = StudentMixtureEM if row.family == "student_t" else GaussianMixtureEM
        em = estimator(row.n_components, covariance_type=row.covariance_type, tol=1e-6,
                       max_iter=1000, init_params="hc")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            em.fit(outlying)
        # each row's criteria are its family's, the t rows counting the dof
        assert row.n_parameters == em._n_parameters()
    best = table.loc[selection.best_index_]
    assert isinstance(selection.best_estimator_,
                      StudentMixtureEM if best["family"] == "student_t" else GaussianMixtureEM)
    assert best["bic"] == table.loc[~table["degenerate"], "bic"].min()
    assert f"family={best['family']!r}" in selection.to_string()
    lines = plot_selection(selection).get_lines()
    assert {(line.get_label(), line.get_linestyle()) for line in lines} == {
        ("full, gaussian", "-"), ("tied, gaussian", "-"), ("full, student_t", "--"),
        ("tied, student_t", "--")}


def test_noise_selection(outlying):
    selection = select_em(outlying, [2, 3, 4], ["full"], noise=True, random_state=0)
    table = selection.table_
    assert table["noise"].all()
    assert selection.best_params_ == {"n_components": 3, "covariance_type": "full",
                                      "noise": True}
    em = selection.best_estimator_
    assert em.noise_weight_ > 0.02
    assert table.loc[selection.best_index_, "bic"] == pytest.approx(em.bic(outlying), abs=1e-6)
    assert plot_selection(selection).get_lines()[0].get_label() == "full, gaussian + noise"


def test_gaussian_grid_keeps_its_columns(outlying):
    table = select_em(outlying, [2], ["full"], random_state=0).table_
    assert "family" not in table and "noise" not in table


def test_bad_families(outlying):
    with pytest.raises(ValueError, match="families"):
        select_em(outlying, [2], ["full"], families=("gaussian", "cauchy"))
    with pytest.raises(ValueError, match="conjugate prior is Gaussian-only"):
        select_em(outlying, [2], ["full"], families="student_t", prior="default")


def test_compare_scores_t_and_noise_fits_with_their_own_density(outlying):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = {"gaussian": GaussianMixtureEM(3, n_init=3, random_state=0).fit(outlying),
                "t": StudentMixtureEM(3, n_init=3, random_state=0).fit(outlying),
                "noise": GaussianMixtureEM(3, noise=True, random_state=0).fit(outlying)}
    table = compare(fits, X_test=outlying)
    assert table.loc["t", "family"] == "student_t" and table.loc["noise", "noise"]
    for name, em in fits.items():
        assert table.loc[name, "bic"] == pytest.approx(em.bic(outlying))
        assert table.loc[name, "n_parameters"] == em._n_parameters()
        assert table.loc[name, "lpd_test"] == pytest.approx(
            em.score_samples(outlying).sum())
    # Given as InferenceData, a t fit is scored through the family seam (the same
    # criteria), a fit with noise cannot be.
    draws = {name: inference_data(fits[name]).copy().isel(chain=[0, 0]) for name in fits}
    assert compare({"t": draws["t"]}).loc["t", "bic"] == pytest.approx(
        fits["t"].bic(outlying))
    with pytest.raises(ValueError, match="pass the fitted estimator instead"):
        compare({"noise": draws["noise"]})


def test_plot_components_draws_t_ellipses_at_the_gaussian_probability_and_marks_noise(
        outlying):
    from matplotlib.patches import Ellipse
    from scipy.stats import multivariate_t

    from bayesmix.plotting import plot_components

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_fit = StudentMixtureEM(3, dof=3.0, noise=True, random_state=0).fit(outlying)
    ax = plot_components(t_fit, outlying, n_std=(2,))
    assert ax.get_title() == "EM: 3 student_t + noise components, 2 sigma ellipses"
    ellipses = [patch for patch in ax.patches if isinstance(patch, Ellipse)]
    assert len(ellipses) == 3
    # the 2-sigma ellipse of a t component holds what the Gaussian's does: 1 - exp(-2)
    k = 0
    ellipse = min(ellipses, key=lambda e: np.linalg.norm(np.array(e.center) - t_fit.means_[k]))
    draws = multivariate_t(t_fit.means_[k], t_fit.scales_[k], df=3.0).rvs(
        40_000, random_state=0)
    unit_circle = ellipse.get_patch_transform().inverted().transform(draws)
    inside = (unit_circle**2).sum(axis=1) <= 1.0
    assert inside.mean() == pytest.approx(1 - np.exp(-2.0), abs=0.01)
    # the rows the noise component takes: grey crosses
    crosses = [c for c in ax.collections if c.get_label() == "noise"]
    assert len(crosses) == 1
    assert len(crosses[0].get_offsets()) == int((t_fit.predict(outlying) == -1).sum()) > 0
    with pytest.raises(ValueError, match="pass the fitted estimator"):
        plot_components(t_fit.to_inference_data())
