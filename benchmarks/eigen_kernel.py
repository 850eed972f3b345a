"""The compiled eigendecompositions of small symmetric matrices against NumPy's, per matrix.

``bayesmix.covariance.eigen_kernel.stacked_eigh_descending`` decomposes a stack of
symmetric matrices (eigenvalues largest first) with Jacobi's rotations up to
``JACOBI_MAX_FEATURES`` features and LAPACK's ``dsyevd`` beyond. It is timed against its
anchor, measured in the same run: :func:`numpy.linalg.eigh` on the same stack (LAPACK's
``dsyevd`` matrix by matrix, in C), on 162 matrices (18 runs of 9 components, a batch
group of a model-selection grid) of 2 to 8 features.

Every case is timed ``--repeats`` times in alternation, each time over enough calls to
last about 20 ms, and the best time per matrix is kept (this machine is shared and
noisy). The ratio compiled / NumPy is the claim; the microseconds are this machine's.

Run: ``python benchmarks/eigen_kernel.py [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from bayesmix.covariance.eigen_kernel import JACOBI_MAX_FEATURES, stacked_eigh_descending

N_MATRICES = 162
SIZES = (2, 3, 4, 5, 6, 8)


def scatter_matrices(rng: np.random.Generator, n_features: int) -> np.ndarray:
    """Positive definite matrices like the M step's scatters (C-contiguous)."""
    draws = rng.normal(size=(N_MATRICES, n_features, 3 * n_features))
    return np.ascontiguousarray(draws @ np.swapaxes(draws, -1, -2))


def microseconds_per_matrix(run: Callable[[], object]) -> float:
    """Wall time of one call of ``run`` per matrix, over calls lasting about 20 ms."""
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < 0.02:
        run()
        calls += 1
    return (time.perf_counter() - start) / calls / N_MATRICES * 1e6


def check_agreement(matrices: np.ndarray) -> None:
    """The compiled eigenvalues are NumPy's, reversed (to rounding), and the vectors
    reconstruct the matrices."""
    values, vectors = stacked_eigh_descending(matrices)
    ascending = np.linalg.eigvalsh(matrices)
    scale = np.abs(ascending).max()
    np.testing.assert_allclose(values, ascending[:, ::-1], rtol=1e-12, atol=1e-13 * scale)
    np.testing.assert_allclose((vectors * values[:, np.newaxis, :])
                               @ np.swapaxes(vectors, -1, -2), matrices, atol=1e-12 * scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    stacks = {n_features: scatter_matrices(rng, n_features) for n_features in SIZES}
    for matrices in stacks.values():
        check_agreement(matrices)  # and compile
    best = {n_features: [np.inf, np.inf] for n_features in SIZES}
    for _ in range(args.repeats):
        for n_features, matrices in stacks.items():
            times = best[n_features]
            times[0] = min(times[0], microseconds_per_matrix(
                lambda matrices=matrices: stacked_eigh_descending(matrices)))
            times[1] = min(times[1], microseconds_per_matrix(
                lambda matrices=matrices: np.linalg.eigh(matrices)))
    print(f"{N_MATRICES} matrices per call; Jacobi up to {JACOBI_MAX_FEATURES} features")
    print("features  method  compiled (us/matrix)  NumPy (us/matrix)  compiled / NumPy")
    for n_features, (compiled, anchor) in best.items():
        method = "Jacobi" if n_features <= JACOBI_MAX_FEATURES else "LAPACK"
        print(f"{n_features:8d}  {method:6s}  {compiled:20.2f}  {anchor:17.2f}  "
              f"{compiled / anchor:16.2f}")


if __name__ == "__main__":
    main()
