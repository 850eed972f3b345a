"""bayesmix: Gaussian mixture models two ways, side by side.

A fast maximum-likelihood EM fitter (:class:`GaussianMixtureEM`, scikit-learn
compatible) and a Bayesian PyMC model, scored on one scale.

The public names are imported on first use (PEP 562), so ``import bayesmix`` and the EM
fitter load neither PyMC, PyTensor, JAX nor ArviZ; the first use of
:class:`GaussianMixtureBayes` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bayesmix._lazy import lazy_attributes

from bayesmix._version import __version__

if TYPE_CHECKING:
    from bayesmix.bayes import (
        GaussianMixtureBayes,
        MixturePriors,
        build_model,
        posterior_n_components,
    )
    from bayesmix.comparison import compare
    from bayesmix.covariance import ConjugatePrior
    from bayesmix.datasets import load_low_dim_gauss_mix, load_old_faithful, make_mixture
    from bayesmix.em import GaussianMixtureEM, StudentMixtureEM
    from bayesmix.exceptions import (
        BayesmixWarning,
        ChainDisagreementWarning,
        ConvergenceWarning,
        DegenerateComponentWarning,
        DivergenceWarning,
        ESSWarning,
        InitialPointError,
        NotFittedError,
        NotPositiveDefiniteError,
        RegCovarScaleWarning,
        RhatWarning,
        SamplerDiagnosticWarning,
        VIConvergenceWarning,
    )
    from bayesmix.persistence import load
    from bayesmix.selection import select_bayes, select_em
    from bayesmix.uncertainty import BootstrapResult, bootstrap, bootstrap_lrt

__all__ = [
    "BayesmixWarning",
    "BootstrapResult",
    "ChainDisagreementWarning",
    "ConjugatePrior",
    "ConvergenceWarning",
    "DegenerateComponentWarning",
    "DivergenceWarning",
    "ESSWarning",
    "GaussianMixtureBayes",
    "GaussianMixtureEM",
    "InitialPointError",
    "MixturePriors",
    "NotFittedError",
    "NotPositiveDefiniteError",
    "RegCovarScaleWarning",
    "RhatWarning",
    "SamplerDiagnosticWarning",
    "StudentMixtureEM",
    "VIConvergenceWarning",
    "__version__",
    "bootstrap",
    "bootstrap_lrt",
    "build_model",
    "compare",
    "load",
    "load_low_dim_gauss_mix",
    "load_old_faithful",
    "make_mixture",
    "posterior_n_components",
    "select_bayes",
    "select_em",
]

#: The module that defines each public name, imported when the name is first used.
_MODULE_OF = {
    "BayesmixWarning": "bayesmix.exceptions",
    "BootstrapResult": "bayesmix.uncertainty",
    "ChainDisagreementWarning": "bayesmix.exceptions",
    "ConjugatePrior": "bayesmix.covariance",
    "ConvergenceWarning": "bayesmix.exceptions",
    "DegenerateComponentWarning": "bayesmix.exceptions",
    "DivergenceWarning": "bayesmix.exceptions",
    "ESSWarning": "bayesmix.exceptions",
    "GaussianMixtureBayes": "bayesmix.bayes",
    "GaussianMixtureEM": "bayesmix.em",
    "InitialPointError": "bayesmix.exceptions",
    "MixturePriors": "bayesmix.bayes",
    "NotFittedError": "bayesmix.exceptions",
    "NotPositiveDefiniteError": "bayesmix.exceptions",
    "RegCovarScaleWarning": "bayesmix.exceptions",
    "RhatWarning": "bayesmix.exceptions",
    "SamplerDiagnosticWarning": "bayesmix.exceptions",
    "StudentMixtureEM": "bayesmix.em",
    "VIConvergenceWarning": "bayesmix.exceptions",
    "bootstrap": "bayesmix.uncertainty",
    "bootstrap_lrt": "bayesmix.uncertainty",
    "build_model": "bayesmix.bayes",
    "compare": "bayesmix.comparison",
    "load": "bayesmix.persistence",
    "load_low_dim_gauss_mix": "bayesmix.datasets",
    "load_old_faithful": "bayesmix.datasets",
    "make_mixture": "bayesmix.datasets",
    "posterior_n_components": "bayesmix.bayes.occupied",
    "select_bayes": "bayesmix.selection",
    "select_em": "bayesmix.selection",
}


__getattr__, __dir__ = lazy_attributes(__name__, _MODULE_OF, __all__)
