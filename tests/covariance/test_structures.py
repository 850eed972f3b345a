"""Every registered covariance structure, checked through the registry.

A structure added to :data:`bayesmix.covariance.STRUCTURES` is tested here (and in every
test parametrised over the registry) without a new test being written.
"""

import numpy as np
import pytest
from scipy import optimize, stats

from bayesmix.covariance import (
    COVARIANCE_TYPES,
    MCLUST_MODELS,
    ONE_FEATURE_MODELS,
    STRUCTURES,
    get_structure,
    n_parameters,
    structure_names,
)
from bayesmix.covariance.scatter import within_scatter
from bayesmix.density import log_gaussian_prob

NAMES = [structure.name for structure in STRUCTURES]
K, D = 3, 2


@pytest.fixture(params=NAMES)
def structure(request):
    return get_structure(request.param)


def _covariances(structure, seed=0):
    return structure.random_covariances(np.random.RandomState(seed), K, D, 0.5, 2.0)


def test_names_and_aliases_find_the_same_structure(structure):
    assert get_structure(structure.name) is structure
    for alias in structure.aliases:
        assert get_structure(alias) is structure
    assert get_structure(structure) is structure


def test_unknown_name_lists_every_registered_structure():
    with pytest.raises(ValueError) as error:
        get_structure("banded", "covariance_types")
    message = str(error.value)
    assert message.startswith("covariance_types must be one of")
    assert all(repr(s.name) in message and repr(s.label) in message for s in STRUCTURES)
    assert "got 'banded'" in message


def test_stored_shape_parameters_and_full_matrices(structure):
    covariances = _covariances(structure)
    assert covariances.shape == structure.stored_shape(K, D)
    full = structure.to_full(covariances, K, D)
    assert full.shape == (K, D, D)
    assert np.all(np.linalg.eigvalsh(full) > 0)
    np.testing.assert_allclose(structure.from_full(full), covariances, rtol=1e-12)
    # The free covariance parameters: the dimension of the set of stored covariances.
    assert structure.n_parameters(K, D) == mclust_n_var_params(structure.name, D, K)
    assert n_parameters(K, D, structure.name) == K - 1 + K * D + structure.n_parameters(K, D)


def mclust_n_var_params(model, d, G):
    """mclust's ``nVarParams`` (R/mclust.R), transcribed formula by formula."""
    return {
        "E": 1, "V": G, "EII": 1, "VII": G, "EEI": d, "VEI": G + (d - 1),
        "EVI": 1 + G * (d - 1), "VVI": G * d, "EEE": d * (d + 1) / 2,
        "EVE": 1 + G * (d - 1) + d * (d - 1) / 2, "VEE": G + (d - 1) + d * (d - 1) / 2,
        "VVE": G + G * (d - 1) + d * (d - 1) / 2, "EEV": 1 + (d - 1) + G * d * (d - 1) / 2,
        "VEV": G + (d - 1) + G * d * (d - 1) / 2, "EVV": 1 - G + G * d * (d + 1) / 2,
        "VVV": G * d * (d + 1) / 2,
    }[model]


def test_smallest_eigenvalues_are_the_full_matrices_over_batch_axes(structure):
    n_features = 1 if structure.name in ONE_FEATURE_MODELS else D
    rng = np.random.RandomState(1)
    batch = np.stack([structure.random_covariances(rng, K, n_features, 0.5, 2.0)
                      for _ in range(4)])
    batch[2] = np.nan  # a failed fit of the batch
    smallest = structure.smallest_eigenvalues(batch, K, n_features)
    assert smallest.shape == (4, K)
    for fit in (0, 1, 3):
        np.testing.assert_allclose(smallest[fit], np.linalg.eigvalsh(
            structure.to_full(batch[fit], K, n_features))[:, 0], rtol=1e-12)
    assert np.isnan(smallest[2]).all()
    np.testing.assert_array_equal(structure.smallest_eigenvalues(batch[0], K, n_features),
                                  smallest[0])


@pytest.mark.parametrize("model", MCLUST_MODELS + ONE_FEATURE_MODELS)
def test_parameter_counts_are_mclusts(model):
    structure = get_structure(model)
    for n_features in [1] if model in ONE_FEATURE_MODELS else range(1, 5):
        for n_components in range(1, 5):
            assert structure.n_parameters(n_components, n_features) == mclust_n_var_params(
                model, n_features, n_components), (model, n_components, n_features)


def test_registry_lists_mclusts_models_after_scikit_learns():
    assert structure_names()[:4] == list(COVARIANCE_TYPES)
    assert sorted(s.name for s in STRUCTURES) == sorted(MCLUST_MODELS)
    assert get_structure("E").name == "EII" and get_structure("V").name == "VII"
    assert get_structure("V").label == "spherical" and get_structure("E").label == "EII"
    assert {s.name for s in STRUCTURES if s.shares_covariance()} == {"EII", "EEI", "EEE"}


def test_precision_factors_invert_the_covariances(structure):
    covariances = _covariances(structure, seed=1)
    factors = structure.precision_cholesky(covariances)
    precisions = structure.precisions_from_cholesky(factors)
    full_cov = structure.to_full(covariances, K, D)
    full_prec = structure.to_full(precisions, K, D)
    np.testing.assert_allclose(full_cov @ full_prec, np.broadcast_to(np.eye(D), (K, D, D)),
                               atol=1e-12)
    np.testing.assert_allclose(structure.covariances_from_precisions(precisions),
                               covariances, rtol=1e-10)
    np.testing.assert_allclose(structure.cholesky_from_precisions(precisions), factors,
                               rtol=1e-10)
    log_det = np.broadcast_to(structure.log_det_cholesky(factors, D), (K,))
    np.testing.assert_allclose(log_det, -0.5 * np.linalg.slogdet(full_cov)[1], rtol=1e-12)


def test_not_positive_definite_names_the_component(structure):
    covariances = _covariances(structure, seed=2)
    broken = structure.to_full(covariances, K, D)
    broken[-1 if not structure.shares_covariance() else slice(None)] = -np.eye(D)
    with pytest.raises(ValueError, match="not positive"):
        structure.precision_cholesky(structure.from_full(broken))


def test_density_matches_scipy(structure):
    rng = np.random.default_rng(3)
    covariances = _covariances(structure, seed=3)
    means = rng.normal(size=(K, D))
    X = rng.normal(size=(50, D))
    log_prob = log_gaussian_prob(X, means, structure.precision_cholesky(covariances),
                                 structure)
    full = structure.to_full(covariances, K, D)
    expected = np.column_stack([stats.multivariate_normal(means[k], full[k]).logpdf(X)
                                for k in range(K)])
    np.testing.assert_allclose(log_prob, expected, rtol=1e-10)


def test_density_far_from_the_origin_is_the_density_near_it(structure):
    """Rows and means offset by 1e8 (their spread is about 1) have the densities of the
    rows and means without the offset: the diagonal structures take the distances about
    the means' average (their expansion subtracted squares of the offset's size, which
    left log densities off by up to 6), the matrix ones subtract projections before
    squaring."""
    rng = np.random.default_rng(5)
    factors = structure.precision_cholesky(_covariances(structure, seed=5))
    means, X = rng.normal(size=(K, D)), rng.normal(size=(50, D))
    near = log_gaussian_prob(X, means, factors, structure)
    far = log_gaussian_prob(X + 1e8, means + 1e8, factors, structure)
    np.testing.assert_allclose(far, near, rtol=0.0, atol=1e-6)


def _expected_complete_log_likelihood(structure, X, resp, means, covariances):
    full = structure.to_full(covariances, K, D)
    return sum(resp[:, k] @ stats.multivariate_normal(means[k], full[k]).logpdf(X)
               for k in range(K))


def _moments(structure, X, resp):
    """The M step's statistics of ``X`` (its second moments as the structure reads them)."""
    counts = resp.sum(axis=0)
    means = resp.T @ X / counts[:, None]
    second = np.einsum("nk,nd,ne->kde", resp, X, X)
    if structure.second_moments == "diagonal":
        second = np.einsum("kdd->kd", second)
    elif structure.second_moments is None:
        second = None
    return counts, means, second


def test_m_step_maximises_the_expected_complete_log_likelihood(structure):
    """The M step's covariances beat every nearby admissible covariance of the structure.

    The nearby admissible covariances are the M step's own for nearby data (the rows
    moved a little), so that they satisfy the structure's constraints whatever they are.
    """
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, D)) @ rng.normal(size=(D, D))
    X -= X.mean(axis=0)
    resp = rng.dirichlet(np.ones(K), size=60)
    counts, means, second = _moments(structure, X, resp)
    covariances = structure.m_step(counts, means, second, X.T @ X, 0.0)
    best = _expected_complete_log_likelihood(structure, X, resp, means, covariances)

    for seed in range(5):
        nearby = X + np.random.default_rng(seed).normal(scale=0.05, size=X.shape)
        nearby_counts, nearby_means, nearby_second = _moments(structure, nearby, resp)
        moved = structure.m_step(nearby_counts, nearby_means, nearby_second,
                                 nearby.T @ nearby, 0.0)
        assert np.all(np.linalg.eigvalsh(structure.to_full(moved, K, D)) > 0)
        assert not np.allclose(moved, covariances)
        assert _expected_complete_log_likelihood(structure, X, resp, means, moved) <= best

    # One scale factor per stored value: the optimum of the scale is 1.
    def negative(log_scale):
        return -_expected_complete_log_likelihood(structure, X, resp, means,
                                                  covariances * np.exp(log_scale[0]))

    result = optimize.minimize(negative, [0.3])
    np.testing.assert_allclose(result.x, [0.0], atol=1e-4)


# --------------------------------------------------------------------------- batches
BATCHED = [structure.name for structure in STRUCTURES if structure.batched_m_step]


@pytest.fixture(params=BATCHED)
def batched(request):
    return get_structure(request.param)


def _statistics(structure, seed):
    """Counts, means and second moments of random responsibilities on random rows."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, D)) @ rng.normal(size=(D, D))
    X -= X.mean(axis=0)
    resp = rng.dirichlet(np.ones(K), size=40)
    counts = resp.sum(axis=0)
    means = resp.T @ X / counts[:, None]
    second = {"matrix": np.einsum("nk,nd,ne->kde", resp, X, X),
              "diagonal": resp.T @ (X * X), None: None}[structure.second_moments]
    return counts, means, second, X.T @ X


def _stacked(fits):
    """Six fits' counts, means and second moments over leading axes (2, 3), and the total
    scatter (shared by the batch, as the data's scatter is)."""
    def stack(index):
        if fits[0][index] is None:
            return None
        return np.stack([fit[index] for fit in fits]).reshape(2, 3, *fits[0][index].shape)

    return stack(0), stack(1), stack(2), fits[0][3]


def test_batched_interface_equals_the_unbatched_one_fit_by_fit(batched):
    """Over leading axes (2, 3): the M step (to rounding where it iterates) and the
    log-determinants bit for bit, the batch factors to rounding, the log-density
    coefficients as the unbatched distances and log-determinants."""
    from bayesmix.covariance.quadratic import RowProducts

    fits = [_statistics(batched, seed) for seed in range(6)]
    counts, means, second, scatter = _stacked(fits)
    covariances = batched.m_step(counts, means, second, scatter, 1e-3)
    assert covariances.shape == (2, 3, *batched.stored_shape(K, D))
    rows = RowProducts(np.random.default_rng(9).normal(size=(7, D)))
    factors = batched.batch_precision_cholesky(covariances)
    constants = np.random.default_rng(10).normal(size=(2, 3, K))
    coefficients = batched.batch_log_density_coefficients(means, factors, constants)
    log_densities = coefficients @ rows.features(batched.mahalanobis_features).T
    log_det = batched.log_det_cholesky(factors, D)
    for i, (fit_counts, fit_means, fit_second, _) in enumerate(fits):
        at = np.unravel_index(i, (2, 3))
        one = batched.m_step(fit_counts, fit_means, fit_second, scatter, 1e-3)
        if batched.nonlinear_constraints:  # inner iterations of batched LAPACK calls
            np.testing.assert_allclose(covariances[at], one, rtol=1e-12, atol=1e-15)
        else:
            np.testing.assert_array_equal(covariances[at], one)
        one_factors = batched.precision_cholesky(one)
        np.testing.assert_allclose(factors[at], one_factors, rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(log_det[at], batched.log_det_cholesky(factors[at], D))
        expected = (constants[at][:, None] + np.reshape(log_det[at], (-1, 1))
                    - 0.5 * batched.squared_mahalanobis(rows.X, fit_means, one_factors).T)
        np.testing.assert_allclose(log_densities[at], expected, rtol=1e-10)


def test_batched_log_density_coefficients_are_the_generic_ones(batched):
    """Each structure's compiled coefficients give, to rounding, the log densities of the
    interface's default (through the full precision matrices and the rows' outer
    products), which a structure without its own form uses."""
    from bayesmix.covariance.base import CovarianceStructure
    from bayesmix.covariance.quadratic import RowProducts

    counts, means, second, scatter = _stacked([_statistics(batched, seed) for seed in range(6)])
    factors = batched.batch_precision_cholesky(
        batched.m_step(counts, means, second, scatter, 1e-3))
    constants = np.random.default_rng(11).normal(size=(2, 3, K))
    rows = RowProducts(np.random.default_rng(12).normal(size=(7, D)))
    generic = CovarianceStructure.batch_log_density_coefficients(batched, means, factors,
                                                                 constants)
    own = batched.batch_log_density_coefficients(means, factors, constants)
    np.testing.assert_allclose(own @ rows.features(batched.mahalanobis_features).T,
                               generic @ rows.features("outer").T, rtol=1e-12)


NONLINEAR = [structure.name for structure in STRUCTURES if structure.nonlinear_constraints]


def _scatters(structure, seed):
    counts, means, second, scatter = _statistics(structure, seed)
    return counts, within_scatter(structure.second_moments, counts, means, second, scatter,
                                  1e-3)


def _objective(structure, weights, scatters, covariances):
    """``-1/2 sum_k [w_k log|Sigma_k| + tr(S_k inv(Sigma_k))]``, what the M step maximises."""
    full = structure.to_full(covariances, K, D)
    if scatters.ndim == 2:  # diagonals
        scatters = scatters[:, :, None] * np.eye(D)
    return -0.5 * float(np.sum(weights * np.linalg.slogdet(full)[1]
                               + np.einsum("kde,ked->k", scatters, np.linalg.inv(full))))


@pytest.mark.parametrize("name", NONLINEAR)
def test_absent_components_leave_the_others_as_they_are(name):
    """Components of weight 0 and scatter 0 (how the batch pads a fit with fewer
    components) change no other component's covariance."""
    structure = get_structure(name)
    counts, scatters = _scatters(structure, 3)
    alone = structure.maximise_scatter(counts, scatters)
    absent = np.zeros((2, *scatters.shape[1:]))
    with np.errstate(divide="ignore", invalid="ignore"):
        padded = structure.maximise_scatter(np.r_[counts, 0.0, 0.0],
                                            np.concatenate([scatters, absent]))
    np.testing.assert_allclose(padded[:K], alone, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", NONLINEAR)
def test_m_step_from_a_start_improves_on_it_and_repeated_reaches_the_optimum(name):
    """From admissible covariances ``start``, the (capped) M step's objective is at least
    the start's (a generalised EM step); M steps each started from the last reach the
    optimum of the M step without a start."""
    structure = get_structure(name)
    counts, scatters = _scatters(structure, 5)
    optimum = _objective(structure, counts, scatters, structure.maximise_scatter(counts,
                                                                                 scatters))
    current = _covariances(structure, seed=7)
    for _ in range(300):
        stepped = structure.maximise_scatter(counts, scatters, current)
        assert (_objective(structure, counts, scatters, stepped)
                >= _objective(structure, counts, scatters, current) - 1e-12)
        current = stepped
    assert _objective(structure, counts, scatters, current) == pytest.approx(optimum,
                                                                             rel=1e-9)



@pytest.mark.parametrize("name", NONLINEAR)
def test_a_batch_entry_whose_start_is_not_finite_starts_from_its_scatters(name):
    """Scatters of the structure's own covariances (``w_k Sigma_k``) give those
    covariances back, in the few iterations of an M step from a start, also for a batch
    entry whose start is not finite: it goes on from its scatters, not from the NaN."""
    structure = get_structure(name)
    counts = np.array([4.0, 7.0, 5.0])
    covariances = _covariances(structure, seed=3)
    full = structure.to_full(covariances, K, D)
    diagonal = structure.second_moments == "diagonal"
    scatters = counts[:, None, None] * full
    if diagonal:
        scatters = np.diagonal(scatters, axis1=-2, axis2=-1)
    start = np.stack([_covariances(structure, seed=5), np.full_like(covariances, np.nan)])
    stepped = structure.maximise_scatter(np.stack([counts, counts]),
                                         np.stack([scatters, scatters]), start)
    np.testing.assert_allclose(structure.to_full(stepped[1], K, D), full, rtol=1e-9,
                               atol=1e-12)
    assert np.isfinite(stepped[0]).all()

def test_batch_factors_name_a_covariance_that_is_not_positive_definite(batched):
    covariances = np.stack([_covariances(batched, seed) for seed in range(2)])
    broken = batched.to_full(covariances[1], K, D)
    broken[-1 if not batched.shares_covariance() else slice(None)] = -np.eye(D)
    covariances[1] = batched.from_full(broken)
    with pytest.raises(ValueError, match="not positive"):
        batched.batch_precision_cholesky(covariances)


def test_batch_factors_or_none_are_the_factors_or_none(batched):
    """The batch's quiet variant: the same factors, or None where the loud one raises."""
    covariances = np.stack([_covariances(batched, seed) for seed in range(2)])
    np.testing.assert_array_equal(batched.batch_precision_cholesky_or_none(covariances),
                                  batched.batch_precision_cholesky(covariances))
    broken = batched.to_full(covariances[1], K, D)
    broken[-1 if not batched.shares_covariance() else slice(None)] = -np.eye(D)
    covariances[1] = batched.from_full(broken)
    assert batched.batch_precision_cholesky_or_none(covariances) is None
    assert batched.batch_precision_cholesky_or_none(covariances[0]) is not None
