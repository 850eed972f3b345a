"""Fit Old Faithful with custom priors and see how they move the posterior weights.

A strong symmetric Dirichlet concentration (50 pseudo-observations per component) pulls
the weights towards equal shares; an informative LKJ eta (10) shrinks the correlations
towards zero. The resolved priors (``priors_``) are printed, then the posterior mean
weights under these priors against those under the defaults (both fitted by ADVI).

Run: python examples/custom_priors.py   (BAYESMIX_FAST=1 for small, fast settings)
"""

import os
import warnings

import pandas as pd

from bayesmix import GaussianMixtureBayes, load_old_faithful
from bayesmix.bayes import MixturePriors

warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
FAST = os.environ.get("BAYESMIX_FAST") == "1"
ADVI = {"draws": 200, "n_iter": 2000} if FAST else {"draws": 1000, "n_iter": 20_000}

X = load_old_faithful()
custom = MixturePriors(weights_alpha=50.0, lkj_eta=10.0)
fits = {}
with warnings.catch_warnings():
    if FAST:  # so few iterations are expected to stop before VI has converged
        warnings.simplefilter("ignore")
    for name, priors in {"default priors": None, "custom priors": custom}.items():
        fits[name] = GaussianMixtureBayes(2, priors=priors, random_state=0).fit(
            X, method="advi", progressbar=False, **ADVI)

for name, bayes in fits.items():
    print(f"{name}: {bayes.priors_}")
weights = pd.DataFrame({name: bayes.weights_ for name, bayes in fits.items()},
                       index=[f"component {k}" for k in range(2)])
print("\nPosterior mean weights (EM: "
      f"{fits['default priors'].em_.weights_.round(3).tolist()}):")
print(weights.round(3).to_string())
