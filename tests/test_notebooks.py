"""Every notebook in notebooks/ runs top to bottom (with small settings: BAYESMIX_FAST=1)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_notebooks_are_committed_with_outputs():
    assert NOTEBOOKS, "no notebook found in notebooks/"
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert all(cell.outputs for cell in code), f"{path.name} has cells without outputs"
        figures = [output for cell in code for output in cell.outputs
                   if "image/png" in output.get("data", {})]
        assert figures, f"{path.name} shows no figure"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    monkeypatch.setenv("BAYESMIX_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
