"""Seeds: the one place that turns user seeds into NumPy generators and independent streams.

Every random function in rfloc takes ``rng=`` or ``seed=`` and passes it through this module:

- :func:`seed_sequence` — a fresh :class:`numpy.random.SeedSequence` from an int, a
  SeedSequence, ``None`` (OS entropy) or its JSON form (:func:`to_json`);
- :func:`as_generator` — a :class:`numpy.random.Generator` (a Generator passes through);
- :func:`spawn` — ``n`` independent children, so results do not depend on how many workers
  ran them;
- :func:`stream` — the child at a fixed *spawn key* below a root seed, so a named stream
  (e.g. "the SGD data of initial condition 7 of experiment 1") is the same whatever else
  was drawn; callers name the key components with an ``IntEnum``.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from rfloc.errors import ParameterError

__all__ = ["SeedLike", "as_generator", "seed_sequence", "spawn", "stream", "to_json"]

SeedLike = int | np.integer | np.random.SeedSequence | np.random.Generator | None


def seed_sequence(seed: Any) -> np.random.SeedSequence:
    """A fresh SeedSequence equal to ``seed``.

    Parameters
    ----------
    seed : int >= 0, SeedSequence, dict or None
        An int seed, a SeedSequence (copied, so spawning from the result never advances the
        caller's), the JSON form ``{"entropy": int, "spawn_key": [int, ...]}`` written by
        :func:`to_json`, or ``None`` for fresh OS entropy.

    Raises
    ------
    ParameterError
        For a negative, boolean or non-integer seed or a malformed dict.
    """
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key,
                                      pool_size=seed.pool_size)
    if isinstance(seed, dict):
        try:
            return np.random.SeedSequence(int(seed["entropy"]),
                                          spawn_key=tuple(int(k) for k in seed["spawn_key"]))
        except (KeyError, TypeError, ValueError):
            raise ParameterError(f'seed dict must be {{"entropy": int, "spawn_key": [int, '
                                 f'...]}}, got {seed!r}') from None
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.SeedSequence(int(seed))
    raise ParameterError(f"seed must be a non-negative int, a SeedSequence or None, "
                         f"got {seed!r}")


def as_generator(rng: SeedLike) -> np.random.Generator:
    """A ``numpy.random.Generator`` for an int seed, SeedSequence, Generator or None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(seed_sequence(rng))
    raise ParameterError(
        f"rng must be an int seed, a SeedSequence or a numpy Generator, got {rng!r}")


def spawn(seed: int | np.random.SeedSequence | None, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent child SeedSequences of ``seed`` (results independent of worker count).

    A SeedSequence passed in is spawned from directly (its spawn counter advances, as with
    :meth:`numpy.random.SeedSequence.spawn`), so repeated calls give new children.
    """
    root = seed if isinstance(seed, np.random.SeedSequence) else seed_sequence(seed)
    return root.spawn(n)


def stream(seed: Any, *key: int) -> np.random.SeedSequence:
    """The stream at spawn key ``key`` below ``seed``: ``SeedSequence(entropy, spawn_key)``.

    ``stream(s, 1, 7, 0)`` is what ``seed_sequence(s).spawn(...)`` would reach by walking
    to child 1, its child 7, its child 0, without drawing any sibling. Key components are
    non-negative ints (``IntEnum`` members name them).
    """
    root = seed_sequence(seed)
    if any(not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 0 for k in key):
        raise ParameterError(f"stream key components must be non-negative ints, got {key!r}")
    return np.random.SeedSequence(root.entropy,
                                  spawn_key=(*root.spawn_key, *(int(k) for k in key)))


def to_json(ss: np.random.SeedSequence) -> dict[str, Any]:
    """The JSON form of a SeedSequence (inverse of :func:`seed_sequence` on dicts)."""
    # rfloc's SeedSequences hold an int entropy (int() raises for a pool given by hand)
    return {"entropy": int(cast(int, ss.entropy)),
            "spawn_key": [int(k) for k in ss.spawn_key]}
