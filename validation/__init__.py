"""Theory against simulation: experiment specs, protocols, typed results and reports.

>>> from rfloc.validation import catalog, run_spec
>>> spec = catalog.get("ising").resolve("quick")
>>> run_spec(spec, "rfloc-results")                     # doctest: +SKIP
"""

from rfloc.validation import catalog
from rfloc.validation.executor import SerialExecutor, Task, TaskStore, make_executor, run_tasks
from rfloc.validation.experiments import (
    EXPERIMENTS,
    IprPoint,
    PeakRegime,
    compare_peaks,
    kurtosis_sweep,
    run,
)
from rfloc.validation.results import Results
from rfloc.validation.runner import run_spec
from rfloc.validation.spec import Spec, SpecError, dump, load

__all__ = [
    "EXPERIMENTS",
    "IprPoint",
    "PeakRegime",
    "Results",
    "SerialExecutor",
    "Spec",
    "SpecError",
    "Task",
    "TaskStore",
    "catalog",
    "compare_peaks",
    "dump",
    "kurtosis_sweep",
    "load",
    "make_executor",
    "run",
    "run_spec",
    "run_tasks",
]
