"""Fixtures shared by the whole test suite (subfolders add their own conftest.py)."""

import pandas as pd
import pytest

from bayesmix.datasets import load_old_faithful


@pytest.fixture(scope="session")
def old_faithful() -> pd.DataFrame:
    """The Old Faithful data; a shared object, so tests must not modify it."""
    return load_old_faithful()
