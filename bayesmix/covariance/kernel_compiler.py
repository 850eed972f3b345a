"""Numba's compilation of the package's kernels: :func:`compiled`.

The loops that NumPy would run as many small calls (the decomposed models' inner
iterations, the batched E step's normalisation, SQUAREM's cycles, the precision
factors, the hierarchical start's merges, the eigendecompositions) are compiled by
Numba on their first call, which keeps the machine code in the package's
``__pycache__`` (``cache=True``; elsewhere, where that is not writable), so that a later
process only loads it (about 0.5 s with Numba's start-up). ``error_model="numpy"``: a
division by zero gives ``inf`` or NaN, as in NumPy, instead of raising.
"""

from __future__ import annotations

from collections.abc import Callable

import numba

__all__ = ["compiled"]


def compiled(function: Callable | None = None, *, contract: bool = False) -> Callable:
    """``function`` compiled by Numba, its machine code cached where Numba can write.

    Where it can write nowhere (a read-only installation and home directory), Numba
    refuses ``cache=True`` with a RuntimeError; the kernel is then compiled anew in each
    process instead of failing. ``error_model="numpy"``: a division by zero gives
    ``inf`` or NaN, as in NumPy. ``contract=True`` (as ``@compiled(contract=True)``)
    lets the compiler fuse a multiplication and an addition into one instruction
    (FMA: one rounding instead of two), for the polynomials of
    :mod:`~bayesmix.em.normalise_kernel`, whose results are tested against NumPy's to
    one unit in the last place.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesmix.covariance.kernel_compiler import compiled
    >>> def halves(values):
    ...     return values / 2.0
    >>> compiled(halves)(np.array([1.0, 0.0]))
    array([0.5, 0. ])
    """
    if function is None:
        return lambda function: compiled(function, contract=contract)
    options = {"error_model": "numpy", "nogil": True,
               "fastmath": {"contract"} if contract else False}
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(**options)(function)
