r"""Simulated training: online SGD of one neuron or of a K-neuron two-layer network.

The model and loss (``docs/training.md``). A committee of ``K`` units,

.. math:: \hat y(x) = \sum_{k=1}^{K} v_k\, \sigma(w_k \cdot x + b_k),

with the readout fixed to :math:`v_k = 1/K` (reference) or trained; one neuron is
``K = 1``, :math:`v = 1`: :math:`\hat y = \sigma(w \cdot x + b)`. The loss of a batch of
``B`` samples is the plain mean squared error **without** a factor 1/2,

.. math:: L = \frac1B \sum_{\mu} (\hat y_\mu - y_\mu)^2,

so every gradient carries a factor 2:

.. math::
    \nabla_{w_k} L = \frac2B \sum_\mu e_\mu v_k \sigma'(z_{k\mu})\, x_\mu,\quad
    \partial_{b_k} L = \frac2B \sum_\mu e_\mu v_k \sigma'(z_{k\mu}),\quad
    \partial_{v_k} L = \frac2B \sum_\mu e_\mu \sigma(z_{k\mu}),

:math:`e_\mu = \hat y_\mu - y_\mu`, and one step is :math:`\theta \leftarrow \theta - \eta
\nabla L`. Gradient-flow time is :math:`t = \eta \cdot \text{step}`: in expectation one SGD
step is one Euler step of the effective ODE with ``dt = lr``.

A *task* is any object with an attribute ``n`` (pixels) and a method
``sample(m, rng) -> (X, y)`` returning ``X`` (m, n) and labels ``y`` (m,) in {0, 1}, such
as :class:`rfloc.numerics.data.TwoClass`; it must not keep random state of its own (all
randomness comes from ``rng``), which also makes it safe to share between threads.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from rfloc.errors import ParameterError, TrainingError, check_int, check_positive
from rfloc.numerics import _sgd_kernels as kernels
from rfloc.numerics._activations import CODES
from rfloc.numerics._fused_sgd import fused_parts, fused_sgd_steps
from rfloc.numerics.data._normal import ZIG_F, ZIG_R, ZIG_X
from rfloc.numerics.status import Status
from rfloc.numerics.trajectory import Trajectory
from rfloc.random import as_generator, seed_sequence, spawn, to_json

__all__ = ["ACTIVATIONS", "REFERENCE_INIT_SCALE", "Task", "train_sgd", "train_sgd_seeds",
           "xavier_init"]

ACTIVATIONS = {name: CODES[name] for name in ("relu", "sigmoid", "tanh", "erf")}
"""Activation names of :func:`train_sgd`; ``"erf"`` is :math:`\\mathrm{erf}(z/\\sqrt2)`."""

REFERENCE_INIT_SCALE = 0.001
"""Init scale of the reference single-neuron runs (``docs/training.md``)."""

_BIAS_MODES = {False: "none", "none": "none", "fixed": "fixed", "train": "train",
               True: "train"}
# Online SGD draws the data of several steps in one sampler call when batches are small,
# at most this many numbers per call (512 KiB: the batch stays in a core's L2 cache).
_BLOCK_NUMBERS = 2**16
_MAX_BLOCK_STEPS = 16
# Full-batch GD returns to Python after about this many multiply-adds (Ctrl-C stays live).
_FULL_BATCH_WORK = 2**28
_BACKENDS = {"threads": ThreadPoolExecutor, "processes": ProcessPoolExecutor}
# Fused online SGD returns to Python after about this many samples (Ctrl-C stays live).
_FUSED_SAMPLES = 2**22


class Task(Protocol):
    """What :func:`train_sgd` needs from a data task (e.g. ``TwoClass``)."""

    n: int

    def sample(self, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)``: inputs (m, n) and labels (m,) with values 0./1."""
        ...


#: the most weights :func:`xavier_init` draws (beyond: a typo, not a network)
MAX_INIT_ENTRIES = 2**30


def xavier_init(k: int | None, n: int, init_scale: float = REFERENCE_INIT_SCALE,
                rng: np.random.Generator | int | np.random.SeedSequence | None = None,
                ) -> np.ndarray:
    r"""Xavier-normal weights scaled by :math:`\sqrt{\text{init\_scale}}`.

    .. math:: w_{ki} \sim \mathcal N\Big(0,\ \text{init\_scale} \cdot \frac{2}{N + K}\Big)

    (the Xavier/Glorot normal law of a (K, N) layer, fan-in N, fan-out K).

    Parameters
    ----------
    k : int or None
        Number of neurons; ``None`` means one neuron (fan-out 1) and returns shape (n,).
    n : int
        Number of pixels (fan-in).
    init_scale : float
        Variance multiplier; the reference single-neuron runs use 0.001.
    rng : Generator, int seed, SeedSequence or None

    Returns
    -------
    ndarray, shape (k, n), or (n,) when ``k`` is None

    Raises
    ------
    ParameterError
        Non-positive sizes or scale, or more than :data:`MAX_INIT_ENTRIES` weights.
    """
    n = check_int("n", n, minimum=1)
    fan_out = 1 if k is None else check_int("k", k, minimum=1)
    scale = check_positive("init_scale", init_scale)
    if fan_out * n > MAX_INIT_ENTRIES:
        raise ParameterError(f"k * n = {fan_out * n:.3g} weights exceed {MAX_INIT_ENTRIES:.0e} "
                             f"({MAX_INIT_ENTRIES * 8 / 2**30:.0f} GiB of float64); reduce k "
                             "or n")
    std = np.sqrt(scale * 2.0 / (n + fan_out))
    shape = (n,) if k is None else (fan_out, n)
    return std * as_generator(rng).standard_normal(shape)


def train_sgd(
    w0: ArrayLike | int | None,
    task: Task,
    lr: float,
    steps: int,
    batch_size: int,
    seed: int | np.random.SeedSequence | None,
    activation: str = "relu",
    bias: bool | str = False,
    *,
    save_every: int | None = None,
    init_scale: float | None = None,
    bias_init: float | ArrayLike = 0.0,
    train_readout: bool = False,
    readout: ArrayLike | None = None,
    train_size: int | None = None,
    full_batch: bool = False,
    eval_size: int = 10_000,
    on_failure: str = "raise",
    sampler: str | None = None,
    backend: str = "cpu",
) -> Trajectory:
    r"""Train one neuron or a K-neuron committee by (online) SGD on ``task``.

    Each step draws a fresh batch of ``batch_size`` samples (online SGD), computes the
    gradients of the no-1/2 mean squared error (module docstring) and updates
    :math:`\theta \leftarrow \theta - \text{lr}\, \nabla L`. Forward, backward and update
    run in a Numba kernel; data come from ``task.sample`` in whole batches.

    Parameters
    ----------
    w0 : array (N,) or (K, N), int, or None
        Initial weights — pass the same array the ODE integrator gets. ``(N,)`` trains one
        neuron :math:`\hat y = \sigma(w\cdot x + b)`; ``(K, N)`` a committee. ``None``
        draws one neuron and an int ``K`` draws a (K, N) layer with :func:`xavier_init`
        (scale ``init_scale``, default 0.001) from the run's own seed stream.
    task : Task
        Object with ``.n`` and ``.sample(m, rng) -> (X (m, n), y (m,))``, y in {0, 1}.
    lr : float
        Learning rate :math:`\eta > 0`; saved times are ``t = lr * step``.
    steps : int
        Number of gradient steps (>= 0).
    batch_size : int
        Samples per gradient step (>= 1).
    seed : int, SeedSequence or None
        Root of the run's random streams: three children (training data, held-out data,
        initial weights). The same seed gives the identical trajectory.
    activation : {"relu", "sigmoid", "tanh", "erf"}
        :math:`\sigma`; ``"erf"`` is :math:`\mathrm{erf}(z/\sqrt2)`.
    bias : {False, "fixed", "train"}
        No bias (:math:`b = 0`); a constant bias ``bias_init``; or a trained bias starting
        at ``bias_init`` (``True`` is accepted for ``"train"``).
    save_every : int, optional
        Save the state every ``save_every`` steps; the initial and final states are always
        saved. ``None`` saves only those two.
    init_scale : float, optional
        Variance multiplier of the Xavier init; only when ``w0`` is drawn (None or int).
    bias_init : float or array (K,)
        Initial (or fixed) bias; only with ``bias="fixed"`` or ``"train"``.
    train_readout : bool
        Train the second layer :math:`v` too.
    readout : array (K,), optional
        Initial (or fixed) second layer; default :math:`v_k = 1/K` (one neuron: 1).
    train_size : int, optional
        Finite-data mode: draw ``train_size`` samples once and run epochs over them, each a
        fresh random permutation cut into ``train_size // batch_size`` batches (the
        remainder is left out of that epoch). ``steps`` still counts gradient steps.
    full_batch : bool
        Population-gradient mode: draw ``batch_size`` samples once and do deterministic
        gradient descent on all of them every step (the bridge between SGD and the ODE;
        use a large ``batch_size``). Equivalent to ``train_size=batch_size``.
    eval_size : int
        Size of the held-out set (drawn once, from its own stream) on which ``loss`` and
        ``accuracy`` are reported at each save; 0 skips them.
    on_failure : {"raise", "return"}
        On divergence (an update that would make a parameter NaN/inf) raise
        :class:`~rfloc.errors.TrainingError` with the partial trajectory attached as
        ``.trajectory``, or return that trajectory with ``status="diverged"``.
    sampler : {"batched", "fused"}, optional
        Online SGD only. ``"batched"`` (the default on the CPU) draws whole batches with
        ``task.sample``; ``"fused"`` draws each sample inside the training kernel and
        discards it (no batch in memory; ``rfloc.numerics._fused_sgd``), for a
        ``TwoClass`` of NLGP/NORTA fields. Both give the same updates in law, not bit for
        bit.
    backend : {"cpu", "cuda"}
        Where the fused online steps run: Numba on the CPU, or Numba's CUDA target
        (``rfloc.numerics.gpu``; needs ``sampler="fused"``, the default there). Held-out
        evaluation stays on the CPU.

    Returns
    -------
    Trajectory
        ``t`` (T,) = lr * saved step; ``w`` (T, N) for one neuron or (T, K, N);
        ``extras``: ``step`` (T,) ints, ``loss`` and ``accuracy`` (T,) on the held-out set
        (accuracy thresholds :math:`\hat y` at 1/2), ``bias`` / ``readout`` ((T,) or
        (T, K)) when trained. After a divergence at step ``s`` the last finite state (step
        ``s - 1``) is appended to the saves.

    Raises
    ------
    ParameterError
        Invalid argument (the message names it).
    TrainingError
        Divergence with ``on_failure="raise"``.

    Notes
    -----
    Reproducibility: online SGD draws the data of ``max(1, min(16, 2**16 // (B N)))``
    steps per sampler call, always whole blocks, so a run is a prefix of any longer run
    with the same seed, and ``save_every`` does not change the weights.
    """
    lr = check_positive("lr", lr)
    steps = check_int("steps", steps, minimum=0)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    n = _task_pixels(task)
    act = _activation_code(activation)
    bias_mode = _bias_mode(bias)
    save_every = None if save_every is None else check_int("save_every", save_every,
                                                           minimum=1)
    eval_size = check_int("eval_size", eval_size, minimum=0)
    if on_failure not in ("raise", "return"):
        raise ParameterError(f'on_failure must be "raise" or "return", got {on_failure!r}')
    if full_batch and train_size is not None:
        raise ParameterError("give either full_batch=True or train_size, not both "
                             "(full_batch is train_size=batch_size)")
    if train_size is not None:
        train_size = check_int("train_size", train_size, minimum=batch_size)
    sampler = _sampler(sampler, backend, full_batch or train_size is not None)

    root = seed_sequence(seed)
    data_ss, eval_ss, init_ss = root.spawn(3)
    W, single = _initial_weights(w0, n, init_scale, init_ss)
    K = W.shape[0]
    b = _per_neuron("bias_init", bias_init, K, 0.0)
    if bias_mode == "none" and np.any(b != 0.0):
        raise ParameterError('bias_init needs bias="fixed" or bias="train"')
    v = _per_neuron("readout", readout, K, 1.0 / K)
    params = {"n": n, "k": None if single else K, "lr": lr, "steps": steps,
              "batch_size": batch_size, "activation": activation.lower(), "bias": bias_mode,
              "bias_init": b.tolist(), "train_readout": bool(train_readout),
              "readout": v.tolist(), "init_scale": _effective_init_scale(w0, init_scale),
              "save_every": save_every, "train_size": train_size,
              "full_batch": bool(full_batch), "eval_size": eval_size,
              "sampler": sampler, "backend": backend,
              "seed": to_json(root),
              "task": getattr(task, "params", type(task).__name__)}

    # Steps after which the state is saved (step 0, the initial state, is saved below).
    every = save_every or max(steps, 1)
    saves = np.minimum(np.arange(every, steps + every, every, dtype=np.int64), steps)
    out_W = np.empty((saves.size + 2, K, n))
    out_b = np.empty((saves.size + 2, K))
    out_v = np.empty((saves.size + 2, K))
    out_W[0], out_b[0], out_v[0] = W, b, v

    rng = np.random.default_rng(data_ss)
    run = _Run(W, b, v, lr, act, bias_mode == "train", bool(train_readout), saves,
               out_W[1:], out_b[1:], out_v[1:])
    start = time.perf_counter()
    if full_batch:
        drawn = run.full_batch(task, rng, n, batch_size, steps)
    elif train_size is not None:
        drawn = run.epochs(task, rng, n, batch_size, train_size, steps)
    elif backend == "cuda":
        drawn = run.cuda(task, data_ss, batch_size, steps)
    elif sampler == "fused":
        drawn = run.fused(task, rng, batch_size, steps)
    else:
        drawn = run.online(task, rng, n, batch_size, steps)
    wall = time.perf_counter() - start

    n_saved = 1 + run.ptr
    saved_steps = np.concatenate([[0], saves[:run.ptr]])
    status, message = Status.OK, ""
    if run.failed >= 0:
        last = run.failed - 1
        if last > saved_steps[-1]:
            out_W[n_saved], out_b[n_saved], out_v[n_saved] = run.W, run.b, run.v
            saved_steps = np.append(saved_steps, last)
            n_saved += 1
        status = Status.DIVERGED
        reason = status.describe(what="a parameter after the update")
        message = (f"training {status.label} at step {run.failed} (t = {lr * run.failed:g}): "
                   f"{reason}; kept {n_saved} saved states up to step {last} "
                   f"(t = {lr * last:g}); lower lr (= {lr:g})")
    Ws, bs, vs = out_W[:n_saved], out_b[:n_saved], out_v[:n_saved]

    extras: dict[str, np.ndarray] = {"step": saved_steps}
    if eval_size:
        X_ev, y_ev = _draw(task, eval_size, np.random.default_rng(eval_ss), n)
        loss, acc = np.empty(n_saved), np.empty(n_saved)
        kernels.evaluate(Ws, bs, vs, X_ev, y_ev, act, loss, acc)
        extras["loss"], extras["accuracy"] = loss, acc
    if bias_mode == "train":
        extras["bias"] = bs[:, 0].copy() if single else bs.copy()
    if train_readout:
        extras["readout"] = vs[:, 0].copy() if single else vs.copy()

    done = run.failed - 1 if run.failed >= 0 else steps
    traj = Trajectory(
        t=lr * saved_steps.astype(np.float64),
        w=Ws[:, 0].copy() if single else Ws.copy(),
        status=status.label, message=message,
        stats={"steps": int(done), "samples": int(drawn), "wall_time": wall,
               "steps_per_second": done / wall if wall > 0 else float("inf")},
        params=params, extras=extras,
    )
    if status != Status.OK and on_failure == "raise":
        err = TrainingError(message)
        err.trajectory = traj
        raise err
    return traj


def train_sgd_seeds(
    w0: ArrayLike | int | None,
    task: Task,
    lr: float,
    steps: int,
    batch_size: int,
    seeds: int | np.random.SeedSequence | Sequence[int | np.random.SeedSequence],
    activation: str = "relu",
    bias: bool | str = False,
    *,
    runs: int | None = None,
    workers: int = 1,
    backend: str = "threads",
    executor: Executor | None = None,
    device: str = "cpu",
    **options: Any,
) -> list[Trajectory]:
    """:func:`train_sgd` for several seeds, in parallel; results in the order of the seeds.

    Parameters
    ----------
    w0, task, lr, steps, batch_size, activation, bias, **options
        As for :func:`train_sgd`, shared by all runs (``w0=None`` or an int draws a
        different init per run, from each run's seed).
    seeds : int, SeedSequence, or sequence of them
        A sequence gives one run per element. A single root needs ``runs``: the runs get
        its ``runs`` children (:func:`rfloc.random.spawn`).
    runs : int, optional
        Number of runs spawned from a single root seed.
    workers : int
        Size of the pool. Each run owns its seed, so results do not depend on ``workers``.
    backend : {"threads", "processes"}
        Threads share memory and start at once; they run in parallel while the Numba
        training kernels (which release the GIL) dominate. Choose processes when the
        task's sampler holds the GIL and dominates the step (``task`` must be picklable).
    executor : concurrent.futures.Executor, optional
        Run on this executor instead (e.g. a Dask client's executor).
    device : {"cpu", "cuda"}
        Passed to :func:`train_sgd` as its ``backend`` (``backend`` here names the pool).

    Returns
    -------
    list of Trajectory
    """
    if isinstance(seeds, (int, np.integer, np.random.SeedSequence)):
        if runs is None:
            raise ParameterError("runs must be given when seeds is a single root seed")
        children: Sequence[Any] = spawn(seeds, check_int("runs", runs, minimum=1))
    else:
        if runs is not None:
            raise ParameterError("runs only applies to a single root seed")
        children = list(seeds)
    workers = check_int("workers", workers, minimum=1)
    if backend not in _BACKENDS:
        raise ParameterError(f"backend must be one of {sorted(_BACKENDS)}, got {backend!r}")
    one = partial(_train_one, (w0, task, lr, steps, batch_size), (activation, bias),
                  {**options, "backend": device})
    if executor is not None:
        return [f.result() for f in [executor.submit(one, s) for s in children]]
    if workers == 1 or len(children) <= 1:
        return [one(s) for s in children]
    with _BACKENDS[backend](max_workers=workers) as pool:
        return list(pool.map(one, children))


def _train_one(args: tuple[ArrayLike | int | None, Task, float, int, int],
               act_bias: tuple[str, bool | str], options: dict[str, Any],
               seed: Any) -> Trajectory:
    """One run of :func:`train_sgd_seeds` (module level, so process pools can pickle it)."""
    return train_sgd(*args, seed, *act_bias, **options)


class _Run:
    """Mutable state of one training run, fed to :func:`kernels.sgd_steps` block by block."""

    def __init__(self, W: np.ndarray, b: np.ndarray, v: np.ndarray, lr: float, act: int,
                 train_b: bool, train_v: bool, saves: np.ndarray, out_W: np.ndarray,
                 out_b: np.ndarray, out_v: np.ndarray) -> None:
        self.W, self.b, self.v = W, b, v
        self.lr, self.act, self.train_b, self.train_v = lr, act, train_b, train_v
        self.saves, self.out_W, self.out_b, self.out_v = saves, out_W, out_b, out_v
        self.ptr = 0
        self.step = 0
        self.failed = -1

    def _steps(self, X: np.ndarray, y: np.ndarray, rows: np.ndarray, stride: int, B: int,
               n_steps: int) -> None:
        self.ptr, self.failed = kernels.sgd_steps(
            self.W, self.b, self.v, X, y, rows, stride, B, n_steps, self.step, self.lr,
            self.act, self.train_b, self.train_v, self.saves, self.ptr, self.out_W,
            self.out_b, self.out_v)
        self.step += n_steps

    def online(self, task: Task, rng: np.random.Generator, n: int, B: int,
               steps: int) -> int:
        """Fresh data every step, drawn in whole blocks of steps; returns samples drawn."""
        block = max(1, min(_MAX_BLOCK_STEPS, _BLOCK_NUMBERS // (B * n)))
        rows = np.arange(block * B)
        drawn = 0
        while self.step < steps and self.failed < 0:
            X, y = _draw(task, block * B, rng, n)
            drawn += block * B
            self._steps(X, y, rows, B, B, min(block, steps - self.step))
        return drawn

    def fused(self, task: Task, rng: np.random.Generator, B: int, steps: int) -> int:
        """Online steps with the samples drawn inside the kernel; returns samples drawn."""
        p, pos, neg = fused_parts(task)
        bitgen = rng.bit_generator
        chunk = max(1, _FUSED_SAMPLES // B)
        start = self.step
        while self.step < steps and self.failed < 0:
            n_steps = min(chunk, steps - self.step)
            with bitgen.lock:
                self.ptr, self.failed = fused_sgd_steps(
                    bitgen.ctypes.next_uint64, bitgen.ctypes.state_address,
                    (ZIG_X, ZIG_F, ZIG_R), p, pos, neg, self.W, self.b, self.v, B, n_steps,
                    self.step, self.lr, self.act, self.train_b, self.train_v, self.saves,
                    self.ptr, self.out_W, self.out_b, self.out_v)
            self.step += n_steps
        return (self.step - start) * B

    def cuda(self, task: Task, seed: np.random.SeedSequence, B: int, steps: int) -> int:
        """Fused online steps on the GPU (``rfloc.numerics.gpu``); returns samples drawn."""
        from rfloc.numerics import gpu

        self.ptr, self.failed = gpu.train_steps(
            task, seed, self.W, self.b, self.v, B, steps, self.lr, self.act, self.train_b,
            self.train_v, self.saves, self.out_W, self.out_b, self.out_v)
        done = steps if self.failed < 0 else self.failed
        self.step = done
        return done * B

    def epochs(self, task: Task, rng: np.random.Generator, n: int, B: int, size: int,
               steps: int) -> int:
        """Epochs over one fixed training set, reshuffled each epoch; returns its size."""
        X, y = _draw(task, size, rng, n)
        per_epoch = size // B
        while self.step < steps and self.failed < 0:
            self._steps(X, y, rng.permutation(size), B, B, min(per_epoch, steps - self.step))
        return size

    def full_batch(self, task: Task, rng: np.random.Generator, n: int, size: int,
                   steps: int) -> int:
        """Deterministic gradient descent on one fixed sample; returns its size."""
        X, y = _draw(task, size, rng, n)
        rows = np.arange(size)
        chunk = max(1, _FULL_BATCH_WORK // (size * n * self.W.shape[0]))
        while self.step < steps and self.failed < 0:
            self._steps(X, y, rows, 0, size, min(chunk, steps - self.step))
        return size


def _sampler(sampler: str | None, backend: str, finite_data: bool) -> str:
    """The online sampler, ``"batched"`` or ``"fused"``, checked against ``backend``."""
    if backend not in ("cpu", "cuda"):
        raise ParameterError(f'backend must be "cpu" or "cuda", got {backend!r}')
    if sampler is None:
        sampler = "fused" if backend == "cuda" else "batched"
    if sampler not in ("batched", "fused"):
        raise ParameterError(f'sampler must be "batched" or "fused", got {sampler!r}')
    if sampler == "fused" and finite_data:
        raise ParameterError('sampler="fused" is online SGD: it excludes full_batch and '
                             'train_size')
    if backend == "cuda" and sampler != "fused":
        raise ParameterError('backend="cuda" runs fused online SGD: use sampler="fused"')
    return sampler


def _task_pixels(task: Any) -> int:
    if not callable(getattr(task, "sample", None)) or not hasattr(task, "n"):
        raise ParameterError("task must have an attribute n and a method sample(m, rng) "
                             f"-> (X, y), got {type(task).__name__}")
    return check_int("task.n", task.n, minimum=1)


def _activation_code(activation: str) -> int:
    if not isinstance(activation, str) or activation.lower() not in ACTIVATIONS:
        raise ParameterError(f"activation must be one of {sorted(ACTIVATIONS)}, "
                             f"got {activation!r}")
    return ACTIVATIONS[activation.lower()]


def _bias_mode(bias: bool | str) -> str:
    if isinstance(bias, (bool, str)) and bias in _BIAS_MODES:
        return _BIAS_MODES[bias]
    raise ParameterError(f'bias must be False, "fixed" or "train", got {bias!r}')


def _initial_weights(w0: Any, n: int, init_scale: float | None,
                     init_ss: np.random.SeedSequence) -> tuple[np.ndarray, bool]:
    """``(W (K, N) float64 copy, single)`` from a given array or a Xavier draw."""
    scale = REFERENCE_INIT_SCALE if init_scale is None else init_scale
    if w0 is None:
        return xavier_init(None, n, scale, init_ss)[None, :], True
    if isinstance(w0, (int, np.integer)) and not isinstance(w0, bool):
        return xavier_init(check_int("w0", w0, minimum=1), n, scale, init_ss), False
    if init_scale is not None:
        raise ParameterError("init_scale only applies when w0 is drawn (w0=None or an int K)")
    try:
        W = np.array(w0, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"w0 must be an array of shape (N,) or (K, N), got {w0!r}"
                             ) from None
    if W.ndim not in (1, 2) or W.shape[-1] != n or W.size == 0:
        raise ParameterError(f"w0 must have shape (N,) or (K, N) with N = task.n = {n}, "
                             f"got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ParameterError("w0 must be finite")
    return (W[None, :], True) if W.ndim == 1 else (np.ascontiguousarray(W), False)


def _effective_init_scale(w0: Any, init_scale: float | None) -> float | None:
    if w0 is None or isinstance(w0, (int, np.integer)):
        return REFERENCE_INIT_SCALE if init_scale is None else float(init_scale)
    return None


def _per_neuron(name: str, value: Any, K: int, default: float) -> np.ndarray:
    """A (K,) float64 array from a scalar or (K,) ``value`` (``None`` -> ``default``)."""
    arr = np.full(K, default) if value is None else np.array(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(K, float(arr))
    if arr.shape != (K,) or not np.all(np.isfinite(arr)):
        raise ParameterError(f"{name} must be a finite scalar or an array of shape ({K},), "
                             f"got {value!r}")
    return arr


def _draw(task: Task, m: int, rng: np.random.Generator, n: int) -> tuple[np.ndarray,
                                                                         np.ndarray]:
    """``task.sample(m, rng)`` as C-contiguous float64 ``X`` (m, n) and ``y`` (m,)."""
    X, y = task.sample(m, rng)
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if X.shape != (m, n) or y.shape != (m,):
        raise ParameterError(f"task.sample({m}, rng) must return X of shape ({m}, {n}) and "
                             f"y of shape ({m},), got {X.shape} and {y.shape}")
    return X, y
