"""The M and MAP steps against R mclust 6.0's own, on iris (no R needed to run).

``tests/data/mclust_mstep.json`` is written by ``tests/data/make_mclust_mstep.R``: mclust's
``mstep`` for every model, with fixed responsibilities, without and with
``priorControl()``, the first M step of its EM with the prior (``me`` for one iteration),
its ``defaultPrior`` values and a ``Mclust`` VEV fit. mclust works on the raw data; the
structures get statistics of the data centred by its mean, as the EM engine gives them,
so the means are compared after shifting back and the covariances as they are.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from bayesmix.covariance import MCLUST_MODELS, ONE_FEATURE_MODELS, get_structure
from bayesmix.covariance.prior import ConjugatePrior

FIXTURE = json.loads((Path(__file__).parents[1] / "data" / "mclust_mstep.json").read_text())
MODELS = FIXTURE["models"]
WITH_PRIOR = [name for name in MODELS if "map" in MODELS[name]]
#: Where mclust's mstep with the prior differs from its EM's MAP step, which Mclust fits
#: with and the structures follow: EEI and EVI divide by other counts (mseeip, msevip),
#: EEV drops the prior on the means (mseevp).
MSTEP_DIFFERS = {"EEI", "EVI", "EEV"}
RTOL = 1e-6


def _data(name):
    if name in ONE_FEATURE_MODELS:
        return np.array(FIXTURE["x1"])[:, None], np.array(FIXTURE["z1"])
    return np.array(FIXTURE["X"]), np.array(FIXTURE["z"])


def _statistics(structure, X, z):
    """Counts, means and second moments of the centred data, and the shift."""
    shift = X.mean(axis=0)
    centred = X - shift
    counts = z.sum(axis=0)
    means = z.T @ centred / counts[:, None]
    second = np.einsum("nk,nd,ne->kde", z, centred, centred)
    if structure.second_moments == "diagonal":
        second = np.einsum("kdd->kd", second)
    elif structure.second_moments is None:
        second = None
    return shift, counts, means, second, centred.T @ centred


def _mclust(fit, n_components, n_features):
    """mclust's (weights, means, covariances) as arrays."""
    sigma = np.array(fit["sigma"], dtype=np.float64).reshape(-1, n_features, n_features)
    means = np.array(fit["mean"], dtype=np.float64).reshape(n_components, n_features)
    return (np.array(fit["pro"], dtype=np.float64).reshape(n_components), means,
            np.broadcast_to(sigma, (n_components, n_features, n_features)))


def _objective(counts, scatters, covariances):
    log_det = np.linalg.slogdet(covariances)[1]
    return -0.5 * float(np.sum(counts * log_det
                               + np.einsum("kde,ked->k", scatters, np.linalg.inv(covariances))))


@pytest.mark.parametrize("name", MCLUST_MODELS + ONE_FEATURE_MODELS)
def test_m_step_is_mclusts(name):
    structure = get_structure(name)
    X, z = _data(name)
    K, D = z.shape[1], X.shape[1]
    shift, counts, means, second, total = _statistics(structure, X, z)
    ours = structure.to_full(structure.m_step(counts, means, second, total, 0.0), K, D)
    entry = MODELS[name]
    weights, mclust_means, mclust_covariances = _mclust(entry.get("ml_tight", entry["ml"]), K, D)
    np.testing.assert_allclose(counts / len(X), weights, rtol=1e-12)
    np.testing.assert_allclose(means + shift, mclust_means, rtol=1e-12)
    if name != "VVE":
        np.testing.assert_allclose(ours, mclust_covariances, rtol=RTOL,
                                   atol=RTOL * np.abs(mclust_covariances).max())
        return
    # mclust's VVE updates the common orientation without each component's volume
    # (msvve), which stops short of the maximum: ours is higher and nearby.
    scatters = np.einsum("nk,nkd,nke->kde", z, X[:, None] - mclust_means,
                         X[:, None] - mclust_means)
    assert _objective(counts, scatters, ours) > _objective(counts, scatters, mclust_covariances)
    np.testing.assert_allclose(ours, mclust_covariances, rtol=1e-2,
                               atol=1e-2 * np.abs(mclust_covariances).max())


@pytest.mark.parametrize("name", WITH_PRIOR)
def test_default_prior_is_mclusts(name):
    structure = get_structure(name)
    X, z = _data(name)
    prior = ConjugatePrior().resolve(X, structure, z.shape[1])
    expected = MODELS[name]["prior"]
    assert prior.shrinkage == expected["shrinkage"]
    assert prior.dof == expected["dof"]
    np.testing.assert_allclose(prior.mean, np.ravel(expected["mean"]), rtol=1e-12)
    np.testing.assert_allclose(prior.scale, np.reshape(expected["scale"], np.shape(prior.scale)),
                               rtol=1e-12)


@pytest.mark.parametrize("name", WITH_PRIOR)
def test_map_step_is_mclusts(name):
    structure = get_structure(name)
    X, z = _data(name)
    K, D = z.shape[1], X.shape[1]
    shift, counts, means, second, total = _statistics(structure, X, z)
    prior = ConjugatePrior().resolve(X, structure, K)
    centred = dataclasses.replace(prior, mean=prior.mean - shift)
    ours = structure.to_full(structure.map_step(counts, means, second, total, 0.0, centred),
                             K, D)
    ours_means = centred.posterior_means(counts, means) + shift
    for key in ("map_em", "map"):
        if key == "map" and name in MSTEP_DIFFERS:
            continue
        weights, mclust_means, mclust_covariances = _mclust(MODELS[name][key], K, D)
        np.testing.assert_allclose(counts / len(X), weights, rtol=1e-12)
        np.testing.assert_allclose(ours, mclust_covariances, rtol=RTOL,
                                   atol=RTOL * np.abs(mclust_covariances).max())
        if name == "EEI":  # mclust keeps EEI's ML means under the prior
            np.testing.assert_allclose(means + shift, mclust_means, rtol=1e-12)
            np.testing.assert_allclose(ours_means, mclust_means, rtol=1e-4)
        else:
            np.testing.assert_allclose(ours_means, mclust_means, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(MSTEP_DIFFERS))
def test_where_mclusts_mstep_differs_from_its_em_it_does(name):
    """The documented differences are real: mstep and the EM's MAP step disagree there."""
    K, D = np.array(FIXTURE["z"]).shape[1], 4
    mstep_covariances = _mclust(MODELS[name]["map"], K, D)[2]
    em_covariances = _mclust(MODELS[name]["map_em"], K, D)[2]
    assert np.abs(mstep_covariances - em_covariances).max() > 1e-4


def test_decomposition_follows_mclusts_conventions():
    """Mclust's VEV fit: scale (volume), shape (largest first), orientation (columns)."""
    reference = FIXTURE["vev_decomposition"]
    covariances = np.array(reference["sigma"])
    volumes, shapes, orientations = get_structure("VEV").decompose(covariances, 2, 4)
    np.testing.assert_allclose(volumes, reference["scale"], rtol=RTOL)
    np.testing.assert_allclose(shapes, np.broadcast_to(reference["shape"], (2, 4)), rtol=RTOL)
    expected = np.array(reference["orientation"])
    signs = np.sign(np.einsum("kdj,kdj->kj", orientations, expected))
    np.testing.assert_allclose(orientations * signs[:, None, :], expected, atol=RTOL)


def test_common_orientation_decomposition_is_mclusts_up_to_the_axes_order():
    """Mclust's EVE fit: one volume, one orientation, each component's shape along it."""
    reference = FIXTURE["eve_decomposition"]
    covariances = np.array(reference["sigma"])
    volumes, shapes, orientations = get_structure("EVE").decompose(covariances, 3, 4)
    np.testing.assert_allclose(volumes, reference["scale"], rtol=RTOL)
    np.testing.assert_allclose(orientations, np.broadcast_to(orientations[0], (3, 4, 4)))
    expected = np.array(reference["orientation"])
    # Our axes are in a fixed order of their own: match each of mclust's columns.
    overlap = np.abs(orientations[0].T @ expected)
    order = overlap.argmax(axis=0)
    np.testing.assert_allclose(overlap[order, np.arange(4)], 1.0, rtol=RTOL)
    np.testing.assert_allclose(shapes[:, order], np.array(reference["shape"]).T, rtol=RTOL)
