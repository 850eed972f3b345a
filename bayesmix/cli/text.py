"""The tables the ``bayesmix`` command prints, laid out for a 100-column terminal.

The CSV files keep every entry; the printed form drops what repeats or does not apply:
scores no model has, the upper triangle of a covariance, a tied covariance repeated
for every component, covariances of more than three features (left to the CSV file).
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd

from bayesmix.covariance import get_structure

__all__ = ["WIDTH", "comparison_table", "comparison_text", "number", "parameter_table",
           "parameters_text", "readable_summary"]

#: Columns of the terminal the printed tables fit in.
WIDTH = 100
#: Covariances are printed up to this many features, and only written as CSV above.
MAX_PRINTED_FEATURES = 3


def number(value: float) -> str:
    """A score for the terminal: two decimals, significant digits below 1.

    Examples
    --------
    >>> from bayesmix.cli.text import number
    >>> number(2314.4213), number(0.012345)
    ('2314.42', '0.01235')
    """
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.4g}"


def comparison_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """:func:`bayesmix.compare`'s table transposed (scores as rows, one column per model),
    without the scores no model has.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, compare, load_old_faithful
    >>> from bayesmix.cli.text import comparison_table
    >>> X = load_old_faithful()
    >>> table = comparison_table(compare({"EM": GaussianMixtureEM(2, random_state=0).fit(X)}))
    >>> "elpd_loo" in table.index, "bic" in table.index
    (False, True)
    """
    table = comparison.dropna(axis=1, how="all")
    return table.T.astype(object).where(table.T.notna(), np.nan)


def comparison_text(comparison: pd.DataFrame) -> str:
    """The ``compare`` table for the terminal: scores that apply, then the footnotes.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, compare, load_old_faithful
    >>> from bayesmix.cli.text import comparison_text
    >>> X = load_old_faithful()
    >>> text = comparison_text(compare({"EM": GaussianMixtureEM(2, random_state=0).fit(X)}))
    >>> print(text.splitlines()[0].split())
    ['EM']
    >>> max(len(line) for line in text.splitlines()) <= 100
    True
    """
    text = comparison_table(comparison).to_string(float_format=number, na_rep="NaN",
                                                  line_width=WIDTH)
    notes = [textwrap.fill(f"[{key}] {note}", WIDTH, subsequent_indent="    ")
             for key, note in comparison.attrs.get("footnotes", {}).items()]
    return "\n\n".join([text, "\n".join(notes)]) if notes else text


def parameter_table(idata: Any, center: pd.Series | None = None,
                    scale: pd.Series | None = None) -> pd.DataFrame:
    """Weights, means and covariances (upper triangle) per component, posterior means for
    draws; with ``center`` and ``scale``, of data that were standardised, in the
    original units (``x * scale + center``). For t components (a ``dof`` variable), a
    ``dof`` column follows the weight and ``cov`` holds the scale matrices.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.cli.text import parameter_table
    >>> X = load_old_faithful()
    >>> center, scale = X.mean(), X.std()
    >>> em = GaussianMixtureEM(2, random_state=0).fit((X - center) / scale)
    >>> table = parameter_table(em.to_inference_data(), center, scale)
    >>> table.columns.tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['weight', 'mean eruptions', 'mean waiting', 'cov eruptions,eruptions',
     'cov eruptions,waiting', 'cov waiting,waiting']
    >>> sorted(table["mean waiting"].round(0))
    [54.0, 80.0]
    """
    posterior = idata.posterior
    estimates = posterior[["weights", "means", "covariances"]].mean(("chain", "draw"))
    features = [str(name) for name in posterior["feature"].values]
    means = estimates["means"].values
    covariances = estimates["covariances"].values
    if scale is not None:
        factors = scale[features].to_numpy(dtype=float)
        means = means * factors + center[features].to_numpy(dtype=float)
        covariances = covariances * np.outer(factors, factors)
    rows = {"weight": estimates["weights"].values}
    if "dof" in posterior:
        rows["dof"] = posterior["dof"].mean(("chain", "draw")).values
    for j, name in enumerate(features):
        rows[f"mean {name}"] = means[:, j]
    for j, first in enumerate(features):
        for k, second in enumerate(features[j:], start=j):
            rows[f"cov {first},{second}"] = covariances[:, j, k]
    table = pd.DataFrame(rows)
    table.index.name = "component"
    return table


def _covariance_block(row: pd.Series, features: list[str]) -> pd.DataFrame:
    """One component's covariance as a lower triangle (the upper one blank)."""
    block = pd.DataFrame(np.nan, index=features, columns=[f"cov {name}" for name in features])
    for j, first in enumerate(features):
        for k, second in enumerate(features[j:], start=j):
            block.iloc[k, j] = row[f"cov {first},{second}"]
    return block


def _indented(table: pd.DataFrame) -> str:
    return textwrap.indent(table.to_string(float_format=number, na_rep=""), "    ")


def parameters_text(table: pd.DataFrame, covariance_type: str) -> str:
    """A :func:`parameter_table` as one block per component: its weight, then its means
    beside its covariance (lower triangle; once for a tied structure; left to the CSV
    file above three features).

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM, load_old_faithful
    >>> from bayesmix.cli.text import parameter_table, parameters_text
    >>> em = GaussianMixtureEM(2, covariance_type="tied", random_state=0)
    >>> table = parameter_table(em.fit(load_old_faithful()).to_inference_data())
    >>> print(parameters_text(table, "tied"))  # doctest: +NORMALIZE_WHITESPACE
    component 0: weight 0.359
                   mean
        eruptions  2.05
        waiting   54.60
    component 1: weight 0.641
                   mean
        eruptions  4.30
        waiting   80.04
    covariance shared by every component (tied):
                   cov eruptions  cov waiting
        eruptions         0.1328
        waiting           0.7515        35.17
    """
    features = [name[len("mean "):] for name in table.columns if name.startswith("mean ")]
    printed = len(features) <= MAX_PRINTED_FEATURES
    structure = get_structure(covariance_type)
    shared = structure.shares_covariance()
    blocks = []
    for k, row in table.iterrows():
        block = pd.DataFrame({"mean": [row[f"mean {name}"] for name in features]},
                             index=features)
        if printed and not shared:
            block = block.join(_covariance_block(row, features))
        dof = f", dof {row['dof']:.3g}" if "dof" in row else ""
        blocks.append(f"component {k}: weight {row['weight']:.3f}{dof}\n{_indented(block)}")
    if printed and shared:
        blocks.append(f"covariance shared by every component ({structure.label}):\n"
                      f"{_indented(_covariance_block(table.iloc[0], features))}")
    if not printed:
        blocks.append(f"covariances ({len(features)} x {len(features)} per component): "
                      f"see parameters.csv")
    return "\n".join(blocks)


def readable_summary(summary: pd.DataFrame, features: list[str], n_components: int,
                     shared_covariance: bool) -> pd.DataFrame:
    """A posterior summary's rows a reader needs: each covariance entry once.

    Drops the upper triangle of every covariance matrix and, when the components share
    one covariance, its copies for components 1, 2, ...; the other rows are kept.

    Parameters
    ----------
    summary : pandas.DataFrame
        :meth:`GaussianMixtureBayes.summary <bayesmix.GaussianMixtureBayes.summary>`,
        rows labelled ``covariances[k, feature, feature_bis]`` by ArviZ.
    features : list of str
        The feature names, in order.
    n_components : int
    shared_covariance : bool
        Whether all components share one covariance (``tied``).

    Examples
    --------
    >>> import pandas as pd
    >>> from bayesmix.cli.text import readable_summary
    >>> rows = ["weights[0]", "weights[1]"] + [f"covariances[{k}, {a}, {b}]" for k in (0, 1)
    ...                                        for a in ("x", "y") for b in ("x", "y")]
    >>> summary = pd.DataFrame({"mean": range(len(rows))}, index=rows)
    >>> list(readable_summary(summary, ["x", "y"], 2, shared_covariance=True).index)
    ['weights[0]', 'weights[1]', 'covariances[0, x, x]', 'covariances[0, y, x]', 'covariances[0, y, y]']
    """
    components = range(1 if shared_covariance else n_components)
    needed = {f"covariances[{k}, {features[i]}, {features[j]}]"
              for k in components for i in range(len(features)) for j in range(i + 1)}
    keep = [label for label in summary.index
            if not str(label).startswith("covariances[") or label in needed]
    return summary.loc[keep]

