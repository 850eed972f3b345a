"""The argument parser of the ``bayesmix`` command, and the checks of its arguments.

Only the standard library and the registry of covariance structures (NumPy) are imported
here, so ``bayesmix --help``, ``--version`` and a usage error answer at once; the commands
themselves (:mod:`bayesmix.cli.commands`) load the rest. Its length (about 700 lines, a
third of them docstrings) is that of every command's options and their checks, kept
together so that each usage error is answered before anything heavy is imported.
"""

from __future__ import annotations

import argparse
import codecs
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bayesmix._version import __version__
from bayesmix.covariance import (
    COVARIANCE_TYPES,
    MCLUST_MODELS,
    get_structure,
    posterior_structures,
)

__all__ = ["BAYES_CRITERIA", "DEMO_METHODS", "EM_CRITERIA", "FAMILIES", "FAST_SETTINGS",
           "METHODS", "CommandError", "build_parser", "check_covariance_for_features",
           "check_family_options", "check_output_file", "check_output_folder",
           "check_prior_option", "check_select_options", "fits_posterior",
           "parse_components"]

#: ``--method``: EM (maximum likelihood) first, then the posterior back ends.
METHODS = ("em", "nuts", "advi", "fullrank_advi", "gibbs")
#: The posteriors ``demo`` may fit: those of every covariance structure it may choose
#: (the Gibbs sampler fits full covariances only).
DEMO_METHODS = ("nuts", "advi", "fullrank_advi")
#: The component families (``--family``): those of :func:`bayesmix.select_em`.
FAMILIES = ("gaussian", "student_t")
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
#: The structures' names, as messages list them.
_KNOWN_NAMES = (f"{', '.join(COVARIANCE_TYPES)} or mclust's {', '.join(MCLUST_MODELS)} "
                f"(E, V for one feature)")
#: The structures mclust fits a conjugate prior for (``--prior``), as messages list them.
_WITH_PRIOR = tuple(name for name in (*COVARIANCE_TYPES, *MCLUST_MODELS)
                    if get_structure(name).supports_prior)
#: ``--fast``: tiny sampler settings for smoke tests (the diagnostics will complain).
FAST_SETTINGS = {"draws": 200, "tune": 200, "chains": 2, "n_init": 2}


class CommandError(ValueError):
    """A problem with the command's input, reported as one line without a traceback.

    Examples
    --------
    >>> from bayesmix.cli.csvdata import read_data
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


def _covariance_name(text: str) -> str:
    """argparse type: one covariance structure, by any name the registry knows."""
    try:
        get_structure(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown covariance structure {text!r}; choose one of {_KNOWN_NAMES}") from None
    return text


def _covariance_list(text: str) -> list[str] | str:
    """argparse type: comma-separated covariance structures, or ``mclust``."""
    if text.strip() == "mclust":
        return "mclust"
    names = [name.strip() for name in text.split(",")]
    for name in names:
        try:
            get_structure(name)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"unknown covariance structure {name!r}; choose from {_KNOWN_NAMES} "
                f"(comma-separated), or 'mclust' for all 14 of mclust's models") from None
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a structure is repeated in {text!r}")
    return names


def _column_list(text: str) -> list[str]:
    """argparse type: comma-separated column names."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated column names such as a,b, got {text!r}")
    return names


def _feature_pair(text: str) -> list[str]:
    """argparse type of ``--features``: two different column names."""
    names = _column_list(text)
    if len(names) != 2 or names[0] == names[1]:
        raise argparse.ArgumentTypeError(
            f"expected two different column names such as a,b, got {text!r}")
    return names


def _one_character(text: str) -> str:
    """argparse type of ``--sep`` and ``--decimal``: one character (``\\t`` for a tab)."""
    value = "\t" if text in ("\\t", "tab") else text
    if len(value) != 1 or value in ('"', "\n", "\r"):
        raise argparse.ArgumentTypeError(
            f"expected one character such as ';' (or '\\t' for a tab), got {text!r}")
    return value


def _encoding(text: str) -> str:
    """argparse type of ``--encoding``: a text encoding Python knows."""
    try:
        return codecs.lookup(text).name
    except LookupError:
        raise argparse.ArgumentTypeError(
            f"unknown encoding {text!r}; pass one such as utf-8, latin-1 or cp1252"
        ) from None


# ----------------------------------------------------------------- the parser
def _family_list(text: str) -> list[str]:
    """argparse type: comma-separated component families."""
    names = [name.strip() for name in text.split(",")]
    unknown = [name for name in names if name not in FAMILIES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown family {unknown[0]!r}; choose from {', '.join(FAMILIES)} "
            f"(comma-separated)")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a family is repeated in {text!r}")
    return names


def _common_parents() -> dict[str, argparse.ArgumentParser]:
    """Option groups shared by several sub-commands."""
    reading = argparse.ArgumentParser(add_help=False)
    group = reading.add_argument_group("reading the CSV file")
    group.add_argument("--sep", type=_one_character, default=None, metavar="CHAR",
                       help="column separator, e.g. ';' or '\\t' (default: sniffed from "
                            "the first lines among , ; tab |)")
    group.add_argument("--decimal", type=_one_character, default=None, metavar="CHAR",
                       help="decimal mark (default: ',' when the separator is not a comma "
                            "and numbers are written 1,5; '.' otherwise)")
    group.add_argument("--encoding", type=_encoding, default="utf-8",
                       help="text encoding, e.g. latin-1 or cp1252 (default: utf-8)")

    data = argparse.ArgumentParser(add_help=False, parents=[reading])
    data.add_argument("data", metavar="DATA", help="CSV file with a header row, one row per "
                      "observation")
    choice = data.add_mutually_exclusive_group()
    choice.add_argument("--columns", type=_column_list, default=None, metavar="A,B,...",
                        help="columns to fit, comma-separated (default: every numeric "
                             "column; the others are named and ignored)")
    choice.add_argument("--exclude", type=_column_list, default=[], metavar="A,B,...",
                        help="numeric columns to leave out, comma-separated")
    data.add_argument("--standardize", action="store_true",
                      help="fit to each column centred and scaled to unit standard "
                           "deviation; parameters are reported in both units")

    overwrite = argparse.ArgumentParser(add_help=False)
    overwrite.add_argument("--overwrite", action="store_true",
                           help="replace the files of an earlier run in --out (refused "
                                "otherwise)")

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
    return {"data": data, "reading": reading, "seed": seed, "sampler": sampler,
            "overwrite": overwrite}


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
        "demo", parents=[parents["seed"], parents["sampler"], parents["overwrite"]],
        help="the Old Faithful story: choose K by BIC, fit the posterior, compare, report",
        description="Fit EM on the Old Faithful data for K = 1..MAX_COMPONENTS and the four "
                    "covariance structures, print every fit (degenerate ones flagged) and "
                    "the model chosen by BIC; fit the Bayesian model at the chosen K and "
                    "structure, print the comparison of EM and the posterior, and write "
                    "figures (PNG), tables (CSV) and report.md / report.html into --out.",
    )
    demo.add_argument("--max-components", type=_positive_int, default=6,
                      help="largest number of components tried (default: 6)")
    demo.add_argument("--method", choices=DEMO_METHODS, default="nuts",
                      help="how the posterior is fitted (default: nuts)")
    demo.add_argument("--fast", action="store_true",
                      help=f"tiny settings for a quick look or a test "
                           f"({', '.join(f'{k}={v}' for k, v in FAST_SETTINGS.items())}); "
                           f"the sampler diagnostics will warn")
    demo.add_argument("--out", type=Path, default=Path("bayesmix-demo"), metavar="DIR",
                      help="folder for the figures and the report (default: ./bayesmix-demo)")

    fit = commands.add_parser(
        "fit", parents=[parents["data"], parents["seed"], parents["sampler"],
                        parents["overwrite"]],
        help="fit one mixture to a CSV file and save it (netCDF, CSV, PNG)",
        description="Fit a Gaussian mixture to the numeric columns of a CSV file and write "
                    "the fitted model (model.nc, read back by bayesmix.load), its "
                    "InferenceData (idata.nc), the tables (CSV), the figures (PNG) and "
                    "report.md into --out.",
    )
    fit.add_argument("--components", "-k", type=_single_components, required=True,
                     metavar="K", help="number of components")
    fit.add_argument("--covariance", type=_covariance_name, default="full",
                     metavar="STRUCTURE", help=f"covariance structure: {_KNOWN_NAMES} "
                     f"(default: full)")
    fit.add_argument("--prior", action="store_true",
                     help="EM only: fit the posterior mode under mclust's default conjugate "
                          "prior (MAP-EM), which keeps components from collapsing")
    fit.add_argument("--method", choices=METHODS, default="em",
                     help="maximum likelihood (em) or the posterior: nuts, advi, "
                          "fullrank_advi, or gibbs (conjugate, full covariances) "
                          "(default: em)")
    fit.add_argument("--family", choices=FAMILIES, default="gaussian",
                     help="the components' distribution: gaussian, or student_t (heavy "
                          "tails; em, nuts, advi, fullrank_advi) (default: gaussian)")
    fit.add_argument("--noise", action="store_true",
                     help="EM only: add a uniform noise component for scattered, outlying "
                          "rows (mclust's noise); its rows are labelled -1")
    fit.add_argument("--out", type=Path, required=True, metavar="DIR",
                     help="folder for model.nc, idata.nc, the tables and the figures")
    fit.add_argument("--features", type=_feature_pair, default=None, metavar="A,B",
                     help="the two columns shown by the uncertainty and posterior-ellipse "
                          "figures when there are more than two (default: the first two)")

    select = commands.add_parser(
        "select", parents=[parents["data"], parents["seed"], parents["sampler"],
                           parents["overwrite"]],
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
                        help="covariance structures, comma-separated, or 'mclust' for all "
                             "of mclust's 14 models (E and V for one column) (default: full, "
                             "tied, diag, spherical for em; full for a posterior)")
    select.add_argument("--prior", action="store_true",
                        help="EM only: fit every model under mclust's default conjugate "
                             "prior (MAP-EM); with 'mclust', the 10 models that have one")
    select.add_argument("--family", type=_family_list, default=["gaussian"],
                        metavar="FAMILIES",
                        help="component families, comma-separated: gaussian, student_t "
                             "(EM only for now) (default: gaussian)")
    select.add_argument("--noise", action="store_true",
                        help="EM only: fit every model with a uniform noise component")
    select.add_argument("--criterion", choices=EM_CRITERIA + BAYES_CRITERIA, default=None,
                        help="bic or icl for em (default: bic); loo or waic for a posterior "
                             "(default: loo)")
    select.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="also write selection.csv, selection.png and report.md here")

    predict = commands.add_parser(
        "predict", parents=[parents["reading"], parents["overwrite"]],
        help="label the rows of a CSV file with a saved model's components",
        description="Apply a model saved by 'bayesmix fit' (or bayesmix's save) to a CSV "
                    "file: write its rows with the most probable component, the "
                    "classification uncertainty (1 - the largest probability) and the "
                    "probability of every component appended (p_0, p_1, ...). The "
                    "columns the model was fitted on are found by name.",
    )
    predict.add_argument("model", metavar="MODEL", help="a saved model (model.nc)")
    predict.add_argument("data", metavar="DATA", help="CSV file with a header row and the "
                         "model's feature columns")
    predict.add_argument("--out", type=Path, default=None, metavar="FILE",
                         help="CSV file to write (default: print to stdout)")
    return parser


def _nearest_existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists."""
    return next(folder for folder in [path, *path.absolute().parents] if folder.exists())


def _check_writable(folder: Path, option: str, path: Path) -> None:
    """Refuse an output ``path`` whose ``folder`` (or that folder's nearest existing
    ancestor) is a file or cannot be written to.

    Writing is tried (a temporary folder made and removed there): permissions alone miss
    a read-only file system, and folders such as ``/proc`` that refuse even root.
    """
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise CommandError(f"argument {option}: '{existing}' is a file, so '{path}' cannot "
                           f"be created; pass a path in a folder")
    try:
        tempfile.TemporaryDirectory(dir=existing).cleanup()
    except OSError:
        raise CommandError(f"argument {option}: cannot write in '{existing}', so '{path}' "
                           f"cannot be written; pass a path in a folder you can write "
                           f"to") from None


def check_output_folder(path: Path, overwrite: bool, option: str = "--out") -> None:
    """Check an output folder before any fitting: a folder, writable, and new or empty
    unless ``overwrite``.

    Parameters
    ----------
    path : Path
        The folder the command will write into (created when missing).
    overwrite : bool
        ``--overwrite``: files of an earlier run may be replaced.
    option : str, default="--out"
        The argument named by the messages.

    Raises
    ------
    CommandError
        For a file in the way, a folder that cannot be written to, or a folder holding
        files without ``overwrite``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bayesmix.cli.parser import check_output_folder
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_output_folder(folder / "new", overwrite=False)
    >>> _ = (folder / "model.nc").write_text("")
    >>> check_output_folder(folder, overwrite=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bayesmix.cli.parser.CommandError: argument --out: folder '...' already holds model.nc; \
pass --overwrite to replace its files, or name a new folder
    >>> check_output_folder(folder, overwrite=True)
    """
    if path.exists() and not path.is_dir():
        raise CommandError(f"argument {option}: '{path}' is a file; pass a folder (new or "
                           f"empty) for the results")
    _check_writable(path, option, path)
    held = sorted(child.name for child in path.iterdir()) if path.is_dir() else []
    if held and not overwrite:
        shown = ", ".join(held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
        raise CommandError(f"argument {option}: folder '{path}' already holds {shown}; pass "
                           f"--overwrite to replace its files, or name a new folder")


def check_output_file(path: Path, overwrite: bool, option: str = "--out") -> None:
    """Check an output file before any work: not a folder, writable, and new unless
    ``overwrite``.

    Parameters
    ----------
    path : Path
        The file the command will write (its folder is created when missing).
    overwrite : bool
        ``--overwrite``: an existing file may be replaced.
    option : str, default="--out"
        The argument named by the messages.

    Raises
    ------
    CommandError

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bayesmix.cli.parser import check_output_file
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_output_file(folder / "labelled.csv", overwrite=False)
    >>> check_output_file(folder, overwrite=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bayesmix.cli.parser.CommandError: argument --out: '...' is a folder; pass the path of \
the CSV file to write
    """
    if path.is_dir():
        raise CommandError(f"argument {option}: '{path}' is a folder; pass the path of the "
                           f"CSV file to write")
    if path.exists() and not overwrite:
        raise CommandError(f"argument {option}: '{path}' already exists; pass --overwrite to "
                           f"replace it, or name a new file")
    _check_writable(path.parent, option, path)


def check_select_options(args: argparse.Namespace) -> tuple[list[str], str]:
    """The structures and criterion of ``select``, checked against ``--method``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``select`` command line.

    Returns
    -------
    structures : list of str or "mclust"
        ``--covariance``, or its default: scikit-learn's four structures for EM,
        ``full`` otherwise.
    criterion : str
        ``--criterion``, or its default: ``bic`` for EM, ``loo`` otherwise.

    Raises
    ------
    CommandError
        For a criterion, ``--prior`` or ``--covariance mclust`` that does not apply to
        ``--method``.

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
    check_prior_option(args)
    check_family_options(args)
    check_covariance_for_method(args)
    if structures == "mclust" and fits_posterior(args):
        raise CommandError(f"argument --covariance: 'mclust' runs mclust's 14 models by EM; "
                           f"with --method {args.method} name the structures the posterior "
                           f"supports (e.g. --covariance full,tied,diag,spherical)")
    return structures, criterion


def fits_posterior(args: argparse.Namespace) -> bool:
    """Whether ``--method`` names a posterior back end rather than EM's maximum likelihood
    (the options of one are refused with the other).

    Examples
    --------
    >>> from bayesmix.cli.parser import build_parser, fits_posterior
    >>> parser = build_parser()
    >>> [fits_posterior(parser.parse_args(["fit", "d.csv", "-k", "2", "--out", "o",
    ...                                    "--method", method])) for method in ("em", "gibbs")]
    [False, True]
    """
    return args.method != METHODS[0]


def _named_structures(args: argparse.Namespace) -> list[str]:
    """The structures ``--covariance`` names: fit's one or select's list (none for
    select's default or ``mclust``, whose models select_em fits as the data allow)."""
    named = args.covariance
    if named is None or named == "mclust":
        return []
    return [named] if isinstance(named, str) else list(named)


def check_prior_option(args: argparse.Namespace) -> None:
    """Refuse ``--prior`` (mclust's conjugate prior, an EM option) with a posterior, or
    with a ``--covariance`` structure mclust fits no prior for.

    Examples
    --------
    >>> from bayesmix.cli.parser import build_parser, check_prior_option
    >>> check_prior_option(build_parser().parse_args(
    ...     ["fit", "data.csv", "-k", "2", "--out", "out", "--method", "advi", "--prior"]))
    Traceback (most recent call last):
    ...
    bayesmix.cli.parser.CommandError: argument --prior: mclust's conjugate prior is an EM option (MAP-EM); the posterior has its own priors (bayesmix.bayes.MixturePriors). Drop --prior or use --method em.
    >>> check_prior_option(build_parser().parse_args(
    ...     ["select", "data.csv", "--covariance", "full,EVE", "--prior"]))
    Traceback (most recent call last):
    ...
    bayesmix.cli.parser.CommandError: argument --prior: mclust fits no conjugate prior for --covariance EVE; drop --prior, or choose structures with one: full, tied, diag, spherical, EII, VII, EEI, VEI, EVI, VVI, EEE, EEV, VEV, VVV
    """
    if args.prior and fits_posterior(args):
        raise CommandError("argument --prior: mclust's conjugate prior is an EM option "
                           "(MAP-EM); the posterior has its own priors "
                           "(bayesmix.bayes.MixturePriors). Drop --prior or use --method em.")
    without_prior = [name for name in _named_structures(args)
                     if not get_structure(name).supports_prior]
    if args.prior and without_prior:
        raise CommandError(f"argument --prior: mclust fits no conjugate prior for "
                           f"--covariance {without_prior[0]}; drop --prior, or choose "
                           f"structures with one: {', '.join(_WITH_PRIOR)}")


def check_covariance_for_method(args: argparse.Namespace) -> None:
    """Refuse, before any fitting, a ``--covariance`` structure that ``--method``'s
    posterior does not fit: one fitted by EM only, or one its back end does not sample
    (Gibbs samples ``full`` only). The Bayesian model is not imported for it.

    Examples
    --------
    >>> from bayesmix.cli.parser import build_parser, check_covariance_for_method
    >>> parser = build_parser()
    >>> check_covariance_for_method(parser.parse_args(
    ...     ["fit", "data.csv", "-k", "2", "--out", "out", "--covariance", "VEV"]))
    >>> check_covariance_for_method(parser.parse_args(
    ...     ["fit", "data.csv", "-k", "2", "--out", "out", "--covariance", "VEV",
    ...      "--method", "nuts"]))  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    bayesmix.cli.parser.CommandError: argument --covariance: 'VEV' is fitted by EM only \
(--method em); with --method nuts use a structure the posterior supports: full, tied, diag, \
spherical, EII, EEI
    """
    if not fits_posterior(args):
        return
    # The back ends' descriptions only: they import no sampler.
    from bayesmix.bayes.backends import get_backend

    backend = get_backend(args.method)
    for name in _named_structures(args):
        if not get_structure(name).supports_posterior:
            raise CommandError(
                f"argument --covariance: {name!r} is fitted by EM only (--method em); with "
                f"--method {args.method} use a structure the posterior supports: "
                f"{', '.join(posterior_structures())}")
        if not backend.fits_structure(name):
            sampled = backend.covariance_types
            raise CommandError(
                f"argument --covariance: --method {args.method} samples "
                f"{', '.join(sampled)} only; use --covariance {sampled[0]}, or another "
                f"--method for {name!r}")


def check_covariance_for_features(args: argparse.Namespace, features: Sequence[str]) -> None:
    """Refuse mclust's one-feature names (``E``, ``V``) in ``--covariance`` for data of
    several features, before any fitting.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``fit`` or ``select`` command line.
    features : sequence of str
        The columns read as features.

    Raises
    ------
    CommandError
        Naming ``--covariance``, the structure and the name to use instead.

    Examples
    --------
    >>> from bayesmix.cli.parser import build_parser, check_covariance_for_features
    >>> args = build_parser().parse_args(["select", "data.csv", "--covariance", "E,V"])
    >>> check_covariance_for_features(args, ["a"])
    >>> check_covariance_for_features(args, ["a", "b"])
    Traceback (most recent call last):
    ...
    bayesmix.cli.parser.CommandError: argument --covariance: 'E' is mclust's name for one feature, but DATA has 2 features (a, b); use 'EII', its model for any number of features, or choose one column with --columns
    """
    for name in _named_structures(args):
        structure = get_structure(name)
        try:
            structure.check_name_for_features(name, len(features))
        except ValueError:
            raise CommandError(
                f"argument --covariance: {name!r} is mclust's name for one feature, but "
                f"DATA has {len(features)} features ({', '.join(features)}); use "
                f"{structure.name!r}, its model for any number of features, or choose one "
                f"column with --columns") from None


def check_family_options(args: argparse.Namespace) -> None:
    """Refuse the family options no fitter takes: ``--family student_t`` with ``--prior``
    (a Gaussian conjugate prior) or in ``select`` with a posterior (select_bayes compares
    Gaussian posteriors), and ``--noise`` with a posterior (the noise component is an EM
    option). The posterior's back ends refuse a family they cannot sample themselves.

    Examples
    --------
    >>> from bayesmix.cli.parser import build_parser, check_family_options
    >>> check_family_options(build_parser().parse_args(
    ...     ["fit", "data.csv", "-k", "2", "--out", "out", "--method", "nuts",
    ...      "--family", "student_t"]))
    >>> check_family_options(build_parser().parse_args(
    ...     ["select", "data.csv", "--out", "out", "--method", "nuts",
    ...      "--family", "student_t"]))  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    bayesmix.cli.parser.CommandError: argument --family: select compares Gaussian posteriors; fit a student_t posterior with bayesmix fit --family student_t --method nuts, or select student_t components with --method em
    """
    families = [args.family] if isinstance(args.family, str) else args.family
    if "student_t" in families and fits_posterior(args) and args.command == "select":
        raise CommandError(
            f"argument --family: select compares Gaussian posteriors; fit a student_t "
            f"posterior with bayesmix fit --family student_t --method {args.method}, or "
            f"select student_t components with --method em")
    if fits_posterior(args) and args.noise:
        raise CommandError(
            f"argument --noise: the noise component is fitted by EM only (--noise "
            f"--method em); use --method em, or drop --noise with --method {args.method}")
    if args.prior and "student_t" in families:
        raise CommandError(
            "argument --prior: mclust's conjugate prior is for Gaussian components; drop "
            "--prior, or use --family gaussian")
