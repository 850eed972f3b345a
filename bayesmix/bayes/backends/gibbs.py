"""A blocked Gibbs sampler for the conjugate Gaussian mixture, vectorised in NumPy.

NUTS samples the marginalised model of :func:`~bayesmix.bayes.build_model`, whose
geometry is hard for an overfitted mixture under a sparse prior on the weights (the
empty components' weights pile up against zero, their means and covariances wander over
the prior): on Old Faithful with ``K = 10`` it took 617 s and mixed badly. The Gibbs
sampler instead augments the data with the labels and draws, per iteration,

1. every row's label from its responsibilities under the current parameters;
2. the weights given the labels' counts ``n_k``: ``Dirichlet(weights_alpha + n)``, or
   for the truncated Dirichlet process the sticks ``v_k ~ Beta(1 + n_k,
   dp_concentration + sum_{j>k} n_j)``, ``k < K`` (Ishwaran and James 2001);
3. every component's mean and covariance given its rows, jointly, from their
   normal-inverse-Wishart posterior (an empty component's from the prior).

The model it samples
--------------------
Labels ``z_n ~ Categorical(weights)``, ``x_n | z_n = k ~ N(mu_k, Sigma_k)`` and, for
every component independently,

- ``Sigma_k ~ InverseWishart(dof, scale)`` (density proportional to ``|Sigma|^(-(dof +
  D + 1) / 2) exp(-tr(scale inv(Sigma)) / 2)``, mean ``scale / (dof - D - 1)``);
- ``mu_k | Sigma_k ~ N(mean, Sigma_k / shrinkage)``;
- the weights' prior of :class:`~bayesmix.bayes.MixturePriors`: ``Dirichlet(weights_alpha)``
  or the truncated stick-breaking Dirichlet process of ``dp_concentration``.

``(shrinkage, mean, dof, scale)`` are a :class:`~bayesmix.covariance.prior.ConjugatePrior`,
the ``conjugate_prior`` option of ``fit(method="gibbs")``: the very prior whose posterior
mode :class:`~bayesmix.GaussianMixtureEM` finds with ``prior=``. Left out, it takes
mclust's defaults (:meth:`ConjugatePrior.resolve
<bayesmix.covariance.prior.ConjugatePrior.resolve>`): ``mean`` the column means, ``dof =
D + 2``, ``scale`` the data's covariance divided by ``K^(2/D)``, and ``shrinkage`` 0.01.

**Where it differs from the NUTS model.** The weights' prior is the same. The means and
covariances' is not: NUTS has independent ``means[k, d] ~ Normal(means_loc[d],
means_scale[d])``, half-normal standard deviations (``scale_sigma``) and LKJ
(``lkj_eta``) correlations; the Gibbs model has the conjugate prior above, so those four
fields of ``MixturePriors`` do not enter it. Only ``covariance_type="full"`` (one
unrestricted covariance per component) is sampled, and data without missing values.

Chains start from the EM fit (their first labels drawn from its responsibilities, so
chains differ from the first step) or, with ``init="prior"``, from labels drawn
uniformly; ``tune`` iterations are discarded. The draws then go through the same
relabelling and diagnostics as NUTS's (with ``ordered_means``, sorting every draw by its
first mean coordinate after sampling: for a symmetric Dirichlet prior, which makes the
components exchangeable, that is the posterior of the ordered model). ``sample_stats``
holds ``n_occupied``, the number of components the sampler's own labels occupy in each
draw.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesmix._validation import check_int, check_random_state
from bayesmix.bayes.backends.base import BackendRun, FitData
from bayesmix.bayes.backends.nuts import NUTSBackend
from bayesmix.bayes.occupied import draw_labels
from bayesmix.covariance import get_structure, precision_cholesky
from bayesmix.covariance.prior import ConjugatePrior
from bayesmix.density import log_gaussian_prob, logsumexp_rows, normalise_rows
from bayesmix.patterns import has_missing

if TYPE_CHECKING:
    import pymc as pm

__all__ = [
    "GIBBS",
    "GibbsBackend",
    "draw_component_parameters",
    "draw_log_weights",
    "resolve_conjugate_prior",
    "sample_gibbs",
]


# --------------------------------------------------------------------------- draws
def _log_gamma_variates(shape: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """``log G`` with ``G ~ Gamma(shape, 1)``, accurate for tiny shapes.

    ``G = G' U^(1 / shape)`` with ``G' ~ Gamma(shape + 1)`` and ``U`` uniform (Marsaglia
    and Tsang 2000), computed in logs: with the sparse prior's 0.01 a direct draw
    underflows to 0 in about half the cases.
    """
    shape = np.asarray(shape, dtype=np.float64)
    uniforms = rng.random_sample(shape.shape)
    return np.log(rng.standard_gamma(shape + 1.0)) + np.log(uniforms) / shape


def draw_log_weights(counts: np.ndarray, priors: Any, rng: np.random.RandomState
                     ) -> np.ndarray:
    """Log weights drawn from their full conditional given the labels' ``counts``.

    ``Dirichlet(weights_alpha + counts)``; with ``dp_concentration`` (the truncated
    Dirichlet process) the sticks ``v_k ~ Beta(1 + n_k, dp_concentration + sum_{j>k}
    n_j)`` for ``k < K``, ``v_K = 1``, and ``log weights[k] = log v_k + sum_{j<k} log(1 -
    v_j)``. Drawn in logs, so that the weight of an empty component under a sparse prior
    is tiny rather than zero.

    Parameters
    ----------
    counts : ndarray of shape (..., n_components)
        Leading axes (chains, say) are drawn independently.
    priors : MixturePriors
        Resolved (:meth:`MixturePriors.resolve <bayesmix.bayes.MixturePriors.resolve>`).
    rng : numpy.random.RandomState

    Returns
    -------
    ndarray of the shape of ``counts``

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import MixturePriors
    >>> from bayesmix.bayes.backends.gibbs import draw_log_weights
    >>> priors = MixturePriors.dirichlet_process().resolve(np.eye(2), 3)
    >>> log_weights = draw_log_weights(np.array([5, 0, 0]), priors, np.random.RandomState(0))
    >>> round(float(np.exp(log_weights).sum()), 12)
    1.0
    """
    counts = np.asarray(counts, dtype=np.float64)
    if priors.dp_concentration is None:
        log_gammas = _log_gamma_variates(priors.weights_alpha + counts, rng)
        flat = log_gammas.reshape(-1, counts.shape[-1])
        return log_gammas - logsumexp_rows(flat).reshape(counts.shape[:-1] + (1,))
    later = np.flip(np.cumsum(np.flip(counts, -1), axis=-1), -1)[..., 1:]  # sum_{j>k} n_j
    log_a = _log_gamma_variates(1.0 + counts[..., :-1], rng)
    log_b = _log_gamma_variates(priors.dp_concentration + later, rng)
    log_total = np.logaddexp(log_a, log_b)
    edge = np.zeros(counts.shape[:-1] + (1,))
    log_sticks = np.concatenate([log_a - log_total, edge], axis=-1)
    log_rest = np.concatenate([edge, np.cumsum(log_b - log_total, axis=-1)], axis=-1)
    return log_sticks + log_rest


def _draw_inverse_wishart(dof: np.ndarray, scale: np.ndarray, rng: np.random.RandomState
                          ) -> np.ndarray:
    """Batched ``InverseWishart(dof, scale)`` draws (..., D, D), by Bartlett's
    decomposition of the ``Wishart(dof, inv(scale))`` precision."""
    n_features = scale.shape[-1]
    diagonal = np.arange(n_features)
    bartlett = np.tril(rng.standard_normal(scale.shape), -1)
    bartlett[..., diagonal, diagonal] = np.sqrt(rng.chisquare(dof[..., np.newaxis]
                                                              - diagonal))
    factor = np.linalg.cholesky(np.linalg.inv(scale)) @ bartlett
    covariances = np.linalg.inv(factor @ np.swapaxes(factor, -1, -2))
    return 0.5 * (covariances + np.swapaxes(covariances, -1, -2))


def draw_component_parameters(X: np.ndarray, labels: np.ndarray, n_components: int,
                              prior: ConjugatePrior, rng: np.random.RandomState
                              ) -> tuple[np.ndarray, np.ndarray]:
    """Means and covariances drawn from their normal-inverse-Wishart full conditional.

    For component ``k`` with ``n_k`` rows of mean ``xbar_k`` and scatter ``W_k``: ``kappa
    = shrinkage + n_k``, ``m = (shrinkage mean + n_k xbar_k) / kappa``, ``nu = dof +
    n_k``, ``Psi = scale + W_k + shrinkage n_k / kappa (xbar_k - mean)(xbar_k - mean)^T``;
    ``Sigma_k ~ InverseWishart(nu, Psi)``, ``mu_k | Sigma_k ~ N(m, Sigma_k / kappa)``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of int, shape (..., n_samples)
        Leading axes (chains, say) are drawn independently.
    n_components : int
    prior : ConjugatePrior
        Resolved, with ``shrinkage > 0``.
    rng : numpy.random.RandomState

    Returns
    -------
    means : ndarray of shape (..., n_components, n_features)
    covariances : ndarray of shape (..., n_components, n_features, n_features)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes.backends.gibbs import draw_component_parameters
    >>> from bayesmix.covariance.prior import ConjugatePrior
    >>> prior = ConjugatePrior(shrinkage=1.0, mean=np.zeros(1), dof=3.0, scale=np.eye(1))
    >>> X = np.array([[4.0], [6.0]])
    >>> means, covariances = draw_component_parameters(X, np.array([0, 0]), 2, prior,
    ...                                                np.random.RandomState(0))
    >>> means.shape, covariances.shape
    ((2, 1), (2, 1, 1))
    """
    centred = X - prior.mean  # the prior's mean is 0 in these coordinates
    n_samples, n_features = X.shape
    one_hot = np.eye(n_components)[labels]  # (..., N, K)
    counts = one_hot.sum(axis=-2)
    # Every component's sum of y and of y y^T in one product with the (N, D + D^2) rows.
    row_terms = np.concatenate(
        [centred, np.einsum("ni,nj->nij", centred, centred).reshape(n_samples, -1)], axis=1)
    moments = np.swapaxes(one_hot, -1, -2) @ row_terms
    sums = moments[..., :n_features]
    second_moments = moments[..., n_features:].reshape(
        moments.shape[:-1] + (n_features, n_features))
    kappa = prior.shrinkage + counts
    locations = sums / kappa[..., np.newaxis]
    # scale + W_k + shrinkage n_k / kappa d d^T = scale + sum y y^T - kappa m m^T
    scales = prior.scale + second_moments - kappa[..., None, None] * np.einsum(
        "...ki,...kj->...kij", locations, locations)
    covariances = _draw_inverse_wishart(prior.dof + counts, scales, rng)
    noise = np.einsum("...ij,...j->...i", np.linalg.cholesky(covariances),
                      rng.standard_normal(locations.shape))
    return prior.mean + locations + noise / np.sqrt(kappa)[..., np.newaxis], covariances


def resolve_conjugate_prior(conjugate_prior: ConjugatePrior | None, X: np.ndarray,
                            n_components: int) -> ConjugatePrior:
    """The Gibbs model's prior on the means and covariances, resolved on ``X``.

    ``None`` gives mclust's defaults (see the module docstring). The shrinkage must be
    positive: with 0 the means' prior is flat and an empty component has no mean to draw.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes.backends.gibbs import resolve_conjugate_prior
    >>> X = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [2.0, 4.0]])
    >>> prior = resolve_conjugate_prior(None, X, n_components=2)
    >>> prior.shrinkage, prior.dof, prior.mean
    (0.01, 4.0, array([1., 2.]))
    """
    if conjugate_prior is None:
        conjugate_prior = ConjugatePrior()
    elif not isinstance(conjugate_prior, ConjugatePrior):
        raise TypeError(
            f"conjugate_prior must be a bayesmix.covariance.prior.ConjugatePrior or None, "
            f"got {type(conjugate_prior).__name__}. Build one with "
            f"ConjugatePrior(shrinkage=..., dof=..., scale=...)."
        )
    if not conjugate_prior.shrinkage > 0:
        raise ValueError(
            f"conjugate_prior.shrinkage must be > 0 for method='gibbs', got "
            f"{conjugate_prior.shrinkage!r}: the means' prior N(mean, Sigma / shrinkage) "
            f"is improper at 0 and an empty component's mean cannot be drawn. Use a small "
            f"positive value such as mclust's 0.01."
        )
    return conjugate_prior.resolve(X, get_structure("full"), n_components)


def _initial_labels(X: np.ndarray, n_components: int, chains: int, initial: Any,
                    rng: np.random.RandomState) -> np.ndarray:
    """Every chain's labels (chains, N): drawn from the EM fit's responsibilities, or
    uniformly (no EM fit)."""
    if initial is None:
        return rng.randint(n_components, size=(chains, X.shape[0]))
    weights, means, covariances = initial
    log_weights = np.log(np.clip(weights, np.finfo(np.float64).tiny, None))
    return _draw_labels(X, np.repeat(log_weights[np.newaxis], chains, axis=0),
                        np.repeat(means[np.newaxis], chains, axis=0),
                        np.repeat(covariances[np.newaxis], chains, axis=0), rng)


def _draw_labels(X: np.ndarray, log_weights: np.ndarray, means: np.ndarray,
                 covariances: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """Every chain's labels (chains, N) from the responsibilities under its parameters
    (``log_weights`` (chains, K), ``means`` (chains, K, D), ``covariances`` (chains, K,
    D, D)): the chains' components are stacked into one density evaluation."""
    n_chains, n_components, n_features = means.shape
    factors = precision_cholesky(covariances.reshape(-1, n_features, n_features), "full")
    log_prob = log_gaussian_prob(X, means.reshape(-1, n_features), factors, "full")
    log_prob = log_prob.reshape(X.shape[0], n_chains, n_components).transpose(1, 0, 2)
    log_prob = log_prob + log_weights[:, np.newaxis, :]
    probabilities = log_prob.reshape(-1, n_components)
    normalise_rows(probabilities)
    return draw_labels(probabilities, rng).reshape(n_chains, X.shape[0])


def sample_gibbs(X: np.ndarray, n_components: int, priors: Any, conjugate_prior: Any = None,
                 *, draws: int = 1000, tune: int = 1000, chains: int = 4,
                 initial: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                 random_state: Any = None) -> dict[str, np.ndarray]:
    """Draw from the conjugate mixture's posterior with the blocked Gibbs sampler.

    See the module docstring for the model and the updates.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Without missing values.
    n_components : int
    priors : MixturePriors
        Resolved; only the weights' prior is used.
    conjugate_prior : ConjugatePrior, optional
        The means and covariances' prior (:func:`resolve_conjugate_prior`).
    draws, tune, chains : int
        Kept draws per chain, discarded iterations per chain, chains.
    initial : tuple of ndarray, optional
        Weights, means and full covariances whose responsibilities give every chain's
        first labels; labels drawn uniformly when omitted.
    random_state : int, RandomState instance or None

    Returns
    -------
    dict
        ``weights`` (chains, draws, K), ``means`` (chains, draws, K, D), ``covariances``
        (chains, draws, K, D, D) and ``n_occupied`` (chains, draws), the components the
        sampler's labels occupy.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import MixturePriors
    >>> from bayesmix.bayes.backends.gibbs import sample_gibbs
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(-5, 1, (50, 1)), rng.normal(5, 1, (50, 1))])
    >>> priors = MixturePriors().resolve(X, 2)
    >>> result = sample_gibbs(X, 2, priors, draws=200, tune=50, chains=2, random_state=0)
    >>> result["means"].shape  # (chain, draw, component, feature)
    (2, 200, 2, 1)

    The chains may label the clusters differently (GaussianMixtureBayes relabels the
    draws); sorted per draw, the means are the clusters' centres:

    >>> np.sort(result["means"][..., 0], axis=-1).mean(axis=(0, 1)).round(0)
    array([-5.,  5.])
    """
    draws = check_int(draws, "draws", min_value=1)
    tune = check_int(tune, "tune", min_value=0)
    chains = check_int(chains, "chains", min_value=1)
    rng = check_random_state(random_state)
    prior = resolve_conjugate_prior(conjugate_prior, X, n_components)
    n_features = X.shape[1]
    result = {
        "weights": np.empty((chains, draws, n_components)),
        "means": np.empty((chains, draws, n_components, n_features)),
        "covariances": np.empty((chains, draws, n_components, n_features, n_features)),
        "n_occupied": np.empty((chains, draws), dtype=np.int64),
    }
    labels = _initial_labels(X, n_components, chains, initial, rng)
    for step in range(tune + draws):  # every chain at once
        counts = np.eye(n_components, dtype=np.int64)[labels].sum(axis=-2)
        log_weights = draw_log_weights(counts, priors, rng)
        means, covariances = draw_component_parameters(X, labels, n_components, prior, rng)
        if step >= tune:
            draw = step - tune
            result["weights"][:, draw] = np.exp(log_weights)
            result["means"][:, draw] = means
            result["covariances"][:, draw] = covariances
            result["n_occupied"][:, draw] = np.count_nonzero(counts, axis=-1)
        labels = _draw_labels(X, log_weights, means, covariances, rng)
    return result


# --------------------------------------------------------------------------- back end
class GibbsBackend(NUTSBackend):
    """The blocked Gibbs sampler as ``fit(method="gibbs")``.

    Its draws come from several chains, like NUTS's, and are checked the same way
    (R-hat, bulk ESS, chains in other modes; a Gibbs sampler has no divergences): the
    diagnostics, comparison columns and selection notes are NUTS's. Its one option is
    ``conjugate_prior`` (see the module docstring); ``tune`` is the burn-in.

    Examples
    --------
    >>> from bayesmix.bayes.backends.gibbs import GIBBS
    >>> GIBBS.label, GIBBS.is_sampler, GIBBS.options
    ('Gibbs', True, ('conjugate_prior',))
    """

    fit_options = ("draws", "tune", "chains", "conjugate_prior")
    options = ("conjugate_prior",)
    covariance_types = ("full",)
    compiles = False  # NumPy updates, nothing to compile

    def __init__(self) -> None:
        super(NUTSBackend, self).__init__("gibbs", "Gibbs")

    def check_fit_options(self, options: Mapping[str, Any], *, nuts_sampler: str | None,
                          batch_size: int | None) -> None:
        """Refuse options other than ``conjugate_prior``, a ``nuts_sampler`` and a
        ``batch_size``.

        Examples
        --------
        >>> from bayesmix.bayes.backends.gibbs import GIBBS
        >>> GIBBS.check_fit_options({"target_accept": 0.9}, nuts_sampler=None,
        ...                         batch_size=None)
        Traceback (most recent call last):
        ...
        TypeError: fit got an unexpected keyword argument 'target_accept' for method='gibbs', which accepts conjugate_prior. Remove it, or use method='nuts' for NUTS options.
        """
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise TypeError(
                f"fit got an unexpected keyword argument {unknown[0]!r} for method='gibbs', "
                f"which accepts conjugate_prior. Remove it, or use method='nuts' for NUTS "
                f"options."
            )
        for name, value in (("nuts_sampler", nuts_sampler), ("batch_size", batch_size)):
            if value is not None:
                raise ValueError(
                    f"{name}={value!r} does not apply to method='gibbs', which samples the "
                    f"conjugate model itself with every row. Leave {name} at None."
                )

    def fit_data_options(self, data: FitData) -> dict[str, Any]:
        """``{"data": data}``, once the data and structure are checked.

        Raises
        ------
        ValueError
            For components other than Gaussian, a ``covariance_type`` other than
            ``"full"`` or data with missing values.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes.backends.base import FitData
        >>> from bayesmix.bayes.backends.gibbs import GIBBS
        >>> GIBBS.fit_data_options(FitData(np.zeros((3, 1)), 1, "diag", None, None))
        Traceback (most recent call last):
        ...
        ValueError: method='gibbs' samples covariance_type='full' only (the normal-inverse-Wishart model), got 'diag'. Pass covariance_type='full', or use method='nuts' for 'diag'.
        """
        if data.family != "gaussian":
            raise ValueError(
                f"method='gibbs' samples Gaussian components (the conjugate model), got "
                f"{data.family} components. Use method='nuts' or method='advi' for them."
            )
        if not self.fits_structure(data.covariance_type):
            raise ValueError(
                f"method='gibbs' samples covariance_type='full' only (the "
                f"normal-inverse-Wishart model), got {data.covariance_type!r}. Pass "
                f"covariance_type='full', or use method='nuts' for {data.covariance_type!r}."
            )
        if has_missing(data.X):
            raise ValueError(
                "method='gibbs' needs complete data, but X has missing values (NaN). Use "
                "method='nuts', which marginalises them, or drop or impute them first."
            )
        return {"data": data}

    def run(self, model: pm.Model, *, draws: int, tune: int, chains: int,
            nuts_sampler: str | None,
            start: Callable[[float], dict[str, np.ndarray]] | None,
            random_seed: int, progressbar: bool | None, batch_size: int | None,
            data: FitData | None = None, conjugate_prior: ConjugatePrior | None = None,
            **options: Any) -> BackendRun:
        """:func:`sample_gibbs` on ``data`` (``model``, ``start``, ``nuts_sampler``,
        ``progressbar`` and ``batch_size`` unused: the sampler starts from
        ``data.initial``).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes import MixturePriors
        >>> from bayesmix.bayes.backends.base import FitData
        >>> from bayesmix.bayes.backends.gibbs import GIBBS
        >>> X = np.random.default_rng(0).normal(size=(40, 1))
        >>> data = FitData(X, 2, "full", MixturePriors().resolve(X, 2), None)
        >>> run = GIBBS.run(None, draws=20, tune=10, chains=2, nuts_sampler=None,
        ...                 start=None, random_seed=0, progressbar=False, batch_size=None,
        ...                 data=data)
        >>> dict(run.raw.posterior["means"].sizes), run.sample_stats["n_occupied"][1]
        ({'chain': 2, 'draw': 20, 'means_dim_0': 2, 'means_dim_1': 1}, ('chain', 'draw'))
        """
        import arviz as az

        if data is None:
            raise ValueError(
                "method='gibbs' samples the data, not the PyMC model: pass data=FitData(...) "
                "(GaussianMixtureBayes.fit does)."
            )
        draws_by_name = sample_gibbs(data.X, data.n_components, data.priors,
                                     conjugate_prior, draws=draws, tune=tune,
                                     chains=chains, initial=data.initial,
                                     random_state=random_seed)
        n_occupied = draws_by_name.pop("n_occupied")
        return BackendRun(raw=az.from_dict(posterior=draws_by_name),
                          sample_stats={"n_occupied": (n_occupied, ("chain", "draw"))},
                          extra_coords={}, attrs={})


#: The Gibbs back end.
GIBBS = GibbsBackend()
