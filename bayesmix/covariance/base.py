"""What every covariance structure provides: the interface its consumers rely on.

A structure says how the components' covariance matrices are parametrised and stored.
Every consumer (the density kernels, the EM engine, scoring, sampling, plotting, the
Bayesian model, persistence) asks the structure instead of branching on its name, so a
new structure is one new module registered in :mod:`bayesmix.covariance`.

Densities are evaluated through the Cholesky factor ``U`` of each precision matrix
(``precision = U @ U.T``, ``U`` upper triangular), as scikit-learn does: the squared
Mahalanobis distance is then ``||(x - mu) @ U||**2`` and ``log|precision| / 2`` is the sum
of ``log(diag(U))``. For the diagonal structures the factor is ``1 / sqrt(variance)``.

The M step works on weighted sufficient statistics of the data centred by its weighted
mean (see :class:`bayesmix.em.statistics.SufficientStatistics`): the counts
``n_k = sum_n r_nk``, the means and, as :attr:`CovarianceStructure.second_moments` asks,
per-component second moments ``sum_n r_nk x_n x_n^T`` (``"matrix"``, (K, D, D)), their
diagonals (``"diagonal"``, (K, D)), or none, the pooled structures using the total scatter
of the data, which does not change between iterations. Every M step maximises the
expected complete log-likelihood of the within scatter
(:func:`~bayesmix.covariance.scatter.within_scatter`) under the structure's constraints,
by its :meth:`CovarianceStructure.maximise_scatter`; the MAP step under mclust's
conjugate prior maximises the same with the counts and scatter the prior adds
(:meth:`CovarianceStructure.prior_terms`).

Batches: a structure whose :attr:`~CovarianceStructure.batched_m_step` is true takes
leading batch axes everywhere the EM iterations need them (the M step, the precision
factors, their log-determinants), so that :mod:`bayesmix.em.batch` runs many fits as one
stacked computation: counts (*B, K), means (*B, K, D), second moments (*B, K, D, D) or
(*B, K, D), the total scatter (D, D) shared by the batch, covariances (*B, *stored shape).
Its E step reads each component's squared Mahalanobis distance as a linear function of
a few features of the rows (:meth:`~CovarianceStructure.batch_log_density_coefficients`,
:mod:`bayesmix.covariance.quadratic`), so that the log densities of every row under every
component of every fit are one matrix product.

Its length (about 1,060 lines, most of it the interface's docstrings and examples, which
the structures inherit) is that of the one interface every structure implements (storage,
M and MAP steps, decomposition, batched kernels, linear algebra) and the two families of
shared linear algebra.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from bayesmix.covariance.eigen import decompose_matrices, geometric_mean
from bayesmix.covariance.quadratic import quadratic_coefficients
from bayesmix.covariance.scatter import floor_variance, map_scatter, within_scatter

__all__ = [
    "NOT_POSITIVE_FIX",
    "CovarianceStructure",
    "DiagonalFamily",
    "MatrixFamily",
    "lower_cholesky_inverse_transpose",
    "upper_cholesky",
]

#: What the user can do when a fitted covariance is not positive definite.
NOT_POSITIVE_FIX = (
    "Increase reg_covar, reduce n_components, or standardise the data (some components "
    "may have collapsed onto repeated or rounded values)."
)


def _not_positive_definite(what: str) -> Exception:
    """The error for a fitted covariance that is not positive definite: ``what`` and
    :data:`NOT_POSITIVE_FIX`. Imported here, as it is raised: the exceptions module
    loads scikit-learn, which the covariance structures do not need."""
    from bayesmix.exceptions import NotPositiveDefiniteError

    return NotPositiveDefiniteError(f"{what} {NOT_POSITIVE_FIX}")


def upper_cholesky(matrices: np.ndarray) -> np.ndarray:
    """Upper triangular ``U`` with ``matrices = U @ U.T`` (batched over leading axes).

    Reversing rows and columns turns the lower factor of the flipped matrix into the
    upper factor of the original one.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.base import upper_cholesky
    >>> U = upper_cholesky(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> bool(np.allclose(U @ U.T, [[2.0, 1.0], [1.0, 2.0]])), bool(U[1, 0] == 0.0)
    (True, True)
    """
    flipped = np.flip(matrices, axis=(-2, -1))
    return np.flip(np.linalg.cholesky(flipped), axis=(-2, -1))


@lru_cache(maxsize=64)
def _lower_mask(n_features: int) -> np.ndarray:
    """``np.tri(n, dtype=bool)``, made once per size (``np.tril``'s mask)."""
    mask = np.tri(n_features, dtype=bool)
    mask.flags.writeable = False
    return mask


def lower_cholesky_inverse_transpose(covariances: np.ndarray, batched: bool = False
                                     ) -> np.ndarray | None:
    """``inv(L).T`` for the lower Cholesky factor ``L`` of each covariance matrix.

    That is the upper factor ``U`` of the precision (``inv(cov) = U @ U.T``). Returns
    ``None`` when a matrix is not positive definite. NumPy's batched inverse loops in C
    (SciPy's batched triangular solve loops in Python); the inverse of a lower-triangular
    matrix is lower triangular, up to round-off, which ``np.tril`` removes. With
    ``batched`` (:mod:`bayesmix.em.batch`, which factorises every run's covariances at
    every iteration), the factors come from one compiled call instead
    (:func:`~bayesmix.covariance.factor_kernel.precision_factors`; the same values to
    rounding, not bit for bit).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.base import lower_cholesky_inverse_transpose
    >>> lower_cholesky_inverse_transpose(np.array([[4.0]])), lower_cholesky_inverse_transpose(
    ...     np.array([[-1.0]]))
    (array([[0.5]]), None)
    """
    if batched:
        # Numba loads and compiles on the batch's first factors, not on import.
        from bayesmix.covariance.factor_kernel import precision_factors

        n_features = covariances.shape[-1]
        factors, valid = precision_factors(np.ascontiguousarray(
            covariances, dtype=np.float64).reshape(-1, n_features, n_features))
        return factors.reshape(covariances.shape) if valid.all() else None
    try:
        cov_chol = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        return None
    if not np.isfinite(cov_chol).all():
        return None
    # np.tril's own arithmetic, with its mask made once
    inverse = np.where(_lower_mask(cov_chol.shape[-1]), np.linalg.inv(cov_chol), 0.0)
    return np.swapaxes(inverse, -1, -2)


class CovarianceStructure:
    """A covariance structure: storage, parameter count, M step, density pieces.

    Subclasses set the class attributes and implement the methods that raise
    :class:`NotImplementedError`; :class:`MatrixFamily` and :class:`DiagonalFamily`
    implement the linear algebra shared by the structures stored as matrices and as
    variances. An overriding method without a docstring inherits the interface's.

    Attributes
    ----------
    name : str
        mclust's three-letter code (volume, shape, orientation: ``E`` equal, ``V``
        variable, ``I`` identity), e.g. ``"VVV"``.
    aliases : tuple of str
        Other accepted names, e.g. scikit-learn's ``"full"``.
    description : str
        One line for documentation and the command line.
    second_moments : {"matrix", "diagonal", None}
        Which per-component second moments the M step needs (see the module docstring).
    estimates_correlations : bool
        Whether the covariances have free correlations, so that they need more rows than
        features to be estimable.
    raw_variable : str or None
        Name under which an InferenceData's posterior also holds the stored form (the
        diagonal structures' ``variances``); ``None`` when the full matrices say it all.
    one_feature_alias : str or None
        mclust's name of the structure for one feature (``"E"`` for EII, ``"V"`` for
        VII), accepted by :func:`~bayesmix.covariance.get_structure`; not an alias, so
        :attr:`label` does not change.
    supports_prior : bool
        Whether mclust fits the structure with its conjugate prior (all but EVE, VEE,
        VVE and EVV), so that it has :meth:`map_step` and :meth:`log_prior`.
    supports_posterior : bool
        Whether the Bayesian model (:mod:`bayesmix.bayes`) has a parameterisation of its
        covariances (a scale of :mod:`bayesmix.bayes.scales`); the others are fitted by
        EM only. Read without importing the Bayesian model (the command line's checks).
    batched_m_step : bool
        Whether :meth:`m_step`, :meth:`precision_cholesky` and :meth:`log_det_cholesky`
        take leading batch axes (see the module docstring), so that
        :mod:`bayesmix.em.batch` can fit many numbers of components and starts at once.
    nonlinear_constraints : bool
        Whether the constraints tie the components together other than by equal
        entries (a common volume, shape or orientation beside free ones): a linear
        combination of admissible covariances (SQUAREM's extrapolation) may then leave
        the structure, and each component's M step depends on the others' scatters.
        :mod:`bayesmix.em.batch` then projects its jumps (:meth:`project`) and leaves
        padded components out of the M step as components of weight 0 and scatter 0,
        which :meth:`maximise_scatter` of such a structure must ignore.
    axes_from_scatter : bool
        Whether each component has its own axes while its shape is shared (EEV, VEV), so
        that its axes come from its own scatter alone: they are determined only where
        the scatter is singular in at most one direction. A count of rows cannot say so
        (soft responsibilities spread a component's weight over many rows);
        :func:`~bayesmix.em.diagnostics.find_degenerate` tests the scatter.
    collapse_stretches : bool
        Whether the components share a volume but have shapes of their own (EVI, EVE,
        EVV), so that a component collapsing in one direction stretches in the others
        (the product of its variances is the shared volume) instead of falling to the
        ``reg_covar`` floor: :func:`~bayesmix.em.diagnostics.find_degenerate` then
        compares its smallest variance with the data's.
    seeded_by : tuple of str
        Structures whose fits :func:`~bayesmix.select_em` also starts this one from, at
        the same number of components: each whose fit is in the grid and not degenerate
        (its parameters as initial values), the cell keeping the best of its fits. For
        a structure whose likelihood has local optima that the grid's usual starts
        often miss.
    prior_seeded_by : tuple of str
        The same under mclust's conjugate prior (``select_em(..., prior=...)``), in
        place of ``seeded_by``: MAP-EM has its own poor optima.
    mahalanobis_features : {"outer", "squares"}
        The row features (``RowProducts.features`` of :mod:`bayesmix.covariance.quadratic`)
        that :meth:`batch_log_density_coefficients` weighs.

    Examples
    --------
    >>> from bayesmix.covariance import CovarianceStructure, get_structure
    >>> structure = get_structure("tied")
    >>> isinstance(structure, CovarianceStructure), structure.name, structure.label
    (True, 'EEE', 'tied')
    """

    name: str = ""
    aliases: tuple[str, ...] = ()
    description: str = ""
    second_moments: str | None = None
    estimates_correlations: bool = False
    raw_variable: str | None = None
    one_feature_alias: str | None = None
    supports_prior: bool = False
    supports_posterior: bool = False
    batched_m_step: bool = False
    nonlinear_constraints: bool = False
    axes_from_scatter: bool = False
    collapse_stretches: bool = False
    seeded_by: tuple[str, ...] = ()
    prior_seeded_by: tuple[str, ...] = ()
    mahalanobis_features: str = "outer"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # An override documents itself only where it differs: it inherits the docstring
        # (and the example) of the interface method it implements.
        for name, method in vars(cls).items():
            if callable(method) and method.__doc__ is None:
                inherited = getattr(CovarianceStructure, name, None)
                if inherited is not None and inherited.__doc__:
                    method.__doc__ = inherited.__doc__

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    @property
    def label(self) -> str:
        """The name users know best: the scikit-learn alias if any, else mclust's code."""
        return self.aliases[0] if self.aliases else self.name

    # ------------------------------------------------------------ storage and counts
    def stored_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of the stored covariances (and precisions).

        Examples
        --------
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("full").stored_shape(3, 2), get_structure("spherical").stored_shape(3, 2)
        ((3, 2, 2), (3,))
        """
        raise NotImplementedError

    def stored_shape_text(self) -> str:
        """The stored shape in words, for messages.

        Examples
        --------
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("diag").stored_shape_text()
        '(n_components, n_features)'
        """
        raise NotImplementedError

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of the covariances (mclust's ``nVarParams``).

        Examples
        --------
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("full").n_parameters(3, 2), get_structure("tied").n_parameters(3, 2)
        (9, 3)
        """
        raise NotImplementedError

    def min_points(self, n_features: int) -> int:
        """Effective points a component needs for its covariance to be estimable.

        Examples
        --------
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("full").min_points(2), get_structure("diag").min_points(2)
        (3, 2)
        """
        raise NotImplementedError

    def random_covariances(self, rng: np.random.RandomState, n_components: int,
                           n_features: int, low: float, high: float) -> np.ndarray:
        """Random covariances (stored shape) whose variances lie in ``[low, high]``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("full").random_covariances(np.random.RandomState(0), 3, 2, 0.5, 1.5).shape
        (3, 2, 2)
        """
        raise NotImplementedError

    @property
    def needs_total_scatter(self) -> bool:
        """Whether the M step reads the data's total scatter (the pooled structures).

        Examples
        --------
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("tied").needs_total_scatter, get_structure("full").needs_total_scatter
        (True, False)
        """
        return self.second_moments is None

    def shares_covariance(self) -> bool:
        """Whether all components share one covariance (it collapses for all or none).

        Examples
        --------
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("tied").shares_covariance(), get_structure("full").shares_covariance()
        (True, False)
        """
        return False

    # ------------------------------------------------------------ M step
    def m_step(self, counts: np.ndarray, means: np.ndarray, second_moments: np.ndarray | None,
               total_scatter: np.ndarray, reg_covar: float, start: np.ndarray | None = None
               ) -> np.ndarray:
        """Covariances (stored shape) maximising the expected complete log-likelihood.

        By default, :meth:`maximise_scatter` of the within scatter ``W_k`` with
        ``reg_covar * n_k`` added to its diagonal (``reg_covar * n`` for a pooled
        scatter), so that an unconstrained covariance is ``W_k / n_k + reg_covar * I``.
        Every argument may carry leading batch axes (``counts`` (*B, K)), which the
        result keeps: (*B, *stored shape).

        Parameters
        ----------
        counts : ndarray of shape (K,)
            Weighted counts ``n_k`` (floored away from zero).
        means : ndarray of shape (K, D)
            The M step's means, ``sum_n r_nk x_n / n_k``.
        second_moments : ndarray or None
            Per-component second moments as :attr:`second_moments` asks.
        total_scatter : ndarray of shape (D, D)
            ``sum_n w_n x_n x_n^T`` of the centred data.
        reg_covar : float
            Added to the diagonal of every covariance.
        start : ndarray, optional
            Covariances (stored shape, the same leading axes) from which an iterative
            maximisation starts (see :meth:`maximise_scatter`); EM passes those of the
            parameters its E step evaluated.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> counts, means = np.array([2.0]), np.array([[1.0]])
        >>> get_structure("diag").m_step(counts, means, np.array([[4.0]]), None, 0.0)
        array([[1.]])
        """
        scatters = self.m_step_scatter(counts, means, second_moments, total_scatter,
                                       reg_covar)
        return self.maximise_scatter(np.asarray(counts, dtype=np.float64), scatters, start,
                                     floor_variance(reg_covar))

    def m_step_scatter(self, counts: np.ndarray, means: np.ndarray,
                       second_moments: np.ndarray | None, total_scatter: np.ndarray | None,
                       reg_covar: float) -> np.ndarray:
        """The within scatter :meth:`m_step` maximises: :func:`within_scatter` of the
        form :attr:`second_moments` names (each component's own axes from it where
        :attr:`axes_from_scatter`), with the arguments of :meth:`m_step`.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("VVI").m_step_scatter(np.array([2.0]), np.array([[1.0]]),
        ...                                     np.array([[4.0]]), None, 0.5)
        array([[3.]])
        """
        return within_scatter(self.second_moments, counts, means, second_moments,
                              total_scatter, reg_covar, self.axes_from_scatter)

    def maximise_scatter(self, weights: np.ndarray, scatters: np.ndarray,
                         start: np.ndarray | None = None, floor: float = 0.0) -> np.ndarray:
        """Covariances maximising ``-1/2 sum_k [w_k log|Sigma_k| + tr(S_k inv(Sigma_k))]``.

        The maximum over the structure's admissible covariances: the M step's
        (``w_k = n_k``, ``S_k`` the within scatter) and the MAP step's (counts and
        scatter grown by the prior). ``scatters`` has the form of
        :func:`~bayesmix.covariance.scatter.within_scatter` for this structure's
        :attr:`second_moments`; both arguments may carry leading batch axes. A structure
        without a closed form (a common shape, orientation or shape matrix beside
        variable volumes or shapes) iterates, from what it shares in the covariances
        ``start`` when they are given and valid (as mclust's EM carries them from one M
        step to the next, so that late in EM a few inner iterations suffice), else from
        the scatters; the closed forms ignore ``start``. An iteration may stop where a
        variance has fallen to ``floor`` (the M step's is
        :func:`~bayesmix.covariance.scatter.floor_variance`): that covariance has
        collapsed, and iterating on would only shrink the variance further.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("EEI").maximise_scatter(np.array([1.0, 3.0]), np.array([[8.0, 4.0],
        ...                                                                       [4.0, 8.0]]))
        array([[2., 2.],
               [2., 2.]])
        """
        raise NotImplementedError

    def project(self, covariances: np.ndarray, weights: np.ndarray, n_features: int
                ) -> np.ndarray:
        """The structure's covariances nearest ``covariances`` (stored shape, any values).

        Those that the M step would fit to components whose scatters are ``w_k Sigma_k``:
        :meth:`maximise_scatter` of them, which leaves covariances of the structure as
        they are. An extrapolation of covariances (SQUAREM's) can leave the structure's
        constraints (a combination of two VEI covariances need not have a common shape);
        this brings it back, its inner iterations (if any) starting from ``covariances``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("EVI").project(np.array([[4.0, 1.0], [1.0, 1.0]]), np.ones(2), 2)
        array([[3.  , 0.75],
               [1.5 , 1.5 ]])
        """
        weights = np.asarray(weights, dtype=np.float64)
        scatters = (self.to_full(covariances, weights.shape[-1], n_features)
                    * weights[..., np.newaxis, np.newaxis])
        if self.second_moments == "diagonal":
            scatters = np.einsum("...dd->...d", scatters)
        elif self.second_moments is None:
            scatters = scatters.sum(axis=-3)
        return self.maximise_scatter(weights, scatters, covariances)

    # ------------------------------------------------------------ MAP step
    def prior_terms(self, prior: object, n_components: int, n_features: int
                    ) -> tuple[float, np.ndarray]:
        """What mclust's conjugate prior adds to each component: ``(e, Lambda_k)``.

        mclust's MAP step maximises the expected complete log-likelihood plus
        :meth:`log_prior`, ``-1/2 sum_k [e log|Sigma_k| + tr(Lambda_k inv(Sigma_k)) +
        kappa (mu_k - mu_p)^T inv(Sigma_k) (mu_k - mu_p)]``: ``e`` extra observations'
        worth of log-determinant and a scale matrix ``Lambda_k`` (D, D) per component,
        which depend on the structure (the structures that pool their covariance split
        their prior's terms evenly between the components). They are those of mclust's
        EM with the prior (its ``me*p`` routines, which ``Mclust`` fits with); where its
        ``mstep`` (``ms*p``) differs, the structure's comment says how. With one
        component, :meth:`map_step` and :meth:`log_prior` use instead the terms of
        mclust's one-component models (``XII``, ``XXI``, ``XXX``: those of VII, VVI and
        VVV), which mclust fits for every model of a family. Raises the ``ValueError``
        of a structure mclust fits no prior for.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.covariance.prior import ConjugatePrior
        >>> prior = ConjugatePrior(mean=np.zeros(2), dof=4.0, scale=np.eye(2))
        >>> get_structure("VVV").prior_terms(prior, 3, 2)  # nu + D + 1 + 1 (the mean's)
        (8.0, array([[1., 0.],
               [0., 1.]]))
        >>> get_structure("EVE").prior_terms(prior, 3, 2)
        Traceback (most recent call last):
            ...
        ValueError: mclust fits no conjugate prior for covariance_type='EVE' (nor for VEE, VVE, EVV); the models with one are EII, VII, EEI, VEI, EVI, VVI, EEE, EEV, VEV, VVV ('E', 'V' for one feature). Fit 'EVE' without a prior, or one of those with it.
        """
        self.check_prior_support()
        raise NotImplementedError

    def check_name_for_features(self, covariance_type: str, n_features: int) -> None:
        """Raise the ``ValueError`` of mclust's one-feature name for data of several.

        ``covariance_type`` is the name the structure was asked for by; mclust's ``"E"``
        and ``"V"`` (:attr:`one_feature_alias`) name EII and VII for one feature only.

        Examples
        --------
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("E").check_name_for_features("EII", 3)
        >>> get_structure("E").check_name_for_features("E", 3)
        Traceback (most recent call last):
            ...
        ValueError: covariance_type='E' is mclust's name for one feature, but X has 3. Use 'EII', its model for any number of features.
        """
        if covariance_type == self.one_feature_alias and n_features > 1:
            raise ValueError(
                f"covariance_type={covariance_type!r} is mclust's name for one feature, but "
                f"X has {n_features}. Use {self.name!r}, its model for any number of "
                f"features."
            )

    def check_prior_support(self) -> None:
        """Raise the ``ValueError`` of a structure mclust fits no conjugate prior for.

        Examples
        --------
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("VEV").check_prior_support()
        >>> get_structure("VVE").check_prior_support()
        Traceback (most recent call last):
            ...
        ValueError: mclust fits no conjugate prior for covariance_type='VVE' (nor for VEE, EVE, EVV); the models with one are EII, VII, EEI, VEI, EVI, VVI, EEE, EEV, VEV, VVV ('E', 'V' for one feature). Fit 'VVE' without a prior, or one of those with it.
        """
        if self.supports_prior:
            return
        # The registry is imported here: it imports this module.
        from bayesmix.covariance import MCLUST_MODELS, get_structure

        structures = [get_structure(name) for name in MCLUST_MODELS]
        with_prior = [s.name for s in structures if s.supports_prior]
        others = [s.name for s in structures if not s.supports_prior and s is not self]
        one_feature = [s.one_feature_alias for s in structures
                       if s.one_feature_alias and s.supports_prior]
        raise ValueError(
            f"mclust fits no conjugate prior for covariance_type={self.label!r} (nor for "
            f"{', '.join(others)}); the models with one are {', '.join(with_prior)} "
            f"({', '.join(map(repr, one_feature))} for one feature). Fit {self.label!r} "
            f"without a prior, or one of those with it."
        )

    def map_step(self, counts: np.ndarray, means: np.ndarray,
                 second_moments: np.ndarray | None, total_scatter: np.ndarray,
                 reg_covar: float, prior: object, start: np.ndarray | None = None, *,
                 terms: tuple[np.ndarray, np.ndarray] | None = None,
                 present: np.ndarray | None = None) -> np.ndarray:
        """Covariances (stored shape) of mclust's MAP M step under a conjugate prior.

        :meth:`maximise_scatter` with the counts grown by the prior's ``e`` and the
        scatter ``W_k + reg_covar n_k I + Lambda_k + c_k d_k d_k^T`` (see
        :meth:`prior_terms` and :func:`~bayesmix.covariance.scatter.map_scatter`): the
        covariances of the posterior mode, whose means are
        :meth:`~bayesmix.covariance.prior.ConjugatePrior.posterior_means`. Arguments as
        :meth:`m_step`'s (``means`` are the M step's ``xbar_k``), with ``prior`` a
        resolved :class:`~bayesmix.covariance.prior.ConjugatePrior` whose mean is in the
        same (centred) coordinates, and ``start`` as :meth:`m_step`'s; leading batch
        axes are kept.

        Fits with different numbers of components stack, padded (as
        :mod:`bayesmix.em.batch` does): ``present`` (*B, K) says which components are
        real, the others being absent (weight 0, scatter 0, as :meth:`maximise_scatter`
        takes them; their covariances are then whatever it gives absent components),
        ``terms`` each fit's prior terms ``(e, Lambda)``, (*B,) and (*B, D, D)
        (:meth:`fitted_prior_terms` at its number of components), and ``counts`` must
        be 0 in the absent components.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.covariance.prior import ConjugatePrior
        >>> prior = ConjugatePrior(shrinkage=0.0, dof=1.0, scale=2.0).resolve(
        ...     np.array([[0.0], [2.0]]), get_structure("V"), 1)
        >>> # (scale + W) / (n + dof + 2) = (2 + 2) / (2 + 1 + 2)
        >>> get_structure("V").map_step(np.array([2.0]), np.array([[1.0]]), np.array([[4.0]]),
        ...                             None, 0.0, prior)
        array([0.8])
        """
        n_components, n_features = np.shape(means)[-2:]
        if terms is None:
            terms = self.fitted_prior_terms(prior, n_components, n_features)
        extra, scale_matrix = terms
        scatters = self.map_step_scatter(counts, means, second_moments, total_scatter,
                                         reg_covar, prior, scale_matrix,
                                         None if present is None else present.sum(axis=-1))
        weights = np.asarray(counts, dtype=np.float64) + np.asarray(extra)[..., np.newaxis]
        if present is not None:
            weights = np.where(present, weights, 0.0)
            if self.second_moments is not None:  # per component
                scatters = np.where(present.reshape(
                    present.shape + (1,) * (scatters.ndim - present.ndim)), scatters, 0.0)
        return self.maximise_scatter(weights, scatters, start)

    def map_step_scatter(self, counts: np.ndarray, means: np.ndarray,
                         second_moments: np.ndarray | None, total_scatter: np.ndarray | None,
                         reg_covar: float, prior: object, scale_matrix: np.ndarray,
                         n_components: int | np.ndarray | None = None) -> np.ndarray:
        """The scatter :meth:`map_step` maximises: :func:`map_scatter` of the form
        :attr:`second_moments` names, with its arguments.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.covariance.prior import ConjugatePrior
        >>> prior = ConjugatePrior(shrinkage=1.0, mean=np.array([0.0]))
        >>> get_structure("VVI").map_step_scatter(  # 1 + 0.5 + (1 / 2) * 2**2
        ...     np.array([1.0]), np.array([[2.0]]), np.array([[5.0]]), None, 0.0, prior,
        ...     np.array([[0.5]]))
        array([[3.5]])
        """
        return map_scatter(self.second_moments, counts, means, second_moments,
                           total_scatter, reg_covar, prior, scale_matrix, n_components)

    def log_prior(self, means: np.ndarray, covariances: np.ndarray, prior: object
                  ) -> np.ndarray:
        """Log density of the prior whose posterior mode :meth:`map_step` computes.

        Up to a constant that does not depend on the parameters: ``-1/2 sum_k [e
        log|Sigma_k| + tr(Lambda_k inv(Sigma_k)) + kappa (mu_k - mu_p)^T inv(Sigma_k)
        (mu_k - mu_p)]`` (:meth:`prior_terms`); for VVV, the normal-inverse-Wishart
        density. The log-likelihood plus this is what MAP-EM ascends. ``means`` (*B, K,
        D) and ``covariances`` (*B, stored shape) give (*B,) values.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.covariance.prior import ConjugatePrior
        >>> prior = ConjugatePrior(shrinkage=1.0, mean=np.zeros(1), dof=1.0, scale=2.0)
        >>> # -(e log s + scale / s + kappa mu^2 / s) / 2 with e = 1 + 1 + 2, s = 2, mu = 2
        >>> float(get_structure("V").log_prior(np.array([[2.0]]), np.array([2.0]), prior))
        -2.886294361119891
        """
        means = np.asarray(means, dtype=np.float64)
        n_components, n_features = means.shape[-2:]
        extra, scale_matrix = self.fitted_prior_terms(prior, n_components, n_features)
        return -0.5 * self.log_prior_terms(means, covariances, prior, extra,
                                           scale_matrix).sum(axis=-1)

    def log_prior_terms(self, means: np.ndarray, covariances: np.ndarray, prior: object,
                        extra: float | np.ndarray, scale_matrix: np.ndarray) -> np.ndarray:
        """Each component's term of :meth:`log_prior`, times -2, over leading batch axes.

        Returns ``(*B, K)`` values, ``e log|Sigma_k| + tr(Lambda inv(Sigma_k)) + kappa
        (mu_k - mu_p)^T inv(Sigma_k) (mu_k - mu_p)``, with the prior's terms ``e`` (a
        number, or one per fit: ``(*B,)``) and ``Lambda`` (``(D, D)``, or one per fit:
        ``(*B, D, D)``) given (:meth:`fitted_prior_terms`), so that fits with different
        numbers of components (their priors differ) can be stacked, padded; ``prior``
        gives the mean and the shrinkage. (The batch takes the same terms from its
        log-density coefficients: :meth:`bayesmix.em.batch.BatchEM._log_priors`.)

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.covariance.prior import ConjugatePrior
        >>> prior = ConjugatePrior(shrinkage=1.0, mean=np.zeros(1), dof=1.0, scale=2.0)
        >>> # e log s + scale / s + kappa mu^2 / s, e = 4 (as log_prior's), s = 2, mu = 2
        >>> get_structure("V").log_prior_terms(np.array([[2.0]]), np.array([2.0]), prior,
        ...                                    4.0, np.array([[2.0]])).round(6)
        array([5.772589])
        """
        means = np.asarray(means, dtype=np.float64)
        n_components, n_features = means.shape[-2:]
        full = self.to_full(covariances, n_components, n_features)
        precisions, log_dets = np.linalg.inv(full), np.linalg.slogdet(full)[1]
        offsets = means - prior.mean
        return (np.asarray(extra)[..., np.newaxis] * log_dets
                + np.einsum("...de,...ked->...k", scale_matrix, precisions)
                + prior.shrinkage * np.einsum("...kd,...kde,...ke->...k", offsets,
                                              precisions, offsets))

    def fitted_prior_terms(self, prior: object, n_components: int, n_features: int
                           ) -> tuple[float, np.ndarray]:
        """:meth:`prior_terms`, or with one component those of mclust's ``X`` models.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.covariance.prior import ConjugatePrior
        >>> prior = ConjugatePrior(mean=np.zeros(2), dof=4.0, scale=np.eye(2))
        >>> get_structure("EEE").fitted_prior_terms(prior, 1, 2)[0]  # VVV's
        8.0
        """
        terms = self.prior_terms(prior, n_components, n_features)
        if n_components > 1:
            return terms
        # The registry is imported here: it imports this module.
        from bayesmix.covariance import get_structure

        if self.estimates_correlations:
            family = "VVV"
        else:
            family = "VII" if len(self.stored_shape(2, 2)) == 1 else "VVI"
        return get_structure(family).prior_terms(prior, 1, n_features)

    # ------------------------------------------------------------ linear algebra
    def precision_cholesky(self, covariances: np.ndarray) -> np.ndarray:
        """Cholesky factors of the precisions; ``ValueError`` naming a bad component.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("full").precision_cholesky(np.array([[[4.0, 0.0], [0.0, 0.25]]]))
        array([[[0.5, 0. ],
                [0. , 2. ]]])
        """
        raise NotImplementedError

    def batch_precision_cholesky(self, covariances: np.ndarray) -> np.ndarray:
        """:meth:`precision_cholesky` of a batch, as fast as the structure can.

        The same factors to rounding (not necessarily bit for bit), for
        :mod:`bayesmix.em.batch`; by default :meth:`precision_cholesky` itself.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("tied").batch_precision_cholesky(np.array([[[4.0, 2.0], [2.0, 2.0]]]))
        array([[[ 0.5, -0.5],
                [ 0. ,  1. ]]])
        """
        return self.precision_cholesky(covariances)

    def batch_precision_cholesky_or_none(self, covariances: np.ndarray) -> np.ndarray | None:
        """:meth:`batch_precision_cholesky`, or ``None`` where it would raise.

        For :mod:`bayesmix.em.batch`, which meets covariances that are not positive
        definite often (rejected extrapolations) and looks for the runs at fault one by
        one: no message is made. By default the ``ValueError`` is caught.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("full").batch_precision_cholesky_or_none(np.array([[[-1.0]]])) is None
        True
        """
        try:
            return self.batch_precision_cholesky(covariances)
        except ValueError:
            return None

    def precisions_from_cholesky(self, factors: np.ndarray) -> np.ndarray:
        """Precisions from their Cholesky factors.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("spherical").precisions_from_cholesky(np.array([0.5, 2.0]))
        array([0.25, 4.  ])
        """
        raise NotImplementedError

    def cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        """Cholesky factors ``U`` of precisions, ``P = U @ U.T``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("diag").cholesky_from_precisions(np.array([[4.0, 9.0]]))
        array([[2., 3.]])
        """
        raise NotImplementedError

    def covariances_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        """Covariances from precisions.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("tied").covariances_from_precisions(np.array([[4.0, 0.0], [0.0, 0.5]]))
        array([[0.25, 0.  ],
               [0.  , 2.  ]])
        """
        raise NotImplementedError

    def log_det_cholesky(self, factors: np.ndarray, n_features: int) -> np.ndarray:
        """Half the log-determinant of each precision, ``sum(log(diag(U)))``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("diag").log_det_cholesky(np.array([[1.0, np.e]]), n_features=2)
        array([1.])
        """
        raise NotImplementedError

    def to_full(self, covariances: np.ndarray, n_components: int, n_features: int
                ) -> np.ndarray:
        """Covariances as a (K, D, D) stack of matrices (batched over leading axes).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("diag").to_full(np.array([[1.0, 2.0]]), 1, 2)
        array([[[1., 0.],
                [0., 2.]]])
        """
        raise NotImplementedError

    def from_full(self, matrices: np.ndarray) -> np.ndarray:
        """The stored form of a (K, D, D) stack that has this structure's constraints.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("spherical").from_full(2.0 * np.eye(2)[None])
        array([2.])
        """
        raise NotImplementedError

    def check_precisions(self, precisions: np.ndarray) -> np.ndarray:
        """Cholesky factors of user-given precisions (``precisions_init``), checked.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("spherical").check_precisions(np.array([-1.0]))
        Traceback (most recent call last):
            ...
        ValueError: precisions_init must be positive for covariance_type='spherical', got a minimum of -1. Pass inverse variances (> 0).
        """
        raise NotImplementedError

    # ------------------------------------------------------------ density kernels
    def squared_mahalanobis(self, X: np.ndarray, means: np.ndarray, factors: np.ndarray
                            ) -> np.ndarray:
        """Squared Mahalanobis distance of each row of ``X`` to each mean, (N, K).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("spherical").squared_mahalanobis(np.array([[3.0, 4.0]]), np.zeros((1, 2)),
        ...                                                np.array([1.0]))
        array([[25.]])
        """
        raise NotImplementedError

    def batch_log_density_coefficients(self, means: np.ndarray, factors: np.ndarray,
                                       constants: np.ndarray) -> np.ndarray:
        """Weights of the row features that give each component's log density plus a constant.

        For means (*B, K, D), precision factors (*B, *stored shape) and constants (*B, K),
        the (*B, K, F) array ``c`` with ``constants[..., k] - (x - mu_k)' P_k (x - mu_k) / 2
        + log|P_k| / 2 = c[..., k, :] @ f(x)``, ``f`` the row features
        :attr:`mahalanobis_features` names (``RowProducts.features`` of
        :mod:`bayesmix.covariance.quadratic`). With ``constants`` the log weights minus
        ``D log(2 pi) / 2``, that is the joint log density ``log w_k + log N(x | mu_k,
        Sigma_k)`` the batched E step normalises.
        This default works for any structure, through the full precision matrices
        (:func:`quadratic_coefficients`); a structure overrides it with a cheaper form
        (:mod:`bayesmix.covariance.coefficient_kernels`).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.covariance.base import CovarianceStructure
        >>> from bayesmix.covariance.quadratic import RowProducts
        >>> full = get_structure("full")
        >>> coefficients = CovarianceStructure.batch_log_density_coefficients(
        ...     full, np.zeros((1, 1, 2)), np.eye(2)[None, None], np.array([[0.5]]))
        >>> coefficients @ RowProducts(np.array([[3.0, 4.0]])).features("outer").T
        array([[[-12.]]])
        """
        n_components, n_features = means.shape[-2:]
        precisions = self.to_full(self.precisions_from_cholesky(factors), n_components,
                                  n_features)
        coefficients = quadratic_coefficients(precisions, means)
        coefficients *= -0.5
        log_det = self.log_det_cholesky(factors, n_features)
        coefficients[..., -1] += constants + np.reshape(log_det, (*constants.shape[:-1], -1))
        return coefficients

    def row_width(self, n_components: int, n_features: int) -> int:
        """Temporary float64 elements :meth:`squared_mahalanobis` creates per row.

        Examples
        --------
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("full").row_width(3, 2)
        12
        """
        raise NotImplementedError

    # ------------------------------------------------------------ diagnostics
    def decompose(self, covariances: np.ndarray, n_components: int, n_features: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Volumes (K,), shapes (K, D) and orientations (K, D, D), as mclust reports them.

        ``Sigma_k = volume_k * D_k diag(shape_k) D_k^T`` with ``volume_k =
        |Sigma_k|^(1/D)``, the shape's product 1 and the orientation's columns the axes
        (each with its largest entry positive). By default the shape lists the axes
        from the largest down (an eigendecomposition); the axis-aligned structures keep
        the features' order with the identity as orientation, and the structures with a
        common orientation keep one order of its axes for every component.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> volumes, shapes, orientations = get_structure("full").decompose(
        ...     np.array([[[1.0, 0.0], [0.0, 4.0]]]), 1, 2)
        >>> volumes, shapes, orientations
        (array([2.]), array([[2. , 0.5]]), array([[[0., 1.],
                [1., 0.]]]))
        """
        return decompose_matrices(self.to_full(covariances, n_components, n_features))

    def smallest_variances(self, covariances: np.ndarray, data_covariance: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Each component's smallest variance, its direction and the data's variance there.

        ``data_covariance`` is the data's covariance matrix (D, D) for the structures that
        estimate correlations, only its variances (D,) for the others. Returns
        ``(smallest, directions, data_variance)`` with one entry per component (one for a
        shared covariance); ``directions`` is ``None`` when the structure has no
        preferred direction.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> smallest, directions, data = get_structure("diag").smallest_variances(
        ...     np.array([[1.0, 0.5]]), np.array([4.0, 2.0]))
        >>> smallest, directions, data
        (array([0.5]), array([[0., 1.]]), array([2.]))
        """
        raise NotImplementedError

    def smallest_eigenvalues(self, covariances: np.ndarray, n_components: int,
                             n_features: int) -> np.ndarray:
        """Each component's smallest variance in any direction, over leading batch axes.

        For covariances (*B, *stored shape), the smallest eigenvalue of each component's
        covariance matrix, (*B, K) (repeated for a shared covariance); ``NaN`` for a
        matrix with a non-finite entry. Cheap enough for EM to check its iterates for a
        collapsed component (:func:`bayesmix.em.diagnostics.has_collapsed`).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> get_structure("tied").smallest_eigenvalues(np.array([[2.0, 1.0], [1.0, 2.0]]), 3, 2)
        array([1., 1., 1.])
        >>> get_structure("diag").smallest_eigenvalues(np.array([[[4.0, 0.5], [1.0, 2.0]]]), 2, 2)
        array([[0.5, 1. ]])
        """
        raise NotImplementedError


class MatrixFamily(CovarianceStructure):
    """Structures stored as general symmetric matrices, (K, D, D) or one shared (D, D).

    Examples
    --------
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.covariance.base import MatrixFamily
    >>> isinstance(get_structure("full"), MatrixFamily), get_structure("full").raw_variable
    (True, None)
    """

    estimates_correlations = True

    @staticmethod
    def random_matrices(rng: np.random.RandomState, n_matrices: int, n_features: int,
                        low: float, high: float) -> np.ndarray:
        """Randomly rotated matrices with eigenvalues drawn uniformly in ``[low, high]``."""
        matrices = np.empty((n_matrices, n_features, n_features))
        for k in range(n_matrices):
            rotation, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
            matrices[k] = (rotation * rng.uniform(low, high, size=n_features)) @ rotation.T
        return matrices

    def precision_cholesky(self, covariances: np.ndarray) -> np.ndarray:
        return self._factors(covariances, batched=False)

    def batch_precision_cholesky(self, covariances: np.ndarray) -> np.ndarray:
        return self._factors(covariances, batched=True)

    def batch_precision_cholesky_or_none(self, covariances: np.ndarray) -> np.ndarray | None:
        # Without the eigenvalues the error message would report.
        return lower_cholesky_inverse_transpose(np.asarray(covariances, dtype=np.float64),
                                                batched=True)

    def _factors(self, covariances: np.ndarray, batched: bool) -> np.ndarray:
        covariances = np.asarray(covariances, dtype=np.float64)
        factors = lower_cholesky_inverse_transpose(covariances, batched)
        if factors is None:
            raise _not_positive_definite(self._describe_not_pd(covariances))
        return factors

    def _describe_not_pd(self, matrices: np.ndarray) -> str:
        """Say which of a stack of matrices is not positive definite."""
        flat = matrices.reshape(-1, *matrices.shape[-2:])
        finite = np.isfinite(flat).all(axis=(1, 2))
        smallest = np.full(len(flat), np.nan)
        smallest[finite] = np.linalg.eigvalsh(flat[finite])[:, 0]
        index = int(np.argmax(~(smallest > 0)))
        where = np.unravel_index(index, matrices.shape[:-2])
        label = where[-1] if len(where) == 1 else where
        return (f"The covariance of component {label} is not positive definite (smallest "
                f"eigenvalue {smallest[index]:.3g}).")

    def precisions_from_cholesky(self, factors: np.ndarray) -> np.ndarray:
        factors = np.asarray(factors, dtype=np.float64)
        return factors @ np.swapaxes(factors, -1, -2)

    def cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        return upper_cholesky(np.asarray(precisions, dtype=np.float64))

    def covariances_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        precisions = np.asarray(precisions, dtype=np.float64)
        return self.precisions_from_cholesky(self.precision_cholesky(precisions))

    def log_det_cholesky(self, factors: np.ndarray, n_features: int) -> np.ndarray:
        factors = np.asarray(factors, dtype=np.float64)
        return np.sum(np.log(np.diagonal(factors, axis1=-2, axis2=-1)), axis=-1)

    def check_precisions(self, precisions: np.ndarray) -> np.ndarray:
        matrices = precisions.reshape(-1, *precisions.shape[-2:])
        symmetric = np.isclose(matrices, np.swapaxes(matrices, -1, -2), rtol=1e-8,
                               atol=1e-12).all(axis=(-2, -1))
        checked = matrices[:np.argmin(symmetric)] if not symmetric.all() else matrices
        smallest = np.linalg.eigvalsh(checked)[:, 0]  # up to the first asymmetric one
        if not (smallest > 0).all():
            k = int(np.argmin(smallest > 0))
            raise ValueError(
                f"precisions_init[{k}] is not positive definite (smallest eigenvalue "
                f"{smallest[k]:.3g}). Pass positive definite precision matrices (the "
                f"inverses of covariances)."
            )
        if not symmetric.all():
            raise ValueError(
                f"precisions_init[{int(np.argmin(symmetric))}] is not symmetric. Pass "
                f"symmetric positive definite precision matrices (the inverses of "
                f"covariances)."
            )
        return self.cholesky_from_precisions(precisions)

    def row_width(self, n_components: int, n_features: int) -> int:
        # Every row is projected on every component: (K, D) values per row.
        return n_components * (n_features + 2)

    def smallest_variances(self, covariances, data_covariance):
        matrices = covariances.reshape(-1, *covariances.shape[-2:])
        eigenvalues, eigenvectors = np.linalg.eigh(matrices)
        smallest, directions = eigenvalues[:, 0], eigenvectors[:, :, 0]
        data_variance = np.einsum("kd,de,ke->k", directions, data_covariance, directions)
        return smallest, directions, data_variance

    def smallest_eigenvalues(self, covariances, n_components, n_features):
        covariances = np.asarray(covariances, dtype=np.float64)
        finite = np.isfinite(covariances).all(axis=(-2, -1))
        smallest = np.linalg.eigvalsh(np.where(finite[..., np.newaxis, np.newaxis], covariances,
                                               np.eye(n_features)))[..., 0]
        smallest = np.where(finite, smallest, np.nan)
        if len(self.stored_shape(n_components, n_features)) == 2:  # one shared matrix
            smallest = np.repeat(smallest[..., np.newaxis], n_components, axis=-1)
        return smallest


class DiagonalFamily(CovarianceStructure):
    """Structures stored as variances: (K, D) per feature or (K,) one per component.

    Examples
    --------
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.covariance.base import DiagonalFamily
    >>> isinstance(get_structure("diag"), DiagonalFamily), get_structure("diag").raw_variable
    (True, 'variances')
    """

    raw_variable = "variances"
    mahalanobis_features = "squares"

    def precision_cholesky(self, covariances: np.ndarray) -> np.ndarray:
        covariances = np.asarray(covariances, dtype=np.float64)
        if not ((covariances > 0.0) & (covariances < np.inf)).all():
            invalid = ~(covariances > 0.0) | ~np.isfinite(covariances)
            component = int(np.argwhere(invalid)[0][0])
            raise _not_positive_definite(
                f"The fitted covariance of component {component} is not positive (a "
                f"variance <= 0 or non-finite).")
        return 1.0 / np.sqrt(covariances)

    def precisions_from_cholesky(self, factors: np.ndarray) -> np.ndarray:
        return np.asarray(factors, dtype=np.float64) ** 2

    def cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        return np.sqrt(np.asarray(precisions, dtype=np.float64))

    def covariances_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        return 1.0 / np.asarray(precisions, dtype=np.float64)

    def check_precisions(self, precisions: np.ndarray) -> np.ndarray:
        if (precisions <= 0).any():
            raise ValueError(
                f"precisions_init must be positive for covariance_type={self.label!r}, got "
                f"a minimum of {precisions.min():.3g}. Pass inverse variances (> 0)."
            )
        return self.cholesky_from_precisions(precisions)

    def squared_mahalanobis(self, X, means, factors):
        # About the means' average: the expansion x'Px - 2 x'Pm + m'Pm of the distance
        # subtracts squares of the rows' and means' size, and rows far from the origin
        # would lose its digits (on data offset by 1e8 times their spread, scores were off
        # by up to 6 per row). The matrix structures subtract projections before squaring.
        centre = means.mean(axis=0)
        return self._squared_distances(X - centre, means - centre, factors)

    def _squared_distances(self, X: np.ndarray, means: np.ndarray, factors: np.ndarray
                           ) -> np.ndarray:
        """:meth:`squared_mahalanobis` of rows and means about the origin."""
        raise NotImplementedError

    def row_width(self, n_components: int, n_features: int) -> int:
        # The row about the means' average; matrix products of (K + D) values.
        return 2 * (n_components + n_features)

    def smallest_eigenvalues(self, covariances, n_components, n_features):
        covariances = np.asarray(covariances, dtype=np.float64)
        lead = covariances.shape[:covariances.ndim
                                 - len(self.stored_shape(n_components, n_features))]
        # A non-finite variance gives NaN (np.min would give inf for +inf).
        smallest = covariances.reshape(*lead, n_components, -1).min(axis=-1)
        return np.where(np.isfinite(smallest), smallest, np.nan)

    def decompose(self, covariances, n_components, n_features):
        variances = np.diagonal(self.to_full(covariances, n_components, n_features),
                                axis1=-2, axis2=-1)
        volumes = geometric_mean(variances)
        with np.errstate(divide="ignore", invalid="ignore"):
            shapes = variances / volumes[..., np.newaxis]
        orientations = np.broadcast_to(np.eye(n_features), variances.shape + (n_features,))
        return volumes, shapes, orientations.copy()
