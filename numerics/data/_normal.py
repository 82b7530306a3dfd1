"""Standard normal variates for the data models: an exact ziggurat on raw 64-bit words.

:func:`standard_normal` runs the Marsaglia–Tsang ziggurat of :mod:`._kernels` (256 strips,
tables derived at import by :func:`~._kernels.ziggurat_tables`) on the caller's bit
generator, about twice as fast as ``Generator.standard_normal``; same seed, same numbers.
"""

from __future__ import annotations

import numpy as np

from rfloc.numerics.data import _kernels

__all__ = ["ZIG_F", "ZIG_R", "ZIG_X", "standard_normal"]

#: tail start, strip edges and the density at the edges (see ``_kernels.ziggurat_tables``)
ZIG_R, ZIG_X, ZIG_F = _kernels.ziggurat_tables()


def standard_normal(gen: np.random.Generator, out: np.ndarray) -> np.ndarray:
    """Fill the C-contiguous float64 ``out`` (any shape) with standard normals; return it.

    The kernel draws from ``gen``'s bit generator while holding its lock.
    """
    bitgen = gen.bit_generator
    with bitgen.lock:
        _kernels.ziggurat(bitgen.ctypes.next_uint64, bitgen.ctypes.state_address,
                          ZIG_X, ZIG_F, ZIG_R, out.reshape(-1))
    return out
