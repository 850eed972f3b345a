"""Save fitted mixtures' InferenceData to netCDF, reload them and score them identically.

Fits EM and a small ADVI posterior to Old Faithful, writes both ``InferenceData``
objects with ``idata.to_netcdf(path)`` into a temporary directory, reads them back with
``arviz.from_netcdf`` and checks that ``bayesmix.scoring.lppd`` of the reloaded data
equals the original's exactly (scoring and ``compare`` accept an InferenceData as a
model). Only the fits' data are saved: a model-level ``save``/``load`` comes later.

Run: python examples/save_and_reload.py   (BAYESMIX_FAST=1 for small, fast settings)
"""

import os
import tempfile
import warnings
from pathlib import Path

import arviz as az

from bayesmix import GaussianMixtureBayes, GaussianMixtureEM, load_old_faithful
from bayesmix.scoring import lppd

warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
FAST = os.environ.get("BAYESMIX_FAST") == "1"
ADVI = {"draws": 200, "n_iter": 2000} if FAST else {"draws": 1000, "n_iter": 20_000}

X = load_old_faithful()
em = GaussianMixtureEM(2, n_init=3, random_state=0).fit(X)
with warnings.catch_warnings():
    if FAST:  # so few iterations are expected to stop before VI has converged
        warnings.simplefilter("ignore")
    bayes = GaussianMixtureBayes(2, random_state=0).fit(X, method="advi", progressbar=False,
                                                        **ADVI)

with tempfile.TemporaryDirectory() as folder:
    for name, idata in {"em": em.to_inference_data(), "advi": bayes.idata_}.items():
        path = Path(folder) / f"{name}.nc"
        idata.to_netcdf(path)
        reloaded = az.from_netcdf(path)
        before, after = lppd(idata, X), lppd(reloaded, X)
        same = before.elpd == after.elpd and bool((before.pointwise == after.pointwise).all())
        print(f"{name}: {path.stat().st_size / 1024:.0f} KiB; lppd {before.elpd:.6f} before, "
              f"{after.elpd:.6f} after reloading; identical: {same}")
        if not same:
            raise SystemExit(f"{name}: the reloaded InferenceData scores differently")
