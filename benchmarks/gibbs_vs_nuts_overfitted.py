"""The Gibbs sampler against NUTS on an overfitted mixture: time and mixing.

Old Faithful, ``GaussianMixtureBayes(10, priors=MixturePriors.sparse())`` (``full``
covariances, weights ``Dirichlet(0.01)``), fitted with ``method="gibbs"`` and
``method="nuts"`` (numpyro). For each: the wall time of ``fit``; the posterior of the
number of occupied components (``posterior_n_components``, labels drawn given each draw's
parameters) and the R-hat and bulk ESS of that per-draw count (ArviZ, over the chains);
the same for the total log-likelihood of each draw (``log_likelihood`` summed over the
rows), which does not depend on the labelling. For Gibbs also the ESS of the sampler's
own ``n_occupied``. The two models share the weights' prior but not the means and
covariances' (see :mod:`bayesmix.bayes.backends.gibbs`), so their posteriors of the
number of clusters need not agree; the claim is about time and mixing.

Run: ``PYTHONPATH=. python benchmarks/gibbs_vs_nuts_overfitted.py [--gibbs-draws 5000]
[--nuts-draws 300] [--skip-nuts]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import arviz as az
import numpy as np

from bayesmix import load_old_faithful
from bayesmix.bayes import GaussianMixtureBayes, MixturePriors


def _mixing(values: np.ndarray) -> str:
    values = np.asarray(values, dtype=np.float64)
    if values.std() == 0:
        return "constant"
    return f"R-hat {float(az.rhat(values)):.3f}, bulk ESS {float(az.ess(values)):.0f}"


def run(method: str, draws: int, tune: int, chains: int, seed: int) -> None:
    X = load_old_faithful()
    bayes = GaussianMixtureBayes(10, priors=MixturePriors.sparse(), random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty components: R-hat warnings expected
        bayes.fit(X, method=method, draws=draws, tune=tune, chains=chains)
    seconds = time.perf_counter() - start
    table = bayes.posterior_n_components(random_state=seed)
    total_ll = bayes.idata_.log_likelihood["x"].sum("obs").values
    print(f"\n{method}: {chains} chains x ({tune} tune + {draws} draws), {seconds:.1f} s")
    print("P(K occupied):", {k: round(p, 3) for k, p in table.items() if p > 0})
    print(f"  occupied (redrawn labels): R-hat {table.attrs['rhat']:.3f}, "
          f"bulk ESS {table.attrs['ess_bulk']:.0f}")
    if "n_occupied" in bayes.idata_.sample_stats:
        print(f"  occupied (sampler's labels): "
              f"{_mixing(bayes.idata_.sample_stats['n_occupied'].values)}")
    print(f"  total log-likelihood: {_mixing(total_ll)}, mean {total_ll.mean():.1f}")
    print(f"  ESS per second (log-likelihood): {float(az.ess(total_ll)) / seconds:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gibbs-draws", type=int, default=5000)
    parser.add_argument("--gibbs-tune", type=int, default=1000)
    parser.add_argument("--nuts-draws", type=int, default=300)
    parser.add_argument("--nuts-tune", type=int, default=300)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-nuts", action="store_true")
    args = parser.parse_args()
    run("gibbs", args.gibbs_draws, args.gibbs_tune, args.chains, args.seed)
    if not args.skip_nuts:
        run("nuts", args.nuts_draws, args.nuts_tune, args.chains, args.seed)


if __name__ == "__main__":
    main()
