"""The Bayesian Gaussian (and t) mixture: PyMC model, inference back ends and estimators.

The public names are imported on first use (PEP 562), so that the registry of inference
back ends (:mod:`bayesmix.bayes.backends`), which comparison and plotting consult for EM
fits too, loads neither PyMC, PyTensor, JAX nor ArviZ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bayesmix._lazy import lazy_attributes
from bayesmix.bayes.backends.nuts import configure_host_devices

if TYPE_CHECKING:
    from bayesmix.bayes.estimator import GaussianMixtureBayes
    from bayesmix.bayes.model import build_model
    from bayesmix.bayes.occupied import occupied_components, posterior_n_components
    from bayesmix.bayes.priors import MixturePriors
    from bayesmix.bayes.student import StudentMixtureBayes

# Before JAX starts: one XLA CPU device per chain lets NumPyro run chains in parallel.
configure_host_devices()

__all__ = ["GaussianMixtureBayes", "MixturePriors", "StudentMixtureBayes", "build_model",
           "occupied_components", "posterior_n_components"]

#: The module that defines each public name, imported when the name is first used.
_MODULE_OF = {
    "GaussianMixtureBayes": "bayesmix.bayes.estimator",
    "MixturePriors": "bayesmix.bayes.priors",
    "StudentMixtureBayes": "bayesmix.bayes.student",
    "build_model": "bayesmix.bayes.model",
    "occupied_components": "bayesmix.bayes.occupied",
    "posterior_n_components": "bayesmix.bayes.occupied",
}


__getattr__, __dir__ = lazy_attributes(__name__, _MODULE_OF, __all__)
