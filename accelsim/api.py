"""The public Python API: every ``accelsim`` command has a twin here with the same name.

    wl = load_workload("workloads/mobilenet_v1_0.5_hybrid_a0.375_r1.6.json")
    hw = load_hwconfig("hwconfigs/iso_area_45nm.yaml")
    sim = evaluate("des", wl, hw)             # any model -> Result
    plan = map_workload(wl, hw)               # or step by step:
    bound = estimate(plan, hw)                # analytic bound    -> Result
    sim = simulate_plan(plan, hw)             # discrete events   -> Result (never beats the bound)

Each section below is owned by one subpackage; this module only re-exports.
"""
from __future__ import annotations

from pathlib import Path

# -- formats (workload, hardware) and closed sets ----------------------------------------------
from accelsim.choices import Model, Objective, SchedulePolicy
from accelsim.hw import HardwareConfig, load_hwconfig, override
from accelsim.hw.rules import mac_only, with_counts
from accelsim.results.records import LayerRecord, Result
from accelsim.workload import Workload, load_workload, save_workload, workload_hash

# -- counts, op-count models, allocation --------------------------------------------------------
from accelsim.analytic.allocation import Allocation, allocate
from accelsim.analytic.opcount import balance, sequential
from accelsim.analytic.paper import balance_bound
from accelsim.counts import Convention
from accelsim.counts import counts_table as counts
from accelsim.counts import workload_counts
from accelsim.routing import check_compatible

# -- mapping, analytic bound, discrete-event engine, one entry point ----------------------------
from accelsim.analytic.bound import estimate
from accelsim.engine import simulate_plan
from accelsim.evaluate import Normalised, Reference, evaluate, normalise, reference
from accelsim.mapping import map_workload

# -- SCALE-Sim interchange ---------------------------------------------------------------------
from accelsim.interop import export_scalesim, export_topology, import_scalesim, import_topology

# -- reference model (torch; imported lazily inside the functions) ----------------------------
from accelsim.reference.entry import BUNDLED, make_workloads, trace
from accelsim.reference.spec import ModelSpec, TorchMissingError

# -- kernels and verification ------------------------------------------------------------------
from accelsim.verify import LayerCheck, StageCheck, VerifyReport, verify

# -- design-space exploration ------------------------------------------------------------------
from accelsim.dse import (
    AllocationReport, ResultStore, SweepSpec, SweepSummary, allocate_report, load_sweep_spec,
    normalise_rows, pareto, sweep,
)

# -- the paper's study: comparison, report, figure recipes --------------------------------------
from accelsim.study.compare import compare, paper_table
from accelsim.study.figures import plot_fraction, plot_gantt, plot_layers, plot_pareto
from accelsim.study.report import Report, report


def simulate(wl: Workload, hw: HardwareConfig, engine: Model | str = Model.DES,
             schedule: SchedulePolicy | str = SchedulePolicy.SEQUENTIAL,
             zero_skip: bool = False, *, timeline: str | Path | None = None) -> Result:
    """The ``accelsim simulate`` twin: :func:`evaluate` with the command's argument order."""
    return evaluate(engine, wl, hw, schedule=schedule, zero_skip=zero_skip, timeline=timeline)

__all__ = [name for name in dir() if not name.startswith("_") and name != "annotations"]
