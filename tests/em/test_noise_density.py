"""The noise component's hypervolume (against R mclust) and nearest-neighbour cleaning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bayesmix.families.noise import hypervolume, nearest_neighbour_noise

FIXTURE = json.loads((Path(__file__).parents[1] / "data" / "mclust_hypvol.json").read_text())


@pytest.mark.parametrize("name", sorted(FIXTURE))
def test_hypervolume_matches_mclust_hypvol(name):
    case = FIXTURE[name]
    assert hypervolume(np.array(case["X"], dtype=float)) == pytest.approx(case["hypvol"],
                                                                          rel=1e-10)


def test_hypervolume_takes_the_tighter_box():
    rng = np.random.default_rng(0)
    line = np.outer(rng.uniform(0, 10, 200), [1.0, 1.0]) + rng.normal(0, 0.01, (200, 2))
    box = np.ptp(line, axis=0).prod()
    assert hypervolume(line) < 0.01 * box  # the rotated box hugs the diagonal
    square = rng.uniform(0, 1, (200, 2))
    assert hypervolume(square) <= np.ptp(square, axis=0).prod()


@pytest.mark.parametrize("seed", [1, 2])
def test_nearest_neighbour_cleaning_finds_gross_outliers(seed):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 9.0]])
    clean = np.vstack([rng.normal(size=(100, 2)) + centre for centre in centres])
    outliers = rng.uniform(-60, 70, size=(16, 2))
    noise = nearest_neighbour_noise(np.vstack([clean, outliers]))
    assert noise[300:].mean() >= 0.9
    assert noise[:300].mean() <= 0.05


def test_nearest_neighbour_cleaning_checks_n_neighbors():
    with pytest.raises(ValueError, match="n_neighbors=5 needs more than 5 rows"):
        nearest_neighbour_noise(np.zeros((5, 2)) + np.arange(5)[:, None], n_neighbors=5)
