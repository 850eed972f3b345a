"""Smoke tests: every script in examples/ runs and prints what it promises.

They run with small settings (``BAYESMIX_FAST=1``), as the notebooks do.
"""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

#: Text each example must print.
EXPECTED = {
    "fit_and_predict.py": "New eruptions, their most likely component",
    "select_components.py": "True number of components: 4; chosen by BIC: 4.",
    "compare_em_and_nuts.py": "elpd_loo is NaN for EM",
    "custom_priors.py": "weights_alpha=[50.0, 50.0]",
    "save_and_reload.py": "identical: True",
}


def test_every_example_is_listed():
    assert sorted(path.name for path in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name, tmp_path, monkeypatch):
    monkeypatch.setenv("BAYESMIX_FAST", "1")
    result = subprocess.run([sys.executable, str(EXAMPLES / name)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert EXPECTED[name] in result.stdout
    assert "Traceback" not in result.stderr
