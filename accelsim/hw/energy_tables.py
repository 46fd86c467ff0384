"""Sourced energy tables (data in ``accelsim/data/energy/*.yaml``) and their lookup.

* SRAM energy per access by capacity and word width (``sram_*.yaml``: CACTI 7 at 45 and 28 nm,
  Horowitz 2014 at 45 nm), interpolated log-log between the published points; leakage by
  capacity from the same rows.
* DRAM technology presets in pJ/bit (``dram.yaml``).
* Operand movement inside the arrays, pJ per operation (``operands.yaml``).

:func:`resolve_tables` is the loader's hook: it replaces table names in a config document by the
numbers they stand for and returns, for each, the line that goes into the config's ``sources``.
Every table, its source and node: docs/energy-tables.md.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from accelsim.errors import Problem

_SRAM_FILES = ("sram_cacti7.yaml", "sram_horowitz2014.yaml")
#: Sram fields that may name an SRAM table, and the table column each reads.
SRAM_FIELDS = {"read_energy_pj_per_byte": "read_pj", "write_energy_pj_per_byte": "write_pj",
               "leakage_uw": "leakage_mw"}
_ARRAYS = ("mac_array", "adder_array")


@dataclass(frozen=True)
class SramPoint:
    """One published SRAM: capacity (KiB), word width (bits), energy per word read / written
    (pJ), standby leakage (mW) and area (mm2); None where the source gives none."""

    size_kib: float
    width_bits: int
    read_pj: float | None
    write_pj: float | None
    leakage_mw: float | None
    area_mm2: float | None


@dataclass(frozen=True)
class SramTable:
    """A named SRAM table: its technology node (nm), source and points."""

    name: str
    node_nm: int
    source: str
    points: tuple[SramPoint, ...]

    @property
    def widths(self) -> tuple[int, ...]:
        return tuple(sorted({p.width_bits for p in self.points}))


@dataclass(frozen=True)
class Preset:
    """A named value (``unit``: ``pJ/bit`` for DRAM, ``pJ/op`` for operand movement)."""

    name: str
    value: float
    unit: str
    source: str


class TableRangeError(ValueError):
    """A lookup outside a table: ``field`` names the config value at fault."""

    def __init__(self, field: str, value: object, why: str):
        super().__init__(why)
        self.field, self.value, self.why = field, value, why


def _load(name: str) -> dict[str, Any]:
    text = resources.files("accelsim.data").joinpath("energy", name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


@cache
def sram_tables() -> dict[str, SramTable]:
    """Every SRAM table by name."""
    out = {}
    for fname in _SRAM_FILES:
        doc = _load(fname)
        for name, t in doc["tables"].items():
            pts = tuple(SramPoint(float(r[0]), int(r[1]), *r[2:6]) for r in t["rows"])
            out[name] = SramTable(name, int(t["node_nm"]), str(doc["source"]), pts)
    return out


@cache
def dram_technologies() -> dict[str, Preset]:
    """DRAM technology presets by name (pJ/bit)."""
    doc = _load("dram.yaml")["technologies"]
    return {k: Preset(k, float(v["pj_per_bit"]), "pJ/bit", str(v["source"]))
            for k, v in doc.items()}


@cache
def operand_presets() -> dict[str, Preset]:
    """Operand-movement presets by name (pJ per operation)."""
    doc = _load("operands.yaml")["presets"]
    return {k: Preset(k, float(v["pj_per_op"]), "pJ/op", f"{v['composition']}; {v['source']}")
            for k, v in doc.items()}


def _loglog(x: float, x0: float, x1: float, y0: float, y1: float) -> float:
    if x0 == x1:
        return y0
    t = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))
    return math.exp(math.log(y0) + t * (math.log(y1) - math.log(y0)))


def _bracket(values: list[float], x: float) -> tuple[float, float] | None:
    """The neighbours of ``x`` in sorted ``values`` (equal when ``x`` is one), None outside."""
    if not values or x < values[0] or x > values[-1]:
        return None
    for a, b in zip(values, values[1:]):
        if a <= x <= b:
            return (a, a) if x == a else (b, b) if x == b else (a, b)
    return values[0], values[0]


def _along_size(table: SramTable, column: str, width: int, size_kib: float) -> float:
    pts = {p.size_kib: getattr(p, column) for p in table.points
           if p.width_bits == width and getattr(p, column) is not None}
    sizes = sorted(pts)
    br = _bracket(sizes, size_kib)
    if br is None:
        span = f"{sizes[0]:g}-{sizes[-1]:g} KiB" if sizes else "no capacities"
        raise TableRangeError("size_kib", size_kib, f"outside table {table.name}'s range "
                              f"{span} at {width}-bit words")
    return _loglog(size_kib, br[0], br[1], pts[br[0]], pts[br[1]])


def sram_lookup(table: SramTable, column: str, size_kib: float, width_bits: float) -> float:
    """``column`` (``read_pj``/``write_pj`` per word, ``leakage_mw``) of ``table`` at
    ``size_kib`` and a ``width_bits`` word, interpolated log-log in capacity, then in width.
    A table of one word width answers for that width (energies then scale per byte).
    Raises :class:`TableRangeError` outside the table or for a column it does not give."""
    if all(getattr(p, column) is None for p in table.points):
        what = {"read_pj": "read energies", "write_pj": "write energies",
                "leakage_mw": "leakage"}.get(column, column)
        raise TableRangeError(column, table.name, f"table {table.name} gives no {what}")
    widths = table.widths
    if len(widths) == 1:
        return _along_size(table, column, widths[0], size_kib)
    br = _bracket([float(w) for w in widths], float(width_bits))
    if br is None:
        raise TableRangeError("bandwidth_bytes_per_cycle", width_bits / 8,
                              f"a {width_bits:g}-bit word is outside table {table.name}'s "
                              f"widths {widths[0]}-{widths[-1]} bits")
    lo = _along_size(table, column, int(br[0]), size_kib)
    hi = _along_size(table, column, int(br[1]), size_kib)
    return _loglog(width_bits, br[0], br[1], lo, hi)


def sram_value(table: SramTable, field: str, size_kib: float, port_bytes: float) -> float:
    """The Sram ``field`` (:data:`SRAM_FIELDS`) of a ``size_kib`` buffer whose port is
    ``port_bytes`` wide, from ``table``: pJ per byte (a word's energy over its bytes; the
    table's word width when it has only one) or leakage in uW."""
    column = SRAM_FIELDS[field]
    width = port_bytes * 8
    value = sram_lookup(table, column, size_kib, width)
    if column == "leakage_mw":
        return value * 1000.0
    word = table.widths[0] if len(table.widths) == 1 else width
    return value / (word / 8)


def _known(names: Mapping[str, object]) -> str:
    return ", ".join(sorted(names))


def resolve_tables(doc: Any) -> tuple[Any, dict[str, str], list[Problem]]:
    """A copy of config document ``doc`` with table names replaced by numbers, the ``sources``
    lines of the values it filled in (keyed by dotted field), and the problems found (unknown
    names, lookups outside a table). Table references:

    * ``buffers.<b>.read_energy_pj_per_byte`` / ``write_energy_pj_per_byte`` / ``leakage_uw``:
      an SRAM table name, looked up at the buffer's ``size_kib`` and port width
      (``bandwidth_bytes_per_cycle`` x 8 bits);
    * ``dram.technology``: a DRAM preset, giving ``energy_pj_per_byte`` (8 x pJ/bit) unless the
      document sets it (an explicit number wins); the key itself is removed;
    * ``mac_array.operand_energy_pj_per_op`` / ``adder_array.operand_energy_pj_per_op``: an
      operand-movement preset name.

    Parts of the document that are not mappings are left for the loader to report."""
    if not isinstance(doc, dict):
        return doc, {}, []
    doc = copy.deepcopy(doc)
    sources: dict[str, str] = {}
    problems: list[Problem] = []
    buffers = doc.get("buffers")
    if isinstance(buffers, dict):
        for bname, sram in buffers.items():
            if isinstance(sram, dict):
                _resolve_sram(f"buffers.{bname}", sram, sources, problems)
    dram = doc.get("dram")
    if isinstance(dram, dict) and "technology" in dram:
        tech = dram.pop("technology")
        presets = dram_technologies()
        if not isinstance(tech, str) or tech not in presets:
            problems.append(Problem("dram.technology", tech, "unknown DRAM technology; known: "
                                    + _known(presets)))
        elif "energy_pj_per_byte" not in dram:
            p = presets[tech]
            dram["energy_pj_per_byte"] = 8 * p.value
            sources["dram.energy_pj_per_byte"] = (f"{tech}: {p.value:g} pJ/bit = "
                                                  f"{8 * p.value:g} pJ/B ({p.source})")
    for array in _ARRAYS:
        sec = doc.get(array)
        key = "operand_energy_pj_per_op"
        if isinstance(sec, dict) and isinstance(sec.get(key), str):
            presets_op = operand_presets()
            name = sec[key]
            if name not in presets_op:
                problems.append(Problem(f"{array}.{key}", name, "unknown operand-energy preset; "
                                        f"known: {_known(presets_op)} (or a number)"))
                sec[key] = 0.0
                continue
            p = presets_op[name]
            sec[key] = p.value
            sources[f"{array}.{key}"] = f"{name}: {p.value:g} pJ/op ({p.source})"
    return doc, sources, problems


def _resolve_sram(path: str, sram: dict, sources: dict[str, str],
                  problems: list[Problem]) -> None:
    tables = sram_tables()
    for field in SRAM_FIELDS:
        name = sram.get(field)
        if not isinstance(name, str):
            continue
        sram[field] = 0.0  # what remains if the lookup fails (its problem is reported)
        if name not in tables:
            problems.append(Problem(f"{path}.{field}", name, "unknown energy table; known: "
                                    f"{_known(tables)} (or a number)"))
            continue
        size, port = sram.get("size_kib"), sram.get("bandwidth_bytes_per_cycle")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
                   for v in (size, port)):
            continue  # the loader reports the bad size or port width
        assert isinstance(size, (int, float)) and isinstance(port, (int, float))
        table = tables[name]
        try:
            value = sram_value(table, field, float(size), float(port))
        except TableRangeError as exc:
            if exc.field in SRAM_FIELDS.values():
                problems.append(Problem(f"{path}.{field}", name, exc.why))
            else:
                raw = size if exc.field == "size_kib" else port
                problems.append(Problem(f"{path}.{exc.field}", raw, f"{exc.why}, asked by "
                                        f"{path}.{field}: {name}"))
            continue
        sram[field] = value
        unit = "uW" if field == "leakage_uw" else "pJ/B"
        sources[f"{path}.{field}"] = (f"{name} at {size:g} KiB, {port * 8:g}-bit port: "
                                      f"{value:.4g} {unit} ({table.source}; {table.node_nm} nm)")
