"""What mclust's three letters fix about a structure, and the shared inner iteration.

mclust names a structure by the volume, shape and orientation of
``Sigma_k = lambda_k D_k A_k D_k^T`` (Celeux & Govaert 1995): ``E`` equal across
components, ``V`` variable, ``I`` the identity (a spherical shape, or axis-aligned
axes). :class:`DecomposedStructure` reads its parameter count (mclust's
``nVarParams``), its minimum points, its description and its random covariances off
those letters; the ten structures beyond scikit-learn's four derive from it.
:func:`common_shape` is the inner iteration of the two structures whose shape is common
and whose volumes vary (VEI, VEV).
"""

from __future__ import annotations

import numpy as np

from bayesmix.covariance.base import CovarianceStructure
from bayesmix.covariance.eigen import compose

__all__ = ["INNER_MAX_ITER", "INNER_TOL", "WARM_INNER_MAX_ITER", "DecomposedStructure",
           "common_shape", "inner_iterations", "random_decomposition",
           "singular_where_not_finite", "stacked_entries"]

#: Relative change at which the inner iterations of an M step stop (mclust's default,
#: the square root of the machine epsilon).
INNER_TOL = float(np.sqrt(np.finfo(np.float64).eps))
#: The most inner iterations one M step runs.
INNER_MAX_ITER = 1000
#: The most inner iterations an M step runs from a start (the last M step's covariances,
#: as EM passes them): each iteration raises the objective from the start's, so EM stays
#: monotone (a generalised EM step) and the inner iterations go on in the next M step.
WARM_INNER_MAX_ITER = 3


def inner_iterations(start: object) -> range:
    """The inner iterations of an M step: :data:`WARM_INNER_MAX_ITER` from a ``start``.

    Examples
    --------
    >>> from bayesmix.covariance.decomposed import inner_iterations
    >>> len(inner_iterations(None)), len(inner_iterations("the last covariances"))
    (1000, 3)
    """
    return range(INNER_MAX_ITER if start is None else WARM_INNER_MAX_ITER)

_VOLUME = {"E": "equal volume", "V": "variable volume"}
_SHAPE = {"E": "equal shape", "V": "variable shape", "I": "spherical"}
_ORIENTATION = {"E": "common orientation", "V": "variable orientation",
                "I": "axis-aligned"}


def random_decomposition(rng: np.random.RandomState, name: str, n_components: int,
                         n_features: int, low: float, high: float
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random volumes, shapes and orientations with ``name``'s constraints.

    Every eigenvalue ``volume_k * shape_kj`` lies in ``[low, high]`` (so do the
    variances): the shapes' log-values spread over at most half of ``log(high / low)``,
    and each volume is drawn in the interval that keeps its eigenvalues in range.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.decomposed import random_decomposition
    >>> volumes, shapes, orientations = random_decomposition(np.random.RandomState(0), "VEV",
    ...                                                      3, 2, 0.5, 2.0)
    >>> bool(np.allclose(shapes, shapes[0])), bool(np.allclose(shapes.prod(axis=1), 1.0))
    (True, True)
    """
    volume, shape, orientation = name
    n_drawn = {"E": 1, "V": n_components, "I": 0}
    spread = np.log(high / low) / 4.0
    log_shapes = rng.uniform(-spread, spread, size=(n_drawn[shape], n_features))
    log_shapes -= log_shapes.mean(axis=1, keepdims=True)
    shapes = np.broadcast_to(np.exp(log_shapes) if n_drawn[shape] else 1.0,
                             (n_components, n_features)).copy()
    lowest, highest = low / shapes.min(axis=1), high / shapes.max(axis=1)
    if volume == "E":
        lowest, highest = np.full(1, lowest.max()), np.full(1, highest.min())
    volumes = np.broadcast_to(rng.uniform(lowest, highest), (n_components,)).copy()
    orientations = np.empty((n_drawn[orientation] or 1, n_features, n_features))
    for k in range(n_drawn[orientation]):
        orientations[k], _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    if not n_drawn[orientation]:
        orientations[0] = np.eye(n_features)
    orientations = np.broadcast_to(orientations, (n_components, n_features, n_features))
    return volumes, shapes, orientations.copy()


def _stacked_statistics(counts: np.ndarray, means: np.ndarray, batch_shape: tuple[int, ...]
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Counts (n, K) and means (n, K, D) of an M step, its batch axes as one
    (:func:`stacked_entries`)."""
    return stacked_entries(counts, batch_shape, 1), stacked_entries(means, batch_shape, 2)


def singular_where_not_finite(covariances: np.ndarray, component_ndim: int) -> np.ndarray:
    """Zero (a singular covariance) every component with a non-finite entry, in place.

    A degenerate scatter can make an M step divide 0 by 0; the component's covariance
    is then zero instead of NaN, so that
    :meth:`~bayesmix.covariance.base.CovarianceStructure.precision_cholesky` rejects it
    with a message naming the component. ``component_ndim`` is the number of trailing
    axes of one component's covariance (2 for matrices, 1 for variances, 0 for one).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.decomposed import singular_where_not_finite
    >>> singular_where_not_finite(np.array([[1.0, np.nan], [2.0, 3.0]]), 1)
    array([[0., 0.],
           [2., 3.]])
    """
    axes = tuple(range(covariances.ndim - component_ndim, covariances.ndim))
    broken = ~np.isfinite(covariances).all(axis=axes)
    covariances[broken] = 0.0
    return covariances


def stacked_entries(array: np.ndarray, batch_shape: tuple[int, ...], entry_ndim: int
                    ) -> np.ndarray:
    """``array`` as one batch axis of entries, (n, *entry), C-contiguous float64.

    The layout of the compiled inner iterations
    (:mod:`~bayesmix.covariance.inner_kernels`); ``array``'s leading axes are broadcast
    to ``batch_shape`` first (weights shared by a batch, say).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.decomposed import stacked_entries
    >>> stacked_entries(np.array([1.0, 2.0]), (2, 3), 1).shape
    (6, 2)
    """
    array = np.asarray(array, dtype=np.float64)
    entry_shape = array.shape[array.ndim - entry_ndim:]
    if array.shape[:array.ndim - entry_ndim] != batch_shape:
        array = np.broadcast_to(array, (*batch_shape, *entry_shape))
    return np.ascontiguousarray(array.reshape(-1, *entry_shape))


def common_shape(values: np.ndarray, weights: np.ndarray, start: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Volumes (*B, K) and a common shape (*B, D) for per-component axis values.

    Maximises ``-1/2 sum_k [w_k D log(lambda_k) + sum_j v_kj / (lambda_k a_j)]`` over the
    volumes ``lambda_k > 0`` and the shape ``a`` (product 1), which is convex in their
    logarithms, by mclust's alternating updates (``msvei``, ``msvev``): ``lambda_k =
    sum_j v_kj / a_j / (D w_k)``, then ``a`` proportional to ``sum_k v_kj / lambda_k``.
    It starts from ``start`` (*B, D), a shape up to scale (the last M step's), where it
    is finite and positive, else from the shape of ``sum_k v_k`` (which makes it
    equivariant under scalings of the axes), and stops when no value of the shape
    changes by more than :data:`INNER_TOL` (relative), or after the iterations of
    :func:`inner_iterations`; each batch entry stops on its own, so that it gets what it
    would alone. A component of weight 0 and values 0 is absent (it changes neither the
    shape nor the other volumes). Each iteration costs O(K D) per batch entry.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.decomposed import common_shape
    >>> volumes, shape = common_shape(np.array([[4.0, 1.0], [8.0, 2.0]]), np.array([1.0, 1.0]))
    >>> volumes.round(6), shape.round(6)
    (array([2., 4.]), array([2. , 0.5]))
    """
    # Numba loads and compiles on the first M step that needs it, not on import.
    from bayesmix.covariance.inner_kernels import fit_common_shape

    batch_shape = values.shape[:-2]
    starts = (np.empty((0, values.shape[-1])) if start is None
              else stacked_entries(start, batch_shape, 1))
    volumes, shape = fit_common_shape(
        stacked_entries(values, batch_shape, 2), stacked_entries(weights, batch_shape, 1),
        starts, len(inner_iterations(start)), INNER_TOL)
    return volumes.reshape(values.shape[:-1]), shape.reshape(*batch_shape, values.shape[-1])


class DecomposedStructure(CovarianceStructure):
    """A structure named by its volume, shape and orientation letters (``name``).

    Its parameter count is mclust's ``nVarParams``: one volume (``E``) or ``K``
    (``V``), ``D - 1`` shape values once or per component, ``D (D - 1) / 2`` rotation
    angles once or per component (none for ``I``). A component needs ``D + 1`` points
    when its orientation and shape are its own, one when its volume and shape are
    shared, two otherwise; where only the orientation is its own (EEV, VEV), the axes
    also need a scatter singular in at most one direction (:attr:`axes_from_scatter`).

    Examples
    --------
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.covariance.decomposed import DecomposedStructure
    >>> vev = get_structure("VEV")
    >>> isinstance(vev, DecomposedStructure), vev.description, vev.n_parameters(2, 4)
    (True, 'variable volume, equal shape, variable orientation', 17)
    """

    #: No scikit-learn name (not those of the storage class a structure derives from).
    aliases = ()
    #: The M step is the base's (:meth:`maximise_scatter` of the within scatter), not
    #: that of the storage class a structure also derives from.
    m_step = CovarianceStructure.m_step
    #: No prior unless the structure says what mclust's adds (not its storage class's),
    #: nor the storage class's seeds under one.
    supports_prior = False
    #: Nor a posterior unless the structure says so.
    supports_posterior = False
    prior_terms = CovarianceStructure.prior_terms
    prior_seeded_by = ()
    #: Every M step takes leading batch axes; the batch projects SQUAREM's jumps back
    #: into the constraints and leaves padded components out (absent components: weight
    #: 0, scatter 0). EII and EEI, whose constraints are equal entries, say otherwise.
    batched_m_step = True
    nonlinear_constraints = True

    # The scatters of the matrix and pooled kinds are compiled, equal to the last bit
    # (the compiler is these models' to load: those whose M steps iterate load it anyway).
    def m_step_scatter(self, counts, means, second_moments, total_scatter, reg_covar):
        if self.second_moments == "diagonal":
            return super().m_step_scatter(counts, means, second_moments, total_scatter,
                                          reg_covar)
        from bayesmix.covariance import scatter_kernel

        batch_shape = np.shape(counts)[:-1]
        counts, means = _stacked_statistics(counts, means, batch_shape)
        if self.second_moments == "matrix":
            return scatter_kernel.matrix_within_scatter(
                counts, means, stacked_entries(second_moments, batch_shape, 3), reg_covar,
                self.axes_from_scatter).reshape(np.shape(second_moments))
        return scatter_kernel.pooled_within_scatter(
            np.asarray(total_scatter, dtype=np.float64), counts, counts.sum(axis=-1), means,
            reg_covar).reshape(*batch_shape, *np.shape(total_scatter))

    def map_step_scatter(self, counts, means, second_moments, total_scatter, reg_covar,
                         prior, scale_matrix, n_components=None):
        if self.second_moments == "diagonal":
            return super().map_step_scatter(counts, means, second_moments, total_scatter,
                                            reg_covar, prior, scale_matrix, n_components)
        from bayesmix.covariance import scatter_kernel

        batch_shape = np.shape(counts)[:-1]
        counts, means = _stacked_statistics(counts, means, batch_shape)
        prior_mean = np.asarray(prior.mean, dtype=np.float64)
        scales = stacked_entries(scale_matrix, batch_shape, 2)
        if self.second_moments == "matrix":
            return scatter_kernel.matrix_map_scatter(
                counts, means, stacked_entries(second_moments, batch_shape, 3), reg_covar,
                prior_mean, float(prior.shrinkage), scales).reshape(np.shape(second_moments))
        fit_components = np.shape(counts)[-1] if n_components is None else n_components
        return scatter_kernel.pooled_map_scatter(
            np.asarray(total_scatter, dtype=np.float64), counts, counts.sum(axis=-1), means,
            reg_covar, prior_mean, float(prior.shrinkage),
            stacked_entries(fit_components, batch_shape, 0), scales,
        ).reshape(*batch_shape, *np.shape(total_scatter))

    @property
    def description(self) -> str:
        volume, shape, orientation = self.name
        if shape == "I":
            return f"{_VOLUME[volume]}, spherical"
        return f"{_VOLUME[volume]}, {_SHAPE[shape]}, {_ORIENTATION[orientation]}"

    def n_parameters(self, n_components, n_features):
        count = {"E": 1, "V": n_components, "I": 0}
        volume, shape, orientation = self.name
        return (count[volume] + count[shape] * (n_features - 1)
                + count[orientation] * n_features * (n_features - 1) // 2)

    @property
    def axes_from_scatter(self):
        return self.name[1:] == "EV"

    @property
    def collapse_stretches(self):
        return self.name[:2] == "EV"

    def min_points(self, n_features):
        # A component's own shape along its own axes (EVV) needs a scatter of full rank,
        # D + 1 rows, as a full covariance does. A volume or shape of its own needs two
        # rows; a shared volume and shape (EII, EEI, EEE, EEV), one. Own axes with a
        # shared shape (EEV, VEV) also need the scatter's null space to have at most one
        # dimension, else the axes are arbitrary in it (mclust's SVD and NumPy's eigh pick
        # different ones, and EM from the same start ends apart): a test of the scatter,
        # not of the count (axes_from_scatter).
        volume, shape, orientation = self.name
        if orientation == "V" and shape == "V":
            return n_features + 1
        return 1 if volume == "E" and shape != "V" else 2

    def random_covariances(self, rng, n_components, n_features, low, high):
        parts = random_decomposition(rng, self.name, n_components, n_features, low, high)
        return self.from_full(compose(*parts))
