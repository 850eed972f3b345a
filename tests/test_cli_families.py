"""The command line with Student-t components and a noise component (--family, --noise)."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd
import pytest

import bayesmix
from bayesmix.cli import main
from bayesmix.cli.parser import FAMILIES
from bayesmix.selection.em import FAMILIES as SELECT_FAMILIES


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def outlying_csv(tmp_path_factory):
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    rows = np.vstack([rng.normal(c, 1.0, size=(60, 2)) for c in centres]
                     + [rng.uniform(-30.0, 40.0, size=(10, 2))])
    path = tmp_path_factory.mktemp("families") / "outlying.csv"
    pd.DataFrame(rows, columns=["a", "b"]).to_csv(path, index=False)
    return path


def test_the_parser_knows_select_em_families():
    assert FAMILIES == tuple(SELECT_FAMILIES)


def test_fit_student_t_with_noise(outlying_csv, tmp_path):
    out = tmp_path / "fit"
    code, printed, err = run(["fit", outlying_csv, "-k", "3", "--family", "student_t",
                              "--noise", "--out", out])
    assert code == 0, err
    assert "dof" in printed and "Noise component: weight" in printed
    model = bayesmix.load(out / "model.nc")
    assert isinstance(model, bayesmix.StudentMixtureEM) and model.noise
    labelled = pd.read_csv(out / "assignments.csv")
    assert labelled.columns.tolist()[-1] == "p_noise"
    assert (labelled["component"].iloc[180:] == -1).mean() > 0.8
    np.testing.assert_array_equal(labelled["component"], model.predict(labelled[["a", "b"]]))
    scores = pd.read_csv(out / "scores.csv", index_col=0)  # one column per model
    assert scores.loc["family", "EM"] == "student_t" and scores.loc["noise", "EM"] == "True"


def test_select_over_families(outlying_csv, tmp_path):
    code, printed, err = run(["select", outlying_csv, "-k", "2-3", "--covariance", "full",
                              "--family", "gaussian,student_t", "--out", tmp_path / "sel"])
    assert code == 0, err
    table = pd.read_csv(tmp_path / "sel" / "selection.csv")
    assert sorted(table["family"].unique()) == ["gaussian", "student_t"]
    assert "family=" in printed


def test_fit_a_student_t_posterior(outlying_csv, tmp_path):
    out = tmp_path / "posterior"
    code, printed, err = run(["fit", outlying_csv, "-k", "3", "--family", "student_t",
                              "--method", "advi", "--draws", "50", "--out", out])
    assert code == 0, err
    assert "student_t" in err  # the progress message names the family
    model = bayesmix.load(out / "model.nc")
    assert isinstance(model, bayesmix.bayes.StudentMixtureBayes)
    assert model.idata_.posterior["dof"].sizes["component"] == 3
    scores = pd.read_csv(out / "scores.csv", index_col=0)
    assert scores.loc["family", "ADVI"] == "student_t"


def test_fit_with_the_gibbs_sampler(outlying_csv, tmp_path):
    out = tmp_path / "gibbs"
    code, _, err = run(["fit", outlying_csv, "-k", "3", "--method", "gibbs", "--draws", "50",
                        "--tune", "50", "--chains", "2", "--out", out])
    assert code == 0, err
    assert "compiling" not in err  # NumPy updates: nothing is compiled
    model = bayesmix.load(out / "model.nc")
    assert model.idata_.posterior.attrs["inference_method"] == "gibbs"


@pytest.mark.parametrize("argv, fragment", [
    (["fit", "DATA", "-k", "2", "--out", "OUT", "--family", "student_t", "--method",
      "gibbs"], "method='gibbs' samples Gaussian components"),
    (["select", "DATA", "--family", "student_t", "--method", "advi"],
     "select compares Gaussian posteriors"),
    (["fit", "DATA", "-k", "2", "--out", "OUT", "--method", "gibbs", "--covariance",
      "tied"], "argument --covariance: --method gibbs samples full only; use --covariance "
              "full"),
    (["select", "DATA", "--noise", "--method", "nuts"], "--noise --method em"),
    (["fit", "DATA", "-k", "2", "--out", "OUT", "--family", "student_t", "--prior"],
     "conjugate prior is for Gaussian components"),
])
def test_refusals(argv, fragment, outlying_csv, tmp_path):
    argv = [outlying_csv if a == "DATA" else tmp_path / "out" if a == "OUT" else a
            for a in argv]
    code, _, err = run(argv)
    assert code != 0 and fragment in err, err


def test_unknown_family_is_a_usage_error(outlying_csv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["select", str(outlying_csv), "--family", "cauchy"])
    assert exit_info.value.code == 2
    assert "unknown family 'cauchy'" in capsys.readouterr().err
