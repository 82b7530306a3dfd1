"""The Numba options of every rfloc kernel, declared once.

Kernels take one of three decorators instead of spelling out ``numba.njit`` options:

- :func:`kernel` — a compiled, cached, GIL-free kernel with IEEE arithmetic;
- :func:`sums` — the same, allowed to reassociate and contract sums (``reassoc``,
  ``contract``, ``nsz``) so reductions vectorise; NaN and inf still propagate (never
  ``nnan``/``ninf``), so the finiteness checks that follow a step stay valid;
- :func:`parallel` — a cached kernel whose ``numba.prange`` loops run on Numba's threads.

All three cache to disk (``cache=True``), so a fresh process pays compilation once per
machine and Python version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])

#: fast-math flags that let sums vectorise but keep NaN/inf semantics
SUM_FLAGS = frozenset({"reassoc", "contract", "nsz"})

_BASE = {"cache": True, "nogil": True}


def kernel(func: F | None = None, **extra: Any) -> Any:
    """``numba.njit(cache=True, nogil=True, **extra)``; usable bare or with options."""
    return _decorate(func, {**_BASE, **extra})


def sums(func: F | None = None, **extra: Any) -> Any:
    """:func:`kernel` with :data:`SUM_FLAGS` fast-math (vectorisable reductions)."""
    return _decorate(func, {**_BASE, "fastmath": set(SUM_FLAGS), **extra})


def parallel(func: F | None = None, **extra: Any) -> Any:
    """``numba.njit(cache=True, parallel=True, **extra)`` for ``prange`` drivers."""
    return _decorate(func, {"cache": True, "parallel": True, **extra})


def _decorate(func: F | None, options: dict[str, Any]) -> Any:
    jit = numba.njit(**options)
    return jit if func is None else jit(func)
