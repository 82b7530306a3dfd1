r"""An inlined xoshiro256++ generator for the per-sample kernels (fused SGD, field rows).

Calling a NumPy bit generator from Numba goes through a function pointer
(``BitGenerator.ctypes.next_uint64``, about 2 ns a word); the ~41 words of one field
sample cost more than a third of its normals. :func:`next_u64` is Blackman and Vigna's
xoshiro256++ 1.0 (period :math:`2^{256} - 1`; public-domain reference at
https://prng.di.unimi.it/xoshiro256plusplus.c), inlined into the calling kernel, with its
state a ``uint64`` array of 4 words:

.. math:: \text{out} = \mathrm{rotl}(s_0 + s_3, 23) + s_0, \qquad
          t = s_1 \ll 17,\ s_2 \mathrel{\wedge}= s_0,\ s_3 \mathrel{\wedge}= s_1,\
          s_1 \mathrel{\wedge}= s_2,\ s_0 \mathrel{\wedge}= s_3,\ s_2 \mathrel{\wedge}= t,\
          s_3 = \mathrm{rotl}(s_3, 45).

It has the ``next_u64(state)`` signature of the bit-generator kernels, so the same
kernels (e.g. the ziggurat of :mod:`._kernels`) run on either.

Seeding, and what stays reproducible: a kernel call that uses this generator first draws
its 4 state words from the caller's NumPy bit generator (:func:`seed_from`, under the
caller's lock), which is itself seeded from the run's ``SeedSequence``; so the stream is
still a function of that ``SeedSequence`` only — same seed, same numbers, whatever the
worker count — and each call advances the caller's generator by exactly 4 words, so a
call that draws fewer samples produces a prefix of one that draws more.
:func:`state_from` seeds from a ``SeedSequence`` directly (``generate_state``). The numbers
differ from those drawn through NumPy's own bit generator (same law, other stream).
"""

from __future__ import annotations

import numpy as np

from rfloc.numerics._jit import kernel

__all__ = ["fill", "next_u64", "seed_from", "state_from"]

_U = np.uint64


@kernel(inline="always")
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << _U(k)) | (x >> _U(64 - k))


@kernel(inline="always")
def next_u64(s: np.ndarray) -> np.uint64:
    """The next 64-bit word of the xoshiro256++ state ``s`` (4,) uint64, advanced in place."""
    s0, s1, s2, s3 = s[0], s[1], s[2], s[3]
    out = _rotl(s0 + s3, 23) + s0
    t = s1 << _U(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s[0], s[1], s[2], s[3] = s0, s1, s2, _rotl(s3, 45)
    return out


@kernel
def fill(s: np.ndarray, out: np.ndarray) -> None:
    """``out`` (M,) uint64: the next ``M`` words of the state ``s``, advanced in place."""
    for k in range(out.shape[0]):
        out[k] = next_u64(s)


@kernel
def seed_from(next_bits, state: int) -> np.ndarray:
    """A fresh state (4,) uint64: 4 words of the caller's bit generator (``next_bits``,
    ``state``: its ``ctypes.next_uint64`` and ``ctypes.state_address``; lock held).

    The all-zero state, the one xoshiro cannot leave (probability :math:`2^{-256}`), is
    replaced by ``(0, 0, 0, 1)``.
    """
    s = np.empty(4, dtype=np.uint64)
    for k in range(4):
        s[k] = next_bits(state)
    if s[0] == 0 and s[1] == 0 and s[2] == 0 and s[3] == 0:
        s[3] = 1
    return s


def state_from(seed: np.random.SeedSequence) -> np.ndarray:
    """A state (4,) uint64 from ``seed.generate_state`` (never all zero)."""
    s = seed.generate_state(4, np.uint64)
    if not s.any():
        s[3] = 1
    return s
