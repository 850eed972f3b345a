"""Inference for :func:`~bayesmix.bayes.build_model`: what every back end shares.

The back ends themselves live in :mod:`bayesmix.bayes.backends` (NUTS in
:mod:`~bayesmix.bayes.backends.nuts`, ADVI and full-rank ADVI in
:mod:`~bayesmix.bayes.backends.advi`) and the checks of draws from several chains in
:mod:`bayesmix.bayes.diagnostics`. This module holds what they share, the initial values
of the model's free variables from mixture parameters (every chain starts from a
maximum-likelihood EM fit, jittered per chain, so that the warm-up starts in the typical
set instead of searching for it and every chain starts in the same labelling mode), and
is the one import path of the functions a user calls directly:

>>> from bayesmix.bayes.inference import fit_vi, initial_values, sample_nuts
"""

from __future__ import annotations

import numpy as np

from bayesmix.bayes.backends.advi import VI_METHODS, VIResult, fit_vi
from bayesmix.bayes.backends.nuts import (
    NUTS_SAMPLERS,
    check_initial_points,
    configure_host_devices,
    default_nuts_sampler,
    sample_nuts,
)
from bayesmix.bayes.diagnostics import (
    chain_disagreement,
    check_sampler_diagnostics,
    record_diagnostics,
)
from bayesmix.bayes.model import weights_initial_values
from bayesmix.bayes.priors import MixturePriors
from bayesmix.bayes.scales import get_scale

__all__ = [
    "NUTS_SAMPLERS",
    "VI_METHODS",
    "configure_host_devices",
    "default_nuts_sampler",
    "initial_values",
    "sample_nuts",
    "fit_vi",
    "VIResult",
    "check_initial_points",
    "check_sampler_diagnostics",
    "chain_disagreement",
    "record_diagnostics",
]


def initial_values(
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    covariance_type: str,
    priors: MixturePriors,
    *,
    ordered_means: bool = False,
    rng: np.random.Generator | None = None,
    jitter: float = 0.0,
) -> dict[str, np.ndarray]:
    """Initial values of the model's free variables from mixture parameters (e.g. EM).

    Parameters
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
        Full matrices (see :func:`bayesmix.covariance.to_full`); for ``tied`` they are
        averaged, for ``diag`` and ``spherical`` only their diagonals are used.
    covariance_type : str
        A structure the posterior supports (see :mod:`bayesmix.bayes.scales`).
    priors : MixturePriors
        The model's resolved priors (``means_loc`` and ``means_scale`` turn the means
        into the model's standard normal offsets).
    ordered_means : bool, default=False
        Whether the model orders the components by their first mean coordinate.
    rng : numpy.random.Generator, optional
        Source of the jitter.
    jitter : float, default=0
        Relative size of the random perturbation: log weights and log standard
        deviations move by about ``jitter``, means by ``jitter`` standard deviations,
        correlations by about ``jitter`` on the Fisher-z scale.

    Returns
    -------
    dict
        Values in the constrained space, keyed by the model's variable names (PyMC's
        ``initvals``).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import MixturePriors
    >>> from bayesmix.bayes.inference import initial_values
    >>> priors = MixturePriors(means_loc=[0.0, 0.0], means_scale=[2.0, 2.0])
    >>> init = initial_values(np.array([0.4, 0.6]), np.array([[1.0, 0.0], [-1.0, 0.0]]),
    ...                       np.stack([np.eye(2)] * 2), "full", priors, ordered_means=True)
    >>> init["means_offset_first"], init["corr_cpc"]
    (array([-0.5,  0.5]), array([[0.5],
           [0.5]]))
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    n_components, n_features = means.shape
    sds = np.sqrt(np.diagonal(covariances, axis1=-2, axis2=-1))
    correlation = covariances / (sds[:, :, None] * sds[:, None, :])
    noise = lambda *shape: jitter * rng.standard_normal(shape)  # noqa: E731

    weights = np.clip(weights, 1e-3, None) * np.exp(noise(n_components))
    means = means + noise(n_components, n_features) * sds
    order = np.argsort(means[:, 0]) if ordered_means else np.arange(n_components)
    values = weights_initial_values((weights / weights.sum())[order], priors)
    means, sds, correlation = means[order], sds[order], correlation[order]
    offsets = (means - priors.means_loc) / priors.means_scale
    if ordered_means:
        values["means_offset_first"] = offsets[:, 0]
        if n_features > 1:
            values["means_offset_rest"] = offsets[:, 1:]
    else:
        values["means_offset"] = offsets

    values.update(get_scale(covariance_type).initial_values(sds, correlation, noise))
    return values
