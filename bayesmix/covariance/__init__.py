"""Covariance structures: one class per structure and a registry by name.

A structure says how the components' covariance matrices are parametrised and stored.
Every consumer looks a structure up here (:func:`get_structure`) and asks it for what it
needs, so a new structure is one new module listed in :data:`STRUCTURES`, and the tests
parametrised over the registry test it everywhere.

=============  ==========  ==================  =============================================
mclust name    alias       stored shape        meaning (``Sigma_k = lambda_k D_k A_k D_k^T``)
=============  ==========  ==================  =============================================
``EII`` (E)                (K,) all equal      one variance shared by every component
``VII`` (V)    spherical   (K,)                every component has its own single variance
``EEI``                    (K, D) rows equal   one diagonal covariance shared by all
``VEI``                    (K, D)              variable volume, equal shape, axis-aligned
``EVI``                    (K, D)              equal volume, variable shape, axis-aligned
``VVI``        diag        (K, D)              every component has its own diagonal covariance
``EEE``        tied        (D, D)              all components share one general covariance
``VEE``                    (K, D, D)           variable volume, equal shape and orientation
``EVE``                    (K, D, D)           equal volume and orientation, variable shape
``VVE``                    (K, D, D)           variable volume and shape, equal orientation
``EEV``                    (K, D, D)           equal volume and shape, variable orientation
``VEV``                    (K, D, D)           variable volume and orientation, equal shape
``EVV``                    (K, D, D)           equal volume, variable shape and orientation
``VVV``        full        (K, D, D)           every component has its own general covariance
=============  ==========  ==================  =============================================

mclust's letters say whether the volume ``lambda_k``, the shape ``A_k`` and the
orientation ``D_k`` are equal across components (``E``), variable (``V``) or the
identity (``I``). ``E`` and ``V``, mclust's names for one feature, find EII and VII.
The ten structures beyond scikit-learn's four are stored as one of those four is, so the
density kernels are shared; their parameter counts are mclust's ``nVarParams``. All but
EVE, VEE, VVE and EVV also fit mclust's conjugate prior (:class:`ConjugatePrior`, each
structure's ``map_step`` and ``log_prior``), as mclust does.

The functions below take a structure's name and dispatch to it; they are the short way
for code that holds a name (``covariance_type``) rather than a structure.
"""

from __future__ import annotations

import numbers

import numpy as np

from bayesmix.covariance.base import CovarianceStructure
from bayesmix.covariance.diag import DiagonalCovariance
from bayesmix.covariance.diagonal_models import (
    EEICovariance,
    EIICovariance,
    EVICovariance,
    VEICovariance,
)
from bayesmix.covariance.full import FullCovariance
from bayesmix.covariance.matrix_models import (
    EEVCovariance,
    EVECovariance,
    EVVCovariance,
    VEECovariance,
    VEVCovariance,
    VVECovariance,
)
from bayesmix.covariance.prior import ConjugatePrior
from bayesmix.covariance.spherical import SphericalCovariance
from bayesmix.covariance.tied import TiedCovariance

__all__ = [
    "COVARIANCE_TYPES",
    "MCLUST_MODELS",
    "ONE_FEATURE_MODELS",
    "STRUCTURES",
    "ConjugatePrior",
    "CovarianceStructure",
    "cholesky_from_precisions",
    "covariance_shape",
    "covariances_from_precisions",
    "get_structure",
    "log_det_cholesky",
    "mclust_models",
    "n_parameters",
    "posterior_structures",
    "precision_cholesky",
    "precisions_from_cholesky",
    "special_cases",
    "structure_names",
    "to_full",
]

#: Every registered structure: scikit-learn's four in its order, then mclust's others.
STRUCTURES: tuple[CovarianceStructure, ...] = (
    FullCovariance(), TiedCovariance(), DiagonalCovariance(), SphericalCovariance(),
    EIICovariance(), EEICovariance(), VEICovariance(), EVICovariance(),
    VEECovariance(), EVECovariance(), VVECovariance(), EEVCovariance(), VEVCovariance(),
    EVVCovariance(),
)
_BY_NAME = {name: structure for structure in STRUCTURES
            for name in (structure.name, *structure.aliases,
                         *filter(None, [structure.one_feature_alias]))}

#: scikit-learn's names of its four structures, the default grid of model selection
#: (a tuple written out, so that it stays these four as structures are registered).
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
#: mclust's 14 models, in mclust's order (its ``mclust.options("emModelNames")``).
MCLUST_MODELS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE",
                 "EEV", "VEV", "EVV", "VVV")
#: mclust's models for one feature: equal (``E``) and variable (``V``) variances.
ONE_FEATURE_MODELS = ("E", "V")


def mclust_models(n_features: int, prior: bool = False) -> list[str]:
    """mclust's default list of models for data with ``n_features`` columns.

    The 14 models (:data:`MCLUST_MODELS`), or ``E`` and ``V`` for one feature; with a
    prior, only those mclust fits with one (as ``Mclust`` drops EVE, VEE, VVE and EVV).

    Examples
    --------
    >>> from bayesmix.covariance import mclust_models
    >>> len(mclust_models(3)), mclust_models(1), len(mclust_models(3, prior=True))
    (14, ['E', 'V'], 10)
    """
    names = ONE_FEATURE_MODELS if n_features == 1 else MCLUST_MODELS
    return [name for name in names if not prior or _BY_NAME[name].supports_prior]


#: The order of mclust's letters by freedom: the identity, equal across the components,
#: free for each component.
_LETTER_FREEDOM = {"I": 0, "E": 1, "V": 2}


def _freedom(name: str) -> tuple[int, int, int]:
    """The freedom of an mclust model's volume, shape and orientation (a spherical shape
    has no orientation of its own: EII's and VII's count as the identity's)."""
    volume, shape, orientation = name
    return (_LETTER_FREEDOM[volume], _LETTER_FREEDOM[shape],
            _LETTER_FREEDOM["I" if shape == "I" else orientation])


def special_cases(covariance_type: str) -> list[str]:
    """The mclust models whose every covariance ``covariance_type`` also admits.

    A model is a special case of another when each of its volume, shape and orientation
    is at most as free (the identity, then equal across the components, then free for
    each): EVE (equal volumes) is VVE with its volumes held equal, EEE is EVE with its
    shapes held equal, VVI is VVE with the identity's axes. At the same number of
    components the more general model's likelihood can reach the special case's: EM
    started from the special case's fit climbs from there.

    Parameters
    ----------
    covariance_type : str
        A registered name.

    Returns
    -------
    list of str
        mclust's names, in mclust's order (:data:`MCLUST_MODELS`); empty for EII, the
        most constrained, and for a structure that is not one of mclust's models.

    Examples
    --------
    >>> from bayesmix.covariance import special_cases
    >>> special_cases("VVE")
    ['EII', 'VII', 'EEI', 'VEI', 'EVI', 'VVI', 'EEE', 'VEE', 'EVE']
    >>> special_cases("tied"), special_cases("V")
    (['EII', 'EEI'], ['EII'])
    >>> "EVI" in special_cases("EEV")  # EEV's components share one shape; EVI's need not
    False
    """
    name = get_structure(covariance_type).name
    if name not in MCLUST_MODELS:
        return []
    general = _freedom(name)
    return [other for other in MCLUST_MODELS if other != name
            and all(a <= b for a, b in zip(_freedom(other), general))]


def structure_names() -> list[str]:
    """The best-known name of every registered structure, in registry order.

    Tests parametrised over it test a newly registered structure everywhere.

    Examples
    --------
    >>> from bayesmix.covariance import structure_names
    >>> structure_names()[:6]
    ['full', 'tied', 'diag', 'spherical', 'EII', 'EEI']
    """
    return [structure.label for structure in STRUCTURES]


def posterior_structures() -> list[str]:
    """The best-known names of the structures the Bayesian model supports
    (:attr:`~bayesmix.covariance.base.CovarianceStructure.supports_posterior`), in
    registry order; the others are fitted by EM only. Read without importing the model.

    Examples
    --------
    >>> from bayesmix.covariance import posterior_structures
    >>> posterior_structures()
    ['full', 'tied', 'diag', 'spherical', 'EII', 'EEI']
    """
    return [structure.label for structure in STRUCTURES if structure.supports_posterior]


def get_structure(covariance_type: object, argument: str = "covariance_type"
                  ) -> CovarianceStructure:
    """The structure registered under a name (mclust's code or an alias).

    Parameters
    ----------
    covariance_type : str or CovarianceStructure
        A registered name, e.g. ``"full"`` or ``"VVV"``; a structure is returned as is.
    argument : str, default="covariance_type"
        The argument's name, used in the error message.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the registered names.

    Examples
    --------
    >>> from bayesmix.covariance import get_structure
    >>> get_structure("full") is get_structure("VVV")
    True
    >>> get_structure("E").name
    'EII'
    >>> get_structure("banded")
    Traceback (most recent call last):
        ...
    ValueError: covariance_type must be one of 'full', 'tied', 'diag', 'spherical' or mclust's 'EII', 'VII', 'EEI', 'VEI', 'EVI', 'VVI', 'EEE', 'VEE', 'EVE', 'VVE', 'EEV', 'VEV', 'EVV', 'VVV' ('E', 'V' for one feature), got 'banded'.
    """
    if isinstance(covariance_type, CovarianceStructure):
        return covariance_type
    structure = _BY_NAME.get(covariance_type) if isinstance(covariance_type, str) else None
    if structure is None:
        text = repr(covariance_type)
        text = text if len(text) <= 60 else text[:57] + "..."
        aliases = [alias for s in STRUCTURES for alias in s.aliases]
        in_mclust_order = sorted(STRUCTURES, key=_mclust_order)
        codes = [s.name for s in in_mclust_order]
        one_feature = [s.one_feature_alias for s in in_mclust_order if s.one_feature_alias]
        raise ValueError(
            f"{argument} must be one of {', '.join(map(repr, aliases))} or mclust's "
            f"{', '.join(map(repr, codes))} ({', '.join(map(repr, one_feature))} for one "
            f"feature), got {text}."
        )
    return structure


def _mclust_order(structure: CovarianceStructure) -> int:
    """A structure's place in mclust's list of models."""
    return MCLUST_MODELS.index(structure.name)


def covariance_shape(covariance_type: str, n_components: int, n_features: int
                     ) -> tuple[int, ...]:
    """Shape of the stored covariances (or precisions) of a structure.

    Examples
    --------
    >>> from bayesmix.covariance import covariance_shape
    >>> covariance_shape("diag", 3, 2)
    (3, 2)
    """
    return get_structure(covariance_type).stored_shape(n_components, n_features)


def n_parameters(n_components: int, n_features: int, covariance_type: str) -> int:
    """Number of free parameters of a Gaussian mixture.

    Counts ``K - 1`` weights, ``K * D`` mean coordinates and the covariance parameters of
    the structure (``K D (D + 1) / 2`` for ``full``, ``D (D + 1) / 2`` for ``tied``,
    ``K D`` for ``diag``, ``K`` for ``spherical``), as scikit-learn and mclust do.

    Examples
    --------
    >>> from bayesmix.covariance import n_parameters
    >>> n_parameters(3, 2, "full")
    17
    >>> n_parameters(3, 2, "tied")
    11
    >>> n_parameters(0, 2, "full")
    Traceback (most recent call last):
        ...
    ValueError: n_components and n_features must be integers >= 1, got 0 and 2.
    """
    structure = get_structure(covariance_type)
    if not all(isinstance(count, numbers.Integral) and not isinstance(count, bool)
               and count >= 1 for count in (n_components, n_features)):
        raise ValueError(f"n_components and n_features must be integers >= 1, got "
                         f"{n_components!r} and {n_features!r}.")
    structure.check_name_for_features(covariance_type, n_features)
    K, D = n_components, n_features
    return int(K - 1 + K * D + structure.n_parameters(K, D))


def precision_cholesky(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """Cholesky factors of the precision matrices from covariances.

    Parameters
    ----------
    covariances : ndarray
        Covariances in the stored shape of ``covariance_type``; any leading batch
        dimensions (e.g. posterior draws) are kept.
    covariance_type : str
        A registered structure name.

    Returns
    -------
    ndarray of the same shape: upper-triangular ``U`` with ``inv(cov) = U @ U.T`` for
    matrices, ``1 / sqrt(cov)`` for variances.

    Raises
    ------
    ValueError
        If a covariance is not positive definite; the message names the component.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import precision_cholesky
    >>> precision_cholesky(np.array([4.0, 0.25]), "spherical")
    array([0.5, 2. ])
    """
    return get_structure(covariance_type).precision_cholesky(covariances)


def precisions_from_cholesky(precisions_cholesky: np.ndarray, covariance_type: str
                             ) -> np.ndarray:
    """Precision matrices (or precisions) from their Cholesky factors.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import precisions_from_cholesky
    >>> precisions_from_cholesky(np.array([0.5, 2.0]), "spherical")
    array([0.25, 4.  ])
    """
    return get_structure(covariance_type).precisions_from_cholesky(precisions_cholesky)


def covariances_from_precisions(precisions: np.ndarray, covariance_type: str) -> np.ndarray:
    """Covariances from precisions (matrix inverse, or reciprocal of variances).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import covariances_from_precisions
    >>> covariances_from_precisions(np.array([[2.0, 4.0]]), "diag")
    array([[0.5 , 0.25]])
    """
    return get_structure(covariance_type).covariances_from_precisions(precisions)


def cholesky_from_precisions(precisions: np.ndarray, covariance_type: str) -> np.ndarray:
    """Upper Cholesky factors ``U`` of precision matrices, ``P = U @ U.T``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import cholesky_from_precisions
    >>> cholesky_from_precisions(np.array([4.0]), "spherical")
    array([2.])
    """
    return get_structure(covariance_type).cholesky_from_precisions(precisions)


def log_det_cholesky(precisions_cholesky: np.ndarray, covariance_type: str, n_features: int
                     ) -> np.ndarray:
    """Half the log-determinant of each precision matrix, ``sum(log(diag(U)))``.

    Returns an array of shape (n_components,), or a scalar for a shared covariance.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import log_det_cholesky
    >>> float(log_det_cholesky(np.array([2.0]), "spherical", n_features=3)[0])  # 3 log 2
    2.0794415416798357
    """
    return get_structure(covariance_type).log_det_cholesky(precisions_cholesky, n_features)


def to_full(covariances: np.ndarray, covariance_type: str, n_components: int,
            n_features: int) -> np.ndarray:
    """Covariances of any structure as a (n_components, n_features, n_features) stack.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import to_full
    >>> to_full(np.array([1.0, 2.0]), "spherical", 2, 2)[1]
    array([[2., 0.],
           [0., 2.]])
    """
    return get_structure(covariance_type).to_full(covariances, n_components, n_features)
