"""Batched EM (bayesmix.em.batch): the one-fit engine's runs, many at once."""

import numpy as np
import pytest

from bayesmix import GaussianMixtureEM, make_mixture
from bayesmix.covariance import STRUCTURES, get_structure
from bayesmix.covariance.prior import ConjugatePrior
from bayesmix.density import responsibilities, weighted_log_prob
from bayesmix.em.batch import BatchEM, BatchStart
from bayesmix.em.diagnostics import find_degenerate
from bayesmix.em.engine import COLLAPSE_CHECK_EVERY, EMEngine, EMSettings
from bayesmix.em.init import initial_responsibilities
from bayesmix.em.sources import InMemorySource, centred_blocks
from bayesmix.exceptions import DegenerateComponentWarning
from bayesmix.scoring import information_criteria

BATCHED = [structure.name for structure in STRUCTURES if structure.batched_m_step]
FIELDS = ("weights", "means", "covariances", "precisions_cholesky")


@pytest.fixture(scope="module")
def source():
    """Three overlapping 2-D clusters away from the origin (the rows are centred)."""
    return InMemorySource(make_mixture(240, n_components=3, n_features=2,
                                       random_state=1).X + 50.0)


def _starts(source, ks, scheme="kmeans"):
    return [initial_responsibilities(source.X, k, scheme, random_state=0, cache=source.cache)
            for k in ks]


def _alone(source, structure, resp, settings):
    engine = EMEngine(source, structure, resp.shape[1], settings)
    return engine.run(engine.from_responsibilities(resp))


def _assert_same_run(run, expected):
    """The same iterates (to rounding) and the same end.

    A run that crawls along a flat ridge (changes at ``tol`` for many iterations, as
    the inner iterations of a structure with nonlinear constraints can) may stop one
    iteration apart, as rounding decides its convergence test: then near the same
    optimum (the ridge is flat: its parameters agree to 1e-4).
    """
    assert run.converged == expected.converged
    assert abs(run.n_iter - expected.n_iter) <= 1
    n_common = min(len(run.history), len(expected.history))
    np.testing.assert_allclose(run.history[:n_common], expected.history[:n_common],
                               rtol=1e-12)
    if run.n_iter == expected.n_iter:
        _assert_same_parameters(run, expected, rtol=1e-9)
    else:
        _assert_same_optimum(run, expected, rtol=1e-4)


def _assert_same_optimum(run, expected, rtol=1e-4):
    """Both converged, to the same optimum: run to a tight tol, they agree to rtol.

    SQUAREM's jumps are accepted when they do not lower the bound, which rounding can
    decide either way for a jump that changes almost nothing; the iterates may then
    differ, not the optimum. Where the optimum is flat, the parameters at which the runs
    stop differ more than their bounds: EVI's with 4 components moves a weight by 1.1e-5
    (relative) for the same bound to 1e-10 when the densities' rounding changes.
    """
    assert run.converged and expected.converged
    assert run.lower_bound == pytest.approx(expected.lower_bound, rel=1e-10)
    _assert_same_parameters(run, expected, rtol)


def _assert_same_parameters(run, expected, rtol):
    for field in FIELDS:
        np.testing.assert_allclose(getattr(run.parameters, field),
                                   getattr(expected.parameters, field), rtol=rtol, atol=1e-8)


@pytest.mark.parametrize("name", BATCHED)
@pytest.mark.parametrize("accelerate", [False, True], ids=["plain", "squarem"])
def test_each_run_is_the_one_fit_engines_run(source, name, accelerate):
    """Every run of a batch (several K, two start schemes) goes where EMEngine goes from
    the same start: plain EM through the same iterates, SQUAREM to the same optimum."""
    structure = get_structure(name)
    settings = EMSettings(tol=1e-11, max_iter=2000, accelerate=accelerate)
    resps = _starts(source, [1, 2, 3, 4]) + _starts(source, [2, 3], "hc")
    runs = BatchEM(source, settings).run([BatchStart(structure, resp) for resp in resps])
    check = _assert_same_optimum if accelerate else _assert_same_run
    for resp, run in zip(resps, runs):
        check(run, _alone(source, structure, resp, settings))


@pytest.mark.parametrize("name", BATCHED)
@pytest.mark.parametrize("accelerate", [False, True], ids=["plain", "squarem"])
def test_a_run_from_parameters_is_the_one_fit_engines_run_from_them(source, name,
                                                                    accelerate):
    """Started from parameters (several K in one stack), a run evaluates them first and
    its first M step starts from their covariances, as EMEngine.run does: plain EM goes
    through the same iterates, SQUAREM to the same optimum."""
    structure = get_structure(name)
    settings = EMSettings(tol=1e-11, max_iter=2000, accelerate=accelerate)
    starts = [EMEngine(source, structure, resp.shape[1], settings).from_responsibilities(resp)
              for resp in _starts(source, [1, 2, 3, 4])]
    runs = BatchEM(source, settings).run(
        [BatchStart(structure, parameters=start) for start in starts])
    check = _assert_same_optimum if accelerate else _assert_same_run
    for start, run in zip(starts, runs):
        check(run, EMEngine(source, structure, len(start.weights), settings).run(start))


def test_a_batch_starts_from_responsibilities_or_from_parameters(source):
    structure = get_structure("full")
    resp, = _starts(source, [2])
    start = EMEngine(source, structure, 2, EMSettings()).from_responsibilities(resp)
    with pytest.raises(ValueError, match="responsibilities or parameters"):
        BatchStart(structure)
    with pytest.raises(ValueError, match="responsibilities or parameters"):
        BatchStart(structure, resp, parameters=start)
    with pytest.raises(ValueError, match="all responsibilities or all parameters"):
        BatchEM(source, EMSettings()).run([BatchStart(structure, resp),
                                           BatchStart(structure, parameters=start)])


@pytest.mark.parametrize("name", [name for name in BATCHED
                                  if get_structure(name).supports_prior])
@pytest.mark.parametrize("accelerate", [False, True], ids=["plain", "squarem"])
def test_each_run_under_the_prior_is_the_one_fit_engines_run(source, name, accelerate):
    """MAP-EM in a batch (runs of several K, each K with its own prior): the one-fit
    engine's iterates under the same prior, with SQUAREM its optimum (to 1e-9 in log
    posterior; on the flat ridges of the posterior that EVI's coupled M step crawls
    along, its parameters agree to 1e-3)."""
    structure = get_structure(name)
    settings = EMSettings(tol=1e-11, max_iter=2000, accelerate=accelerate)
    resps = _starts(source, [1, 2, 3, 4]) + _starts(source, [2, 3], "hc")
    runs = BatchEM(source, settings, ConjugatePrior()).run(
        [BatchStart(structure, resp) for resp in resps])
    for resp, run in zip(resps, runs):
        k = resp.shape[1]
        engine = EMEngine(source, structure, k, settings,
                          ConjugatePrior().for_source(source, structure, k))
        expected = engine.run(engine.from_responsibilities(resp))
        if not accelerate:
            _assert_same_run(run, expected)
            continue
        assert run.converged and expected.converged
        assert run.lower_bound == pytest.approx(expected.lower_bound, rel=1e-9)
        for field in FIELDS:
            np.testing.assert_allclose(getattr(run.parameters, field),
                                       getattr(expected.parameters, field),
                                       rtol=1e-3 if structure.nonlinear_constraints
                                       else 1e-5, atol=1e-7)


@pytest.mark.parametrize("name", [structure.name for structure in STRUCTURES
                                  if structure.batched_m_step and structure.shares_covariance()
                                  and structure.stored_shape(2, 2) != structure.stored_shape(
                                      3, 2)])
def test_squarem_steps_of_a_padded_run_are_the_engines(source, name):
    """SQUAREM's step lengths are norms over the real components' parameters, as the
    engine's over its own. EII and EEI store their shared covariance once per component,
    so a run's padded components hold the moving shared value too: counted in the norms,
    they steered the iterates off the engine's (EII with 4 components stacked with 6: 67
    iterations against the engine's 70). (Elsewhere the padded entries do not move, and
    rounding alone may decide a jump either way: the tests above compare optima.)"""
    structure = get_structure(name)
    settings = EMSettings(tol=1e-11, max_iter=2000, accelerate=True)
    resps = _starts(source, [4, 6])
    runs = BatchEM(source, settings).run([BatchStart(structure, resp) for resp in resps])
    for resp, run in zip(resps, runs):
        _assert_same_run(run, _alone(source, structure, resp, settings))


@pytest.mark.parametrize("accelerate", [False, True], ids=["plain", "squarem"])
def test_matrices_packed_as_triangles_give_the_same_runs(accelerate):
    """From eight features on, the batch packs symmetric covariances as upper
    triangles: the runs stay the one-fit engine's."""
    source = InMemorySource(make_mixture(200, n_components=2, n_features=8,
                                         random_state=5).X)
    settings = EMSettings(tol=1e-11, max_iter=2000, accelerate=accelerate)
    check = _assert_same_optimum if accelerate else _assert_same_run
    for name in BATCHED:
        structure = get_structure(name)
        resps = _starts(source, [1, 2, 3])
        runs = BatchEM(source, settings).run([BatchStart(structure, resp) for resp in resps])
        for resp, run in zip(resps, runs):
            check(run, _alone(source, structure, resp, settings))


@pytest.mark.parametrize("accelerate", [False, True], ids=["plain", "squarem"])
def test_padding_and_other_structures_change_nothing(source, accelerate):
    """A run alone, and in one stack with runs of more components and of every other
    structure: the same run (the same optimum with SQUAREM)."""
    settings = EMSettings(tol=1e-11, max_iter=2000, accelerate=accelerate)
    resp, larger = _starts(source, [2, 6])
    batch = BatchEM(source, settings)
    starts = [BatchStart(get_structure(name), start) for name in BATCHED
              for start in (resp, larger)]
    together = batch.run(starts)
    check = _assert_same_optimum if accelerate else _assert_same_run
    for start, run in zip(starts, together):
        check(run, batch.run([start])[0])


def test_the_rows_blocks_do_not_depend_on_the_stack(source, monkeypatch):
    """A run's sums over the rows are added up in the same blocks whether it is fitted
    alone or in a stack of 300 runs (which, with blocks sized by the stack, split the
    240 rows), so that its rounding does not depend on the runs fitted with it."""
    import bayesmix.em.batch as batch_module

    blocks_seen = []

    def recording(*args, **kwargs):
        blocks = list(centred_blocks(*args, **kwargs))
        blocks_seen.append([rows for rows, _ in blocks])
        return blocks

    monkeypatch.setattr(batch_module, "centred_blocks", recording)
    resp, = _starts(source, [9])
    settings = EMSettings(max_iter=2)
    BatchEM(source, settings).run([BatchStart(get_structure("full"), resp)])
    alone = blocks_seen[:]
    blocks_seen.clear()
    BatchEM(source, settings).run([BatchStart(get_structure("full"), resp)] * 300)
    assert alone and blocks_seen == alone


@pytest.mark.parametrize("accelerate", [False, True], ids=["plain", "squarem"])
def test_rows_in_several_blocks_give_the_one_fit_engines_runs(source, accelerate,
                                                              monkeypatch):
    """Rows beyond one block (here blocks of 100 of the 240 rows) are summed block by
    block: the runs stay the one-fit engine's."""
    import bayesmix.em.batch as batch_module

    monkeypatch.setattr(batch_module, "_BLOCK_ROWS", 100)
    settings = EMSettings(tol=1e-11, max_iter=2000, accelerate=accelerate)
    check = _assert_same_optimum if accelerate else _assert_same_run
    resps = _starts(source, [2, 3])
    for name in ("full", "VEV"):
        structure = get_structure(name)
        runs = BatchEM(source, settings).run([BatchStart(structure, resp) for resp in resps])
        for resp, run in zip(resps, runs):
            check(run, _alone(source, structure, resp, settings))


def test_structures_sharing_a_density_kernel_are_evaluated_by_one_call(source, monkeypatch):
    """VVV, VEV and EVV store full matrices alike, EEE one tied matrix: whatever the
    order of the starts, each E step factorises the covariances and weighs the rows with
    one call for the three (and one for EEE), and every run is the run it is alone."""
    from bayesmix.covariance.base import MatrixFamily
    from bayesmix.covariance.full import FullCovariance

    calls = {"factors": [], "coefficients": []}
    factorise = MatrixFamily.batch_precision_cholesky_or_none
    coefficients = FullCovariance.batch_log_density_coefficients

    def counted_factors(self, covariances):
        calls["factors"].append(covariances.shape[0])
        return factorise(self, covariances)

    def counted_coefficients(self, means, factors, constants):
        calls["coefficients"].append(means.shape[0])
        return coefficients(self, means, factors, constants)

    monkeypatch.setattr(MatrixFamily, "batch_precision_cholesky_or_none", counted_factors)
    monkeypatch.setattr(FullCovariance, "batch_log_density_coefficients", counted_coefficients)
    settings = EMSettings(tol=0.0, max_iter=5)
    resp, = _starts(source, [3])
    names = ["VVV", "EEE", "VEV", "EEE", "EVV"]
    starts = [BatchStart(get_structure(name), resp) for name in names]
    together = BatchEM(source, settings).run(starts)
    assert calls["coefficients"] == [3] * 5  # one call of the three full runs per E step
    # then each run's end factorises its own parameters (once, after the last E step)
    per_step = calls["factors"][:-len(starts)]
    assert sorted(set(per_step)) == [2, 3]  # EEE's two runs, the full three
    assert len(per_step) == 2 * 5
    for start, run in zip(starts, together):
        _assert_same_run(run, BatchEM(source, settings).run([start])[0])


def test_screening_drops_a_run_below_its_rivals_at_the_screen_stage(source):
    """A run screened against a better one is dropped at the screen stage; screened
    against a worse one it goes on, to where it goes alone."""
    structure, screen_tol = get_structure("full"), 1e-3
    settings = EMSettings(tol=1e-10, max_iter=2000, accelerate=True)
    good, = _starts(source, [3])
    bad = initial_responsibilities(source.X, 3, "random", random_state=3)

    def screen_bound(resp):
        history = _alone(source, structure, resp, settings).history
        return history[np.flatnonzero(np.abs(np.diff(history)) < screen_tol)[0] + 1]

    assert screen_bound(bad) < screen_bound(good)  # so that the test screens something
    runs = BatchEM(source, settings).run(
        [BatchStart(structure, good), BatchStart(structure, bad, rivals=(0,)),
         BatchStart(structure, good, rivals=(1,))], screen_tol=screen_tol)
    assert runs[1] is None
    _assert_same_optimum(runs[2], runs[0])


def test_a_screen_bound_is_a_rival_made_outside_the_batch(source):
    """A run screened against a bound above its own at the screen stage is dropped; one
    screened against a bound just below its own goes on, to where it goes alone."""
    structure, screen_tol = get_structure("full"), 1e-3
    settings = EMSettings(tol=1e-10, max_iter=2000, accelerate=True)
    start, = _starts(source, [3])
    history = _alone(source, structure, start, settings).history
    own = history[np.flatnonzero(np.abs(np.diff(history)) < screen_tol)[0] + 1]
    runs = BatchEM(source, settings).run(
        [BatchStart(structure, start, screen_bound=own + 1e-6),
         BatchStart(structure, start, screen_bound=own - 1e-6), BatchStart(structure, start)],
        screen_tol=screen_tol)
    assert runs[0] is None
    _assert_same_optimum(runs[1], runs[2])


def test_a_failing_run_stops_at_its_last_valid_parameters_and_spares_the_others():
    """A component that shrinks onto five nearly equal rows gets a negative variance
    once the (negative, here) reg_covar is added: EMEngine raises; the batch stops that
    run at its last valid parameters, names the component, and goes on with the others."""
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0.0, 1.0, 100), rng.normal(10.0, 1.0, 100),
                        20.0 + 0.01 * rng.normal(size=5)])[:, np.newaxis]
    source = InMemorySource(X)
    labels = np.repeat([0, 1, 2], [100, 100, 5])
    labels[100:103] = 2  # the third component starts wide, over three rows of the second
    failing, fine = np.eye(3)[labels], np.eye(2)[np.minimum(labels, 1)]
    diag = get_structure("diag")
    settings = EMSettings(tol=1e-8, reg_covar=-2e-4, max_iter=200)
    with pytest.raises(ValueError, match="not positive"):
        _alone(source, diag, failing, settings)
    batch = BatchEM(source, settings)
    stopped, other = batch.run([BatchStart(diag, failing), BatchStart(diag, fine)])
    assert stopped.failed_components == (2,)
    assert not stopped.converged and stopped.n_iter >= 1
    assert np.all(stopped.parameters.covariances > 0)
    assert stopped.lower_bound == stopped.history[-1]
    _assert_same_run(other, batch.run([BatchStart(diag, fine)])[0])

    counts = batch.evaluate([(diag, stopped.parameters)]).counts[0]
    with pytest.warns(DegenerateComponentWarning, match="stopped being positive definite"):
        em = GaussianMixtureEM(3, covariance_type="diag", max_iter=200).set_fitted_run(
            stopped, source, counts, fit_time=0.0)
    assert 2 in em.degenerate_components_
    assert "stopped being positive definite" in em.degenerate_reasons_[2]
    assert not em.converged_


@pytest.mark.parametrize("accelerate", [False, True])
@pytest.mark.parametrize("name", BATCHED)
def test_a_collapsed_run_stops_at_the_next_check_in_the_engine_and_the_batch(name, accelerate,
                                                                             capsys):
    """Four equal rows as one component: its variance sits at the reg_covar floor from
    the first M step. With tol=0 nothing converges, so a run stops only when it is
    checked for a collapse, at iteration COLLAPSE_CHECK_EVERY, in the engine and in the
    batch alike; a run of one component beside it goes on to max_iter."""
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(60, 2)), np.full((4, 2), 5.0)])
    source = InMemorySource(X)
    collapsing = np.eye(2)[np.repeat([0, 1], [60, 4])]
    healthy = np.ones((len(X), 1))  # one component over every row
    structure = get_structure(name)
    settings = EMSettings(tol=0.0, max_iter=3 * COLLAPSE_CHECK_EVERY, accelerate=accelerate)
    alone = _alone(source, structure, collapsing, settings)
    engine = EMEngine(source, structure, 2, settings)
    if not engine.collapsed(engine.from_responsibilities(collapsing)):
        pytest.skip(f"{name} pools the components' scatter: none collapses alone")
    assert alone.n_iter == COLLAPSE_CHECK_EVERY and not alone.converged
    stopped, other = BatchEM(source, settings).run(
        [BatchStart(structure, collapsing), BatchStart(structure, healthy)])
    # (the collapsed component's large densities leave more rounding than _assert_same_run's)
    assert stopped.n_iter == alone.n_iter and not stopped.converged
    np.testing.assert_allclose(stopped.history, alone.history, rtol=1e-9)
    np.testing.assert_allclose(stopped.parameters.means, alone.parameters.means, rtol=1e-9)
    assert other.n_iter == settings.max_iter
    assert not EMEngine(source, structure, 1, settings).collapsed(other.parameters)

    with pytest.warns(DegenerateComponentWarning, match="reg_covar floor") as caught:
        em = GaussianMixtureEM(2, covariance_type=name, tol=0.0, max_iter=settings.max_iter,
                               verbose=1,
                               means_init=[[0.0, 0.0], [5.0, 5.0]], weights_init=[0.9, 0.1],
                               precisions_init=get_structure(name).from_full(
                                   np.stack([np.eye(2), 1e6 * np.eye(2)]))).fit(X)
    assert em.n_iter_ == COLLAPSE_CHECK_EVERY and not em.converged_
    assert em.degenerate_components_ == [1]
    assert not any("did not converge" in str(warning.message) for warning in caught)
    assert "stopped, a component collapsed: 10 iterations" in capsys.readouterr().out


def _runs_with_and_without_the_stop(source, structure, start, **settings):
    """The engine's runs from ``start`` (tol=0, three collapse checks' iterations) without
    and with ``stop_starved``, by that flag; the batch's run is each one's."""
    runs = {}
    for stop in (False, True):
        run_settings = EMSettings(tol=0.0, max_iter=3 * COLLAPSE_CHECK_EVERY,
                                  stop_starved=stop, **settings)
        alone = _alone(source, structure, start, run_settings)
        batched, = BatchEM(source, run_settings).run([BatchStart(structure, start)])
        assert batched.n_iter == alone.n_iter
        np.testing.assert_allclose(batched.history, alone.history, rtol=1e-9)
        runs[stop] = alone
    return runs


@pytest.mark.parametrize("accelerate", [False, True])
def test_stop_starved_stops_a_run_starved_at_two_checks_without_gaining(accelerate):
    """A component of one far row under EVI: its volume is shared, so it does not
    collapse, and EM goes on to max_iter (tol=0). With ``stop_starved`` (select_em's
    batch) the run stops at the second collapse check, the component's count unchanged
    since the first, in the engine and the batch alike; under a prior, where such a
    component takes the prior's covariance, it goes on."""
    rng = np.random.default_rng(0)
    source = InMemorySource(np.concatenate([rng.normal(size=(60, 2)), [[6.0, 4.0]]]))
    start = np.eye(2)[np.repeat([0, 1], [60, 1])]
    structure = get_structure("EVI")
    runs = _runs_with_and_without_the_stop(source, structure, start, accelerate=accelerate)
    settings = EMSettings(tol=0.0, max_iter=3 * COLLAPSE_CHECK_EVERY, accelerate=accelerate,
                          stop_starved=True)
    prior = BatchEM(source, settings, ConjugatePrior()).run([BatchStart(structure, start)])[0]
    assert prior.n_iter == settings.max_iter
    assert runs[True].n_iter == 2 * COLLAPSE_CHECK_EVERY and not runs[True].converged
    assert runs[False].n_iter == 3 * COLLAPSE_CHECK_EVERY
    assert runs[True].parameters.weights * 61 == pytest.approx([60.0, 1.0], abs=1e-2)


def test_stop_starved_lets_a_starved_component_that_gains_points_recover(test_data):
    """From mclust's hierarchical start, a component of MASS's birthwt under EVI,9 holds
    1.14, 1.15 and 1.29 effective points (its variances need 2) at the collapse checks of
    iterations 40 to 60, then enough: EM converges to a fit with none starved, above
    mclust's (-2924.89, a point on the same path). A run stopped at the first check where
    a component is starved, as before, was flagged degenerate there (as was every fit of
    the cell)."""
    birthwt = test_data("birthwt").to_numpy(float)
    source = InMemorySource(birthwt)
    structure = get_structure("EVI")
    settings = EMSettings(tol=1e-6, max_iter=1000, accelerate=True, stop_starved=True)
    engine = EMEngine(source, structure, 9, settings)
    start = initial_responsibilities(source.X, 9, "hc", random_state=0, cache=source.cache)
    alone = engine.run(engine.from_responsibilities(start))
    batched, = BatchEM(source, settings).run([BatchStart(structure, start)])
    for run in (alone, batched):
        assert run.converged
        assert run.lower_bound * len(birthwt) == pytest.approx(-2922.578, abs=1e-3)
        assert (run.parameters.weights * len(birthwt)).min() > 4.0
    assert batched.n_iter == alone.n_iter


@pytest.mark.parametrize("accelerate", [False, True])
def test_stop_starved_stops_a_stretched_run_at_the_next_check(accelerate):
    """Six rows constant in one column under EVI: their component collapses in that
    direction, and its shared volume stretches it in the other instead of letting it
    reach the floor; EM goes on to max_iter (tol=0). With ``stop_starved`` (select_em's
    batch) the run stops at the first collapse check, in the engine and the batch alike,
    flagged degenerate."""
    rng = np.random.default_rng(0)
    source = InMemorySource(np.concatenate([rng.normal(size=(60, 2)),
                                            np.c_[np.full(6, 5.0), rng.normal(5.0, 2.0, 6)]]))
    start = np.eye(2)[np.repeat([0, 1], [60, 6])]
    structure = get_structure("EVI")
    runs = _runs_with_and_without_the_stop(source, structure, start, accelerate=accelerate,
                                           reg_covar=1e-10)
    assert runs[True].n_iter == COLLAPSE_CHECK_EVERY and not runs[True].converged
    assert runs[False].n_iter == 3 * COLLAPSE_CHECK_EVERY
    report = find_degenerate(structure, runs[True].parameters.covariances,
                             runs[True].parameters.weights * 66,
                             source.data_covariance(full=False), 1e-10, str)
    assert list(report.reasons) == [1] and "stretched" in report.reasons[1]


def test_a_start_that_is_not_positive_definite_gives_no_run(source):
    resp = np.zeros((source.n_samples, 2))
    resp[:, 0] = 1.0
    resp[0] = [0.0, 1.0]  # one row: a zero covariance without reg_covar
    runs = BatchEM(source, EMSettings(reg_covar=0.0)).run(
        [BatchStart(get_structure("full"), resp), *[BatchStart(get_structure("full"), start)
                                                    for start in _starts(source, [2])]])
    assert runs[0] is None and runs[1].converged


def test_evaluate_matches_the_density_kernels(source):
    settings = EMSettings(tol=1e-6, max_iter=200, accelerate=True)
    fits = [(get_structure(name), start) for name in BATCHED
            for start in _starts(source, [1, 3])]
    batch = BatchEM(source, settings)
    runs = batch.run([BatchStart(structure, start) for structure, start in fits])
    evaluation = batch.evaluate([(structure, run.parameters)
                                 for (structure, _), run in zip(fits, runs)])
    for i, ((structure, _), run) in enumerate(zip(fits, runs)):
        params = run.parameters
        arguments = (source.X, params.weights, params.means + source.shift,
                     params.precisions_cholesky, structure)
        values = information_criteria(weighted_log_prob(*arguments), 1)
        assert evaluation.log_likelihood[i] == pytest.approx(values["log_likelihood"],
                                                             rel=1e-12)
        assert evaluation.entropy[i] == pytest.approx(
            (values["icl"] - values["bic"]) / 2, rel=1e-9, abs=1e-9)
        np.testing.assert_allclose(evaluation.counts[i],
                                   responsibilities(*arguments).sum(axis=0), rtol=1e-10)


def test_no_iterations_returns_the_starts(source):
    resp, = _starts(source, [2])
    run, = BatchEM(source, EMSettings(max_iter=0)).run([BatchStart(get_structure("VVI"), resp)])
    start = EMEngine(source, get_structure("VVI"), 2, EMSettings()).from_responsibilities(resp)
    assert (run.n_iter, run.converged, run.lower_bound, run.history) == (0, False, -np.inf, [])
    np.testing.assert_allclose(run.parameters.means, start.means)


def test_a_structure_without_a_batched_m_step_is_refused(source, monkeypatch):
    structure = get_structure("tied")
    monkeypatch.setattr(structure, "batched_m_step", False)
    with pytest.raises(ValueError, match="has no batched M step"):
        BatchEM(source, EMSettings()).run([BatchStart(structure, *_starts(source, [2]))])


def test_weighted_rows_give_the_one_fit_engines_runs():
    data = make_mixture(150, n_components=2, n_features=2, random_state=4).X
    source = InMemorySource(data, sample_weight=np.random.default_rng(4).uniform(0.2, 3, 150))
    settings = EMSettings(tol=1e-10, max_iter=1000)
    starts = _starts(source, [2, 3])
    for name in BATCHED:
        structure = get_structure(name)
        batch = BatchEM(source, settings)
        runs = batch.run([BatchStart(structure, start) for start in starts])
        for start, run in zip(starts, runs):
            _assert_same_run(run, _alone(source, structure, start, settings))
        evaluation = batch.evaluate([(structure, run.parameters) for run in runs])
        for run, counts in zip(runs, evaluation.counts):
            params = run.parameters
            resp = responsibilities(source.X, params.weights, params.means + source.shift,
                                    params.precisions_cholesky, structure)
            np.testing.assert_allclose(counts, source.sample_weight @ resp, rtol=1e-10)
