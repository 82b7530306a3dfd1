"""How a run ended: one status enum for the ODE integrator and SGD training.

The integer values are the codes the Numba kernels write; :attr:`Status.label` is the
string a :class:`~rfloc.numerics.trajectory.Trajectory` records in ``status``, and
:meth:`Status.describe` the reason its ``message`` gives.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

__all__ = ["Status"]


class Status(IntEnum):
    """Outcome of one trajectory (one initial condition, or one training run).

    ``OK`` finished; ``DIVERGED`` a state became NaN or overflowed; ``COLLAPSED``
    :math:`\\|w\\|_{\\Sigma_1}` fell to the collapse tolerance (the amplifier's argument is
    undefined at :math:`w = 0`); ``MAX_STEPS`` the step budget ran out; ``UNDERFLOW`` the
    adaptive step size vanished (reported as divergence).
    """

    OK = 0
    DIVERGED = 1
    COLLAPSED = 2
    MAX_STEPS = 3
    UNDERFLOW = 4

    @property
    def label(self) -> str:
        """``"ok"``, ``"diverged"``, ``"collapsed"`` or ``"max_steps"`` (the ``status``
        string of a Trajectory; an underflow is a divergence)."""
        return _LABELS[self]

    def describe(self, **context: Any) -> str:
        """The reason, in words, filled in from ``context``.

        Keys (each optional): ``what`` (the quantity that became non-finite, default
        ``"w"``), ``hint`` (advice appended to a divergence), ``collapse_tol``,
        ``max_steps``.

        Examples
        --------
        >>> Status.COLLAPSED.describe(collapse_tol=1e-3)
        'norm collapse, ||w||_Sigma1 = sqrt(w^T cov1 w) <= collapse_tol = 0.001'
        >>> Status.DIVERGED.describe(what="a parameter", hint="; lower lr")
        'a parameter became non-finite (NaN/overflow); lower lr'
        """
        return _REASONS[self].format(**{**_DEFAULTS, **context})


_LABELS = {
    Status.OK: "ok",
    Status.DIVERGED: "diverged",
    Status.COLLAPSED: "collapsed",
    Status.MAX_STEPS: "max_steps",
    Status.UNDERFLOW: "diverged",
}

_REASONS = {
    Status.OK: "finished",
    Status.DIVERGED: "{what} became non-finite (NaN/overflow){hint}",
    Status.COLLAPSED: "norm collapse, ||w||_Sigma1 = sqrt(w^T cov1 w) <= collapse_tol = "
                      "{collapse_tol:g}",
    Status.MAX_STEPS: "max_steps = {max_steps} steps taken before the end",
    Status.UNDERFLOW: "the adaptive step size underflowed (h < 1e-14 t)",
}

_DEFAULTS: dict[str, Any] = {"what": "w", "hint": "", "collapse_tol": 1e-12,
                             "max_steps": "max_steps"}
