"""mclust's conjugate prior (Fraley & Raftery 2007): the values and their defaults.

MAP-EM replaces the M step by the posterior mode of the parameters under a prior on the
means and covariances. mclust's prior (its ``priorControl()`` and ``defaultPrior``) has
four values: the shrinkage ``kappa_p`` of the means towards the prior mean ``mu_p``, the
degrees of freedom ``nu_p`` and the scale ``Lambda_p`` of the covariances' prior.
:class:`ConjugatePrior` holds them; :meth:`ConjugatePrior.resolve` fills the values left
out as mclust's ``defaultPrior`` does for the structure and checks the given ones. The
MAP step itself is each structure's
:meth:`~bayesmix.covariance.base.CovarianceStructure.map_step`, and the log density it
ascends its :meth:`~bayesmix.covariance.base.CovarianceStructure.log_prior`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from numbers import Real
from typing import Any

import numpy as np

from bayesmix.covariance.base import CovarianceStructure

__all__ = ["ConjugatePrior", "as_conjugate_prior", "describe_prior"]


@dataclass(frozen=True)
class ConjugatePrior:
    """mclust's conjugate prior on the components' means and covariances.

    Each component's mean has a normal prior centred on ``mean`` whose covariance is the
    component's covariance divided by ``shrinkage``; the covariances have an
    inverse-Wishart prior (``dof``, ``scale``) for the general-matrix structures and
    inverse-gamma priors on their variances for the spherical and diagonal ones (see
    :meth:`~bayesmix.covariance.base.CovarianceStructure.prior_terms` for each
    structure's exact form, which follows mclust's MAP steps). ``None`` means mclust's
    default, filled in by :meth:`resolve` from the data.

    Parameters
    ----------
    shrinkage : float, default=0.01
        ``kappa_p >= 0``, the prior's weight on ``mean`` in units of observations; 0 for
        no prior on the means (``mean`` then has no effect).
    mean : array-like of shape (n_features,), optional
        ``mu_p``, the prior mean; default the (weighted) column means of the data.
    dof : float, optional
        ``nu_p``, the degrees of freedom of the covariances' prior; default
        ``n_features + 2`` (3 for mclust's one-feature models, which is the same). A
        given value is used (mclust's ``defaultPrior`` always takes its default).
    scale : float or array-like of shape (n_features, n_features), optional
        ``Lambda_p``: a symmetric positive definite matrix, or a number (that number
        times the identity). mclust's spherical and diagonal models take one prior
        variance: a matrix's mean diagonal, ``trace(Lambda_p) / D``, as their default is
        the mean of the data's variances, so that one scale serves every structure of a
        grid. Default as mclust's ``defaultPrior``: the data's
        covariance divided by ``n_components^(2 / n_features)`` for the matrix
        structures (its diagonal only when there are no more rows than features), the
        mean of the column variances divided by the same for the others (the column
        variance divided by ``n_components^2`` for one feature).

    Examples
    --------
    >>> from bayesmix.covariance.prior import ConjugatePrior
    >>> ConjugatePrior().shrinkage
    0.01
    >>> ConjugatePrior(shrinkage=-1.0)
    Traceback (most recent call last):
        ...
    ValueError: shrinkage must be a finite number >= 0, got -1.0. Use 0 for no prior on the means, or mclust's default 0.01.
    """

    shrinkage: float = 0.01
    mean: np.ndarray | None = None
    dof: float | None = None
    scale: np.ndarray | float | None = None

    def __post_init__(self) -> None:
        if not _is_number(self.shrinkage) or not np.isfinite(self.shrinkage) or (
                self.shrinkage < 0):
            raise ValueError(
                f"shrinkage must be a finite number >= 0, got {self.shrinkage!r}. Use 0 for "
                f"no prior on the means, or mclust's default 0.01."
            )
        object.__setattr__(self, "shrinkage", float(self.shrinkage))
        if self.mean is not None:
            mean = _float_array(self.mean, "mean")
            if mean.ndim != 1 or not np.isfinite(mean).all():
                raise ValueError(
                    f"mean must be a finite 1-D array (one value per feature), got shape "
                    f"{mean.shape}{'' if np.isfinite(mean).all() else ' with NaN or inf'}."
                )
            object.__setattr__(self, "mean", mean)
        if self.dof is not None:
            if not _is_number(self.dof) or not np.isfinite(self.dof) or self.dof <= 0:
                raise ValueError(
                    f"dof must be a finite number > 0, got {self.dof!r}. Leave it out for "
                    f"mclust's default n_features + 2."
                )
            object.__setattr__(self, "dof", float(self.dof))
        if self.scale is not None:
            object.__setattr__(self, "scale", _checked_scale(self.scale))

    def resolve(self, X: np.ndarray, structure: CovarianceStructure, n_components: int,
                sample_weight: np.ndarray | None = None) -> ConjugatePrior:
        """Every value filled in for ``structure`` and ``n_components`` on ``X``, checked.

        The defaults are mclust's ``defaultPrior``: ``mean`` the column means, ``dof``
        ``D + 2``, ``scale`` from the columns' variances with R's ``n - 1`` denominator
        (see the class). With ``sample_weight``, the weights count as repeated rows:
        ``n`` is their sum, the means and variances are weighted (``sum_n w_n (x_n -
        mean)^2 / (n - 1)``), exactly those of the data with each row repeated ``w_n``
        times. The returned scale is a float for the spherical and diagonal structures
        and a (D, D) array for the others.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        structure : CovarianceStructure
            The structure to fit (``bayesmix.covariance.get_structure(name)``).
        n_components : int
        sample_weight : array-like of shape (n_samples,), optional

        Raises
        ------
        ValueError
            For a value that does not fit the data or the structure (a mean or a scale
            of the wrong size, ``dof <= D - 1`` for a matrix structure), or weights
            summing to 1 or less.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.covariance.prior import ConjugatePrior
        >>> X = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [2.0, 4.0]])
        >>> prior = ConjugatePrior().resolve(X, get_structure("VII"), n_components=2)
        >>> prior.mean, prior.dof, round(prior.scale, 6)
        (array([1., 2.]), 4.0, 1.666667)
        >>> ConjugatePrior().resolve(X, get_structure("VVV"), n_components=2).scale.round(6)
        array([[0.666667, 0.      ],
               [0.      , 2.666667]])
        """
        if not isinstance(structure, CovarianceStructure):
            raise TypeError(
                f"structure must be a CovarianceStructure, got {type(structure).__name__}. "
                f"Pass bayesmix.covariance.get_structure(covariance_type)."
            )
        X = _float_array(X, "X", copy=False)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}.")
        n_features = X.shape[1]
        weights = (np.ones(X.shape[0]) if sample_weight is None
                   else _float_array(sample_weight, "sample_weight"))
        if weights.shape != (X.shape[0],):
            raise ValueError(
                f"sample_weight has shape {weights.shape}, but X has {X.shape[0]} rows. "
                f"Pass one weight per row."
            )
        total = float(weights.sum())
        if not total > 1.0:
            raise ValueError(
                f"the prior's default scale needs the data's variances, but the rows' "
                f"weights sum to {total:g} <= 1. Pass more rows, weights that count rows "
                f"(each row as if repeated w times), or the prior's scale."
            )
        column_means = weights @ X / total
        if not np.isfinite(column_means).all():
            raise ValueError("X or sample_weight contains NaN or infinity; pass finite values.")
        mean = column_means if self.mean is None else self.mean
        if mean.shape != (n_features,):
            raise ValueError(
                f"mean has {mean.size} values but X has {n_features} features. Pass one "
                f"prior mean per column of X."
            )
        dof = float(n_features + 2) if self.dof is None else self.dof
        factor = float(n_components) ** (-2.0 / n_features)
        if structure.estimates_correlations:
            if not dof > n_features - 1:
                raise ValueError(
                    f"dof={dof:g} is too small for covariance_type={structure.label!r}: its "
                    f"inverse-Wishart prior needs dof > n_features - 1 = {n_features - 1}. "
                    f"Pass a larger dof (mclust's default is n_features + 2)."
                )
            scale = self.scale
            if scale is None:
                full = total > n_features
                scatter = _scatter(X, weights, column_means, full)
                scale = factor * (scatter if full else np.diag(scatter)) / (total - 1.0)
                _check_default_scale(float(np.linalg.eigvalsh(scale)[0]))
            elif np.ndim(scale) == 0:
                scale = scale * np.eye(n_features)
            else:
                _check_scale_features(scale, n_features)
        else:
            scale = self.scale
            if scale is None:
                variances = _scatter(X, weights, column_means, False) / (total - 1.0)
                scale = factor * float(variances.sum()) / n_features
                _check_default_scale(scale)
            elif np.ndim(scale) != 0:  # its mean variance, as the default's from the data
                _check_scale_features(scale, n_features)
                scale = float(np.trace(scale)) / n_features
        return replace(self, mean=mean, dof=dof, scale=scale)

    def shifted(self, shift: np.ndarray) -> ConjugatePrior:
        """The resolved prior in coordinates moved by ``-shift`` (the EM engine's centred
        data): only the mean moves.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance.prior import ConjugatePrior
        >>> ConjugatePrior(mean=np.array([3.0, 1.0])).shifted(np.array([1.0, 1.0])).mean
        array([2., 0.])
        >>> from bayesmix.covariance import get_structure
        >>> no_shrinkage = ConjugatePrior(shrinkage=0.0).resolve(np.eye(3), get_structure("VII"), 1)
        >>> no_shrinkage.shifted(np.ones(3)).mean.round(3)
        array([-0.667, -0.667, -0.667])
        """
        return replace(self, mean=self._resolved_mean() - shift)

    def for_source(self, source: Any, structure: CovarianceStructure, n_components: int
                   ) -> ConjugatePrior:
        """:meth:`resolve` on an EM data source's initialisation sample (every row in
        memory), :meth:`shifted` to the source's centred coordinates: the prior an EM
        fit of ``structure`` with ``n_components`` runs under.

        Resolved once per source, prior, structure and number of components, and kept in
        the source's ``cache`` (its arrays read-only), so that the fits of a grid share
        it: :func:`~bayesmix.select_em` under a prior resolved each some three times
        (0.2 ms each; 265 resolutions of diabetes' 90).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.covariance.prior import ConjugatePrior
        >>> from bayesmix.em.sources import InMemorySource
        >>> source = InMemorySource(np.array([[0.0], [2.0], [4.0]]))
        >>> prior = ConjugatePrior().for_source(source, get_structure("V"), 1)
        >>> prior.mean, prior is ConjugatePrior().for_source(source, get_structure("V"), 1)
        (array([0.]), True)
        """
        key = ("resolved prior", describe_prior(self), structure.name, n_components)
        if key not in source.cache:
            X, weights = source.initialisation_sample()
            resolved = self.resolve(X, structure, n_components, weights).shifted(source.shift)
            for value in (resolved.mean, resolved.scale):
                if isinstance(value, np.ndarray):
                    value.flags.writeable = False
            source.cache[key] = resolved
        return source.cache[key]

    def _resolved_mean(self) -> np.ndarray:
        if self.mean is None:
            raise ValueError(
                "the prior's mean is not set. Call resolve(X, structure, n_components) "
                "first, or pass mean."
            )
        return self.mean

    def posterior_means(self, counts: np.ndarray, means: np.ndarray) -> np.ndarray:
        """The MAP means ``(n_k xbar_k + kappa_p mu_p) / (n_k + kappa_p)``, as mclust's.

        ``means`` are the M step's (``xbar_k``), in the coordinates of the resolved
        prior's ``mean``; leading batch axes are kept.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance.prior import ConjugatePrior
        >>> prior = ConjugatePrior(shrinkage=1.0, mean=np.array([0.0]))
        >>> prior.posterior_means(np.array([3.0]), np.array([[4.0]]))
        array([[3.]])
        """
        counts = np.asarray(counts, dtype=np.float64)[..., np.newaxis]
        return ((counts * means + self.shrinkage * self._resolved_mean())
                / (counts + self.shrinkage))


#: Rows per block of :func:`_scatter` (a block of at most this many rows is copied).
_BLOCK_ROWS = 4096


def _scatter(X: np.ndarray, weights: np.ndarray, centre: np.ndarray, full: bool
             ) -> np.ndarray:
    """``sum_n w_n (x_n - c)(x_n - c)^T`` (D, D), or its diagonal, in blocks of rows."""
    n_features = X.shape[1]
    scatter = np.zeros((n_features, n_features) if full else n_features)
    for start in range(0, X.shape[0], _BLOCK_ROWS):
        block = X[start:start + _BLOCK_ROWS] - centre
        weighted = block * weights[start:start + _BLOCK_ROWS, np.newaxis]
        scatter += weighted.T @ block if full else np.einsum("nd,nd->d", weighted, block)
    return scatter


def _check_scale_features(scale: np.ndarray, n_features: int) -> None:
    """Refuse a matrix scale whose size is not the data's number of features."""
    if scale.shape != (n_features, n_features):
        raise ValueError(
            f"scale has shape {scale.shape} but X has {n_features} features. Pass a "
            f"({n_features}, {n_features}) matrix or a number (times the identity)."
        )


def _check_default_scale(smallest: float) -> None:
    """Refuse a default scale (from the data's covariance) that is not positive definite,
    naming its cause: the user passed no scale, so "pass a positive definite matrix"
    would not say what to change."""
    if not smallest > 0:
        raise ValueError(
            f"the prior's default scale, the data's covariance times "
            f"n_components^(-2/n_features), is not positive definite (smallest eigenvalue "
            f"{smallest:.3g}): a column of X is constant, or some columns are collinear. "
            f"Drop such columns, or pass ConjugatePrior(scale=...) with a positive "
            f"definite scale."
        )


def _is_number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _float_array(value: object, name: str, copy: bool = True) -> np.ndarray:
    """``value`` as a float64 array (a copy unless ``copy`` is false and it is one
    already), or a TypeError naming the argument."""
    got = type(value).__name__
    try:
        if np.asarray(value).dtype.kind != "b":
            return np.array(value, dtype=np.float64, copy=copy or None)
        got = f"booleans ({got})"  # True would be read as 1
    except (TypeError, ValueError):
        pass
    raise TypeError(f"{name} must hold numbers, got {got}.")


def _checked_scale(scale: object) -> float | np.ndarray:
    """A positive number, or a symmetric positive definite matrix (a float64 copy)."""
    if _is_number(scale):
        if not np.isfinite(scale) or scale <= 0:
            raise ValueError(
                f"scale must be positive and finite, got {scale!r}. Pass a positive "
                f"number or a positive definite matrix."
            )
        return float(scale)
    matrix = _float_array(scale, "scale")
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or not np.isfinite(
            matrix).all():
        raise ValueError(
            f"scale must be a number or a finite square matrix, got an array of shape "
            f"{matrix.shape}. Pass a positive number or a (n_features, n_features) "
            f"positive definite matrix."
        )
    if not np.allclose(matrix, matrix.T, rtol=1e-10, atol=0.0):
        raise ValueError("scale is not symmetric. Pass a symmetric positive definite matrix.")
    smallest = np.linalg.eigvalsh(matrix)[0]
    if smallest <= 0:
        raise ValueError(
            f"scale is not positive definite (smallest eigenvalue {smallest:.3g}). Pass a "
            f"positive definite matrix."
        )
    return matrix


def as_conjugate_prior(prior: str | ConjugatePrior | None) -> ConjugatePrior | None:
    """An estimator's ``prior`` setting as the prior it fits under: ``"default"`` is
    mclust's (:class:`ConjugatePrior` with every value left to :meth:`~ConjugatePrior.
    resolve`), a :class:`ConjugatePrior` itself, ``None`` none.

    Examples
    --------
    >>> from bayesmix.covariance.prior import ConjugatePrior, as_conjugate_prior
    >>> as_conjugate_prior("default") == ConjugatePrior(), as_conjugate_prior(None)
    (True, None)
    """
    return ConjugatePrior() if isinstance(prior, str) else prior


def describe_prior(prior: str | ConjugatePrior | None) -> str:
    """An estimator's ``prior`` setting in words, as tables and InferenceData attributes
    name it: ``"none"`` (maximum likelihood), ``"mclust default"``, or the
    :class:`ConjugatePrior`'s values on one line (arrays as nested lists).

    Examples
    --------
    >>> from bayesmix.covariance.prior import ConjugatePrior, describe_prior
    >>> describe_prior(None), describe_prior("default")
    ('none', 'mclust default')
    >>> describe_prior(ConjugatePrior(shrinkage=0.1, scale=[[1.0, 0.0], [0.0, 2.0]]))
    'ConjugatePrior(shrinkage=0.1, mean=None, dof=None, scale=[[1.0, 0.0], [0.0, 2.0]])'
    """
    if prior is None:
        return "none"
    if isinstance(prior, str):
        return "mclust default"
    values = ", ".join(
        f"{name}={np.asarray(value).tolist() if isinstance(value, np.ndarray) else value!r}"
        for name, value in ((item.name, getattr(prior, item.name)) for item in fields(prior)))
    return f"ConjugatePrior({values})"
