"""GaussianMixtureEM errors and warnings outside the bad-input catalogue
(tests/test_bad_input.py): data at extreme scales, too wide data."""

import time
import warnings

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from bayesmix import GaussianMixtureEM, NotFittedError, RegCovarScaleWarning, select_em
from bayesmix.covariance import get_structure, structure_names
from bayesmix.em import base
from bayesmix.em.base import covariance_cost

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 2))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score", "score_samples",
                                    "bic", "aic", "icl"])
def test_not_fitted(method):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(GaussianMixtureEM(1), method)(X)


def test_bad_n_samples_to_sample():
    em = GaussianMixtureEM(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="n_samples must be >= 1, got 0"):
        em.sample(0)


def test_collapsed_fit_without_regularisation_says_what_to_do():
    data = np.vstack([np.zeros((10, 2)), rng.normal(size=(30, 2))])
    means = np.array([[0.0, 0.0], [0.0, 0.0]])
    em = GaussianMixtureEM(2, reg_covar=0.0, means_init=means + [[0, 0], [1, 1]],
                           precisions_init=np.stack([np.eye(2) * 1e8, np.eye(2)]))
    with pytest.raises(ValueError, match="not positive definite.*Increase reg_covar"):
        em.fit(data)


def _two_groups(scale):
    """Two well separated groups of 100 rows, multiplied by ``scale``, and their labels."""
    data = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 6.0])
    return data * scale, np.repeat([0, 1], 100)


@pytest.mark.filterwarnings("ignore::bayesmix.DegenerateComponentWarning")
@pytest.mark.parametrize("scale", [1e-3, 1e-150])
def test_reg_covar_swamping_small_data_warns(scale):
    data, _ = _two_groups(scale)
    with pytest.warns(RegCovarScaleWarning, match=r"reg_covar=1e-06 is not small next to the "
                      r"variance of X column .*Standardise X.*relative to the data"):
        GaussianMixtureEM(2, random_state=0).fit(data)


def test_reg_covar_relative_to_the_data_does_not_warn():
    data, labels = _two_groups(1e-150)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RegCovarScaleWarning)
        em = GaussianMixtureEM(2, reg_covar=1e-6 * data.var(axis=0).min(),
                               random_state=0).fit(data)
    assert adjusted_rand_score(labels, em.predict(data)) == 1.0


@pytest.mark.parametrize("scale", [1.0, 1e-150])
def test_select_em_scales_its_default_reg_covar(scale):
    data, labels = _two_groups(scale)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RegCovarScaleWarning)
        selection = select_em(data, n_components=[1, 2, 3], covariance_types=["full", "diag"],
                              random_state=0)
    assert adjusted_rand_score(labels, selection.best_estimator_.predict(data)) == 1.0


def test_data_whose_variances_underflow_is_refused_not_misclustered():
    data, _ = _two_groups(1e-300)
    for fit in (GaussianMixtureEM(2).fit, lambda X: select_em(X, n_components=[2])):
        with pytest.raises(ValueError, match="squared deviations underflow float64.*Rescale"):
            fit(data)


def test_wide_data_is_refused_at_once_naming_the_structures_that_fit():
    data = rng.normal(size=(50, 10_000))
    start = time.perf_counter()
    for structure in ("full", "tied"):
        with pytest.raises(ValueError, match=r"floating-point operations per EM iteration.*"
                                             r"Use covariance_type='diag' or 'spherical'"):
            GaussianMixtureEM(2, covariance_type=structure).fit(data)
    assert time.perf_counter() - start < 5.0
    assert GaussianMixtureEM(2, covariance_type="diag", max_iter=5).fit(data).n_iter_ >= 1


def test_the_work_limit_can_be_raised(monkeypatch):
    data = rng.normal(size=(400, 30))
    monkeypatch.setattr(base, "MAX_FACTORISATION_FLOPS", 1e3)
    with pytest.raises(ValueError, match="raise bayesmix.em.base.MAX_FACTORISATION_FLOPS"):
        GaussianMixtureEM(1, covariance_type="tied").fit(data)
    monkeypatch.setattr(base, "MAX_FACTORISATION_FLOPS", 1e5)
    GaussianMixtureEM(1, covariance_type="tied", max_iter=2).fit(data)


@pytest.mark.parametrize("structure", structure_names())
def test_cost_follows_the_stored_shape(structure):
    covariance = get_structure(structure)
    memory, flops = covariance_cost(covariance, 3, 40)
    entries = np.prod(covariance.stored_shape(3, 40))
    assert memory >= 8 * entries
    assert flops == entries * (40 if covariance.estimates_correlations else 1)
