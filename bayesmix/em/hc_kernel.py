"""mclust's hierarchical clustering, compiled: the agglomerations of ``hcvvv``, ``hc1v``
and ``hceii`` / ``hc1e``.

:mod:`bayesmix.em.hc` transforms the data, checks the arguments and cuts the trees into
partitions; the merges are made here, one compiled loop per tree. In NumPy each merge
was some fifty small calls over the live groups, and the tree took a tenth of
:func:`~bayesmix.select_em`'s time on the four structures (16 ms of Old Faithful's 166,
now 2). The arithmetic is the Fortran's, in its order (sums as the reference BLAS
``ddot`` adds them, each ``"VVV"`` group's stored factor as ``hcvvv`` stores it), and so
are the ties: the next merge is the cheapest pair, among equal costs the last one the
Fortran meets when it scans its packed cost triangle column by column, and after a merge
the last group takes the slot of the group merged away (``wardsw``). The pair costs are a
symmetric matrix over the live slots, with each row's cheapest partner cached and
revised after each merge. ``"VVV"``'s determinants are by cofactors up to three
features, by Gaussian elimination with partial pivoting beyond.
"""

from __future__ import annotations

import math

import numpy as np

from bayesmix.covariance.inner_kernels import eliminate
from bayesmix.covariance.kernel_compiler import compiled

__all__ = ["agglomerate_v", "agglomerate_vvv", "agglomerate_ward"]

#: hcvvv's ``rthalf``, ``sqrt(1/2)`` as the Fortran writes it.
RTHALF = 0.7071067811865476


@compiled
def _argmin(values: np.ndarray, stop: int) -> int:
    """The first position of the smallest of ``values[:stop]`` (the first NaN, as NumPy)."""
    best = 0
    for position in range(stop):
        value = values[position]
        if value != value:  # NaN
            return position
        if value < values[best]:
            best = position
    return best


@compiled
def _abs_det(gram: np.ndarray) -> float:
    """``|det|`` of a square matrix: by cofactors up to 3 x 3, else by Gaussian
    elimination with partial pivoting (``gram`` is overwritten)."""
    p = gram.shape[0]
    if p == 1:
        return abs(gram[0, 0])
    if p == 2:
        return abs(gram[0, 0] * gram[1, 1] - gram[0, 1] * gram[1, 0])
    if p == 3:
        a, b, c = gram[0, 0], gram[0, 1], gram[0, 2]
        d, e, f = gram[1, 0], gram[1, 1], gram[1, 2]
        g, h, i = gram[2, 0], gram[2, 1], gram[2, 2]
        return abs(a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g))
    if eliminate(gram) == 0.0:
        return 0.0
    det = 1.0
    for k in range(p):
        det *= gram[k, k]
    return abs(det)


@compiled
def _pair_traces(Z: np.ndarray, weight: float, weigh_rows: bool) -> np.ndarray:
    """Trace of the scatter of each pair of rows, ``sum_c v_c**2`` in the Fortran's
    order: ``v = weight x_i - weight x_j`` if ``weigh_rows``, else ``(x_i - x_j) weight``."""
    n, p = Z.shape
    traces = np.zeros((n, n))
    for column in range(p):
        for a in range(n):
            for b in range(n):
                if weigh_rows:
                    difference = weight * Z[a, column] - weight * Z[b, column]
                else:
                    difference = (Z[a, column] - Z[b, column]) * weight
                traces[a, b] += difference * difference
    return traces


@compiled
def _row_minima(costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's cheapest partner and its cost, the diagonal set to ``inf`` first."""
    n = costs.shape[0]
    row_min = np.empty(n)
    row_argmin = np.empty(n, dtype=np.int64)
    for a in range(n):
        costs[a, a] = np.inf
    for a in range(n):
        row_argmin[a] = _argmin(costs[a], n)
        row_min[a] = costs[a, row_argmin[a]]
    return row_min, row_argmin


@compiled
def _cheapest(costs: np.ndarray, row_min: np.ndarray, row_argmin: np.ndarray,
              n_slots: int) -> tuple[int, int, float]:
    """Slots ``i < j`` of the next merge and its cost: the cheapest pair; among equal
    costs, the last the Fortran meets scanning its packed triangle column after column
    (the largest ``j``, then the largest ``i``)."""
    row = _argmin(row_min, n_slots)
    cost = row_min[row]
    n_ties = 0
    for slot in range(n_slots):
        if row_min[slot] == cost:
            n_ties += 1
    if n_ties == 2:  # one pair, seen from its two slots
        column = row_argmin[row]
        return min(row, column), max(row, column), cost
    best_key, i, j = -1, 0, 0
    for slot in range(n_slots):
        if row_min[slot] != cost:
            continue
        for column in range(n_slots):
            if costs[slot, column] == cost:
                first, second = min(slot, column), max(slot, column)
                key = second * n_slots + first
                if key > best_key:
                    best_key, i, j = key, first, second
    return i, j, cost


@compiled
def _merge_pairs(costs: np.ndarray, row_min: np.ndarray, row_argmin: np.ndarray,
                 n_slots: int, i: int, j: int, merged: np.ndarray) -> None:
    """Slot ``i`` takes the merged group, whose costs to the others are ``merged``
    (numbered as after the move), slot ``j`` the last group (``wardsw``); each row's
    cheapest partner is revised where it may have changed."""
    last = n_slots - 1
    lost = np.empty(last + 1, dtype=np.bool_)  # rows whose cheapest partner merged away
    for slot in range(last + 1):
        lost[slot] = row_argmin[slot] == j
    if j != last:
        for slot in range(last + 1):
            costs[j, slot] = costs[last, slot]
        for slot in range(last + 1):
            costs[slot, j] = costs[slot, last]
        row_min[j], row_argmin[j] = row_min[last], row_argmin[last]
        lost[j] = lost[last]
        for slot in range(last):
            if row_argmin[slot] == last:
                row_argmin[slot] = j
    merged[i] = np.inf
    for slot in range(last):
        costs[i, slot] = merged[slot]
        costs[slot, i] = merged[slot]
    for slot in range(last):
        grown = row_argmin[slot] == i and merged[slot] > row_min[slot]
        better = merged[slot] < row_min[slot]
        if better:
            row_min[slot], row_argmin[slot] = merged[slot], i
        if grown or (lost[slot] and not better) or slot == i:
            row_argmin[slot] = _argmin(costs[slot], last)
            row_min[slot] = costs[slot, row_argmin[slot]]


@compiled
def _record(merges: np.ndarray, labels: np.ndarray, step: int, i: int, j: int,
            n_slots: int) -> None:
    """The merge of slots ``i`` and ``j`` as ``(kept, merged_away)`` labels (the groups'
    first rows), the merged group keeping the smaller; the last slot's label moves to
    ``j``."""
    kept, away = (labels[i], labels[j]) if labels[i] < labels[j] else (labels[j], labels[i])
    merges[step, 0], merges[step, 1] = kept, away
    labels[i], labels[j] = kept, labels[n_slots - 1]


@compiled
def agglomerate_ward(Z: np.ndarray) -> np.ndarray:
    """The merges of ``hceii`` (``hc1e`` for one feature): Ward's sum-of-squares increase,
    updated by the Lance-Williams formula; labelled as :func:`agglomerate_vvv`'s.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.hc_kernel import agglomerate_ward
    >>> agglomerate_ward(np.array([[0.0], [0.1], [5.0], [5.3]]))
    array([[0, 1],
           [2, 3],
           [0, 2]])
    """
    n = Z.shape[0]
    costs = _pair_traces(Z, math.sqrt(1.0 / 2.0), True)
    row_min, row_argmin = _row_minima(costs)
    sizes = np.ones(n)
    labels = np.arange(n)
    merges = np.empty((max(n - 1, 0), 2), dtype=np.int64)
    merged = np.empty(n)
    n_slots = n
    for step in range(n - 1):
        i, j, cost = _cheapest(costs, row_min, row_argmin, n_slots)
        _record(merges, labels, step, i, j, n_slots)
        last = n_slots - 1
        size_i, size_j = sizes[i], sizes[j]
        sizes[j] = sizes[last]
        sizes[i] = size_i + size_j
        for slot in range(last):
            to_i = costs[i, last] if slot == j else costs[i, slot]
            to_j = costs[j, last] if slot == j else costs[j, slot]
            updated = (sizes[slot] + size_i) * to_i + (sizes[slot] + size_j) * to_j
            merged[slot] = (updated - sizes[slot] * cost) / (sizes[slot] + (size_i + size_j))
        _merge_pairs(costs, row_min, row_argmin, n_slots, i, j, merged)
        n_slots = last
    return merges


@compiled
def _trace_groups(Z: np.ndarray, alpha: float, weight: float, weigh_rows: bool
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The groups of one row each of the trace criteria (``hc1v``, ``hcvvv``): sizes,
    traces, costs ``log(alpha)`` and row sums (a column per slot), and the pair costs
    ``2 log((trace + alpha) / 2) - 2 log(alpha)`` (:func:`_pair_traces`' ``weight``)."""
    n = Z.shape[0]
    terms = np.full(n, math.log(alpha))
    costs = _pair_traces(Z, weight, weigh_rows)
    for a in range(n):
        for b in range(n):
            costs[a, b] = 2.0 * math.log((costs[a, b] + alpha) / 2.0) - (terms[0] + terms[0])
    return np.ones(n), np.zeros(n), terms, np.ascontiguousarray(Z.T).copy(), costs


@compiled
def _merge_difference(sums: np.ndarray, sizes: np.ndarray, i: int, j: int,
                      v: np.ndarray) -> tuple[float, float]:
    """The weights of the row sums of slots ``i`` and ``j`` in their merge (``sqrt(n_i /
    n)``, ``sqrt(n_j / n)``), and ``v`` (its scatter's update) in place."""
    share = 1.0 / (sizes[i] + sizes[j])
    weight_i = math.sqrt(sizes[i] * share)
    weight_j = math.sqrt(sizes[j] * share)
    for c in range(v.shape[0]):
        v[c] = weight_i * sums[c, j] - weight_j * sums[c, i]
    return weight_i, weight_j


@compiled
def _keep_merged(sizes: np.ndarray, traces: np.ndarray, terms: np.ndarray, sums: np.ndarray,
                 i: int, j: int, last: int, weight_i: float, weight_j: float, size: float,
                 trace: float, term: float) -> None:
    """Slot ``i`` takes the merged group (its row sum weighted), slot ``j`` the last."""
    for c in range(sums.shape[0]):
        sums[c, i] = weight_i * sums[c, i] + weight_j * sums[c, j]
    sizes[i], traces[i], terms[i] = size, trace, term
    sizes[j], traces[j], terms[j] = sizes[last], traces[last], terms[last]
    for c in range(sums.shape[0]):
        sums[c, j] = sums[c, last]


@compiled
def _pair_trace(sums: np.ndarray, sizes: np.ndarray, traces: np.ndarray, size: float,
                trace: float, i: int, slot: int, v: np.ndarray) -> tuple[float, float, float]:
    """The merged group in slot ``i`` (``size`` rows, ``trace``) with the group in
    ``slot``: its size, ``1 / size`` and trace, ``v`` (the scatter's update) in place."""
    pair_size = size + sizes[slot]
    share = 1.0 / pair_size
    for c in range(v.shape[0]):
        v[c] = math.sqrt(size * share) * sums[c, slot] - math.sqrt(sizes[slot] * share) * sums[c, i]
    return pair_size, share, (trace + traces[slot]) + _squares_in_order(v)


@compiled
def agglomerate_v(Z: np.ndarray, alpha: float) -> np.ndarray:
    """The merges of ``hc1v``: a group of ``n`` rows and scatter ``W`` costs
    ``n log((tr W + alpha) / n)``; labelled as :func:`agglomerate_vvv`'s.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.hc_kernel import agglomerate_v
    >>> agglomerate_v(np.array([[0.0], [0.1], [5.0], [5.3]]), 1e-3)
    array([[0, 1],
           [2, 3],
           [0, 2]])
    """
    n, p = Z.shape
    sizes, traces, terms, sums, costs = _trace_groups(Z, alpha, math.sqrt(1.0 * (1.0 / 2.0)),
                                                      True)
    row_min, row_argmin = _row_minima(costs)
    labels = np.arange(n)
    merges = np.empty((max(n - 1, 0), 2), dtype=np.int64)
    merged = np.empty(n)
    v = np.empty(p)
    n_slots = n
    for step in range(n - 1):
        i, j, cost = _cheapest(costs, row_min, row_argmin, n_slots)
        _record(merges, labels, step, i, j, n_slots)
        size = sizes[i] + sizes[j]
        weight_i, weight_j = _merge_difference(sums, sizes, i, j, v)
        trace = (traces[i] + traces[j]) + _squares_in_order(v)
        term = size * math.log((trace + alpha) / size)
        last = n_slots - 1
        _keep_merged(sizes, traces, terms, sums, i, j, last, weight_i, weight_j, size, trace,
                     term)
        for slot in range(last):
            pair_size, _, pair_trace = _pair_trace(sums, sizes, traces, size, trace, i, slot, v)
            merged[slot] = (pair_size * math.log((pair_trace + alpha) / pair_size)
                            - (term + terms[slot]))
        _merge_pairs(costs, row_min, row_argmin, n_slots, i, j, merged)
        n_slots = last
    return merges


@compiled
def _squares_in_order(v: np.ndarray) -> float:
    """``v[0]**2 + v[1]**2 + ...``, added in order as the reference BLAS ``ddot`` does."""
    total = v[0] * v[0]
    for c in range(1, v.shape[0]):
        total = total + v[c] * v[c]
    return total


@compiled
def agglomerate_vvv(Z: np.ndarray, alpha: float) -> np.ndarray:
    """The merges of ``hcvvv`` on ``Z`` (n, p), ``alpha`` its trace term.

    Each merge is ``(kept, merged_away)``, the groups labelled by their first rows and
    the merged group keeping the smaller label. Beyond ``p`` rows a group of ``n`` rows
    costs ``n log(det(W/n) + (tr W + alpha)/n)``, below ``n log((tr W + alpha)/n)``. The
    Fortran keeps a triangular factor of each group's scatter, updated by Givens
    rotations, but when it stores a merged group's factor it copies the factor's first
    row into every stored row: the stored factor has rows ``r[0, k:]``, ``k < min(n - 1,
    p)``. Costs between the group just merged and the others use its true factor and
    their stored ones. Here each group keeps the Gram matrix of its stored factor
    (``stored[:, :, slot]``), and the group just merged that of its true one
    (``formed``).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.em.hc_kernel import agglomerate_vvv
    >>> Z = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.0, 5.2]])
    >>> agglomerate_vvv(Z, 1.0)
    array([[0, 1],
           [2, 3],
           [0, 2]])
    """
    n, p = Z.shape
    sizes, traces, terms, sums, costs = _trace_groups(Z, alpha, RTHALF, False)
    stored = np.zeros((p, p, n))
    formed = np.zeros((p, p))
    last_merged = -1
    last_pair_terms = np.empty(n)
    row_min, row_argmin = _row_minima(costs)
    labels = np.arange(n)
    merges = np.empty((max(n - 1, 0), 2), dtype=np.int64)
    n_slots = n
    v = np.empty(p)
    merged = np.empty(n)
    gram = np.empty((p, p))
    for step in range(n - 1):
        i, j, cost = _cheapest(costs, row_min, row_argmin, n_slots)
        _record(merges, labels, step, i, j, n_slots)
        size = sizes[i] + sizes[j]
        if size == 2.0:  # two rows: v = (x_i - x_j) rthalf
            for c in range(p):
                v[c] = (sums[c, i] - sums[c, j]) * RTHALF
            weight_i = weight_j = RTHALF
        else:
            weight_i, weight_j = _merge_difference(sums, sizes, i, j, v)
        trace = (traces[i] + traces[j]) + _squares_in_order(v)
        if last_merged == i:  # as found in the last scan
            term = last_pair_terms[j]
        elif last_merged == j:
            term = last_pair_terms[i]
        elif last_merged < 0:  # the first merge, of two rows
            term = 2.0 * math.log((trace + alpha) / 2.0)
        else:
            term = cost + (terms[i] + terms[j])
        for a in range(p):  # the merged group's true Gram matrix
            for b in range(p):
                outer = v[a] * v[b]
                if last_merged == i:
                    formed[a, b] = (formed[a, b] + stored[a, b, j]) + outer
                elif last_merged == j:
                    formed[a, b] = (formed[a, b] + stored[a, b, i]) + outer
                else:
                    formed[a, b] = (stored[a, b, i] + stored[a, b, j]) + outer
        leading = formed[0, 0]  # r[0] r[0]' = first_row first_row' / first_row[0]
        if leading > 0:
            n_rows = int(min(size - 1.0, float(p)))
            for a in range(p):
                for b in range(p):
                    rows_above = float(min(min(a, b) + 1, n_rows))
                    stored[a, b, i] = (formed[0, a] * formed[0, b]) * (rows_above / leading)
        else:  # the rows coincide
            stored[:, :, i] = 0.0
        last_merged = i
        last = n_slots - 1
        _keep_merged(sizes, traces, terms, sums, i, j, last, weight_i, weight_j, size, trace,
                     term)
        for a in range(p):
            for b in range(p):
                stored[a, b, j] = stored[a, b, last]
        for slot in range(last):  # the merged group's costs to the others
            pair_size, share, pair_trace = _pair_trace(sums, sizes, traces, size, trace, i,
                                                       slot, v)
            det_term = 0.0
            if p <= 2 or pair_size > p:  # determinants only where needed
                for a in range(p):
                    for b in range(p):
                        gram[a, b] = (v[a] * v[b] + stored[a, b, slot]) + formed[a, b]
                if p == 1:
                    det_term = _abs_det(gram) * share
                elif p == 2:
                    det_term = _abs_det(gram) * (share * share)
                else:
                    det_term = _abs_det(gram) * share ** float(p)
            last_pair_terms[slot] = pair_size * math.log(
                det_term + (pair_trace + alpha) / pair_size)
            merged[slot] = last_pair_terms[slot] - (term + terms[slot])
        _merge_pairs(costs, row_min, row_argmin, n_slots, i, j, merged)
        n_slots = last
    return merges
