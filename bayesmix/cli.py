"""The ``bayesmix`` command.

``bayesmix demo``
    the Old Faithful story: choose K and the covariance structure by BIC with EM, print the
    table of every fit (degenerate fits flagged) and the chosen model.

Every sub-command has ``--help``. Errors print one line to stderr and exit non-zero,
without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pandas as pd

from bayesmix import __version__
from bayesmix._validation import COVARIANCE_TYPES
from bayesmix.datasets import load_old_faithful
from bayesmix.selection import select_em

__all__ = ["build_parser", "main"]

#: mclust's names of the four structures, for readers who know R.
_MCLUST_NAMES = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bayesmix`` command, one sub-parser per command.

    Examples
    --------
    >>> from bayesmix.cli import build_parser
    >>> build_parser().parse_args(["demo", "--max-components", "4"]).max_components
    4
    """
    parser = argparse.ArgumentParser(
        prog="bayesmix",
        description="Gaussian mixture models: a fast EM fitter and a Bayesian model, "
                    "scored side by side.",
    )
    parser.add_argument("--version", action="version", version=f"bayesmix {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="choose K and the covariance structure on Old Faithful by BIC",
        description="Fit EM on the Old Faithful data for K = 1..MAX_COMPONENTS and the four "
                    "covariance structures, print every fit (degenerate ones flagged) and "
                    "the model chosen by BIC.",
    )
    demo.add_argument("--max-components", type=_positive_int, default=6,
                      help="largest number of components tried (default: 6)")
    demo.add_argument("--n-init", type=_positive_int, default=5,
                      help="EM initialisations per fit (default: 5)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.set_defaults(run=_run_demo)
    return parser


def _run_demo(args: argparse.Namespace) -> None:
    """Print the selection table on Old Faithful and the chosen model."""
    X = load_old_faithful()
    ks = range(1, args.max_components + 1)
    print(f"Old Faithful: {X.shape[0]} eruptions, features {', '.join(X.columns)}.")
    print(f"EM fits for K = 1..{args.max_components} x covariance structures "
          f"{', '.join(COVARIANCE_TYPES)} (n_init={args.n_init}, seed={args.seed}).\n")
    selection = select_em(X, n_components=ks, n_init=args.n_init, random_state=args.seed)
    print(selection.to_string())

    em = selection.best_estimator_
    row = selection.table_.loc[selection.best_index_]
    print(f"\nChosen model: {em.n_components} components, covariance_type="
          f"{em.covariance_type!r} (mclust's {_MCLUST_NAMES[em.covariance_type]}), "
          f"log-likelihood {row['log_likelihood']:.2f}, BIC {row['bic']:.2f}.")
    components = pd.DataFrame(em.means_, columns=[f"mean {name}" for name in X.columns])
    components.insert(0, "weight", em.weights_)
    components.index.name = "component"
    print(components.round(3).to_string())


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

    Examples
    --------
    >>> from bayesmix.cli import main
    >>> main(["demo", "--max-components", "2", "--n-init", "1"])  # doctest: +ELLIPSIS
    Old Faithful: 272 eruptions, features eruptions, waiting.
    ...
    Chosen model: 2 components, covariance_type='full' (mclust's VVV), ...
    0
    """
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (ValueError, OSError) as exc:
        print(f"bayesmix {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0
