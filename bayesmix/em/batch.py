"""Batched EM: many fits, of one or several covariance structures, as one computation.

Model selection fits several structures, each for several numbers of components, each
from several starts. On small data an EM iteration costs mostly NumPy's per-call
overhead, about the same for 100 rows as for 10,000, so :class:`BatchEM` runs all those
fits (the *runs*) together: each iteration is one E step and one M step of a few dozen
NumPy calls over arrays that stack the runs on their first axis, whatever their number,
plus a few calls per structure for what is the structure's own (its batched interface,
:attr:`~bayesmix.covariance.base.CovarianceStructure.batched_m_step`). The runs of a
structure are consecutive rows of the stack, a *group*; consecutive groups whose
structures store and evaluate their covariances alike (mclust's seven models with a
matrix per component, say) form a *span*, whose E step is one call for all of them:
one matrix product of the runs' log-density coefficients with the rows' products,
except for the runs whose expanded quadratic forms would lose their digits (a component
far from the data's mean beside its spread), evaluated apart
(:mod:`~bayesmix.em.cancellation`).

Layout
    Runs first, components second (padded to the largest number of components), rows
    last: the log probabilities are (B, K, N), so that sums and maxima over the
    components are element-wise operations along the rows. Each run's weights, means and
    covariances are packed into one row of parameters. A padded component has weight
    exactly 0 (log weight ``-inf``, responsibility 0), the floored count
    (:func:`~bayesmix.em.engine.count_floor`), mean 0 and second moments of that count
    times the data's covariance: its covariance is the data's plus ``reg_covar`` on the
    diagonal, as every M step adds it (positive definite even for collinear columns),
    and it adds nothing to pooled statistics such as the tied structure's scatter. The
    stored covariances of ``K`` components are taken to be the leading block of those of
    more components (true of every registered structure).
    A structure with nonlinear constraints (mclust's decomposed models, whose components
    share a volume, shape or orientation) would let such a padded component sway the
    shared part: its M step gets the padded components as absent ones (weight 0,
    scatter 0), and gives them that same covariance.

Iterations
    Every run follows :class:`~bayesmix.em.engine.EMEngine`'s iterations from its start:
    the same convergence test, the same SQUAREM cycle with its own step length (jumps
    projected back into nonlinear constraints), M steps whose inner iterations start
    from the parameters the E step evaluated, so it reaches the optimum the one-fit
    engine reaches from the same start (the arithmetic differs in rounding only). A run
    leaves the stack when it converges, runs out of iterations, collapses (as the
    engine's, checked every :data:`~bayesmix.em.engine.COLLAPSE_CHECK_EVERY`
    iterations), is screened out, or fails: when an M step gives a covariance that is
    not positive definite, the run stops at its last valid parameters and names the
    components that failed (``EMRun.failed_components``); the other runs go on.

Prior
    Under a conjugate prior each run is MAP-EM, as the one-fit engine's: the M step is
    the structure's posterior mode (``map_step``) and the means the posterior means, in
    one stacked call per structure with each run's prior terms (they depend on its
    number of components), the padded components absent from it; they keep the
    covariances of the first (maximum-likelihood) M step. The bound the iterations
    ascend is the log-likelihood plus the log prior, which each run's log-density
    coefficients give with a few products (:meth:`BatchEM._log_priors`).

Screening
    A "small EM" (Biernacki, Celeux and Govaert 2003): a run given rivals goes on past
    the iteration where its change first falls below ``screen_tol`` only if its lower
    bound there is at least that of one of its rivals at the same stage (a rival that
    ends before that stage counts with its last bound); otherwise it is dropped. A rival
    made outside the batch counts with its bound at that stage (``screen_bound``).

Its length (about 1,400 lines, a third of it docstrings) is that of one algorithm, the
batched iterations with their layout, SQUAREM cycle, prior, screening and failures,
kept together so that it reads against :class:`~bayesmix.em.engine.EMEngine`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from bayesmix._parallel import RowThreads
from bayesmix.covariance.base import CovarianceStructure
from bayesmix.covariance.prior import ConjugatePrior
from bayesmix.covariance.quadratic import RowProducts, symmetric_from_upper, upper_triangle
from bayesmix.em.diagnostics import axes_scatters, has_collapsed, has_stretched, still_starved
from bayesmix.em.engine import (
    COLLAPSE_CHECK_EVERY,
    MAX_SQUAREM_STEP,
    SQUAREM_FIRST,
    SQUAREM_FROM,
    SQUAREM_JUMP,
    SQUAREM_STEP_GROWTH,
    EMRun,
    EMSettings,
    MixtureParameters,
    count_floor,
)
from bayesmix.em.sources import InMemorySource, centred_blocks

__all__ = ["BatchEM", "BatchEvaluation", "BatchStart"]

_LOG_2PI = np.log(2.0 * np.pi)
#: The row weights of an unweighted source, as the compiled normalisation takes them.
_NO_WEIGHTS = np.empty(0)
#: Symmetric covariance matrices of at least this many features are packed as their
#: upper triangles (smaller ones: the copies saved do not pay for the packing).
_TRIANGLE_FROM = 8
#: Rows per block of the E steps (within each thread's rows). A number that does not
#: depend on the stack, so that each run's sums over the rows are added up in the same
#: blocks whatever other runs share its stack. Blocks sized by the stack's width made a
#: run's rounding depend on the grid it was fitted in, and where EM's path is chaotic
#: that steered it to another optimum: Boston's EEV,5, 6 and 7 ended 17 to 25
#: log-likelihood units below mclust's in the 14-model grid (five blocks of 115 rows),
#: and at mclust's in a grid of EEV alone (one block), as in a fit of their own. A
#: block's temporaries hold runs x components x rows values: for the 252 runs of 9
#: components of mclust's 14 models, 18 MiB per array.
_BLOCK_ROWS = 1024
#: Rows' products (of every block) are kept between iterations while they hold at most
#: this many float64 values per kind of feature (``n_samples * n_features**2``).
_KEPT_PRODUCTS = 1 << 21
#: No rejected jump, as the compiled SQUAREM cycle takes it.
_NO_REJECTIONS = np.zeros(0, dtype=bool)


@dataclass(frozen=True)
class BatchStart:
    """One run of a batch: its structure, its start and the runs it is screened against.

    A run starts from responsibilities, or from parameters; the starts of one batch are
    all of one kind.

    Attributes
    ----------
    structure : CovarianceStructure
        One whose :attr:`~CovarianceStructure.batched_m_step` is true.
    responsibilities : ndarray of shape (n_samples, n_components) or None
        Initial responsibilities of the source's rows (not yet multiplied by the row
        weights): the run's first M step is theirs.
    rivals : tuple of int
        Indices of the runs this one is screened against (empty: never screened).
    screen_bound : float or None
        A rival made outside the batch: its lower bound at the screen stage.
    parameters : MixtureParameters or None
        Parameters to start from instead (of the data centred by the source's
        ``shift``): the run's first E step evaluates them and its first M step starts
        from their covariances, as :meth:`~bayesmix.em.engine.EMEngine.run` starts from
        them, so that the run is an estimator's fit from those initial values.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.batch import BatchStart
    >>> BatchStart(get_structure("tied"), np.ones((4, 1))).n_components
    1
    """

    structure: CovarianceStructure
    responsibilities: np.ndarray | None = None
    rivals: tuple[int, ...] = ()
    screen_bound: float | None = None
    parameters: MixtureParameters | None = None

    def __post_init__(self) -> None:
        if (self.responsibilities is None) == (self.parameters is None):
            raise ValueError("A BatchStart needs responsibilities or parameters (one of "
                             "them); pass one.")

    @property
    def n_components(self) -> int:
        """The run's number of components."""
        if self.parameters is not None:
            return len(self.parameters.weights)
        return self.responsibilities.shape[1]


@dataclass(frozen=True)
class BatchEvaluation:
    """One E step's totals for each of a batch of fits (:meth:`BatchEM.evaluate`).

    Attributes
    ----------
    counts : list of ndarray
        Each fit's weighted count per component, ``sum_n w_n r_nk``.
    log_likelihood : ndarray of shape (B,)
        ``sum_n w_n log p(x_n)``.
    entropy : ndarray of shape (B,)
        ``-sum_n w_n log max_k r_nk``, the entropy of the hard classification (ICL's).
    scatters : list of ndarray or None
        Each fit's within scatters where its structure's axes come from them
        (:func:`~bayesmix.em.diagnostics.axes_scatters`), else ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.batch import BatchEvaluation
    >>> BatchEvaluation([np.ones(1)], np.zeros(1), np.zeros(1), [None]).entropy
    array([0.])
    """

    counts: list[np.ndarray]
    log_likelihood: np.ndarray
    entropy: np.ndarray
    scatters: list[np.ndarray | None]


def _rows_of(value: Any, rows: np.ndarray) -> Any:
    """The ``rows`` of a per-run array, or of each in a tuple (other values as they are)."""
    if isinstance(value, tuple):
        return tuple(_rows_of(item, rows) for item in value)
    return value[rows] if isinstance(value, np.ndarray) else value


class _Group:
    """The consecutive rows of the stack that share a structure, and what is theirs only.

    ``columns`` says where the packed parameters hold their covariances, ``span`` the
    groups evaluated with it (:class:`_Span`), ``phantom`` the padded components'
    second moments and ``sizes`` each run's number of real components. Symmetric
    matrices from :data:`_TRIANGLE_FROM` features on are packed as their upper
    triangles, the off-diagonal entries times ``sqrt(2)`` so that SQUAREM's norms stay
    those of the matrices.
    """

    def __init__(self, structure: CovarianceStructure, start: int, real: np.ndarray,
                 first_column: int, stored_shape: tuple[int, ...],
                 phantom: np.ndarray | None) -> None:
        self.structure = structure
        self.start, self.size = start, len(real)
        self.rows = slice(start, start + self.size)
        self.stored_shape = stored_shape
        self.phantom = phantom
        self.sizes = real.sum(axis=1)
        self._kept: dict[str, Any] = {}
        self._by_size: list[tuple[int, np.ndarray]] | None = None
        self.span: _Span
        n_features = stored_shape[-1]
        self.triangle = None
        width = int(np.prod(stored_shape))
        if (structure.estimates_correlations and n_features >= _TRIANGLE_FROM
                and stored_shape[-2:] == (n_features, n_features)):
            self.triangle = upper_triangle(n_features)
            self.scale = np.where(self.triangle[0] == self.triangle[1], 1.0, np.sqrt(2.0))
            width = width // n_features**2 * len(self.scale)
        self.columns = slice(first_column, first_column + width)

    def place(self, start: int) -> None:
        """The group's rows start at ``start`` (after rows before it were dropped)."""
        self.start, self.rows = start, slice(start, start + self.size)

    def pack(self, covariances: np.ndarray) -> np.ndarray:
        """Covariances (n, *stored) as packed columns (n, width)."""
        if self.triangle is not None:
            covariances = covariances[..., self.triangle[0], self.triangle[1]] * self.scale
        return covariances.reshape(len(covariances), -1)

    def unpack(self, columns: np.ndarray) -> np.ndarray:
        """Packed columns (n, width) as covariances (n, *stored)."""
        if self.triangle is None:
            return columns.reshape(len(columns), *self.stored_shape)
        upper = columns.reshape(len(columns), *self.stored_shape[:-2], -1) / self.scale
        return symmetric_from_upper(upper, self.stored_shape[-1])

    def covariances(self, packed: np.ndarray) -> np.ndarray:
        """The group's covariances in the stack's packed parameters, (size, *stored)."""
        return self.unpack(packed[self.rows, self.columns])

    def keep(self, kept: np.ndarray) -> None:
        """Keep the group's rows where the stack's ``kept`` is true, and what was made of
        them (:meth:`kept`)."""
        mine = kept[self.rows]
        if mine.all():  # its rows move, what is kept of them stays
            return
        if self.phantom is not None:
            self.phantom = self.phantom[mine]
        self.sizes, self._by_size = self.sizes[mine], None
        self._kept = {name: _rows_of(value, mine) for name, value in self._kept.items()}
        self.size = int(np.count_nonzero(mine))

    def kept(self, name: str, make: Callable[[], Any]) -> Any:
        """``make()``, made once and kept under ``name``: an array with a row per run of
        the group, or a tuple of such arrays and of values that all its runs share; when
        runs leave, their rows go."""
        if name not in self._kept:
            self._kept[name] = make()
        return self._kept[name]

    def runs_by_size(self) -> list[tuple[int, np.ndarray]]:
        """Each number of real components, with the group's runs (their positions in the
        group) that have it."""
        if self._by_size is None:
            self._by_size = [(int(size), np.flatnonzero(self.sizes == size))
                             for size in np.unique(self.sizes)]
        return self._by_size


#: The structure's methods that evaluate its runs: structures that share them (the same
#: functions) share a :class:`_Span`.
_KERNEL_METHODS = ("stored_shape", "batch_precision_cholesky_or_none",
                   "batch_log_density_coefficients", "log_det_cholesky")
#: The second moments that the rows' features of each ``mahalanobis_features`` hold.
_MOMENTS_OF_FEATURES = {"outer": "matrix", "squares": "diagonal"}


def _kernel(structure: CovarianceStructure) -> tuple:
    """What the runs of ``structure`` are evaluated with (equal for a :class:`_Span`).

    Its storage (stored shape, packing), precision factors, log-density coefficients and
    log-determinants (the same functions), and the second moments of the rows its span
    sums: its M step's, or if it reads none, those of its Mahalanobis features.
    """
    moments = (structure.second_moments
               or _MOMENTS_OF_FEATURES[structure.mahalanobis_features])
    return (structure.mahalanobis_features, structure.estimates_correlations, moments,
            *(getattr(type(structure), name) for name in _KERNEL_METHODS))


class _Span:
    """Consecutive groups whose structures have the same :func:`_kernel`.

    The E step evaluates their runs together: one call for the precision factors
    (``factors``, of the parameters the current E step evaluates), one for the
    log-density coefficients (``coefficients``, made with ``means`` and ``constants``,
    the log weights minus ``D log(2 pi) / 2``; ``direct``, the runs whose expansion
    would lose its digits, evaluated apart: :mod:`~bayesmix.em.cancellation`), one
    matrix product with the rows' features and one for their moments (the second
    moments of ``moments``, the kind its groups read, if any), whatever the number of
    structures. ``groups`` are those of its groups that still have runs.
    """

    def __init__(self, groups: list[_Group]) -> None:
        self.groups = groups
        self.structure = groups[0].structure
        self.moments = next((group.structure.second_moments for group in groups
                             if group.structure.second_moments is not None), None)
        self.place()
        self.factors = np.zeros((self.size, *groups[0].stored_shape))
        self.coefficients = self.constants = self.means = np.empty((0, 0))
        self.direct = np.empty(0, dtype=np.intp)
        for group in groups:
            group.span = self

    def place(self) -> None:
        """The span's rows are its groups' (after they were placed)."""
        self.start, self.size = self.groups[0].start, sum(group.size for group in self.groups)
        self.rows = slice(self.start, self.start + self.size)

    def covariances(self, packed: np.ndarray) -> np.ndarray:
        """The span's covariances in the stack's packed parameters, (size, *stored)."""
        return self.groups[0].unpack(packed[self.rows, self.groups[0].columns])

    def keep(self, kept: np.ndarray) -> None:
        """Keep the span's rows where the stack's ``kept`` is true (before its groups do)."""
        self.factors = self.factors[kept[self.rows]]
        self.groups = [group for group in self.groups if kept[group.rows].any()]


def _spans(groups: list[_Group]) -> list[_Span]:
    """The spans of the stack's (non-empty) groups, in order."""
    return list(dict.fromkeys(group.span for group in groups))


def _stack_order(structures: Sequence[CovarianceStructure]) -> list[int]:
    """The runs in stack order: by kernel, then by structure, in order of first appearance
    (so that a structure's runs are consecutive, and so are those of a kernel)."""
    distinct = list(dict.fromkeys(structures))
    kernels = [_kernel(structure) for structure in distinct]
    rank = {structure: (kernels.index(kernel), position)
            for position, (structure, kernel) in enumerate(zip(distinct, kernels))}
    return sorted(range(len(structures)), key=lambda run: rank[structures[run]])


@dataclass
class _Stack:
    """The runs still iterating, one row each; :meth:`keep` drops the others."""

    run: np.ndarray             # (B,) each row's run, its index in the starts
    packed: np.ndarray          # (B, P) the parameters the next E step evaluates
    reverted: np.ndarray        # (B,) ``packed`` is the cycle's second EM step again
    previous: np.ndarray        # (B,) the lower bound of the last iterate
    last_change: np.ndarray     # (B,) its change
    phase: np.ndarray           # (B,) its place in its cycle (SQUAREM_FIRST, ...)
    max_step: np.ndarray        # (B,) SQUAREM's longest step
    cycle: np.ndarray           # (3, B, P) the cycle's start and its two EM steps
    screening: np.ndarray       # (B,) the screen stage is still ahead
    real: np.ndarray            # (B, K) which components are not padding
    starved_counts: np.ndarray  # (B, K) the starved components' counts at the last check
    real_columns: np.ndarray    # (B, P) which packed parameters are real components'
    #: The parameters the last E step evaluated and their runs (not kept row by row:
    #: read only when a run fails).
    evaluated: tuple[np.ndarray, np.ndarray] = field(default=(np.empty((0, 0)), np.empty(0)))

    def keep(self, kept: np.ndarray, groups: list[_Group]) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name != "evaluated":
                setattr(self, item.name, value[:, kept] if item.name == "cycle"
                        else value[kept])
        spans = _spans(groups)
        for span in spans:
            span.keep(kept)
        start = 0
        for group in groups:
            group.keep(kept)
            group.place(start)
            start += group.size
        groups[:] = [group for group in groups if group.size]
        for span in spans:
            if span.groups:
                span.place()


@dataclass
class _Step:
    """One iteration of the stack: each run's lower bound, change and next parameters."""

    bounds: np.ndarray          # (B,) the lower bound at the parameters evaluated
    change: np.ndarray          # (B,) the absolute value of its change from the last iterate
    following: np.ndarray       # (B, P) the M step's parameters
    rejected: np.ndarray | None  # (B,) a rejected extrapolation (None: none is)
    converged: np.ndarray       # (B,) an iterate whose change is below tol


def _sizes(real: np.ndarray) -> np.ndarray:
    """Each run's number of real components (int64), as the compiled normalisation
    takes them."""
    return np.count_nonzero(real, axis=1).astype(np.int64)


def _sum_parts(parts: list[list]) -> list:
    """Add up the totals of row ranges (``None`` entries stay ``None``)."""
    if len(parts) == 1:
        return parts[0]
    return [None if first is None else sum(rest, first.copy())
            for first, *rest in zip(*parts)]


def _factors(structure: CovarianceStructure, covariances: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Precision factors of each run's covariances, and which runs' are not valid."""
    failed = np.zeros(covariances.shape[0], dtype=bool)
    factors = structure.batch_precision_cholesky_or_none(covariances)
    if factors is not None:
        return factors, failed
    factors = np.zeros_like(covariances)  # find the runs at fault, one by one
    for row, run_covariances in enumerate(covariances):
        run_factors = structure.batch_precision_cholesky_or_none(run_covariances)
        if run_factors is None:
            failed[row] = True
        else:
            factors[row] = run_factors
    return factors, failed


class BatchEM:
    """EM for many runs at once on the rows of an in-memory source (see the module docstring).

    Parameters
    ----------
    source : InMemorySource
        The rows; their initialisation sample is all of them.
    settings : EMSettings
        ``tol``, ``reg_covar``, ``max_iter`` and ``accelerate`` of every run.
    prior : ConjugatePrior, optional
        Run MAP-EM under this prior (mclust's ``priorControl``), resolved on the source
        for each structure and number of components
        (:meth:`~bayesmix.covariance.prior.ConjugatePrior.for_source`), as
        :class:`~bayesmix.em.engine.EMEngine` runs it.

    Examples
    --------
    Two starts of two components and one of three, diagonal and tied, in one stack:

    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.batch import BatchEM, BatchStart
    >>> from bayesmix.em.engine import EMSettings
    >>> from bayesmix.em.sources import InMemorySource
    >>> X = np.array([[0.0], [0.2], [0.1], [5.0], [5.2], [5.1], [9.0], [9.3]])
    >>> batch = BatchEM(InMemorySource(X), EMSettings(tol=1e-8))
    >>> diag, tied = get_structure("diag"), get_structure("tied")
    >>> runs = batch.run([BatchStart(diag, np.eye(2)[[0, 0, 0, 1, 1, 1, 1, 1]]),
    ...                   BatchStart(tied, np.eye(2)[[0, 1, 0, 1, 0, 1, 0, 1]]),
    ...                   BatchStart(diag, np.eye(3)[[0, 0, 0, 1, 1, 1, 2, 2]])])
    >>> [run.converged for run in runs], runs[2].parameters.weights
    ([True, True, True], array([0.375, 0.375, 0.25 ]))
    """

    def __init__(self, source: InMemorySource, settings: EMSettings,
                 prior: ConjugatePrior | None = None) -> None:
        self.source = source
        self.settings = settings
        self.prior = prior
        self.count_floor = count_floor(source)
        self._priors: dict[tuple[str, int], ConjugatePrior] = {}
        self._terms: dict[tuple[str, int], tuple[float, np.ndarray]] = {}
        self._kept_blocks: dict[tuple[int, int], list[tuple[slice, RowProducts]]] = {}
        self._paddings: dict[bool, np.ndarray] = {}  # _pad's default, full or variances

    def _blocks(self, rows: slice) -> list[tuple[slice, RowProducts]]:
        """The centred blocks of ``X[rows]`` (:data:`_BLOCK_ROWS` rows each) and their
        products, kept when they are small."""
        key = (rows.start, rows.stop)
        if key in self._kept_blocks:
            return self._kept_blocks[key]
        source = self.source
        blocks = [(block_rows, RowProducts(block)) for block_rows, block in
                  centred_blocks(source.X, rows, source.n_features, source.shift,
                                 rows_per_block=_BLOCK_ROWS)]
        if source.n_samples * source.n_features**2 <= _KEPT_PRODUCTS:
            self._kept_blocks[key] = blocks
        return blocks

    # ------------------------------------------------------------------ layout
    def _groups(self, structures: Sequence[CovarianceStructure], real: np.ndarray
                ) -> tuple[list[_Group], int]:
        """One group per structure, in order of first appearance, and the packed width.

        ``structures`` and ``real`` are in stack order (:func:`_stack_order`); the groups
        of consecutive structures with the same kernel share a :class:`_Span`.
        """
        n_runs, n_components = real.shape
        n_features = self.source.n_features
        first = n_components * (1 + n_features)  # weights, then means, then covariances
        groups, width, start = [], first, 0
        while start < n_runs:
            structure = structures[start]
            if not structure.batched_m_step:
                raise ValueError(
                    f"covariance_type={structure.label!r} has no batched M step "
                    f"(batched_m_step is False); fit it one model at a time with EMEngine."
                )
            stop = start + 1
            while stop < n_runs and structures[stop] is structure:
                stop += 1
            stored_shape = tuple(structure.stored_shape(n_components, n_features))
            groups.append(_Group(structure, start, real[start:stop], first, stored_shape,
                                 self._phantom(structure, real[start:stop])))
            width, start = max(width, groups[-1].columns.stop), stop
        span: list[_Group] = []
        for group in groups:
            if span and _kernel(group.structure) != _kernel(span[0].structure):
                _Span(span)
                span = []
            span.append(group)
        _Span(span)
        return groups, width

    def _phantom(self, structure: CovarianceStructure, real: np.ndarray
                 ) -> np.ndarray | None:
        """Second moments of the padded components (zero for the real ones)."""
        kind = structure.second_moments
        if kind is None or real.all() or structure.nonlinear_constraints:
            return None
        covariance = self.source.data_covariance(full=kind == "matrix")
        padding = (~real).astype(float).reshape(*real.shape, *(1,) * covariance.ndim)
        return self.count_floor * covariance * padding

    def _pad(self, group: _Group, covariances: np.ndarray, present: np.ndarray,
             padding: float | None = None) -> np.ndarray:
        """``covariances`` (n, *stored) with the padded components' set to ``padding``.

        ``present`` (n, K) says which components are real; by default the padding is
        the data's covariance (its variances for a structure stored as variances) with
        ``reg_covar`` added to its diagonal, as the linear structures' M steps give
        their padded components: positive definite even where the data's covariance is
        singular (collinear columns).
        """
        if padding is None:
            full = group.structure.estimates_correlations
            if full not in self._paddings:
                self._paddings[full] = self.source.data_covariance(full=full) + (
                    self.settings.reg_covar * (np.eye(self.source.n_features) if full
                                               else 1.0))
            padding = self._paddings[full]
        present = present.reshape(*present.shape, *(1,) * (len(group.stored_shape) - 1))
        return np.where(present, covariances, padding)

    @staticmethod
    def _group_of(groups: list[_Group], row: int) -> _Group:
        return next(group for group in groups if group.start <= row < group.start + group.size)

    def _block(self, structure: CovarianceStructure, n_components: int) -> tuple[slice, ...]:
        """Where a run's stored covariances of ``n_components`` sit in its padded ones."""
        return tuple(slice(0, size) for size in
                     structure.stored_shape(n_components, self.source.n_features))

    def _parameters(self, group: _Group, packed: np.ndarray, n_components: int
                    ) -> MixtureParameters | None:
        """One run's parameters without its padded components (copies), or ``None``.

        ``None`` when its covariances are not positive definite. Their precision factors
        are the batch's (compiled: the estimator's to rounding).
        """
        n_features = self.source.n_features
        n_padded = group.columns.start // (1 + n_features)
        means = packed[n_padded:group.columns.start].reshape(n_padded, n_features)
        covariances = group.unpack(packed[np.newaxis, group.columns])[0][
            self._block(group.structure, n_components)].copy()
        factors = group.structure.batch_precision_cholesky_or_none(covariances)
        if factors is None:
            return None
        return MixtureParameters(packed[:n_components].copy(), means[:n_components].copy(),
                                 covariances, factors)

    # ------------------------------------------------------------------ passes
    def _block_totals(self, rows: slice, coefficients: list[np.ndarray],
                      groups: list[_Group], real: np.ndarray, sizes: np.ndarray,
                      evaluate: bool) -> list:
        """Log-likelihood and sufficient statistics (and entropy) over ``X[rows]``;
        ``sizes`` is each run's number of real components (:func:`_sizes`).

        ``[log_likelihood, (entropy,) counts, sums, second moments of each group]``.
        """
        # Numba loads and compiles on the first batched E step, not on import.
        from bayesmix.em.normalise_kernel import normalise_log_probabilities

        source = self.source
        for block_rows, products in self._blocks(rows):
            log_prob = self._joint_log_probabilities(products, coefficients, groups, real)
            log_likelihood, entropy = normalise_log_probabilities(
                log_prob, sizes, _NO_WEIGHTS if source.sample_weight is None
                else source.sample_weight[block_rows])
            part = [log_likelihood, entropy] if evaluate else [log_likelihood]
            part += self._moments(log_prob, groups, products)
            totals = part if block_rows.start == rows.start else [
                None if total is None else total + value for total, value in zip(totals, part)]
        return totals

    @staticmethod
    def _joint_log_probabilities(rows: RowProducts, coefficients: list[np.ndarray],
                                 groups: list[_Group], real: np.ndarray) -> np.ndarray:
        """``log w_k + log N(x | mu_k, Sigma_k)`` of a block of rows, (B, K, n): one matrix
        product of the rows' features per span (:meth:`_coefficients`)."""
        from bayesmix.em import cancellation

        n_rows = rows.X.shape[0]
        log_prob = np.empty((*real.shape, n_rows))
        flat = log_prob.reshape(-1, n_rows)
        for span, span_coefficients in zip(_spans(groups), coefficients):
            features = rows.features(span.structure.mahalanobis_features)
            np.matmul(span_coefficients.reshape(-1, features.shape[1]), features.T,
                      out=flat[span.start * real.shape[1]:
                               (span.start + span.size) * real.shape[1]])
            for row in span.direct:  # where the expansion loses its digits
                log_prob[span.start + row] = cancellation.direct_log_probabilities(
                    rows.X, span.structure, span.means[row], span.factors[row],
                    span.constants[row])
        return log_prob

    @staticmethod
    def _moments(resp: np.ndarray, groups: list[_Group], rows: RowProducts) -> list:
        """Counts (B, K), sums (B, K, D) and each group's second moments of ``resp``.

        One matrix product per span with the rows' features ``[products | X | 1]``:
        the products its groups' M steps ask for (outer, (B, K, D, D), or squares,
        (B, K, D)), or none; a group that asks for none gets ``None``.
        """
        n_runs, n_components, n_rows = resp.shape
        n_features = rows.X.shape[1]
        counts, sums, second_moments = [], [], []
        for span in _spans(groups):
            kind = span.moments
            features = rows.features("outer" if kind == "matrix" else "squares")
            if kind is None:
                features = features[:, -1 - n_features:]
            totals = (resp[span.rows].reshape(-1, n_rows) @ features).reshape(
                span.size, n_components, -1)
            counts.append(totals[..., -1])
            sums.append(totals[..., -1 - n_features:-1])
            products = totals[..., :-1 - n_features]
            if kind == "matrix":
                products = symmetric_from_upper(products, n_features)
            second_moments += [
                None if group.structure.second_moments is None
                else products[group.start - span.start:][:group.size]
                for group in span.groups]
        if len(counts) == 1:
            return [counts[0], sums[0], *second_moments]
        return [np.concatenate(counts), np.concatenate(sums), *second_moments]

    def _e_step(self, threads: RowThreads, packed: np.ndarray, groups: list[_Group],
                real: np.ndarray, evaluate: bool = False) -> list:
        """One pass over the rows at each run's parameters, summed over row ranges."""
        coefficients = self._coefficients(packed, groups, real)
        sizes = _sizes(real)
        return _sum_parts(threads.map(
            lambda rows: self._block_totals(rows, coefficients, groups, real, sizes, evaluate),
            self.source.n_samples))

    def _coefficients(self, packed: np.ndarray, groups: list[_Group], real: np.ndarray
                      ) -> list[np.ndarray]:
        """Each span's weights of the rows' features that give the joint log probabilities
        ``log w_k + log N(x | mu_k, Sigma_k)``, at the spans' ``factors``
        (:meth:`~bayesmix.covariance.base.CovarianceStructure.batch_log_density_coefficients`
        with the log weights minus ``D log(2 pi) / 2``); each span keeps its own."""
        n_runs, n_components = real.shape
        n_features = self.source.n_features
        means = packed[:, n_components:groups[0].columns.start].reshape(
            n_runs, n_components, n_features)
        constants = np.log(packed[:, :n_components])
        constants -= 0.5 * n_features * _LOG_2PI
        # Numba loads and compiles on the first batched E step, not on import.
        from bayesmix.em import cancellation

        spans = _spans(groups)
        for span in spans:
            span.constants, span.means = constants[span.rows], means[span.rows]
            span.coefficients = span.structure.batch_log_density_coefficients(
                span.means, span.factors, span.constants)
            span.direct = np.flatnonzero(cancellation.imprecise_runs(
                span.coefficients,
                cancellation.feature_bounds(self.source, span.structure.mahalanobis_features),
                cancellation.EXPANSION_ERROR))
        return [span.coefficients for span in spans]

    def _m_step(self, totals: list, groups: list[_Group], real: np.ndarray, width: int,
                previous: np.ndarray | None = None) -> np.ndarray:
        """The packed parameters maximising the expected log-likelihood of ``totals``.

        An iterative M step starts from the covariances of ``previous``, the packed
        parameters the E step evaluated (``None``: the first M step). A structure with
        :attr:`~CovarianceStructure.nonlinear_constraints` gets its padded components
        as absent ones (weight 0, scatter 0, start 0) and gives them the data's
        covariance.
        """
        counts, sums, *second_moments = totals[-2 - len(groups):]
        n_runs, n_components = counts.shape
        counts = counts + self.count_floor
        means = sums / counts[:, :, np.newaxis]
        packed = np.zeros((n_runs, width))
        weights = packed[:, :n_components]
        np.multiply(counts, real, out=weights)
        weights /= weights.sum(axis=1, keepdims=True)
        for group, second in zip(groups, second_moments):
            if self.prior is None:
                covariances = self._ml_step(group, counts, means, second, real, previous)
            elif previous is None:  # the padded components from a first ML step
                covariances = self._map_step(
                    group, counts, means, second, real[group.rows],
                    self._ml_step(group, counts, means, second, real, None), False)
            else:
                covariances = self._map_step(group, counts, means, second, real[group.rows],
                                             group.covariances(previous), True)
            packed[group.rows, group.columns] = group.pack(covariances)
        packed[:, n_components:groups[0].columns.start] = means.reshape(n_runs, -1)
        return packed

    def _ml_step(self, group: _Group, counts: np.ndarray, means: np.ndarray,
                 second: np.ndarray | None, real: np.ndarray, previous: np.ndarray | None
                 ) -> np.ndarray:
        """A group's maximum-likelihood covariances (n, *stored)."""
        if group.phantom is not None:  # (zero on the real components, which MAP reads)
            second += group.phantom
        structure, present = group.structure, real[group.rows]
        group_counts = counts[group.rows]
        start = None if previous is None else group.covariances(previous)
        if structure.nonlinear_constraints:
            group_counts = group_counts * present
            start = None if start is None else self._pad(group, start, present, 0.0)
        covariances = structure.m_step(
            group_counts, means[group.rows], second,
            self.source.scatter if structure.needs_total_scatter else None,
            self.settings.reg_covar, start)
        if structure.nonlinear_constraints:
            covariances = self._pad(group, covariances, present)
        return covariances

    def _map_step(self, group: _Group, counts: np.ndarray, means: np.ndarray,
                  second: np.ndarray | None, present: np.ndarray, padded: np.ndarray,
                  from_padded: bool) -> np.ndarray:
        """A group's covariances at the posterior mode (n, *stored), and its runs' means
        moved to the posterior means (in ``means``), all numbers of components in one
        stacked M step with each run's prior terms (they depend on it), the padded
        components absent. The padded components keep their covariances in ``padded``
        (n, *stored), whose real ones start an iterative M step if ``from_padded`` (as
        the engine's, which starts its first M step from nothing)."""
        # Numba loads and compiles on the first batch under a prior, not on import.
        from bayesmix.em.prior_kernel import move_to_posterior_means

        structure, rows = group.structure, group.rows
        real_entries = self._real_entries(group)
        prior = self._shared_prior(group)
        covariances = structure.map_step(
            np.where(present, counts[rows], 0.0), means[rows], second,
            self.source.scatter if structure.needs_total_scatter else None,
            self.settings.reg_covar, prior,
            np.where(real_entries, padded, 0.0) if from_padded else None,
            terms=self._stacked_prior_terms(group), present=present)
        move_to_posterior_means(counts[rows], means[rows], present, prior.mean,
                                float(prior.shrinkage))
        return np.where(real_entries, covariances, padded)

    def _real_columns(self, groups: list[_Group], real: np.ndarray, width: int
                      ) -> np.ndarray:
        """Which packed parameters of each run are its real components' (B, P): those
        SQUAREM's step lengths are norms over, as the engine's over its parameters."""
        n_runs, n_components = real.shape
        columns = np.zeros((n_runs, width), dtype=bool)
        columns[:, :n_components] = real
        columns[:, n_components:groups[0].columns.start] = np.repeat(
            real, self.source.n_features, axis=1)
        for group in groups:
            columns[group.rows, group.columns] = group.pack(
                self._real_entries(group).astype(float)) != 0.0
        return columns

    def _real_entries(self, group: _Group) -> np.ndarray:
        """Which entries of the group's stored covariances (n, *stored) are its runs' real
        components' (all of a covariance shared by the components)."""
        def make() -> np.ndarray:
            real = np.zeros((group.size, *group.stored_shape), dtype=bool)
            for size, runs in group.runs_by_size():
                real[(runs, *self._block(group.structure, size))] = True
            return real

        return group.kept("real_entries", make)

    def _stacked_prior_terms(self, group: _Group) -> tuple[np.ndarray, np.ndarray]:
        """Each run's prior terms ``(e, Lambda)`` of its number of components: (n,) and
        (n, D, D); the log prior and the MAP step of an iteration share them."""
        def make() -> tuple[np.ndarray, np.ndarray]:
            n_features = self.source.n_features
            extras = np.empty(group.size)
            scales = np.empty((group.size, n_features, n_features))
            for size, runs in group.runs_by_size():
                extras[runs], scales[runs] = self._prior_terms(group.structure, size)
            return extras, scales

        return group.kept("prior_terms", make)

    def _prior(self, structure: CovarianceStructure, n_components: int) -> ConjugatePrior:
        """The prior of a fit of ``structure`` with ``n_components`` (resolved once)."""
        key = (structure.name, n_components)
        if key not in self._priors:
            self._priors[key] = self.prior.for_source(self.source, structure, n_components)
        return self._priors[key]

    def _shared_prior(self, group: _Group) -> ConjugatePrior:
        """A prior of the group's runs, for what every number of components shares: its
        mean and shrinkage."""
        return self._prior(group.structure, int(group.sizes[0]))

    def _prior_terms(self, structure: CovarianceStructure, n_components: int
                     ) -> tuple[float, np.ndarray]:
        """``fitted_prior_terms`` of :meth:`_prior` (computed once)."""
        key = (structure.name, n_components)
        if key not in self._terms:
            self._terms[key] = structure.fitted_prior_terms(
                self._prior(structure, n_components), n_components, self.source.n_features)
        return self._terms[key]

    def _log_priors(self, packed: np.ndarray, groups: list[_Group], real: np.ndarray
                    ) -> np.ndarray:
        """Each run's log prior density at its packed parameters (n,), from the spans'
        log-density coefficients (those of the E step at ``packed``).

        A component's coefficients ``c``, made with the constant ``c0``, weigh the row
        features ``f(x)`` as ``c @ f(x) = c0 + log|U| - (x - mu)' P (x - mu) / 2``
        (``P = U U'``): the rows' coordinates by ``P mu``, their products by ``-P / 2``
        on the diagonal and ``-P`` off it, and 1 by ``c1 = c0 + log|U| - mu' P mu / 2``.
        So the component's term of
        :meth:`~bayesmix.covariance.base.CovarianceStructure.log_prior`, ``-(e
        log|Sigma| + tr(Lambda P) + kappa (mu - m)' P (mu - m)) / 2``, is ``c @ (g +
        kappa f(m)) + (e - kappa) (c1 + mu' (P mu) / 2) - e c0``, with ``g`` the prior
        scale ``Lambda``'s entries where ``f`` has the products
        (:meth:`_prior_weights`): two products per group, whatever the structure.
        """
        # Numba loads and compiles on the first batch under a prior, not on import.
        from bayesmix.em.prior_kernel import component_log_prior_terms

        n_runs, n_components = real.shape
        n_features = self.source.n_features
        means = packed[:, n_components:groups[0].columns.start].reshape(
            n_runs, n_components, n_features)
        terms = np.empty((n_runs, n_components))
        for group in groups:  # each run with the prior terms of its K
            span = group.span
            within = slice(group.start - span.start, group.start - span.start + group.size)
            weights, extras, shrinkage = self._prior_weights(group)
            component_log_prior_terms(span.coefficients[within], span.constants[within],
                                      means[group.rows], weights, extras, shrinkage,
                                      terms[group.rows])
            direct = span.direct  # (none, mostly: then no mask to make)
            if direct.size:
                direct = direct[(direct >= within.start) & (direct < within.stop)]
            if direct.size:  # where the expansion loses its digits, as the engine does
                structure, prior = group.structure, self._shared_prior(group)
                scales = self._stacked_prior_terms(group)[1]
                covariances = group.covariances(packed)
                for row in direct - within.start:
                    terms[group.start + row] = -0.5 * structure.log_prior_terms(
                        means[group.start + row], covariances[row], prior, extras[row],
                        scales[row])
        return np.where(real, terms, 0.0).sum(axis=1)

    def _prior_weights(self, group: _Group) -> tuple[np.ndarray, np.ndarray, float]:
        """What :meth:`_log_priors` weighs the group's coefficients with: ``g + kappa
        f(m)`` (n, F), each run's ``e`` (n,) and ``kappa``."""
        def make() -> tuple[np.ndarray, np.ndarray, float]:
            extras, scales = self._stacked_prior_terms(group)
            prior = self._shared_prior(group)
            kind = group.structure.mahalanobis_features
            at_mean = prior.shrinkage * RowProducts(prior.mean[np.newaxis]).features(kind)
            if kind == "outer":
                rows, columns = upper_triangle(self.source.n_features)
                entries = scales[:, rows, columns]
            else:
                entries = np.diagonal(scales, axis1=1, axis2=2)
            weights = np.repeat(at_mean, group.size, axis=0)
            weights[:, :entries.shape[1]] += entries
            return weights, extras, prior.shrinkage

        return group.kept("prior_weights", make)

    # ------------------------------------------------------------------ runs
    def run(self, starts: Sequence[BatchStart], screen_tol: float = np.inf
            ) -> list[EMRun | None]:
        """Run EM from every start at once; each run's end, in order.

        Parameters
        ----------
        starts : sequence of BatchStart
            The runs; their numbers of components and structures may differ.
        screen_tol : float, default=inf
            The screen stage of the runs given rivals: where a run's change first falls
            below it (see the module docstring).

        Returns
        -------
        list of EMRun or None
            ``None`` for a run screened out, or whose start already has a covariance
            that is not positive definite.

        Examples
        --------
        A run screened against a better one at the screen stage is dropped:

        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.batch import BatchEM, BatchStart
        >>> from bayesmix.em.engine import EMSettings
        >>> from bayesmix.em.sources import InMemorySource
        >>> X = np.array([[0.0], [0.2], [0.1], [5.0], [5.2], [5.1], [9.0], [9.3]])
        >>> full = get_structure("full")
        >>> good, poor = np.eye(2)[[0, 0, 0, 1, 1, 1, 1, 1]], np.eye(2)[[0, 1, 0, 1, 0, 1, 0, 1]]
        >>> runs = BatchEM(InMemorySource(X), EMSettings(tol=1e-6)).run(
        ...     [BatchStart(full, good), BatchStart(full, poor, rivals=(0,))], screen_tol=1e-3)
        >>> runs[0].converged, runs[1]
        (True, None)
        """
        n_runs, max_iter = len(starts), self.settings.max_iter
        if len({start.parameters is None for start in starts}) > 1:
            raise ValueError("The starts of one batch are all responsibilities or all "
                             "parameters; run the two kinds as two batches.")
        structures = [start.structure for start in starts]
        order = _stack_order(structures)
        n_components = np.array([start.n_components for start in starts])
        real = np.arange(n_components.max()) < n_components[order, np.newaxis]
        groups, width = self._groups([structures[run] for run in order], real)
        ends: list[dict | None] = [None] * n_runs
        screen_bounds, bounds_outside = np.full(n_runs, np.nan), []
        pending = {run: list(start.rivals) for run, start in enumerate(starts) if start.rivals}
        for run, start in enumerate(starts):
            if start.screen_bound is not None:
                pending.setdefault(run, []).append(n_runs + len(bounds_outside))
                bounds_outside.append(start.screen_bound)
        screen_bounds = np.concatenate([screen_bounds, bounds_outside])
        history: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
        # The iterations are many small NumPy calls, which threads would serialise on
        # the GIL: one thread (BLAS and OpenMP held to one too) unless the rows are many.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"), RowThreads(
                self.source.n_samples) as threads:
            packed = self._start(threads, [starts[run] for run in order], groups, real, width)
            stack = _Stack(run=np.array(order), packed=packed,
                           reverted=np.zeros(n_runs, dtype=bool),
                           previous=np.full(n_runs, -np.inf),
                           last_change=np.full(n_runs, np.inf),
                           phase=np.full(n_runs, SQUAREM_FIRST), max_step=np.ones(n_runs),
                           cycle=np.repeat(packed[np.newaxis], 3, axis=0),
                           screening=np.ones(n_runs, dtype=bool), real=real,
                           starved_counts=np.full(real.shape, np.nan),
                           real_columns=self._real_columns(groups, real, width))
            for n_iter in range(1, max_iter + 2):
                failed = self._factorise(stack, groups)
                if failed.any():
                    for row in np.flatnonzero(failed):
                        run = int(stack.run[row])
                        ends[run] = self._failed_end(stack, groups, row, n_iter - 1,
                                                     int(n_components[run]))
                        screen_bounds[run] = -np.inf if ends[run] is None else ends[run][
                            "lower_bound"]
                    stack.keep(~failed, groups)
                if stack.run.size == 0 or n_iter > max_iter:
                    break
                step = self._step(threads, stack, groups, width)
                history.append((stack.run, step.bounds, step.rejected))
                decide = False  # whether a screen stage was reached: decide the pending
                done = step.converged if n_iter < max_iter else np.ones(len(stack.run), bool)
                if pending:
                    reached = stack.screening & (step.change < screen_tol)
                    if step.rejected is not None:
                        reached &= ~step.rejected
                    if reached.any():
                        screen_bounds[stack.run[reached]] = step.bounds[reached]
                        stack.screening &= ~reached
                        decide = True
                if n_iter % COLLAPSE_CHECK_EVERY == 0 and n_iter < max_iter:
                    done = done | self._collapsed(stack, groups, step)
                for row in np.flatnonzero(done):
                    run = int(stack.run[row])
                    ends[run] = self._end(stack, groups, step, row, n_iter,
                                          int(n_components[run]))
                    if np.isnan(screen_bounds[run]):
                        screen_bounds[run], decide = ends[run]["lower_bound"], True
                dropped = self._screen(pending, screen_bounds) if decide else []
                for run in dropped:
                    ends[run] = None
                self._advance(stack, groups, step)
                if dropped:
                    done |= np.isin(stack.run, dropped)
                if done.any():
                    stack.keep(~done, groups)
            for row, run in enumerate(stack.run):  # max_iter=0: the starts themselves
                ends[run] = {"parameters": self._parameters(
                    self._group_of(groups, row), stack.packed[row], int(n_components[run])),
                    "lower_bound": -np.inf, "converged": False, "n_iter": 0,
                    "last_change": np.inf, "failed_components": ()}
        histories = self._histories(history, n_runs)
        return [None if end is None else EMRun(history=histories[run], **end)
                for run, end in enumerate(ends)]

    def _start(self, threads: RowThreads, starts: Sequence[BatchStart], groups: list[_Group],
               real: np.ndarray, width: int) -> np.ndarray:
        """The packed parameters every run starts from: the first M step from its
        responsibilities, or its parameters."""
        if starts[0].parameters is not None:
            return self._start_parameters(threads, starts, groups, real, width)
        resp = np.zeros((*real.shape, self.source.n_samples))
        for row, start in enumerate(starts):
            resp[row, :start.responsibilities.shape[1]] = start.responsibilities.T
        source = self.source

        def block_totals(rows: slice) -> list:
            for block_rows, products in self._blocks(rows):
                weighted = resp[:, :, block_rows]
                if source.sample_weight is not None:
                    weighted = weighted * source.sample_weight[block_rows]
                part = self._moments(np.ascontiguousarray(weighted), groups, products)
                totals = part if block_rows.start == rows.start else [
                    None if total is None else total + value
                    for total, value in zip(totals, part)]
            return totals

        return self._m_step(_sum_parts(threads.map(block_totals, source.n_samples)), groups,
                            real, width)

    def _start_parameters(self, threads: RowThreads, starts: Sequence[BatchStart],
                          groups: list[_Group], real: np.ndarray, width: int) -> np.ndarray:
        """The packed parameters of starts given as parameters.

        Their padded components take the values the M steps give them (those of one E
        step and M step at the starts), as in runs from responsibilities: they then stay
        put, so that SQUAREM's jumps, which extrapolate every packed parameter, leave
        them as they are.
        """
        packed = self._packed_parameters(starts, groups, real, np.zeros((len(starts), width)),
                                         pad=True)
        for span in _spans(groups):
            span.factors = _factors(span.structure, span.covariances(packed))[0]
        totals = self._e_step(threads, packed, groups, real)
        return self._packed_parameters(starts, groups, real,
                                       self._m_step(totals, groups, real, width, packed))

    def _packed_parameters(self, starts: Sequence[BatchStart], groups: list[_Group],
                           real: np.ndarray, packed: np.ndarray, pad: bool = False
                           ) -> np.ndarray:
        """``packed`` with each run's real components set to its start's parameters (in
        place); with ``pad``, its padded components' covariances set to its first
        component's."""
        n_components, n_features = real.shape[1], self.source.n_features
        for group in groups:
            covariances = group.covariances(packed)
            for row in range(group.start, group.start + group.size):
                parameters = starts[row].parameters
                k = len(parameters.weights)
                packed[row, :k] = parameters.weights
                packed[row, n_components:group.columns.start].reshape(-1, n_features)[:k] = (
                    parameters.means)
                stored = covariances[row - group.start]
                block = self._block(group.structure, k)
                stored[block] = parameters.covariances
                if pad and stored[block].shape != stored.shape:  # a covariance per component
                    stored[k:] = parameters.covariances[:1]
            packed[group.rows, group.columns] = group.pack(covariances)
        return packed

    @staticmethod
    def _factorise(stack: _Stack, groups: list[_Group]) -> np.ndarray:
        """Each span's precision factors of the parameters to evaluate; the runs that fail.

        An extrapolation whose covariances are not positive definite is rejected before
        it is evaluated (as ``EMEngine`` does): the run goes back to its second EM step.
        A run fails when the parameters of its M step are not positive definite.
        """
        failed = np.zeros(len(stack.run), dtype=bool)
        for span in _spans(groups):
            span.factors, span_failed = _factors(span.structure,
                                                 span.covariances(stack.packed))
            if not span_failed.any():
                continue
            rows = span.start + np.flatnonzero(span_failed)
            jumps = rows[stack.phase[rows] == SQUAREM_JUMP]
            stack.packed = stack.packed.copy()
            stack.packed[jumps] = stack.cycle[2][jumps]
            stack.phase[jumps], stack.reverted[jumps] = SQUAREM_FIRST, True
            for row in jumps:
                factors = span.structure.batch_precision_cholesky_or_none(
                    span.covariances(stack.packed)[row - span.start])
                if factors is not None:
                    span.factors[row - span.start] = factors
                    span_failed[row - span.start] = False
            failed[span.rows] = span_failed
        return failed

    def _step(self, threads: RowThreads, stack: _Stack, groups: list[_Group], width: int
              ) -> _Step:
        """One EM iteration of every run in the stack, and what it says of each run."""
        totals = self._e_step(threads, stack.packed, groups, stack.real)
        bounds = totals[0]
        if self.prior is not None:  # MAP-EM ascends the log posterior
            bounds = bounds + self._log_priors(stack.packed, groups, stack.real)
        bounds = bounds / self.source.total_weight
        following = self._m_step(totals, groups, stack.real, width, stack.packed)
        change = bounds - stack.previous
        # An extrapolation evaluated below the iterate it started from is not an iterate.
        jumped = stack.phase == SQUAREM_JUMP
        rejected = jumped & (bounds < stack.previous) if jumped.any() else None
        stack.last_change = change if rejected is None else np.where(
            rejected, stack.last_change, change)
        change = np.abs(change)
        converged = change < self.settings.tol
        if rejected is not None:
            converged &= ~rejected
        return _Step(bounds, change, following, rejected, converged)

    def _collapsed(self, stack: _Stack, groups: list[_Group], step: _Step) -> np.ndarray:
        """The runs whose next parameters have a collapsed component (``EMEngine.collapsed``,
        with ``stop_starved`` a stretched one too, or one still starved:
        ``EMEngine.starving``).

        A rejected extrapolation is not an iterate: its run is not checked (as the engine
        checks none), and its starved counts stay those of its last check.
        """
        collapsed = np.zeros(len(stack.run), dtype=bool)
        n_components, n_features = stack.real.shape[1], self.source.n_features
        starved = self.settings.stop_starved and self.prior is None
        checked = np.ones(len(stack.run), dtype=bool) if step.rejected is None else (
            ~step.rejected)
        for group in groups:
            structure, present = group.structure, stack.real[group.rows]
            covariances = group.covariances(step.following)
            collapsed[group.rows] = has_collapsed(structure, covariances, n_components,
                                                  n_features, self.settings.reg_covar, present)
            counts = step.following[group.rows, :n_components] * self.source.total_weight
            if starved:
                last_counts = stack.starved_counts[group.rows]
                starving, starved_counts = still_starved(structure, counts, n_features,
                                                         last_counts, present)
                collapsed[group.rows] |= starving
                stack.starved_counts[group.rows] = np.where(
                    checked[group.rows, np.newaxis], starved_counts, last_counts)
            if self.settings.stop_starved and structure.collapse_stretches:
                collapsed[group.rows] |= has_stretched(
                    structure, covariances, counts, self.source.data_covariance(
                        full=structure.estimates_correlations),
                    self.settings.reg_covar, present)
        return collapsed & checked

    def _end(self, stack: _Stack, groups: list[_Group], step: _Step, row: int, n_iter: int,
             n_components: int) -> dict:
        """The end of the run in ``row`` after this iteration, as :class:`EMRun` fields."""
        group = self._group_of(groups, row)
        if step.rejected is not None and step.rejected[row]:  # back before the jump
            packed, bound = stack.cycle[2][row], stack.previous[row]
        else:
            packed, bound = step.following[row], step.bounds[row]
        parameters = self._parameters(group, packed, n_components)
        failed = ()
        if parameters is None:  # its last M step is not positive definite
            failed = self._failed_components(group, packed, n_components)
            parameters = self._parameters(group, stack.packed[row], n_components)
            bound = step.bounds[row]
        return {"parameters": parameters, "lower_bound": float(bound),
                "converged": bool(step.converged[row]) and not failed, "n_iter": n_iter,
                "last_change": float(stack.last_change[row]), "failed_components": failed}

    def _failed_end(self, stack: _Stack, groups: list[_Group], row: int, n_iter: int,
                    n_components: int) -> dict | None:
        """The end of a run whose next parameters are not positive definite.

        It stops at the last parameters an E step evaluated as an iterate (``None``
        before any).
        """
        if n_iter == 0:
            return None
        group = self._group_of(groups, row)
        if stack.reverted[row]:
            last = stack.cycle[1][row]
        else:
            evaluated, runs = stack.evaluated
            last = evaluated[np.flatnonzero(runs == stack.run[row])[0]]
        return {"parameters": self._parameters(group, last, n_components),
                "lower_bound": float(stack.previous[row]), "converged": False,
                "n_iter": n_iter, "last_change": float(stack.last_change[row]),
                "failed_components": self._failed_components(group, stack.packed[row],
                                                             n_components)}

    def _failed_components(self, group: _Group, packed: np.ndarray, n_components: int
                           ) -> tuple[int, ...]:
        """The components whose covariance in ``packed`` is not positive definite."""
        structure = group.structure
        covariances = group.unpack(packed[np.newaxis, group.columns])[0][
            self._block(structure, n_components)]
        if not np.isfinite(covariances).all():
            return tuple(range(n_components))
        smallest = structure.smallest_variances(
            covariances, self.source.data_covariance(full=structure.estimates_correlations))[0]
        bad = ~(smallest > 0.0)
        if structure.shares_covariance() or not bad.any():
            return tuple(range(n_components))
        return tuple(int(k) for k in np.flatnonzero(bad))

    def _advance(self, stack: _Stack, groups: list[_Group], step: _Step) -> None:
        """Each run's next parameters and place in its SQUAREM cycle
        (:func:`~bayesmix.em.squarem_kernel.advance_cycles`, ``EMEngine``'s cycle).

        The next E step evaluates a jump unless its covariances are not positive
        definite (:meth:`_factorise` finds those). The jumps of a structure with
        :attr:`~CovarianceStructure.nonlinear_constraints` are projected back into them
        (:meth:`~CovarianceStructure.project`, padded components absent), as ``EMEngine``
        projects its jumps.
        """
        # Numba loads and compiles on the first accelerated batch, not on import.
        from bayesmix.em.squarem_kernel import advance_cycles

        following, rejected = step.following, step.rejected
        stack.evaluated = (stack.packed, stack.run)
        stack.previous = step.bounds if rejected is None else np.where(
            rejected, stack.previous, step.bounds)
        if self.settings.accelerate:
            jumped = advance_cycles(
                stack.packed, following, stack.cycle, stack.phase, step.change,
                _NO_REJECTIONS if rejected is None else rejected, stack.max_step,
                stack.real_columns, stack.real.shape[1], SQUAREM_FROM, SQUAREM_STEP_GROWTH,
                MAX_SQUAREM_STEP)
            for group in groups:
                if not group.structure.nonlinear_constraints:
                    continue
                rows = group.start + np.flatnonzero(jumped[group.rows])
                if rows.size == 0:
                    continue
                present = stack.real[rows]
                projected = group.structure.project(
                    self._pad(group, group.unpack(following[rows, group.columns]), present,
                              0.0),
                    following[rows, :stack.real.shape[1]], self.source.n_features)
                following[rows, group.columns] = group.pack(self._pad(group, projected, present))
            if rejected is not None:
                stack.reverted = rejected
            elif stack.reverted.any():
                stack.reverted = np.zeros(len(stack.run), dtype=bool)
        stack.packed = following

    @staticmethod
    def _screen(pending: dict[int, list[int]], screen_bounds: np.ndarray) -> list[int]:
        """Decide the screened runs whose stage and whose rivals' stage are known."""
        dropped = []
        for run, rivals in list(pending.items()):
            bounds = screen_bounds[[run, *rivals]]
            if np.isnan(bounds).any():
                continue
            del pending[run]
            if bounds[0] < bounds[1:].min():
                dropped.append(run)
        return dropped

    @staticmethod
    def _histories(history: list, n_runs: int) -> list[list[float]]:
        """Each run's lower bounds, iterate by iterate (rejected extrapolations left out)."""
        if not history:
            return [[] for _ in range(n_runs)]
        runs, bounds, rejected = zip(*history)
        kept = np.concatenate([np.ones(len(step), dtype=bool) if step_rejected is None
                               else ~step_rejected
                               for step, step_rejected in zip(runs, rejected)])
        runs, bounds = np.concatenate(runs)[kept], np.concatenate(bounds)[kept]
        order = np.argsort(runs, kind="stable")
        splits = np.searchsorted(runs[order], np.arange(1, n_runs))
        return [part.tolist() for part in np.split(bounds[order], splits)]

    def evaluate(self, fits: Sequence[tuple[CovarianceStructure, MixtureParameters]]
                 ) -> BatchEvaluation:
        """One E step at each fit's parameters: counts, log-likelihood and entropy.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.batch import BatchEM, BatchStart
        >>> from bayesmix.em.engine import EMSettings
        >>> from bayesmix.em.sources import InMemorySource
        >>> X = np.array([[0.0], [0.2], [0.1], [5.0], [5.2], [5.1]])
        >>> batch = BatchEM(InMemorySource(X), EMSettings())
        >>> diag = get_structure("diag")
        >>> run = batch.run([BatchStart(diag, np.eye(2)[[0, 0, 0, 1, 1, 1]])])[0]
        >>> batch.evaluate([(diag, run.parameters)]).counts[0].round(6)
        array([3., 3.])
        """
        if not fits:
            return BatchEvaluation([], np.empty(0), np.empty(0), [])
        order, n_components, real, groups, packed = self._stacked_fits(fits)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"), RowThreads(
                self.source.n_samples) as threads:
            log_likelihood, entropy, counts, sums, *second_moments = self._e_step(
                threads, packed, groups, real, evaluate=True)
        scatters = []
        for group, second in zip(groups, second_moments):
            for row in range(group.start, group.start + group.size):
                k = n_components[order[row]]
                scatters.append(axes_scatters(
                    group.structure, counts[row, :k], sums[row, :k],
                    None if second is None else second[row - group.start, :k]))
        back = np.argsort(order)
        return BatchEvaluation([counts[row, :k] for row, k in zip(back, n_components)],
                               log_likelihood[back], entropy[back],
                               [scatters[row] for row in back])

    def responsibilities(self, fits: Sequence[tuple[CovarianceStructure, MixtureParameters]]
                         ) -> list[np.ndarray]:
        """Each fit's responsibilities on the source's rows, (N, K), from one E step at
        all the fits' parameters (they hold runs x components x rows values at once).

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.batch import BatchEM, BatchStart
        >>> from bayesmix.em.engine import EMSettings
        >>> from bayesmix.em.sources import InMemorySource
        >>> X = np.array([[0.0], [0.2], [0.1], [5.0], [5.2], [5.1]])
        >>> batch = BatchEM(InMemorySource(X), EMSettings())
        >>> diag = get_structure("diag")
        >>> run = batch.run([BatchStart(diag, np.eye(2)[[0, 0, 0, 1, 1, 1]])])[0]
        >>> batch.responsibilities([(diag, run.parameters)])[0].round(6)
        array([[1., 0.],
               [1., 0.],
               [1., 0.],
               [0., 1.],
               [0., 1.],
               [0., 1.]])
        """
        from bayesmix.em.normalise_kernel import normalise_log_probabilities

        if not fits:
            return []
        order, n_components, real, groups, packed = self._stacked_fits(fits)
        n_samples = self.source.n_samples
        resp = np.empty((*real.shape, n_samples))
        sizes = _sizes(real)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            coefficients = self._coefficients(packed, groups, real)
            for block_rows, products in self._blocks(slice(0, n_samples)):
                log_prob = self._joint_log_probabilities(products, coefficients, groups, real)
                normalise_log_probabilities(log_prob, sizes, _NO_WEIGHTS)
                resp[:, :, block_rows] = log_prob
        back = np.argsort(order)
        return [resp[row, :k].T for row, k in zip(back, n_components)]

    def _stacked_fits(self, fits: Sequence[tuple[CovarianceStructure, MixtureParameters]]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[_Group], np.ndarray]:
        """Fits as a stack to evaluate: the stack's order of the fits, their numbers of
        components, the real components (stack order), the groups (the spans' factors
        set) and the packed parameters."""
        structures = [structure for structure, _ in fits]
        order = _stack_order(structures)
        n_components = np.array([fit.weights.shape[0] for _, fit in fits])
        real = np.arange(n_components.max()) < n_components[order, np.newaxis]
        groups, width = self._groups([structures[i] for i in order], real)
        packed = np.zeros((len(fits), width))
        n_features = self.source.n_features
        for group in groups:
            for in_group, (_, fit) in enumerate(fits[i] for i in order[group.rows]):
                k, row = len(fit.weights), group.start + in_group
                packed[row, :k] = fit.weights
                packed[row, real.shape[1]:group.columns.start].reshape(-1, n_features)[:k] = (
                    fit.means)
                span_factors = group.span.factors[row - group.span.start]
                span_factors[self._block(group.structure, k)] = fit.precisions_cholesky
        return order, n_components, real, groups, packed
