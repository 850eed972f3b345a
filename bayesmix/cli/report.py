"""A small report writer for the ``bayesmix`` command: figures as PNG, tables as CSV.

:class:`Report` collects text, tables and matplotlib figures in order, saves every figure
as a PNG (and every table as CSV) in one folder as it goes, and finally writes
``report.md`` and ``report.html`` that embed them. It only lays out what the library's
plotting and scoring functions produced; it computes nothing itself, and needs nothing
beyond pandas and matplotlib (no ``tabulate``).

Examples
--------
>>> import tempfile
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> import pandas as pd
>>> from bayesmix.cli.report import Report
>>> report = Report(tempfile.mkdtemp(), title="Example")
>>> fig, ax = plt.subplots()
>>> _ = ax.plot([0, 1], [1, 0])
>>> report.add_figure(fig, "line", "A falling line.").name
'line.png'
>>> report.add_table(pd.DataFrame({"a": [1.5]}), "numbers", "One number.").name
'numbers.csv'
>>> [path.name for path in report.write()]
['report.md', 'report.html']
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Report", "figure_of", "markdown_table"]

#: Resolution of the saved figures, in dots per inch.
DPI = 120


def figure_of(drawing: Any) -> Any:
    """The :class:`~matplotlib.figure.Figure` behind what a plotting function returned.

    Parameters
    ----------
    drawing : Figure, Axes or array of Axes
        The return value of a :mod:`bayesmix.plotting` function.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from bayesmix.cli.report import figure_of
    >>> fig, axes = plt.subplots(1, 2)
    >>> figure_of(axes) is fig and figure_of(axes[0]) is fig and figure_of(fig) is fig
    True
    """
    from matplotlib.figure import Figure

    if isinstance(drawing, Figure):
        return drawing
    if isinstance(drawing, np.ndarray):
        drawing = drawing.ravel()[0]
    return drawing.get_figure()


def _cell(value: Any, float_format: str) -> str:
    """One table cell as text: floats with ``float_format``, NaN as ``NaN``."""
    if isinstance(value, (float, np.floating)):
        return "NaN" if math.isnan(value) else format(value, float_format)
    return str(value)


def markdown_table(table: pd.DataFrame, float_format: str = ".4g") -> str:
    """A DataFrame as a GitHub-flavoured Markdown table (index as the first column).

    Parameters
    ----------
    table : pandas.DataFrame
    float_format : str, default=".4g"
        Format specification of float cells.

    Returns
    -------
    str

    Examples
    --------
    >>> import pandas as pd
    >>> from bayesmix.cli.report import markdown_table
    >>> print(markdown_table(pd.DataFrame({"bic": [2314.42, float("nan")]}, index=["EM", "VI"])))
    |  | bic |
    | --- | --- |
    | EM | 2314 |
    | VI | NaN |
    """
    def escape(text: str) -> str:
        return text.replace("|", r"\|").replace("\n", " ")

    header = [str(table.index.name or "")] + [str(column) for column in table.columns]
    lines = ["| " + " | ".join(escape(cell) for cell in header) + " |",
             "|" + " --- |" * len(header)]
    for index, row in table.iterrows():
        cells = [str(index)] + [_cell(value, float_format) for value in row]
        lines.append("| " + " | ".join(escape(cell) for cell in cells) + " |")
    return "\n".join(lines)


@dataclass
class _Block:
    kind: str  # "text", "code", "table" or "figure"
    content: Any
    caption: str = ""
    path: Path | None = None


class Report:
    """Text, tables and figures, saved into ``out_dir`` and laid out as Markdown and HTML.

    Parameters
    ----------
    out_dir : str or Path
        Folder for the PNG, CSV and report files; created when missing.
    title : str, default="bayesmix report"

    Attributes
    ----------
    out_dir : Path
    figures : list of Path
        The PNG files written so far.
    tables : list of Path
        The CSV files written so far.

    Examples
    --------
    >>> import tempfile
    >>> from bayesmix.cli.report import Report
    >>> report = Report(tempfile.mkdtemp(), title="Old Faithful")
    >>> report.add_text("Three components, one shared covariance.")
    >>> print(report.to_markdown())
    # Old Faithful
    <BLANKLINE>
    Three components, one shared covariance.
    <BLANKLINE>
    """

    def __init__(self, out_dir: str | Path, title: str = "bayesmix report") -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.title = title
        self.figures: list[Path] = []
        self.tables: list[Path] = []
        self._blocks: list[_Block] = []

    def _path(self, name: str, suffix: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"file name {name!r} must use letters, digits, '_', '-' or '.'.")
        return self.out_dir / f"{name}{suffix}"

    def add_text(self, text: str) -> None:
        """Add a paragraph of Markdown text (a line starting with ``#`` is a heading).

        Examples
        --------
        >>> import tempfile
        >>> from bayesmix.cli.report import Report
        >>> report = Report(tempfile.mkdtemp())
        >>> report.add_text("## Selection")
        >>> report.add_text("BIC prefers `tied` with **3** components.")
        >>> print(report.to_html().split("<body>")[1].strip().splitlines()[1:3])
        ['<h2>Selection</h2>', '<p>BIC prefers <code>tied</code> with <b>3</b> components.</p>']
        """
        self._blocks.append(_Block("text", text))

    def add_code(self, text: str) -> None:
        """Add preformatted text (e.g. a table exactly as the command printed it).

        Examples
        --------
        >>> import tempfile
        >>> from bayesmix.cli.report import Report
        >>> report = Report(tempfile.mkdtemp(), title="T")
        >>> report.add_code("K  BIC\\n3  2322.0")
        >>> print(report.to_markdown())
        # T
        <BLANKLINE>
        ```text
        K  BIC
        3  2322.0
        ```
        <BLANKLINE>
        """
        self._blocks.append(_Block("code", text))

    def add_table(self, table: pd.DataFrame, name: str | None = None, caption: str = "",
                  float_format: str = ".4g", inline: bool = True) -> Path | None:
        """Add a table to the report, and save it as ``<name>.csv`` when ``name`` is given.

        With ``inline=False`` the report only links the CSV file (e.g. when the same
        table is already shown as preformatted text).

        Returns
        -------
        Path or None
            The CSV file written.

        Examples
        --------
        >>> import tempfile
        >>> import pandas as pd
        >>> from bayesmix.cli.report import Report
        >>> report = Report(tempfile.mkdtemp(), title="T")
        >>> table = pd.DataFrame({"bic": [2322.04]}, index=pd.Index([3], name="K"))
        >>> report.add_table(table, "selection", "BIC by K.").read_text()
        'K,bic\\n3,2322.04\\n'
        >>> print(report.to_markdown().split("\\n\\n")[2])
        | K | bic |
        | --- | --- |
        | 3 | 2322 |
        """
        path = None
        if name is not None:
            path = self._path(name, ".csv")
            table.to_csv(path)
            self.tables.append(path)
        if inline:
            self._blocks.append(_Block("table", (table, float_format), caption, path))
        elif path is not None:
            self.add_text(f"{caption} As CSV: [{path.name}]({path.name}).".lstrip())
        return path

    def add_figure(self, drawing: Any, name: str, caption: str = "") -> Path:
        """Save a figure as ``<name>.png``, close it, and add it to the report.

        Parameters
        ----------
        drawing : Figure, Axes or array of Axes
            What a :mod:`bayesmix.plotting` function returned.
        name : str
            File name without the suffix.
        caption : str, optional

        Returns
        -------
        Path
            The PNG file written.

        Examples
        --------
        >>> import tempfile
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> from bayesmix.cli.report import Report
        >>> report = Report(tempfile.mkdtemp())
        >>> fig, ax = plt.subplots()
        >>> path = report.add_figure(ax, "empty", "Nothing drawn yet.")
        >>> path.read_bytes()[:8] == b"\\x89PNG\\r\\n\\x1a\\n", plt.fignum_exists(fig.number)
        (True, False)
        """
        import matplotlib.pyplot as plt

        figure = figure_of(drawing)
        path = self._path(name, ".png")
        figure.savefig(path, dpi=DPI, bbox_inches="tight", facecolor="white")
        plt.close(figure)
        self.figures.append(path)
        self._blocks.append(_Block("figure", path.name, caption, path))
        return path

    def to_markdown(self) -> str:
        """The report as Markdown; figures and CSV files referenced by relative path.

        Examples
        --------
        >>> import tempfile
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> from bayesmix.cli.report import Report
        >>> report = Report(tempfile.mkdtemp(), title="Figures")
        >>> _ = report.add_figure(plt.subplots()[0], "fit", "The fit.")
        >>> print(report.to_markdown())
        # Figures
        <BLANKLINE>
        ![The fit.](fit.png)
        <BLANKLINE>
        *The fit.*
        <BLANKLINE>
        """
        parts = [f"# {self.title}"]
        for block in self._blocks:
            if block.kind == "text":
                parts.append(block.content)
            elif block.kind == "code":
                parts.append(f"```text\n{block.content}\n```")
            elif block.kind == "table":
                table, float_format = block.content
                if block.caption:
                    parts.append(f"**{block.caption}**")
                parts.append(markdown_table(table, float_format))
                if block.path is not None:
                    parts.append(f"(as CSV: [{block.path.name}]({block.path.name}))")
            else:
                parts.append(f"![{block.caption or block.content}]({block.content})")
                if block.caption:
                    parts.append(f"*{block.caption}*")
        return "\n\n".join(parts) + "\n"

    def to_html(self) -> str:
        """The report as one self-describing HTML page (figures linked, not inlined).

        Examples
        --------
        >>> import tempfile
        >>> from bayesmix.cli.report import Report
        >>> report = Report(tempfile.mkdtemp(), title="A <b> & c")
        >>> report.to_html().splitlines()[1].split("<style>")[0]
        "<html><head><meta charset='utf-8'><title>A &lt;b&gt; &amp; c</title>"
        """
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for block in self._blocks:
            if block.kind == "text":
                body.append(_text_html(block.content))
            elif block.kind == "code":
                body.append(f"<pre>{html.escape(block.content)}</pre>")
            elif block.kind == "table":
                table, float_format = block.content
                caption = f"<p><b>{html.escape(block.caption)}</b></p>" if block.caption else ""
                body.append(caption + table.to_html(
                    float_format=lambda value, spec=float_format: format(value, spec),
                    na_rep="NaN", border=0, classes="table"))
            else:
                caption = html.escape(block.caption)
                body.append(f'<figure><img src="{html.escape(block.content)}" alt="{caption}">'
                            f"<figcaption>{caption}</figcaption></figure>")
        style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
                 "img{max-width:100%}table{border-collapse:collapse;font-size:90%}"
                 "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
                 "pre{background:#f6f6f6;padding:1em;overflow-x:auto}")
        return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
                f"<title>{html.escape(self.title)}</title><style>{style}</style></head>"
                f"<body>\n" + "\n".join(body) + "\n</body></html>\n")

    def write(self) -> list[Path]:
        """Write ``report.md`` and ``report.html`` into ``out_dir``; return their paths.

        Examples
        --------
        >>> import tempfile
        >>> from bayesmix.cli.report import Report
        >>> report = Report(tempfile.mkdtemp(), title="Empty")
        >>> [path.read_text().splitlines()[0] for path in report.write()]
        ['# Empty', '<!DOCTYPE html>']
        """
        markdown = self.out_dir / "report.md"
        markdown.write_text(self.to_markdown(), encoding="utf-8")
        page = self.out_dir / "report.html"
        page.write_text(self.to_html(), encoding="utf-8")
        return [markdown, page]


def _text_html(text: str) -> str:
    """Minimal Markdown to HTML: a heading, or a paragraph with code and bold spans."""
    heading = re.match(r"(#{1,6}) (.*)", text)
    if heading:
        level = len(heading.group(1))
        return f"<h{level}>{html.escape(heading.group(2))}</h{level}>"
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    escaped = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", escaped)
    escaped = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', escaped)
    return f"<p>{escaped}</p>"
