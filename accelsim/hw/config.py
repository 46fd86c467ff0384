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

from accelsim.choices import FusionPolicy, MappingObjective, MemoryPolicy

_N = TypeVar("_N")

SCHEMA = "accelsim.hwconfig"
SCHEMA_VERSION = 1
BUFFER_NAMES = ("weights", "inputs", "outputs", "hidden")
#: Buffers a config may declare or leave out.
OPTIONAL_BUFFERS = ("activations",)
#: Buffers that may hold activations between layers (``mapping.activation_buffer``).
ACTIVATION_BUFFERS = ("outputs", "activations")


class Dataflow(StrEnum):
    """Systolic dataflow of the MAC array (SCALE-Sim's names).

    ``ws``: rows hold terms, columns channels, positions stream (weights stationary);
    ``os``: rows hold positions, columns channels, terms stream (outputs stationary);
    ``is``: rows hold terms, columns positions, channels stream (inputs stationary)."""

    WS = "ws"  #: weight-stationary
    OS = "os"  #: output-stationary
    IS = "is"  #: input-stationary


class Loading(StrEnum):
    """How the stationary operand (WS weights, IS inputs) enters the array: ``blocking`` (the
    array waits R cycles per fold while it shifts in, as SCALE-Sim models it) or
    ``double_buffered`` (the next fold's operand shifts into shadow registers while the current
    fold computes, as in TPU-style arrays; only the first fold of a tile waits)."""

    BLOCKING = "blocking"
    DOUBLE_BUFFERED = "double_buffered"


class DepthwiseMapping(StrEnum):
    """How a grouped (depthwise) stage maps on the MAC array: ``block_diagonal`` (groups packed
    on the diagonal of a WS/OS fold, zero weights elsewhere) or ``channel_parallel`` (columns
    hold channels, rows output positions, each PE accumulates its k*k terms over time, inputs
    shifted between neighbouring PEs: what depthwise-aware accelerators do)."""

    BLOCK_DIAGONAL = "block_diagonal"
    CHANNEL_PARALLEL = "channel_parallel"


class ZeroHandling(StrEnum):
    """What zero ternary weights cost when zero-skipping is asked for: ``skip`` (not fetched,
    no cycle, no energy; the weights are stored sparse) or ``gate`` (clock-gated: no energy,
    but the cycle is spent and the weights stay dense)."""

    SKIP = "skip"
    GATE = "gate"


class SparseFormat(StrEnum):
    """How zero-skipped ternary weights are stored: ``bitmask`` (one bit per weight saying
    whether it is non-zero, one sign bit per non-zero), ``index`` (per non-zero: a sign bit and
    its term's index, ``ceil(log2 k)`` bits) or ``none`` (the dense 2-bit form: no metadata
    counted; legacy)."""

    BITMASK = "bitmask"
    INDEX = "index"
    NONE = "none"


class UnsharedOperands(StrEnum):
    """How adder trees get operands no other tree shares (a depthwise sum's window, a broadcast
    group spanning several input groups): over the group's broadcast bus (``bus``, limited by
    ``operand_bus_terms``) or through a private per-tree feed (``private``: a line buffer per
    tree, the adder-array counterpart of the MAC array's channel-parallel depthwise mapping,
    whose PEs each read their own operand every cycle)."""

    BUS = "bus"
    PRIVATE = "private"


def rule(*, minimum: float = 0, strict: bool = False, maximum: float | None = None,
         power_of_two: bool = False, why: str = "") -> dict[str, Any]:
    """A field's validation rule, as dataclass field metadata (:mod:`accelsim.hw.schema` reads
    it): numbers ``>= minimum`` (``> minimum`` when ``strict``) and ``<= maximum`` (default: the
    models' 64-bit limit); integers that must be a ``power_of_two``; ``why`` says what the
    field is in the error message. Fields without a rule are checked as ``>= 0``."""
    md: dict[str, Any] = {"minimum": minimum, "strict": strict}
    if maximum is not None:
        md["maximum"] = maximum
    if power_of_two:
        md["power_of_two"] = True
    if why:
        md["why"] = why
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
    tile (operand fetch + multiplier + adder pipeline).

    ``dataflow`` is the array's dataflow; ``dataflows`` the ones it supports (the mapping picks
    one per stage among them; empty: only ``dataflow``). ``loading`` of the stationary operand,
    ``fold_pipelining`` (the next fold's skewed fill overlaps the current fold's drain) and the
    ``depthwise`` mapping are microarchitecture choices; the defaults are SCALE-Sim's (blocking
    loads, no pipelining, block-diagonal depthwise). ``operand_energy_pj_per_op``: energy (pJ)
    of moving one operation's operands inside the array (per-PE register files, PE-to-PE hops),
    per operation the array executes (0: not priced; sourced presets in
    ``accelsim/data/energy/operands.yaml``)."""

    rows: int
    cols: int
    dataflow: Dataflow = Dataflow.WS
    pipeline_latency_cycles: int = 2
    dataflows: tuple[Dataflow, ...] = ()
    loading: Loading = Loading.BLOCKING
    fold_pipelining: bool = False
    depthwise: DepthwiseMapping = DepthwiseMapping.BLOCK_DIAGONAL
    operand_energy_pj_per_op: float = 0.0

    @property
    def supported(self) -> tuple[Dataflow, ...]:
        """The dataflows the mapping may choose from (``dataflow`` first)."""
        return tuple(dict.fromkeys((self.dataflow, *self.dataflows)))

    @property
    def count(self) -> int:
        return self.rows * self.cols


@dataclass(frozen=True)
class AdderArray:
    """``count`` fp16 adders organised as trees of ``tree_width`` inputs (a ``tree_width``-term sum
    per tree per cycle, accumulated over cycles); ``latency_cycles`` per tree level is added once
    per tile (log2(tree_width) levels).

    Operand delivery: ``broadcast_trees`` trees (0: all, ideally) share one read of a position's
    operands from the input buffer, delivered over a bus of ``operand_bus_terms`` terms per
    cycle (0: no limit), so a position takes at least ``ceil(terms / operand_bus_terms)``
    cycles (with ``unshared_operands: private``, only for operands the group shares);
    ``lockstep_trees`` trees work in lockstep on one position (different channels) and
    wait for their slowest member when zero terms are skipped. ``zero_handling`` and
    ``sparse_format`` say what zero-skipping does and costs. The defaults (one broadcast to all
    trees, no bus limit, independent trees, skip, dense storage) are the earlier, idealised
    model; the realistic configs set all of them. ``operand_energy_pj_per_op``: energy (pJ) of
    moving one addition's operands inside the trees, per addition (0: not priced)."""

    count: int
    tree_width: int = field(default=16, metadata=rule(minimum=1))
    latency_cycles: int = 1
    broadcast_trees: int = 0
    operand_bus_terms: int = 0
    lockstep_trees: int = field(default=1, metadata=rule(minimum=1))
    zero_handling: ZeroHandling = ZeroHandling.SKIP
    sparse_format: SparseFormat = SparseFormat.NONE
    unshared_operands: UnsharedOperands = UnsharedOperands.BUS
    operand_energy_pj_per_op: float = 0.0


@dataclass(frozen=True)
class MultiplierArray:
    """``count`` fp16 multipliers for the ã scaling (elementwise, one product per cycle each)."""

    count: int
    latency_cycles: int = 3


@dataclass(frozen=True)
class BinaryArray:
    """``lanes`` binary (XNOR-popcount) lanes of ``word_bits`` bits each (a power of two): a
    lane xors a ``word_bits``-bit activation word with a weight word, counts the ones and adds
    the count into its accumulator, one *word operation* per cycle, so the array performs
    ``lanes`` word operations per cycle. A binary dot product of ``k`` bits takes
    ``ceil(k / word_bits)`` word operations on one lane; ``latency_cycles`` of pipeline
    (xnor, popcount tree, accumulate) are added once per tile. The scaling of the dot products
    is a stage of its own (``mul``). No lanes (the default): the config has no binary units."""

    lanes: int = 0
    word_bits: int = field(default=64, metadata=rule(
        minimum=1, power_of_two=True, why="bits per packed word"))
    latency_cycles: int = 2

    @property
    def count(self) -> int:
        return self.lanes


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
    clock, ``latency_cycles`` per request, ``energy_pj_per_byte`` per byte moved.
    ``pipelined_loads``: a stage's loader issues its next tile's load as soon as the channel has
    sent the previous one, so several loads are in flight and each waits out the latency on its
    own (as a DMA engine with outstanding requests does; bounded by buffer space); off, a
    stage has one load in flight and waits out each one's latency before the next."""

    bandwidth_bytes_per_cycle: float = field(metadata=rule(strict=True))
    latency_cycles: int = 100
    energy_pj_per_byte: float = 0.0
    pipelined_loads: bool = False


@dataclass(frozen=True)
class MappingPolicy:
    """What the mapping optimises when it has a choice (a systolic stage's dataflow, ...):
    ``objective`` ``throughput`` (cycles), ``energy`` or ``edp``; where activations live between
    layers (``memory``, :class:`~accelsim.choices.MemoryPolicy`) and which buffer holds the
    resident ones (``activation_buffer``: ``outputs``, or the optional ``activations`` global
    buffer). The command line's ``--objective`` and ``--memory`` override them for one run.
    ``prefetch_weights``: under the ``overlap`` schedule, a tile may load its weights before its
    input dependencies are met (docs/engine.md, section 6); ``sequential`` never prefetches.
    ``line_buffer``: the input buffer keeps the rows (window columns) a convolution tile shares
    with the next tile of the same channels, so input halos are loaded once (docs/engine.md,
    section 3); off, every tile loads its whole receptive field.
    ``tile_halvings``: tile sizes the mapper searches per layer: 0, tiles are the largest the
    buffers hold; ``n``, also tiles cut to a half, a quarter, ... ``1/2**n`` of each buffer's
    tile budget, the one that minimises the objective (with the pipeline's exposed first load
    and last write-back) wins (docs/engine.md, section 2). ``fusion``
    (:class:`~accelsim.choices.FusionPolicy`): whether a layer and its sole consumer run fused,
    chunk by chunk, their intermediate map kept in the activation buffer (docs/engine.md,
    section 4); the command line's ``--fusion`` overrides it."""

    objective: MappingObjective = MappingObjective.THROUGHPUT
    memory: MemoryPolicy = MemoryPolicy.ROUNDTRIP
    activation_buffer: str = "outputs"
    prefetch_weights: bool = True
    line_buffer: bool = True
    tile_halvings: int = field(default=0, metadata=rule(maximum=6, why="halvings of the tile "
                                                                        "budget searched"))
    fusion: FusionPolicy = FusionPolicy.OFF


@dataclass(frozen=True)
class Buffers:
    weights: Sram
    inputs: Sram
    outputs: Sram
    hidden: Sram
    #: optional global buffer for activations kept on chip between layers
    activations: Sram | None = None

    def items(self) -> tuple[tuple[str, Sram], ...]:
        """(name, buffer) of every buffer the config has (the optional ones when declared)."""
        out = [(n, getattr(self, n)) for n in BUFFER_NAMES]
        out += [(n, getattr(self, n)) for n in OPTIONAL_BUFFERS if getattr(self, n) is not None]
        return tuple(out)


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
    mapping: MappingPolicy = field(default_factory=MappingPolicy)
    binary_array: BinaryArray = field(default_factory=BinaryArray)

    @property
    def counts(self) -> dict[str, int]:
        """Number of units of each unit class (``xnor``: binary lanes)."""
        return {"mac": self.mac_array.count, "add": self.adder_array.count,
                "mul": self.multiplier_array.count, "xnor": self.binary_array.lanes}

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
