"""Diagnostics of posterior draws from several chains: divergences, chains in other modes,
R-hat and bulk ESS, each reported by a specific warning and recorded in the InferenceData.

Run them on relabelled draws (:func:`bayesmix.relabel.relabel`): label switching alone
makes R-hat and ESS of raw mixture draws meaningless. Every ArviZ call of the sampler
diagnostics is in :func:`check_sampler_diagnostics`.
"""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesmix.exceptions import (
    ChainDisagreementWarning,
    DivergenceWarning,
    ESSWarning,
    RhatWarning,
)

if TYPE_CHECKING:
    import arviz as az
    import xarray as xr

__all__ = [
    "CHAIN_DISTANCE_THRESHOLD",
    "ESS_PER_CHAIN_THRESHOLD",
    "RHAT_THRESHOLD",
    "chain_disagreement",
    "check_sampler_diagnostics",
    "record_diagnostics",
]

#: Diagnostic thresholds (Vehtari et al. 2021, as used by ArviZ and PyMC).
RHAT_THRESHOLD = 1.01
ESS_PER_CHAIN_THRESHOLD = 100

#: A chain whose posterior mean of a relabelled parameter lies more than this many
#: within-chain standard deviations from the median over the chains is reported as stuck
#: in another mode. Chains in one mode differ by Monte Carlo error only, a small
#: fraction of a standard deviation.
CHAIN_DISTANCE_THRESHOLD = 3.0


def _flat_parameters(posterior: xr.Dataset) -> tuple[np.ndarray, list[str]]:
    """Every scalar parameter as a column: values (chain, draw, parameter) and names."""
    columns, names = [], []
    for name, variable in posterior.data_vars.items():
        variable = variable.transpose("chain", "draw", ...)
        inner = variable.dims[2:]
        columns.append(variable.values.reshape(variable.sizes["chain"],
                                               variable.sizes["draw"], -1))
        labels = [[str(v) for v in variable[d].values] for d in inner]
        names.extend(f"{name}[{', '.join(index)}]" if index else name
                     for index in itertools.product(*labels))
    return np.concatenate(columns, axis=2), names


def chain_disagreement(
    idata: az.InferenceData, var_names: tuple[str, ...] = ("weights", "means")
) -> dict[str, Any]:
    """How far each chain's posterior means lie from the consensus, in standard deviations.

    For every chain and every scalar parameter of ``var_names``, the distance between
    the chain's mean and the median of all chains' means (the consensus: a majority of
    chains in one mode pins it there), divided by the median within-chain standard
    deviation of that parameter; a chain's distance is its largest over the parameters.
    With two chains the median is their midpoint, so each is half their gap away.

    Run it on relabelled draws: label switching alone moves chains between the ``K!``
    symmetric modes.

    Parameters
    ----------
    idata : arviz.InferenceData
    var_names : tuple of str, default=("weights", "means")

    Returns
    -------
    dict
        ``distance`` (ndarray of shape (n_chains,)), ``parameter`` (the parameter of the
        largest distance, per chain), ``chain_mean`` and ``consensus`` (that
        parameter's mean in the chain and the median over the chains).

    Examples
    --------
    >>> import arviz as az
    >>> import numpy as np
    >>> from bayesmix.bayes.diagnostics import chain_disagreement
    >>> draws = np.random.default_rng(0).normal(size=(3, 200, 2))
    >>> draws[2] += [0.0, 10.0]  # chain 2 elsewhere in its second mean
    >>> idata = az.from_dict(posterior={"means": draws}, dims={"means": ["component"]})
    >>> result = chain_disagreement(idata)
    >>> result["distance"].round(0), result["parameter"][2]
    (array([ 0.,  0., 10.]), 'means[1]')
    """
    values, names = _flat_parameters(idata.posterior[[v for v in var_names
                                                      if v in idata.posterior]])
    chain_means = values.mean(axis=1)
    scale = np.median(values.std(axis=1, ddof=1), axis=0)
    scale = np.where(scale > 0, scale, np.inf)  # a constant parameter tells nothing
    consensus = np.median(chain_means, axis=0)
    distances = np.abs(chain_means - consensus) / scale
    worst = distances.argmax(axis=1)
    chains = np.arange(values.shape[0])
    return {"distance": distances[chains, worst],
            "parameter": [names[j] for j in worst],
            "chain_mean": chain_means[chains, worst],
            "consensus": consensus[worst]}


def _warn(issued: list[dict[str, str]], message: str, category: type[Warning]) -> None:
    """Warn (from the caller of the public function) and keep a record of it."""
    issued.append({"warning": category.__name__, "message": message})
    warnings.warn(message, category, stacklevel=4)


def _divergence_message(per_chain: np.ndarray, n_draws: int) -> str:
    n_chains = len(per_chain)
    where = ", ".join(f"chain {c}: {int(n)}" for c, n in enumerate(per_chain) if n)
    concentrated = ""
    if n_chains > 1 and np.count_nonzero(per_chain) == 1:
        concentrated = (" They all come from one chain, which may be stuck in a region "
                        "the others do not visit.")
    return (
        f"{int(per_chain.sum())} divergent transition(s) out of {n_chains * n_draws} draws "
        f"({where}): the sampler could not follow the posterior everywhere, so the draws "
        f"may be biased.{concentrated} Raise target_accept (e.g. 0.95), use fewer "
        f"components (an empty component makes a funnel), or pass ordered_means=True."
    )


def _disagreement_message(disagreement: dict[str, Any], flagged: np.ndarray) -> str:
    details = "; ".join(
        f"chain {c}: posterior mean of {disagreement['parameter'][c]} "
        f"{disagreement['chain_mean'][c]:.3g} against a median of "
        f"{disagreement['consensus'][c]:.3g} over the chains, "
        f"{disagreement['distance'][c]:.1f} within-chain standard deviations away"
        for c in flagged)
    n_chains = len(disagreement["distance"])
    if len(flagged) == n_chains:
        who = ("The two chains disagree after relabelling, and with two chains it is not "
               "possible to say which is off" if n_chains == 2 else
               "No majority of chains agrees after relabelling")
        advice = ("Run more chains (chains=4) to find the majority mode, run longer warm-up "
                  "(tune), or use fewer components.")
    else:
        who = (f"Chain(s) {', '.join(map(str, flagged))} disagree with the other chains after "
               f"relabelling and are probably stuck in another mode of the posterior")
        kept = [c for c in range(n_chains) if c not in set(flagged)]
        advice = (f"Compare the modes (e.g. several EM restarts), then drop the stuck "
                  f"chain(s) with idata_.posterior.sel(chain={kept}), or refit with longer "
                  f"warm-up (tune) or fewer components.")
    return (f"{who} ({details}; threshold {CHAIN_DISTANCE_THRESHOLD:g}). R-hat alone does "
            f"not say which chain. {advice}")


def check_sampler_diagnostics(
    idata: az.InferenceData, var_names: tuple[str, ...] = ("weights", "means")
) -> dict[str, Any]:
    """Warn about divergences, chains in other modes, high R-hat and low bulk ESS.

    Run it on relabelled draws: label switching alone makes R-hat and ESS of raw mixture
    draws meaningless. :func:`record_diagnostics` stores the result in the InferenceData.

    Parameters
    ----------
    idata : arviz.InferenceData
        With ``posterior`` and, optionally, ``sample_stats.diverging``.
    var_names : tuple of str, default=("weights", "means")
        Variables whose R-hat, ESS and chain agreement are checked.

    Returns
    -------
    dict
        ``n_divergences``, ``max_rhat`` and ``min_ess_bulk`` (NaN when undefined);
        per chain ``divergences_per_chain`` and ``chain_distance`` (see
        :func:`chain_disagreement`; empty with one chain or fewer than 4 draws);
        ``disagreeing_chains``; and ``warnings``, one ``{"warning", "message"}`` record
        per warning raised.

    Warns
    -----
    DivergenceWarning
        Any divergent transition, with the count per chain.
    ChainDisagreementWarning
        A chain's posterior mean of some parameter lies more than
        ``CHAIN_DISTANCE_THRESHOLD`` within-chain standard deviations from the median over
        the chains: it names the chain.
    RhatWarning, ESSWarning
        R-hat above 1.01, bulk ESS below 100 per chain.

    Examples
    --------
    >>> import arviz as az
    >>> import numpy as np
    >>> from bayesmix.bayes.diagnostics import check_sampler_diagnostics
    >>> idata = az.from_dict(posterior={"weights": np.random.default_rng(0).dirichlet(
    ...     [1, 1], size=(4, 500))}, dims={"weights": ["component"]})
    >>> result = check_sampler_diagnostics(idata)
    >>> result["max_rhat"] < 1.01, result["disagreeing_chains"], result["warnings"]
    (True, [], [])
    """
    posterior = idata.posterior[[v for v in var_names if v in idata.posterior]]
    n_chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    issued: list[dict[str, str]] = []
    per_chain = np.zeros(n_chains, dtype=np.int64)
    if "sample_stats" in idata.groups() and "diverging" in idata.sample_stats:
        per_chain = idata.sample_stats["diverging"].sum("draw").values.astype(np.int64)
    if per_chain.any():
        _warn(issued, _divergence_message(per_chain, n_draws), DivergenceWarning)
    distance, flagged = np.array([]), np.array([], dtype=np.int64)
    if n_chains > 1 and n_draws >= 4:
        disagreement = chain_disagreement(idata, var_names)
        distance = disagreement["distance"]
        flagged = np.flatnonzero(distance > CHAIN_DISTANCE_THRESHOLD)
        if flagged.size:
            _warn(issued, _disagreement_message(disagreement, flagged),
                  ChainDisagreementWarning)
    max_rhat, min_ess = _rhat_and_ess(posterior, n_chains, n_draws)
    if max_rhat > RHAT_THRESHOLD:  # NaN (undefined) is not
        _warn(issued,
              f"The largest R-hat of {', '.join(posterior.data_vars)} is {max_rhat:.3f} "
              f"(> {RHAT_THRESHOLD}): the chains disagree. Run longer (more tune and "
              f"draws), check for multiple modes (compare with several EM restarts), or "
              f"use fewer components.", RhatWarning)
    if min_ess < ESS_PER_CHAIN_THRESHOLD * n_chains:
        _warn(issued,
              f"The smallest bulk effective sample size is {min_ess:.0f}, below "
              f"{ESS_PER_CHAIN_THRESHOLD} per chain ({ESS_PER_CHAIN_THRESHOLD * n_chains}): "
              f"posterior means and intervals are imprecise. Draw more (draws=...), run more "
              f"chains, or raise tune.", ESSWarning)
    return {"n_divergences": float(per_chain.sum()), "max_rhat": max_rhat,
            "min_ess_bulk": min_ess, "divergences_per_chain": per_chain.tolist(),
            "chain_distance": distance.tolist(),
            "disagreeing_chains": flagged.tolist(), "warnings": issued}


def _rhat_and_ess(posterior: xr.Dataset, n_chains: int, n_draws: int) -> tuple[float, float]:
    """The largest rank-normalised R-hat and the smallest bulk ESS (NaN where undefined).

    ArviZ's NumPy code: on a posterior's few scalars it is as fast as its Numba code,
    whose first call in each process compiles for 0.15 to 0.3 s. ArviZ's Numba setting is
    restored afterwards.
    """
    import arviz as az

    numba_was_on = az.Numba.numba_flag
    az.Numba.disable_numba()
    try:
        max_rhat = (float(az.rhat(posterior).to_array().max())
                    if n_chains > 1 and n_draws >= 4 else np.nan)
        min_ess = (float(az.ess(posterior, method="bulk").to_array().min())
                   if n_draws >= 4 else np.nan)
    finally:
        if numba_was_on:
            az.Numba.enable_numba()
    return max_rhat, min_ess


def record_diagnostics(idata: az.InferenceData, diagnostics: Mapping[str, Any]) -> None:
    """Store the result of :func:`check_sampler_diagnostics` in ``idata``, in place.

    Per chain in ``sample_stats``: ``chain_divergences`` (count), ``chain_distance`` (see
    :func:`chain_disagreement`; NaN when undefined) and ``chain_disagrees`` (flag); the
    whole record, the warnings' messages included, as JSON in
    ``sample_stats.attrs["bayesmix_diagnostics"]``, so it survives ``to_netcdf``.

    Examples
    --------
    >>> import json
    >>> import arviz as az
    >>> import numpy as np
    >>> from bayesmix.bayes.diagnostics import check_sampler_diagnostics, record_diagnostics
    >>> idata = az.from_dict(posterior={"weights": np.random.default_rng(0).dirichlet(
    ...     [1, 1], size=(2, 500))}, dims={"weights": ["component"]})
    >>> record_diagnostics(idata, check_sampler_diagnostics(idata))
    >>> idata.sample_stats["chain_disagrees"].values
    array([False, False])
    >>> json.loads(idata.sample_stats.attrs["bayesmix_diagnostics"])["warnings"]
    []
    """
    import xarray as xr

    chains = idata.posterior["chain"].values
    n_chains = len(chains)
    distance = np.full(n_chains, np.nan)
    distance[: len(diagnostics["chain_distance"])] = diagnostics["chain_distance"]
    disagrees = np.zeros(n_chains, dtype=bool)
    disagrees[diagnostics["disagreeing_chains"]] = True
    per_chain = xr.Dataset(
        {"chain_divergences": ("chain", np.asarray(diagnostics["divergences_per_chain"])),
         "chain_distance": ("chain", distance),
         "chain_disagrees": ("chain", disagrees)},
        coords={"chain": chains})
    if "sample_stats" in idata.groups():
        idata.sample_stats = idata.sample_stats.assign(per_chain.data_vars)
    else:
        idata.add_groups(sample_stats=per_chain)
    idata.sample_stats.attrs["bayesmix_diagnostics"] = json.dumps(
        dict(diagnostics), default=float)
