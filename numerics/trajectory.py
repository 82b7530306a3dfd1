"""The result container shared by the ODE integrator and simulated training."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rfloc import io


@dataclass
class Trajectory:
    """A time-first record of receptive fields.

    Attributes
    ----------
    t : ndarray, shape (T,)
        Gradient-flow times of the saved states (for SGD, ``t = lr * step``).
    w : ndarray, shape (T, ...)
        Saved weights, time first: ``(T, N)`` one RF, ``(T, M, N)`` a batch of
        initial conditions or ``(T, K, N)`` a K-neuron layer.
    status : str
        ``"ok"``, ``"diverged"`` (NaN/overflow), ``"collapsed"`` (norm -> 0) or
        ``"max_steps"`` (an adaptive integration hit its step budget).
    message : str
        Human-readable account of a failure (where and when), empty when ok.
    stats : dict
        Counters such as ``steps``, ``rejected``, wall time.
    params : dict
        Every parameter needed to reproduce the run.
    extras : dict of ndarray
        Per-save series aligned with ``t`` (e.g. ``loss``, ``accuracy``, ``bias``).
    """

    t: np.ndarray
    w: np.ndarray
    status: str = "ok"
    message: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the run finished without divergence or collapse."""
        return self.status == "ok"

    @property
    def final(self) -> np.ndarray:
        """The last saved state ``w[-1]``."""
        return self.w[-1]

    def save(self, path: str | Path) -> None:
        """Write ``path.npz`` (arrays) and ``path.json`` (metadata), each atomically."""
        path = Path(path)
        io.write_npz(path.with_suffix(".npz"), t=self.t, w=self.w,
                     **{f"extra_{k}": v for k, v in self.extras.items()})
        io.write_json(path.with_suffix(".json"), {
            "status": self.status, "message": self.message,
            "stats": self.stats, "params": self.params,
        })

    @classmethod
    def load(cls, path: str | Path) -> Trajectory:
        """Read a trajectory written by :meth:`save`."""
        path = Path(path)
        meta = io.read_json(path.with_suffix(".json"))
        with np.load(path.with_suffix(".npz")) as data:
            extras = {k[6:]: data[k] for k in data.files if k.startswith("extra_")}
            return cls(t=data["t"], w=data["w"], extras=extras, **meta)
