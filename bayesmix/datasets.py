"""Data sets: the real data shipped with bayesmix and simulated mixtures with known truth.

``load_old_faithful``
    Old Faithful geyser eruptions (272 x 2), the classic two-dimensional mixture data.
``load_low_dim_gauss_mix``
    posteriordb's ``low_dim_gauss_mix`` (1000 x 1), a benchmark for MCMC samplers.
``make_mixture``
    draws from a Gaussian mixture of any covariance structure, returning the true labels
    and parameters, for recovery tests and teaching.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from bayesmix._validation import (
    check_covariance_type,
    check_int,
    check_memory,
    check_random_state,
    check_real,
)
from bayesmix.covariance import get_structure

__all__ = ["MixtureSample", "load_low_dim_gauss_mix", "load_old_faithful", "make_mixture"]

#: Eigenvalues (variances) of the simulated covariances are drawn uniformly in this range.
_VARIANCE_RANGE = (0.5, 1.5)
#: Failed draws of a mean before the box they are drawn from is enlarged by 10 %.
_MAX_TRIES = 100


def _data_file(name: str):
    """A shipped data file (``bayesmix/data/<name>``) as an importlib resource."""
    return resources.files("bayesmix").joinpath("data", name)


def load_old_faithful() -> pd.DataFrame:
    """Load the Old Faithful geyser data (Azzalini and Bowman, 1990).

    272 eruptions of the Old Faithful geyser in Yellowstone: ``eruptions`` is the
    eruption time and ``waiting`` the waiting time to the next eruption, both in minutes.
    ``waiting`` is rounded to whole minutes, so a mixture with an unconstrained
    covariance can collapse a component onto one of its values (see the user guide).
    The data are R's ``datasets::faithful`` (public domain).

    Returns
    -------
    pandas.DataFrame of shape (272, 2)
        Columns ``eruptions`` (float) and ``waiting`` (int).

    Examples
    --------
    >>> from bayesmix import load_old_faithful
    >>> X = load_old_faithful()
    >>> X.shape
    (272, 2)
    >>> list(X.columns)
    ['eruptions', 'waiting']
    """
    with _data_file("old_faithful.csv").open("r") as handle:
        return pd.read_csv(handle)


def load_low_dim_gauss_mix() -> np.ndarray:
    """Load posteriordb's ``low_dim_gauss_mix`` data: a 1-D two-component mixture.

    1000 draws from a well separated one-dimensional mixture of two Gaussians, used by
    posteriordb (stan-dev/posteriordb) as a benchmark for MCMC samplers.

    Returns
    -------
    ndarray of shape (1000, 1)
        One column, ready to be passed to an estimator as ``X``.

    Examples
    --------
    >>> from bayesmix.datasets import load_low_dim_gauss_mix
    >>> y = load_low_dim_gauss_mix()
    >>> y.shape
    (1000, 1)
    """
    with _data_file("low_dim_gauss_mix.json").open("r") as handle:
        data = json.load(handle)
    return np.asarray(data["y"], dtype=np.float64).reshape(-1, 1)


class MixtureSample(NamedTuple):
    """A simulated mixture: the data, the true labels and the true parameters.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of shape (n_samples,)
        The component each row was drawn from.
    params : dict
        ``weights`` (n_components,), ``means`` (n_components, n_features),
        ``covariances`` in the stored shape of ``covariance_type`` (as
        ``GaussianMixtureEM.covariances_``) and ``covariance_type``.

    Examples
    --------
    A named tuple: unpack it, or read its fields by name.

    >>> from bayesmix import make_mixture
    >>> sample = make_mixture(100, n_components=2, random_state=0)
    >>> X, labels, params = sample
    >>> sample.X is X, sorted(sample.params)
    (True, ['covariance_type', 'covariances', 'means', 'weights'])
    """

    X: np.ndarray
    labels: np.ndarray
    params: dict[str, Any]


def _separated_means(
    rng: np.random.RandomState, n_components: int, n_features: int, min_distance: float
) -> np.ndarray:
    """Means drawn one by one in a box, each at least ``min_distance`` from the others."""
    side = max(min_distance, 1.0) * n_components ** (1.0 / n_features)
    means = np.empty((n_components, n_features))
    for k in range(n_components):
        tries = 0
        while True:
            candidate = rng.uniform(-side / 2, side / 2, size=n_features)
            if k == 0 or np.linalg.norm(means[:k] - candidate, axis=1).min() >= min_distance:
                break
            tries += 1
            if tries % _MAX_TRIES == 0:
                side *= 1.1
        means[k] = candidate
    return means


def make_mixture(
    n_samples: int,
    n_components: int = 3,
    n_features: int = 2,
    covariance_type: str = "full",
    *,
    separation: float = 6.0,
    random_state: Any = None,
) -> MixtureSample:
    """Draw a sample from a random Gaussian mixture with known parameters.

    The weights are drawn uniformly in [1, 2] and normalised (no component is more than
    twice as likely as another), every variance (eigenvalue of a covariance) lies in
    [0.5, 1.5], and the means are at least ``separation`` times the largest standard
    deviation apart, so the default mixture is well separated: EM recovers the labels.

    Parameters
    ----------
    n_samples : int
        Number of rows, at least 1.
    n_components : int, default=3
        Number of components, at least 1.
    n_features : int, default=2
        Number of features, at least 1.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Structure of the true covariances (see :mod:`bayesmix.covariance`).
    separation : float, default=6.0
        Smallest distance between two means, in units of the largest standard deviation
        of any component in any direction. Lower values (2 or 3) give overlapping
        components; 0 puts no constraint on the means.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible draws.

    Returns
    -------
    MixtureSample
        A named tuple ``(X, labels, params)``; ``params`` holds the true ``weights``,
        ``means``, ``covariances`` (stored shape of ``covariance_type``) and
        ``covariance_type``.

    Raises
    ------
    ValueError
        If an argument is out of range or ``covariance_type`` is unknown.

    Examples
    --------
    >>> from bayesmix import make_mixture
    >>> X, labels, params = make_mixture(500, n_components=3, covariance_type="diag",
    ...                                  random_state=0)
    >>> X.shape, labels.shape, params["covariances"].shape
    ((500, 2), (500,), (3, 2))
    >>> round(float(params["weights"].sum()), 6)
    1.0
    """
    n_samples = check_int(n_samples, "n_samples", min_value=1)
    n_components = check_int(n_components, "n_components", min_value=1)
    n_features = check_int(n_features, "n_features", min_value=1)
    check_covariance_type(covariance_type)
    separation = check_real(separation, "separation", min_value=0.0)
    rng = check_random_state(random_state)
    # X, the noise and each row's covariance factor (n_samples x n_features^2).
    check_memory(8.0 * n_samples * n_features * (n_features + 2),
                 f"make_mixture(n_samples={n_samples}, n_features={n_features})",
                 "Draw fewer rows or features.")

    weights = rng.uniform(1.0, 2.0, size=n_components)
    weights /= weights.sum()
    # Every variance in _VARIANCE_RANGE, in the structure's stored shape.
    structure = get_structure(covariance_type)
    covariances = structure.random_covariances(rng, n_components, n_features,
                                               *_VARIANCE_RANGE)
    full = structure.to_full(covariances, n_components, n_features)
    largest_sd = np.sqrt(np.linalg.eigvalsh(full).max())
    # Rows are means plus noise of about one standard deviation: beside means more than
    # 1/sqrt(eps) standard deviations from the origin, rounding takes more than half of
    # the noise's digits (at 1e300 every row was its mean).
    with np.errstate(over="ignore"):
        too_large = not separation * n_components < 1.0 / np.sqrt(np.finfo(np.float64).eps)
    if too_large:
        raise ValueError(
            f"separation={separation:g} is too large: beside means that far apart, float64 "
            f"would round away most of the rows' spread. Use a separation between 0 and a "
            f"few tens (default 6)."
        )
    means = _separated_means(rng, n_components, n_features, separation * largest_sd)

    labels = rng.choice(n_components, size=n_samples, p=weights)
    factors = np.linalg.cholesky(full)
    noise = rng.standard_normal((n_samples, n_features))
    X = means[labels] + np.einsum("nij,nj->ni", factors[labels], noise)
    params = {"weights": weights, "means": means, "covariances": covariances,
              "covariance_type": covariance_type}
    return MixtureSample(X, labels, params)
