"""Initial responsibilities for EM.

EM starts from a soft or hard assignment of the rows to components; the first M step
turns it into weights, means and covariances. The four schemes are scikit-learn's:

``"kmeans"``
    hard labels of a k-means fit (one k-means++ seeding, weighted by ``sample_weight``;
    scikit-learn's ``KMeans`` centres a copy of ``X``);
``"k-means++"``
    hard labels on the k-means++ seeds only (cheap, spread-out starting means), drawn on
    a centred copy of ``X``: the squared distances are expanded as
    ``|x|^2 - 2 x.c + |c|^2``, which loses precision on data far from the origin;
``"random"``
    uniform random responsibilities, normalised per row;
``"random_from_data"``
    hard labels on ``n_components`` distinct rows drawn at random.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus

__all__ = ["INIT_METHODS", "initial_responsibilities"]

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")


def _one_hot_rows(n_samples: int, indices: np.ndarray) -> np.ndarray:
    resp = np.zeros((n_samples, len(indices)))
    resp[indices, np.arange(len(indices))] = 1.0
    return resp


def initial_responsibilities(
    X: np.ndarray,
    n_components: int,
    init_params: str,
    random_state: np.random.RandomState,
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    """Responsibilities ``(n_samples, n_components)`` to start EM from.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_components : int
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}
    random_state : numpy.random.RandomState
    sample_weight : ndarray of shape (n_samples,), optional
        Row weights; rows of weight zero are never chosen as seeds.

    Returns
    -------
    ndarray of shape (n_samples, n_components)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.init import initial_responsibilities
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> resp = initial_responsibilities(X, 2, "kmeans", np.random.RandomState(0))
    >>> resp.sum(axis=0)
    array([2., 2.])
    """
    n_samples = X.shape[0]
    if init_params == "kmeans":
        labels = (
            KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
            .fit(X, sample_weight=sample_weight)
            .labels_
        )
        resp = np.zeros((n_samples, n_components))
        resp[np.arange(n_samples), labels] = 1.0
        return resp
    if init_params == "random":
        resp = random_state.uniform(size=(n_samples, n_components))
        resp /= resp.sum(axis=1, keepdims=True)
        return resp
    if init_params == "random_from_data":
        probabilities = None
        if sample_weight is not None:
            probabilities = sample_weight / sample_weight.sum()
        indices = random_state.choice(n_samples, size=n_components, replace=False,
                                      p=probabilities)
        return _one_hot_rows(n_samples, indices)
    if init_params == "k-means++":
        _, indices = kmeans_plusplus(X - X.mean(axis=0), n_components,
                                     sample_weight=sample_weight, random_state=random_state)
        return _one_hot_rows(n_samples, indices)
    raise ValueError(
        f"init_params must be one of {', '.join(map(repr, INIT_METHODS))}, got {init_params!r}."
    )
