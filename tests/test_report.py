"""Tests of bayesmix.cli.report: the Markdown/HTML report writer used by the command."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bayesmix.cli.report import Report, figure_of, markdown_table  # noqa: E402


def test_markdown_table_escapes_pipes_and_shows_nan():
    table = pd.DataFrame({"a|b": [1.23456, np.nan], "name": ["x|y", "z"]}, index=["r1", "r2"])
    lines = markdown_table(table, ".3g").splitlines()
    assert lines[0] == r"|  | a\|b | name |"
    assert lines[1] == "| --- | --- | --- |"
    assert lines[2] == r"| r1 | 1.23 | x\|y |"
    assert lines[3] == "| r2 | NaN | z |"


def test_report_saves_figures_tables_and_links_them(tmp_path):
    report = Report(tmp_path / "new" / "folder", title="T <1>")
    report.add_text("## Section")
    report.add_text("Some `code` and **bold**.")
    report.add_code("a  b\n1  2")
    fig, axes = plt.subplots(1, 2)
    axes[0].plot([0, 1], [0, 1])
    png = report.add_figure(axes, "two_panels", "Two panels.")
    assert not plt.fignum_exists(fig.number)  # closed after saving
    shown = report.add_table(pd.DataFrame({"v": [0.5]}), "shown", "Shown.")
    linked = report.add_table(pd.DataFrame({"v": [0.5]}), "linked", "Linked.", inline=False)
    unsaved = report.add_table(pd.DataFrame({"v": [0.5]}), caption="Not saved.")
    markdown_path, html_path = report.write()

    assert png.read_bytes()[:4] == b"\x89PNG"
    assert report.figures == [png] and report.tables == [shown, linked] and unsaved is None
    markdown = markdown_path.read_text()
    assert markdown.startswith("# T <1>\n\n## Section\n")
    assert "![Two panels.](two_panels.png)" in markdown
    assert "```text\na  b\n1  2\n```" in markdown
    assert "[shown.csv](shown.csv)" in markdown and "[linked.csv](linked.csv)" in markdown
    assert markdown.count("| v |") == 2  # shown and unsaved inline, linked only as a link
    page = html_path.read_text()
    assert "<title>T &lt;1&gt;</title>" in page and "<h2>Section</h2>" in page
    assert "<code>code</code>" in page and "<b>bold</b>" in page
    assert '<img src="two_panels.png"' in page and '<a href="linked.csv">' in page


def test_report_refuses_odd_file_names(tmp_path):
    report = Report(tmp_path)
    with pytest.raises(ValueError, match="file name '../x'"):
        report.add_table(pd.DataFrame({"v": [1]}), "../x")


def test_figure_of_accepts_figure_axes_and_arrays():
    fig, axes = plt.subplots(2, 2)
    assert figure_of(fig) is fig and figure_of(axes) is fig and figure_of(axes[1, 1]) is fig
    plt.close(fig)
