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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import arviz as az
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
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

__all__ = ["CHAIN_METHODS", "DENSE_MASS_MAX_SIZE", "PROGRESS_CALLS", "ChainProgram",
           "compile_ahead", "sample_numpyro"]

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


class ChainProgram:
    """A function mapped over chains, compiled with bayesmix's compiler options.

    The chains are the first axis of the arguments whose ``in_axes`` is 0: one CPU device
    per chain (``"parallel"``, as ``jax.pmap`` runs them, which takes no compiler
    options) or vectorised in one program (``"vectorized"``). :meth:`compile_ahead`
    compiles the program for given argument shapes on a background thread; a call waits
    for it rather than compiling the same program twice.

    Parameters
    ----------
    function : callable
        One chain's computation.
    in_axes : tuple of {0, None}
        Per argument: 0 when it holds one entry per chain, None when the chains share it.
    chain_method : {"parallel", "vectorized"}

    Examples
    --------
    >>> import jax
    >>> import numpy as np
    >>> from bayesmix.bayes.backends.jax_nuts import ChainProgram
    >>> double = ChainProgram(lambda x, shift: 2 * x + shift, (0, None), "parallel")
    >>> double.compile_ahead(jax.ShapeDtypeStruct((2, 3), np.float64), 1.0)
    >>> np.asarray(double(np.ones((2, 3)), 1.0))
    array([[3., 3., 3.],
           [3., 3., 3.]])
    """

    def __init__(self, function: Callable, in_axes: tuple, chain_method: str) -> None:
        self.function, self.in_axes, self.chain_method = function, in_axes, chain_method
        self._mapped = in_axes.index(0)
        self._programs: dict[int, Callable] = {}
        self._compiling: dict[int, Future] = {}

    def program(self, n_chains: int) -> Callable:
        """The jitted program of ``n_chains`` chains (made once).

        Examples
        --------
        >>> from bayesmix.bayes.backends.jax_nuts import ChainProgram
        >>> double = ChainProgram(lambda x: 2 * x, (0,), "vectorized")
        >>> double.program(2) is double.program(2)
        True
        """
        if n_chains not in self._programs:
            self._programs[n_chains] = self._jitted(n_chains)
        return self._programs[n_chains]

    def _jitted(self, n_chains: int) -> Callable:
        if self.chain_method == "vectorized":
            return jit(jax.vmap(self.function, in_axes=self.in_axes))

        def per_device(*args):
            args = [jax.tree.map(lambda chains: chains[0], arg) if axis == 0 else arg
                    for arg, axis in zip(args, self.in_axes)]
            return jax.tree.map(lambda value: value[None], self.function(*args))

        specs = tuple(PartitionSpec("chain") if axis == 0 else PartitionSpec()
                      for axis in self.in_axes)
        return jit(jax.shard_map(per_device, mesh=_chain_mesh(n_chains), in_specs=specs,
                                 out_specs=PartitionSpec("chain"), check_vma=False))

    def _n_chains(self, args: tuple) -> int:
        return int(jax.tree.leaves(args[self._mapped])[0].shape[0])

    def output_shapes(self, *args: Any) -> Any:
        """The outputs' shapes, types and placement for these arguments (concrete or
        ``jax.ShapeDtypeStruct``), from tracing the program without running it.

        Parallel chains' outputs are spread over the devices, chain by chain: a program
        compiled ahead for them must know it, or their call compiles it again.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes.backends.jax_nuts import ChainProgram
        >>> double = ChainProgram(lambda x: {"twice": 2 * x}, (0,), "parallel")
        >>> shapes = double.output_shapes(np.ones((2, 3)))
        >>> shapes["twice"].shape, shapes["twice"].sharding.spec
        ((2, 3), P('chain',))
        """
        n_chains = self._n_chains(args)
        shapes = jax.eval_shape(self.program(n_chains), *args)
        if self.chain_method == "vectorized":
            return shapes
        placement = NamedSharding(_chain_mesh(n_chains), PartitionSpec("chain"))
        return jax.tree.map(
            lambda shape: jax.ShapeDtypeStruct(shape.shape, shape.dtype, sharding=placement),
            shapes)

    def compile_ahead(self, *args: Any) -> None:
        """Compile the program for these arguments' shapes on a background thread.

        JAX keeps the compiled program, so the call with arrays of those shapes runs it
        (and waits for the compilation to end). Compiling is C++ that releases Python's
        lock: it proceeds while the caller traces, compiles and runs other programs.

        Examples
        --------
        >>> import jax
        >>> import numpy as np
        >>> from bayesmix.bayes.backends.jax_nuts import ChainProgram
        >>> total = ChainProgram(lambda x: x.sum(), (0,), "vectorized")
        >>> total.compile_ahead(jax.ShapeDtypeStruct((2, 3), np.float64))
        >>> np.asarray(total(np.ones((2, 3))))  # waits for the compilation, if need be
        array([3., 3.])
        """
        n_chains = self._n_chains(args)
        if n_chains not in self._compiling:
            program = self.program(n_chains)
            self._compiling[n_chains] = _background().submit(
                lambda: program.lower(*args).compile())

    def __call__(self, *args: Any) -> Any:
        n_chains = self._n_chains(args)
        compiling = self._compiling.get(n_chains)
        if compiling is not None:
            compiling.result()
        return self.program(n_chains)(*args)


def _chain_mesh(n_chains: int) -> Mesh:
    """The first ``n_chains`` CPU devices, one chain each."""
    return Mesh(np.array(jax.local_devices()[:n_chains]), ("chain",))


@functools.cache
def _background() -> ThreadPoolExecutor:
    """The threads programs compile on ahead of their first call."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="bayesmix-compile")


@functools.lru_cache(maxsize=4 * IN_PROCESS_STRUCTURES)
def _programs(functions: ModelFunctions, tune: int, n_steps: int, target_accept: float,
              nuts_options: tuple[tuple[str, Any], ...], chain_method: str
              ) -> tuple[ChainProgram, ChainProgram, ChainProgram]:
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

    return (ChainProgram(start, (0, 0, None), chain_method),
            ChainProgram(advance, (0, None), chain_method),
            ChainProgram(posterior, (0, None), chain_method))


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


@dataclass(frozen=True)
class _Plan:
    """How a run's chains go: the converted model, its programs, the chains run together
    (a group), and the calls each group's iterations take (several with a progress bar) of
    ``n_steps`` each."""

    converted: JaxModel
    start: ChainProgram
    advance: ChainProgram
    posterior: ChainProgram
    group: int
    calls: int
    n_steps: int


def compile_ahead(model: Any, *, draws: int, tune: int, chains: int, target_accept: float,
                  progressbar: bool, chain_method: str = "parallel",
                  nuts_kwargs: Mapping[str, Any] | None = None) -> _Plan:
    """Start compiling the programs of :func:`sample_numpyro` with these settings.

    The model is converted and the chains' start traced here; the iterations (the
    largest program, most of a first fit's compilation) then compile on a background
    thread while the caller goes on -- checking the initial points, compiling and
    running the chains' start (after which the draws' post-processing compiles on a
    second thread) -- instead of one after the other. Programs compiled before (in the
    process, or in the persistent cache) load instead.

    Parameters
    ----------
    model : pymc.Model
    draws, tune, chains, target_accept, progressbar, chain_method, nuts_kwargs
        As :func:`sample_numpyro` will be called with.

    Returns
    -------
    _Plan
        What :func:`sample_numpyro` runs.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import build_model
    >>> from bayesmix.bayes.backends.jax_nuts import compile_ahead
    >>> X = np.random.default_rng(0).normal(size=(40, 1))
    >>> plan = compile_ahead(build_model(X, 1, "spherical"), draws=20, tune=20, chains=2,
    ...                      target_accept=0.8, progressbar=False)
    >>> plan.group, plan.n_steps
    (2, 40)
    """
    chain_method = check_option(chain_method, "chain_method", CHAIN_METHODS)
    converted = jax_model(model)
    functions = converted.functions
    nuts_options = _hashable({"dense_mass": functions.size <= DENSE_MASS_MAX_SIZE,
                              **(nuts_kwargs or {})})
    calls = PROGRESS_CALLS if progressbar else 1
    n_steps = math.ceil((tune + draws) / calls)
    start, advance, posterior = _programs(functions, tune, n_steps, float(target_accept),
                                          nuts_options, chain_method)
    group = chains if chain_method == "vectorized" else min(chains, jax.local_device_count())
    keys = jax.ShapeDtypeStruct((group, 2), np.uint32)
    points = [jax.ShapeDtypeStruct((group, *shape), np.float64)
              for shape in functions.value_shapes]
    # Tracing the start first sets the kernel's warm-up schedule, which the iterations read.
    state = start.output_shapes(keys, points, converted.constants)
    advance.compile_ahead(state, converted.constants)
    return _Plan(converted, start, advance, posterior, group, calls, n_steps)


def _run_chains(plan: _Plan, keys: np.ndarray, points: list[np.ndarray], *, tune: int,
                draws: int, progress: Any) -> tuple[dict, dict, dict]:
    """One group of chains: the posterior's draws, log-likelihoods and statistics."""
    converted = plan.converted
    state = plan.start(keys, points, converted.constants)
    # The post-processing compiles now, on the core the start's compilation leaves to the
    # iterations' (still going on), rather than during the sampling.
    plan.posterior.compile_ahead(
        [jax.ShapeDtypeStruct((len(keys), draws, *value.shape[1:]), value.dtype)
         for value in state.z], converted.constants)
    values, stats = [], []
    for _ in range(plan.calls):
        state, (chunk_values, chunk_stats) = plan.advance(state, converted.constants)
        values.append(chunk_values)
        stats.append(chunk_stats)
        if progress is not None:
            progress.update(len(keys) * plan.n_steps)
    kept = slice(tune, tune + draws)
    values = [np.concatenate(parts, axis=1)[:, kept] for parts in zip(*values)]
    stats = {name: np.concatenate([chunk[name] for chunk in stats], axis=1)[:, kept]
             for name in _STATE_STATS}
    variables, log_likelihood = plan.posterior(values, converted.constants)
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
    if initvals is not None and len(initvals) != chains:
        raise ValueError(
            f"initvals holds {len(initvals)} dict(s) for chains={chains}: give one dict "
            f"of initial values per chain, or None for the model's default point."
        )
    plan = compile_ahead(model, draws=draws, tune=tune, chains=chains,
                         target_accept=target_accept, progressbar=progressbar,
                         chain_method=chain_method, nuts_kwargs=nuts_kwargs)
    converted = plan.converted
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
    progress = None
    if progressbar:
        from tqdm.auto import tqdm

        progress = tqdm(total=chains * plan.calls * plan.n_steps, desc="NUTS", unit="it")
    group = plan.group
    results = [
        _run_chains(plan, keys[first:first + group],
                    [point[first:first + group] for point in points], tune=tune,
                    draws=draws, progress=progress)
        for first in range(0, chains, group)
    ]
    if progress is not None:
        progress.close()
    posterior, log_likelihood, stats = (
        {name: np.concatenate([result[part][name] for result in results])
         for name in results[0][part]} for part in range(3))
    stats["tree_depth"] = np.log2(stats["n_steps"]).astype(int) + 1
    return converted.inference_data(posterior, log_likelihood, sample_stats=stats)
