"""The public Python API: every ``accelsim`` command has a twin here with the same name.

    wl = load_workload("workloads/mobilenet_v1_0.5_hybrid_a0.375_r1.6.json")
    hw = load_hwconfig("hwconfigs/iso_area_45nm.yaml")
    sim = evaluate("des", wl, hw)             # any model -> Result
    plan = map_workload(wl, hw)               # or step by step:
    bound = estimate(plan, hw)                # analytic bound    -> Result
    sim = simulate_plan(plan, hw)             # discrete events   -> Result (never beats the bound)

It re-exports the formats (workload, hw), the closed sets (choices), the models and the one
entry point (evaluate), the mapping and engine, interchange (interop), the reference model and
its verification, design-space exploration (dse) and the paper's study (study); each is owned by
its subpackage. ``simulate`` is the only function defined here.

Like the commands, every function takes a workload (``wl``, ``workload``, ``baseline``,
``workloads``) or a config (``hw``) either loaded or as a file path: ``simulate("wl.json",
"hw.yaml")`` works, and a bad file raises the same one-line :class:`~accelsim.errors.InputError`
the command prints (:func:`accelsim.workload.load.as_workload`,
:func:`accelsim.hw.load.as_hwconfig`).
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from accelsim.analytic.allocation import Allocation, allocate
from accelsim.analytic.bound import estimate
from accelsim.analytic.opcount import balance, sequential
from accelsim.analytic.paper import balance_bound
from accelsim.choices import (
    FusionPolicy,
    MappingObjective,
    MemoryPolicy,
    Model,
    Objective,
    SchedulePolicy,
)
from accelsim.conventions import AccountingConvention, load_convention
from accelsim.counts import Convention, counted, workload_counts
from accelsim.counts import counts_table as counts
from accelsim.dse import (
    AllocationReport,
    ResultStore,
    SweepSpec,
    SweepSummary,
    allocate_report,
    load_sweep_spec,
    normalise_rows,
    pareto,
    sweep,
)
from accelsim.engine import simulate_plan
from accelsim.evaluate import Normalised, Reference, evaluate, normalise, reference
from accelsim.hbn import hbn_counts, hbn_layers, hbn_paper_table
from accelsim.hw import HardwareConfig, load_hwconfig, override
from accelsim.hw.load import as_hwconfig
from accelsim.hw.rules import mac_only, with_counts
from accelsim.interop import export_scalesim, export_topology, import_scalesim, import_topology
from accelsim.mapping import map_workload
from accelsim.reference.entry import BUNDLED, make_workloads, trace
from accelsim.reference.partition import Partition, partition, partition_scores
from accelsim.reference.spec import ModelSpec, TorchMissingError, dumps_spec, load_spec
from accelsim.reference.training_entry import (
    EpochRecord,
    Phase,
    TrainConfig,
    TrainResult,
    default_phases,
    rediscover_strassen,
    sensitivity,
    trace_checkpoint,
    train,
)
from accelsim.results.records import LayerRecord, Result
from accelsim.routing import check_compatible
from accelsim.study.compare import compare, paper_table
from accelsim.study.figures import (
    plot_fraction,
    plot_gantt,
    plot_layers,
    plot_pareto,
    plot_sensitivity,
)
from accelsim.study.report import Report, report
from accelsim.study.tinyml import TinymlTable, tinyml_table
from accelsim.verify import LayerCheck, StageCheck, VerifyReport, verify
from accelsim.workload import Workload, load_workload, save_workload, workload_hash
from accelsim.workload.accuracy import workload_accuracy
from accelsim.workload.load import as_workload

_F = TypeVar("_F", bound=Callable[..., Any])
#: Argument names that hold a workload or a config, and how a path becomes one.
_LOADERS: dict[str, Callable[[Any, str], Any]] = {
    "wl": as_workload, "workload": as_workload, "baseline": as_workload, "hw": as_hwconfig,
    "workloads": lambda values, field: [as_workload(v, field) for v in values]}


def _files(fn: _F) -> _F:
    """``fn`` taking each workload / config argument (:data:`_LOADERS`) loaded or as a path."""
    sig = inspect.signature(fn)
    names = [n for n in sig.parameters if n in _LOADERS]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = sig.bind_partial(*args, **kwargs)
        for name in names:
            if bound.arguments.get(name) is not None:
                bound.arguments[name] = _LOADERS[name](bound.arguments[name], name)
        return fn(*bound.args, **bound.kwargs)

    return cast(_F, wrapper)


allocate, allocate_report, balance = _files(allocate), _files(allocate_report), _files(balance)
balance_bound, check_compatible = _files(balance_bound), _files(check_compatible)
compare, counted, counts = _files(compare), _files(counted), _files(counts)
evaluate, export_topology = _files(evaluate), _files(export_topology)
hbn_counts, hbn_layers = _files(hbn_counts), _files(hbn_layers)
mac_only, map_workload, normalise_rows = _files(mac_only), _files(map_workload), \
    _files(normalise_rows)
estimate, simulate_plan = _files(estimate), _files(simulate_plan)
override, pareto, paper_table = _files(override), _files(pareto), _files(paper_table)
plot_fraction, plot_layers, plot_pareto = _files(plot_fraction), _files(plot_layers), \
    _files(plot_pareto)
reference, sequential, tinyml_table = _files(reference), _files(sequential), _files(tinyml_table)
with_counts, workload_counts = _files(with_counts), _files(workload_counts)
workload_accuracy, workload_hash = _files(workload_accuracy), _files(workload_hash)


@_files
def simulate(wl: Workload, hw: HardwareConfig, engine: Model | str = Model.DES,
             schedule: SchedulePolicy | str = SchedulePolicy.SEQUENTIAL,
             zero_skip: bool = False, *, timeline: str | Path | None = None,
             memory: MemoryPolicy | str | None = None,
             mapping_objective: MappingObjective | str | None = None,
             fusion: FusionPolicy | str | None = None) -> Result:
    """The ``accelsim simulate`` twin: :func:`evaluate` with the command's argument order;
    ``memory`` / ``mapping_objective`` / ``fusion`` replace the config's ``mapping.memory`` /
    ``mapping.objective`` / ``mapping.fusion`` for this run."""
    changes = {k: v for k, v in (("mapping.memory", memory),
                                 ("mapping.objective", mapping_objective),
                                 ("mapping.fusion", fusion)) if v is not None}
    if changes:
        hw = override(hw, changes)
    return evaluate(engine, wl, hw, schedule=schedule, zero_skip=zero_skip, timeline=timeline)


__all__ = [
    "dumps_spec", "hbn_counts", "hbn_layers", "hbn_paper_table", "load_spec", "Partition",
    "partition", "partition_scores",
    "default_phases", "EpochRecord", "Phase", "plot_sensitivity", "rediscover_strassen",
    "sensitivity", "trace_checkpoint", "train", "TrainConfig", "TrainResult", "workload_accuracy",
    "allocate", "allocate_report", "Allocation", "AllocationReport", "balance", "balance_bound",
    "AccountingConvention", "BUNDLED", "check_compatible", "compare", "Convention", "counted",
    "counts", "estimate", "evaluate", "load_convention",
    "export_scalesim", "export_topology", "HardwareConfig", "import_scalesim", "import_topology",
    "LayerCheck", "LayerRecord", "load_hwconfig", "load_sweep_spec", "load_workload", "mac_only",
    "make_workloads", "map_workload", "FusionPolicy", "MemoryPolicy", "Model", "ModelSpec",
    "normalise", "normalise_rows",
    "MappingObjective", "Normalised", "Objective", "override", "paper_table", "pareto",
    "plot_fraction", "plot_gantt",
    "plot_layers", "plot_pareto", "Reference", "reference", "report", "Report", "Result",
    "ResultStore", "save_workload", "SchedulePolicy", "sequential", "simulate", "simulate_plan",
    "StageCheck", "sweep", "SweepSpec", "SweepSummary", "TinymlTable", "tinyml_table",
    "TorchMissingError", "trace", "verify",
    "VerifyReport", "with_counts", "Workload", "workload_counts", "workload_hash",
]
