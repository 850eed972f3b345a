"""Row-parallel execution for the NumPy kernels.

NumPy's element-wise loops and BLAS release the GIL, so a kernel that walks over row
blocks runs in parallel when contiguous row ranges are handed to threads. BLAS itself is
held to one thread meanwhile: OpenBLAS' own threads only pay off on large products, and
on small ones, or on a machine whose cores are busy, their spin-waiting makes them many
times slower than a single thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np
from threadpoolctl import ThreadpoolController

__all__ = ["RowThreads", "available_cores", "blas_single_thread"]

#: Below this much work per thread (rows times temporary elements per row, about 20,000
#: rows of a small model), a kernel runs in the calling thread only.
MIN_WORK_PER_THREAD = 1 << 18

T = TypeVar("T")


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def blas_single_thread() -> Any:
    """Context manager holding BLAS to one thread (while other threads run the kernels).

    Examples
    --------
    >>> from bayesmix._parallel import blas_single_thread
    >>> with blas_single_thread():
    ...     pass
    """
    return _controller().limit(limits=1, user_api="blas")


def available_cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class RowThreads:
    """Context manager running a function over contiguous row ranges, one per thread.

    Parameters
    ----------
    n_samples : int
        Rows of the data.
    row_width : int, default=1
        Temporary elements the kernel creates per row: a measure of the work per row.

    Examples
    --------
    >>> from bayesmix._parallel import RowThreads
    >>> with RowThreads(100) as threads:
    ...     threads.map(lambda rows: (rows.start, rows.stop), 100)
    [(0, 100)]
    """

    def __init__(self, n_samples: int, row_width: int = 1) -> None:
        work = n_samples * max(int(row_width), 1)
        self.n_threads = max(1, min(available_cores(), n_samples // 64,
                                    work // MIN_WORK_PER_THREAD))
        self._stack = ExitStack()
        self._executor: ThreadPoolExecutor | None = None

    def __enter__(self) -> RowThreads:
        # With one thread the data are small: OpenMP threads (scikit-learn's k-means) cost
        # more to start than they save, so every thread pool is held to one thread.
        user_api = "blas" if self.n_threads > 1 else None
        self._stack.enter_context(_controller().limit(limits=1, user_api=user_api))
        if self.n_threads > 1:
            self._executor = self._stack.enter_context(ThreadPoolExecutor(self.n_threads))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def map(self, function: Callable[[slice], T], n_samples: int) -> list[T]:
        """``[function(rows) for rows in ranges]``, the ranges covering ``0..n_samples``."""
        if self._executor is None:
            return [function(slice(0, n_samples))]
        bounds = np.linspace(0, n_samples, self.n_threads + 1).astype(int)
        ranges = [slice(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]
        return list(self._executor.map(function, ranges))
