"""The array path of a sweep: many points of an op-count engine evaluated at once with numpy.

For a task whose axes are all :func:`~accelsim.dse.tasks.vectorisable`, every point's unit
counts, energies per operation, leakage and clock are built as arrays, the config checks that can
differ between points (area within the budget, rows and columns both zero or both positive,
units present for every count, every needed class populated) are evaluated as masks, and the
models of :mod:`accelsim.analytic.opcount` run on all valid points together. The resolved config
JSON of each point is rendered from a template of the base config with one slot per varying field.
Points that fail a check, or whose axis value fails the config loader on its own, are evaluated
one at a time by :func:`~accelsim.dse.tasks.evaluate_point`, which produces the same error row
the loader would. Tests check that both paths give the same rows (energies within rounding).
"""
from __future__ import annotations

import copy
import itertools
import json
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from accelsim import __version__
from accelsim.analytic.opcount import OpcountTables, evaluate_counts, feasible, opcount_tables
from accelsim.choices import Model
from accelsim.dse.points import canonical_value, split_inputs
from accelsim.dse.spec import BINARY_FRACTION, FRACTIONS, MAC_FRACTION
from accelsim.dse.store import COLUMN_NAMES
from accelsim.dse.tasks import (
    ENERGY_COLUMNS,
    Task,
    evaluate_point,
    group_params,
    rows_to_columns,
    total_energy,
)
from accelsim.errors import ConfigError, InputError
from accelsim.hw.config import HardwareConfig, unit_sum
from accelsim.hw.load import hwconfig_to_dict, text_hash
from accelsim.hw.rules import DEFAULT_COLS, leakage_power, split_area3, within_budget
from accelsim.hw.schema import replace_field
from accelsim.limits import NUMBER

_SLOT = "@@accelsim-slot-{}@@"
_SLOT_RE = re.compile(r'"@@accelsim-slot-(\d+)@@"')
_ARRAY_UNITS = ("mac", "add", "mul", "xnor")


def evaluate_vectorised(task: Task) -> dict[str, list]:
    """Columns for every point of an op-count ``task`` (the same values as the scalar path)."""
    points = task.points
    if not points:
        return rows_to_columns([])
    engine, zero_skip = points[0].engine, points[0].zero_skip
    if any(p.engine != engine or p.zero_skip != zero_skip for p in points):
        raise ValueError("a vectorised task needs one engine and one zero_skip value")
    doc = hwconfig_to_dict(task.hw)
    vals = group_params(points)
    n = len(points)
    ok = np.ones(n, dtype=bool)
    for field, values in vals.items():
        ok &= _values_ok(task.hw, field, values)
    try:
        t = opcount_tables(task.workload, task.hw, zero_skip=zero_skip)
        arr = _arrays(task.hw, doc, vals, n, t.units)
    except InputError:
        return rows_to_columns([evaluate_point(task, p) for p in points])
    ok &= arr.pop("valid")
    ok &= feasible(t, arr["counts"])
    idx = np.flatnonzero(ok)
    cycles, comps = _results(t, engine, arr, idx)
    good = _finite(cycles, comps, arr["clock"][idx])
    if not good.all():  # the scalar path's result rule: those points report why there
        ok[idx[~good]] = False
        idx, cycles = idx[good], cycles[good]
        comps = {k: v[good] for k, v in comps.items()}
    cols = _columns(task, arr, idx, cycles, comps,
                    _render(doc, vals, arr, idx) if len(idx) else [])
    if len(idx) == n:
        return cols
    # points failing a check: the scalar path writes the error row the loader/models give
    out = {c: [None] * n for c in COLUMN_NAMES}
    for c in COLUMN_NAMES:
        for j, i in enumerate(idx):
            out[c][i] = cols[c][j]
    for i in np.flatnonzero(~ok):
        row = evaluate_point(task, points[i])
        for c in COLUMN_NAMES:
            out[c][i] = row[c]
    return out


def _results(t: OpcountTables, engine: Model, arr: dict, idx: np.ndarray
             ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Cycles and energy components of the points ``idx``."""
    with np.errstate(all="ignore"):
        return evaluate_counts(t, engine, arr["counts"][idx], arr["energy"][idx],
                               arr["leak"][idx], arr["clock"][idx])


def _finite(cycles: np.ndarray, comps: dict[str, np.ndarray], clock: np.ndarray) -> np.ndarray:
    """[M] bool: cycles, latency and energies finite and cycles within
    :data:`accelsim.limits.NUMBER` (the scalar path's result rule,
    :func:`accelsim.evaluate.check_result`)."""
    with np.errstate(all="ignore"):
        good = np.isfinite(cycles) & (cycles <= NUMBER) & np.isfinite(cycles / (clock * 1e6))
        for v in comps.values():
            good &= np.isfinite(v)
    return good


def _columns(task: Task, arr: dict, idx: np.ndarray, cycles: np.ndarray,
             comps: dict[str, np.ndarray], texts: list[str]) -> dict[str, list]:
    """Store columns of the valid points ``idx`` (see :func:`~accelsim.dse.tasks.make_row`)."""
    pts = [task.points[i] for i in idx]
    m = len(idx)
    clock = arr["clock"][idx]
    latency = cycles / (clock * 1e6)
    with np.errstate(divide="ignore"):
        ips = np.where(latency > 0, 1.0 / np.where(latency > 0, latency, 1.0), np.inf)
    energy = {c: np.zeros(m) for c in ENERGY_COLUMNS}
    for name, values in sorted(comps.items()):
        col = f"energy_{name}_pj"
        energy[col if col in energy else "energy_other_pj"] += values
    raw = arr["raw"]
    return {
        "key": [p.key for p in pts], "hw": [task.hw.name] * m,
        "base_hw_hash": [task.hw_hash] * m,
        "hw_hash": [text_hash(x) for x in texts],
        "workload": [task.workload.name] * m, "workload_hash": [task.workload_hash] * m,
        "engine": [p.engine for p in pts], "schedule": [p.schedule for p in pts],
        "zero_skip": [p.zero_skip for p in pts], "params_json": [p.params_json for p in pts],
        "mac_units": raw["mac"][idx].astype(np.int64).tolist(),
        "adder_units": raw["add"][idx].astype(np.int64).tolist(),
        "multiplier_units": raw["mul"][idx].astype(np.int64).tolist(),
        "binary_units": raw["xnor"][idx].astype(np.int64).tolist(),
        "compute_area_um2": arr["area"][idx].tolist(),
        "area_budget_um2": arr["budget"][idx].tolist(), "clock_mhz": clock.tolist(),
        "cycles": cycles.tolist(), "latency_s": latency.tolist(),
        "inferences_per_s": ips.tolist(),
        "energy_pj": total_energy([energy[c] for c in ENERGY_COLUMNS]).tolist(),
        **{c: v.tolist() for c, v in energy.items()},
        "error": [""] * m, "accelsim_version": [__version__] * m, "config_json": texts,
    }


def _values_ok(hw: HardwareConfig, field: str, values: Sequence[Any]) -> np.ndarray:
    """[N] bool: the value passes its field's rule when set alone (cross-field checks such as
    the area budget are left to the array masks)."""
    verdict: dict[tuple, bool] = {}
    out = np.empty(len(values), dtype=bool)
    for i, v in enumerate(values):
        key = (type(v), v)
        if key not in verdict:
            verdict[key] = _value_ok(hw, field, v)
        out[i] = verdict[key]
    return out


def _value_ok(hw: HardwareConfig, field: str, value: Any) -> bool:
    if field in FRACTIONS:
        return isinstance(value, float) and 0.0 <= value <= 1.0
    try:
        replace_field(hw, field, value)
    except ConfigError:
        return False
    return True


def _arrays(hw: HardwareConfig, doc: dict, vals: dict[str, list], n: int,
            units: tuple[str, ...]) -> dict:
    """Per-point counts, energies, leakage, clock, budget and area; ``valid`` masks the checks
    that involve several fields. Raises :class:`InputError` if mac_fraction or binary_fraction
    cannot split."""
    def col(field: str, base: Any) -> np.ndarray:
        if field in vals:  # a value that is not a number fails its rule (_values_ok): NaN here
            return np.array([_number(v) for v in vals[field]])
        return np.full(n, float(base) if base is not None else math.nan)

    u_doc = doc["units"]
    rows = col("mac_array.rows", doc["mac_array"]["rows"])
    cols = col("mac_array.cols", doc["mac_array"]["cols"])
    count = {"add": col("adder_array.count", doc["adder_array"]["count"]),
             "mul": col("multiplier_array.count", doc["multiplier_array"]["count"]),
             "xnor": col("binary_array.lanes", doc["binary_array"]["lanes"])}
    area_u = {u: col(f"units.{u}.area_um2", u_doc[u]["area_um2"]) for u in units}
    budget = col("area_budget_um2", doc.get("area_budget_um2"))
    valid = np.ones(n, dtype=bool)
    fracs = tuple(f for f in FRACTIONS if f in vals)
    if fracs:
        split_inputs(hw, fields=fracs)  # raises InputError if the config cannot be split
        zero = np.zeros(n)
        pre = rows * cols * area_u.get("mac", zero) + count["add"] * area_u.get("add", zero) + \
            count["mul"] * area_u.get("mul", zero) + count["xnor"] * area_u.get("xnor", zero)
        free_area = np.where(np.isnan(budget), pre, budget)
        nan = np.full(n, math.nan)
        mac_frac = np.array(vals[MAC_FRACTION], dtype=float) if MAC_FRACTION in vals else nan
        bin_frac = np.array(vals[BINARY_FRACTION], dtype=float) if BINARY_FRACTION in vals \
            else nan
        r, c, _, lanes, adders = split_area3(
            mac_frac, bin_frac, free_area, area_u.get("mac", np.ones(n)), area_u["add"],
            area_u.get("xnor", np.ones(n)), area_u.get("mul", zero), count["mul"],
            np.where(cols > 0, cols, DEFAULT_COLS), rows * cols, count["xnor"])
        rows, cols, count["add"] = r.astype(float), c.astype(float), adders.astype(float)
        count["xnor"] = lanes.astype(float)
        valid &= r >= 0  # split_area3 marks a split into more than NUMBER units with -1
        budget = free_area
    count["mac"] = rows * cols
    valid &= (rows == 0) == (cols == 0)
    for u in _ARRAY_UNITS:  # the scalar path's rules: every count a number in [0, NUMBER]
        valid &= np.isfinite(count[u]) & (count[u] >= 0) & (count[u] <= NUMBER)
    for u in _ARRAY_UNITS:
        count[u] = np.where(valid, count[u], 0.0)
    for u in _ARRAY_UNITS:
        if u not in units:
            valid &= count[u] == 0
    area = np.zeros(n) + unit_sum({u: count[u] for u in _ARRAY_UNITS}, area_u)
    valid &= within_budget(area, budget)
    energy = np.stack([col(f"units.{u}.energy_pj_per_op", u_doc[u]["energy_pj_per_op"])
                       for u in units], axis=1)
    valid &= np.all(np.isfinite(energy), axis=1)
    clock = col("clock_mhz", doc["clock_mhz"])
    valid &= np.isfinite(clock) & (clock > 0)
    leak = np.zeros(n) + leakage_power(
        {u: count[u] for u in _ARRAY_UNITS},
        {u: col(f"units.{u}.leakage_uw", u_doc[u]["leakage_uw"]) for u in units},
        [col(f"buffers.{b}.leakage_uw", sram["leakage_uw"]) for b, sram in doc["buffers"].items()])
    counts = np.stack([count[u] if u in count else np.zeros(n) for u in units], axis=1)
    return {"counts": counts.astype(np.int64), "energy": energy, "leak": leak,
            "clock": np.where(valid, clock, 1.0), "budget": budget, "area": area,
            "rows": rows, "cols": cols, "raw": count, "valid": valid}


def _number(value: Any) -> float:
    """``value`` as a float, NaN if it is not a number (its point is invalid)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value)


def _set_text(doc: dict, field: str, text: str) -> None:
    """Put a slot marker at a dotted field of a template document (rendering only: configs are
    built by :func:`accelsim.hw.schema.replace_field`)."""
    parts = field.split(".")
    node = doc
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = text


def _render(doc: dict, vals: dict[str, list], arr: dict, idx: np.ndarray) -> list[str]:
    """Canonical config JSON of the points ``idx`` (equal to the scalar path's text)."""
    slots: dict[str, list[str]] = {}
    for field, values in vals.items():
        if field in FRACTIONS:
            continue
        cache: dict[tuple, str] = {}
        out = []
        for i in idx:
            v = values[i]
            k = (type(v), v)
            if k not in cache:
                cache[k] = json.dumps(canonical_value(doc, field, v))
            out.append(cache[k])
        slots[field] = out
    if any(f in vals for f in FRACTIONS):
        slots["mac_array.rows"] = [str(int(arr["rows"][i])) for i in idx]
        slots["mac_array.cols"] = [str(int(arr["cols"][i])) for i in idx]
        slots["adder_array.count"] = [str(int(arr["raw"]["add"][i])) for i in idx]
        slots["binary_array.lanes"] = [str(int(arr["raw"]["xnor"][i])) for i in idx]
        if doc.get("area_budget_um2") is None and "area_budget_um2" not in vals:
            slots["area_budget_um2"] = [json.dumps(float(arr["budget"][i])) for i in idx]
    template = copy.deepcopy(doc)
    names = list(slots)
    for i, field in enumerate(names):
        _set_text(template, field, _SLOT.format(i))
    pieces = _SLOT_RE.split(json.dumps(template, sort_keys=True))
    texts, order = pieces[0::2], [names[int(s)] for s in pieces[1::2]]
    columns: list[Any] = []
    for text, field in zip(texts, order):
        columns += [itertools.repeat(text), slots[field]]
    columns.append(itertools.repeat(texts[-1]))
    if not order:
        return [texts[0]] * len(idx)
    return ["".join(parts) for parts in zip(*columns)]
