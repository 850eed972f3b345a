"""Import time: ``import bayesmix`` and the ``bayesmix`` command against ``import sklearn.mixture``.

Every case runs in a fresh interpreter, ``--repeats`` times, the cases alternating; the
best wall time of each is kept (this machine is shared and noisy) and printed as a ratio
against the anchor, ``python -c "import sklearn.mixture"``, measured in the same run.
Beside it: the total import time Python itself reports (``-X importtime``: the sum of
the cumulative times of the top-level imports, best of the same runs) against the
anchor's, and which of
the heavy packages (PyMC, PyTensor, JAX, NumPyro, ArviZ, xarray, matplotlib, ...) the
case left in ``sys.modules``.

Run: ``python benchmarks/imports.py [--repeats 5]``. To measure another checkout, put it
first on the path: ``PYTHONPATH=/path/to/checkout python benchmarks/imports.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

#: Packages whose presence in ``sys.modules`` the table reports.
HEAVY = ("pymc", "pytensor", "jax", "numpyro", "arviz", "xarray", "matplotlib", "pandas",
         "sklearn")

#: (label, the interpreter's arguments: ``-c code`` or ``-m module args``)
CASES = [
    ("import sklearn.mixture (anchor)", ["-c", "import sklearn.mixture"]),
    ("import bayesmix; bayesmix.GaussianMixtureEM",
     ["-c", "import bayesmix; bayesmix.GaussianMixtureEM"]),
    ("bayesmix --help", ["-m", "bayesmix", "--help"]),
    ("bayesmix --version", ["-m", "bayesmix", "--version"]),
    ("bayesmix fit --components 0 (error)",
     ["-m", "bayesmix", "fit", "data.csv", "--components", "0", "--out", "out"]),
]

_REPORT_MODULES = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('LOADED ' + ' '.join(sorted(\n"
    "    name for name in {heavy!r} if name in sys.modules)) + '\\n'))\n"
)


def run_once(arguments: list[str]) -> tuple[float, float, set[str]]:
    """Wall seconds, total ``-X importtime`` microseconds, and the heavy packages loaded.

    The wall time is of a plain run; the import time and the loaded modules come from a
    second run with ``-X importtime`` and an exit hook (both add their own overhead).
    """
    command = [sys.executable, *arguments]
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=False)
    wall = time.perf_counter() - start

    hook = _REPORT_MODULES.format(heavy=HEAVY)
    if arguments[0] == "-c":
        traced = ["-c", hook + arguments[1]]
    else:  # ``-m module args``: run the module through runpy after the hook
        traced = ["-c", hook + f"import runpy, sys; sys.argv = {arguments[1:]!r}; "
                  f"runpy.run_module({arguments[1]!r}, run_name='__main__', alter_sys=True)"]
    result = subprocess.run([sys.executable, "-X", "importtime", *traced],
                            capture_output=True, text=True, check=False)
    total = 0.0
    loaded: set[str] = set()
    for line in result.stderr.splitlines():
        # "import time: self [us] | cumulative | name", nested imports indented under name
        top_level = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
        if top_level:
            total += float(top_level.group(1))
        if line.startswith("LOADED"):
            loaded = set(line.split()[1:])
    return wall, total, loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    best_wall = {label: float("inf") for label, _ in CASES}
    best_import = {label: float("inf") for label, _ in CASES}
    loaded: dict[str, set[str]] = {}
    for _ in range(args.repeats):
        for label, arguments in CASES:
            wall, cumulative, modules = run_once(arguments)
            best_wall[label] = min(best_wall[label], wall)
            best_import[label] = min(best_import[label], cumulative)
            loaded[label] = modules

    anchor = CASES[0][0]
    where = os.environ.get("PYTHONPATH") or "installed bayesmix"
    print(f"best of {args.repeats} fresh interpreters ({where}); ratios against "
          f"'{anchor}' in this run ({best_wall[anchor]:.2f} s wall)")
    header = (f"{'case':<46} {'wall / anchor':>13} {'importtime / anchor':>19}  "
              f"heavy modules loaded")
    print(header)
    print("-" * len(header))
    for label, _ in CASES:
        print(f"{label:<46} {best_wall[label] / best_wall[anchor]:>12.2f}x "
              f"{best_import[label] / best_import[anchor]:>18.2f}x  "
              f"{', '.join(sorted(loaded[label])) or '-'}", flush=True)


if __name__ == "__main__":
    main()
