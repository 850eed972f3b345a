"""Imputation of missing values (NaN) from a Gaussian mixture.

Given a row's observed coordinates ``x_O``, its missing ones ``x_M`` follow the mixture
of the components' conditional Gaussians weighted by the responsibilities ``r_k(x_O)``
(:mod:`bayesmix.patterns`):

- :func:`conditional_expectation` fills them with ``E[x_M | x_O] = sum_k r_k
  E[x_M | x_O, k]``, the single best guess in squared error (it understates their
  spread);
- :func:`draw_imputations` draws them from that conditional mixture, a component for
  each row and then a Gaussian draw, which multiple imputation repeats ``m`` times so that
  the analyses of the ``m`` completed data sets carry the uncertainty of the missing
  values (Rubin 1987).

For a posterior sample of mixtures, :func:`posterior_imputations` averages the
conditional expectations over the draws, or draws from the posterior predictive
distribution of the missing values (a posterior draw for each imputation, then the
missing values given it).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from bayesmix.covariance import get_structure, precision_cholesky
from bayesmix.density import normalise_rows, row_chunks
from bayesmix.patterns import (
    BlockConditionals,
    MissingPatterns,
    block_conditionals,
    component_precisions,
)
from bayesmix.pattern_inverses import group_inverses

__all__ = ["conditional_expectation", "draw_imputations", "posterior_imputations"]


def _incomplete_blocks(X: np.ndarray, weights: np.ndarray, means: np.ndarray,
                       precisions_cholesky: np.ndarray, covariance_type: str
                       ) -> Iterator[tuple[np.ndarray, BlockConditionals, np.ndarray]]:
    """``(rows, conditionals, responsibilities)`` of the blocks of rows with a NaN."""
    structure = get_structure(covariance_type)
    n_components, n_features = means.shape
    precisions = component_precisions(structure, precisions_cholesky, n_components,
                                      n_features)
    log_det = structure.log_det_cholesky(precisions_cholesky, n_features)
    with np.errstate(divide="ignore"):
        log_weights = np.log(np.asarray(weights, dtype=np.float64))
    patterns = MissingPatterns(np.isnan(X))
    for group, positions, inverses in group_inverses(patterns, precisions):
        if group.n_missing == 0:
            continue
        for _, block in patterns.blocks(positions, n_components, row_chunks):
            rows = patterns.order[block]
            conditionals = block_conditionals(np.nan_to_num(X[rows]), group, block, means,
                                              precisions, log_det, inverses)
            resp = conditionals.log_prob + log_weights
            normalise_rows(resp)
            yield rows, conditionals, resp


def conditional_expectation(X: np.ndarray, weights: np.ndarray, means: np.ndarray,
                            precisions_cholesky: np.ndarray, covariance_type: str
                            ) -> np.ndarray:
    """``X`` with each missing value replaced by its conditional expectation.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows with NaN where values are missing (none entirely missing).
    weights, means, precisions_cholesky : ndarray
        The mixture, ``precisions_cholesky`` in the stored shape of ``covariance_type``.
    covariance_type : str

    Returns
    -------
    ndarray of shape (n_samples, n_features), float64

    Examples
    --------
    One standard bivariate normal with correlation 0.5: a missing second value is
    half the first.

    >>> import numpy as np
    >>> from bayesmix.covariance import precision_cholesky
    >>> from bayesmix.imputation import conditional_expectation
    >>> factor = precision_cholesky(np.array([[[1.0, 0.5], [0.5, 1.0]]]), "full")
    >>> conditional_expectation(np.array([[2.0, np.nan], [1.0, 1.0]]), np.ones(1),
    ...                         np.zeros((1, 2)), factor, "full")
    array([[2., 1.],
           [1., 1.]])
    """
    completed = np.array(X, dtype=np.float64)
    for rows, conditionals, resp in _incomplete_blocks(completed, weights, means,
                                                      precisions_cholesky, covariance_type):
        values = completed[rows]
        np.put_along_axis(values, conditionals.missing_index,
                          np.einsum("nk,knj->nj", resp, conditionals.conditional_means),
                          axis=1)
        completed[rows] = values
    return completed


def draw_imputations(X: np.ndarray, weights: np.ndarray, means: np.ndarray,
                     precisions_cholesky: np.ndarray, covariance_type: str,
                     n_imputations: int, rng: np.random.RandomState) -> np.ndarray:
    """``n_imputations`` copies of ``X``, each missing value drawn given the observed ones.

    For every copy and row, a component is drawn from the row's responsibilities and
    the missing values from that component's conditional Gaussian.

    Parameters
    ----------
    X, weights, means, precisions_cholesky, covariance_type
        As for :func:`conditional_expectation`.
    n_imputations : int
    rng : numpy.random.RandomState

    Returns
    -------
    ndarray of shape (n_imputations, n_samples, n_features), float64

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import precision_cholesky
    >>> from bayesmix.imputation import draw_imputations
    >>> factor = precision_cholesky(np.array([[[1.0, 0.5], [0.5, 1.0]]]), "full")
    >>> draws = draw_imputations(np.array([[2.0, np.nan]]), np.ones(1), np.zeros((1, 2)),
    ...                          factor, "full", 4000, np.random.RandomState(0))
    >>> draws.shape, draws[:, 0, 1].mean().round(1), draws[:, 0, 1].var().round(1)
    ((4000, 1, 2), np.float64(1.0), np.float64(0.8))
    """
    completed = np.repeat(np.array(X, dtype=np.float64)[np.newaxis], n_imputations, axis=0)
    for rows, conditionals, resp in _incomplete_blocks(completed[0], weights, means,
                                                      precisions_cholesky, covariance_type):
        factors = np.linalg.cholesky(conditionals.conditional_covariances)
        factors = np.broadcast_to(factors, (resp.shape[1], *factors.shape[1:]))  # shared
        cumulative = np.cumsum(resp, axis=1)
        n_rows, n_missing = conditionals.missing_index.shape
        everyone = np.arange(n_rows)
        for draw in completed:
            chosen = (cumulative < rng.random_sample(n_rows)[:, np.newaxis]).sum(axis=1)
            chosen = np.minimum(chosen, resp.shape[1] - 1)  # rounding in the last share
            noise = rng.standard_normal((n_rows, n_missing, 1))
            values = conditionals.conditional_means[chosen, everyone] + (
                factors[chosen, conditionals.block_patterns] @ noise)[..., 0]
            block = draw[rows]
            np.put_along_axis(block, conditionals.missing_index, values, axis=1)
            draw[rows] = block
    return completed


def posterior_imputations(X: np.ndarray, weights: np.ndarray, means: np.ndarray,
                          covariances: np.ndarray, n_imputations: int | None,
                          rng: np.random.RandomState) -> np.ndarray:
    """Missing values imputed from a posterior sample of mixtures.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    weights, means, covariances : ndarray of shape (S, K), (S, K, D), (S, K, D, D)
        The posterior draws (full covariance matrices).
    n_imputations : int or None
        ``None``: the posterior mean of the conditional expectation, (n_samples,
        n_features). An integer ``m``: ``m`` draws from the posterior predictive
        distribution of the missing values, (m, n_samples, n_features), each from a
        posterior draw chosen at random.
    rng : numpy.random.RandomState

    Returns
    -------
    ndarray, float64

    Examples
    --------
    Two draws of one bivariate normal, correlations 0.5 and 0.7: the expectation of a
    missing second value is the average of 0.5 and 0.7 times the first.

    >>> import numpy as np
    >>> from bayesmix.imputation import posterior_imputations
    >>> covariances = np.array([[[[1.0, r], [r, 1.0]]] for r in (0.5, 0.7)])
    >>> posterior_imputations(np.array([[2.0, np.nan]]), np.ones((2, 1)),
    ...                       np.zeros((2, 1, 2)), covariances, None,
    ...                       np.random.RandomState(0))
    array([[2. , 1.2]])
    """
    factors = precision_cholesky(covariances, "full")
    if n_imputations is None:
        total = np.zeros(X.shape)
        for draw in zip(weights, means, factors):
            total += conditional_expectation(X, *draw, "full")
        return np.where(np.isnan(X), total / len(weights), X)
    chosen = rng.randint(len(weights), size=n_imputations)
    completed = np.empty((n_imputations, *X.shape))
    for draw in np.unique(chosen):
        where = np.flatnonzero(chosen == draw)
        completed[where] = draw_imputations(X, weights[draw], means[draw], factors[draw],
                                            "full", where.size, rng)
    return completed
