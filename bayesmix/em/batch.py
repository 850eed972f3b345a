"""Batched EM: many fits of one covariance structure as one stacked computation.

Model selection fits one structure for several numbers of components, each from several
starts. On small data an EM iteration costs mostly NumPy's per-call overhead, about the
same for 100 rows as for 10,000, so :class:`BatchEM` runs all those fits (the *runs*)
together: each iteration is one E step and one M step of a few dozen NumPy calls over
arrays that stack the runs on their first axis, whatever their number. The structure
does its part through its batched interface
(:attr:`~bayesmix.covariance.base.CovarianceStructure.batched_m_step`).

Layout
    Runs first, components second (padded to the largest number of components), rows
    last: the log probabilities are (B, K, N), so that sums and maxima over the
    components are element-wise operations along the rows. A padded component has weight
    exactly 0 (log weight ``-inf``, responsibility 0), the floored count
    :data:`~bayesmix.em.engine.COUNT_FLOOR`, mean 0 and second moments of that count
    times the data's covariance: its covariance is the data's (positive definite
    whatever ``reg_covar``), and it adds nothing to pooled statistics such as the tied
    structure's scatter. The stored covariances of ``K`` components are taken to be the
    leading block of those of more components (true of every registered structure).

Iterations
    Every run follows :class:`~bayesmix.em.engine.EMEngine`'s iterations from its start:
    the same convergence test, the same SQUAREM cycle with its own step length, so it
    reaches the optimum the one-fit engine reaches from the same start (the arithmetic
    differs in rounding only). A run leaves the stack when it converges, runs out of
    iterations, is screened out, or fails: when an M step gives a covariance that is not
    positive definite, the run stops at its last valid parameters and names the
    components that failed (``EMRun.failed_components``); the other runs go on.

Screening
    A "small EM" (Biernacki, Celeux and Govaert 2003): a run given rivals goes on past
    the iteration where its change first falls below ``screen_tol`` only if its lower
    bound there is at least that of one of its rivals at the same stage (a rival that
    ends before that stage counts with its last bound); otherwise it is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from bayesmix._parallel import RowThreads
from bayesmix.covariance.base import CovarianceStructure, RowProducts
from bayesmix.em.engine import (
    COUNT_FLOOR,
    MAX_SQUAREM_STEP,
    SQUAREM_FROM,
    SQUAREM_STEP_GROWTH,
    EMRun,
    EMSettings,
    MixtureParameters,
)
from bayesmix.em.sources import InMemorySource, centred_blocks

__all__ = ["BatchEM", "BatchEvaluation"]

_LOG_2PI = np.log(2.0 * np.pi)
#: A run's place in its SQUAREM cycle (see EMEngine's iterations): its next E step is
#: the cycle's first EM step, its second, or the evaluation of the extrapolated jump.
_FIRST, _SECOND, _JUMP = 0, 1, 2


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

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.batch import BatchEvaluation
    >>> BatchEvaluation([np.ones(1)], np.zeros(1), np.zeros(1)).entropy
    array([0.])
    """

    counts: list[np.ndarray]
    log_likelihood: np.ndarray
    entropy: np.ndarray


@dataclass(frozen=True)
class _Layout:
    """How each run's weights, means and covariances are packed into one row."""

    n_components: int
    n_features: int
    stored_shape: tuple[int, ...]

    def pack(self, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray
             ) -> np.ndarray:
        n_runs = weights.shape[0]
        return np.concatenate((weights, means.reshape(n_runs, -1),
                               covariances.reshape(n_runs, -1)), axis=1)

    def unpack(self, packed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_runs, n_means = packed.shape[0], self.n_components * self.n_features
        means = packed[:, self.n_components:self.n_components + n_means]
        return (packed[:, :self.n_components],
                means.reshape(n_runs, self.n_components, self.n_features),
                packed[:, self.n_components + n_means:].reshape(n_runs, *self.stored_shape))


@dataclass
class _Stack:
    """The runs still iterating, one row each; :meth:`keep` drops the others."""

    run: np.ndarray             # (B,) each row's run, its index in the starts
    packed: np.ndarray          # (B, P) the parameters the next E step evaluates
    factors: np.ndarray         # (B, *stored) their precision Cholesky factors
    previous: np.ndarray        # (B,) the lower bound of the last iterate
    last_change: np.ndarray     # (B,) its change
    phase: np.ndarray           # (B,) _FIRST, _SECOND or _JUMP
    max_step: np.ndarray        # (B,) SQUAREM's longest step
    cycle: np.ndarray           # (B, 3, P) the cycle's start and its two EM steps
    second_factors: np.ndarray  # (B, *stored) the factors of cycle[:, 2]
    screening: np.ndarray       # (B,) the screen stage is still ahead
    real: np.ndarray            # (B, K) which components are not padding
    phantom: np.ndarray | None  # padded components' second moments

    def keep(self, rows: np.ndarray) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if value is not None:
                setattr(self, item.name, value[rows])


@dataclass
class _Step:
    """One iteration of the stack: each run's lower bound, change and next parameters."""

    bounds: np.ndarray      # (B,) the lower bound at the parameters evaluated
    change: np.ndarray      # (B,) its change from the previous iterate
    following: np.ndarray   # (B, P) the M step's parameters
    factors: np.ndarray     # their precision factors
    recorded: np.ndarray    # (B,) an iterate (not a rejected extrapolation)
    converged: np.ndarray   # (B,) an iterate whose change is below tol
    failed: np.ndarray      # (B,) an iterate whose M step is not positive definite


def _normalise(log_prob: np.ndarray, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Turn (B, K, N) joint log probabilities into responsibilities, in place.

    Returns each row's largest joint log probability and its log normaliser, (B, N).
    A row where every component's log probability is ``-inf`` gets equal shares of the
    real components and log normaliser ``-inf`` (as ``density.normalise_rows`` does).
    """
    row_max = log_prob.max(axis=1)
    log_prob -= row_max[:, np.newaxis, :]
    np.exp(log_prob, out=log_prob)
    row_sum = log_prob.sum(axis=1)
    hopeless = ~(row_sum > 0.0)
    if hopeless.any():
        shares = real / real.sum(axis=1, keepdims=True)
        log_prob[...] = np.where(hopeless[:, np.newaxis, :], shares[:, :, np.newaxis],
                                 log_prob)
        row_max[hopeless] = -np.inf
        row_sum[hopeless] = 1.0
    log_prob /= row_sum[:, np.newaxis, :]
    log_norm = np.log(row_sum)
    log_norm += row_max
    return row_max, log_norm


def _sum_parts(parts: list[list]) -> list:
    """Add up the totals of row ranges (``None`` entries stay ``None``)."""
    if len(parts) == 1:
        return parts[0]
    return [None if first is None else sum(rest, first.copy())
            for first, *rest in zip(*parts)]


class BatchEM:
    """EM for many runs of one covariance structure at once (see the module docstring).

    Parameters
    ----------
    source : InMemorySource
        The rows; their initialisation sample is all of them.
    structure : CovarianceStructure
        One whose :attr:`~CovarianceStructure.batched_m_step` is true.
    settings : EMSettings
        ``tol``, ``reg_covar``, ``max_iter`` and ``accelerate`` of every run.

    Examples
    --------
    Two starts of two components and one of three, in one stack:

    >>> import numpy as np
    >>> from bayesmix.covariance import get_structure
    >>> from bayesmix.em.batch import BatchEM
    >>> from bayesmix.em.engine import EMSettings
    >>> from bayesmix.em.sources import InMemorySource
    >>> X = np.array([[0.0], [0.2], [0.1], [5.0], [5.2], [5.1], [9.0], [9.3]])
    >>> batch = BatchEM(InMemorySource(X), get_structure("diag"), EMSettings(tol=1e-8))
    >>> starts = [np.eye(2)[[0, 0, 0, 1, 1, 1, 1, 1]], np.eye(2)[[0, 1, 0, 1, 0, 1, 0, 1]],
    ...           np.eye(3)[[0, 0, 0, 1, 1, 1, 2, 2]]]
    >>> runs = batch.run(starts)
    >>> [run.converged for run in runs], runs[2].parameters.weights
    ([True, True, True], array([0.375, 0.375, 0.25 ]))
    """

    def __init__(self, source: InMemorySource, structure: CovarianceStructure,
                 settings: EMSettings) -> None:
        if not structure.batched_m_step:
            raise ValueError(
                f"covariance_type={structure.label!r} has no batched M step "
                f"(batched_m_step is False); fit it one model at a time with EMEngine."
            )
        self.source = source
        self.structure = structure
        self.settings = settings
        self._scatter = source.scatter if structure.needs_total_scatter else None

    # ------------------------------------------------------------------ passes
    def _second_moments(self, resp: np.ndarray, rows: RowProducts) -> np.ndarray | None:
        """The second moments the structure's M step asks for, (B, K, D, D) or (B, K, D)."""
        kind = self.structure.second_moments
        if kind == "matrix":
            n_features = rows.X.shape[1]
            return (resp @ rows.outer).reshape(*resp.shape[:2], n_features, n_features)
        return resp @ rows.squares if kind == "diagonal" else None

    def _block_totals(self, rows: slice, offsets: np.ndarray, means: np.ndarray,
                      factors: np.ndarray, real: np.ndarray, evaluate: bool) -> list:
        """Log-likelihood and sufficient statistics (and entropy) over ``X[rows]``."""
        source, n_runs, n_components = self.source, *means.shape[:2]
        totals = None
        for block_rows, block in centred_blocks(source.X, rows, n_runs * n_components,
                                                source.shift):
            products = RowProducts(block)
            log_prob = self.structure.batch_squared_mahalanobis(products, means, factors)
            log_prob *= -0.5
            log_prob += offsets[:, :, np.newaxis]
            row_max, log_norm = _normalise(log_prob, real)
            weights = None if source.sample_weight is None else source.sample_weight[
                block_rows]
            if weights is None:
                part = [log_norm.sum(axis=1)]
            else:
                part = [log_norm @ weights]
                log_prob *= weights
            if evaluate:
                log_norm -= row_max
                part.append(log_norm.sum(axis=1) if weights is None else log_norm @ weights)
            part += [log_prob.sum(axis=2), log_prob @ block,
                     self._second_moments(log_prob, products)]
            totals = part if totals is None else [
                None if total is None else total + value for total, value in zip(totals, part)]
        return totals

    def _e_step(self, threads: RowThreads, weights: np.ndarray, means: np.ndarray,
                factors: np.ndarray, real: np.ndarray, evaluate: bool = False) -> list:
        """One pass over the rows at each run's parameters, its totals summed over threads.

        Returns ``[log_likelihood, counts, sums, second_moments]`` (with the entropy
        second when ``evaluate``); the log-likelihood is ``sum_n w_n log p(x_n)``.
        """
        n_runs, n_features = weights.shape[0], means.shape[2]
        offsets = np.log(weights)
        offsets += self.structure.log_det_cholesky(factors, n_features).reshape(n_runs, -1)
        offsets -= 0.5 * n_features * _LOG_2PI
        return _sum_parts(threads.map(
            lambda rows: self._block_totals(rows, offsets, means, factors, real, evaluate),
            self.source.n_samples))

    # ------------------------------------------------------------------ M step
    def _factors(self, covariances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Precision factors of each run's covariances, and which runs' are not valid."""
        failed = np.zeros(covariances.shape[0], dtype=bool)
        try:
            return self.structure.precision_cholesky(covariances), failed
        except ValueError:  # rare: find the runs at fault, one by one
            factors = np.zeros_like(covariances)
            for row, run_covariances in enumerate(covariances):
                try:
                    factors[row] = self.structure.precision_cholesky(run_covariances)
                except ValueError:
                    failed[row] = True
            return factors, failed

    def _m_step(self, totals: list, real: np.ndarray, phantom: np.ndarray | None,
                layout: _Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Packed parameters, their factors and which runs failed, from E-step totals."""
        counts, sums, second_moments = totals[-3:]
        counts = counts + COUNT_FLOOR
        means = sums / counts[:, :, np.newaxis]
        if phantom is not None:
            second_moments += phantom
        covariances = self.structure.m_step(counts, means, second_moments, self._scatter,
                                            self.settings.reg_covar)
        weights = counts * real
        weights /= weights.sum(axis=1, keepdims=True)
        factors, failed = self._factors(covariances)
        return layout.pack(weights, means, covariances), factors, failed

    def _phantom(self, real: np.ndarray) -> np.ndarray | None:
        """Second moments of the padded components (zero for the real ones)."""
        kind = self.structure.second_moments
        if kind is None or real.all():
            return None
        covariance = self.source.data_covariance(full=kind == "matrix")
        padding = (~real).astype(float).reshape(*real.shape, *(1,) * covariance.ndim)
        return COUNT_FLOOR * covariance * padding

    def _jumps(self, cycle: np.ndarray, max_step: np.ndarray, real: np.ndarray,
               layout: _Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """SQUAREM's extrapolation for each run (``EMEngine._squarem_jump``, batched).

        Returns the jumps, their factors, which jumps are usable and the next longest
        steps.
        """
        start, first, second = cycle[:, 0], cycle[:, 1], cycle[:, 2]
        r = first - start
        v = second - 2.0 * first + start
        r_norm = np.sqrt(np.einsum("bp,bp->b", r, r))
        v_norm = np.sqrt(np.einsum("bp,bp->b", v, v))
        alpha = np.maximum(-r_norm / v_norm, -max_step)
        moving = v_norm > 0.0
        max_step = np.where(moving & (alpha == -max_step),
                            np.minimum(SQUAREM_STEP_GROWTH * max_step, MAX_SQUAREM_STEP),
                            max_step)
        usable = moving & (alpha < -1.0)
        jumps = start - (2.0 * alpha)[:, np.newaxis] * r + (alpha * alpha)[:, np.newaxis] * v
        weights, _, covariances = layout.unpack(jumps)
        usable &= ((weights > 0.0) | ~real).all(axis=1)
        weights /= weights.sum(axis=1, keepdims=True)
        factors = np.zeros_like(covariances)
        if usable.any():
            factors[usable], failed = self._factors(covariances[usable])
            usable[np.flatnonzero(usable)[failed]] = False
        return jumps, factors, usable, max_step

    # ------------------------------------------------------------------ runs
    def _layout(self, n_components: int) -> _Layout:
        n_features = self.source.n_features
        return _Layout(n_components, n_features,
                       tuple(self.structure.stored_shape(n_components, n_features)))

    def _block(self, n_components: int) -> tuple[slice, ...]:
        """Where the stored covariances of ``n_components`` sit in a padded run's."""
        return tuple(slice(0, size) for size in
                     self.structure.stored_shape(n_components, self.source.n_features))

    def _parameters(self, layout: _Layout, packed: np.ndarray, factors: np.ndarray,
                    n_components: int) -> MixtureParameters:
        """One run's parameters without its padded components (copies)."""
        weights, means, covariances = layout.unpack(packed[np.newaxis])
        block = self._block(n_components)
        return MixtureParameters(weights[0, :n_components].copy(),
                                 means[0, :n_components].copy(),
                                 covariances[0][block].copy(), factors[block].copy())

    def _failed_components(self, covariances: np.ndarray, n_components: int
                           ) -> tuple[int, ...]:
        """The components whose (failed) covariance is not positive definite."""
        if not np.isfinite(covariances).all():
            return tuple(range(n_components))
        structure = self.structure
        smallest = structure.smallest_variances(
            covariances, self.source.data_covariance(full=structure.estimates_correlations))[0]
        bad = ~(smallest > 0.0)
        if structure.shares_covariance() or not bad.any():
            return tuple(range(n_components))
        return tuple(int(k) for k in np.flatnonzero(bad))

    def _start(self, threads: RowThreads, starts: Sequence[np.ndarray], real: np.ndarray,
               layout: _Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The first M step of every run, from its responsibilities."""
        n_runs, n_components = real.shape
        resp = np.zeros((n_runs, n_components, self.source.n_samples))
        for row, start in enumerate(starts):
            resp[row, :start.shape[1]] = start.T

        def block_totals(rows: slice) -> list:
            totals = None
            for block_rows, block in centred_blocks(self.source.X, rows, n_runs * n_components,
                                                    self.source.shift):
                weighted = resp[:, :, block_rows]
                if self.source.sample_weight is not None:
                    weighted = weighted * self.source.sample_weight[block_rows]
                part = [weighted.sum(axis=2), weighted @ block,
                        self._second_moments(weighted, RowProducts(block))]
                totals = part if totals is None else [
                    None if total is None else total + value
                    for total, value in zip(totals, part)]
            return totals

        return self._m_step(_sum_parts(threads.map(block_totals, self.source.n_samples)),
                            real, self._phantom(real), layout)

    def run(self, starts: Sequence[np.ndarray], rivals: Sequence[Sequence[int]] = (),
            screen_tol: float = np.inf) -> list[EMRun | None]:
        """Run EM from every start at once; each run's end, in order.

        Parameters
        ----------
        starts : sequence of ndarray
            Each run's initial responsibilities, (n_samples, K) of the source's rows
            (not yet multiplied by the row weights); K may differ between runs.
        rivals : sequence of sequence of int, optional
            For each run, the runs it is screened against (empty: never screened; see
            the module docstring). By default no run is screened.
        screen_tol : float, default=inf
            The screen stage: where a run's change first falls below it.

        Returns
        -------
        list of EMRun or None
            ``None`` for a run screened out, or whose start already has a covariance
            that is not positive definite.
        """
        n_runs, max_iter = len(starts), self.settings.max_iter
        n_components = np.array([start.shape[1] for start in starts])
        layout = self._layout(int(n_components.max()))
        real = np.arange(layout.n_components) < n_components[:, np.newaxis]
        ends: list[dict | None] = [None] * n_runs
        screen_bounds = np.full(n_runs, np.nan)
        pending = {run: list(against) for run, against in enumerate(rivals) if against}
        history: list[np.ndarray] = []
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"), RowThreads(
                self.source.n_samples, n_runs * layout.n_components * (layout.n_features + 2)
        ) as threads:
            packed, factors, failed = self._start(threads, starts, real, layout)
            stack = _Stack(run=np.arange(n_runs), packed=packed, factors=factors,
                           previous=np.full(n_runs, -np.inf),
                           last_change=np.full(n_runs, np.inf), phase=np.full(n_runs, _FIRST),
                           max_step=np.ones(n_runs), cycle=np.zeros((n_runs, 3, packed.shape[1])),
                           second_factors=np.zeros_like(factors),
                           screening=np.ones(n_runs, dtype=bool), real=real,
                           phantom=self._phantom(real))
            screen_bounds[failed] = -np.inf  # a rival that never started screens nothing
            stack.keep(~failed)
            for n_iter in range(1, max_iter + 1):
                if stack.run.size == 0:
                    break
                step = self._step(threads, stack, layout)
                history.append(np.full(n_runs, np.nan))
                history[-1][stack.run[step.recorded]] = step.bounds[step.recorded]
                reached = stack.screening & step.recorded & (np.abs(step.change) < screen_tol)
                screen_bounds[stack.run[reached]] = step.bounds[reached]
                stack.screening &= ~reached
                done = step.converged | step.failed | (n_iter == max_iter)
                for row in np.flatnonzero(done):
                    run = int(stack.run[row])
                    ends[run] = self._end(stack, step, row, n_iter, int(n_components[run]),
                                          layout)
                    if np.isnan(screen_bounds[run]):
                        screen_bounds[run] = ends[run]["lower_bound"]
                dropped = self._screen(pending, screen_bounds) if pending and (
                    reached.any() or done.any()) else []
                for run in dropped:
                    ends[run] = None
                self._advance(stack, step, layout)
                stack.keep(~done & ~np.isin(stack.run, dropped))
            for row, run in enumerate(stack.run):  # max_iter=0: the starts themselves
                ends[run] = {"parameters": self._parameters(
                    layout, stack.packed[row], stack.factors[row], int(n_components[run])),
                    "lower_bound": -np.inf, "converged": False, "n_iter": 0,
                    "last_change": np.inf, "failed_components": ()}
        bounds = np.array(history).reshape(len(history), n_runs)
        return [None if end is None else EMRun(
                    history=bounds[:, run][~np.isnan(bounds[:, run])].tolist(), **end)
                for run, end in enumerate(ends)]

    def _step(self, threads: RowThreads, stack: _Stack, layout: _Layout) -> _Step:
        """One EM iteration of every run in the stack, and what it says of each run."""
        weights, means, _ = layout.unpack(stack.packed)
        totals = self._e_step(threads, weights, means, stack.factors, stack.real)
        bounds = totals[0] / self.source.total_weight
        following, factors, failed = self._m_step(totals, stack.real, stack.phantom, layout)
        change = bounds - stack.previous
        # An extrapolation evaluated below the iterate it started from is not an iterate.
        rejected = (stack.phase == _JUMP) & (bounds < stack.previous)
        recorded = ~rejected
        stack.last_change = np.where(recorded, change, stack.last_change)
        return _Step(bounds, change, following, factors, recorded,
                     recorded & (np.abs(change) < self.settings.tol), failed & recorded)

    def _end(self, stack: _Stack, step: _Step, row: int, n_iter: int, n_components: int,
             layout: _Layout) -> dict:
        """The end of the run in ``row`` after this iteration, as :class:`EMRun` fields."""
        failed = ()
        if step.failed[row]:  # stop at the parameters just evaluated, the last valid ones
            packed, factors, bound = stack.packed[row], stack.factors[row], step.bounds[row]
            covariances = layout.unpack(step.following[row:row + 1])[2][0]
            failed = self._failed_components(covariances[self._block(n_components)],
                                             n_components)
        elif step.recorded[row]:
            packed, factors, bound = step.following[row], step.factors[row], step.bounds[row]
        else:  # a rejected extrapolation: back to the iterate before it
            packed, factors, bound = (stack.cycle[row, 2], stack.second_factors[row],
                                      stack.previous[row])
        return {"parameters": self._parameters(layout, packed, factors, n_components),
                "lower_bound": float(bound), "converged": bool(step.converged[row]),
                "n_iter": n_iter, "last_change": float(stack.last_change[row]),
                "failed_components": failed}

    def _advance(self, stack: _Stack, step: _Step, layout: _Layout) -> None:
        """Each run's next parameters and place in its SQUAREM cycle."""
        following, factors, rejected = step.following, step.factors, ~step.recorded
        stack.previous = np.where(rejected, stack.previous, step.bounds)
        if not self.settings.accelerate:
            stack.packed, stack.factors = following, factors
            return
        first, second = stack.phase == _FIRST, stack.phase == _SECOND
        stack.cycle[first, 0] = stack.packed[first]
        stack.cycle[first, 1] = following[first]
        stack.cycle[second, 2] = following[second]
        stack.second_factors[second] = factors[second]
        phase = np.where(first, _SECOND, _FIRST)
        settled = np.flatnonzero(second & (np.abs(step.change) < SQUAREM_FROM))
        if settled.size:
            jumps, jump_factors, usable, stack.max_step[settled] = self._jumps(
                stack.cycle[settled], stack.max_step[settled], stack.real[settled], layout)
            jumping = settled[usable]
            following[jumping] = jumps[usable]
            factors[jumping] = jump_factors[usable]
            phase[jumping] = _JUMP
        following[rejected] = stack.cycle[rejected, 2]
        factors[rejected] = stack.second_factors[rejected]
        stack.packed, stack.factors, stack.phase = following, factors, phase

    @staticmethod
    def _screen(pending: dict[int, list[int]], screen_bounds: np.ndarray) -> list[int]:
        """Decide the screened runs whose stage and whose rivals' stage are known."""
        dropped = []
        for run, against in list(pending.items()):
            bounds = screen_bounds[[run, *against]]
            if np.isnan(bounds).any():
                continue
            del pending[run]
            if bounds[0] < bounds[1:].min():
                dropped.append(run)
        return dropped

    def evaluate(self, fits: Sequence[MixtureParameters]) -> BatchEvaluation:
        """One E step at each fit's parameters: counts, log-likelihood and entropy.

        Examples
        --------
        >>> import numpy as np
        >>> from bayesmix.covariance import get_structure
        >>> from bayesmix.em.batch import BatchEM
        >>> from bayesmix.em.engine import EMSettings
        >>> from bayesmix.em.sources import InMemorySource
        >>> X = np.array([[0.0], [0.2], [0.1], [5.0], [5.2], [5.1]])
        >>> batch = BatchEM(InMemorySource(X), get_structure("diag"), EMSettings())
        >>> run = batch.run([np.eye(2)[[0, 0, 0, 1, 1, 1]]])[0]
        >>> batch.evaluate([run.parameters]).counts[0].round(6)
        array([3., 3.])
        """
        n_components = np.array([fit.weights.shape[0] for fit in fits])
        layout = self._layout(int(n_components.max()))
        n_runs = len(fits)
        weights = np.zeros((n_runs, layout.n_components))
        means = np.zeros((n_runs, layout.n_components, layout.n_features))
        factors = np.zeros((n_runs, *layout.stored_shape))
        for row, fit in enumerate(fits):
            weights[row, :n_components[row]] = fit.weights
            means[row, :n_components[row]] = fit.means
            factors[row][tuple(slice(0, size) for size in fit.precisions_cholesky.shape)] = (
                fit.precisions_cholesky)
        real = np.arange(layout.n_components) < n_components[:, np.newaxis]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"), RowThreads(
                self.source.n_samples, n_runs * layout.n_components) as threads:
            log_likelihood, entropy, counts = self._e_step(threads, weights, means, factors,
                                                           real, evaluate=True)[:3]
        return BatchEvaluation([row[:k] for row, k in zip(counts, n_components)],
                               log_likelihood, entropy)
