"""Shared scoring: EM fits and posteriors compared on one scale.

Every function takes a fitted estimator (:class:`~bayesmix.GaussianMixtureEM`,
:class:`~bayesmix.GaussianMixtureBayes`) or the :class:`arviz.InferenceData` it produces
(the layout of :mod:`bayesmix.results`), so the same code scores a maximum-likelihood
point estimate and a posterior sample:

- :func:`pointwise_log_likelihood` and :func:`lppd` (log pointwise predictive density,
  held out when given new data) apply to both;
- :func:`bic`, :func:`aic` and :func:`icl` are maximum-likelihood criteria; for a
  posterior they are evaluated at the posterior mean, a *plug-in* value;
- :func:`waic` and :func:`loo` need posterior draws and refuse a point-mass EM fit.

An EM estimator scores itself (its ``score_samples`` and ``criteria``, which check new
data's columns and count a noise component and its family's parameters), so these scores
equal its own; a :class:`~bayesmix.uncertainty.BootstrapResult` is scored as its EM fit
(:func:`scored_model`), as :func:`~bayesmix.compare` scores it.

ArviZ and xarray are imported by the functions that use them, so the criteria of an EM
fit (:func:`information_criteria`) need neither. Its length (about 630 lines, half of
them docstrings and examples) is that of one job: every score of both kinds of fit, kept
together so that the two are scored the same way.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from bayesmix._validation import check_array, check_int, validate_data
from bayesmix.covariance import n_parameters, precision_cholesky
from bayesmix.density import FAMILY_PARAMETERS, logsumexp_rows, weighted_log_prob
from bayesmix.exceptions import BayesmixWarning
from bayesmix.results import family_draws, family_of, has_noise, log_likelihood_draws

if TYPE_CHECKING:
    import arviz as az
    import xarray as xr

__all__ = [
    "ParetoKWarning",
    "PredictiveDensity",
    "aic",
    "bic",
    "criteria",
    "criteria_from_totals",
    "icl",
    "inference_data",
    "information_criteria",
    "is_point_mass",
    "point_estimate",
    "point_log_prob",
    "lppd",
    "loo",
    "pointwise_log_likelihood",
    "scored_model",
    "standard_error_of_sum",
    "training_data",
    "waic",
]

class ParetoKWarning(BayesmixWarning):
    """Some observations have a Pareto k above the reliability threshold of PSIS-LOO.

    The threshold is ArviZ's ``good_k``: ``min(1 - 1 / log10(S), 0.7)`` for ``S`` draws
    (Vehtari et al., 2024).

    Examples
    --------
    A far outlier in the training data dominates its own leave-one-out posterior:

    >>> import warnings
    >>> import numpy as np
    >>> from bayesmix.bayes import GaussianMixtureBayes
    >>> from bayesmix.scoring import ParetoKWarning, loo
    >>> X = np.append(np.random.default_rng(0).normal(size=59), 25.0)[:, None]
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     bayes = GaussianMixtureBayes(1, random_state=0).fit(
    ...         X, method="advi", draws=200, n_iter=2000)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     result = loo(bayes)
    >>> [str(w.message) for w in caught if w.category is ParetoKWarning]
    ... # doctest: +ELLIPSIS
    ['1 of 60 observations have Pareto k > 0.57: their PSIS-LOO estimates are unreliable...']
    """


def inference_data(model: Any) -> az.InferenceData:
    """The bayesmix :class:`arviz.InferenceData` of a fitted estimator (or itself).

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.scoring import inference_data
    >>> em = GaussianMixtureEM(2, random_state=0).fit(load_old_faithful())
    >>> inference_data(em).posterior.attrs["inference_method"]
    'em'
    """
    import arviz as az

    if isinstance(model, az.InferenceData):
        idata = model
    elif hasattr(model, "idata_"):
        idata = model.idata_
    elif hasattr(model, "to_inference_data") and hasattr(model, "weights_"):
        idata = model.to_inference_data()
    else:
        raise ValueError(
            f"model must be a fitted GaussianMixtureEM or GaussianMixtureBayes, or an "
            f"arviz.InferenceData made by bayesmix; got {type(model).__name__}. Fit the "
            f"estimator first."
        )
    if "posterior" not in idata.groups() or "weights" not in idata.posterior:
        raise ValueError(
            "This InferenceData was not made by bayesmix: it has no posterior 'weights'. "
            "Pass a bayesmix estimator or its idata_ / to_inference_data()."
        )
    return idata


def is_point_mass(model: Any) -> bool:
    """Whether a fit is a single point (an EM fit: one chain, one draw).

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.scoring import is_point_mass
    >>> is_point_mass(GaussianMixtureEM(2, random_state=0).fit(load_old_faithful()))
    True
    """
    sizes = inference_data(model).posterior.sizes
    return sizes["chain"] * sizes["draw"] == 1


def scored_model(model: Any) -> Any:
    """The model a score evaluates: a bootstrap's EM fit, else ``model`` itself.

    A :class:`~bayesmix.uncertainty.BootstrapResult` stands for the fit it resampled:
    its refits give standard errors, not a posterior to score.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, bootstrap, load_old_faithful
    >>> from bayesmix.scoring import scored_model
    >>> X = load_old_faithful()
    >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
    >>> scored_model(bootstrap(em, X, n_boot=5, random_state=0)) is em
    True
    """
    # Imported here: bayesmix.uncertainty imports the EM estimators, which import this module.
    from bayesmix.uncertainty import BootstrapResult

    return model.em_ if isinstance(model, BootstrapResult) else model


def _scores_itself(model: Any) -> bool:
    """Whether ``model`` is an EM estimator, whose own ``score_samples`` and ``criteria``
    count its noise component and its family's parameters."""
    return hasattr(model, "criteria")


def training_data(model: Any, idata: az.InferenceData | None = None) -> Any:
    """The rows an estimator was fitted on, as it takes them: a DataFrame with its column
    names if it was fitted on one.

    Read from its InferenceData's ``observed_data``; pass ``idata`` when it is at hand,
    so that it is not made again.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.scoring import training_data
    >>> em = GaussianMixtureEM(2, random_state=0).fit(load_old_faithful())
    >>> list(training_data(em).columns), len(training_data(em))
    (['eruptions', 'waiting'], 272)
    """
    observed = (inference_data(model) if idata is None else idata).observed_data["x"]
    return observed.to_pandas() if hasattr(model, "feature_names_in_") else observed.values


def _check_no_noise(idata: az.InferenceData) -> None:
    if has_noise(idata):
        raise ValueError(
            "This InferenceData is of a fit with a noise component, whose region it stores "
            "as a volume only, so its density cannot be evaluated from it: pass the fitted "
            "estimator instead (e.g. GaussianMixtureEM(noise=True)), which scores itself."
        )


def _observed(model: Any, idata: az.InferenceData, X: Any) -> np.ndarray:
    """The training rows, or ``X`` checked as ``model`` checks it: an estimator's column
    names and number of features, an InferenceData's number of features."""
    import arviz as az

    observed = idata.observed_data["x"]
    if X is None:
        return observed.values
    # Rows with NaN are scored on their observed values (bayesmix.density).
    if isinstance(model, az.InferenceData):
        return check_array(X, n_features=observed.sizes["feature"], allow_missing=True)
    return validate_data(model, X, reset=False, allow_missing=True)


def pointwise_log_likelihood(model: Any, X: Any = None) -> xr.DataArray:
    """Log mixture density of every row under every draw, ``(chain, draw, obs)``.

    Parameters
    ----------
    model : fitted estimator, BootstrapResult or InferenceData
        An EM estimator's (or a bootstrap's fit's) values are its ``score_samples``.
    X : array-like of shape (n_obs, n_features), optional
        New data, with the columns of the fit (a DataFrame's names are checked against an
        estimator's); the stored ``log_likelihood`` of the training data when omitted.
        The computation walks over rows in blocks, so memory stays bounded for large ``X``.

    Returns
    -------
    xarray.DataArray with dims ``(chain, draw, obs)`` (one chain and draw for EM).

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.scoring import pointwise_log_likelihood
    >>> X = load_old_faithful()
    >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
    >>> pointwise_log_likelihood(em, X.iloc[:5]).sizes
    Frozen({'chain': 1, 'draw': 1, 'obs': 5})
    """
    import xarray as xr

    model = scored_model(model)
    if X is None:
        return inference_data(model).log_likelihood["x"]
    if _scores_itself(model):  # one chain, one draw, numbered as in its InferenceData
        values = np.asarray(model.score_samples(X), dtype=np.float64)
        return xr.DataArray(values[np.newaxis, np.newaxis], dims=("chain", "draw", "obs"),
                            coords={"chain": [0], "draw": [0],
                                    "obs": pd.RangeIndex(values.shape[0])})
    idata = inference_data(model)
    _check_no_noise(idata)
    X = _observed(model, idata, X)
    post = idata.posterior
    family = family_of(idata)
    values = log_likelihood_draws(X, post["weights"].values, post["means"].values,
                                  post["covariances"].values, family,
                                  family_draws(post, family))
    return xr.DataArray(values, dims=("chain", "draw", "obs"),
                        coords={"chain": post.chain.values, "draw": post.draw.values,
                                # A RangeIndex: an arange of n_obs integers would be copied
                        # twice by xarray, more memory than the result itself.
                        "obs": pd.RangeIndex(X.shape[0])})


@dataclass(frozen=True)
class PredictiveDensity:
    """A log predictive density: total over observations, its standard error, pointwise.

    Attributes
    ----------
    elpd : float
        Sum over observations of the log predictive density.
    se : float
        Standard error of the sum, ``sqrt(n * var(pointwise))``; NaN for a single
        observation (:func:`standard_error_of_sum`).
    pointwise : xarray.DataArray
        Per observation, dim ``obs``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix import GaussianMixtureEM
    >>> from bayesmix.scoring import lppd
    >>> X = np.random.default_rng(0).normal(size=(100, 1))
    >>> density = lppd(GaussianMixtureEM(1).fit(X), X)
    >>> density
    PredictiveDensity(elpd=-138.03, se=5.98, n_obs=100)
    >>> bool(np.isclose(density.elpd, float(density.pointwise.sum())))
    True
    """

    elpd: float
    se: float
    pointwise: xr.DataArray

    def __repr__(self) -> str:
        return (f"PredictiveDensity(elpd={self.elpd:.2f}, se={self.se:.2f}, "
                f"n_obs={self.pointwise.sizes['obs']})")


def lppd(model: Any, X: Any = None) -> PredictiveDensity:
    """Log pointwise predictive density: log-mean-exp of the likelihood over draws.

    On the training data this is the in-sample ``lppd`` of WAIC; on new data ``X`` it is
    the held-out log predictive density, comparable between an EM fit (a single draw)
    and a posterior.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.scoring import lppd
    >>> X = load_old_faithful()
    >>> em = GaussianMixtureEM(3, covariance_type="tied", init_params="hc").fit(X)
    >>> result = lppd(em, X)
    >>> round(result.elpd, 1), result.pointwise.sizes["obs"]
    (-1126.4, 272)
    """
    import xarray as xr

    log_lik = pointwise_log_likelihood(model, X)
    n_draws = log_lik.sizes["chain"] * log_lik.sizes["draw"]
    pointwise = xr.DataArray(
        logsumexp(log_lik.values.reshape(n_draws, -1), axis=0) - np.log(n_draws),
        dims=("obs",), coords={"obs": log_lik.obs.values})
    return PredictiveDensity(float(pointwise.sum()), standard_error_of_sum(pointwise.values),
                             pointwise)


def standard_error_of_sum(pointwise: np.ndarray) -> float:
    """Standard error of a sum over observations, ``sqrt(n * var(pointwise, ddof=1))``.

    NaN for a single observation, whose variance is undefined.

    Examples
    --------
    >>> from bayesmix.scoring import standard_error_of_sum
    >>> standard_error_of_sum([1.0, 3.0]), standard_error_of_sum([1.0])
    (2.0, nan)
    """
    pointwise = np.asarray(pointwise)
    if pointwise.size < 2:
        return np.nan
    return float(np.sqrt(pointwise.size * np.var(pointwise, ddof=1)))


def point_estimate(model: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, means and full covariances: the EM estimate, or the posterior mean.

    The posterior mean of relabelled draws (bayesmix relabels every posterior it makes).

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.scoring import point_estimate
    >>> weights, means, covariances = point_estimate(
    ...     GaussianMixtureEM(2, random_state=0).fit(load_old_faithful()))
    >>> covariances.shape
    (2, 2, 2)
    """
    post = inference_data(model).posterior
    return tuple(post[name].mean(("chain", "draw")).values
                 for name in ("weights", "means", "covariances"))


def point_log_prob(idata: az.InferenceData, X: np.ndarray) -> np.ndarray:
    """``log(weight_k) + log f_k(x_n)`` at the point estimate, (N, K).

    At the EM estimate, or at the posterior means of a posterior; ``f_k`` is the
    density of the fit's component family (its parameters, such as the t's ``dof``,
    also at their posterior means).

    Raises
    ------
    ValueError
        For the InferenceData of a fit with a noise component, which does not store the
        noise density; score the fitted estimator instead.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.scoring import point_log_prob
    >>> X = load_old_faithful()
    >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
    >>> point_log_prob(em.to_inference_data(), X.to_numpy()).shape
    (272, 2)
    """
    _check_no_noise(idata)
    weights, means, covariances = point_estimate(idata)
    family = family_of(idata)
    parameters = {name: value.mean(axis=(0, 1))
                  for name, value in family_draws(idata.posterior, family).items()}
    return weighted_log_prob(X, weights, means, precision_cholesky(covariances, "full"), "full",
                             family, parameters)


def _n_parameters(idata: az.InferenceData) -> int:
    """The Gaussian mixture's free parameters, plus the family's own per component (the
    t's degrees of freedom) unless the fit held them fixed (``attrs["dof_fixed"]``)."""
    post = idata.posterior
    n_components = post.sizes["component"]
    estimated = [name for name in FAMILY_PARAMETERS[family_of(idata)]
                 if not post.attrs.get(f"{name}_fixed", 0)]
    extra = len(estimated) * n_components
    return n_parameters(n_components, post.sizes["feature"],
                        post.attrs["covariance_type"]) + extra


def information_criteria(weighted_log_prob: np.ndarray, n_parameters: int) -> dict[str, float]:
    """Log-likelihood, BIC, AIC and ICL from the joint log probabilities of a fit.

    Parameters
    ----------
    weighted_log_prob : ndarray of shape (n_samples, n_components)
        ``log(weight_k) + log N(x_n | mean_k, cov_k)`` at the point estimate.
    n_parameters : int
        Free parameters of the model.

    Returns
    -------
    dict
        ``log_likelihood``, ``n_parameters``, ``bic`` (``-2 log L + p log n``), ``aic``
        (``-2 log L + 2 p``) and ``icl`` (mclust's ICL in BIC's sign: ``bic + 2 E`` with
        ``E = -sum_n log max_k r_nk`` the entropy of the hard classification). Lower is
        better for the three criteria.

    Raises
    ------
    ValueError
        For ``weighted_log_prob`` not a non-empty 2-D array of real numbers, with NaN or
        ``+inf`` (``-inf`` is a component of weight zero), or ``n_parameters`` not an
        integer ``>= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.scoring import information_criteria
    >>> values = information_criteria(np.log([[0.5, 0.5], [1.0, 1e-300]]), n_parameters=1)
    >>> round(values["icl"] - values["bic"], 4)  # 2 * log 2 for the undecided row
    1.3863
    >>> information_criteria(np.log([0.5, 0.5]), n_parameters=1)
    Traceback (most recent call last):
    ...
    ValueError: weighted_log_prob must be a 2-D array of shape (n_samples, n_components), ...
    """
    weighted_log_prob = _check_weighted_log_prob(weighted_log_prob)
    n_parameters = check_int(n_parameters, "n_parameters", min_value=0)
    log_norm = logsumexp_rows(weighted_log_prob)
    entropy = -np.sum(weighted_log_prob.max(axis=1) - log_norm)
    return criteria_from_totals(log_norm.sum(), entropy, n_parameters,
                                weighted_log_prob.shape[0])


def _check_weighted_log_prob(weighted_log_prob: Any) -> np.ndarray:
    """``weighted_log_prob`` as a float64 array of log probabilities, (N, K)."""
    try:
        values = np.asarray(weighted_log_prob)
    except ValueError:  # ragged rows
        values = np.asarray(weighted_log_prob, dtype=object)
    if values.ndim != 2 or values.size == 0 or values.dtype.kind not in "iuf":
        raise ValueError(
            f"weighted_log_prob must be a 2-D array of shape (n_samples, n_components), "
            f"one row per sample and one column per component, of real numbers; got an "
            f"array of shape {values.shape} and dtype {values.dtype}. Pass "
            f"log(weight_k) + log f_k(x_n) for every sample and component (a single "
            f"sample as weighted_log_prob.reshape(1, -1)).")
    values = values.astype(np.float64, copy=False)
    # The sum is NaN or +inf only when an entry is: this checks without an (N, K) temporary.
    with np.errstate(invalid="ignore", over="ignore"):
        total = values.sum()
    if np.isnan(total) or total == np.inf:
        n_invalid = np.count_nonzero(np.isnan(values) | (values == np.inf))
        raise ValueError(
            f"weighted_log_prob has {n_invalid} entries that are NaN or +inf; each must be "
            f"a log probability: finite, or -inf for a component of weight zero.")
    return values


def criteria_from_totals(log_likelihood: float, entropy: float, n_parameters: int,
                         n_samples: int) -> dict[str, float]:
    """:func:`information_criteria` from the log-likelihood and the entropy already summed.

    ``entropy`` is ``-sum_n log max_k r_nk``, the entropy of the hard classification.

    Examples
    --------
    >>> from bayesmix.scoring import criteria_from_totals
    >>> criteria_from_totals(-10.0, 1.0, n_parameters=2, n_samples=1)["icl"]
    22.0
    """
    log_lik = float(log_likelihood)
    bic_value = float(-2.0 * log_lik + n_parameters * np.log(n_samples))
    return {"log_likelihood": log_lik, "n_parameters": n_parameters, "bic": bic_value,
            "aic": -2.0 * log_lik + 2.0 * n_parameters,
            "icl": bic_value + 2.0 * float(entropy)}


def criteria(model: Any, X: Any = None) -> dict[str, float]:
    """``log_likelihood``, ``n_parameters``, ``bic``, ``aic`` and ``icl`` in one pass.

    An EM fit's own :meth:`~bayesmix.GaussianMixtureEM.criteria` (a noise component
    counted), or at the posterior mean for a posterior (plug-in values).

    Parameters
    ----------
    model : fitted estimator, BootstrapResult or InferenceData
        A bootstrap is scored as its EM fit.
    X : array-like of shape (n_obs, n_features), optional
        Data with the columns of the fit; the training data when omitted.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.scoring import criteria
    >>> sorted(criteria(GaussianMixtureEM(2, random_state=0).fit(load_old_faithful())))
    ['aic', 'bic', 'icl', 'log_likelihood', 'n_parameters']
    """
    model = scored_model(model)
    if _scores_itself(model):
        return model.criteria(training_data(model) if X is None else X)
    idata = inference_data(model)
    return information_criteria(point_log_prob(idata, _observed(model, idata, X)),
                                _n_parameters(idata))


def bic(model: Any, X: Any = None) -> float:
    """Bayesian information criterion, ``-2 log L + p log n`` (lower is better).

    At the EM estimate, or at the posterior mean for a posterior (a plug-in value).

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.scoring import bic
    >>> X = load_old_faithful()
    >>> em = GaussianMixtureEM(3, covariance_type="tied", n_init=5, random_state=0).fit(X)
    >>> bool(abs(bic(em) - em.bic(X)) < 1e-8)
    True
    """
    return criteria(model, X)["bic"]


def aic(model: Any, X: Any = None) -> float:
    """Akaike information criterion, ``-2 log L + 2 p`` (plug-in for a posterior).

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.scoring import aic
    >>> X = load_old_faithful()
    >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
    >>> bool(abs(aic(em) - em.aic(X)) < 1e-8)
    True
    """
    return criteria(model, X)["aic"]


def icl(model: Any, X: Any = None) -> float:
    """Integrated completed likelihood in BIC's sign (plug-in for a posterior).

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.scoring import icl
    >>> X = load_old_faithful()
    >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
    >>> bool(abs(icl(em) - em.icl(X)) < 1e-8)
    True
    """
    return criteria(model, X)["icl"]


def _require_draws(idata: az.InferenceData, criterion: str) -> None:
    if is_point_mass(idata):
        raise ValueError(
            f"{criterion} needs posterior draws, but this is a point-mass fit "
            f"(inference_method={idata.posterior.attrs.get('inference_method')!r}, 1 chain "
            f"x 1 draw), for which it is undefined. Use bic/aic/icl or a held-out lppd for "
            f"EM fits, or fit GaussianMixtureBayes."
        )


def waic(model: Any, **kwargs: Any) -> az.ELPDData:
    """Widely applicable information criterion (ArviZ), on the log scale.

    Raises
    ------
    ValueError
        For a point-mass EM fit.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.scoring import waic
    >>> waic(GaussianMixtureEM(2, random_state=0).fit(load_old_faithful()))
    Traceback (most recent call last):
    ...
    ValueError: WAIC needs posterior draws, but this is a point-mass fit ...
    """
    import arviz as az

    idata = inference_data(scored_model(model))
    _require_draws(idata, "WAIC")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="For one or more samples the posterior")
        return az.waic(idata, var_name="x", **kwargs)


def loo(model: Any, **kwargs: Any) -> az.ELPDData:
    """PSIS leave-one-out cross-validation (ArviZ), with Pareto-k diagnostics.

    Warns
    -----
    ParetoKWarning
        Naming how many observations have a Pareto k above ArviZ's ``good_k`` (0.7 for
        2,200 draws or more).

    Raises
    ------
    ValueError
        For a point-mass EM fit.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.scoring import loo
    >>> loo(GaussianMixtureEM(2, random_state=0).fit(load_old_faithful()))
    Traceback (most recent call last):
    ...
    ValueError: LOO needs posterior draws, but this is a point-mass fit ...
    """
    import arviz as az

    idata = inference_data(scored_model(model))
    _require_draws(idata, "LOO")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        result = az.loo(idata, var_name="x", pointwise=True, **kwargs)
    n_bad = int((result.pareto_k.values > result.good_k).sum())
    if n_bad:
        warnings.warn(
            f"{n_bad} of {result.pareto_k.size} observations have Pareto k > "
            f"{result.good_k:.2f}: their PSIS-LOO estimates are unreliable. Draw more "
            f"samples, or compare models on held-out data with lppd(model, X_test).",
            ParetoKWarning,
            stacklevel=2,
        )
    return result
