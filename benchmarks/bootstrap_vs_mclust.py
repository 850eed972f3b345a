"""The bootstrap against R mclust: standard errors, the bootstrap LRT and the time.

On Old Faithful with mclust's ``EEE`` model (bayesmix's ``tied``), 3 components:

1. **Standard errors.** ``bayesmix.bootstrap(em, X, n_boot=B, kind=...)`` against
   ``MclustBootstrap(Mclust(faithful, G = 3, modelNames = "EEE"), nboot = B, type =
   ...)`` for the three kinds (``nonparametric`` = ``"bs"``, ``weighted`` = ``"wlbs"``,
   ``parametric`` = ``"pb"``): the standard errors of the weights and the means, the
   components matched by their means. mclust is run twice: with its default EM
   tolerance (a relative change of the log-likelihood of 1e-5, which stops refits near
   their start, the original fit) and with a converged one (``emControl(tol = 1e-10)``),
   which is what bayesmix's default ``tol=1e-8`` does. Two independent bootstraps agree
   within Monte Carlo error when ``z = (se_1 - se_2) / sqrt(mc_1**2 + mc_2**2)`` is
   small, ``mc`` the delta-method standard error of a standard deviation from ``B``
   draws, ``sqrt((m4 - s**4) / B) / (2 s)`` (``m4`` the fourth central moment).
2. **The bootstrap LRT.** ``bayesmix.bootstrap_lrt(X, "tied", max_components=3,
   n_boot=B)`` against ``mclustBootstrapLRT(faithful, modelName = "EEE", maxG = 2,
   nboot = B)`` (1 vs 2 and 2 vs 3 components), again with mclust's default and a
   converged tolerance: the statistics, the p-values and the times.
3. **Time.** Each bootstrap of ``B`` refits is timed once after a warm-up (bayesmix:
   the whole call, and the refits alone, ``fit_time_``); mclust inside R
   (``system.time``, elapsed). The ratio bayesmix / mclust is the claim.

Run: ``python benchmarks/bootstrap_vs_mclust.py [--n-boot 999] [--seed 0]``. Without
``Rscript`` or mclust, only bayesmix runs.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bayesmix import GaussianMixtureEM, bootstrap, bootstrap_lrt, load_old_faithful
from bayesmix.relabel import hungarian_permutations

#: bayesmix's kinds and mclust's types.
KINDS = {"nonparametric": "bs", "weighted": "wlbs", "parametric": "pb"}
N_COMPONENTS = 3

R_SCRIPT = """
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]; nboot <- as.integer(args[2]); seed <- as.integer(args[3])
types <- strsplit(args[4], ",")[[1]]
tight <- emControl(tol = c(1e-10, sqrt(.Machine$double.eps)))
mod <- Mclust(faithful, G = 3, modelNames = "EEE", verbose = FALSE)
write.csv(t(mod$parameters$mean), file.path(out, "means.csv"), row.names = FALSE)
d <- ncol(faithful)
names <- c(paste0("weights_", 1:3),
           as.vector(outer(colnames(faithful), 1:3, function(f, k) paste0("means_", k, "_", f))))
times <- NULL
for (type in types) for (control in c("default", "converged")) {
  m <- mod
  if (control == "converged") m$control <- tight
  set.seed(seed)
  seconds <- system.time(b <- MclustBootstrap(m, nboot = nboot, type = type,
                                              verbose = FALSE))[["elapsed"]]
  draws <- cbind(b$pro, matrix(b$mean, nrow = nboot))
  colnames(draws) <- names
  write.csv(draws, file.path(out, sprintf("%s_%s.csv", type, control)), row.names = FALSE)
  times <- rbind(times, data.frame(type = type, control = control, seconds = seconds,
                                   nonfit = b$nonfit))
}
write.csv(times, file.path(out, "bootstrap_times.csv"), row.names = FALSE)
lrt <- NULL
for (control in c("default", "converged")) {
  set.seed(seed)
  call <- list(faithful, modelName = "EEE", maxG = 2, nboot = nboot, verbose = FALSE)
  if (control == "converged") call$control <- tight
  seconds <- system.time(l <- do.call(mclustBootstrapLRT, call))[["elapsed"]]
  lrt <- rbind(lrt, data.frame(control = control, test = paste(l$G, "vs", l$G + 1),
                               lrts = l$obs, p_value = l$p.value, seconds = seconds))
}
write.csv(lrt, file.path(out, "lrt.csv"), row.names = FALSE)
"""


def mclust_available() -> bool:
    """Whether ``Rscript`` runs and can load mclust."""
    if shutil.which("Rscript") is None:
        return False
    check = subprocess.run(
        ["Rscript", "-e", "quit(status = !requireNamespace('mclust', quietly = TRUE))"],
        capture_output=True)
    return check.returncode == 0


def run_mclust(folder: Path, n_boot: int, seed: int) -> None:
    """Run the R side; its results are CSV files in ``folder``."""
    result = subprocess.run(["Rscript", "-e", R_SCRIPT, str(folder), str(n_boot), str(seed),
                             ",".join(KINDS.values())], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"Rscript failed:\n{result.stderr}")


def draws_table(result, feature_names: list[str]) -> pd.DataFrame:
    """bayesmix's draws as mclust's columns: ``weights_k``, ``means_k_feature`` (1-based)."""
    posterior = result.idata_.posterior
    weights = posterior["weights"].values[0]
    means = posterior["means"].values[0]
    columns = {f"weights_{k + 1}": weights[:, k] for k in range(N_COMPONENTS)}
    columns.update({f"means_{k + 1}_{name}": means[:, k, j] for k in range(N_COMPONENTS)
                    for j, name in enumerate(feature_names)})
    return pd.DataFrame(columns)


def standard_error_and_mc(values: np.ndarray) -> tuple[float, float]:
    """The standard deviation of ``values`` and its delta-method Monte Carlo error."""
    s = values.std(ddof=1)
    m4 = np.mean((values - values.mean()) ** 4)
    return float(s), float(np.sqrt(max(m4 - s**4, 0.0) / len(values)) / (2 * s))


def relabel_to(table: pd.DataFrame, order: np.ndarray, feature_names: list[str]
               ) -> pd.DataFrame:
    """Rename bayesmix's component ``order[k]`` to mclust's ``k + 1``."""
    renames = {}
    for k, ours in enumerate(order):
        renames[f"weights_{ours + 1}"] = f"weights_{k + 1}"
        renames.update({f"means_{ours + 1}_{name}": f"means_{k + 1}_{name}"
                        for name in feature_names})
    return table.rename(columns=renames)[list(renames.values())]


def compare_standard_errors(ours: pd.DataFrame, mclust: dict[str, pd.DataFrame]
                            ) -> pd.DataFrame:
    """One row per parameter: the standard errors, and z against each mclust run."""
    rows = {}
    for column in ours.columns:
        se, mc = standard_error_and_mc(ours[column].to_numpy())
        row = {"bayesmix": se}
        for control, draws in mclust.items():
            their_se, their_mc = standard_error_and_mc(draws[column].dropna().to_numpy())
            row[f"mclust_{control}"] = their_se
            row[f"z_{control}"] = (se - their_se) / np.hypot(mc, their_mc)
        rows[column] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-boot", type=int, default=999, help="bootstrap replicates")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    X = load_old_faithful()
    names = list(X.columns)
    with_r = mclust_available()
    if not with_r:
        print("R/mclust not found: bayesmix only")

    em = GaussianMixtureEM(N_COMPONENTS, covariance_type="tied", n_init=5, tol=1e-10,
                           max_iter=1000, random_state=args.seed).fit(X)
    bootstrap(em, X, n_boot=5, random_state=args.seed)  # the warm-up (imports)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        if with_r:
            run_mclust(folder, args.n_boot, args.seed)
            mclust_means = pd.read_csv(folder / "means.csv").to_numpy()
            order = hungarian_permutations(em.means_[None], mclust_means)[0]
            mclust_times = pd.read_csv(folder / "bootstrap_times.csv")
        times = []
        for kind, mclust_type in KINDS.items():
            start = time.perf_counter()
            result = bootstrap(em, X, n_boot=args.n_boot, kind=kind, random_state=args.seed)
            seconds = time.perf_counter() - start
            row = {"kind": kind, "bayesmix_s": seconds, "bayesmix_refits_s": result.fit_time_,
                   "bayesmix_failed": result.n_failed_}
            print(f"\n== {kind} bootstrap ({mclust_type}), {args.n_boot} refits ==")
            ours = draws_table(result, names)
            if with_r:
                ours = relabel_to(ours, order, names)
                mclust = {control: pd.read_csv(folder / f"{mclust_type}_{control}.csv")
                          for control in ("converged", "default")}
                table = compare_standard_errors(ours, mclust)
                print(table.to_string(float_format=lambda value: f"{value:.4f}"))
                print(f"max |z|: converged mclust {table['z_converged'].abs().max():.2f}, "
                      f"default mclust {table['z_default'].abs().max():.2f}")
                timing = mclust_times.set_index(["type", "control"])["seconds"]
                row.update(mclust_default_s=timing[(mclust_type, "default")],
                           mclust_converged_s=timing[(mclust_type, "converged")])
                row["ratio"] = seconds / row["mclust_converged_s"]
            else:
                print(compare_standard_errors(ours, {}).to_string())
            times.append(row)

        print(f"\n== bootstrap LRT (EEE = tied), {args.n_boot} replicates per test ==")
        start = time.perf_counter()
        lrt = bootstrap_lrt(X, "tied", max_components=3, n_boot=args.n_boot,
                            random_state=args.seed)
        lrt_seconds = time.perf_counter() - start
        table = lrt[["lrts", "p_value"]].rename(columns=lambda c: f"bayesmix_{c}")
        if with_r:
            theirs = pd.read_csv(folder / "lrt.csv")
            for control, part in theirs.groupby("control", sort=False):
                part = part.set_index("test")
                table[f"mclust_{control}_lrts"] = part["lrts"]
                table[f"mclust_{control}_p_value"] = part["p_value"]
            lrt_times = theirs.groupby("control")["seconds"].first()
        print(table.to_string(float_format=lambda value: f"{value:.6f}"))
        print(f"time: bayesmix {lrt_seconds:.2f} s" + (
            f", mclust {lrt_times['default']:.2f} s (default tol), "
            f"{lrt_times['converged']:.2f} s (converged); bayesmix / mclust converged "
            f"{lrt_seconds / lrt_times['converged']:.2f}x" if with_r else ""))

    print(f"\n== time of {args.n_boot} refits (one run after a warm-up) ==")
    print(pd.DataFrame(times).to_string(index=False,
                                         float_format=lambda value: f"{value:.2f}"))


if __name__ == "__main__":
    main()
