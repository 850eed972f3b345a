"""Inference back ends of :class:`~bayesmix.bayes.GaussianMixtureBayes`, found by name.

Each back end is one module and one :class:`~bayesmix.bayes.backends.base.InferenceBackend`:
its options, the function that runs it, its diagnostics and how they read in a selection
table, a comparison table, a warning and a plot title. :func:`get_backend` finds the one
``fit(method=...)`` names; :func:`inference_method_of` describes any fit from its
``inference_method`` attribute, the EM point mass and draws from elsewhere included, so
that no consumer branches on the method's name.

Adding a back end is one new module and one entry in :data:`BACKENDS`.

Examples
--------
>>> from bayesmix.bayes.backends import available_methods, get_backend
>>> available_methods()
('nuts', 'advi', 'fullrank_advi', 'gibbs')
>>> get_backend("fullrank_advi").label
'full-rank ADVI'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bayesmix._validation import check_option
from bayesmix.bayes.backends.advi import ADVI, FULLRANK_ADVI
from bayesmix.bayes.backends.base import InferenceBackend, InferenceMethod
from bayesmix.bayes.backends.bootstrap import BOOTSTRAP_DRAWS
from bayesmix.bayes.backends.em import EM_POINT_MASS
from bayesmix.bayes.backends.gibbs import GIBBS
from bayesmix.bayes.backends.nuts import NUTS

if TYPE_CHECKING:
    import arviz as az

__all__ = [
    "BACKENDS",
    "InferenceBackend",
    "InferenceMethod",
    "available_methods",
    "get_backend",
    "inference_method_of",
]

#: The back ends of ``GaussianMixtureBayes.fit``, by the name ``method`` takes.
BACKENDS: dict[str, InferenceBackend] = {backend.name: backend
                                         for backend in (NUTS, ADVI, FULLRANK_ADVI, GIBBS)}

#: Every method a bayesmix InferenceData may record: the back ends, the EM point mass and
#: bootstrap draws.
_KNOWN_METHODS: dict[str, InferenceMethod] = {**BACKENDS, EM_POINT_MASS.name: EM_POINT_MASS,
                                              BOOTSTRAP_DRAWS.name: BOOTSTRAP_DRAWS}


def available_methods() -> tuple[str, ...]:
    """The names ``GaussianMixtureBayes.fit(method=...)`` takes, the default first.

    Examples
    --------
    >>> from bayesmix.bayes.backends import available_methods
    >>> available_methods()
    ('nuts', 'advi', 'fullrank_advi', 'gibbs')
    """
    return tuple(BACKENDS)


def get_backend(name: str) -> InferenceBackend:
    """The back end ``method=name`` runs.

    Parameters
    ----------
    name : str
        One of :func:`available_methods`.

    Returns
    -------
    InferenceBackend

    Raises
    ------
    ValueError
        When ``name`` is not a back end, naming the valid methods.

    Examples
    --------
    >>> from bayesmix.bayes.backends import get_backend
    >>> get_backend("nuts").label
    'NUTS'
    >>> get_backend("em")
    Traceback (most recent call last):
    ...
    ValueError: method must be one of 'nuts', 'advi', 'fullrank_advi', 'gibbs', got 'em'.
    """
    return BACKENDS[check_option(name, "method", available_methods())]


def inference_method_of(idata: az.InferenceData) -> InferenceMethod:
    """How ``idata`` was produced, from its ``inference_method`` attribute.

    Parameters
    ----------
    idata : arviz.InferenceData
        In the layout of :mod:`bayesmix.results`.

    Returns
    -------
    InferenceMethod
        The back end, the EM point mass, bootstrap draws, or for any other name
        (``"fit"`` when the attribute is missing) a plain
        :class:`~bayesmix.bayes.backends.base.InferenceMethod` of that name.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.bayes.backends import inference_method_of
    >>> em = GaussianMixtureEM(2, random_state=0).fit(load_old_faithful())
    >>> inference_method_of(em.to_inference_data()).label
    'EM'
    """
    name = str(idata.posterior.attrs.get("inference_method", "fit"))
    return _KNOWN_METHODS.get(name) or InferenceMethod(name)
