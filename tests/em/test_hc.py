"""bayesmix.em.hc: mclust's hierarchical clustering, against R mclust and by its properties."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.datasets import load_iris
from sklearn.metrics import adjusted_rand_score

from bayesmix import load_old_faithful
from bayesmix.em.hc import (
    hierarchical_merges,
    hierarchical_partitions,
    partitions_from_merges,
    transform_for_hc,
)

KS = range(1, 10)


def three_blobs(n_per_group=40, n_features=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = 10.0 * np.eye(3, n_features)
    X = np.vstack([rng.normal(size=(n_per_group, n_features)) + c for c in centres])
    return X, np.repeat(np.arange(3), n_per_group)


def same_partition(a, b):
    """Equal up to a relabelling: the contingency table is a permutation."""
    pairs = np.unique(np.column_stack([a, b]), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


# --- against R mclust ---------------------------------------------------------------

R_CASES = {  # name: (model, use)
    "faithful": ("VVV", "SVD"),
    "iris": ("VVV", "SVD"),
    "blobs": ("VVV", "SVD"),
    "faithful_vars": ("VVV", "VARS"),
    "iris_eii": ("EII", "SVD"),
    "eruptions_v": ("V", "SVD"),
    "eruptions_e": ("E", "SVD"),
}

R_SCRIPT = r"""
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(TRUE)
folder <- args[1]
for (case in args[-1]) {
  spec <- strsplit(case, ":")[[1]]
  X <- as.matrix(read.csv(file.path(folder, paste0(spec[1], ".csv")), header = FALSE))
  tree <- hc(X, modelName = spec[2], use = spec[3])
  write.table(t(unclass(tree)[, ]) - 1, file.path(folder, paste0(spec[1], "_merges.csv")),
              sep = ",", row.names = FALSE, col.names = FALSE)
  write.table(hclass(tree, 1:9), file.path(folder, paste0(spec[1], "_classes.csv")),
              sep = ",", row.names = FALSE, col.names = FALSE)
  write.table(format(attr(tree, "data"), digits = 17),
              file.path(folder, paste0(spec[1], "_data.csv")),
              sep = ",", row.names = FALSE, col.names = FALSE, quote = FALSE)
}
"""


def r_mclust_available():
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(["Rscript", "-e", "library(mclust)"], capture_output=True)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def datasets():
    faithful = load_old_faithful().to_numpy(dtype=float)
    return {
        "faithful": faithful,
        "iris": load_iris().data,
        "blobs": three_blobs(n_per_group=70)[0] @ np.array([[1.0, 0.5, 0], [0, 1, 0], [0, 2, 1]]),
        "faithful_vars": faithful,
        "iris_eii": load_iris().data,
        "eruptions_v": faithful[:, :1],
        "eruptions_e": faithful[:, :1],
    }


@pytest.fixture(scope="module")
def r_results(datasets, tmp_path_factory):
    """R mclust's merges, hclass(, 1:9) and transformed data for each case, in one run."""
    if not r_mclust_available():
        pytest.skip("R with the mclust package is not installed")
    folder = tmp_path_factory.mktemp("mclust")
    for name, X in datasets.items():
        np.savetxt(folder / f"{name}.csv", X, delimiter=",", fmt="%.17g")
    (folder / "hc.R").write_text(R_SCRIPT)
    cases = [f"{name}:{model}:{use}" for name, (model, use) in R_CASES.items()]
    subprocess.run(["Rscript", str(folder / "hc.R"), str(folder), *cases], check=True,
                   capture_output=True)

    def read(name, what):
        return np.loadtxt(folder / f"{name}_{what}.csv", delimiter=",", ndmin=2)

    return {name: {"merges": read(name, "merges").astype(int),
                   "classes": read(name, "classes").astype(int),
                   "data": read(name, "data")} for name in R_CASES}


@pytest.mark.parametrize("name", R_CASES)
def test_partitions_equal_mclust_hclass(name, datasets, r_results):
    model, use = R_CASES[name]
    ours = hierarchical_partitions(datasets[name], KS, model=model, use=use)
    for k in KS:
        assert same_partition(ours[k], r_results[name]["classes"][:, k - 1]), k


@pytest.mark.parametrize("name", R_CASES)
def test_merge_sequence_equals_mclust_hc_on_its_data(name, r_results):
    """From R's transformed data, every merge is mclust's, ties included."""
    model, _ = R_CASES[name]
    ours = hierarchical_merges(r_results[name]["data"], model=model, use="VARS")
    np.testing.assert_array_equal(ours, r_results[name]["merges"])


#: Trees of R mclust 6.0 stored with the data it built them from
#: (``tests/data/make_mclust_hc.R``): checked where R is not installed too.
STORED_TREES = Path(__file__).parents[1] / "data" / "mclust_hc.json"


@pytest.mark.parametrize("name", ["faithful_vvv", "iris_vvv", "iris_eii", "morley_vvv",
                                  "eruptions_v", "eruptions_e"])
def test_merges_equal_mclusts_stored_trees(name):
    """From R's transformed data every merge is mclust's, ties included: morley's two
    discrete columns tie many pairs, which the Fortran's order of scanning breaks."""
    case = json.loads(STORED_TREES.read_text())[name]
    data = np.array(case["data"], dtype=float)
    ours = hierarchical_merges(data, model=case["model"], use="VARS")
    np.testing.assert_array_equal(ours, np.array(case["merges"]) - 1)


@pytest.mark.parametrize("name", ["faithful", "iris", "faithful_vars"])
def test_transformed_data_equal_mclust(name, datasets, r_results):
    _, use = R_CASES[name]
    ours = transform_for_hc(datasets[name], use)
    theirs = r_results[name]["data"]
    np.testing.assert_allclose(np.abs(ours), np.abs(theirs), rtol=0, atol=1e-12)


# --- properties ----------------------------------------------------------------------


@pytest.mark.parametrize("model", ["VVV", "EII"])
def test_each_partition_merges_two_groups_of_the_next(model):
    X, _ = three_blobs()
    partitions = hierarchical_partitions(X, range(1, 30), model=model)
    for k in range(1, 29):
        coarse, fine = partitions[k], partitions[k + 1]
        assert set(np.unique(coarse)) == set(range(k))
        within = np.unique(np.column_stack([fine, coarse]), axis=0)
        assert len(within) == k + 1  # every fine group lies in one coarse group
        assert np.bincount(within[:, 1]).max() == 2  # and exactly two were merged


def test_merges_join_live_groups_and_keep_the_smaller_label():
    X, _ = three_blobs()
    merges = hierarchical_merges(X)
    assert merges.shape == (len(X) - 1, 2)
    assert np.all(merges[:, 0] < merges[:, 1])
    assert sorted(merges[:, 1]) == list(range(1, len(X)))  # each label merged away once
    merged_away = set()
    for kept, gone in merges:
        assert kept not in merged_away and gone not in merged_away
        merged_away.add(gone)


@pytest.mark.parametrize("model", ["VVV", "EII"])
def test_separated_blobs_are_recovered(model):
    X, truth = three_blobs()
    labels = hierarchical_partitions(X, [3], model=model)[3]
    assert adjusted_rand_score(truth, labels) == 1.0


@pytest.mark.parametrize("model", ["V", "E"])
def test_one_dimensional_groups_are_recovered(model):
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0, 1, 50), rng.normal(12, 1, 30)])[:, None]
    labels = hierarchical_partitions(x, [2], model=model)[2]
    np.testing.assert_array_equal(np.bincount(labels), [50, 30])


@pytest.mark.parametrize("model", ["VVV", "EII"])
def test_row_order_does_not_matter(model):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(150, 3)) @ rng.normal(size=(3, 3))
    order = rng.permutation(len(X))
    straight = hierarchical_partitions(X, KS, model=model)
    shuffled = hierarchical_partitions(X[order], KS, model=model)
    for k in KS:
        assert same_partition(straight[k][order], shuffled[k]), k


def test_ward_partitions_equal_scipy_ward_linkage():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 4))
    Z = transform_for_hc(X, "SVD")
    tree = linkage(Z, method="ward")
    ours = hierarchical_partitions(X, range(1, 20), model="EII")
    for k in range(1, 20):
        assert same_partition(ours[k], fcluster(tree, k, criterion="maxclust")), k


def test_partitions_are_numbered_by_first_row():
    X, _ = three_blobs()
    for labels in hierarchical_partitions(X, KS).values():
        _, first_rows = np.unique(labels, return_index=True)
        assert np.all(np.diff(first_rows) > 0)
        assert labels[0] == 0


def test_default_model_follows_mclust():
    X, _ = three_blobs()
    np.testing.assert_array_equal(hierarchical_partitions(X, [3])[3],
                                  hierarchical_partitions(X, [3], model="VVV")[3])
    wide = X[:3]  # no more rows than features: EII
    np.testing.assert_array_equal(hierarchical_partitions(wide, [2])[2],
                                  hierarchical_partitions(wide, [2], model="EII")[2])
    x = X[:, :1]  # one feature: Ward's (mclust's hcV chains rows into one group)
    np.testing.assert_array_equal(hierarchical_partitions(x, [2])[2],
                                  hierarchical_partitions(x, [2], model="E")[2])
    four = np.array([[0.0], [0.1], [5.0], [5.1]])
    np.testing.assert_array_equal(hierarchical_partitions(four, [2])[2], [0, 0, 1, 1])


#: R mclust 6.0's ``qclass(x, k) - 1`` for k = 2..5 (ties at 0.4 and 2.2).
QCLASS_X = [3.1, 0.4, 2.2, 0.4, 5.0, 4.9, 1.7, 0.4, 2.2, 6.3, 3.3, 0.9]
QCLASS = {2: [1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0], 3: [1, 0, 1, 0, 2, 2, 1, 0, 1, 2, 2, 0],
          4: [2, 0, 2, 0, 3, 3, 1, 0, 2, 3, 2, 1], 5: [3, 0, 2, 0, 4, 4, 1, 0, 2, 4, 3, 1]}


@pytest.mark.parametrize("k", sorted(QCLASS))
def test_one_feature_starts_from_mclusts_quantile_classes(k):
    """Mclust starts one feature from qclass, not a tree: the "hc" start does too."""
    from bayesmix.em.init import initial_responsibilities, quantile_partition

    x = np.array(QCLASS_X)
    np.testing.assert_array_equal(quantile_partition(x, k), QCLASS[k])
    start = initial_responsibilities(x[:, np.newaxis], k, "hc", random_state=0)
    np.testing.assert_array_equal(start.argmax(axis=1), QCLASS[k])


def test_quantile_classes_of_a_constant_are_refused_beyond_one():
    from bayesmix.em.init import quantile_partition

    with pytest.raises(ValueError, match="at least two distinct values; all 4 are 2"):
        quantile_partition(np.full(4, 2.0), 2)
    np.testing.assert_array_equal(quantile_partition(np.full(4, 2.0), 1), np.zeros(4))


def test_svd_transform_is_standardised_and_decorrelated():
    rng = np.random.default_rng(2)
    X = np.column_stack([rng.normal(size=100) * 50 + 7, rng.normal(size=100), np.full(100, 3.0)])
    X[:, 1] += X[:, 0] / 25
    Z = transform_for_hc(X, "SVD")
    assert Z.shape == (100, 2)  # the constant column is dropped
    gram = Z.T @ Z
    standardised = (X[:, :2] - X[:, :2].mean(axis=0)) / X[:, :2].std(axis=0, ddof=1)
    singular_values = np.linalg.svd(standardised, compute_uv=False)
    np.testing.assert_allclose(np.diag(gram), singular_values)
    assert abs(gram[0, 1]) < 1e-10


def test_subset_labels_every_row_reproducibly_and_caches_the_tree():
    X, truth = three_blobs(n_per_group=100)
    cache = {}
    first = hierarchical_partitions(X, [2, 3], subset=60, random_state=0, cache=cache)
    assert len(cache) == 1
    again = hierarchical_partitions(X, [3], subset=60, random_state=0)
    np.testing.assert_array_equal(first[3], again[3])
    assert first[3].shape == (300,)
    assert adjusted_rand_score(truth, first[3]) == 1.0
    assert set(np.unique(first[2])) == {0, 1}


def test_partitions_from_merges_is_hclass():
    merges = np.array([[0, 4], [0, 1], [2, 3], [0, 2]])
    partitions = partitions_from_merges(merges, [5, 3, 1])
    np.testing.assert_array_equal(partitions[5], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(partitions[3], [0, 0, 1, 2, 0])
    np.testing.assert_array_equal(partitions[1], [0, 0, 0, 0, 0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "XYZ"}, r"model must be one of .* got 'XYZ'"),
        ({"model": "V"}, r"model='V' is for one-dimensional data, but X has 3 features"),
        ({"use": "PCA"}, r"use must be one of .* got 'PCA'"),
        ({"ks": [0, 2]}, r"ks must be .* between 1 and 120 .* got \[0, 2\]"),
        ({"ks": [121]}, r"ks must be .* between 1 and 120"),
        ({"ks": 3}, r"ks must be a non-empty sequence of integers .* got 3"),
        ({"ks": [2.5]}, r"ks must be .* got \[2.5\]"),
        ({"ks": [5], "subset": 1}, r"subset must be None or an integer >= 2 .* got 1"),
        ({"ks": [5], "subset": 50}, None),
        ({"ks": [60], "subset": 50}, r"ks must be .* between 1 and 50"),
    ],
)
def test_bad_arguments_say_what_and_how(kwargs, message):
    X, _ = three_blobs()
    arguments = {"ks": [2], **kwargs}
    if message is None:
        assert hierarchical_partitions(X, **arguments)[5].shape == (120,)
        return
    with pytest.raises(ValueError, match=message):
        hierarchical_partitions(X, **arguments)


def test_data_without_a_varying_column_is_refused():
    with pytest.raises(ValueError, match="Every column of X is constant.*use=.SVD."):
        hierarchical_merges(np.ones((10, 2)))
