"""``select_em``: the number of components and the structure by BIC or ICL, EM fits.

The data are validated and summarised once (one :class:`~bayesmix.em.sources.InMemorySource`
for the grid); every fit starts from mclust's hierarchical clustering, whose merge tree
serves every cell, and from k-means screened by a short EM run (EVE and VVE also from
the VEV, EEV, VEE and VVV fits of the grid, EVV from the VVV fit, a cell below a fit
its model can reach from that fit, and a cell from its fit with one component more,
merged, while these refits improve a cell); the fits are SQUAREM-accelerated. A
structure with a batched M step fits all its cells, from all their starts, as one
stacked computation (:mod:`bayesmix.em.batch`), and the criteria of its cells come from
one batched pass; another structure is fitted cell by cell. Its length (about 1,050
lines, a third of them docstrings, :func:`select_em`'s alone some 150) is that of one
function and the ways it fits a cell: batched, cell by cell, and refitted from other
cells' fits.
"""

from __future__ import annotations

import numbers
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from bayesmix._validation import (
    check_bool,
    check_distinct_values,
    check_grid,
    check_int,
    check_option,
    check_random_state,
)
from bayesmix.covariance import (
    COVARIANCE_TYPES,
    ConjugatePrior,
    get_structure,
    mclust_models,
    n_parameters,
    special_cases,
)
from bayesmix.covariance.base import NOT_POSITIVE_FIX
from bayesmix.covariance.prior import as_conjugate_prior, describe_prior
from bayesmix.density import responsibilities
from bayesmix.em import GaussianMixtureEM, StudentMixtureEM
from bayesmix.em.batch import BatchEM, BatchEvaluation, BatchStart
from bayesmix.em.engine import EMEngine, EMRun, EMSettings, MixtureParameters
from bayesmix.em.init import (
    DETERMINISTIC_INITS,
    INIT_METHODS,
    cache_hierarchical_partitions,
    initial_responsibilities,
)
from bayesmix.em.missing_source import MissingValuesSource, memory_source
from bayesmix.em.sources import InMemorySource
from bayesmix.exceptions import (
    ConvergenceWarning,
    DegenerateComponentWarning,
    NotPositiveDefiniteError,
)
from bayesmix.scoring import criteria_from_totals
from bayesmix.selection.regularisation import RELATIVE_REG_COVAR, default_reg_covar
from bayesmix.selection.results import TABLE_COLUMNS, EMSelection

__all__ = ["BATCH_ELEMENTS", "CRITERIA", "FAMILIES", "PRIOR_TOL", "RELATIVE_REG_COVAR",
           "SCREEN_TOL", "TIE_RTOL", "TOL", "select_em"]

CRITERIA = ("bic", "icl")
#: Fits whose criteria agree to this (relative) tie: with one component every structure
#: with a full covariance fits the same mixture, whose criteria differ only by rounding.
#: The first of them in the grid's order is chosen (in mclust's order of models, the
#: simplest), not whichever rounding favours.
TIE_RTOL = 1e-9
#: The component families :func:`select_em` fits, by name, and their EM estimators.
FAMILIES = {"gaussian": GaussianMixtureEM, "student_t": StudentMixtureEM}
#: :func:`select_em`'s default ``tol``.
TOL = 1e-6
#: :func:`select_em`'s default ``tol`` under a prior (see its docstring).
PRIOR_TOL = 1e-9
#: The tolerance to which :func:`select_em` runs its later start schemes before it
#: decides whether they are worth running to convergence.
SCREEN_TOL = 1e-3
#: The most start responsibilities (float64 values: runs x components x rows) that
#: :func:`select_em` fits in one batch; beyond, every cell is fitted on its own.
BATCH_ELEMENTS = 1 << 24


@contextmanager
def _quiet_fits() -> Iterator[None]:
    """Fits whose degenerate and convergence warnings go into the table instead."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateComponentWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _grid_seed(random_state: Any) -> int:
    """The integer seed every fit of the grid gets: ``random_state`` itself, or one
    drawn from its generator (NumPy's global one for ``None``).

    Every structure then starts from the same draws, as mclust shares its hierarchical
    start among its models, and each fit can be repeated from its parameters.

    Examples
    --------
    >>> import numpy as np
    >>> _grid_seed(7)
    7
    >>> _grid_seed(np.random.RandomState(0)) == np.random.RandomState(0).randint(2**31 - 1)
    True
    """
    if isinstance(random_state, numbers.Integral):
        return random_state
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _bound_at(em: GaussianMixtureEM, tol: float) -> float:
    """The lower bound of ``em``'s run when its change first fell below ``tol``."""
    history = em.lower_bound_history_
    below = np.flatnonzero(np.abs(np.diff(history)) < tol)
    return float(history[below[0] + 1] if below.size else history[-1])


def _fit_cell(source: InMemorySource, structure: str, n_components: int, starts: list[str],
              n_init: int, settings: dict[str, Any], estimator: type = GaussianMixtureEM
              ) -> GaussianMixtureEM | None:
    """Fit one grid point from every start scheme and keep the highest likelihood.

    The first scheme runs to ``tol``. Each later one is screened as in a "small EM"
    (Biernacki, Celeux and Govaert 2003): it runs to the looser :data:`SCREEN_TOL`
    first and goes on to ``tol`` (within ``max_iter`` iterations in all) only if it then
    stands at least as high as the best run did at the same stage; a screened run with
    no iterations left is dropped. A deterministic scheme (``"hc"``) runs once, the others
    ``n_init`` times; an exact tie goes to the earlier scheme, and a fit with a
    degenerate component is kept only if every other is degenerate too. The degenerate
    and convergence warnings go into the table. ``estimator`` is the family's EM class.
    A scheme whose covariances stop being positive definite gives no fit; ``None`` when
    no scheme gives one.
    """
    best = None
    with _quiet_fits():
        for scheme in starts:
            em = _cell_estimator(estimator, structure, n_components, scheme, n_init, settings)
            try:
                if best is None:
                    em.fit(source)
                elif not _fit_screened(em, source, best):
                    continue
            except NotPositiveDefiniteError:
                continue
            if best is None or _standing(em) > _standing(best):
                best = em
    return best


def _standing(em: GaussianMixtureEM) -> tuple[bool, float]:
    """How a cell ranks its fits: one without a degenerate component first, then by
    likelihood (a degenerate fit's likelihood is inflated by its collapse); an unfitted
    cell last."""
    return _usable(em), _bound(em)


def _fit_screened(em: GaussianMixtureEM, source: Any, rival: GaussianMixtureEM) -> bool:
    """Fit ``em`` screened against the fitted ``rival``; whether it was kept.

    It runs to :data:`SCREEN_TOL` first and goes on to its ``tol`` (within its
    ``max_iter`` iterations in all) only if it then stands at least as high as ``rival``
    did at the same stage; with no iterations left, it is dropped.
    """
    tol, max_iter = em.tol, em.max_iter
    screen_tol = max(SCREEN_TOL, tol)
    em.set_params(tol=screen_tol).fit(source)
    em.set_params(tol=tol)
    budget = max_iter - em.n_iter_
    if em.lower_bound_ < _bound_at(rival, screen_tol) or budget == 0:
        return False
    if screen_tol > tol:  # on to tol from where it stopped
        em.set_params(warm_start=True, max_iter=budget).fit(source)
        em.set_params(warm_start=False, max_iter=max_iter)
    return True


def _fit_cells(source: InMemorySource, structure: str, ks: list[int], starts: list[str],
               n_init: int, settings: dict[str, Any], estimator: type = GaussianMixtureEM
               ) -> list[tuple[GaussianMixtureEM, dict[str, float]]]:
    """Fit ``structure`` for every K of the grid, one cell at a time; each fit's criteria."""
    fits = []
    for k in ks:
        em = _fit_cell(source, structure, k, starts, n_init, settings, estimator)
        fits.append(_not_fitted(estimator, structure, k, starts, n_init, settings)
                    if em is None else (em, em.criteria(source.X)))
    return fits


def _fit_batched(source: InMemorySource, structures: list[str], ks: list[int],
                 starts: list[str], n_init: int, settings: dict[str, Any]
                 ) -> dict[str, list[tuple[GaussianMixtureEM, dict[str, float] | None]]]:
    """Fit every K of the grid for each of ``structures`` from every start, in one batch.

    The same starts and choice as :func:`_fit_cell`: every run of the first scheme goes
    to ``tol``; a run of a later scheme is screened at :data:`SCREEN_TOL` against the
    runs of the earlier schemes with the same structure and K (it goes on if it then
    stands at least as high as one of them; :class:`~bayesmix.em.batch.BatchEM`); each
    cell keeps its highest likelihood, a run whose covariance stopped being positive
    definite only if no other is left, and a scheme's best run with a degenerate
    component only if every other scheme's is degenerate too. The fits' criteria come
    from one batched pass at their parameters. Returns each structure's fits, in the
    order of ``ks``.
    """
    start_time = time.perf_counter()
    for structure in structures:  # the checks every fit would make, once
        GaussianMixtureEM(max(ks), covariance_type=structure, **settings).check_fit(source)
    # As GaussianMixtureEM(init_params=scheme, n_init=..., random_state=seed) draws
    # them: a cell's restarts of a scheme from one generator in turn. Every structure
    # has the same generators, hence the same starts: each (K, scheme, restart) is drawn
    # once and shared (k-means partitions are also kept in the source's cache).
    seed = settings["random_state"]
    cells = [(structure, k) for structure in structures for k in ks]
    runs = [(cell, position, restart) for cell in cells
            for position, scheme in enumerate(starts)
            for restart in range(1 if scheme in DETERMINISTIC_INITS else n_init)]
    of_cell: dict[tuple[str, int], list[int]] = {cell: [] for cell in cells}
    for index, (cell, _, _) in enumerate(runs):
        of_cell[cell].append(index)
    X, weights = source.initialisation_sample()
    batch_starts = []
    # Under one fit's thread limits (k-means' OpenMP threads among them).
    with source.session(max(get_structure(structure).row_width(max(ks), source.n_features)
                            for structure in structures)):
        if "hc" in starts:
            cache_hierarchical_partitions(X, ks, weights, source.cache)
        # (A generator costs about 0.1 ms to seed: none for the hierarchical start.)
        generators: dict[tuple[int, int], np.random.RandomState | None] = {}
        drawn: dict[tuple[int, int, int], np.ndarray] = {}
        for (structure, k), position, restart in runs:
            rivals = tuple(other for other in of_cell[structure, k]
                           if runs[other][1] < position)
            key = (k, position, restart)
            if key not in drawn:
                if (k, position) not in generators:
                    generators[k, position] = (None if starts[position] in DETERMINISTIC_INITS
                                               else check_random_state(seed))
                drawn[key] = initial_responsibilities(
                    X, k, starts[position], generators[k, position], weights,
                    cache=source.cache, stream=(seed, restart))
            batch_starts.append(BatchStart(get_structure(structure), drawn[key], rivals))
    batch = _batch(source, settings)
    ends = batch.run(batch_starts, max(SCREEN_TOL, settings["tol"]))
    candidates = {cell: _best_of_each_scheme([(runs[index], ends[index])
                                              for index in of_cell[cell]
                                              if ends[index] is not None])
                  for cell in cells}
    listed = [(run, end) for cell in cells for run, end in candidates[cell]]
    evaluation = batch.evaluate([(get_structure(structure), end.parameters)
                                 for ((structure, _), _, _), end in listed])
    fit_time = time.perf_counter() - start_time
    fits: dict[str, list[tuple[GaussianMixtureEM, dict[str, float] | None]]] = {
        structure: [] for structure in structures}
    first = 0  # the cell's first candidate in ``listed``
    with _quiet_fits():
        for structure, k in cells:
            # The best scheme's fit unless its estimator finds a degenerate component
            # and another scheme's has none; not fitted if no start gave one.
            kept = None
            for offset, ((_, position, _), end) in enumerate(candidates[structure, k]):
                em = _cell_estimator(GaussianMixtureEM, structure, k, starts[position],
                                     n_init, settings)
                fit = _handed(em, end, source, evaluation, first + offset, fit_time)
                if kept is None or not em.degenerate_components_:
                    kept = fit
                if not kept[0].degenerate_components_:
                    break
            first += len(candidates[structure, k])
            fits[structure].append(kept or _not_fitted(GaussianMixtureEM, structure, k, starts,
                                                       n_init, settings))
    return fits


def _cell_estimator(estimator: type, structure: str, n_components: int, scheme: str,
                    n_init: int, settings: dict[str, Any]) -> GaussianMixtureEM:
    """The estimator of a grid cell started by ``scheme`` (unfitted)."""
    return estimator(n_components, covariance_type=structure, init_params=scheme,
                     n_init=1 if scheme in DETERMINISTIC_INITS else n_init, **settings)


def _not_fitted(estimator: type, structure: str, n_components: int, starts: list[str],
                n_init: int, settings: dict[str, Any]
                ) -> tuple[GaussianMixtureEM, dict[str, Any]]:
    """A cell that no start could fit (every start's covariances were not positive
    definite): its unfitted estimator (of the first scheme), and missing criteria, as
    mclust reports ``NA``."""
    em = _cell_estimator(estimator, structure, n_components, starts[0], n_init, settings)
    return em, {"log_likelihood": np.nan, "n_parameters": pd.NA, "bic": np.nan,
                "icl": np.nan}


def _fitted(em: GaussianMixtureEM) -> bool:
    """Whether a cell's estimator was fitted (see :func:`_not_fitted`)."""
    return hasattr(em, "lower_bound_")


def _degenerate(em: GaussianMixtureEM) -> bool:
    """Whether a cell's fit has a degenerate component (an unfitted cell has none)."""
    return _fitted(em) and bool(em.degenerate_components_)


def _usable(em: GaussianMixtureEM) -> bool:
    """Whether a cell's fit can start others: fitted, without a degenerate component."""
    return _fitted(em) and not em.degenerate_components_


def _bound(em: GaussianMixtureEM) -> float:
    """A cell's lower bound, ``-inf`` where it was not fitted."""
    return em.lower_bound_ if _fitted(em) else -np.inf


def _best_of_each_scheme(candidates: list[tuple[tuple, EMRun]]
                         ) -> list[tuple[tuple, EMRun]]:
    """Each start scheme's best of a cell's runs ``((cell, scheme, restart), run)``, best
    scheme first.

    A scheme's best restart is the one its estimator keeps (a run whose covariance
    stopped being positive definite last, then the highest likelihood, an exact tie to
    the earlier restart); the schemes are in the same order.
    """
    ranked = sorted(candidates, reverse=True, key=lambda candidate: (
        not candidate[1].failed_components, candidate[1].lower_bound,
        -candidate[0][1], -candidate[0][2]))
    best_of_scheme: dict[int, tuple[tuple, EMRun]] = {}
    for candidate in ranked:
        best_of_scheme.setdefault(candidate[0][1], candidate)
    return list(best_of_scheme.values())


def _batch(source: InMemorySource, settings: dict[str, Any]) -> BatchEM:
    """The batch that fits cells with :func:`select_em`'s ``settings``."""
    return _kept_batch(source, EMSettings(
        tol=settings["tol"], reg_covar=settings["reg_covar"], max_iter=settings["max_iter"],
        accelerate=settings["acceleration"] == "squarem", stop_starved=True),
        settings["prior"])


def _kept_batch(source: InMemorySource, em_settings: EMSettings, prior: Any) -> BatchEM:
    """The :class:`~bayesmix.em.batch.BatchEM` of ``em_settings`` under ``prior`` (a
    ``prior`` setting of :func:`select_em`), made once per source and kept in its cache:
    what a batch makes once (the rows' products, each structure's and number of
    components' prior terms) then serves every batch of the grid, its refits' included.
    """
    key = ("select_em batch", em_settings, describe_prior(prior))
    if key not in source.cache:
        source.cache[key] = BatchEM(source, em_settings, as_conjugate_prior(prior))
    return source.cache[key]


def _hand_runs(batch: BatchEM, source: InMemorySource,
               fitted: list[tuple[GaussianMixtureEM, EMRun]], start_time: float
               ) -> list[tuple[GaussianMixtureEM, dict[str, float] | None]]:
    """Give each estimator its run of ``batch`` (:func:`_handed`); each with its criteria
    (``None`` for a degenerate fit: :func:`_criteria`).

    The criteria come from one batched pass at the runs' parameters; the fit time is
    the time since ``start_time``.
    """
    evaluation = batch.evaluate([(get_structure(em.covariance_type), run.parameters)
                                 for em, run in fitted])
    fit_time = time.perf_counter() - start_time
    with _quiet_fits():
        return [_handed(em, run, source, evaluation, i, fit_time)
                for i, (em, run) in enumerate(fitted)]


def _handed(em: GaussianMixtureEM, run: EMRun, source: InMemorySource,
            evaluation: BatchEvaluation, index: int, fit_time: float
            ) -> tuple[GaussianMixtureEM, dict[str, float] | None]:
    """``em`` given ``run`` (its ``index`` in ``evaluation``, the batched pass at the runs'
    parameters), which also diagnoses its degenerate components; with its criteria.

    A fit with a degenerate component has ``None`` for its criteria: they come from the
    estimator's own pass, and only for the fits the grid keeps (:func:`_criteria`).
    """
    em.set_fitted_run(run, source, evaluation.counts[index], fit_time,
                      evaluation.scatters[index])
    if em.degenerate_components_:
        return em, None
    return em, criteria_from_totals(
        evaluation.log_likelihood[index], evaluation.entropy[index],
        n_parameters(em.n_components, source.n_features, em.covariance_type),
        source.n_samples)


def _criteria(source: InMemorySource, em: GaussianMixtureEM,
              values: dict[str, float] | None) -> dict[str, float]:
    """A kept cell's criteria: ``values``, or where they are ``None`` (a fit with a
    degenerate component, :func:`_handed`) the estimator's own pass.

    That pass, not the batched one, so that the table agrees with what the estimator
    scores: a collapsed component's log density is ill-conditioned however it is
    computed (a precision of 1e36 on data of unit scale, where ``reg_covar`` is tiny,
    magnifies every rounding), and the batched pass and the estimator's round differently
    (on five points repeated ten times, EEV's and VEV's cells read +-1e21 from the
    batch's expansion before :mod:`~bayesmix.em.cancellation`, and differ by 1e5 from its
    direct pass still). Only the kept fits pay for it: on small data most of a 14-model
    grid's fits are degenerate, and a cell's other schemes' and refits' fits are often
    degenerate too (mammals: 69 kept, 127 made).
    """
    return em.criteria(source.X) if values is None else values


def _seed_parameters(structure: str, seed: GaussianMixtureEM) -> dict[str, np.ndarray]:
    """``seed``'s parameters as the initial values of a fit of ``structure``."""
    n_components, n_features = seed.means_.shape
    precisions = get_structure(seed.covariance_type).to_full(
        seed.precisions_, n_components, n_features)
    precisions = (precisions + np.swapaxes(precisions, -1, -2)) / 2.0
    return {"weights_init": seed.weights_ / seed.weights_.sum(), "means_init": seed.means_,
            "precisions_init": get_structure(structure).from_full(precisions)}


def _refit_from_other_fits(source: InMemorySource, ks: list[int],
                           by_cell: dict[tuple[str, str], list[tuple[GaussianMixtureEM, dict]]],
                           settings: dict[str, Any]) -> None:
    """Refit cells from other cells' fits until no start is left untried.

    From their seeds' fits (:func:`_seed_origins`), then, without a prior, from the
    fits their model can reach (:func:`_reachable_origins`), then from their fits with
    one component more, two of its components merged (:func:`_merge_origins`): each
    kind in rounds, each round one batch (:func:`_refit_cells`, which keeps each cell's
    best) of every start of that kind not tried yet (:func:`_untried_start`), until it
    names none; and again and again while any kind refits a cell: a fit that a refit
    improved can start better fits of the cells it seeds (under the prior, EEV and VEV
    seed each other), reaches or merges into. A start is the fit's parameters at its
    lower bound, each tried once per cell (``tried``, shared). The kinds in turn: with
    merges in the seeds' batches, which changed the starts the seeds saw, over 44 real
    data sets (seeds 0 and 1) 19 and 20 cells ended lower than without merges, against 7
    and 8 so.
    """
    tried: set[tuple] = set()
    gaussian = _gaussian_structures(by_cell)
    kinds = [(_seed_origins(gaussian, by_cell, settings), len(gaussian) * len(ks))]
    if settings["prior"] is None:  # each round lengthens the longest chain
        kinds.append((_reachable_origins(source, ks, gaussian, by_cell, settings),
                      len(gaussian) + len(ks)))
    kinds.append((_merge_origins(source, ks, gaussian, by_cell), len(ks)))
    for _ in range(len(ks) * len(gaussian)):  # each pass tries at least one new start
        refitted = False
        for origins, max_rounds in kinds:
            for _ in range(max_rounds):
                jobs = []  # (structure, position in the grid, initial parameters)
                merges = []  # (structure, position in the grid, fit to merge)
                for structure, i, fit, origin in origins():
                    if origin == "more":
                        if _untried(tried, (structure, i, origin, fit.lower_bound_)):
                            merges.append((structure, i, fit))
                        continue
                    start = _untried_start(source, structure, fit, origin, tried,
                                           (structure, i), settings)
                    if start is not None:
                        jobs.append((structure, i, start))
                jobs += _merge_starts(source, merges, by_cell, settings)
                if not jobs:
                    break
                _refit_cells(source, by_cell, jobs, settings)
                refitted = True
        if not refitted:
            return


#: What names the fits that start a cell: ``(structure, position in the grid, fit,
#: origin)`` (the fit's structure, ``"fewer"`` or ``"more"``), for the cells as they
#: stand when called.
Origins = Callable[[], Iterable[tuple[str, int, GaussianMixtureEM, str]]]


def _seed_origins(gaussian: dict[str, str],
                  by_cell: dict[tuple[str, str], list[tuple[GaussianMixtureEM, dict]]],
                  settings: dict[str, Any]) -> Origins:
    """Each Gaussian cell of a structure with ``seeded_by`` from its seeds' fits.

    The seeds are the structures named by the cell's structure
    (:attr:`~bayesmix.covariance.CovarianceStructure.seeded_by`, or ``prior_seeded_by``
    under a prior); each one's fit at the same number of components, where it is in the
    grid and not degenerate (and has more than one component: with one, every start
    agrees), starts a fit of the cell.
    """
    def origins() -> Iterator[tuple[str, int, GaussianMixtureEM, str]]:
        for structure in gaussian.values():
            seeded_by = (get_structure(structure).seeded_by if settings["prior"] is None
                         else get_structure(structure).prior_seeded_by)
            for seed in (seed for seed in seeded_by if seed in gaussian):
                for i, (seed_em, _) in enumerate(by_cell["gaussian", gaussian[seed]]):
                    if _usable(seed_em) and seed_em.n_components > 1:
                        yield structure, i, seed_em, gaussian[seed]

    return origins


def _reachable_origins(source: InMemorySource, ks: list[int], gaussian: dict[str, str],
                       by_cell: dict[tuple[str, str], list[tuple[GaussianMixtureEM, dict]]],
                       settings: dict[str, Any]) -> Origins:
    """Each Gaussian cell whose likelihood is below one its model can reach, from that fit.

    A structure admits every covariance of its special cases
    (:func:`~bayesmix.covariance.special_cases`: VVE those of EVE, VEE and the others),
    and a mixture of K components every mixture of K - 1 (one component split in two),
    so a cell can reach the likelihood of its special cases' fits at the same number of
    components and of its own fit with one component fewer. A cell whose fit (not
    degenerate) ends more than ``tol`` per unit weight below such a fit (not degenerate
    either) sits at a poorer optimum than it can reach. It is refitted from the special
    case's fit, or from the fit with one component fewer with one of its components
    split in two along its longest axis (:func:`_split_start`; the largest not yet split
    from that fit, on complete rows). Not under a prior, whose density differs from
    structure to structure and with K.
    """
    below = {gaussian[name]: [gaussian[special] for special in special_cases(name)
                              if special in gaussian] for name in gaussian}
    split = not isinstance(source, MissingValuesSource)

    def origins() -> Iterator[tuple[str, int, GaussianMixtureEM, str]]:
        for structure, specials in below.items():
            fits = by_cell["gaussian", structure]
            for i, (current, _) in enumerate(fits):
                if _degenerate(current):
                    continue
                bar = _bound(current) + settings["tol"]
                reachable = [(by_cell["gaussian", special][i][0], special)
                             for special in specials]
                if split and i and ks[i - 1] == ks[i] - 1:
                    reachable.append((fits[i - 1][0], "fewer"))
                for fit, origin in reachable:
                    if _usable(fit) and fit.lower_bound_ > bar:
                        yield structure, i, fit, origin

    return origins


def _merge_origins(source: InMemorySource, ks: list[int], gaussian: dict[str, str],
                   by_cell: dict[tuple[str, str], list[tuple[GaussianMixtureEM, dict]]]
                   ) -> Origins:
    """Each Gaussian cell from its fit with one component more, two of that fit's
    components merged (:func:`_merge_starts`).

    mclust's hierarchical start merges clusters down to each number of components; the
    grid's other starts build up (k-means, the splits of :func:`_reachable_origins`),
    and miss optima that a merge finds. On R's morley (two discrete columns), VII with 6
    components ended 4.3 below mclust 6.0's log-likelihood and EVV with 3 of
    LifeCycleSavings 0.2 below; from the fit with one component more, merged, they end
    3.1 and 21.7 above it. Neither the cell's fit nor the fit with one component more
    may be degenerate: a merge's fit would replace a degenerate one even where it ends
    lower (:func:`_refit_cells`), and over 44 real data sets such a replacement ended
    below mclust's log-likelihood (hills' EEV,3 by 18.9, where the degenerate fit stood
    at mclust's). Under a prior too. Not with missing values, whose responsibilities the
    merge would need on every row.
    """
    def origins() -> Iterator[tuple[str, int, GaussianMixtureEM, str]]:
        if isinstance(source, MissingValuesSource):
            return
        for structure in gaussian.values():
            fits = by_cell["gaussian", structure]
            for i in range(len(ks) - 1):
                current, more = fits[i][0], fits[i + 1][0]
                if (ks[i + 1] == ks[i] + 1 and _usable(more)
                        and not _degenerate(current)):
                    yield structure, i, more, "more"

    return origins


def _untried(tried: set[tuple], key: tuple) -> bool:
    """Whether ``key`` (a start of a cell) is not in ``tried``; it is, after."""
    if key in tried:
        return False
    tried.add(key)
    return True


def _untried_start(source: InMemorySource, structure: str, fit: GaussianMixtureEM,
                   origin: str, tried: set[tuple], cell: tuple[str, int],
                   settings: dict[str, Any]) -> dict[str, np.ndarray] | None:
    """A start from ``fit`` not tried yet for ``cell`` (recorded in ``tried``), or ``None``.

    A seed's or special case's fit (``origin`` its name) gives its own parameters
    (:func:`_seed_parameters`); the fit with one component fewer (``origin="fewer"``)
    its largest component not yet split that gives a start (:func:`_split_start`).
    """
    if origin != "fewer":
        return (_seed_parameters(structure, fit)
                if _untried(tried, (*cell, origin, fit.lower_bound_)) else None)
    resp = None  # the fit's responsibilities, computed for its first split tried
    for component in np.argsort(-fit.weights_, kind="stable"):
        if _untried(tried, (*cell, int(component), fit.lower_bound_)):
            if resp is None:
                resp = _fit_responsibilities(source, fit)
            start = _split_start(source, fit, resp, int(component), settings)
            if start is not None:
                return start
    return None


def _split_start(source: InMemorySource, em: GaussianMixtureEM, resp: np.ndarray,
                 component: int, settings: dict[str, Any]) -> dict[str, np.ndarray] | None:
    """Initial parameters of K + 1 components from a fit of K, ``component`` split in two.

    Its responsibilities (of ``resp``, the fit's on the source's rows) go to two
    components by the side of its mean each row lies on along its covariance's longest
    axis; the first M step from them gives the parameters. ``None`` when a side has no
    row or a covariance is not positive definite.
    """
    structure = get_structure(em.covariance_type)
    n_components, n_features = em.means_.shape
    covariance = structure.to_full(em.covariances_, n_components, n_features)[component]
    side = (source.X - em.means_[component]) @ np.linalg.eigh(covariance)[1][:, -1] > 0.0
    if side.all() or not side.any():
        return None
    split = np.column_stack([resp, np.where(side, resp[:, component], 0.0)])
    split[side, component] = 0.0
    engine = _start_engine(source, structure, n_components + 1, settings)
    try:
        return _initial_values(source, structure, engine.from_responsibilities(split))
    except NotPositiveDefiniteError:
        return None


def _merge_starts(source: InMemorySource, merges: list[tuple[str, int, GaussianMixtureEM]],
                  by_cell: dict[tuple[str, str], list[tuple[GaussianMixtureEM, dict]]],
                  settings: dict[str, Any]) -> list[tuple[str, int, dict[str, np.ndarray]]]:
    """The refits of cells from fits of one component more, ``(structure, position in the
    grid, fit)``, two of each fit's components merged, that start above the cell's fit.

    Of each fit, the two components whose responsibilities overlap most: the largest
    cosine ``r_a . r_b / (|r_a| |r_b|)`` (the merge criterion of Ueda et al., 2000, "SMEM
    algorithm for mixture models"), so that the merge costs the least likelihood. Their
    responsibilities are added; one batch runs an EM iteration from each merge's first M
    step, whose E step gives the start's lower bound, and a merge whose bound is above
    the cell's fit's starts a refit from the parameters that iteration reached. A start
    below the cell's fit can still climb past it, but over 11 real data sets (14 models)
    such starts were seven in ten of the merges (757 of 1081) and led to 101 of the 273
    cells a merge improved: every merge took the grids 40 to 55 % more time than none,
    the screened ones 15 to 26 %.
    """
    starts, cells = [], []
    fits = [fit for _, _, fit in merges]
    for (structure, i, fit), resp in zip(merges, _responsibilities(source, fits, settings)):
        weighted = (resp if source.sample_weight is None
                    else resp * source.sample_weight[:, np.newaxis])
        overlap = weighted.T @ resp
        norms = np.sqrt(np.diagonal(overlap))
        with np.errstate(divide="ignore", invalid="ignore"):
            cosine = overlap / np.outer(norms, norms)
        # Each pair once, a before b; a component without responsibility (NaN) in none.
        cosine = np.where(_pairs_once(len(cosine)) & ~np.isnan(cosine), cosine, -np.inf)
        first, second = np.unravel_index(np.argmax(cosine), cosine.shape)
        if cosine[first, second] > 0.0:
            merged = np.delete(resp, second, axis=1)
            merged[:, first] += resp[:, second]
            starts.append(BatchStart(get_structure(fit.covariance_type), merged))
            cells.append((structure, i))
    jobs = []
    for (structure, i), start, (bound, parameters) in zip(cells, starts,
                                                          _first_iterations(source, starts,
                                                                            settings)):
        if bound > _bound(by_cell["gaussian", structure][i][0]):
            jobs.append((structure, i, _initial_values(source, start.structure, parameters)))
    return jobs


@lru_cache(maxsize=16)
def _pairs_once(n_components: int) -> np.ndarray:
    """``(a, b)`` entries with ``a < b`` of an ``n_components`` square (read-only)."""
    mask = np.triu(np.ones((n_components, n_components), dtype=bool), 1)
    mask.flags.writeable = False
    return mask


def _first_iterations(source: InMemorySource, starts: list[BatchStart],
                      settings: dict[str, Any]) -> list[tuple[float, MixtureParameters | None]]:
    """Each start's lower bound (at its first M step's parameters) and the parameters one
    EM iteration reaches (``-inf`` and ``None`` where a covariance is not positive
    definite): in one batch, or one by one for structures without a batched M step."""
    if not starts:
        return []
    if _fits_one_batch(source, [start.structure for start in starts],
                       [start.n_components for start in starts]):
        batch = _kept_batch(source, EMSettings(reg_covar=settings["reg_covar"], max_iter=1),
                            settings["prior"])
        return [(-np.inf, None) if end is None or end.failed_components
                else (end.history[0], end.parameters) for end in batch.run(starts)]
    iterations = []
    for start in starts:
        engine = _start_engine(source, start.structure, start.n_components, settings)
        try:
            iterations.append(engine.step(engine.from_responsibilities(start.responsibilities)))
        except NotPositiveDefiniteError:
            iterations.append((-np.inf, None))
    return iterations


def _start_engine(source: InMemorySource, structure: Any, n_components: int,
                  settings: dict[str, Any]) -> EMEngine:
    """The one-fit engine that makes a refit's start (the first M step from
    responsibilities): the grid's ``reg_covar``, and its prior for that fit."""
    prior = as_conjugate_prior(settings["prior"])
    return EMEngine(source, structure, n_components, EMSettings(reg_covar=settings["reg_covar"]),
                    None if prior is None else prior.for_source(source, structure, n_components))


def _fit_responsibilities(source: InMemorySource, em: GaussianMixtureEM) -> np.ndarray:
    """``em``'s responsibilities on the source's rows."""
    return responsibilities(source.X, em.component_weights_, em.means_,
                            em.precisions_cholesky_, get_structure(em.covariance_type))


def _responsibilities(source: InMemorySource, fits: list[GaussianMixtureEM],
                      settings: dict[str, Any]) -> list[np.ndarray]:
    """Each fit's responsibilities on the source's rows: one batched E step where the
    fits fit in one batch (:func:`_fits_one_batch`; a call per fit took a third of the
    merges' screening), else fit by fit."""
    structures = [get_structure(fit.covariance_type) for fit in fits]
    if not fits or not _fits_one_batch(source, structures,
                                       [fit.n_components for fit in fits]):
        return [_fit_responsibilities(source, fit) for fit in fits]
    return _batch(source, settings).responsibilities([
        (structure, MixtureParameters(fit.component_weights_, fit.means_ - source.shift,
                                      fit.covariances_, fit.precisions_cholesky_))
        for structure, fit in zip(structures, fits)])


def _initial_values(source: InMemorySource, structure: Any, start: MixtureParameters
                    ) -> dict[str, np.ndarray]:
    """A refit's initial values (its estimator's ``*_init``) from the engine's ``start``."""
    return {"weights_init": start.weights, "means_init": start.means + source.shift,
            "precisions_init": structure.precisions_from_cholesky(start.precisions_cholesky)}


def _gaussian_structures(by_cell: dict[tuple[str, str], list]) -> dict[str, str]:
    """The Gaussian structures of the grid: mclust's name -> the grid's name for it."""
    return {get_structure(structure).name: structure
            for family, structure in by_cell if family == "gaussian"}


def _refit_cells(source: InMemorySource,
                 by_cell: dict[tuple[str, str], list[tuple[GaussianMixtureEM, dict]]],
                 jobs: list[tuple[str, int, dict[str, np.ndarray]]],
                 settings: dict[str, Any]) -> None:
    """Refit cells from initial parameters: ``(structure, position in the grid, start)``.

    ``start`` holds ``weights_init``, ``means_init`` and ``precisions_init``: the
    estimator of a refit has them, so that it refits to the same result (a start whose
    estimator would refuse them is dropped: :func:`_start_factors`). A refit is
    screened against the cell's fit (unless degenerate) and against the cell's earlier
    refits, as the grid's later start schemes are (:func:`_fit_screened`), and replaces
    the cell's fit if it ends higher (under a prior: the log posterior), or if the cell's
    fit is degenerate and the refit is not. The refits of structures with a batched M
    step, on complete rows, run as one batch (of at most :data:`BATCH_ELEMENTS` start
    responsibilities, as the grid's); the others one by one.
    """
    checked = [(job, _start_factors(job[0], job[2])) for job in jobs]
    accepted = [(job, factors) for job, factors in checked if factors is not None]
    if not accepted:
        return
    jobs = [job for job, _ in accepted]
    refits_of = [(structure, start, by_cell["gaussian", structure][i][0], (structure, i),
                  factors) for (structure, i, start), factors in accepted]
    batched = _fits_one_batch(source, [get_structure(structure) for structure, _, _ in jobs],
                              [len(start["weights_init"]) for _, _, start in jobs])
    refits = (_refits_batched if batched else _refits_one_by_one)(source, refits_of, settings)
    for (structure, i, _), refit in zip(jobs, refits):
        if refit is not None and _standing(refit[0]) > _standing(
                by_cell["gaussian", structure][i][0]):
            by_cell["gaussian", structure][i] = refit


def _start_factors(structure: str, start: dict[str, np.ndarray]) -> np.ndarray | None:
    """The precision Cholesky factors of ``start``'s ``precisions_init``, or ``None``
    where a refit's estimator would refuse them.

    Those of a split that leaves a component almost flat in a direction (on five points
    repeated ten times, VVE's fit with 2 components split to 3: precision eigenvalues
    of 5e4 and 0 to rounding) are not positive definite once multiplied out, and the
    estimator refuses them, as it would a user's.
    """
    try:
        return get_structure(structure).check_precisions(start["precisions_init"])
    except ValueError:
        return None


def _fits_one_batch(source: InMemorySource, structures: list[Any],
                    n_components: list[int]) -> bool:
    """Whether runs of ``structures`` with ``n_components`` fit in one batch: complete
    rows, batched M steps, and at most :data:`BATCH_ELEMENTS` start responsibilities."""
    return (not isinstance(source, MissingValuesSource)
            and all(structure.batched_m_step for structure in structures)
            and len(n_components) * max(n_components) * source.n_samples <= BATCH_ELEMENTS)


def _refit_estimator(structure: str, start: dict[str, np.ndarray],
                     settings: dict[str, Any]) -> GaussianMixtureEM:
    """The estimator of a refit of ``structure`` from initial parameters ``start``."""
    return GaussianMixtureEM(len(start["weights_init"]), covariance_type=structure,
                             **start, **settings)


def _refits_one_by_one(source: Any, jobs: list, settings: dict[str, Any]) -> list:
    """The refits one by one (screened against the cell's fit), each with its criteria."""
    refits = []
    with _quiet_fits():
        for structure, start, current, _, _ in jobs:
            em = _refit_estimator(structure, start, settings)
            try:
                if not _usable(current):
                    em.fit(source)
                elif not _fit_screened(em, source, current):
                    refits.append(None)
                    continue
            except NotPositiveDefiniteError:
                refits.append(None)
                continue
            refits.append((em, em.criteria(source.X)))
    return refits


def _refits_batched(source: InMemorySource, jobs: list, settings: dict[str, Any]) -> list:
    """The refits as one batch, each run from its initial values as the refit's
    estimator starts from them (so that it refits to the same result)."""
    start_time = time.perf_counter()
    screen_tol = max(SCREEN_TOL, settings["tol"])
    starts = []
    for index, (structure, start, current, cell, factors) in enumerate(jobs):
        model = get_structure(structure)
        starts.append(BatchStart(
            model, parameters=MixtureParameters.from_precision_factors(
                model, start["weights_init"], start["means_init"] - source.shift, factors),
            rivals=tuple(earlier for earlier in range(index) if jobs[earlier][3] == cell),
            screen_bound=_bound_at(current, screen_tol) if _usable(current) else None))
    batch = _batch(source, settings)
    ends = batch.run(starts, screen_tol)
    kept = [index for index, end in enumerate(ends)
            if end is not None and not end.failed_components]
    fitted = [(_refit_estimator(jobs[index][0], jobs[index][1], settings), ends[index])
              for index in kept]
    refits: list = [None] * len(jobs)
    for index, refit in zip(kept, _hand_runs(batch, source, fitted, start_time)):
        refits[index] = refit
    return refits


def _row(em: GaussianMixtureEM, values: dict[str, float]) -> dict[str, Any]:
    """The table row of a cell's estimator with its criteria (missing if not fitted)."""
    if not _fitted(em):
        return {"n_components": em.n_components, "covariance_type": em.covariance_type,
                "family": "student_t" if isinstance(em, StudentMixtureEM) else "gaussian",
                "noise": bool(em.noise), **values, "degenerate": False, "converged": False,
                "note": f"not fitted: from every start, a covariance was not positive "
                        f"definite. {NOT_POSITIVE_FIX}"}
    notes = [f"component {k} degenerate ({why}): not selectable"
             for k, why in em.degenerate_reasons_.items()]
    if not em.converged_ and not notes:  # a degenerate fit may have stopped early
        notes.append(f"did not converge in max_iter={em.max_iter}")
    return {
        "n_components": em.n_components,
        "covariance_type": em.covariance_type,
        "family": "student_t" if isinstance(em, StudentMixtureEM) else "gaussian",
        "noise": bool(em.noise),
        "log_likelihood": values["log_likelihood"],
        "n_parameters": values["n_parameters"],
        "bic": values["bic"],
        "icl": values["icl"],
        "degenerate": bool(em.degenerate_components_),
        "converged": bool(em.converged_),
        "note": "; ".join(notes),
    }


def _check_families(families: Any, prior: Any) -> list[str]:
    """``families`` of :func:`select_em`: one name of :data:`FAMILIES` or a non-empty list."""
    def check_name(name: Any) -> str:
        return check_option(name, "families", tuple(FAMILIES))

    names = [check_name(families)] if isinstance(families, str) else check_distinct_values(
        "families", families, "('gaussian', 'student_t')", check_name)
    if prior is not None and "student_t" in names:
        raise ValueError(
            "families includes 'student_t', but prior is set: the conjugate prior is "
            "Gaussian-only. Pass prior=None, or families=('gaussian',).")
    return names


def _check_starts(init_params: Any) -> list[str]:
    """``init_params`` of :func:`select_em`: one scheme or a non-empty list of them."""
    def check_scheme(scheme: Any) -> str:
        return check_option(scheme, "init_params", INIT_METHODS)

    return [check_scheme(init_params)] if isinstance(init_params, str) else (
        check_distinct_values("init_params", init_params, "('hc', 'kmeans')", check_scheme))


def select_em(
    X: Any,
    n_components: Iterable[int] = range(1, 10),
    covariance_types: Iterable[str] = COVARIANCE_TYPES,
    *,
    criterion: str = "bic",
    n_init: int = 1,
    tol: float | None = None,
    max_iter: int = 1000,
    reg_covar: float | None = None,
    init_params: str | Iterable[str] = ("hc", "kmeans"),
    random_state: Any = None,
    prior: str | ConjugatePrior | None = None,
    families: str | Iterable[str] = ("gaussian",),
    noise: bool = False,
) -> EMSelection:
    """Choose the number of components and the covariance structure by BIC or ICL.

    Fits a :class:`~bayesmix.GaussianMixtureEM` for every pair of ``n_components`` and
    ``covariance_types`` and chooses the fit with the lowest criterion (scikit-learn's
    sign: lower is better; mclust reports the same numbers with the opposite sign). Fits
    with a degenerate component are flagged in the table and never chosen.

    Every fit starts from each scheme of ``init_params`` and keeps the highest
    likelihood, a fit with a degenerate component only if every scheme's is (such a
    fit's likelihood is inflated by its collapse: mclust reports it as missing). The
    default starts are mclust's (its model-based hierarchical clustering, whose one
    merge tree serves every number of components and structure; its quantile classes
    for one feature) and k-means (one partition per number of components and seed,
    shared by the structures); a later scheme's run goes on past a short "small EM"
    only if it then stands as high as an earlier one. A structure whose likelihood has
    local optima that these starts often miss also starts from the fit of each
    structure it names in ``seeded_by`` at the same number of components, when the grid
    has them: EVE and VVE (their common orientation) from VEV's, EEV's, VEE's and VVV's,
    EVV from VVV's (Gaussian fits without ``noise``; under a prior, ``prior_seeded_by``:
    EEE and VEV from EEV's, EEV and VVV from VEV's); the chosen estimator then has that
    fit's parameters as ``weights_init``, ``means_init`` and ``precisions_init``, so
    that refitting it reaches the same fit.
    Without a prior, a cell whose likelihood ends below one its model can reach is
    refitted the same way: below a special case of its model at the same number of
    components (:func:`~bayesmix.covariance.special_cases`: EVE's fit is one of VVE's),
    from that fit; below its own fit with one component fewer, from that fit with a
    component split in two (on complete rows). On Old Faithful EVV,3 ended 0.83 below
    EVE,3; on thyroid EEV,7 133.7 below EEV,6. Both go on while they improve a
    cell, each fit starting a cell once: a fit improved by a refit seeds its cells again
    (under the prior on birthwt, EEV,7 reaches a mode 17.4 higher in BIC than mclust's
    from VEV's fit once EEV's own fit has improved that).
    A cell that no start can fit (from each, a covariance stops being positive definite:
    on R's state.x77, whose column scales span 1.4e5, EVE with 8 components from the
    hierarchical start) gets a row with missing criteria and a note, as mclust reports
    ``NA``, and its unfitted estimator; it is never chosen, and the refits above may
    still fit it.
    The data are validated and summarised once for the whole grid, and the iterations
    are accelerated by SQUAREM (``acceleration="squarem"``). A batched run stops where a
    component collapses or, without a prior, has held too few rows for its covariance at
    two checks running without gaining any (:class:`~bayesmix.em.engine.EMSettings`
    ``stop_starved``): such a fit can only be flagged, and with a shared volume it creeps
    on to ``max_iter``; a component that gains rows may be on its way to a fit that holds
    enough (birthwt's EVI,9). The fits of every
    structure with a batched M step run together, all numbers of components and starts
    as one stacked computation (:mod:`bayesmix.em.batch`: each run follows the one-fit
    engine's iterations, MAP-EM's under a prior, a few dozen NumPy calls per iteration
    for the whole grid); the others, fits with missing values or a noise component, and grids
    whose starts would hold more than :data:`BATCH_ELEMENTS` values, are fitted cell by
    cell.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        The data; column names of a DataFrame are kept by the fitted estimators.
    n_components : iterable of int, default=range(1, 10)
        Numbers of components to try.
    covariance_types : iterable of str or "mclust", default=("full", "tied", "diag", "spherical")
        Covariance structures to try (any names of :mod:`bayesmix.covariance`), or
        ``"mclust"`` for mclust's default list: its 14 models (``E`` and ``V`` for one
        feature; with a prior, the 10 it fits with one), drawn by :func:`plot_selection
        <bayesmix.plotting.plot_selection>` as mclust draws its BIC plot.
    criterion : {"bic", "icl"}, default="bic"
        ``"icl"`` adds twice the entropy of the classification to BIC, so it prefers
        well separated clusters over a better density fit. Of fits whose criteria tie
        (to :data:`TIE_RTOL`), the first in the grid's order is chosen.
    n_init : int, default=1
        Restarts of each random scheme of ``init_params`` per fit (the hierarchical
        start is deterministic and runs once); the best (highest likelihood) is kept.
    tol : float, optional
        Convergence threshold on the change of the mean log-likelihood per sample (the
        log posterior under a prior); by default :data:`TOL` (1e-6), :data:`PRIOR_TOL`
        (1e-9) under a prior. Much tighter than ``GaussianMixtureEM``'s default (1e-3):
        criteria compare total log-likelihoods, and slow EM runs otherwise stop short of
        the optimum, or at a saddle point they pass slowly. Under a prior the criteria
        take the log-likelihood at the posterior mode, and MAP-EM crosses long plateaus:
        1e-6 stopped two cells of Old Faithful 0.48 and 0.23 below mclust's (VVI,4 and
        VEV,5), 1e-7 one of quakes (EEI,7) 77 below mclust's mode in log posterior,
        where a change of 2e-8 per row lasts 150 iterations; 1e-9 costs 1 to 19 % more
        time on the prior's grids. Without one, 1e-6 reaches mclust's log-likelihood in
        every cell of eight real data sets, and 1e-7 takes up to 75 % more time (on Old
        Faithful, climbing past two saddles to 5.3 and 3.6 above mclust's).
    max_iter : int, default=1000
        EM iterations per initialisation (at least 1).
    reg_covar : float, optional
        Added to the diagonal of every covariance. By default :data:`RELATIVE_REG_COVAR`
        times the smallest variance of X's columns, so that the regularisation follows
        the data's units (an absolute 1e-6 lowers the likelihood of data whose columns
        vary by 1e-4 noticeably), or of X's variance in any direction, if smaller
        (nearly collinear columns); a column whose values form clusters far apart counts
        with at most 100 times its variance within them (each column cut at its widest
        gaps into ``max(n_components)`` groups), which the spread between the clusters
        would otherwise swamp (:func:`~bayesmix.selection.regularisation.default_reg_covar`).
        The value used is the estimators' ``reg_covar``.
    init_params : str or iterable of str, default=("hc", "kmeans")
        The start schemes of every fit, among ``"hc"``, ``"kmeans"``, ``"k-means++"``,
        ``"random"`` and ``"random_from_data"`` (see :mod:`bayesmix.em.init`).
    prior : {None, "default"} or ConjugatePrior, default=None
        Fit every cell by MAP-EM under mclust's conjugate prior (see
        :class:`~bayesmix.GaussianMixtureEM`); the criteria are then mclust's under a
        prior (the log-likelihood at the posterior mode), and the table gains a
        ``prior`` column that names it
        (:func:`~bayesmix.covariance.prior.describe_prior`).
    families : str or iterable of {"gaussian", "student_t"}, default=("gaussian",)
        The component families to try (:data:`FAMILIES`): ``"student_t"`` fits every
        cell with :class:`~bayesmix.StudentMixtureEM` too (degrees of freedom estimated,
        cell by cell, without SQUAREM). With more than the Gaussian, or with ``noise``,
        the table gains ``family`` and ``noise`` columns after ``covariance_type``.
    noise : bool, default=False
        Fit every cell with a uniform noise component (``noise=True`` of the estimators:
        mclust's ``Mclust(..., initialization = list(noise = ...))``), its initial noise
        rows from :func:`~bayesmix.families.noise.nearest_neighbour_noise`, computed
        once; fitted cell by cell, without SQUAREM.
    random_state : int, RandomState instance or None, default=None
        The seed of every fit: an integer itself, else one integer drawn from the
        generator (NumPy's global one for ``None``). Every structure starts from the
        same draws, and ``GaussianMixtureEM(**best_params_, init_params=...,
        random_state=...)`` with the same settings, the winning scheme and seed
        (``best_estimator_.init_params``, ``best_estimator_.random_state``) reproduces
        ``best_estimator_``.

    Returns
    -------
    EMSelection
        ``table_`` (one row per fit), ``best_estimator_``, ``best_params_``,
        ``estimators_`` (every fit, in the table's order).

    Raises
    ------
    ValueError
        For a bad argument, or when every fit is degenerate or not fitted (the message
        says what to try instead).

    Warns
    -----
    ConvergenceWarning
        If the chosen fit did not converge within ``max_iter``.

    See Also
    --------
    GaussianMixtureEM.bic, GaussianMixtureEM.icl : the criteria.

    Examples
    --------
    On Old Faithful, BIC chooses mclust's model: three components sharing one covariance.

    >>> import numpy as np
    >>> from bayesmix import load_old_faithful, select_em
    >>> selection = select_em(load_old_faithful(), n_components=range(1, 5), random_state=0)
    >>> selection.best_params_
    {'n_components': 3, 'covariance_type': 'tied'}
    >>> np.sort(selection.best_estimator_.weights_).round(2)
    array([0.17, 0.36, 0.48])
    """
    mclust_grid = isinstance(covariance_types, str) and covariance_types == "mclust"
    ks, structures = check_grid(n_components, ["VVV"] if mclust_grid else covariance_types)
    criterion = check_option(criterion, "criterion", CRITERIA)
    starts = _check_starts(init_params)
    n_init = check_int(n_init, "n_init", min_value=1)
    max_iter = check_int(max_iter, "max_iter", min_value=1)  # a grid of starts chooses nothing
    families = _check_families(families, prior)
    noise = check_bool(noise, "noise")
    # X is validated and summarised once; the estimators check the other settings.
    source = memory_source(X)  # a MissingValuesSource when X has NaN
    if mclust_grid:
        structures = mclust_models(source.n_features, prior=prior is not None)
    if reg_covar is None:
        reg_covar = default_reg_covar(source.X, max(ks), source.data_covariance(full=True))
    if tol is None:
        tol = TOL if prior is None else PRIOR_TOL
    settings = {"tol": tol, "max_iter": max_iter, "reg_covar": reg_covar,
                "random_state": _grid_seed(random_state), "acceleration": "squarem",
                "prior": prior}
    # The batch runs Gaussian EM (MAP-EM under a prior) on complete rows; with missing
    # values, or with a noise component, every cell is fitted on its own.
    batched = [structure for structure in structures
               if get_structure(structure).batched_m_step and not noise
               and "gaussian" in families and not isinstance(source, MissingValuesSource)]
    n_runs = len(batched) * len(ks) * sum(1 if scheme in DETERMINISTIC_INITS else n_init
                                          for scheme in starts)
    if n_runs * max(ks) * source.n_samples > BATCH_ELEMENTS:
        batched = []
    by_cell = {("gaussian", structure): cells for structure, cells in (
        _fit_batched(source, batched, ks, starts, n_init, settings) if batched else {}
    ).items()}
    for family in families:
        # SQUAREM is the Gaussian EM's without noise
        family_settings = settings if family == "gaussian" and not noise else {
            **settings, "acceleration": None, "noise": noise}
        by_cell.update({
            (family, structure): _fit_cells(source, structure, ks, starts, n_init,
                                            family_settings, FAMILIES[family])
            for structure in structures if (family, structure) not in by_cell})
    if not noise:
        _refit_from_other_fits(source, ks, by_cell, settings)
    fits = [(em, _criteria(source, em, values)) for em, values in (
        by_cell[family, structure][i] for family in families for i in range(len(ks))
        for structure in structures)]
    table = pd.DataFrame([_row(em, values) for em, values in fits],
                         columns=list(TABLE_COLUMNS))
    if table["n_parameters"].isna().any():  # a cell not fitted (pandas' integers with NA)
        table["n_parameters"] = table["n_parameters"].astype("Int64")
    if families == ["gaussian"] and not noise:
        table = table.drop(columns=["family", "noise"])
    if prior is not None:
        table["prior"] = describe_prior(prior)

    selectable = table.loc[~table["degenerate"], criterion].dropna()
    if selectable.empty:
        fault = ("has a degenerate component" if table[criterion].notna().all()
                 else "has a degenerate component or could not be fitted (covariances not "
                      "positive definite)")
        raise ValueError(
            f"Every fit of the grid n_components={ks}, covariance_types={structures} "
            f"{fault}, so none can be chosen. Try fewer components, the 'tied' structure, "
            f"a larger reg_covar (now {reg_covar:g}), standardised columns, or jitter "
            f"rounded values in X."
        )
    lowest = selectable.min()
    best = int(selectable.index[np.argmax(selectable <= lowest + TIE_RTOL * abs(lowest))])
    if not table.at[best, "converged"]:
        warnings.warn(
            f"The chosen fit ({table.at[best, 'n_components']} components, "
            f"{table.at[best, 'covariance_type']!r}) did not converge in max_iter={max_iter} "
            f"iterations; raise max_iter before trusting it.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return EMSelection(table, fits[best][0], best, criterion, [em for em, _ in fits])
