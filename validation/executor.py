"""Running many independent tasks: local pool or Dask, resumable, atomic, with progress.

Every experiment is a list of :class:`Task` objects (a key, a module-level function and
JSON-able keyword arguments). :func:`run_tasks` skips tasks whose result file already
exists, submits the rest to a ``concurrent.futures.Executor`` and writes each result the
moment it arrives (atomically, :mod:`rfloc.io`), so an interrupted run loses nothing that
finished and a re-run resumes. Seeds live inside the task arguments (spawned up front with
``SeedSequence``), so results do not depend on which worker ran what.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from rfloc import io
from rfloc.errors import ParameterError, RflocError, check_int

__all__ = ["SerialExecutor", "Task", "TaskStore", "check_out_dir", "check_scheduler",
           "make_executor", "run_tasks"]

_SCHEDULER = re.compile(
    r"^(inproc://\S+|((tcp|tls|ucx|ws|wss)://)?[A-Za-z0-9_.\-\[\]:]+:[0-9]{1,5})$")


def check_out_dir(path: str | os.PathLike) -> Path:
    """``path`` as a folder that exists (created if needed) and is writable.

    Checked before any computation, so a bad ``--out`` fails at once.

    Raises
    ------
    ParameterError
        An empty path, an existing file, or a folder that cannot be created or written.
    """
    if not str(path).strip():
        raise ParameterError("out must be a folder path, got an empty string")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"out must be a folder, but {str(folder)!r} is a file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ParameterError(f"out folder {str(folder)!r} is not writable: "
                             f"{exc.strerror or exc}") from None
    return folder


def check_scheduler(address: str) -> str:
    """``address`` if it looks like a Dask scheduler address (``[tcp://]HOST:PORT``)."""
    if not _SCHEDULER.match(address):
        raise ParameterError(f"scheduler must be an address like tcp://HOST:8786, "
                             f"got {address!r}")
    return address


class SerialExecutor(Executor):
    """Runs each submitted call immediately in the calling process (``--workers 1``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            if isinstance(exc, KeyboardInterrupt):
                raise
            fut.set_exception(exc)
        return fut


@dataclass(frozen=True)
class Task:
    """One unit of work: ``fn(**kwargs)`` must return a JSON-serialisable dict."""

    name: str
    fn: Callable[..., dict]
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """``name`` plus a hash of the arguments: changed parameters never reuse results."""
        blob = json.dumps(self.kwargs, sort_keys=True, default=str).encode()
        return f"{self.name}-{hashlib.sha1(blob).hexdigest()[:12]}"


class TaskStore:
    """A folder of finished task results, one JSON file per task key."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """File holding the result of ``key``."""
        return self.root / f"{key}.json"

    def has(self, key: str) -> bool:
        """True when ``key`` finished in an earlier or the current run and its file reads
        back; a file that does not (truncated, corrupt) is set aside as ``*.bad`` with a
        warning naming it, so the task runs again."""
        path = self.path(key)
        if not path.exists():
            return False
        try:
            io.read_json(path)
        except (ValueError, UnicodeDecodeError) as exc:
            bad = path.with_suffix(".json.bad")
            os.replace(path, bad)
            warnings.warn(f"stored task result {str(path)!r} is unreadable ({exc}); moved to "
                          f"{bad.name} and recomputing", RuntimeWarning, stacklevel=2)
            return False
        return True

    def load(self, key: str) -> dict:
        """The stored result of ``key``."""
        return io.read_json(self.path(key))

    def save(self, key: str, result: dict) -> None:
        """Store ``result`` atomically."""
        io.write_json(self.path(key), result)


@contextmanager
def make_executor(workers: int | None = None, scheduler: str | None = None
                  ) -> Iterator[Executor]:
    """An executor for :func:`run_tasks`, closed on exit.

    Parameters
    ----------
    workers : int, optional
        Local processes (default: the machine's core count); 1 runs tasks inline.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://HOST:PORT``); needs
        ``pip install rfloc[distributed]``. Exclusive with ``workers``.
    """
    if scheduler is not None:
        if workers is not None:
            raise ParameterError("give either workers or scheduler, not both")
        check_scheduler(scheduler)
        try:
            from distributed import Client
        except ImportError:
            raise ParameterError("scheduler needs dask.distributed: "
                                 "pip install 'rfloc[distributed]'") from None
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise RflocError(f"scheduler {scheduler!r} is unreachable: {exc}") from None
        try:
            yield client.get_executor()
        finally:
            client.close()
        return
    if workers is None:
        workers = multiprocessing.cpu_count()
    workers = check_int("workers", workers, minimum=1)
    if workers == 1:
        yield SerialExecutor()
        return
    pool = ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_tasks(tasks: Sequence[Task], store: TaskStore, executor: Executor | None = None, *,
              progress: bool = True, desc: str = "tasks") -> dict[str, dict]:
    """Run every task not yet in ``store``; return ``{key: result}`` for all tasks.

    Results are saved as they complete. On ``KeyboardInterrupt`` pending tasks are
    cancelled and the interrupt propagates; everything already finished stays on disk.
    """
    todo = [t for t in tasks if not store.has(t.key)]
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ParameterError("tasks must have distinct arguments (duplicate task keys)")
    if todo:
        ex = executor if executor is not None else SerialExecutor()
        bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=desc,
                   disable=not progress, leave=False)
        futures: dict[Future, Task] = {}
        try:
            if isinstance(ex, SerialExecutor):       # inline: save each as it finishes
                for t in todo:
                    store.save(t.key, t.fn(**t.kwargs))
                    bar.update(1)
            else:
                for t in todo:
                    futures[ex.submit(t.fn, **t.kwargs)] = t
                for fut in as_completed(futures):
                    store.save(futures[fut].key, fut.result())
                    bar.update(1)
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        finally:
            bar.close()
    return {k: store.load(k) for k in keys}
