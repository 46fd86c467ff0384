"""Evaluate sweep points into store rows, one point at a time (:func:`evaluate_point`).

A :class:`Task` is what a worker process (or Dask worker) runs: it carries its workload and base
config (no file access on the worker) and a batch of points, and comes back as one row per point
(see :data:`accelsim.dse.store.COLUMNS`). Tasks of op-count points whose swept fields are all
:func:`vectorisable` are evaluated many points at a time by :mod:`accelsim.dse.vector` instead
(:func:`accelsim.dse.sweep.evaluate_task` chooses). A point that cannot be evaluated (an invalid
config combination, a unit class the workload needs but the split leaves empty) gives a row whose
``error`` says why, so it is finished and not retried.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from accelsim import __version__
from accelsim.choices import NO_SCHEDULE, SchedulePolicy
from accelsim.dse.points import Point, resolve_config
from accelsim.dse.spec import BINARY_FRACTION, MAC_FRACTION
from accelsim.dse.store import COLUMN_NAMES
from accelsim.errors import AccelsimError, InputError
from accelsim.evaluate import evaluate
from accelsim.hw.config import HardwareConfig
from accelsim.hw.load import canonical_json, hwconfig_to_dict, text_hash
from accelsim.workload.schema import Workload

_E = TypeVar("_E", float, np.ndarray)


@dataclass(frozen=True)
class Task:
    """A batch of points sharing a workload and a base config (``vectorised``: op-count engine
    and only fields :func:`vectorisable` accepts, evaluated by :mod:`accelsim.dse.vector`)."""

    hw: HardwareConfig
    hw_hash: str
    workload: Workload
    workload_hash: str
    points: tuple[Point, ...]
    vectorised: bool = False


def rows_to_columns(rows: list[dict]) -> dict[str, list]:
    """Row dicts -> column lists (every column of the store, in order)."""
    return {c: [r[c] for r in rows] for c in COLUMN_NAMES}


def evaluate_point(task: Task, point: Point) -> dict:
    """The row of one point, computed by the scalar models."""
    try:
        cfg = resolve_config(task.hw, point.params, f"point {point.key}")
    except InputError as exc:
        text = ""  # an invalid point has no config
        return make_row(task, point, config_text=text, counts=None, clock_mhz=math.nan,
                        area_budget_um2=math.nan, compute_area_um2=math.nan, cycles=math.nan,
                        energy=None, error=_one_line(exc))
    text = canonical_json(hwconfig_to_dict(cfg))
    budget = _nan_if_none(cfg.area_budget_um2)
    try:
        res = evaluate(point.engine, task.workload, cfg,
                       schedule=point.schedule if point.schedule != NO_SCHEDULE else
                       SchedulePolicy.SEQUENTIAL, zero_skip=point.zero_skip)
    except AccelsimError as exc:   # incompatible workload, or the engine stopped progressing
        return make_row(task, point, config_text=text, counts=cfg.counts,
                        clock_mhz=cfg.clock_mhz, area_budget_um2=budget,
                        compute_area_um2=cfg.compute_area_um2, cycles=math.nan, energy=None,
                        error=_one_line(exc))
    energy = {k: float(v) for k, v in res.energy_pj.items()}
    return make_row(task, point, config_text=text, counts=cfg.counts, clock_mhz=cfg.clock_mhz,
                    area_budget_um2=budget, compute_area_um2=cfg.compute_area_um2,
                    cycles=float(res.cycles), energy=energy, error="")


def make_row(task: Task, point: Point, *, config_text: str, counts: Mapping[str, int] | None,
             clock_mhz: float, area_budget_um2: float, compute_area_um2: float, cycles: float,
             energy: Mapping[str, float] | None, error: str) -> dict:
    """One store row (every column of :data:`accelsim.dse.store.COLUMNS`)."""
    ok = not error and math.isfinite(cycles)
    latency = cycles / (clock_mhz * 1e6) if ok else math.nan
    energy = dict(energy or {})
    counts = counts if not error else None  # an invalid point has no unit counts
    return {
        "key": point.key, "hw": task.hw.name, "base_hw_hash": task.hw_hash,
        "hw_hash": text_hash(config_text) if config_text else "",
        "workload": task.workload.name, "workload_hash": task.workload_hash,
        "engine": point.engine, "schedule": point.schedule, "zero_skip": point.zero_skip,
        "params_json": point.params_json,
        "mac_units": int(counts["mac"]) if counts else None,
        "adder_units": int(counts["add"]) if counts else None,
        "multiplier_units": int(counts["mul"]) if counts else None,
        "binary_units": int(counts.get("xnor", 0)) if counts else None,
        "compute_area_um2": float(compute_area_um2), "area_budget_um2": float(area_budget_um2),
        "clock_mhz": float(clock_mhz), "cycles": float(cycles) if ok else math.nan,
        "latency_s": latency,
        "inferences_per_s": (1.0 / latency if latency > 0 else math.inf) if ok else math.nan,
        **energy_columns(energy if ok else None),
        "error": error, "accelsim_version": __version__, "config_json": config_text,
    }


#: Energy columns of a row and the components (of :func:`accelsim.results.energy.layer_energy`)
#: each one sums; anything else lands in ``energy_other_pj``.
ENERGY_COLUMNS = ("energy_mac_pj", "energy_add_pj", "energy_mul_pj", "energy_xnor_pj",
                  "energy_sram_pj", "energy_dram_pj", "energy_leakage_pj", "energy_other_pj")


def energy_columns(energy: Mapping[str, float] | None) -> dict[str, float]:
    """Energy components (pJ) folded into the fixed columns of a store row, and their total
    ``energy_pj`` (NaN if none): the sum of the components in their order, which is
    :attr:`accelsim.results.records.Result.total_energy_pj` to the last bit (the vectorised
    path, which has no component order, sums the columns: equal within rounding)."""
    if energy is None:
        return {"energy_pj": math.nan, **dict.fromkeys(ENERGY_COLUMNS, math.nan)}
    out = dict.fromkeys(ENERGY_COLUMNS, 0.0)
    for name in sorted(energy):
        col = f"energy_{name}_pj"
        if name.startswith("sram_"):
            col = "energy_sram_pj"
        elif col not in out:
            col = "energy_other_pj"
        out[col] += energy[name]
    return {"energy_pj": float(sum(energy.values())), **out}


def total_energy(parts: Sequence[_E]) -> _E:
    """Sum of the energy columns in :data:`ENERGY_COLUMNS` order (floats or numpy arrays)."""
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


#: Fields the array path evaluates (op-count engines ignore memory and timing fields entirely).
_VECTOR_TOP = ("area_budget_um2", "clock_mhz", "name", "description", MAC_FRACTION,
               BINARY_FRACTION, "binary_array.lanes", "binary_array.latency_cycles",
               "mac_array.rows", "mac_array.cols", "mac_array.dataflow",
               "mac_array.pipeline_latency_cycles", "adder_array.count",
               "adder_array.tree_width", "adder_array.latency_cycles",
               "multiplier_array.count", "multiplier_array.latency_cycles",
               "dram.bandwidth_bytes_per_cycle", "dram.latency_cycles", "dram.energy_pj_per_byte")
_VECTOR_UNIT = ("area_um2", "energy_pj_per_op", "leakage_uw", "source")
_VECTOR_BUFFER = ("size_kib", "bandwidth_bytes_per_cycle", "read_energy_pj_per_byte",
                  "write_energy_pj_per_byte", "double_buffered", "leakage_uw")


def vectorisable(field: str) -> bool:
    """Whether the array path handles a swept field (else points run one at a time)."""
    parts = field.split(".")
    if field in _VECTOR_TOP:
        return True
    if len(parts) == 3 and parts[0] == "units":
        return parts[2] in _VECTOR_UNIT
    if len(parts) == 3 and parts[0] == "buffers":
        return parts[2] in _VECTOR_BUFFER
    return False


def _one_line(exc: Exception) -> str:
    return "; ".join(str(exc).splitlines())


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else float(value)


def group_params(points: Sequence[Point]) -> dict[str, list[Any]]:
    """Axis values by field over ``points`` (all points of a task share their fields)."""
    if not points:
        return {}
    return {f: [dict(p.params)[f] for p in points] for f, _ in points[0].params}
