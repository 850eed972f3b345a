"""bayesmix: Gaussian mixture models two ways, side by side.

A fast maximum-likelihood EM fitter (:class:`GaussianMixtureEM`, scikit-learn
compatible) and a Bayesian PyMC model, scored on one scale.
"""

__version__ = "0.1.0.dev0"

from bayesmix.bayes import GaussianMixtureBayes, MixturePriors, build_model
from bayesmix.comparison import compare
from bayesmix.datasets import load_low_dim_gauss_mix, load_old_faithful, make_mixture
from bayesmix.em import GaussianMixtureEM
from bayesmix.exceptions import (
    BayesmixWarning,
    ChainDisagreementWarning,
    ConvergenceWarning,
    DegenerateComponentWarning,
    DivergenceWarning,
    ESSWarning,
    InitialPointError,
    NotFittedError,
    RhatWarning,
    SamplerDiagnosticWarning,
    VIConvergenceWarning,
)
from bayesmix.persistence import load
from bayesmix.selection import select_bayes, select_em

__all__ = [
    "BayesmixWarning",
    "ChainDisagreementWarning",
    "ConvergenceWarning",
    "DegenerateComponentWarning",
    "DivergenceWarning",
    "ESSWarning",
    "GaussianMixtureBayes",
    "GaussianMixtureEM",
    "InitialPointError",
    "MixturePriors",
    "NotFittedError",
    "RhatWarning",
    "SamplerDiagnosticWarning",
    "VIConvergenceWarning",
    "__version__",
    "build_model",
    "compare",
    "load",
    "load_low_dim_gauss_mix",
    "load_old_faithful",
    "make_mixture",
    "select_bayes",
    "select_em",
]
