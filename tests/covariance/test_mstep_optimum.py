"""Every model's M step against a brute-force maximisation over its free parameters.

The expected complete-data log-likelihood of the covariances is maximised by
``scipy.optimize`` over mclust's parametrisation ``Sigma_k = lambda_k D_k A_k D_k^T``
(log-volumes, log-shapes summing to 0, rotations as exponentials of skew-symmetric
matrices, each once or per component as the model's letters say), from several starts;
the M step must reach the best optimum found, to 1e-6 in the objective and the
covariances. The MAP step likewise maximises the same plus the structure's
``log_prior``, at the posterior means (which maximise it over the means).
"""

import numpy as np
import pytest
from scipy import optimize

from bayesmix.covariance import MCLUST_MODELS, get_structure
from bayesmix.covariance.prior import ConjugatePrior

#: (n_components, n_features) of the small problems.
SIZES = [(2, 2), (3, 3)]
N_STARTS = 3
PRIOR_MODELS = [name for name in MCLUST_MODELS if get_structure(name).supports_prior]


def _n_free(model, K, D):
    count = {"E": 1, "V": K, "I": 0}
    volume, shape, orientation = model
    return count[volume], count[shape] * (D - 1), count[orientation] * D * (D - 1) // 2


def _covariances(model, theta, K, D):
    """``Sigma_k = lambda_k D_k A_k D_k^T`` from the free parameters ``theta``."""
    n_volumes, n_shapes, n_angles = _n_free(model, K, D)
    log_volumes, rest = theta[:n_volumes], theta[n_volumes:]
    log_shapes, angles = rest[:n_shapes], rest[n_shapes:]
    volumes = np.broadcast_to(np.exp(log_volumes), (K,))
    free = log_shapes.reshape(-1, D - 1) if n_shapes else np.zeros((1, D - 1))
    shapes = np.exp(np.concatenate([free, -free.sum(axis=1, keepdims=True)], axis=1))
    shapes = np.broadcast_to(shapes, (K, D))
    rotations = (_rotations(angles.reshape(-1, D * (D - 1) // 2), D) if n_angles
                 else np.eye(D)[None])
    rotations = np.broadcast_to(rotations, (K, D, D))
    return (rotations * (volumes[:, None] * shapes)[:, None, :]) @ rotations.transpose(0, 2, 1)


def _rotations(angles, D):
    """Rotations ``exp(S)`` of skew-symmetric ``S``: an angle in 2-D, Rodrigues' in 3-D."""
    if D == 2:
        cos, sin = np.cos(angles[:, 0]), np.sin(angles[:, 0])
        return np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    angle = np.linalg.norm(angles, axis=1)[:, None, None] + 1e-300
    skew = np.zeros((len(angles), 3, 3))
    skew[:, [0, 0, 1], [1, 2, 2]] = angles
    skew = (skew - skew.transpose(0, 2, 1)) / angle
    return np.eye(3) + np.sin(angle) * skew + (1 - np.cos(angle)) * skew @ skew


def _objective(weights, scatters, covariances):
    """``-1/2 sum_k [w_k log|Sigma_k| + tr(S_k inv(Sigma_k))]``."""
    log_det = np.linalg.slogdet(covariances)[1]
    traces = np.einsum("kde,ked->k", scatters, np.linalg.inv(covariances))
    return -0.5 * float(np.sum(weights * log_det + traces))


def _problem(K, D, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(12 * K * D, D)) @ rng.normal(size=(D, D)) + rng.normal(size=D)
    resp = rng.dirichlet(np.full(K, 0.7), size=len(X))
    counts = resp.sum(axis=0)
    means = resp.T @ X / counts[:, None]
    centred = X[:, None, :] - means
    scatters = np.einsum("nk,nkd,nke->kde", resp, centred, centred)
    return X, resp, counts, means, scatters


def _statistics(structure, X, resp, counts, means):
    """What the M step reads: second moments of its kind, the total scatter."""
    second = np.einsum("nk,nd,ne->kde", resp, X, X)
    if structure.second_moments == "diagonal":
        second = np.einsum("kdd->kd", second)
    elif structure.second_moments is None:
        second = None
    return second, X.T @ X


def brute_force(model, K, D, objective, seed=0):
    """The best maximum of ``objective(covariances)`` over ``model``'s free parameters."""
    n_free = sum(_n_free(model, K, D))
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(N_STARTS):
        start = rng.normal(scale=0.5, size=n_free)
        result = optimize.minimize(lambda theta: -objective(_covariances(model, theta, K, D)),
                                   start, method="BFGS", options={"gtol": 1e-10})
        if best is None or result.fun < best.fun:
            best = result
    return -best.fun, _covariances(model, best.x, K, D)


@pytest.mark.parametrize(("K", "D"), SIZES)
@pytest.mark.parametrize("model", MCLUST_MODELS)
def test_m_step_is_the_maximum_over_the_free_parameters(model, K, D):
    structure = get_structure(model)
    X, resp, counts, means, scatters = _problem(K, D, seed=K + D)
    second, total = _statistics(structure, X, resp, counts, means)
    ours = structure.to_full(structure.m_step(counts, means, second, total, 0.0), K, D)
    best, optimum = brute_force(model, K, D, lambda cov: _objective(counts, scatters, cov))
    reached = _objective(counts, scatters, ours)
    assert reached >= best - 1e-9 * abs(best)
    assert reached == pytest.approx(best, rel=1e-6)
    np.testing.assert_allclose(ours, optimum, rtol=1e-6, atol=1e-6 * np.abs(optimum).max())


def _prior(structure, D, shrinkage, seed):
    """A prior far enough from the data to matter, resolved (checked) for ``structure``."""
    rng = np.random.default_rng(seed)
    if structure.estimates_correlations:
        root = rng.normal(size=(D, D))
        scale = root @ root.T + D * np.eye(D)
    else:
        scale = 1.7
    mean = rng.normal(scale=2.0, size=D) if shrinkage else None
    return ConjugatePrior(shrinkage=shrinkage, mean=mean, dof=D + 1.5, scale=scale)


@pytest.mark.parametrize("shrinkage", [0.0, 3.0])
@pytest.mark.parametrize(("K", "D"), SIZES + [(1, 2)])
@pytest.mark.parametrize("model", PRIOR_MODELS)
def test_map_step_is_the_posterior_mode(model, K, D, shrinkage):
    structure = get_structure(model)
    X, resp, counts, means, scatters = _problem(K, D, seed=K + D + 7)
    prior = _prior(structure, D, shrinkage, seed=K + D).resolve(X, structure, K)
    second, total = _statistics(structure, X, resp, counts, means)
    ours = structure.to_full(structure.map_step(counts, means, second, total, 0.0, prior),
                             K, D)
    posterior_means = prior.posterior_means(counts, means)

    def log_posterior(covariances, centres=posterior_means):
        offsets = means - centres
        about = scatters + counts[:, None, None] * offsets[:, :, None] * offsets[:, None, :]
        return _objective(counts, about, covariances) + float(
            structure.log_prior(centres, structure.from_full(covariances), prior))

    best, optimum = brute_force(model, K, D, log_posterior)
    reached = log_posterior(ours)
    assert reached >= best - 1e-9 * abs(best)
    assert reached == pytest.approx(best, rel=1e-6)
    np.testing.assert_allclose(ours, optimum, rtol=1e-6, atol=1e-6 * np.abs(optimum).max())
    # The posterior means maximise it over the means too: its gradient there (central
    # differences, exact for this quadratic up to round-off) vanishes, unlike at xbar_k.
    def gradient(centres, step=1e-3):
        moves = np.eye(K * D).reshape(K * D, K, D) * step
        return np.array([log_posterior(ours, centres + move) - log_posterior(ours, centres - move)
                         for move in moves]) / (2 * step)

    assert np.abs(gradient(posterior_means)).max() <= 1e-7 * max(
        1.0, np.abs(gradient(means)).max())
