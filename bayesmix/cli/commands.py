"""The commands ``demo``, ``fit``, ``select`` and ``predict`` of the ``bayesmix`` command.

Each reads its parsed arguments (:func:`bayesmix.cli.parser.build_parser`), checks where
it will write before it fits, fits, prints its tables and writes its files; :func:`run`
runs the one named on the command line with bayesmix's warnings printed on stderr, one
line each. Reading CSV files lives in :mod:`bayesmix.cli.csvdata`, the printed tables in
:mod:`bayesmix.cli.text`, the figures in :mod:`bayesmix.cli.figures`. Its length (about
550 lines) is that of four commands, each a short story told in one function with the
report it writes.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shlex
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesmix.cli.csvdata import CsvData, read_data
from bayesmix.cli.figures import (
    LABELS,
    add_fit_figures,
    backend_of,
    plot_elpd_selection,
)
from bayesmix.cli.parser import (
    FAST_SETTINGS,
    CommandError,
    check_covariance_for_features,
    check_covariance_for_method,
    check_family_options,
    check_output_file,
    check_output_folder,
    check_prior_option,
    check_select_options,
    fits_posterior,
)
from bayesmix.cli.report import Report
from bayesmix.cli.text import (
    WIDTH,
    comparison_table,
    comparison_text,
    number,
    parameter_table,
    parameters_text,
    readable_summary,
)
from bayesmix.covariance import MCLUST_MODELS, get_structure, mclust_models
from bayesmix.datasets import load_old_faithful
from bayesmix.exceptions import BayesmixWarning
from bayesmix.selection import select_em

__all__ = ["labelled_rows", "run"]

#: The demo prints this many of its fits, the best first (its table holds every one).
DEMO_TOP_FITS = 10
#: Written beside ``model.nc`` by ``fit --standardize``; read by ``predict``.
SCALING_FILE = "standardization.csv"
#: Said before a posterior fit: JAX compiles the sampler the first time a model of this
#: structure and size is fitted on the machine (kept in the compilation cache after).
COMPILING = ("compiling the model (first run only: each structure and size compiles once "
             "on this machine, in seconds; later runs reuse it) ...")


# ----------------------------------------------------------------- shared steps
def _progress(args: argparse.Namespace, message: str) -> None:
    """A progress message on stderr."""
    print(f"bayesmix {args.command}: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _bayesmix_warnings(command: str, uses_arviz: bool = True) -> Iterator[None]:
    """Print bayesmix's warnings on stderr as they happen, one line each and once.

    Warnings of other libraries (compiler and backend notices) are dropped: the command
    reports on the fit, in its own words. ``uses_arviz``: whether the command makes or
    reads InferenceData, whose ArviZ logger is quieted too (importing ArviZ for it takes
    about a second, which a selection by EM need not pay).
    """
    seen: set[str] = set()

    def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        text = " ".join(str(message).split())
        if text not in seen:
            seen.add(text)
            print(f"bayesmix {command}: warning: {text}", file=sys.stderr, flush=True)

    quiet = {logging.getLogger("pymc"): logging.WARNING}  # e.g. "Convergence achieved"
    if uses_arviz:
        import arviz

        # ArviZ logs through its own Logger instance, not one registered with logging.
        arviz_log = getattr(arviz, "_log", None) or logging.getLogger("arviz")
        quiet[arviz_log] = logging.ERROR  # e.g. "Shape validation failed" for one VI chain
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


def _read(args: argparse.Namespace, **choice: Any) -> CsvData:
    """``DATA`` read with the command's reading options; what was read, on stderr.

    ``choice`` holds arguments of :func:`~bayesmix.cli.csvdata.read_data` that replace
    the command line's (``predict``: the model's columns, one row accepted).
    """
    choice = {"columns": getattr(args, "columns", None),
              "exclude": getattr(args, "exclude", ()), **choice}
    data = read_data(args.data, sep=args.sep, decimal=args.decimal, encoding=args.encoding,
                     **choice)
    _progress(args, f"read {data.describe()}")
    if data.ignored and hasattr(args, "exclude"):
        _progress(args, f"ignoring column(s) {', '.join(data.ignored)} (not numeric, or "
                        f"excluded); choose the columns with --columns or --exclude")
    elif data.ignored:
        _progress(args, f"column(s) {', '.join(data.ignored)} are not the model's features: "
                        f"copied to the output unchanged")
    return data


def _standardized(args: argparse.Namespace, X: pd.DataFrame
                  ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``X``, centred and scaled with ``--standardize``, and the scaling (or ``None``)."""
    if not args.standardize:
        return X, None
    scaling = pd.DataFrame({"center": X.mean(), "scale": X.std()})
    constant = scaling.index[~(scaling["scale"] > 0)].tolist()
    if constant:
        raise CommandError(f"argument --standardize: column {constant[0]!r} is constant, so "
                           f"it cannot be scaled; leave it out with --exclude "
                           f"{shlex.quote(constant[0])}")
    scaling.index.name = "feature"
    return (X - scaling["center"]) / scaling["scale"], scaling


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
               covariance_type: str, method: str, family: str = "gaussian") -> Any:
    """Fit :class:`~bayesmix.GaussianMixtureBayes` (or, for ``family="student_t"``,
    :class:`~bayesmix.bayes.StudentMixtureBayes`), with a progress message."""
    from bayesmix.bayes import GaussianMixtureBayes, StudentMixtureBayes

    backend = backend_of(method)
    settings = _sampler_settings(args)
    what = _sampling_text(backend, settings)
    settings = {key: value for key, value in settings.items()
                if key in backend.fit_options or key == "progressbar"}
    if backend.compiles:
        _progress(args, COMPILING)
    _progress(args, f"fitting the posterior with {LABELS[method]} (K={n_components}, "
                    f"{covariance_type}, {family}; {what}) ...")
    estimator = StudentMixtureBayes if family == "student_t" else GaussianMixtureBayes
    model = estimator(n_components, covariance_type=covariance_type, random_state=args.seed)
    return model.fit(X, method=method, **settings)


def labelled_rows(model: Any, table: pd.DataFrame, X: pd.DataFrame) -> pd.DataFrame:
    """``table`` with each row's most probable component, its uncertainty (1 - the largest
    probability) and the probability of every component (``p_0``, ...) appended; for a
    model with a noise component, its probability ``p_noise`` last and -1 as the
    component of the rows it takes.

    Parameters
    ----------
    model : fitted GaussianMixtureEM or GaussianMixtureBayes
    table : pandas.DataFrame
        The rows as read, every column.
    X : pandas.DataFrame
        The model's features of those rows.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.cli.commands import labelled_rows
    >>> X = load_old_faithful()
    >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
    >>> labelled_rows(em, X, X).columns.tolist()
    ['eruptions', 'waiting', 'component', 'uncertainty', 'p_0', 'p_1']
    """
    probabilities = model.predict_proba(X)
    clash = [name for name in ("component", "uncertainty") if name in table.columns]
    if clash:
        raise CommandError(f"argument DATA: it has a column {clash[0]!r}, the name of a "
                           f"column the labels add; rename it, or pass the unlabelled file")
    n_components = model.n_components
    names = [f"p_{k}" for k in range(n_components)]
    names += ["p_noise"] * (probabilities.shape[1] - n_components)
    added = pd.DataFrame(probabilities, index=table.index, columns=names)
    added.insert(0, "uncertainty", 1.0 - probabilities.max(axis=1))
    component = probabilities.argmax(axis=1)
    added.insert(0, "component", np.where(component == n_components, -1, component))
    return pd.concat([table, added.drop(columns=table.columns, errors="ignore")], axis=1)


def _sampling_text(backend: Any, settings: dict[str, Any]) -> str:
    """How many draws a back end makes with ``settings``, in words."""
    if backend.is_sampler:
        return (f"{settings['chains']} chains x {settings['draws']} draws after "
                f"{settings['tune']} tuning steps")
    return f"{settings['draws']} draws from the approximation"


def _written(args: argparse.Namespace, out: Path, files: Sequence[Path]) -> None:
    """Print what was written, relative to ``out``."""
    names = ", ".join(sorted({path.name for path in files}))
    print()
    _say(f"Wrote to {out}/: {names}")


def _say(text: str) -> None:
    """Print a sentence wrapped to the terminal's width."""
    print(textwrap.fill(text, WIDTH, break_long_words=False, break_on_hyphens=False))


# ----------------------------------------------------------------- demo
def _run_demo(args: argparse.Namespace) -> None:
    """Old Faithful: select by BIC, fit the posterior, compare, write figures and report."""
    check_output_folder(args.out, args.overwrite)
    _use_agg()
    from bayesmix.comparison import compare
    from bayesmix.plotting import plot_covariance_models, plot_selection

    n_init = FAST_SETTINGS["n_init"] if args.fast else args.n_init
    X = load_old_faithful()
    ks = range(1, args.max_components + 1)
    print(f"Old Faithful: {X.shape[0]} eruptions, features {', '.join(X.columns)}.")
    print(f"EM fits for K = 1..{args.max_components} x mclust's 14 covariance models "
          f"(n_init={n_init}, seed={args.seed}); the {DEMO_TOP_FITS} best by BIC:\n")
    _progress(args, f"fitting EM for K = 1..{args.max_components} x "
                    f"{len(MCLUST_MODELS)} covariance models ...")
    selection = select_em(X, n_components=ks, covariance_types="mclust", n_init=n_init,
                          random_state=args.seed)
    selection_text = selection.to_string(top=DEMO_TOP_FITS)
    print(selection_text)

    em = selection.best_estimator_
    row = selection.table_.loc[selection.best_index_]
    structure = get_structure(em.covariance_type)
    chosen = (f"Chosen model: {em.n_components} components, covariance_type="
              f"{em.covariance_type!r} ({structure.description}; scikit-learn's "
              f"{structure.label!r}), log-likelihood {row['log_likelihood']:.2f}, BIC "
              f"{row['bic']:.2f}.")
    print()
    _say(chosen)
    components = pd.DataFrame(em.means_, columns=[f"mean {name}" for name in X.columns])
    components.insert(0, "weight", em.weights_)
    components.index.name = "component"
    print(components.round(3).to_string())

    label = LABELS[args.method]
    bayes = _fit_bayes(args, X, em.n_components, em.covariance_type, args.method)
    comparison = compare({"EM": em, label: bayes})
    print(f"\nEM against the {label} posterior ({em.n_components} components, "
          f"{em.covariance_type}), scored on the same data:\n")
    print(comparison_text(comparison))

    _progress(args, f"writing figures and the report into {args.out}/ ...")
    report = Report(args.out, title="bayesmix demo: Old Faithful")
    how = _sampling_text(backend_of(args.method), _sampler_settings(args))
    report.add_text(
        f"The Old Faithful data ({X.shape[0]} eruptions; {', '.join(X.columns)}). EM is "
        f"fitted for K = 1..{args.max_components} and mclust's 14 covariance models (see "
        f"covariance_models.png) and the model is chosen by BIC among the fits without a "
        f"degenerate component; the "
        f"Bayesian model is then fitted at the chosen K and structure with {label} "
        f"({how}{'; --fast settings, too short to trust' if args.fast else ''}).")
    report.add_text("## Choosing K and the covariance structure")
    report.add_code(selection_text)
    report.add_table(selection.table_, "selection", "Every EM fit, with its notes.",
                     inline=False)
    report.add_figure(plot_covariance_models(), "covariance_models",
                      "mclust's 14 covariance models: what each ties between the "
                      "components (E equal, V variable, I spherical or along the axes).")
    report.add_figure(plot_selection(selection, relative=True), "selection",
                      "BIC minus the chosen fit's against K (linear within 10 units, "
                      "logarithmic beyond), one line and symbol per model; the chosen fit "
                      "starred, degenerate fits crossed.")
    report.add_text(f"## The chosen model\n\n{chosen}")
    report.add_table(components, None, "EM components.", float_format=".3f")
    report.add_text(f"## EM against the {label} posterior")
    report.add_table(comparison_table(comparison), "compare",
                     "compare(): scores of both fits on the same data.")
    report.add_text("\n\n".join(f"[{key}] {note}"
                                for key, note in comparison.attrs["footnotes"].items()))
    report.add_text("## Figures")
    add_fit_figures(report, em, X, uncertainty=False)
    add_fit_figures(report, bayes, X, em=em)
    _add_summary(report, bayes, f"ArviZ summary of the {label} posterior")
    written = report.write()
    _written(args, args.out, report.figures + report.tables + written)


# ----------------------------------------------------------------- fit
def _fit_model(args: argparse.Namespace, X: pd.DataFrame) -> tuple[Any, Any]:
    """The model ``--method`` names fitted to ``X``, and its InferenceData."""
    if backend_of(args.method) is not None:
        model = _fit_bayes(args, X, args.components, args.covariance, args.method,
                           args.family)
        return model, model.idata_
    _progress(args, f"fitting EM (K={args.components}, {args.covariance}, {args.family}"
                    f"{' + noise' if args.noise else ''}; mclust's hierarchical start and "
                    f"{args.n_init} k-means start(s)) ...")
    # As select fits each cell: the best of mclust's start and k-means, run to a tight
    # tolerance (a single k-means start often stops in a poor optimum).
    model = select_em(X, [args.components], [args.covariance], n_init=args.n_init,
                      random_state=args.seed, prior="default" if args.prior else None,
                      families=[args.family], noise=args.noise).best_estimator_
    return model, model.to_inference_data()


def _check_features(args: argparse.Namespace, X: pd.DataFrame) -> None:
    """Refuse ``--features`` that are not two of the fitted columns."""
    unknown = [name for name in args.features or () if name not in X.columns]
    if unknown:
        raise CommandError(f"argument --features: {unknown[0]!r} is not a fitted column; "
                           f"choose two of {', '.join(X.columns)}")


def _run_fit(args: argparse.Namespace) -> None:
    """Fit one model to a CSV file; write model.nc, idata.nc, tables, figures, report.md."""
    check_prior_option(args)
    check_family_options(args)
    check_covariance_for_method(args)
    data = _read(args)
    check_covariance_for_features(args, data.features.columns)
    _check_rows(data.features, [args.components], args.data)
    _check_features(args, data.features)
    check_output_folder(args.out, args.overwrite)
    _use_agg()
    from bayesmix.comparison import compare

    X, scaling = _standardized(args, data.features)
    label = LABELS[args.method]
    model, idata = _fit_model(args, X)

    args.out.mkdir(parents=True, exist_ok=True)
    netcdf = args.out / "idata.nc"
    idata.to_netcdf(str(netcdf))
    written = [model.save(args.out / "model.nc", overwrite=True), netcdf]
    report = Report(args.out, title=f"bayesmix fit: {Path(args.data).name}")
    parameters = parameter_table(idata)
    units = ""
    if scaling is not None:
        scaling.to_csv(args.out / SCALING_FILE)
        written.append(args.out / SCALING_FILE)
        report.add_table(parameters, "parameters_standardized",
                         "Parameters on the standardised scale (the scale fitted).")
        parameters = parameter_table(idata, scaling["center"], scaling["scale"])
        units = ", in the original units"
    scores = comparison_table(compare({label: model}))
    _say(f"{label} fit of {args.components} components ({args.covariance}) to "
         f"{data.describe()}{'; standardised' if scaling is not None else ''}.")
    if args.family == "student_t":
        _say("Student-t components: 'cov' is each component's scale matrix, 'dof' its "
             "degrees of freedom.")
    if args.noise:
        _say(f"Noise component: weight {model.noise_weight_:.3f}, uniform over a volume of "
             f"{model.hypervolume_:.4g}; its rows are labelled -1 in assignments.csv.")
    print()
    print(f"Parameters{units}{'' if label == 'EM' else ' (posterior means)'}:")
    print(parameters_text(parameters, args.covariance))
    print()
    print(scores.to_string(float_format=number, na_rep="NaN", line_width=WIDTH))

    _progress(args, f"writing tables and figures into {args.out}/ ...")
    report.add_text(f"{label} fit of {args.components} components, covariance structure "
                    f"`{args.covariance}`, to {data.describe()} (seed {args.seed}). The "
                    f"fitted model is in `model.nc` (`bayesmix.load`, or `bayesmix predict "
                    f"model.nc DATA.csv`), its InferenceData in `idata.nc` "
                    f"(`arviz.from_netcdf`).")
    report.add_table(parameters, "parameters", f"Parameters{units}" + (
        "" if label == "EM" else " (posterior means)") + ".")
    report.add_table(scores, "scores", "Scores (bayesmix.compare).")
    if label != "EM":
        _add_summary(report, model, "ArviZ summary of the posterior")
    labelled_rows(model, data.table, X).to_csv(args.out / "assignments.csv", index=False,
                                               sep=data.separator, decimal=data.decimal)
    written.append(args.out / "assignments.csv")
    report.add_text("The rows of the data with the cluster of each, its uncertainty and "
                    "every component's probability: [assignments.csv](assignments.csv).")
    add_fit_figures(report, model, X, features=args.features)
    written += report.write()
    _written(args, args.out, [*written, *report.figures, *report.tables])


def _select_bayes_function() -> Callable[..., Any]:
    """``bayesmix.selection.select_bayes``, with a clear error when it is missing."""
    from bayesmix import selection

    function = getattr(selection, "select_bayes", None)
    if function is None:
        raise CommandError("argument --method: this version of bayesmix has no select_bayes; "
                           "use --method em")
    return function


def _select(args: argparse.Namespace, X: pd.DataFrame, structures: list[str],
            criterion: str) -> Any:
    """``select_em`` or ``select_bayes`` over ``--components`` x ``structures``."""
    ks = ", ".join(map(str, args.components))
    backend = backend_of(args.method)
    if backend is None:
        models = (f"mclust's {len(mclust_models(X.shape[1], prior=args.prior))} models"
                  if structures == "mclust" else f"{len(structures)} structure(s)")
        _progress(args, f"fitting EM for K = {ks} x {models} x "
                        f"{', '.join(args.family)}{' + noise' if args.noise else ''} ...")
        return select_em(X, n_components=args.components, covariance_types=structures,
                         criterion=criterion, n_init=args.n_init, random_state=args.seed,
                         prior="default" if args.prior else None, families=args.family,
                         noise=args.noise)
    select_bayes = _select_bayes_function()
    settings = {key: value for key, value in _sampler_settings(args).items()
                if key in backend.fit_options or key == "progressbar"}
    if backend.compiles:
        _progress(args, COMPILING)
    _progress(args, f"fitting the posterior with {LABELS[args.method]} for K = {ks} x "
                    f"{len(structures)} structure(s)"
                    f"{' (each fit compiles its model)' if backend.compiles else ''} ...")
    return select_bayes(X, n_components=args.components, covariance_type=structures,
                        method=args.method, criterion=criterion, random_state=args.seed,
                        **settings)


def _add_summary(report: Report, model: Any, caption: str) -> None:
    """A posterior's summary: every entry in ``summary.csv``, each covariance once inline."""
    summary = model.summary()
    report.add_table(summary, "summary", f"{caption}, every entry.", inline=False)
    shared = get_structure(model.covariance_type).shares_covariance()
    report.add_table(readable_summary(summary, list(model.idata_.posterior["feature"].values),
                                      model.n_components, shared), None,
                     f"{caption} (each covariance entry once).", float_format=".3f")

def _selection_figure(result: Any, criterion: str) -> tuple[Any, str]:
    """The selection curve and its caption: BIC/ICL for EM, elpd for a posterior."""
    if criterion in ("bic", "icl"):
        from bayesmix.plotting import plot_selection

        name = criterion.upper()
        return (plot_selection(result, relative=True),
                f"{name} minus the chosen fit's against K (linear within 10 units, "
                f"logarithmic beyond: every curve readable whatever the data's scale; "
                f"lower is better).")
    return (plot_elpd_selection(result.table_, criterion, result.best_index_),
            f"elpd_{criterion} against K with one standard error (higher is better).")


def _run_select(args: argparse.Namespace) -> None:
    """Choose K (and the structure with EM); print the table, optionally write it."""
    structures, criterion = check_select_options(args)
    data = _read(args)
    check_covariance_for_features(args, data.features.columns)
    _check_rows(data.features, args.components, args.data)
    if args.out is not None:
        check_output_folder(args.out, args.overwrite)
    _use_agg()
    X, _ = _standardized(args, data.features)
    result = _select(args, X, structures, criterion)
    text = result.to_string()
    _say(f"{LABELS[args.method]} fits to {data.describe()}"
         f"{'; standardised' if args.standardize else ''}.")
    print()
    print(text)
    if args.out is None:
        return
    report = Report(args.out, title=f"bayesmix select: {Path(args.data).name}")
    report.add_code(text)
    report.add_table(result.table_, "selection", "Every fit, with its notes.", inline=False)
    drawing, caption = _selection_figure(result, criterion)
    report.add_figure(drawing, "selection", caption)
    written = report.write()
    _written(args, args.out, report.figures + report.tables + written)


# ----------------------------------------------------------------- predict
def _model_columns(model: Any) -> list[str] | None:
    """The column names a model was fitted on, or ``None`` when it was given an array."""
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else [str(name) for name in names]


def _run_predict(args: argparse.Namespace) -> None:
    """Label the rows of a CSV file with a saved model; write or print them."""
    if args.out is not None:
        check_output_file(args.out, args.overwrite)
    import bayesmix

    model = bayesmix.load(args.model)
    data = _read(args, columns=_model_columns(model), for_model=True, min_rows=1)
    if data.features.shape[1] != model.n_features_in_:
        raise CommandError(f"argument DATA: the model was fitted on {model.n_features_in_} "
                           f"feature(s), '{args.data}' has {data.features.shape[1]} numeric "
                           f"column(s); pass a file with the model's features")
    scaling_file = Path(args.model).with_name(SCALING_FILE)
    X = data.features
    if scaling_file.exists():
        scaling = pd.read_csv(scaling_file, index_col="feature")
        X = (X - scaling["center"]) / scaling["scale"]
        _progress(args, f"standardising the features as {scaling_file} says")
    labelled = labelled_rows(model, data.table, X)
    if args.out is None:
        labelled.to_csv(sys.stdout, index=False, sep=data.separator, decimal=data.decimal)
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    labelled.to_csv(args.out, index=False, sep=data.separator, decimal=data.decimal)
    _progress(args, f"wrote {len(labelled)} labelled rows to {args.out}")


_COMMANDS: dict[str, Callable[[argparse.Namespace], None]] = {
    "demo": _run_demo, "fit": _run_fit, "select": _run_select, "predict": _run_predict,
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
    EM fits to 272 rows of 'faithful.csv' (separator ',', decimal '.'), features eruptions,
    waiting.
    ...
    Chosen by lowest BIC among non-degenerate fits: n_components=3, covariance_type='tied'.
    """
    # A selection by EM makes no InferenceData; every other command makes or reads one.
    uses_arviz = args.command != "select" or fits_posterior(args)
    with _bayesmix_warnings(args.command, uses_arviz):
        _COMMANDS[args.command](args)
