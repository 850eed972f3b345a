"""NUTS on JAX: NumPyro's kernel on the converted model, compiled once per model size.

:func:`sample_numpyro` runs NumPyro's NUTS kernel (its functional ``hmc`` interface:
step-size and mass-matrix adaptation during the warm-up, then the draws) on the log
density of :func:`~bayesmix.bayes.backends.jax_model.jax_model`. Its programs -- the
chains' initial states, their iterations, and the posterior's variables and pointwise
log-likelihood at the kept draws -- take the model's data and priors as arguments, so they
are compiled once per model structure and size, numbers of iterations and sampler
settings: later fits reuse them, within the process (JAX's cache) and across processes
(JAX's persistent compilation cache, see
:func:`~bayesmix.bayes.backends.compile_cache.enable_compilation_cache`). All iterations
of a chain run in one call (in :data:`PROGRESS_CALLS` calls when a progress bar is
shown).

Chains run in parallel, one XLA CPU device each (``chain_method="parallel"``: groups of
as many chains as there are devices, one group after another; see
:func:`~bayesmix.bayes.backends.nuts.configure_host_devices`), or vectorised in one
program (``"vectorized"``: every chain waits for the slowest at each iteration, a third of
the ESS per second on two cores).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import arviz as az
import jax
import numpy as np
from jax.sharding import Mesh, PartitionSpec
from numpyro.infer.hmc import hmc
from pymc.exceptions import SamplingError

from bayesmix._validation import check_option
from bayesmix.bayes.backends.compile_cache import jit
from bayesmix.bayes.backends.jax_model import (
    IN_PROCESS_STRUCTURES,
    JaxModel,
    ModelFunctions,
    jax_model,
)

__all__ = ["CHAIN_METHODS", "DENSE_MASS_MAX_SIZE", "PROGRESS_CALLS", "sample_numpyro"]

CHAIN_METHODS = ("parallel", "vectorized")
#: With a progress bar, a chain's iterations run in this many calls.
PROGRESS_CALLS = 20
#: The mass matrix adapted in the warm-up is dense (NumPyro's ``dense_mass=True``) when
#: the model has at most this many unconstrained coordinates, diagonal above. Measured
#: (min bulk ESS of the relabelled weights and means per second, 4 x 1,000 draws): a
#: dense one gives 1.3 to 2.8 times the ESS/s at 15 to 29 coordinates (``full``,
#: ``tied``, ``diag``, ``spherical``, D = 2 to 4), mixed results at 41 to 44 (0.7 to 1.3
#: times) and less at 62 and 89 (0.8 and 0.6 times): its D(D+1)/2 entries need more
#: warm-up draws than a 1,000-iteration warm-up gives.
DENSE_MASS_MAX_SIZE = 32

#: NumPyro's state fields kept per iteration, by their ``sample_stats`` names.
_STATE_STATS = {
    "lp": lambda state: -state.potential_energy,
    "energy": lambda state: state.energy,
    "step_size": lambda state: state.adapt_state.step_size,
    "n_steps": lambda state: state.num_steps,
    "acceptance_rate": lambda state: state.accept_prob,
    "diverging": lambda state: state.diverging,
}


def _map_chains(function: Callable, in_axes: tuple, chain_method: str) -> Callable:
    """``function`` over the chains (the first axis of the arguments whose ``in_axes`` is
    0), one CPU device per chain (``"parallel"``, as ``jax.pmap`` runs it) or vectorised,
    compiled with bayesmix's compiler options (which ``jax.pmap`` does not take)."""
    if chain_method == "vectorized":
        return jit(jax.vmap(function, in_axes=in_axes))

    def per_device(*args):
        args = [jax.tree.map(lambda chains: chains[0], arg) if axis == 0 else arg
                for arg, axis in zip(args, in_axes)]
        return jax.tree.map(lambda value: value[None], function(*args))

    @functools.cache
    def program(n_chains: int) -> Callable:
        mesh = Mesh(np.array(jax.local_devices()[:n_chains]), ("chain",))
        specs = tuple(PartitionSpec("chain") if axis == 0 else PartitionSpec()
                      for axis in in_axes)
        return jit(jax.shard_map(per_device, mesh=mesh, in_specs=specs,
                                 out_specs=PartitionSpec("chain"), check_vma=False))

    mapped = in_axes.index(0)
    return lambda *args: program(len(jax.tree.leaves(args[mapped])[0]))(*args)


@functools.lru_cache(maxsize=4 * IN_PROCESS_STRUCTURES)
def _programs(functions: ModelFunctions, tune: int, n_steps: int, target_accept: float,
              nuts_options: tuple[tuple[str, Any], ...], chain_method: str
              ) -> tuple[Callable, Callable, Callable]:
    """The compiled start, ``n_steps`` iterations, and draw post-processing of chains.

    Kept per arguments so that JAX finds its compiled programs again: they are traced on
    the first call, and the start first (it sets the kernel's warm-up schedule).
    """
    init_kernel, sample_kernel = hmc(
        potential_fn_gen=lambda constants: (
            lambda values: -functions.log_density(values, constants)),
        algo="NUTS")

    def start(key, values, constants):
        return init_kernel(values, tune, target_accept_prob=target_accept,
                           model_args=(constants,), rng_key=key, **dict(nuts_options))

    def advance(state, constants):
        def iteration(state, _):
            state = sample_kernel(state, model_args=(constants,))
            return state, (state.z, {name: stat(state) for name, stat in _STATE_STATS.items()})

        return jax.lax.scan(iteration, state, None, length=n_steps)

    def posterior(values, constants):
        return jax.vmap(lambda point: functions.posterior(point, constants))(values)

    return (_map_chains(start, (0, 0, None), chain_method),
            _map_chains(advance, (0, None), chain_method),
            _map_chains(posterior, (0, None), chain_method))


def _hashable(options: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    items = tuple(sorted(options.items()))
    try:
        hash(items)
    except TypeError:
        raise TypeError(
            f"nuts_kwargs must hold hashable values (numbers, booleans, tuples), got "
            f"{options!r}; pass tuples instead of lists."
        ) from None
    return items


def _run_chains(converted: JaxModel, keys: np.ndarray, points: list[np.ndarray], *,
                tune: int, draws: int, target_accept: float,
                nuts_options: tuple[tuple[str, Any], ...], chain_method: str,
                progress: Any) -> tuple[dict, dict, dict]:
    """One group of chains: the posterior's draws, log-likelihoods and statistics."""
    calls = PROGRESS_CALLS if progress is not None else 1
    n_steps = math.ceil((tune + draws) / calls)
    start, advance, posterior = _programs(converted.functions, tune, n_steps, target_accept,
                                          nuts_options, chain_method)
    state = start(keys, points, converted.constants)
    values, stats = [], []
    for _ in range(calls):
        state, (chunk_values, chunk_stats) = advance(state, converted.constants)
        values.append(chunk_values)
        stats.append(chunk_stats)
        if progress is not None:
            progress.update(len(keys) * n_steps)
    kept = slice(tune, tune + draws)
    values = [np.concatenate(parts, axis=1)[:, kept] for parts in zip(*values)]
    stats = {name: np.concatenate([chunk[name] for chunk in stats], axis=1)[:, kept]
             for name in _STATE_STATS}
    variables, log_likelihood = posterior(values, converted.constants)
    return ({name: np.asarray(value) for name, value in variables.items()},
            {name: np.asarray(value) for name, value in log_likelihood.items()}, stats)


def sample_numpyro(
    model: Any,
    *,
    draws: int,
    tune: int,
    chains: int,
    initvals: Sequence[Mapping[str, Any]] | None,
    random_seed: int | None,
    progressbar: bool,
    target_accept: float,
    chain_method: str = "parallel",
    jitter: bool | None = None,
    nuts_kwargs: Mapping[str, Any] | None = None,
) -> az.InferenceData:
    """NUTS with NumPyro's kernel on the converted model: several chains of draws.

    Parameters
    ----------
    model : pymc.Model
    draws, tune, chains : int
        Kept draws per chain, warm-up iterations per chain, number of chains.
    initvals : list of dict, optional
        One dict of initial values per chain (the model's default initial point when
        omitted).
    random_seed : int, optional
    progressbar : bool
    target_accept : float
        Target acceptance rate of the step-size adaptation.
    chain_method : {"parallel", "vectorized"}, default="parallel"
    jitter : bool, optional
        Jitter the initial points (PyMC's uniform(-1, 1) in the unconstrained space);
        by default only when ``initvals`` is omitted.
    nuts_kwargs : dict, optional
        Options of NumPyro's NUTS kernel (``dense_mass``, ``max_tree_depth``, ...).
        ``dense_mass`` defaults to whether the model has at most
        :data:`DENSE_MASS_MAX_SIZE` unconstrained coordinates.

    Returns
    -------
    arviz.InferenceData
        ``posterior`` (free variables and deterministics), ``log_likelihood``
        (pointwise), ``sample_stats`` (``lp``, the log density; ``energy``,
        ``step_size``, ``n_steps``, ``tree_depth``, ``acceptance_rate``,
        ``diverging``) and ``observed_data``.

    Raises
    ------
    ValueError
        When ``initvals`` does not hold one dict per chain.
    pymc.exceptions.SamplingError
        When a jittered initial point has a log density that is not finite after
        :data:`~bayesmix.bayes.backends.jax_model.JITTER_RETRIES` draws.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import build_model
    >>> from bayesmix.bayes.backends.jax_nuts import sample_numpyro
    >>> X = np.random.default_rng(0).normal(size=(40, 1))
    >>> idata = sample_numpyro(build_model(X, 1, "spherical"), draws=20, tune=20,
    ...                        chains=2, initvals=None, random_seed=0, progressbar=False,
    ...                        target_accept=0.8)
    >>> dict(idata.posterior["means"].sizes)
    {'chain': 2, 'draw': 20, 'component': 1, 'feature': 1}
    >>> dict(idata.log_likelihood["x"].sizes)
    {'chain': 2, 'draw': 20, 'obs': 40}
    """
    chain_method = check_option(chain_method, "chain_method", CHAIN_METHODS)
    if initvals is not None and len(initvals) != chains:
        raise ValueError(
            f"initvals holds {len(initvals)} dict(s) for chains={chains}: give one dict "
            f"of initial values per chain, or None for the model's default point."
        )
    converted = jax_model(model)
    nuts_options = _hashable({"dense_mass": converted.functions.size <= DENSE_MASS_MAX_SIZE,
                              **(nuts_kwargs or {})})
    rng = np.random.default_rng(random_seed)
    points, log_density = converted.start_points(
        list(initvals) if initvals is not None else [None] * chains,
        jitter=initvals is None if jitter is None else bool(jitter), rng=rng)
    if not np.all(np.isfinite(log_density)):
        chain = int(np.flatnonzero(~np.isfinite(log_density))[0])
        raise SamplingError(f"Bad initial energy: the log density is not finite at chain "
                            f"{chain}'s jittered initial point.")
    # Raw (threefry) keys of the chains, drawn here: JAX would compile a program for it.
    keys = rng.integers(2**32, size=(chains, 2), dtype=np.uint32)
    group = chains if chain_method == "vectorized" else min(chains, jax.local_device_count())
    progress = None
    if progressbar:
        from tqdm.auto import tqdm

        per_call = math.ceil((tune + draws) / PROGRESS_CALLS)
        progress = tqdm(total=chains * PROGRESS_CALLS * per_call, desc="NUTS", unit="it")
    results = [
        _run_chains(converted, keys[first:first + group],
                    [point[first:first + group] for point in points], tune=tune,
                    draws=draws, target_accept=float(target_accept),
                    nuts_options=nuts_options, chain_method=chain_method, progress=progress)
        for first in range(0, chains, group)
    ]
    if progress is not None:
        progress.close()
    posterior, log_likelihood, stats = (
        {name: np.concatenate([result[part][name] for result in results])
         for name in results[0][part]} for part in range(3))
    stats["tree_depth"] = np.log2(stats["n_steps"]).astype(int) + 1
    return converted.inference_data(posterior, log_likelihood, sample_stats=stats)
