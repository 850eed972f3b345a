"""The EM engine over data sources: iterations, SQUAREM, restarts, shared starts."""

import warnings

import numpy as np
import pytest

from bayesmix import GaussianMixtureEM, load_old_faithful
from bayesmix.covariance import STRUCTURES, get_structure
from bayesmix.em import init as em_init
from bayesmix.em.engine import EMEngine, EMSettings
from bayesmix.em.init import initial_responsibilities
from bayesmix.em.sources import InMemorySource
from bayesmix.exceptions import ConvergenceWarning

NAMES = [structure.name for structure in STRUCTURES]


@pytest.fixture(scope="module")
def faithful_source():
    return InMemorySource(load_old_faithful())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("accelerate", [False, True], ids=["plain", "squarem"])
def test_lower_bound_never_decreases(faithful_source, name, accelerate):
    """EM ascends; SQUAREM keeps only jumps that do not lower the bound.

    Up to 1e-9 per row: with ``reg_covar`` the M step is not the exact maximiser, which
    shows in the last digits near convergence.
    """
    engine = EMEngine(faithful_source, get_structure(name), 4,
                      EMSettings(tol=1e-10, max_iter=300, accelerate=accelerate))
    start = engine.from_responsibilities(
        initial_responsibilities(faithful_source.X, 4, "random", random_state=1))
    history = np.array(engine.run(start).history)
    assert np.all(np.diff(history) >= -1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_squarem_reaches_the_plain_optimum_in_fewer_passes(faithful_source, name):
    fits = {acceleration: GaussianMixtureEM(
        3, covariance_type=name, init_params="hc", tol=1e-9, max_iter=5000,
        acceleration=acceleration).fit(faithful_source) for acceleration in (None, "squarem")}
    plain, fast = fits[None], fits["squarem"]
    assert fast.lower_bound_ == pytest.approx(plain.lower_bound_, abs=1e-7)
    assert fast.n_iter_ <= plain.n_iter_


def test_fit_on_a_source_equals_fit_on_the_data():
    X = load_old_faithful()
    source = InMemorySource(X)
    for covariance_type in ("full", "diag"):
        direct = GaussianMixtureEM(3, covariance_type=covariance_type, random_state=0).fit(X)
        shared = GaussianMixtureEM(3, covariance_type=covariance_type,
                                   random_state=0).fit(source)
        np.testing.assert_array_equal(shared.means_, direct.means_)
        np.testing.assert_array_equal(shared.predict(X), direct.predict(X))
        assert list(shared.feature_names_in_) == ["eruptions", "waiting"]


def test_source_with_sample_weight_is_refused(faithful_source):
    with pytest.raises(ValueError, match="sample_weight was passed with a data source"):
        GaussianMixtureEM(2).fit(faithful_source, sample_weight=np.ones(272))


def test_kmeans_partitions_are_shared_through_the_cache(monkeypatch):
    calls = []
    real = em_init.KMeans

    def counting(*args, **kwargs):
        calls.append(kwargs["n_clusters"])
        return real(*args, **kwargs)

    monkeypatch.setattr(em_init, "KMeans", counting)
    source = InMemorySource(load_old_faithful())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for covariance_type in ("full", "tied", "diag", "spherical"):
            GaussianMixtureEM(3, covariance_type=covariance_type, n_init=2,
                              random_state=0).fit(source)
    assert calls == [3, 3]  # one k-means per seed, shared by the four structures


def test_hierarchical_start_is_deterministic_and_cached(faithful_source):
    first = initial_responsibilities(faithful_source.X, 3, "hc", random_state=0,
                                     cache=faithful_source.cache)
    again = initial_responsibilities(faithful_source.X, 3, "hc", random_state=99,
                                     cache=faithful_source.cache)
    np.testing.assert_array_equal(first, again)
    assert ("hc", 3) in faithful_source.cache


def test_hierarchical_start_refuses_unequal_weights():
    X = load_old_faithful().to_numpy()
    weights = np.ones(len(X))
    weights[0] = 2.0
    with pytest.raises(ValueError, match="init_params='hc' does not take sample_weight"):
        GaussianMixtureEM(2, init_params="hc").fit(X, sample_weight=weights)
