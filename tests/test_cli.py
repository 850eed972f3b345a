"""Tests of the ``bayesmix`` command."""

import argparse
import contextlib
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import arviz as az  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.image import imread  # noqa: E402

import bayesmix  # noqa: E402
from bayesmix.covariance import COVARIANCE_TYPES  # noqa: E402
from bayesmix.cli import commands as cli  # noqa: E402
from bayesmix.cli import main  # noqa: E402
from bayesmix.cli.parser import parse_components  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FAITHFUL = ["eruptions", "waiting"]


def run(argv):
    """``main(argv)`` with what it prints: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """Run ``bayesmix demo --fast`` once (about 20 s: EM grid, a short NUTS run, figures)."""
    out_dir = tmp_path_factory.mktemp("demo") / "report"
    code, out, err = run(["demo", "--fast", "--out", out_dir])
    return code, out, err, out_dir


@pytest.fixture(scope="module")
def demo_output(demo_run):
    code, out, _, _ = demo_run
    return code, out


def test_demo_prints_the_selection_and_the_chosen_model(demo_output):
    code, out = demo_output
    assert code == 0
    lines = out.splitlines()
    header = next(line for line in lines if line.split()[:2] == ["K", "structure"])
    assert header.split() == ["K", "structure", "log-lik", "n_params", "BIC", "ICL",
                              "degenerate", "converged"]
    rows = [line for line in lines if re.match(r"^[* ]\s+\d+\s", line)
            and line.lstrip("* ").split()[1:2] in [[structure] for structure in COVARIANCE_TYPES]]
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


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["fit", "--help"],
                                  ["select", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: bayesmix {argv[0] if len(argv) > 1 else ''}".rstrip())
    assert ("demo" in out) if len(argv) == 1 else ("--out" in out)


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


# ----------------------------------------------------------------- demo: figures, report
def test_demo_prints_the_compare_table_of_em_and_nuts(demo_run):
    code, out, _, _ = demo_run
    assert code == 0
    assert "EM against the NUTS posterior (3 components, tied)" in out
    header = next(line for line in out.splitlines() if line.split() == ["EM", "NUTS"])
    block = out[out.index(header):]
    rows = {line.split()[0]: line.split()[1:] for line in block.splitlines()[1:]
            if line.strip() and not line.startswith("[")}
    assert rows["method"] == ["em", "nuts"]
    assert rows["elpd_loo"][0] == "NaN" and float(rows["elpd_loo"][1]) < 0
    assert float(rows["bic"][0]) == pytest.approx(2314.3, abs=0.1)
    assert "[point-mass]" in out  # the footnotes say why EM has no elpd


def test_demo_reports_progress_and_sampler_warnings_on_stderr(demo_run):
    _, _, err, _ = demo_run
    lines = err.splitlines()
    assert all(line.startswith("bayesmix demo: ") for line in lines), err
    assert any("fitting the posterior with NUTS" in line for line in lines)
    assert "Traceback" not in err


def test_demo_writes_figures_that_are_not_blank(demo_run):
    _, out, _, out_dir = demo_run
    pngs = sorted(out_dir.glob("*.png"))
    names = {path.stem for path in pngs}
    assert {"selection", "em_components", "posterior_ellipses", "uncertainty",
            "weights"} <= names
    assert len(pngs) >= 4
    for path in pngs:
        data = path.read_bytes()
        assert data[:8] == PNG_SIGNATURE, path.name
        assert len(data) > 10_000, path.name
        pixels = imread(path)
        assert pixels.ndim == 3 and pixels.std() > 0, path.name
    assert f"Wrote to {out_dir}/" in out


def test_demo_report_embeds_every_figure_and_table(demo_run):
    _, _, _, out_dir = demo_run
    markdown = (out_dir / "report.md").read_text()
    html = (out_dir / "report.html").read_text()
    for path in out_dir.glob("*.png"):
        assert f"]({path.name})" in markdown
        assert f'src="{path.name}"' in html
    assert "|  | EM | NUTS |" in markdown
    assert "Chosen model: 3 components" in markdown
    for table in ("selection.csv", "compare.csv", "summary.csv"):
        assert (out_dir / table).stat().st_size > 100
    selection = pd.read_csv(out_dir / "selection.csv", index_col=0)
    assert len(selection) == 24 and selection["degenerate"].dtype == bool
    assert "Chosen model: 3 components" in markdown


# ----------------------------------------------------------------- fit
@pytest.fixture(scope="module")
def faithful_csv(tmp_path_factory):
    """Old Faithful as a CSV file, with a text column and an integer id column in front."""
    data = bayesmix.load_old_faithful()
    data.insert(0, "eruption_id", np.arange(len(data)))
    data.insert(0, "name", [f"eruption {i}" for i in range(len(data))])
    path = tmp_path_factory.mktemp("data") / "faithful.csv"
    data.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fit_em_run(faithful_csv, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("fit_em")
    return (*run(["fit", faithful_csv, "--columns", "eruptions,waiting", "--components", "3",
                  "--covariance", "tied", "--method", "em", "--out", out_dir]), out_dir)


@pytest.fixture(scope="module")
def fit_advi_run(faithful_csv, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("fit_advi")
    return (*run(["fit", faithful_csv, "--columns", "eruptions,waiting", "-k", "2",
                  "--covariance", "full", "--method", "advi", "--draws", "100",
                  "--seed", "1", "--out", out_dir]), out_dir)


def test_fit_em_writes_idata_tables_and_figures(fit_em_run):
    code, out, err, out_dir = fit_em_run
    assert code == 0, err
    assert "EM fit of 3 components (tied) to 272 rows" in out
    idata = az.from_netcdf(out_dir / "idata.nc")
    assert {"posterior", "log_likelihood", "observed_data", "sample_stats"} <= set(
        idata.groups())
    assert idata.posterior["feature"].values.tolist() == FAITHFUL
    assert dict(idata.posterior["means"].sizes) == {"chain": 1, "draw": 1, "component": 3,
                                                   "feature": 2}
    assert idata.posterior.attrs["inference_method"] == "em"
    parameters = pd.read_csv(out_dir / "parameters.csv", index_col="component")
    assert parameters["weight"].sum() == pytest.approx(1.0)
    assert sorted(parameters["mean waiting"].round(0)) == [54.0, 77.0, 81.0]
    assignments = pd.read_csv(out_dir / "assignments.csv", index_col="row")
    assert len(assignments) == 272 and assignments["component"].between(0, 2).all()
    for name in ("em_components", "uncertainty", "em_history"):
        assert (out_dir / f"{name}.png").read_bytes()[:8] == PNG_SIGNATURE
    assert "(em_components.png)" in (out_dir / "report.md").read_text()
    model = bayesmix.load(out_dir / "model.nc")
    assert isinstance(model, bayesmix.GaussianMixtureEM) and model.covariance_type == "tied"
    np.testing.assert_array_equal(model.predict(bayesmix.load_old_faithful()),
                                  assignments["component"])


def test_fit_advi_writes_the_posterior(fit_advi_run):
    code, out, err, out_dir = fit_advi_run
    assert code == 0, err
    assert "Traceback" not in err
    idata = az.from_netcdf(out_dir / "idata.nc")
    assert {"posterior", "log_likelihood", "observed_data", "sample_stats"} <= set(
        idata.groups())
    assert idata.posterior["feature"].values.tolist() == FAITHFUL
    assert idata.observed_data["feature"].values.tolist() == FAITHFUL
    assert idata.posterior.attrs["inference_method"] == "advi"
    assert dict(idata.log_likelihood["x"].sizes) == {"chain": 1, "draw": 100, "obs": 272}
    summary = pd.read_csv(out_dir / "summary.csv", index_col=0)
    assert "means[0, eruptions]" in summary.index
    scores = pd.read_csv(out_dir / "scores.csv", index_col=0)
    assert float(scores.loc["elpd_loo", "ADVI"]) < 0
    for name in ("posterior_ellipses", "uncertainty", "weights", "trace"):
        assert (out_dir / f"{name}.png").stat().st_size > 10_000
    model = bayesmix.load(out_dir / "model.nc")
    assert isinstance(model, bayesmix.GaussianMixtureBayes)
    assignments = pd.read_csv(out_dir / "assignments.csv", index_col="row")
    np.testing.assert_allclose(  # up to the CSV's decimal rounding
        model.predict_proba(bayesmix.load_old_faithful()),
        assignments[["p_0", "p_1"]].to_numpy(), rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------- select
@pytest.mark.parametrize(("text", "expected"), [
    ("1-9", list(range(1, 10))), ("2,3,5", [2, 3, 5]), ("1-3,6", [1, 2, 3, 6]), ("4", [4]),
    (" 2 , 4 ", [2, 4]),
])
def test_parse_components(text, expected):
    assert parse_components(text) == expected


@pytest.mark.parametrize("text", ["", "a", "1-", "-3", "0-2", "3-1", "1,1", "1.5", "2-3-4"])
def test_parse_components_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError, match="expected a range such as 1-9"):
        parse_components(text)


def test_select_em_prints_the_table_and_writes_it(faithful_csv, tmp_path):
    code, out, err, = run(["select", faithful_csv, "--columns", "eruptions,waiting",
                           "--components", "2-4", "--covariance", "tied,full",
                           "--criterion", "bic", "--out", tmp_path])
    assert code == 0, err
    rows = [line.lstrip("* ").split()[:2] for line in out.splitlines()
            if re.match(r"^[* ]\s+\d+\s+(tied|full)\s", line)]
    assert rows == [[str(k), s] for k in (2, 3, 4) for s in ("tied", "full")]
    assert "n_components=3, covariance_type='tied'" in out
    table = pd.read_csv(tmp_path / "selection.csv", index_col=0)
    assert table["n_components"].tolist() == [2, 2, 3, 3, 4, 4]
    assert (tmp_path / "selection.png").read_bytes()[:8] == PNG_SIGNATURE


def test_select_em_list_of_components_without_out(faithful_csv):
    code, out, _ = run(["select", faithful_csv, "--columns", "eruptions,waiting", "-k", "1,3",
                        "--covariance", "spherical", "--criterion", "icl"])
    assert code == 0
    ks = [line.lstrip("* ").split()[0] for line in out.splitlines()
          if re.match(r"^[* ]\s+\d+\s+spherical\s", line)]
    assert ks == ["1", "3"]
    assert "Chosen by lowest ICL" in out


# ----------------------------------------------------------------- errors
@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    files = {
        "binary": b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00 not text",
        "empty": b"",
        "few": b"a,b\n1,2\n3,4\n",
        "missing": b"a,b\n1,2\n3,\n5,6\n",
        "flags": b"a,b\n1,True\n2,False\n3,True\n",
    }
    for name, content in files.items():
        (folder / f"{name}.csv").write_bytes(content)
    return folder


@pytest.mark.parametrize(("argv", "code", "fragments"), [
    (["fit", "{bad}/nothing.csv", "-k", "2", "--out", "{tmp}"], 1,
     ["bayesmix fit: error: argument DATA: file", "nothing.csv' not found"]),
    (["fit", "{bad}", "-k", "2", "--out", "{tmp}"], 1, ["is a folder"]),
    (["fit", "{bad}/binary.csv", "-k", "2", "--out", "{tmp}"], 1,
     ["argument DATA: cannot read", "binary.csv' as CSV"]),
    (["select", "{bad}/empty.csv"], 1,
     ["bayesmix select: error: argument DATA: cannot read", "as CSV"]),
    (["fit", "{csv}", "-k", "2", "--columns", "eruptions,duration", "--out", "{tmp}"], 1,
     ["argument --columns: no column 'duration'", "its columns are name, eruption_id, "
      "eruptions, waiting"]),
    (["fit", "{csv}", "-k", "2", "--out", "{tmp}"], 1,
     ["argument --columns: column 'name'", "is not numeric", "e.g. 'eruption 0'",
      "--columns eruption_id,eruptions,waiting"]),
    (["fit", "{bad}/flags.csv", "-k", "1", "--out", "{tmp}"], 1,
     ["column 'b'", "is not numeric (dtype bool"]),
    (["fit", "{bad}/missing.csv", "-k", "1", "--out", "{tmp}"], 1,
     ["argument DATA: column 'b'", "1 missing value(s), the first on line 3"]),
    (["fit", "{bad}/few.csv", "-k", "2", "--out", "{tmp}"], 1,
     ["argument --components:", "has 2 data row(s), too few for 2 components"]),
    (["select", "{bad}/few.csv", "-k", "1-3"], 1, ["too few for 3 components"]),
    (["select", "{csv}", "--components", "1-x"], 2,
     ["bayesmix select: error: argument --components/-k: expected a range such as 1-9",
      "got '1-x'", "(see 'bayesmix select --help')"]),
    (["select", "{csv}", "--components", "5-2"], 2, ["a range runs from low to high"]),
    (["fit", "{csv}", "-k", "2-3", "--out", "{tmp}"], 2,
     ["argument --components/-k: expected one number of components", "bayesmix select"]),
    (["fit", "{csv}", "-k", "2", "--covariance", "fulll", "--out", "{tmp}"], 2,
     ["bayesmix fit: error: argument --covariance: unknown covariance structure 'fulll'",
      "full, tied, diag, spherical"]),
    (["select", "{csv}", "--covariance", "full,eee"], 2,
     ["argument --covariance: unknown covariance structure 'eee'"]),
    (["select", "{csv}", "--columns", "eruptions,waiting", "--criterion", "loo"], 1,
     ["argument --criterion: 'loo' needs posterior draws", "--method nuts"]),
    (["select", "{csv}", "--columns", "eruptions,waiting", "--method", "advi",
      "--criterion", "bic"], 1, ["argument --criterion: 'bic' is an EM criterion"]),
    (["fit", "{csv}", "-k", "2", "--method", "gibbs", "--out", "{tmp}"], 2,
     ["argument --method: invalid choice: 'gibbs'"]),
    (["fit", "{csv}", "-k", "2"], 2, ["the following arguments are required: --out"]),
])
def test_errors_are_one_line_without_traceback(argv, code, fragments, bad_files,
                                                faithful_csv, tmp_path, capsys):
    argv = [arg.format(bad=bad_files, csv=faithful_csv, tmp=tmp_path / "out") for arg in argv]
    if code == 2:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
    else:
        assert main(argv) == 1
        err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith(f"bayesmix {argv[0]}: error: "), err
    for fragment in fragments:
        assert fragment in err
    assert not (tmp_path / "out").exists()


def test_unexpected_error_is_one_line_too(monkeypatch, faithful_csv, tmp_path, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("sampler\nexploded")

    monkeypatch.setattr(cli, "select_em", broken)
    monkeypatch.delenv("BAYESMIX_DEBUG", raising=False)
    assert main(["select", str(faithful_csv), "--columns", "eruptions,waiting"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == ("bayesmix select: error: unexpected RuntimeError: "
                                    "sampler exploded (set BAYESMIX_DEBUG=1 for the traceback)")
    assert "Traceback" not in err
