"""Tests of the ``bayesmix`` command."""

import argparse
import contextlib
import io
import os
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
from bayesmix.covariance import MCLUST_MODELS  # noqa: E402
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


#: What the ``dev`` extra adds for the tests, the documentation and Dask: the demo, which
#: the README runs after a plain ``pip install -e .``, must need none of it.
DEV_ONLY = ("pytest", "hypothesis", "nbformat", "nbclient", "ipykernel", "sphinx", "myst_nb",
            "numpydoc", "pydata_sphinx_theme", "dask", "zarr")
#: A ``sitecustomize`` that makes those packages look absent, as after ``pip install -e .``:
#: every finder of ``sys.meta_path`` finds nothing under their names.
WITHOUT_DEV_ONLY = """\
import sys


class Hide:
    def __init__(self, finder):
        self.finder = finder

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in %r:
            return None
        return self.finder.find_spec(name, path, target)

    def __getattr__(self, attribute):
        return getattr(self.finder, attribute)


sys.meta_path[:] = [Hide(finder) for finder in sys.meta_path]
"""


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """Run the installed ``bayesmix demo --fast`` once (about 30 s: EM grid, a short NUTS
    run, figures) with the packages only the dev extra installs hidden."""
    folder = tmp_path_factory.mktemp("demo")
    (folder / "hooks").mkdir()
    (folder / "hooks" / "sitecustomize.py").write_text(WITHOUT_DEV_ONLY % (DEV_ONLY,))
    out_dir = folder / "report"
    code, out, err = bayesmix_command("demo", "--fast", "--out", out_dir,
                                      env={"PYTHONPATH": str(folder / "hooks")})
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
            and line.lstrip("* ").split()[1:2] in [[model] for model in MCLUST_MODELS]]
    assert len(rows) == 10  # the ten best of 6 x 14 fits
    assert f"({6 * 14 - 10} more fits in table_)" in out
    assert rows[0].startswith("*")
    assert rows[0].split()[1:3] == ["3", "EEE"]
    assert ("Chosen model: 3 components, covariance_type='EEE' (all components share one "
            "general covariance; scikit-learn's 'tied')") in " ".join(out.split())
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


def test_the_parsers_method_names_are_the_back_ends_registry():
    """The parser keeps its own list of --method names (importing the back ends' registry
    would load scikit-learn before a usage error is answered): EM's, then every
    registered back end's, and for the demo those that fit every covariance structure
    it may choose. A back end added to the registry fails this test until the CLI offers
    it."""
    from bayesmix.bayes.backends import BACKENDS, available_methods
    from bayesmix.cli.parser import DEMO_METHODS, METHODS

    assert METHODS == ("em", *available_methods())
    assert DEMO_METHODS == tuple(name for name in available_methods()
                                 if BACKENDS[name].covariance_types is None)


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
    assert "EM against the NUTS posterior (3 components, EEE)" in out
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
    assert {"covariance_models", "selection", "em_components", "posterior_ellipses",
            "uncertainty", "weights"} <= names
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
    assert len(selection) == 6 * 14 and selection["degenerate"].dtype == bool
    assert "Chosen model: 3 components" in markdown
    # The demo's posterior is tied: summary.csv keeps every entry, the report each once.
    summary = pd.read_csv(out_dir / "summary.csv", index_col=0)
    assert {"covariances[2, waiting, eruptions]", "covariances[0, eruptions, waiting]"
            } <= set(summary.index)
    assert "covariances[0, waiting, eruptions]" in markdown
    assert "covariances[0, eruptions, waiting]" not in markdown
    assert "covariances[2, waiting, eruptions]" not in markdown


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
    assignments = pd.read_csv(out_dir / "assignments.csv")
    assert assignments.columns.tolist() == ["name", "eruption_id", *FAITHFUL, "component",
                                            "uncertainty", "p_0", "p_1", "p_2"]
    assert len(assignments) == 272 and assignments["component"].between(0, 2).all()
    for name in ("em_components", "uncertainty", "em_history"):
        assert (out_dir / f"{name}.png").read_bytes()[:8] == PNG_SIGNATURE
    assert "(em_components.png)" in (out_dir / "report.md").read_text()
    model = bayesmix.load(out_dir / "model.nc")
    assert isinstance(model, bayesmix.GaussianMixtureEM) and model.covariance_type == "tied"
    np.testing.assert_array_equal(model.predict(bayesmix.load_old_faithful()),
                                  assignments["component"])


def test_fit_em_on_a_csv_with_empty_cells(faithful_csv, tmp_path):
    """Empty cells are missing values: fitted on each row's observed features."""
    data = pd.read_csv(faithful_csv)
    data.loc[[3, 10], "eruptions"] = np.nan
    data.loc[[5], "waiting"] = np.nan
    path = tmp_path / "holes.csv"
    data.to_csv(path, index=False)
    code, out, err = run(["fit", path, "--columns", "eruptions,waiting", "-k", "2",
                          "--covariance", "tied", "--method", "em", "--out", tmp_path / "out"])
    assert code == 0, err
    assert "3 missing value(s), fitted on each row's observed features" in out + err
    assignments = pd.read_csv(tmp_path / "out" / "assignments.csv")
    assert len(assignments) == 272 and assignments["component"].between(0, 1).all()
    assert assignments["eruptions"].isna().sum() == 2
    model = bayesmix.load(tmp_path / "out" / "model.nc")
    np.testing.assert_array_equal(model.predict(data[FAITHFUL]), assignments["component"])


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
    assignments = pd.read_csv(out_dir / "assignments.csv")
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


@pytest.mark.parametrize("prior, n_models", [([], 14), (["--prior"], 10)])
def test_select_mclust_progress_counts_mclusts_models(faithful_csv, prior, n_models):
    # 'mclust' is one name for the models select_em fits: the progress line counted its
    # letters ("6 structure(s)").
    code, _, err = run(["select", faithful_csv, "--columns", "eruptions,waiting", "-k", "1",
                        "--covariance", "mclust", *prior])
    assert code == 0, err
    assert f"fitting EM for K = 1 x mclust's {n_models} models x gaussian" in err

# ----------------------------------------------------------------- errors
@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    files = {
        "binary": b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00 not text",
        "empty": b"",
        "few": b"a,b\n1,2\n3,4\n",
        "empty_row": b"a,b\n1,2\n,\n5,6\n",
        "empty_column": b"a,b\n1,\n3,\n5,\n",
        "flags": b"a,b\n1,True\n2,False\n3,True\n",
        "bad_cell": b"a,b\n1,2.5\n2,oops\n3,4\n4,5\n",
        "bad_decimal_comma": b"a;b\n1,5;2\n2,5;3\n3,5;4.5\n",
        "infinity": b"a,b\n1,2\n2,3\n3,inf\n4,5\n",
        "duplicated": b"a,a\n1,2\n3,4\n5,6\n",
    }
    for name, content in files.items():
        (folder / f"{name}.csv").write_bytes(content)
    return folder


@pytest.mark.parametrize(("argv", "code", "fragments"), [
    (["fit", "{bad}/nothing.csv", "-k", "2", "--out", "{tmp}"], 1,
     ["bayesmix fit: error: argument DATA: file", "nothing.csv' not found"]),
    (["fit", "{bad}", "-k", "2", "--out", "{tmp}"], 1, ["is a folder"]),
    (["fit", "{bad}/binary.csv", "-k", "2", "--out", "{tmp}"], 1,
     ["argument --encoding: cannot read", "binary.csv' as CSV text in encoding 'utf-8'",
      "--encoding latin-1"]),
    (["select", "{bad}/empty.csv"], 1,
     ["bayesmix select: error: argument DATA:", "empty.csv' is empty"]),
    (["fit", "{csv}", "-k", "2", "--columns", "eruptions,duration", "--out", "{tmp}"], 1,
     ["argument --columns: no column 'duration'", "its columns are name, eruption_id, "
      "eruptions, waiting"]),
    (["fit", "{csv}", "-k", "2", "--columns", "name,waiting", "--out", "{tmp}"], 1,
     ["argument --columns: column 'name'", "is not numeric", "e.g. 'eruption 0'",
      "--columns eruption_id,eruptions,waiting"]),
    (["fit", "{bad}/flags.csv", "-k", "1", "--columns", "a,b", "--out", "{tmp}"], 1,
     ["column 'b'", "is not numeric (dtype bool"]),
    (["fit", "{bad}/empty_row.csv", "-k", "1", "--out", "{tmp}"], 1,
     ["argument DATA: 1 data row(s) of 'empty_row.csv' have no value in any feature (data "
      "row 2)"]),
    (["fit", "{bad}/infinity.csv", "-k", "1", "--out", "{tmp}"], 1,
     ["argument DATA: 1 data row(s) of 'infinity.csv' hold an infinite value (data row 3; "
      "column(s) b)", "leave the cell empty"]),
    (["fit", "{bad}/bad_cell.csv", "-k", "1", "--out", "{tmp}"], 1,
     ["argument DATA: column 'b' of 'bad_cell.csv' holds numbers but data row 2 has 'oops'",
      "correct that cell, or leave it empty (a missing value), or leave the column out "
      "with --exclude b"]),
    (["fit", "{bad}/bad_cell.csv", "-k", "1", "--columns", "a,b", "--out", "{tmp}"], 1,
     ["column 'b' of 'bad_cell.csv' holds numbers but data row 2 has 'oops'",
      "leave the column out with --columns a"]),
    (["fit", "{bad}/bad_decimal_comma.csv", "-k", "1", "--out", "{tmp}"], 1,
     ["column 'b' of 'bad_decimal_comma.csv' holds numbers but data row 3 has '4.5'"]),
    (["fit", "{bad}/duplicated.csv", "-k", "1", "--out", "{tmp}"], 1,
     ["argument DATA: the header of 'duplicated.csv' names column 'a' twice; give each "
      "column its own name"]),
    (["fit", "{bad}/few.csv", "-k", "1", "--sep", ",", "--decimal", ",", "--out", "{tmp}"],
     1, ["argument --decimal: ',' is also the separator of 'few.csv' (given by --sep)"]),
    (["select", "{bad}/few.csv", "-k", "1", "--decimal", ","], 1,
     ["argument --decimal: ',' is also the separator of 'few.csv' (sniffed"]),
    (["fit", "{bad}/few.csv", "-k", "1", "--exclude", "a,b", "--out", "{tmp}"], 1,
     ["argument --exclude: excluding a,b leaves no column to fit in 'few.csv' (its numeric "
      "columns are a, b); exclude fewer columns"]),
    (["select", "{csv}", "--columns", "eruptions,waiting", "--covariance", "E,V"], 1,
     ["argument --covariance: 'E' is mclust's name for one feature, but DATA has 2 "
      "features (eruptions, waiting); use 'EII'"]),
    (["fit", "{csv}", "-k", "2", "--covariance", "V", "--out", "{tmp}"], 1,
     ["argument --covariance: 'V' is mclust's name for one feature", "use 'VII'"]),
    (["select", "{csv}", "--covariance", "full,EVE", "--prior"], 1,
     ["argument --prior: mclust fits no conjugate prior for --covariance EVE; drop --prior",
      "full, tied, diag, spherical, EII"]),
    (["fit", "{csv}", "-k", "2", "--covariance", "VVE", "--prior", "--out", "{tmp}"], 1,
     ["argument --prior: mclust fits no conjugate prior for --covariance VVE"]),
    (["fit", "{csv}", "-k", "2", "--covariance", "VEV", "--method", "nuts", "--out",
      "{tmp}"], 1,
     ["argument --covariance: 'VEV' is fitted by EM only (--method em); with --method nuts "
      "use a structure the posterior supports: full, tied, diag, spherical, EII, EEI"]),
    (["select", "{csv}", "--covariance", "full,EVE", "--method", "advi"], 1,
     ["argument --covariance: 'EVE' is fitted by EM only"]),
    (["fit", "{csv}", "-k", "2", "--covariance", "tied", "--method", "gibbs", "--out",
      "{tmp}"], 1,
     ["argument --covariance: --method gibbs samples full only; use --covariance full, or "
      "another --method for 'tied'"]),
    (["fit", "{bad}/empty_column.csv", "-k", "1", "--out", "{tmp}"], 1,
     ["argument DATA: column 'b' of 'empty_column.csv' has no value", "--exclude b"]),
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
    (["fit", "{csv}", "-k", "2", "--method", "smc", "--out", "{tmp}"], 2,
     ["argument --method: invalid choice: 'smc'"]),
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
    assert "fitting" not in err  # refused before any fit
    prefix = f"bayesmix {argv[0]}: error: "
    errors = [line for line in err.splitlines() if line.startswith(prefix)]
    assert len(errors) == 1 and err.splitlines()[-1] == errors[0], err
    err = errors[0]
    for fragment in fragments:
        assert fragment in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("problem", ["", "inf", "oops"])
def test_messages_count_data_rows_from_1(problem, tmp_path):
    """An empty row, an infinity and a bad cell in the third data row (line 4) are all
    named 'data row 3'."""
    path = tmp_path / "data.csv"
    path.write_text(f"a,b\n1,2\n2,3\n{problem},{problem}\n4,5\n5,7\n")
    code, _, err = run(["select", path, "-k", "1"])
    assert code == 1 and "data row 3" in err.splitlines()[-1], err


@pytest.mark.skipif(not Path("/proc/self").is_dir(),
                    reason="needs Linux's /proc, where no folder can be made, even by root")
def test_unwritable_output_paths_are_refused_before_fitting(fit_em_run, faithful_csv):
    _, _, _, out_dir = fit_em_run
    folder = Path("/proc/bayesmix-nope")
    for argv in (["select", faithful_csv, "-k", "1-2", "--out", folder / "x.csv"],
                 ["fit", faithful_csv, "-k", "2", "--out", folder / "fit"],
                 ["predict", out_dir / "model.nc", faithful_csv, "--out", folder / "x.csv"],
                 ["demo", "--fast", "--out", folder / "demo"]):
        code, out, err = run(argv)
        assert code == 1 and out == "" and "fitting" not in err, err
        assert err.splitlines()[-1] == (
            f"bayesmix {argv[0]}: error: argument --out: cannot write in '/proc', so "
            f"'{argv[-1]}' cannot be written; pass a path in a folder you can write to")


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


# ----------------------------------------------------------------- real files, installed command
IRIS_FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                 "petal width (cm)"]


def bayesmix_command(*arguments, env=None):
    """The installed ``bayesmix`` command run in a subprocess: (exit code, stdout, stderr).

    ``env`` adds variables to the environment."""
    script = Path(sys.executable).with_name("bayesmix")
    command = str(script) if script.exists() else shutil.which("bayesmix")
    result = subprocess.run([command, *map(str, arguments)], capture_output=True, text=True,
                            timeout=600, env={**os.environ, **(env or {})})
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module")
def iris_files(tmp_path_factory):
    """Iris as users export it: with its species column; semicolons and decimal commas;
    semicolons and points; latin-1; plus a header-only, an empty and a ragged file."""
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    table = iris.frame.drop(columns="target")
    table["species"] = iris.target_names[iris.target]
    folder = tmp_path_factory.mktemp("iris")
    table.to_csv(folder / "iris.csv", index=False)
    table.to_csv(folder / "european.csv", index=False, sep=";", decimal=",")
    table.to_csv(folder / "semicolon.csv", index=False, sep=";")
    table.rename(columns={"sepal length (cm)": "longueur sépale"}).to_csv(
        folder / "latin1.csv", index=False, encoding="latin-1")
    (folder / "header.csv").write_text("a,b,c\n")
    (folder / "empty.csv").write_text("")
    (folder / "ragged.csv").write_text("a,b\n1,2\n3,4,5\n6,7\n")
    return folder


@pytest.fixture(scope="module")
def iris_fit(iris_files):
    """``bayesmix fit iris.csv`` (a tiny EM fit), run once."""
    out_dir = iris_files / "fit"
    return (*bayesmix_command("fit", iris_files / "iris.csv", "-k", "3", "--n-init", "1",
                              "--features", "petal length (cm),petal width (cm)",
                              "--out", out_dir), out_dir)


def test_fit_uses_the_numeric_columns_and_names_the_others(iris_fit):
    code, out, err, out_dir = iris_fit
    assert code == 0, err
    assert "ignoring column(s) species" in err and "--columns or --exclude" in err
    idata = az.from_netcdf(out_dir / "idata.nc")
    assert idata.posterior["feature"].values.tolist() == IRIS_FEATURES


def test_the_suggested_columns_paste_into_a_shell(iris_files):
    import shlex

    code, _, err = bayesmix_command("fit", iris_files / "iris.csv", "-k", "2", "--columns",
                                    "species", "--out", iris_files / "never")
    assert code == 1 and "column 'species'" in err and "not numeric" in err
    suggestion = err[err.index("--columns '"):].strip()
    assert shlex.split(suggestion) == ["--columns", ",".join(IRIS_FEATURES)]
    assert not (iris_files / "never").exists()


@pytest.mark.parametrize(("name", "options", "separator"), [
    ("european.csv", [], "separator ';', decimal ','"),
    ("semicolon.csv", [], "separator ';', decimal '.'"),
    ("european.csv", ["--sep", ";", "--decimal", ","], "separator ';', decimal ','"),
    ("latin1.csv", ["--encoding", "latin-1"], "separator ',', decimal '.'"),
])
def test_real_exports_are_read_with_their_separator_and_decimal_mark(
        iris_files, iris_fit, name, options, separator):
    out_dir = iris_files / f"out-{name}-{len(options)}"
    code, out, err = bayesmix_command("select", iris_files / name, "-k", "3",
                                      "--covariance", "full", "--n-init", "1",
                                      "--exclude", "petal width (cm)", *options,
                                      "--out", out_dir)
    assert code == 0, err
    assert separator in err and "ignoring column(s) petal width (cm), species" in err
    assert "features " in out and "petal width" not in out.split("features ")[1][:200]
    table = pd.read_csv(out_dir / "selection.csv", index_col=0)
    reference = pd.read_csv(iris_files / "iris.csv")
    assert len(table) == 1 and table["n_components"].tolist() == [3]
    assert "150 rows" in out and len(reference) == 150


@pytest.mark.parametrize(("name", "options", "fragments"), [
    ("latin1.csv", [], ["argument --encoding: cannot read 'latin1.csv'", "'utf-8'",
                        "--encoding latin-1"]),
    ("header.csv", [], ["argument DATA: 'header.csv' has a header (a, b, c) but no data "
                        "rows"]),
    ("empty.csv", [], ["argument DATA:", "'empty.csv' is empty"]),
    ("ragged.csv", [], ["argument DATA: line 3 of 'ragged.csv' has 3 field(s) where the "
                        "header has 2", "--sep"]),
    ("european.csv", ["--sep", ","], ["line 2 of 'european.csv' has 5 field(s) where the "
                                      "header has 1 (separator ',')", "--sep"]),
    ("semicolon.csv", ["--sep", ","], ["no numeric column to fit in 'semicolon.csv'",
                                       "--sep ';' --decimal ','"]),
    ("iris.csv", ["--exclude", "petals"], ["argument --exclude: no column 'petals'"]),
])
def test_files_that_cannot_be_fitted_get_a_message_saying_why(iris_files, name, options,
                                                             fragments):
    code, out, err = bayesmix_command("fit", iris_files / name, "-k", "2", *options,
                                      "--out", iris_files / "never")
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.splitlines()[-1].startswith("bayesmix fit: error: ")
    for fragment in fragments:
        assert fragment in err
    assert not (iris_files / "never").exists()


def test_fit_writes_the_rows_with_their_labels_and_predict_does_the_same(iris_files,
                                                                         iris_fit):
    _, _, _, out_dir = iris_fit
    assignments = pd.read_csv(out_dir / "assignments.csv")
    assert assignments.columns.tolist() == [*IRIS_FEATURES, "species", "component",
                                            "uncertainty", "p_0", "p_1", "p_2"]
    labelled_file = iris_files / "labelled.csv"
    code, _, err = bayesmix_command("predict", out_dir / "model.nc",
                                    iris_files / "european.csv", "--out", labelled_file)
    assert code == 0, err
    labelled = pd.read_csv(labelled_file, sep=";", decimal=",")  # as the input was written
    pd.testing.assert_frame_equal(labelled, assignments, check_exact=False, rtol=1e-9)
    probabilities = labelled[["p_0", "p_1", "p_2"]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    np.testing.assert_allclose(labelled["uncertainty"], 1 - probabilities.max(axis=1))
    # Species and clusters agree (iris: ARI of the full EM fit about 0.9).
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(labelled["species"], labelled["component"]) > 0.8


def test_predict_on_stdout_and_refusals(iris_files, iris_fit):
    _, _, _, out_dir = iris_fit
    code, out, err = bayesmix_command("predict", out_dir / "model.nc", iris_files / "iris.csv")
    assert code == 0, err
    assert out.splitlines()[0].endswith(",species,component,uncertainty,p_0,p_1,p_2")
    assert len(out.splitlines()) == 151
    code, _, err = bayesmix_command("predict", out_dir / "model.nc", iris_files / "ragged.csv")
    assert code == 1 and "line 3 of 'ragged.csv'" in err
    code, _, err = bayesmix_command("predict", out_dir / "model.nc",
                                    iris_files / "latin1.csv", "--encoding", "latin-1")
    assert code == 1 and "no column 'sepal length (cm)'" in err


def test_predict_labels_a_single_row(fit_em_run, tmp_path):
    """Fitting needs several rows, predicting one."""
    _, _, _, out_dir = fit_em_run
    row = bayesmix.load_old_faithful().iloc[[0]]
    row.to_csv(tmp_path / "one.csv", index=False)
    code, out, err = run(["predict", out_dir / "model.nc", tmp_path / "one.csv"])
    assert code == 0, err
    labelled = pd.read_csv(io.StringIO(out))
    model = bayesmix.load(out_dir / "model.nc")
    assert labelled["component"].tolist() == model.predict(row).tolist()


@pytest.mark.parametrize(("content", "message"), [
    ("eruptions,duration\n3.6,79\n",
     "argument DATA: no column 'waiting' in 'data.csv'; its columns are eruptions, duration; "
     "pass a file with the model's features eruptions, waiting"),
    ("eruptions,waiting\n3.6,79\n1.8,oops\n",
     "argument DATA: column 'waiting' of 'data.csv' holds numbers but data row 2 has 'oops'; "
     "correct that cell, or leave it empty (a missing value)"),
    ("eruptions,waiting\n3.6,\n",
     "argument DATA: column 'waiting' of 'data.csv' has no value; fill it in: the model "
     "needs its values"),
    ("eruptions,waiting\n,\n3.6,79\n",
     "argument DATA: 1 data row(s) of 'data.csv' have no value in any feature (data row 1); "
     "remove those rows"),
])
def test_predict_messages_name_what_predict_takes(fit_em_run, tmp_path, content, message):
    """predict has no --columns or --exclude: its messages ask for a file with the
    model's features."""
    _, _, _, out_dir = fit_em_run
    (tmp_path / "data.csv").write_text(content)
    code, out, err = run(["predict", out_dir / "model.nc", tmp_path / "data.csv"])
    assert (code, out, err) == (1, "", f"bayesmix predict: error: {message}\n")


def test_predict_applies_a_posterior_model(fit_advi_run, tmp_path):
    _, _, _, out_dir = fit_advi_run
    data = bayesmix.load_old_faithful()
    data.to_csv(tmp_path / "faithful.csv", index=False)
    code, _, err = bayesmix_command("predict", out_dir / "model.nc", tmp_path / "faithful.csv",
                                    "--out", tmp_path / "labelled.csv")
    assert code == 0, err
    labelled = pd.read_csv(tmp_path / "labelled.csv")
    assert labelled.columns.tolist() == [*FAITHFUL, "component", "uncertainty", "p_0", "p_1"]
    model = bayesmix.load(out_dir / "model.nc")
    np.testing.assert_allclose(labelled[["p_0", "p_1"]], model.predict_proba(data),
                               rtol=1e-12, atol=1e-15)


def test_standardize_fits_scaled_columns_and_reports_both_units(iris_files):
    out_dir = iris_files / "standardized"
    code, out, err = bayesmix_command("fit", iris_files / "iris.csv", "-k", "3",
                                      "--n-init", "1", "--standardize", "--out", out_dir)
    assert code == 0, err
    assert "standardised" in out
    scaling = pd.read_csv(out_dir / "standardization.csv", index_col="feature")
    reference = pd.read_csv(iris_files / "iris.csv")[IRIS_FEATURES]
    np.testing.assert_allclose(scaling["center"], reference.mean())
    np.testing.assert_allclose(scaling["scale"], reference.std())
    original = pd.read_csv(out_dir / "parameters.csv", index_col="component")
    scaled = pd.read_csv(out_dir / "parameters_standardized.csv", index_col="component")
    for name in IRIS_FEATURES:
        np.testing.assert_allclose(original[f"mean {name}"], scaled[f"mean {name}"]
                                   * scaling.loc[name, "scale"] + scaling.loc[name, "center"])
        np.testing.assert_allclose(original[f"cov {name},{name}"], scaled[f"cov {name},{name}"]
                                   * scaling.loc[name, "scale"] ** 2)
    # predict finds the scaling beside the model and labels the rows as fit did
    code, out, err = bayesmix_command("predict", out_dir / "model.nc", iris_files / "iris.csv")
    assert code == 0 and "standardising the features" in err
    labelled = pd.read_csv(io.StringIO(out))
    assignments = pd.read_csv(out_dir / "assignments.csv")
    assert labelled["component"].tolist() == assignments["component"].tolist()
    code, out, err = bayesmix_command("select", iris_files / "iris.csv", "-k", "1-2",
                                      "--covariance", "spherical", "--standardize")
    assert code == 0 and "standardised" in out, err


def test_output_arguments_are_checked_before_fitting(iris_files, iris_fit):
    _, _, _, out_dir = iris_fit
    checks = [
        (["fit", iris_files / "iris.csv", "-k", "2", "--out", out_dir],
         f"argument --out: folder '{out_dir}' already holds assignments.csv"),
        (["fit", iris_files / "iris.csv", "-k", "2", "--out", iris_files / "iris.csv"],
         "is a file; pass a folder"),
        (["select", iris_files / "iris.csv", "-k", "2", "--out", out_dir],
         "pass --overwrite to replace its files"),
        (["predict", out_dir / "model.nc", iris_files / "iris.csv", "--out",
          out_dir / "assignments.csv"], "assignments.csv' already exists; pass --overwrite"),
        (["demo", "--out", out_dir], "already holds"),
    ]
    for arguments, message in checks:
        code, out, err = bayesmix_command(*arguments)
        assert code == 1 and message in err, err
        assert "fitting" not in err and out == ""
    before = (out_dir / "model.nc").stat().st_mtime_ns
    code, _, err = bayesmix_command("fit", iris_files / "iris.csv", "-k", "2", "--n-init", "1",
                                    "--out", out_dir, "--overwrite")
    assert code == 0, err
    assert (out_dir / "model.nc").stat().st_mtime_ns != before
    assert bayesmix.load(out_dir / "model.nc").n_components == 2


def test_printed_tables_fit_a_100_column_terminal(iris_fit):
    code, out, _, _ = iris_fit
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 100
    blocks = [line for line in out.splitlines() if line.startswith("component ")]
    assert [line.split(":")[0] for line in blocks] == ["component 0", "component 1",
                                                      "component 2"]
    assert "covariances (4 x 4 per component): see parameters.csv" in out
    scores = out[out.index("log_likelihood") - 200:]
    assert "elpd_loo" not in scores and "NaN" not in scores  # EM: no all-NaN score rows


def test_demo_prints_compare_within_100_columns(demo_output):
    _, out = demo_output
    block = out[out.index("EM against the NUTS posterior"):out.index("[point-mass]") + 200]
    assert max(len(line) for line in block.splitlines()) <= 100


def test_figures_name_the_features_shown_and_the_component_colours(iris_files, monkeypatch):
    from bayesmix import GaussianMixtureEM
    from bayesmix.cli.figures import add_fit_figures
    from bayesmix.cli.report import Report, figure_of

    seen = {}

    def record(self, drawing, name, caption=""):
        figure = figure_of(drawing)
        legends = [legend for ax in figure.axes for legend in [ax.get_legend()] if legend]
        seen[name] = (figure.get_suptitle(), legends + list(figure.legends))
        return original(self, drawing, name, caption)

    original = Report.add_figure
    monkeypatch.setattr(Report, "add_figure", record)
    X = pd.read_csv(iris_files / "iris.csv")[IRIS_FEATURES]
    em = GaussianMixtureEM(3, n_init=1, random_state=0).fit(X)
    add_fit_figures(Report(iris_files / "figures"), em, X,
                    features=["petal length (cm)", "petal width (cm)"])
    assert "features shown: petal length (cm) and petal width (cm) (of 4)" in \
        seen["uncertainty"][0]
    labels = [text.get_text() for text in seen["em_components"][1][0].get_texts()]
    assert labels[:3] == ["component 0", "component 1", "component 2"] or \
        {"component 0", "component 1", "component 2"} <= set(labels)
    two = X[IRIS_FEATURES[2:]]
    add_fit_figures(Report(iris_files / "figures2"), em.fit(two), two)
    labels = [text.get_text() for text in seen["em_components"][1][0].get_texts()]
    assert labels == ["component 0", "component 1", "component 2"]
    assert seen["uncertainty"][0] == ""  # two features: nothing to name


def test_fit_rejects_features_it_did_not_fit(iris_files):
    code, _, err = bayesmix_command("fit", iris_files / "iris.csv", "-k", "2", "--features",
                                    "species,petal width (cm)", "--out", iris_files / "never")
    assert code == 1 and "argument --features: 'species' is not a fitted column" in err
    assert not (iris_files / "never").exists()


def test_elpd_selection_plot():
    from bayesmix.cli.figures import plot_elpd_selection

    table = pd.DataFrame({"n_components": [1, 2, 1, 2], "elpd_loo": [-5.0, -3.0, -6.0, -4.0],
                          "covariance_type": ["full", "full", "diag", "diag"],
                          "se": [1.0, 1.0, 1.0, 1.0]})
    ax = plot_elpd_selection(table, "loo", 1)
    assert {text.get_text() for text in ax.get_legend().get_texts()} == {
        "full", "diag", "chosen: K=2, full"}
    assert ax.get_ylabel() == "elpd_loo (higher is better)"


@pytest.mark.slow
def test_select_with_a_posterior_criterion_writes_its_elpd_plot(iris_files):
    out_dir = iris_files / "select_advi"
    code, out, err = bayesmix_command(
        "select", iris_files / "iris.csv", "-k", "1-2", "--method", "advi", "--draws", "100",
        "--exclude", "sepal length (cm),sepal width (cm)", "--out", out_dir)
    assert code == 0, err
    assert (out_dir / "selection.png").read_bytes()[:8] == PNG_SIGNATURE
    assert "elpd_loo against K" in (out_dir / "report.md").read_text()


def test_posterior_fits_say_they_compile_first(fit_advi_run):
    _, _, err, _ = fit_advi_run
    lines = err.splitlines()
    compiling = next(i for i, line in enumerate(lines) if "compiling the model" in line)
    fitting = next(i for i, line in enumerate(lines) if "fitting the posterior" in line)
    assert compiling < fitting and "first run" in lines[compiling]


# ----------------------------------------------------------------- the README's quick start
README = Path(__file__).resolve().parents[1] / "README.md"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_quick_start_installs_only_what_the_demo_needs(demo_run):
    import tomllib

    text = README.read_text()
    quick_start = text[text.index("## Quick start"):]
    commands = quick_start[quick_start.index("```bash\n") + 8:].split("```")[0].splitlines()
    assert commands == ['python -m pip install -e . && bayesmix demo',
                        'python -m pip install -e ".[dev]" && python -m pytest']
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    dev = " ".join(extras["dev"])
    assert all(name in dev for name in ("pytest", "sphinx", "dask", "nbclient"))
    code, _, err, _ = demo_run  # run with the dev-only packages hidden
    assert code == 0, err


def test_the_readme_lists_what_the_demo_writes(demo_run):
    _, _, _, out_dir = demo_run
    quick_start = README.read_text().split("## Quick start")[1].split("\n## ")[0]
    assert "`./bayesmix-demo/`" in quick_start
    written = sorted(path.name for path in out_dir.iterdir())
    assert len(written) >= 13
    missing = [name for name in written if f"`{name}`" not in quick_start]
    assert not missing, f"the README does not mention {missing}"
