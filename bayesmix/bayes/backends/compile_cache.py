"""How bayesmix's programs are compiled, and where they are kept between sessions.

The JAX back ends (:mod:`~bayesmix.bayes.backends.jax_model`) compile a model's programs
once per structure and size, with :func:`jit` (XLA options that halve the compilation on
CPU, see :data:`CPU_COMPILER_OPTIONS`); :func:`enable_compilation_cache` keeps them on
disk, so that later sessions load them instead of compiling (a fraction of a second
instead of seconds).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax

__all__ = ["CACHE_ENV", "CACHE_MAX_BYTES", "CPU_COMPILER_OPTIONS",
           "MIN_CACHED_COMPILE_SECONDS", "compilation_cache_dir", "compiler_options",
           "enable_compilation_cache", "jit"]

#: Environment variable naming the folder of the compilation cache; empty for none.
CACHE_ENV = "BAYESMIX_CACHE_DIR"
#: Programs that compile for less long than this are not written to the cache (JAX's
#: default, 1 s, would leave out the small start-point and draw programs).
MIN_CACHED_COMPILE_SECONDS = 0.1
#: Size of the folder beyond which JAX deletes its least recently used entries.
CACHE_MAX_BYTES = 2**30
#: XLA options of bayesmix's programs on CPU. XLA's newer (MLIR) fusion emitters take
#: twice as long to compile the NUTS programs as the classic ones (measured on the default
#: fit, 1,000 x 2, K = 3, ``full``: 2.2 against 4.7 CPU seconds for the sampling loop,
#: 1.0 against 2.3 for the chains' start) and sample about 7 % faster; compiling is
#: paid by every first fit of a size on a machine, so the classic emitters win.
CPU_COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": False}


def compilation_cache_dir() -> Path | None:
    """The folder of bayesmix's compilation cache: ``$BAYESMIX_CACHE_DIR`` when set (an
    empty value: no cache), else ``bayesmix/jax`` in the user's cache directory.

    Examples
    --------
    >>> import os
    >>> from bayesmix.bayes.backends.compile_cache import compilation_cache_dir
    >>> os.environ["BAYESMIX_CACHE_DIR"] = "/tmp/bayesmix-cache"
    >>> str(compilation_cache_dir())
    '/tmp/bayesmix-cache'
    >>> os.environ["BAYESMIX_CACHE_DIR"] = ""
    >>> compilation_cache_dir() is None
    True
    >>> del os.environ["BAYESMIX_CACHE_DIR"]
    >>> compilation_cache_dir().parts[-2:]
    ('bayesmix', 'jax')
    """
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured).expanduser() if configured else None
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "bayesmix" / "jax"


def enable_compilation_cache() -> str | None:
    """Keep compiled programs on disk, in :func:`compilation_cache_dir`.

    JAX's persistent compilation cache is process-wide: when the user has already set
    one (``jax_compilation_cache_dir``) it is used as it is; otherwise bayesmix's folder
    is created and set, with programs compiling for at least
    :data:`MIN_CACHED_COMPILE_SECONDS` kept and at most :data:`CACHE_MAX_BYTES` in all.
    The first posterior fit of each structure and size on a machine then compiles; later
    ones, in any process, load the program (a fraction of a second).

    Returns
    -------
    str or None
        The cache folder in use, or None when there is none (``BAYESMIX_CACHE_DIR`` is
        empty, or the folder cannot be created).

    Examples
    --------
    >>> import jax
    >>> from bayesmix.bayes.backends.compile_cache import enable_compilation_cache
    >>> folder = enable_compilation_cache()  # bayesmix's, unless JAX already had one
    >>> folder == jax.config.jax_compilation_cache_dir
    True
    """
    current = jax.config.jax_compilation_cache_dir
    if current:
        return current
    path = compilation_cache_dir()
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_CACHED_COMPILE_SECONDS)
    jax.config.update("jax_compilation_cache_max_size", CACHE_MAX_BYTES)
    return str(path)


@functools.cache
def compiler_options() -> dict[str, Any]:
    """The XLA options :func:`jit` compiles with: :data:`CPU_COMPILER_OPTIONS` on CPU
    when this XLA knows them, none on other back ends or when it refuses them.

    Examples
    --------
    >>> import jax
    >>> from bayesmix.bayes.backends.compile_cache import compiler_options
    >>> jax.default_backend(), compiler_options()
    ('cpu', {'xla_cpu_use_fusion_emitters': False})
    """
    if jax.default_backend() != "cpu":
        return {}
    try:  # a JAX whose XLA lacks an option refuses the program: compile a trivial one
        jax.jit(lambda x: x + 1, compiler_options=CPU_COMPILER_OPTIONS).lower(0.0).compile()
    except jax.errors.JaxRuntimeError:
        return {}
    return dict(CPU_COMPILER_OPTIONS)


def jit(function: Callable, **options: Any) -> Callable:
    """``jax.jit(function, **options)`` compiled with :func:`compiler_options`.

    Examples
    --------
    >>> from bayesmix.bayes.backends.compile_cache import jit
    >>> float(jit(lambda x: 2 * x)(1.5))
    3.0
    """
    return jax.jit(function, compiler_options=compiler_options(), **options)
