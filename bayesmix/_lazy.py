"""Lazy public names for a package (PEP 562): imported from their module on first use.

``import bayesmix`` (and ``bayesmix.bayes``) must stay light; the packages list where each
public name lives and import it when it is first asked for.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, module_of: dict[str, str], public: Iterable[str]
                    ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose public names load lazily.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    module_of : dict
        Public name -> the module that defines it.
    public : iterable of str
        The package's ``__all__``.

    Examples
    --------
    >>> import sys, types
    >>> from bayesmix._lazy import lazy_attributes
    >>> package = types.ModuleType("demo_package")
    >>> sys.modules["demo_package"] = package
    >>> package.__getattr__, package.__dir__ = lazy_attributes(
    ...     "demo_package", {"sqrt": "math"}, ["sqrt"])
    >>> package.sqrt(4.0), "sqrt" in vars(package)
    (2.0, True)
    """
    names = sorted(public)

    def __getattr__(name: str) -> Any:
        """Import a public name from its module on first use and keep it in the package."""
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        """The package's attributes and every public name, imported or not."""
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
