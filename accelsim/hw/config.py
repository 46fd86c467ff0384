"""The hardware config: units, arrays, buffers, DRAM and clock. Knows nothing about networks.

Costs are data: each :class:`UnitClass` carries its area, energy per operation and leakage, each
:class:`Sram` its energy per byte, so a new process node is a YAML edit. The YAML form is in
``docs/hwconfig-format.md``; :mod:`accelsim.hw.load` reads and validates it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

_N = TypeVar("_N")

SCHEMA = "accelsim.hwconfig"
SCHEMA_VERSION = 1
BUFFER_NAMES = ("weights", "inputs", "outputs", "hidden")


class Dataflow(StrEnum):
    """Systolic dataflow of the MAC array (SCALE-Sim's names)."""

    WS = "ws"  #: weight-stationary
    OS = "os"  #: output-stationary


def rule(*, minimum: float = 0, strict: bool = False, maximum: float | None = None
         ) -> dict[str, Any]:
    """A field's validation rule, as dataclass field metadata (:mod:`accelsim.hw.schema` reads
    it): numbers ``>= minimum`` (``> minimum`` when ``strict``) and ``<= maximum`` (default: the
    models' 64-bit limit). Fields without a rule are checked as ``>= 0``."""
    md: dict[str, Any] = {"minimum": minimum, "strict": strict}
    if maximum is not None:
        md["maximum"] = maximum
    return md


def unit_sum(counts: Mapping[str, _N], per_unit: Mapping[str, _N]) -> _N:
    """``sum(per_unit[u] * counts[u])`` over the unit classes of ``counts`` that ``per_unit``
    has, in the order of ``counts`` (floats, or numpy arrays of many configs): the one formula
    of a config's compute area and its units' leakage."""
    total: _N = 0.0  # type: ignore[assignment]
    for u, n in counts.items():
        if u in per_unit:
            total = total + per_unit[u] * n  # type: ignore[operator]
    return total


@dataclass(frozen=True)
class UnitClass:
    """One row of the cost table: an arithmetic unit and what it costs.

    ``executes`` lists the operation classes (``mac``, ``add``, ``mul``...) one unit performs,
    one per cycle each. ``area_um2`` per unit, ``energy_pj_per_op`` per operation,
    ``leakage_uw`` per unit while powered.
    """

    name: str
    area_um2: float
    energy_pj_per_op: float
    executes: tuple[str, ...]
    leakage_uw: float = 0.0
    source: str = ""


@dataclass(frozen=True)
class MacArray:
    """An R x C systolic array of fp16 MAC units. ``pipeline_latency_cycles`` is added once per
    tile (operand fetch + multiplier + adder pipeline)."""

    rows: int
    cols: int
    dataflow: Dataflow = Dataflow.WS
    pipeline_latency_cycles: int = 2

    @property
    def count(self) -> int:
        return self.rows * self.cols


@dataclass(frozen=True)
class AdderArray:
    """``count`` fp16 adders organised as trees of ``tree_width`` inputs (a ``tree_width``-term sum
    per tree per cycle, accumulated over cycles); ``latency_cycles`` per tree level is added once
    per tile (log2(tree_width) levels)."""

    count: int
    tree_width: int = field(default=16, metadata=rule(minimum=1))
    latency_cycles: int = 1


@dataclass(frozen=True)
class MultiplierArray:
    """``count`` fp16 multipliers for the ã scaling (elementwise, one product per cycle each)."""

    count: int
    latency_cycles: int = 3


@dataclass(frozen=True)
class Sram:
    """An on-chip buffer. ``bandwidth_bytes_per_cycle`` is its port width; ``double_buffered``
    halves the capacity available to one tile so the next can load while this one computes."""

    size_kib: float = field(metadata=rule(strict=True))
    bandwidth_bytes_per_cycle: float = field(metadata=rule(strict=True))
    read_energy_pj_per_byte: float = 0.0
    write_energy_pj_per_byte: float = 0.0
    double_buffered: bool = True
    leakage_uw: float = 0.0

    @property
    def size_bytes(self) -> int:
        return int(self.size_kib * 1024)

    @property
    def tile_bytes(self) -> int:
        """Bytes one tile may occupy (half the buffer when double-buffered)."""
        return self.size_bytes // 2 if self.double_buffered else self.size_bytes


@dataclass(frozen=True)
class Dram:
    """Off-chip memory shared by every transfer: ``bandwidth_bytes_per_cycle`` at the accelerator
    clock, ``latency_cycles`` per request, ``energy_pj_per_byte`` per byte moved."""

    bandwidth_bytes_per_cycle: float = field(metadata=rule(strict=True))
    latency_cycles: int = 100
    energy_pj_per_byte: float = 0.0


@dataclass(frozen=True)
class Buffers:
    weights: Sram
    inputs: Sram
    outputs: Sram
    hidden: Sram

    def items(self) -> tuple[tuple[str, Sram], ...]:
        return tuple((n, getattr(self, n)) for n in BUFFER_NAMES)


@dataclass(frozen=True)
class HardwareConfig:
    """A complete accelerator. ``route`` maps each operation class to the unit class that runs it
    (default: the unit class of the same name); ``area_budget_um2`` bounds the compute units' area
    (SRAM area is not part of the budget)."""

    name: str
    clock_mhz: float = field(metadata=rule(strict=True))
    units: Mapping[str, UnitClass]
    mac_array: MacArray
    adder_array: AdderArray
    multiplier_array: MultiplierArray
    buffers: Buffers
    dram: Dram
    route: Mapping[str, str] = field(default_factory=dict)
    area_budget_um2: float | None = field(default=None, metadata=rule(strict=True))
    description: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """Number of units of each unit class."""
        return {"mac": self.mac_array.count, "add": self.adder_array.count,
                "mul": self.multiplier_array.count}

    def unit_for(self, op: str) -> str:
        """The unit class that runs operations of class ``op``."""
        return self.route.get(op, op)

    @property
    def compute_area_um2(self) -> float:
        """Area of the compute units (um2): counts x unit areas."""
        return unit_sum(self.counts, {u: c.area_um2 for u, c in self.units.items()})

    @property
    def cycle_s(self) -> float:
        return 1e-6 / self.clock_mhz
