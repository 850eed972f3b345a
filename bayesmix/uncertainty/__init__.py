"""Uncertainty of EM fits: the bootstrap, and the bootstrap likelihood-ratio test.

R mclust's resampling methods for maximum-likelihood mixtures:

- :func:`bootstrap` (:mod:`bayesmix.uncertainty.bootstrap`, mclust's
  ``MclustBootstrap``): standard errors and percentile intervals of a fit's weights,
  means and covariances from nonparametric, weighted-likelihood or parametric
  resamples, returned as draws in the posterior's InferenceData layout;
- :func:`bootstrap_lrt` (:mod:`bayesmix.uncertainty.lrt`, mclust's
  ``mclustBootstrapLRT``): the sequential test of ``k`` against ``k + 1`` components.

Both drive the EM engine directly over many resamples (:mod:`bayesmix.uncertainty.refits`).
"""

from bayesmix.uncertainty.bootstrap import (
    BOOTSTRAP_KINDS,
    BootstrapResult,
    bootstrap,
    standard_deviations,
)
from bayesmix.uncertainty.lrt import LRT_COLUMNS, bootstrap_lrt

__all__ = ["BOOTSTRAP_KINDS", "LRT_COLUMNS", "BootstrapResult", "bootstrap", "bootstrap_lrt",
           "standard_deviations"]
