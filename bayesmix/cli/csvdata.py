"""Reading the CSV files of the ``bayesmix`` command, as real exports come.

A file is read with its separator sniffed from its first lines (``,``, ``;``, tab or
``|``) unless ``--sep`` names it, decimal commas recognised in a file that does not
separate with commas (``--decimal`` to say so), in the encoding ``--encoding`` names
(UTF-8 by default), and never with a column of data turned into the index. The features
are its numeric columns (``--columns`` to choose them, ``--exclude`` to leave some out);
the others are named in :attr:`CsvData.ignored`. Every problem is a
:class:`~bayesmix.cli.parser.CommandError` saying what is wrong and what to pass.
"""

from __future__ import annotations

import csv
import itertools
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayesmix.cli.parser import CommandError

__all__ = ["CsvData", "read_data"]

#: Separators tried when ``--sep`` is not given, in order of preference.
SEPARATORS = (",", ";", "\t", "|")
#: Lines read to sniff the separator and the decimal mark.
SNIFF_LINES = 50
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+(?:[eE][-+]?\d+)?\s*$")
_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


@dataclass
class CsvData:
    """A CSV file as the command reads it.

    Attributes
    ----------
    table : pandas.DataFrame
        Every column of the file, as read.
    features : pandas.DataFrame
        The columns fitted: numeric, as floats (NaN where a cell is empty).
    ignored : list of str
        The columns of ``table`` left out of ``features`` (not numeric, or excluded).
    separator, decimal : str
        The separator and decimal mark the file was read with.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bayesmix.cli.csvdata import read_data
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "data.csv"
    >>> _ = path.write_text("name;x;y\\na;1,5;2\\nb;1,0;3\\nc;2,5;1\\n")
    >>> data = read_data(path)
    >>> data.features.columns.tolist(), data.ignored, data.separator, data.decimal
    (['x', 'y'], ['name'], ';', ',')
    >>> data.describe()
    "3 rows of 'data.csv' (separator ';', decimal ','), features x, y"
    """

    table: pd.DataFrame
    features: pd.DataFrame
    ignored: list[str] = field(default_factory=list)
    separator: str = ","
    decimal: str = "."
    path: Path = Path()

    def describe(self) -> str:
        """What was read, in words: rows, file, separator, decimal mark, features.

        Examples
        --------
        >>> import pandas as pd
        >>> from bayesmix.cli.csvdata import CsvData
        >>> frame = pd.DataFrame({"x": [1.0, 2.0]})
        >>> CsvData(frame, frame, path=Path("d.csv")).describe()
        "2 rows of 'd.csv' (separator ',', decimal '.'), features x"
        """
        n_missing = int(self.features.isna().to_numpy().sum())
        missing = (f"; {n_missing} missing value(s), fitted on each row's observed "
                   f"features" if n_missing else "")
        return (f"{len(self.features)} rows of '{self.path.name}' (separator "
                f"{_NAMES.get(self.separator, repr(self.separator))}, decimal "
                f"{self.decimal!r}), features {', '.join(self.features.columns)}{missing}")


def read_data(path: str | Path, columns: Sequence[str] | None = None,
              exclude: Sequence[str] = (), sep: str | None = None,
              decimal: str | None = None, encoding: str = "utf-8",
              min_rows: int = 2) -> CsvData:
    """Read a CSV file and choose its features, with one-line errors naming the fix.

    Parameters
    ----------
    path : str or Path
        A CSV file with a header row, one row per observation.
    columns : sequence of str, optional
        The features (``--columns``); every numeric column when omitted.
    exclude : sequence of str, default=()
        Columns left out of the default features (``--exclude``).
    sep : str, optional
        The separator (``--sep``); sniffed from the first lines when omitted.
    decimal : str, optional
        The decimal mark (``--decimal``); ``,`` when the file does not separate with
        commas and its numbers are written ``1,5``, ``.`` otherwise.
    encoding : str, default="utf-8"
        The text encoding (``--encoding``), e.g. ``latin-1``.
    min_rows : int, default=2
        The fewest data rows accepted.

    Returns
    -------
    CsvData

    Raises
    ------
    CommandError
        For a missing, empty, header-only, ragged or undecodable file, an unknown or
        non-numeric column, a row or feature without any value, or too few rows (other
        empty cells are missing values, which the models fit).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bayesmix.cli.csvdata import read_data
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "data.csv").write_text("name,x,y\\na,1.0,2\\nb,1.5,3\\nc,2.0,1\\n")
    >>> read_data(folder / "data.csv", exclude=["y"]).features.columns.tolist()
    ['x']
    >>> _ = (folder / "header.csv").write_text("x,y\\n")
    >>> read_data(folder / "header.csv")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    bayesmix.cli.parser.CommandError: argument DATA: 'header.csv' has a header (x, y) but
    no data rows; pass a file with one row per observation under its header
    """
    file = _existing_file(path)
    lines = _first_lines(file, encoding)
    separator = sep or _sniff_separator(lines)
    decimal = decimal or _sniff_decimal(lines, separator)
    _check_fields(file, encoding, separator)
    table = _read_table(file, separator, decimal, encoding)
    features, ignored = _choose_features(table, file.name, columns, exclude, separator)
    _check_missing(features, file.name)
    if len(features) < min_rows:
        raise CommandError(f"argument DATA: '{file.name}' has {len(features)} data row(s), "
                           f"fewer than the {min_rows} needed; pass more rows")
    return CsvData(table, features.astype(float), ignored, separator, decimal, file)


def _existing_file(path: str | Path) -> Path:
    """``path`` as a file that exists and is not empty."""
    file = Path(path)
    if not file.exists():
        raise CommandError(f"argument DATA: file '{path}' not found; pass the path of a CSV "
                           f"file with a header row and one row per observation")
    if file.is_dir():
        raise CommandError(f"argument DATA: '{path}' is a folder; pass the path of a CSV file")
    if not file.read_bytes()[:4096].strip():
        raise CommandError(f"argument DATA: '{file.name}' is empty; pass a CSV file with a header "
                           f"row and one row per observation")
    return file


def _first_lines(file: Path, encoding: str) -> list[str]:
    """The first non-blank lines of ``file``, decoded (the whole file is checked)."""
    try:
        with file.open(encoding=encoding, newline="") as stream:
            for _ in stream:  # decode everything once: a bad byte anywhere is found here
                pass
            stream.seek(0)
            return [line for line in itertools.islice(stream, SNIFF_LINES * 2)
                    if line.strip()][:SNIFF_LINES]
    except UnicodeDecodeError as exc:
        other = "latin-1" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") \
            else "utf-8"
        raise CommandError(
            f"argument --encoding: cannot read '{file.name}' as CSV text in encoding "
            f"{encoding!r} (byte 0x{exc.object[exc.start]:02x} at position {exc.start} is "
            f"not valid); pass the file's encoding, e.g. --encoding {other}") from None


def _field_counts(lines: Iterable[str], separator: str) -> list[int]:
    """The number of fields of each non-blank line, quotes respected."""
    return [len(row) for row in csv.reader(lines, delimiter=separator) if row]


def _sniff_separator(lines: list[str]) -> str:
    """The separator that splits every sampled line into the same number (> 1) of fields,
    the most fields winning; ``,`` when none does."""
    consistent = {}
    for separator in SEPARATORS:
        counts = set(_field_counts(lines, separator))
        if len(counts) == 1 and counts != {1}:
            consistent[separator] = counts.pop()
    return max(consistent, key=consistent.get) if consistent else ","


def _sniff_decimal(lines: list[str], separator: str) -> str:
    """``,`` when the file does not separate with commas and writes numbers ``1,5``."""
    if separator == ",":
        return "."
    rows = csv.reader(lines[1:], delimiter=separator)
    return "," if any(_DECIMAL_COMMA.match(cell) for row in rows for cell in row) else "."


def _check_fields(file: Path, encoding: str, separator: str) -> None:
    """Refuse a line with more or fewer fields than the header."""
    with file.open(encoding=encoding, newline="") as stream:
        rows = csv.reader(stream, delimiter=separator)
        header = next(rows)
        for row in rows:
            if row and len(row) != len(header):
                raise CommandError(
                    f"argument DATA: line {rows.line_num} of '{file.name}' has {len(row)} "
                    f"field(s) where the header has {len(header)} (separator "
                    f"{_NAMES.get(separator, repr(separator))}); fix that line, or pass "
                    f"the file's separator with --sep")


def _read_table(file: Path, separator: str, decimal: str, encoding: str) -> pd.DataFrame:
    """The whole file, every column as data (no index), names as strings."""
    try:
        table = pd.read_csv(file, sep=separator, decimal=decimal, encoding=encoding,
                            index_col=False)
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise CommandError(f"argument DATA: cannot read '{file.name}' as CSV ({reason}); "
                           f"pass a text file with a header row, or its --sep") from None
    table.columns = [str(name) for name in table.columns]
    if table.empty:
        raise CommandError(f"argument DATA: '{file.name}' has a header "
                           f"({', '.join(table.columns)}) but no data rows; pass a file "
                           f"with one row per observation under its header")
    return table


def _is_numeric(column: pd.Series) -> bool:
    dtype = column.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _columns_option(names: Sequence[str]) -> str:
    """``--columns a,b`` quoted for the shell."""
    return f"--columns {shlex.quote(','.join(names))}"


def _check_known(table: pd.DataFrame, names: Sequence[str], option: str, file: str) -> None:
    """Refuse a name that is not a column, or a repeated one."""
    unknown = [name for name in names if name not in table.columns]
    if unknown:
        raise CommandError(f"argument {option}: no column {unknown[0]!r} in '{file}'; its "
                           f"columns are {', '.join(table.columns)}")
    if len(set(names)) != len(names):
        raise CommandError(f"argument {option}: a column is repeated in {','.join(names)}; "
                           f"name each column once")


def _choose_features(table: pd.DataFrame, file: str, columns: Sequence[str] | None,
                     exclude: Sequence[str], separator: str
                     ) -> tuple[pd.DataFrame, list[str]]:
    """The features and the ignored columns, from ``--columns`` or ``--exclude``."""
    numeric = [name for name in table.columns if _is_numeric(table[name])]
    if columns is not None:
        _check_known(table, columns, "--columns", file)
        for name in columns:
            if name not in numeric:
                values = table[name].dropna()
                example = f", e.g. {values.iloc[0]!r}" if len(values) else ""
                fix = (f"choose numeric columns, e.g. {_columns_option(numeric)}"
                       if numeric else "convert it to numbers first")
                raise CommandError(f"argument --columns: column {name!r} of '{file}' is not "
                                   f"numeric (dtype {table[name].dtype}{example}); {fix}")
        chosen = list(columns)
    else:
        _check_known(table, exclude, "--exclude", file)
        chosen = [name for name in numeric if name not in exclude]
    if not chosen:
        raise CommandError(
            f"argument DATA: no numeric column to fit in '{file}' (columns "
            f"{', '.join(table.columns)}, read with separator "
            f"{_NAMES.get(separator, repr(separator))}); pass the file's --sep and --decimal "
            f"(e.g. --sep ';' --decimal ','), or convert the columns to numbers")
    ignored = [name for name in table.columns if name not in chosen]
    return table[chosen], ignored


def _check_missing(features: pd.DataFrame, file: str) -> None:
    """Refuse a row with no feature value or a feature with no value, naming them.

    Other missing values (empty cells) are fitted: the models use each row's observed
    features.
    """
    missing = features.isna().to_numpy()
    empty_rows = np.flatnonzero(missing.all(axis=1))
    if empty_rows.size:
        listed = ", ".join(str(row + 1) for row in empty_rows[:10])
        more = f" and {empty_rows.size - 10} more" if empty_rows.size > 10 else ""
        raise CommandError(
            f"argument DATA: {empty_rows.size} data row(s) of '{file}' have no value in any "
            f"feature (data row(s) {listed}{more}); remove those rows, or choose other "
            f"features with --columns")
    empty_columns = np.flatnonzero(missing.all(axis=0))
    if empty_columns.size:
        name = str(features.columns[empty_columns[0]])
        raise CommandError(
            f"argument DATA: column {name!r} of '{file}' has no value; leave it out with "
            f"--exclude {shlex.quote(name)}")
