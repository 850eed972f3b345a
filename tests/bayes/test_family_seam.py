"""The density seam keyed on the component family (bayesmix.density, bayesmix.results).

Pure NumPy: the t family's log densities against SciPy's multivariate t, the EM t fit's
InferenceData scored through the seam as the estimator scores itself, and the seam's
refusals.
"""

import numpy as np
import pytest
from scipy import stats

from bayesmix import GaussianMixtureEM, StudentMixtureEM
from bayesmix.covariance import precision_cholesky, to_full
from bayesmix.density import (
    check_family,
    draw_component_rows,
    log_mixture_density,
    responsibilities,
    weighted_log_prob,
)
from bayesmix.results import build_inference_data, family_of
from bayesmix.scoring import bic, icl, pointwise_log_likelihood


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.standard_t(3, size=(80, 2)), rng.standard_t(3, size=(80, 2)) + 7])


@pytest.fixture(scope="module", params=["full", "tied", "diag", "spherical"])
def t_fit(request):
    return StudentMixtureEM(2, covariance_type=request.param, n_init=2,
                            random_state=0).fit(_data())


def test_t_log_prob_is_scipy_multivariate_t(t_fit):
    X = _data(1)
    K, D = t_fit.means_.shape
    scales = to_full(t_fit.scales_, t_fit.covariance_type, K, D)
    values = weighted_log_prob(X, t_fit.weights_, t_fit.means_,
                               precision_cholesky(scales, "full"), "full", "student_t",
                               {"dof": t_fit.dof_})
    expected = np.column_stack([
        np.log(w) + stats.multivariate_t(m, s, df=d).logpdf(X)
        for w, m, s, d in zip(t_fit.weights_, t_fit.means_, scales, t_fit.dof_)])
    np.testing.assert_allclose(values, expected, rtol=1e-10)
    # The structure's own stored factors give the same values.
    np.testing.assert_allclose(
        weighted_log_prob(X, t_fit.weights_, t_fit.means_, t_fit.precisions_cholesky_,
                          t_fit.covariance_type, "student_t", {"dof": t_fit.dof_}),
        expected, rtol=1e-10)
    np.testing.assert_allclose(
        log_mixture_density(X, t_fit.weights_, t_fit.means_, t_fit.precisions_cholesky_,
                            t_fit.covariance_type, family="student_t",
                            family_parameters={"dof": t_fit.dof_}),
        t_fit.score_samples(X), rtol=1e-10)
    np.testing.assert_allclose(
        responsibilities(X, t_fit.weights_, t_fit.means_, t_fit.precisions_cholesky_,
                         t_fit.covariance_type, "student_t", {"dof": t_fit.dof_}),
        t_fit.predict_proba(X), rtol=1e-10, atol=1e-14)


def test_t_em_inference_data_is_scored_with_the_t_density(t_fit):
    X, new_rows = _data(), _data(2)
    idata = t_fit.to_inference_data()
    assert family_of(idata) == "student_t"
    np.testing.assert_allclose(pointwise_log_likelihood(t_fit, new_rows).values[0, 0],
                               t_fit.score_samples(new_rows), rtol=1e-10)
    assert bic(t_fit) == pytest.approx(t_fit.bic(X), rel=1e-12)
    assert icl(t_fit) == pytest.approx(t_fit.icl(X), rel=1e-12)


def test_plots_label_rows_with_the_t_density(t_fit):
    # the pictures read a fit through its InferenceData and ask the seam for densities
    from bayesmix.plotting.parts import mean_responsibilities

    X = _data(2)
    np.testing.assert_allclose(mean_responsibilities(t_fit.to_inference_data(), X),
                               t_fit.predict_proba(X), rtol=0, atol=1e-8)


def test_build_inference_data_computes_the_family_log_likelihood():
    X = _data()[:10]
    means = np.array([[[[0.0, 0.0], [7.0, 7.0]]]])
    scales = np.broadcast_to(np.eye(2), (1, 1, 2, 2, 2))
    dof = np.array([[[3.0, 40.0]]])
    idata = build_inference_data(X=X, weights=np.full((1, 1, 2), 0.5), means=means,
                                 covariances=scales, covariance_type="full",
                                 inference_method="nuts", family="student_t",
                                 family_parameters={"dof": dof})
    expected = np.logaddexp(
        np.log(0.5) + stats.multivariate_t([0, 0], np.eye(2), df=3).logpdf(X),
        np.log(0.5) + stats.multivariate_t([7, 7], np.eye(2), df=40).logpdf(X))
    np.testing.assert_allclose(idata.log_likelihood["x"].values[0, 0], expected, rtol=1e-10)
    assert idata.posterior["dof"].dims == ("chain", "draw", "component")
    assert all(idata[group].attrs["family"] == "student_t" for group in idata.groups())


def test_gaussian_fits_record_their_family_and_old_files_read_as_gaussian():
    em = GaussianMixtureEM(2, random_state=0).fit(_data())
    idata = em.to_inference_data()
    assert idata.posterior.attrs["family"] == "gaussian"
    del idata.posterior.attrs["family"]
    assert family_of(idata) == "gaussian"
    idata.posterior.attrs["family"] = "laplace"
    with pytest.raises(ValueError, match="family must be one of 'gaussian', 'student_t'"):
        family_of(idata)


@pytest.mark.parametrize(("family", "parameters", "match"), [
    ("cauchy", None, "family must be one of"),
    ("student_t", None, r"takes the parameters \('dof',\), got \(\)"),
    ("gaussian", {"dof": [3.0]}, r"takes the parameters \(\), got \('dof',\)"),
    ("student_t", {"nu": [3.0]}, r"got \('nu',\)"),
])
def test_the_seam_refuses_unknown_families_and_wrong_parameters(family, parameters, match):
    with pytest.raises(ValueError, match=match):
        check_family(family, parameters)
    with pytest.raises(ValueError, match=match):
        log_mixture_density(np.zeros((1, 1)), np.ones(1), np.zeros((1, 1)), np.ones(1),
                            "spherical", family=family, family_parameters=parameters)


def test_gaussian_draws_are_the_means_plus_the_factor_times_normal_noise():
    means = np.array([[1.0, 2.0], [3.0, 4.0]])
    cholesky = np.array([[[1.0, 0.0], [0.5, 2.0]], [[3.0, 0.0], [0.0, 1.0]]])
    rows = draw_component_rows(np.random.default_rng(0), means, cholesky)
    noise = np.random.default_rng(0).standard_normal((2, 2))
    np.testing.assert_allclose(rows, means + np.einsum("nij,nj->ni", cholesky, noise))
