"""Pure NumPy density kernels for Gaussian mixtures.

These functions are shared by the EM fitter, by scoring and by posterior
post-processing: one implementation of the Gaussian log density for every structure.
They work through the Cholesky factors of the precision matrices (see
:mod:`bayesmix.covariance`), are vectorised over components, and walk over the rows of
``X`` in cache-sized blocks, so that temporaries stay small whatever the number of rows
(the outputs have one value per row, or per row and component), spread over the cores in contiguous
row ranges (:mod:`bayesmix._parallel`). Rows with missing values (NaN) are evaluated on
their observed coordinates, the marginal density of each component
(:mod:`bayesmix.patterns`).

The density seam keyed on the component family: :func:`weighted_log_prob`,
:func:`log_mixture_density`, :func:`responsibilities` and :func:`draw_component_rows`
take ``family`` (a key of :data:`FAMILY_PARAMETERS`, as recorded in a fit's
InferenceData attrs) and the family's own per-component parameters, and evaluate the
Gaussian kernels here or the multivariate t of :mod:`bayesmix.families.student_t`
(whose scale matrices then take the covariances' place). Scoring, prediction,
relabelling and persistence ask these functions and never write a density themselves.
Its length (about 560 lines, nearly half of them docstrings) is that of this one seam.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np

from bayesmix._parallel import RowThreads
from bayesmix._validation import check_option
from bayesmix.covariance import CovarianceStructure, get_structure
from bayesmix.families import student_t
from bayesmix.patterns import (
    MissingPatterns,
    PatternGroup,
    block_conditionals,
    component_precisions,
    has_missing,
)
from bayesmix.pattern_inverses import map_groups
from bayesmix.prefix_tree import MissingBlockInverses

__all__ = [
    "FAMILY_PARAMETERS",
    "check_family",
    "component_log_prob",
    "draw_component_rows",
    "logsumexp_rows",
    "normalise_rows",
    "log_gaussian_prob",
    "weighted_log_prob",
    "log_mixture_density",
    "responsibilities",
    "row_chunks",
]

_LOG_2PI = np.log(2.0 * np.pi)
#: Target number of float64 elements in the largest per-chunk temporary (about 2 MiB).
_CHUNK_ELEMENTS = 1 << 18
#: Below this many rows, whole-array reductions beat loops over the columns.
_FEW_ROWS = 2048

#: The component families, each with the per-component parameters it takes besides the
#: weights, means and scale (covariance) matrices.
FAMILY_PARAMETERS: dict[str, tuple[str, ...]] = {"gaussian": (), "student_t": ("dof",)}


def check_family(family: str, family_parameters: Mapping[str, np.ndarray] | None = None
                 ) -> dict[str, np.ndarray]:
    """Check ``family`` and return its parameters as float64 arrays.

    Parameters
    ----------
    family : str
        A key of :data:`FAMILY_PARAMETERS`.
    family_parameters : mapping of str to array-like, optional
        Exactly the family's parameters (none for ``"gaussian"``).

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        For an unknown family, or parameters missing or not the family's.

    Examples
    --------
    >>> from bayesmix.density import check_family
    >>> check_family("student_t", {"dof": [4.0, 30.0]})
    {'dof': array([ 4., 30.])}
    >>> check_family("student_t")
    Traceback (most recent call last):
    ...
    ValueError: family='student_t' takes the parameters ('dof',), got (). Pass ...
    """
    family = check_option(family, "family", tuple(FAMILY_PARAMETERS))
    given = dict(family_parameters or {})
    expected = FAMILY_PARAMETERS[family]
    if tuple(sorted(given)) != tuple(sorted(expected)):
        example = ", ".join(f"{name!r}: ..." for name in expected)
        raise ValueError(
            f"family={family!r} takes the parameters {expected}, got {tuple(sorted(given))}. "
            f"Pass family_parameters={{{example}}}."
        )
    return {name: np.asarray(value, dtype=np.float64) for name, value in given.items()}


def row_chunks(n_samples: int, row_width: int) -> Iterator[slice]:
    """Slices over ``n_samples`` rows with about ``2**18`` temporary elements each.

    ``row_width`` is the number of temporary elements a kernel creates per row; a chunk
    holds at least 64 rows.

    Examples
    --------
    >>> from bayesmix.density import row_chunks
    >>> [(s.start, s.stop) for s in row_chunks(10, row_width=1 << 17)]
    [(0, 10)]
    """
    step = max(64, _CHUNK_ELEMENTS // max(int(row_width), 1))
    for start in range(0, n_samples, step):
        yield slice(start, min(start + step, n_samples))


def _row_max(values: np.ndarray) -> np.ndarray:
    """Maximum of each row of an (N, K) array.

    A loop over the K columns of element-wise maxima: NumPy reduces a short last axis
    an order of magnitude more slowly, unless the rows are so few that the loop's
    per-call overhead dominates.
    """
    if values.shape[0] <= _FEW_ROWS:
        return values.max(axis=1)
    out = values[:, 0].copy()
    for k in range(1, values.shape[1]):
        np.maximum(out, values[:, k], out=out)
    return out


def _shift(log_prob: np.ndarray) -> np.ndarray:
    """Row maxima to subtract before exponentiating; 0 for rows that are all ``-inf``.

    A point so far from every component that all its log densities overflow to ``-inf``
    then gets log density ``-inf`` (not NaN from ``-inf - -inf``).
    """
    row_max = _row_max(log_prob)
    row_max[np.isneginf(row_max)] = 0.0
    return row_max


def logsumexp_rows(log_prob: np.ndarray) -> np.ndarray:
    """``log(sum(exp(log_prob), axis=1))`` of an (N, K) array, without overflow.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.density import logsumexp_rows
    >>> logsumexp_rows(np.log([[0.25, 0.75], [1.0, 1.0]])).round(6)
    array([0.      , 0.693147])
    """
    row_max = _shift(log_prob)
    shifted = np.exp(log_prob - row_max[:, np.newaxis])
    with np.errstate(divide="ignore"):
        return np.log(shifted @ np.ones(log_prob.shape[1])) + row_max


def normalise_rows(log_prob: np.ndarray) -> np.ndarray:
    """Turn (N, K) joint log probabilities into responsibilities, in place.

    Returns the log normaliser of each row, ``logsumexp_rows(log_prob)``; afterwards
    ``log_prob`` holds ``exp(log_prob - normaliser)``, rows summing to one.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.density import normalise_rows
    >>> values = np.log([[1.0, 3.0]])
    >>> normalise_rows(values), values
    (array([1.38629436]), array([[0.25, 0.75]]))
    """
    row_max = _shift(log_prob)
    log_prob -= row_max[:, np.newaxis]
    np.exp(log_prob, out=log_prob)
    row_sum = log_prob @ np.ones(log_prob.shape[1])
    underflow = row_sum == 0.0
    if underflow.any():
        log_prob[underflow] = 1.0 / log_prob.shape[1]  # every component -inf: equal shares
        log_prob /= np.where(underflow, 1.0, row_sum)[:, np.newaxis]
        with np.errstate(divide="ignore"):
            return np.log(row_sum) + row_max
    log_prob /= row_sum[:, np.newaxis]
    log_norm = np.log(row_sum)
    log_norm += row_max
    return log_norm


def component_log_prob(
    X: np.ndarray,
    means: np.ndarray,
    precisions_cholesky: np.ndarray,
    structure: CovarianceStructure,
    log_det: np.ndarray,
) -> np.ndarray:
    """``log N(x_n | mean_k, cov_k)`` of a block of rows, shape (N, K); no chunking.

    ``log_det`` is the structure's :meth:`~CovarianceStructure.log_det_cholesky` of the
    factors, computed once per pass rather than once per block.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.density import component_log_prob
    >>> component_log_prob(np.zeros((1, 1)), np.zeros((1, 1)), np.ones(1),
    ...                    get_structure("spherical"), np.zeros(1))
    array([[-0.91893853]])
    """
    with np.errstate(over="ignore"):  # far beyond float64 range: log density -inf
        maha = structure.squared_mahalanobis(X, means, precisions_cholesky)
    maha *= -0.5
    maha += log_det - 0.5 * means.shape[1] * _LOG_2PI
    return maha


def _fill_by_chunks(
    X: np.ndarray,
    means: np.ndarray,
    precisions_cholesky: np.ndarray,
    covariance_type: str | CovarianceStructure,
    out: np.ndarray,
    finish: Callable[[np.ndarray, slice], None],
    log_weights: np.ndarray | float = 0.0,
    family: str = "gaussian",
    family_parameters: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Walk over ``X`` in row chunks, handing each chunk's joint log probabilities on.

    For every chunk ``rows``, ``finish(log_prob, rows)`` receives the (rows, K) array
    ``log_weights + log N(x_n | mean_k, cov_k)``, a temporary it may overwrite, and
    stores what it makes of it in ``out[rows]``. Only a chunk's temporaries (about
    ``2**18`` elements per thread) exist besides ``X`` and ``out``. When ``X`` has
    missing values, the chunks are of rows grouped by pattern (``rows`` an index array)
    and the densities those of the observed coordinates. ``family`` chooses the
    components' density (:data:`FAMILY_PARAMETERS`).
    """
    structure = get_structure(covariance_type)
    parameters = check_family(family, family_parameters)
    if family == "student_t":
        return _fill_student_t_by_chunks(X, means, precisions_cholesky, structure, out,
                                         finish, log_weights, parameters["dof"])
    log_det = structure.log_det_cholesky(precisions_cholesky, means.shape[1])
    if has_missing(X):
        return _fill_observed_by_chunks(X, means, precisions_cholesky, structure, log_det,
                                        out, finish, log_weights)
    row_width = structure.row_width(*means.shape)

    def fill(rows: slice) -> None:
        for block in row_chunks(rows.stop - rows.start, row_width):
            block = slice(rows.start + block.start, rows.start + block.stop)
            log_prob = component_log_prob(X[block], means, precisions_cholesky, structure,
                                          log_det)
            log_prob += log_weights
            finish(log_prob, block)

    with RowThreads(X.shape[0], row_width) as threads:
        threads.map(fill, X.shape[0])
    return out


def _fill_student_t_by_chunks(
    X: np.ndarray,
    means: np.ndarray,
    precisions_cholesky: np.ndarray,
    structure: CovarianceStructure,
    out: np.ndarray,
    finish: Callable[[np.ndarray, slice], None],
    log_weights: np.ndarray | float,
    dof: np.ndarray,
) -> np.ndarray:
    """:func:`_fill_by_chunks` for t components (complete rows only)."""
    if has_missing(X):
        raise ValueError(
            "X has missing values (NaN), which the student_t family does not score yet. "
            "Drop or impute those rows, or use a Gaussian fit, which scores them on their "
            "observed coordinates."
        )
    n_features = means.shape[1]
    log_det = structure.log_det_cholesky(precisions_cholesky, n_features)
    for rows in row_chunks(X.shape[0], structure.row_width(*means.shape)):
        with np.errstate(over="ignore"):
            maha = structure.squared_mahalanobis(X[rows], means, precisions_cholesky)
        log_prob = student_t.student_t_log_prob(maha, log_det, dof, n_features)
        log_prob += log_weights
        finish(log_prob, rows)
    return out


def _fill_observed_by_chunks(
    X: np.ndarray,
    means: np.ndarray,
    precisions_cholesky: np.ndarray,
    structure: CovarianceStructure,
    log_det: np.ndarray,
    out: np.ndarray,
    finish: Callable[[np.ndarray, np.ndarray], None],
    log_weights: np.ndarray | float,
) -> np.ndarray:
    """:func:`_fill_by_chunks` for rows with missing values, grouped by pattern."""
    patterns = MissingPatterns(np.isnan(X))
    n_components, n_features = means.shape
    precisions = component_precisions(structure, precisions_cholesky, n_components,
                                      n_features)

    def fill(group: PatternGroup, positions: slice, inverses: MissingBlockInverses | None
             ) -> None:
        for _, block in patterns.blocks(positions, n_components, row_chunks):
            rows = patterns.order[block]
            log_prob = block_conditionals(np.nan_to_num(X[rows]), group, block, means,
                                          precisions, log_det, inverses).log_prob
            log_prob += log_weights
            finish(log_prob, rows)

    width = max(group.row_width(n_components, n_features) for group in patterns.groups)
    with RowThreads(X.shape[0], width) as threads:
        map_groups(patterns, precisions, fill, threads.map, threads.n_threads)
    return out


def _log_weights(weights: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(weights, dtype=np.float64))


def log_gaussian_prob(
    X: np.ndarray, means: np.ndarray, precisions_cholesky: np.ndarray,
    covariance_type: str | CovarianceStructure,
) -> np.ndarray:
    """Log density of each row of ``X`` under each Gaussian component.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    means : ndarray of shape (n_components, n_features)
    precisions_cholesky : ndarray
        Cholesky factors of the precisions, in the stored shape of ``covariance_type``
        (see :func:`bayesmix.covariance.precision_cholesky`).
    covariance_type : str or CovarianceStructure
        A registered structure (see :mod:`bayesmix.covariance`).

    Returns
    -------
    ndarray of shape (n_samples, n_components)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.density import log_gaussian_prob
    >>> X = np.zeros((1, 2))
    >>> log_gaussian_prob(X, np.zeros((1, 2)), np.ones((1, 2)), "diag")  # -log(2 pi)
    array([[-1.83787707]])
    """
    X = np.asarray(X, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    out = np.empty((X.shape[0], means.shape[0]))

    def store(log_prob: np.ndarray, rows: slice) -> None:
        out[rows] = log_prob

    return _fill_by_chunks(X, means, precisions_cholesky, covariance_type, out, store)


def weighted_log_prob(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    precisions_cholesky: np.ndarray,
    covariance_type: str | CovarianceStructure,
    family: str = "gaussian",
    family_parameters: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """``log(weight_k) + log N(x_n | mean_k, cov_k)`` for every row and component.

    With ``family="student_t"`` the component densities are multivariate t, the
    precisions those of the scale matrices and ``family_parameters={"dof": ...}``.

    Returns
    -------
    ndarray of shape (n_samples, n_components)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.density import weighted_log_prob
    >>> weighted_log_prob(np.zeros((1, 1)), np.array([1.0]), np.zeros((1, 1)),
    ...                   np.array([1.0]), "spherical")
    array([[-0.91893853]])
    >>> weighted_log_prob(np.zeros((1, 1)), np.array([1.0]), np.zeros((1, 1)),
    ...                   np.array([1.0]), "spherical", "student_t", {"dof": [1.0]})
    array([[-1.14472989]])
    """
    if family == "gaussian":
        out = log_gaussian_prob(X, means, precisions_cholesky, covariance_type)
        out += _log_weights(weights)
        return out
    X = np.asarray(X, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    out = np.empty((X.shape[0], means.shape[0]))

    def store(log_prob: np.ndarray, rows: slice) -> None:
        out[rows] = log_prob

    return _fill_by_chunks(X, means, precisions_cholesky, covariance_type, out, store,
                           _log_weights(weights), family, family_parameters)


def log_mixture_density(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    precisions_cholesky: np.ndarray,
    covariance_type: str | CovarianceStructure,
    out: np.ndarray | None = None,
    family: str = "gaussian",
    family_parameters: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Log density of the mixture at each row of ``X`` (log-sum-exp over components).

    Computed chunk by chunk: besides ``X`` and the result, memory holds only a few
    chunk-sized temporaries, whatever the number of rows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    precisions_cholesky : ndarray
        In the stored shape of ``covariance_type``.
    covariance_type : str or CovarianceStructure
        A registered structure (see :mod:`bayesmix.covariance`).
    out : ndarray of shape (n_samples,), optional
        Where to write the result (e.g. one row of a per-draw array).
    family : {"gaussian", "student_t"}, default="gaussian"
        The components' family; for ``"student_t"`` the precisions are those of the
        scale matrices.
    family_parameters : mapping, optional
        The family's per-component parameters (:data:`FAMILY_PARAMETERS`), e.g.
        ``{"dof": ndarray of shape (n_components,)}``.

    Returns
    -------
    ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.density import log_mixture_density
    >>> X = np.array([[0.0], [3.0]])
    >>> weights, means = np.array([0.5, 0.5]), np.array([[0.0], [3.0]])
    >>> log_mixture_density(X, weights, means, np.ones(2), "spherical").round(4)
    array([-1.601, -1.601])
    >>> log_mixture_density(X, weights, means, np.ones(2), "spherical", family="student_t",
    ...                     family_parameters={"dof": [3.0, 3.0]}).round(4)
    array([-1.6334, -1.6334])
    """
    X = np.asarray(X, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    out = np.empty(X.shape[0]) if out is None else out

    def reduce(log_prob: np.ndarray, rows: slice) -> None:
        out[rows] = logsumexp_rows(log_prob)

    return _fill_by_chunks(X, means, precisions_cholesky, covariance_type, out, reduce,
                           _log_weights(weights), family, family_parameters)


def responsibilities(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    precisions_cholesky: np.ndarray,
    covariance_type: str | CovarianceStructure,
    family: str = "gaussian",
    family_parameters: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Posterior probability of each component for each row (the E step).

    Normalised chunk by chunk, so only chunk-sized temporaries exist besides ``X`` and
    the result. ``family`` and ``family_parameters`` as in :func:`log_mixture_density`.

    Returns
    -------
    ndarray of shape (n_samples, n_components), rows summing to one.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.density import responsibilities
    >>> X = np.array([[0.0], [1.5], [3.0]])
    >>> weights, means = np.array([0.5, 0.5]), np.array([[0.0], [3.0]])
    >>> responsibilities(X, weights, means, np.ones(2), "spherical").round(3)
    array([[0.989, 0.011],
           [0.5  , 0.5  ],
           [0.011, 0.989]])
    """
    X = np.asarray(X, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    out = np.empty((X.shape[0], means.shape[0]))

    def normalise(log_prob: np.ndarray, rows: slice) -> None:
        normalise_rows(log_prob)
        out[rows] = log_prob

    return _fill_by_chunks(X, means, precisions_cholesky, covariance_type, out, normalise,
                           _log_weights(weights), family, family_parameters)


def draw_component_rows(
    rng: np.random.Generator | np.random.RandomState,
    means: np.ndarray,
    cholesky: np.ndarray,
    family: str = "gaussian",
    family_parameters: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """One row drawn from each component given (e.g. each sampled row's component).

    Parameters
    ----------
    rng : numpy.random.Generator or RandomState
    means : ndarray of shape (..., n_features)
    cholesky : ndarray of shape (..., n_features, n_features)
        Lower Cholesky factors of the covariances (the t family: of the scale matrices).
    family : {"gaussian", "student_t"}, default="gaussian"
    family_parameters : mapping, optional
        The family's parameters, each of shape ``means.shape[:-1]``.

    Returns
    -------
    ndarray of shape (..., n_features)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.density import draw_component_rows
    >>> rng = np.random.default_rng(0)
    >>> draw_component_rows(rng, np.zeros((3, 2)), np.stack([np.eye(2)] * 3)).shape
    (3, 2)
    >>> draw_component_rows(rng, np.zeros((3, 2)), np.stack([np.eye(2)] * 3), "student_t",
    ...                     {"dof": np.full(3, 4.0)}).shape
    (3, 2)
    """
    parameters = check_family(family, family_parameters)
    if family == "student_t":
        return student_t.draw_rows(rng, means, cholesky, parameters["dof"])
    noise = rng.standard_normal(np.shape(means))
    return means + np.einsum("...ij,...j->...i", cholesky, noise)
