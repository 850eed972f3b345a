"""Variational inference: mean-field (``"advi"``) and full-rank (``"fullrank_advi"``) ADVI.

``"advi"`` (mean-field) and ``"fullrank_advi"`` fit a Gaussian approximation from the EM
solution, stop when the variational parameters stop moving (PyMC's
:class:`~pymc.variational.callbacks.CheckParametersConvergence` rule) and warn with
:class:`~bayesmix.exceptions.VIConvergenceWarning` when they never do. They run on JAX
(:mod:`~bayesmix.bayes.backends.jax_vi`: PyMC's algorithm, compiled once per model
structure and size, no C compilation), except on a model built with ``batch_size``
(:func:`~bayesmix.bayes.build_model`), whose every step sees a random minibatch:
stochastic variational inference, whose cost per step does not grow with the number of
rows, run by :func:`pymc.fit`.

The back ends of ``GaussianMixtureBayes.fit(method="advi")`` and
``method="fullrank_advi"`` are :data:`ADVI` and :data:`FULLRANK_ADVI`, two instances of
:class:`VariationalBackend`; PyMC and JAX are imported when they run, not when this
module is.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesmix._validation import check_int, check_option, check_real
from bayesmix.bayes.backends.base import (
    BackendRun,
    InferenceBackend,
    SelectionDiagnostics,
    resolve_progressbar,
)
from bayesmix.exceptions import VIConvergenceWarning

if TYPE_CHECKING:
    import arviz as az
    import pymc as pm

__all__ = [
    "ADVI",
    "DEFAULT_LEARNING_RATE",
    "FULLRANK_ADVI",
    "INITIAL_VI_SCALE",
    "VI_METHODS",
    "VIResult",
    "VariationalBackend",
    "fit_vi",
]

@dataclass(frozen=True)
class _VariationalFamily:
    """What a variational method approximates the posterior with."""

    pymc_class: str  # PyMC's inference class of the method
    full_rank: bool  # a Gaussian with a full covariance (else mean-field, diagonal)


#: Each variational method's family, by name.
_FAMILIES = {"advi": _VariationalFamily("ADVI", full_rank=False),
             "fullrank_advi": _VariationalFamily("FullRankADVI", full_rank=True)}
VI_METHODS = tuple(_FAMILIES)

#: The Adagrad-window step size when none is given (PyMC's default).
DEFAULT_LEARNING_RATE = 1e-3

#: Initial standard deviation of the approximation in the unconstrained space. PyMC
#: starts at 1, far wider than a mixture posterior: the optimisation then spends
#: thousands of steps shrinking it, and full-rank ADVI can step to a negative Cholesky
#: diagonal (NaN).
INITIAL_VI_SCALE = 0.1


def _initial_spread(ordering: Iterable[tuple[str, slice]], size: int, model: pm.Model,
                    scale: float) -> np.ndarray:
    """The initial standard deviation of each unconstrained coordinate.

    Every coordinate starts at ``scale``, except the means' offsets, which start at
    ``min(scale, 1 / sqrt(n_samples / n_components))``: their posterior spread is about a
    mean's standard error (a component SD over the square root of its rows) over the prior
    scale (at least a data SD), so at most that, and on large data a start at ``scale``
    would leave the optimiser thousands of steps of shrinking to do.

    Parameters
    ----------
    ordering : iterable of (name, slice)
        The value variables and their coordinates in the flat vector.
    size : int
        Length of the flat vector.
    """
    spread = np.full(size, scale)
    rows_per_component = len(model.coords["obs"]) / len(model.coords["component"])
    for name, coordinates in ordering:
        if name.startswith("means_offset"):
            spread[coordinates] = min(scale, 1.0 / np.sqrt(rows_per_component))
    return spread


def _narrow(approx: Any, model: pm.Model, scale: float) -> None:
    """Set the initial spread of a PyMC mean-field or full-rank approximation.

    Both parametrise standard deviations (the mean-field ``rho``, the full-rank Cholesky
    diagonal) through softplus, so the raw value is ``log(expm1(spread))``.
    """
    group = approx.groups[0]
    ordering = [(name, coordinates) for name, coordinates, *_ in group.ordering.values()]
    raw = np.log(np.expm1(_initial_spread(ordering, group.ddim, model, scale)))
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
    >>> from bayesmix.bayes.backends.advi import fit_vi
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
    """Fit a variational approximation and draw from it.

    On JAX (:func:`~bayesmix.bayes.backends.jax_vi.fit_advi`), or with :func:`pymc.fit`
    when the model observes random minibatches.

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
        Step size of the Adagrad-window optimiser (PyMC's default,
        :data:`DEFAULT_LEARNING_RATE`, when omitted).

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
    >>> from bayesmix.bayes.backends.advi import fit_vi
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
    learning_rate = (DEFAULT_LEARNING_RATE if learning_rate is None else
                     check_real(learning_rate, "learning_rate", strictly_positive=True))
    seeds = np.random.default_rng(random_seed).integers(2**31 - 1, size=2)
    from bayesmix.bayes.backends.jax_model import has_random_log_density

    fit = _fit_pymc if has_random_log_density(model) else _fit_jax
    idata, loss, converged = fit(model, method=method, draws=draws, n_iter=n_iter, tol=tol,
                                 start=dict(start) if start else None, seeds=seeds,
                                 progressbar=resolve_progressbar(progressbar),
                                 learning_rate=learning_rate)
    if not converged:
        warnings.warn(
            f"{method} did not converge in n_iter={n_iter} iterations: its variational "
            f"parameters still moved by more than tol={tol} per 100 iterations. Increase "
            f"n_iter, lower learning_rate, loosen tol, or use method='nuts'.",
            VIConvergenceWarning,
            stacklevel=2,
        )
    return VIResult(idata=idata, loss=loss, converged=converged)


def _diverged(method: str, learning_rate: float) -> ValueError:
    return ValueError(
        f"{method} diverged: its objective became NaN, the optimiser's steps were too "
        f"large for this posterior. Lower learning_rate (it is {learning_rate}), "
        f"standardise X if its columns' scales differ by many orders of magnitude, "
        f"or use method='nuts'."
    )


def _fit_jax(model: pm.Model, *, method: str, draws: int, n_iter: int, tol: float,
             start: dict[str, np.ndarray] | None, seeds: np.ndarray, progressbar: bool,
             learning_rate: float) -> tuple[az.InferenceData, np.ndarray, bool]:
    """:func:`~bayesmix.bayes.backends.jax_vi.fit_advi` on the converted model."""
    from bayesmix.bayes.backends.jax_model import jax_model
    from bayesmix.bayes.backends.jax_vi import fit_advi

    converted = jax_model(model)
    points, _ = converted.start_points([start])
    functions = converted.functions
    ends = np.cumsum([int(np.prod(shape, dtype=int)) for shape in functions.value_shapes])
    ordering = [(name, slice(end - size, end)) for name, end, size in
                zip(functions.value_names, ends, np.diff(ends, prepend=0))]
    spread = _initial_spread(ordering, int(ends[-1]), model, INITIAL_VI_SCALE)
    progress = None
    if progressbar:
        from tqdm.auto import tqdm

        progress = tqdm(total=n_iter, desc=method, unit="it")
    fit = fit_advi(converted, [point[0] for point in points], spread,
                   full_rank=_FAMILIES[method].full_rank, draws=draws, n_iter=n_iter, tol=tol,
                   learning_rate=learning_rate, progress=progress,
                   keys=np.random.default_rng(seeds).integers(2**32, size=(2, 2),
                                                              dtype=np.uint32))
    if progress is not None:
        progress.close()
    if fit.diverged:
        raise _diverged(method, learning_rate)
    return (converted.inference_data(fit.posterior, fit.log_likelihood), fit.loss,
            fit.converged)


def _fit_pymc(model: pm.Model, *, method: str, draws: int, n_iter: int, tol: float,
              start: dict[str, np.ndarray] | None, seeds: np.ndarray, progressbar: bool,
              learning_rate: float) -> tuple[az.InferenceData, np.ndarray, bool]:
    """:func:`pymc.fit`, for a model whose log density is random (minibatches)."""
    import pymc as pm

    callback = pm.callbacks.CheckParametersConvergence(every=100, tolerance=tol,
                                                       diff="absolute")
    with model:
        inference = getattr(pm, _FAMILIES[method].pymc_class)(start=start,
                                                              random_seed=int(seeds[0]))
        _narrow(inference.approx, model, INITIAL_VI_SCALE)
        # PyMC divides a minibatch objective by a normalising constant (45,000 for 3,000
        # rows in minibatches of 100), so its gradients fall under the Adagrad-window's
        # epsilon (0.1) and the approximation hardly moves: keep the full-data scale, as
        # without minibatches.
        inference.approx.scale_cost_to_minibatch = False
        try:
            approx = inference.fit(
                n_iter, callbacks=[callback], progressbar=progressbar,
                obj_optimizer=pm.adagrad_window(learning_rate=learning_rate))
        except FloatingPointError as exc:
            raise _diverged(method, learning_rate) from exc
    loss = np.asarray(approx.hist, dtype=np.float64)
    idata = approx.sample(draws, random_seed=int(seeds[1]), return_inferencedata=True)
    return idata, loss, len(loss) < n_iter


# --------------------------------------------------------------------------- the back ends
class VariationalBackend(InferenceBackend):
    """ADVI (mean-field or full-rank), ``method="advi"`` or ``"fullrank_advi"``.

    :func:`fit_vi` from the un-jittered EM fit; ``draws`` from the approximation form one
    chain; ``sample_stats`` holds the loss (negative ELBO) per ``iteration`` and every
    group's ``converged`` attribute whether the optimisation settled before ``n_iter``.

    Parameters
    ----------
    name : {"advi", "fullrank_advi"}
    label : str
        A human label.

    Examples
    --------
    >>> from bayesmix.bayes.backends.advi import FULLRANK_ADVI
    >>> FULLRANK_ADVI.label, FULLRANK_ADVI.is_sampler, FULLRANK_ADVI.options
    ('full-rank ADVI', False, ('n_iter', 'tol', 'learning_rate'))
    """

    fit_options = ("draws", "n_iter", "tol", "learning_rate", "batch_size")
    options = ("n_iter", "tol", "learning_rate")

    def __init__(self, name: str, label: str) -> None:
        super().__init__(check_option(name, "name", VI_METHODS), label)

    def check_fit_options(self, options: Mapping[str, Any], *, nuts_sampler: str | None,
                          batch_size: int | None) -> None:
        """Refuse options other than :attr:`options` (``nuts_sampler`` is not used).

        Examples
        --------
        >>> from bayesmix.bayes.backends.advi import ADVI
        >>> ADVI.check_fit_options({"target_accept": 0.9}, nuts_sampler=None,
        ...                        batch_size=None)
        Traceback (most recent call last):
        ...
        TypeError: fit got an unexpected keyword argument 'target_accept' for method='advi', ...
        """
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise TypeError(
                f"fit got an unexpected keyword argument {unknown[0]!r} for "
                f"method={self.name!r}, which accepts {', '.join(self.options)}. Remove it, "
                f"or use method='nuts' for NUTS options such as target_accept."
            )

    def run(self, model: pm.Model, *, draws: int, tune: int, chains: int,
            nuts_sampler: str | None,
            start: Callable[[float], dict[str, np.ndarray]] | None,
            random_seed: int, progressbar: bool | None, batch_size: int | None,
            **options: Any) -> BackendRun:
        """:func:`fit_vi` from ``start(0.0)`` (``tune``, ``chains``, ``nuts_sampler`` unused).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes import build_model
        >>> from bayesmix.bayes.backends.advi import ADVI
        >>> X = np.random.default_rng(0).normal(size=(40, 1))
        >>> run = ADVI.run(build_model(X, 1, "spherical"), draws=50, tune=0, chains=1,
        ...                nuts_sampler=None, start=None, random_seed=0, progressbar=False,
        ...                batch_size=None, n_iter=3000)
        >>> run.attrs, run.sample_stats["loss"][1]
        ({'converged': 1}, ('iteration',))
        """
        result = fit_vi(model, method=self.name, draws=draws,
                        start=start(0.0) if start is not None else None,
                        random_seed=random_seed, progressbar=progressbar, **options)
        attrs = {"converged": int(result.converged)}
        if batch_size is not None:
            attrs["batch_size"] = int(batch_size)
        return BackendRun(raw=result.idata,
                          sample_stats={"loss": (result.loss, ("iteration",))},
                          extra_coords={"iteration": np.arange(1, len(result.loss) + 1)},
                          attrs=attrs)

    def diagnose(self, idata: az.InferenceData) -> dict[str, Any]:
        """``{"converged": ...}`` as recorded by :meth:`run` (its warning came from there).

        Examples
        --------
        >>> import arviz as az
        >>> import numpy as np
        >>> from bayesmix.bayes.backends.advi import ADVI
        >>> idata = az.from_dict(posterior={"weights": np.ones((1, 5, 1))})
        >>> idata.posterior.attrs["converged"] = 0
        >>> ADVI.diagnose(idata)
        {'converged': False}
        """
        return {"converged": bool(idata.posterior.attrs["converged"])}

    def selection_diagnostics(self, diagnostics: Mapping[str, Any]) -> SelectionDiagnostics:
        """No divergences (NaN); the convergence flag, with a note when it is False.

        Examples
        --------
        >>> from bayesmix.bayes.backends.advi import ADVI
        >>> ADVI.selection_diagnostics({"converged": False})
        ... # doctest: +NORMALIZE_WHITESPACE
        SelectionDiagnostics(divergences=nan, converged=False,
            notes=['advi did not converge (raise n_iter)'])
        """
        converged = bool(diagnostics["converged"])
        notes = [] if converged else [f"{self.name} did not converge (raise n_iter)"]
        return SelectionDiagnostics(divergences=np.nan, converged=converged, notes=notes)

    def choice_warnings(self, row: pd.Series, what: str) -> list[tuple[str, type[Warning]]]:
        """A :class:`~bayesmix.exceptions.VIConvergenceWarning` when the chosen fit did not
        converge.

        Examples
        --------
        >>> import pandas as pd
        >>> from bayesmix.bayes.backends.advi import ADVI
        >>> [category.__name__ for _, category in ADVI.choice_warnings(
        ...     pd.Series({"converged": False}), "The chosen fit")]
        ['VIConvergenceWarning']
        """
        if row["converged"] is not pd.NA and not row["converged"]:
            return [(f"{what}: {self.name} did not converge; raise n_iter (a fit_kwargs "
                     f"option) before trusting it, or use method='nuts'.",
                     VIConvergenceWarning)]
        return []


#: Mean-field ADVI.
ADVI = VariationalBackend("advi", "mean-field ADVI")
#: Full-rank ADVI, which also learns the correlations between parameters.
FULLRANK_ADVI = VariationalBackend("fullrank_advi", "full-rank ADVI")
