"""The public Python API: every ``accelsim`` command has a twin here with the same name.

    wl = load_workload("workloads/mobilenet_v1_0.5_hybrid_a0.375_r1.6.json")
    hw = load_hwconfig("hwconfigs/iso_area_45nm.yaml")
    plan = map_workload(wl, hw)
    bound = estimate(plan, hw)          # analytic model  -> Result
    sim = simulate_plan(plan, hw)       # discrete events -> Result (never beats the bound)

Each section below is owned by one subpackage; this module only re-exports.
"""
from __future__ import annotations

# -- formats (workload, hardware) -------------------------------------------------------------
from accelsim.hw import load_hwconfig, override
from accelsim.workload import load_workload, save_workload, workload_hash

# -- counts, paper model, comparison (foundation) ---------------------------------------------
from accelsim.analytic.allocation import Allocation, allocate, apply_allocation, mac_only
from accelsim.analytic.balance import balance_bound, sequential
from accelsim.compare import compare, paper_table
from accelsim.counts import counts_table as counts
from accelsim.counts import workload_counts
from accelsim.routing import check_compatible

# -- mapping, analytic bound, discrete-event engine --------------------------------------------
from accelsim.analytic.bound import estimate
from accelsim.engine import simulate, simulate_plan
from accelsim.mapping import map_workload

# -- SCALE-Sim interchange ---------------------------------------------------------------------
from accelsim.interop import export_scalesim, export_topology, import_scalesim, import_topology

# -- reference model (torch; imported lazily inside the functions) ----------------------------
from accelsim.reference.entry import BUNDLED, make_workloads, trace
from accelsim.reference.spec import ModelSpec, TorchMissingError, dumps_spec, load_spec

# -- hybrid binary networks: partition, HBN accounting ----------------------------------------
from accelsim.hbn import hbn_counts, hbn_layers, hbn_paper_table
from accelsim.reference.partition import Partition, partition, partition_scores

# -- kernels and verification ------------------------------------------------------------------
from accelsim.verify import LayerCheck, StageCheck, VerifyReport, verify

# -- design-space exploration, plots, report ---------------------------------------------------
from accelsim.dse import (
    AllocationReport, ResultStore, SweepSpec, SweepSummary, allocate_report, load_sweep_spec,
    normalise, pareto, plot_fraction, plot_gantt, plot_layers, plot_pareto, sweep,
)
from accelsim.results.report import Report, report

__all__ = [name for name in dir() if not name.startswith("_") and name != "annotations"]
