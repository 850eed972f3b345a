"""mclust's models as registered structures: EM, decomposition, batches, degenerate data."""

import warnings

import numpy as np
import pytest

from bayesmix.covariance import MCLUST_MODELS, STRUCTURES, get_structure
from bayesmix.covariance.decomposed import DecomposedStructure
from bayesmix.covariance.eigen import compose
from bayesmix.em.engine import EMEngine, EMSettings
from bayesmix.em.init import initial_responsibilities
from bayesmix.em.sources import InMemorySource

NEW_MODELS = [s.name for s in STRUCTURES if isinstance(s, DecomposedStructure)]


def _three_clusters(seed=0, n_per=40):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 1.0, 2.0], [1.0, 5.0, -2.0]])
    blocks = [rng.normal(size=(n_per, 3)) @ rng.normal(size=(3, 3)) * 0.7 + centre
              for centre in centres]
    return np.vstack(blocks)


def _statistics(structure, X, resp):
    counts = resp.sum(axis=0)
    means = resp.T @ X / counts[:, None]
    second = np.einsum("nk,nd,ne->kde", resp, X, X)
    if structure.second_moments == "diagonal":
        second = np.einsum("kdd->kd", second)
    elif structure.second_moments is None:
        second = None
    return counts, means, second, X.T @ X


@pytest.mark.parametrize("model", NEW_MODELS)
def test_em_never_lowers_the_log_likelihood(model):
    X = _three_clusters()
    engine = EMEngine(InMemorySource(X), get_structure(model), 3,
                      EMSettings(tol=1e-12, max_iter=200, reg_covar=0.0))
    start = engine.from_responsibilities(initial_responsibilities(X, 3, "random", random_state=2))
    history = np.array(engine.run(start).history)
    assert len(history) > 5
    assert np.all(np.diff(history) >= -1e-10 * np.abs(history[1:]))


@pytest.mark.parametrize("structure", STRUCTURES, ids=lambda s: s.name)
def test_decomposition_rebuilds_the_covariances(structure):
    K, D = 3, 3
    covariances = structure.random_covariances(np.random.RandomState(1), K, D, 0.5, 2.0)
    volumes, shapes, orientations = structure.decompose(covariances, K, D)
    assert volumes.shape == (K,) and shapes.shape == (K, D)
    assert orientations.shape == (K, D, D)
    np.testing.assert_allclose(compose(volumes, shapes, orientations),
                               structure.to_full(covariances, K, D), atol=1e-12)
    np.testing.assert_allclose(shapes.prod(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(orientations.transpose(0, 2, 1) @ orientations,
                               np.broadcast_to(np.eye(D), (K, D, D)), atol=1e-12)


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_a_fitted_m_step_has_the_models_constraints(model):
    """Equal letters give equal parts, ``I`` the identity, across the components."""
    structure = get_structure(model)
    X = _three_clusters(seed=3)
    resp = np.random.default_rng(3).dirichlet(np.full(3, 0.5), size=len(X))
    covariances = structure.m_step(*_statistics(structure, X, resp), 0.0)
    volumes, shapes, orientations = structure.decompose(covariances, 3, 3)
    volume, shape, orientation = model
    assert np.ptp(volumes) / volumes.max() < 1e-9 if volume == "E" else np.ptp(volumes) > 1e-3
    if shape == "I":
        np.testing.assert_allclose(shapes, 1.0, rtol=1e-12)
    elif shape == "E":
        np.testing.assert_allclose(shapes, np.broadcast_to(shapes[0], shapes.shape), rtol=1e-9)
    else:
        assert np.ptp(shapes, axis=0).max() > 1e-3
    if orientation == "I":
        np.testing.assert_array_equal(orientations, np.broadcast_to(np.eye(3), (3, 3, 3)))
    elif orientation == "E":
        np.testing.assert_allclose(orientations, np.broadcast_to(orientations[0], (3, 3, 3)),
                                   atol=1e-7)
    else:
        assert np.abs(orientations - orientations[0]).max() > 1e-3


@pytest.mark.parametrize("model", NEW_MODELS)
def test_the_m_step_broadcasts_over_leading_batch_axes(model):
    """counts (B1, B2, K), means (B1, B2, K, D), ...: each batch entry as if alone."""
    structure = get_structure(model)
    X = _three_clusters(seed=4)
    rng = np.random.default_rng(4)
    batch = [[_statistics(structure, X, rng.dirichlet(np.ones(3), size=len(X)))
              for _ in range(3)] for _ in range(2)]
    stacked = [np.array([[entry[i] for entry in row] for row in batch]) for i in range(3)]
    second = stacked[2] if structure.second_moments else None
    together = structure.m_step(stacked[0], stacked[1], second, X.T @ X, 1e-6)
    assert together.shape == (2, 3) + structure.stored_shape(3, 3)
    for i, row in enumerate(batch):
        for j, entry in enumerate(row):
            np.testing.assert_allclose(together[i, j], structure.m_step(*entry, 1e-6),
                                       rtol=1e-12)


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_a_collapsed_component_is_refused_by_name_not_nan(model):
    """A component whose rows coincide (zero scatter): a finite result, and either a
    covariance the model's shared parts keep positive definite or precision_cholesky's
    ValueError naming that component; no raw LinAlgError, no warning."""
    structure = get_structure(model)
    X = _three_clusters(seed=5)
    labels = np.repeat([0, 1, 2], 40)
    X[labels == 1] = X[labels == 1][0]
    resp = np.eye(3)[labels]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        covariances = structure.m_step(*_statistics(structure, X, resp), 0.0)
        assert np.isfinite(covariances).all()
        try:
            structure.precision_cholesky(covariances)
        except ValueError as error:
            assert "component 1" in str(error)
            assert model[0] == "V" or model in ("EVI", "EVE", "EVV")


@pytest.mark.parametrize("model", ["EEV", "VEV"])
def test_a_component_of_one_row_has_the_features_axes_as_mclusts(model):
    """A component of one row has no scatter, hence no axes of its own: its covariance
    takes the features' axes, in order (mclust's, from the singular vectors of its zero
    row), not those of the rounding that ``S_k - n_k mu_k mu_k^T`` leaves (with the
    counts' floor, along that row)."""
    X = _three_clusters(seed=1)
    labels = np.repeat([0, 1, 2], 40)
    labels[7] = 3
    engine = EMEngine(InMemorySource(X), get_structure(model), 4, EMSettings(reg_covar=1e-6))
    covariance = engine.from_responsibilities(np.eye(4)[labels]).covariances[3]
    assert np.count_nonzero(covariance - np.diag(np.diagonal(covariance))) == 0
    assert np.all(np.diff(np.diagonal(covariance)) <= 0.0)


@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_all_rows_equal_is_refused_with_a_value_error(model):
    structure = get_structure(model)
    X = np.ones((30, 3))
    resp = np.random.default_rng(6).dirichlet(np.ones(3), size=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        covariances = structure.m_step(*_statistics(structure, X, resp), 0.0)
        assert np.isfinite(covariances).all()
        with pytest.raises(ValueError, match="not positive"):
            structure.precision_cholesky(covariances)


@pytest.mark.parametrize("model", NEW_MODELS)
def test_project_keeps_the_models_covariances_and_constrains_others(model):
    structure = get_structure(model)
    K, D = 3, 3
    weights = np.array([10.0, 20.0, 30.0])
    inside = structure.random_covariances(np.random.RandomState(7), K, D, 0.5, 2.0)
    np.testing.assert_allclose(structure.project(inside, weights, D), inside, rtol=1e-7)
    other = get_structure("VVV").random_covariances(np.random.RandomState(8), K, D, 0.5, 2.0)
    projected = structure.project(structure.from_full(other), weights, D)
    np.testing.assert_allclose(structure.project(projected, weights, D), projected, rtol=1e-7)


def _reproduces(general, covariances, n_features):
    """Whether ``general``'s M step, given scatters that are exactly ``covariances`` (full,
    (K, D, D)) times the counts, gives them back: it admits them."""
    counts = np.array([30.0, 50.0, 20.0])
    means = np.zeros((3, n_features))
    second = counts[:, None, None] * covariances
    total = second.sum(axis=0)
    if general.second_moments == "diagonal":
        second = np.einsum("kdd->kd", second)
    elif general.second_moments is None:
        second = None
    fitted = general.m_step(counts, means, second, total, 0.0)
    return np.allclose(general.to_full(fitted, 3, n_features), covariances, rtol=1e-6,
                       atol=1e-9)


@pytest.mark.parametrize("general", MCLUST_MODELS)
def test_a_model_admits_exactly_the_covariances_of_its_special_cases(general):
    """``special_cases`` read from mclust's letters agrees with the structures: the
    general model's own M step gives back random covariances of each special case, and
    not those of any other model (so the likelihood of a special case's fit is one the
    general model can reach)."""
    from bayesmix.covariance import special_cases

    rng = np.random.RandomState(0)
    n_features, structure = 3, get_structure(general)
    for other in MCLUST_MODELS:
        special = get_structure(other)
        covariances = special.to_full(special.random_covariances(rng, 3, n_features, 0.5, 4.0),
                                      3, n_features)
        assert _reproduces(structure, covariances, n_features) == (
            other == general or other in special_cases(general)), other
