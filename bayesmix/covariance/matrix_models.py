"""The general-matrix structures beyond VVV and EEE: VEE, EVE, VVE, EEV, VEV, EVV.

Stored as the ``full`` structure is, (K, D, D), so they share its density kernel and
linear algebra; what differs is the M step, which maximises
``-1/2 sum_k [n_k log|Sigma_k| + tr(W_k inv(Sigma_k))]`` under the constraints of
``Sigma_k = lambda_k D_k A_k D_k^T`` (Celeux & Govaert 1995): in closed form for EEV,
EVV (and VEV's orientations), by mclust's alternating updates for VEE and VEV's volumes
and shape, and by Jacobi sweeps of pairwise rotations for the common orientation of EVE
and VVE (where mclust iterates the majorisation-minimisation steps of Browne &
McNicholas 2014). Every M step accepts leading batch axes.
"""

from __future__ import annotations

import numpy as np

from bayesmix.covariance.decomposed import (
    INNER_TOL,
    DecomposedStructure,
    inner_iterations,
    singular_where_not_finite,
    stacked_entries,
)
from bayesmix.covariance.eigen import (
    compose,
    eigh_descending,
    orient_columns,
)
from bayesmix.covariance.full import FullCovariance

__all__ = ["COLD_SWEEPS", "WARM_SWEEPS", "EEVCovariance", "EVECovariance", "EVVCovariance",
           "VEECovariance", "VEVCovariance", "VVECovariance", "common_orientation"]


#: The fits that also start EVE and VVE in model selection, each: from the usual starts
#: their EM often ends at a poor local optimum of the common orientation. On iris (VVE,
#: 5 components) the hierarchical and k-means starts reached -191.34, mclust -190.84,
#: VEV's fit -186.58. With exact orientation steps (Jacobi sweeps), five VVE cells of 28
#: real data sets still ended below mclust's (banknote's VVE,5 by 0.35 to crabs' VVE,4
#: by 13.45) from VEV's fit alone, and none with EEV's and VEE's fits as well, for 5 to
#: 15% more time in a 14-model grid. The unconstrained fit (VVV), whose axes no
#: constraint has bent, starts higher optima still: on 16 more real data sets birthwt's
#: VVE,5 ended 5.20 below mclust's from the other seeds and 3.25 above it from VVV's
#: (iris' VVE,7: -167.91 and -160.79), for no measurable time.
SEEDS_OF_COMMON_ORIENTATION = ("VEV", "EEV", "VEE", "VVV")


#: The most Jacobi sweeps of a common orientation from the scatters' axes (a cold start:
#: a few dozen reach :data:`INNER_TOL` where the optimum is not singular; a component
#: collapsing toward it only creeps on).
COLD_SWEEPS = 100
#: The sweeps of a common orientation from the last M step's (EM carries it over, so
#: each M step goes on from where the last one stopped): one lowers the objective from
#: the start's, a generalised EM step; more cost as much again each and brought EM no
#: faster.
WARM_SWEEPS = 1


def _sweeps(start: np.ndarray | None) -> int:
    """The most sweeps of an M step from ``start`` (``None``: a cold start)."""
    return COLD_SWEEPS if start is None else WARM_SWEEPS


def _diagonals_in(orientation: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """``diag(D^T M_k D)`` for a common orientation ``D`` (*B, D, D): (*B, K, D)."""
    axes = orientation[..., np.newaxis, :, :]  # matmul: several times faster than einsum
    return (axes * (matrices @ axes)).sum(axis=-2)


def common_orientation(scatters: np.ndarray, weights: np.ndarray, equal_volume: bool,
                       start: np.ndarray | None = None, floor: float = 0.0
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The common orientation ``D``, per-component variances along its axes, and the
    covariances.

    Maximises ``-1/2 sum_k [w_k log|Sigma_k| + tr(W_k inv(Sigma_k))]`` over
    ``Sigma_k = D diag(v_k) D^T`` with ``v_k = lambda A_k`` (EVE, ``equal_volume``) or
    ``lambda_k A_k`` (VVE). Given ``D`` the optimum is closed form (``v_k`` from
    ``m_k = diag(D^T W_k D)``: ``m_k / w_k`` for VVE, ``(sum_l g_l / sum_l w_l) m_k /
    g_k`` with ``g_k`` the geometric mean of ``m_k`` for EVE), and what is left to
    minimise over ``D`` is ``sum_k w_k sum_j log m_kj`` (VVE) or ``sum_k g_k`` (EVE).
    Jacobi sweeps lower it: each rotates every pair of axes by the angle that minimises
    the objective, a function of that one angle (Newton's method;
    :func:`~bayesmix.covariance.orientation_kernels.iterate_common_orientation`). mclust's
    ``mseve`` and ``msvve`` iterate Browne & McNicholas's (2014) majorisation-minimisation
    steps instead, whose progress slows to a crawl where the scatters' eigenvalues are
    far apart: on wine (13 features of different scales) 1000 of them end further from
    the optimum than three sweeps. It starts from the common axes of the covariances
    ``start`` (*B, K, D, D; the last M step's, as mclust's EM carries its orientation
    over) where all of a batch entry's are finite, else from the axes of ``sum_k W_k /
    w_k`` (not mclust's identity, which would depend on the coordinates), and stops when
    no ``v_kj`` changes by more than :data:`INNER_TOL` (relative) in a sweep or after
    :data:`COLD_SWEEPS` (:data:`WARM_SWEEPS` from a ``start``), or once a present
    component's variance is at most ``floor`` (it has collapsed: sweeps would only shrink
    it further; mclust stops there too, as a singular covariance), each batch entry on
    its own, the whole M step one compiled call
    (:func:`~bayesmix.covariance.orientation_kernels.fit_common_orientation`). A
    component of weight 0 and scatter 0 is absent: it changes neither the orientation
    nor the others' variances (its own are NaN). Each sweep costs O(K D^3) per batch
    entry.

    Returns
    -------
    orientation : ndarray of shape (*B, D, D)
    variances : ndarray of shape (*B, K, D)
        ``v_k``, the eigenvalues of ``Sigma_k`` along ``D``'s columns.
    covariances : ndarray of shape (*B, K, D, D)
        ``D diag(v_k) D^T``; zero (singular) where ``v_k`` is not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.matrix_models import common_orientation
    >>> rotation = np.array([[0.6, -0.8], [0.8, 0.6]])
    >>> scatters = rotation @ np.array([np.diag([4.0, 1.0]), np.diag([1.0, 2.0])]) @ rotation.T
    >>> orientation, variances, covariances = common_orientation(
    ...     scatters, np.array([1.0, 1.0]), False)
    >>> variances.round(6)
    array([[4., 1.],
           [1., 2.]])
    >>> bool(np.allclose(np.abs(orientation), np.abs(rotation)))
    True
    >>> bool(np.allclose(covariances, scatters))
    True
    """
    # Numba loads and compiles on the first M step of EVE or VVE, not on import.
    from bayesmix.covariance.orientation_kernels import fit_common_orientation

    batch_shape = scatters.shape[:-3]
    starts = (np.empty((0, *scatters.shape[-3:])) if start is None
              else stacked_entries(start, batch_shape, 3))
    orientation, variances, covariances = fit_common_orientation(
        stacked_entries(scatters, batch_shape, 3), stacked_entries(weights, batch_shape, 1),
        starts, equal_volume, _sweeps(start), INNER_TOL, floor)
    return (orientation.reshape(*batch_shape, *scatters.shape[-2:]),
            variances.reshape(scatters.shape[:-1]), covariances.reshape(scatters.shape))


class VEECovariance(DecomposedStructure, FullCovariance):
    """Variable volume, equal shape and orientation: ``Sigma_k = lambda_k C``, |C| = 1.

    M step by mclust's alternating updates (``msvee``): ``C`` proportional to
    ``sum_k W_k / lambda_k`` with determinant 1, then ``lambda_k = tr(W_k inv(C)) /
    (D n_k)``, from ``C`` the shape of ``start``'s sum (else of the pooled scatter),
    until no entry of ``C`` changes by more than
    :data:`~bayesmix.covariance.decomposed.INNER_TOL` (relative to its diagonal);
    O(K D^2 + D^3) per iteration.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> scatters = np.array([[[2.0, 1.0], [1.0, 2.0]], [[4.0, 2.0], [2.0, 4.0]]])
    >>> get_structure("VEE").maximise_scatter(np.array([1.0, 2.0]), scatters).round(6)
    array([[[2., 1.],
            [1., 2.]],
    <BLANKLINE>
           [[2., 1.],
            [1., 2.]]])
    """

    name = "VEE"
    second_moments = "matrix"

    def maximise_scatter(self, weights, scatters, start=None, floor=0.0):
        # Numba loads and compiles on the first M step of VEE, not on import.
        from bayesmix.covariance.inner_kernels import iterate_common_shape_matrix

        with np.errstate(divide="ignore", invalid="ignore"):
            # From the start's shape where it has one; the scatters' only where it has not
            # (late in EM, nowhere: their determinants are not computed).
            if start is None:
                shape = _unit_determinant(scatters.sum(axis=-3))
            else:
                shape = _unit_determinant(start.sum(axis=-3))
                cold = ~np.isfinite(shape).all(axis=(-2, -1), keepdims=True)
                if cold.any():
                    shape = np.where(cold, _unit_determinant(scatters.sum(axis=-3)), shape)
        batch_shape = scatters.shape[:-3]
        volumes, shape = iterate_common_shape_matrix(
            stacked_entries(scatters, batch_shape, 3), stacked_entries(weights, batch_shape, 1),
            stacked_entries(shape, batch_shape, 2), len(inner_iterations(start)), INNER_TOL)
        covariances = (volumes[..., np.newaxis, np.newaxis] * shape[..., np.newaxis, :, :]
                       ).reshape(scatters.shape)
        return singular_where_not_finite(covariances, 2)


def _unit_determinant(matrices: np.ndarray) -> np.ndarray:
    """Matrices divided by ``|M|^(1/D)`` (NaN where the determinant is not positive)."""
    sign, log_det = np.linalg.slogdet(matrices)
    scale = np.where(sign > 0, np.exp(log_det / matrices.shape[-1]), np.nan)
    return matrices / scale[..., np.newaxis, np.newaxis]


class EVECovariance(DecomposedStructure, FullCovariance):
    """Equal volume and orientation, variable shape: ``Sigma_k = lambda D A_k D^T``.

    M step: :func:`common_orientation` with a common volume.

    Examples
    --------
    >>> from bayesmix.covariance import get_structure
    >>> get_structure("EVE").n_parameters(3, 4)
    16
    """

    name = "EVE"
    second_moments = "matrix"
    seeded_by = SEEDS_OF_COMMON_ORIENTATION

    def maximise_scatter(self, weights, scatters, start=None, floor=0.0):
        return common_orientation(scatters, weights, True, start, floor)[2]

    def decompose(self, covariances, n_components, n_features):
        return _decompose_along_common_axes(covariances)


class VVECovariance(DecomposedStructure, FullCovariance):
    """Variable volume and shape, equal orientation: ``Sigma_k = lambda_k D A_k D^T``.

    M step: :func:`common_orientation` with a volume per component.

    Examples
    --------
    >>> from bayesmix.covariance import get_structure
    >>> get_structure("VVE").n_parameters(3, 4)
    18
    """

    name = "VVE"
    second_moments = "matrix"
    seeded_by = SEEDS_OF_COMMON_ORIENTATION

    def maximise_scatter(self, weights, scatters, start=None, floor=0.0):
        return common_orientation(scatters, weights, False, start, floor)[2]

    def decompose(self, covariances, n_components, n_features):
        return _decompose_along_common_axes(covariances)


def _decompose_along_common_axes(covariances: np.ndarray
                                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Volumes, shapes and the common orientation of matrices sharing their axes.

    The axes are :func:`~bayesmix.covariance.orientation_kernels.common_axes`, in
    decreasing order of that combination's eigenvalues; every component's shape lists
    its variances along the same axes, as mclust reports EVE and VVE.
    """
    from bayesmix.covariance.orientation_kernels import common_axes

    covariances = np.asarray(covariances, dtype=np.float64)
    volumes = np.exp(np.linalg.slogdet(covariances)[1] / covariances.shape[-1])
    batch_shape = covariances.shape[:-3]
    orientation = orient_columns(common_axes(stacked_entries(covariances, batch_shape, 3))
                                 .reshape(*batch_shape, *covariances.shape[-2:]))
    shapes = _diagonals_in(orientation, covariances) / volumes[..., np.newaxis]
    orientations = np.broadcast_to(orientation[..., np.newaxis, :, :], covariances.shape)
    return volumes, shapes, orientations.copy()


class EEVCovariance(DecomposedStructure, FullCovariance):
    """Equal volume and shape, variable orientation: ``Sigma_k = lambda D_k A D_k^T``.

    M step in closed form (mclust's ``mseev``): with ``W_k = D_k Omega_k D_k^T`` (the
    eigenvalues decreasing), ``Sigma_k = D_k diag(sum_l Omega_l / n) D_k^T``; one
    eigendecomposition per component, O(K D^3).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> get_structure("EEV").maximise_scatter(np.array([1.0, 1.0]),
    ...                                       np.array([np.diag([3.0, 1.0]), np.diag([1.0, 3.0])]))
    array([[[3., 0.],
            [0., 1.]],
    <BLANKLINE>
           [[1., 0.],
            [0., 3.]]])
    """

    name = "EEV"
    second_moments = "matrix"
    supports_prior = True
    # Under mclust's prior, its neighbour with free volumes starts it too, and it starts
    # that neighbour (VEV): each other's fits lead past poor posterior modes of either.
    prior_seeded_by = ("VEV",)

    def maximise_scatter(self, weights, scatters, start=None, floor=0.0):
        values, vectors = eigh_descending(scatters)
        shape = values.sum(axis=-2, keepdims=True) / weights.sum(axis=-1)[
            ..., np.newaxis, np.newaxis]
        return compose(np.ones(values.shape[:-1]), np.broadcast_to(shape, values.shape),
                       vectors)

    # mclust's meeevp (the EM's MAP step): eigenvalues of Lambda + B_k, summed, divided by
    # n + nu + D + 1 + [kappa > 0]. (Its mstep, mseevp, drops the prior on the means.)
    def prior_terms(self, prior, n_components, n_features):
        return ((prior.dof + n_features + 1 + (prior.shrinkage > 0)) / n_components,
                prior.scale)


class VEVCovariance(DecomposedStructure, FullCovariance):
    """Variable volume and orientation, equal shape: ``Sigma_k = lambda_k D_k A D_k^T``.

    M step as mclust's ``msvev``: the orientations are the eigenvectors of the ``W_k``
    (eigenvalues decreasing), and the volumes and common shape come from
    :func:`~bayesmix.covariance.decomposed.common_shape` of their eigenvalues (from the
    shape of ``start``'s); O(K D^3) once, then O(K D) per inner iteration, in one
    compiled call
    (:func:`~bayesmix.covariance.inner_kernels.fit_common_shape_orientations`).

    Examples
    --------
    >>> from bayesmix.covariance import get_structure
    >>> vev = get_structure("VEV")
    >>> vev.n_parameters(2, 4), vev.min_points(4), vev.axes_from_scatter
    (17, 2, True)
    """

    name = "VEV"
    second_moments = "matrix"
    supports_prior = True
    prior_seeded_by = ("EEV",)  # see EEV's

    def maximise_scatter(self, weights, scatters, start=None, floor=0.0):
        # Numba loads and compiles on the first M step of VEV, not on import.
        from bayesmix.covariance.inner_kernels import fit_common_shape_orientations

        batch_shape = scatters.shape[:-3]
        starts = (np.empty((0, *scatters.shape[-3:])) if start is None
                  else stacked_entries(start, batch_shape, 3))
        return fit_common_shape_orientations(
            stacked_entries(scatters, batch_shape, 3), stacked_entries(weights, batch_shape, 1),
            starts, len(inner_iterations(start)), INNER_TOL).reshape(scatters.shape)

    # mclust's msvevp: the eigenvalues of Lambda + B_k, and no extra count (its degrees
    # of freedom are not used).
    def prior_terms(self, prior, n_components, n_features):
        return 0.0, prior.scale


class EVVCovariance(DecomposedStructure, FullCovariance):
    """Equal volume, variable shape and orientation: ``Sigma_k = lambda C_k``, |C_k| = 1.

    M step in closed form (mclust's ``msevv``): ``C_k = W_k / |W_k|^(1/D)`` and
    ``lambda = sum_k |W_k|^(1/D) / n``; one determinant per component, O(K D^3).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> get_structure("EVV").maximise_scatter(np.array([1.0, 1.0]),
    ...                                       np.array([np.diag([4.0, 1.0]), np.eye(2)]))
    array([[[3.  , 0.  ],
            [0.  , 0.75]],
    <BLANKLINE>
           [[1.5 , 0.  ],
            [0.  , 1.5 ]]])
    """

    name = "EVV"
    second_moments = "matrix"
    #: The unconstrained fit, whose volumes are all that EVV constrains, starts optima
    #: that the hierarchical and k-means starts miss: on 44 real data sets 20 EVV cells
    #: rose, by up to 60.68 (quakes, 5 components; iris, 9: -125.55 -> -113.00), and
    #: cats' EVV,8 from 0.25 below mclust's log-likelihood to 3.00 above, for no
    #: measurable time.
    seeded_by = ("VVV",)

    def maximise_scatter(self, weights, scatters, start=None, floor=0.0):
        sign, log_det = np.linalg.slogdet(scatters)
        scales = np.where(sign > 0, np.exp(log_det / scatters.shape[-1]), 0.0)
        volume = scales.sum(axis=-1, keepdims=True) / weights.sum(axis=-1, keepdims=True)
        ratio = np.divide(volume, scales, out=np.zeros_like(scales), where=scales > 0)
        return scatters * ratio[..., np.newaxis, np.newaxis]
