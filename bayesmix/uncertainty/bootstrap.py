"""Bootstrap uncertainty of an EM fit, as R mclust's ``MclustBootstrap`` computes it.

:func:`bootstrap` refits a fitted :class:`~bayesmix.GaussianMixtureEM` to ``n_boot``
resampled data sets and returns the refits as draws in the InferenceData layout of a
posterior (:mod:`bayesmix.results`; one chain, one draw per resample), so that ArviZ's
summaries, bayesmix's plots and :func:`~bayesmix.compare` read them as they read
posterior draws. The three kinds are mclust's:

``"nonparametric"``
    Rows drawn with replacement (a multinomial count per row, given to EM as row weights
    without copying the data); EM starts from the original fit's responsibilities of the
    drawn rows.
``"weighted"``
    The weighted likelihood bootstrap (Newton and Raftery 1994): every row weighted by
    ``n`` times a flat Dirichlet draw; EM starts from the original responsibilities.
``"parametric"``
    ``n`` rows simulated from the fitted mixture; EM starts from their responsibilities
    under the fitted parameters.

Each refit fits the original fit's model, its conjugate prior included (a MAP fit is
refitted by MAP-EM), so the refits centre on the fit; a fit that EM on ``X`` would move
(one made with ``sample_weight``, which the estimator does not keep, or to other rows)
is warned of. Starting every refit from the original fit keeps its labels, and any
residual switch is undone by matching each refit to the original fit
(:func:`bayesmix.relabel.relabel`). A refit that fails (a degenerate component) is
replaced by a new resample, as mclust does. Its length (about 520 lines, half of them
docstrings and examples) is that of the three kinds, the checks of what can be
resampled, and the result's summaries.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesmix._validation import (
    check_fitted,
    check_int,
    check_option,
    check_real,
    validate_data,
)
from bayesmix.covariance import to_full
from bayesmix.density import responsibilities
from bayesmix.em.estimator import GaussianMixtureEM
from bayesmix.em.sources import InMemorySource
from bayesmix.exceptions import BayesmixWarning, ConvergenceWarning
from bayesmix.uncertainty.refits import (
    Refit,
    RefitModel,
    check_n_jobs,
    parameters_of,
    run_replicates,
    simulate,
)

if TYPE_CHECKING:
    import arviz as az
    import xarray as xr

__all__ = ["BOOTSTRAP_KINDS", "BootstrapResult", "bootstrap", "standard_deviations"]

#: The parameters whose spread a bootstrap (or a posterior) reports.
PARAMETERS = ("weights", "means", "covariances")


@dataclass(frozen=True)
class _Resampling:
    """One kind of resample of ``X`` and the refit that follows (picklable for joblib)."""

    kind: str
    model: RefitModel
    X: np.ndarray
    estimator: Any
    responsibilities: np.ndarray

    def __call__(self, rng: np.random.RandomState) -> Refit | None:
        source, resp = _RESAMPLES[self.kind](self, rng)
        return self.model.fit(source, self.model.start_from_responsibilities(resp))


def _nonparametric(resampling: _Resampling, rng: np.random.RandomState
                   ) -> tuple[InMemorySource, np.ndarray]:
    """``n`` rows drawn with replacement: how often each row was drawn is its weight."""
    n_samples = resampling.X.shape[0]
    counts = np.bincount(rng.randint(n_samples, size=n_samples), minlength=n_samples)
    return InMemorySource(resampling.X, counts.astype(np.float64)), resampling.responsibilities


def _weighted(resampling: _Resampling, rng: np.random.RandomState
              ) -> tuple[InMemorySource, np.ndarray]:
    """Every row weighted by ``n`` times a flat Dirichlet draw (mean weight 1)."""
    n_samples = resampling.X.shape[0]
    weights = rng.dirichlet(np.ones(n_samples)) * n_samples
    return InMemorySource(resampling.X, weights), resampling.responsibilities


def _parametric(resampling: _Resampling, rng: np.random.RandomState
                ) -> tuple[InMemorySource, np.ndarray]:
    """``n`` rows simulated from the fit, with their responsibilities under it."""
    estimator = resampling.estimator
    X = simulate(estimator, resampling.X.shape[0], rng)
    resp = responsibilities(X, estimator.weights_, estimator.means_,
                            estimator.precisions_cholesky_, estimator.covariance_type)
    return InMemorySource(X), resp


_RESAMPLES: dict[str, Callable[[_Resampling, np.random.RandomState],
                               tuple[InMemorySource, np.ndarray]]] = {
    "nonparametric": _nonparametric, "weighted": _weighted, "parametric": _parametric}

#: The kinds of :func:`bootstrap`, and the names R mclust gives them.
BOOTSTRAP_KINDS = {"nonparametric": "bs", "weighted": "wlbs", "parametric": "pb"}


def standard_deviations(idata: az.InferenceData) -> xr.Dataset:
    """Standard deviation of the weights, means and covariances over the draws.

    For bootstrap draws, the bootstrap standard errors; for a posterior, the posterior
    standard deviations (both with ``ddof=1``, as R's ``sd``).

    Parameters
    ----------
    idata : arviz.InferenceData
        In the layout of :mod:`bayesmix.results`, with relabelled draws.

    Returns
    -------
    xarray.Dataset
        ``weights (component)``, ``means (component, feature)``, ``covariances
        (component, feature, feature_bis)``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.results import build_inference_data
    >>> from bayesmix.uncertainty import standard_deviations
    >>> X = np.array([[0.0], [1.0]])
    >>> idata = build_inference_data(
    ...     X=X, weights=np.ones((1, 2, 1)), means=np.array([[[[0.0]], [[2.0]]]]),
    ...     covariances=np.ones((1, 2, 1, 1, 1)), covariance_type="full",
    ...     inference_method="bootstrap")
    >>> float(standard_deviations(idata)["means"].squeeze())
    1.4142135623730951
    """
    posterior = idata.posterior
    if posterior.sizes["chain"] * posterior.sizes["draw"] < 2:
        raise ValueError(
            "A standard deviation needs at least two draws; this fit has one (an EM point "
            "estimate). Pass a posterior or bayesmix.bootstrap(estimator, X)."
        )
    return posterior[list(PARAMETERS)].std(("chain", "draw"), ddof=1)


class BootstrapResult:
    """The refits of a bootstrap, as draws, with their standard errors and intervals.

    Made by :func:`bootstrap`. It is read like a fitted posterior:
    :func:`~bayesmix.plotting.plot_posterior_components` draws the refits' ellipses
    under the original fit's, :func:`~bayesmix.compare` puts its standard errors beside
    the posterior standard deviations, and ``arviz.summary(result.idata_)`` applies.

    Attributes
    ----------
    idata_ : arviz.InferenceData
        ``posterior`` (one chain, one draw per refit, relabelled to the original fit),
        ``log_likelihood`` (of the original data under each refit), ``observed_data`` and
        ``sample_stats`` (``converged``, ``n_iter`` and ``log_likelihood`` of each
        refit on its own resample, ``label_permutation``); attrs
        ``inference_method="bootstrap"``, ``bootstrap_kind``, ``n_failed``.
    em_ : GaussianMixtureEM
        The original fit (the estimator given to :func:`bootstrap`).
    kind : str
    n_boot : int
    n_failed_ : int
        Resamples whose refit failed and was replaced.
    fit_time_ : float
        Seconds spent resampling and refitting.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, bootstrap, load_old_faithful
    >>> X = load_old_faithful()
    >>> em = GaussianMixtureEM(2, covariance_type="tied", random_state=0).fit(X)
    >>> result = bootstrap(em, X, n_boot=50, random_state=0)
    >>> result
    BootstrapResult(kind='nonparametric', n_boot=50, n_components=2, covariance_type='tied')
    >>> result.idata_.posterior.sizes["draw"]
    50
    """

    def __init__(self, idata: az.InferenceData, estimator: Any, kind: str, n_failed: int,
                 fit_time: float) -> None:
        self.idata_ = idata
        self.em_ = estimator
        self.kind = kind
        self.n_boot = int(idata.posterior.sizes["draw"])
        self.n_failed_ = int(n_failed)
        self.fit_time_ = float(fit_time)

    def __repr__(self) -> str:
        return (f"BootstrapResult(kind={self.kind!r}, n_boot={self.n_boot}, n_components="
                f"{self.em_.n_components}, covariance_type={self.em_.covariance_type!r})")

    def standard_errors(self) -> xr.Dataset:
        """Bootstrap standard errors of the weights, means and (full) covariances.

        The standard deviation of the refits' estimates (``ddof=1``, as mclust's
        ``summary(..., what = "se")``).

        Returns
        -------
        xarray.Dataset
            ``weights (component)``, ``means (component, feature)``, ``covariances
            (component, feature, feature_bis)``, with the data's column names as
            ``feature`` coords.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, bootstrap, load_old_faithful
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(2, covariance_type="tied", random_state=0).fit(X)
        >>> se = bootstrap(em, X, n_boot=100, random_state=0).standard_errors()
        >>> se["means"].dims, se["means"].sel(feature="waiting").values.round(1)
        (('component', 'feature'), array([0.6, 0.4]))
        """
        return standard_deviations(self.idata_)

    def confidence_intervals(self, level: float = 0.95) -> xr.Dataset:
        """Percentile intervals of the weights, means and covariances.

        The ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the refits'
        estimates, as mclust's ``summary(..., what = "ci")`` (linear interpolation,
        R's default quantile).

        Parameters
        ----------
        level : float, default=0.95
            Confidence level, strictly between 0 and 1.

        Returns
        -------
        xarray.Dataset
            The parameters' dims plus ``bound`` (coords ``"lower"``, ``"upper"``);
            ``attrs["level"]``.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, bootstrap, load_old_faithful
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(2, covariance_type="tied", random_state=0).fit(X)
        >>> ci = bootstrap(em, X, n_boot=100, random_state=0).confidence_intervals(0.9)
        >>> ci["weights"].dims, ci["weights"].sel(bound="lower").values < em.weights_
        (('bound', 'component'), array([ True,  True]))
        >>> bootstrap(em, X, n_boot=2, random_state=0).confidence_intervals(1.0)
        Traceback (most recent call last):
        ...
        ValueError: level must be strictly between 0 and 1 (e.g. 0.95 for 95% intervals), got 1.0.
        """
        level = check_level(level)
        probabilities = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
        posterior = self.idata_.posterior[list(PARAMETERS)]
        intervals = posterior.quantile(probabilities, dim=("chain", "draw"))
        intervals = intervals.rename(quantile="bound").assign_coords(bound=["lower", "upper"])
        intervals.attrs = {"level": level, "kind": self.kind}
        return intervals

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """One row per parameter: the estimate, the bootstrap mean, SE and interval.

        Parameters
        ----------
        level : float, default=0.95
            Level of the percentile interval.

        Returns
        -------
        pandas.DataFrame
            Indexed like :func:`arviz.summary` (``"weights[0]"``, ``"means[0,
            waiting]"``, ...); columns ``estimate`` (the original fit), ``mean``, ``se``,
            ``lower``, ``upper``. The covariances list each matrix's lower triangle.

        Examples
        --------
        >>> from bayesmix import GaussianMixtureEM, bootstrap, load_old_faithful
        >>> X = load_old_faithful()
        >>> em = GaussianMixtureEM(2, covariance_type="tied", random_state=0).fit(X)
        >>> table = bootstrap(em, X, n_boot=100, random_state=0).summary()
        >>> list(table.columns), table.index[0], len(table)
        (['estimate', 'mean', 'se', 'lower', 'upper'], 'weights[0]', 12)
        """
        intervals = self.confidence_intervals(level)
        posterior = self.idata_.posterior
        K, D = self.em_.means_.shape
        estimates = {"weights": self.em_.weights_, "means": self.em_.means_,
                     "covariances": to_full(self.em_.covariances_, self.em_.covariance_type,
                                            K, D)}
        columns = {"estimate": estimates,
                   "mean": posterior[list(PARAMETERS)].mean(("chain", "draw")),
                   "se": self.standard_errors(),
                   "lower": intervals.sel(bound="lower"),
                   "upper": intervals.sel(bound="upper")}
        names = list(posterior.feature.values)
        rows = [(f"weights[{k}]", ("weights", (k,))) for k in range(K)]
        rows += [(f"means[{k}, {names[d]}]", ("means", (k, d)))
                 for k in range(K) for d in range(D)]
        rows += [(f"covariances[{k}, {names[i]}, {names[j]}]", ("covariances", (k, i, j)))
                 for k in range(K) for i in range(D) for j in range(i + 1)]
        values = {column: [np.asarray(source[name])[index] for _, (name, index) in rows]
                  for column, source in columns.items()}
        return pd.DataFrame(values, index=[label for label, _ in rows])


def check_level(level: Any) -> float:
    """A confidence level strictly between 0 and 1.

    Examples
    --------
    >>> from bayesmix.uncertainty.bootstrap import check_level
    >>> check_level(0.9)
    0.9
    """
    value = check_real(level, "level")
    if not 0.0 < value < 1.0:
        raise ValueError(
            f"level must be strictly between 0 and 1 (e.g. 0.95 for 95% intervals), got "
            f"{value!r}."
        )
    return value


def _check_estimator(estimator: Any) -> None:
    """Refuse what :func:`bootstrap` cannot refit: anything but a fitted Gaussian mixture
    without a noise component."""
    if not isinstance(estimator, GaussianMixtureEM):
        raise TypeError(
            f"estimator must be a fitted GaussianMixtureEM, got {type(estimator).__name__}. "
            f"bootstrap refits Gaussian components only: a posterior "
            f"(GaussianMixtureBayes) has its own draws, and a t mixture's "
            f"(StudentMixtureEM) degrees of freedom are not refitted. Bootstrap a "
            f"GaussianMixtureEM fit of the same data."
        )
    check_fitted(estimator)
    if hasattr(estimator, "noise_weight_"):
        raise ValueError(
            "estimator was fitted with noise=True, and bootstrap does not refit a noise "
            "component. Bootstrap a fit without one: GaussianMixtureEM(noise=False) on X, "
            "or on the rows this fit does not label noise (estimator.predict(X) != -1)."
        )


def _check_fit_of(estimator: Any, X: np.ndarray, model: RefitModel) -> None:
    """Warn of an estimator that is not a converged fit of the unweighted rows ``X``.

    The refits centre where EM on ``X`` converges, so the estimate should be there: EM
    resumed from it on ``X`` should stop at once by the estimator's own ``tol``. A fit
    with ``sample_weight`` (which the estimator does not keep), to other rows, under
    settings changed since, or stopped short of convergence fails this where its next
    EM step on ``X`` raises the mean log-likelihood by more than ``tol`` (so do about 1 %
    of converged fits, where EM had slowed on a plateau: a warning, not a refusal).
    """
    gain = model.step_gain(InMemorySource(X), parameters_of(estimator))
    if gain > estimator.tol:
        warnings.warn(
            f"estimator is not a converged fit of X: one EM step on X from its parameters "
            f"raises the mean log-likelihood by {gain:.3g}, more than its tol="
            f"{estimator.tol!r}, so the refits centre elsewhere and the intervals may not "
            f"contain the estimate. Was it fitted with sample_weight (bootstrap resamples "
            f"the rows of X unweighted), to other rows or under settings changed since? "
            f"Else EM stopped short (converged_={estimator.converged_}): refit it with a "
            f"tight tol such as 1e-8 before bootstrapping.",
            BayesmixWarning, stacklevel=3)


def _inference_data(refits: list[Refit], estimator: Any, X: np.ndarray,
                    attrs: dict[str, Any]) -> az.InferenceData:
    """The refits as one chain of draws, relabelled to the original fit."""
    from bayesmix.relabel import relabel
    from bayesmix.results import build_inference_data

    K, D = estimator.means_.shape
    covariance_type = estimator.covariance_type
    chain = {name: np.stack([getattr(refit, name) for refit in refits])[np.newaxis]
             for name in ("weights", "means", "covariances", "converged", "n_iter",
                          "log_likelihood")}
    names = getattr(estimator, "feature_names_in_", None)
    idata = build_inference_data(
        X=X, weights=chain["weights"], means=chain["means"],
        covariances=to_full(chain["covariances"], covariance_type, K, D),
        covariance_type=covariance_type, inference_method="bootstrap",
        feature_names=None if names is None else list(names),
        sample_stats={name: (chain[name], ("chain", "draw"))
                      for name in ("converged", "n_iter", "log_likelihood")},
        attrs=attrs)
    reference = to_full(estimator.covariances_, covariance_type, K, D)
    return relabel(idata, estimator.means_, reference)


def bootstrap(
    estimator: Any,
    X: Any,
    n_boot: int = 999,
    kind: str = "nonparametric",
    *,
    random_state: Any = None,
    tol: float = 1e-8,
    max_iter: int = 1000,
    n_jobs: int | None = None,
) -> BootstrapResult:
    """Bootstrap a fitted EM mixture: its estimates refitted to ``n_boot`` resamples.

    R mclust's ``MclustBootstrap`` (types ``"bs"``, ``"wlbs"``, ``"pb"``): each
    resample is refitted by EM started from the original fit (see the module
    docstring for the three kinds), and the refits are the draws of the returned
    :class:`BootstrapResult`, relabelled to the original fit.

    Parameters
    ----------
    estimator : GaussianMixtureEM
        A fitted estimator, without a noise component; its structure, number of
        components, ``reg_covar`` and ``prior`` are refitted (under a prior, the values
        it leaves to the data are filled in from each resample, as ``fit`` fills them
        in from ``X``).
    X : array-like or DataFrame of shape (n_samples, n_features)
        The data ``estimator`` was fitted on, without ``sample_weight``: the rows are
        resampled with equal weights (the estimator does not keep a fit's weights).
        A fit that is not a converged fit of these rows (one made with
        ``sample_weight``, to other rows, or stopped short of convergence) is warned of
        where one EM step on ``X`` raises its mean log-likelihood by more than its
        ``tol``; a fit with a loose ``tol`` and mild weights can pass unnoticed.
    n_boot : int, default=999
        Number of resamples (refits), at least 2.
    kind : {"nonparametric", "weighted", "parametric"}, default="nonparametric"
        How the data are resampled.
    random_state : int, RandomState instance or None, default=None
        Seeds the resamples; the same seed gives the same draws whatever ``n_jobs``.
    tol : float, default=1e-8
        Convergence threshold of each refit on the change of its mean log-likelihood
        per row. The refits are SQUAREM-accelerated and run to convergence: a looser
        threshold stops them near their start, the original fit, and understates the
        spread (mclust's default, a relative change of 1e-5, gives standard errors up to
        15% smaller on Old Faithful than converged refits do, in R as here).
    max_iter : int, default=1000
        EM iterations per refit.
    n_jobs : int, optional
        Worker processes for the refits (joblib's convention: ``None`` or 1, this
        process only; -1, every core; not 0). A refit of a small model takes
        milliseconds, so processes pay only for large data or many components.

    Returns
    -------
    BootstrapResult

    Raises
    ------
    TypeError
        When ``estimator`` is not a GaussianMixtureEM (a StudentMixtureEM included).
    NotFittedError
        When it is not fitted.
    ValueError
        For a fit with a noise component; a bad ``n_boot``, ``kind``, ``tol``,
        ``max_iter`` or ``n_jobs``; data that do not match the fit; or a model whose
        refits keep failing.

    Warns
    -----
    BayesmixWarning
        When ``estimator`` is not a converged fit of ``X`` (see ``X``).
    ConvergenceWarning
        When some refits stopped at ``max_iter``.

    See Also
    --------
    bootstrap_lrt : the bootstrap likelihood-ratio test of the number of components.

    Examples
    --------
    Standard errors of the Old Faithful model (mclust's ``EEE`` with 3 components):

    >>> from bayesmix import GaussianMixtureEM, bootstrap, load_old_faithful
    >>> X = load_old_faithful()
    >>> em = GaussianMixtureEM(3, covariance_type="tied", n_init=5, tol=1e-8,
    ...                        random_state=0).fit(X)
    >>> result = bootstrap(em, X, n_boot=200, random_state=0)
    >>> result.standard_errors()["weights"].values.round(2)
    array([0.03, 0.06, 0.06])
    >>> bootstrap(em, X, kind="jackknife")
    Traceback (most recent call last):
    ...
    ValueError: kind must be one of 'nonparametric', 'weighted', 'parametric', got 'jackknife'.
    """
    start_time = time.perf_counter()
    _check_estimator(estimator)
    n_boot = check_int(n_boot, "n_boot", min_value=2)
    kind = check_option(kind, "kind", tuple(BOOTSTRAP_KINDS))
    tol = check_real(tol, "tol", min_value=0.0)
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    n_jobs = check_n_jobs(n_jobs)
    X = validate_data(estimator, X, reset=False, min_samples=estimator.n_components)
    model = RefitModel.like(estimator, tol, max_iter)
    _check_fit_of(estimator, X, model)
    resp = responsibilities(X, estimator.weights_, estimator.means_,
                            estimator.precisions_cholesky_, estimator.covariance_type)
    resampling = _Resampling(kind, model, X, estimator, resp)
    refits, n_failed = run_replicates(resampling, n_boot, random_state, n_jobs)
    n_unconverged = sum(not refit.converged for refit in refits)
    if n_unconverged:
        warnings.warn(
            f"{n_unconverged} of {n_boot} bootstrap refits did not converge in max_iter="
            f"{max_iter} iterations; raise max_iter (or tol).",
            ConvergenceWarning, stacklevel=2)
    fit_time = time.perf_counter() - start_time
    attrs = {"bootstrap_kind": kind, "n_failed": n_failed, "tol": tol,
             "reg_covar": float(estimator.reg_covar), "fit_time": fit_time}
    idata = _inference_data(refits, estimator, X, attrs)
    return BootstrapResult(idata, estimator, kind, n_failed, fit_time)
