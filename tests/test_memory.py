"""Bounded memory: scoring walks over X in row chunks and allocates little beyond its output.

Deterministic checks, no timing: a spy on the chunk kernel sees every row once, in chunks
of bounded size, and with a small chunk size the peak of NumPy's traced allocations
(NumPy reports its buffers to :mod:`tracemalloc`) stays within a tenth of X's size above
the call's own output. Unchunked code (an N x K temporary) would break that bound. The
peak resident memory on 5,000,000 rows is measured by ``benchmarks/memory.py``.
"""

import tracemalloc

import numpy as np
import pytest

from bayesmix import GaussianMixtureEM
from bayesmix import density
from bayesmix.results import log_likelihood_draws, log_predictive_density
from bayesmix.scoring import pointwise_log_likelihood

N_ROWS, N_FEATURES, N_COMPONENTS, N_TRAIN, N_DRAWS = 200_000, 4, 3, 600, 4
#: Chunk temporaries of about 1,024 elements (the 64-row floor), so that the bound
#: below measures what scales with the rows, not the default 2 MiB chunks.
SMALL_CHUNK = 1 << 10


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=5.0, size=(N_COMPONENTS, N_FEATURES))
    train = (centres[rng.integers(N_COMPONENTS, size=N_TRAIN)]
             + rng.normal(size=(N_TRAIN, N_FEATURES)))
    X = centres[rng.integers(N_COMPONENTS, size=N_ROWS)] + rng.normal(size=(N_ROWS,
                                                                           N_FEATURES))
    em = GaussianMixtureEM(N_COMPONENTS, random_state=0).fit(train)
    return em, X


def _posterior(em, n_draws=N_DRAWS):
    """A fake posterior: the EM fit repeated, the means slightly moved per draw."""
    shift = np.linspace(-0.1, 0.1, n_draws)[:, None, None]
    return (np.broadcast_to(em.weights_, (n_draws, N_COMPONENTS)),
            em.means_ + shift, np.broadcast_to(em.covariances_, (n_draws,) + em.covariances_.shape))


CALLS = {
    "em.score_samples": lambda em, X: em.score_samples(X),
    "em.predict_proba": lambda em, X: em.predict_proba(X),
    "pointwise_log_likelihood": lambda em, X: pointwise_log_likelihood(em, X).values,
    "log_predictive_density": lambda em, X: log_predictive_density(X, *_posterior(em)),
    "responsibilities": lambda em, X: density.responsibilities(
        X, em.weights_, em.means_, em.precisions_cholesky_, "full"),
}
#: Rows the kernel sees per row of X: once per posterior draw.
PASSES = {"log_predictive_density": N_DRAWS}
#: Arrays of one float per row held besides the output: the running log-sum-exp over
#: draws needs the current draw's densities.
ROW_BUFFERS = {"log_predictive_density": 1}


@pytest.mark.parametrize("name", CALLS)
def test_rows_are_processed_in_bounded_chunks(data, name, monkeypatch):
    em, X = data
    monkeypatch.setattr(density, "_CHUNK_ELEMENTS", SMALL_CHUNK)
    kernel, sizes = density.component_log_prob, []

    def spy(block, *args):
        sizes.append(block.shape[0])
        return kernel(block, *args)

    monkeypatch.setattr(density, "component_log_prob", spy)
    CALLS[name](em, X[:10_000])
    # Every row once (per draw):
    assert sum(sizes) == 10_000 * PASSES.get(name, 1)
    assert max(sizes) == 64  # the chunk floor: SMALL_CHUNK // (K * (D + 2)) < 64


@pytest.mark.parametrize("name", CALLS)
def test_peak_allocation_is_the_output_plus_a_chunk(data, name, monkeypatch):
    em, X = data
    monkeypatch.setattr(density, "_CHUNK_ELEMENTS", SMALL_CHUNK)
    CALLS[name](em, X[:1_000])  # first-call caches (imports, InferenceData) untraced
    tracemalloc.start()
    try:
        out = CALLS[name](em, X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.shape[-1] == N_ROWS or out.shape == (N_ROWS, N_COMPONENTS)
    beyond = peak - out.nbytes - ROW_BUFFERS.get(name, 0) * N_ROWS * 8
    assert beyond < X.nbytes / 10, (
        f"{name} allocated {beyond / X.nbytes:.2f} x X beyond its output (and row buffers)")


def test_log_predictive_density_is_the_log_mean_exp_over_draws(data):
    em, X = data
    weights, means, covariances = _posterior(em)
    per_draw = log_likelihood_draws(X[:50], weights[None], means[None], covariances[None])[0]
    expected = np.logaddexp.reduce(per_draw, axis=0) - np.log(len(weights))
    np.testing.assert_allclose(log_predictive_density(X[:50], weights, means, covariances),
                               expected, rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True], ids=["unit-weights", "sample-weight"])
def test_fit_holds_no_copy_of_x(data, weighted, monkeypatch):
    """Besides X, a fit from given initial parameters holds the labels and row weights.

    The kernels centre each block of rows as they read it, and the data covariance and
    ``tied``'s total second moment are summed the same way: a centred copy of X, or an
    ``np.cov`` of it, would break the bound.
    """
    em, X = data
    monkeypatch.setattr(density, "_CHUNK_ELEMENTS", SMALL_CHUNK)
    sample_weight = np.random.default_rng(1).uniform(0.5, 2.0, N_ROWS) if weighted else None
    start = {"weights_init": em.weights_, "means_init": em.means_,
             "precisions_init": em.precisions_}
    GaussianMixtureEM(N_COMPONENTS, max_iter=1, **start).fit(X[:1_000])  # untraced caches
    tracemalloc.start()
    try:
        GaussianMixtureEM(N_COMPONENTS, max_iter=1, **start).fit(X, sample_weight=sample_weight)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    row_vectors = 2 * N_ROWS * 8  # labels, and the row weights (ones when not given)
    beyond = peak - row_vectors
    assert beyond < X.nbytes / 10, (
        f"fit allocated {beyond / X.nbytes:.2f} x X beyond the labels and row weights")
