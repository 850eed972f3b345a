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

import itertools
import json
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import arviz as az
import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from pymc.exceptions import SamplingError
from pymc.initial_point import make_initial_point_fn

from bayesmix._validation import check_int, check_option, check_real
from bayesmix.bayes.model import feature_pairs
from bayesmix.bayes.priors import MixturePriors
from bayesmix.exceptions import (
    ChainDisagreementWarning,
    DivergenceWarning,
    ESSWarning,
    InitialPointError,
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
    "check_initial_points",
    "check_sampler_diagnostics",
    "chain_disagreement",
    "record_diagnostics",
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
    covariance_type : {"full", "tied", "diag", "spherical"}
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
    values: dict[str, np.ndarray] = {"weights": (weights / weights.sum())[order]}
    means, sds, correlation = means[order], sds[order], correlation[order]
    offsets = (means - priors.means_loc) / priors.means_scale
    if ordered_means:
        values["means_offset_first"] = offsets[:, 0]
        if n_features > 1:
            values["means_offset_rest"] = offsets[:, 1:]
    else:
        values["means_offset"] = offsets

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

    Raises
    ------
    InitialPointError
        Before sampling, when the log density is not finite at a chain's initial point
        (see :func:`check_initial_points`); instead of PyMC's own error when it is not
        finite at a jittered start.

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
    check_initial_points(model, initvals)
    try:
        return _sample_backend(nuts_sampler, initvals, common, sampler_kwargs)
    except SamplingError as exc:
        if "initial" not in str(exc).lower():
            raise
        # Raised from None: the back end's traceback says less than this message.
        raise InitialPointError(
            f"NUTS could not start from the back end's jittered initial point "
            f"({str(exc).splitlines()[0]}), although the un-jittered one is finite. Pass "
            f"initvals (e.g. bayesmix.bayes.inference.initial_values from an EM fit), or "
            f"rescale X (e.g. standardise it)."
        ) from None


def _sample_backend(nuts_sampler: str, initvals: list[dict[str, np.ndarray]] | None,
                    common: dict[str, Any], sampler_kwargs: dict[str, Any]
                    ) -> az.InferenceData:
    """:func:`pymc.sample` with the options of one NUTS back end."""
    if nuts_sampler == "pymc":
        sampler_kwargs.setdefault("cores", 1)
        return pm.sample(initvals=initvals, init="adapt_diag" if initvals else "auto",
                         **common, **sampler_kwargs)
    if nuts_sampler == "nutpie":
        _require("nutpie")
        return pm.sample(nuts_sampler="nutpie", nuts_sampler_kwargs=sampler_kwargs,
                         **common)
    sampler_kwargs.setdefault("chain_method", _chain_method(common["chains"]))
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


# --------------------------------------------------------------------------- initial points
#: The support of the model's free variables, in words, for messages.
_SUPPORT = {
    "weights": "positive and summing to one",
    "sigma": "positive",
    "sigmas": "positive",
    "corr_cpc": "strictly between 0 and 1",
    "means_offset_first": "strictly increasing",
}


def _initial_point(model: pm.Model, values: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
    """The transformed (unconstrained) initial point of ``model`` with ``values`` set."""
    return make_initial_point_fn(model=model, overrides=dict(values or {}), jitter_rvs=set(),
                                 return_transformed=True)(0)


def _log_density_terms(model: pm.Model) -> Callable[[dict[str, np.ndarray]], dict[str, float]]:
    """A function of a point giving each variable's log density term, by name.

    Compiled in PyTensor's ``FAST_COMPILE`` mode: it runs a few times, so compiling
    quickly matters more than running fast.
    """
    factors = model.basic_RVs + model.potentials
    terms = model.compile_fn([pt.sum(term) for term in model.logp(factors, sum=False)],
                             mode="FAST_COMPILE")
    return lambda point: {factor.name: float(value)
                          for factor, value in zip(factors, terms(point))}


def _initial_point_message(model: pm.Model, chain: int, values: Mapping[str, Any] | None,
                           point: dict[str, np.ndarray], bad: dict[str, float]) -> str:
    listed = ", ".join(f"log p({name}) = {value}" for name, value in bad.items())
    causes = []
    for rv in model.free_RVs:
        if not np.all(np.isfinite(point[model.rvs_to_values[rv].name])):
            given = dict(values or {}).get(rv.name)
            shown = "the model's default" if given is None else np.array2string(
                np.asarray(given), precision=4, threshold=12)
            causes.append(f"the initial value of {rv.name} ({shown}) is outside its support "
                          f"({_SUPPORT.get(rv.name, 'see the model')})")
    observed = [rv.name for rv in model.observed_RVs if rv.name in bad]
    if observed and not causes:
        causes.append(f"the likelihood of the data ({', '.join(observed)}) overflows there: "
                      f"rescale X (e.g. standardise it) or remove extreme rows")
    return (
        f"Chain {chain} cannot start: the log density is not finite at its initial point "
        f"({listed}); {'; '.join(causes) or 'a term is not finite'}. Pass initial values "
        f"inside the support (e.g. bayesmix.bayes.inference.initial_values from an EM "
        f"fit), or omit initvals to start from the model's default point."
    )


def check_initial_points(model: pm.Model,
                         initvals: list[Mapping[str, Any]] | None = None) -> None:
    """Check that the log density is finite at every chain's initial point.

    Outside the support the unconstrained value is NaN or infinite (the log of a negative
    standard deviation, say); extreme data can make the likelihood overflow. Either way
    PyMC's sampler then fails deep inside, and NumPyro raises no error at all. Each
    variable's log density term is evaluated once per chain.

    Parameters
    ----------
    model : pymc.Model
    initvals : list of dict, optional
        One dict of initial values per chain, keyed by free variable names; the model's
        default initial point when omitted.

    Raises
    ------
    InitialPointError
        Naming the chain, the non-finite terms and the likely cause: the variable, its
        value and its support, or the data.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import build_model
    >>> from bayesmix.bayes.inference import check_initial_points
    >>> model = build_model(np.random.default_rng(0).normal(size=(20, 1)), 1, "spherical")
    >>> check_initial_points(model, [{"sigma": np.array([1.0])}])  # fine: no error
    >>> check_initial_points(model, [{"sigma": np.array([-1.0])}])
    Traceback (most recent call last):
    ...
    bayesmix.exceptions.InitialPointError: Chain 0 cannot start: the log density is not ...
    """
    terms = _log_density_terms(model)
    for chain, values in enumerate(initvals or [None]):
        point = _initial_point(model, values)
        bad = {name: value for name, value in terms(point).items() if not np.isfinite(value)}
        if bad:
            raise InitialPointError(_initial_point_message(model, chain, values, point, bad))


# --------------------------------------------------------------------------- VI
_VI_CLASSES = {"advi": pm.ADVI, "fullrank_advi": pm.FullRankADVI}

#: Initial standard deviation of the approximation in the unconstrained space. PyMC
#: starts at 1, far wider than a mixture posterior: the optimisation then spends
#: thousands of steps shrinking it, and full-rank ADVI can step to a negative Cholesky
#: diagonal (NaN).
INITIAL_VI_SCALE = 0.1


def _narrow(approx: Any, model: pm.Model, scale: float) -> None:
    """Set the initial spread of a mean-field or full-rank approximation.

    Every unconstrained coordinate starts at ``scale``, except the means' offsets, which
    start at ``min(scale, 1 / sqrt(n_samples / n_components))``: their posterior spread
    is about a mean's standard error (a component SD over the square root of its rows)
    over the prior scale (at least a data SD), so at most that, and on large data a start
    at ``scale`` would leave the optimiser thousands of steps of shrinking to do. Both
    approximations parametrise standard deviations (the mean-field ``rho``, the
    full-rank Cholesky diagonal) through softplus, so the raw value is
    ``log(expm1(spread))``.
    """
    group = approx.groups[0]
    spread = np.full(group.ddim, scale)
    rows_per_component = len(model.coords["obs"]) / len(model.coords["component"])
    for name, coordinates, *_ in group.ordering.values():
        if name.startswith("means_offset"):
            spread[coordinates] = min(scale, 1.0 / np.sqrt(rows_per_component))
    raw = np.log(np.expm1(spread))
    params = approx.params_dict
    if "rho" in params:
        params["rho"].set_value(raw.astype(params["rho"].get_value().dtype))
    else:
        params["L_tril"].set_value(np.diag(raw)[np.tril_indices(group.ddim)])


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

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import build_model
    >>> from bayesmix.bayes.inference import fit_vi
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(-3, 1, (50, 1)), rng.normal(3, 1, (50, 1))])
    >>> result = fit_vi(build_model(X, 2, "spherical"), n_iter=3000, random_seed=0)
    >>> bool(result.loss[-100:].mean() < result.loss[:100].mean())  # the ELBO rose
    True
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

    Raises
    ------
    ValueError
        When the optimisation diverges to NaN (typically data far from unit scale).

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
        _narrow(inference.approx, model, INITIAL_VI_SCALE)
        # PyMC divides a minibatch objective by a normalising constant (45,000 for 3,000
        # rows in minibatches of 100), so its gradients fall under the Adagrad-window's
        # epsilon (0.1) and the approximation hardly moves: keep the full-data scale, as
        # without minibatches.
        inference.approx.scale_cost_to_minibatch = False
        try:
            approx = inference.fit(n_iter, callbacks=[callback],
                                   progressbar=resolve_progressbar(progressbar), **optimizer)
        except FloatingPointError as exc:
            raise ValueError(
                f"{method} diverged: its objective became NaN, the optimiser's steps were too "
                f"large for this posterior. Lower learning_rate (it is {learning_rate}), "
                f"standardise X if its columns' scales differ by many orders of magnitude, "
                f"or use method='nuts'."
            ) from exc
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
    >>> from bayesmix.bayes.inference import chain_disagreement
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
    >>> from bayesmix.bayes.inference import check_sampler_diagnostics
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
    max_rhat = np.nan
    if n_chains > 1 and n_draws >= 4:
        max_rhat = float(az.rhat(posterior).to_array().max())
        if max_rhat > RHAT_THRESHOLD:
            _warn(issued,
                  f"The largest R-hat of {', '.join(posterior.data_vars)} is {max_rhat:.3f} "
                  f"(> {RHAT_THRESHOLD}): the chains disagree. Run longer (more tune and "
                  f"draws), check for multiple modes (compare with several EM restarts), or "
                  f"use fewer components.", RhatWarning)
    min_ess = float(az.ess(posterior, method="bulk").to_array().min()) if n_draws >= 4 else np.nan
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
    >>> from bayesmix.bayes.inference import check_sampler_diagnostics, record_diagnostics
    >>> idata = az.from_dict(posterior={"weights": np.random.default_rng(0).dirichlet(
    ...     [1, 1], size=(2, 500))}, dims={"weights": ["component"]})
    >>> record_diagnostics(idata, check_sampler_diagnostics(idata))
    >>> idata.sample_stats["chain_disagrees"].values
    array([False, False])
    >>> json.loads(idata.sample_stats.attrs["bayesmix_diagnostics"])["warnings"]
    []
    """
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
