"""NUTS: draws from the posterior of :func:`~bayesmix.bayes.build_model`, several chains.

NUTS back ends
--------------
``"numpyro"`` (the default)
    NumPyro's NUTS kernel on the model converted to JAX by
    :func:`~bayesmix.bayes.backends.jax_model.jax_model`, with the data and priors as
    arguments of the compiled programs
    (:func:`~bayesmix.bayes.backends.jax_nuts.sample_numpyro`),
    one XLA CPU device per chain (see :func:`configure_host_devices`). The programs are
    compiled once per model structure and size: a second fit of the same size in the
    process skips conversion and compilation, and later processes load them from the
    persistent compilation cache. Measured on the 2-core reference machine
    (``benchmarks/nuts_vs_textbook.py``, ``docs/benchmarks_nuts.md``; 1,000 x 2 data,
    K=3, ``full``, 4 x 1,000 draws) it is the fastest installed back end end to end.
``"pymc"``
    PyMC's own NUTS on the C back end; no JAX needed to sample.
``"nutpie"``
    nutpie's Numba back end, when nutpie is installed (``initvals`` are not supported by
    nutpie: its chains start from its own initial points).

Chains start from a maximum-likelihood EM fit, jittered per chain, so that the warm-up
starts in the typical set instead of searching for it and every chain starts in the same
labelling mode. Every chain's start is checked first (:func:`check_initial_points`, on
the converted model).

The back end of ``GaussianMixtureBayes.fit(method="nuts")`` is :data:`NUTS`; PyMC and
JAX are imported when it runs, not when this module is.

Its length (about 540 lines) is that of three samplers (NumPyro, PyMC, nutpie) behind
one back end, with their option checks and initial-point diagnosis.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Mapping
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
from bayesmix.bayes.diagnostics import (
    RHAT_THRESHOLD,
    check_sampler_diagnostics,
    record_diagnostics,
)
from bayesmix.exceptions import DivergenceWarning, InitialPointError

if TYPE_CHECKING:
    import arviz as az
    import pymc as pm

__all__ = [
    "NUMPYRO_OPTIONS",
    "NUTS",
    "NUTS_SAMPLERS",
    "NUTSBackend",
    "check_initial_points",
    "configure_host_devices",
    "default_nuts_sampler",
    "sample_nuts",
]

NUTS_SAMPLERS = ("numpyro", "pymc", "nutpie")
#: The options of the ``"numpyro"`` back end (see
#: :func:`~bayesmix.bayes.backends.jax_nuts.sample_numpyro`).
NUMPYRO_OPTIONS = ("chain_method", "jitter", "nuts_kwargs")

#: The sampler statistics kept in ``sample_stats`` (when the back end reports them).
SAMPLE_STATS = ("diverging", "lp", "energy", "acceptance_rate", "step_size", "tree_depth",
                "n_steps")

#: Relative size of the per-chain jitter of the EM initial values.
INIT_JITTER = 0.05

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
    >>> from bayesmix.bayes.backends.nuts import configure_host_devices
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
    >>> from bayesmix.bayes.backends.nuts import default_nuts_sampler
    >>> default_nuts_sampler()
    'numpyro'
    """
    return "numpyro"


# --------------------------------------------------------------------------- sampling
def _check_numpyro_options(options: Mapping[str, Any]) -> None:
    unknown = sorted(set(options) - {"target_accept", *NUMPYRO_OPTIONS})
    if unknown:
        raise TypeError(
            f"NUTS got an unexpected option {unknown[0]!r} for nuts_sampler='numpyro', "
            f"which takes target_accept, {', '.join(NUMPYRO_OPTIONS)}. Remove it, or "
            f"choose nuts_sampler='pymc' for the options of pymc.sample."
        )


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
        Passed to the back end: :data:`NUMPYRO_OPTIONS` for numpyro (``chain_method``,
        ``jitter``, ``nuts_kwargs``; see
        :func:`~bayesmix.bayes.backends.jax_nuts.sample_numpyro`), ``nuts_sampler_kwargs``
        of :func:`pymc.sample` for nutpie, :func:`pymc.sample` keywords such as
        ``cores`` for ``"pymc"``.

    Returns
    -------
    arviz.InferenceData
        ``posterior``, ``sample_stats`` and ``observed_data``, and with numpyro the
        pointwise ``log_likelihood``.

    Raises
    ------
    InitialPointError
        Before sampling, when the log density is not finite at a chain's initial point
        (see :func:`check_initial_points`); instead of the back end's own error when it
        is not finite at a jittered start.
    TypeError
        For an option the numpyro back end does not take.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import build_model
    >>> from bayesmix.bayes.backends.nuts import sample_nuts
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
    if nuts_sampler == "numpyro":
        _check_numpyro_options(sampler_kwargs)
    common = dict(draws=draws, tune=tune, chains=chains, random_seed=random_seed,
                  progressbar=resolve_progressbar(progressbar), model=model,
                  compute_convergence_checks=False, target_accept=target_accept)
    from pymc.exceptions import SamplingError

    if nuts_sampler == "numpyro":  # its programs compile while the starts are checked
        from bayesmix.bayes.backends.jax_nuts import compile_ahead

        compile_ahead(model, draws=draws, tune=tune, chains=chains,
                      target_accept=target_accept, progressbar=common["progressbar"],
                      **{name: sampler_kwargs[name] for name in ("chain_method", "nuts_kwargs")
                         if name in sampler_kwargs})
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
    import pymc as pm

    if nuts_sampler == "pymc":
        sampler_kwargs.setdefault("cores", 1)
        return pm.sample(initvals=initvals, init="adapt_diag" if initvals else "auto",
                         **common, **sampler_kwargs)
    if nuts_sampler == "nutpie":
        _require("nutpie")
        return pm.sample(nuts_sampler="nutpie", nuts_sampler_kwargs=sampler_kwargs,
                         **common)
    from bayesmix.bayes.backends.jax_nuts import sample_numpyro

    sampler_kwargs.setdefault("jitter", initvals is None)
    return sample_numpyro(common["model"], initvals=initvals, draws=common["draws"],
                          tune=common["tune"], chains=common["chains"],
                          random_seed=common["random_seed"],
                          progressbar=common["progressbar"],
                          target_accept=common["target_accept"], **sampler_kwargs)


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
    PyMC's sampler then fails deep inside, and NumPyro raises no error at all. The log
    density is evaluated at every chain's start on the converted model
    (:func:`~bayesmix.bayes.backends.jax_model.jax_model`, compiled once per model
    structure and size), and each variable's term where it is not finite.

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
    ValueError
        For a name in ``initvals`` that is not a variable of the model.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import build_model
    >>> from bayesmix.bayes.backends.nuts import check_initial_points
    >>> model = build_model(np.random.default_rng(0).normal(size=(20, 1)), 1, "spherical")
    >>> check_initial_points(model, [{"sigma": np.array([1.0])}])  # fine: no error
    >>> check_initial_points(model, [{"sigma": np.array([-1.0])}])
    Traceback (most recent call last):
    ...
    bayesmix.exceptions.InitialPointError: Chain 0 cannot start: the log density is not ...
    """
    from bayesmix.bayes.backends.jax_model import jax_model

    converted = jax_model(model)
    initvals = list(initvals or [None])
    points, log_density = converted.start_points(initvals)
    for chain in np.flatnonzero(~np.isfinite(log_density)):
        point = [values[chain] for values in points]
        bad = {name: value for name, value in converted.terms(point).items()
               if not np.isfinite(value)}
        raise InitialPointError(_initial_point_message(
            model, int(chain), initvals[chain],
            dict(zip(converted.functions.value_names, point)), bad))


# --------------------------------------------------------------------------- the back end
def _sampler_stats(raw: az.InferenceData) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """The NUTS statistics kept in ``sample_stats``, as (values, dims)."""
    stats = raw.sample_stats
    return {name: (stats[name].values, stats[name].dims) for name in SAMPLE_STATS
            if name in stats}


class NUTSBackend(InferenceBackend):
    """NUTS, ``method="nuts"``: chains of posterior draws, checked after relabelling.

    Every chain starts from the EM fit jittered by :data:`INIT_JITTER`;
    :func:`sample_nuts` draws; the relabelled draws are checked for divergences, chains
    in other modes, R-hat and bulk ESS
    (:func:`~bayesmix.bayes.diagnostics.check_sampler_diagnostics`), and the result is
    recorded in ``sample_stats``. Options of ``fit`` other than its
    own arguments go to :func:`sample_nuts` (``target_accept``, options of the NUTS
    back end).

    Examples
    --------
    >>> from bayesmix.bayes.backends.nuts import NUTS
    >>> NUTS.label, NUTS.is_sampler, NUTS.fit_options
    ('NUTS', True, ('draws', 'tune', 'chains', 'nuts_sampler', 'target_accept'))
    """

    is_sampler = True
    fit_options = ("draws", "tune", "chains", "nuts_sampler", "target_accept")
    options = ("target_accept",)

    def __init__(self) -> None:
        super().__init__("nuts", "NUTS")

    def check_fit_options(self, options: Mapping[str, Any], *, nuts_sampler: str | None,
                          batch_size: int | None) -> None:
        """Check ``nuts_sampler`` and the numpyro back end's options; refuse
        ``batch_size`` (the rest goes to the sampler).

        Examples
        --------
        >>> from bayesmix.bayes.backends.nuts import NUTS
        >>> NUTS.check_fit_options({"target_accept": 0.9}, nuts_sampler="pymc",
        ...                        batch_size=None)
        >>> NUTS.check_fit_options({}, nuts_sampler=None, batch_size=100)
        Traceback (most recent call last):
        ...
        ValueError: batch_size=100 is for variational inference, but method='nuts': ...
        >>> NUTS.check_fit_options({"cores": 2}, nuts_sampler=None, batch_size=None)
        Traceback (most recent call last):
        ...
        TypeError: NUTS got an unexpected option 'cores' for nuts_sampler='numpyro', ...
        """
        nuts_sampler = check_option(nuts_sampler or default_nuts_sampler(), "nuts_sampler",
                                    NUTS_SAMPLERS)
        if nuts_sampler == "numpyro":
            _check_numpyro_options(options)
        if batch_size is not None:
            raise ValueError(
                f"batch_size={batch_size!r} is for variational inference, but method='nuts': "
                f"minibatches make the log density random, which NUTS cannot sample. Use "
                f"method='advi' or method='fullrank_advi' with batch_size, or leave "
                f"batch_size at None for NUTS."
            )

    def run(self, model: pm.Model, *, draws: int, tune: int, chains: int,
            nuts_sampler: str | None,
            start: Callable[[float], dict[str, np.ndarray]] | None,
            random_seed: int, progressbar: bool | None, batch_size: int | None,
            **options: Any) -> BackendRun:
        """:func:`sample_nuts` from ``start(INIT_JITTER)`` per chain (``batch_size`` unused).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes import build_model
        >>> from bayesmix.bayes.backends.nuts import NUTS
        >>> X = np.random.default_rng(0).normal(size=(40, 1))
        >>> run = NUTS.run(build_model(X, 1, "spherical"), draws=20, tune=20, chains=1,
        ...                nuts_sampler="pymc", start=None, random_seed=0,
        ...                progressbar=False, batch_size=None)
        >>> run.attrs, run.sample_stats["diverging"][1]
        ({'nuts_sampler': 'pymc'}, ('chain', 'draw'))
        """
        nuts_sampler = nuts_sampler or default_nuts_sampler()
        initvals = [start(INIT_JITTER) for _ in range(chains)] if start is not None else None
        raw = sample_nuts(model, draws=draws, tune=tune, chains=chains,
                          nuts_sampler=nuts_sampler, initvals=initvals,
                          random_seed=random_seed, progressbar=progressbar, **options)
        return BackendRun(raw=raw, sample_stats=_sampler_stats(raw), extra_coords={},
                          attrs={"nuts_sampler": nuts_sampler})

    def diagnose(self, idata: az.InferenceData) -> dict[str, Any]:
        """:func:`~bayesmix.bayes.diagnostics.check_sampler_diagnostics`, recorded in ``idata``.

        Examples
        --------
        >>> import arviz as az
        >>> import numpy as np
        >>> from bayesmix.bayes.backends.nuts import NUTS
        >>> idata = az.from_dict(posterior={"weights": np.random.default_rng(0).dirichlet(
        ...     [1, 1], size=(2, 500))}, dims={"weights": ["component"]})
        >>> NUTS.diagnose(idata)["n_divergences"], "chain_disagrees" in idata.sample_stats
        (0.0, True)
        """
        diagnostics = check_sampler_diagnostics(idata)
        record_diagnostics(idata, diagnostics)
        return diagnostics

    def compare_columns(self, idata: az.InferenceData,
                        diagnostics: Mapping[str, Any] | None = None) -> dict[str, float]:
        """``divergences``, ``max_rhat`` and ``min_ess_bulk``, checked anew (quietly) when
        ``diagnostics`` is not given.

        Examples
        --------
        >>> import arviz as az
        >>> import numpy as np
        >>> from bayesmix.bayes.backends.nuts import NUTS
        >>> idata = az.from_dict(posterior={"weights": np.random.default_rng(0).dirichlet(
        ...     [1, 1], size=(2, 500))}, dims={"weights": ["component"]})
        >>> sorted(NUTS.compare_columns(idata))
        ['divergences', 'max_rhat', 'min_ess_bulk']
        """
        if diagnostics is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                diagnostics = check_sampler_diagnostics(idata)
        return {"divergences": diagnostics["n_divergences"],
                "max_rhat": diagnostics["max_rhat"],
                "min_ess_bulk": diagnostics["min_ess_bulk"]}

    def selection_diagnostics(self, diagnostics: Mapping[str, Any]) -> SelectionDiagnostics:
        """Divergences; converged when R-hat is at most ``RHAT_THRESHOLD`` (NA with one
        chain); notes on divergences, R-hat and chains in other modes.

        Examples
        --------
        >>> from bayesmix.bayes.backends.nuts import NUTS
        >>> NUTS.selection_diagnostics({"n_divergences": 2.0, "max_rhat": 1.2,
        ...                             "disagreeing_chains": [3]})
        ... # doctest: +NORMALIZE_WHITESPACE
        SelectionDiagnostics(divergences=2.0, converged=False,
            notes=['2 divergent transition(s)', 'max R-hat 1.200 > 1.01',
                   'chain(s) 3 in another mode'])
        """
        divergences = float(diagnostics["n_divergences"])
        max_rhat = diagnostics["max_rhat"]
        converged = pd.NA if np.isnan(max_rhat) else bool(max_rhat <= RHAT_THRESHOLD)
        notes = []
        if divergences:
            notes.append(f"{int(divergences)} divergent transition(s)")
        if converged is False:
            notes.append(f"max R-hat {max_rhat:.3f} > {RHAT_THRESHOLD}")
        if diagnostics["disagreeing_chains"]:
            notes.append(f"chain(s) {', '.join(map(str, diagnostics['disagreeing_chains']))} "
                         f"in another mode")
        return SelectionDiagnostics(divergences=divergences, converged=converged, notes=notes)

    def choice_warnings(self, row: pd.Series, what: str) -> list[tuple[str, type[Warning]]]:
        """A :class:`~bayesmix.exceptions.DivergenceWarning` when the chosen fit diverged.

        Examples
        --------
        >>> import pandas as pd
        >>> from bayesmix.bayes.backends.nuts import NUTS
        >>> NUTS.choice_warnings(pd.Series({"divergences": 3.0}), "The chosen fit")
        ... # doctest: +NORMALIZE_WHITESPACE
        [('The chosen fit has 3 divergent transition(s); raise target_accept (e.g. 0.95)
          before trusting it.', <class 'bayesmix.exceptions.DivergenceWarning'>)]
        """
        if row["divergences"] > 0:
            return [(f"{what} has {int(row['divergences'])} divergent transition(s); raise "
                     f"target_accept (e.g. 0.95) before trusting it.", DivergenceWarning)]
        return []


#: The NUTS back end.
NUTS = NUTSBackend()
