"""Against R mclust's own fits: every model, with and without its default prior.

``tests/data/mclust_fits.json`` holds mclust 6.0's fits of Old Faithful and iris for its
14 models (10 with ``priorControl()``) and G = 1..4, written by
``tests/data/make_mclust_fits.R`` (EM run to a tight tolerance, so that the prior's
cells hold posterior modes). Started from the same hierarchical clustering,
bayesmix must reach mclust's log-likelihood (or better) in every cell, and count the
same parameters.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris

from bayesmix import GaussianMixtureEM, load_old_faithful
from bayesmix.covariance import get_structure, n_parameters

FITS = json.loads((Path(__file__).parents[1] / "data" / "mclust_fits.json").read_text())
DATA = {"faithful": load_old_faithful().to_numpy(), "iris": load_iris().data}


def _cell_id(cell):
    return f"{cell['data']}-{cell['model']}-G{cell['G']}{'-prior' if cell['prior'] else ''}"


@pytest.mark.parametrize("cell", FITS, ids=_cell_id)
def test_reaches_mclust_log_likelihood(cell):
    X = DATA[cell["data"]]
    em = GaussianMixtureEM(cell["G"], covariance_type=cell["model"], init_params="hc",
                           prior="default" if cell["prior"] else None, tol=1e-8,
                           max_iter=2000, reg_covar=1e-9 * X.var(axis=0).min())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em.fit(X)
    log_likelihood = em.score(X) * len(X)
    assert log_likelihood >= cell["loglik"] - 0.1
    assert n_parameters(cell["G"], X.shape[1], cell["model"]) == cell["df"]
    if not cell["prior"]:
        # mclust's BIC is bayesmix's with the opposite sign.
        assert -em.bic(X) >= cell["bic"] - 0.2


def test_the_file_covers_every_model():
    models = {get_structure(cell["model"]).name for cell in FITS}
    assert len(models) == 14
    assert {cell["model"] for cell in FITS if cell["prior"]} == {
        "EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "EEV", "VEV", "VVV"}
    assert np.isfinite([cell["loglik"] for cell in FITS]).all()


def test_components_of_one_row_follow_mclusts_iterates(test_data):
    """MASS's wtloss, EEV with 9 components: mclust's hierarchical start has three
    components of one row each. Their scatters are zero, and mclust gives them the
    features' axes (the singular vectors of a zero row); so does bayesmix, not the axes
    of the rounding left by ``S_k - n_k mu_k mu_k^T``. EM from that start then follows
    mclust 6.0's iterates (``me`` with ``itmax`` 1 to 5) to its fit, -335.1758; with the
    rounding's axes it ended at -338.10."""
    X = test_data("wtloss").to_numpy(dtype=float)
    em = GaussianMixtureEM(9, covariance_type="EEV", init_params="hc", acceleration=None,
                           tol=1e-10, max_iter=1000, reg_covar=1e-9 * X.var(axis=0).min())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em.fit(X)
    history = np.asarray(em.lower_bound_history_) * len(X)
    np.testing.assert_allclose(history[:5], [-348.062098388, -345.902867637, -344.866165615,
                                             -344.277992542, -343.608833509], atol=1e-5)
    assert history[-1] == pytest.approx(-335.17576826, abs=1e-4)
