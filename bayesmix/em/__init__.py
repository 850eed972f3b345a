"""Maximum-likelihood mixtures fitted by expectation-maximisation.

The estimator (:class:`GaussianMixtureEM`) is a thin scikit-learn front over the EM
engine, which drives a data source (rows in memory, Dask chunks) through restarts and
iterations.
"""

from bayesmix.em.estimator import GaussianMixtureEM
from bayesmix.em.student import StudentMixtureEM

__all__ = ["GaussianMixtureEM", "StudentMixtureEM"]
