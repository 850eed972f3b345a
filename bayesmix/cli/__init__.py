"""The ``bayesmix`` command.

``bayesmix demo [--fast] [--out DIR]``
    the Old Faithful story end to end: choose K and the covariance structure by BIC with
    EM (every fit listed, degenerate fits flagged), fit the Bayesian model at the chosen K
    and structure with NUTS, print the selection table and the comparison of EM and the
    posterior, and write PNG figures, the tables as CSV and ``report.md`` /
    ``report.html`` into ``DIR`` (``./bayesmix-demo/`` by default).
``bayesmix fit DATA.csv --components K --covariance full --method em --out DIR``
    fit one model (``--method em|nuts|advi|fullrank_advi``) to the numeric columns of a
    CSV file (the others are named and ignored; ``--columns a,b`` or ``--exclude c`` to
    choose) and write the fitted model as ``DIR/model.nc`` (``bayesmix.load`` and
    ``bayesmix predict`` read it back), its InferenceData as ``DIR/idata.nc``, the
    tables as CSV (parameters, scores, the rows of the data with their clusters in
    ``assignments.csv``; the ArviZ summary of a posterior), the figures as PNG and a
    ``report.md``. ``--standardize`` fits to centred, scaled columns.
``bayesmix select DATA.csv --components 1-9 --method em|nuts|advi|fullrank_advi``
    choose the number of components (and, with EM, the covariance structure) by BIC or
    ICL (EM) or LOO or WAIC (posterior); print the table, and with ``--out DIR`` write it
    as CSV with ``selection.png`` (the criterion against K).
``bayesmix predict MODEL.nc DATA.csv --out labelled.csv``
    the rows of a CSV file with the component, the uncertainty and the probabilities of
    a saved model appended.

Every CSV file is read with its separator sniffed (``--sep`` to name it), decimal commas
recognised (``--decimal``), in UTF-8 unless ``--encoding`` says otherwise. A command
checks where it will write before it fits, and replaces the files of an earlier run only
with ``--overwrite``.

Every sub-command has ``--help``. Errors print one line to stderr
(``bayesmix fit: error: ...``, naming the argument, the value and what to do) and exit
non-zero, without a traceback. Progress messages of long steps go to stderr; warnings of
bayesmix (sampler diagnostics, convergence) are printed there as one line each.

The parser (:mod:`bayesmix.cli.parser`) needs only the standard library, so ``--help``,
``--version`` and usage errors do not wait for the numerical stack; the commands
(:mod:`bayesmix.cli.commands`) are imported once the arguments are valid.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from bayesmix.cli.parser import build_parser

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bayesmix`` command; return its exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        0 on success, 1 when the command failed (one line on stderr), 2 for bad usage.
        Set the environment variable ``BAYESMIX_DEBUG=1`` to see the traceback of an
        unexpected error instead.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bayesmix import load_old_faithful
    >>> from bayesmix.cli import main
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "faithful.csv"
    >>> load_old_faithful().to_csv(path, index=False)
    >>> main(["select", str(path), "--components", "1-4", "--covariance", "tied"])
    ... # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    EM fits to 272 rows of 'faithful.csv' (separator ',', decimal '.'), features eruptions,
    waiting.
    ...
    *  3      tied  ...
    ...
    Chosen by lowest BIC among non-degenerate fits: n_components=3, covariance_type='tied'.
    0
    """
    args = build_parser().parse_args(argv)
    from bayesmix.cli import commands

    try:
        commands.run(args)
    except KeyboardInterrupt:
        print(f"bayesmix {args.command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError) as exc:
        print(f"bayesmix {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a command line prints one line, not a traceback
        if os.environ.get("BAYESMIX_DEBUG"):
            raise
        print(f"bayesmix {args.command}: error: unexpected {type(exc).__name__}: "
              f"{_one_line(exc)} (set BAYESMIX_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    return 0


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__
