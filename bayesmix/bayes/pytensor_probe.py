"""PyTensor's one-off compiler probe, run in the background from the model's import.

PyTensor finds its BLAS linker flags on first use by running the C compiler (0.3 s on
the 2-core machine), and one of the rewrites of every model's conversion to JAX reads
them: the first posterior fit of a process would wait for the probe.
:func:`start_blas_probe` runs it on a daemon thread as soon as :mod:`bayesmix.bayes.model`
is imported (the compiler runs as a subprocess, outside Python's lock), while the caller
goes on loading data and fitting EM. Nothing else changes: the flags are PyTensor's own,
computed once, whoever asks first. A probe that fails (a compiler or library folder it
cannot use at that moment) leaves nothing behind: PyTensor keeps no value from a failed
computation, so the first read on the fitting thread computes the flags again and
raises there if the failure is real. The background thread itself never prints a
traceback.
"""

from __future__ import annotations

import threading

import pytensor

__all__ = ["start_blas_probe"]


def _read_blas_flags() -> None:
    try:
        pytensor.config.blas__ldflags  # noqa: B018  (computed and kept on first read)
    except Exception:  # noqa: BLE001  (recomputed, and raised, on the fitting thread)
        return


def start_blas_probe() -> threading.Thread:
    """Compute PyTensor's BLAS linker flags on a daemon thread; returns the thread.

    Examples
    --------
    >>> import pytensor
    >>> from bayesmix.bayes.pytensor_probe import start_blas_probe
    >>> start_blas_probe().join()
    >>> isinstance(pytensor.config.blas__ldflags, str)
    True
    """
    thread = threading.Thread(target=_read_blas_flags, name="bayesmix-pytensor-probe",
                              daemon=True)
    thread.start()
    return thread
