"""Prior hyper-parameters of the Bayesian Gaussian mixture, with data-scaled defaults."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from bayesmix._validation import (
    check_array,
    check_covariance_type,
    check_int,
    check_option,
    check_real,
)
from bayesmix.density import FAMILY_PARAMETERS

__all__ = ["DEFAULT_DOF_PRIOR", "DEFAULT_DP_CONCENTRATION", "SPARSE_WEIGHTS_ALPHA",
           "MixturePriors"]

#: Default LKJ shape: mildly favours weak correlations, keeps the density finite at |r| -> 1.
DEFAULT_LKJ_ETA = 2.0
#: Default Dirichlet concentration: uniform over the weight simplex.
DEFAULT_WEIGHTS_ALPHA = 1.0
#: The Dirichlet concentration of a sparse finite mixture (:meth:`MixturePriors.sparse`):
#: Malsiner-Walli, Fruhwirth-Schnatter and Grun (2016) fix it at 0.01 so that the
#: components an overfitted mixture does not need are emptied (Rousseau and Mengersen
#: 2011: with a concentration below ``d / 2``, ``d`` the parameters of a component, the
#: superfluous weights go to zero).
SPARSE_WEIGHTS_ALPHA = 0.01
#: The default concentration of the truncated Dirichlet process
#: (:meth:`MixturePriors.dirichlet_process`): 1, the usual unit choice (Escobar and West
#: 1995; Ishwaran and James 2001), under which the expected number of clusters among ``N``
#: rows is about ``log(1 + N)`` (5.6 for the 272 rows of Old Faithful) and each stick
#: ``Beta(1, 1)`` is uniform.
DEFAULT_DP_CONCENTRATION = 1.0
#: The default prior standard deviation of a mean coordinate, in data standard deviations.
DEFAULT_MEANS_SCALE_FACTOR = 2.0
#: The default prior of a t component's degrees of freedom, ``Gamma(shape=2, rate=0.1)``
#: (Juarez and Steel 2010): mean 20, mode 10, mass on heavy and on near-Gaussian tails.
DEFAULT_DOF_PRIOR = (2.0, 0.1)


def _vector(
    value: Any, name: str, length: int, *, positive: bool, what: str
) -> np.ndarray:
    """``value`` (a scalar or a vector of ``length``) as a float vector of ``length``."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf" or array.ndim > 1:
        raise ValueError(
            f"{name} must be a real number or a 1-D array of {length} numbers (one per "
            f"{what}), got {_show(value)}."
        )
    array = array.astype(np.float64)
    if array.ndim == 1 and array.shape[0] != length:
        raise ValueError(
            f"{name} has length {array.shape[0]}, but {length} values (one per {what}) are "
            f"needed here. Pass a scalar to use the same value for every {what}."
        )
    if not np.isfinite(array).all() or (positive and (array <= 0).any()):
        requirement = "positive and finite" if positive else "finite"
        raise ValueError(f"{name} must be {requirement}, got {_show(value)}.")
    return np.broadcast_to(array, (length,)).copy()


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=4, separator=", ")
    return repr(value)


@dataclass
class MixturePriors:
    """Prior hyper-parameters of :func:`~bayesmix.bayes.build_model`, in the data's units.

    A field left at ``None`` takes a data-scaled default when the priors are resolved
    against data (:meth:`resolve`, called by :func:`~bayesmix.bayes.build_model`); the
    fitted estimator keeps the resolved priors in ``priors_``, whose repr shows every value.

    The model is

    - ``weights ~ Dirichlet(weights_alpha)``, or with ``dp_concentration`` the truncated
      stick-breaking Dirichlet process: ``v_k ~ Beta(1, dp_concentration)`` for ``k <
      K``, ``v_K = 1``, ``weights[k] = v_k prod_{j<k} (1 - v_j)`` (Ishwaran and James
      2001, truncated at ``K = n_components``);
    - ``means[k, d] ~ Normal(means_loc[d], means_scale[d])``;
    - standard deviations ``~ HalfNormal(scale_sigma)``: per component and feature for
      ``full`` and ``diag``, per feature for ``tied``, one per component for ``spherical``;
    - correlations (``full``: per component, ``tied``: shared) ``~ LKJ(lkj_eta)``;
    - t components only (``family="student_t"``): degrees of freedom ``dof[k] ~
      Gamma(shape, rate)`` with ``(shape, rate) = dof_prior``.

    Parameters
    ----------
    weights_alpha : float or array-like of shape (n_components,), optional
        Dirichlet concentration. Default 1 (uniform over the simplex). Values below 1
        favour emptying superfluous components: :meth:`sparse` sets
        :data:`SPARSE_WEIGHTS_ALPHA` (0.01), the sparse finite mixture whose number of
        occupied components estimates the number of clusters
        (:func:`~bayesmix.bayes.occupied.posterior_n_components`).
    means_loc : float or array-like of shape (n_features,), optional
        Prior centre of the component means. Default: the column means of the data.
    means_scale : float or array-like of shape (n_features,), optional
        Prior standard deviation of each mean coordinate. Default: twice the column
        standard deviations of the data.
    scale_sigma : float or array-like of shape (n_features,), optional
        Scale of the half-normal prior of the component standard deviations. Default: the
        column standard deviations of the data (their root mean square for
        ``spherical``, which takes a scalar only).
    lkj_eta : float, optional
        Shape of the LKJ prior of the correlation matrices (``full`` and ``tied``).
        Default 2; 1 is uniform over correlation matrices, larger values shrink towards
        independence.
    dof_prior : (float, float), optional
        ``(shape, rate)`` of the Gamma prior of each t component's degrees of freedom.
        Default :data:`DEFAULT_DOF_PRIOR`, ``Gamma(2, 0.1)`` (Juarez and Steel 2010),
        filled in by ``resolve(..., family="student_t")``; unused by Gaussian mixtures,
        and shown in the repr only when set.
    dp_concentration : float, optional
        When set, the weights follow the truncated stick-breaking Dirichlet process of
        this concentration instead of a Dirichlet distribution (``weights_alpha`` must
        then be left out); see :meth:`dirichlet_process`. Smaller values favour fewer
        occupied components.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.bayes import MixturePriors
    >>> X = np.array([[0.0, 10.0], [2.0, 14.0], [4.0, 12.0]])
    >>> MixturePriors(lkj_eta=4.0).resolve(X, n_components=2, covariance_type="full")
    MixturePriors(weights_alpha=[1.0, 1.0], means_loc=[2.0, 12.0], means_scale=[3.266, 3.266], scale_sigma=[1.633, 1.633], lkj_eta=4.0)
    >>> MixturePriors(scale_sigma=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: scale_sigma must be positive and finite, got -1.0.
    """

    weights_alpha: float | ArrayLike | None = None
    means_loc: float | ArrayLike | None = None
    means_scale: float | ArrayLike | None = None
    scale_sigma: float | ArrayLike | None = None
    lkj_eta: float | None = None
    dof_prior: tuple[float, float] | None = None
    dp_concentration: float | None = None

    def __post_init__(self) -> None:
        for name, positive in (
            ("weights_alpha", True),
            ("means_loc", False),
            ("means_scale", True),
            ("scale_sigma", True),
        ):
            value = getattr(self, name)
            if value is not None:
                size = np.size(value)
                _vector(value, name, size if np.ndim(value) else 1, positive=positive,
                        what="entry")
        if self.lkj_eta is not None:
            check_real(self.lkj_eta, "lkj_eta", strictly_positive=True)
        if self.dof_prior is not None:
            self._check_dof_prior()
        if self.dp_concentration is not None:
            check_real(self.dp_concentration, "dp_concentration", strictly_positive=True)
            if self.weights_alpha is not None:
                raise ValueError(
                    f"weights_alpha={_show(self.weights_alpha)} and dp_concentration="
                    f"{self.dp_concentration!r} are two priors on the weights; pass one: "
                    f"weights_alpha for a Dirichlet prior, dp_concentration for the "
                    f"truncated Dirichlet process."
                )

    def _check_dof_prior(self) -> None:
        array = np.asarray(self.dof_prior)
        if (array.shape != (2,) or array.dtype.kind not in "biuf"
                or not np.isfinite(array).all() or (array <= 0).any()):
            raise ValueError(
                f"dof_prior must be (shape, rate) of the Gamma prior of the degrees of "
                f"freedom, two positive finite numbers, got {_show(self.dof_prior)}; e.g. "
                f"dof_prior=(2.0, 0.1)."
            )

    @classmethod
    def sparse(cls, **fields: Any) -> MixturePriors:
        """The priors of a sparse finite mixture: ``weights_alpha`` of 0.01.

        Fit a mixture with more components than clusters (an overfitted mixture, e.g.
        10) under these priors: the posterior empties the components it does not need,
        and the number of occupied components estimates the number of clusters
        (Malsiner-Walli, Fruhwirth-Schnatter and Grun 2016; see
        :func:`~bayesmix.bayes.occupied.posterior_n_components`).

        Parameters
        ----------
        **fields
            The other fields of :class:`MixturePriors` (``weights_alpha`` too, to use
            another small concentration such as ``1 / n_components``).

        Examples
        --------
        >>> from bayesmix.bayes import MixturePriors
        >>> MixturePriors.sparse(lkj_eta=4.0)
        MixturePriors(weights_alpha=0.01, means_loc=None, means_scale=None, scale_sigma=None, lkj_eta=4.0)
        """
        return cls(**{"weights_alpha": SPARSE_WEIGHTS_ALPHA, **fields})

    @classmethod
    def dirichlet_process(cls, alpha: float = DEFAULT_DP_CONCENTRATION,
                          **fields: Any) -> MixturePriors:
        """The priors of a truncated stick-breaking Dirichlet-process mixture.

        The weights are built by breaking a unit stick: ``v_k ~ Beta(1, alpha)`` for
        ``k < K``, ``v_K = 1`` and ``weights[k] = v_k prod_{j<k} (1 - v_j)``, the
        Dirichlet process truncated at ``K = n_components`` (Ishwaran and James 2001).
        Fit more components than clusters: the posterior of the number of occupied
        components (:func:`~bayesmix.bayes.occupied.posterior_n_components`) then
        estimates the number of clusters, as with :meth:`sparse`. The components are
        not exchangeable a priori (earlier sticks are longer on average).

        Parameters
        ----------
        alpha : float, default=1.0
            The concentration (:data:`DEFAULT_DP_CONCENTRATION`); smaller values favour
            fewer occupied components.
        **fields
            The other fields of :class:`MixturePriors` (``weights_alpha`` excepted).

        Examples
        --------
        >>> from bayesmix.bayes import MixturePriors
        >>> MixturePriors.dirichlet_process(alpha=0.5).dp_concentration
        0.5
        >>> MixturePriors.dirichlet_process(alpha=0.0)
        Traceback (most recent call last):
        ...
        ValueError: dp_concentration must be > 0, got 0.0.
        """
        return cls(dp_concentration=alpha, **fields)

    def resolve(
        self, X: ArrayLike, n_components: int, covariance_type: str = "full",
        family: str = "gaussian",
    ) -> MixturePriors:
        """Return a copy with every field filled in and checked against the data's shape.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data, used for the defaults and the expected lengths.
        n_components : int
        covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        family : {"gaussian", "student_t"}, default="gaussian"
            The components' family: ``"student_t"`` also fills in ``dof_prior``.

        Returns
        -------
        MixturePriors
            ``weights_alpha`` of length ``n_components`` (``None`` with
            ``dp_concentration``, then a float); ``means_loc``, ``means_scale``
            and (except for ``spherical``, a float) ``scale_sigma`` of length
            ``n_features``; ``lkj_eta`` a float; for ``"student_t"``, ``dof_prior`` a
            pair of floats.

        Raises
        ------
        ValueError
            If a field has the wrong length for the data or ``n_components``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.bayes import MixturePriors
        >>> X = np.array([[0.0, 0.0], [2.0, 4.0]])
        >>> MixturePriors().resolve(X, 3, "spherical").scale_sigma
        1.5811388300841898
        >>> MixturePriors().resolve(X, 3, family="student_t").dof_prior
        (2.0, 0.1)
        >>> MixturePriors(means_loc=[0.0, 1.0, 2.0]).resolve(X, 3)
        Traceback (most recent call last):
        ...
        ValueError: means_loc has length 3, but 2 values (one per feature) are needed here. ...
        """
        from bayesmix.bayes.scales import get_scale  # PyMC: only when a model is built

        X = check_array(X, min_samples=2, allow_missing=True)
        n_components = check_int(n_components, "n_components", min_value=1)
        covariance_type = check_covariance_type(covariance_type)
        family = check_option(family, "family", tuple(FAMILY_PARAMETERS))
        n_features = X.shape[1]
        std = np.nanstd(X, axis=0)  # of the observed values
        std = np.where(std > 0, std, 1.0)

        def field(name: str, default: Any, length: int, what: str, positive: bool = True):
            value = getattr(self, name)
            return _vector(default if value is None else value, name, length,
                           positive=positive, what=what)

        if get_scale(covariance_type).scalar_scale_sigma:
            scale_sigma = (
                float(np.sqrt(np.mean(std**2))) if self.scale_sigma is None
                else self._scalar_scale_sigma()
            )
        else:
            scale_sigma = field("scale_sigma", std, n_features, "feature")
        dirichlet_process = self.dp_concentration is not None
        return dataclasses.replace(
            self,
            weights_alpha=None if dirichlet_process else field(
                "weights_alpha", DEFAULT_WEIGHTS_ALPHA, n_components, "component"),
            dp_concentration=float(self.dp_concentration) if dirichlet_process else None,
            means_loc=field("means_loc", np.nanmean(X, axis=0), n_features, "feature",
                            positive=False),
            means_scale=field("means_scale", DEFAULT_MEANS_SCALE_FACTOR * std, n_features,
                              "feature"),
            scale_sigma=scale_sigma,
            lkj_eta=float(DEFAULT_LKJ_ETA if self.lkj_eta is None else self.lkj_eta),
            dof_prior=(None if family == "gaussian" else tuple(
                float(v) for v in (self.dof_prior or DEFAULT_DOF_PRIOR))),
        )

    def _scalar_scale_sigma(self) -> float:
        if np.ndim(self.scale_sigma) != 0:
            raise ValueError(
                f"scale_sigma must be a scalar for covariance_type='spherical' (one variance "
                f"per component, shared by all features), got {_show(self.scale_sigma)}."
            )
        return check_real(self.scale_sigma, "scale_sigma", strictly_positive=True)

    def __repr__(self) -> str:
        def show(value: Any) -> str:
            if value is None or np.ndim(value) == 0:
                return repr(value if value is None else float(f"{float(value):.4g}"))
            shown = [float(f"{v:.4g}") for v in np.ravel(value)]
            return repr(tuple(shown) if isinstance(value, tuple) else shown)

        # dof_prior (t components only) and dp_concentration (instead of weights_alpha)
        # only when set.
        fields = ", ".join(
            f"{f.name}={show(getattr(self, f.name))}" for f in dataclasses.fields(self)
            if f.name not in ("dof_prior", "dp_concentration")
            or getattr(self, f.name) is not None
        )
        return f"MixturePriors({fields})"
