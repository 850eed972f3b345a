"""Degenerate components: which fitted components are collapsed or starved, and why.

A component is *degenerate* when its smallest variance sits at the regularisation floor
(the unregularised variance is at most ``reg_covar``, or at most ``1e-10`` of the data's
variance in that direction), which happens when it collapses onto repeated or rounded
values, or when it holds fewer effective points than its covariance needs (the
structure's :meth:`~bayesmix.covariance.base.CovarianceStructure.min_points`, less
:data:`COUNT_SLACK`). The likelihood of such a fit is inflated by a near-singular
covariance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bayesmix.covariance.base import CovarianceStructure
from bayesmix.covariance.scatter import floor_variance

__all__ = ["COLLAPSE_RTOL", "COUNT_SLACK", "FLAT_FACTOR", "DegeneracyReport",
           "at_reg_covar_floor", "find_degenerate", "has_collapsed", "has_starved",
           "starved_components"]

#: An unregularised variance below this fraction of the data's own variance in the same
#: direction counts as collapsed even when ``reg_covar`` is zero.
COLLAPSE_RTOL = 1e-10
#: A component is starved when it holds fewer effective points than its structure's
#: ``min_points`` less this: the responsibilities are soft, and a component holding two
#: rows, one of them at 99 %, holds the two rows its variance needs, not 1.99 of them.
COUNT_SLACK = 0.5
#: A collapse along a direction where the data's own variance is within this factor of
#: ``reg_covar`` is blamed on the data's scale (constant, collinear or tiny columns).
FLAT_FACTOR = 100.0


def at_reg_covar_floor(variances: np.ndarray, reg_covar: float) -> np.ndarray:
    """Whether each variance sits at the regularisation floor: at most ``reg_covar`` once
    ``reg_covar`` is taken off.

    A component with such a variance has collapsed: :func:`find_degenerate` flags it, and
    EM stops a run that reaches it (:func:`has_collapsed`), whose likelihood would only
    creep up as the collapse goes on. ``NaN`` is not at the floor.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.diagnostics import at_reg_covar_floor
    >>> at_reg_covar_floor(np.array([1.5e-6, 2.5e-6, np.nan]), 1e-6)
    array([ True, False, False])
    """
    return variances <= floor_variance(reg_covar)


def has_collapsed(structure: CovarianceStructure, covariances: np.ndarray,
                  n_components: int, n_features: int, reg_covar: float,
                  present: np.ndarray | None = None) -> np.ndarray:
    """Whether a component of each fit (leading batch axes) is at the ``reg_covar`` floor.

    ``present`` (*B, K), for fits stacked with padded components, says which are real:
    the others are not checked. This is how EM decides to stop a run
    (:data:`~bayesmix.em.engine.COLLAPSE_CHECK_EVERY`).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.diagnostics import has_collapsed
    >>> variances = np.array([[[1.0], [1.5e-6]], [[1.0], [2.0]]])  # two fits of 2 components
    >>> has_collapsed(get_structure("diag"), variances, 2, 1, 1e-6)
    array([ True, False])
    >>> has_collapsed(get_structure("diag"), variances, 2, 1, 1e-6,
    ...               present=np.array([[True, False], [True, True]]))
    array([False, False])
    """
    at_floor = at_reg_covar_floor(
        structure.smallest_eigenvalues(covariances, n_components, n_features), reg_covar)
    if present is not None:
        at_floor &= present
    return at_floor.any(axis=-1)


def starved_components(structure: CovarianceStructure, counts: np.ndarray,
                       n_features: int) -> np.ndarray:
    """Whether each component holds fewer effective points than its covariance needs
    (the structure's ``min_points``), less :data:`COUNT_SLACK`.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.diagnostics import starved_components
    >>> starved_components(get_structure("full"), np.array([50.0, 2.6, 2.4]), 2)
    array([False, False,  True])
    """
    return counts < structure.min_points(n_features) - COUNT_SLACK


def has_starved(structure: CovarianceStructure, counts: np.ndarray, n_features: int,
                present: np.ndarray | None = None) -> np.ndarray:
    """Whether a component of each fit (leading batch axes) holds fewer effective points
    than its covariance needs, less :data:`COUNT_SLACK` (as :func:`find_degenerate`
    flags it without a prior).

    ``counts`` (*B, K) are the components' weighted counts; ``present`` says which are
    real, as for :func:`has_collapsed`.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.diagnostics import has_starved
    >>> has_starved(get_structure("diag"), np.array([[40.0, 1.0], [30.0, 11.0]]), 2)
    array([ True, False])
    """
    starved = starved_components(structure, counts, n_features)
    if present is not None:
        starved &= present
    return starved.any(axis=-1)


@dataclass
class DegeneracyReport:
    """Degenerate components and the words that explain them.

    Attributes
    ----------
    reasons : dict of int to str
        Why each degenerate component is degenerate (empty when none is).
    flat_data : str
        A sentence blaming the data itself when it barely varies along a collapsed
        direction; empty otherwise.

    Examples
    --------
    >>> from bayesmix.em.diagnostics import DegeneracyReport
    >>> DegeneracyReport({}).reasons
    {}
    """

    reasons: dict[int, str]
    flat_data: str = ""


def find_degenerate(
    structure: CovarianceStructure,
    covariances: np.ndarray,
    counts: np.ndarray,
    data_covariance: np.ndarray,
    reg_covar: float,
    feature_label: Callable[[int], str],
    prior: bool = False,
) -> DegeneracyReport:
    """Flag collapsed and starved components.

    Under a conjugate prior (MAP-EM) a component holding few points takes the prior's
    covariance, which is not near-singular: only a collapse makes it degenerate.

    Parameters
    ----------
    structure : CovarianceStructure
    covariances : ndarray
        The fitted covariances, in the structure's stored shape.
    counts : ndarray of shape (K,)
        Effective points per component.
    data_covariance : ndarray of shape (D, D) or (D,)
        The data's (weighted) covariance, or only its variances for a structure that
        estimates no correlations.
    reg_covar : float
    feature_label : callable
        Name of feature ``j`` for the messages.
    prior : bool, default=False
        Whether the fit is a posterior mode under a conjugate prior.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.diagnostics import find_degenerate
    >>> report = find_degenerate(get_structure("diag"), np.array([[1.0], [2e-6]]),
    ...                          np.array([10.0, 1.0]), np.ones(1), 1e-6, "x{}".format)
    >>> list(report.reasons)
    [1]
    """
    n_components = counts.shape[0]
    smallest, directions, data_variance = structure.smallest_variances(covariances,
                                                                       data_covariance)
    collapsed = (at_reg_covar_floor(smallest, reg_covar)
                 | (smallest - reg_covar <= COLLAPSE_RTOL * data_variance))
    if structure.shares_covariance():  # one shared covariance: all or none collapse
        collapsed = np.repeat(collapsed, n_components)
        smallest = np.repeat(smallest, n_components)
        directions = None if directions is None else np.repeat(directions, n_components,
                                                                axis=0)
        data_variance = np.repeat(data_variance, n_components)
    min_points = structure.min_points(data_covariance.shape[0])
    starved = starved_components(structure, counts, data_covariance.shape[0]) & (not prior)
    reasons = {}
    for k in np.flatnonzero(collapsed | starved):
        why = []
        if collapsed[k]:
            where = "" if directions is None else (
                f", mostly along feature {feature_label(np.abs(directions[k]).argmax())!r}")
            why.append(f"its smallest variance {smallest[k]:.3g} is at the reg_covar floor "
                       f"({reg_covar:g}{where})")
        if starved[k]:  # rounded down: 3.996 points are not "4, fewer than the 4"
            held = math.floor(counts[k] * 100.0) / 100.0
            why.append(f"it holds {held:g} effective points, fewer than the "
                       f"{min_points} its covariance needs")
        reasons[int(k)] = " and ".join(why)
    flat = collapsed & (data_variance <= FLAT_FACTOR * reg_covar)
    flat_data = ""
    if reasons and flat.any():
        # The data itself (not one component) barely varies in that direction.
        flat_data = (
            f"X itself varies by only {data_variance[flat].min():.3g} (variance) along "
            f"that direction, within {FLAT_FACTOR:g} times reg_covar: drop constant or "
            f"collinear columns, or standardise X"
        )
    return DegeneracyReport(reasons, flat_data)
