"""GaussianMixtureEM with mclust's conjugate prior (MAP-EM): the estimator's side."""

import warnings

import numpy as np
import pytest

from bayesmix import GaussianMixtureEM, load, load_old_faithful, make_mixture
from bayesmix.covariance import STRUCTURES
from bayesmix.covariance.prior import ConjugatePrior

PRIOR_MODELS = [structure.name for structure in STRUCTURES if structure.supports_prior]


@pytest.fixture(scope="module")
def data():
    return make_mixture(120, n_components=3, n_features=2, random_state=4).X


@pytest.mark.parametrize("covariance_type", PRIOR_MODELS)
def test_map_em_ascends_the_log_posterior(data, covariance_type):
    """lower_bound_ (log-likelihood plus log prior, per sample) never decreases."""
    em = GaussianMixtureEM(3, covariance_type=covariance_type, prior="default", tol=1e-10,
                           max_iter=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em.fit(data)
    history = em.lower_bound_history_
    assert np.all(np.diff(history) >= -1e-10 * np.abs(history[1:]))
    # The criteria use the log-likelihood alone, below the penalised bound.
    assert em.score(data) > em.lower_bound_


def test_prior_keeps_a_component_from_collapsing():
    """A cluster of repeated values collapses by maximum likelihood, not under the prior."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(60, 2)), np.tile([[4.0, 4.0]], (5, 1))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ml = GaussianMixtureEM(2, init_params="hc", reg_covar=1e-10).fit(X)
        posterior_mode = GaussianMixtureEM(2, init_params="hc", reg_covar=1e-10,
                                           prior="default").fit(X)
    assert ml.degenerate_components_
    assert not posterior_mode.degenerate_components_


def test_a_given_prior_changes_the_fit_and_is_saved(tmp_path):
    X = load_old_faithful()
    strong = ConjugatePrior(shrinkage=50.0, dof=10.0)
    fits = [GaussianMixtureEM(3, covariance_type="VVV", init_params="hc", prior=prior).fit(X)
            for prior in (None, "default", strong)]
    # A strong shrinkage pulls the means towards the column means.
    spread = [np.ptp(em.means_[:, 1]) for em in fits]
    assert spread[2] < 0.9 * min(spread[:2])
    path = fits[2].save(tmp_path / "map.nc")
    restored = load(path)
    assert restored.prior == strong
    np.testing.assert_array_equal(restored.predict_proba(X), fits[2].predict_proba(X))


@pytest.mark.parametrize(("settings", "match"), [
    ({"covariance_type": "EVE", "prior": "default"},
     r"mclust fits no conjugate prior for covariance_type='EVE' .* Fit 'EVE' without a "
     r"prior"),
    ({"prior": "mclust"}, r"prior must be None .*'default' .*ConjugatePrior, got 'mclust'"),
    ({"prior": {"shrinkage": 0.1}}, r"prior must be None .* got \{'shrinkage': 0.1\}"),
    ({"covariance_type": "E"}, r"covariance_type='E' is mclust's name for one feature, but X "
                               r"has 2\. Use 'EII'"),
])
def test_bad_prior_and_one_feature_names(data, settings, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixtureEM(2, **settings).fit(data)


def test_one_feature_names_fit_one_feature(data):
    X = data[:, :1]
    equal = GaussianMixtureEM(2, covariance_type="E", random_state=0).fit(X)
    variable = GaussianMixtureEM(2, covariance_type="V", random_state=0).fit(X)
    assert equal.covariances_[0] == equal.covariances_[1]
    assert variable.bic(X) - equal.bic(X) == pytest.approx(
        2 * (equal.score(X) - variable.score(X)) * len(X) + np.log(len(X)))


def test_under_a_prior_an_empty_component_is_not_degenerate():
    """A starved component has the prior's covariance: only a collapse is degenerate."""
    from bayesmix.covariance import get_structure
    from bayesmix.em.diagnostics import find_degenerate

    covariances, counts = np.array([[1.0, 1.0], [0.5, 0.5]]), np.array([50.0, 0.01])
    arguments = (get_structure("diag"), covariances, counts, np.ones(2), 1e-6, str)
    assert list(find_degenerate(*arguments).reasons) == [1]
    assert find_degenerate(*arguments, prior=True).reasons == {}
    collapsed = np.array([[1.0, 1.0], [0.5, 1e-6]])
    assert list(find_degenerate(get_structure("diag"), collapsed, counts, np.ones(2), 1e-6,
                                str, prior=True).reasons) == [1]
