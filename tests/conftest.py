"""Fixtures shared by the whole test suite (subfolders add their own conftest.py)."""

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from bayesmix.datasets import load_old_faithful


@pytest.fixture(scope="session")
def old_faithful() -> pd.DataFrame:
    """The Old Faithful data; a shared object, so tests must not modify it."""
    return load_old_faithful()


@pytest.fixture(scope="session")
def test_data() -> Callable[[str], pd.DataFrame]:
    """Reads a data set of ``tests/data`` by name (R's and MASS's, see its README)."""
    return lambda name: pd.read_csv(Path(__file__).parent / "data" / f"{name}.csv")
