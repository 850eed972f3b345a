"""Tests of the ``bayesmix`` command."""

import contextlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bayesmix
from bayesmix import cli
from bayesmix._validation import COVARIANCE_TYPES
from bayesmix.cli import main


@pytest.fixture(scope="module")
def demo_output():
    """Run ``bayesmix demo`` once (a few seconds) and keep what it prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["demo"])
    return code, out.getvalue()


def test_demo_prints_the_selection_and_the_chosen_model(demo_output):
    code, out = demo_output
    assert code == 0
    lines = out.splitlines()
    header = next(line for line in lines if line.split()[:2] == ["K", "structure"])
    assert header.split() == ["K", "structure", "log-lik", "n_params", "BIC", "ICL",
                              "degenerate", "converged"]
    rows = [line for line in lines if line.lstrip("* ").split()[1:2] in
            [[structure] for structure in COVARIANCE_TYPES]]
    assert len(rows) == 6 * 4
    chosen = [line for line in rows if line.startswith("*")]
    assert len(chosen) == 1 and chosen[0].split()[1:3] == ["3", "tied"]
    assert "Chosen model: 3 components, covariance_type='tied' (mclust's EEE)" in out
    assert "mean eruptions" in out and "mean waiting" in out


def test_demo_table_rows_are_numbers(demo_output):
    _, out = demo_output
    row = next(line for line in out.splitlines() if line.startswith("*"))
    _, k, structure, loglik, n_params, bic, icl, degenerate, converged = row.split()
    assert float(loglik) == pytest.approx(-1126.3, abs=0.1)  # mclust: -1126.361
    assert int(n_params) == 11
    assert float(icl) >= float(bic)
    assert (degenerate, converged) == ("False", "True")


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"bayesmix {bayesmix.__version__}"


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: bayesmix")
    assert "demo" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["fit-everything"], "invalid choice: 'fit-everything'"),
        (["demo", "--n-init", "0"], "argument --n-init: expected an integer >= 1, got 0"),
        (["demo", "--max-components", "many"], "expected an integer >= 1, got 'many'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_runtime_error_is_one_line_without_traceback(monkeypatch, capsys):
    def missing():
        raise OSError("old_faithful.csv: no such file")

    monkeypatch.setattr(cli, "load_old_faithful", missing)
    assert main(["demo"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "bayesmix demo: error: old_faithful.csv: no such file\n"


def test_installed_entry_point_help():
    script = Path(sys.executable).with_name("bayesmix")
    command = str(script) if script.exists() else shutil.which("bayesmix")
    assert command, "the bayesmix entry point is not installed: pip install -e ."
    result = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: bayesmix")
    assert "demo" in result.stdout
