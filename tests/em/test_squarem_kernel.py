"""The batch's compiled SQUAREM cycle against the cycle written out in NumPy."""

import numpy as np

from bayesmix.em.engine import (
    MAX_SQUAREM_STEP,
    SQUAREM_FIRST,
    SQUAREM_FROM,
    SQUAREM_JUMP,
    SQUAREM_SECOND,
    SQUAREM_STEP_GROWTH,
)
from bayesmix.em.squarem_kernel import advance_cycles


def _reference(evaluated, following, cycle, phase, change, rejected, max_step, real_columns,
               n_components):
    """Each run's next parameters, cycle, place and longest step, one run at a time."""
    following, cycle, phase, max_step = (following.copy(), cycle.copy(), phase.copy(),
                                         max_step.copy())
    for run, place in enumerate(phase.copy()):
        if place == SQUAREM_FIRST:
            cycle[0, run], cycle[1, run] = evaluated[run], following[run]
            phase[run] = SQUAREM_SECOND
            continue
        phase[run] = SQUAREM_FIRST
        if place == SQUAREM_JUMP:
            if rejected[run]:
                following[run] = cycle[2, run]
            continue
        cycle[2, run] = following[run]
        if change[run] >= SQUAREM_FROM:
            continue
        start, first, second = cycle[:, run]
        r, v = first - start, second - 2.0 * first + start
        r_norm = np.linalg.norm(r[real_columns[run]])
        v_norm = np.linalg.norm(v[real_columns[run]])
        if v_norm == 0.0:
            continue
        alpha = max(-r_norm / v_norm, -max_step[run])
        if alpha == -max_step[run]:
            max_step[run] = min(SQUAREM_STEP_GROWTH * max_step[run], MAX_SQUAREM_STEP)
        jump = start - 2.0 * alpha * r + alpha**2 * v
        weights = jump[:n_components]
        if alpha < -1.0 and (weights[real_columns[run, :n_components]] > 0.0).all():
            jump[:n_components] = weights / weights.sum()
            following[run], phase[run] = jump, SQUAREM_JUMP
    return following, cycle, phase, max_step


def test_the_cycle_is_the_one_written_out():
    """Runs in every place of the cycle: starting it, settled or not after the second
    step (jumps taken, too short, with a weight <= 0, growing the longest step), a jump
    rejected or kept; a padded component (weight 0) is left out of the norms."""
    rng = np.random.default_rng(0)
    n_runs, n_components, width = 12, 3, 9
    cycle = rng.normal(size=(3, n_runs, width))
    cycle[:, :, :n_components] = rng.uniform(0.2, 1.0, size=(3, n_runs, n_components))
    cycle[:, 0, 2] = 0.0  # run 0 has two components
    # steps shrinking along a line: long jumps, some at the longest step
    cycle[2, 4:8] = cycle[1, 4:8] + 0.1 * (cycle[1, 4:8] - cycle[0, 4:8])
    evaluated = rng.normal(size=(n_runs, width))
    following = cycle[2] + 0.01 * rng.normal(size=(n_runs, width))
    following[:, :n_components] = np.abs(following[:, :n_components])
    following[0, 2] = 0.0
    phase = np.array([SQUAREM_SECOND, SQUAREM_FIRST, SQUAREM_JUMP, SQUAREM_JUMP]
                     + [SQUAREM_SECOND] * 8)
    change = np.where(np.arange(n_runs) == 11, 1.0, 1e-6)  # run 11 not settled
    rejected = np.arange(n_runs) == 2
    max_step = np.where(np.arange(n_runs) % 2 == 0, 1.0, 64.0)
    real_columns = np.ones((n_runs, width), dtype=bool)
    real_columns[0, 2] = False
    following[4:10] = cycle[1, 4:10] + 0.5 * (cycle[1, 4:10] - cycle[0, 4:10])
    # run 9 along a line whose jump (twice its first step) makes its first weight < 0
    cycle[0, 9, 0], cycle[1, 9, 0], following[9, 0] = 0.9, 0.4, 0.15
    expected = _reference(evaluated, following, cycle, phase, change, rejected, max_step,
                          real_columns, n_components)
    jumped = advance_cycles(evaluated, following, cycle, phase, change, rejected, max_step,
                            real_columns, n_components, SQUAREM_FROM, SQUAREM_STEP_GROWTH,
                            MAX_SQUAREM_STEP)
    np.testing.assert_allclose(following, expected[0], rtol=1e-12)
    np.testing.assert_array_equal(cycle, expected[1])
    np.testing.assert_array_equal(phase, expected[2])
    np.testing.assert_array_equal(max_step, expected[3])
    np.testing.assert_array_equal(jumped, phase == SQUAREM_JUMP)
    # every kind of run met: jumps taken and not, longest steps grown, a rejection undone
    assert jumped[[5, 7]].all() and not jumped[[4, 9]].any()
    assert (max_step > np.where(np.arange(n_runs) % 2 == 0, 1.0, 64.0)).any()
    np.testing.assert_array_equal(following[2], cycle[2, 2])
