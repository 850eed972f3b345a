"""float32 data: computed in float32 passes with float64 accumulation, returned in float32."""

import numpy as np
import pytest

from bayesmix import GaussianMixtureEM, make_mixture
from bayesmix.covariance import get_structure, structure_names
from bayesmix.em.statistics import SufficientStatistics


@pytest.fixture(scope="module")
def data():
    return make_mixture(20_000, n_components=3, n_features=3, random_state=1).X


@pytest.mark.parametrize("covariance_type", structure_names())
def test_float32_fit_matches_float64_and_keeps_the_dtype(data, covariance_type):
    settings = {"n_components": 3, "covariance_type": covariance_type, "random_state": 0,
                "tol": 1e-6, "max_iter": 300}
    fit64 = GaussianMixtureEM(**settings).fit(data)
    fit32 = GaussianMixtureEM(**settings).fit(data.astype(np.float32))
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert getattr(fit32, name).dtype == np.float32, name
    X32 = data.astype(np.float32)
    assert fit32.score_samples(X32).dtype == np.float32
    assert fit32.predict_proba(X32).dtype == np.float32
    # Same optimum: float32 passes lose about 1e-7 per value, not the fit.
    assert fit32.score(data) == pytest.approx(fit64.score(data), rel=1e-5)
    np.testing.assert_allclose(np.sort(fit32.means_, axis=0), np.sort(fit64.means_, axis=0),
                               rtol=1e-3, atol=1e-3)


def test_statistics_of_float32_blocks_add_up_in_float64():
    """A float32 running count stops at 2**24; the statistics keep counting."""
    stats = SufficientStatistics.zeros(1, 1, get_structure("full"))
    stats.counts[:] = 2.0**24
    block = np.ones((1, 1), dtype=np.float32)
    stats.add_block(block, np.ones((1, 1), dtype=np.float32))
    assert stats.counts.dtype == np.float64
    assert stats.counts[0] == 2.0**24 + 1
    assert stats.second_moments.dtype == np.float64
