"""Degenerate components: which fitted components are collapsed or starved, and why.

A component is *degenerate* when its smallest variance sits at the regularisation floor
(the unregularised variance is at most ``reg_covar``) or its unregularised variance in
some direction is at most ``1e-10`` of the data's variance there
(:func:`least_relative_variances`, whatever the coordinates), which happens when it
collapses onto repeated or rounded values, or when it holds fewer effective points than
its covariance needs (the structure's
:meth:`~bayesmix.covariance.base.CovarianceStructure.min_points`, less
:data:`COUNT_SLACK`). The likelihood of such a fit is inflated by a near-singular
covariance. A component of EEV or VEV, whose axes are its own but whose shape is shared,
is also degenerate when it holds fewer effective points than features and they vary in
two or more directions fewer than the features (:func:`null_directions`): its axes are
then arbitrary there, resting on too few rows. A component of EVI, EVE or EVV, whose
volume is shared but whose shape is its own, does not fall to the floor when it
collapses in one direction: it stretches in the others instead. It is degenerate when
its smallest variance is at most :data:`STRETCH_RTOL` of the data's variance in that
direction, or of a hundred times the components' pooled variance there if that is
smaller (:func:`stretch_ratios`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bayesmix.covariance.base import CovarianceStructure
from bayesmix.covariance.scatter import floor_variance, within_scatter

__all__ = ["AXES_RTOL", "COLLAPSE_RTOL", "COUNT_SLACK", "FLAT_FACTOR", "STARVED_GAIN",
           "STRETCH_RTOL", "STRETCH_WITHIN_FACTOR", "DegeneracyReport", "at_reg_covar_floor",
           "axes_scatters", "find_degenerate", "has_collapsed", "has_stretched",
           "least_relative_variances", "null_directions", "starved_components",
           "still_starved", "stretch_ratios"]

#: An unregularised variance, in any direction, at most this fraction of the data's own
#: variance in the same direction counts as collapsed even when ``reg_covar`` is zero.
COLLAPSE_RTOL = 1e-10
#: A direction in which a component's variance is at most this fraction of the data's
#: variance does not fix the component's own axes (:func:`null_directions`): rows that
#: spread less than 1 % of the data's standard deviation that way, or that share in the
#: component at tiny weights, leave the axes to rounding. In their second direction,
#: geyser's and women's EEV components (one row, plus shares of others) vary at 0.11
#: and 0.016 of the data's variance. rock's and LifeCycleSavings' EEV,8 components, fitted
#: from the same start and ending below mclust's fits, vary at 4e-9 to 3e-6.
AXES_RTOL = 1e-4
#: A component of a structure whose collapse stretches it (a shared volume, a shape of
#: its own: EVI, EVE, EVV) is collapsed when its variance in a direction is at most
#: this fraction of the data's there: its rows spread less than 0.3 % of the data's
#: standard deviation that way. The shared volume keeps it off the ``reg_covar`` floor
#: (its other variances grow), and EM creeps toward a singular covariance. On R's data
#: such fits sit at 3e-8 (Pima.tr's EVE,5), 1.3e-6 (swiss' EVE,4) and 2e-6 (stackloss'
#: EVI,5, which mclust reports as singular); the fits chosen on 25 other real data sets
#: at 5e-4 or more, apart from mclust's own choices of models this does not test.
STRETCH_RTOL = 1e-5
#: A component starved at two collapse checks running is still starved unless it gained
#: this many effective points between them (:func:`still_starved`). One that cannot
#: recover keeps its count to rounding (one far row under EVI: 1.0028 points at every
#: check); birthwt's EVI,9 component gains 0.016 to 0.14 per check as it recovers.
STARVED_GAIN = 1e-3
#: Clusters far apart inflate the data's variance in a direction by their gaps: the
#: components' pooled variance there, times this, caps the variance a stretched
#: component is compared with (as :mod:`bayesmix.selection.regularisation` caps the
#: columns' scales by their within-cluster variances).
STRETCH_WITHIN_FACTOR = 100.0
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


def still_starved(structure: CovarianceStructure, counts: np.ndarray, n_features: int,
                  last_counts: np.ndarray, present: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Whether a component of each fit (leading batch axes) is starved and not recovering;
    and the counts to pass as ``last_counts`` at the next check.

    A component is starved when it holds fewer effective points than its covariance
    needs, less :data:`COUNT_SLACK` (:func:`starved_components`, as
    :func:`find_degenerate` flags it without a prior). It is not recovering when it was
    starved at the last check too (``last_counts``, ``NaN`` where it was not) and has
    gained fewer than :data:`STARVED_GAIN` points since. One may be passing through:
    from mclust's hierarchical start, birthwt's EVI,9 has one holding 1.14 to 1.29
    points (2 needed) at three checks running, then enough, at a fit 2.3 log-likelihood
    units above mclust's. ``counts`` (*B, K) are the components' weighted counts;
    ``present`` says which are real, as for :func:`has_collapsed`.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.diagnostics import still_starved
    >>> diag = get_structure("diag")
    >>> never = np.full((3, 2), np.nan)
    >>> stopping, last = still_starved(diag, np.array([[40.0, 1.0]] * 3), 2, never)
    >>> stopping, last[0]
    (array([False, False, False]), array([nan,  1.]))
    >>> still_starved(diag, np.array([[40.0, 1.0], [39.0, 1.5], [30.0, 11.0]]), 2, last)[0]
    array([ True, False, False])
    """
    starved = starved_components(structure, counts, n_features)
    if present is not None:
        starved &= present
    not_recovering = starved & (counts < last_counts + STARVED_GAIN)
    return not_recovering.any(axis=-1), np.where(starved, counts, np.nan)


def stretch_ratios(structure: CovarianceStructure, covariances: np.ndarray,
                   counts: np.ndarray, smallest: np.ndarray, directions: np.ndarray,
                   data_variance: np.ndarray, reg_covar: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """How far each component of a structure whose collapse stretches it has collapsed.

    The ratio of its smallest variance (``smallest``, along ``directions``, less
    ``reg_covar``) to the variance it is compared with there: the data's
    (``data_variance``), or :data:`STRETCH_WITHIN_FACTOR` times the components' pooled
    variance there (weighted by ``counts``) if that is smaller. A component is stretched
    when its ratio is at most :data:`STRETCH_RTOL`. Returns the ratios and whether each
    was taken to the pooled variance; ratios ``inf`` for the other structures
    (:attr:`~bayesmix.covariance.base.CovarianceStructure.collapse_stretches`). Every
    argument may carry leading batch axes (``counts`` (*B, K)), one pooled variance per
    batch entry.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.diagnostics import STRETCH_RTOL, stretch_ratios
    >>> evi = get_structure("EVI")  # equal volumes 1: (2, 1/2) and (1e-6, 1e6)
    >>> variances = np.array([[2.0, 0.5], [1e-6, 1e6]])
    >>> smallest, directions, data = evi.smallest_variances(variances, np.array([4.0, 4.0]))
    >>> ratios, pooled = stretch_ratios(evi, variances, np.array([30.0, 20.0]), smallest,
    ...                                 directions, data, 0.0)
    >>> ratios <= STRETCH_RTOL, pooled
    (array([False,  True]), array([False, False]))
    """
    if not structure.collapse_stretches:
        return np.full(counts.shape, np.inf), np.zeros(counts.shape, dtype=bool)
    full = structure.to_full(covariances, counts.shape[-1], directions.shape[-1])
    pooled = np.einsum("...k,...kde->...de", counts / counts.sum(axis=-1, keepdims=True), full)
    pooled_variance = STRETCH_WITHIN_FACTOR * np.einsum("...kd,...de,...ke->...k", directions,
                                                        pooled, directions)
    capped = pooled_variance < data_variance
    with np.errstate(divide="ignore", invalid="ignore"):  # a direction where X is constant
        ratios = (smallest - reg_covar) / np.where(capped, pooled_variance, data_variance)
    return ratios, capped


def has_stretched(structure: CovarianceStructure, covariances: np.ndarray,
                  counts: np.ndarray, data_covariance: np.ndarray, reg_covar: float,
                  present: np.ndarray | None = None) -> np.ndarray:
    """Whether a component of each fit (leading batch axis) has collapsed and stretched
    (:func:`stretch_ratios` at most :data:`STRETCH_RTOL`), ``present`` (B, K) saying
    which are real.

    With ``stop_starved``, EM stops a run that reaches such a fit (it can only be
    flagged, and it creeps on toward a singular covariance).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.diagnostics import has_stretched
    >>> variances = np.array([[[2.0, 0.5], [1e-6, 1e6]], [[2.0, 0.5], [1.0, 1.0]]])
    >>> has_stretched(get_structure("EVI"), variances, np.full((2, 2), 25.0),
    ...               np.array([4.0, 4.0]), 0.0)
    array([ True, False])
    """
    if not structure.collapse_stretches:
        return np.zeros(len(covariances), dtype=bool)
    n_entries, n_components = counts.shape
    present = np.ones(counts.shape, dtype=bool) if present is None else present
    # every fit's components in one stack (none shares a covariance), the absent ones 0
    fitted = np.where(present.reshape(*present.shape, *(1,) * (covariances.ndim - 2)),
                      covariances, 0.0)
    smallest, directions, data_variance = structure.smallest_variances(
        fitted.reshape(n_entries * n_components, *covariances.shape[2:]), data_covariance)
    ratios, _ = stretch_ratios(structure, fitted, np.where(present, counts, 0.0),
                               smallest.reshape(counts.shape),
                               directions.reshape(*counts.shape, -1),
                               data_variance.reshape(counts.shape), reg_covar)
    return ((ratios <= STRETCH_RTOL) & present).any(axis=1)


def axes_scatters(structure: CovarianceStructure, counts: np.ndarray, sums: np.ndarray,
                  second_moments: np.ndarray | None) -> np.ndarray | None:
    """The within scatters :func:`find_degenerate` tests, from one E step's statistics.

    ``None`` unless the structure's axes come from its scatters
    (:attr:`~bayesmix.covariance.base.CovarianceStructure.axes_from_scatter`) and the
    statistics hold per-component second moments (K, D, D).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.diagnostics import axes_scatters
    >>> axes_scatters(get_structure("EEV"), np.array([2.0]), np.array([[2.0, 0.0]]),
    ...               np.array([[[4.0, 0.0], [0.0, 0.0]]]))
    array([[[2., 0.],
            [0., 0.]]])
    >>> axes_scatters(get_structure("VVV"), np.array([2.0]), np.zeros((1, 2)), None) is None
    True
    """
    if not structure.axes_from_scatter or second_moments is None or second_moments.ndim != 3:
        return None
    counts = np.asarray(counts, dtype=np.float64)
    means = np.divide(sums, counts[:, np.newaxis], out=np.zeros_like(sums, dtype=np.float64),
                      where=counts[:, np.newaxis] > 0)
    return within_scatter("matrix", counts, means, second_moments, None, 0.0, own_axes=True)


def null_directions(scatters: np.ndarray, counts: np.ndarray, data_covariance: np.ndarray
                    ) -> np.ndarray:
    """How many directions each component's rows do not vary in: (K,) ints.

    A direction of the scatter's eigenvectors ``u`` whose variance ``u' W_k u / n_k``
    is at most :data:`AXES_RTOL` times the data's own variance along ``u``
    (``u' S u``); an empty component (count 0) varies in none of the directions (all
    are null).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.diagnostics import null_directions
    >>> rows = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])  # two rows: a line
    >>> centred = rows - rows.mean(axis=0)
    >>> null_directions((centred.T @ centred)[np.newaxis], np.array([2.0]), np.eye(3))
    array([2])
    """
    counts = np.asarray(counts, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_row = scatters / counts[:, np.newaxis, np.newaxis]
    values, vectors = np.linalg.eigh(np.where(counts[:, np.newaxis, np.newaxis] > 0,
                                              per_row, 0.0))
    data_variance = np.einsum("kdi,de,kei->ki", vectors, data_covariance, vectors)
    return (values <= AXES_RTOL * data_variance).sum(axis=-1)


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


def least_relative_variances(covariances: np.ndarray, data_covariance: np.ndarray,
                             reg_covar: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each covariance's least variance relative to the data's, over every direction.

    The smallest ratio ``(v' Sigma_k v - reg_covar) / v' S v`` over unit directions
    ``v`` (``Sigma_k`` of ``covariances`` (n, D, D), ``S`` the data's covariance (D,
    D)): the smallest generalised eigenvalue of ``(Sigma_k, S)``, whose direction does
    not depend on the coordinates. (The direction of a covariance's smallest eigenvalue
    does; where several eigenvalues are tiny, as for rows constant in several columns, it
    is any direction of their span, along which the data's variance can differ by orders
    of magnitude.) Returns the ratios, their directions (n, D) and the variances of
    ``Sigma_k`` along them.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.diagnostics import least_relative_variances
    >>> ratios, directions, variances = least_relative_variances(
    ...     np.array([np.diag([1e-6, 1e-6])]), np.diag([1.0, 1e4]), 0.0)
    >>> ratios.round(12), np.abs(directions).round(6), variances
    (array([1.e-10]), array([[0., 1.]]), array([1.e-06]))
    """
    # The largest v' S v / v' Sigma v: with Sigma = U diag(l) U', the largest eigenvalue
    # of W' S W for W = U diag(l)^-1/2 (eigenvalues floored at the largest's rounding,
    # so that a covariance barely positive definite has a direction too).
    eigenvalues, axes = np.linalg.eigh(covariances)
    floor = np.finfo(np.float64).eps * eigenvalues[..., -1:]
    whitening = axes / np.sqrt(np.maximum(eigenvalues, floor))[..., np.newaxis, :]
    eigenvectors = np.linalg.eigh(np.swapaxes(whitening, -1, -2) @ data_covariance
                                  @ whitening)[1]
    directions = (whitening @ eigenvectors[..., -1:])[..., 0]
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    variances = np.einsum("kd,kde,ke->k", directions, covariances, directions)
    data_variances = np.einsum("kd,de,ke->k", directions, data_covariance, directions)
    with np.errstate(divide="ignore", invalid="ignore"):  # data constant in every direction
        ratios = (variances - reg_covar) / data_variances
    return ratios, directions, variances


def find_degenerate(
    structure: CovarianceStructure,
    covariances: np.ndarray,
    counts: np.ndarray,
    data_covariance: np.ndarray,
    reg_covar: float,
    feature_label: Callable[[int], str],
    prior: bool = False,
    scatters: np.ndarray | None = None,
) -> DegeneracyReport:
    """Flag collapsed and starved components, and those whose own axes are arbitrary.

    Under a conjugate prior (MAP-EM) a component holding few points takes the prior's
    covariance, which is not near-singular: only a collapse makes it degenerate.
    A structure whose axes come from each component's scatter
    (:attr:`~bayesmix.covariance.base.CovarianceStructure.axes_from_scatter`) has a
    component's axes arbitrary where the scatter ``scatters[k]`` is null in two or
    more directions (:func:`null_directions`); without a prior, such a component is
    degenerate too when it holds fewer effective points than features, its axes then
    resting on too few rows.

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
    scatters : ndarray of shape (K, D, D), optional
        The components' within scatters ``sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T`` at
        the fit (one E step's), for a structure with ``axes_from_scatter``; not tested
        without them.

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
    n_components, n_features = counts.shape[0], data_covariance.shape[0]
    smallest, directions, data_variance = structure.smallest_variances(covariances,
                                                                       data_covariance)
    at_floor = at_reg_covar_floor(smallest, reg_covar)
    # Relative to the data, a component has collapsed where its variance in some
    # direction is at most COLLAPSE_RTOL of the data's there; none can be unless its
    # smallest variance is at most COLLAPSE_RTOL times the data's total variance (a
    # bound on the data's variance in any direction).
    full_data = data_covariance if data_covariance.ndim == 2 else np.diag(data_covariance)
    relative = np.full(len(smallest), np.inf)
    relative_directions = np.zeros((len(smallest), n_features))
    relative_variances = smallest.copy()
    suspect = np.flatnonzero(~at_floor & (smallest - reg_covar
                                          <= COLLAPSE_RTOL * np.trace(full_data)))
    if suspect.size:
        full = structure.to_full(covariances, n_components, n_features)[suspect]
        (relative[suspect], relative_directions[suspect],
         relative_variances[suspect]) = least_relative_variances(full, full_data, reg_covar)
    collapsed = at_floor | (relative <= COLLAPSE_RTOL)
    stretch, pooled = ((np.full(n_components, np.inf), None) if directions is None
                       else stretch_ratios(structure, covariances, counts, smallest,
                                           directions, data_variance, reg_covar))
    stretched = stretch <= STRETCH_RTOL
    if structure.shares_covariance():  # one shared covariance: all or none collapse
        collapsed = np.repeat(collapsed, n_components)
        at_floor = np.repeat(at_floor, n_components)
        relative = np.repeat(relative, n_components)
        relative_variances = np.repeat(relative_variances, n_components)
        relative_directions = np.repeat(relative_directions, n_components, axis=0)
        smallest = np.repeat(smallest, n_components)
        directions = None if directions is None else np.repeat(directions, n_components,
                                                                axis=0)
        data_variance = np.repeat(data_variance, n_components)
    min_points = structure.min_points(n_features)
    starved = starved_components(structure, counts, n_features) & (not prior)
    n_null = (null_directions(scatters, counts, data_covariance)
              if structure.axes_from_scatter and scatters is not None and not prior
              else np.zeros(n_components, dtype=int))
    # Fewer rows than features, spanning too few directions: the axes rest on those rows
    # alone. (Many rows constant in some columns leave axes arbitrary too, but such a
    # cluster is the data's, as mclust fits it: not flagged.)
    arbitrary = (n_null >= 2) & (counts < n_features)
    reasons = {}
    for k in np.flatnonzero(collapsed | stretched | starved | arbitrary):
        why = []
        held = math.floor(counts[k] * 100.0) / 100.0  # 3.996 points: not "4, fewer than 4"
        where = "" if directions is None else (
            f"mostly along feature {feature_label(np.abs(directions[k]).argmax())!r}")
        if at_floor[k]:
            why.append(f"its smallest variance {smallest[k]:.3g} is at the reg_covar floor "
                       f"({reg_covar:g}{', ' + where if where else ''})")
        elif collapsed[k]:
            along = feature_label(np.abs(relative_directions[k]).argmax())
            why.append(f"its variance {relative_variances[k]:.3g} mostly along feature "
                       f"{along!r} is {relative[k]:.2g} of the data's there: it has "
                       f"collapsed in that direction")
        elif stretched[k]:
            compared = (f"{STRETCH_WITHIN_FACTOR:g} times the components' pooled "
                        f"variance" if pooled[k] else "the data's variance")
            why.append(f"its smallest variance {smallest[k]:.3g} ({where}) is "
                       f"{stretch[k]:.2g} of {compared} there: it has collapsed in that "
                       f"direction and stretched in the others, whose volume it shares")
        if starved[k]:
            why.append(f"it holds {held:g} effective points, fewer than the "
                       f"{min_points} its covariance needs")
        if arbitrary[k]:
            why.append(f"its {held:g} effective points vary in only "
                       f"{n_features - n_null[k]} of the {n_features} directions, so its "
                       f"own axes are arbitrary in the other {n_null[k]}")
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
