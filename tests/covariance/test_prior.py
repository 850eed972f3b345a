"""mclust's conjugate prior: its values, its MAP steps in EM, its refusals."""

import dataclasses
import re

import numpy as np
import pytest

from bayesmix import select_em
from bayesmix.covariance import MCLUST_MODELS, get_structure
from bayesmix.covariance.prior import ConjugatePrior
from bayesmix.em.engine import COUNT_FLOOR
from bayesmix.em.init import initial_responsibilities
from bayesmix.em.sources import InMemorySource

PRIOR_MODELS = [name for name in MCLUST_MODELS if get_structure(name).supports_prior]


def _clusters(seed=0, n_per=30, n_features=3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(3, n_features))
    return np.vstack([rng.normal(size=(n_per, n_features)) @ rng.normal(size=(n_features,
                                                                            n_features))
                      + centre for centre in centres])


def test_the_models_with_a_prior_are_mclusts():
    assert set(MCLUST_MODELS) - set(PRIOR_MODELS) == {"EVE", "VEE", "VVE", "EVV"}


@pytest.mark.parametrize("name", ["EVE", "VEE", "VVE", "EVV"])
def test_a_model_without_a_prior_refuses_it_by_name(name):
    structure = get_structure(name)
    X = _clusters()
    prior = ConjugatePrior().resolve(X, structure, 3)
    message = re.escape(f"mclust fits no conjugate prior for covariance_type='{name}'")
    with pytest.raises(ValueError, match=message + ".*the models with one are EII, VII, EEI"):
        structure.map_step(np.ones(3), np.zeros((3, 3)), np.ones((3, 3, 3)), None, 0.0, prior)
    with pytest.raises(ValueError, match=message):
        structure.log_prior(np.zeros((3, 3)), np.ones((3, 3, 3)), prior)


@pytest.mark.parametrize("name", PRIOR_MODELS)
def test_map_em_ascends_the_log_posterior(name):
    """MAP-EM (E step, map_step, posterior means) never lowers log-likelihood + log_prior."""
    structure = get_structure(name)
    X = _clusters(seed=1)
    source = InMemorySource(X)
    prior = ConjugatePrior(shrinkage=0.5).resolve(X, structure, 3)
    prior = dataclasses.replace(prior, mean=prior.mean - source.shift)
    resp = initial_responsibilities(X, 3, "random", random_state=3)
    centred = X - source.shift
    counts = resp.sum(axis=0)
    statistics = (counts, resp.T @ centred / counts[:, None],
                  _second_moments(structure, resp, centred))
    history = []
    for _ in range(60):
        counts, xbar, second = statistics
        counts = counts + COUNT_FLOOR
        covariances = structure.map_step(counts, xbar, second, centred.T @ centred, 0.0, prior)
        means = prior.posterior_means(counts, xbar)
        stats = source.e_step(structure, counts / counts.sum(), means,
                              structure.precision_cholesky(covariances))
        history.append(stats.log_likelihood + float(structure.log_prior(means, covariances,
                                                                        prior)))
        statistics = (stats.counts, stats.sums / stats.counts[:, None], stats.second_moments)
    history = np.array(history)
    assert np.all(np.diff(history) >= -1e-10 * np.abs(history[1:]))
    assert history[-1] > history[0] + 1.0


def _second_moments(structure, resp, X):
    second = np.einsum("nk,nd,ne->kde", resp, X, X)
    if structure.second_moments == "diagonal":
        return np.einsum("kdd->kd", second)
    return second if structure.second_moments == "matrix" else None


@pytest.mark.parametrize("name", PRIOR_MODELS)
def test_map_step_and_log_prior_broadcast_over_batch_axes(name):
    structure = get_structure(name)
    X = _clusters(seed=2)
    prior = ConjugatePrior().resolve(X, structure, 3)
    rng = np.random.default_rng(2)
    entries = []
    for _ in range(4):
        resp = rng.dirichlet(np.ones(3), size=len(X))
        counts = resp.sum(axis=0)
        entries.append((counts, resp.T @ X / counts[:, None], _second_moments(structure, resp, X)))
    stacked = [np.array([entry[i] for entry in entries]).reshape(2, 2, *entries[0][i].shape)
               if entries[0][i] is not None else None for i in range(3)]
    together = structure.map_step(*stacked[:3], X.T @ X, 1e-6, prior)
    means = prior.posterior_means(stacked[0], stacked[1])
    log_priors = structure.log_prior(means, together, prior)
    assert log_priors.shape == (2, 2)
    for index, entry in enumerate(entries):
        alone = structure.map_step(*entry, X.T @ X, 1e-6, prior)
        np.testing.assert_allclose(together[np.unravel_index(index, (2, 2))], alone,
                                   rtol=1e-12)
        np.testing.assert_allclose(
            log_priors[np.unravel_index(index, (2, 2))],
            structure.log_prior(prior.posterior_means(entry[0], entry[1]), alone, prior),
            rtol=1e-12)


@pytest.mark.parametrize(("name", "family"), [
    ("EII", "VII"), ("EEI", "VVI"), ("VEI", "VVI"), ("EVI", "VVI"), ("EEE", "VVV"),
    ("EEV", "VVV"), ("VEV", "VVV")])
def test_one_component_is_mclusts_one_component_model(name, family):
    """mclust fits XII, XXI or XXX for one component: one answer per family."""
    X = _clusters(seed=4)
    resp = np.ones((len(X), 1))
    answers = []
    for structure in (get_structure(name), get_structure(family)):
        prior = ConjugatePrior().resolve(X, structure, 1)
        counts = resp.sum(axis=0)
        covariances = structure.map_step(counts, resp.T @ X / counts[:, None],
                                         _second_moments(structure, resp, X), X.T @ X, 0.0,
                                         prior)
        answers.append(structure.to_full(covariances, 1, 3))
    np.testing.assert_allclose(answers[0], answers[1], rtol=1e-7)


# ----------------------------------------------------------------- values and defaults
def test_weights_count_as_repeated_rows():
    X = _clusters(seed=5)
    repeats = np.random.default_rng(5).integers(0, 4, size=len(X))
    for name in ("VVV", "VII"):
        structure = get_structure(name)
        weighted = ConjugatePrior().resolve(X, structure, 3, sample_weight=repeats)
        repeated = ConjugatePrior().resolve(np.repeat(X, repeats, axis=0), structure, 3)
        np.testing.assert_allclose(weighted.mean, repeated.mean, rtol=1e-12)
        np.testing.assert_allclose(weighted.scale, repeated.scale, rtol=1e-12)
        assert weighted.dof == repeated.dof == 5.0


def test_default_scale_is_diagonal_with_no_more_rows_than_features():
    X = np.random.default_rng(6).normal(size=(3, 4))
    scale = ConjugatePrior().resolve(X, get_structure("VVV"), 2).scale
    np.testing.assert_allclose(scale, np.diag(np.var(X, axis=0, ddof=1)) / 2 ** 0.5,
                               rtol=1e-12)


def test_given_values_are_kept_and_a_number_scales_the_identity_for_matrices():
    X = _clusters(seed=7)
    prior = ConjugatePrior(shrinkage=0.5, mean=[1.0, 2.0, 3.0], dof=7.0, scale=2.0)
    resolved = prior.resolve(X, get_structure("VEV"), 3)
    assert resolved.shrinkage == 0.5 and resolved.dof == 7.0
    np.testing.assert_array_equal(resolved.mean, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(resolved.scale, 2.0 * np.eye(3))
    assert prior.resolve(X, get_structure("VEI"), 3).scale == 2.0


def test_resolving_again_changes_nothing_and_the_mean_can_be_centred():
    X = _clusters(seed=8)
    for shrinkage in (0.0, 0.01):
        resolved = ConjugatePrior(shrinkage=shrinkage).resolve(X, get_structure("EEV"), 3)
        again = resolved.resolve(X, get_structure("EEV"), 3)
        np.testing.assert_array_equal(again.mean, resolved.mean)
        np.testing.assert_array_equal(again.scale, resolved.scale)
        centred = dataclasses.replace(resolved, mean=resolved.mean - X.mean(axis=0))
        np.testing.assert_allclose(centred.mean, 0.0, atol=1e-12)


def test_posterior_means_shrink_towards_the_prior_mean():
    prior = ConjugatePrior(shrinkage=2.0, mean=np.array([10.0, 0.0]))
    means = prior.posterior_means(np.array([2.0, 6.0]), np.array([[0.0, 4.0], [2.0, 8.0]]))
    np.testing.assert_allclose(means, [[5.0, 2.0], [4.0, 6.0]])
    unresolved = ConjugatePrior()
    with pytest.raises(ValueError, match="Call resolve"):
        unresolved.posterior_means(np.ones(1), np.zeros((1, 1)))


@pytest.mark.parametrize(("arguments", "message"), [
    ({"shrinkage": -0.1}, "shrinkage must be a finite number >= 0, got -0.1"),
    ({"shrinkage": np.nan}, "shrinkage must be a finite number >= 0, got nan"),
    ({"shrinkage": "0.01"}, "shrinkage must be a finite number >= 0, got '0.01'"),
    ({"mean": [[0.0]]}, r"mean must be a finite 1-D array .* got shape \(1, 1\)"),
    ({"mean": [np.inf]}, "mean must be a finite 1-D array .* with NaN or inf"),
    ({"dof": 0.0}, "dof must be a finite number > 0, got 0.0"),
    ({"scale": -1.0}, "scale must be positive and finite, got -1.0"),
    ({"scale": [[1.0, 2.0], [0.0, 1.0]]}, "scale is not symmetric"),
    ({"scale": [[1.0, 2.0], [2.0, 1.0]]}, r"scale is not positive definite \(smallest "
                                          r"eigenvalue -1\)"),
    ({"scale": [1.0, 2.0]}, r"scale must be a number or a finite square matrix, got an "
                            r"array of shape \(2,\)"),
])
def test_bad_values_are_refused_by_name(arguments, message):
    with pytest.raises(ValueError, match=message):
        ConjugatePrior(**arguments)


@pytest.mark.parametrize("arguments", [{"scale": True}, {"scale": np.eye(2, dtype=bool)},
                                       {"mean": [True, False]}])
def test_booleans_are_not_read_as_numbers(arguments):
    name = next(iter(arguments))
    with pytest.raises(TypeError, match=rf"{name} must hold numbers, got booleans"):
        ConjugatePrior(**arguments)


@pytest.mark.parametrize(("name", "arguments", "message"), [
    ("VVV", {"mean": [0.0, 1.0]}, "mean has 2 values but X has 3 features"),
    ("VVV", {"dof": 1.5}, r"dof=1.5 is too small for covariance_type='full'.*dof > "
                          r"n_features - 1 = 2"),
    ("VVV", {"scale": np.eye(2)}, r"scale has shape \(2, 2\) but X has 3 features"),
    ("VEI", {"scale": np.eye(2)}, r"scale has shape \(2, 2\) but X has 3 features"),
])
def test_values_that_do_not_fit_the_data_are_refused_by_name(name, arguments, message):
    with pytest.raises(ValueError, match=message):
        ConjugatePrior(**arguments).resolve(_clusters(), get_structure(name), 3)


def test_a_matrix_scale_serves_the_spherical_and_diagonal_structures_by_its_mean_diagonal():
    """mclust's spherical and diagonal models take one prior variance: a matrix gives its
    mean diagonal (as their default is the data's mean variance), so one matrix serves
    the 14-model grid; a 1 x 1 matrix is the number for one feature."""
    scale = np.array([[2.0, 0.5, 0.0], [0.5, 4.0, 0.0], [0.0, 0.0, 6.0]])
    for name in ("VII", "EEI", "VEI", "VVI"):
        resolved = ConjugatePrior(scale=scale).resolve(_clusters(), get_structure(name), 3)
        assert resolved.scale == pytest.approx(4.0)
    resolved = ConjugatePrior(scale=scale).resolve(_clusters(), get_structure("VEV"), 3)
    np.testing.assert_array_equal(resolved.scale, scale)
    one_feature = ConjugatePrior(scale=[[2.5]]).resolve(_clusters()[:, :1], get_structure("E"), 2)
    assert one_feature.scale == 2.5
    grid = select_em(_clusters(), n_components=[1, 2], covariance_types="mclust",
                     prior=ConjugatePrior(scale=scale), random_state=0)
    assert grid.table_["bic"].notna().all()


def test_resolve_refuses_bad_data_and_names():
    prior = ConjugatePrior()
    with pytest.raises(TypeError, match="structure must be a CovarianceStructure, got str"):
        prior.resolve(_clusters(), "VVV", 3)
    constant = np.c_[_clusters()[:, :2], np.ones(90)]
    for name in ("VVV", "VII"):
        with pytest.raises(ValueError, match=r"the prior's default scale, the data's "
                           r"covariance times n_components\^\(-2/n_features\), is not "
                           r"positive definite .*a column of X is constant"):
            prior.resolve(constant if name == "VVV" else np.ones((90, 3)), get_structure(name),
                          3)
    with pytest.raises(ValueError, match=r"weights sum to 1 <= 1"):
        prior.resolve(_clusters(), get_structure("VVV"), 3,
                      sample_weight=np.full(90, 1.0 / 90))
    with pytest.raises(ValueError, match=r"sample_weight has shape \(2,\), but X has 90 rows"):
        prior.resolve(_clusters(), get_structure("VVV"), 3, sample_weight=[1.0, 2.0])
    broken = _clusters()
    broken[3, 1] = np.nan
    with pytest.raises(ValueError, match="X or sample_weight contains NaN or infinity"):
        prior.resolve(broken, get_structure("VII"), 3)

