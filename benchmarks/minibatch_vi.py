"""Minibatch ADVI against full-batch ADVI on a large simulated mixture.

Both fits are ``GaussianMixtureBayes(3, covariance_type="full").fit(X, method="advi",
...)`` with the same seed, learning rate and number of optimisation steps (``tol=1e-12`` so
that neither stops early); one passes ``batch_size``. Each runs in a fresh Python
process, so its peak resident memory (``ru_maxrss``) is its own; that peak includes
the data, the EM initialisation and the stored ``log_likelihood`` (8 bytes x draws x
rows) as well as the optimisation. The script prints per fit the wall and CPU time of
``fit``, the peak memory, the largest error of the posterior mean weights and means
against the truth, the mean posterior standard deviation of the means, and the held-out
mean log predictive density (``score``) on rows drawn from the same mixture; then the
full-batch / minibatch ratios of time and memory measured in this run.

Run: ``python benchmarks/minibatch_vi.py [--rows 500000] [--batch-size 1000]
[--iterations 3000] [--quick]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

N_COMPONENTS = 3
N_FEATURES = 2
COVARIANCE_TYPE = "full"
N_TEST = 50_000
SEED = 0


def simulate(n_rows: int):
    """Training rows, held-out rows and the true parameters, from one draw."""
    from bayesmix.datasets import make_mixture

    sample = make_mixture(n_rows + N_TEST, N_COMPONENTS, N_FEATURES, COVARIANCE_TYPE,
                          random_state=SEED)
    return sample.X[:n_rows], sample.X[n_rows:], sample.params


def worker(n_rows: int, batch_size: int | None, iterations: int, learning_rate: float,
           draws: int) -> dict:
    """Fit once in this process and measure it."""
    from bayesmix.bayes import GaussianMixtureBayes
    from bayesmix.exceptions import VIConvergenceWarning
    from bayesmix.relabel import hungarian_permutations

    X, X_test, truth = simulate(n_rows)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    estimator = GaussianMixtureBayes(N_COMPONENTS, covariance_type=COVARIANCE_TYPE,
                                     random_state=SEED)
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VIConvergenceWarning)  # tol=1e-12: never met
        estimator.fit(X, method="advi", batch_size=batch_size, draws=draws,
                      n_iter=iterations, tol=1e-12, learning_rate=learning_rate)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # order[j]: the true component matched to fitted component j.
    order = hungarian_permutations(truth["means"][None], estimator.means_)[0]
    sd = estimator.idata_.posterior["means"].std(("chain", "draw")).values
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "baseline_mib": baseline / 1024,
        "peak_mib": peak / 1024,
        "weights_error": float(np.abs(estimator.weights_ - truth["weights"][order]).max()),
        "means_error": float(np.abs(estimator.means_ - truth["means"][order]).max()),
        "means_sd": float(sd.mean()),
        "heldout_lpd": float(estimator.score(X_test)),
    }


def run_in_child(args: argparse.Namespace, batch_size: int | None) -> dict:
    command = [sys.executable, __file__, "--worker", "--rows", str(args.rows),
               "--iterations", str(args.iterations), "--learning-rate",
               str(args.learning_rate), "--draws", str(args.draws),
               "--batch-size", str(batch_size or 0)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="a tenth of the rows")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.rows //= 10
    if args.worker:
        result = worker(args.rows, args.batch_size or None, args.iterations,
                        args.learning_rate, args.draws)
        print(json.dumps(result))
        return

    print(f"{args.rows:,} x {N_FEATURES}, K={N_COMPONENTS}, {COVARIANCE_TYPE}; ADVI, "
          f"{args.iterations} steps, learning_rate={args.learning_rate}, {args.draws} "
          f"draws; held-out: {N_TEST:,} rows")
    header = (f"{'fit':<22} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9} {'err w':>7} "
              f"{'err mu':>7} {'sd mu':>7} {'held-out lpd':>13}")
    print(header)
    print("-" * len(header))
    results = {}
    for name, batch_size in (("full batch", None),
                             (f"minibatch {args.batch_size}", args.batch_size)):
        r = results[name] = run_in_child(args, batch_size)
        print(f"{name:<22} {r['wall_s']:>8.1f} {r['cpu_s']:>8.1f} {r['peak_mib']:>9.0f} "
              f"{r['weights_error']:>7.4f} {r['means_error']:>7.4f} {r['means_sd']:>7.4f} "
              f"{r['heldout_lpd']:>13.5f}", flush=True)
    full, mini = results.values()
    print(f"full batch / minibatch: wall {full['wall_s'] / mini['wall_s']:.1f}x, cpu "
          f"{full['cpu_s'] / mini['cpu_s']:.1f}x, peak memory "
          f"{full['peak_mib'] / mini['peak_mib']:.2f}x (memory before fit: "
          f"{mini['baseline_mib']:.0f} MiB)")


if __name__ == "__main__":
    main()
