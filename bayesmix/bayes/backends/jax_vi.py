"""ADVI on JAX: mean-field and full-rank Gaussian approximations of the converted model.

The algorithm of PyMC's ``pm.fit`` with ``ADVI`` or ``FullRankADVI``: a Gaussian
approximation in the unconstrained space (standard deviations, or the Cholesky factor's
diagonal, through softplus), one Monte-Carlo draw of the negative ELBO and its
reparameterised gradient per step, PyMC's windowed Adagrad (``adagrad_window``: the step
divided by the root of the last ten squared gradients plus 0.1), and PyMC's stopping rule
(``CheckParametersConvergence(every=100, diff="absolute")``: the largest change of a
variational parameter over 100 steps below ``tol``). It runs as compiled JAX programs on
:func:`~bayesmix.bayes.backends.jax_model.jax_model`, so it compiles no C code (PyMC's
loop compiled C modules for minutes on a fresh machine) and is compiled once per model
structure and size, then reused in the process and, through the persistent compilation
cache, in later processes. The steps run in calls of :data:`STEPS_PER_CALL`, between
which a progress bar moves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from bayesmix.bayes.backends.compile_cache import jit
from bayesmix.bayes.backends.jax_model import IN_PROCESS_STRUCTURES, JaxModel, ModelFunctions

__all__ = ["ADAGRAD_EPSILON", "ADAGRAD_WINDOW", "CHECK_EVERY", "STEPS_PER_CALL",
           "VIFit", "fit_advi"]

#: PyMC's ``adagrad_window`` defaults: squared gradients of the last ``ADAGRAD_WINDOW``
#: steps, offset by ``ADAGRAD_EPSILON``.
ADAGRAD_WINDOW = 10
ADAGRAD_EPSILON = 0.1
#: Steps between two convergence checks (PyMC's ``CheckParametersConvergence(every=...)``).
CHECK_EVERY = 100
#: Optimisation steps per call of the compiled loop.
STEPS_PER_CALL = 1000


@dataclass
class VIFit:
    """A fitted approximation's draws and optimisation history.

    Attributes
    ----------
    posterior, log_likelihood : dict
        Draws of the posterior's variables and pointwise log-likelihoods, shape
        ``(1, draws, ...)``.
    loss : ndarray
        The negative ELBO at every step, as PyMC records it (without the step at which
        the parameters were found to have settled).
    converged : bool
        Whether the parameters settled within ``n_iter`` steps.
    diverged : bool
        Whether the loss became NaN (the fit stopped there).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes.backends.jax_vi import VIFit
    >>> fit = VIFit({"weights": np.full((1, 3, 2), 0.5)}, {"x": np.zeros((1, 3, 4))},
    ...             loss=np.array([9.0, 7.5]), converged=True, diverged=False)
    >>> fit.posterior["weights"].shape, fit.converged
    ((1, 3, 2), True)
    """

    posterior: dict[str, np.ndarray]
    log_likelihood: dict[str, np.ndarray]
    loss: np.ndarray
    converged: bool
    diverged: bool


def _unflatten(functions: ModelFunctions, flat: jax.Array) -> list[jax.Array]:
    """A flat vector as the model's unconstrained values (each raveled in C order)."""
    values, offset = [], 0
    for shape in functions.value_shapes:
        size = int(np.prod(shape, dtype=int))
        values.append(flat[offset:offset + size].reshape(shape))
        offset += size
    return values


def _scale_factor(raw: jax.Array, full_rank: bool, size: int) -> tuple[Callable, jax.Array]:
    """``(z = mean + apply(eps)``'s ``apply``, the log-determinant) of the parameters."""
    if not full_rank:
        sd = jax.nn.softplus(raw)
        # A product with the diagonal matrix, not an elementwise one: XLA fuses the
        # elementwise product (softplus included) into every use of the point, so that
        # it is recomputed for every data row (2.5 times the step time, measured).
        return (lambda eps: jnp.diag(sd) @ eps), jnp.sum(jnp.log(sd))
    rows, columns = np.tril_indices(size)
    chol = jnp.zeros((size, size)).at[rows, columns].set(raw)
    diagonal = jax.nn.softplus(jnp.diagonal(chol))
    chol = chol.at[np.arange(size), np.arange(size)].set(diagonal)
    return (lambda eps: chol @ eps), jnp.sum(jnp.log(diagonal))


@functools.lru_cache(maxsize=2 * IN_PROCESS_STRUCTURES)
def _programs(functions: ModelFunctions, full_rank: bool) -> tuple[Callable, Callable]:
    """The compiled optimisation loop (up to :data:`STEPS_PER_CALL` steps) and draws."""
    size = functions.size

    def negative_elbo(params, eps, constants):
        mean, raw = params
        apply, log_det = _scale_factor(raw, full_rank, size)
        log_q = jnp.sum(-0.5 * eps**2 - 0.5 * jnp.log(2.0 * jnp.pi)) - log_det
        return log_q - functions.log_density(_unflatten(functions, mean + apply(eps)),
                                             constants)

    def step(carry, eps, constants, tol, learning_rate):
        params, window, key, previous, count, converged, diverged, losses = carry
        loss, grads = jax.value_and_grad(negative_elbo)(params, eps, constants)
        slot = count % ADAGRAD_WINDOW
        window = tuple(w.at[slot].set(g**2) for w, g in zip(window, grads))
        params = tuple(p - learning_rate * g / jnp.sqrt(w.sum(0) + ADAGRAD_EPSILON)
                       for p, g, w in zip(params, grads, window))
        count = count + 1
        flat = jnp.concatenate(params)
        check = (count % CHECK_EVERY == 0) & (count >= CHECK_EVERY)
        converged = check & (jnp.max(jnp.abs(flat - previous)) < tol)
        previous = jnp.where(check | (count == 1), flat, previous)
        losses = losses.at[(count - 1) % STEPS_PER_CALL].set(loss)
        return params, window, key, previous, count, converged, jnp.isnan(loss), losses

    def advance(carry, constants, limit, tol, learning_rate):
        # The call's standard normal draws at once, cheaper than one call per step.
        key, block = jax.random.split(carry[2])
        draws = jax.random.normal(block, (STEPS_PER_CALL, size))
        stop = jnp.minimum(limit, carry[4] + STEPS_PER_CALL)
        return jax.lax.while_loop(
            lambda carry: (carry[4] < stop) & ~carry[5] & ~carry[6],
            lambda carry: step(carry, draws[carry[4] % STEPS_PER_CALL], constants, tol,
                               learning_rate),
            (*carry[:2], key, *carry[3:]))

    def sample(params, key, constants, draws):
        mean, raw = params
        apply, _ = _scale_factor(raw, full_rank, size)
        eps = jax.random.normal(key, (draws, size))
        return jax.vmap(lambda e: functions.posterior(_unflatten(functions, mean + apply(e)),
                                                      constants))(eps)

    return jit(advance), jit(sample, static_argnames="draws")


def fit_advi(converted: JaxModel, start: list[np.ndarray], spread: np.ndarray, *,
             full_rank: bool, draws: int, n_iter: int, tol: float, learning_rate: float,
             keys: np.ndarray, progress=None) -> VIFit:
    """Fit a mean-field or full-rank Gaussian approximation and draw from it.

    Parameters
    ----------
    converted : JaxModel
    start : list of ndarray
        The approximation's initial mean: an unconstrained point (one value per value
        variable, see :meth:`~bayesmix.bayes.backends.jax_model.JaxModel.start_points`).
    spread : ndarray
        Initial standard deviations, one per unconstrained coordinate.
    full_rank : bool
        Full-rank (a Cholesky factor) rather than mean-field (a standard deviation per
        coordinate).
    draws : int
        Draws taken from the fitted approximation.
    n_iter : int
        Most optimisation steps.
    tol : float
        Convergence tolerance on the parameters' change over :data:`CHECK_EVERY` steps.
    learning_rate : float
        Step size of the windowed Adagrad.
    keys : ndarray of shape (2, 2), dtype uint32
        Raw JAX keys of the optimisation and of the draws.
    progress : tqdm progress bar, optional
        Moved by the number of steps after each call.

    Returns
    -------
    VIFit

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import build_model
    >>> from bayesmix.bayes.backends.jax_model import jax_model
    >>> from bayesmix.bayes.backends.jax_vi import fit_advi
    >>> X = np.random.default_rng(0).normal(size=(40, 1))
    >>> converted = jax_model(build_model(X, 1, "spherical"))
    >>> points, _ = converted.start_points([None])
    >>> fit = fit_advi(converted, [point[0] for point in points], np.full(2, 0.1),
    ...                full_rank=False, draws=50, n_iter=3000, tol=1e-2, learning_rate=1e-3,
    ...                keys=np.arange(4, dtype=np.uint32).reshape(2, 2))
    >>> fit.converged, fit.posterior["sigma"].shape
    (True, (1, 50, 1))
    """
    functions = converted.functions
    size = len(spread)
    raw = np.log(np.expm1(spread))
    params = (np.concatenate([np.ravel(value) for value in start]),
              np.diag(raw)[np.tril_indices(size)] if full_rank else raw)
    window = tuple(np.zeros((ADAGRAD_WINDOW, *np.shape(p))) for p in params)
    carry = (params, window, keys[0], np.zeros(sum(p.size for p in params)), np.int64(0),
             np.bool_(False),
             np.bool_(False), np.zeros(STEPS_PER_CALL))
    advance, sample = _programs(functions, full_rank)
    losses = []
    while True:
        done_before = int(carry[4])
        carry = advance(carry, converted.constants, n_iter, tol, learning_rate)
        done = int(carry[4])
        losses.append(np.asarray(carry[7])[:done - done_before])
        if progress is not None:
            progress.update(done - done_before)
        if done >= n_iter or bool(carry[5]) or bool(carry[6]):
            break
    converged, diverged = bool(carry[5]), bool(carry[6])
    loss = np.concatenate(losses)
    # PyMC's history stops before the step at which convergence was found, and before
    # a NaN.
    loss = loss[:-1] if converged or diverged else loss
    posterior, log_likelihood = sample(carry[0], keys[1], converted.constants, draws=draws)
    return VIFit(posterior=_one_chain(posterior), log_likelihood=_one_chain(log_likelihood),
                 loss=loss, converged=converged, diverged=diverged)


def _one_chain(draws: dict) -> dict[str, np.ndarray]:
    return {name: np.asarray(value)[None] for name, value in draws.items()}
