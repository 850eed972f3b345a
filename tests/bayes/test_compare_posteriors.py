"""compare() and the scores on real posteriors: EM, NUTS and ADVI side by side."""

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest

from bayesmix import GaussianMixtureBayes, GaussianMixtureEM, compare, make_mixture
from bayesmix.exceptions import SamplerDiagnosticWarning, VIConvergenceWarning
from bayesmix.scoring import ParetoKWarning, loo, waic

POSTERIOR_ONLY = ["p_waic", "p_loo", "elpd_waic", "se_waic", "elpd_loo", "se_loo", "d_loo",
                  "dse_loo", "max_pareto_k"]
NUTS_ONLY = ["divergences", "max_rhat", "min_ess_bulk"]
#: Spread columns: posterior standard deviations, or an EM fit's bootstrap standard errors.
SPREAD = ["sd_weights", "sd_means", "sd_covariances"]


@pytest.fixture(scope="module")
def split():
    X, labels, _ = make_mixture(400, n_components=2, n_features=2, random_state=5)
    return X[:300], X[300:], labels[300:]


@pytest.fixture(scope="module")
def fits(split):
    train = split[0]
    models = {"EM": GaussianMixtureEM(2, n_init=2, random_state=0).fit(train)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerDiagnosticWarning)
        warnings.simplefilter("ignore", VIConvergenceWarning)
        models["NUTS"] = GaussianMixtureBayes(2, random_state=0).fit(
            train, method="nuts", draws=150, tune=150, chains=2)
        models["ADVI"] = GaussianMixtureBayes(2, random_state=0).fit(
            train, method="advi", draws=300, n_iter=3000)
    return models


@pytest.fixture(scope="module")
def table(fits, split):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParetoKWarning)
        return compare(fits, X_test=split[1], y_true=split[2])


def test_nan_exactly_where_a_score_does_not_apply(table):
    em, nuts, advi = table.loc["EM"], table.loc["NUTS"], table.loc["ADVI"]
    assert em[POSTERIOR_ONLY + NUTS_ONLY + SPREAD].isna().all()  # no bootstrap given
    assert em.drop(POSTERIOR_ONLY + NUTS_ONLY + SPREAD).notna().all()
    assert nuts.drop(["converged", "prior"]).notna().all() and np.isnan(nuts["converged"])
    assert advi[NUTS_ONLY].isna().all()
    assert advi.drop(NUTS_ONLY + ["prior"]).notna().all()
    # An EM fit's conjugate prior (none here); a posterior's priors are its model's.
    assert em["prior"] == "none" and pd.isna(nuts["prior"]) and pd.isna(advi["prior"])
    assert list(table["method"]) == ["em", "nuts", "advi"]


def test_held_out_densities_agree_within_a_few_standard_errors(table):
    for name in ("NUTS", "ADVI"):
        gap = abs(table.loc[name, "lpd_test"] - table.loc["EM", "lpd_test"])
        assert gap < 3 * table.loc["EM", "se_lpd_test"]
    assert (table["ari"] > 0.95).all()
    assert (table["fit_time"] > 0).all()


def test_waic_and_loo_agree_with_arviz_on_the_same_inference_data(fits, table):
    idata = fits["NUTS"].idata_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference_waic = az.waic(idata)
        reference_loo = az.loo(idata)
        ours_loo = loo(idata)
    assert waic(fits["NUTS"]).elpd_waic == pytest.approx(reference_waic.elpd_waic, rel=1e-12)
    assert ours_loo.elpd_loo == pytest.approx(reference_loo.elpd_loo, rel=1e-12)
    assert table.loc["NUTS", "elpd_loo"] == pytest.approx(reference_loo.elpd_loo, rel=1e-12)
    assert table.loc["NUTS", "p_waic"] == pytest.approx(reference_waic.p_waic, rel=1e-12)


def test_nuts_diagnostics_are_those_of_the_estimator(fits, table):
    diagnostics = fits["NUTS"].diagnostics_
    assert table.loc["NUTS", "divergences"] == diagnostics["n_divergences"]
    assert table.loc["NUTS", "max_rhat"] == pytest.approx(diagnostics["max_rhat"])
    assert table.loc["NUTS", "fit_time"] == pytest.approx(diagnostics["fit_time"])
