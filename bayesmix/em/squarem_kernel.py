"""The batch's SQUAREM cycle, compiled with Numba.

:mod:`bayesmix.em.batch` accelerates every run as
:class:`~bayesmix.em.engine.EMEngine` does (Varadhan and Roland's SQUAREM): two EM steps
from the cycle's start, then an extrapolated jump, which the next E step evaluates. In
NumPy, placing each run in its cycle and computing the jumps of those whose second step
settled took about two dozen calls per iteration whatever the stack, as much time as a
whole E step and M step of one run on small data; compiled, one loop per run does it.
The jumps are the NumPy arithmetic's to rounding (the step lengths' norms are summed in
another order), not bit for bit. Compiled as
:func:`~bayesmix.covariance.kernel_compiler.compiled` says.
"""

from __future__ import annotations

import numpy as np

from bayesmix.covariance.kernel_compiler import compiled
from bayesmix.em.engine import SQUAREM_FIRST, SQUAREM_JUMP, SQUAREM_SECOND

__all__ = ["advance_cycles"]


@compiled
def advance_cycles(evaluated: np.ndarray, following: np.ndarray, cycle: np.ndarray,
                   phase: np.ndarray, change: np.ndarray, rejected: np.ndarray,
                   max_step: np.ndarray, real_columns: np.ndarray, n_components: int,
                   settled_below: float, step_growth: float, longest_step: float
                   ) -> np.ndarray:
    """Each run's next place in its cycle, and its next parameters (in place).

    A run whose E step evaluated its cycle's first EM step (``phase``
    :data:`~bayesmix.em.engine.SQUAREM_FIRST`) starts the cycle there: ``cycle[0]``
    becomes the parameters evaluated, ``cycle[1]`` the M step's (``following``). After
    the second EM step ``cycle[2]`` becomes the M step's, and if its change of the bound
    is below ``settled_below`` the run jumps: with ``r = cycle[1] - cycle[0]`` and ``v =
    cycle[2] - 2 cycle[1] + cycle[0]``, its next parameters are ``cycle[0] - 2 a r +
    a**2 v``, ``a = -|r| / |v|`` (norms over its ``real_columns``) no shorter than
    ``-max_step``, the weights (the first ``n_components`` columns) normalised; a jump is
    taken only where ``a < -1`` and the real components' weights are positive. A step of
    ``-max_step`` lets the next one grow ``step_growth`` times, to at most
    ``longest_step``. A rejected jump (its bound below its start's) returns to the
    cycle's second EM step.

    Parameters
    ----------
    evaluated, following : ndarray of shape (B, P)
        The parameters the E step evaluated, and the M step's; ``following`` becomes
        each run's next parameters.
    cycle : ndarray of shape (3, B, P)
        The cycle's start and its two EM steps, updated.
    phase : ndarray of shape (B,)
        Int64, each run's place, updated.
    change : ndarray of shape (B,)
        The absolute change of each run's bound at this iteration.
    rejected : ndarray of shape (B,) or (0,)
        Bool, the runs whose jump was rejected (none: empty).
    max_step : ndarray of shape (B,)
        Each run's longest step, updated.
    real_columns : ndarray of shape (B, P)
        Bool, which parameters are its real components'.

    Returns
    -------
    ndarray of shape (B,)
        Bool, the runs whose next parameters are a jump.

    Examples
    --------
    A run at the end of its second EM step jumps along the line of its steps:

    >>> import numpy as np
    >>> from bayesmix.em.engine import SQUAREM_SECOND
    >>> from bayesmix.em.squarem_kernel import advance_cycles
    >>> cycle = np.array([[[0.5, 0.5, 0.0]], [[0.5, 0.5, 1.0]], [[0.5, 0.5, 1.5]]])
    >>> following = np.array([[0.5, 0.5, 1.75]])
    >>> jumped = advance_cycles(cycle[1], following, cycle, np.array([SQUAREM_SECOND]),
    ...                         np.array([1e-6]), np.zeros(0, dtype=bool), np.ones(1),
    ...                         np.ones((1, 3), dtype=bool), 2, 1e-3, 4.0, 64.0)
    >>> jumped, following  # a = -1 (the longest step): not taken; the next may be 4
    (array([False]), array([[0.5 , 0.5 , 1.75]]))
    """
    n_runs, width = following.shape
    jumped = np.zeros(n_runs, dtype=np.bool_)
    any_rejected = rejected.shape[0] > 0
    for run in range(n_runs):
        place = phase[run]
        if place == SQUAREM_FIRST:
            cycle[0, run] = evaluated[run]
            cycle[1, run] = following[run]
            phase[run] = SQUAREM_SECOND
            continue
        phase[run] = SQUAREM_FIRST
        if place == SQUAREM_JUMP:
            if any_rejected and rejected[run]:
                following[run] = cycle[2, run]
            continue
        cycle[2, run] = following[run]
        if not change[run] < settled_below:
            continue
        start, first, second = cycle[0, run], cycle[1, run], cycle[2, run]
        r_norm = 0.0
        v_norm = 0.0
        for column in range(width):
            if real_columns[run, column]:
                r = first[column] - start[column]
                v = second[column] - 2.0 * first[column] + start[column]
                r_norm += r * r
                v_norm += v * v
        if not v_norm > 0.0:
            continue
        alpha = max(-np.sqrt(r_norm) / np.sqrt(v_norm), -max_step[run])
        if alpha == -max_step[run]:
            max_step[run] = min(step_growth * max_step[run], longest_step)
        if not alpha < -1.0:
            continue
        usable = True
        total = 0.0
        for column in range(n_components):
            weight = start[column] - 2.0 * alpha * (first[column] - start[column]) + (
                alpha * alpha * (second[column] - 2.0 * first[column] + start[column]))
            if real_columns[run, column] and not weight > 0.0:
                usable = False
            total += weight
        if not usable:
            continue
        for column in range(width):
            r = first[column] - start[column]
            v = second[column] - 2.0 * first[column] + start[column]
            following[run, column] = start[column] - 2.0 * alpha * r + alpha * alpha * v
        for column in range(n_components):
            following[run, column] /= total
        phase[run] = SQUAREM_JUMP
        jumped[run] = True
    return jumped
