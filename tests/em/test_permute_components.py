"""GaussianMixtureEM.permute_components: the same mixture under new labels."""

import numpy as np
import pytest

from bayesmix import GaussianMixtureEM, make_mixture
from bayesmix.covariance import get_structure, structure_names

X = make_mixture(300, 3, 2, "full", random_state=0).X
ORDER = np.array([2, 0, 1])


@pytest.mark.parametrize("structure", structure_names())
def test_permuted_fit_is_the_same_mixture_under_new_labels(structure):
    em = GaussianMixtureEM(3, covariance_type=structure, random_state=0).fit(X)
    before = {name: getattr(em, name).copy() for name in
              ("weights_", "means_", "covariances_", "precisions_cholesky_")}
    proba, scores = em.predict_proba(X), em.score_samples(X)
    em.permute_components(ORDER)
    np.testing.assert_allclose(em.score_samples(X), scores, rtol=1e-12)
    np.testing.assert_allclose(em.predict_proba(X), proba[:, ORDER], rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(em.weights_, before["weights_"][ORDER])
    np.testing.assert_array_equal(em.means_, before["means_"][ORDER])
    shared = get_structure(structure).shares_covariance()
    for name in ("covariances_", "precisions_cholesky_"):
        expected = before[name] if shared else before[name][ORDER]
        np.testing.assert_array_equal(getattr(em, name), expected)


def test_degenerate_components_follow_their_new_labels():
    data = np.vstack([np.random.default_rng(0).normal(size=(100, 2)), np.full((10, 2), 5.0)])
    with pytest.warns(UserWarning):
        em = GaussianMixtureEM(2, random_state=0).fit(data)
    (old,) = em.degenerate_components_
    em.permute_components([1, 0])
    assert em.degenerate_components_ == [1 - old]
    assert list(em.degenerate_reasons_) == [1 - old]


@pytest.mark.parametrize("order", [[0, 0, 1], [0, 1], [0, 1, 3]])
def test_an_order_that_is_not_a_permutation_is_refused(order):
    em = GaussianMixtureEM(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"order must be a permutation of range\(3\), got "):
        em.permute_components(order)
