"""Compare an EM fit and a NUTS posterior on held-out data whose true labels are known.

Simulates a three-component mixture with ``make_mixture``, holds out a quarter of it,
fits EM and the Bayesian mixture (NUTS) on the rest and prints the held-out log
predictive density (with its standard error and the difference to the best model), the
adjusted Rand index against the true labels and PSIS-LOO.

Run: python examples/compare_em_and_nuts.py   (BAYESMIX_FAST=1 for small, fast settings)
"""

import os
import warnings

from sklearn.model_selection import train_test_split

from bayesmix import GaussianMixtureBayes, GaussianMixtureEM, compare, make_mixture

warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
FAST = os.environ.get("BAYESMIX_FAST") == "1"
NUTS = ({"draws": 100, "tune": 100, "chains": 2} if FAST
        else {"draws": 1000, "tune": 1000, "chains": 4})

X, labels, _ = make_mixture(400, n_components=3, n_features=2, covariance_type="full",
                            random_state=0)
X_train, X_test, _, y_test = train_test_split(X, labels, test_size=0.25, random_state=0)

em = GaussianMixtureEM(3, n_init=5, random_state=0).fit(X_train)
with warnings.catch_warnings():
    if FAST:  # so few draws are expected to trigger the R-hat / ESS warnings
        warnings.simplefilter("ignore")
    nuts = GaussianMixtureBayes(3, random_state=0).fit(X_train, method="nuts",
                                                       progressbar=False, **NUTS)

columns = ["method", "lpd_test", "se_lpd_test", "d_lpd_test", "ari", "elpd_loo"]
table = compare({"EM": em, "NUTS": nuts}, X_test=X_test, y_true=y_test)[columns]
print(f"Held-out comparison on {len(X_test)} test points ({len(X_train)} for training):")
print(table.round(3).to_string())
print("\nelpd_loo is NaN for EM: PSIS-LOO needs posterior draws, EM is a single point.")
