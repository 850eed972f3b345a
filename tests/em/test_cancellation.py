"""The batched E step where its expanded quadratic forms lose their digits: found, and
evaluated from differences as the estimator evaluates a fit."""

import numpy as np
import pytest

import bayesmix.em.cancellation as cancellation_module
from bayesmix import GaussianMixtureEM, select_em
from bayesmix.covariance import get_structure
from bayesmix.covariance.quadratic import RowProducts
from bayesmix.em.batch import BatchEM
from bayesmix.em.cancellation import (
    EXPANSION_ERROR,
    direct_log_probabilities,
    feature_bounds,
    imprecise_runs,
)
from bayesmix.em.engine import EMSettings, MixtureParameters
from bayesmix.em.sources import InMemorySource

BASE = np.random.default_rng(0).normal(size=(60, 2))
#: Clusters 1e7 apart, one of them 1e-3 wide, and one row 1e8 out: components far from
#: the data's mean beside their spread, or nearly singular (the prior's scale follows
#: the data's covariance, nearly rank one).
HOSTILE = {
    "far clusters": np.vstack([BASE, BASE[:20] * 1e-3 + 1e7]),
    "outlier": np.vstack([BASE, [[1e8, -1e8]]]),
}


def test_feature_bounds_bound_every_rows_features():
    X = np.random.default_rng(1).normal(size=(50, 3)) * [1.0, 10.0, 0.1] + 5.0
    source = InMemorySource(X)
    for kind in ("outer", "squares"):
        features = RowProducts(X - source.shift).features(kind)
        bounds = feature_bounds(source, kind)
        assert (np.abs(features) <= bounds).all()
        np.testing.assert_allclose(np.abs(features).max(axis=0)[-4:], bounds[-4:])


def test_only_a_run_with_a_far_or_narrow_component_is_imprecise():
    """Its bound grows with the distance and the precision; an absent component (a
    constant of log 0) does not count."""
    structure = get_structure("diag")
    bounds = np.array([9.0, 9.0, 3.0, 3.0, 1.0])  # rows within 3 of the mean
    means = np.array([[[0.0, 0.0], [1.0, -1.0]], [[0.0, 0.0], [1e7, 0.0]],
                      [[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [1e7, 0.0]]])
    factors = np.array([[[1.0, 1.0]] * 2, [[1.0, 1.0]] * 2, [[1.0, 1.0], [1e9, 1.0]],
                        [[1.0, 1.0]] * 2])
    constants = np.array([[-1.0, -1.0], [-1.0, -1.0], [-1.0, -1.0], [-1.0, -np.inf]])
    coefficients = structure.batch_log_density_coefficients(means, factors, constants)
    np.testing.assert_array_equal(imprecise_runs(coefficients, bounds, EXPANSION_ERROR),
                                  [False, True, True, False])


@pytest.mark.parametrize("structure_name", ["VVV", "EEE", "VVI", "VII", "EEV", "VEE"])
def test_the_direct_log_probabilities_are_the_expansions_where_it_holds(structure_name):
    """Each structure's direct evaluation (its stored precision factors) equals the
    batch's expansion to rounding on ordinary data."""
    structure = get_structure(structure_name)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 3))
    n_components = 3
    covariances = structure.random_covariances(rng, n_components, 3, 0.5, 2.0)
    factors = structure.precision_cholesky(covariances)
    means = rng.normal(size=(n_components, 3))
    constants = np.log([0.2, 0.3, 0.5]) - 1.5 * np.log(2.0 * np.pi)
    coefficients = structure.batch_log_density_coefficients(
        means[np.newaxis], factors[np.newaxis], constants[np.newaxis])[0]
    expanded = coefficients @ RowProducts(X).features(structure.mahalanobis_features).T
    np.testing.assert_allclose(
        direct_log_probabilities(X, structure, means, factors, constants), expanded,
        rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", HOSTILE)
def test_the_batch_evaluates_a_fit_as_its_estimator(name):
    """At an estimator's parameters the batch's log-likelihood and responsibilities are
    the estimator's; expanded, they were off by 25 (far clusters, VVV with 8
    components under the prior) and 0.6 (the outlier, VEE with one)."""
    X = HOSTILE[name]
    em = GaussianMixtureEM(3, covariance_type="VVV", prior="default", random_state=0,
                           tol=1e-8).fit(X)
    source = InMemorySource(X)
    structure = get_structure("VVV")
    parameters = MixtureParameters(em.weights_, em.means_ - source.shift, em.covariances_,
                                   em.precisions_cholesky_)
    batch = BatchEM(source, EMSettings(reg_covar=em.reg_covar))
    evaluation = batch.evaluate([(structure, parameters)])
    assert evaluation.log_likelihood[0] == pytest.approx(em.score_samples(X).sum(),
                                                         rel=1e-12, abs=1e-8)
    np.testing.assert_allclose(batch.responsibilities([(structure, parameters)])[0],
                               em.predict_proba(X), atol=1e-10)


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("prior", [None, "default"])
def test_every_cell_of_a_hostile_grid_has_its_estimators_criteria(name, prior):
    """The table's log-likelihoods are the fits' (they were up to 118 off under the
    prior, which chose VVV,8 where the fits' values choose EEE,8)."""
    X = HOSTILE[name]
    structures = ["EEE", "VVV", "VEV"] + (["VEE"] if prior is None else [])
    selection = select_em(X, covariance_types=structures, random_state=0, prior=prior)
    for row, em in zip(selection.table_.itertuples(), selection.estimators_):
        if np.isfinite(row.log_likelihood):
            assert row.log_likelihood == pytest.approx(em.criteria(X)["log_likelihood"],
                                                       rel=1e-9, abs=1e-7)


@pytest.mark.parametrize("prior", [None, "default"])
def test_evaluating_every_run_directly_changes_nothing_on_ordinary_data(
        old_faithful, prior, monkeypatch):
    """The direct log densities and log prior are the expansion's: with every run
    evaluated directly, Old Faithful's grid ends where it does (to the grid's tol)."""
    kwargs = dict(n_components=range(1, 5), covariance_types=["VVV", "EEE", "VEV", "VVI"],
                  random_state=0, prior=prior)
    expanded = select_em(old_faithful, **kwargs).table_
    monkeypatch.setattr(cancellation_module, "EXPANSION_ERROR", -1.0)
    direct = select_em(old_faithful, **kwargs).table_
    np.testing.assert_allclose(direct["log_likelihood"], expanded["log_likelihood"],
                               rtol=0.0, atol=272 * 1e-6)
