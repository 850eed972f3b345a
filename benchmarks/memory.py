"""Memory: peak resident memory of scoring calls on many rows, against the size of X.

A ``GaussianMixtureEM`` (D=4, K=3, ``full``) is fitted on 20,000 rows and pickled. Each
measured call then runs in a fresh Python process that imports bayesmix, loads the fit
and allocates ``X`` (``--rows`` x 4 float64, filled in place). What is measured:

- *baseline*: the resident set size (``VmRSS``) once imports, the fit and ``X`` are in
  memory; the kernel's high-water mark (``VmHWM``) is reset to it there
  (``/proc/self/clear_refs``, so this needs Linux);
- *peak extra*: ``VmHWM`` after the call minus the baseline: everything the call held
  at its peak, **its output included**;
- *output*: the size of what the call returns (N floats for ``score_samples`` and
  ``pointwise_log_likelihood``, N x K floats for ``predict_proba``), part of the peak;
- *temporaries*: peak extra minus output;
- *numpy peak*: the same call again under :mod:`tracemalloc` (NumPy reports its buffers
  to it), the peak of traced allocations: a cross-check free of allocator effects.

Ratios are against X's size. The issue's goal: peak extra under 3x X.

Run: ``python benchmarks/memory.py [--rows 5000000] [--quick]``
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

N_FEATURES, N_COMPONENTS, COVARIANCE_TYPE = 4, 3, "full"
CALLS = ("score_samples", "predict_proba", "pointwise_log_likelihood")
MIB = 2.0**20


def _proc_status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} is not in /proc/self/status: this benchmark needs Linux.")


def _fill(X: np.ndarray, seed: int = 0) -> None:
    """Fill ``X`` with scaled normal draws in place, block by block (no temporaries)."""
    rng = np.random.default_rng(seed)
    for start in range(0, X.shape[0], 1 << 16):
        block = X[start:start + (1 << 16)]
        rng.standard_normal(out=block)
        block *= 3.0


def _call(name: str, model, X: np.ndarray) -> np.ndarray:
    if name == "pointwise_log_likelihood":
        from bayesmix.scoring import pointwise_log_likelihood

        return pointwise_log_likelihood(model, X).values
    return getattr(model, name)(X)


def child(name: str, model_path: str, n_rows: int) -> None:
    """Measure one call in this (fresh) process; print ``key=value`` pairs."""
    import gc
    import tracemalloc

    import bayesmix  # noqa: F401  (all imports happen before the baseline)

    with open(model_path, "rb") as handle:
        model = pickle.load(handle)
    X = np.empty((n_rows, N_FEATURES))
    _fill(X)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    baseline = _proc_status_kib("VmRSS")
    out = _call(name, model, X)
    peak = _proc_status_kib("VmHWM")
    output_bytes = out.nbytes
    del out
    gc.collect()
    tracemalloc.start()
    _call(name, model, X)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"x_bytes={X.nbytes} baseline_kib={baseline} peak_kib={peak} "
          f"output_bytes={output_bytes} traced_peak_bytes={traced_peak}")


def fit_model(path: Path) -> None:
    from bayesmix import GaussianMixtureEM

    X = np.empty((20_000, N_FEATURES))
    _fill(X, seed=1)
    X[: len(X) // 3] += 6.0
    X[len(X) // 3: 2 * len(X) // 3] -= 6.0
    em = GaussianMixtureEM(N_COMPONENTS, covariance_type=COVARIANCE_TYPE,
                           random_state=0).fit(X)
    path.write_bytes(pickle.dumps(em))


def measure(name: str, model_path: Path, n_rows: int) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", name, "--model", str(model_path),
         "--rows", str(n_rows)],
        capture_output=True, text=True, check=True)
    fields = dict(item.split("=") for item in result.stdout.split())
    return {key: float(value) for key, value in fields.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--quick", action="store_true", help="a tenth of the rows")
    parser.add_argument("--child", choices=CALLS, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n_rows = args.rows // 10 if args.quick else args.rows
    if args.child:
        child(args.child, args.model, n_rows)
        return

    with tempfile.TemporaryDirectory() as folder:
        model_path = Path(folder) / "em.pkl"
        fit_model(model_path)
        print(f"X: {n_rows:,} x {N_FEATURES} float64 = "
              f"{n_rows * N_FEATURES * 8 / MIB:.0f} MiB; EM K={N_COMPONENTS}, "
              f"{COVARIANCE_TYPE}, fitted on 20,000 rows. Sizes in MiB; ratios against X.")
        header = (f"{'call':<26} {'output':>7} {'peak extra':>10} {'temps':>7} "
                  f"{'extra/X':>8} {'temps/X':>8} {'(X+extra)/X':>12} {'numpy peak/X':>13}")
        print(header)
        print("-" * len(header))
        for name in CALLS:
            m = measure(name, model_path, n_rows)
            extra = (m["peak_kib"] - m["baseline_kib"]) * 1024.0
            temps = extra - m["output_bytes"]
            x = m["x_bytes"]
            print(f"{name:<26} {m['output_bytes'] / MIB:>7.0f} {extra / MIB:>10.0f} "
                  f"{temps / MIB:>7.0f} {extra / x:>7.2f}x {temps / x:>7.2f}x "
                  f"{(x + extra) / x:>11.2f}x {m['traced_peak_bytes'] / x:>12.2f}x",
                  flush=True)


if __name__ == "__main__":
    main()
