"""How many clusters? The posterior of the number of occupied components.

A sparse finite mixture (Malsiner-Walli, Fruhwirth-Schnatter and Grun 2016) fits more
components than the data have clusters (an overfitted mixture, say ``K = 10``) under a
Dirichlet prior on the weights whose concentration is far below 1
(:meth:`MixturePriors.sparse <bayesmix.bayes.MixturePriors.sparse>`, 0.01): the posterior
then leaves the superfluous components empty (Rousseau and Mengersen 2011), and the
number of *occupied* components, those to which at least one observation is allocated,
estimates the number of clusters. Its posterior distribution answers "how many
clusters?" with probabilities rather than a choice by a criterion.

bayesmix's model marginalises the labels, so the draws hold no allocations. For each
posterior draw, :func:`occupied_components` draws every row's label from its
responsibilities under that draw's parameters (the labels' full conditional, which the
data-augmentation step of Malsiner-Walli et al.'s Gibbs sampler draws) and counts the
components that received at least one row. Counting components whose weight exceeds a
threshold instead would depend on the threshold; the expected number of occupied
components would not be an integer. One allocation per draw adds no more Monte Carlo
noise than the posterior sample already has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesmix._validation import check_random_state
from bayesmix.covariance import precision_cholesky
from bayesmix.density import responsibilities
from bayesmix.results import family_draws, family_of
from bayesmix.scoring import inference_data, is_point_mass

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["draw_labels", "occupied_components", "posterior_n_components"]

#: The fewest draws per chain ArviZ computes R-hat and ESS from.
_MIN_DRAWS = 4


def draw_labels(probabilities: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """One category per row of ``probabilities`` (rows summing to 1), drawn with ``rng``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes.occupied import draw_labels
    >>> draw_labels(np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]),
    ...             np.random.RandomState(0))
    array([0, 1, 1])
    """
    cumulative = np.cumsum(probabilities, axis=-1)
    uniforms = rng.random_sample(cumulative.shape[:-1] + (1,))
    labels = (uniforms > cumulative).sum(axis=-1)
    return np.minimum(labels, cumulative.shape[-1] - 1)  # rounding: never past the last


def occupied_components(model: Any, random_state: Any = None) -> xr.DataArray:
    """The number of occupied components in every posterior draw.

    See the module docstring for how the allocations are drawn.

    Parameters
    ----------
    model : GaussianMixtureBayes or arviz.InferenceData
        A fitted posterior (more than one draw); its ``observed_data`` are allocated.
    random_state : int, RandomState instance or None, default=None
        Seeds the allocations.

    Returns
    -------
    xarray.DataArray of int, dims ``(chain, draw)``
        ``n_occupied``: usable with :func:`arviz.rhat` and :func:`arviz.ess` to check
        that the chains agree on the number of clusters.

    Raises
    ------
    ValueError
        For a point-mass (EM) fit.

    Examples
    --------
    Two draws of a three-component mixture of two clusters, one with an empty component:

    >>> import numpy as np
    >>> from bayesmix.bayes.occupied import occupied_components
    >>> from bayesmix.results import build_inference_data
    >>> X = np.array([[0.0], [0.1], [9.9], [10.0]])
    >>> idata = build_inference_data(
    ...     X=X, weights=np.array([[[0.5, 0.5, 0.0], [0.4, 0.3, 0.3]]]),
    ...     means=np.array([[[[0.0], [10.0], [50.0]], [[0.0], [10.0], [0.05]]]]),
    ...     covariances=np.full((1, 2, 3, 1, 1), 0.01), covariance_type="full",
    ...     inference_method="nuts")
    >>> occupied_components(idata, random_state=0).values
    array([[2, 3]])
    """
    import xarray as xr

    idata = inference_data(model)
    if is_point_mass(idata):
        raise ValueError(
            "The number of occupied components needs posterior draws, but this fit is a "
            "point mass (an EM fit). Fit GaussianMixtureBayes with more components than "
            "clusters and priors=MixturePriors.sparse()."
        )
    rng = check_random_state(random_state)
    X = idata.observed_data["x"].transpose("obs", "feature").values
    posterior = idata.posterior
    weights = posterior["weights"].transpose("chain", "draw", "component").values
    means = posterior["means"].transpose("chain", "draw", "component", "feature").values
    factors = precision_cholesky(posterior["covariances"].transpose(
        "chain", "draw", "component", "feature", "feature_bis").values, "full")
    family = family_of(idata)
    parameters = family_draws(posterior, family)
    n_components = weights.shape[-1]
    counts = np.empty(weights.shape[:2], dtype=np.int64)
    for index in np.ndindex(*counts.shape):
        resp = responsibilities(X, weights[index], means[index], factors[index], "full",
                                family, {name: value[index]
                                         for name, value in parameters.items()})
        labels = draw_labels(resp, rng)
        counts[index] = np.count_nonzero(np.bincount(labels, minlength=n_components))
    return xr.DataArray(counts, dims=("chain", "draw"), name="n_occupied",
                        coords={"chain": posterior.chain.values, "draw": posterior.draw.values})


def posterior_n_components(model: Any, random_state: Any = None) -> pd.Series:
    """Posterior probabilities of the number of occupied components (clusters).

    The fraction of posterior draws with each number of occupied components
    (:func:`occupied_components`). With a sparse prior on the weights of an overfitted
    mixture (``GaussianMixtureBayes(10, priors=MixturePriors.sparse())``) this is the
    posterior of the number of clusters (see the module docstring).

    Parameters
    ----------
    model : GaussianMixtureBayes or arviz.InferenceData
        A fitted posterior.
    random_state : int, RandomState instance or None, default=None
        Seeds the allocations.

    Returns
    -------
    pandas.Series
        Indexed by ``n_components`` (1 to the fitted number), named ``probability``;
        ``attrs["rhat"]`` and ``attrs["ess_bulk"]`` are ArviZ's R-hat and bulk
        effective sample size of the per-draw counts (NaN for a single chain, fewer
        than four draws per chain, or when every draw has the same count), which say
        whether the chains agree on the number of clusters.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes.occupied import posterior_n_components
    >>> from bayesmix.results import build_inference_data
    >>> X = np.array([[0.0], [0.1], [9.9], [10.0]])
    >>> idata = build_inference_data(
    ...     X=X, weights=np.array([[[0.5, 0.5, 0.0], [0.4, 0.3, 0.3]]]),
    ...     means=np.array([[[[0.0], [10.0], [50.0]], [[0.0], [10.0], [0.05]]]]),
    ...     covariances=np.full((1, 2, 3, 1, 1), 0.01), covariance_type="full",
    ...     inference_method="nuts")
    >>> posterior_n_components(idata, random_state=0)
    n_components
    1    0.0
    2    0.5
    3    0.5
    Name: probability, dtype: float64
    """
    import arviz as az

    counts = occupied_components(model, random_state)
    n_components = inference_data(model).posterior.sizes["component"]
    frequencies = np.bincount(counts.values.ravel(), minlength=n_components + 1)[1:]
    table = pd.Series(frequencies / counts.size, name="probability",
                      index=pd.RangeIndex(1, n_components + 1, name="n_components"))
    values = counts.values.astype(np.float64)
    # R-hat needs two chains, and both need draws that vary; ESS at least 4 draws.
    varies = bool(values.std() > 0) and values.shape[1] >= _MIN_DRAWS
    table.attrs["rhat"] = (float(az.rhat(values)) if varies and values.shape[0] > 1
                           else np.nan)
    table.attrs["ess_bulk"] = float(az.ess(values)) if varies else np.nan
    return table
