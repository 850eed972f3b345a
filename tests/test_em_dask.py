"""GaussianMixtureEM on Dask arrays and DataFrames: the same fit as in memory, lazily.

The Dask fit maps the in-memory kernel over row chunks, so from the same initial
parameters it must reproduce the in-memory iterates to rounding, on Dask's threads and
on a distributed cluster alike.
"""

import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("dask.distributed")

import bayesmix.em.dask_source as bayesmix_dask  # noqa: E402
from bayesmix import ConvergenceWarning, GaussianMixtureEM  # noqa: E402
from bayesmix.covariance import structure_names  # noqa: E402

COVARIANCE_TYPES = structure_names()
RTOL = 1e-10


def _clusters(n_per: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 4.0, 1.0], [0.0, 5.0, -3.0]])
    scales = np.array([1.0, 1.5, 0.7])
    return np.vstack([rng.normal(c, s, (n_per, 3)) for c, s in zip(centres, scales)])[
        rng.permutation(3 * n_per)]


X = _clusters(1000)
#: Uneven row chunks, the last one short.
CHUNKS = (700, 3)


def _fit(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixtureEM(3, **params).fit(X)


@pytest.fixture(scope="module")
def initial():
    """Initial parameters per structure: one EM step from k-means."""
    start = {}
    for covariance_type in COVARIANCE_TYPES:
        em = _fit(X, covariance_type=covariance_type, max_iter=1, random_state=1)
        start[covariance_type] = {"weights_init": em.weights_, "means_init": em.means_,
                                  "precisions_init": em.precisions_}
    return start


@pytest.fixture(scope="module")
def cluster_client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster, set_as_default=False) as client:
            yield client


@pytest.fixture(params=["threads", "distributed"])
def scheduler(request):
    """Run the test body on Dask's threads or on the 2-worker LocalCluster."""
    if request.param == "threads":
        with dask.config.set(scheduler="threads"):
            yield request.param
    else:
        client = request.getfixturevalue("cluster_client")
        with client.as_current(), dask.config.set(scheduler=client):
            yield request.param


def _assert_same_fit(in_memory, on_dask, rtol=RTOL):
    assert on_dask.n_iter_ == in_memory.n_iter_
    np.testing.assert_allclose(on_dask.lower_bound_history_, in_memory.lower_bound_history_,
                               rtol=rtol)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(on_dask, name), getattr(in_memory, name),
                                   rtol=rtol, atol=rtol, err_msg=name)
    for name in ("weights_", "means_", "covariances_"):
        assert type(getattr(on_dask, name)) is np.ndarray


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dask_fit_equals_in_memory_fit(covariance_type, initial, scheduler):
    params = dict(covariance_type=covariance_type, max_iter=15, tol=0.0,
                  **initial[covariance_type])
    in_memory = _fit(X, **params)
    on_dask = _fit(da.from_array(X, chunks=CHUNKS), **params)
    _assert_same_fit(in_memory, on_dask)


def test_sample_weight_as_dask_array_or_numpy(initial):
    weights = np.random.default_rng(1).uniform(0.0, 3.0, size=len(X))
    params = dict(max_iter=10, tol=0.0, **initial["full"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        in_memory = GaussianMixtureEM(3, **params).fit(X, sample_weight=weights)
        X_dask = da.from_array(X, chunks=CHUNKS)
        for sample_weight in (da.from_array(weights, chunks=1000), weights):
            on_dask = GaussianMixtureEM(3, **params).fit(X_dask, sample_weight=sample_weight)
            _assert_same_fit(in_memory, on_dask)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_initialisation_on_dask_data_equals_in_memory_below_the_sample_size(init_params):
    params = dict(init_params=init_params, n_init=2, random_state=0)
    # "random_from_data" starts from one-row components (variance reg_covar), whose
    # conditioning amplifies the rounding of the centring: a looser tolerance.
    _assert_same_fit(_fit(X, **params), _fit(da.from_array(X, chunks=CHUNKS), **params),
                     rtol=1e-8)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_initialisation_from_a_row_sample(init_params, monkeypatch):
    monkeypatch.setattr(bayesmix_dask, "INIT_SAMPLE_SIZE", 300)
    X_dask = da.from_array(X, chunks=CHUNKS)
    fits = [_fit(X_dask, init_params=init_params, n_init=2, tol=1e-7, random_state=0)
            for _ in range(2)]
    np.testing.assert_array_equal(fits[0].means_, fits[1].means_)  # seeded
    reference = _fit(X, n_init=2, tol=1e-7, random_state=0)
    assert fits[0].lower_bound_ == pytest.approx(reference.lower_bound_, rel=1e-5)


def test_predictions_are_lazy_and_equal_in_memory(initial, scheduler):
    em = _fit(X, max_iter=5, **initial["diag"], covariance_type="diag")
    X_dask = da.from_array(X, chunks=CHUNKS)
    for method in ("predict", "predict_proba", "score_samples"):
        lazy = getattr(em, method)(X_dask)
        assert isinstance(lazy, da.Array), method
        assert lazy.chunks[0] == X_dask.chunks[0]
        np.testing.assert_allclose(lazy.compute(), getattr(em, method)(X), rtol=1e-12)
    score = em.score(X_dask)
    assert isinstance(score, float) and score == pytest.approx(em.score(X), rel=1e-12)
    on_dask = GaussianMixtureEM(3, max_iter=5, **initial["full"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = on_dask.fit_predict(X_dask)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), on_dask.predict(X))


def test_dask_dataframe_keeps_column_names(initial):
    frame = pd.DataFrame(X, columns=["height", "width", "depth"])
    ddf = dd.from_pandas(frame, npartitions=4)
    params = dict(max_iter=10, tol=0.0, **initial["full"])
    in_memory, on_dask = _fit(frame, **params), _fit(ddf, **params)
    _assert_same_fit(in_memory, on_dask)
    assert list(on_dask.feature_names_in_) == ["height", "width", "depth"]
    np.testing.assert_array_equal(on_dask.predict(ddf).compute(), in_memory.predict(frame))
    with pytest.raises(ValueError, match="feature names"):
        on_dask.predict(ddf.rename(columns={"depth": "length"}))
    with pytest.raises(ValueError, match="to_inference_data"):
        on_dask.to_inference_data()


def test_column_chunks_are_merged(initial):
    params = dict(max_iter=5, tol=0.0, **initial["tied"], covariance_type="tied")
    _assert_same_fit(_fit(X, **params), _fit(da.from_array(X, chunks=(500, 1)), **params))


def test_infinities_and_rows_of_nan_are_named_by_the_first_pass():
    bad = X.copy()
    bad[[2345, 2600], 1] = np.inf
    with pytest.raises(ValueError, match=r"infinity in 2 row\(s\) of the Dask array: rows "
                       r"2345, 2600\. Replace the infinities by NaN"):
        GaussianMixtureEM(3).fit(da.from_array(bad, chunks=CHUNKS))
    empty = X.copy()
    empty[[5, 701] + list(range(1000, 1011))] = np.nan
    with pytest.raises(ValueError, match=r"13 row\(s\) with every value missing \(NaN\) in "
                       r"the Dask array: rows 5, 701, 1000, .*, 1007 and 3 more\. They carry"):
        GaussianMixtureEM(3).fit(da.from_array(empty, chunks=CHUNKS))


def _with_holes(fraction: float = 0.2, seed: int = 3) -> np.ndarray:
    """``X`` with a ``fraction`` of its values missing at random, no row left empty."""
    rng = np.random.default_rng(seed)
    holes = rng.random(X.shape) < fraction
    holes[holes.all(axis=1), 0] = False
    return np.where(holes, np.nan, X)


X_MISSING = _with_holes()


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dask_fit_with_missing_values_equals_in_memory_fit(covariance_type, initial):
    # Chunks of whole rows, each grouped by its own missingness patterns: the statistics
    # summed across chunks are the in-memory ones, to rounding.
    params = dict(covariance_type=covariance_type, max_iter=15, tol=0.0,
                  **initial[covariance_type])
    in_memory = _fit(X_MISSING, **params)
    on_dask = _fit(da.from_array(X_MISSING, chunks=CHUNKS), **params)
    _assert_same_fit(in_memory, on_dask)


def test_dask_fit_with_missing_values_on_a_cluster_with_weights(cluster_client):
    weights = np.random.default_rng(1).uniform(0.0, 3.0, size=len(X))
    params = dict(init_params="kmeans", n_init=2, random_state=0, max_iter=20, tol=0.0)
    in_memory = _fit(X_MISSING, **params, covariance_type="VEV")
    with cluster_client.as_current(), dask.config.set(scheduler=cluster_client):
        on_dask = _fit(da.from_array(X_MISSING, chunks=CHUNKS), **params,
                       covariance_type="VEV")
        # The initialisation (on the rows, missing values filled by the column means) and
        # the diagnostics' covariance are the in-memory ones too.
        _assert_same_fit(in_memory, on_dask, rtol=1e-8)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            weighted = GaussianMixtureEM(3, **params).fit(X_MISSING, sample_weight=weights)
            on_dask = GaussianMixtureEM(3, **params).fit(
                da.from_array(X_MISSING, chunks=CHUNKS),
                sample_weight=da.from_array(weights, chunks=CHUNKS[0]))
        _assert_same_fit(weighted, on_dask, rtol=1e-8)
        np.testing.assert_allclose(on_dask.predict_proba(da.from_array(
            X_MISSING, chunks=CHUNKS)).compute(), weighted.predict_proba(X_MISSING),
            rtol=1e-8, atol=1e-12)


def test_dask_source_with_missing_values_summarises_as_in_memory():
    from bayesmix.em.missing_source import MissingValuesSource

    weights = np.random.default_rng(2).uniform(0.5, 2.0, size=len(X))
    in_memory = MissingValuesSource(X_MISSING, weights)
    on_dask = bayesmix_dask.DaskSource(da.from_array(X_MISSING, chunks=CHUNKS), weights)
    np.testing.assert_allclose(on_dask.shift, in_memory.shift, rtol=1e-13)
    for full in (True, False):
        np.testing.assert_allclose(on_dask.data_covariance(full),
                                   in_memory.data_covariance(full), rtol=1e-12)
    np.testing.assert_allclose(on_dask.initialisation_sample()[0],
                               in_memory.initialisation_sample()[0], rtol=1e-13)
    np.testing.assert_allclose(on_dask.initialisation_scatter(),
                               in_memory.initialisation_scatter(), rtol=1e-12)


def test_bad_input_messages():
    X_dask = da.from_array(X, chunks=CHUNKS)
    weights = np.ones(len(X))
    weights[1500] = -1.0
    with pytest.raises(ValueError, match="-1 at row 1500"):
        GaussianMixtureEM(3).fit(X_dask, sample_weight=da.from_array(weights, chunks=CHUNKS[0]))
    with pytest.raises(ValueError, match="sample_weight has shape"):
        GaussianMixtureEM(3).fit(X_dask, sample_weight=da.ones(10))
    with pytest.raises(ValueError, match="must be 2-D"):
        GaussianMixtureEM(3).fit(X_dask[:, 0])
    with pytest.raises(ValueError, match="dtype bool"):
        GaussianMixtureEM(3).fit(X_dask > 0)
    em = _fit(X, max_iter=2)
    with pytest.raises(ValueError, match="expecting 3 features"):
        em.predict(X_dask[:, :2])


def test_in_memory_input_does_not_import_dask(monkeypatch):
    for name in [name for name in sys.modules if name == "dask" or name.startswith("dask.")]:
        monkeypatch.delitem(sys.modules, name)
    em = _fit(X, max_iter=2)
    em.predict(X), em.score(X)
    assert "dask" not in sys.modules


@pytest.mark.slow
def test_bayesmix_imports_without_dask():
    code = "import sys, bayesmix; assert 'dask' not in sys.modules, 'dask imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------- out of core
def _start_peak_memory_polling(dask_worker, interval=0.005):
    """In a worker: poll its resident memory; ``dask_worker.peak_memory`` holds the result."""
    import psutil

    process = psutil.Process()
    state = {"idle": process.memory_info().rss, "peak": 0, "stop": False}

    def poll():
        while not state["stop"]:
            state["peak"] = max(state["peak"], process.memory_info().rss)
            time.sleep(interval)

    threading.Thread(target=poll, daemon=True).start()
    dask_worker.peak_memory = state


def _peak_memory(dask_worker):
    dask_worker.peak_memory["stop"] = True
    return dask_worker.peak_memory["idle"], dask_worker.peak_memory["peak"]


def _simulated_chunk(block_id=None, rows=100_000):
    rng = np.random.default_rng(block_id[0])
    centres = np.array([[0.0] * 8, [4.0] * 8, [-4.0] * 8])
    return centres[rng.integers(3, size=rows)] + rng.normal(size=(rows, 8))


@pytest.mark.slow
def test_out_of_core_zarr_store_on_worker_processes(tmp_path):
    """Fit 400 MB of Zarr data on two worker processes that each use under 100 MB for it.

    The store is written chunk by chunk and never loaded by the workers: each holds a
    few 6.4 MB chunks at a time (30 to 40 MB in all, whatever the data's size). A
    worker's memory limit also counts its interpreter and libraries (about 450 MB once
    bayesmix, hence PyMC, is imported), so the limit is set to 700 MB with spilling and
    pausing off. A first fit on two chunks loads the code a fit uses; the test then
    checks the memory each worker used above that footprint: less than a quarter of the
    data.
    """
    path = str(tmp_path / "X.zarr")
    X_lazy = da.map_blocks(_simulated_chunk, chunks=((100_000,) * 64, (8,)), dtype=float)
    with dask.config.set(scheduler="threads"):
        X_lazy.to_zarr(path)
    data_bytes = X_lazy.nbytes
    memory = {"distributed.worker.memory.target": False,
              "distributed.worker.memory.spill": False,
              "distributed.worker.memory.pause": False}
    params = dict(max_iter=2, tol=0.0, weights_init=np.full(3, 1 / 3),
                  means_init=np.array([[1.0] * 8, [3.0] * 8, [-3.0] * 8]),
                  precisions_init=np.repeat(np.eye(8)[np.newaxis], 3, axis=0))
    with dask.config.set(memory), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, memory_limit="700MB",
            dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        _fit(da.from_zarr(path)[:200_000], **params)
        client.run(_start_peak_memory_polling)
        on_dask = _fit(da.from_zarr(path), **params)
        used = {worker: peak - idle for worker, (idle, peak)
                in client.run(_peak_memory).items()}
    assert max(used.values()) < data_bytes / 4, used
    in_memory = _fit(da.from_zarr(path).compute(), **params)
    _assert_same_fit(in_memory, on_dask)


def test_memory_mapped_npy_file_on_threads(tmp_path, initial):
    path = tmp_path / "X.npy"
    np.save(path, X)
    params = dict(max_iter=5, tol=0.0, **initial["full"])
    with dask.config.set(scheduler="threads"):
        on_dask = _fit(da.from_array(np.load(path, mmap_mode="r"), chunks=CHUNKS), **params)
    _assert_same_fit(_fit(X, **params), on_dask)
