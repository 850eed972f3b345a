"""The Bayesian Gaussian mixture: PyMC model, inference and estimator."""

from bayesmix.bayes.inference import configure_host_devices

# Before JAX starts: one XLA CPU device per chain lets NumPyro run chains in parallel.
configure_host_devices()

from bayesmix.bayes.estimator import GaussianMixtureBayes  # noqa: E402
from bayesmix.bayes.model import build_model  # noqa: E402
from bayesmix.bayes.priors import MixturePriors  # noqa: E402

__all__ = ["GaussianMixtureBayes", "MixturePriors", "build_model"]
