"""Shared data and fitted posteriors for the Bayesian tests.

Fits are expensive (compilation dominates), so each (structure, method) pair is fitted
at most once per session, on first use, with tiny draws; tests only read them.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from bayesmix.bayes import GaussianMixtureBayes
from bayesmix.bayes.backends import BACKENDS
from bayesmix.covariance import posterior_structures
from bayesmix.datasets import make_mixture
from bayesmix.exceptions import SamplerDiagnosticWarning, VIConvergenceWarning

N_SAMPLES = 240
N_COMPONENTS = 2
FEATURE_NAMES = ["length", "width"]
#: Tiny settings of the fast tier: enough for loose recovery, not for diagnostics.
FAST_FIT = {
    "nuts": {"draws": 100, "tune": 150, "chains": 2},
    "advi": {"draws": 200, "n_iter": 3000},
    "fullrank_advi": {"draws": 200, "n_iter": 3000},
    "gibbs": {"draws": 100, "tune": 50, "chains": 2},
}
#: The back ends of the PyMC model, which fit every structure (Gibbs fits ``full`` only;
#: test_backends.py checks it with the others).
METHODS = tuple(name for name in FAST_FIT if BACKENDS[name].covariance_types is None)


@pytest.fixture(scope="session")
def mixtures():
    """A two-component, two-feature sample with known truth for every structure."""
    return {
        covariance_type: make_mixture(N_SAMPLES, N_COMPONENTS, 2, covariance_type,
                                      random_state=seed)
        for seed, covariance_type in enumerate(posterior_structures())
    }


def as_frame(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(X, columns=FEATURE_NAMES)


def quiet_fit(estimator, X, method, **kwargs):
    """Fit, ignoring the diagnostics warnings that tiny draws are expected to raise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerDiagnosticWarning)
        warnings.simplefilter("ignore", VIConvergenceWarning)
        return estimator.fit(X, method=method, **{**FAST_FIT[method], **kwargs})


@pytest.fixture(scope="session")
def fitted(mixtures):
    """``fitted(covariance_type, method)``: a fast-tier fit, shared by the session.

    NUTS fits get a DataFrame (so feature names flow through), VI fits an array.
    """
    cache = {}

    def get(covariance_type: str, method: str) -> GaussianMixtureBayes:
        key = (covariance_type, method)
        if key not in cache:
            X = mixtures[covariance_type].X
            data = as_frame(X) if method == "nuts" else X
            estimator = GaussianMixtureBayes(N_COMPONENTS, covariance_type=covariance_type,
                                             random_state=0)
            cache[key] = quiet_fit(estimator, data, method)
        return cache[key]

    return get
