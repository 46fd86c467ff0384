"""Sweep points: resolving axis values into hardware configs, and deterministic point keys.

A point is (base config, workload, engine, schedule, zero_skip, axis values). Its key is the
first 24 hex digits of the sha256 of those values in canonical JSON (the config and workload enter
by content hash, so editing a file gives new keys and the old results are not reused).
Axis values are first made canonical for their field (a number field gets a float, an integer
field an int), so ``64`` and ``64.0`` name the same point.

The ``mac_fraction`` and ``binary_fraction`` pseudo-fields split the area budget (less the
multipliers' area) between MAC units, binary lanes and adders by
:func:`accelsim.hw.rules.split_area3`.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from accelsim.choices import NO_SCHEDULE, Model
from accelsim.dse.spec import BINARY_FRACTION, FRACTIONS, MAC_FRACTION, SweepSpec
from accelsim.errors import ConfigError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.hw.load import hwconfig_hash, hwconfig_to_dict, load_hwconfig
from accelsim.hw.rules import DEFAULT_COLS, split_area3
from accelsim.hw.schema import checked, replace_field
from accelsim.limits import NUMBER
from accelsim.workload.load import load_workload, workload_hash
from accelsim.workload.schema import Workload

KEY_DIGITS = 24
#: Fields a config may lack (``hwconfig_to_dict`` leaves them out when unset).
_OPTIONAL_TOP = ("area_budget_um2",)


@dataclass(frozen=True)
class Point:
    """One sweep point. ``params``: canonical axis values in spec order; ``params_json``: the
    same as canonical JSON (sorted keys)."""

    key: str
    hw_index: int
    workload_index: int
    engine: Model
    schedule: str
    zero_skip: bool
    params: tuple[tuple[str, Any], ...]
    params_json: str


def params_json(params: Sequence[tuple[str, Any]]) -> str:
    """Canonical JSON of axis values (``json.dumps(dict(params), sort_keys=True)``)."""
    return json.dumps(dict(params), sort_keys=True)


def point_key(hw_hash: str, workload_hash: str, engine: str, schedule: str, zero_skip: bool,
              params_text: str) -> str:
    """Deterministic key of a point (see module docstring); ``params_text`` is
    :func:`params_json` of its axis values."""
    text = f"{hw_hash}|{workload_hash}|{engine}|{schedule}|{int(bool(zero_skip))}|{params_text}"
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_DIGITS]


def make_point(inputs: Inputs, hw_index: int, workload_index: int, engine: Model | str,
               schedule: str, zero_skip: bool, params: Sequence[tuple[str, Any]]) -> Point:
    """A point built directly (not from a spec): axis values are made canonical for the base
    config of ``hw_index`` and the key computed as :func:`iter_points` does."""
    model = Model.parse(engine, "engine")
    doc = hwconfig_to_dict(inputs.hw[hw_index])
    canon = tuple((f, canonical_value(doc, f, v)) for f, v in params)
    text = params_json(canon)
    sched = NO_SCHEDULE if model.counts_ops_only else schedule
    key = point_key(inputs.hw_hashes[hw_index], inputs.workload_hashes[workload_index], model,
                    sched, zero_skip, text)
    return Point(key, hw_index, workload_index, model, sched, zero_skip, canon, text)


def canonical_value(base_doc: Mapping, field: str, value: Any, source: str = "<sweep>"
                    ) -> object:
    """``value`` in the type the config field holds (float for numbers, int for integers).

    Raises :class:`ConfigError` if ``field`` names no field of the config."""
    if field in FRACTIONS:
        return float(value)
    node: Any = base_doc
    parts = field.split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            if isinstance(node, dict) and i == len(parts) - 1 and \
                    (field in _OPTIONAL_TOP or parts[0] == "route"):
                return float(value) if field in _OPTIONAL_TOP and _is_num(value) else value
            known = list(node) if isinstance(node, dict) else []
            near = difflib.get_close_matches(part, known, n=1)
            hint = f"; did you mean '{'.'.join(parts[:i] + [near[0]])}'?" if near else ""
            raise ConfigError(Problem(f"axes.{field}", value,
                                      f"names no field of the config{hint}"), source)
        node = node[part]
    if isinstance(node, bool) or not _is_num(value):
        return value
    if isinstance(node, int):
        return int(value) if float(value).is_integer() else value
    if isinstance(node, float):
        return float(value)
    return value


def split_inputs(hw: HardwareConfig, source: str = "<sweep>",
                 fields: tuple[str, ...] = (MAC_FRACTION,)) -> dict[str, float]:
    """The quantities :func:`~accelsim.hw.rules.split_area3` needs, read from a config, for a
    split by the pseudo-fields ``fields``.

    Raises :class:`ConfigError` if the config cannot be split (no MAC or adder area, or no
    binary lane area for ``binary_fraction``)."""
    units = hw.units
    problems = []
    needs = [("mac", MAC_FRACTION)] if MAC_FRACTION in fields else []
    needs.append(("add", fields[0]))
    if BINARY_FRACTION in fields:
        needs.append(("xnor", BINARY_FRACTION))
    for u, field in needs:
        if u not in units or units[u].area_um2 <= 0:
            problems.append(Problem(f"units.{u}.area_um2",
                                    units[u].area_um2 if u in units else None,
                                    f"{field} needs '{u}' units with an area > 0"))
    if problems:
        raise ConfigError(problems, source)
    area = hw.area_budget_um2 if hw.area_budget_um2 is not None else hw.compute_area_um2
    a_mul = units["mul"].area_um2 if "mul" in units else 0.0
    a_mac = units["mac"].area_um2 if "mac" in units else 0.0
    return {"area": float(area), "a_mac": float(a_mac) or 1.0,
            "a_add": float(units["add"].area_um2), "a_mul": float(a_mul),
            "a_bin": float(units["xnor"].area_um2) if "xnor" in units else 1.0,
            "n_mul": float(hw.multiplier_array.count), "macs": float(hw.mac_array.count),
            "lanes": float(hw.binary_array.lanes),
            "cols": float(hw.mac_array.cols or DEFAULT_COLS)}


def resolve_config(base: HardwareConfig, params: Sequence[tuple[str, Any]],
                   source: str = "<sweep>") -> HardwareConfig:
    """The validated config of a point: ``base`` with each axis value set by a typed, checked
    replace (:func:`accelsim.hw.schema.replace_field`), the ``mac_fraction`` /
    ``binary_fraction`` split applied (:func:`accelsim.hw.rules.split_area3`: a share not
    swept keeps its units), then the cross-field rules. Raises :class:`ConfigError` for an
    invalid value or combination."""
    doc = hwconfig_to_dict(base)
    cfg = base
    fracs: dict[str, float] = {}
    try:
        for field, value in params:
            if field in FRACTIONS:
                fracs[field] = value
            else:
                cfg = replace_field(cfg, field, canonical_value(doc, field, value, source))
        if fracs:
            s = split_inputs(cfg, source, tuple(f for f in FRACTIONS if f in fracs))
            rows, cols, _, lanes, adders = split_area3(
                fracs.get(MAC_FRACTION, math.nan), fracs.get(BINARY_FRACTION, math.nan),
                s["area"], s["a_mac"], s["a_add"], s["a_bin"], s["a_mul"], s["n_mul"],
                s["cols"], s["macs"], s["lanes"])
            if min(int(rows), int(cols), int(lanes), int(adders)) < 0:
                field = MAC_FRACTION if MAC_FRACTION in fracs else BINARY_FRACTION
                raise ConfigError(Problem(field, fracs[field],
                                          f"splits an area of {s['area']:g} um2 into more than "
                                          f"{NUMBER:g} units (unit areas "
                                          f"{s['a_mac']:g} / {s['a_add']:g} / {s['a_bin']:g} "
                                          "um2)"))
            cfg = dataclasses.replace(
                cfg, mac_array=dataclasses.replace(cfg.mac_array, rows=int(rows),
                                                   cols=int(cols)),
                adder_array=dataclasses.replace(cfg.adder_array, count=int(adders)),
                binary_array=dataclasses.replace(cfg.binary_array, lanes=int(lanes)),
                area_budget_um2=s["area"])
        return checked(cfg, source)
    except ConfigError as exc:
        raise ConfigError(list(exc.problems), source) from None


@dataclass(frozen=True)
class Inputs:
    """What a sweep's points refer to: base configs and workloads, loaded, with their hashes."""

    hw_files: tuple[str, ...]
    hw: tuple[HardwareConfig, ...]
    hw_hashes: tuple[str, ...]
    workload_files: tuple[str, ...]
    workloads: tuple[Workload, ...]
    workload_hashes: tuple[str, ...]


def load_inputs(spec: SweepSpec) -> Inputs:
    """Load every config and workload a spec names (raising their loaders' InputErrors)."""
    hws = tuple(load_hwconfig(p) for p in spec.hw)
    wls = tuple(load_workload(p) for p in spec.workloads)
    return Inputs(spec.hw, hws, tuple(hwconfig_hash(h) for h in hws), spec.workloads, wls,
                  tuple(workload_hash(w) for w in wls))


def _distinct(hashes: Sequence[str]) -> list[int]:
    """Indices of the first of each distinct hash (two files with the same content give the
    same points)."""
    return list({h: i for i, h in reversed(list(enumerate(hashes)))}.values())[::-1]


def _canonical_axes(spec: SweepSpec, doc: Mapping) -> list[list[Any]]:
    """Each axis's values made canonical for the config ``doc``, repeats (``64`` and ``64.0``)
    dropped."""
    out = []
    for ax in spec.axes:
        vals = [canonical_value(doc, ax.field, v, spec.source) for v in ax.values]
        out.append(list({json.dumps(v): v for v in vals}.values()))
    return out


def count_points(spec: SweepSpec, inputs: Inputs) -> int:
    """How many points :func:`iter_points` yields (computed, not enumerated)."""
    per_combo = len(_distinct(inputs.workload_hashes)) * len(spec.zero_skip) * sum(
        1 if e.counts_ops_only else len(spec.schedules) for e in spec.engines)
    total = 0
    for hi in _distinct(inputs.hw_hashes):
        n = per_combo
        for vals in _canonical_axes(spec, hwconfig_to_dict(inputs.hw[hi])):
            n *= len(vals)
        total += n
    return total


def iter_points(spec: SweepSpec, inputs: Inputs) -> Iterator[Point]:
    """Every point of the spec, in spec order (last axis fastest), each once (configs or
    workloads of the same content and axis values equal once canonical give one point). Op-count
    engines get the schedule ``-``. Raises :class:`ConfigError` for an axis that names no config
    field."""
    workloads = _distinct(inputs.workload_hashes)
    for hi in _distinct(inputs.hw_hashes):
        doc = hwconfig_to_dict(inputs.hw[hi])
        canon = _canonical_axes(spec, doc)
        fields = [ax.field for ax in spec.axes]
        # params_json by pieces: fields sorted, each value's JSON computed once
        order = sorted(range(len(fields)), key=lambda i: fields[i])
        heads = [json.dumps(fields[i]) + ": " for i in order]
        texts = [[json.dumps(v) for v in canon[i]] for i in order]
        for wi in workloads:
            for engine in spec.engines:
                schedules = (NO_SCHEDULE,) if engine.counts_ops_only else spec.schedules
                for schedule in schedules:
                    for zs in spec.zero_skip:
                        for combo in itertools.product(*[range(len(c)) for c in canon]):
                            params = tuple((f, canon[a][j]) for a, (f, j) in
                                           enumerate(zip(fields, combo)))
                            ptext = "{" + ", ".join(heads[k] + texts[k][combo[i]]
                                                    for k, i in enumerate(order)) + "}"
                            key = point_key(inputs.hw_hashes[hi], inputs.workload_hashes[wi],
                                            engine, schedule, zs, ptext)
                            yield Point(key, hi, wi, engine, schedule, zs, params, ptext)


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
