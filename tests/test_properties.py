"""Property tests of GaussianMixtureEM (hypothesis).

Every EM fit here starts from given initial parameters (``weights_init``, ``means_init``,
``precisions_init``) and runs a fixed number of iterations (``tol=0``), so two fits are
compared iteration for iteration and the properties are exact up to floating-point
rounding. The data are a well-separated three-component sample, and linear maps have a
bounded condition number, so that a failure points at the library, not at round-off.
"""

import functools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.mixture import GaussianMixture

from bayesmix import GaussianMixtureEM, make_mixture
from bayesmix.covariance import get_structure, structure_names

N_COMPONENTS = 3
N_ITER = 8
SETTINGS = settings(max_examples=15, deadline=None)


@functools.cache
def _data(covariance_type):
    """A well-separated sample and the EM fit from the truth, per structure."""
    X, _, params = make_mixture(150, n_components=N_COMPONENTS, n_features=2,
                                covariance_type=covariance_type, random_state=1)
    init = {"weights_init": params["weights"], "means_init": params["means"],
            "precisions_init": _inverse(params["covariances"], covariance_type)}
    return X, init


def _inverse(covariances, covariance_type):
    return get_structure(covariance_type).covariances_from_precisions(covariances)


def _fit(X, init, covariance_type, reg_covar=1e-6, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a fixed number of iterations does not converge
        return GaussianMixtureEM(N_COMPONENTS, covariance_type=covariance_type,
                                 max_iter=N_ITER, tol=0.0, reg_covar=reg_covar,
                                 **init, **kwargs).fit(X)


# ----------------------------------------------------------------- invariances
@pytest.mark.parametrize("covariance_type", structure_names())
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_log_likelihood_is_invariant_to_row_order(covariance_type, seed):
    X, init = _data(covariance_type)
    order = np.random.default_rng(seed).permutation(len(X))
    fit = _fit(X, init, covariance_type)
    shuffled = _fit(X[order], init, covariance_type)
    assert shuffled.lower_bound_ == pytest.approx(fit.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(shuffled.means_, fit.means_, rtol=1e-9)
    np.testing.assert_allclose(shuffled.score_samples(X), fit.score_samples(X), rtol=1e-9)


@pytest.mark.parametrize("covariance_type", structure_names())
@SETTINGS
@given(labels=st.permutations(range(N_COMPONENTS)))
def test_log_likelihood_is_invariant_to_component_labels(covariance_type, labels):
    """Permuting the initial components permutes the fit and leaves the likelihood alone."""
    X, init = _data(covariance_type)
    labels = list(labels)
    permuted = dict(init)
    permuted["weights_init"] = init["weights_init"][labels]
    permuted["means_init"] = init["means_init"][labels]
    if covariance_type != "tied":  # one shared covariance has no labels
        permuted["precisions_init"] = init["precisions_init"][labels]
    fit = _fit(X, init, covariance_type)
    relabelled = _fit(X, permuted, covariance_type)
    assert relabelled.lower_bound_ == pytest.approx(fit.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(relabelled.means_, fit.means_[labels], rtol=1e-9)
    np.testing.assert_allclose(relabelled.weights_, fit.weights_[labels], rtol=1e-9)
    np.testing.assert_allclose(relabelled.score_samples(X), fit.score_samples(X), rtol=1e-9)
    np.testing.assert_array_equal(np.asarray(labels)[relabelled.predict(X)], fit.predict(X))


# ----------------------------------------------------------------- affine equivariance
def _orthogonal(rng):
    q, r = np.linalg.qr(rng.standard_normal((2, 2)))
    return q * np.sign(np.diag(r))


def _maps(covariance_type):
    """Which linear maps keep the structure's constraints (mclust's letters say it).

    Any invertible map when the shape and orientation are both equal or both variable
    (VVV, EEE, VEE, EVV: ``A C A^T`` is again a free matrix), diagonal maps for the
    axis-aligned structures with a shape (VVI, EEI, VEI, EVI), and a scalar times a
    rotation for the others (VII, EII and those whose orientation is tied to the shape).
    """
    _, shape, orientation = get_structure(covariance_type).name
    if shape == orientation and shape != "I":
        return "any"
    return "diagonal" if orientation == "I" and shape != "I" else "similarity"


def _affine_map(covariance_type, seed, scales):
    """A linear map of the data that keeps ``covariance_type``'s structure.

    Any invertible map (rotation, scaling, rotation), a diagonal one (signs and scales)
    or a scalar times a rotation, as :func:`_maps` says. The scales lie in [0.5, 2], so
    the condition number is at most 4.
    """
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=2)
    maps = _maps(covariance_type)
    if maps == "any":
        return _orthogonal(rng) @ np.diag(scales) @ _orthogonal(rng)
    if maps == "diagonal":
        return np.diag(signs * scales)
    return scales[0] * _orthogonal(rng)


def _transformed_init(init, A, b, covariance_type):
    """Initial parameters mapped by x -> A x + b: means A m + b, precisions A^-T P A^-1."""
    inverse = np.linalg.inv(A)
    structure = get_structure(covariance_type)
    n_components, n_features = init["means_init"].shape
    full = structure.to_full(init["precisions_init"], n_components, n_features)
    precisions = structure.from_full(inverse.T @ full @ inverse)
    return {"weights_init": init["weights_init"], "means_init": init["means_init"] @ A.T + b,
            "precisions_init": precisions}


@pytest.mark.parametrize("covariance_type", structure_names())
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1),
       scales=arrays(np.float64, 2, elements=st.floats(0.5, 2.0)),
       shift=arrays(np.float64, 2, elements=st.floats(-100.0, 100.0)))
def test_affine_map_shifts_log_likelihood_by_log_det(covariance_type, seed, scales, shift):
    """EM is affine equivariant: fitting A X + b from the mapped start maps the fit.

    Both fits run ``N_ITER`` EM steps from corresponding initial parameters with
    ``reg_covar=0`` (the regularisation ``reg_covar * I`` is the one step that is not
    equivariant), so every iterate of the second fit is the image of the first's: means
    ``A m + b``, covariances ``A S A^T``. Each log density then drops by exactly
    ``log|det A|``, and the BIC rises by ``2 N log|det A|``.
    """
    X, init = _data(covariance_type)
    A = _affine_map(covariance_type, seed, scales)
    Y = X @ A.T + shift
    log_det = np.log(abs(np.linalg.det(A)))
    fit = _fit(X, init, covariance_type, reg_covar=0.0)
    mapped = _fit(Y, _transformed_init(init, A, shift, covariance_type), covariance_type,
                  reg_covar=0.0)
    np.testing.assert_allclose(mapped.means_, fit.means_ @ A.T + shift, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(mapped.score_samples(Y), fit.score_samples(X) - log_det,
                               rtol=1e-8, atol=1e-8)
    assert mapped.bic(Y) == pytest.approx(fit.bic(X) + 2 * len(X) * log_det, rel=1e-9)


# ----------------------------------------------------------------- restarts
@SETTINGS
@given(seed=st.integers(0, 2**31 - 2), n_init=st.integers(1, 4),
       init_params=st.sampled_from(["kmeans", "k-means++", "random", "random_from_data"]))
def test_a_seed_gives_scikit_learns_restarts(seed, n_init, init_params):
    """The same ``random_state`` gives scikit-learn's fit, for every random start scheme.

    Both draw every restart's start from one generator in turn, keep the first of the
    best restarts, and run the same iterates, so the fits agree to round-off.
    """
    X, _ = _data("full")
    settings = {"n_components": N_COMPONENTS, "n_init": n_init, "init_params": init_params,
                "random_state": seed, "max_iter": 200}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = GaussianMixtureEM(**settings).fit(X)
        theirs = GaussianMixture(**settings).fit(X)
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-9)
    if n_init > 1:
        # Restarts that reach one optimum under permuted labels tie to round-off, and
        # either may win: compare the components as a set.
        order, their_order = np.argsort(ours.means_[:, 0]), np.argsort(theirs.means_[:, 0])
        np.testing.assert_allclose(ours.means_[order], theirs.means_[their_order],
                                   rtol=1e-7, atol=1e-9)
        return
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-7, atol=1e-12)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


# ----------------------------------------------------------------- far-away points
@functools.cache
def _fitted(covariance_type):
    X, init = _data(covariance_type)
    return _fit(X, init, covariance_type)


@pytest.mark.parametrize("covariance_type", structure_names())
@SETTINGS
@given(points=arrays(np.float64, st.tuples(st.integers(1, 5), st.just(2)),
                     elements=st.floats(-1e150, 1e150, allow_nan=False)))
def test_score_samples_is_finite_for_finite_input(covariance_type, points):
    em = _fitted(covariance_type)
    assert np.isfinite(em.score_samples(points)).all()
    proba = em.predict_proba(points)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize("covariance_type", structure_names())
def test_beyond_float64_range_log_density_is_minus_infinity_not_nan(covariance_type):
    """At 1e200 every log density overflows: -inf, and equal responsibilities."""
    em = _fitted(covariance_type)
    points = np.array([[1e200, -1e200], [0.0, 0.0]])
    log_density = em.score_samples(points)
    assert log_density[0] == -np.inf and np.isfinite(log_density[1])
    np.testing.assert_allclose(em.predict_proba(points)[0], 1.0 / N_COMPONENTS)
