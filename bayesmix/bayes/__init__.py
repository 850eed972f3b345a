"""The Bayesian Gaussian mixture: PyMC model, inference back ends and estimator.

The public names are imported on first use (PEP 562), so that the registry of inference
back ends (:mod:`bayesmix.bayes.backends`), which comparison and plotting consult for EM
fits too, loads neither PyMC, PyTensor, JAX nor ArviZ.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bayesmix.bayes.backends.nuts import configure_host_devices

if TYPE_CHECKING:
    from bayesmix.bayes.estimator import GaussianMixtureBayes
    from bayesmix.bayes.model import build_model
    from bayesmix.bayes.priors import MixturePriors

# Before JAX starts: one XLA CPU device per chain lets NumPyro run chains in parallel.
configure_host_devices()

__all__ = ["GaussianMixtureBayes", "MixturePriors", "build_model"]

#: The module that defines each public name, imported when the name is first used.
_MODULE_OF = {
    "GaussianMixtureBayes": "bayesmix.bayes.estimator",
    "MixturePriors": "bayesmix.bayes.priors",
    "build_model": "bayesmix.bayes.model",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use and keep it here."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's attributes and every public name, imported or not."""
    return sorted(set(globals()) | set(__all__))
