"""The documentation: every public name is in the API reference, and the site builds."""

import importlib
import inspect
import pkgutil
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


def _public_modules():
    for info in pkgutil.walk_packages(bayesmix.__path__, "bayesmix."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            yield importlib.import_module(info.name)


def _public_callables():
    """Every function and class a public module exports, and the classes' own methods."""
    seen = set()
    for module in [bayesmix, *_public_modules()]:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or obj in seen:
                continue
            if not obj.__module__.startswith("bayesmix"):
                continue  # re-exported from elsewhere (e.g. NotFittedError from sklearn)
            seen.add(obj)
            yield f"{obj.__module__}.{obj.__qualname__}", obj
            if inspect.isclass(obj):
                for attr, method in vars(obj).items():
                    if not attr.startswith("_") and inspect.isfunction(method):
                        yield f"{obj.__module__}.{method.__qualname__}", method


def test_every_public_function_and_class_has_a_runnable_example():
    """``--doctest-modules`` (in .ci/run) runs these examples; here: that they exist."""
    missing = [name for name, obj in _public_callables() if ">>>" not in (obj.__doc__ or "")]
    assert not missing, f"add an Examples section to: {missing}"
