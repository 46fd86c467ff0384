"""The config's field rules, written once as dataclass metadata, and what uses them.

Every numeric field of the config dataclasses is checked by the same rule wherever a value comes
from: the YAML loader (:func:`read_fields`), a typed change to a loaded config
(:func:`replace_field`, what the sweeps build their points with) and the vectorised sweep path
(:func:`check_value`, one value at a time). A field's rule is its type (int, float, bool, str or
an enum) and its ``metadata`` (``minimum``, ``strict``, ``maximum``; see
:func:`accelsim.hw.config.rule`); the cross-field rules are in :func:`consistency`.
"""
from __future__ import annotations

import dataclasses
import difflib
import enum
import typing
from typing import Any, get_type_hints

from accelsim.errors import ConfigError, Problem
from accelsim.fields import LIMIT, Reader
from accelsim.hw.config import (
    ACTIVATION_BUFFERS,
    AdderArray,
    BinaryArray,
    Dram,
    HardwareConfig,
    MacArray,
    MappingPolicy,
    MultiplierArray,
    Sram,
    UnitClass,
)
from accelsim.hw.rules import over_budget

#: The sections of a config that are one dataclass each (dotted prefix -> class).
SECTIONS: dict[str, type] = {"mac_array": MacArray, "adder_array": AdderArray,
                             "multiplier_array": MultiplierArray, "dram": Dram,
                             "mapping": MappingPolicy, "binary_array": BinaryArray}
#: Array sections and the unit class they count.
ARRAY_UNITS = {"mac_array": "mac", "adder_array": "add", "multiplier_array": "mul",
               "binary_array": "xnor"}
#: The field of each array section that holds its number of units (``mac_array``: rows x cols).
COUNT_FIELDS = {"mac_array": "rows", "adder_array": "count", "multiplier_array": "count",
                "binary_array": "lanes"}


def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def read_fields(rd: Reader, raw: dict, path: str, cls: type, skip: tuple[str, ...] = ()
                ) -> dict[str, Any] | None:
    """The values of ``cls``'s fields (except ``skip``) read from ``raw`` by their rules; None
    (with the problems recorded in ``rd``) if any is missing or invalid."""
    hints = _hints(cls)
    out: dict[str, Any] = {}
    ok = True
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        value = _read_one(rd, raw, path, f, hints[f.name])
        if value is None and not _optional(hints[f.name]):
            ok = False
        out[f.name] = value
    return out if ok else None


def _optional(tp: Any) -> bool:
    return type(None) in typing.get_args(tp)


def _base(tp: Any) -> Any:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return args[0] if _optional(tp) and len(args) == 1 else tp


def _read_one(rd: Reader, raw: dict, path: str, f: dataclasses.Field, tp: Any) -> Any:
    md = f.metadata
    kw: dict[str, Any] = {}
    if f.default is not dataclasses.MISSING:
        kw["default"] = f.default.value if isinstance(f.default, enum.Enum) else f.default
    tp = _base(tp)
    if typing.get_origin(tp) is tuple:
        return _read_tuple(rd, raw, path, f, typing.get_args(tp)[0])
    if tp is bool:
        return rd.boolean(raw, f.name, path, **kw)
    if tp is int:
        number = rd.integer(raw, f.name, path, minimum=md.get("minimum", 0),
                            maximum=md.get("maximum", LIMIT), **kw)
        if number is not None and md.get("power_of_two") and number & (number - 1):
            why = f"{md['why']}: " if md.get("why") else ""
            rd.problem(f"{path}.{f.name}" if path else f.name, number,
                       f"{why}must be a power of two")
            return None
        return number
    if tp is float:
        return rd.number(raw, f.name, path, minimum=md.get("minimum", 0.0),
                         strict=md.get("strict", False), maximum=md.get("maximum", LIMIT), **kw)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        got = rd.string(raw, f.name, path, choices=[m.value for m in tp], **kw)
        return tp(got) if got is not None else None
    if tp is str:
        value = rd.get(raw, f.name, path, **kw)
        return None if value is None else str(value)
    raise TypeError(f"{f.name}: no reader for type {tp!r}")  # pragma: no cover


def _read_tuple(rd: Reader, raw: dict, path: str, f: dataclasses.Field, item: Any) -> Any:
    """A list of enum values (e.g. ``mac_array.dataflows``), duplicates dropped."""
    value = raw.get(f.name)
    if value is None:
        return f.default
    choices = [m.value for m in item] if isinstance(item, type) and issubclass(item, enum.Enum) \
        else None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or \
            (choices is not None and any(v not in choices for v in value)):
        hint = f" of {', '.join(choices)}" if choices else ""
        rd.problem(f"{path}.{f.name}" if path else f.name, value,
                   f"must be a list{hint}")
        return None
    return tuple(dict.fromkeys(item(v) for v in value))


def check_value(cls: type, name: str, value: Any, path: str) -> list[Problem]:
    """The problems of ``value`` for field ``name`` of ``cls`` alone (the loader's messages)."""
    rd = Reader()
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    _read_one(rd, {name: value}, path, f, _hints(cls)[name])
    return rd.problems


def consistency(cfg: HardwareConfig) -> list[Problem]:
    """The rules that involve several fields: array sizes, unit classes for populated arrays,
    routes, and the area budget."""
    problems = []
    mac = cfg.mac_array
    if (mac.rows == 0) != (mac.cols == 0):
        problems.append(Problem("mac_array.rows", mac.rows,
                                f"rows and cols must both be 0 or both > 0 (cols = {mac.cols})"))
    if mac.dataflows and mac.dataflow not in mac.dataflows:
        problems.append(Problem("mac_array.dataflow", mac.dataflow.value,
                                "the array cannot do it: not among mac_array.dataflows "
                                f"({', '.join(d.value for d in mac.dataflows)})"))
    act = cfg.mapping.activation_buffer
    names = dict(cfg.buffers.items())
    if act not in ACTIVATION_BUFFERS:
        problems.append(Problem("mapping.activation_buffer", act,
                                f"must be one of {', '.join(ACTIVATION_BUFFERS)}"))
    elif act not in names:
        problems.append(Problem("mapping.activation_buffer", act,
                                f"the config declares no buffers.{act}"))
    if cfg.counts["mac"] > LIMIT:
        problems.append(Problem("mac_array.rows", mac.rows,
                                f"rows x cols = {cfg.counts['mac']:.3g} MAC units, over the limit "
                                f"of {LIMIT:g}"))
    for array, unit in ARRAY_UNITS.items():
        if cfg.counts[unit] > 0 and unit not in cfg.units:
            problems.append(Problem(f"units.{unit}", "<missing>",
                                    f"{array} has {cfg.counts[unit]} units but the cost table "
                                    f"has no '{unit}'"))
    for op, unit in cfg.route.items():
        path = f"route.{op}"
        if unit not in ARRAY_UNITS.values():
            problems.append(Problem(path, unit, f"must be one of "
                                    f"{', '.join(ARRAY_UNITS.values())}"))
        elif unit in cfg.units and op not in cfg.units[unit].executes:
            problems.append(Problem(path, unit, f"units.{unit}.executes does not include '{op}'"))
    if cfg.area_budget_um2 is not None and over_budget(cfg):
        problems.append(Problem("area_budget_um2", cfg.area_budget_um2,
                                f"compute units need {cfg.compute_area_um2:.0f} um2, over the "
                                "budget"))
    return problems


def replace_field(cfg: HardwareConfig, dotted: str, value: Any) -> HardwareConfig:
    """``cfg`` with one field changed, the value checked by the field's rule and converted to its
    type (``64`` becomes ``64.0`` for a float field). Dotted paths: top-level fields
    (``clock_mhz``, ``area_budget_um2``, ``name``, ``description``), ``<section>.<field>``
    (``mac_array``, ``adder_array``, ``multiplier_array``, ``binary_array``, ``dram``,
    ``mapping``), ``buffers.<name>.<field>``,
    ``units.<name>.<field>`` and ``route.<op>``. Cross-field rules are not checked here (see
    :func:`checked`). Raises :class:`ConfigError` naming the path."""
    parts = dotted.split(".")
    try:
        return _replace(cfg, parts, value, dotted)
    except _NoField as exc:
        raise ConfigError(Problem(dotted, value, str(exc))) from None


class _NoField(Exception):
    pass


def _replace(cfg: HardwareConfig, parts: list[str], value: Any, dotted: str) -> HardwareConfig:
    head = parts[0]
    if len(parts) == 1:
        if head not in ("clock_mhz", "area_budget_um2", "name", "description"):
            raise _NoField(_hint(head, ["clock_mhz", "area_budget_um2", "name", "description"]
                                 + list(SECTIONS) + ["buffers", "units", "route"]))
        return dataclasses.replace(cfg, **{head: _converted(HardwareConfig, head, value,
                                                              dotted)})
    if head in SECTIONS and len(parts) == 2:
        section = getattr(cfg, head)
        return dataclasses.replace(cfg, **{head: _set(section, parts[1], value, dotted)})
    if head == "buffers" and len(parts) == 3 and parts[1] in dict(cfg.buffers.items()):
        sram = getattr(cfg.buffers, parts[1])
        bufs = dataclasses.replace(cfg.buffers, **{parts[1]: _set(sram, parts[2], value,
                                                                   dotted)})
        return dataclasses.replace(cfg, buffers=bufs)
    if head == "units" and len(parts) == 3 and parts[1] in cfg.units and parts[2] != "name":
        units = dict(cfg.units)
        units[parts[1]] = _set(units[parts[1]], parts[2], value, dotted)
        return dataclasses.replace(cfg, units=units)
    if head == "route" and len(parts) == 2:
        if not isinstance(value, str) or not value:
            raise ConfigError(Problem(dotted, value, "must be a unit class name"))
        return dataclasses.replace(cfg, route={**cfg.route, parts[1]: value})
    raise _NoField("names no field of the config")


def _hint(name: str, known: list[str]) -> str:
    near = difflib.get_close_matches(name, known, n=1)
    return "names no field of the config" + (f"; did you mean '{near[0]}'?" if near else "")


def _set(obj: Any, name: str, value: Any, dotted: str) -> Any:
    names = [f.name for f in dataclasses.fields(obj)]
    if name not in names or isinstance(obj, UnitClass) and name == "executes":
        raise _NoField(_hint(name, names))
    return dataclasses.replace(obj, **{name: _converted(type(obj), name, value, dotted)})


def _converted(cls: type, name: str, value: Any, dotted: str) -> Any:
    problems = check_value(cls, name, value, dotted.rsplit(".", 1)[0] if "." in dotted else "")
    if problems:
        raise ConfigError(problems)
    tp = _base(_hints(cls)[name])
    if value is None:
        return None
    if typing.get_origin(tp) is tuple:
        item = typing.get_args(tp)[0]
        return tuple(dict.fromkeys(item(v) for v in value))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if tp is float:
        return float(value)
    if tp is int:
        return int(value)
    return value


def checked(cfg: HardwareConfig, source: str = "<config>") -> HardwareConfig:
    """``cfg`` if its cross-field rules hold; else :class:`ConfigError` listing them."""
    problems = consistency(cfg)
    if problems:
        raise ConfigError(problems, source)
    return cfg


def field_type(dotted: str, cfg: HardwareConfig) -> type | None:
    """The Python type of a dotted config field (None for ``route.*`` and unknown paths)."""
    parts = dotted.split(".")
    try:
        if len(parts) == 1:
            return _base(_hints(HardwareConfig)[parts[0]])
        if parts[0] in SECTIONS and len(parts) == 2:
            return _base(_hints(SECTIONS[parts[0]])[parts[1]])
        if parts[0] == "buffers" and len(parts) == 3:
            return _base(_hints(Sram)[parts[2]])
        if parts[0] == "units" and len(parts) == 3:
            return _base(_hints(UnitClass)[parts[2]])
    except KeyError:
        return None
    return None

