"""Read, validate, write and override hardware configs (YAML, schema ``accelsim.hwconfig`` v1).

Every problem is collected and raised at once as a :class:`~accelsim.errors.ConfigError` whose
lines read ``hwconfigs/x.yaml: adder_array.count: -4 (must be >= 0)``.
"""
from __future__ import annotations

import enum
import hashlib
import json
import warnings
from collections.abc import Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import yaml

from accelsim.documents import parse_yaml, read_text
from accelsim.errors import AccelsimWarning, ConfigError, Problem
from accelsim.fields import Reader
from accelsim.hw.config import (
    BUFFER_NAMES,
    OPTIONAL_BUFFERS,
    SCHEMA,
    SCHEMA_VERSION,
    AdderArray,
    BinaryArray,
    Buffers,
    Dram,
    HardwareConfig,
    MacArray,
    MappingPolicy,
    MultiplierArray,
    Sram,
    UnitClass,
)
from accelsim.hw.energy_tables import resolve_tables
from accelsim.hw.rules import unused_area
from accelsim.hw.schema import checked, consistency, read_fields, replace_field

_TOP = ("schema", "schema_version", "name", "description", "clock_mhz", "area_budget_um2",
        "units", "mac_array", "adder_array", "multiplier_array", "buffers", "dram", "route",
        "sources", "mapping", "binary_array")


def load_hwconfig(path: str | Path) -> HardwareConfig:
    """Load and validate a YAML hardware config; raises :class:`ConfigError` naming file+field.
    Issues an :class:`~accelsim.errors.AccelsimWarning` (one line) when the compute units use
    less than 75% of ``area_budget_um2`` (:func:`accelsim.hw.rules.unused_area`)."""
    cfg = loads_hwconfig(read_text(path, ConfigError), str(path))
    why = unused_area(cfg)
    if why:
        warnings.warn(f"{path}: {why}", AccelsimWarning, stacklevel=2)
    return cfg


def as_hwconfig(value: HardwareConfig | str | Path, field: str = "hw") -> HardwareConfig:
    """``value`` if it is a :class:`HardwareConfig`, else the config file it names (loaded,
    with :func:`load_hwconfig`'s warning); raises :class:`ConfigError` (one line naming the
    file, or ``field`` for a value of another type) otherwise. What the Python twins of the
    commands accept for a config."""
    if isinstance(value, HardwareConfig):
        return value
    if isinstance(value, (str, Path)):
        return load_hwconfig(value)
    raise ConfigError(Problem(field, type(value).__name__, "must be a HardwareConfig or the "
                              "path of a config file"), "<argument>")


def loads_hwconfig(text: str, source: str = "<memory>") -> HardwareConfig:
    try:
        doc = parse_yaml(text, source, ConfigError)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else "?"
        what = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(Problem("<document>", where, f"malformed YAML: {what}"), source)
    except RecursionError:
        raise ConfigError(Problem("<document>", "<nested too deeply>", "malformed YAML"),
                          source) from None
    return hwconfig_from_dict(doc, source)


def hwconfig_from_dict(doc: Any, source: str = "<memory>") -> HardwareConfig:
    rd = Reader()
    cfg = _read(rd, doc)
    if rd.problems or cfg is None:
        raise ConfigError(rd.problems, source)
    return cfg


def hwconfig_to_dict(cfg: HardwareConfig) -> dict:
    """Plain-data form (round-trips through :func:`hwconfig_from_dict`)."""
    out: dict[str, Any] = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "name": cfg.name,
                           "description": cfg.description, "clock_mhz": cfg.clock_mhz}
    if cfg.area_budget_um2 is not None:
        out["area_budget_um2"] = cfg.area_budget_um2
    out["units"] = {n: {k: v for k, v in asdict(u).items() if k != "name"}
                    for n, u in cfg.units.items()}
    for u in out["units"].values():
        u["executes"] = list(u["executes"])
    out["mac_array"] = _plain(asdict(cfg.mac_array))
    out["adder_array"] = _plain(asdict(cfg.adder_array))
    out["multiplier_array"] = _plain(asdict(cfg.multiplier_array))
    out["buffers"] = {n: _plain(asdict(s)) for n, s in cfg.buffers.items()}
    out["dram"] = _plain(asdict(cfg.dram))
    out["route"] = dict(cfg.route)
    out["sources"] = dict(cfg.sources)
    out["mapping"] = _plain(asdict(cfg.mapping))
    out["binary_array"] = _plain(asdict(cfg.binary_array))
    return out


def _plain(value: Any) -> Any:
    """Enums as their values, tuples as lists (YAML- and JSON-ready)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def dumps_hwconfig(cfg: HardwareConfig) -> str:
    return yaml.safe_dump(hwconfig_to_dict(cfg), sort_keys=False)


def canonical_json(doc: Mapping[str, Any]) -> str:
    """Canonical JSON of a config document (sorted keys): what config hashes are taken of."""
    return json.dumps(doc, sort_keys=True)


def text_hash(text: str) -> str:
    """The sha256 hex digest of a canonical config text (:func:`canonical_json`)."""
    return hashlib.sha256(text.encode()).hexdigest()


def hwconfig_hash(cfg: HardwareConfig) -> str:
    """The config's content hash: :func:`text_hash` of its :func:`canonical_json`."""
    return text_hash(canonical_json(hwconfig_to_dict(cfg)))


def override(cfg: HardwareConfig, changes: Mapping[str, Any], source: str = "<override>"
             ) -> HardwareConfig:
    """A copy of ``cfg`` with dotted fields replaced, e.g. ``{"mac_array.rows": 16}``: each value
    checked by its field's rule and converted to its type
    (:func:`accelsim.hw.schema.replace_field`), then the cross-field rules.

    Raises :class:`ConfigError` for a path that names no field or a value a rule refuses."""
    out = cfg
    try:
        for path, value in changes.items():
            out = replace_field(out, path, value)
        return checked(out, source)
    except ConfigError as exc:
        raise exc.with_source(source) if exc.source is None else exc from None


# ---------------------------------------------------------------------------------------------
def _read(rd: Reader, doc: Any) -> HardwareConfig | None:
    doc = rd.mapping(doc, "")
    if doc is None:
        return None
    rd.keys(doc, _TOP, "")
    doc, table_sources, table_problems = resolve_tables(doc)  # table names -> numbers
    rd.problems.extend(table_problems)
    if doc.get("schema", SCHEMA) != SCHEMA:
        rd.problem("schema", doc.get("schema"), f"must be '{SCHEMA}'")
    if doc.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        rd.problem("schema_version", doc.get("schema_version"),
                   f"this accelsim reads version {SCHEMA_VERSION}")
        return None
    name = rd.string(doc, "name", "")
    description = rd.get(doc, "description", "", default="") or ""
    clock = rd.number(doc, "clock_mhz", "", strict=True)
    budget = None
    if doc.get("area_budget_um2") is not None:
        budget = rd.number(doc, "area_budget_um2", "", strict=True)
    units = _read_units(rd, _section(rd, doc, "units"))
    mac = _read_section(rd, _section(rd, doc, "mac_array"), "mac_array", MacArray)
    add = _read_section(rd, _section(rd, doc, "adder_array"), "adder_array", AdderArray)
    mul = _read_section(rd, _section(rd, doc, "multiplier_array"), "multiplier_array",
                        MultiplierArray)
    buffers = _read_buffers(rd, _section(rd, doc, "buffers"))
    dram = _read_section(rd, _section(rd, doc, "dram"), "dram", Dram)
    route = rd.get(doc, "route", "", default={}) or {}
    if not isinstance(route, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in route.items()):
        rd.problem("route", route, "must map operation classes to unit classes")
        route = {}
    mapping = MappingPolicy()
    if doc.get("mapping") is not None:
        mapping = _read_section(rd, doc["mapping"], "mapping", MappingPolicy) or mapping
    binary = BinaryArray()
    if doc.get("binary_array") is not None:
        binary = _read_section(rd, doc["binary_array"], "binary_array", BinaryArray) or binary
    sources = rd.get(doc, "sources", "", default={}) or {}
    if not isinstance(sources, dict):
        rd.problem("sources", sources, "must be a mapping of names to citations")
        sources = {}
    if rd.problems or (units is None or mac is None or add is None or mul is None
                       or buffers is None or dram is None or clock is None or name is None):
        if not rd.problems:
            rd.problem("<document>", "<incomplete>", "a required section could not be read")
        return None
    cfg = HardwareConfig(name=name, clock_mhz=clock, units=units, mac_array=mac, adder_array=add,
                         multiplier_array=mul, buffers=buffers, dram=dram, route=route,
                         area_budget_um2=budget, description=str(description),
                         sources={**table_sources,
                                  **{str(k): str(v) for k, v in sources.items()}},
                         mapping=mapping, binary_array=binary)
    rd.problems.extend(consistency(cfg))
    return None if rd.problems else cfg


def _section(rd: Reader, doc: dict, key: str) -> dict | None:
    """A required mapping-valued section (records a problem if missing or not a mapping)."""
    raw = rd.get(doc, key, "")
    if raw is None:  # missing or null: reported by rd.get
        return None
    return rd.mapping(raw, key)


def _read_units(rd: Reader, raw: Any) -> dict[str, UnitClass] | None:
    if raw is None:
        return None
    raw = rd.mapping(raw, "units")
    if raw is None:
        return None
    out = {}
    keys = [f.name for f in fields(UnitClass) if f.name != "name"]
    for name, u in raw.items():
        path = f"units.{name}"
        u = rd.mapping(u, path)
        if u is None:
            continue
        rd.keys(u, keys, path)
        vals = read_fields(rd, u, path, UnitClass, skip=("name", "executes", "source"))
        executes = u.get("executes", [name])
        if not isinstance(executes, list) or not executes or \
                not all(isinstance(e, str) for e in executes):
            rd.problem(f"{path}.executes", executes,
                       "must be a non-empty list of operation classes")
            continue
        if vals is not None:
            out[str(name)] = UnitClass(name=str(name), executes=tuple(executes),
                                       source=str(u.get("source", "")), **vals)
    return out


def _read_section(rd: Reader, raw: Any, path: str, cls: type) -> Any:
    """One dataclass section, every field by its rule (:func:`accelsim.hw.schema.read_fields`)."""
    if raw is None:
        return None
    raw = rd.mapping(raw, path)
    if raw is None:
        return None
    rd.keys(raw, [f.name for f in fields(cls)], path)
    vals = read_fields(rd, raw, path, cls)
    return None if vals is None else cls(**vals)


def _read_buffers(rd: Reader, raw: Any) -> Buffers | None:
    if raw is None:
        return None
    raw = rd.mapping(raw, "buffers")
    if raw is None:
        return None
    rd.keys(raw, BUFFER_NAMES + OPTIONAL_BUFFERS, "buffers")
    out: dict[str, Sram] = {}
    for name in OPTIONAL_BUFFERS:
        b = raw.get(name)
        sram = _read_section(rd, b, f"buffers.{name}", Sram) if b is not None else None
        if sram is not None:
            out[name] = sram
    for name in BUFFER_NAMES:
        b = rd.get(raw, name, "buffers")
        sram = _read_section(rd, b, f"buffers.{name}", Sram) if b is not None else None
        if sram is not None:
            out[name] = sram
    if not all(name in out for name in BUFFER_NAMES):
        return None
    return Buffers(**out)
