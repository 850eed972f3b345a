""":func:`~bayesmix.select_em`'s default ``reg_covar``: a fraction of the data's scale,
which clusters far apart do not inflate.

A ``reg_covar`` added to every covariance keeps the fits positive definite and marks a
collapsed component (one whose variance falls to the floor it sets). An absolute value
is wrong for data in other units, so the default is :data:`RELATIVE_REG_COVAR` times a
column's variance, the smallest over the columns (or of the data's variance across
nearly collinear columns, if smaller). But the spread between well separated
clusters inflates a column's variance: two unit-variance clusters 10,000 standard
deviations apart would get a ``reg_covar`` of 25, which swamps the clusters' own
variance and flags every fit with more than one component as collapsed. So a column's
scale is its variance or :data:`WITHIN_FACTOR` times its variance *within* its
single-linkage clusters, whichever is smaller: the column is cut at its widest gaps
into as many groups as the grid has components at most (for one feature, single
linkage is exactly this), and the variances about the groups' means are pooled. A
column without clusters far apart keeps its variance (the cuts split off at most a few
tail values); the clusters of one that has them get at most ``RELATIVE_REG_COVAR *
WITHIN_FACTOR`` of their variance added.

Clusters about a million of their standard deviations apart are still flagged: their
variance is then below :data:`~bayesmix.em.diagnostics.COLLAPSE_RTOL` times the data's,
which counts as collapsed whatever ``reg_covar`` is.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EIGENVALUE_FLOOR", "RELATIVE_REG_COVAR", "UNSCALED_REG_COVAR", "WITHIN_FACTOR",
           "WITHIN_ROWS", "default_reg_covar", "within_cluster_variances"]

#: :func:`~bayesmix.select_em`'s default ``reg_covar``, relative to the smallest of the
#: columns' scales (:func:`default_reg_covar`).
RELATIVE_REG_COVAR = 1e-6
#: The data's variance in any direction counts as at least this fraction of its largest
#: (:func:`default_reg_covar`): of collinear columns, the direction they leave has a
#: variance of rounding errors, which would make ``reg_covar`` too small to keep the
#: covariances positive definite (with :data:`RELATIVE_REG_COVAR`, their condition
#: numbers stay below 1e12).
EIGENVALUE_FLOOR = 1e-6
#: A column's scale is at most this times its variance within its clusters.
WITHIN_FACTOR = 100.0
#: The within-cluster variances of more rows come from every k-th row, at most this
#: many (sorting a million-row column takes 0.1 s; the gaps of clusters far apart show
#: in a sample).
WITHIN_ROWS = 100_000
#: The default ``reg_covar`` where a column is constant (the estimators' default).
UNSCALED_REG_COVAR = 1e-6


def within_cluster_variances(X: np.ndarray, n_groups: int) -> np.ndarray:
    """Each column's variance within its single-linkage clusters.

    The column's observed values (NaN is left out) are cut at their ``n_groups - 1``
    widest gaps, and the squared deviations from each group's mean are pooled: their
    sum divided by the number of values less the number of groups (one-way ANOVA's
    within-group mean square). A column whose groups are all constant (it has at most
    ``n_groups`` distinct values: a discrete column, which such a cut would split into
    its values) gets its variance instead, as does every column when ``n_groups`` is 1.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_groups : int
        Groups per column, at least 1.

    Returns
    -------
    ndarray of shape (n_features,)

    Examples
    --------
    Two clusters of unit variance 10,000 apart: the first column's variance is about
    25,000,000, its within-cluster variance about 1. The second column is one cluster:
    the cuts split off its most extreme values, and it keeps most of its variance:

    >>> import numpy as np
    >>> from bayesmix.selection.regularisation import within_cluster_variances
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)) + np.repeat([[0.0, 0.0], [1e4, 0.0]], 100, axis=0)
    >>> X.var(axis=0).round(-5)
    array([25000000.,        0.])
    >>> within_cluster_variances(X, 2).round(2)
    array([0.97, 0.95])
    >>> (within_cluster_variances(X, 9) / X.var(axis=0)).round(2)
    array([0.  , 0.66])
    """
    variances = np.empty(X.shape[1])
    for column, values in enumerate(X.T):
        values = np.sort(values[~np.isnan(values)])
        variance = values.var() if values.size else 0.0
        n_cuts = min(n_groups, values.size - 1) - 1
        if n_cuts > 0:
            gaps = np.diff(values)
            starts = np.zeros(values.size, dtype=np.intp)  # 1 where a group starts
            starts[np.argpartition(gaps, -n_cuts)[-n_cuts:] + 1] = 1
            group = np.cumsum(starts)
            means = np.bincount(group, values) / np.bincount(group)
            within = np.sum(np.square(values - means[group])) / (values.size - n_cuts - 1)
            variance = within if within > 0.0 else variance
        variances[column] = variance
    return variances


def default_reg_covar(X: np.ndarray, n_groups: int, covariance: np.ndarray | None = None
                      ) -> float:
    """:data:`RELATIVE_REG_COVAR` times the data's smallest scale, or
    :data:`UNSCALED_REG_COVAR` when a column is constant.

    The smallest scale is the smallest of the columns' scales and of the data's
    variance in any direction. A column's scale is its variance or :data:`WITHIN_FACTOR`
    times its variance within its clusters (:func:`within_cluster_variances` with
    ``n_groups``, of every k-th row when there are more than :data:`WITHIN_ROWS`),
    whichever is smaller (NaN left out). The smallest variance in any direction is the
    covariance's smallest eigenvalue, or :data:`EIGENVALUE_FLOOR` times its largest if
    that is more: where columns are nearly collinear (longley's economic series) a
    ``reg_covar`` scaled by the columns alone is large beside the variance of the
    direction they leave, and lowers every fit's likelihood noticeably (longley's EEE
    with 9 components by 0.18 against mclust, which has no ``reg_covar``). ``covariance``:
    the data's covariance (D, D), when known (else that of the complete rows).

    Examples
    --------
    The first column is two clusters 10 apart, of within-group mean square 0.005: its
    scale is 0.5, not its variance, 25. The second column is two values, which a cut
    would split into constant groups: its scale, 2.25, is its variance:

    >>> import numpy as np
    >>> from bayesmix.selection.regularisation import default_reg_covar
    >>> X = np.array([[0.0, 1.0], [0.1, 4.0], [10.0, 4.0], [10.1, 1.0]])
    >>> round(default_reg_covar(X, 1), 15), round(default_reg_covar(X, 2), 15)
    (2.25e-06, 5e-07)
    >>> default_reg_covar(np.array([[1.0, 2.0], [1.0, 3.0]]), 2)
    1e-06

    Two columns that nearly follow each other vary little across their line:

    >>> X = np.array([[0.0, 0.0], [1.0, 1.1], [2.0, 1.9], [3.0, 3.0]])
    >>> float(X.var(axis=0).min()), round(default_reg_covar(X, 1), 10)
    (1.205, 2.3e-09)
    """
    if covariance is None:
        complete = X[~np.isnan(X).any(axis=1)]
        covariance = np.cov(complete, rowvar=False, bias=True).reshape(X.shape[1], X.shape[1])
    sample = X[::-(-len(X) // WITHIN_ROWS)]
    scales = np.minimum(np.diagonal(covariance),
                        WITHIN_FACTOR * within_cluster_variances(sample, n_groups))
    smallest = float(scales.min())
    if not smallest > 0.0:
        return UNSCALED_REG_COVAR
    eigenvalues = np.linalg.eigvalsh(covariance)
    across = max(float(eigenvalues[0]), EIGENVALUE_FLOOR * float(eigenvalues[-1]))
    return RELATIVE_REG_COVAR * min(smallest, across)
