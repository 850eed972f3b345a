"""The model's log density and draws as JAX functions, converted once per model structure.

PyMC converts a model to JAX with its data and priors written into the program as
constants, so every fit -- of the same data or of new data of the same size -- converts,
traces and compiles its sampler anew (about 7 s of an 18 s default NUTS fit). Here every
floating-point array constant of the model's graph (the data, the priors' vectors) is
lifted into an argument before the conversion. Models whose graphs are then equal (the
same structure, numbers of components, features and rows, and scalar constants) share
one :class:`ModelFunctions`, kept in an in-process cache, so a program compiled on it
(the NUTS and ADVI loops of :mod:`~bayesmix.bayes.backends.jax_nuts` and
:mod:`~bayesmix.bayes.backends.jax_vi`) serves every fit of that structure and size: from
JAX's own cache within a process, and across processes from JAX's persistent compilation
cache, which :func:`~bayesmix.bayes.backends.compile_cache.enable_compilation_cache`
points at bayesmix's folder when a model is first converted.

Importing this module loads PyMC and JAX; the back ends import it when they run. Its
length (about 570 lines, half of them docstrings) is that of one conversion: lifting the
constants, converting the graph, and the functions the samplers call.
"""

from __future__ import annotations

import dataclasses
import functools
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import arviz as az
import jax
import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.backends.arviz import coords_and_dims_for_inferencedata, find_observations
from pymc.initial_point import make_initial_point_expression
from pymc.pytensorf import compile as compile_pytensor
from pymc.pytensorf import find_rng_nodes, reseed_rngs
from pymc.sampling.jax import get_jaxified_graph
from pymc.util import get_default_varnames
from pytensor.compile.mode import Mode
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant, Variable, equal_computations
from pytensor.graph.replace import clone_replace
from pytensor.graph.traversal import applys_between, graph_inputs
from pytensor.tensor.random.type import RandomType

from bayesmix.bayes.backends.compile_cache import enable_compilation_cache, jit

__all__ = ["JaxModel", "ModelFunctions", "has_random_log_density", "jax_model"]

#: Model structures kept in the in-process cache (the least recently used is dropped).
IN_PROCESS_STRUCTURES = 32

#: How many times a chain's start is jittered anew when its log density is not finite.
JITTER_RETRIES = 10


# --------------------------------------------------------------------------- the graph
def has_random_log_density(model: pm.Model) -> bool:
    """Whether the model's log density is random: it observes random minibatches.

    Such a model cannot be converted (each evaluation draws new rows); VI fits it with
    PyMC's own loop.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import build_model
    >>> from bayesmix.bayes.backends.jax_model import has_random_log_density
    >>> X = np.random.default_rng(0).normal(size=(50, 1))
    >>> has_random_log_density(build_model(X, 1)), has_random_log_density(
    ...     build_model(X, 1, batch_size=10))
    (False, True)
    """
    observed = [model.rvs_to_values[rv] for rv in model.observed_RVs]
    return any(isinstance(variable.type, RandomType) for variable in graph_inputs(observed))


@dataclass
class _LiftedGraph:
    """A model's graph with its floating-point array constants as inputs."""

    inputs: list[Variable]  # values, constrained values, lifted constants
    outputs: list[Variable]  # log density, terms, log-likelihoods, draws, transformed
    constants: tuple[np.ndarray, ...]  # the lifted constants' values, in input order
    signature: tuple  # what two equal graphs share: names, types, sizes


def _forward(model: pm.Model, rv: Variable, value: Variable) -> Variable:
    """``value`` of a free variable mapped to the sampler's unconstrained space."""
    transform = model.rvs_to_transforms.get(rv)
    return value if transform is None else transform.forward(value, *rv.owner.inputs)


def _lifted_graph(model: pm.Model) -> _LiftedGraph:
    factors = model.basic_RVs + model.potentials
    terms = model.logp(factors, sum=False)
    term_sums = [pt.sum(term) for term in terms]
    log_likelihoods = [terms[factors.index(rv)] for rv in model.observed_RVs]
    draws = get_default_varnames(model.unobserved_value_vars, include_transformed=False)
    constrained = [rv.type(name=rv.name) for rv in model.free_RVs]
    transformed = [_forward(model, rv, value)
                   for rv, value in zip(model.free_RVs, constrained)]
    outputs = [pt.sum(pt.stack(term_sums)), *term_sums, *log_likelihoods, *draws, *transformed]

    free_inputs = set(model.value_vars) | set(constrained)
    replacements, placeholders, values = {}, [], []
    for variable in graph_inputs(outputs):
        if variable in free_inputs:
            continue
        if isinstance(variable, SharedVariable):
            if isinstance(variable.type, RandomType):
                raise ValueError(
                    "The model's log density is random (it observes random minibatches), "
                    "so it cannot be converted to JAX. Build the model without batch_size."
                )
            data = np.asarray(variable.get_value(borrow=True))
        elif isinstance(variable, Constant):
            data = np.asarray(variable.data)
        else:
            raise ValueError(
                f"The model's log density depends on {variable}, which is neither a free "
                f"variable, data nor a constant; it cannot be converted to JAX."
            )
        if data.ndim and np.issubdtype(data.dtype, np.floating):
            replacements[variable] = pt.tensor(name=variable.name, dtype=str(data.dtype),
                                               shape=data.shape)
            placeholders.append(replacements[variable])
            values.append(data)
        elif isinstance(variable, SharedVariable):
            replacements[variable] = pt.constant(data)
    outputs = clone_replace(outputs, replace=replacements)
    inputs = [*model.value_vars, *constrained, *placeholders]
    signature = (
        tuple((variable.name, variable.type) for variable in inputs),
        tuple(factor.name for factor in factors),
        tuple(rv.name for rv in model.observed_RVs),
        tuple(draw.name for draw in draws),
        sum(1 for _ in applys_between(inputs, outputs)),
    )
    return _LiftedGraph(inputs, outputs, tuple(values), signature)


# --------------------------------------------------------------------------- functions
@dataclass(frozen=True, eq=False)
class ModelFunctions:
    """The JAX functions of one model structure, shared by every model of it.

    Each takes the unconstrained values (or the constrained ones) and the model's lifted
    constants (:attr:`JaxModel.constants`); they are plain functions of arrays, to be
    traced into the programs of the back ends. Compared and hashed by identity, so that
    a compiled program can be keyed on it.

    Attributes
    ----------
    value_names, value_shapes : tuple
        The free variables in the unconstrained space (PyMC's value variables, e.g.
        ``sigmas_log__``), in the order the functions take them.
    free_names : tuple of str
        The free variables in their own (constrained) space, in the same order.
    factor_names : tuple of str
        The log density's terms: one per variable, as PyMC names them.
    observed_names : tuple of str
        The observed variables, whose pointwise log-likelihoods :meth:`posterior` gives.
    draw_names : tuple of str
        The posterior's variables: free variables (constrained) and deterministics.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import build_model
    >>> from bayesmix.bayes.backends.jax_model import jax_model
    >>> X = np.random.default_rng(0).normal(size=(30, 1))
    >>> functions = jax_model(build_model(X, 2, "spherical")).functions
    >>> functions.value_names, functions.size
    (('weights_simplex__', 'means_offset', 'sigma_log__'), 5)
    >>> functions.draw_names
    ('means_offset', 'weights', 'sigma', 'means', 'covariances')
    """

    value_names: tuple[str, ...]
    value_shapes: tuple[tuple[int, ...], ...]
    free_names: tuple[str, ...]
    factor_names: tuple[str, ...]
    observed_names: tuple[str, ...]
    draw_names: tuple[str, ...]
    main: Callable[..., list]
    forward: Callable[..., list]

    @property
    def size(self) -> int:
        """The number of unconstrained coordinates (the sampler's dimension)."""
        return sum(int(np.prod(shape, dtype=int)) for shape in self.value_shapes)

    def log_density(self, values: Sequence, constants: Sequence) -> jax.Array:
        """The joint log density (Jacobians included) at unconstrained ``values``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes import build_model
        >>> from bayesmix.bayes.backends.jax_model import jax_model
        >>> model = jax_model(build_model(np.random.default_rng(0).normal(size=(30, 1)), 2,
        ...                               "spherical"))
        >>> functions, zeros = model.functions, [np.zeros(shape) for shape in
        ...                                      model.functions.value_shapes]
        >>> round(float(functions.log_density(zeros, model.constants)), 4)
        -41.4762
        """
        return self.main(*values, *constants)[0]

    def terms(self, values: Sequence, constants: Sequence) -> list[jax.Array]:
        """Each factor's log density, summed, in :attr:`factor_names` order.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes import build_model
        >>> from bayesmix.bayes.backends.jax_model import jax_model
        >>> model = jax_model(build_model(np.random.default_rng(0).normal(size=(30, 1)), 2,
        ...                               "spherical"))
        >>> functions, zeros = model.functions, [np.zeros(shape) for shape in
        ...                                      model.functions.value_shapes]
        >>> terms = functions.terms(zeros, model.constants)
        >>> functions.factor_names, bool(np.isclose(sum(terms), functions.log_density(
        ...     zeros, model.constants)))
        (('weights', 'means_offset', 'sigma', 'x'), True)
        """
        return self.main(*values, *constants)[1:1 + len(self.factor_names)]

    def posterior(self, values: Sequence, constants: Sequence
                  ) -> tuple[dict[str, jax.Array], dict[str, jax.Array]]:
        """The posterior's variables and the pointwise log-likelihoods at ``values``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes import build_model
        >>> from bayesmix.bayes.backends.jax_model import jax_model
        >>> model = jax_model(build_model(np.random.default_rng(0).normal(size=(30, 1)), 2,
        ...                               "spherical"))
        >>> functions, zeros = model.functions, [np.zeros(shape) for shape in
        ...                                      model.functions.value_shapes]
        >>> draws, log_likelihood = functions.posterior(zeros, model.constants)
        >>> sorted(draws), log_likelihood["x"].shape
        (['covariances', 'means', 'means_offset', 'sigma', 'weights'], (30,))
        """
        outputs = self.main(*values, *constants)[1 + len(self.factor_names):]
        n_observed = len(self.observed_names)
        return (dict(zip(self.draw_names, outputs[n_observed:])),
                dict(zip(self.observed_names, outputs[:n_observed])))

    def unconstrained(self, constrained: Sequence, constants: Sequence) -> list[jax.Array]:
        """Constrained values of the free variables mapped to the unconstrained space.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes import build_model
        >>> from bayesmix.bayes.backends.jax_model import jax_model
        >>> model = jax_model(build_model(np.random.default_rng(0).normal(size=(30, 1)), 2,
        ...                               "spherical"))
        >>> functions, zeros = model.functions, [np.zeros(shape) for shape in
        ...                                      model.functions.value_shapes]
        >>> draws, _ = functions.posterior(zeros, model.constants)
        >>> back = functions.unconstrained([draws[name] for name in functions.free_names],
        ...                                model.constants)
        >>> all(np.allclose(a, b, atol=1e-12) for a, b in zip(back, zeros))
        True
        """
        return list(self.forward(*constrained, *constants))


def _convert(graph: _LiftedGraph, model: pm.Model) -> ModelFunctions:
    n_values = len(model.value_vars)
    lifted = graph.inputs[2 * n_values:]
    n_main = len(graph.outputs) - n_values
    return ModelFunctions(
        value_names=tuple(value.name for value in model.value_vars),
        value_shapes=tuple(np.shape(value) for value in _initial_point(model, True)),
        free_names=tuple(rv.name for rv in model.free_RVs),
        factor_names=tuple(factor.name for factor in model.basic_RVs + model.potentials),
        observed_names=tuple(rv.name for rv in model.observed_RVs),
        draw_names=tuple(output.name for output in
                         get_default_varnames(model.unobserved_value_vars,
                                              include_transformed=False)),
        # Jitted so that JAX traces each once per argument shapes, then reuses the trace
        # in every program built on them (tracing PyTensor's JAX code costs seconds);
        # plain jax.jit: nested in the programs, they take the programs' compiler options.
        main=jax.jit(get_jaxified_graph(inputs=graph.inputs[:n_values] + lifted,
                                        outputs=graph.outputs[:n_main])),
        forward=jax.jit(get_jaxified_graph(inputs=graph.inputs[n_values:2 * n_values] + lifted,
                                           outputs=graph.outputs[n_main:])),
    )


def _initial_point(model: pm.Model, transformed: bool) -> list[np.ndarray]:
    """The model's default initial values of its free variables, in their order:
    unconstrained (``transformed``) or in their own space.

    As ``pymc.initial_point.make_initial_point_fn(...)(0)`` computes them, but evaluated
    by PyTensor's Python linker: no C code is compiled, so a fit on JAX never pays
    PyTensor's C set-up (a compiler probe, then C modules for new operations, seconds on
    a machine whose PyTensor cache is empty).
    """
    expressions = make_initial_point_expression(
        free_rvs=model.free_RVs, rvs_to_transforms=model.rvs_to_transforms,
        initval_strategies=dict(model.rvs_to_initial_values), jitter_rvs=set(),
        return_transformed=transformed)
    function = compile_pytensor([], expressions,
                                mode=Mode(linker="py", optimizer="fast_compile"))
    reseed_rngs(find_rng_nodes(function.maker.fgraph.outputs), 0)
    return function()


#: The converted structures, the most recently used last: (graph, functions), the graphs
#: without their constants' values (the data of the model first converted).
_CONVERTED: list[tuple[_LiftedGraph, ModelFunctions]] = []


def _functions_of(graph: _LiftedGraph, model: pm.Model) -> ModelFunctions:
    """The functions of an equal graph converted before, or ``graph`` converted now."""
    for index, (known, functions) in enumerate(_CONVERTED):
        if known.signature == graph.signature and equal_computations(
                graph.outputs, known.outputs, in_xs=graph.inputs, in_ys=known.inputs):
            _CONVERTED.append(_CONVERTED.pop(index))
            return functions
    functions = _convert(graph, model)
    _CONVERTED.append((dataclasses.replace(graph, constants=()), functions))
    del _CONVERTED[:-IN_PROCESS_STRUCTURES]
    return functions


# --------------------------------------------------------------------------- one model
@dataclass(frozen=True, eq=False)
class JaxModel:
    """A model as JAX functions: its structure's :class:`ModelFunctions` and its constants.

    Attributes
    ----------
    model : pymc.Model
    functions : ModelFunctions
        Shared with every model of the same structure and size.
    constants : tuple of ndarray
        This model's lifted constants (its data and priors).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import build_model
    >>> from bayesmix.bayes.backends.jax_model import jax_model
    >>> rng = np.random.default_rng(0)
    >>> first = jax_model(build_model(rng.normal(size=(30, 2)), 2))
    >>> second = jax_model(build_model(rng.normal(size=(30, 2)), 2))  # new data, same size
    >>> second.functions is first.functions
    True
    >>> [constant.shape for constant in second.constants if constant.size > 10]  # the data
    [(30, 2)]
    """

    model: pm.Model
    functions: ModelFunctions
    constants: tuple[np.ndarray, ...]

    def start_points(self, initvals: Sequence[Mapping[str, Any] | None], *,
                     jitter: bool = False, rng: np.random.Generator | None = None
                     ) -> tuple[list[np.ndarray], np.ndarray]:
        """Unconstrained starting points of several chains, with their log densities.

        Parameters
        ----------
        initvals : sequence of dict or None
            Per chain, values of free variables in their own space (PyMC's
            ``initvals``); the model's default initial point for the others. Names of
            deterministics are ignored, as PyMC ignores them.
        jitter : bool, default=False
            Add uniform(-1, 1) noise in the unconstrained space (PyMC's jitter), drawn
            anew up to :data:`JITTER_RETRIES` times for a chain whose log density is
            not finite there.
        rng : numpy.random.Generator, optional
            Source of the jitter.

        Returns
        -------
        points : list of ndarray
            Per value variable, the chains' values stacked on a first axis.
        log_density : ndarray of shape (n_chains,)
            Not finite where a start is outside the support or the data overflow.

        Raises
        ------
        ValueError
            For a name that is not a variable of the model.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes import build_model
        >>> from bayesmix.bayes.backends.jax_model import jax_model
        >>> X = np.random.default_rng(0).normal(size=(30, 1))
        >>> converted = jax_model(build_model(X, 1, "spherical"))
        >>> points, log_density = converted.start_points([{"sigma": [1.0]}, {"sigma": [-1.0]}])
        >>> points[-1].ravel(), np.isfinite(log_density)
        (array([ 0., nan]), array([ True, False]))
        """
        constrained = [np.stack(arrays) for arrays in
                       zip(*(self._constrained(values) for values in initvals))]
        rng = rng if rng is not None else np.random.default_rng()
        noise = [np.zeros((len(initvals), *shape)) for shape in self.functions.value_shapes]
        redo = np.ones(len(initvals), dtype=bool)
        for _ in range(JITTER_RETRIES if jitter else 1):
            if jitter:
                for array in noise:
                    array[redo] = rng.uniform(-1.0, 1.0, array[redo].shape)
            points, log_density = _start_program(self.functions)(constrained, noise,
                                                                 self.constants)
            redo = ~np.isfinite(np.asarray(log_density))
            if not redo.any():
                break
        return [np.asarray(point) for point in points], np.asarray(log_density)

    def terms(self, point: Sequence[np.ndarray]) -> dict[str, float]:
        """Each factor's log density at one unconstrained point, by name.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes import build_model
        >>> from bayesmix.bayes.backends.jax_model import jax_model
        >>> X = np.random.default_rng(0).normal(size=(30, 2))
        >>> converted = jax_model(build_model(X, 2))
        >>> points, _ = converted.start_points([None])
        >>> sorted(converted.terms([chains[0] for chains in points]))
        ['corr_cpc', 'means_offset', 'sigmas', 'weights', 'x']
        """
        values = _terms_program(self.functions)(list(point), self.constants)
        return {name: float(value) for name, value in zip(self.functions.factor_names, values)}

    def inference_data(self, posterior: Mapping[str, np.ndarray],
                       log_likelihood: Mapping[str, np.ndarray],
                       sample_stats: Mapping[str, np.ndarray] | None = None
                       ) -> az.InferenceData:
        """Draws of :meth:`ModelFunctions.posterior`, as PyMC lays them out.

        Parameters
        ----------
        posterior, log_likelihood : dict
            Arrays of shape ``(chain, draw, ...)`` by variable name.
        sample_stats : dict, optional

        Returns
        -------
        arviz.InferenceData
            ``posterior`` and ``observed_data`` with the model's dims and coords,
            ``log_likelihood`` with the observed variables' row dims, and
            ``sample_stats`` when given.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes import build_model
        >>> from bayesmix.bayes.backends.jax_model import jax_model
        >>> X = np.random.default_rng(0).normal(size=(30, 1))
        >>> converted = jax_model(build_model(X, 1, "spherical"))
        >>> idata = converted.inference_data({"sigma": np.ones((1, 5, 1))},
        ...                                  {"x": np.zeros((1, 5, 30))})
        >>> idata.posterior["sigma"].dims, idata.log_likelihood["x"].dims
        (('chain', 'draw', 'component'), ('chain', 'draw', 'obs'))
        """
        coords, dims = coords_and_dims_for_inferencedata(self.model)
        idata = az.from_dict(posterior=dict(posterior), sample_stats=sample_stats,
                             coords=coords, dims=dims)
        # A pointwise log-likelihood has its observed variable's leading (row) dims only.
        pointwise_dims = {name: dims.get(name, [])[:np.ndim(value) - 2]
                          for name, value in log_likelihood.items()}
        idata.extend(az.from_dict(log_likelihood=dict(log_likelihood), coords=coords,
                                  dims=pointwise_dims))
        idata.extend(az.from_dict(observed_data=find_observations(self.model), coords=coords,
                                  dims=dims))
        return idata

    def _constrained(self, values: Mapping[str, Any] | None) -> list[np.ndarray]:
        values = dict(values or {})
        unknown = sorted(set(values) - set(self.model.named_vars))
        if unknown:
            raise ValueError(
                f"initvals names {unknown[0]!r}, which is not a variable of the model; its "
                f"free variables are {', '.join(self.functions.free_names)}."
            )
        missing = [name for name in self.functions.free_names if name not in values]
        defaults = _default_point(self.model) if missing else {}
        return [np.asarray(values[name] if name in values else defaults[name],
                           dtype=np.float64) for name in self.functions.free_names]


def _default_point(model: pm.Model) -> dict[str, np.ndarray]:
    """The model's default initial values of its free variables, in their own space."""
    return dict(zip((rv.name for rv in model.free_RVs), _initial_point(model, False)))


@functools.lru_cache(maxsize=IN_PROCESS_STRUCTURES)
def _start_program(functions: ModelFunctions) -> Callable:
    """Compiled: constrained starts plus noise -> unconstrained starts, log densities."""

    def start(constrained, noise, constants):
        values = [value + shift for value, shift in
                  zip(functions.unconstrained(constrained, constants), noise)]
        return values, functions.log_density(values, constants)

    return jit(jax.vmap(start, in_axes=(0, 0, None)))


@functools.lru_cache(maxsize=IN_PROCESS_STRUCTURES)
def _terms_program(functions: ModelFunctions) -> Callable:
    return jit(functions.terms)


#: Models already converted: what they had then, their functions and constants (not the
#: model itself, which would keep its own entry alive).
_BOUND: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _fingerprint(model: pm.Model) -> tuple:
    return tuple(model.named_vars), tuple(model.coords), len(model.potentials)


def jax_model(model: pm.Model) -> JaxModel:
    """``model`` as JAX functions, converted once per structure and size in a process.

    The model's graph, with its floating-point array constants lifted into inputs, is
    compared with those converted before (PyTensor's ``equal_computations``); an equal
    one's functions are reused, so that programs compiled on them are too. A model
    converted before and not changed since is not even compared again.

    Parameters
    ----------
    model : pymc.Model
        Typically from :func:`~bayesmix.bayes.build_model`, or one extending it.

    Returns
    -------
    JaxModel

    Raises
    ------
    ValueError
        When the log density is random (minibatches; see :func:`has_random_log_density`)
        or depends on something other than free variables, data and constants.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import build_model
    >>> from bayesmix.bayes.backends.jax_model import jax_model
    >>> X = np.random.default_rng(0).normal(size=(30, 2))
    >>> converted = jax_model(build_model(X, 2, "diag"))
    >>> points, log_density = converted.start_points([None, None])
    >>> [point.shape for point in points], bool(np.isfinite(log_density).all())
    ([(2, 1), (2, 2, 2), (2, 2, 2)], True)
    """
    enable_compilation_cache()
    fingerprint = _fingerprint(model)
    fingerprint_then, functions, constants = _BOUND.get(model, (None, None, None))
    if fingerprint_then == fingerprint:
        return JaxModel(model=model, functions=functions, constants=constants)
    graph = _lifted_graph(model)
    functions = _functions_of(graph, model)
    _BOUND[model] = (fingerprint, functions, graph.constants)
    return JaxModel(model=model, functions=functions, constants=graph.constants)
