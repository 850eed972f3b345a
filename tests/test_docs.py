"""The documentation: every public name is in the API reference, and the site builds."""

import subprocess
import sys
from pathlib import Path

import pytest

import bayesmix

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_public_name_is_in_the_api_reference():
    listed = {line.strip() for line in (DOCS / "api.md").read_text().splitlines()}
    missing = [name for name in bayesmix.__all__ if name != "__version__" and name not in listed]
    assert not missing, f"add {missing} to docs/api.md"


@pytest.mark.slow
def test_sphinx_build_has_no_warnings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS),
         str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    assert (tmp_path / "html" / "notebooks" / "01_quickstart.html").exists()
