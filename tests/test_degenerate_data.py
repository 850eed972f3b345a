"""Degenerate and awkward data: each case either fits with finite outputs or is refused.

One table, one row per case and estimator. A row either expects a fit, with or without a
:class:`~bayesmix.DegenerateComponentWarning` (and, where the data itself is flat along
some direction, the warning's advice to drop columns or standardise), after which every
output (``predict_proba``, ``predict``, ``score_samples``, ``score`` and, for EM, the
information criteria) must be finite; or it expects a ``ValueError`` saying what is
wrong and what to do.

EM fits everything, as scikit-learn's ``GaussianMixture`` does (``reg_covar`` keeps every
covariance invertible; no internal rescaling, so ordinary fits stay identical to
scikit-learn's). The Bayesian model refuses data its data-scaled priors cannot describe
(a constant column, column scales 1e16 apart, ``full`` covariances with no more rows than
features) before compiling anything; its fits run ADVI briefly and are ``slow``. Data in
small units fit: the model's free variables are on the unit scale (non-centred means,
log standard deviations), see ``test_posterior_follows_the_data_units`` in
``tests/bayes/test_bayes_estimator.py``.
"""

import warnings

import numpy as np
import pytest

from bayesmix import (
    DegenerateComponentWarning,
    GaussianMixtureBayes,
    GaussianMixtureEM,
    load_old_faithful,
)

rng = np.random.default_rng(0)
BASE = rng.normal(size=(60, 2))

DATA = {
    "duplicated-rows": np.repeat(BASE[:10], 6, axis=0),
    "constant-column": np.column_stack([BASE[:, 0], np.full(60, 3.0)]),
    "collinear-columns": np.column_stack([BASE[:, 0], 2.0 * BASE[:, 0] + 1.0]),
    "n-equals-k": BASE[:2],
    "more-features-than-samples": rng.normal(size=(6, 10)),
    "scales-1e-8-and-1e8": BASE * [1e-8, 1e8],
    "scale-1e-3": BASE * 1e-3,
    "integer-waiting": load_old_faithful()[["waiting"]],
    "single-feature": BASE[:, :1],
    "single-component": BASE,
}
N_COMPONENTS = {"single-component": 1}

#: The degenerate warning's advice when X itself is flat along the collapsed direction.
FLAT_HINT = "drop constant or collinear columns, or standardise X"


def fits(degenerate=False, hint=None):
    """Outcome: the fit succeeds; for EM, warning about degenerate components or not."""
    return {"degenerate": degenerate, "hint": hint}


def refused(match):
    """Outcome: ``fit`` raises ``ValueError`` matching ``match``."""
    return {"error": match}


EM_OUTCOMES = {
    "duplicated-rows": fits(),
    "constant-column": fits(degenerate=True, hint=FLAT_HINT),
    "collinear-columns": fits(degenerate=True, hint=FLAT_HINT),
    "n-equals-k": fits(degenerate=True),
    "more-features-than-samples": fits(degenerate=True),
    "scales-1e-8-and-1e8": fits(degenerate=True, hint=FLAT_HINT),
    "scale-1e-3": fits(degenerate=True, hint=FLAT_HINT),
    "integer-waiting": fits(),
    "single-feature": fits(),
    "single-component": fits(),
}
TOO_FEW_ROWS = r"too few rows for covariance_type='full'.*'diag' or 'spherical'"
BAYES_OUTCOMES = {
    ("duplicated-rows", "full"): fits(),
    ("constant-column", "full"): refused(r"X column 1 is constant \(every value is 3\).*Drop"),
    ("collinear-columns", "full"): fits(),
    ("n-equals-k", "full"): refused(TOO_FEW_ROWS),
    ("n-equals-k", "diag"): fits(),
    ("more-features-than-samples", "full"): refused(TOO_FEW_ROWS),
    ("more-features-than-samples", "diag"): fits(),
    ("scales-1e-8-and-1e8", "full"): refused(r"standard deviations from .*e-09 \(column 0\) "
                                             r"to .*e\+07 \(column 1\).*Standardise X"),
    ("scale-1e-3", "full"): fits(),
    ("integer-waiting", "full"): fits(),
    ("single-feature", "full"): fits(),
    ("single-component", "full"): fits(),
}


def _rows():
    for case, outcome in EM_OUTCOMES.items():
        yield pytest.param("em", case, "full", outcome, id=f"{case}-em")
    for (case, structure), outcome in BAYES_OUTCOMES.items():
        marks = [] if "error" in outcome else [pytest.mark.slow]
        yield pytest.param("bayes", case, structure, outcome, id=f"{case}-bayes-{structure}",
                           marks=marks)


def _fit(estimator, X, n_components, covariance_type):
    if estimator == "em":
        return GaussianMixtureEM(n_components, covariance_type=covariance_type,
                                 random_state=0).fit(X)
    return GaussianMixtureBayes(n_components, covariance_type=covariance_type,
                                random_state=0).fit(X, method="advi", n_iter=200, draws=20)


def _check_outputs(model, X, estimator):
    proba = model.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert ((model.predict(X) >= 0) & (model.predict(X) < model.n_components)).all()
    assert np.isfinite(model.score_samples(X)).all()
    assert np.isfinite(model.score(X))
    if estimator == "em":
        assert np.isfinite([model.bic(X), model.aic(X), model.icl(X)]).all()


@pytest.mark.parametrize(("estimator", "case", "covariance_type", "outcome"), list(_rows()))
def test_degenerate_data(estimator, case, covariance_type, outcome):
    X = DATA[case]
    n_components = N_COMPONENTS.get(case, 2)
    if "error" in outcome:
        with pytest.raises(ValueError, match=outcome["error"]):
            _fit(estimator, X, n_components, covariance_type)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = _fit(estimator, X, n_components, covariance_type)
    degenerate = [str(w.message) for w in caught
                  if issubclass(w.category, DegenerateComponentWarning)]
    if estimator == "em":
        assert bool(degenerate) == outcome["degenerate"], degenerate
        assert bool(model.degenerate_components_) == outcome["degenerate"]
        if outcome["hint"] is not None:
            assert outcome["hint"] in degenerate[0]
    _check_outputs(model, X, estimator)
