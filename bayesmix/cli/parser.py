"""The argument parser of the ``bayesmix`` command, and the checks of its arguments.

Only the standard library and the registry of covariance structures (NumPy) are imported
here, so ``bayesmix --help``, ``--version`` and a usage error answer at once; the commands
themselves (:mod:`bayesmix.cli.commands`) load the rest.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bayesmix._version import __version__
from bayesmix.covariance import COVARIANCE_TYPES

__all__ = ["BAYES_CRITERIA", "EM_CRITERIA", "FAST_SETTINGS", "METHODS", "CommandError",
           "build_parser", "check_select_options", "parse_components"]

METHODS = ("em", "nuts", "advi", "fullrank_advi")
EM_CRITERIA = ("bic", "icl")
BAYES_CRITERIA = ("loo", "waic")
#: ``select``'s defaults for EM (information criteria over the four structures) and for
#: every posterior back end (predictive density, the ``full`` structure).
_SELECT_DEFAULTS = {
    "em": {"structures": COVARIANCE_TYPES, "criterion": "bic", "criteria": EM_CRITERIA,
           "wrong_criterion": "argument --criterion: {criterion!r} needs posterior draws; "
                              "use --criterion bic or icl with --method em, or --method "
                              "nuts/advi for {criterion}"},
    "posterior": {"structures": ("full",), "criterion": "loo", "criteria": BAYES_CRITERIA,
                  "wrong_criterion": "argument --criterion: {criterion!r} is an EM "
                                     "criterion; use --criterion loo or waic with --method "
                                     "{method}, or --method em for {criterion}"},
}
#: ``--fast``: tiny sampler settings for smoke tests (the diagnostics will complain).
FAST_SETTINGS = {"draws": 200, "tune": 200, "chains": 2, "n_init": 2}


class CommandError(ValueError):
    """A problem with the command's input, reported as one line without a traceback.

    Examples
    --------
    >>> from bayesmix.cli.commands import read_data
    >>> from bayesmix.cli.parser import CommandError
    >>> try:
    ...     read_data("no-such-file.csv")
    ... except CommandError as error:
    ...     print(error)  # doctest: +NORMALIZE_WHITESPACE
    argument DATA: file 'no-such-file.csv' not found; pass the path of a CSV file with a
    header row and one row per observation
    """


# ----------------------------------------------------------------- argument types
class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, with a pointer to ``--help``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _seed(text: str) -> int:
    """argparse type: a random seed, an integer in [0, 2**32 - 1]."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(
            f"expected an integer seed between 0 and 2**32 - 1, got {text!r}")
    return value


def parse_components(text: str) -> list[int]:
    """Parse ``--components``: a range ``1-9``, a list ``2,3,5``, or a mix ``1-3,6``.

    Parameters
    ----------
    text : str

    Returns
    -------
    list of int
        Distinct numbers of components >= 1, in the order given.

    Raises
    ------
    argparse.ArgumentTypeError
        For anything else, with the expected syntax.

    Examples
    --------
    >>> from bayesmix.cli.parser import parse_components
    >>> parse_components("1-4"), parse_components("2,3,5"), parse_components("1-2,6")
    ([1, 2, 3, 4], [2, 3, 5], [1, 2, 6])
    >>> parse_components("3-1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a range such as 1-9 or a list such as 2,3,5 of \
integers >= 1, got '3-1' (a range runs from low to high)
    """
    def fail(why: str = "") -> argparse.ArgumentTypeError:
        return argparse.ArgumentTypeError(
            f"expected a range such as 1-9 or a list such as 2,3,5 of integers >= 1, got "
            f"{text!r}{f' ({why})' if why else ''}")

    values: list[int] = []
    for part in text.replace(" ", "").split(","):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise fail()
        start, stop = int(low), int(high) if dash else int(low)
        if start < 1:
            raise fail("the smallest number of components is 1")
        if stop < start:
            raise fail("a range runs from low to high")
        values.extend(range(start, stop + 1))
    if len(set(values)) != len(values):
        raise fail("a number is repeated")
    return values


def _single_components(text: str) -> int:
    """argparse type of ``fit --components``: one integer >= 1."""
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected one number of components (an integer >= 1, e.g. 3), got {text!r}; "
            f"to try several, use 'bayesmix select'") from None


def _covariance_list(text: str) -> list[str]:
    """argparse type: comma-separated covariance structures, or ``all``."""
    if text.strip() == "all":
        return list(COVARIANCE_TYPES)
    names = [name.strip() for name in text.split(",")]
    unknown = [name for name in names if name not in COVARIANCE_TYPES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown covariance structure {unknown[0]!r}; choose from "
            f"{', '.join(COVARIANCE_TYPES)} (comma-separated, or 'all')")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a structure is repeated in {text!r}")
    return names


def _covariance_name(text: str) -> str:
    """argparse type: one covariance structure."""
    if text not in COVARIANCE_TYPES:
        raise argparse.ArgumentTypeError(
            f"unknown covariance structure {text!r}; choose one of "
            f"{', '.join(COVARIANCE_TYPES)}")
    return text


def _column_list(text: str) -> list[str]:
    """argparse type: comma-separated column names."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated column names such as a,b, got {text!r}")
    return names


# ----------------------------------------------------------------- the parser
def _common_parents() -> dict[str, argparse.ArgumentParser]:
    """Option groups shared by several sub-commands."""
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("data", metavar="DATA", help="CSV file with a header row, one row per "
                      "observation")
    data.add_argument("--columns", type=_column_list, default=None, metavar="A,B,...",
                      help="numeric columns to use, comma-separated (default: all columns)")

    seed = argparse.ArgumentParser(add_help=False)
    seed.add_argument("--seed", type=_seed, default=0, help="random seed (default: 0)")
    seed.add_argument("--n-init", type=_positive_int, default=5,
                      help="EM k-means initialisations per fit; select and demo also start "
                           "every fit from mclust's hierarchical clustering (default: 5)")

    sampler = argparse.ArgumentParser(add_help=False)
    group = sampler.add_argument_group("posterior sampling (--method nuts, advi, fullrank_advi)")
    group.add_argument("--draws", type=_positive_int, default=1000,
                       help="draws per chain (NUTS) or from the approximation (VI); "
                            "default: 1000")
    group.add_argument("--tune", type=_positive_int, default=1000,
                       help="NUTS warm-up iterations per chain (default: 1000)")
    group.add_argument("--chains", type=_positive_int, default=4,
                       help="NUTS chains (default: 4)")
    group.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="show the sampler's progress bar (default: when stderr is a "
                            "terminal)")
    return {"data": data, "seed": seed, "sampler": sampler}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bayesmix`` command, one sub-parser per command.

    Examples
    --------
    >>> from bayesmix.cli.parser import build_parser
    >>> build_parser().parse_args(["demo", "--max-components", "4"]).max_components
    4
    >>> build_parser().parse_args(["select", "data.csv", "--components", "2-4"]).components
    [2, 3, 4]
    """
    parser = _Parser(
        prog="bayesmix",
        description="Gaussian mixture models: a fast EM fitter and a Bayesian model, "
                    "scored side by side.",
    )
    parser.add_argument("--version", action="version", version=f"bayesmix {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parents = _common_parents()

    demo = commands.add_parser(
        "demo", parents=[parents["seed"], parents["sampler"]],
        help="the Old Faithful story: choose K by BIC, fit the posterior, compare, report",
        description="Fit EM on the Old Faithful data for K = 1..MAX_COMPONENTS and the four "
                    "covariance structures, print every fit (degenerate ones flagged) and "
                    "the model chosen by BIC; fit the Bayesian model at the chosen K and "
                    "structure, print the comparison of EM and the posterior, and write "
                    "figures (PNG), tables (CSV) and report.md / report.html into --out.",
    )
    demo.add_argument("--max-components", type=_positive_int, default=6,
                      help="largest number of components tried (default: 6)")
    demo.add_argument("--method", choices=METHODS[1:], default="nuts",
                      help="how the posterior is fitted (default: nuts)")
    demo.add_argument("--fast", action="store_true",
                      help=f"tiny settings for a quick look or a test "
                           f"({', '.join(f'{k}={v}' for k, v in FAST_SETTINGS.items())}); "
                           f"the sampler diagnostics will warn")
    demo.add_argument("--out", type=Path, default=Path("bayesmix-demo"), metavar="DIR",
                      help="folder for the figures and the report (default: ./bayesmix-demo)")

    fit = commands.add_parser(
        "fit", parents=[parents["data"], parents["seed"], parents["sampler"]],
        help="fit one mixture to a CSV file and save it (netCDF, CSV, PNG)",
        description="Fit a Gaussian mixture to the numeric columns of a CSV file and write "
                    "the fitted model (model.nc, read back by bayesmix.load), its "
                    "InferenceData (idata.nc), the tables (CSV), the figures (PNG) and "
                    "report.md into --out.",
    )
    fit.add_argument("--components", "-k", type=_single_components, required=True,
                     metavar="K", help="number of components")
    fit.add_argument("--covariance", type=_covariance_name, default="full",
                     metavar="STRUCTURE", help=f"covariance structure: "
                     f"{', '.join(COVARIANCE_TYPES)} (default: full)")
    fit.add_argument("--method", choices=METHODS, default="em",
                     help="maximum likelihood (em) or the posterior (default: em)")
    fit.add_argument("--out", type=Path, required=True, metavar="DIR",
                     help="folder for model.nc, idata.nc, the tables and the figures")

    select = commands.add_parser(
        "select", parents=[parents["data"], parents["seed"], parents["sampler"]],
        help="choose the number of components (and structure) for a CSV file",
        description="Fit every number of components in --components and choose by BIC or "
                    "ICL (EM) or by LOO or WAIC (a posterior), over every structure in "
                    "--covariance. Print the table; with --out also write "
                    "it as CSV with selection.png.",
    )
    select.add_argument("--components", "-k", type=parse_components,
                        default=list(range(1, 10)), metavar="KS",
                        help="numbers of components: a range 1-9 or a list 2,3,5 "
                             "(default: 1-9)")
    select.add_argument("--method", choices=METHODS, default="em",
                        help="em (BIC/ICL) or a posterior (LOO/WAIC); default: em")
    select.add_argument("--covariance", type=_covariance_list, default=None,
                        metavar="STRUCTURES",
                        help="covariance structures, comma-separated or 'all' (default: all "
                             "four for em; full for a posterior)")
    select.add_argument("--criterion", choices=EM_CRITERIA + BAYES_CRITERIA, default=None,
                        help="bic or icl for em (default: bic); loo or waic for a posterior "
                             "(default: loo)")
    select.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="also write selection.csv, selection.png and report.md here")
    return parser


def check_select_options(args: argparse.Namespace) -> tuple[list[str], str]:
    """The structures and criterion of ``select``, checked against ``--method``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``select`` command line.

    Returns
    -------
    structures : list of str
        ``--covariance``, or its default: every structure for EM, ``full`` otherwise.
    criterion : str
        ``--criterion``, or its default: ``bic`` for EM, ``loo`` otherwise.

    Raises
    ------
    CommandError
        For a criterion that does not apply to ``--method``.

    Examples
    --------
    >>> from bayesmix.cli.parser import build_parser, check_select_options
    >>> check_select_options(build_parser().parse_args(["select", "data.csv"]))
    (['full', 'tied', 'diag', 'spherical'], 'bic')
    >>> check_select_options(build_parser().parse_args(
    ...     ["select", "data.csv", "--criterion", "waic"]))  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    bayesmix.cli.parser.CommandError: argument --criterion: 'waic' needs posterior draws; \
use --criterion bic or icl with --method em, or --method nuts/advi for waic
    """
    defaults = _SELECT_DEFAULTS.get(args.method, _SELECT_DEFAULTS["posterior"])
    structures = args.covariance or list(defaults["structures"])
    criterion = args.criterion or defaults["criterion"]
    if criterion not in defaults["criteria"]:
        raise CommandError(defaults["wrong_criterion"].format(criterion=criterion,
                                                              method=args.method))
    return structures, criterion
    structures = args.covariance or ["full"]
    criterion = args.criterion or "loo"
    if criterion not in BAYES_CRITERIA:
        raise CommandError(f"argument --criterion: {criterion!r} is an EM criterion; use "
                           f"--criterion loo or waic with --method {args.method}, or "
                           f"--method em for {criterion}")
    return structures, criterion
