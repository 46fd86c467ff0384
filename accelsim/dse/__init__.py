"""Design-space exploration: MAC:adder allocation, resumable sweeps, Pareto fronts.

    spec = load_sweep_spec("examples/sweep_split.yaml")
    summary = sweep(spec, "results/split_store", jobs=2)   # crash-safe, resumable store
    front = pareto("results/split_store", baseline=load_workload("workloads/..._baseline.json"))
"""
from accelsim.dse.allocate import AllocationReport, Choice, allocate_report, des_search
from accelsim.dse.normalise import normalise_rows
from accelsim.dse.pareto import pareto
from accelsim.dse.spec import Axis, SweepSpec, SweepSpecError, load_sweep_spec, sweep_spec_from_dict
from accelsim.dse.store import ResultStore, StoreError, store_frame
from accelsim.dse.sweep import SweepSummary, sweep

__all__ = [
    "AllocationReport", "Axis", "Choice", "ResultStore", "StoreError", "SweepSpec",
    "SweepSpecError", "SweepSummary", "allocate_report", "des_search", "load_sweep_spec",
    "normalise_rows", "pareto", "store_frame", "sweep", "sweep_spec_from_dict",
]
