"""Model selection: bayesmix.select_em against R mclust's Mclust on real data sets.

Both libraries choose the number of components (K = 1..9) and the covariance structure
by BIC over the same grid, on the same data, in the same run. The default grid is the
four structures both share, bayesmix's ``spherical, diag, tied, full`` = mclust's
``VII, VVI, EEE, VVV`` (``MCLUST_NAMES``); ``--models mclust`` asks for all 14 mclust
models and runs only once bayesmix accepts their names.

What is timed is each library's whole selection call with its defaults:
``select_em(X, n_components=range(1, 10), covariance_types=..., random_state=0)``
(mclust's hierarchical start and one k-means start per cell, the k-means run screened
against the other, all cells in one batch; with 14 models, EVE and VVE also started
from VEV's, EEV's, VEE's and VVV's fits, EVV from VVV's) and
``Mclust(X, G=1:9, modelNames=..., verbose=FALSE)`` (one hierarchical agglomeration
shared by all cells, one EM run per cell, single-threaded Fortran). Each is run once
to warm up, then ``--repeats`` times; the median wall time is kept. mclust is timed
inside R (``system.time``, elapsed), so R's start-up and the CSV transfer do not count.
The claim is the ratio bayesmix / mclust measured in this run, never a bare time.

Data sets: Old Faithful (``bayesmix.load_old_faithful``, 272 x 2); scikit-learn's
bundled iris (150 x 4), wine (178 x 13) and breast cancer (569 x 10: its first ten
columns, the "mean" features, ``mean radius`` .. ``mean fractal dimension``); and,
when R is present, mclust's ``wreath`` (1000 x 2), ``banknote`` (200 x 6),
``diabetes`` (145 x 3) and ``thyroid`` (215 x 5), their numeric columns written by R
at run time. ``--datasets small`` runs R's own small data sets instead (``mtcars``,
``women``, ``longley``, ``USArrests``, ``cars``, ``trees``, ``stackloss``, ``swiss``,
``rock``, ``attitude``, ``LifeCycleSavings``: 15 to 50 rows; and ``quakes``, 1000 x
5), where mclust's per-fit cost is smallest. ``--datasets more`` runs eight more, none
of which bayesmix was tuned on: MASS's ``crabs`` (200 x 5, the measurements),
``geyser`` (299 x 2), ``cats`` (144 x 2), ``Boston`` (506 x 14) and
``Pima.tr`` (200 x 7), mclust's ``EuroUnemployment`` (31 x 3) and ``chevron`` (1104
x 2), and R's ``USJudgeRatings`` (43 x 12). ``--datasets extra`` runs fourteen more,
chosen after the rest of the code was written: one feature (MASS's ``galaxies``,
mclust's ``acidity``, R's ``precip``, ``rivers``, ``Nile``, ``faithful$eruptions`` and
``InsectSprays$count``, whose counts tie), MASS's ``hills``, ``UScereal``, ``birthwt``
(age, lwt, bwt) and ``Cars93`` (five measurements), R's ``state.x77``, ``morley``
(Expt, Speed: integers with ties) and ``ToothGrowth`` (len, dose). ``--datasets further``
runs forty more, none of which the code was tuned on when they were first run, from R's
datasets, MASS, cluster, robustbase, carData, palmerpenguins, kernlab, mlbench and
mclust (19 to 3000 rows, 1 to 9 columns; their numeric columns or those listed in
``R_DATASETS``, rows with a missing value dropped); one whose package is not installed is
skipped and named. Any of these also by name. Every data set goes through one CSV file
in a temporary directory that both sides read, so both fit exactly the same numbers; no
data is kept.

mclust's per-cell log-likelihoods: ``Mclust`` returns the BIC of every (model, G)
cell (``$BIC``, an ``mclustBIC`` table) computed by ``mclust::bic`` as
``2 * loglik - npar * log(n)``, with ``npar = nMclustParams(model, d, G)`` (no noise
component, unequal proportions, no prior: Mclust's defaults). The R script inverts it
exactly, ``loglik = (BIC + npar * log(n)) / 2``, so each value is the maximised
log-likelihood of the very EM run Mclust chose from (no refit), and checks the
inversion against Mclust's own ``$loglik`` for its chosen cell (relative 1e-10). A cell
whose BIC is NA is one mclust could not fit (``attr(BIC, "returnCodes")`` nonzero,
e.g. a singular covariance); its return code is printed with it. The R side writes one
CSV row per cell on its standard output.

Printed per data set: n, d, both times and their ratio, the model each side chose
with its BIC in mclust's sign (``BIC_mclust = -BIC_bayesmix``, higher is better), and
the per-cell log-likelihood difference bayesmix - mclust over the cells that are
neither flagged degenerate by bayesmix nor NA in mclust: its minimum and maximum, the
number of cells below -0.1 and those cells. A summary table closes the run (``--out PATH`` also
writes it as CSV). Without ``Rscript`` or mclust, only bayesmix is timed.

``--prior`` fits both sides under mclust's default conjugate prior
(``select_em(..., prior="default")``, ``Mclust(..., prior = priorControl())``), over the
models mclust fits with one; the per-cell values are then the log-likelihoods at the
posterior modes, which mclust's BIC uses. mclust's default EM tolerance (a relative
change of 1e-5) stops short of the mode, where the log-likelihood can be higher than at
the mode (MAP-EM ascends the log-likelihood plus the log prior), so its cells and choice
then come from a second, converged run (``emControl(tol = c(1e-10, 1e-10))``); its time
is the default run's.

Run: ``python benchmarks/select_vs_mclust.py [--repeats 3] [--datasets iris wine]
[--models four|mclust] [--prior] [--out results.csv]``
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets as sk_datasets

from bayesmix import GaussianMixtureEM, load_old_faithful, select_em
from bayesmix.covariance import get_structure, mclust_models

#: bayesmix's (scikit-learn's) structure names and the mclust models they are.
MCLUST_NAMES = {"spherical": "VII", "diag": "VVI", "tied": "EEE", "full": "VVV"}
#: Every mclust model name, for ``--models mclust``.
ALL_MCLUST_MODELS = ["EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE",
                     "EEV", "VEV", "EVV", "VVV"]
MODEL_SETS = {"four": list(MCLUST_NAMES.values()), "mclust": ALL_MCLUST_MODELS}
#: The models mclust fits with its conjugate prior (``--prior``).
PRIOR_MODELS = mclust_models(2, prior=True)
MAX_COMPONENTS = 9
#: A cell where bayesmix's log-likelihood is this much below mclust's is listed.
THRESHOLD = -0.1

#: Columns of the summary table, in order (mclust's are empty without R).
SUMMARY_COLUMNS = ["dataset", "n", "d", "bayesmix_s", "mclust_s", "ratio", "bayesmix_model",
                   "bayesmix_bic", "mclust_model", "mclust_bic", "cells_compared",
                   "min_loglik_diff", "max_loglik_diff", "cells_below"]

#: Data sets loaded in Python: name -> loader of a DataFrame.
PYTHON_DATASETS: dict[str, Callable[[], pd.DataFrame]] = {
    "faithful": load_old_faithful,
    "iris": lambda: sk_datasets.load_iris(as_frame=True).data,
    "wine": lambda: sk_datasets.load_wine(as_frame=True).data,
    "breast_cancer": lambda: sk_datasets.load_breast_cancer(as_frame=True).data.iloc[:, :10],
}
#: Data sets exported by R: name -> (R package, R object, columns); no columns named:
#: every numeric column. mclust's own four run by default; R's small ones with
#: ``--datasets small``, eight more (MASS's, mclust's and R's, 31 to 1104 rows) with
#: ``--datasets more``, fourteen more with ``--datasets extra`` (seven of one feature, and
#: data with many tied values), forty more with ``--datasets further``, any of them by
#: name. The object is ``data set/object`` where an R data set holds several; rows with a
#: missing value are dropped (none of the first four groups has one).
R_DATASETS = {
    "wreath": ("mclust", "wreath", ()), "banknote": ("mclust", "banknote", ()),
    "diabetes": ("mclust", "diabetes", ()), "thyroid": ("mclust", "thyroid", ()),
    "mtcars": ("datasets", "mtcars", ()), "women": ("datasets", "women", ()),
    "longley": ("datasets", "longley", ()), "usarrests": ("datasets", "USArrests", ()),
    "cars": ("datasets", "cars", ()), "trees": ("datasets", "trees", ()),
    "stackloss": ("datasets", "stackloss", ()), "swiss": ("datasets", "swiss", ()),
    "rock": ("datasets", "rock", ()), "attitude": ("datasets", "attitude", ()),
    "lifecycle": ("datasets", "LifeCycleSavings", ()), "quakes": ("datasets", "quakes", ()),
    "crabs": ("MASS", "crabs", ("FL", "RW", "CL", "CW", "BD")),
    "geyser": ("MASS", "geyser", ()), "cats": ("MASS", "cats", ()),
    "boston": ("MASS", "Boston", ()), "eurounemployment": ("mclust", "EuroUnemployment", ()),
    "pima": ("MASS", "Pima.tr", ()),
    "chevron": ("mclust", "chevron", ()), "judges": ("datasets", "USJudgeRatings", ()),
    "galaxies": ("MASS", "galaxies", ()), "acidity": ("mclust", "acidity", ()),
    "precip": ("datasets", "precip", ()), "rivers": ("datasets", "rivers", ()),
    "nile": ("datasets", "Nile", ()), "eruptions": ("datasets", "faithful", ("eruptions",)),
    "insectsprays": ("datasets", "InsectSprays", ()), "hills": ("MASS", "hills", ()),
    "uscereal": ("MASS", "UScereal", ()), "birthwt": ("MASS", "birthwt", ("age", "lwt", "bwt")),
    "statex77": ("datasets", "state.x77", ()), "morley": ("datasets", "morley", ("Expt", "Speed")),
    "toothgrowth": ("datasets", "ToothGrowth", ("len", "dose")),
    "cars93": ("MASS", "Cars93", ("Price", "MPG.city", "Horsepower", "EngineSize", "Weight")),
}
#: ``--datasets further``: forty more, as in :data:`R_DATASETS` (R's datasets, MASS and
#: cluster come with R; robustbase, carData, palmerpenguins, kernlab and mlbench do not).
FURTHER_DATASETS = {
    "airquality": ("datasets", "airquality", ("Ozone", "Solar.R", "Wind", "Temp")),
    "attenu": ("datasets", "attenu", ("mag", "dist", "accel")),
    "baudry41": ("mclust", "Baudry_etal_2010_JCGS_examples/ex4.1", ()),
    "baudry42": ("mclust", "Baudry_etal_2010_JCGS_examples/ex4.2", ()),
    "beaver1": ("datasets", "beaver1", ("time", "temp")),
    "biopsy": ("MASS", "biopsy", ()), "chickweight": ("datasets", "ChickWeight",
                                                    ("weight", "Time")),
    "chickwts": ("datasets", "chickwts", ()), "co2": ("datasets", "CO2", ("conc", "uptake")),
    "cpus": ("MASS", "cpus", ("syct", "mmin", "mmax", "cach", "chmin", "chmax", "perf")),
    "discoveries": ("datasets", "discoveries", ()), "duncan": ("carData", "Duncan", ()),
    "fgl": ("MASS", "fgl", ()), "freeny": ("datasets", "freeny", ()),
    "hbk": ("robustbase", "hbk", ()), "loblolly": ("datasets", "Loblolly", ("height", "age")),
    "lynx": ("datasets", "lynx", ()), "mammals": ("MASS", "mammals", ()),
    "mcycle": ("MASS", "mcycle", ()), "michelson": ("MASS", "michelson", ("Speed",)),
    "milk": ("robustbase", "milk", ()), "painters": ("MASS", "painters", ()),
    "penguins": ("palmerpenguins", "penguins", ("bill_length_mm", "bill_depth_mm",
                                                "flipper_length_mm", "body_mass_g")),
    "pimaid": ("mlbench", "PimaIndiansDiabetes", ()), "pimate": ("MASS", "Pima.te", ()),
    "pluton": ("cluster", "pluton", ()), "pressure": ("datasets", "pressure", ()),
    "prestige": ("carData", "Prestige", ("education", "income", "women", "prestige")),
    "randu": ("datasets", "randu", ()), "road": ("MASS", "road", ()),
    "ruspini": ("cluster", "ruspini", ()), "spirals": ("kernlab", "spirals", ()),
    "starscyg": ("robustbase", "starsCYG", ()), "sunspots": ("datasets", "sunspot.year", ()),
    "survey": ("MASS", "survey", ("Wr.Hnd", "NW.Hnd", "Pulse", "Height", "Age")),
    "synth": ("MASS", "synth.tr", ("xs", "ys")), "topo": ("MASS", "topo", ()),
    "warpbreaks": ("datasets", "warpbreaks", ()), "wtloss": ("MASS", "wtloss", ()),
    "xclara": ("cluster", "xclara", ()),
}
R_DATASETS.update(FURTHER_DATASETS)
#: The default data sets, and the groups ``--datasets small`` and ``more`` name.
DEFAULT_DATASETS = ["faithful", "iris", "wine", "breast_cancer", "wreath", "banknote",
                    "diabetes", "thyroid"]
DATASET_GROUPS = {
    "small": ["mtcars", "women", "longley", "usarrests", "cars", "trees", "stackloss",
              "swiss", "rock", "attitude", "lifecycle", "quakes"],
    "more": ["crabs", "geyser", "cats", "boston", "eurounemployment", "pima", "chevron",
             "judges"],
    "extra": ["galaxies", "acidity", "precip", "rivers", "nile", "eruptions", "insectsprays",
              "hills", "uscereal", "birthwt", "statex77", "morley", "toothgrowth", "cars93"],
    "further": list(FURTHER_DATASETS),
}

R_EXPORT = """
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
# file=package:data:column,column (data: a data set, or data set/object where the data set
# holds several objects; no columns: the numeric ones). Rows with a missing value are
# dropped; a data set whose package is not installed is skipped, and named on stdout.
for (spec in args[-1]) {
  parts <- strsplit(spec, "[=:]")[[1]]
  if (!requireNamespace(parts[2], quietly = TRUE)) {
    cat(parts[1], "\n")
    next
  }
  names <- strsplit(parts[3], "/")[[1]]
  data(list = names[1], package = parts[2], envir = environment())
  X <- as.data.frame(get(names[length(names)]))
  X <- if (length(parts) > 3) X[strsplit(parts[4], ",")[[1]]] else X[sapply(X, is.numeric)]
  write.csv(na.omit(X), file.path(args[1], paste0(parts[1], ".csv")), row.names = FALSE)
}
"""

R_TIMING = """
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1]))
repeats <- as.integer(args[2])
models <- strsplit(args[3], ",")[[1]]
G <- seq_len(as.integer(args[4]))
prior <- if (args[5] == "default") priorControl() else NULL
fit <- function() Mclust(X, G = G, modelNames = models, prior = prior, verbose = FALSE)
m <- fit()  # the warm-up; Mclust is deterministic, so its cells are every run's
seconds <- median(replicate(repeats, system.time(fit())[["elapsed"]]))
if (!is.null(prior)) {
  # Under a prior, EM's default tolerance stops short of the posterior mode, where the
  # log-likelihood can be higher than at the mode: the cells come from a converged run.
  m <- Mclust(X, G = G, modelNames = models, prior = prior,
              control = emControl(tol = c(1e-10, 1e-10)), verbose = FALSE)
}
B <- m$BIC
n <- nrow(X)
cells <- expand.grid(G = as.integer(rownames(B)), model = colnames(B),
                     stringsAsFactors = FALSE)
cells$bic <- as.vector(B)
cells$npar <- mapply(nMclustParams, cells$model, ncol(X), cells$G)
cells$loglik <- (cells$bic + cells$npar * log(n)) / 2
cells$code <- as.vector(attr(B, "returnCodes"))
# The cell of Mclust's choice: the highest BIC (with one component Mclust names the
# model "XXX", and EEE,1 and VVV,1 tie; the first such cell stands for it).
cells$chosen <- seq_len(nrow(cells)) == which.max(cells$bic)
stopifnot(abs(cells$loglik[cells$chosen] - m$loglik) <= 1e-10 * abs(m$loglik))
cells$seconds <- seconds
write.csv(cells, stdout(), row.names = FALSE)
"""


R_PARAMETERS = """
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1]))
m <- Mclust(X, G = as.integer(args[3]), modelNames = args[2], prior = priorControl(),
            control = emControl(tol = c(1e-10, 1e-10)), verbose = FALSE)
p <- m$parameters
cat(p$pro, "\\n", as.vector(p$mean), "\\n", as.vector(p$variance$sigma), "\\n", sep = " ")
"""


def mclust_available() -> bool:
    """Whether ``Rscript`` runs and can load mclust."""
    if shutil.which("Rscript") is None:
        return False
    check = subprocess.run(
        ["Rscript", "-e", "quit(status = !requireNamespace('mclust', quietly = TRUE))"],
        capture_output=True)
    return check.returncode == 0


def run_r(code: str, *args: object) -> str:
    """Run R ``code`` with ``args`` as its trailing arguments; its standard output."""
    result = subprocess.run(["Rscript", "-e", code, *map(str, args)], capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise RuntimeError(f"Rscript failed:\n{result.stderr}")
    return result.stdout


def write_datasets(names: list[str], folder: Path, with_r: bool) -> dict[str, Path]:
    """One CSV per data set in ``folder`` (Python's written here, mclust's by R)."""
    paths = {}
    for name in names:
        if name in PYTHON_DATASETS:
            paths[name] = folder / f"{name}.csv"
            PYTHON_DATASETS[name]().to_csv(paths[name], index=False, float_format="%.17g")
    exported = [name for name in names if name in R_DATASETS]
    if exported and with_r:
        skipped = run_r(R_EXPORT, folder, *(
            f"{name}={package}:{obj}" + (f":{','.join(columns)}" if columns else "")
            for name in exported for package, obj, columns in [R_DATASETS[name]])).split()
        if skipped:
            print(f"skipped, their R package not installed: {', '.join(skipped)}")
        paths.update({name: folder / f"{name}.csv" for name in exported
                      if name not in skipped})
    elif exported:
        print(f"R's data sets skipped without R: {', '.join(exported)}")
    return {name: paths[name] for name in names if name in paths}


def bayesmix_structures(models: list[str]) -> list[str] | None:
    """The names ``select_em`` takes for ``models``: mclust's, else scikit-learn's.

    None when bayesmix accepts neither (a model without a scikit-learn name).
    """
    probe = np.random.default_rng(0).normal(size=(50, 2))
    try:
        select_em(probe, n_components=[1], covariance_types=models)
        return models
    except ValueError:
        sklearn_names = {mclust: sklearn for sklearn, mclust in MCLUST_NAMES.items()}
        if all(model in sklearn_names for model in models):
            return [sklearn_names[model] for model in models]
        return None


def median_time(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``run``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def univariate_models(models: list[str]) -> list[str]:
    """mclust's models of one feature for ``models``: each one's volume, E or V, once."""
    return list(dict.fromkeys(model[0] for model in models))


def time_bayesmix(X: np.ndarray, structures: list[str], repeats: int,
                  prior: str | None) -> tuple[float, pd.DataFrame, pd.Series]:
    """Median time of ``select_em``, its table with mclust's names and its chosen row.

    The table's ``fit`` column holds each row's fitted estimator.
    """
    def run():
        return select_em(X, n_components=range(1, MAX_COMPONENTS + 1),
                         covariance_types=structures, random_state=0, prior=prior)

    selection = run()  # the warm-up; random_state=0 makes every run the same
    seconds = median_time(run, repeats)
    table = selection.table_.rename(columns={"n_components": "G"})
    table["model"] = table["covariance_type"].map(lambda name: MCLUST_NAMES.get(name, name))
    table["fit"] = selection.estimators_
    return seconds, table, table.loc[selection.best_index_]


def time_mclust(path: Path, models: list[str], repeats: int, prior: str | None
                ) -> pd.DataFrame:
    """mclust's cells, one row per (model, G), with its median time.

    Columns: model, G, bic, npar, loglik, code, chosen, seconds (the same on every row).
    """
    return pd.read_csv(io.StringIO(run_r(R_TIMING, path, repeats, ",".join(models),
                                         MAX_COMPONENTS, prior or "none")))


def compare_cells(bayesmix: pd.DataFrame, mclust: pd.DataFrame) -> pd.DataFrame:
    """Per-cell log-likelihood difference bayesmix - mclust over the comparable cells."""
    cells = bayesmix[["model", "G", "log_likelihood", "degenerate", "fit"]].merge(
        mclust[["model", "G", "loglik", "code"]], on=["model", "G"])
    cells = cells[~cells["degenerate"] & cells["loglik"].notna()].copy()
    cells["difference"] = cells["log_likelihood"] - cells["loglik"]
    return cells


def posterior_gain(X: np.ndarray, path: Path, model: str, G: int,
                   cell: GaussianMixtureEM) -> float:
    """Under the prior: bayesmix's log posterior of a cell minus that at mclust's mode.

    Both are bayesmix's objective (log-likelihood plus log prior, the MAP-EM lower bound
    times n): of the grid's fit of the cell, ``cell``, and at the parameters of
    mclust's converged fit. Positive: the cell's fit is the better posterior mode, though
    its log-likelihood is lower.
    """
    lines = run_r(R_PARAMETERS, path, model, G).strip().splitlines()
    weights, means, covariances = (np.array(line.split(), dtype=float) for line in lines)
    d = X.shape[1]
    weights = weights / weights.sum()  # printed to 7 digits
    precisions = np.linalg.inv(covariances.reshape(G, d, d))
    at_mclust = GaussianMixtureEM(
        G, covariance_type=model, prior="default", reg_covar=cell.reg_covar, max_iter=1,
        weights_init=weights, means_init=means.reshape(G, d),
        precisions_init=get_structure(model).from_full((precisions + np.swapaxes(
            precisions, 1, 2)) / 2.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        at_mclust.fit(X)
    return (cell.lower_bound_ - at_mclust.lower_bound_history_[0]) * len(X)


def cell_name(model: str, G: int) -> str:
    """mclust's way of naming a cell, e.g. ``EEE,3``."""
    return f"{model},{G}"


def benchmark(name: str, path: Path, models: list[str], structures: list[str],
              repeats: int, with_r: bool, prior: str | None = None) -> dict[str, object]:
    """Time both sides on one data set, print the comparison, return its summary row."""
    X = pd.read_csv(path).to_numpy(dtype=float)
    n, d = X.shape
    print(f"\n== {name}: n={n}, d={d} ==", flush=True)
    if d == 1:  # mclust fits one feature by its univariate models only
        models = structures = univariate_models(models)
    bm_seconds, bm_table, bm_best = time_bayesmix(X, structures, repeats, prior)
    row = {"dataset": name, "n": n, "d": d, "bayesmix_s": bm_seconds,
           "bayesmix_model": cell_name(bm_best["model"], bm_best["G"]),
           "bayesmix_bic": -bm_best["bic"]}
    if not with_r:
        print(f"time: bayesmix {bm_seconds:.3f} s")
        print(f"chosen: bayesmix {row['bayesmix_model']} (BIC in mclust's sign "
              f"{row['bayesmix_bic']:.2f})")
        return row

    mclust = time_mclust(path, models, repeats, prior)
    chosen = mclust[mclust["chosen"]]  # none when every cell of mclust's is NA
    cells = compare_cells(bm_table, mclust)
    below = cells[cells["difference"] < THRESHOLD]
    row.update({"mclust_s": mclust["seconds"].iloc[0],
                "mclust_model": (cell_name(chosen["model"].iloc[0], chosen["G"].iloc[0])
                                 if len(chosen) else "none"),
                "mclust_bic": chosen["bic"].iloc[0] if len(chosen) else np.nan,
                "cells_compared": len(cells),
                "min_loglik_diff": cells["difference"].min(),
                "max_loglik_diff": cells["difference"].max(),
                "cells_below": len(below)})
    row["ratio"] = row["bayesmix_s"] / row["mclust_s"]

    print(f"time: bayesmix {row['bayesmix_s']:.3f} s, mclust {row['mclust_s']:.3f} s, "
          f"bayesmix / mclust {row['ratio']:.2f}x")
    print(f"chosen (BIC in mclust's sign, higher is better): bayesmix "
          f"{row['bayesmix_model']} {row['bayesmix_bic']:.2f}; mclust {row['mclust_model']} "
          f"{row['mclust_bic']:.2f}")
    print(f"log-likelihood bayesmix - mclust over {len(cells)} of {len(bm_table)} cells "
          f"({int(bm_table['degenerate'].sum())} degenerate in bayesmix, "
          f"{int(mclust['loglik'].isna().sum())} NA in mclust): min "
          f"{row['min_loglik_diff']:.3f}, max {row['max_loglik_diff']:.3f}, {len(below)} "
          f"cell(s) below {THRESHOLD}")
    for cell in below.sort_values("difference").itertuples():
        gain = "" if prior is None else (
            f"; log posterior bayesmix - at mclust's mode "
            f"{posterior_gain(X, path, cell.model, cell.G, cell.fit):+.3f}")
        print(f"  {cell_name(cell.model, cell.G):<7} {cell.difference:10.3f}  (bayesmix "
              f"{cell.log_likelihood:.3f}, mclust {cell.loglik:.3f}{gain})")
    na_cells = mclust[mclust["loglik"].isna()]
    if len(na_cells):
        print("  NA in mclust (return code): " + ", ".join(
            f"{cell_name(c.model, c.G)} ({c.code})" for c in na_cells.itertuples()))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (median kept)")
    parser.add_argument("--datasets", nargs="+", default=DEFAULT_DATASETS,
                        choices=[*PYTHON_DATASETS, *R_DATASETS, *DATASET_GROUPS],
                        help="data sets by name; 'small' for R's small data sets, 'more' "
                             "for eight more, 'extra' for fourteen more, 'further' for "
                             "forty more")
    parser.add_argument("--models", choices=list(MODEL_SETS), default="four",
                        help="the four shared structures, or all 14 mclust models")
    parser.add_argument("--prior", action="store_true",
                        help="both sides under mclust's default conjugate prior (the models "
                             "mclust fits with one)")
    parser.add_argument("--out", type=Path, help="write the summary table to this CSV")
    args = parser.parse_args()

    models = MODEL_SETS[args.models]
    prior = "default" if args.prior else None
    if prior is not None:
        models = [model for model in models if model in PRIOR_MODELS]
    structures = bayesmix_structures(models)
    if structures is None:
        print(f"bayesmix does not accept mclust's model names yet: --models {args.models} "
              f"skipped.")
        return
    with_r = mclust_available()
    if not with_r:
        print("R/mclust not found: bayesmix times only")

    with tempfile.TemporaryDirectory() as folder:
        names = [name for given in args.datasets
                 for name in DATASET_GROUPS.get(given, [given])]
        paths = write_datasets(list(dict.fromkeys(names)), Path(folder), with_r)
        rows = [benchmark(name, path, models, structures, args.repeats, with_r, prior)
                for name, path in paths.items()]

    summary = pd.DataFrame(rows).reindex(columns=SUMMARY_COLUMNS)
    print(f"\nSummary: median of {args.repeats} timed runs after one warm-up; BIC in "
          f"mclust's sign; min/max_loglik_diff: bayesmix - mclust over the comparable "
          f"cells; cells_below: how many are below {THRESHOLD}")
    print(summary.to_string(index=False, float_format=lambda value: f"{value:.3f}"))
    if args.out is not None:
        summary.to_csv(args.out, index=False)
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()
