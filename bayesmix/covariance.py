"""The four covariance structures and conversions between their parametrisations.

A structure says how the components' covariance matrices are parametrised:

=============  ======================  =================================================
name           stored shape            meaning
=============  ======================  =================================================
``full``       (K, D, D)               every component has its own general covariance
``tied``       (D, D)                  all components share one general covariance
``diag``       (K, D)                  every component has its own diagonal covariance
``spherical``  (K,)                    every component has its own single variance
=============  ======================  =================================================

Densities are evaluated through the Cholesky factor ``U`` of each precision matrix
(``precision = U @ U.T``, ``U`` upper triangular), as scikit-learn does: the squared
Mahalanobis distance is then ``||(x - mu) @ U||**2`` and ``log|precision| / 2`` is the sum
of ``log(diag(U))``. For ``diag`` and ``spherical`` the factor is ``1 / sqrt(variance)``.
"""

from __future__ import annotations

import numpy as np

from bayesmix._validation import COVARIANCE_TYPES, check_covariance_type

__all__ = [
    "COVARIANCE_TYPES",
    "covariance_shape",
    "n_parameters",
    "precision_cholesky",
    "precisions_from_cholesky",
    "covariances_from_precisions",
    "log_det_cholesky",
    "to_full",
]

_FIX = (
    "Increase reg_covar, reduce n_components, or standardise the data (some components "
    "may have collapsed onto repeated or rounded values)."
)


def covariance_shape(covariance_type: str, n_components: int, n_features: int) -> tuple[int, ...]:
    """Shape of the stored covariances (or precisions) of a structure.

    Examples
    --------
    >>> from bayesmix.covariance import covariance_shape
    >>> covariance_shape("diag", 3, 2)
    (3, 2)
    """
    check_covariance_type(covariance_type)
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


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
    """
    check_covariance_type(covariance_type)
    K, D = n_components, n_features
    covariance_params = {
        "full": K * D * (D + 1) // 2,
        "tied": D * (D + 1) // 2,
        "diag": K * D,
        "spherical": K,
    }[covariance_type]
    return int(K - 1 + K * D + covariance_params)


def precision_cholesky(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """Cholesky factors of the precision matrices from covariances.

    Parameters
    ----------
    covariances : ndarray
        Covariances in the stored shape of ``covariance_type``; ``full`` and ``tied``
        accept any leading batch dimensions (e.g. posterior draws).
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    ndarray of the same shape: upper-triangular ``U`` with ``inv(cov) = U @ U.T`` for
    ``full``/``tied``, ``1 / sqrt(cov)`` for ``diag``/``spherical``.

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
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type in ("diag", "spherical"):
        invalid = ~(covariances > 0.0) | ~np.isfinite(covariances)
        if invalid.any():
            component = int(np.argwhere(invalid)[0][0])
            raise ValueError(
                f"The fitted covariance of component {component} is not positive (a variance "
                f"<= 0 or non-finite). {_FIX}"
            )
        return 1.0 / np.sqrt(covariances)
    try:
        cov_chol = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        cov_chol = None
    if cov_chol is None or not np.isfinite(cov_chol).all():
        raise ValueError(f"{_describe_not_pd(covariances, covariance_type)} {_FIX}") from None
    # NumPy's batched inverse loops in C (SciPy's batched triangular solve loops in Python);
    # the inverse of a lower-triangular matrix is lower triangular, up to round-off.
    return np.swapaxes(np.tril(np.linalg.inv(cov_chol)), -1, -2)


def _describe_not_pd(matrices: np.ndarray, covariance_type: str) -> str:
    """Say which of a stack of matrices is not positive definite."""
    if covariance_type == "tied" and matrices.ndim == 2:
        return "The shared (tied) covariance is not positive definite."
    flat = matrices.reshape(-1, *matrices.shape[-2:])
    smallest = np.array([np.linalg.eigvalsh(m)[0] if np.isfinite(m).all() else np.nan
                         for m in flat])
    index = int(np.argmax(~(smallest > 0)))
    where = np.unravel_index(index, matrices.shape[:-2])
    label = where[-1] if len(where) == 1 else where
    return (f"The covariance of component {label} is not positive definite (smallest "
            f"eigenvalue {smallest[index]:.3g}).")


def precisions_from_cholesky(precisions_cholesky: np.ndarray, covariance_type: str) -> np.ndarray:
    """Precision matrices (or precisions) from their Cholesky factors.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import precisions_from_cholesky
    >>> precisions_from_cholesky(np.array([0.5, 2.0]), "spherical")
    array([0.25, 4.  ])
    """
    factors = np.asarray(precisions_cholesky, dtype=np.float64)
    if covariance_type in ("diag", "spherical"):
        return factors**2
    return factors @ np.swapaxes(factors, -1, -2)


def covariances_from_precisions(precisions: np.ndarray, covariance_type: str) -> np.ndarray:
    """Covariances from precisions (matrix inverse, or reciprocal for diag/spherical).

    Raises
    ------
    ValueError
        If a precision is not positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import covariances_from_precisions
    >>> covariances_from_precisions(np.array([[2.0, 4.0]]), "diag")
    array([[0.5 , 0.25]])
    """
    precisions = np.asarray(precisions, dtype=np.float64)
    if covariance_type in ("diag", "spherical"):
        return 1.0 / precisions
    return precisions_from_cholesky(precision_cholesky(precisions, covariance_type),
                                    covariance_type)


def cholesky_from_precisions(precisions: np.ndarray, covariance_type: str) -> np.ndarray:
    """Upper Cholesky factors ``U`` of precision matrices, ``P = U @ U.T``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import cholesky_from_precisions
    >>> cholesky_from_precisions(np.array([4.0]), "spherical")
    array([2.])
    >>> U = cholesky_from_precisions(np.array([[2.0, 1.0], [1.0, 2.0]]), "tied")
    >>> bool(np.allclose(U @ U.T, [[2.0, 1.0], [1.0, 2.0]])), bool(U[1, 0] == 0.0)
    (True, True)
    """
    precisions = np.asarray(precisions, dtype=np.float64)
    if covariance_type in ("diag", "spherical"):
        return np.sqrt(precisions)
    # Reversing rows and columns turns the lower factor of the flipped matrix into the
    # upper factor of the original one.
    flipped = np.flip(precisions, axis=(-2, -1))
    return np.flip(np.linalg.cholesky(flipped), axis=(-2, -1))


def log_det_cholesky(
    precisions_cholesky: np.ndarray, covariance_type: str, n_features: int
) -> np.ndarray:
    """Half the log-determinant of each precision matrix, ``sum(log(diag(U)))``.

    Returns an array of shape (n_components,), or a scalar for ``tied``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import log_det_cholesky
    >>> float(log_det_cholesky(np.array([2.0]), "spherical", n_features=3)[0])  # 3 log 2
    2.0794415416798357
    """
    factors = np.asarray(precisions_cholesky, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        return np.sum(np.log(np.diagonal(factors, axis1=-2, axis2=-1)), axis=-1)
    if covariance_type == "diag":
        return np.sum(np.log(factors), axis=1)
    return n_features * np.log(factors)


def to_full(
    covariances: np.ndarray, covariance_type: str, n_components: int, n_features: int
) -> np.ndarray:
    """Covariances of any structure as a (n_components, n_features, n_features) stack.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import to_full
    >>> to_full(np.array([1.0, 2.0]), "spherical", 2, 2)[1]
    array([[2., 0.],
           [0., 2.]])
    """
    covariances = np.asarray(covariances, dtype=np.float64)
    identity = np.eye(n_features)
    if covariance_type == "full":
        return covariances.copy()
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (n_components, n_features, n_features)).copy()
    if covariance_type == "diag":
        return covariances[:, :, np.newaxis] * identity
    return covariances[:, np.newaxis, np.newaxis] * identity
