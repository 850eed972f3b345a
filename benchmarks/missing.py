"""EM with missing values: time per iteration against the complete data, in one run.

The data (200,000 x 16 by default, drawn from 8 correlated Gaussian clusters) are fitted
with ``covariance_type="full"`` and 8 components, complete and with 10 % and 30 % of
the values missing completely at random (rows left with no value get one back). Every
variant starts from the same parameters (one M step from k-means on the complete rows)
and runs the same EM steps (:meth:`~bayesmix.em.engine.EMEngine.step`, the E-step pass
over the rows and the M step), inside the thread session a ``fit`` opens; the variants
take turns, one step each, and the time per iteration is the median of
``--iterations`` steps. Printed: the missing-value source's
one-off set-up (validation and grouping the rows by pattern), the number of patterns,
the time per iteration and its ratio to the complete data's (the goal is at most 3).

Run: ``python benchmarks/missing.py [--samples 200000] [--iterations 5] [--quick]``
"""

from __future__ import annotations

import argparse
import time
from contextlib import ExitStack

import numpy as np

from bayesmix.covariance import get_structure
from bayesmix.em.engine import EMEngine, EMSettings, MixtureParameters
from bayesmix.em.init import initial_responsibilities
from bayesmix.em.missing_source import MissingValuesSource
from bayesmix.em.sources import InMemorySource
from em_vs_sklearn import simulate  # the same clusters as the EM benchmark's

N_FEATURES = 16
N_COMPONENTS = 8
#: Fractions of the values removed, completely at random.
FRACTIONS = (0.1, 0.3)


def remove_values(X: np.ndarray, fraction: float, seed: int = 1) -> np.ndarray:
    """``X`` with a ``fraction`` of its values set to NaN, completely at random."""
    rng = np.random.default_rng(seed)
    holes = rng.random(X.shape) < fraction
    empty = holes.all(axis=1)
    holes[empty, rng.integers(X.shape[1], size=int(empty.sum()))] = False
    return np.where(holes, np.nan, X)


def seconds_per_iteration(variants: dict[str, tuple], iterations: int) -> dict[str, float]:
    """Median wall time of an EM step of each ``(source, start)``, interleaved.

    The variants take turns, one step each per round, so that a busy machine slows them
    alike and their ratios hold.
    """
    structure = get_structure("full")
    times: dict[str, list[float]] = {name: [] for name in variants}
    with ExitStack() as stack:
        engines, params = {}, {}
        for name, (source, start) in variants.items():
            stack.enter_context(source.session(structure.row_width(N_COMPONENTS, N_FEATURES)))
            engines[name] = EMEngine(source, structure, N_COMPONENTS, EMSettings())
            params[name] = start
        for _ in range(iterations):
            for name, engine in engines.items():
                began = time.perf_counter()
                _, params[name] = engine.step(params[name])
                times[name].append(time.perf_counter() - began)
    return {name: float(np.median(values)) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 3 iterations")
    args = parser.parse_args()
    n_samples, iterations = ((20_000, 3) if args.quick else (args.samples, args.iterations))

    X = simulate(n_samples, N_FEATURES, N_COMPONENTS)
    complete = InMemorySource(X)
    engine = EMEngine(complete, get_structure("full"), N_COMPONENTS, EMSettings())
    start = engine.from_responsibilities(
        initial_responsibilities(X, N_COMPONENTS, "kmeans", np.random.RandomState(0)))
    variants, setup, patterns = {0.0: (complete, start)}, {}, {}
    for fraction in FRACTIONS:
        began = time.perf_counter()
        source = MissingValuesSource(remove_values(X, fraction))
        setup[fraction] = time.perf_counter() - began
        patterns[fraction] = source.patterns.n_patterns
        # The same start, in this source's centring.
        variants[fraction] = (source, MixtureParameters(
            start.weights, start.means + complete.shift - source.shift, start.covariances,
            start.precisions_cholesky))
    seconds = seconds_per_iteration(variants, iterations)
    print(f"{n_samples} x {N_FEATURES}, K={N_COMPONENTS}, full, median of {iterations} "
          f"interleaved iterations")
    print(f"{'missing':>8} {'patterns':>9} {'set-up s':>9} {'s / iteration':>14} "
          f"{'ratio':>6}")
    print(f"{0:>7.0%} {1:>9} {'':>9} {seconds[0.0]:>14.3f} {1.0:>6.2f}")
    for fraction in FRACTIONS:
        print(f"{fraction:>7.0%} {patterns[fraction]:>9} {setup[fraction]:>9.2f} "
              f"{seconds[fraction]:>14.3f} {seconds[fraction] / seconds[0.0]:>6.2f}")


if __name__ == "__main__":
    main()
