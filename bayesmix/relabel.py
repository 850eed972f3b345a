"""Label switching: give the components of every posterior draw consistent labels.

A mixture's likelihood is invariant to permuting its components, so the posterior has
``K!`` symmetric modes and a sampler may visit several (between chains, or within one).
Averages, R-hat and ESS of per-component quantities are meaningless until each draw's
components are relabelled consistently. Two rules are offered:

``"hungarian"``
    Match each draw to a reference mixture (by default the EM fit in
    :class:`~bayesmix.bayes.GaussianMixtureBayes`) by minimising, with the Hungarian
    algorithm, the total dissimilarity ``(mu_k - m_j)' S_j^-1 (mu_k - m_j) +
    tr(S_j^-1 Sigma_k)`` between draw component ``k`` and reference component ``j``:
    the Kullback-Leibler divergence of the two Gaussians up to terms that do not depend
    on the matching.
``"order"``
    Sort each draw's components by one mean coordinate (the identifiability constraint
    of ``ordered_means=True``).

Every posterior variable with a ``component`` dim is permuted, so a family's own
parameters (the t's ``dof``) travel with their components; for t components the
``covariances`` matched are the scale matrices (:mod:`bayesmix.results`).
"""

from __future__ import annotations

from typing import Any

import arviz as az
import numpy as np
import xarray as xr
from numpy.typing import ArrayLike
from scipy.optimize import linear_sum_assignment

from bayesmix._validation import check_int, check_option

__all__ = ["hungarian_permutations", "order_permutations", "apply_permutations", "relabel"]


def _match_costs(
    means: np.ndarray,
    reference_means: np.ndarray,
    reference_covariances: np.ndarray | None,
    covariances: np.ndarray | None,
) -> np.ndarray:
    """Cost ``[..., k, j]`` of giving draw component ``k`` the reference label ``j``."""
    n_features = means.shape[-1]
    if reference_covariances is None:
        reference_precisions = np.broadcast_to(np.eye(n_features),
                                               reference_means.shape + (n_features,))
    else:
        reference_precisions = np.linalg.inv(reference_covariances)
    diff = means[..., :, None, :] - reference_means  # (..., k, j, d)
    cost = np.einsum("...kjd,jde,...kje->...kj", diff, reference_precisions, diff)
    if covariances is not None:
        cost = cost + np.einsum("jde,...ked->...kj", reference_precisions, covariances)
    return cost


def hungarian_permutations(
    means: ArrayLike,
    reference_means: ArrayLike,
    reference_covariances: ArrayLike | None = None,
    covariances: ArrayLike | None = None,
) -> np.ndarray:
    """Per-draw permutations matching each draw's components to a reference mixture.

    Parameters
    ----------
    means : array-like of shape (..., n_components, n_features)
        Component means of every draw (e.g. ``(chain, draw, component, feature)``).
    reference_means : array-like of shape (n_components, n_features)
    reference_covariances : array-like of shape (n_components, n_features, n_features), optional
        Full covariance matrices of the reference; identity matrices when omitted.
    covariances : array-like of shape (..., n_components, n_features, n_features), optional
        The draws' covariances; when given the match also compares shapes (KL divergence).

    Returns
    -------
    ndarray of int, shape (..., n_components)
        ``perm[..., j]`` is the draw component that gets label ``j``, so that
        ``apply_permutations(values, perm)`` relabels.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.relabel import hungarian_permutations
    >>> reference = np.array([[0.0], [5.0], [10.0]])
    >>> draws = np.array([[[10.2], [0.1], [4.9]], [[0.0], [5.1], [9.7]]])
    >>> hungarian_permutations(draws, reference)
    array([[1, 2, 0],
           [0, 1, 2]])
    """
    means = np.asarray(means, dtype=np.float64)
    reference_means = _finite_array(reference_means, "reference_means")
    if means.shape[-2:] != reference_means.shape:
        raise ValueError(
            f"means have components and features {means.shape[-2:]}, but the reference has "
            f"{reference_means.shape}; both need the same (n_components, n_features)."
        )
    if reference_covariances is not None:
        reference_covariances = _checked_covariances(reference_covariances,
                                                     reference_means.shape)
    costs = _match_costs(
        means, reference_means, reference_covariances,
        None if covariances is None else np.asarray(covariances, float),
    )
    flat = costs.reshape(-1, *costs.shape[-2:])
    permutations = np.empty(flat.shape[:2], dtype=np.int64)
    for index, cost in enumerate(flat):
        rows, columns = linear_sum_assignment(cost)
        permutations[index, columns] = rows
    return permutations.reshape(costs.shape[:-1])


def _finite_array(values: ArrayLike, name: str) -> np.ndarray:
    """``values`` as finite float64 numbers, or a ValueError that names them."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numbers, got {type(values).__name__}.") from None
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite; it holds NaN or infinity.")
    return array


def _checked_covariances(covariances: ArrayLike, mean_shape: tuple[int, ...]) -> np.ndarray:
    """Reference covariances: one positive definite (D, D) matrix per reference mean."""
    covariances = _finite_array(covariances, "reference_covariances")
    n_components, n_features = mean_shape
    if covariances.shape != (n_components, n_features, n_features):
        raise ValueError(
            f"reference_covariances has shape {covariances.shape}; pass one (n_features, "
            f"n_features) matrix per reference mean: shape "
            f"({n_components}, {n_features}, {n_features}).")
    try:
        np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        raise ValueError("reference_covariances must be symmetric positive definite "
                         "matrices (covariances), e.g. a fit's covariances in full form."
                         ) from None
    return covariances


def order_permutations(means: ArrayLike, feature: int = 0) -> np.ndarray:
    """Per-draw permutations sorting the components by one mean coordinate.

    Parameters
    ----------
    means : array-like of shape (..., n_components, n_features)
    feature : int, default=0
        Index of the coordinate to sort by.

    Returns
    -------
    ndarray of int, shape (..., n_components)

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.relabel import order_permutations
    >>> order_permutations(np.array([[[3.0, 0.0], [1.0, 0.0], [2.0, 9.0]]]))
    array([[1, 2, 0]])
    """
    means = np.asarray(means, dtype=np.float64)
    feature = check_int(feature, "feature", min_value=0, max_value=means.shape[-1] - 1)
    return np.argsort(means[..., feature], axis=-1, kind="stable")


def apply_permutations(values: ArrayLike, permutations: ArrayLike, axis: int = 2) -> np.ndarray:
    """Reorder the component axis of per-draw values by per-draw permutations.

    Parameters
    ----------
    values : array-like
        Leading dims match ``permutations`` (e.g. ``chain, draw``), the component axis is
        ``axis``; trailing dims are carried along.
    permutations : array-like of int, shape (*lead, n_components)
    axis : int, default=2
        Position of the component axis in ``values`` (right after ``chain, draw``).

    Returns
    -------
    ndarray with ``out[c, d, j, ...] = values[c, d, permutations[c, d, j], ...]``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.relabel import apply_permutations
    >>> apply_permutations(np.array([[10.0, 20.0, 30.0]]), np.array([[2, 0, 1]]), axis=1)
    array([[30., 10., 20.]])
    """
    values = np.asarray(values)
    permutations = np.asarray(permutations)
    lead = permutations.ndim - 1
    if axis != lead:
        raise ValueError(
            f"The component axis must come right after the {lead} leading dims of the "
            f"permutations (axis={lead}), got axis={axis}."
        )
    index = permutations.reshape(permutations.shape + (1,) * (values.ndim - axis - 1))
    return np.take_along_axis(values, index, axis=axis)


def _permute_dataset(dataset: xr.Dataset, permutations: np.ndarray) -> xr.Dataset:
    """Relabel every variable of a posterior dataset that has a ``component`` dim."""
    out = dataset.copy()
    for name, variable in dataset.data_vars.items():
        if "component" not in variable.dims:
            continue
        order = ("chain", "draw", "component")
        rest = [d for d in variable.dims if d not in order]
        moved = variable.transpose(*order, *rest)
        values = apply_permutations(moved.values, permutations, axis=2)
        out[name] = moved.copy(data=values).transpose(*variable.dims)
    return out


def relabel(
    idata: az.InferenceData,
    reference_means: ArrayLike | None = None,
    reference_covariances: ArrayLike | None = None,
    method: str = "hungarian",
    feature: int = 0,
) -> az.InferenceData:
    """Relabel the components of a bayesmix posterior, draw by draw.

    Parameters
    ----------
    idata : arviz.InferenceData
        In bayesmix's layout (``means``, ``covariances`` in ``posterior``).
    reference_means : array-like of shape (n_components, n_features), optional
        For ``"hungarian"``: the reference mixture, typically an EM fit's ``means_``.
        When omitted, the posterior means of the draws ordered by ``feature``.
    reference_covariances : array-like of shape (n_components, n_features, n_features), optional
        Full covariances of the reference, used to scale the match.
    method : {"hungarian", "order"}, default="hungarian"
    feature : int, default=0
        The mean coordinate used by ``"order"`` (and by the default reference).

    Returns
    -------
    arviz.InferenceData
        A new object: every posterior variable with a ``component`` dim relabelled, and
        ``sample_stats.label_permutation (chain, draw, component)`` holding, for each
        new label, the raw component it came from (composed with any earlier one).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.relabel import relabel
    >>> from bayesmix.results import build_inference_data
    >>> means = np.array([[[[0.0], [5.0]], [[5.1], [0.2]]]])  # draw 2 is swapped
    >>> idata = build_inference_data(
    ...     X=np.array([[0.0], [5.0]]), weights=np.array([[[0.3, 0.7], [0.7, 0.3]]]),
    ...     means=means, covariances=np.ones((1, 2, 2, 1, 1)), covariance_type="full",
    ...     inference_method="nuts")
    >>> out = relabel(idata, reference_means=[[0.0], [5.0]])
    >>> out.posterior["weights"].values.round(1)
    array([[[0.3, 0.7],
            [0.3, 0.7]]])
    >>> out.sample_stats["label_permutation"].values
    array([[[0, 1],
            [1, 0]]])
    """
    method = check_option(method, "method", tuple(_PERMUTATIONS))
    posterior = getattr(idata, "posterior", None)
    if posterior is None or not {"means", "covariances"} <= set(posterior.data_vars):
        raise ValueError(
            f"idata must be a bayesmix InferenceData, whose posterior holds 'means' and "
            f"'covariances' (a fit's to_inference_data() or idata_), got "
            f"{type(idata).__name__}.")
    means = posterior["means"].transpose("chain", "draw", "component", "feature").values
    permutations = _PERMUTATIONS[method](posterior, means, feature, reference_means,
                                         reference_covariances)
    return _with_permutations(idata, permutations)


def _ordered(posterior, means, feature, reference_means, reference_covariances):
    """``method="order"``: components sorted by one mean coordinate in every draw."""
    return order_permutations(means, feature)


def _matched(posterior, means, feature, reference_means, reference_covariances):
    """``method="hungarian"``: each draw matched to the reference (by default the mean of
    the ordered draws)."""
    if reference_means is None:
        reference_means = apply_permutations(
            means, order_permutations(means, feature)).mean(axis=(0, 1))
    covariances = posterior["covariances"].transpose(
        "chain", "draw", "component", "feature", "feature_bis").values
    return hungarian_permutations(means, reference_means, reference_covariances, covariances)


_PERMUTATIONS = {"hungarian": _matched, "order": _ordered}


def _with_permutations(idata: az.InferenceData, permutations: np.ndarray) -> az.InferenceData:
    posterior = idata.posterior
    groups: dict[str, Any] = {g: idata[g] for g in idata.groups()}
    groups["posterior"] = _permute_dataset(posterior, permutations)
    previous = None
    stats = groups.get("sample_stats")
    if stats is not None and "label_permutation" in stats:
        previous = stats["label_permutation"].transpose("chain", "draw", "component").values
    total = permutations if previous is None else apply_permutations(previous, permutations)
    label_permutation = xr.DataArray(
        total, dims=("chain", "draw", "component"),
        coords={d: posterior[d].values for d in ("chain", "draw", "component")},
    )
    if stats is None:
        stats = xr.Dataset(attrs=dict(posterior.attrs))
    groups["sample_stats"] = stats.assign(label_permutation=label_permutation)
    return az.InferenceData(**groups)
