"""The PyMC model of a Gaussian mixture with marginalised labels.

The likelihood is written by hand: the squared Mahalanobis distances come from a forward
substitution through the lower Cholesky factor of each covariance, unrolled over the
(few) features and vectorised over rows and components, and the labels are summed out
with a log-sum-exp. Neither a Python list of ``pm.MvNormal`` components (``pm.Mixture``)
nor a batched ``pm.MvNormal`` log density is used: both compile to per-component loops
that are tens of times slower per gradient on CPU.

Correlation matrices are built from canonical partial correlations (CPCs, the C-vine of
Lewandowski, Kurowicka and Joe, 2009): CPC ``(i, j)`` (row ``i`` > column ``j``) is
``2 b - 1`` with ``b ~ Beta(beta_j, beta_j)`` and ``beta_j = eta + (D - 2 - j) / 2``.
This gives exactly an ``LKJ(eta)`` correlation matrix, batches over components (PyMC's
``LKJCholeskyCov`` log density does not) and maps to an unconstrained space through
PyMC's standard logit transform of the Beta variables.
"""

from __future__ import annotations

import numbers
from functools import partial

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from numpy.typing import ArrayLike
from sklearn.utils.validation import _get_feature_names

from bayesmix._validation import (
    check_array,
    check_bayes_data,
    check_bool,
    check_covariance_type,
    check_int,
)
from bayesmix.bayes.components import GAUSSIAN, ModelFamily, get_model_family
from bayesmix.bayes.correlations import cholesky_unrolled, feature_pairs, forward_substitution
from bayesmix.bayes.priors import MixturePriors
from bayesmix.bayes.scales import PosteriorScale, get_scale
from bayesmix.patterns import MissingPatterns, has_missing
from bayesmix.results import default_feature_names

__all__ = ["build_model", "sticks_from_weights", "weights_initial_values"]


def sticks_from_weights(weights: np.ndarray) -> np.ndarray:
    """The ``K - 1`` stick proportions that break a unit stick into ``weights``.

    ``v_k = weights[k] / (1 - sum_{j<k} weights[j])``, the inverse of the stick-breaking
    construction of :meth:`MixturePriors.dirichlet_process
    <bayesmix.bayes.MixturePriors.dirichlet_process>`; clipped into ``(0, 1)`` so that
    it is a valid initial value of the Beta sticks.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes.model import sticks_from_weights
    >>> sticks_from_weights(np.array([0.5, 0.25, 0.25]))
    array([0.5, 0.5])
    """
    remaining = 1.0 - np.concatenate([[0.0], np.cumsum(weights)[:-2]])
    tiny = np.finfo(np.float64).eps
    return np.clip(weights[:-1] / np.clip(remaining, tiny, None), tiny, 1.0 - tiny)


def weights_initial_values(weights: np.ndarray, priors: MixturePriors
                           ) -> dict[str, np.ndarray]:
    """Initial values of the weights' free variable: ``weights``, or the Dirichlet
    process's ``sticks`` (:func:`sticks_from_weights`).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import MixturePriors
    >>> from bayesmix.bayes.model import weights_initial_values
    >>> weights_initial_values(np.array([0.5, 0.5]), MixturePriors.dirichlet_process())
    {'sticks': array([0.5])}
    """
    if priors.dp_concentration is None:
        return {"weights": weights}
    return {"sticks": sticks_from_weights(weights)}


def _weights(priors: MixturePriors, n_components: int):
    """``weights ~ Dirichlet(weights_alpha)``, or the truncated stick-breaking Dirichlet
    process: free ``sticks ~ Beta(1, dp_concentration)`` (dims ``stick``, ``K - 1``)."""
    if priors.dp_concentration is None:
        return pm.Dirichlet("weights", a=priors.weights_alpha, dims="component")
    sticks = pm.Beta("sticks", 1.0, priors.dp_concentration, dims="stick")
    remaining = pt.concatenate([pt.ones(1), pt.cumprod(1.0 - sticks)])
    return pm.Deterministic("weights", pt.concatenate([sticks, pt.ones(1)]) * remaining,
                            dims="component")

def _core(param, ndim: int):
    """Drop the size-one batch dims PyMC prepends to parameters shared by every row."""
    return param[(0,) * (param.ndim - ndim)]


def _mixture_logp(value, weights, means, scale, *parameters,
                  posterior_scale: PosteriorScale, n_features: int,
                  family: ModelFamily = GAUSSIAN):
    """Pointwise log mixture density of the rows of ``value``: shape (N,).

    ``parameters`` are the component family's own (the t's ``dof``), each ``(K,)``.
    """
    weights, means = _core(weights, 1), _core(means, 2)
    scale = _core(scale, posterior_scale.ndim)
    parameters = [_core(parameter, 1) for parameter in parameters]
    log_prob = (family.component_log_prob(posterior_scale, value, means, scale, parameters,
                                          n_features)
                + pt.log(weights))
    return pm.math.logsumexp(log_prob, axis=-1, keepdims=False)


def _observed_values_logp(value, weights, means, covariances, *,
                          patterns: list[tuple[np.ndarray, np.ndarray]],
                          row_order: np.ndarray):
    """Pointwise log mixture density of each row's observed coordinates: shape (N,).

    Rows with missing values (``value`` holds 0 there) are marginalised analytically,
    pattern by pattern: ``patterns`` lists each pattern's rows and observed columns, whose
    marginal covariances ``Sigma_OO`` are factorised once per pattern; ``row_order``
    puts the patterns' rows back in the data's order.
    """
    weights, means, covariances = _core(weights, 1), _core(means, 2), _core(covariances, 3)
    parts = []
    for rows, observed in patterns:
        factor = cholesky_unrolled(covariances[:, observed][:, :, observed], observed.size)
        offsets = value[rows][:, observed][:, None, :] - means[None, :, observed]
        scaled = forward_substitution(factor[None], offsets, observed.size)
        half_log_det = pt.sum(pt.log(pt.diagonal(factor, axis1=-2, axis2=-1)), axis=-1)
        log_prob = (-0.5 * pt.sum(scaled**2, axis=-1) - half_log_det
                    - 0.5 * observed.size * np.log(2.0 * np.pi) + pt.log(weights))
        parts.append(pm.math.logsumexp(log_prob, axis=-1, keepdims=False))
    return pt.concatenate(parts)[row_order]


def _pattern_rows(X: np.ndarray) -> dict[str, object]:
    """The rows and observed columns of each missingness pattern of ``X``, and the
    permutation from the patterns' order back to the rows' (:func:`_observed_values_logp`)."""
    patterns = MissingPatterns(np.isnan(X))
    listed = []
    for group in patterns.groups:
        rows = patterns.order[group.positions]
        for index, missing in enumerate(group.missing_index):
            observed = np.setdiff1d(np.arange(X.shape[1]), missing)
            listed.append((rows[group.pattern_of_position == index], observed))
    order = np.concatenate([rows for rows, _ in listed])
    return {"patterns": listed, "row_order": np.argsort(order)}


def _mixture_random(weights, means, scale, *parameters, cholesky, scale_ndim: int,
                    family: ModelFamily = GAUSSIAN, rng=None, size=None):
    """Draws from the mixture (for prior and posterior predictive sampling).

    ``cholesky(scale, n_components, n_features)`` turns the scale parameter into the
    components' lower Cholesky factors; ``parameters`` are the family's own.
    """
    weights, means = _core(weights, 1), _core(means, 2)
    scale = _core(scale, scale_ndim)
    parameters = [_core(parameter, 1) for parameter in parameters]
    n_components, n_features = np.shape(means)
    size = tuple(np.atleast_1d(size)) if size is not None else ()
    labels = rng.choice(n_components, p=weights / np.sum(weights), size=size)
    chol = cholesky(scale, n_components, n_features)
    return family.draw_rows(rng, means[labels], chol[labels],
                            [parameter[labels] for parameter in parameters])


def _coords(
    X_raw, X: np.ndarray, n_components: int, posterior_scale: PosteriorScale,
    ordered_means: bool
) -> dict[str, object]:
    names = _get_feature_names(X_raw)
    names = list(names) if names is not None else default_feature_names(X.shape[1])
    coords = {
        "component": np.arange(n_components),
        "feature": names,
        "feature_bis": names,
        "obs": np.arange(X.shape[0]),
    }
    if posterior_scale.correlations and len(names) > 1:
        rows, columns = feature_pairs(len(names))
        coords["feature_pair"] = [f"{names[j]}:{names[i]}" for i, j in zip(rows, columns)]
    if ordered_means and len(names) > 1:
        coords["feature_rest"] = names[1:]
    return coords


def _check_dirichlet_process(n_components: int, ordered_means: bool) -> None:
    """Refuse what the stick-breaking weights cannot take: one component (no stick to
    break) and ``ordered_means`` (its components are not exchangeable, so ordering them
    by their means changes the model)."""
    if n_components < 2:
        raise ValueError(
            f"The Dirichlet-process prior (dp_concentration) breaks a stick into "
            f"n_components pieces and needs n_components >= 2, got {n_components}. Fit "
            f"more components than clusters (e.g. 10), or use MixturePriors() for one."
        )
    if ordered_means:
        raise ValueError(
            "ordered_means=True cannot be used with the Dirichlet-process prior "
            "(dp_concentration): the stick-breaking order of its components is part of "
            "the model. Pass ordered_means=False; the draws are then relabelled to the EM "
            "fit."
        )


def _check_batch_size(batch_size, n_samples: int) -> int | None:
    """``batch_size`` as an int in ``[1, n_samples)``, or ``None``."""
    if batch_size is None:
        return None
    if (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
            or not 0 < batch_size < n_samples):
        raise ValueError(
            f"batch_size must be None or an integer from 1 to n_samples - 1 = "
            f"{n_samples - 1}, got {batch_size!r}. Pass a number of rows smaller than the "
            f"data (e.g. 1000) to fit on random minibatches, or None to use every row at "
            f"each step."
        )
    return int(batch_size)


def _observed(X: np.ndarray, batch_size: int | None) -> dict[str, object]:
    """Keywords of the observed ``x``: all the rows, or a random minibatch of them.

    A minibatch's log-likelihood is scaled by ``n_samples / batch_size`` (PyMC's
    ``total_size``), an unbiased estimate of the full data's. Missing values are observed
    as 0 (PyMC would impute NaN with latent variables; the likelihood marginalises them).
    """
    if batch_size is None:
        return {"observed": np.nan_to_num(X), "dims": ("obs", "feature")}
    return {"observed": pm.Minibatch(X, batch_size=batch_size), "total_size": X.shape[0],
            "shape": (batch_size, X.shape[1])}


def _means(priors: MixturePriors, n_components: int, n_features: int, ordered_means: bool):
    """``means = means_loc + means_scale * offset`` with standard normal offsets.

    The non-centred form puts the free variables on the unit scale whatever the data's
    units, so the samplers' and VI's starting spreads and step sizes (set in the
    unconstrained space) suit data measured in micrometres as well as in kilometres.
    """
    if not ordered_means:
        offsets = pm.Normal("means_offset", 0.0, 1.0, dims=("component", "feature"))
    else:
        # PyMC's default initial value (zero, repeated) has zero gaps, which the ordered
        # transform maps to log(0): start from distinct, increasing values instead. The
        # scale is positive, so ordered offsets are ordered means.
        spread = np.linspace(-0.5, 0.5, n_components) if n_components > 1 else np.zeros(1)
        first = pm.Normal("means_offset_first", 0.0, 1.0, dims="component",
                          transform=pm.distributions.transforms.ordered, initval=spread)
        columns = [first[:, None]]
        if n_features > 1:
            columns.append(pm.Normal("means_offset_rest", 0.0, 1.0,
                                     dims=("component", "feature_rest")))
        offsets = pt.concatenate(columns, axis=1)
    return pm.Deterministic("means", priors.means_loc + priors.means_scale * offsets,
                            dims=("component", "feature"))


def build_model(
    X: ArrayLike,
    n_components: int,
    covariance_type: str = "full",
    priors: MixturePriors | None = None,
    ordered_means: bool = False,
    batch_size: int | None = None,
    family: str = "gaussian",
) -> pm.Model:
    """Build the PyMC model of a Gaussian (or t) mixture with marginalised labels.

    Parameters
    ----------
    X : array-like or pandas.DataFrame of shape (n_samples, n_features)
        The data; a DataFrame's column names become the ``feature`` coords. Missing
        values (NaN) are marginalised analytically, pattern by pattern: the likelihood
        of a row is the density of its observed coordinates (no latent imputation
        variables).
    n_components : int
        Number of mixture components ``K``.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        ``full``: per component an LKJ correlation matrix and half-normal standard
        deviations; ``tied``: one shared such covariance; ``diag``: half-normal standard
        deviations per component and feature; ``spherical``: one half-normal standard
        deviation per component.
    priors : MixturePriors, optional
        Prior hyper-parameters; ``None`` fields take data-scaled defaults.
    ordered_means : bool, default=False
        Constrain the components to increasing first mean coordinate, which removes the
        label-switching symmetry (the offsets are then ``means_offset_first``, ordered,
        and ``means_offset_rest``).
    batch_size : int, optional
        Observe a random minibatch of this many rows per log-density evaluation
        (:func:`pymc.Minibatch`), its log-likelihood scaled by ``n_samples /
        batch_size`` (``total_size``) so that it estimates the full data's without bias:
        for stochastic variational inference on large data. Each evaluation is then
        random, so NUTS cannot use such a model. ``None`` (the default) observes every
        row. Must be smaller than ``n_samples``, and ``None`` when ``X`` has missing
        values. Priors are data-scaled from all the rows either way.
    family : {"gaussian", "student_t"}, default="gaussian"
        The components' family (:mod:`bayesmix.bayes.components`). ``"student_t"``:
        multivariate t components with the marginal t density (no latent scale
        weights), the covariances' priors on their scale matrices and free variable
        ``dof (component)`` with the prior ``Gamma(*priors.dof_prior)``; complete rows
        only.

    Returns
    -------
    pymc.Model
        Coords ``component``, ``feature``, ``feature_bis``, ``feature_pair``, ``obs``;
        free variables ``weights``, ``means_offset`` (or ``means_offset_first`` and
        ``means_offset_rest``: the means are ``means_loc + means_scale * offset``), and
        per structure ``sigmas``/``sigma`` and ``corr_cpc`` (the correlations' canonical
        partial correlations mapped to (0, 1)); deterministic ``means (component,
        feature)`` and full ``covariances (component, feature, feature_bis)``; observed
        ``x (obs, feature)`` whose pointwise log-likelihood has dims ``(obs,)`` (with
        ``batch_size``: ``x`` is the minibatch, shape ``(batch_size, n_features)``,
        without dims).

    See Also
    --------
    GaussianMixtureBayes : fits this model and post-processes the draws.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import build_model
    >>> X = np.random.default_rng(0).normal(size=(50, 2))
    >>> model = build_model(X, n_components=2, covariance_type="diag")
    >>> sorted(rv.name for rv in model.free_RVs)
    ['means_offset', 'sigmas', 'weights']
    >>> logp = model.compile_logp()
    >>> bool(np.isfinite(logp(model.initial_point())))
    True

    Observing random minibatches of 10 of the 50 rows:

    >>> minibatch = build_model(X, n_components=2, covariance_type="diag", batch_size=10)
    >>> rows = minibatch.rvs_to_values[minibatch["x"]]  # a new random draw per call
    >>> rows.eval().shape
    (10, 2)

    With a missing value, its row's likelihood is that of its observed coordinate:

    >>> X[0, 1] = np.nan
    >>> incomplete = build_model(X, n_components=2, covariance_type="diag")
    >>> bool(np.isfinite(incomplete.compile_logp()(incomplete.initial_point())))
    True

    Multivariate t components add their degrees of freedom:

    >>> t_model = build_model(X[1:], n_components=2, covariance_type="diag",
    ...                       family="student_t")
    >>> sorted(rv.name for rv in t_model.free_RVs)
    ['dof', 'means_offset', 'sigmas', 'weights']
    """
    X_raw = X
    X = check_array(X, min_samples=2, allow_missing=True)
    n_components = check_int(n_components, "n_components", min_value=1)
    covariance_type = check_covariance_type(covariance_type)
    check_bayes_data(X, covariance_type, X_raw)
    if priors is None:
        priors = MixturePriors()
    elif not isinstance(priors, MixturePriors):
        raise ValueError(
            f"priors must be a MixturePriors instance or None, got {type(priors).__name__}. "
            f"Build one with bayesmix.bayes.MixturePriors(...)."
        )
    posterior_scale = get_scale(covariance_type)
    component_family = get_model_family(family)
    priors = priors.resolve(X, n_components, covariance_type, family)
    n_features = X.shape[1]
    ordered_means = check_bool(ordered_means, "ordered_means")
    batch_size = _check_batch_size(batch_size, X.shape[0])
    missing = has_missing(X)
    if missing and family != "gaussian":
        raise ValueError(
            f"X has missing values (NaN), which family={family!r} does not fit yet. Drop or "
            f"impute those rows, or use family='gaussian', which marginalises them."
        )
    if missing and batch_size is not None:
        raise ValueError(
            f"batch_size={batch_size} cannot be used with missing values (X has NaN): the "
            f"likelihood is marginalised pattern by pattern over every row. Pass "
            f"batch_size=None, or drop or impute the missing values first."
        )
    coords = _coords(X_raw, X, n_components, posterior_scale, ordered_means)
    if priors.dp_concentration is not None:
        _check_dirichlet_process(n_components, ordered_means)
        coords["stick"] = np.arange(n_components - 1)

    with pm.Model(coords=coords) as model:
        weights = _weights(priors, n_components)
        means = _means(priors, n_components, n_features, ordered_means)
        scale, covariances = posterior_scale.prior(priors, n_components, n_features)
        family_parameters = component_family.prior(priors)
        pm.Deterministic("covariances", covariances,
                         dims=("component", "feature", "feature_bis"))
        if missing:
            pm.CustomDist(
                "x", weights, means, covariances,
                logp=partial(_observed_values_logp, **_pattern_rows(X)),
                random=partial(_mixture_random, cholesky=_covariance_cholesky,
                               scale_ndim=3, family=component_family),
                signature="(k),(k,d),(k,d,d)->(d)",
                **_observed(X, batch_size),
            )
        else:
            pm.CustomDist(
                "x", weights, means, scale, *family_parameters,
                logp=partial(_mixture_logp, posterior_scale=posterior_scale,
                             family=component_family, n_features=n_features),
                random=partial(_mixture_random, cholesky=posterior_scale.cholesky,
                               scale_ndim=posterior_scale.ndim, family=component_family),
                signature=component_family.signature(posterior_scale.signature),
                **_observed(X, batch_size),
            )
    return model


def _covariance_cholesky(covariances: np.ndarray, n_components: int, n_features: int
                         ) -> np.ndarray:
    """Lower Cholesky factors of full covariance matrices (the missing-value model's
    scale parameter)."""
    return np.linalg.cholesky(covariances)
