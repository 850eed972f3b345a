"""A uniform noise component's density and initial noise points.

A noise component (Banfield & Raftery 1993; mclust's ``noise``) is a uniform density
``1 / V`` over the data's region, ``V`` its hypervolume as mclust's ``hypvol`` computes it
(:func:`hypervolume`). EM needs a first guess of which rows are noise:
:func:`nearest_neighbour_noise` is Byers & Raftery's (1998) nearest-neighbour cleaning.
The E step of every family adds the noise column to its responsibilities with
:func:`fold_noise`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.neighbors import NearestNeighbors

from bayesmix._validation import check_array, check_int

__all__ = ["fold_noise", "hypervolume", "nearest_neighbour_noise", "noise_responsibilities"]


def _log_range_volume(X: np.ndarray) -> float:
    return float(np.log(np.ptp(X, axis=0)).sum())


def hypervolume(X: Any) -> float:
    """The data's hypervolume, as R mclust's ``hypvol``.

    The smaller of the bounding box's volume in the data's coordinates and in its
    principal components' (the ranges of the rotated, centred rows): the latter is
    the tighter box for elongated, correlated data. One feature: the range.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.families.noise import hypervolume
    >>> hypervolume(np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 3.0], [2.0, 3.0]]))
    6.0
    >>> float(round(hypervolume(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.1]])), 4))
    0.1008
    """
    X = check_array(X, min_samples=2)
    if X.shape[1] == 1:
        return float(np.ptp(X))
    centred = X - X.mean(axis=0)
    _, eigenvectors = np.linalg.eigh(centred.T @ centred)
    log_volume = min(_log_range_volume(X), _log_range_volume(centred @ eigenvectors))
    return float(np.exp(log_volume))


def nearest_neighbour_noise(X: Any, n_neighbors: int = 10, max_iter: int = 500,
                            tol: float = 1e-10) -> np.ndarray:
    """Rows that look like noise by Byers & Raftery's (1998) nearest-neighbour cleaning.

    For points of a Poisson process of intensity ``lambda`` in ``D`` dimensions, the
    ``D``-th power of the distance to the ``k``-th nearest neighbour, ``y = d_k**D``, is
    Gamma distributed with shape ``k`` and rate ``lambda alpha_D`` (``alpha_D`` the unit
    ball's volume). Feature rows and noise rows are two processes of different
    intensities, so ``y`` is fitted by a two-component mixture of Gamma(k, rate)
    densities by EM (closed-form updates: ``rate_j = k sum_n r_nj / sum_n r_nj y_n``),
    started from the rows below the median (feature) and above the 90th percentile
    (noise). The rule: a row is noise when its posterior probability of the
    low-intensity component exceeds 1/2.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_neighbors : int, default=10
        ``k``: Byers & Raftery's choice; mclust's examples with prabclus' ``NNclean``
        use 5 to 10.
    max_iter : int, default=500
    tol : float, default=1e-10
        Stop when the mean log-likelihood of ``y`` changes by less.

    Returns
    -------
    ndarray of bool, shape (n_samples,)
        True for the rows judged noise.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.families.noise import nearest_neighbour_noise
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(200, 2)), rng.uniform(-20, 20, size=(10, 2))])
    >>> noise = nearest_neighbour_noise(X)
    >>> int(noise[200:].sum()), int(noise[:200].sum())  # all the outliers, a few tail rows
    (10, 5)
    """
    X = check_array(X, min_samples=2)
    n_samples, n_features = X.shape
    k = check_int(n_neighbors, "n_neighbors", min_value=1)
    if k >= n_samples:
        raise ValueError(
            f"n_neighbors={k} needs more than {k} rows, but X has {n_samples}. Lower "
            f"n_neighbors.")
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    # Scaled by the median so that the D-th power neither overflows nor underflows.
    radius = distances[:, k] / np.median(distances[:, k])
    powers = np.maximum(radius, np.finfo(np.float64).tiny) ** n_features
    feature, noise = powers <= np.median(powers), powers >= np.quantile(powers, 0.9)
    rates = np.array([k / powers[feature].mean(), k / powers[noise].mean()])
    shares = np.array([0.9, 0.1])
    previous = -np.inf
    for _ in range(max_iter):
        # log Gamma(y | k, rate) without the terms common to both components
        log_prob = np.log(shares) + k * np.log(rates) - np.outer(powers, rates)
        log_norm = np.logaddexp(log_prob[:, 0], log_prob[:, 1])
        resp = np.exp(log_prob - log_norm[:, np.newaxis])
        current = log_norm.mean()
        counts = resp.sum(axis=0) + np.finfo(np.float64).eps
        shares = counts / n_samples
        rates = k * counts / (resp.T @ powers)
        if current - previous < tol:
            break
        previous = current
    return resp[:, int(np.argmin(rates))] > 0.5


def fold_noise(resp: np.ndarray, log_norm: np.ndarray, log_noise: float,
               labels: np.ndarray | None = None) -> np.ndarray:
    """Add a noise column to normalised responsibilities, in place; return its column.

    ``resp`` holds the components' responsibilities of a block of rows, rows summing to
    one, and ``log_norm`` the log of each row's component mixture density (as
    :func:`bayesmix.density.normalise_rows` leaves them). With the noise term
    ``log_noise = log(pi_0) - log(V)``, each row's density becomes ``exp(log_norm) +
    exp(log_noise)``: ``log_norm`` is overwritten with its log, ``resp`` is rescaled so
    that its rows sum to one minus the noise responsibility, which is returned.

    Parameters
    ----------
    resp : ndarray of shape (n_rows, n_components)
    log_norm : ndarray of shape (n_rows,)
    log_noise : float
    labels : ndarray of shape (n_rows,), optional
        The rows' most likely components, set here to -1 where the noise is more likely.

    Returns
    -------
    ndarray of shape (n_rows,)
        Each row's responsibility of the noise component.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.families.noise import fold_noise
    >>> resp, log_norm = np.array([[0.25, 0.75]]), np.log([3.0])
    >>> fold_noise(resp, log_norm, np.log(1.0)), resp, np.exp(log_norm)
    (array([0.25]), array([[0.1875, 0.5625]]), array([4.]))
    """
    total = np.logaddexp(log_norm, log_noise)
    resp *= np.exp(log_norm - total)[:, np.newaxis]
    noise_resp = np.exp(log_noise - total)
    log_norm[...] = total
    if labels is not None:
        labels[noise_resp > resp.max(axis=1)] = -1
    return noise_resp


def noise_responsibilities(resp: np.ndarray, noise_rows: np.ndarray) -> np.ndarray:
    """Starting responsibilities with a noise column, as mclust builds them.

    The rows ``noise_rows`` marks are all noise; the others keep ``resp``'s shares of
    the components (``resp`` has one row per row not marked).

    Parameters
    ----------
    resp : ndarray of shape (n_not_noise, n_components)
    noise_rows : ndarray of bool, shape (n_samples,)

    Returns
    -------
    ndarray of shape (n_samples, n_components + 1)
        The noise last.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.families.noise import noise_responsibilities
    >>> noise_responsibilities(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([False, True, False]))
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
    """
    full = np.zeros((noise_rows.shape[0], resp.shape[1] + 1))
    full[~noise_rows, :-1] = resp
    full[noise_rows, -1] = 1.0
    return full
