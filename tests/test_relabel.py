"""Relabelling on hand-built posteriors with known permutations."""

import numpy as np
import pytest

from bayesmix.relabel import (
    apply_permutations,
    hungarian_permutations,
    order_permutations,
    relabel,
)
from bayesmix.results import build_inference_data

REFERENCE_MEANS = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
REFERENCE_COVARIANCES = np.stack([np.eye(2), 0.5 * np.eye(2), np.diag([2.0, 0.3])])
WEIGHTS = np.array([0.2, 0.3, 0.5])


def _permuted_posterior(n_chains=2, n_draws=30, seed=0):
    """Draws near the reference, each with its components shuffled by a known permutation.

    Returns the shuffled draws and ``hidden`` with ``shuffled[..., k] = truth[..., hidden[k]]``.
    """
    rng = np.random.default_rng(seed)
    shape = (n_chains, n_draws)
    means = REFERENCE_MEANS + 0.2 * rng.standard_normal(shape + REFERENCE_MEANS.shape)
    covariances = np.broadcast_to(REFERENCE_COVARIANCES, shape + REFERENCE_COVARIANCES.shape)
    weights = np.broadcast_to(WEIGHTS, shape + (3,))
    hidden = np.array([rng.permutation(3) for _ in range(n_chains * n_draws)]).reshape(
        shape + (3,))
    shuffled = {name: apply_permutations(values, hidden)
                for name, values in [("weights", weights), ("means", means),
                                     ("covariances", covariances)]}
    return shuffled, hidden, means


def test_hungarian_recovers_the_hidden_permutation():
    shuffled, hidden, _ = _permuted_posterior()
    found = hungarian_permutations(shuffled["means"], REFERENCE_MEANS, REFERENCE_COVARIANCES,
                                   shuffled["covariances"])
    # found[j] is the shuffled slot holding true component j: the inverse of hidden.
    inverse = np.argsort(hidden, axis=-1)
    np.testing.assert_array_equal(found, inverse)


def test_relabelled_draws_equal_the_unshuffled_truth():
    shuffled, _, truth_means = _permuted_posterior()
    found = hungarian_permutations(shuffled["means"], REFERENCE_MEANS)
    np.testing.assert_allclose(apply_permutations(shuffled["means"], found), truth_means)
    np.testing.assert_allclose(apply_permutations(shuffled["weights"], found),
                               np.broadcast_to(WEIGHTS, shuffled["weights"].shape))


def test_covariances_break_ties_between_equal_means():
    """Two components with the same mean are told apart by their shapes only."""
    reference_means = np.zeros((2, 1))
    reference_covariances = np.array([[[0.1]], [[10.0]]])
    draws_means = np.zeros((1, 1, 2, 1))
    draws_covariances = np.array([[[[[9.0]], [[0.12]]]]])
    found = hungarian_permutations(draws_means, reference_means, reference_covariances,
                                   draws_covariances)
    np.testing.assert_array_equal(found, [[[1, 0]]])


def test_order_permutations_sort_by_the_chosen_feature():
    means = np.array([[[3.0, 1.0], [1.0, 2.0], [2.0, 0.0]]])
    np.testing.assert_array_equal(order_permutations(means, 0), [[1, 2, 0]])
    np.testing.assert_array_equal(order_permutations(means, 1), [[2, 0, 1]])
    with pytest.raises(ValueError, match="feature must be <= 1, got 2"):
        order_permutations(means, 2)


def test_apply_permutations_carries_trailing_dims():
    values = np.arange(2 * 3 * 2 * 2).reshape(1, 2, 3, 2, 2)[:, :1]
    permutation = np.array([[[2, 0, 1]]])
    out = apply_permutations(values, permutation)
    for j, k in enumerate([2, 0, 1]):
        np.testing.assert_array_equal(out[0, 0, j], values[0, 0, k])
    with pytest.raises(ValueError, match="component axis must come right after"):
        apply_permutations(values, permutation, axis=3)


def test_mismatched_reference_is_rejected():
    with pytest.raises(ValueError, match=r"both need the same \(n_components, n_features\)"):
        hungarian_permutations(np.zeros((1, 1, 3, 2)), np.zeros((2, 2)))


def _idata(shuffled, extra=None):
    X = np.random.default_rng(1).normal(size=(5, 2))
    return build_inference_data(X=X, **shuffled, covariance_type="full",
                                inference_method="nuts", raw_parameters=extra)


def test_relabel_inference_data_permutes_every_component_variable():
    shuffled, hidden, truth_means = _permuted_posterior()
    sigmas = np.sqrt(np.diagonal(shuffled["covariances"], axis1=-2, axis2=-1))
    idata = _idata(shuffled, {"sigmas": (sigmas, ("chain", "draw", "component", "feature"))})
    out = relabel(idata, REFERENCE_MEANS, REFERENCE_COVARIANCES)
    np.testing.assert_allclose(out.posterior["means"].values, truth_means)
    np.testing.assert_allclose(
        out.posterior["sigmas"].values,
        np.broadcast_to(np.sqrt(np.diagonal(REFERENCE_COVARIANCES, axis1=1, axis2=2)),
                        sigmas.shape))
    np.testing.assert_array_equal(out.sample_stats["label_permutation"].values,
                                  np.argsort(hidden, axis=-1))
    # the log-likelihood does not depend on labels and is left as it was
    np.testing.assert_allclose(out.log_likelihood["x"], idata.log_likelihood["x"])
    # the input is not modified
    np.testing.assert_allclose(idata.posterior["means"].values, shuffled["means"])


def test_relabelling_twice_composes_the_permutations():
    shuffled, hidden, _ = _permuted_posterior(n_draws=10)
    once = relabel(_idata(shuffled), REFERENCE_MEANS)
    twice = relabel(once, REFERENCE_MEANS[[2, 0, 1]])
    raw_means = shuffled["means"]
    np.testing.assert_allclose(
        twice.posterior["means"].values,
        apply_permutations(raw_means, twice.sample_stats["label_permutation"].values))


def test_order_method_sorts_every_draw():
    shuffled, _, _ = _permuted_posterior()
    shuffled["means"] = shuffled["means"] + np.array([0.0, 10.0])  # keep x distinct
    out = relabel(_idata(shuffled), method="order", feature=1)
    assert np.all(np.diff(out.posterior["means"].values[..., 1], axis=-1) > 0)


def test_default_reference_gives_consistent_labels():
    """Without a reference, every label still tracks one true component in all draws."""
    shuffled, _, _ = _permuted_posterior()
    means = relabel(_idata(shuffled)).posterior["means"].values
    spread = means.reshape(-1, 3, 2).std(axis=0)
    assert spread.max() < 0.5  # a label switch would put a 4-unit jump in some draws


def test_unknown_method_is_rejected():
    shuffled, _, _ = _permuted_posterior(n_draws=2)
    with pytest.raises(ValueError, match="method must be one of 'hungarian', 'order'"):
        relabel(_idata(shuffled), method="stephens")
