"""EM speed: bayesmix.GaussianMixtureEM against sklearn.mixture.GaussianMixture.

Both fitters start from the same initial parameters and run the same number of EM
iterations (``tol=0``), so they do the same arithmetic; each case is timed several times,
alternating the two, and the best time of each is kept (this machine is shared and
noisy). The script prints, per case, the time ratio scikit-learn / bayesmix measured in
this run and the final mean log-likelihood of both.

A second table fits bayesmix on the same data in float32 and in float64 (the float32
passes multiply in float32 and add up in float64; the M steps run in float64): the time
ratio float64 / float32, the peak memory of each fit (``tracemalloc``: NumPy's
allocations, the data included) and the difference of the final mean log-likelihoods.

Run: ``python benchmarks/em_vs_sklearn.py [--repeats 3] [--iterations 10] [--quick]``
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from bayesmix import GaussianMixtureEM

CASES = [
    # (n_samples, n_features, n_components, covariance_type)
    (200_000, 16, 8, "full"),
    (1_000_000, 2, 3, "full"),
    (1_000_000, 2, 3, "tied"),
    (1_000_000, 2, 3, "diag"),
    (1_000_000, 2, 3, "spherical"),
    (20_000, 64, 16, "diag"),
]


def simulate(n_samples: int, n_features: int, n_components: int, seed: int = 0) -> np.ndarray:
    """Overlapping Gaussian clusters with random correlated covariances."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(n_components, n_features))
    mixing = rng.normal(size=(n_components, n_features, n_features)) / np.sqrt(n_features)
    labels = rng.integers(n_components, size=n_samples)
    noise = rng.normal(size=(n_samples, n_features))
    X = np.empty((n_samples, n_features))
    for k in range(n_components):
        rows = labels == k
        X[rows] = centres[k] + noise[rows] @ (mixing[k] + np.eye(n_features))
    return X


def initial_parameters(X: np.ndarray, n_components: int, covariance_type: str) -> dict:
    """One k-means initialised EM step on a subsample: the shared starting point."""
    start = GaussianMixture(n_components, covariance_type=covariance_type, max_iter=1,
                            random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X[:20_000])
    return {"weights_init": start.weights_, "means_init": start.means_,
            "precisions_init": start.precisions_}


def best_time(make, X: np.ndarray, repeats: int) -> tuple[float, float]:
    """Best wall time of ``repeats`` fits and the final mean log-likelihood."""
    times = []
    for _ in range(repeats):
        model = make()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X)
        times.append(time.perf_counter() - start)
    return min(times), model.lower_bound_


def peak_memory(make, X: np.ndarray) -> float:
    """Peak memory (MiB) traced while converting ``X``'s copy and fitting once."""
    tracemalloc.start()
    try:
        data = X.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            make().fit(data)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def float32_table(cases: list[tuple], args: argparse.Namespace) -> None:
    """bayesmix on float32 against float64 data: time, peak memory, log-likelihood."""
    header = (f"{'case':<34} {'f64 s/it':>9} {'f32 s/it':>9} {'ratio':>7} {'f64 MiB':>8} "
              f"{'f32 MiB':>8} {'loglik f64 - f32':>17}")
    print("\nbayesmix in float32 against float64")
    print(header)
    print("-" * len(header))
    for n_samples, n_features, n_components, covariance_type in cases:
        X = simulate(n_samples, n_features, n_components)
        init = initial_parameters(X, n_components, covariance_type)
        common = {"covariance_type": covariance_type, "max_iter": args.iterations, "tol": 0.0,
                  **init}
        make = lambda: GaussianMixtureEM(n_components, **common)  # noqa: E731
        X32 = X.astype(np.float32)
        time64, ll64 = best_time(make, X, args.repeats)
        time32, ll32 = best_time(make, X32, args.repeats)
        case = f"{n_samples:,} x {n_features}, K={n_components}, {covariance_type}"
        print(f"{case:<34} {time64 / args.iterations:>9.4f} {time32 / args.iterations:>9.4f} "
              f"{time64 / time32:>6.2f}x {peak_memory(make, X):>8.1f} "
              f"{peak_memory(make, X32):>8.1f} {ll64 - ll32:>17.2e}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="a tenth of the rows")
    args = parser.parse_args()

    header = (f"{'case':<34} {'sklearn s/it':>12} {'bayesmix s/it':>13} {'ratio':>7} "
              f"{'loglik sklearn':>16} {'loglik bayesmix':>16}")
    print(header)
    print("-" * len(header))
    for n_samples, n_features, n_components, covariance_type in CASES:
        if args.quick:
            n_samples //= 10
        X = simulate(n_samples, n_features, n_components)
        init = initial_parameters(X, n_components, covariance_type)
        common = {"covariance_type": covariance_type, "max_iter": args.iterations, "tol": 0.0,
                  **init}
        sk_time, sk_ll = best_time(lambda: GaussianMixture(n_components, **common), X,
                                   args.repeats)
        bm_time, bm_ll = best_time(lambda: GaussianMixtureEM(n_components, **common), X,
                                   args.repeats)
        case = f"{n_samples:,} x {n_features}, K={n_components}, {covariance_type}"
        print(f"{case:<34} {sk_time / args.iterations:>12.4f} "
              f"{bm_time / args.iterations:>13.4f} {sk_time / bm_time:>6.2f}x "
              f"{sk_ll:>16.10f} {bm_ll:>16.10f}", flush=True)
    float32_table([(n // 10 if args.quick else n, d, k, c) for n, d, k, c in CASES], args)


if __name__ == "__main__":
    main()
