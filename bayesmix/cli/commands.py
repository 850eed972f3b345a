"""The commands ``demo``, ``fit`` and ``select`` of the ``bayesmix`` command.

Each reads its parsed arguments (:func:`bayesmix.cli.parser.build_parser`), fits, prints
its tables and writes its files; :func:`run` runs the one named on the command line with
bayesmix's warnings printed on stderr, one line each.

Its length (about 540 lines) is that of three commands and the shared steps they
report with; the argument parsing lives in :mod:`bayesmix.cli.parser`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesmix.cli.parser import FAST_SETTINGS, CommandError, check_select_options
from bayesmix.cli.report import Report
from bayesmix.covariance import COVARIANCE_TYPES
from bayesmix.datasets import load_old_faithful
from bayesmix.exceptions import BayesmixWarning
from bayesmix.selection import select_em

__all__ = ["read_data", "run"]

#: mclust's names of the four structures, for readers who know R.
_MCLUST_NAMES = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}
_LABELS = {"em": "EM", "nuts": "NUTS", "advi": "ADVI", "fullrank_advi": "full-rank ADVI"}


# ----------------------------------------------------------------- shared steps
def _progress(args: argparse.Namespace, message: str) -> None:
    """A progress message on stderr."""
    print(f"bayesmix {args.command}: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _bayesmix_warnings(command: str) -> Iterator[None]:
    """Print bayesmix's warnings on stderr as they happen, one line each and once.

    Warnings of other libraries (compiler and backend notices) are dropped: the command
    reports on the fit, in its own words.
    """
    seen: set[str] = set()

    def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        text = " ".join(str(message).split())
        if text not in seen:
            seen.add(text)
            print(f"bayesmix {command}: warning: {text}", file=sys.stderr, flush=True)

    import arviz

    # ArviZ logs through its own Logger instance, not one registered with logging.
    arviz_log = getattr(arviz, "_log", None) or logging.getLogger("arviz")
    quiet = {arviz_log: logging.ERROR,  # e.g. "Shape validation failed" for one VI chain
             logging.getLogger("pymc"): logging.WARNING}  # e.g. "Convergence achieved"
    levels = {log: log.level for log in quiet}
    for log, level in quiet.items():
        log.setLevel(max(level, log.getEffectiveLevel()))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("always", BayesmixWarning)
            warnings.showwarning = show
            yield
    finally:
        for log, level in levels.items():
            log.setLevel(level)


def _use_agg() -> None:
    """Draw off-screen: the command only writes PNG files."""
    import matplotlib

    matplotlib.use("Agg")


def read_data(path: str | Path, columns: Sequence[str] | None = None,
              min_rows: int = 2) -> pd.DataFrame:
    """Read the numeric data of a CSV file, with one-line errors naming the fix.

    Parameters
    ----------
    path : str or Path
        A CSV file with a header row.
    columns : sequence of str, optional
        Columns to keep (``--columns``); all columns when omitted.
    min_rows : int, default=2
        The fewest data rows accepted.

    Returns
    -------
    pandas.DataFrame
        The chosen columns, every one numeric, without missing values.

    Raises
    ------
    CommandError
        For a missing or unreadable file, an unknown, non-numeric or incomplete column,
        or too few rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bayesmix.cli.commands import read_data
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "data.csv"
    >>> _ = path.write_text("name,x,y\\na,1.0,2\\nb,1.5,3\\nc,2.0,1\\n")
    >>> read_data(path, ["x", "y"]).shape
    (3, 2)
    >>> read_data(path)
    Traceback (most recent call last):
    ...
    bayesmix.cli.parser.CommandError: argument --columns: column 'name' of ... is not numeric \
(dtype ..., e.g. 'a'); choose numeric columns, e.g. --columns x,y
    """
    file = Path(path)
    if not file.exists():
        raise CommandError(f"argument DATA: file '{path}' not found; pass the path of a CSV "
                           f"file with a header row and one row per observation")
    if file.is_dir():
        raise CommandError(f"argument DATA: '{path}' is a folder; pass the path of a CSV file")
    try:
        frame = pd.read_csv(file)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CommandError(f"argument DATA: cannot read '{path}' as CSV ({reason}); pass a "
                           f"comma-separated text file with a header row") from None
    if frame.shape[1] == 0:
        raise CommandError(f"argument DATA: '{path}' has no columns; pass a CSV file with a "
                           f"header row")
    if columns is not None:
        available = [str(name) for name in frame.columns]
        frame.columns = available
        unknown = [name for name in columns if name not in available]
        if unknown:
            raise CommandError(f"argument --columns: no column {unknown[0]!r} in '{path}'; "
                               f"its columns are {', '.join(available)}")
        if len(set(columns)) != len(columns):
            raise CommandError(f"argument --columns: a column is repeated in "
                               f"{','.join(columns)}; name each column once")
        frame = frame[list(columns)]
    numeric = [name for name in frame.columns if _is_numeric(frame[name])]
    for name in frame.columns:
        if name not in numeric:
            values = frame[name].dropna()
            example = f", e.g. {values.iloc[0]!r}" if len(values) else ""
            fix = (f"choose numeric columns, e.g. --columns {','.join(map(str, numeric))}"
                   if numeric else "convert it to numbers first")
            raise CommandError(f"argument --columns: column {name!r} of '{path}' is not "
                               f"numeric (dtype {frame[name].dtype}{example}); {fix}")
    missing = frame.isna().to_numpy()
    if missing.any():
        row, col = np.argwhere(missing)[0]
        raise CommandError(
            f"argument DATA: column {frame.columns[col]!r} of '{path}' has "
            f"{int(missing[:, col].sum())} missing value(s), the first on line {row + 2} of "
            f"the file; remove or fill those rows (or leave the column out with --columns)")
    if len(frame) < min_rows:
        raise CommandError(f"argument DATA: '{path}' has {len(frame)} data row(s), fewer "
                           f"than the {min_rows} needed; pass more rows")
    return frame.astype(float)


def _is_numeric(column: pd.Series) -> bool:
    dtype = column.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _check_rows(data: pd.DataFrame, n_components: Sequence[int], path: str) -> None:
    """Refuse data with no more rows than components, naming ``--components``."""
    largest = max(n_components)
    if len(data) <= largest:
        raise CommandError(
            f"argument --components: '{path}' has {len(data)} data row(s), too few for "
            f"{largest} components (at least {largest + 1} rows are needed); pass more rows "
            f"or fewer components")


def _sampler_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of ``GaussianMixtureBayes.fit`` from the command line."""
    settings = {"draws": args.draws, "tune": args.tune, "chains": args.chains}
    if getattr(args, "fast", False):
        settings.update({key: FAST_SETTINGS[key] for key in settings})
    progressbar = args.progress if args.progress is not None else sys.stderr.isatty()
    return {**settings, "progressbar": progressbar}


def _fit_bayes(args: argparse.Namespace, X: pd.DataFrame, n_components: int,
               covariance_type: str, method: str) -> Any:
    """Fit :class:`~bayesmix.GaussianMixtureBayes`, with a progress message."""
    from bayesmix.bayes import GaussianMixtureBayes

    backend = _backend(method)
    settings = _sampler_settings(args)
    what = _sampling_text(backend, settings)
    settings = {key: value for key, value in settings.items()
                if key in backend.fit_options or key == "progressbar"}
    _progress(args, f"fitting the posterior with {_LABELS[method]} (K={n_components}, "
                    f"{covariance_type}; {what}) ...")
    model = GaussianMixtureBayes(n_components, covariance_type=covariance_type,
                                 random_state=args.seed)
    return model.fit(X, method=method, **settings)


def _number(value: float) -> str:
    """A score for the terminal: two decimals, significant digits below 1."""
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.4g}"


def _comparison_text(comparison: Any) -> str:
    """The ``compare`` table with one column per model, scores that apply, and footnotes."""
    table = _comparison_table(comparison)
    with pd.option_context("display.width", 200, "display.max_columns", None):
        text = table.to_string(float_format=_number, na_rep="NaN")
    notes = "\n".join(f"[{key}] {note}" for key, note in comparison.attrs["footnotes"].items())
    return f"{text}\n\n{notes}"


def _comparison_table(comparison: Any) -> pd.DataFrame:
    """``comparison`` transposed (scores as rows), without the scores no model has."""
    table = comparison.dropna(axis=1, how="all")
    return table.T.astype(object).where(table.T.notna(), np.nan)


def _parameters(idata: Any) -> pd.DataFrame:
    """Weights, means and full covariances per component (posterior means for draws)."""
    posterior = idata.posterior
    means = posterior[["weights", "means", "covariances"]].mean(("chain", "draw"))
    features = [str(name) for name in posterior["feature"].values]
    rows = {"weight": means["weights"].values}
    for j, name in enumerate(features):
        rows[f"mean {name}"] = means["means"].values[:, j]
    for j, first in enumerate(features):
        for k, second in enumerate(features[j:], start=j):
            rows[f"cov {first},{second}"] = means["covariances"].values[:, j, k]
    table = pd.DataFrame(rows)
    table.index.name = "component"
    return table


def _assignments(model: Any, X: pd.DataFrame) -> pd.DataFrame:
    """Per row: the most probable component, its uncertainty and every responsibility."""
    probabilities = model.predict_proba(X)
    table = pd.DataFrame(probabilities, index=X.index,
                         columns=[f"p_{k}" for k in range(probabilities.shape[1])])
    table.insert(0, "uncertainty", 1.0 - probabilities.max(axis=1))
    table.insert(0, "component", probabilities.argmax(axis=1))
    table.index.name = "row"
    return table


def _figures(report: Any, model: Any, X: pd.DataFrame, em: Any = None,
             uncertainty: bool = True) -> None:
    """The standard pictures of a fitted model, added to ``report``.

    An EM fit: its components and uncertainty map, and its convergence history. A
    posterior: components at the posterior mean, the posterior ellipse cloud over the EM
    fit (2 or more features), the uncertainty of EM and the posterior side by side, the
    weights' posterior and the trace plot. ``uncertainty=False`` leaves out the EM
    uncertainty map (when a posterior's side-by-side map follows).
    """
    from bayesmix import plotting

    method = _method_of(model)
    label = _LABELS[method]
    if _backend(method) is None:  # the EM point mass
        report.add_figure(plotting.plot_components(model, X), "em_components",
                          "EM fit: data coloured by cluster, component ellipses at 1, 2 and "
                          "3 sigma.")
        if uncertainty:
            report.add_figure(plotting.plot_uncertainty(model, X), "uncertainty",
                              "EM fit: classification uncertainty (1 - max responsibility).")
        report.add_figure(plotting.plot_em_history(model), "em_history",
                          "EM fit: mean log-likelihood per iteration (best restart).")
        return
    em = em if em is not None else model.em_
    report.add_figure(plotting.plot_components(model, X), "posterior_mean_components",
                      f"{label} posterior mean: data coloured by cluster, component "
                      f"ellipses at 1, 2 and 3 sigma.")
    if X.shape[1] >= 2:
        report.add_figure(
            plotting.plot_posterior_components(model, X, n_draws=50, em=em,
                                               random_state=0),
            "posterior_ellipses",
            f"{label} posterior: 2-sigma ellipses of 50 draws, EM ellipses dashed on top.")
    report.add_figure(plotting.plot_uncertainty(em, X, compare_to=model), "uncertainty",
                      f"Classification uncertainty (1 - max responsibility): EM (left) "
                      f"against the {label} posterior (right).")
    report.add_figure(plotting.plot_weights(model, em=em), "weights",
                      f"{label} posterior of the mixture weights; EM weights as diamonds.")
    report.add_figure(plotting.plot_trace(model), "trace",
                      f"{label} trace of the relabelled weights and means.")


def _backend(method: str) -> Any:
    """The inference back end ``--method`` names, or ``None`` for EM."""
    from bayesmix.bayes.backends import BACKENDS

    return BACKENDS.get(method)


def _sampling_text(backend: Any, settings: dict[str, Any]) -> str:
    """How many draws a back end makes with ``settings``, in words."""
    if backend.is_sampler:
        return (f"{settings['chains']} chains x {settings['draws']} draws after "
                f"{settings['tune']} tuning steps")
    return f"{settings['draws']} draws from the approximation"


def _method_of(model: Any) -> str:
    """``"em"``, ``"nuts"``, ``"advi"`` or ``"fullrank_advi"``: how ``model`` was fitted."""
    idata = model.to_inference_data() if hasattr(model, "to_inference_data") else model.idata_
    return str(idata.posterior.attrs["inference_method"])


def _written(args: argparse.Namespace, out: Path, files: Sequence[Path]) -> None:
    """Print what was written, relative to ``out``."""
    names = ", ".join(sorted(path.name for path in files))
    print(f"\nWrote to {out}/: {names}")


# ----------------------------------------------------------------- demo
def _run_demo(args: argparse.Namespace) -> None:
    """Old Faithful: select by BIC, fit the posterior, compare, write figures and report."""
    _use_agg()
    from bayesmix.comparison import compare
    from bayesmix.plotting import plot_selection

    n_init = FAST_SETTINGS["n_init"] if args.fast else args.n_init
    X = load_old_faithful()
    ks = range(1, args.max_components + 1)
    print(f"Old Faithful: {X.shape[0]} eruptions, features {', '.join(X.columns)}.")
    print(f"EM fits for K = 1..{args.max_components} x covariance structures "
          f"{', '.join(COVARIANCE_TYPES)} (n_init={n_init}, seed={args.seed}).\n")
    _progress(args, f"fitting EM for K = 1..{args.max_components} x "
                    f"{len(COVARIANCE_TYPES)} structures ...")
    selection = select_em(X, n_components=ks, n_init=n_init, random_state=args.seed)
    selection_text = selection.to_string()
    print(selection_text)

    em = selection.best_estimator_
    row = selection.table_.loc[selection.best_index_]
    chosen = (f"Chosen model: {em.n_components} components, covariance_type="
              f"{em.covariance_type!r} (mclust's {_MCLUST_NAMES[em.covariance_type]}), "
              f"log-likelihood {row['log_likelihood']:.2f}, BIC {row['bic']:.2f}.")
    print(f"\n{chosen}")
    components = pd.DataFrame(em.means_, columns=[f"mean {name}" for name in X.columns])
    components.insert(0, "weight", em.weights_)
    components.index.name = "component"
    print(components.round(3).to_string())

    label = _LABELS[args.method]
    bayes = _fit_bayes(args, X, em.n_components, em.covariance_type, args.method)
    comparison = compare({"EM": em, label: bayes})
    print(f"\nEM against the {label} posterior ({em.n_components} components, "
          f"{em.covariance_type}), scored on the same data:\n")
    print(_comparison_text(comparison))

    _progress(args, f"writing figures and the report into {args.out}/ ...")
    report = Report(args.out, title="bayesmix demo: Old Faithful")
    how = _sampling_text(_backend(args.method), _sampler_settings(args))
    report.add_text(
        f"The Old Faithful data ({X.shape[0]} eruptions; {', '.join(X.columns)}). EM is "
        f"fitted for K = 1..{args.max_components} and the four covariance structures and "
        f"the model is chosen by BIC among the fits without a degenerate component; the "
        f"Bayesian model is then fitted at the chosen K and structure with {label} "
        f"({how}{'; --fast settings, too short to trust' if args.fast else ''}).")
    report.add_text("## Choosing K and the covariance structure")
    report.add_code(selection_text)
    report.add_table(selection.table_, "selection", "Every EM fit, with its notes.",
                     inline=False)
    report.add_figure(plot_selection(selection), "selection",
                      "BIC against K, one line per structure; the chosen fit starred, "
                      "degenerate fits crossed.")
    report.add_text(f"## The chosen model\n\n{chosen}")
    report.add_table(components, None, "EM components.", float_format=".3f")
    report.add_text(f"## EM against the {label} posterior")
    report.add_table(_comparison_table(comparison), "compare",
                     "compare(): scores of both fits on the same data.")
    report.add_text("\n\n".join(f"[{key}] {note}"
                                for key, note in comparison.attrs["footnotes"].items()))
    report.add_text("## Figures")
    _figures(report, em, X, uncertainty=False)
    _figures(report, bayes, X, em=em)
    report.add_table(bayes.summary(), "summary", f"ArviZ summary of the {label} posterior.",
                     float_format=".3f")
    written = report.write()
    _written(args, args.out, report.figures + report.tables + written)


# ----------------------------------------------------------------- fit
def _run_fit(args: argparse.Namespace) -> None:
    """Fit one model to a CSV file; write model.nc, idata.nc, tables, figures, report.md."""
    _use_agg()
    from bayesmix.comparison import compare
    from bayesmix.em import GaussianMixtureEM

    X = read_data(args.data, args.columns)
    _check_rows(X, [args.components], args.data)
    label = _LABELS[args.method]
    backend = _backend(args.method)
    if backend is None:
        _progress(args, f"fitting EM (K={args.components}, {args.covariance}, "
                        f"n_init={args.n_init}) ...")
        model = GaussianMixtureEM(args.components, covariance_type=args.covariance,
                                  n_init=args.n_init, random_state=args.seed).fit(X)
        idata = model.to_inference_data()
    else:
        model = _fit_bayes(args, X, args.components, args.covariance, args.method)
        idata = model.idata_

    args.out.mkdir(parents=True, exist_ok=True)
    netcdf = args.out / "idata.nc"
    idata.to_netcdf(str(netcdf))
    saved = model.save(args.out / "model.nc", overwrite=True)
    parameters = _parameters(idata)
    scores = _comparison_table(compare({label: model}))
    print(f"{label} fit of {args.components} components ({args.covariance}) to "
          f"{len(X)} rows of '{args.data}', features {', '.join(X.columns)}.\n")
    print(parameters.to_string(float_format=_number))
    print()
    print(scores.to_string(float_format=_number, na_rep="NaN"))

    _progress(args, f"writing tables and figures into {args.out}/ ...")
    report = Report(args.out, title=f"bayesmix fit: {Path(args.data).name}")
    report.add_text(f"{label} fit of {args.components} components, covariance structure "
                    f"`{args.covariance}`, to {len(X)} rows of `{args.data}` (features "
                    f"{', '.join(X.columns)}; seed {args.seed}). The fitted model is in "
                    f"`model.nc` (`bayesmix.load`), its InferenceData in `idata.nc` "
                    f"(`arviz.from_netcdf`).")
    report.add_table(parameters, "parameters", "Parameters" + (
        "" if backend is None else " (posterior means)") + ".")
    report.add_table(scores, "scores", "Scores (bayesmix.compare).")
    if backend is not None:
        report.add_table(model.summary(), "summary", "ArviZ summary of the posterior.",
                         float_format=".3f")
    assignments = _assignments(model, X)
    assignments.to_csv(args.out / "assignments.csv")
    report.add_text("Cluster of every row with its uncertainty and responsibilities: "
                    "[assignments.csv](assignments.csv).")
    _figures(report, model, X)
    written = report.write()
    _written(args, args.out, [saved, netcdf, args.out / "assignments.csv", *report.figures,
                              *report.tables, *written])


def _select_bayes_function() -> Callable[..., Any]:
    """``bayesmix.selection.select_bayes``, with a clear error when it is missing."""
    from bayesmix import selection

    function = getattr(selection, "select_bayes", None)
    if function is None:
        raise CommandError("argument --method: this version of bayesmix has no select_bayes; "
                           "use --method em")
    return function


def _run_select(args: argparse.Namespace) -> None:
    """Choose K (and the structure with EM); print the table, optionally write it."""
    _use_agg()
    structures, criterion = check_select_options(args)
    X = read_data(args.data, args.columns)
    _check_rows(X, args.components, args.data)
    ks = args.components
    backend = _backend(args.method)
    if backend is None:
        _progress(args, f"fitting EM for K = {','.join(map(str, ks))} x "
                        f"{len(structures)} structure(s) ...")
        result = select_em(X, n_components=ks, covariance_types=structures,
                           criterion=criterion, n_init=args.n_init, random_state=args.seed)
    else:
        select_bayes = _select_bayes_function()
        settings = {key: value for key, value in _sampler_settings(args).items()
                    if key in backend.fit_options or key == "progressbar"}
        _progress(args, f"fitting the posterior with {_LABELS[args.method]} for K = "
                        f"{','.join(map(str, ks))} x {len(structures)} structure(s) (each "
                        f"fit compiles a model: several seconds each) ...")
        result = select_bayes(X, n_components=ks, covariance_type=structures,
                              method=args.method, criterion=criterion,
                              random_state=args.seed, **settings)
    text = result.to_string()
    print(f"{_LABELS[args.method]} fits to {len(X)} rows of '{args.data}', features "
          f"{', '.join(X.columns)}.\n")
    print(text)
    if args.out is None:
        return
    from bayesmix.plotting import plot_selection

    report = Report(args.out, title=f"bayesmix select: {Path(args.data).name}")
    report.add_code(text)
    report.add_table(result.table_, "selection", "Every fit, with its notes.", inline=False)
    try:
        drawing = plot_selection(result)
    except ValueError as exc:
        print(f"bayesmix select: warning: no selection.png: {exc}", file=sys.stderr)
    else:
        report.add_figure(drawing, "selection", f"{criterion.upper()} against K.")
    written = report.write()
    _written(args, args.out, report.figures + report.tables + written)


_COMMANDS: dict[str, Callable[[argparse.Namespace], None]] = {
    "demo": _run_demo, "fit": _run_fit, "select": _run_select,
}


def run(args: argparse.Namespace) -> None:
    """Run the command named by ``args.command``, bayesmix's warnings on stderr.

    Parameters
    ----------
    args : argparse.Namespace
        A command line parsed by :func:`bayesmix.cli.parser.build_parser`.

    Raises
    ------
    CommandError
        For input the command cannot use (a missing file, a non-numeric column, ...);
        :func:`bayesmix.cli.main` prints it as one line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bayesmix import load_old_faithful
    >>> from bayesmix.cli.commands import run
    >>> from bayesmix.cli.parser import build_parser
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "faithful.csv"
    >>> load_old_faithful().to_csv(path, index=False)
    >>> run(build_parser().parse_args(
    ...     ["select", str(path), "--components", "2-3", "--covariance", "tied"]))
    ... # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    EM fits to 272 rows of '...faithful.csv', features eruptions, waiting.
    ...
    Chosen by lowest BIC among non-degenerate fits: n_components=3, covariance_type='tied'.
    """
    with _bayesmix_warnings(args.command):
        _COMMANDS[args.command](args)
