"""Save fitted mixtures to one file each, load them back and check nothing was lost.

Fits EM and a small ADVI posterior to Old Faithful, writes each with ``model.save(path)``
into a temporary directory, reads it back with ``bayesmix.load(path)`` and checks that
the reloaded model predicts and scores bit for bit as the original: ``predict_proba``
(with its posterior standard deviation for ADVI), ``score_samples`` and ``sample``.
The file is also an ArviZ netCDF file: ``arviz.from_netcdf(path)`` reads the fit's
InferenceData.

Run: python examples/save_and_reload.py   (BAYESMIX_FAST=1 for small, fast settings)
"""

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

import bayesmix
from bayesmix import GaussianMixtureBayes, GaussianMixtureEM, load_old_faithful

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


def outputs(model):
    """What a user reads off a fitted model, as a list of arrays."""
    if isinstance(model, GaussianMixtureBayes):
        proba = model.predict_proba(X, return_std=True)  # mean and posterior SD
    else:
        proba = (model.predict_proba(X),)
    return [*proba, model.score_samples(X), *model.sample(5)]


with tempfile.TemporaryDirectory() as folder:
    for name, model in {"em": em, "advi": bayes}.items():
        path = model.save(Path(folder) / f"{name}.nc")
        reloaded = bayesmix.load(path)
        same = all(np.array_equal(a, b) for a, b in zip(outputs(model), outputs(reloaded)))
        print(f"{name}: {path.stat().st_size / 1024:.0f} KiB, reloaded as "
              f"{type(reloaded).__name__}; score {model.score(X):.6f} before, "
              f"{reloaded.score(X):.6f} after; identical: {same}")
        if not same:
            raise SystemExit(f"{name}: the reloaded model predicts differently")
