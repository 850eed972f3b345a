"""Initial responsibilities for EM.

EM starts from a soft or hard assignment of the rows to components; the first M step
turns it into weights, means and covariances. Four schemes are scikit-learn's, one is
mclust's:

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
    hard labels on ``n_components`` distinct rows drawn at random;
``"hc"``
    mclust's start: its model-based agglomerative hierarchical clustering
    (:mod:`bayesmix.em.hc`), cut at ``n_components`` groups; for one feature, its
    quantile classes instead (:func:`quantile_partition`), as ``Mclust`` starts
    one-dimensional data. Deterministic (the subset of more than 2,000 rows the tree is
    built on is drawn with a fixed seed): one merge tree serves every number of
    components, and it is computed once per data source.

A ``cache`` dict (a data source's) keeps the partitions that fits on the same data can
share: the merge tree, and each k-means partition by number of components and position
in a seeded random sequence, so that model selection runs them once for all the
covariance structures.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
from sklearn import config_context
from sklearn.cluster import KMeans, kmeans_plusplus

from bayesmix.em.hc import hierarchical_partitions

__all__ = ["DETERMINISTIC_INITS", "INIT_METHODS", "cache_hierarchical_partitions",
           "initial_responsibilities", "quantile_partition"]

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data", "hc")
#: Schemes that ignore the seed: restarting them gives the same start.
DETERMINISTIC_INITS = ("hc",)


def _one_hot(labels: np.ndarray, n_components: int) -> np.ndarray:
    resp = np.zeros((labels.shape[0], n_components))
    resp[np.arange(labels.shape[0]), labels] = 1.0
    return resp


def _one_hot_rows(n_samples: int, indices: np.ndarray) -> np.ndarray:
    resp = np.zeros((n_samples, len(indices)))
    resp[indices, np.arange(len(indices))] = 1.0
    return resp


def _kmeans_labels(X, n_components, random_state, sample_weight):
    if n_components == 1:  # what k-means gives, without its cost
        return np.zeros(X.shape[0], dtype=np.intp)
    # X and the settings are checked already: scikit-learn's own checks cost as much as
    # the clustering itself on small data.
    with config_context(assume_finite=True, skip_parameter_validation=True):
        return (KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
                .fit(X, sample_weight=sample_weight).labels_)


def quantile_partition(x: np.ndarray, n_components: int) -> np.ndarray:
    """mclust's quantile classes of one-dimensional data (its ``qclass``), labels 0..K-1.

    The breaks are the fewest equally spaced sample quantiles (R's default, type 7) that
    give ``n_components + 1`` distinct values; when more are distinct, the left ends of
    the narrowest gaps go (the first of equal gaps first). The outer breaks are moved
    out by ``sd(x) * sqrt(eps)``, and each value belongs to the class whose interval
    ``[low, high)`` holds it. ``Mclust`` starts EM on one feature from these classes.

    Parameters
    ----------
    x : ndarray of shape (n_samples,) or (n_samples, 1)
        Finite values, at least two of them distinct for more than one class.
    n_components : int

    Returns
    -------
    ndarray of shape (n_samples,)
        Class labels, numbered from the smallest values up.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.init import quantile_partition
    >>> quantile_partition(np.array([1.0, 2.0, 3.0, 10.0, 11.0, 12.0]), 2)
    array([0, 0, 0, 1, 1, 1])
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    if n_components == 1:
        return np.zeros(x.size, dtype=np.intp)
    if np.ptp(x) == 0.0:
        raise ValueError(
            f"The quantile classes of one feature need at least two distinct values; all "
            f"{x.size} are {x[0]:g}. Pass data that vary to fit {n_components} components."
        )
    n_breaks = n_components
    breaks = np.empty(0)
    while breaks.size < n_components + 1:
        n_breaks += 1
        breaks = np.unique(np.quantile(x, np.linspace(0.0, 1.0, n_breaks)))
    extra = breaks.size - n_components - 1
    if extra:
        narrowest = np.argsort(np.diff(breaks), kind="stable")[:extra]
        breaks = np.delete(breaks, narrowest)
    margin = np.std(x, ddof=1) * np.sqrt(np.finfo(np.float64).eps)
    breaks[0], breaks[-1] = x.min() - margin, x.max() + margin
    return np.searchsorted(breaks, x, side="right") - 1


def cache_hierarchical_partitions(X: np.ndarray, n_components: Iterable[int],
                                  sample_weight: np.ndarray | None = None,
                                  cache: dict[Any, Any] | None = None) -> None:
    """Cut the hierarchical tree for several numbers of components at once, into ``cache``.

    :func:`initial_responsibilities` then finds the ``"hc"`` partitions there; cut one
    number at a time, each cut would replay the tree's merges again. For one feature
    they are the quantile classes (:func:`quantile_partition`).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.init import cache_hierarchical_partitions, initial_responsibilities
    >>> X, cache = np.array([[0.0], [0.1], [5.0], [5.1], [9.0]]), {}
    >>> cache_hierarchical_partitions(X, [2, 3], cache=cache)
    >>> initial_responsibilities(X, 3, "hc", random_state=0, cache=cache).sum(axis=0)
    array([2., 1., 2.])
    """
    cache = {} if cache is None else cache
    missing = [k for k in n_components if ("hc", k) not in cache]
    if not missing:
        return
    if sample_weight is not None and not np.all(sample_weight == sample_weight[0]):
        raise ValueError(
            "init_params='hc' does not take sample_weight: mclust's hierarchical "
            "clustering treats every row alike. Use init_params='kmeans' with weighted "
            "rows."
        )
    if X.shape[1] == 1:  # as Mclust starts one feature
        for k in missing:
            cache["hc", k] = quantile_partition(X, k)
        return
    # The subset of large data the tree is built on is drawn with a fixed seed: the start
    # stays a deterministic function of the data.
    for k, labels in hierarchical_partitions(X, missing, random_state=0, cache=cache).items():
        cache["hc", k] = labels


def initial_responsibilities(
    X: np.ndarray,
    n_components: int,
    init_params: str,
    random_state: int | np.random.RandomState | None,
    sample_weight: np.ndarray | None = None,
    cache: dict[Any, Any] | None = None,
    stream: Hashable | None = None,
) -> np.ndarray:
    """Responsibilities ``(n_samples, n_components)`` to start EM from.

    The random schemes draw from ``random_state`` exactly as scikit-learn's
    ``GaussianMixture`` does (``KMeans(n_init=1, random_state=random_state)``,
    ``random_state.uniform``, ``random_state.choice``, ``kmeans_plusplus``), so the
    same generator gives scikit-learn's start, restart after restart.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_components : int
    init_params : {"kmeans", "k-means++", "random", "random_from_data", "hc"}
    random_state : int, numpy.random.RandomState or None
        The generator the random schemes draw from (an int seeds a new one); ``"hc"``
        is deterministic and draws nothing (``None`` will do).
    sample_weight : ndarray of shape (n_samples,), optional
        Row weights; rows of weight zero are never chosen as seeds. Equal weights are
        no weights.
    cache : dict, optional
        Where partitions are kept for later calls on the same ``X`` and weights: the
        hierarchical ones, and k-means ones when the generator is identified (an int
        ``random_state``, or ``stream``).
    stream : hashable, optional
        Names the position of a ``random_state`` generator in a reproducible sequence
        (e.g. ``(seed, restart)``), so that its k-means partition can be cached; a
        cached call leaves the generator where the k-means run would have.

    Returns
    -------
    ndarray of shape (n_samples, n_components)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.init import initial_responsibilities
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> initial_responsibilities(X, 2, "kmeans", random_state=0).sum(axis=0)
    array([2., 2.])
    >>> initial_responsibilities(X, 2, "hc", random_state=0).sum(axis=0)
    array([2., 2.])
    """
    n_samples = X.shape[0]
    cache = {} if cache is None else cache
    if sample_weight is not None and np.all(sample_weight == sample_weight[0]):
        sample_weight = None  # equal weights: scikit-learn's unweighted draws
    if init_params == "hc":
        cache_hierarchical_partitions(X, [n_components], sample_weight, cache)
        return _one_hot(cache["hc", n_components], n_components)
    if isinstance(random_state, numbers.Integral):
        random_state, stream = np.random.RandomState(random_state), int(random_state)
    if init_params == "kmeans":
        key = None if stream is None else ("kmeans", n_components, stream)
        if key is not None and key in cache:
            labels, state_after = cache[key]
            random_state.set_state(state_after)
        else:
            labels = _kmeans_labels(X, n_components, random_state, sample_weight)
            if key is not None:
                cache[key] = labels, random_state.get_state()
        return _one_hot(labels, n_components)
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
