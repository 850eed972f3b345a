"""Reading the CSV files of the ``bayesmix`` command, as real exports come.

A file is read with its separator sniffed from its first lines (``,``, ``;``, tab or
``|``) unless ``--sep`` names it, decimal commas recognised in a file that does not
separate with commas (``--decimal`` to say so), in the encoding ``--encoding`` names
(UTF-8 by default), and never with a column of data turned into the index. The features
are its numeric columns (``--columns`` to choose them, ``--exclude`` to leave some out);
the others are named in :attr:`CsvData.ignored`. A column of numbers with a cell that is
not a number is refused, not ignored. Every problem is a
:class:`~bayesmix.cli.parser.CommandError` saying what is wrong and what to pass; rows are
named by their data row, counted from 1 under the header.
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
#: A number as pandas reads one, ``{decimal}`` standing for the decimal mark.
_NUMBER = r"\s*[-+]?(?:(?:\d+(?:{decimal}\d*)?|{decimal}\d+)(?:[eE][-+]?\d+)?|inf(?:inity)?)\s*"
#: The argument messages name when the features are a saved model's (``predict``).
_MODEL = "DATA"
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
              min_rows: int = 2, for_model: bool = False) -> CsvData:
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
    for_model : bool, default=False
        ``columns`` are a saved model's features (``predict``): messages ask for a file
        that has them, not for ``--columns`` or ``--exclude``.

    Returns
    -------
    CsvData

    Raises
    ------
    CommandError
        For a missing, empty, header-only, ragged or undecodable file, a column named
        twice, a decimal mark equal to the separator, an unknown or non-numeric column, a
        cell that is not a number in a column of numbers, exclusions that leave no
        column, a row or feature without any value, an infinite value, or too few rows
        (other empty cells are missing values, which the models fit).

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
    _check_decimal(decimal, separator, sep is None, file.name)
    _check_fields(file, encoding, separator)
    table = _read_table(file, separator, decimal, encoding)
    choice = _MODEL if for_model else "--exclude" if columns is None else "--columns"
    candidates = [name for name in columns or table.columns
                  if name in table.columns and name not in exclude]
    _check_numbers(table[candidates], file.name, decimal, choice)
    features, ignored = _choose_features(table, file.name, columns, exclude, separator,
                                         choice)
    _check_missing(features, file.name, choice)
    _check_finite(features, file.name)
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


def _check_decimal(decimal: str, separator: str, sniffed: bool, file: str) -> None:
    """Refuse a decimal mark that is also the separator: no number could be read."""
    if decimal == separator:
        how = "sniffed from its first lines" if sniffed else "given by --sep"
        raise CommandError(
            f"argument --decimal: {decimal!r} is also the separator of '{file}' ({how}); "
            f"pass the file's decimal mark (e.g. --decimal '.') and its separator (e.g. "
            f"--sep ';'), which differ")


def _check_fields(file: Path, encoding: str, separator: str) -> None:
    """Refuse a header naming a column twice, or a line with more or fewer fields than
    the header."""
    with file.open(encoding=encoding, newline="") as stream:
        rows = csv.reader(stream, delimiter=separator)
        header = next(rows)
        _check_header(header, file.name)
        for row in rows:
            if row and len(row) != len(header):
                raise CommandError(
                    f"argument DATA: line {rows.line_num} of '{file.name}' has {len(row)} "
                    f"field(s) where the header has {len(header)} (separator "
                    f"{_NAMES.get(separator, repr(separator))}); fix that line, or pass "
                    f"the file's separator with --sep")


def _check_header(header: Sequence[str], file: str) -> None:
    """Refuse a column name given twice (pandas would rename the second ``a.1``)."""
    named = [name for name in header if name.strip()]
    repeated = next((name for name in named if named.count(name) > 1), None)
    if repeated is not None:
        raise CommandError(f"argument DATA: the header of '{file}' names column {repeated!r} "
                           f"twice; give each column its own name")


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


def _data_rows(rows: Sequence[int]) -> str:
    """Rows of the table (0-based positions) as messages name them: ``data row 3``, or
    ``data rows 3, 8`` and how many more after ten, counted from 1 under the header."""
    listed = ", ".join(str(row + 1) for row in rows[:10])
    more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
    return f"data row{'s' if len(rows) > 1 else ''} {listed}{more}"


def _leave_out(name: str, chosen: Sequence[str], choice: str) -> str | None:
    """How to fit without column ``name`` of the ``chosen`` ones: ``--exclude`` it, or
    ``--columns`` the others; ``None`` for a saved model's feature, which is needed."""
    if choice == _MODEL:
        return None
    if choice == "--exclude":
        return f"leave the column out with --exclude {shlex.quote(name)}"
    others = [other for other in chosen if other != name]
    return (f"leave the column out with {_columns_option(others)}" if others
            else "choose other columns with --columns")


def _check_numbers(table: pd.DataFrame, file: str, decimal: str, choice: str) -> None:
    """Refuse a column of numbers with a cell that is not one, naming the first such cell
    (a column without any number, such as names, is text: not a feature).

    Parameters
    ----------
    table : pandas.DataFrame
        The columns that may be features: those ``--columns`` names, or every column but
        those ``--exclude`` names.
    file : str
        The file's name, for the message.
    decimal : str
        The decimal mark the numbers are written with.
    choice : str
        The argument that chooses the features (``--columns``, ``--exclude``, or
        ``DATA`` for a saved model's), for the fix.
    """
    number = re.compile(_NUMBER.format(decimal=re.escape(decimal)), re.IGNORECASE)
    for name in table.columns:
        if _is_numeric(table[name]):
            continue
        cells = table[name].dropna().astype(str)
        is_number = cells.map(number.fullmatch).notna()
        if is_number.any() and not is_number.all():
            row = cells.index[~is_number.to_numpy()][0]
            leave_out = _leave_out(name, table.columns, choice)
            raise CommandError(
                f"argument DATA: column {name!r} of '{file}' holds numbers but "
                f"{_data_rows([row])} has {cells.loc[row]!r}; correct that cell, or leave it "
                f"empty (a missing value){f', or {leave_out}' if leave_out else ''}")


def _check_known(table: pd.DataFrame, names: Sequence[str], option: str, file: str) -> None:
    """Refuse a name that is not a column, or a repeated one; ``option`` is the argument
    that gives the names (``DATA`` for a saved model's features)."""
    unknown = [name for name in names if name not in table.columns]
    if unknown:
        wanted = (f"; pass a file with the model's features {', '.join(names)}"
                  if option == _MODEL else "")
        raise CommandError(f"argument {option}: no column {unknown[0]!r} in '{file}'; its "
                           f"columns are {', '.join(table.columns)}{wanted}")
    if len(set(names)) != len(names):
        raise CommandError(f"argument {option}: a column is repeated in {','.join(names)}; "
                           f"name each column once")


def _choose_features(table: pd.DataFrame, file: str, columns: Sequence[str] | None,
                     exclude: Sequence[str], separator: str, choice: str
                     ) -> tuple[pd.DataFrame, list[str]]:
    """The features and the ignored columns, from ``--columns`` (or a model's features,
    ``choice`` naming which) or ``--exclude``."""
    numeric = [name for name in table.columns if _is_numeric(table[name])]
    if columns is not None:
        _check_known(table, columns, choice, file)
        for name in columns:
            if name not in numeric:
                values = table[name].dropna()
                example = f", e.g. {values.iloc[0]!r}" if len(values) else ""
                fix = (f"choose numeric columns, e.g. {_columns_option(numeric)}"
                       if numeric and choice == "--columns" else "convert it to numbers first")
                raise CommandError(f"argument {choice}: column {name!r} of '{file}' is not "
                                   f"numeric (dtype {table[name].dtype}{example}); {fix}")
        chosen = list(columns)
    else:
        _check_known(table, exclude, "--exclude", file)
        chosen = [name for name in numeric if name not in exclude]
    if not chosen and numeric:
        raise CommandError(f"argument --exclude: excluding {','.join(exclude)} leaves no "
                           f"column to fit in '{file}' (its numeric columns are "
                           f"{', '.join(numeric)}); exclude fewer columns")
    if not chosen:
        raise CommandError(
            f"argument DATA: no numeric column to fit in '{file}' (columns "
            f"{', '.join(table.columns)}, read with separator "
            f"{_NAMES.get(separator, repr(separator))}); pass the file's --sep and --decimal "
            f"(e.g. --sep ';' --decimal ','), or convert the columns to numbers")
    ignored = [name for name in table.columns if name not in chosen]
    return table[chosen], ignored


def _check_missing(features: pd.DataFrame, file: str, choice: str) -> None:
    """Refuse a row with no feature value or a feature with no value, naming them, with
    the fix ``choice`` (the argument that chose the features) allows.

    Other missing values (empty cells) are fitted: the models use each row's observed
    features.
    """
    missing = features.isna().to_numpy()
    empty_rows = np.flatnonzero(missing.all(axis=1))
    if empty_rows.size:
        other_features = "" if choice == _MODEL else ", or choose other features with --columns"
        raise CommandError(
            f"argument DATA: {empty_rows.size} data row(s) of '{file}' have no value in any "
            f"feature ({_data_rows(empty_rows)}); remove those rows{other_features}")
    empty_columns = np.flatnonzero(missing.all(axis=0))
    if empty_columns.size:
        name = str(features.columns[empty_columns[0]])
        leave_out = _leave_out(name, features.columns, choice)
        raise CommandError(
            f"argument DATA: column {name!r} of '{file}' has no value; "
            f"{leave_out or 'fill it in: the model needs its values'}")


def _check_finite(features: pd.DataFrame, file: str) -> None:
    """Refuse an infinite value (``inf`` in the file), naming its rows and columns."""
    infinite = np.isinf(features.to_numpy())
    rows = np.flatnonzero(infinite.any(axis=1))
    if rows.size:
        columns = features.columns[infinite.any(axis=0)]
        raise CommandError(
            f"argument DATA: {rows.size} data row(s) of '{file}' hold an infinite value "
            f"({_data_rows(rows)}; column(s) {', '.join(columns)}); write a finite number "
            f"there, or leave the cell empty (a missing value)")
