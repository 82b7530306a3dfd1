r"""IG22's two-output network trained by online SGD (``docs/two_output.md``).

Ingrosso & Goldt, *Data-driven emergence of convolutional structure in neural networks*,
PNAS 2022 (arXiv 2202.00565); the reference code is ``conv_emerge_online.py`` with the
network ``TwoLayer`` of ``network.py`` (github ``sgoldt/conv_emerge``). The network has
``K`` hidden units and two outputs ``c = 0, 1``,

.. math:: \hat y_c(x) = \frac{1}{\nu} \sum_{k=1}^{K} v_{kc}\, \sigma(z_k), \qquad
          z_k = \frac{w_k \cdot x}{\sqrt N} + b_k,

trained on the one-hot targets :math:`t_c = [y = c]` of the label :math:`y \in \{0, 1\}`
(mapped to :math:`2 t_c - 1 = \pm 1` for erf and tanh) with the mean squared error averaged
over the batch and the two outputs (PyTorch's ``F.mse_loss``), no further 1/2:

.. math:: L = \frac{1}{2B} \sum_{\mu=1}^{B} \sum_{c=0}^{1} (\hat y_c(x_\mu) - t_{\mu c})^2.

With :math:`\delta_{k\mu} = \sigma'(z_{k\mu}) \sum_c e_{\mu c} v_{kc} / \nu`,
:math:`e_{\mu c} = \hat y_c(x_\mu) - t_{\mu c}`, the gradients are

.. math::
    \nabla_{w_k} L = \frac{1}{B\sqrt N} \sum_\mu \delta_{k\mu} x_\mu, \quad
    \partial_{b_k} L = \frac1B \sum_\mu \delta_{k\mu}, \quad
    \partial_{v_{kc}} L = \frac{1}{B\nu} \sum_\mu e_{\mu c}\, \sigma(z_{k\mu}).

Scalings (IG22's ``--model``), for a base learning rate :math:`\eta`:

- ``mf``: :math:`\nu = K`, second layer fixed at :math:`v_{k0} = +1, v_{k1} = -1`, first
  layer trained at :math:`\eta K`;
- ``lazy``: :math:`\nu = \sqrt K`, second layer fixed as for ``mf``, first layer trained at
  :math:`\eta \sqrt K`;
- ``2layer``: :math:`\nu = 1`, second layer drawn :math:`N(0, \text{init\_std}^2)` and
  trained at :math:`\eta / N`, first layer trained at :math:`\eta`.

A trained bias learns at (first-layer rate) / N.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from rfloc.errors import ParameterError, TrainingError, check_int, check_positive
from rfloc.numerics import _two_output_kernels as kernels
from rfloc.numerics._activations import CODES
from rfloc.numerics.train import Task
from rfloc.numerics.trajectory import Trajectory
from rfloc.random import seed_sequence, to_json

__all__ = ["ACTIVATIONS", "REFERENCE_INIT_STD", "SCALINGS", "train_two_output"]

ACTIVATIONS = {name: CODES[name] for name in ("erf", "tanh", "relu", "linear")}
"""Activation names; ``"erf"`` is :math:`\\mathrm{erf}(z/\\sqrt2)` (IG22's ``erf``)."""

SCALINGS = ("mf", "lazy", "2layer")
"""IG22's fully connected ``--model`` choices (docs/two_output.md)."""

REFERENCE_INIT_STD = 0.1
"""Standard deviation of IG22's Gaussian initial weights (``std0`` of ``TwoLayer``)."""

_BIAS_MODES = ("none", "fixed", "train")
# Activations whose targets are mapped from {0, 1} to {-1, +1}, as IG22's `preprocess`.
_SIGNED_TARGETS = ("erf", "tanh")
# Online SGD draws the data of several steps in one sampler call, at most this many
# numbers per call (512 KiB).
_BLOCK_NUMBERS = 2**16


def train_two_output(
    w0: ArrayLike | int,
    task: Task,
    lr: float,
    steps: int,
    batch_size: int,
    seed: int | np.random.SeedSequence | None,
    *,
    scaling: str = "mf",
    activation: str = "erf",
    bias: str = "none",
    bias_value: float | None = None,
    init_std: float | None = None,
    save_every: int | None = None,
    eval_size: int = 0,
    on_failure: str = "raise",
) -> Trajectory:
    r"""Train IG22's two-output network by online SGD on ``task``.

    Each step draws ``batch_size`` fresh samples, computes the gradient of the loss of the
    module docstring and updates every trained parameter by minus its learning rate times
    its gradient: first layer :math:`W` at :math:`\eta s` with :math:`s = K` (``mf``),
    :math:`\sqrt K` (``lazy``) or 1 (``2layer``); a trained bias at :math:`\eta s / N`; the
    ``2layer`` second layer at :math:`\eta / N`. This is ``conv_emerge_online.py`` of IG22
    (PNAS 2022, github ``sgoldt/conv_emerge``) with ``--loss mse`` and no l1/l2 penalty.

    Parameters
    ----------
    w0 : array (K, N) or int
        Initial first layer (``fc1.T`` in IG22's code: row ``k`` is the receptive field of
        unit ``k``), or an int ``K`` to draw :math:`w_{ki} \sim N(0, \text{init\_std}^2)`
        i.i.d. (IG22's law, ``std0 = 0.1``; with the :math:`1/\sqrt N` of the
        preactivation, the effective weights :math:`w/\sqrt N` have the fan-in variance
        :math:`\text{init\_std}^2 / N`) from the run's own seed stream.
    task : Task
        Object with ``.n`` (N) and ``.sample(m, rng) -> (X (m, N), y (m,))``, labels in
        {0, 1} (e.g. :class:`rfloc.numerics.data.TwoClass`; label 1 is the longer
        correlation length, as IG22's class 1).
    lr : float
        Base learning rate :math:`\eta > 0` (IG22's ``--lr``, default there 0.05), before
        the scaling's factor. Saved times are ``t = lr * step``.
    steps : int
        Number of SGD steps (>= 0). IG22 measure time in steps / N: their ``--time T`` is
        ``steps = T * N``; ``extras["ig22_time"]`` holds step / N.
    batch_size : int
        Samples per step (>= 1); IG22's default ``--bs`` is 1.
    seed : int, SeedSequence or None
        Root of the run's random streams: three children (training data, held-out data,
        initial weights). The same seed gives the identical trajectory.
    scaling : {"mf", "lazy", "2layer"}
        IG22's ``--model``: the output normalisation :math:`\nu`, the second layer and the
        learning-rate factors (module docstring).
    activation : {"erf", "tanh", "relu", "linear"}
        :math:`\sigma`; ``"erf"`` is :math:`\mathrm{erf}(z/\sqrt2)`. Targets are
        :math:`\pm 1` for erf and tanh, 0/1 for relu and linear.
    bias : {"none", "fixed", "train"}
        No bias; biases fixed at :math:`+b` for units ``k < K // 2`` and :math:`-b` for
        the others (IG22's ``--bias b``); or trained biases starting there (IG22's bare
        ``--bias``, which starts at :math:`\pm 1`).
    bias_value : float, optional
        :math:`b \ge 0`; default 1. Only with ``bias="fixed"`` or ``"train"``.
    init_std : float, optional
        Standard deviation of drawn weights, default 0.1 (IG22's ``std0``); applies to the
        drawn first layer (``w0`` an int) and to the ``2layer`` second layer.
    save_every : int, optional
        Save the state every ``save_every`` steps; the initial and final states are always
        saved. ``None`` saves only those two.
    eval_size : int
        Size of a held-out set (drawn once, from its own stream) on which ``loss`` (the
        training loss) and ``accuracy`` (larger output = predicted class) are reported at
        each save; 0 skips them. IG22 use 20 000 test samples.
    on_failure : {"raise", "return"}
        On divergence (an update that would make a parameter NaN/inf) raise
        :class:`~rfloc.errors.TrainingError` with the partial trajectory attached as
        ``.trajectory``, or return that trajectory with ``status="diverged"``.

    Returns
    -------
    Trajectory
        ``t`` (T,) = lr * saved step; ``w`` (T, K, N); ``extras``: ``step`` (T,) ints,
        ``ig22_time`` (T,) = step / N, ``loss`` and ``accuracy`` (T,) when ``eval_size``,
        ``bias`` (T, K) when trained, ``readout`` (T, K, 2) for ``2layer``. ``params``
        records the effective learning rates and the initial ``bias`` / ``readout``. After
        a divergence at step ``s`` the last finite state (step ``s - 1``) is appended.

    Raises
    ------
    ParameterError
        Invalid argument (the message names it, its value and the allowed range).
    TrainingError
        Divergence with ``on_failure="raise"``.

    Notes
    -----
    Reproducibility: the data of ``max(1, 2**16 // (B N))`` steps are drawn per sampler
    call, always whole blocks, so a run is a prefix of any longer run with the same seed
    and ``save_every`` does not change the weights.
    """
    lr = check_positive("lr", lr)
    steps = check_int("steps", steps, minimum=0)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    n = _task_pixels(task)
    scaling = _choice("scaling", scaling, SCALINGS)
    activation = _choice("activation", activation, tuple(ACTIVATIONS))
    bias = _choice("bias", bias, _BIAS_MODES)
    if bias == "none" and bias_value is not None:
        raise ParameterError(f'bias_value needs bias="fixed" or "train", got '
                             f"bias_value={bias_value!r} with bias=\"none\"")
    b_mag = 1.0 if bias_value is None else check_positive("bias_value", bias_value,
                                                          strict=False)
    draws = isinstance(w0, (int, np.integer)) or scaling == "2layer"
    if init_std is not None and not draws:
        raise ParameterError('init_std only applies when w0 is an int K or scaling="2layer"'
                             f", got init_std={init_std!r}")
    std = REFERENCE_INIT_STD if init_std is None else check_positive("init_std", init_std)
    save_every = None if save_every is None else check_int("save_every", save_every,
                                                           minimum=1)
    eval_size = check_int("eval_size", eval_size, minimum=0)
    if on_failure not in ("raise", "return"):
        raise ParameterError(f'on_failure must be "raise" or "return", got {on_failure!r}')

    root = seed_sequence(seed)
    data_ss, eval_ss, init_ss = root.spawn(3)
    init_rng = np.random.default_rng(init_ss)
    W = _first_layer(w0, n, std, init_rng)
    K = W.shape[0]
    b = np.zeros(K)
    if bias != "none":
        b[:K // 2], b[K // 2:] = b_mag, -b_mag
    if scaling == "2layer":
        V, norm = std * init_rng.standard_normal((K, 2)), 1.0
    else:
        V = np.tile([1.0, -1.0], (K, 1))
        norm = float(K) if scaling == "mf" else math.sqrt(K)
    lr_w = lr * {"mf": K, "lazy": math.sqrt(K), "2layer": 1.0}[scaling]
    lr_b = lr_w / n if bias == "train" else 0.0
    lr_v = lr / n if scaling == "2layer" else 0.0
    act = ACTIVATIONS[activation]
    signed = activation in _SIGNED_TARGETS
    params = {"n": n, "k": K, "lr": lr, "lr_first_layer": lr_w, "lr_bias": lr_b,
              "lr_readout": lr_v, "steps": steps, "batch_size": batch_size,
              "scaling": scaling, "norm": norm, "activation": activation, "bias": bias,
              "bias_init": b.tolist(), "readout_init": V.tolist(),
              "init_std": std if draws else None, "save_every": save_every,
              "eval_size": eval_size, "seed": to_json(root),
              "task": getattr(task, "params", type(task).__name__)}

    every = save_every or max(steps, 1)
    saves = np.minimum(np.arange(every, steps + every, every, dtype=np.int64), steps)
    out_W = np.empty((saves.size + 2, K, n))
    out_b = np.empty((saves.size + 2, K))
    out_V = np.empty((saves.size + 2, K, 2))
    out_W[0], out_b[0], out_V[0] = W, b, V

    rng = np.random.default_rng(data_ss)
    block = max(1, _BLOCK_NUMBERS // (batch_size * n))
    rows = np.arange(block * batch_size)
    step, ptr, failed, drawn = 0, 0, -1, 0
    start = time.perf_counter()
    while step < steps and failed < 0:
        X, _, T = _draw(task, block * batch_size, rng, n, signed)
        drawn += block * batch_size
        todo = min(block, steps - step)
        ptr, failed = kernels.sgd_steps(W, b, V, X, T, rows, batch_size, batch_size, todo,
                                        step, lr_w, lr_b, lr_v, act, 1.0 / norm, saves,
                                        ptr, out_W[1:], out_b[1:], out_V[1:])
        step += todo
    wall = time.perf_counter() - start

    n_saved = 1 + ptr
    saved_steps = np.concatenate([[0], saves[:ptr]])
    status, message = "ok", ""
    if failed >= 0:
        last = failed - 1
        if last > saved_steps[-1]:
            out_W[n_saved], out_b[n_saved], out_V[n_saved] = W, b, V
            saved_steps = np.append(saved_steps, last)
            n_saved += 1
        status = "diverged"
        message = (f"training diverged at step {failed} (t = {lr * failed:g}, IG22 time "
                   f"{failed / n:g}): the update made a parameter NaN/inf; kept {n_saved} "
                   f"saved states up to step {last} (t = {lr * last:g}); lower lr "
                   f"(= {lr:g})")
    Ws, bs, Vs = out_W[:n_saved], out_b[:n_saved], out_V[:n_saved]

    extras: dict[str, np.ndarray] = {"step": saved_steps, "ig22_time": saved_steps / n}
    if eval_size:
        X_ev, y_ev, T_ev = _draw(task, eval_size, np.random.default_rng(eval_ss), n, signed)
        loss, acc = np.empty(n_saved), np.empty(n_saved)
        kernels.evaluate(Ws, bs, Vs, X_ev, T_ev, y_ev, act, 1.0 / norm, loss, acc)
        extras["loss"], extras["accuracy"] = loss, acc
    if bias == "train":
        extras["bias"] = bs.copy()
    if scaling == "2layer":
        extras["readout"] = Vs.copy()

    done = failed - 1 if failed >= 0 else steps
    traj = Trajectory(
        t=lr * saved_steps.astype(np.float64), w=Ws.copy(), status=status,
        message=message,
        stats={"steps": int(done), "samples": int(drawn), "wall_time": wall,
               "steps_per_second": done / wall if wall > 0 else float("inf")},
        params=params, extras=extras,
    )
    if status != "ok" and on_failure == "raise":
        err = TrainingError(message)
        err.trajectory = traj  # type: ignore[attr-defined]
        raise err
    return traj


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ParameterError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value.lower()


def _task_pixels(task: Any) -> int:
    if not callable(getattr(task, "sample", None)) or not hasattr(task, "n"):
        raise ParameterError("task must have an attribute n and a method sample(m, rng) "
                             f"-> (X, y), got {type(task).__name__}")
    return check_int("task.n", task.n, minimum=1)


def _first_layer(w0: Any, n: int, std: float, rng: np.random.Generator) -> np.ndarray:
    """``W`` (K, N) float64: a copy of ``w0`` or i.i.d. ``N(0, std^2)`` draws for int K."""
    if isinstance(w0, (int, np.integer)) and not isinstance(w0, bool):
        return std * rng.standard_normal((check_int("w0", int(w0), minimum=1), n))
    try:
        W = np.array(w0, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"w0 must be an int K >= 1 or an array of shape (K, N), "
                             f"got {w0!r}") from None
    if W.ndim != 2 or W.shape[1] != n or W.shape[0] == 0:
        raise ParameterError(f"w0 must have shape (K, N) with K >= 1 and N = task.n = {n}, "
                             f"got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ParameterError("w0 must be finite, got NaN/inf entries")
    return np.ascontiguousarray(W)


def _draw(task: Task, m: int, rng: np.random.Generator, n: int,
          signed: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X (m, n), y (m,), T (m, 2))``: a sample and its one-hot (or ±1) targets."""
    X, y = task.sample(m, rng)
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if X.shape != (m, n) or y.shape != (m,):
        raise ParameterError(f"task.sample({m}, rng) must return X of shape ({m}, {n}) and "
                             f"y of shape ({m},), got {X.shape} and {y.shape}")
    if not np.all((y == 0.0) | (y == 1.0)):
        raise ParameterError(f"task labels must be 0 or 1, got values {np.unique(y)[:5]}")
    T = np.stack([1.0 - y, y], axis=1)
    return X, y, 2.0 * T - 1.0 if signed else T
