"""EM with missing values (NaN): the E step on observed coordinates, against a plain
reference; prediction, scoring and imputation on rows with NaN; the input they refuse."""

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from bayesmix import GaussianMixtureEM, make_mixture
from bayesmix._parallel import RowThreads, available_cores
from bayesmix.covariance import get_structure, structure_names
from bayesmix.em.engine import COUNT_FLOOR, EMEngine, EMSettings, MixtureParameters
from bayesmix.em import missing_source
from bayesmix.em.missing_source import MissingValuesSource, memory_source
from bayesmix.em.sources import InMemorySource
from bayesmix.exceptions import ConvergenceWarning
from bayesmix.pattern_inverses import group_inverses
from bayesmix.patterns import MissingPatterns
from bayesmix.prefix_tree import INVERSE_CHUNK_ELEMENTS

N_COMPONENTS = 3
#: Every registered structure, and mclust's names of two of them.
NAMES = structure_names() + ["VVV", "EEE"]


def with_holes(X, fraction, seed=0):
    """``X`` with a ``fraction`` of its values missing at random, no row left empty."""
    rng = np.random.default_rng(seed)
    holes = rng.random(X.shape) < fraction
    holes[holes.all(axis=1), 0] = False
    return np.where(holes, np.nan, X)


@pytest.fixture(scope="module")
def incomplete():
    X = make_mixture(90, N_COMPONENTS, 3, "full", random_state=0).X
    return with_holes(X, 0.3)


def random_start(structure, n_features, seed=0):
    rng = np.random.RandomState(seed)
    covariances = structure.random_covariances(rng, N_COMPONENTS, n_features, 0.5, 2.0)
    weights = rng.dirichlet(np.ones(N_COMPONENTS) * 5)
    means = rng.normal(size=(N_COMPONENTS, n_features))
    return MixtureParameters(weights, means, covariances,
                             structure.precision_cholesky(covariances))


def reference_step(X, sample_weight, structure, params, reg_covar):
    """One EM iteration with missing values, row by row (Ghahramani and Jordan 1994).

    The E step scores each row on its observed coordinates; the statistics add, per row
    and component, the conditional mean of the missing coordinates and their
    conditional covariance; the structure's M step reads them (the pooled structures
    the completed total scatter).
    """
    n_samples, n_features = X.shape
    full = structure.to_full(params.covariances, N_COMPONENTS, n_features)
    log_joint = np.empty((n_samples, N_COMPONENTS))
    completed = np.empty((n_samples, N_COMPONENTS, n_features))
    extra = np.zeros((n_samples, N_COMPONENTS, n_features, n_features))
    for n, row in enumerate(X):
        seen, unseen = ~np.isnan(row), np.isnan(row)
        for k in range(N_COMPONENTS):
            mean, cov = params.means[k], full[k]
            log_joint[n, k] = np.log(params.weights[k]) + multivariate_normal(
                mean[seen], cov[np.ix_(seen, seen)]).logpdf(row[seen])
            gain = cov[np.ix_(unseen, seen)] @ np.linalg.inv(cov[np.ix_(seen, seen)])
            completed[n, k] = row
            completed[n, k, unseen] = mean[unseen] + gain @ (row[seen] - mean[seen])
            extra[n, k][np.ix_(unseen, unseen)] = (cov[np.ix_(unseen, unseen)]
                                                    - gain @ cov[np.ix_(seen, unseen)])
    log_norm = logsumexp(log_joint, axis=1)
    resp = np.exp(log_joint - log_norm[:, None]) * sample_weight[:, None]
    counts = resp.sum(axis=0) + COUNT_FLOOR
    means = np.einsum("nk,nkd->kd", resp, completed) / counts[:, None]
    second = np.einsum("nk,nkd,nke->kde", resp, completed, completed) + np.einsum(
        "nk,nkde->kde", resp, extra)
    kind = structure.second_moments
    moments = {"matrix": second, "diagonal": np.einsum("kdd->kd", second), None: None}[kind]
    scatter = second.sum(axis=0) if kind is None else None
    covariances = structure.m_step(counts, means, moments, scatter, reg_covar,
                                   params.covariances)  # started where EM starts it
    bound = (sample_weight @ log_norm) / sample_weight.sum()
    return bound, MixtureParameters(counts / counts.sum(), means, covariances, None)


@pytest.mark.parametrize("weighted", [False, True], ids=["unit", "weighted"])
@pytest.mark.parametrize("name", NAMES)
def test_iterates_equal_the_reference(incomplete, name, weighted):
    structure = get_structure(name)
    sample_weight = (np.random.default_rng(1).uniform(0.2, 3.0, len(incomplete))
                     if weighted else None)
    source = MissingValuesSource(incomplete, sample_weight)
    engine = EMEngine(source, structure, N_COMPONENTS, EMSettings(reg_covar=1e-4))
    params = random_start(structure, incomplete.shape[1])
    centred = incomplete - source.shift
    weights = np.ones(len(incomplete)) if sample_weight is None else sample_weight
    for _ in range(3):
        bound, following = engine.step(params)
        expected_bound, expected = reference_step(centred, weights, structure, params, 1e-4)
        assert bound == pytest.approx(expected_bound, rel=1e-10)
        np.testing.assert_allclose(following.weights, expected.weights, rtol=1e-10)
        np.testing.assert_allclose(following.means, expected.means, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(following.covariances, expected.covariances, rtol=1e-10,
                                   atol=1e-12)
        params = following


def test_integer_weights_equal_repeated_rows(incomplete):
    """``sample_weight=w`` counts a row ``w`` times, with its missing values."""
    repeats = np.random.default_rng(2).integers(1, 4, len(incomplete))
    structure = get_structure("full")
    start = random_start(structure, incomplete.shape[1])
    weighted = EMEngine(MissingValuesSource(incomplete, repeats), structure, N_COMPONENTS,
                        EMSettings())
    repeated = EMEngine(MissingValuesSource(np.repeat(incomplete, repeats, axis=0)),
                        structure, N_COMPONENTS, EMSettings())
    bound, params = weighted.step(start)
    expected_bound, expected = repeated.step(start)
    assert bound == pytest.approx(expected_bound, rel=1e-12)
    np.testing.assert_allclose(params.covariances, expected.covariances, rtol=1e-10)


@pytest.mark.parametrize("name", ["full", "tied", "diag", "spherical", "EEI", "VEV"])
def test_observed_data_log_likelihood_against_scipy(incomplete, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        em = GaussianMixtureEM(N_COMPONENTS, covariance_type=name, max_iter=5,
                               random_state=0).fit(incomplete)
    full = get_structure(name).to_full(em.covariances_, *em.means_.shape)
    expected = []
    for row in incomplete:
        seen = ~np.isnan(row)
        expected.append(logsumexp([np.log(w) + multivariate_normal(
            mean[seen], cov[np.ix_(seen, seen)]).logpdf(row[seen])
            for w, mean, cov in zip(em.weights_, em.means_, full)]))
    expected = np.array(expected)
    np.testing.assert_allclose(em.score_samples(incomplete), expected, rtol=1e-10)
    assert em.score(incomplete) == pytest.approx(expected.mean(), rel=1e-10)
    n_parameters = em._n_parameters()
    assert em.bic(incomplete) == pytest.approx(
        -2 * expected.sum() + n_parameters * np.log(len(incomplete)), rel=1e-10)
    proba = em.predict_proba(incomplete)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(em.predict(incomplete), proba.argmax(axis=1))
    assert em.icl(incomplete) >= em.bic(incomplete)


def test_fit_lower_bound_is_the_observed_data_likelihood(incomplete):
    em = GaussianMixtureEM(N_COMPONENTS, tol=1e-10, max_iter=500, random_state=0).fit(
        incomplete)
    assert em.converged_
    assert np.all(np.diff(em.lower_bound_history_) >= -1e-12)
    assert em.lower_bound_ == pytest.approx(em.score(incomplete), abs=1e-8)


def test_pandas_na_and_masked_entries_are_missing_values(incomplete):
    """Nullable columns' pd.NA and a masked array's masked entries are what NaN is: the
    same fit, not a refusal (pd.NA) nor the masked entries' filler read as data."""
    import pandas as pd

    holes = np.isnan(incomplete)
    nullable = pd.DataFrame(incomplete).astype("Float64")
    masked = np.ma.masked_array(np.where(holes, 1e6, incomplete), mask=holes)
    assert nullable.isna().to_numpy().any() and not np.isnan(masked.data).any()
    reference = GaussianMixtureEM(N_COMPONENTS, random_state=0).fit(incomplete)
    for X in (nullable, masked):
        em = GaussianMixtureEM(N_COMPONENTS, random_state=0).fit(X)
        np.testing.assert_allclose(em.means_, reference.means_, rtol=1e-12)
        np.testing.assert_allclose(em.score_samples(X), reference.score_samples(incomplete),
                                   rtol=1e-12)


def test_complete_data_take_the_unchanged_path():
    X = make_mixture(80, 2, 3, "full", random_state=1).X
    assert type(memory_source(X)) is InMemorySource
    fitted = GaussianMixtureEM(2, random_state=0).fit(X)
    reference = GaussianMixtureEM(2, random_state=0).fit(InMemorySource(X))
    for name in ("weights_", "means_", "covariances_", "lower_bound_history_"):
        np.testing.assert_array_equal(getattr(fitted, name), getattr(reference, name))
    # The missing-value kernel agrees on complete rows (up to rounding).
    structure = get_structure("full")
    start = random_start(structure, 3)
    plain = EMEngine(InMemorySource(X), structure, N_COMPONENTS, EMSettings()).step(start)
    general = EMEngine(MissingValuesSource(X), structure, N_COMPONENTS, EMSettings()
                       ).step(start)
    assert general[0] == pytest.approx(plain[0], rel=1e-12)
    np.testing.assert_allclose(general[1].covariances, plain[1].covariances, rtol=1e-10)


def test_float32_rows_give_float32_parameters(incomplete):
    em = GaussianMixtureEM(2, random_state=0).fit(incomplete.astype(np.float32))
    assert em.means_.dtype == np.float32
    assert em.score_samples(incomplete.astype(np.float32)).dtype == np.float32
    assert np.isfinite(em.means_).all()


def test_pandas_missing_values_and_names(incomplete):
    import pandas as pd

    frame = pd.DataFrame(incomplete, columns=["a", "b", "c"])
    frame.iloc[0, 1] = None
    em = GaussianMixtureEM(2, random_state=0).fit(frame)
    assert list(em.feature_names_in_) == ["a", "b", "c"]
    assert np.isfinite(em.score_samples(frame)).all()
    assert np.isnan(em.to_inference_data().observed_data["x"].values).any()
    assert np.isfinite(em.to_inference_data().log_likelihood["x"].values).all()


# ---------------------------------------------------------------- imputation
def direct_conditional_expectation(em, row):
    full = get_structure(em.covariance_type).to_full(em.covariances_, *em.means_.shape)
    seen, unseen = ~np.isnan(row), np.isnan(row)
    log_resp, guesses = [], []
    for weight, mean, cov in zip(em.weights_, em.means_, full):
        log_resp.append(np.log(weight) + multivariate_normal(
            mean[seen], cov[np.ix_(seen, seen)]).logpdf(row[seen]))
        guesses.append(mean[unseen] + cov[np.ix_(unseen, seen)] @ np.linalg.solve(
            cov[np.ix_(seen, seen)], row[seen] - mean[seen]))
    resp = np.exp(np.array(log_resp) - logsumexp(log_resp))
    filled = row.copy()
    filled[unseen] = resp @ np.array(guesses)
    return filled


@pytest.mark.parametrize("name", ["full", "diag", "tied"])
def test_impute_is_the_conditional_expectation(incomplete, name):
    em = GaussianMixtureEM(N_COMPONENTS, covariance_type=name, random_state=0).fit(
        incomplete)
    imputed = em.impute(incomplete)
    expected = np.array([direct_conditional_expectation(em, row) for row in incomplete])
    np.testing.assert_allclose(imputed, expected, rtol=1e-10)
    seen = ~np.isnan(incomplete)
    np.testing.assert_array_equal(imputed[seen], incomplete[seen])


def test_multiple_imputation_draws_from_the_conditional_mixture():
    """Draws average to the conditional expectation, with the mixture's spread."""
    em = GaussianMixtureEM(2, random_state=0).fit(
        make_mixture(300, 2, 2, "full", random_state=3).X)
    row = np.array([[np.nan, em.means_[:, 1].mean()]])  # between the components
    draws = em.impute(row, n_imputations=20_000, random_state=0)[:, 0, 0]
    # The conditional mixture of the first coordinate given the second.
    full = em.covariances_
    seen = row[0, 1]
    log_resp = np.log(em.weights_) + np.array([
        multivariate_normal(m[1], c[1, 1]).logpdf(seen) for m, c in zip(em.means_, full)])
    resp = np.exp(log_resp - logsumexp(log_resp))
    means = em.means_[:, 0] + full[:, 0, 1] / full[:, 1, 1] * (seen - em.means_[:, 1])
    variances = full[:, 0, 0] - full[:, 0, 1] ** 2 / full[:, 1, 1]
    mean = resp @ means
    variance = resp @ (variances + means**2) - mean**2
    assert draws.mean() == pytest.approx(mean, abs=4 * np.sqrt(variance / draws.size))
    assert draws.var() == pytest.approx(variance, rel=0.05)
    again = em.impute(row, n_imputations=3, random_state=0)
    np.testing.assert_array_equal(again, em.impute(row, n_imputations=3, random_state=0))
    assert np.all(again[:, 0, 1] == row[0, 1])


@pytest.mark.parametrize("name", ["tied", "diag", "EEI"])
def test_multiple_imputation_with_shared_or_diagonal_covariances(incomplete, name):
    em = GaussianMixtureEM(N_COMPONENTS, covariance_type=name, random_state=0).fit(
        incomplete)
    draws = em.impute(incomplete, n_imputations=400, random_state=0)
    seen = ~np.isnan(incomplete)
    assert np.all(draws[:, seen] == incomplete[seen])
    np.testing.assert_allclose(draws.mean(axis=0), em.impute(incomplete), atol=0.5)


def test_impute_refuses_a_bad_number_of_imputations(incomplete):
    em = GaussianMixtureEM(2, random_state=0).fit(incomplete)
    with pytest.raises(ValueError, match="n_imputations must be >= 1, got 0"):
        em.impute(incomplete, n_imputations=0)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(("rows", "match"), [
    ([[np.nan, np.nan], [1.0, 2.0], [np.nan, np.nan]],
     r"2 row\(s\) with every value missing \(NaN\): rows 0, 2\. .*drop them"),
    ([[np.inf, 1.0], [1.0, 2.0], [0.0, -np.inf]],
     r"contains infinity in 2 row\(s\): rows 0, 2\. Replace the infinities by NaN"),
    ([[np.nan, 1.0], [np.nan, 2.0], [np.nan, 3.0]],
     r"column 0 has no observed value .*Drop that column"),
])
def test_fit_refuses_rows_without_values_and_infinities(rows, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixtureEM(1).fit(np.array(rows))


def test_prediction_accepts_a_column_missing_everywhere(incomplete):
    em = GaussianMixtureEM(2, random_state=0).fit(incomplete)
    rows = incomplete[:5].copy()
    rows[:, 0] = np.nan
    rows[np.isnan(rows).all(axis=1), 1] = 0.0
    assert np.isfinite(em.score_samples(rows)).all()
    with pytest.raises(ValueError, match=r"rows 0, 1, 2, 3, 4\."):
        em.predict(np.full((5, 3), np.nan))


def test_many_bad_rows_are_counted_not_all_listed():
    X = np.ones((30, 2))
    X[:15] = np.nan
    with pytest.raises(ValueError, match=r"rows 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 5 more"):
        GaussianMixtureEM(1).fit(X)


def test_zero_weight_on_every_observed_value_of_a_column():
    X = np.array([[1.0, np.nan], [2.0, 1.0], [3.0, np.nan]])
    with pytest.raises(ValueError, match="sample_weight is zero on every row where column 1"):
        GaussianMixtureEM(1).fit(X, sample_weight=[1.0, 0.0, 1.0])


# ---------------------------------------------------------------- pattern algebra
@pytest.mark.skipif(available_cores() < 2, reason="needs two cores for two threads")
@pytest.mark.parametrize("weighted", [False, True], ids=["unit", "weighted"])
def test_threads_share_the_blocks_and_sum_to_one_thread(weighted):
    # Enough rows for two threads, which take the blocks in turn; their statistics and
    # labels are those of one pass in one thread.
    X = with_holes(make_mixture(4000, N_COMPONENTS, 4, "full", random_state=1).X, 0.3)
    sample_weight = np.random.default_rng(2).uniform(0.2, 3.0, len(X)) if weighted else None
    source = MissingValuesSource(X, sample_weight)
    structure = get_structure("full")
    params = random_start(structure, X.shape[1])
    arguments = (structure, params.weights, params.means, params.precisions_cholesky)
    one_labels, two_labels = source.new_labels(), source.new_labels()
    one_thread = source.e_step(*arguments, labels=one_labels)
    width = structure.row_width(N_COMPONENTS, X.shape[1]) * 100
    assert RowThreads(len(X), width).n_threads == 2
    with source.session(width):
        two_threads = source.e_step(*arguments, labels=two_labels)
    assert two_threads.log_likelihood == pytest.approx(one_thread.log_likelihood, rel=1e-12)
    for name in ("counts", "sums", "second_moments"):
        np.testing.assert_allclose(getattr(two_threads, name), getattr(one_thread, name),
                                   rtol=1e-12)
    np.testing.assert_array_equal(two_labels, one_labels)


@pytest.mark.parametrize("name", ["full", "tied", "diag", "EEI"])
def test_small_blocks_and_scatter_chunks_give_the_same_statistics(incomplete, name,
                                                                   monkeypatch):
    # Blocks of three rows split patterns between blocks (their responsibilities are
    # summed across blocks), and the conditional covariances are scattered one pattern
    # at a time: the statistics are those of the default pass.
    structure = get_structure(name)
    source = MissingValuesSource(incomplete)
    params = random_start(structure, incomplete.shape[1])
    arguments = (structure, params.weights, params.means, params.precisions_cholesky)
    default = source.e_step(*arguments)
    monkeypatch.setattr(missing_source, "SCATTER_ELEMENTS", 1)
    monkeypatch.setattr(missing_source, "row_chunks", lambda n_rows, width: (
        slice(start, min(start + 3, n_rows)) for start in range(0, n_rows, 3)))
    small = source.e_step(*arguments)
    kind = structure.second_moments
    for name in ("counts", "sums", "second_moments" if kind else "total_scatter"):
        np.testing.assert_allclose(getattr(small, name), getattr(default, name),
                                   rtol=1e-12)


def test_patterns_cover_every_row_once():
    missing = np.random.default_rng(0).random((200, 5)) < 0.3
    missing[missing.all(axis=1), 0] = False
    patterns = MissingPatterns(missing)
    assert sorted(patterns.order.tolist()) == list(range(200))
    assert patterns.n_patterns == len({tuple(row) for row in missing})
    for group in patterns.groups:
        rows = patterns.order[group.positions]
        assert (missing[rows].sum(axis=1) == group.n_missing).all()
        for row, pattern in zip(rows, group.pattern_of_position):
            assert np.flatnonzero(missing[row]).tolist() == (
                group.missing_index[pattern].tolist())


@pytest.mark.parametrize("chunk_elements", [INVERSE_CHUNK_ELEMENTS, 40])
@pytest.mark.parametrize("shape, bordered", [((1000, 10), True), ((40, 24), False)])
@pytest.mark.parametrize("n_shares", [1, 3])
def test_inverses_of_the_missing_blocks(chunk_elements, shape, bordered, n_shares):
    # Many rows on few columns share their prefixes (bordered along the tree); a few
    # rows on many columns do not (each block inverted on its own). Shares (threads)
    # start anywhere in the tree, from the inverses of their first node's ancestors.
    rng = np.random.default_rng(0)
    n_samples, n_features = shape
    missing = rng.random(shape) < 0.5
    missing[missing.all(axis=1), 0] = False
    factors = rng.normal(size=(3, n_features, n_features))
    precisions = factors @ np.swapaxes(factors, -1, -2) + np.eye(n_features)
    patterns = MissingPatterns(missing)
    assert patterns.bordering_pays == bordered
    covered = []
    for share in range(n_shares):
        for group, positions, inverses in group_inverses(patterns, precisions, share,
                                                         n_shares, chunk_elements):
            covered.append(np.arange(positions.start, positions.stop))
            offset = group.positions.start
            for pattern in np.unique(group.pattern_of_position[positions.start - offset:
                                                               positions.stop - offset]):
                index = group.missing_index[pattern]
                block = precisions[:, index][:, :, index]
                slot = inverses.stack_slots(pattern, pattern + 1)
                np.testing.assert_allclose(
                    np.moveaxis(inverses.covariances[:, :, slot][:, :, 0], -1, 0),
                    np.linalg.inv(block), rtol=1e-10, atol=1e-12)
                np.testing.assert_allclose(inverses.log_dets[slot][0],
                                           np.linalg.slogdet(block)[1], rtol=1e-12,
                                           atol=1e-12)
    # Every row once (with small chunks or shares, a group's rows come in several ranges).
    np.testing.assert_array_equal(np.sort(np.concatenate(covered)), np.arange(n_samples))
    if n_shares == 1:
        assert (len(covered) > len(patterns.groups)) == (chunk_elements == 40)


# ---------------------------------------------------------------- accuracy (slow)
def parameter_errors(em, truth):
    """Root mean squared error of the means and mean relative Frobenius error of the
    covariances, components matched to the truth by their means."""
    from scipy.optimize import linear_sum_assignment

    distances = np.linalg.norm(em.means_[:, None] - truth["means"][None], axis=2)
    fitted, true = linear_sum_assignment(distances)
    means = np.sqrt(np.mean(np.sum((em.means_[fitted] - truth["means"][true]) ** 2, axis=1)))
    covariances = np.mean([np.linalg.norm(em.covariances_[i] - truth["covariances"][j])
                           / np.linalg.norm(truth["covariances"][j])
                           for i, j in zip(fitted, true)])
    return means, covariances


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::bayesmix.exceptions.DegenerateComponentWarning")
@pytest.mark.parametrize("fraction", [0.1, 0.3])
def test_em_beats_dropping_rows_and_mean_imputation(fraction):
    """Values missing completely at random: EM on the observed values estimates the
    parameters better than EM on the complete rows only or on mean-imputed rows.

    Averaged over 10 simulated data sets (1,000 rows, 4 features, 3 overlapping
    components with correlated full covariances); ``pytest -m slow -s`` prints the
    table of docs/guide.md.
    """
    errors = {"EM on the observed values": [], "complete rows only": [],
              "mean imputation": []}
    for seed in range(10):
        sample = make_mixture(1000, 3, 4, "full", separation=3.0, random_state=seed)
        incomplete = with_holes(sample.X, fraction, seed=seed)
        complete_rows = incomplete[~np.isnan(incomplete).any(axis=1)]
        mean_imputed = np.where(np.isnan(incomplete), np.nanmean(incomplete, axis=0),
                                incomplete)
        for method, data in zip(errors, (incomplete, complete_rows, mean_imputed)):
            em = GaussianMixtureEM(3, n_init=3, tol=1e-6, max_iter=1000,
                                   random_state=seed).fit(data)
            errors[method].append(parameter_errors(em, sample.params))
    table = {method: np.mean(values, axis=0) for method, values in errors.items()}
    print(f"\n{fraction:.0%} missing: method, RMSE of the means, relative error of the "
          f"covariances")
    for method, (means, covariances) in table.items():
        print(f"  {method:28s} {means:.3f} {covariances:.3f}")
    em_error = table["EM on the observed values"]
    for method in ("complete rows only", "mean imputation"):
        assert (em_error < table[method]).all(), (method, table)


# ---------------------------------------------------------------- selection and plots
def test_select_em_on_data_with_missing_values(incomplete):
    from bayesmix import select_em

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        selection = select_em(incomplete, n_components=[1, 2, 3],
                              covariance_types=["full", "diag"], random_state=0)
    assert np.isfinite(selection.table_["log_likelihood"]).all()
    best = selection.best_estimator_
    assert selection.table_.loc[selection.best_index_, "log_likelihood"] == pytest.approx(
        best.score(incomplete) * len(incomplete), rel=1e-8)


def test_plots_mark_missing_coordinates_on_the_axes(incomplete):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bayesmix.plotting import plot_components, plot_uncertainty

    X = incomplete[:, :2]
    X = X[~np.isnan(X).all(axis=1)]
    em = GaussianMixtureEM(2, random_state=0).fit(X)
    one_missing = np.isnan(X).any(axis=1).sum()
    for ax in (plot_components(em, X), plot_uncertainty(em, X)):
        ticks = [c for c in ax.collections if len(c.get_offsets()) and c.get_clip_on() is False]
        assert sum(len(c.get_offsets()) for c in ticks) == one_missing
        plt.close(ax.figure)
    plt.close(plot_components(GaussianMixtureEM(2, random_state=0).fit(incomplete)))
