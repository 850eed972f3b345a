"""Input checks and their messages, in one place.

Every public entry point of bayesmix validates its input here, so a user gets the same
kind of message everywhere: the argument, the offending value, and what to do about it.

Its length (about 650 lines) is the point of it: every input check and its message
in one module.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state as _sklearn_check_random_state
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import _check_feature_names, check_is_fitted

from bayesmix.covariance import get_structure

#: The largest ratio of two columns' standard deviations the Bayesian model accepts.
MAX_SCALE_RATIO = 1e8
#: A column whose standard deviation is at most this fraction of its magnitude is constant.
_CONSTANT_RTOL = 1e-12


def short_repr(value: Any, limit: int = 60) -> str:
    """A short ``repr`` of ``value`` for an error message.

    Examples
    --------
    >>> from bayesmix._validation import short_repr
    >>> short_repr("x" * 100, limit=10)
    "'xxxxxx..."
    """
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_dataframe(X: Any) -> bool:
    return isinstance(X, pd.DataFrame)


def check_unique_columns(X: pd.DataFrame, name: str) -> None:
    """Refuse a DataFrame whose column names repeat: a feature must be named once.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayesmix._validation import check_unique_columns
    >>> check_unique_columns(pd.DataFrame([[1.0, 2.0]], columns=["a", "a"]), "X")
    Traceback (most recent call last):
    ...
    ValueError: X has repeated column names ['a'] (columns ['a', 'a']). ...
    """
    repeated = X.columns[X.columns.duplicated()].unique()
    if len(repeated):
        raise ValueError(
            f"{name} has repeated column names {list(repeated)} (columns "
            f"{short_repr(list(X.columns))}). Give every column its own name, e.g. "
            f"{name}.columns = [...], or drop the copies with "
            f"{name}.loc[:, ~{name}.columns.duplicated()]."
        )


def check_dataframe_dtypes(X: pd.DataFrame, name: str) -> None:
    """Refuse repeated column names and columns that do not hold real numbers.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayesmix._validation import check_dataframe_dtypes
    >>> check_dataframe_dtypes(pd.DataFrame({"a": [1.0], "b": ["x"]}), "X")
    Traceback (most recent call last):
    ...
    ValueError: X column 'b' has dtype ...; bayesmix needs numeric columns. ...
    """
    check_unique_columns(X, name)
    bad = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c].dtype)
           or pd.api.types.is_bool_dtype(X[c].dtype)]
    if bad:
        column = bad[0]
        raise ValueError(
            f"{name} column {column!r} has dtype {X[column].dtype}; bayesmix needs numeric "
            f"columns. Select the numeric ones with {name}.select_dtypes('number') or "
            f"encode {column!r} as numbers first."
        )


def _masked_as_missing(X: np.ma.MaskedArray, name: str) -> np.ndarray:
    """A masked array's values with its masked entries NaN (missing values).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix._validation import _masked_as_missing
    >>> _masked_as_missing(np.ma.masked_array([[1, 2]], mask=[[False, True]]), "X")
    array([[ 1., nan]])
    """
    if not np.ma.is_masked(X):
        return np.ma.getdata(X)
    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} is a masked array of dtype {X.dtype}; bayesmix reads masked entries as "
            f"missing values (NaN), which needs numbers. Convert it with "
            f"{name}.astype(float) first."
        )
    return np.ma.filled(X.astype(np.float64), np.nan)


def check_array(
    X: Any,
    *,
    name: str = "X",
    min_samples: int = 1,
    n_features: int | None = None,
    owner: str = "the model",
    keep_float32: bool = False,
    allow_missing: bool = False,
) -> np.ndarray:
    """Validate a data matrix and return it as a C-contiguous float64 array.

    Parameters
    ----------
    X : array-like or pandas.DataFrame of shape (n_samples, n_features)
        The data. A DataFrame must have numeric columns only.
    name : str, default="X"
        The argument's name, used in messages.
    min_samples : int, default=1
        The fewest rows accepted.
    n_features : int, optional
        The number of columns required (the number seen in ``fit``).
    owner : str, default="the model"
        Who expects ``n_features`` columns, used in messages.
    keep_float32 : bool, default=False
        Return float32 data as float32 (the EM estimators compute in it, as
        scikit-learn's do) instead of converting it.
    allow_missing : bool, default=False
        Accept NaN as a missing value (the EM estimators fit and score rows on their
        observed values); a row with every value missing is still refused.

    Returns
    -------
    ndarray of shape (n_samples, n_features), dtype float64 (or float32, see above)

    Raises
    ------
    ValueError
        For a 1-D or 3-D input, complex, boolean or text values, infinity, NaN (unless
        ``allow_missing``: then a row of NaN only), too few rows, or a number of features
        that differs from ``fit``.
    TypeError
        For values that are not numbers at all (e.g. dicts in an object array).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix._validation import check_array
    >>> check_array([[1, 2], [3, 4]]).dtype
    dtype('float64')
    >>> check_array(np.ones((2, 2), dtype=np.float32), keep_float32=True).dtype
    dtype('float32')
    >>> check_array([1.0, 2.0])
    Traceback (most recent call last):
    ...
    ValueError: X must be 2-D (n_samples, n_features), got a 1-D array of shape (2,). ...
    """
    if X is None:
        raise ValueError(f"{name} is None; pass an array-like of shape (n_samples, n_features).")
    if _is_dataframe(X):
        check_dataframe_dtypes(X, name)
        values = X.to_numpy()
        if values.dtype == object:  # nullable columns (Float64, Int64): pd.NA is missing
            values = X.to_numpy(dtype=np.float64, na_value=np.nan)
    elif isinstance(X, np.ma.MaskedArray):  # a masked value is missing, not its filler
        values = _masked_as_missing(X, name)
    elif hasattr(X, "__array__") or isinstance(X, (list, tuple)):
        try:
            values = np.asarray(X)
        except ValueError as exc:
            raise ValueError(
                f"{name} cannot be read as a 2-D array ({exc}). Pass rows of equal length, "
                f"one number per feature."
            ) from None
    else:
        raise ValueError(
            f"{name} must be an array-like of shape (n_samples, n_features), got "
            f"{type(X).__name__} {short_repr(X)}."
        )

    if values.ndim == 1:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features), got a 1-D array of shape "
            f"{values.shape}. Reshape your data: {name}.reshape(-1, 1) if it holds a single "
            f"feature, or {name}.reshape(1, -1) if it holds a single sample."
        )
    if values.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features), got an array of shape "
            f"{values.shape}. Reshape it to two dimensions."
        )
    if np.iscomplexobj(values):
        raise ValueError(f"Complex data not supported: {name} has dtype {values.dtype}.")
    if values.dtype.kind in "mM":
        raise ValueError(
            f"{name} has dtype {values.dtype}, times rather than numbers. Convert them "
            f"explicitly in the unit you mean, e.g. {name} / np.timedelta64(1, 's') for "
            f"seconds (from a date, subtract a reference date first)."
        )
    if values.dtype.kind not in "biuf":
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"{name} must hold numbers, got dtype {values.dtype} ({exc}). Convert "
                f"the data to numbers first, or drop the columns that are not numbers."
            ) from None
    if values.dtype.kind == "b":
        raise ValueError(
            f"{name} has boolean dtype; a Gaussian mixture needs real-valued data. Convert "
            f"it explicitly with {name}.astype(float) if that is what you mean."
        )
    keep = keep_float32 and values.dtype == np.float32
    values = np.ascontiguousarray(values, dtype=np.float32 if keep else np.float64)

    n_samples, n_cols = values.shape
    if n_samples < max(min_samples, 1):
        raise ValueError(
            f"{name} has {n_samples} sample(s) (shape={values.shape}) while a minimum of "
            f"{max(min_samples, 1)} is required. Pass more rows."
        )
    if n_cols == 0:
        raise ValueError(
            f"{name} has 0 feature(s) (shape={values.shape}) while a minimum of 1 is "
            f"required. Pass at least one column."
        )
    # A sum is finite only when every value is: this checks without an (N, D) temporary.
    with np.errstate(invalid="ignore", over="ignore"):
        finite_sum = np.isfinite(values.sum())
    if not finite_sum and not np.isfinite(values).all():
        _check_non_finite(values, X, name, allow_missing)
    if n_features is not None and n_cols != n_features:
        raise ValueError(
            f"{name} has {n_cols} features, but {owner} is expecting {n_features} features "
            f"as input, the number seen in fit. Pass data with the same columns as in fit."
        )
    return values


def validate_data(estimator: Any, X: Any, *, reset: bool, min_samples: int = 1,
                  keep_float32: bool = False, allow_missing: bool = False) -> np.ndarray:
    """Validate ``X`` for an estimator's ``fit`` (``reset=True``) or prediction methods.

    ``keep_float32`` keeps float32 data in float32 and ``allow_missing`` accepts NaN as
    missing values (see :func:`check_array`).

    Checks the data with :func:`check_array`; in ``fit`` refuses a column with no
    observed value or a range that over- or underflows, records ``n_features_in_`` and,
    for a DataFrame with string column names, ``feature_names_in_``; afterwards checks the
    number of features and the column names against those seen in ``fit``, with
    scikit-learn's own feature-name rules.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.base import BaseEstimator
    >>> from bayesmix._validation import validate_data
    >>> est = BaseEstimator()
    >>> validate_data(est, pd.DataFrame({"a": [1.0, 2.0]}), reset=True).shape
    (2, 1)
    >>> est.feature_names_in_
    array(['a'], dtype=object)
    """
    if _is_dataframe(X):  # before scikit-learn's feature-name checks, which fail on them
        check_unique_columns(X, "X")
    try:  # scikit-learn's checks and messages (a drop-in raises what it raises), raised here
        _check_feature_names(estimator, X, reset=reset)
    except (TypeError, ValueError) as exc:
        raise type(exc)(str(exc)) from None
    n_features = None if reset else estimator.n_features_in_
    values = check_array(X, name="X", min_samples=min_samples, n_features=n_features,
                         owner=type(estimator).__name__, keep_float32=keep_float32,
                         allow_missing=allow_missing)
    if reset:
        _check_observed_columns(values, X)
        _check_spread(values, X)
        estimator.n_features_in_ = values.shape[1]
    return values


def _column_label(X: Any, column: int) -> str:
    """How messages name column ``column`` of the user's ``X``."""
    return repr(X.columns[column]) if _is_dataframe(X) else str(column)


def _row_list(rows: np.ndarray, limit: int = 10) -> str:
    """Row indices for a message: all of them, or the first ``limit`` and how many more."""
    listed = ", ".join(str(int(r)) for r in rows[:limit])
    return listed if rows.size <= limit else f"{listed} and {rows.size - limit} more"


def _check_non_finite(values: np.ndarray, X: Any, name: str, allow_missing: bool) -> None:
    """Refuse infinities, and NaN (or with ``allow_missing`` rows of NaN only), naming them."""
    infinite_rows = np.flatnonzero(np.isinf(values).any(axis=1))
    if infinite_rows.size:
        raise ValueError(
            f"Input {name} contains infinity in {infinite_rows.size} row(s): rows "
            f"{_row_list(infinite_rows)}. Replace the infinities by NaN to treat them as "
            f"missing values (the EM estimators accept NaN), or drop those rows."
        )
    missing = np.isnan(values)
    if not allow_missing:
        row, col = np.argwhere(missing)[0]
        raise ValueError(
            f"Input {name} contains NaN: {int(missing.sum())} missing value(s), the first at "
            f"row {row}, column {_column_label(X, col)}. Drop or impute those rows here "
            f"(for a DataFrame: {name}.dropna()); the EM estimators (GaussianMixtureEM, "
            f"select_em) accept NaN as missing values, and a fitted GaussianMixtureEM "
            f"imputes them (impute(X))."
        )
    empty_rows = np.flatnonzero(missing.all(axis=1))
    if empty_rows.size:
        raise ValueError(
            f"Input {name} has {empty_rows.size} row(s) with every value missing (NaN): "
            f"rows {_row_list(empty_rows)}. They carry no information; drop them, e.g. "
            f"{name}[~np.isnan({name}).all(axis=1)] ({name}.dropna(how='all') for a "
            f"DataFrame)."
        )


def _check_observed_columns(values: np.ndarray, X: Any, name: str = "X") -> None:
    """Refuse training data with a column of missing values only."""
    if not np.isnan(values.sum()):
        return
    empty_columns = np.flatnonzero(np.isnan(values).all(axis=0))
    if empty_columns.size:
        raise ValueError(
            f"Input {name} column {_column_label(X, int(empty_columns[0]))} has no observed "
            f"value (every value is NaN): nothing can be learnt about it. Drop that column."
        )


def _check_spread(values: np.ndarray, X: Any, name: str = "X") -> None:
    """Refuse training data whose squared deviations overflow or underflow float64.

    Fitting sums squared deviations from the column means; beyond about ``1e150`` they
    overflow to infinity and every covariance becomes NaN, and below about ``1e-154``
    they underflow to zero, so a varying column looks constant.
    """
    with np.errstate(over="ignore", under="ignore"):
        # fmax and fmin skip missing values (NaN).
        ranges = np.fmax.reduce(values, axis=0) - np.fmin.reduce(values, axis=0)
        squared_ranges = np.square(ranges)
    underflowing = (ranges > 0) & (squared_ranges < np.finfo(np.float64).tiny)
    if underflowing.any():
        column = int(np.flatnonzero(underflowing)[0])
        raise ValueError(
            f"{name} column {_column_label(X, column)} varies by only {ranges[column]:.3g} "
            f"(its range): its squared deviations underflow float64 (below "
            f"{np.finfo(np.float64).tiny:.3g}), so its variance cannot be computed. "
            f"Rescale {name} before fitting, e.g. standardise each column."
        )
    with np.errstate(over="ignore", invalid="ignore"):
        # Checked without an (N, D) temporary when it can be: N squared deviations sum to
        # at most N times the column's squared range.
        if np.isfinite(values.shape[0] * squared_ranges).all():
            return
        spread = np.nansum(np.square(values - np.nanmean(values, axis=0)), axis=0)
    if not np.isfinite(spread).all():
        column = int(np.flatnonzero(~np.isfinite(spread))[0])
        largest = np.nanmax(np.abs(values[:, column]))
        raise ValueError(
            f"{name} column {_column_label(X, column)} spans too wide a range to fit (values "
            f"up to {largest:.3g}): its squared deviations overflow float64. Rescale {name} "
            f"before fitting, e.g. standardise each column."
        )


def check_bayes_data(X: np.ndarray, covariance_type: str, X_raw: Any = None) -> None:
    """Refuse data on which the Bayesian model's data-scaled priors are meaningless.

    The priors of :class:`~bayesmix.bayes.MixturePriors` are scaled by each column's
    standard deviation, and a ``full`` or ``tied`` covariance prior is centred on the
    data's own scale; so a constant column, columns whose scales differ by more than
    ``MAX_SCALE_RATIO``, or (``full``, ``tied``) no more rows than features leave the
    posterior without a usable scale, and the sampler fails with NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix._validation import check_bayes_data
    >>> check_bayes_data(np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]]), "diag")
    Traceback (most recent call last):
    ...
    ValueError: X column 1 is constant (every value is 5): ...
    """
    X_raw = X if X_raw is None else X_raw
    # Missing values (NaN) are left out of the columns' spreads.
    std = np.nanstd(X, axis=0)
    constant = std <= _CONSTANT_RTOL * np.nanmax(np.abs(X), axis=0)
    if constant.any():
        column = int(np.flatnonzero(constant)[0])
        value = X[np.flatnonzero(~np.isnan(X[:, column]))[0], column]
        raise ValueError(
            f"X column {_column_label(X_raw, column)} is constant (every value is "
            f"{value:g}): a Gaussian mixture has no variance to model there. Drop "
            f"that column."
        )
    ratio = std.max() / std.min()
    if ratio > MAX_SCALE_RATIO:
        raise ValueError(
            f"X's columns have standard deviations from {std.min():.3g} (column "
            f"{_column_label(X_raw, int(std.argmin()))}) to {std.max():.3g} (column "
            f"{_column_label(X_raw, int(std.argmax()))}), a ratio of {ratio:.3g} > "
            f"{MAX_SCALE_RATIO:g}, beyond what the sampler can handle. Standardise X "
            f"(divide each column by its standard deviation) and fit again."
        )
    n_samples, n_features = X.shape
    if get_structure(covariance_type).estimates_correlations and n_samples <= n_features:
        raise ValueError(
            f"X has {n_samples} rows but {n_features} features: too few rows for "
            f"covariance_type={covariance_type!r}, whose covariance needs more rows than "
            f"features. Use covariance_type='diag' or 'spherical', reduce the features "
            f"(drop columns or use PCA), or pass more rows."
        )


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray:
    """Validate ``sample_weight``: finite, non-negative, one per row, not all zero.

    Examples
    --------
    >>> from bayesmix._validation import check_sample_weight
    >>> check_sample_weight(None, 3)
    array([1., 1., 1.])
    """
    if sample_weight is None:
        return np.ones(n_samples)
    weights = np.asarray(sample_weight)
    if weights.dtype.kind not in "biuf":
        raise ValueError(
            f"sample_weight must hold numbers, got dtype {weights.dtype}. Pass one "
            f"non-negative number per row of X."
        )
    weights = weights.astype(np.float64)
    if weights.ndim != 1 or weights.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has shape {weights.shape}, but X has {n_samples} rows. Pass a "
            f"1-D array of length {n_samples}, one weight per row."
        )
    if not np.isfinite(weights).all():
        raise ValueError("sample_weight contains NaN or infinity; every weight must be finite.")
    if (weights < 0).any():
        index = int(np.flatnonzero(weights < 0)[0])
        raise ValueError(
            f"sample_weight must be non-negative, got {weights[index]:g} at row {index}. "
            f"Use 0 to leave a row out."
        )
    if weights.sum() <= 0:
        raise ValueError(
            "sample_weight is zero for every row; at least one row must have a positive weight."
        )
    return weights


def check_covariance_type(covariance_type: Any, name: str = "covariance_type") -> str:
    """Validate a covariance structure name (any name the registry knows).

    Examples
    --------
    >>> from bayesmix._validation import check_covariance_type
    >>> check_covariance_type("tied")
    'tied'
    """
    get_structure(covariance_type, name)
    return covariance_type


def check_fitted(estimator: Any, attributes: str | None = None) -> None:
    """scikit-learn's ``check_is_fitted``, its ``NotFittedError`` and message (as a drop-in
    raises them), raised from here rather than from scikit-learn's frames.

    Examples
    --------
    >>> from bayesmix import GaussianMixtureEM
    >>> from bayesmix._validation import check_fitted
    >>> check_fitted(GaussianMixtureEM(2))
    Traceback (most recent call last):
        ...
    sklearn.exceptions.NotFittedError: This GaussianMixtureEM instance is not fitted yet. Call 'fit' with appropriate arguments before using this estimator.
    """
    try:
        check_is_fitted(estimator, attributes)
    except NotFittedError as exc:
        raise NotFittedError(str(exc)) from None


def check_int(
    value: Any, name: str, *, min_value: int | None = None, max_value: int | None = None
) -> int:
    """Validate an integer parameter within bounds.

    Examples
    --------
    >>> from bayesmix._validation import check_int
    >>> check_int(3, "n_components", min_value=1)
    3
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"{name} must be an integer, got {short_repr(value)} ({type(value).__name__}).")
    if min_value is not None and value < min_value:
        raise ValueError(f"{name} must be >= {min_value}, got {value}.")
    if max_value is not None and value > max_value:
        raise ValueError(f"{name} must be <= {max_value}, got {value}.")
    return int(value)


def check_real(
    value: Any,
    name: str,
    *,
    min_value: float | None = None,
    strictly_positive: bool = False,
) -> float:
    """Validate a finite real parameter.

    Examples
    --------
    >>> from bayesmix._validation import check_real
    >>> check_real(1e-6, "reg_covar", min_value=0.0)
    1e-06
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {short_repr(value)}.")
    if strictly_positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {float(value)!r}.")
    if min_value is not None and value < min_value:
        raise ValueError(f"{name} must be >= {min_value}, got {float(value)!r}.")
    return float(value)


def check_bool(value: Any, name: str) -> bool:
    """Validate a flag: ``True`` or ``False`` (NumPy booleans included).

    Examples
    --------
    >>> from bayesmix._validation import check_bool
    >>> check_bool(False, "warm_start")
    False
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {short_repr(value)}.")
    return bool(value)


def check_random_state(seed: Any, name: str = "random_state") -> np.random.RandomState:
    """Turn ``seed`` into a :class:`numpy.random.RandomState`, with a clear error.

    Examples
    --------
    >>> from bayesmix._validation import check_random_state
    >>> check_random_state(0).randint(10)
    5
    >>> check_random_state("zero")
    Traceback (most recent call last):
    ...
    ValueError: random_state must be None, an integer in [0, 2**32 - 1] or a ...
    """
    try:
        if not isinstance(seed, (bool, np.bool_)):  # True would be the seed 1
            return _sklearn_check_random_state(seed)
    except (TypeError, ValueError):
        pass
    raise ValueError(
        f"{name} must be None, an integer in [0, 2**32 - 1] or a "
        f"numpy.random.RandomState, got {short_repr(seed)}. Pass an integer such as 0 for "
        f"reproducible results.")


def physical_memory() -> int | None:
    """This machine's memory in bytes, or ``None`` where the platform does not say.

    Examples
    --------
    >>> from bayesmix._validation import physical_memory
    >>> memory = physical_memory()
    >>> memory is None or memory > 2**20
    True
    """
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def check_memory(n_bytes: float, what: str, fix: str) -> None:
    """Refuse, before allocating, a request that needs more memory than the machine has.

    Examples
    --------
    >>> from bayesmix._validation import check_memory
    >>> check_memory(8e30, "make_mixture(n_samples=1e30)", "Draw fewer rows.")
    Traceback (most recent call last):
    ...
    ValueError: make_mixture(n_samples=1e30) needs about 7.45e+21 GiB of memory, ...
    """
    total = physical_memory()
    if total is not None and n_bytes > total:
        raise ValueError(
            f"{what} needs about {n_bytes / 2**30:.3g} GiB of memory, more than the "
            f"{total / 2**30:.3g} GiB this machine has. {fix}"
        )


def check_option(value: Any, name: str, options: Iterable[str]) -> str:
    """Validate that ``value`` is one of ``options``.

    Examples
    --------
    >>> from bayesmix._validation import check_option
    >>> check_option("kmeans", "init_params", ("kmeans", "random"))
    'kmeans'
    """
    options = tuple(options)
    if value not in options:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, options))}, got {short_repr(value)}."
        )
    return value


def check_shape(value: Any, name: str, shape: tuple[int, ...], meaning: str) -> np.ndarray:
    """Return ``value`` as a finite float64 array of exactly ``shape``.

    ``meaning`` describes the expected layout, e.g. ``"(n_components, n_features)"``.

    Examples
    --------
    >>> from bayesmix._validation import check_shape
    >>> check_shape([[0.0, 1.0]], "means_init", (1, 2), "(n_components, n_features)").shape
    (1, 2)
    """
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}.")
    array = np.array(array, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(
            f"{name} has shape {array.shape}, but {shape} {meaning} is expected here."
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinity; every entry must be finite.")
    return array


def check_distinct_values(name: str, values: Any, example: str,
                          check_each: Callable[[Any], Any] | None = None) -> list[Any]:
    """A non-empty iterable of distinct values, as a list (of ``check_each``'s values).

    A single value passed bare is suggested as a one-element list only where
    ``check_each`` accepts it.

    Examples
    --------
    >>> from bayesmix._validation import check_distinct_values
    >>> check_distinct_values("n_components", range(1, 3), "range(1, 10)")
    [1, 2]
    >>> check_distinct_values("n_components", [2, 2], "range(1, 10)")
    Traceback (most recent call last):
        ...
    ValueError: n_components has repeated values [2, 2]; list each value once.
    """
    if isinstance(values, str) or not isinstance(values, Iterable):
        hint = ""
        try:
            if check_each is not None:
                check_each(values)
            hint = f" For a single value pass a one-element list, e.g. [{values!r}]."
        except ValueError:  # not a valid value either: the example says what is
            pass
        raise ValueError(
            f"{name} must be an iterable such as {example}, got {short_repr(values)}.{hint}")
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty; pass at least one value, e.g. {example}.")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} has repeated values {values}; list each value once.")
    return values if check_each is None else [check_each(value) for value in values]


def check_grid(n_components: Any, covariance_types: Any, *, k_example: str = "range(1, 10)",
               structures_name: str = "covariance_types") -> tuple[list[int], list[str]]:
    """A model-selection grid: non-empty lists of distinct numbers and structures.

    Examples
    --------
    >>> from bayesmix._validation import check_grid
    >>> check_grid(range(1, 3), ["full", "VII"])
    ([1, 2], ['full', 'VII'])
    """
    ks = check_distinct_values("n_components", n_components, k_example,
                               lambda k: check_int(k, "n_components", min_value=1))
    structures = check_distinct_values(structures_name, covariance_types, "('full', 'tied')",
                                       lambda name: check_covariance_type(name, structures_name))
    by_structure: dict[str, list[str]] = {}
    for name in structures:
        by_structure.setdefault(get_structure(name).name, []).append(name)
    for code, names in by_structure.items():
        if len(names) > 1:
            raise ValueError(
                f"{structures_name} names one structure twice: {names[0]!r} and {names[1]!r} "
                f"are both mclust's {code!r}. List it once.")
    return ks, structures
