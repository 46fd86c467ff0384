"""Design-space exploration: MAC:adder allocation, resumable sweeps, Pareto fronts, figures.

    spec = load_sweep_spec("sweeps/mobilenet_split.yaml")
    summary = sweep(spec, "results/split", jobs=2)        # crash-safe, resumable store
    front = pareto("results/split", baseline=load_workload("workloads/..._baseline.json"))
    plot_fraction("results/split", "fraction.png", baseline=...)
"""
from accelsim.dse.allocate import AllocationReport, Choice, allocate_report, des_search
from accelsim.dse.figures import (
    plot_fraction, plot_gantt, plot_layers, plot_pareto, published_points, store_frame,
)
from accelsim.dse.normalise import normalise
from accelsim.dse.pareto import pareto, pareto_mask
from accelsim.dse.spec import Axis, SweepSpec, SweepSpecError, load_sweep_spec, sweep_spec_from_dict
from accelsim.dse.store import ResultStore, StoreError
from accelsim.dse.sweep import SweepSummary, sweep

__all__ = [
    "AllocationReport", "Axis", "Choice", "ResultStore", "StoreError", "SweepSpec",
    "SweepSpecError", "SweepSummary", "allocate_report", "des_search", "load_sweep_spec",
    "normalise", "pareto", "pareto_mask", "plot_fraction", "plot_gantt", "plot_layers",
    "plot_pareto", "published_points", "store_frame", "sweep", "sweep_spec_from_dict",
]
