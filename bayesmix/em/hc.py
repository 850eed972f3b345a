"""Model-based agglomerative hierarchical clustering, as R mclust's ``hc`` and ``hclass``.

``Mclust`` starts EM from a merge tree: every row begins as its own group and, at each
step, the two groups whose merge raises a Gaussian classification criterion the least
are merged (Fraley 1998, "Algorithms for model-based Gaussian hierarchical clustering",
SIAM J. Sci. Comput. 20, 270-281). Cutting the tree at ``K`` groups gives the initial
partition for a ``K``-component fit. This module follows mclust 6 (``R/mbahc.R`` and the
Fortran ``hcvvv``, ``hc1v``, ``hceii``, ``hc1e`` and ``wardsw`` of ``src/mclust.f``):

* the data are first transformed as ``mclust.options("hcUse")`` says; the default,
  ``"SVD"``, standardises the columns and rotates them onto their singular vectors,
  scaled by the inverse square roots of the singular values (:func:`transform_for_hc`);
* ``"VVV"`` (the default model for several features) merges by the criterion of
  ``hcvvv``: a group of ``n`` rows with scatter ``W`` costs
  ``n log((tr W + alpha) / n)`` while ``n <= n_features``, and
  ``n log(det(W / n) + (tr W + alpha) / n)`` beyond, ``alpha`` being the mean squared
  deviation of the transformed data (``hcVVV``'s ``traceW(data / sqrt(n p))``; its
  ``beta`` is 1). The determinant is mclust's, not the textbook one: the Fortran
  stores each merged group's triangular factor with the factor's first row copied
  into every row, and the agglomeration reproduces that;
* ``"V"``, the one-dimensional counterpart ``hc1v``, costs ``n log((tr W + alpha) / n)``
  with ``alpha`` the machine epsilon (``hcV`` takes ``min(alpha, eps)``, which makes
  the tree grow one group a row at a time; R's ``hc1v`` also overruns its work array
  below 10 rows); ``"EII"`` and ``"E"`` are Ward's criterion, updated by the
  Lance-Williams formula as ``hceii`` and ``hc1e`` do;
* the arithmetic follows the Fortran's order (scaled sums, ``ddot``'s order of
  additions, R's extended-precision ``scale``), and ties go where the Fortran puts
  them: the cheapest pair is the last one met when its packed cost triangle is read
  column by column, and after a merge the last group takes the slot of the group
  merged away (``wardsw``);
* :func:`partitions_from_merges` is ``hclass``: the groups after all merges but the
  last ``K - 1``, numbered in order of their first row.

The agglomerations are compiled (:mod:`bayesmix.em.hc_kernel`, one loop per tree): each
group keeps its size, trace, cost and scaled row sum (and for ``"VVV"`` a Gram matrix),
so a merge recomputes only the merged group's costs to the others, and each row's
cheapest partner is cached, so that finding the next merge is linear in the number of
groups.

``Mclust`` builds the tree on a random subset of ``mclust.options("subset")`` (2000) rows
when there are more; :func:`hierarchical_partitions` does the same and extends each
subset partition to every row as ``mclustBIC`` does, by one M step on the subset and one
E step on all rows. (For one-dimensional data ``Mclust`` starts from quantiles, not
from a tree.)

"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy.linalg import solve_triangular
from sklearn.utils import check_random_state

__all__ = [
    "HC_MODELS",
    "HC_TRANSFORMS",
    "DEFAULT_SUBSET",
    "hierarchical_merges",
    "hierarchical_partitions",
    "partitions_from_merges",
    "transform_for_hc",
]

#: Covariance models of the merge criterion: mclust's names.
HC_MODELS = ("VVV", "EII", "V", "E")
#: Data transformations before clustering (``mclust.options("hcUse")``).
HC_TRANSFORMS = ("SVD", "VARS", "STD", "PCS", "PCR", "SPH")
#: Rows beyond which the tree is built on a random subset (``mclust.options("subset")``).
DEFAULT_SUBSET = 2000

_ONE_DIMENSIONAL_MODELS = ("V", "E")
_EPS = np.finfo(float).eps
_REG_COVAR = 1e-6  # added to the subset covariances, which may be singular


# --- data transformations (hc's ``use``) ---------------------------------------------


def _r_scale(X: np.ndarray, scale: bool) -> np.ndarray:
    """R's ``scale(X, center=TRUE, scale=scale)``, with R's extended-precision sums."""
    n_samples = X.shape[0]
    centred = X - (X.astype(np.longdouble).sum(axis=0) / n_samples).astype(float)
    if not scale:
        return centred
    squares = (centred * centred).astype(np.longdouble).sum(axis=0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return centred / np.sqrt(squares / max(1, n_samples - 1))


def _finite_columns(Z: np.ndarray) -> np.ndarray:
    """hc's ``dropCols``: the columns without an infinite or missing value."""
    return Z[:, np.isfinite(Z).all(axis=0)]


def _r_matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` summed term by term in order, as the reference BLAS ``dgemm`` R calls."""
    product = A[:, :1] * B[0]
    for term in range(1, A.shape[1]):
        product = product + A[:, term : term + 1] * B[term]
    return product


def _rotation(Z: np.ndarray, drop_null: bool) -> tuple[np.ndarray, np.ndarray]:
    """Right singular vectors and singular values of ``Z``.

    With ``drop_null``, the directions of singular value zero (to rounding) are left
    out: R would divide by their singular values and fail on the non-finite result.
    """
    _, singular_values, vt = np.linalg.svd(Z, full_matrices=False)
    keep = singular_values > (singular_values[:1] * max(Z.shape) * _EPS if drop_null else -1.0)
    return vt[keep].T, singular_values[keep]


def transform_for_hc(X: np.ndarray, use: str = "SVD") -> np.ndarray:
    """The data as mclust's ``hc(X, use=use)`` clusters them.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    use : {"SVD", "VARS", "STD", "PCS", "PCR", "SPH"}, default="SVD"
        ``"VARS"``: the data as they are; ``"STD"``: standardised columns; ``"PCS"``:
        centred principal components; ``"PCR"``: principal components of the
        standardised columns; ``"SPH"``: sphered (principal components of the centred
        data divided by the square roots of the covariance eigenvalues); ``"SVD"``:
        principal components of the standardised columns divided by the square roots of
        the singular values (mclust's default since 5.4).

    Returns
    -------
    ndarray of shape (n_samples, n_kept)
        Constant columns are dropped by the standardising transformations, and
        directions the data do not span by ``"SVD"`` and ``"SPH"``.

    Raises
    ------
    ValueError
        If no column is left.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.hc import transform_for_hc
    >>> X = np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0], [3.0, 6.0]])
    >>> Z = transform_for_hc(X, "SVD")
    >>> np.round(np.diag(Z.T @ Z), 6)  # the singular values of the standardised data
    array([2.347335, 0.700014])
    """
    use = _check_use(use)
    if use == "VARS":
        return X
    Z = _finite_columns(_r_scale(X, scale=use in ("STD", "PCR", "SVD")))
    if Z.shape[1] == 0:
        raise ValueError(
            f"Every column of X is constant: the hierarchical start has nothing to cluster "
            f"(use={use!r} standardises the columns). Pass data with at least one varying "
            "feature."
        )
    if use == "STD":
        return Z
    if use == "SPH":
        n_samples, n_features = Z.shape
        covariance = np.cov(Z, rowvar=False).reshape(n_features, n_features)
        vectors, values = _rotation(covariance * (n_samples - 1) / n_samples, drop_null=True)
        return _r_matmul(Z, vectors) * (1.0 / np.sqrt(values))
    vectors, singular_values = _rotation(Z, drop_null=use == "SVD")
    if use == "SVD":
        return _r_matmul(Z, vectors) * (1.0 / np.sqrt(singular_values))
    return _r_matmul(Z, vectors)


# --- the merges ----------------------------------------------------------------------


def _sum_in_order(terms: Iterable[Any]) -> Any:
    """``terms[0] + terms[1] + ...``, added in order as the reference BLAS ``ddot`` does."""
    terms = iter(terms)
    total = next(terms)
    for term in terms:
        total = total + term
    return total


def _trace_alpha(Z: np.ndarray) -> float:
    """hcVVV's ``traceW(data / sqrt(n p))``, summed in order as the Fortran ``mcltrw``."""
    n_samples, n_features = Z.shape
    scaled = Z / np.sqrt(n_samples * n_features)
    factor = 1.0 / np.sqrt(n_samples)
    centre = np.add.accumulate(factor * scaled, axis=0)[-1]
    deviations = scaled + (-factor) * centre
    total = _sum_in_order(np.add.accumulate(deviations * deviations, axis=0)[-1].tolist())
    return max(total, _EPS)


def _merges_of(Z: np.ndarray, model: str) -> np.ndarray:
    """The merges of ``model``'s criterion on the transformed data, compiled (Numba loads
    on first use)."""
    from bayesmix.em.hc_kernel import agglomerate_v, agglomerate_vvv, agglomerate_ward

    Z = np.ascontiguousarray(Z, dtype=np.float64)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        if model in ("EII", "E"):
            return agglomerate_ward(Z)
        if model == "VVV":
            return agglomerate_vvv(Z, _trace_alpha(Z))
        return agglomerate_v(Z, _EPS)


# --- argument checks -----------------------------------------------------------------


def _check_use(use: Any) -> str:
    if not isinstance(use, str) or use.upper() not in HC_TRANSFORMS:
        raise ValueError(
            f"use must be one of {', '.join(map(repr, HC_TRANSFORMS))} (mclust's hcUse), "
            f"got {use!r}. Use 'SVD', mclust's default."
        )
    return use.upper()


def _check_model(model: Any, n_features: int) -> str:
    if not isinstance(model, str) or model.upper() not in HC_MODELS:
        raise ValueError(
            f"model must be one of {', '.join(map(repr, HC_MODELS))}, got {model!r}. "
            "Use 'VVV' for several features, 'E' for one."
        )
    model = model.upper()
    if model in _ONE_DIMENSIONAL_MODELS and n_features != 1:
        raise ValueError(
            f"model={model!r} is for one-dimensional data, but X has {n_features} "
            "features. Use 'VVV' or 'EII'."
        )
    return model


def _default_model(n_samples: int, n_features: int) -> str:
    """The model ``Mclust`` uses: ``hcModelName`` unless rows are too few for it.

    For one feature ``Mclust`` uses no tree (its commented-out alternative is ``"E"``);
    ``"V"`` is no fit start: ``hcV`` sets ``alpha`` to ``min(alpha, eps)``, so that a
    row alone costs ``log(eps)`` and the tree grows one group a row at a time.
    """
    if n_features == 1:
        return "E"
    return "VVV" if n_samples > n_features else "EII"


def _check_ks(ks: Any, n_rows: int) -> list[int]:
    try:
        given = list(ks)
        values = [int(k) for k in given]
        valid = len(values) > 0 and all(value == k for value, k in zip(values, given))
    except (TypeError, ValueError):
        valid = False
    if not valid or not all(1 <= k <= n_rows for k in values):
        raise ValueError(
            f"ks must be a non-empty sequence of integers between 1 and {n_rows} (the "
            f"rows the tree is built on), got {ks!r}. Pass e.g. range(1, 10)."
        )
    return values


def _check_subset(subset: Any) -> int | None:
    if subset is None:
        return None
    is_integer = isinstance(subset, (int, np.integer)) and not isinstance(subset, (bool, np.bool_))
    if not is_integer or subset < 2:
        raise ValueError(
            f"subset must be None or an integer >= 2 (rows to build the tree on), got "
            f"{subset!r}. Use {DEFAULT_SUBSET}, mclust's default."
        )
    return int(subset)


# --- public API ----------------------------------------------------------------------


def hierarchical_merges(X: np.ndarray, model: str = "VVV", use: str = "SVD") -> np.ndarray:
    """The merge sequence of mclust's ``hc(X, modelName=model, use=use)``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated float data.
    model : {"VVV", "EII", "V", "E"}, default="VVV"
        The merge criterion: ``"VVV"`` (groups with their own full covariance) and
        ``"EII"`` (Ward) for any number of features, ``"V"`` and ``"E"`` their
        one-dimensional counterparts.
    use : {"SVD", "VARS", "STD", "PCS", "PCR", "SPH"}, default="SVD"
        The transformation of the data first, see :func:`transform_for_hc`.

    Returns
    -------
    ndarray of shape (n_samples - 1, 2)
        Merge ``s`` joins the groups labelled ``merges[s, 0] < merges[s, 1]``; a group
        is labelled by its first row (0-based). This is ``t(hc(X)) - 1`` in R.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.hc import hierarchical_merges
    >>> X = np.array([[0.0, 0.0], [0.1, 0.3], [5.0, 5.0], [5.2, 4.9], [0.2, 0.1]])
    >>> hierarchical_merges(X)
    array([[0, 4],
           [0, 1],
           [2, 3],
           [0, 2]])
    """
    model = _check_model(model, X.shape[1])
    return _merges_of(transform_for_hc(X, use), model)


def partitions_from_merges(merges: np.ndarray, ks: Iterable[int]) -> dict[int, np.ndarray]:
    """mclust's ``hclass``: the partition into ``K`` groups for each ``K`` in ``ks``.

    Parameters
    ----------
    merges : ndarray of shape (n_samples - 1, 2)
        As returned by :func:`hierarchical_merges`.
    ks : iterable of int
        Numbers of groups, each between 1 and ``n_samples``.

    Returns
    -------
    dict
        ``K -> labels``: an int ndarray of shape (n_samples,) with values ``0..K-1``,
        numbered in the order of each group's first row.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.hc import partitions_from_merges
    >>> merges = np.array([[0, 4], [0, 1], [2, 3], [0, 2]])
    >>> partitions_from_merges(merges, [2, 3])
    {2: array([0, 0, 1, 1, 0]), 3: array([0, 0, 1, 2, 0])}
    """
    n_samples = len(merges) + 1
    wanted = _check_ks(ks, n_samples)
    groups = np.arange(n_samples)
    found = {n_samples: groups.copy()}
    fewest = min(wanted)
    for step, (kept, merged_away) in enumerate(merges[: n_samples - fewest], start=1):
        groups[groups == merged_away] = kept
        if n_samples - step in wanted:
            found[n_samples - step] = groups.copy()
    return {k: _numbered_by_first_row(found[k]) for k in wanted}


def _numbered_by_first_row(groups: np.ndarray) -> np.ndarray:
    _, first_rows, inverse = np.unique(groups, return_index=True, return_inverse=True)
    rank = np.empty(len(first_rows), dtype=np.int64)
    rank[np.argsort(first_rows)] = np.arange(len(first_rows))
    return rank[inverse.ravel()]


def _map_labels(X: np.ndarray, rows: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Labels of all rows: one full-covariance M step on ``rows``, one E step on ``X``.

    This is how ``mclustBIC`` carries a subset partition to the data; a ridge of
    ``1e-6`` keeps the covariances of groups with fewer rows than features usable.
    """
    n_groups = labels.max() + 1
    n_features = X.shape[1]
    log_density = np.empty((X.shape[0], n_groups))
    for group in range(n_groups):
        members = X[rows[labels == group]]
        mean = members.mean(axis=0)
        deviations = members - mean
        covariance = deviations.T @ deviations / len(members) + _REG_COVAR * np.eye(n_features)
        cholesky = np.linalg.cholesky(covariance)
        whitened = solve_triangular(cholesky, (X - mean).T, lower=True)
        log_density[:, group] = (
            np.log(len(members) / len(rows))
            - np.log(np.diag(cholesky)).sum()
            - 0.5 * (whitened * whitened).sum(axis=0)
        )
    return np.argmax(log_density, axis=1)


def hierarchical_partitions(
    X: np.ndarray,
    ks: Iterable[int],
    model: str | None = None,
    use: str = "SVD",
    subset: int | None = DEFAULT_SUBSET,
    random_state: Any = None,
    cache: dict[Any, Any] | None = None,
) -> dict[int, np.ndarray]:
    """Partitions of ``X`` into ``K`` groups, for each ``K``, as ``Mclust`` starts EM.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated float data.
    ks : iterable of int
        Numbers of groups, each between 1 and the rows the tree is built on.
    model : {"VVV", "EII", "V", "E"} or None, default=None
        The merge criterion. ``None`` takes ``Mclust``'s: ``"VVV"``, or ``"EII"`` when
        there are no more rows than features; ``"E"`` for one feature (``Mclust``
        itself starts one-dimensional fits from quantiles instead).
    use : {"SVD", "VARS", "STD", "PCS", "PCR", "SPH"}, default="SVD"
        The transformation of the data first, see :func:`transform_for_hc`.
    subset : int or None, default=2000
        With more rows than this, the tree is built on this many rows drawn at random,
        and each partition extended to all rows by one M step (full covariances) on
        them and one E step on all rows. ``None`` always uses all rows (memory grows
        as ``8 n_samples**2`` bytes).
    random_state : int, RandomState instance or None, default=None
        Draws the subset.
    cache : dict, optional
        Keeps the tree (and the subset) for later calls on the same ``X``.

    Returns
    -------
    dict
        ``K -> labels``: an int ndarray of shape (n_samples,) with values in
        ``0..K-1``, numbered by first row when the tree is built on all rows.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.hc import hierarchical_partitions
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (30, 2)), rng.normal(8, 1, (30, 2))])
    >>> labels = hierarchical_partitions(X, [2])[2]
    >>> np.bincount(labels)
    array([30, 30])
    """
    n_samples, n_features = X.shape
    if model is None:
        model = _default_model(n_samples, n_features)
    model = _check_model(model, n_features)
    use = _check_use(use)
    subset = _check_subset(subset)
    n_rows = n_samples if subset is None else min(subset, n_samples)
    wanted = _check_ks(ks, n_rows)

    cache = {} if cache is None else cache
    key = ("hc", model, use, n_rows)
    if key not in cache:
        rows = np.arange(n_samples)
        if n_rows < n_samples:
            rows = check_random_state(random_state).choice(n_samples, n_rows, replace=False)
        cache[key] = rows, _merges_of(transform_for_hc(X[rows], use), model)
    rows, merges = cache[key]
    partitions = partitions_from_merges(merges, wanted)
    if n_rows == n_samples:
        return partitions
    return {k: _map_labels(X, rows, labels) for k, labels in partitions.items()}
