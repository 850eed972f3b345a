"""The batched E step's compiled normalisation against NumPy, per value.

``bayesmix.em.normalise_kernel`` turns the batch's joint log probabilities (runs x
components x rows) into responsibilities, log-likelihoods and entropies with its own
vectorised exponential (``exp_in_place``) and logarithm (``log_in_place``). Each is timed
against its anchor, measured in the same run:

- ``exp_in_place`` and ``log_in_place`` against NumPy's ``np.exp`` and ``np.log`` on the
  same values (3000 of them: the exponential's arguments at or below 0, as the
  normalisation gives it; the logarithm's between 1 and 9, the rows' normalisers);
- ``normalise_log_probabilities`` against the same normalisation in NumPy (the row
  maxima, ``np.exp``, the sums, ``np.log``, the division and the two weighted sums),
  on 20 runs of 3000 rows with 2, 5 and 9 components.

Every case is timed ``--repeats`` times in alternation, each time over enough calls to
last about 20 ms, and the best time per value is kept (this machine is shared and
noisy). The ratio compiled / NumPy is the claim; the nanoseconds are this machine's.

Run: ``python benchmarks/normalise_kernel.py [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from bayesmix.em.normalise_kernel import (
    exp_in_place,
    log_in_place,
    normalise_log_probabilities,
)

N_ROWS = 3000
N_RUNS = 20
NO_WEIGHTS = np.empty(0)


def numpy_normalisation(log_prob: np.ndarray, sizes: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """The normalisation in NumPy, run by run over its real components (the anchor)."""
    log_likelihood, entropy = np.empty(len(sizes)), np.empty(len(sizes))
    for run, size in enumerate(sizes):
        real = log_prob[run, :size]
        row_max = real.max(axis=0)
        probabilities = np.exp(real - row_max)
        row_sum = probabilities.sum(axis=0)
        probabilities /= row_sum
        log_sum = np.log(row_sum)
        log_likelihood[run] = (log_sum + row_max).sum()
        entropy[run] = log_sum.sum()
        log_prob[run, :size] = probabilities
        log_prob[run, size:] = 0.0
    return log_likelihood, entropy


def nanoseconds_per_value(run: Callable[[], object], n_values: int) -> float:
    """Wall time of one call of ``run`` per value, over calls lasting about 20 ms."""
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < 0.02:
        run()
        calls += 1
    return (time.perf_counter() - start) / calls / n_values * 1e9


def cases(rng: np.random.Generator) -> list[tuple[str, Callable, Callable, int]]:
    """(label, compiled call, NumPy call, values per call), each call on fresh copies."""
    arguments = -rng.exponential(5.0, N_ROWS)
    normalisers = rng.uniform(1.0, 9.0, N_ROWS)
    scale_bits, powers = np.empty((2, N_ROWS), dtype=np.int64), np.empty(N_ROWS)
    listed = [
        ("exp, 3000 values", lambda: exp_in_place(arguments.copy(), scale_bits),
         lambda: np.exp(arguments.copy()), N_ROWS),
        ("log, 3000 values", lambda: log_in_place(normalisers.copy(), powers),
         lambda: np.log(normalisers.copy()), N_ROWS),
    ]
    for n_components in (2, 5, 9):
        log_prob = rng.normal(-5.0, 3.0, size=(N_RUNS, n_components, N_ROWS))
        sizes = np.full(N_RUNS, n_components, dtype=np.int64)
        listed.append((
            f"normalisation, {N_RUNS} runs x {n_components} components x {N_ROWS} rows",
            lambda log_prob=log_prob, sizes=sizes: normalise_log_probabilities(
                log_prob.copy(), sizes, NO_WEIGHTS),
            lambda log_prob=log_prob, sizes=sizes: numpy_normalisation(log_prob.copy(), sizes),
            log_prob.size))
    return listed


def check_agreement(rng: np.random.Generator) -> None:
    """The compiled normalisation gives the anchor's numbers (to rounding)."""
    log_prob = rng.normal(-5.0, 3.0, size=(N_RUNS, 5, N_ROWS))
    sizes = np.full(N_RUNS, 5, dtype=np.int64)
    compiled, anchor = log_prob.copy(), log_prob.copy()
    ours, theirs = (normalise_log_probabilities(compiled, sizes, NO_WEIGHTS),
                    numpy_normalisation(anchor, sizes))
    np.testing.assert_allclose(compiled, anchor, rtol=1e-13, atol=1e-300)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, rtol=1e-12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    check_agreement(rng)
    listed = cases(rng)
    for _, compiled, anchor, _ in listed:  # compile and warm up
        compiled(), anchor()
    best = {label: [np.inf, np.inf] for label, *_ in listed}
    for _ in range(args.repeats):
        for label, compiled, anchor, n_values in listed:
            times = best[label]
            times[0] = min(times[0], nanoseconds_per_value(compiled, n_values))
            times[1] = min(times[1], nanoseconds_per_value(anchor, n_values))
    width = max(len(label) for label in best)
    print(f"{'case':<{width}}  compiled (ns/value)  NumPy (ns/value)  compiled / NumPy")
    for label, (compiled, anchor) in best.items():
        print(f"{label:<{width}}  {compiled:19.2f}  {anchor:16.2f}  {compiled / anchor:16.2f}")


if __name__ == "__main__":
    main()
