"""Inference for :func:`~bayesmix.bayes.build_model`: NUTS (three back ends) and ADVI.

NUTS back ends
--------------
``"numpyro"`` (the default)
    PyMC translates the model to JAX and NumPyro runs NUTS, one XLA CPU device per
    chain (see :func:`configure_host_devices`; vectorised chains otherwise). Measured on
    the 2-core reference machine (``benchmarks/nuts_vs_textbook.py``,
    ``docs/benchmarks_nuts.md``; 1,000 x 2 data, K=3, ``full``, 4 x 1,000 draws): 18 s
    for the whole fit and 289 ESS/s, against 40 s / 126 ESS/s for PyMC's own sampler on
    the C back end, 35 s / 127 ESS/s for vectorised NumPyro chains, and about 80 s of
    Numba compilation alone for nutpie (similar sampling speed). It is the fastest
    installed back end end to end.
``"pymc"``
    PyMC's own NUTS on the C back end; no JAX needed.
``"nutpie"``
    nutpie's Numba back end, when nutpie is installed (``initvals`` are not supported by
    nutpie: its chains start from its own initial points).

Chains start from a maximum-likelihood EM fit, jittered per chain, so that the warm-up
starts in the typical set instead of searching for it and every chain starts in the same
labelling mode.

Variational inference
---------------------
``"advi"`` (mean-field) and ``"fullrank_advi"`` run :func:`pymc.fit` from the EM
solution, stop when the variational parameters stop moving
(:class:`pymc.variational.callbacks.CheckParametersConvergence`) and warn with
:class:`~bayesmix.exceptions.VIConvergenceWarning` when they never do. On a model built
with ``batch_size`` (:func:`~bayesmix.bayes.build_model`) every step sees a random
minibatch: stochastic variational inference, whose cost per step does not grow with the
number of rows.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import arviz as az
import numpy as np
import pymc as pm

from bayesmix._validation import check_int, check_option, check_real
from bayesmix.bayes.model import feature_pairs
from bayesmix.exceptions import (
    DivergenceWarning,
    ESSWarning,
    RhatWarning,
    VIConvergenceWarning,
)

__all__ = [
    "NUTS_SAMPLERS",
    "VI_METHODS",
    "configure_host_devices",
    "default_nuts_sampler",
    "initial_values",
    "sample_nuts",
    "fit_vi",
    "VIResult",
    "check_sampler_diagnostics",
]

NUTS_SAMPLERS = ("numpyro", "pymc", "nutpie")
VI_METHODS = ("advi", "fullrank_advi")

#: Diagnostic thresholds (Vehtari et al. 2021, as used by ArviZ and PyMC).
RHAT_THRESHOLD = 1.01
ESS_PER_CHAIN_THRESHOLD = 100

#: The sampler statistics kept in ``sample_stats`` (when the back end reports them).
SAMPLE_STATS = ("diverging", "lp", "energy", "acceptance_rate", "step_size", "tree_depth",
                "n_steps")

_DEVICE_FLAG = "--xla_force_host_platform_device_count"


def configure_host_devices(n_devices: int | None = None) -> bool:
    """Let JAX see ``n_devices`` CPU devices so that NumPyro can run chains in parallel.

    This sets ``XLA_FLAGS`` and only works before JAX's CPU back end starts; an explicit
    device count already in ``XLA_FLAGS`` is left alone. It is called when
    :mod:`bayesmix.bayes` is imported, with 4 devices (the default number of chains) or
    the number of CPU cores if larger.

    Returns
    -------
    bool
        Whether the flag was set now.

    Examples
    --------
    >>> from bayesmix.bayes.inference import configure_host_devices
    >>> configure_host_devices()  # already set when bayesmix.bayes was imported
    False
    """
    if _DEVICE_FLAG in os.environ.get("XLA_FLAGS", "") or _jax_backend_started():
        return False
    count = n_devices if n_devices is not None else max(4, os.cpu_count() or 1)
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_DEVICE_FLAG}={count}".strip()
    return True


def _jax_backend_started() -> bool:
    if "jax" not in sys.modules:
        return False
    try:
        from jax._src import xla_bridge
    except ImportError:  # a future JAX without this module: assume it has started
        return True
    return bool(getattr(xla_bridge, "_backends", True))


def default_nuts_sampler() -> str:
    """The NUTS back end used when none is given: ``"numpyro"``, the fastest measured.

    See the module docstring and ``docs/benchmarks_nuts.md`` for the measurements.

    Examples
    --------
    >>> from bayesmix.bayes.inference import default_nuts_sampler
    >>> default_nuts_sampler()
    'numpyro'
    """
    return "numpyro"


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    ipython = shell.get_ipython() if shell is not None else None
    return type(ipython).__name__ == "ZMQInteractiveShell"


def resolve_progressbar(progressbar: bool | None) -> bool:
    """``progressbar``, or when ``None``: on in a Jupyter notebook, off elsewhere.

    Examples
    --------
    >>> from bayesmix.bayes.inference import resolve_progressbar
    >>> resolve_progressbar(None), resolve_progressbar(True)
    (False, True)
    """
    return _in_notebook() if progressbar is None else bool(progressbar)


# --------------------------------------------------------------------------- initial values
def _cpc_from_correlation(correlation: np.ndarray) -> np.ndarray:
    """Canonical partial correlations of correlation matrices, ordered as the model's."""
    n_features = correlation.shape[-1]
    chol = np.linalg.cholesky(correlation)
    rows, columns = feature_pairs(n_features)
    remaining = 1.0 - np.cumsum(chol**2, axis=-1)
    remaining = np.concatenate([np.ones(chol.shape[:-1] + (1,)), remaining[..., :-1]], -1)
    cpc = chol / np.sqrt(np.clip(remaining, 1e-12, None))
    return cpc[..., rows, columns]


def initial_values(
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    covariance_type: str,
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
    covariance_type : {"full", "tied", "diag", "spherical"}
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
    >>> from bayesmix.bayes.inference import initial_values
    >>> init = initial_values(np.array([0.4, 0.6]), np.array([[1.0, 0.0], [-1.0, 0.0]]),
    ...                       np.stack([np.eye(2)] * 2), "full", ordered_means=True)
    >>> init["means_first"], init["corr_cpc"]
    (array([-1.,  1.]), array([[0.5],
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
    values: dict[str, np.ndarray] = {"weights": (weights / weights.sum())[order]}
    means, sds, correlation = means[order], sds[order], correlation[order]
    if ordered_means:
        values["means_first"] = means[:, 0]
        if n_features > 1:
            values["means_rest"] = means[:, 1:]
    else:
        values["means"] = means

    if covariance_type == "spherical":
        values["sigma"] = np.sqrt(np.mean(sds**2, axis=1)) * np.exp(noise(n_components))
        return values
    if covariance_type == "tied":
        sds, correlation = sds.mean(axis=0), correlation.mean(axis=0)
    values["sigmas"] = sds * np.exp(noise(*sds.shape))
    if covariance_type != "diag" and n_features > 1:
        cpc = _cpc_from_correlation(correlation)
        cpc = np.tanh(np.arctanh(np.clip(cpc, -0.999, 0.999)) + noise(*cpc.shape))
        values["corr_cpc"] = (cpc + 1.0) / 2.0
    return values


# --------------------------------------------------------------------------- NUTS
def _chain_method(chains: int) -> str:
    """``"parallel"`` when JAX has a CPU device per chain, else ``"vectorized"``."""
    import jax

    return "parallel" if jax.local_device_count() >= chains > 1 else "vectorized"


def sample_nuts(
    model: pm.Model,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    nuts_sampler: str | None = None,
    initvals: list[dict[str, np.ndarray]] | None = None,
    random_seed: int | None = None,
    progressbar: bool | None = None,
    target_accept: float = 0.8,
    **sampler_kwargs: Any,
) -> az.InferenceData:
    """Draw from the posterior of ``model`` with NUTS.

    Parameters
    ----------
    model : pymc.Model
        Typically from :func:`~bayesmix.bayes.build_model`.
    draws, tune, chains : int
        Kept draws per chain, warm-up iterations per chain, number of chains.
    nuts_sampler : {"numpyro", "pymc", "nutpie"}, optional
        The back end; :func:`default_nuts_sampler` when omitted.
    initvals : list of dict, optional
        One dict of initial values per chain (see :func:`initial_values`); used as given,
        without PyMC's extra jitter.
    random_seed : int, optional
    progressbar : bool, optional
        Default: on in a notebook, off elsewhere.
    target_accept : float, default=0.8
        Target acceptance rate of the step-size adaptation; raise it (0.9, 0.95) when
        there are divergences.
    **sampler_kwargs
        Passed to the back end (``nuts_sampler_kwargs`` of :func:`pymc.sample` for
        numpyro and nutpie, e.g. ``chain_method``; :func:`pymc.sample` keywords such as
        ``cores`` for ``"pymc"``).

    Returns
    -------
    arviz.InferenceData
        PyMC's own InferenceData (``posterior``, ``sample_stats``, ``observed_data``).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import build_model
    >>> from bayesmix.bayes.inference import sample_nuts
    >>> X = np.random.default_rng(0).normal(size=(40, 1))
    >>> idata = sample_nuts(build_model(X, 1, "spherical"), draws=20, tune=20, chains=1,
    ...                     random_seed=0)
    >>> dict(idata.posterior["means"].sizes)
    {'chain': 1, 'draw': 20, 'component': 1, 'feature': 1}
    """
    draws = check_int(draws, "draws", min_value=1)
    tune = check_int(tune, "tune", min_value=0)
    chains = check_int(chains, "chains", min_value=1)
    nuts_sampler = check_option(nuts_sampler or default_nuts_sampler(), "nuts_sampler",
                                NUTS_SAMPLERS)
    check_real(target_accept, "target_accept", strictly_positive=True)
    if not target_accept < 1:
        raise ValueError(f"target_accept must be in (0, 1), got {target_accept!r}.")
    common = dict(draws=draws, tune=tune, chains=chains, random_seed=random_seed,
                  progressbar=resolve_progressbar(progressbar), model=model,
                  compute_convergence_checks=False, target_accept=target_accept)
    if nuts_sampler == "pymc":
        sampler_kwargs.setdefault("cores", 1)
        return pm.sample(initvals=initvals, init="adapt_diag" if initvals else "auto",
                         **common, **sampler_kwargs)
    if nuts_sampler == "nutpie":
        _require("nutpie")
        return pm.sample(nuts_sampler="nutpie", nuts_sampler_kwargs=sampler_kwargs,
                         **common)
    sampler_kwargs.setdefault("chain_method", _chain_method(chains))
    sampler_kwargs.setdefault("jitter", initvals is None)
    with warnings.catch_warnings():
        # Buffer donation is not implemented on CPU: JAX says so once per compilation.
        warnings.filterwarnings("ignore", message="Some donated buffers were not usable")
        # The pointwise log-likelihood, vectorised over draws in JAX: much cheaper than
        # evaluating it afterwards in NumPy.
        return pm.sample(nuts_sampler="numpyro", initvals=initvals,
                         idata_kwargs={"log_likelihood": True},
                         nuts_sampler_kwargs=sampler_kwargs, **common)


def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        raise ValueError(
            f"nuts_sampler={module!r} needs the {module} package, which is not installed. "
            f"Install it (pip install {module}) or use nuts_sampler='numpyro'."
        ) from None


# --------------------------------------------------------------------------- VI
_VI_CLASSES = {"advi": pm.ADVI, "fullrank_advi": pm.FullRankADVI}

#: Initial standard deviation of the approximation in the unconstrained space. PyMC
#: starts at 1, far wider than a mixture posterior: the optimisation then spends
#: thousands of steps shrinking it, and full-rank ADVI can step to a negative Cholesky
#: diagonal (NaN).
INITIAL_VI_SCALE = 0.1


def _narrow(approx: Any, scale: float) -> None:
    """Set the initial spread of a mean-field or full-rank approximation to ``scale``.

    Both parametrise standard deviations (the mean-field ``rho``, the full-rank Cholesky
    diagonal) through softplus, so the raw value is ``log(expm1(scale))``.
    """
    raw = np.log(np.expm1(scale))
    params = approx.params_dict
    if "rho" in params:
        params["rho"].set_value(np.full_like(params["rho"].get_value(), raw))
    else:
        size = params["mu"].get_value().shape[0]
        params["L_tril"].set_value((raw * np.eye(size))[np.tril_indices(size)])


@dataclass
class VIResult:
    """Draws from a fitted variational approximation, with its optimisation history.

    Attributes
    ----------
    idata : arviz.InferenceData
        Draws from the approximation (one chain).
    loss : ndarray of shape (n_iterations,)
        The negative ELBO at every iteration.
    converged : bool
        Whether the variational parameters settled before ``n_iter`` iterations.
    """

    idata: az.InferenceData
    loss: np.ndarray
    converged: bool


def fit_vi(
    model: pm.Model,
    *,
    method: str = "advi",
    draws: int = 1000,
    n_iter: int = 20_000,
    tol: float = 1e-2,
    start: Mapping[str, np.ndarray] | None = None,
    random_seed: int | None = None,
    progressbar: bool | None = None,
    learning_rate: float | None = None,
) -> VIResult:
    """Fit a variational approximation with :func:`pymc.fit` and draw from it.

    Parameters
    ----------
    model : pymc.Model
    method : {"advi", "fullrank_advi"}, default="advi"
        Mean-field or full-rank Gaussian approximation in the unconstrained space.
    draws : int, default=1000
        Draws taken from the fitted approximation.
    n_iter : int, default=20000
        Most optimisation steps.
    tol : float, default=1e-2
        Convergence: the largest absolute change of a variational parameter over 100
        steps falls below ``tol``.
    start : dict, optional
        Initial values of the free variables (see :func:`initial_values`).
    random_seed : int, optional
    progressbar : bool, optional
        Default: on in a notebook, off elsewhere.
    learning_rate : float, optional
        Step size of the Adagrad-window optimiser (PyMC's default, 1e-3, when omitted).

    Returns
    -------
    VIResult
        On a minibatch model (``build_model(..., batch_size=...)``) ``loss`` is the
        minibatch estimate of the negative ELBO, on the full data's scale: noisy, but
        comparable with a full-batch fit's.

    Warns
    -----
    VIConvergenceWarning
        When the parameters were still moving after ``n_iter`` steps.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import build_model
    >>> from bayesmix.bayes.inference import fit_vi
    >>> X = np.random.default_rng(0).normal(size=(40, 1))
    >>> result = fit_vi(build_model(X, 1, "spherical"), draws=50, n_iter=3000,
    ...                 random_seed=0)
    >>> dict(result.idata.posterior["sigma"].sizes), result.converged
    ({'chain': 1, 'draw': 50, 'component': 1}, True)
    """
    method = check_option(method, "method", VI_METHODS)
    draws = check_int(draws, "draws", min_value=1)
    n_iter = check_int(n_iter, "n_iter", min_value=100)
    tol = check_real(tol, "tol", strictly_positive=True)
    seeds = np.random.default_rng(random_seed).integers(2**31 - 1, size=2)
    optimizer = {} if learning_rate is None else {
        "obj_optimizer": pm.adagrad_window(
            learning_rate=check_real(learning_rate, "learning_rate", strictly_positive=True))
    }
    callback = pm.callbacks.CheckParametersConvergence(every=100, tolerance=tol,
                                                       diff="absolute")
    with model:
        inference = _VI_CLASSES[method](start=dict(start) if start else None,
                                        random_seed=int(seeds[0]))
        _narrow(inference.approx, INITIAL_VI_SCALE)
        # PyMC divides a minibatch objective by a normalising constant (45,000 for 3,000
        # rows in minibatches of 100), so its gradients fall under the Adagrad-window's
        # epsilon (0.1) and the approximation hardly moves: keep the full-data scale, as
        # without minibatches.
        inference.approx.scale_cost_to_minibatch = False
        approx = inference.fit(n_iter, callbacks=[callback],
                               progressbar=resolve_progressbar(progressbar), **optimizer)
    loss = np.asarray(approx.hist, dtype=np.float64)
    converged = len(loss) < n_iter
    if not converged:
        warnings.warn(
            f"{method} did not converge in n_iter={n_iter} iterations: its variational "
            f"parameters still moved by more than tol={tol} per 100 iterations. Increase "
            f"n_iter, lower learning_rate, loosen tol, or use method='nuts'.",
            VIConvergenceWarning,
            stacklevel=2,
        )
    idata = approx.sample(draws, random_seed=int(seeds[1]), return_inferencedata=True)
    return VIResult(idata=idata, loss=loss, converged=converged)


# --------------------------------------------------------------------------- diagnostics
def check_sampler_diagnostics(
    idata: az.InferenceData, var_names: tuple[str, ...] = ("weights", "means")
) -> dict[str, float]:
    """Warn about divergences, high R-hat and low bulk ESS of a NUTS posterior.

    Run it on relabelled draws: label switching alone makes R-hat and ESS of raw mixture
    draws meaningless.

    Parameters
    ----------
    idata : arviz.InferenceData
        With ``posterior`` and, optionally, ``sample_stats.diverging``.
    var_names : tuple of str, default=("weights", "means")
        Variables whose R-hat and ESS are checked.

    Returns
    -------
    dict
        ``n_divergences``, ``max_rhat`` and ``min_ess_bulk`` (NaN when undefined).

    Warns
    -----
    DivergenceWarning, RhatWarning, ESSWarning

    Examples
    --------
    >>> import arviz as az
    >>> import numpy as np
    >>> from bayesmix.bayes.inference import check_sampler_diagnostics
    >>> idata = az.from_dict(posterior={"weights": np.random.default_rng(0).dirichlet(
    ...     [1, 1], size=(4, 500))}, dims={"weights": ["component"]})
    >>> check_sampler_diagnostics(idata)["max_rhat"] < 1.01
    True
    """
    posterior = idata.posterior[[v for v in var_names if v in idata.posterior]]
    n_chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    n_divergences = 0
    if "sample_stats" in idata.groups() and "diverging" in idata.sample_stats:
        n_divergences = int(idata.sample_stats["diverging"].sum())
    if n_divergences:
        warnings.warn(
            f"{n_divergences} divergent transition(s) out of {n_chains * n_draws} draws: the "
            f"sampler could not follow the posterior everywhere, so the draws may be biased. "
            f"Raise target_accept (e.g. 0.95), use fewer components (an empty component "
            f"makes a funnel), or pass ordered_means=True.",
            DivergenceWarning,
            stacklevel=2,
        )
    max_rhat = np.nan
    if n_chains > 1 and n_draws >= 4:
        max_rhat = float(az.rhat(posterior).to_array().max())
        if max_rhat > RHAT_THRESHOLD:
            warnings.warn(
                f"The largest R-hat of {', '.join(posterior.data_vars)} is {max_rhat:.3f} "
                f"(> {RHAT_THRESHOLD}): the chains disagree. Run longer (more tune and "
                f"draws), check for multiple modes (compare with several EM restarts), or "
                f"use fewer components.",
                RhatWarning,
                stacklevel=2,
            )
    min_ess = float(az.ess(posterior, method="bulk").to_array().min()) if n_draws >= 4 else np.nan
    if min_ess < ESS_PER_CHAIN_THRESHOLD * n_chains:
        warnings.warn(
            f"The smallest bulk effective sample size is {min_ess:.0f}, below "
            f"{ESS_PER_CHAIN_THRESHOLD} per chain ({ESS_PER_CHAIN_THRESHOLD * n_chains}): "
            f"posterior means and intervals are imprecise. Draw more (draws=...), run more "
            f"chains, or raise tune.",
            ESSWarning,
            stacklevel=2,
        )
    return {"n_divergences": float(n_divergences), "max_rhat": max_rhat,
            "min_ess_bulk": min_ess}
