"""The noise component's part of the EM estimators: its start, fitted state and columns.

:class:`NoiseComponentMixin` gives :class:`~bayesmix.em.base.BaseMixtureEM` (and so
every EM estimator, whatever its component family) what ``noise=True`` adds around the
engine (:class:`~bayesmix.em.engine.EMEngine` with ``noise_log_volume``): the initial
noise rows (``noise_init`` or :func:`~bayesmix.families.noise.nearest_neighbour_noise`),
the components' weights apart from the noise weight, the noise column appended to the
joint log probabilities (which scoring, ``predict_proba`` and ``predict`` read), the
InferenceData variables and mclust's count of its parameters. The estimator sets
``noise_weight_`` and ``hypervolume_`` when it stores a fit with noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bayesmix._validation import check_fitted, short_repr
from bayesmix.em.sources import InMemorySource
from bayesmix.families.noise import hypervolume, nearest_neighbour_noise

__all__ = ["NoiseComponentMixin", "noise_hypervolume"]


def noise_hypervolume(source: InMemorySource) -> float:
    """The hypervolume of a source's rows, computed once per source (its cache).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.noise import noise_hypervolume
    >>> from bayesmix.em.sources import InMemorySource
    >>> noise_hypervolume(InMemorySource(np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 3.0],
    ...                                            [2.0, 3.0]])))
    6.0
    """
    if "hypervolume" not in source.cache:
        source.cache["hypervolume"] = hypervolume(source.X)
    return source.cache["hypervolume"]


class NoiseComponentMixin:
    """What ``noise=True`` adds to an EM estimator (see the module docstring).

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, StudentMixtureEM
    >>> from bayesmix.em.noise import NoiseComponentMixin
    >>> issubclass(GaussianMixtureEM, NoiseComponentMixin), issubclass(
    ...     StudentMixtureEM, NoiseComponentMixin)
    (True, True)
    """

    def _initial_noise_rows(self, source: Any) -> np.ndarray:
        """The rows EM starts as noise: ``noise_init``, checked, or the nearest-neighbour
        cleaning's (kept in the source's cache for the fits that share it)."""
        if not isinstance(source, InMemorySource):
            raise ValueError(
                "noise=True fits complete rows in memory, not rows with missing values "
                "(NaN) nor a Dask collection. Drop or impute the rows with NaN (for a "
                "DataFrame: X.dropna()), or compute the collection.")
        if self.noise_init is None:
            if "nearest_neighbour_noise" not in source.cache:
                source.cache["nearest_neighbour_noise"] = nearest_neighbour_noise(source.X)
            rows = source.cache["nearest_neighbour_noise"]
        else:
            rows = np.asarray(self.noise_init)
            if rows.dtype != bool or rows.shape != (source.n_samples,):
                raise ValueError(
                    f"noise_init must be a boolean array of shape ({source.n_samples},) "
                    f"(True for the rows to start as noise), got {short_repr(self.noise_init)}"
                    f". Build it as e.g. noise_init = scores > threshold.")
        n_left = int(np.count_nonzero(~rows))
        if n_left < self.n_components:
            raise ValueError(
                f"{source.n_samples - n_left} of {source.n_samples} rows start as noise, "
                f"leaving {n_left} for n_components={self.n_components}. Mark fewer rows in "
                f"noise_init, or lower n_components.")
        return rows

    def _previous_noise_weight(self) -> float:
        """The noise weight a warm start resumes from; refuses a change of ``noise``."""
        if self.noise != hasattr(self, "noise_weight_"):
            raise ValueError(
                f"warm_start=True resumes the previous fit, which was made with noise="
                f"{not self.noise}, but noise={self.noise} now. Set warm_start=False to "
                f"fit afresh.")
        return getattr(self, "noise_weight_", 0.0)

    @property
    def component_weights_(self) -> np.ndarray:
        """The components' weights: ``weights_`` without the noise weight (if any).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix import GaussianMixtureEM
        >>> rng = np.random.default_rng(0)
        >>> X = np.vstack([rng.normal(size=(100, 2)), rng.uniform(-9, 9, size=(10, 2))])
        >>> em = GaussianMixtureEM(1, noise=True, random_state=0).fit(X)
        >>> em.weights_.shape, em.component_weights_.shape
        ((2,), (1,))
        """
        check_fitted(self)
        return self.weights_[: self.n_components]

    def _with_noise(self, log_prob: np.ndarray) -> np.ndarray:
        """The components' joint log probabilities (N, K), with the noise column
        ``log(pi_0) - log(V)`` appended when the fit has one."""
        if not hasattr(self, "noise_weight_"):
            return log_prob
        with np.errstate(divide="ignore"):
            log_noise = np.log(self.noise_weight_) - np.log(self.hypervolume_)
        return np.column_stack([log_prob, np.full(log_prob.shape[0], log_noise)])

    def _labels(self, log_prob: np.ndarray) -> np.ndarray:
        """Most likely component of each row of joint log probabilities; -1 for noise."""
        labels = log_prob.argmax(axis=1)
        labels[labels == self.n_components] = -1
        return labels

    def _refuse_noise_sample(self) -> None:
        if hasattr(self, "noise_weight_"):
            raise ValueError(
                "sample() does not draw from a fit with a noise component yet (its "
                "uniform region is known by its volume only). Draw from a fit made with "
                "noise=False.")

    def _noise_variables(self) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
        """The noise weight as an InferenceData posterior variable ``noise_weight``
        (chain, draw), for a fit with noise; empty otherwise."""
        if not hasattr(self, "noise_weight_"):
            return {}
        return {"noise_weight": (np.array([[self.noise_weight_]]), ("chain", "draw"))}

    def _noise_attrs(self) -> dict[str, float]:
        """The InferenceData attribute ``noise_hypervolume`` (``V``), for a fit with noise."""
        return {"noise_hypervolume": self.hypervolume_} if hasattr(self, "noise_weight_") else {}

    def _n_noise_parameters(self) -> int:
        """mclust's count for a noise component (``nMclustParams``): its weight and the
        hypervolume, 2; 0 without one."""
        return 2 if hasattr(self, "noise_weight_") else 0
