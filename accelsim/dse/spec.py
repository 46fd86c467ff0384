"""Sweep specifications: which configs, workloads, axes and models a sweep covers.

A spec is a small YAML or JSON document (docs/dse.md)::

    hw: hwconfigs/paper.yaml                  # one path or a list (globs allowed)
    workloads: [workloads/mobilenet_v1_0.5_*.json]
    axes:                                     # dotted hw-config fields, or the pseudo-fields
      mac_fraction: {start: 0.05, stop: 0.95, num: 19}     # share of the area given to MACs
      binary_fraction: [0.0, 0.05, 0.1]                    # ... and to binary lanes
      buffers.weights.size_kib: [32, 64, 128]
      dram.bandwidth_bytes_per_cycle: {start: 8, stop: 64, step: 8}
    engine: [balance, sequential]             # balance | sequential | analytic | des
    schedule: sequential                      # sequential | overlap (analytic and des only)
    zero_skip: false
    store: results/mobilenet_split            # default store directory (``--store`` overrides)

Relative paths are relative to the spec file. Ranges are inclusive of ``stop`` (``step``: up to
``stop`` within 1e-9 of a step; ``num``: evenly spaced, like ``numpy.linspace``) and their values
are rounded to 12 significant digits so that keys do not depend on float noise.
Bad specs raise :class:`SweepSpecError` listing every problem.
"""
from __future__ import annotations

import glob
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from accelsim.choices import Choice, Model, SchedulePolicy
from accelsim.documents import parse_yaml, read_text
from accelsim.errors import InputError, Problem
from accelsim.fields import Reader, need
from accelsim.limits import POINTS

#: Pseudo-field: share of the area budget (less the multipliers' area) given to MAC units; the
#: MAC array keeps its columns, rows are rounded down, adders fill the rest.
MAC_FRACTION = "mac_fraction"
#: Pseudo-field: share of the same area given to binary (XNOR-popcount) lanes, whole lanes;
#: with ``mac_fraction`` the area splits three ways (MACs, binary lanes, adders fill the rest),
#: without it the MAC array keeps its size and adders fill what the lanes leave.
BINARY_FRACTION = "binary_fraction"
#: The pseudo-fields that split the area.
FRACTIONS = (MAC_FRACTION, BINARY_FRACTION)
_TOP = ("hw", "workloads", "axes", "engine", "schedule", "zero_skip", "store", "name",
        "description")


_C = TypeVar("_C", bound=Choice)


class SweepSpecError(InputError):
    """A sweep spec is malformed (one line per problem, naming the file and the field)."""


@dataclass(frozen=True)
class Axis:
    """One swept field and its values (JSON scalars, in the order given)."""

    field: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class SweepSpec:
    """A validated spec. Points = hw x workloads x engines x schedules x zero_skip x axes."""

    hw: tuple[str, ...]
    workloads: tuple[str, ...]
    axes: tuple[Axis, ...]
    engines: tuple[Model, ...] = (Model.BALANCE,)
    schedules: tuple[SchedulePolicy, ...] = (SchedulePolicy.SEQUENTIAL,)
    zero_skip: tuple[bool, ...] = (False,)
    store: str | None = None
    name: str = ""
    source: str = "<memory>"

    @property
    def size(self) -> int:
        """Upper bound on the number of points (op-count engines ignore the schedule axis)."""
        n = len(self.hw) * len(self.workloads) * len(self.zero_skip)
        n *= sum(1 if e.counts_ops_only else len(self.schedules) for e in self.engines)
        for ax in self.axes:
            n *= len(ax.values)
        return n


def load_sweep_spec(path: str | Path) -> SweepSpec:
    """Read a YAML/JSON spec file; paths inside are resolved against its folder."""
    path = Path(path)
    text = read_text(path, SweepSpecError)
    try:
        doc = parse_yaml(text, str(path), SweepSpecError)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else "?"
        raise SweepSpecError(Problem("<document>", where, "malformed YAML/JSON"), str(path))
    except RecursionError:
        raise SweepSpecError(Problem("<document>", "<nested too deeply>", "malformed YAML/JSON"),
                             str(path)) from None
    return sweep_spec_from_dict(doc, str(path), base_dir=path.parent)


def sweep_spec_from_dict(doc: Any, source: str = "<memory>", *,
                         base_dir: str | Path | None = None) -> SweepSpec:
    """Validate a spec given as plain data. ``base_dir`` resolves relative paths (default: cwd)."""
    rd = Reader()
    doc = rd.mapping(doc, "")
    if doc is None:
        raise SweepSpecError(rd.problems, source)
    rd.keys(doc, _TOP, "")
    base = Path(base_dir) if base_dir is not None else None
    hw = _paths(rd, doc, "hw", base)
    wls = _paths(rd, doc, "workloads", base)
    axes = _axes(rd, doc.get("axes", {}))
    engines = _choices(rd, doc, "engine", Model, Model.BALANCE)
    schedules = _choices(rd, doc, "schedule", SchedulePolicy, SchedulePolicy.SEQUENTIAL)
    zs = doc.get("zero_skip", False)
    zs_list = zs if isinstance(zs, list) else [zs]
    if not zs_list or not all(isinstance(z, bool) for z in zs_list):
        rd.problem("zero_skip", zs, "must be true, false or a list of them")
        zs_list = [False]
    store = doc.get("store")
    if store is not None and (not isinstance(store, str) or not store):
        rd.problem("store", store, "must be a path")
        store = None
    if store is not None and base is not None and not Path(store).is_absolute():
        store = str(base / store)
    name = doc.get("name", "")
    if rd.problems:
        raise SweepSpecError(rd.problems, source)
    spec = SweepSpec(hw=hw, workloads=wls, axes=axes, engines=engines, schedules=schedules,
                     zero_skip=tuple(dict.fromkeys(zs_list)), store=store, name=str(name),
                     source=source)
    if spec.size > POINTS.value():
        raise SweepSpecError(Problem("axes", f"{spec.size:,} points",
                                     f"{POINTS.exceeded(spec.size)}, or split the sweep"),
                             source)
    return spec


def spec_to_dict(spec: SweepSpec) -> dict:
    """Plain-data form (paths as resolved); stored next to a sweep's results."""
    return {"name": spec.name, "hw": list(spec.hw), "workloads": list(spec.workloads),
            "axes": {a.field: list(a.values) for a in spec.axes},
            "engine": list(spec.engines), "schedule": list(spec.schedules),
            "zero_skip": list(spec.zero_skip), "store": spec.store}


def expand_range(raw: Any, field: str) -> tuple[Any, ...]:
    """Values of one axis: a scalar, a list, ``{start, stop, step}`` or ``{start, stop, num}``.

    Raises :class:`SweepSpecError` (one problem) for anything else."""
    rd = Reader()
    out = _axis_values(rd, raw, f"axes.{field}")
    if rd.problems:
        raise SweepSpecError(rd.problems)
    return out


# ---------------------------------------------------------------------------------------------
def _paths(rd: Reader, doc: dict, key: str, base: Path | None) -> tuple[str, ...]:
    raw = rd.get(doc, key, "")
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    if not items or not all(isinstance(p, str) and p for p in items):
        rd.problem(key, raw, "must be a path or a list of paths")
        return ()
    out: list[str] = []
    for item in items:
        full = Path(item) if base is None or Path(item).is_absolute() else base / item
        if any(ch in item for ch in "*?["):
            hits = sorted(glob.glob(str(full)))
            if not hits:
                rd.problem(key, item, "the pattern matches no file")
            out.extend(hits)
        elif not full.is_file():
            rd.problem(key, item, "no such file")
        else:
            out.append(str(full))
    return tuple(dict.fromkeys(out))


def _choices(rd: Reader, doc: dict, key: str, choices: type[_C], default: _C
             ) -> tuple[_C, ...]:
    raw = doc.get(key, default.value)
    items = raw if isinstance(raw, list) else [raw]
    bad = [v for v in items if v not in choices.values()]
    if not items or bad:
        rd.problem(key, raw, f"must be one of {', '.join(choices.values())} (or a list of them)")
        return (default,)
    return tuple(dict.fromkeys(choices.parse(v, key) for v in items))


def _axes(rd: Reader, raw: Any) -> tuple[Axis, ...]:
    if raw is None:
        return ()
    raw = rd.mapping(raw, "axes")
    if raw is None:
        return ()
    axes = []
    for field, spec in raw.items():
        if not isinstance(field, str) or not field or field.startswith(".") or \
                field.endswith(".") or ".." in field:
            rd.problem(f"axes.{field}", "<key>", "must be a dotted hw-config field")
            continue
        values = _axis_values(rd, spec, f"axes.{field}")
        if values:
            axes.append(Axis(field, values))
    fields = [a.field for a in axes]
    sets = {MAC_FRACTION: ("mac_array.rows", "mac_array.cols", "adder_array.count"),
            BINARY_FRACTION: ("binary_array.lanes", "adder_array.count")}
    for pseudo, clashes in sets.items():
        if pseudo not in fields:
            continue
        for clash in clashes:
            if clash in fields:
                rd.problem(f"axes.{clash}", "<key>",
                           f"conflicts with '{pseudo}', which sets it")
        ax = axes[fields.index(pseudo)]
        for v in ax.values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                rd.problem(f"axes.{pseudo}", v, "must be a number in [0, 1]")
    return tuple(axes)


def _axis_values(rd: Reader, raw: Any, path: str) -> tuple[Any, ...]:
    if isinstance(raw, dict):
        return _range(rd, raw, path)
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        rd.problem(path, "[]", "an axis needs at least one value")
        return ()
    for v in items:
        if v is None or isinstance(v, (dict, list)) or \
                (isinstance(v, float) and not math.isfinite(v)):
            rd.problem(path, v, "values must be finite numbers, strings or booleans")
            return ()
    canon = [json.dumps(v, sort_keys=True) for v in items]
    if len(set(canon)) != len(canon):
        rd.problem(path, raw, "values repeat")
        return ()
    return tuple(items)


def _range(rd: Reader, raw: dict, path: str) -> tuple[Any, ...]:
    n0 = len(rd.problems)
    rd.keys(raw, ("start", "stop", "step", "num"), path)
    if ("num" in raw) == ("step" in raw):
        rd.problem(path, raw, "a range needs exactly one of 'step' or 'num'")
        return ()
    mode = "num" if "num" in raw else "step"
    start_ = rd.number(raw, "start", path, minimum=None)
    stop_ = rd.number(raw, "stop", path, minimum=None)
    num_ = rd.integer(raw, "num", path, minimum=1, maximum=None) if mode == "num" else 0
    if num_ is not None and num_ > POINTS.value():
        rd.problem(f"{path}.num", num_, f"more than {POINTS.value():,} values; "
                   f"{POINTS.how_to_raise()}")
        return ()
    step_ = rd.number(raw, "step", path, minimum=None) if mode == "step" else 0.0
    if len(rd.problems) > n0:
        return ()
    start, stop, num, step = need(start_), need(stop_), need(num_), need(step_)
    ints = all(isinstance(raw[k], int) and not isinstance(raw[k], bool)
               for k in ("start", "stop", mode))
    if mode == "num":
        if num == 1:
            vals = [start]
        else:
            vals = [start + (stop - start) * i / (num - 1) for i in range(num)]
    else:
        if step == 0 or (stop - start) * step < 0:
            rd.problem(f"{path}.step", raw["step"], "must be non-zero and point from start to stop")
            return ()
        count = (stop - start) / step + 1e-9
        if not math.isfinite(count) or count + 1 > POINTS.value():
            rd.problem(path, raw, f"more than {POINTS.value():,} values; "
                       f"{POINTS.how_to_raise()}")
            return ()
        n = int(math.floor(count)) + 1
        vals = [start + i * step for i in range(n)]
    vals = [float(f"{v:.12g}") for v in vals]
    if len(set(vals)) < len(vals):
        rd.problem(path, raw, "values repeat once rounded to 12 significant digits: use a "
                   "larger step or fewer values")
        return ()
    if ints and all(v.is_integer() for v in vals):
        return tuple(dict.fromkeys(int(v) for v in vals))
    return tuple(dict.fromkeys(vals))
