"""Save a fitted mixture to one netCDF file and load it back with nothing lost.

:func:`save` (also :meth:`GaussianMixtureEM.save <bayesmix.GaussianMixtureEM.save>` and
:meth:`GaussianMixtureBayes.save <bayesmix.GaussianMixtureBayes.save>`) writes one
netCDF-4 file; :func:`load` reads it back as an estimator of the same class that
predicts, scores, samples and plots exactly as the original did (bit-identical arrays):
every fitted array is stored, none is recomputed.

The file is an ordinary ArviZ netCDF file, so ``arviz.from_netcdf(path)`` reads the fit's
:class:`arviz.InferenceData` (for an EM fit, ``to_inference_data()``) from its groups
``posterior``, ``log_likelihood``, ``observed_data`` and ``sample_stats``. The estimator
itself lives in the root group, which ArviZ reads only the attributes of:

- attributes ``format`` (``"bayesmix.model"``), ``format_version``, ``estimator`` (the
  class name), the bayesmix, PyMC, ArviZ, xarray and NumPy versions that wrote it,
  ``model`` (JSON: the constructor parameters from ``get_params``, the priors as given
  and resolved, and every fitted attribute, including the EM reference fit ``em_`` of a
  posterior) and ``content_sha256``;
- variables: the NumPy arrays that JSON would not hold exactly (``weights_``,
  ``means_``, ``covariances_``, ``precisions_cholesky_``, ...), referred to by name in
  ``model``.

``content_sha256`` is a SHA-256 digest of every stored array (the InferenceData's and the
root's) and of the ``model`` text; :func:`load` recomputes it and refuses a file whose
content changed after it was written. Before reading any variable, :func:`load` checks
the format attributes and the sizes the file declares, so a damaged or crafted file is
refused without allocating what it claims to hold.

The module knows no estimator's internals. Each estimator class declares what it saves
and how it comes back: a class attribute ``fitted_attributes`` (the names stored, when
set) and a method ``restore_fitted_state(fitted, idata)`` that sets them from a file and
rebuilds its private state (training rows, stacked draws, a PyMC model) from the file's
InferenceData. :data:`ESTIMATORS` maps the class names a file may hold to where the
classes live; a class is imported only when a file holding it is read, so loading an EM
fit never imports PyMC. Its length (about 530 lines) is mostly the checks a file passes
before any of it is read (format, declared sizes, content hash), each with its message.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import uuid
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import arviz as az
import h5py
import numpy as np
import xarray as xr

from bayesmix._validation import check_fitted, check_memory, short_repr
from bayesmix._version import __version__

if TYPE_CHECKING:
    from bayesmix.bayes import GaussianMixtureBayes
    from bayesmix.em import GaussianMixtureEM

__all__ = ["ESTIMATORS", "FORMAT", "FORMAT_VERSION", "load", "save"]

#: Written in the root attribute ``format``: what marks a file as a saved bayesmix model.
FORMAT = "bayesmix.model"
#: Raised whenever the layout changes so that an older reader could misread a file.
FORMAT_VERSION = 1
_ENGINE = "h5netcdf"
#: The estimator classes a file can hold, by the class name it stores, as
#: ``"module:attribute"``; each declares ``fitted_attributes`` and ``restore_fitted_state``.
ESTIMATORS = {
    "GaussianMixtureEM": "bayesmix.em:GaussianMixtureEM",
    "GaussianMixtureBayes": "bayesmix.bayes:GaussianMixtureBayes",
    "StudentMixtureEM": "bayesmix.em:StudentMixtureEM",
    "StudentMixtureBayes": "bayesmix.bayes:StudentMixtureBayes",
}
#: The prior classes, stored as their constructor arguments, by the kind that marks them.
_PRIORS = {
    "priors": "bayesmix.bayes:MixturePriors",
    "conjugate_prior": "bayesmix.covariance.prior:ConjugatePrior",
}
#: What reading a damaged file raises from h5py, h5netcdf and xarray.
_READ_ERRORS = (OSError, ValueError, RuntimeError, KeyError, AttributeError, TypeError)
#: More than zlib, the netCDF-4 compression, can pack into one byte (deflate's largest
#: ratio is about 1032:1): a file declaring more values per byte is damaged or crafted.
_MAX_COMPRESSION = 1100


class _UnknownEstimatorError(ValueError):
    """A file names an estimator class that is not in :data:`ESTIMATORS`."""


def _import(location: str) -> type:
    """The class at ``"module:attribute"``, imported on first use."""
    module, _, attribute = location.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _is_of(value: Any, location: str) -> bool:
    """Whether ``value``'s class is the one at ``location``.

    The class is imported only when the names agree, and then its module is loaded
    already (``value`` is an instance of it), so no other value imports anything.
    """
    cls = type(value)
    return cls.__name__ == location.rpartition(":")[2] and cls is _import(location)


def _is_estimator(value: Any) -> bool:
    location = ESTIMATORS.get(type(value).__name__)
    return location is not None and _is_of(value, location)


# ---------------------------------------------------------------- encoding
def _encode(value: Any, name: str, arrays: dict[str, np.ndarray]) -> Any:
    """``value`` as JSON-able data; its arrays go into ``arrays`` under names from ``name``.

    JSON scalars and lists are kept as they are; everything else becomes a one-key
    dict naming its kind (``array``, ``numpy``, ``tuple``, ``dict``, ``random_state``,
    ``priors``, ``conjugate_prior`` or ``estimator``), so decoding is unambiguous.
    """
    if isinstance(value, np.generic):  # before float: numpy.float64 is a float
        return {"numpy": [value.dtype.str, value.item()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        arrays[name] = value
        return {"array": [name, value.dtype.str]}  # netCDF reads text back as str, not object
    if isinstance(value, list):
        return [_encode(item, _join(name, i), arrays) for i, item in enumerate(value)]
    if isinstance(value, tuple):
        return {"tuple": _encode(list(value), name, arrays)}
    if isinstance(value, dict):
        return {"dict": [[_encode(key, _join(name, f"key{i}"), arrays),
                          _encode(item, _join(name, key), arrays)]
                         for i, (key, item) in enumerate(value.items())]}
    if isinstance(value, np.random.RandomState):
        kind, key, pos, has_gauss, cached = value.get_state()
        arrays[name] = key
        return {"random_state": [kind, name, pos, has_gauss, cached]}
    for kind, location in _PRIORS.items():
        if _is_of(value, location):
            return {kind: _encode(value.__dict__, name, arrays)}
    if _is_estimator(value):
        return {"estimator": _encode_estimator(value, name, arrays)}
    raise ValueError(
        f"Cannot save {name}={short_repr(value)} of type {type(value).__name__}: bayesmix saves "
        f"None, numbers, strings, lists, tuples, dicts, NumPy arrays, "
        f"numpy.random.RandomState, MixturePriors, ConjugatePrior and its estimators. Set "
        f"{name} to one of those (an int seed for random_state) before saving."
    )


def _join(name: str, key: Any) -> str:
    """The name of an entry: ``means_``, ``em_.means_``, ``priors_.means_loc``, ..."""
    return f"{name}.{key}" if name else str(key)


def _encode_estimator(model: Any, name: str, arrays: dict[str, np.ndarray]) -> dict:
    """Class, constructor parameters and fitted attributes; ``name`` prefixes arrays."""
    fitted = {attr: getattr(model, attr) for attr in model.fitted_attributes
              if hasattr(model, attr)}
    return {"class": type(model).__name__,
            "params": _encode(model.get_params(deep=False), name, arrays),
            "fitted": _encode(fitted, name, arrays)}


def _decode(value: Any, arrays: xr.Dataset, idata: az.InferenceData) -> Any:
    """Invert :func:`_encode`; arrays come from the root group, estimators get ``idata``."""
    if isinstance(value, list):
        return [_decode(item, arrays, idata) for item in value]
    if not isinstance(value, dict):
        return value
    (kind, content), = value.items()
    if kind == "array":
        name, dtype = content
        return arrays[name].values.astype(dtype, copy=False)
    if kind == "numpy":
        return np.dtype(content[0]).type(content[1])
    if kind == "tuple":
        return tuple(_decode(content, arrays, idata))
    if kind == "dict":
        return {_decode(key, arrays, idata): _decode(item, arrays, idata)
                for key, item in content}
    if kind == "random_state":
        kind_name, key, pos, has_gauss, cached = content
        random_state = np.random.RandomState()
        random_state.set_state((kind_name, arrays[key].values, pos, has_gauss, cached))
        return random_state
    if kind in _PRIORS:
        return _import(_PRIORS[kind])(**_decode(content, arrays, idata))
    return _decode_estimator(content, arrays, idata)  # the one kind left: "estimator"


def _decode_estimator(content: dict, arrays: xr.Dataset, idata: az.InferenceData) -> Any:
    """The estimator with its parameters and fitted state restored, ready to predict."""
    location = ESTIMATORS.get(content["class"])
    if location is None:
        raise _UnknownEstimatorError(content["class"])
    model = _import(location)(**_decode(content["params"], arrays, idata))
    model.restore_fitted_state(_decode(content["fitted"], arrays, idata), idata)
    return model


# ---------------------------------------------------------------- the content hash
def _content_hash(groups: dict[str, xr.Dataset], text: str) -> str:
    """SHA-256 of every variable (name, dims, dtype, shape, values) and of ``text``.

    Text values are hashed as UTF-8, so the digest does not depend on how the netCDF
    reader types strings.
    """
    digest = hashlib.sha256(text.encode())
    for group in sorted(groups):
        dataset = groups[group]
        for name in sorted(map(str, dataset.variables)):
            variable = dataset.variables[name]
            values = np.asarray(variable.values)
            digest.update(f"{group}/{name}{variable.dims}{values.shape}".encode())
            if values.dtype.kind in "OUS":
                digest.update("\x1f".join(map(str, values.ravel())).encode())
            else:
                digest.update(values.dtype.str.encode())
                digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


# ---------------------------------------------------------------- saving
def _inference_data(model: Any) -> az.InferenceData:
    """A fitted model's InferenceData: made by a point estimate, held by a posterior.

    Raises ``NotFittedError`` for a model that is not fitted.
    """
    if hasattr(model, "to_inference_data"):
        check_fitted(model)
        return model.to_inference_data()
    check_fitted(model, "idata_")
    return model.idata_


def _root_dataset(model: Any, idata: az.InferenceData) -> xr.Dataset:
    """The root group: the estimator's arrays, its JSON description and the metadata."""
    arrays: dict[str, np.ndarray] = {}
    description = json.dumps(_encode(model, "", arrays))
    root = xr.Dataset({name: ([f"{name}.dim{i}" for i in range(np.ndim(values))], values)
                       for name, values in arrays.items()})
    groups = {group: idata[group] for group in idata.groups()}
    root.attrs = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "estimator": type(model).__name__,
        "bayesmix_version": __version__,
        "pymc_version": version("pymc"),  # without importing PyMC, which EM does not need
        "arviz_version": az.__version__,
        "xarray_version": xr.__version__,
        "numpy_version": np.__version__,
        "idata_groups": json.dumps(sorted(groups)),
        "model": description,
        "content_sha256": _content_hash({"/": root, **groups}, description),
    }
    return root


def _write(path: str, root: xr.Dataset, idata: az.InferenceData) -> None:
    """Write the root group, then the InferenceData's groups beside it."""
    root.to_netcdf(path, mode="w", engine=_ENGINE)
    idata.to_netcdf(path, engine=_ENGINE, overwrite_existing=False)


def save(model: Any, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write a fitted estimator to one netCDF file that :func:`load` reads back.

    The file is written to a temporary file in the same folder and then renamed onto
    ``path``, so a failed save leaves any earlier file at ``path`` as it was.

    Parameters
    ----------
    model : GaussianMixtureEM or GaussianMixtureBayes
        A fitted estimator.
    path : str or path-like
        The file to write (``.nc`` by convention).
    overwrite : bool, default=False
        Replace ``path`` if it exists.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    NotFittedError
        If ``model`` is not fitted.
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    FileNotFoundError, PermissionError
        If the folder of ``path`` does not exist or is not writable (checked before any
        work).
    OSError
        If writing fails (e.g. the disk is full).
    ValueError
        If a constructor parameter cannot be stored (e.g. ``random_state`` a
        ``numpy.random.Generator``).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from bayesmix import GaussianMixtureEM, load, load_old_faithful
    >>> from bayesmix.persistence import save
    >>> X = load_old_faithful()
    >>> em = GaussianMixtureEM(2, random_state=0).fit(X)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save(em, Path(folder) / "em.nc")
    ...     reloaded = load(path)
    >>> bool((reloaded.predict_proba(X) == em.predict_proba(X)).all())
    True
    """
    if not _is_estimator(model):
        raise TypeError(
            f"model must be a {', '.join(list(ESTIMATORS)[:-1])} or {list(ESTIMATORS)[-1]}, "
            f"got {type(model).__name__}. Save an "
            f"InferenceData with its to_netcdf method."
        )
    idata = _inference_data(model)
    path = _file_path(path, "save to")
    if not isinstance(overwrite, (bool, np.bool_)):
        raise ValueError(f"overwrite must be True or False, got {short_repr(overwrite)}.")
    if path.is_dir():
        raise IsADirectoryError(
            f"Cannot save to {path}: it is a folder. Pass a file's path, e.g. "
            f"{path / 'model.nc'}.")
    with_nul = [name for name in getattr(model, "feature_names_in_", ()) if "\x00" in name]
    if with_nul:
        raise ValueError(
            f"Cannot save to {path}: the feature name {with_nul[0]!r} holds a NUL character, "
            f"which netCDF cannot store. Rename that column of X and fit again.")
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{path} already exists. Pass overwrite=True to replace it, or choose another "
            f"path."
        )
    _check_folder(path)
    root = _root_dataset(model, idata)
    # A fresh name beside ``path`` (not mkstemp, whose 0600 mode the file would keep).
    temporary = str(path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp"))
    try:
        _write(temporary, root, idata)
        os.replace(temporary, path)
    except OSError as exc:
        raise OSError(
            f"Cannot save to {path}: writing failed ({type(exc).__name__}: {exc}). Check "
            f"that the folder is writable and the disk has room, or choose another path."
        ) from exc
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def _file_path(path: Any, action: str) -> Path:
    """``path`` (a string or path-like naming a file) as a Path, or a TypeError or
    ValueError that names it."""
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes):
        raise TypeError(f"path must be a str or a pathlib.Path naming a file to {action}, "
                        f"got {type(path).__name__} {short_repr(path)}.")
    if not str(path).strip():
        raise ValueError(f"path is empty; pass the name of a file to {action}, e.g. "
                         f"'model.nc'.")
    return Path(path)


def _check_folder(path: Path) -> None:
    """Refuse, before any work, a path whose folder is missing or not writable."""
    folder = path.parent
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(
            f"Cannot save to {path}: {folder} {problem}. Choose a path in an existing "
            f"folder, or create the folder first (Path({str(folder)!r}).mkdir(parents=True))."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(
            f"Cannot save to {path}: the folder {folder} is not writable by this user. "
            f"Choose a folder you can write to, or change its permissions."
        )


# ---------------------------------------------------------------- loading
def _not_ours(path: Path, what: str, fix: str) -> ValueError:
    return ValueError(f"Cannot load {path}: {what}. {fix}")


def _not_readable(path: Path, exc: Exception) -> ValueError:
    return _not_ours(
        path, f"it is not a readable netCDF-4 file ({type(exc).__name__}: {exc})",
        "It may be truncated or not a netCDF file at all; pass a file written by "
        "model.save(path) or bayesmix.persistence.save, and save the model again if "
        "the copy was damaged.")


def _damaged(path: Path, what: str) -> ValueError:
    return _not_ours(path, f"{what}, so it was changed or damaged after saving",
                     "Save the model again from the original, or restore an intact copy.")


def _plain(value: Any) -> Any:
    """An attribute as a Python value, as xarray reads it: h5py reads a number as a
    one-element array and a fixed-length string as bytes."""
    if isinstance(value, (np.ndarray, np.generic)) and np.size(value) == 1:
        value = np.ravel(value)[0].item()
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _declared_bytes(file: h5py.File) -> int:
    """The bytes every dataset of the file declares, from the metadata alone."""
    datasets = []
    file.visititems(lambda name, item: datasets.append(item)
                    if isinstance(item, h5py.Dataset) else None)
    return sum(math.prod(dataset.shape or ()) * dataset.dtype.itemsize for dataset in datasets)


def _check_header(path: Path) -> None:
    """Check the format attributes and the declared sizes before reading any variable."""
    try:
        with h5py.File(path, "r") as file:
            attrs = {name: _plain(file.attrs.get(name))
                     for name in ("format", "format_version", "bayesmix_version")}
            declared = _declared_bytes(file)
    except _READ_ERRORS as exc:
        raise _not_readable(path, exc) from exc
    _check_format(attrs, path)
    on_disk = path.stat().st_size
    if declared > _MAX_COMPRESSION * on_disk:
        raise _not_ours(
            path, f"its variables declare {declared / 2**30:.3g} GiB of values, more than "
            f"its {on_disk} bytes can hold even compressed, so it is damaged or was not "
            f"written by bayesmix (nothing was read)",
            "Pass a file written by model.save(path), and save the model again if this "
            "copy was damaged.")
    check_memory(declared, f"Loading {path}", "Load it on a machine with more memory.")


def _check_format(attrs: dict[str, Any], path: Path) -> None:
    found = attrs["format"]
    if not (isinstance(found, str) and found == FORMAT):
        raise _not_ours(
            path, f"it is a netCDF file but not a saved bayesmix model (root attribute "
            f"format={short_repr(found)}, expected {FORMAT!r})",
            "Pass a file written by model.save(path); read a plain InferenceData with "
            "arviz.from_netcdf.")
    version = attrs["format_version"]
    if not (isinstance(version, int) and version == FORMAT_VERSION):
        raise _not_ours(
            path, f"it has format_version={short_repr(version)}, but this bayesmix "
            f"({__version__}) reads format_version={FORMAT_VERSION} only (the file "
            f"was written by bayesmix {short_repr(attrs['bayesmix_version'])})",
            "Load it with the bayesmix version that wrote it (and save it again from there "
            "if needed), or upgrade bayesmix.")


def _read_root(path: Path) -> xr.Dataset:
    try:
        with xr.open_dataset(path, engine=_ENGINE, group="/") as root:
            return root.load()
    except _READ_ERRORS as exc:
        raise _not_readable(path, exc) from exc


def _read_groups(root: xr.Dataset, path: Path) -> dict[str, xr.Dataset]:
    groups = {}
    try:
        for group in json.loads(root.attrs["idata_groups"]):
            with xr.open_dataset(path, engine=_ENGINE, group=group) as dataset:
                groups[group] = dataset.load()
    except _READ_ERRORS as exc:
        raise _not_ours(
            path, f"its InferenceData groups cannot be read ({type(exc).__name__}: {exc})",
            "The file is probably truncated or damaged; save the model again.") from exc
    return groups


def _check_content(root: xr.Dataset, groups: dict[str, xr.Dataset], path: Path) -> None:
    """Refuse a file whose content does not match its SHA-256 digest."""
    try:
        intact = (_content_hash({"/": root, **groups}, root.attrs.get("model", ""))
                  == root.attrs.get("content_sha256"))
    except (UnicodeError, AttributeError, TypeError):  # text that was never written so
        intact = False
    if not intact:
        raise _damaged(path, "its content does not match the SHA-256 digest stored when it "
                             "was written (content_sha256)")


def load(path: str | os.PathLike) -> GaussianMixtureEM | GaussianMixtureBayes:
    """Read an estimator written by :func:`save` (or its ``save`` method).

    Returns an estimator of the class that was saved, with the same parameters and
    fitted attributes, so that it predicts, scores, samples and plots exactly as the
    original did.

    Parameters
    ----------
    path : str or path-like
        A file written by ``model.save(path)``.

    Returns
    -------
    GaussianMixtureEM or GaussianMixtureBayes

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a readable netCDF file (e.g. truncated), not a saved bayesmix
        model, of another format version, declares more values than it can hold (a
        damaged or crafted file, refused before reading any variable) or more than this
        machine's memory, or its content does not match its SHA-256 digest (changed
        after it was written).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import bayesmix
    >>> X = bayesmix.load_old_faithful()
    >>> em = bayesmix.GaussianMixtureEM(3, covariance_type="tied", random_state=0).fit(X)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = em.save(Path(folder) / "em.nc")
    ...     reloaded = bayesmix.load(path)
    >>> type(reloaded).__name__, reloaded.bic(X) == em.bic(X)
    ('GaussianMixtureEM', True)
    """
    path = _file_path(path, "load")
    if not path.is_file():
        raise FileNotFoundError(f"Cannot load {path}: no such file. Check the path.")
    _check_header(path)
    root = _read_root(path)
    groups = _read_groups(root, path)
    _check_content(root, groups, path)
    try:
        return _decode(json.loads(root.attrs["model"]), root, az.InferenceData(**groups))
    except _UnknownEstimatorError as exc:
        raise _not_ours(
            path, f"it is a saved model of class {exc}, which is not a bayesmix estimator "
            f"this bayesmix ({__version__}) knows ({', '.join(ESTIMATORS)})",
            f"Load it with the bayesmix version that wrote it (the file says "
            f"{root.attrs.get('bayesmix_version')!r}), or upgrade bayesmix.") from None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise _damaged(path, f"its model description cannot be decoded "
                             f"({type(exc).__name__}: {exc})") from exc
