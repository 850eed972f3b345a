"""NUTS for a Gaussian mixture: GaussianMixtureBayes against the textbook PyMC model.

The anchor is the model a PyMC user writes first: ``pm.Mixture`` over a list of
``pm.MvNormal.dist`` components with ``pm.LKJCholeskyCov`` priors, sampled by
``pm.sample`` with its defaults. Both are run in the same process on the same data
(1,000 x 2, K = 3, ``full``, 4 chains x 1,000 draws after 1,000 tuning steps), and the
script prints effective samples per second (the smallest bulk ESS over weights and means
divided by the wall time of the whole fit, compilation included) and its ratio to the
textbook model's, twice: against the textbook's raw draws (as ``pm.sample`` returns them,
label switching included) and against its draws relabelled to the same EM fit the way
GaussianMixtureBayes relabels its own (the sampler-for-sampler comparison).

Our default fit is timed three times: the first fit in the process (which converts the
model to JAX and compiles its sampler, or loads it from the persistent compilation cache),
a second fit of the same data (new seed), and a fit of new data of the same size; each
row shows the seconds JAX spent tracing and lowering, and compiling (or loading compiled
programs). ADVI and full-rank ADVI are timed twice each, and the held-out log predictive
density (mean over 1,000 new rows from the same mixture) of every method is compared.

Run ``python benchmarks/nuts_vs_textbook.py`` (``--cold`` to start from an empty
compilation cache, ``--quick`` for a smoke run with fewer draws, ``--skip-textbook`` to
leave out the slow anchor, ``--pymc`` to add our model on PyMC's own sampler).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import tempfile
import time
import warnings

import bayesmix.bayes  # noqa: F401  (sets the XLA host device count before JAX starts)

import arviz as az
import jax
import numpy as np
import pymc as pm

from bayesmix.bayes import GaussianMixtureBayes
from bayesmix.datasets import make_mixture
from bayesmix.em import GaussianMixtureEM
from bayesmix.exceptions import BayesmixWarning
from bayesmix.relabel import apply_permutations, hungarian_permutations

N_SAMPLES, N_COMPONENTS, N_FEATURES = 1000, 3, 2

#: JAX's compilation events, summed per fit: tracing and lowering, compiling (or loading).
_TRACING = ("/jax/core/compile/jaxpr_trace_duration",
            "/jax/core/compile/jaxpr_to_mlir_module_duration")
_COMPILING = ("/jax/core/compile/backend_compile_duration",)
_EVENT_SECONDS = {event: 0.0 for event in _TRACING + _COMPILING}


def _record(event: str, seconds: float, **_) -> None:
    if event in _EVENT_SECONDS:
        _EVENT_SECONDS[event] += seconds


jax.monitoring.register_event_duration_secs_listener(_record)


def jax_seconds() -> tuple[float, float]:
    """Seconds JAX has spent tracing and lowering, and compiling or loading, so far."""
    return (sum(_EVENT_SECONDS[event] for event in _TRACING),
            sum(_EVENT_SECONDS[event] for event in _COMPILING))


def min_bulk_ess(weights: np.ndarray, means: np.ndarray) -> float:
    """Smallest bulk ESS over all weights and mean coordinates, (chain, draw, ...) arrays."""
    data = az.from_dict(posterior={"weights": weights, "means": means})
    return float(az.ess(data, method="bulk").to_array().min())


def textbook(X: np.ndarray, draws: int, tune: int, chains: int, seed: int, em):
    """The anchor: pm.Mixture of pm.MvNormal components, pm.sample defaults."""
    start = time.perf_counter()
    scale = X.std(axis=0)
    with pm.Model():
        weights = pm.Dirichlet("weights", a=np.ones(N_COMPONENTS))
        components, means = [], []
        for k in range(N_COMPONENTS):
            mean = pm.Normal(f"mean_{k}", mu=X.mean(axis=0), sigma=2 * scale,
                             shape=N_FEATURES)
            chol, _, _ = pm.LKJCholeskyCov(
                f"chol_{k}", n=N_FEATURES, eta=2.0,
                sd_dist=pm.HalfNormal.dist(sigma=scale, shape=N_FEATURES))
            components.append(pm.MvNormal.dist(mu=mean, chol=chol))
            means.append(mean)
        pm.Deterministic("means", pm.math.stack(means))
        pm.Mixture("x", w=weights, comp_dists=components, observed=X)
        idata = pm.sample(draws=draws, tune=tune, chains=chains, random_seed=seed,
                          progressbar=False, compute_convergence_checks=False)
    wall = time.perf_counter() - start
    weights = idata.posterior["weights"].values
    means = idata.posterior["means"].values
    permutations = hungarian_permutations(means, em.means_)
    relabelled = min_bulk_ess(apply_permutations(weights, permutations),
                              apply_permutations(means, permutations))
    return wall, min_bulk_ess(weights, means), relabelled


def ours(X, X_test, method, seed, **kwargs):
    """GaussianMixtureBayes: wall time, min bulk ESS (relabelled), held-out lpd, and the
    seconds JAX spent tracing and lowering, and compiling, during the fit."""
    tracing, compiling = jax_seconds()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BayesmixWarning)
        estimator = GaussianMixtureBayes(N_COMPONENTS, random_state=seed).fit(
            X, method=method, **kwargs)
    wall = time.perf_counter() - start
    tracing, compiling = (after - before for after, before in
                          zip(jax_seconds(), (tracing, compiling)))
    posterior = estimator.idata_.posterior
    ess = (min_bulk_ess(posterior["weights"].values, posterior["means"].values)
           if method == "nuts" else np.nan)
    return wall, ess, estimator.score(X_test), tracing, compiling


def _cell(value: float, spec: str) -> str:
    return "-" if np.isnan(value) else spec.format(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 draws, 200 tune")
    parser.add_argument("--cold", action="store_true",
                        help="start from an empty compilation cache (a fresh folder)")
    parser.add_argument("--skip-textbook", action="store_true")
    parser.add_argument("--pymc", action="store_true",
                        help="also run our model on PyMC's own NUTS (C back end)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.cold:
        os.environ["BAYESMIX_CACHE_DIR"] = tempfile.mkdtemp(prefix="bayesmix-cache-")
    draws = tune = 200 if args.quick else 1000
    chains = 4

    sample = make_mixture(3 * N_SAMPLES, N_COMPONENTS, N_FEATURES, "full", separation=4.0,
                          random_state=args.seed)
    X, X_test, X_other = (sample.X[i * N_SAMPLES:(i + 1) * N_SAMPLES] for i in range(3))
    em = GaussianMixtureEM(N_COMPONENTS, n_init=5, random_state=args.seed).fit(X)
    print(f"# {platform.machine()}, {os.cpu_count()} CPU cores, load average "
          f"{os.getloadavg()[0]:.1f} at the start, PyMC {pm.__version__}, JAX "
          f"{jax.__version__}; N={N_SAMPLES}, D={N_FEATURES}, K={N_COMPONENTS}, full, "
          f"{chains} chains x {draws} draws, tune={tune}; compilation cache "
          f"{'empty (--cold)' if args.cold else 'as left by earlier runs'}")

    rows = []  # (name, wall, ess, lpd, tracing, compiling)
    nuts = dict(draws=draws, tune=tune, chains=chains)
    variants = [
        ("GaussianMixtureBayes, default (numpyro, parallel chains): first fit",
         X, args.seed, {}),
        ("same, second fit (same data, new seed)", X, args.seed + 1, {}),
        ("same, third fit (new data of the same size)", X_other, args.seed + 2, {}),
        ("GaussianMixtureBayes, numpyro, vectorized chains", X, args.seed,
         {"chain_method": "vectorized"}),
        ("GaussianMixtureBayes, numpyro, diagonal mass matrix", X, args.seed,
         {"nuts_kwargs": {"dense_mass": False}}),
    ]
    if args.pymc:
        variants.append(("GaussianMixtureBayes, PyMC NUTS (C back end)", X, args.seed,
                         {"nuts_sampler": "pymc", "cores": min(chains, os.cpu_count() or 1)}))
    if importlib.util.find_spec("nutpie"):
        variants.append(("GaussianMixtureBayes, nutpie (Numba)", X, args.seed,
                         {"nuts_sampler": "nutpie"}))
    for name, data, seed, kwargs in variants:
        result = ours(data, X_test, "nuts", seed, **nuts, **kwargs)
        rows.append((name, *result))
        print(f"  {name}: {result[0]:.1f} s, min bulk ESS {result[1]:.0f}", flush=True)
    for method in ("advi", "fullrank_advi"):
        for when, seed in (("first fit", args.seed), ("second fit", args.seed + 1)):
            result = ours(X, X_test, method, seed, draws=draws * chains)
            rows.append((f"GaussianMixtureBayes, {method}: {when}", *result))
            print(f"  {method}, {when}: {result[0]:.1f} s", flush=True)

    nuts_lpd = rows[0][3]
    raw_anchor = fair_anchor = np.nan
    if not args.skip_textbook:
        wall, raw, relabelled = textbook(X, draws, tune, chains, args.seed, em)
        raw_anchor, fair_anchor = raw / wall, relabelled / wall
        rows[:0] = [("textbook pm.Mixture of pm.MvNormal, pm.sample: raw draws", wall, raw,
                     np.nan, np.nan, np.nan),
                    ("textbook, draws relabelled to EM as ours are", wall, relabelled,
                     np.nan, np.nan, np.nan)]
        print(f"  textbook: {wall:.1f} s, min bulk ESS {raw:.0f} raw, {relabelled:.0f} "
              f"relabelled", flush=True)

    print(f"\n# load average {os.getloadavg()[0]:.1f} at the end\n")
    print("| method | wall (s) | JAX tracing (s) | JAX compiling or loading (s) | "
          "min bulk ESS | ESS/s | ratio to textbook (raw) | ratio to textbook (relabelled) "
          "| held-out lpd per row | lpd - NUTS lpd |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, wall, ess, lpd, tracing, compiling in rows:
        rate = ess / wall
        cells = [f"{wall:.1f}", _cell(tracing, "{:.1f}"), _cell(compiling, "{:.1f}"),
                 _cell(ess, "{:.0f}"), _cell(rate, "{:.1f}"),
                 _cell(rate / raw_anchor, "{:.1f}x"), _cell(rate / fair_anchor, "{:.1f}x"),
                 _cell(lpd, "{:.4f}"), _cell(lpd - nuts_lpd, "{:+.4f}")]
        print(f"| {name} | {' | '.join(cells)} |")

if __name__ == "__main__":
    main()
