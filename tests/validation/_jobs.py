"""Module-level task functions for the executor tests (picklable by spawn and Dask)."""

from pathlib import Path


def square(x: int, log: str) -> dict:
    """Return x**2 and leave a mark in ``log`` (one line per call)."""
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"{x}\n")
    return {"x": x, "y": x * x}


def interrupt_at(x: int, stop: int, log: str) -> dict:
    """Like :func:`square`, but raise KeyboardInterrupt when ``x == stop``."""
    if x == stop:
        raise KeyboardInterrupt
    return square(x, log)


def calls(log: str) -> list[int]:
    """The values ``square`` was called with."""
    p = Path(log)
    return [int(s) for s in p.read_text().split()] if p.exists() else []
