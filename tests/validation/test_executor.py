"""Resumable, atomic task running on inline, process-pool and Dask executors."""

import json
import sys
from pathlib import Path

import pytest

from rfloc.errors import ParameterError, RflocError
from rfloc.validation import Task, TaskStore, make_executor, run_tasks

sys.path.insert(0, str(Path(__file__).parent))
import _jobs


def _tasks(log, n=5):
    return [Task("sq", _jobs.square, {"x": i, "log": str(log)}) for i in range(n)]


def test_results_are_stored_and_a_rerun_resumes(tmp_path):
    log = tmp_path / "calls.txt"
    store = TaskStore(tmp_path / "store")
    res = run_tasks(_tasks(log), store, progress=False)
    assert [res[t.key]["y"] for t in _tasks(log)] == [0, 1, 4, 9, 16]
    assert sorted(_jobs.calls(log)) == [0, 1, 2, 3, 4]
    run_tasks(_tasks(log, 7), store, progress=False)      # only the two new ones run
    assert sorted(_jobs.calls(log)) == [0, 1, 2, 3, 4, 5, 6]
    files = sorted(p.name for p in (tmp_path / "store").iterdir())
    assert len(files) == 7 and all(f.endswith(".json") for f in files)
    json.loads((tmp_path / "store" / files[0]).read_text())


def test_changed_arguments_never_reuse_results():
    a = Task("t", _jobs.square, {"x": 1, "log": "a"})
    b = Task("t", _jobs.square, {"x": 2, "log": "a"})
    assert a.key != b.key and a.key == Task("t", _jobs.square, {"log": "a", "x": 1}).key
    with pytest.raises(ParameterError, match="distinct"):
        run_tasks([a, a], TaskStore("unused"), progress=False)


def test_interrupt_keeps_finished_tasks(tmp_path):
    log = tmp_path / "calls.txt"
    store = TaskStore(tmp_path / "store")
    tasks = [Task("i", _jobs.interrupt_at, {"x": i, "stop": 3, "log": str(log)})
             for i in range(6)]
    with pytest.raises(KeyboardInterrupt):
        run_tasks(tasks, store, progress=False)
    assert [store.has(t.key) for t in tasks] == [True, True, True, False, False, False]
    assert not list((tmp_path / "store").glob(".*"))     # no temporary files left behind


def test_process_pool_gives_the_same_results(tmp_path):
    serial = run_tasks(_tasks(tmp_path / "a.txt"), TaskStore(tmp_path / "s"), progress=False)
    with make_executor(2) as ex:
        pooled = run_tasks(_tasks(tmp_path / "a.txt"), TaskStore(tmp_path / "p"), ex,
                           progress=False)
    assert [v["y"] for v in serial.values()] == [v["y"] for v in pooled.values()]


def test_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        with make_executor(scheduler=cluster.scheduler_address) as ex:
            res = run_tasks(_tasks(tmp_path / "d.txt"), TaskStore(tmp_path / "d"), ex,
                            progress=False)
    assert sorted(v["y"] for v in res.values()) == [0, 1, 4, 9, 16]


def test_executor_arguments_are_validated():
    with pytest.raises(ParameterError, match="workers"):
        with make_executor(0):
            pass
    with pytest.raises(ParameterError, match="either workers or scheduler"):
        with make_executor(2, "tcp://127.0.0.1:1"):
            pass
    with pytest.raises(RflocError, match="unreachable"):
        with make_executor(scheduler="tcp://127.0.0.1:1"):
            pass


def test_a_truncated_task_file_is_set_aside_and_recomputed(tmp_path):
    log = tmp_path / "calls.txt"
    store = TaskStore(tmp_path / "store")
    tasks = _tasks(log, 2)
    run_tasks(tasks, store, progress=False)
    path = store.path(tasks[1].key)
    path.write_text(path.read_text()[:5])                # e.g. a disk that filled up
    with pytest.warns(RuntimeWarning, match=path.name):
        out = run_tasks(tasks, store, progress=False)
    assert out[tasks[1].key]["y"] == 1
    assert sorted(_jobs.calls(log)) == [0, 1, 1]         # only the broken one reran
    assert path.with_suffix(".json.bad").exists()
