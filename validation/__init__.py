"""Theory against simulation: peak comparisons, kurtosis sweeps, controls, reports.

>>> from rfloc.validation import run
>>> run("ising", "rfloc-results", quick=True)          # doctest: +SKIP
"""

from rfloc.validation.executor import SerialExecutor, Task, TaskStore, make_executor, run_tasks
from rfloc.validation.experiments import (
    EXPERIMENTS,
    IprPoint,
    PeakRegime,
    compare_peaks,
    kurtosis_sweep,
    run,
)

__all__ = [
    "EXPERIMENTS",
    "IprPoint",
    "PeakRegime",
    "SerialExecutor",
    "Task",
    "TaskStore",
    "compare_peaks",
    "kurtosis_sweep",
    "make_executor",
    "run",
    "run_tasks",
]
