"""``compare``: one table for EM fits and posteriors, side by side.

Each row is a named model; each column a score from :mod:`bayesmix.scoring` or a
diagnostic. A score that does not apply to a model (WAIC of a point-mass EM fit, R-hat of
a single chain) is ``NaN``, and the table's footnotes (``table.attrs["footnotes"]``) say
why: never a made-up number. An EM fit's bootstrap (:func:`bayesmix.bootstrap`), given in
place of the fit, adds its standard errors beside the posteriors' standard deviations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from bayesmix._validation import check_array, short_repr
from bayesmix.results import family_of, has_noise
from bayesmix.scoring import (
    point_log_prob,
    criteria,
    inference_data,
    is_point_mass,
    lppd,
    loo,
    scored_model,
    standard_error_of_sum,
    training_data,
    waic,
)
from bayesmix.uncertainty import BootstrapResult, standard_deviations

__all__ = ["compare"]

COLUMNS = [
    "method", "n_components", "covariance_type", "family", "noise", "prior", "n_parameters",
    "p_waic",
    "p_loo",
    "log_likelihood", "bic", "aic", "icl", "elpd_waic", "se_waic", "elpd_loo", "se_loo",
    "d_loo", "dse_loo", "lpd_test", "se_lpd_test", "d_lpd_test", "dse_lpd_test", "ari",
    "sd_weights", "sd_means", "sd_covariances", "fit_time", "converged", "divergences",
    "max_rhat", "min_ess_bulk", "max_pareto_k",
]

FOOTNOTES = {
    "plug-in": "log_likelihood, bic, aic and icl of a posterior are evaluated at the "
               "posterior mean (plug-in values); p_waic and p_loo are its effective numbers "
               "of parameters.",
    "point-mass": "p_waic, p_loo, elpd_waic, elpd_loo and max_pareto_k need posterior draws: "
                  "NaN for point-mass EM fits.",
    "differences": "d_* is the difference to the best model of that column (0 for the best) "
                   "and dse_* the standard error of the paired difference, as az.compare.",
    "standard-errors": "se_* and dse_* are standard errors of sums over observations, "
                       "sqrt(n var): NaN for an X_test of one row, whose variance is "
                       "undefined.",
    "spread": "sd_weights, sd_means and sd_covariances: the posterior standard deviations of "
              "the weights, means and covariances (for an EM fit given as its bootstrap, "
              "bayesmix.bootstrap(em, X), the bootstrap standard errors; NaN for an EM fit "
              "alone), averaged over the components and the covariances' lower triangles, "
              "means and covariances in units of the data's standard deviations.",
    "diagnostics": "divergences, max_rhat and min_ess_bulk are NUTS diagnostics (NaN for EM "
                   "and VI); converged is EM's or VI's convergence flag (NaN for NUTS).",
    "prior": "prior is an EM fit's conjugate prior: 'none' for maximum likelihood, or the "
             "prior of a MAP-EM fit ('mclust default', or a ConjugatePrior's values), "
             "whose log_likelihood is at the posterior mode and whose criteria are "
             "mclust's under a prior; NaN for a posterior, whose priors are its model's.",
    "family": "family is the components' distribution (gaussian, student_t); noise whether "
              "the mixture has a uniform noise component. Criteria count the degrees of "
              "freedom (when estimated) and, for an EM fit with noise, the noise component "
              "as its bic() does.",
}



def _diagnostics(model: Any, idata: az.InferenceData) -> dict[str, float]:
    """The fit time and the convergence columns its inference method fills (NaN else)."""
    from bayesmix.bayes.backends import inference_method_of

    row = {"fit_time": float(idata.posterior.attrs.get("fit_time", np.nan)),
           "converged": np.nan, "divergences": np.nan, "max_rhat": np.nan,
           "min_ess_bulk": np.nan}
    row.update(inference_method_of(idata).compare_columns(
        idata, getattr(model, "diagnostics_", None)))
    return row


def _spread(idata: az.InferenceData) -> dict[str, float]:
    """The ``sd_*`` columns: standard deviations over the draws, averaged (see FOOTNOTES)."""
    sd = standard_deviations(idata)
    scale = idata.observed_data["x"].std("obs").values
    means = sd["means"].transpose("component", "feature").values / scale
    covariances = sd["covariances"].transpose(
        "component", "feature", "feature_bis").values / np.outer(scale, scale)
    rows, columns = np.tril_indices(scale.shape[0])
    return {"sd_weights": float(sd["weights"].mean()), "sd_means": float(means.mean()),
            "sd_covariances": float(covariances[:, rows, columns].mean())}


def _row(model: Any, X_test: Any, y_true: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A model's row of the table, and its pointwise values for the differences.

    A bootstrap stands for its EM fit (:func:`~bayesmix.scoring.scored_model`), which is
    scored; its draws give the ``sd_*`` columns, as a posterior's do.
    """
    draws = model.idata_ if isinstance(model, BootstrapResult) else None
    model = scored_model(model)
    idata = inference_data(model)
    attrs = idata.posterior.attrs
    point_mass = is_point_mass(idata)
    row = {"method": attrs.get("inference_method"), "n_components": attrs.get("n_components"),
           "covariance_type": attrs.get("covariance_type"), "family": family_of(idata),
           "noise": has_noise(idata),
           "prior": attrs.get("prior", "none") if point_mass else np.nan,
           **criteria(model, training_data(model, idata))}
    pointwise = {}
    if not point_mass:
        waic_result, loo_result = waic(idata), loo(idata)
        row.update(p_waic=waic_result.p_waic, elpd_waic=waic_result.elpd_waic,
                   se_waic=waic_result.se, p_loo=loo_result.p_loo,
                   elpd_loo=loo_result.elpd_loo, se_loo=loo_result.se,
                   max_pareto_k=float(loo_result.pareto_k.max()))
        pointwise["loo"] = loo_result.loo_i.values
        draws = idata
    if draws is not None:
        row.update(_spread(draws))
    if X_test is not None:
        held_out = lppd(model, X_test)
        row.update(lpd_test=held_out.elpd, se_lpd_test=held_out.se)
        pointwise["lpd_test"] = held_out.pointwise.values
        if y_true is not None:
            labels = (model.predict(X_test) if hasattr(model, "predict")
                      else point_log_prob(idata, np.asarray(X_test, float)).argmax(axis=1))
            row["ari"] = adjusted_rand_score(y_true, labels)
    row.update(_diagnostics(model, idata))
    return row, pointwise


def _differences(table: pd.DataFrame, pointwise: Mapping[str, Mapping[str, np.ndarray]],
                 column: str, key: str) -> None:
    """Fill ``d_<key>`` and ``dse_<key>`` relative to the best (highest) ``column``."""
    scored = [name for name in table.index if key in pointwise[name]]
    if not scored:
        return
    best = table.loc[scored, column].idxmax()
    for name in scored:
        diff = pointwise[best][key] - pointwise[name][key]
        table.loc[name, f"d_{key}"] = float(diff.sum())
        table.loc[name, f"dse_{key}"] = standard_error_of_sum(diff)


def _check_labels(y_true: Any, X_test: Any) -> np.ndarray:
    """``y_true`` as a 1-D array of labels, one per row of ``X_test``, none missing."""
    if X_test is None:
        raise ValueError("y_true labels X_test: pass X_test together with y_true.")
    n_rows = check_array(X_test, name="X_test", allow_missing=True).shape[0]
    fix = f"Pass 1-D labels, one per row of X_test ({n_rows}), with no missing values."
    try:
        labels = np.asarray(y_true)
    except ValueError:  # rows of different lengths
        raise ValueError(f"y_true must be 1-D labels, got rows of different lengths. {fix}"
                         ) from None
    if labels.ndim != 1:
        got = (f"the scalar {short_repr(y_true)}" if labels.ndim == 0
               else f"an array of shape {labels.shape}")
        raise ValueError(f"y_true must be 1-D labels, got {got}. {fix}")
    if labels.size != n_rows:
        raise ValueError(
            f"y_true has {labels.size} labels but X_test has {n_rows} rows; pass one label "
            f"per row of X_test.")
    missing = np.flatnonzero(pd.isna(labels))
    if missing.size:
        raise ValueError(
            f"y_true has {missing.size} missing label(s) (NaN or None), at rows "
            f"{missing[:10].tolist()}. {fix}")
    return labels


def compare(models: Mapping[str, Any], X_test: Any = None, y_true: Any = None
            ) -> pd.DataFrame:
    """Compare fitted models (EM, NUTS, ADVI, ... in any mix) in one table.

    Parameters
    ----------
    models : mapping of str to fitted estimator, BootstrapResult or InferenceData
        Names become the table's index. A :class:`~bayesmix.uncertainty.BootstrapResult`
        (:func:`bayesmix.bootstrap`) stands for its EM fit, scored as the fit, with the
        bootstrap standard errors in the ``sd_*`` columns.
    X_test : array-like of shape (n_test, n_features), optional
        Held-out data, with the columns of the fits (a DataFrame's names are checked
        against an estimator's): adds the held-out log predictive density ``lpd_test``
        with its standard error (NaN for a single row), and differences to the best
        model.
    y_true : array-like of shape (n_test,), optional
        True labels of ``X_test``, none missing: adds the adjusted Rand index of the
        predictions.

    Returns
    -------
    pandas.DataFrame
        One row per model, the columns of :data:`COLUMNS`; NaN where a score does not
        apply, explained in ``attrs["footnotes"]`` (a dict), as :func:`arviz.compare`
        returns a DataFrame.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, compare, load_old_faithful
    >>> X = load_old_faithful()
    >>> fits = {f"EM K={k}": GaussianMixtureEM(k, covariance_type="tied",
    ...                                        init_params="hc").fit(X) for k in (2, 3)}
    >>> table = compare(fits, X_test=X)
    >>> table[["n_components", "bic", "d_lpd_test"]].round(1)
            n_components     bic  d_lpd_test
    EM K=2             2  2325.2        13.8
    EM K=3             3  2314.5         0.0

    The footnotes say why the posterior-only columns of an EM fit are NaN:

    >>> bool(table["elpd_loo"].isna().all())
    True
    >>> print(table.attrs["footnotes"]["point-mass"])  # doctest: +NORMALIZE_WHITESPACE
    p_waic, p_loo, elpd_waic, elpd_loo and max_pareto_k need posterior draws: NaN for
    point-mass EM fits.

    An EM fit's bootstrap in place of the fit adds its standard errors:

    >>> from bayesmix import bootstrap
    >>> resampled = bootstrap(fits["EM K=3"], X, n_boot=100, random_state=0)
    >>> compare({"EM K=3": resampled})[["bic", "sd_weights", "sd_means"]].round(2)
                bic  sd_weights  sd_means
    EM K=3  2314.52        0.05      0.08
    """
    if not isinstance(models, Mapping) or not models:
        raise ValueError(
            f"models must be a non-empty mapping of names to fitted models, e.g. "
            f"{{'EM': em, 'NUTS': bayes}}; got {type(models).__name__}."
        )
    if y_true is not None:
        y_true = _check_labels(y_true, X_test)
    rows, pointwise = {}, {}
    for name, model in models.items():
        rows[name], pointwise[name] = _row(model, X_test, y_true)
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=COLUMNS)
    _differences(table, pointwise, "elpd_loo", "loo")
    _differences(table, pointwise, "lpd_test", "lpd_test")
    table = table.astype({c: float for c in COLUMNS if c not in
                          ("method", "n_components", "covariance_type", "family", "noise",
                           "prior", "n_parameters")})
    table.attrs["footnotes"] = dict(FOOTNOTES)
    return table
