"""One place that turns user seeds into NumPy generators and spawns independent streams."""

from __future__ import annotations

import numpy as np

from rfloc.errors import ParameterError

SeedLike = int | np.integer | np.random.SeedSequence | np.random.Generator | None


def as_generator(rng: SeedLike) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for an int seed, SeedSequence, Generator or None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        if isinstance(rng, (int, np.integer)) and rng < 0:
            raise ParameterError(f"seed must be a non-negative integer, got {rng!r}")
        return np.random.default_rng(rng)
    raise ParameterError(
        f"rng must be an int seed, a SeedSequence or a numpy Generator, got {rng!r}")


def spawn(seed: int | np.random.SeedSequence | None, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent child SeedSequences of ``seed`` (results independent of worker count)."""
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise ParameterError(f"seed must be a non-negative integer, got {seed!r}")
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return root.spawn(n)
