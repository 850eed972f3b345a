"""EM on Dask: a 2-worker LocalCluster streaming a Zarr store against the in-memory fit.

The data (10,000,000 x 8 by default, 640 MB of float64, drawn from 8 correlated
Gaussian clusters) are written chunk by chunk to a Zarr store and never held whole by
the Dask side: the workers read one chunk at a time at every pass. The in-memory fit
loads the store into one NumPy array in a child process. Both start from the same
initial parameters (one EM step from k-means on the first 20,000 rows) and run the same
number of EM iterations (``tol=0``), so they do the same arithmetic. The workers start
with glibc's malloc thresholds raised to 8 MB (``ALLOCATOR``; see docs/large_data.md).

Printed, for each: time per iteration (the whole ``fit`` divided by the iterations, so
the Dask side pays its extra summary pass there), peak resident memory (of the
in-memory process; of each Dask worker process, polled every 5 ms on the worker) and
that peak above the process's idle footprint once bayesmix is imported, as a fraction of
the data's size; and the final mean log-likelihoods with their difference.

Run: ``python benchmarks/em_dask.py [--iterations 10] [--quick] [--store PATH]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

N_FEATURES = 8
N_COMPONENTS = 8


def simulate_chunk(block_id=None, rows: int = 0) -> np.ndarray:
    """One chunk of the clusters: fixed centres and shapes, rows seeded by the chunk."""
    shape_rng = np.random.default_rng(0)
    centres = shape_rng.normal(scale=3.0, size=(N_COMPONENTS, N_FEATURES))
    mixing = shape_rng.normal(size=(N_COMPONENTS, N_FEATURES, N_FEATURES)) / np.sqrt(N_FEATURES)
    rng = np.random.default_rng(1 + block_id[0])
    labels = rng.integers(N_COMPONENTS, size=rows)
    noise = rng.normal(size=(rows, N_FEATURES))
    X = np.empty((rows, N_FEATURES))
    for k in range(N_COMPONENTS):
        chosen = labels == k
        X[chosen] = centres[k] + noise[chosen] @ (mixing[k] + np.eye(N_FEATURES))
    return X


def write_store(path: str, n_samples: int, chunk_rows: int) -> None:
    """Write the data chunk by chunk to an uncompressed Zarr store."""
    import dask
    import dask.array as da

    chunks = [chunk_rows] * (n_samples // chunk_rows)
    if n_samples % chunk_rows:
        chunks.append(n_samples % chunk_rows)
    X = da.map_blocks(lambda block_id=None: simulate_chunk(block_id, chunks[block_id[0]]),
                      chunks=(tuple(chunks), (N_FEATURES,)), dtype=np.float64)
    with dask.config.set(scheduler="threads"):
        X.to_zarr(path, compressors=None, mode="w")


def _fit(X, init: dict, iterations: int):
    from bayesmix import ConvergenceWarning, GaussianMixtureEM

    em = GaussianMixtureEM(N_COMPONENTS, covariance_type="full", max_iter=iterations, tol=0.0,
                           **init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        em.fit(X)
    return em


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def in_memory_run(path: str, init: dict, iterations: int) -> dict:
    """In a fresh process: load the store, fit, report time and peak memory."""
    import resource

    import zarr

    import bayesmix  # noqa: F401  (the idle footprint includes the library)

    idle = _rss()
    X = zarr.open_array(path, mode="r")[:]
    em = _fit(X, init, iterations)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"seconds": em.fit_time_, "lower_bound": em.lower_bound_, "idle": idle,
            "peak": peak}


def start_polling(dask_worker, interval: float = 0.005) -> None:
    """On a worker: poll its resident memory into ``dask_worker.bench_memory``."""
    state = {"idle": _rss(), "peak": 0, "stop": False}

    def poll() -> None:
        while not state["stop"]:
            state["peak"] = max(state["peak"], _rss())
            time.sleep(interval)

    threading.Thread(target=poll, daemon=True).start()
    dask_worker.bench_memory = state


def stop_polling(dask_worker) -> tuple[int, int]:
    dask_worker.bench_memory["stop"] = True
    return dask_worker.bench_memory["idle"], dask_worker.bench_memory["peak"]


#: distributed's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also fixes
#: glibc's mmap threshold at 128 kB: every MB-sized NumPy temporary of the kernel is then
#: mapped and page-faulted afresh, making it about 3x slower. Heap allocations up to 8 MB
#: (and as much free heap kept) restore the speed.
ALLOCATOR = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 1 << 23,
             "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 1 << 23}


def dask_run(path: str, init: dict, iterations: int) -> dict:
    """Fit the store on a 2-worker, 1-thread-each LocalCluster of processes."""
    import dask
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    with dask.config.set(ALLOCATOR), LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.run(__import__, "bayesmix.em.dask_source")
        client.run(start_polling)
        em = _fit(da.from_zarr(path), init, iterations)
        memory = client.run(stop_polling)
    return {"seconds": em.fit_time_, "lower_bound": em.lower_bound_,
            "idle": max(idle for idle, _ in memory.values()),
            "peak": max(peak for _, peak in memory.values()),
            "used": max(peak - idle for idle, peak in memory.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--quick", action="store_true", help="a tenth of the rows")
    parser.add_argument("--store", help="Zarr store to write and read (default: a temp dir)")
    args = parser.parse_args()
    n_samples = args.rows // 10 if args.quick else args.rows

    workdir = None if args.store else tempfile.mkdtemp(prefix="bayesmix-em-dask-")
    path = args.store or str(Path(workdir) / "X.zarr")
    try:
        start = time.perf_counter()
        write_store(path, n_samples, args.chunk_rows)
        data_bytes = n_samples * N_FEATURES * 8
        print(f"{n_samples:,} x {N_FEATURES}, K={N_COMPONENTS}, full, {args.iterations} "
              f"iterations; X is {data_bytes / 1e6:,.0f} MB in chunks of "
              f"{args.chunk_rows:,} rows (store written in {time.perf_counter() - start:.0f} s)")

        import zarr

        first = zarr.open_array(path, mode="r")[:20_000]
        start_fit = _fit(first, {"random_state": 0}, 1)
        init = {"weights_init": start_fit.weights_, "means_init": start_fit.means_,
                "precisions_init": start_fit.precisions_}

        with multiprocessing.get_context("spawn").Pool(1) as pool:
            memory_run = pool.apply(in_memory_run, (path, init, args.iterations))
        memory_run["used"] = memory_run["peak"] - memory_run["idle"]
        distributed_run = dask_run(path, init, args.iterations)
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    header = (f"{'fitter':<36} {'s/iter':>8} {'ratio':>6} {'peak MB':>8} {'idle MB':>8} "
              f"{'used MB':>8} {'used/X':>7} {'mean log-lik':>17}")
    print(header)
    print("-" * len(header))
    for name, run in (("in memory (1 process, 2 threads)", memory_run),
                      ("Dask LocalCluster (per worker, max)", distributed_run)):
        print(f"{name:<36} {run['seconds'] / args.iterations:>8.3f} "
              f"{run['seconds'] / memory_run['seconds']:>5.2f}x {run['peak'] / 1e6:>8.0f} "
              f"{run['idle'] / 1e6:>8.0f} {run['used'] / 1e6:>8.0f} "
              f"{run['used'] / data_bytes:>7.3f} {run['lower_bound']:>17.12f}")
    difference = distributed_run["lower_bound"] - memory_run["lower_bound"]
    print(f"log-likelihood difference (Dask - in memory): {difference:.3g} per row, "
          f"{difference / abs(memory_run['lower_bound']):.3g} relative")


if __name__ == "__main__":
    main()
