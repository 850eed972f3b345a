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

It also times ADVI and full-rank ADVI and compares the held-out log predictive density
(mean over 1,000 new rows from the same mixture) of all methods.

Run ``python benchmarks/nuts_vs_textbook.py`` (add ``--quick`` for a smoke run with
fewer draws, ``--skip-textbook`` to leave out the slow anchor, ``--pymc`` to add our
model on PyMC's own sampler).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import time
import warnings

import bayesmix.bayes  # noqa: F401  (sets the XLA host device count before JAX starts)

import arviz as az
import numpy as np
import pymc as pm

from bayesmix.bayes import GaussianMixtureBayes
from bayesmix.datasets import make_mixture
from bayesmix.em import GaussianMixtureEM
from bayesmix.exceptions import BayesmixWarning
from bayesmix.relabel import apply_permutations, hungarian_permutations

N_SAMPLES, N_COMPONENTS, N_FEATURES = 1000, 3, 2


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
    """GaussianMixtureBayes: wall time, min bulk ESS (relabelled), held-out lpd."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BayesmixWarning)
        estimator = GaussianMixtureBayes(N_COMPONENTS, random_state=seed).fit(
            X, method=method, **kwargs)
    wall = time.perf_counter() - start
    posterior = estimator.idata_.posterior
    ess = min_bulk_ess(posterior["weights"].values, posterior["means"].values)
    return wall, ess, estimator.score(X_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 draws, 200 tune")
    parser.add_argument("--skip-textbook", action="store_true")
    parser.add_argument("--pymc", action="store_true",
                        help="also run our model on PyMC's own NUTS (C back end)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    draws = tune = 200 if args.quick else 1000
    chains = 4

    sample = make_mixture(2 * N_SAMPLES, N_COMPONENTS, N_FEATURES, "full", separation=4.0,
                          random_state=args.seed)
    X, X_test = sample.X[:N_SAMPLES], sample.X[N_SAMPLES:]
    em = GaussianMixtureEM(N_COMPONENTS, n_init=5, random_state=args.seed).fit(X)
    print(f"# {platform.machine()}, {os.cpu_count()} CPU cores, PyMC {pm.__version__}; "
          f"N={N_SAMPLES}, D={N_FEATURES}, K={N_COMPONENTS}, full, {chains} chains x "
          f"{draws} draws, tune={tune}")

    rows = []  # (name, wall, ess, lpd)
    nuts = dict(draws=draws, tune=tune, chains=chains)
    variants = [
        ("GaussianMixtureBayes, numpyro (default: parallel chains)", {}),
        ("GaussianMixtureBayes, numpyro, vectorized chains", {"chain_method": "vectorized"}),
    ]
    if args.pymc:
        variants.append(("GaussianMixtureBayes, PyMC NUTS (C back end)",
                         {"nuts_sampler": "pymc", "cores": min(chains, os.cpu_count() or 1)}))
    if importlib.util.find_spec("nutpie"):
        variants.append(("GaussianMixtureBayes, nutpie (Numba)", {"nuts_sampler": "nutpie"}))
    for name, kwargs in variants:
        wall, ess, lpd = ours(X, X_test, "nuts", args.seed, **nuts, **kwargs)
        rows.append((name, wall, ess, lpd))
        print(f"  {name}: {wall:.1f} s, min bulk ESS {ess:.0f}", flush=True)
    for method in ("advi", "fullrank_advi"):
        wall, _, lpd = ours(X, X_test, method, args.seed, draws=draws * chains)
        rows.append((f"GaussianMixtureBayes, {method}", wall, np.nan, lpd))
        print(f"  {method}: {wall:.1f} s", flush=True)

    nuts_lpd = rows[0][3]
    raw_anchor = fair_anchor = np.nan
    if not args.skip_textbook:
        wall, raw, relabelled = textbook(X, draws, tune, chains, args.seed, em)
        raw_anchor, fair_anchor = raw / wall, relabelled / wall
        rows[:0] = [("textbook pm.Mixture of pm.MvNormal, pm.sample: raw draws", wall, raw,
                     np.nan),
                    ("textbook, draws relabelled to EM as ours are", wall, relabelled,
                     np.nan)]
        print(f"  textbook: {wall:.1f} s, min bulk ESS {raw:.0f} raw, {relabelled:.0f} "
              f"relabelled", flush=True)

    print()
    print("| method | wall (s) | min bulk ESS | ESS/s | ratio to textbook (raw) | "
          "ratio to textbook (relabelled) | held-out lpd per row | lpd - NUTS lpd |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, wall, ess, lpd in rows:
        rate = ess / wall
        print(f"| {name} | {wall:.1f} | {ess:.0f} | {rate:.1f} | {rate / raw_anchor:.1f}x | "
              f"{rate / fair_anchor:.1f}x | {lpd:.4f} | {lpd - nuts_lpd:+.4f} |"
              .replace("nan", "-"))


if __name__ == "__main__":
    main()
