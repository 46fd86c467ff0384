"""The mapping's output: a :class:`Schedule` of :class:`Tile` s, consumed by both the analytic
bound and the discrete-event engine (frozen, plain numbers, no hardware objects).
:func:`accelsim.mapping.mapper.map_workload` builds it."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from accelsim.choices import SchedulePolicy
from accelsim.mapping.build import TimingModel


@dataclass(frozen=True)
class Tile:
    """One unit of work moved and computed as a whole.

    ``m``/``n``/``k``: the ``[lo, hi)`` box of its stage's positions x channels x terms.
    ``chunk``: position-chunk index for chunk-ordered stages (-1 otherwise).
    ``ops``: operations of the stage's class it executes (dense or non-zero, per the schedule);
    ``fused_ops``: operations of stages fused into it (a bias preloaded into the MAC
    accumulators), which take no cycles. ``compute_cycles``: cycles its unit array is occupied by
    the arithmetic (fill, drain and pipeline latency included); ``port_cycles``: cycles the
    busiest SRAM port needs for its array-side traffic (the array is occupied for the max of
    both). ``alloc``/``free``: buffer bytes reserved before its load and released when it
    completes (a forwarded or resident slice is allocated by one tile and freed by another).
    ``dram_read``/``dram_write``: bytes by kind (``weights``, ``inputs``, ``outputs``,
    ``partials``, ``spill``). ``sram_read``/``sram_write``: bytes per buffer, array and DMA side.
    ``deps``: tiles (ids) that must complete before this one may reserve its buffers.
    """

    id: int
    stage: int
    m: tuple[int, int]
    n: tuple[int, int]
    k: tuple[int, int]
    chunk: int
    folds: int
    ops: int
    fused_ops: int
    compute_cycles: int
    port_cycles: int
    alloc: Mapping[str, int]
    free: Mapping[str, int]
    dram_read: Mapping[str, int]
    dram_write: Mapping[str, int]
    sram_read: Mapping[str, int]
    sram_write: Mapping[str, int]
    deps: tuple[int, ...] = ()

    @property
    def occupancy(self) -> int:
        """Cycles the unit array is held: ``max(compute_cycles, port_cycles)``."""
        return max(self.compute_cycles, self.port_cycles)

    @property
    def dram_read_bytes(self) -> int:
        return sum(self.dram_read.values())

    @property
    def dram_write_bytes(self) -> int:
        return sum(self.dram_write.values())


@dataclass(frozen=True)
class StagePlan:
    """How one stage runs: on ``unit`` (a unit class), its operations counted under ``op_key``
    (``"add"`` or ``"add@mac"``), fused stages' operations under ``fused_key``; ``timing`` is
    its timing model; ``tiles`` the ids of its tiles in execution order; ``after`` stages (indices)
    that must complete before any of its tiles starts (the layer barrier of the sequential
    schedule included)."""

    index: int
    layer: int
    layer_name: str
    name: str
    role: str
    unit: str
    op_key: str
    timing: TimingModel
    tiles: tuple[int, ...]
    after: tuple[int, ...] = ()
    fused: tuple[str, ...] = ()
    fused_key: str = ""
    notes: tuple[str, ...] = ()
    #: how the stage is laid out on its array: a systolic mapping (``ws``, ``os``, ``is``,
    #: ``cp``) or the timing model's name for other units (``tree``, ``binary``,
    #: ``elementwise``; ``tree/channels`` etc. when it runs channel blocks outer)
    mapping: str = ""


@dataclass(frozen=True)
class Schedule:
    """A mapped workload: stages and tiles in priority order (lower tile id = served first).

    ``policy``: how layers follow each other; ``layers``: layer names in workload order;
    ``hw``/``workload``: names; ``meta``: workload and config hashes; ``prefetch``: tiles may
    load their weights before their dependencies are met (:meth:`prefetch_bytes`; only under
    ``overlap``, when the config's ``mapping.prefetch_weights`` allows it)."""

    workload: str
    hw: str
    policy: SchedulePolicy
    zero_skip: bool
    layers: tuple[str, ...]
    stages: tuple[StagePlan, ...]
    tiles: tuple[Tile, ...]
    meta: Mapping[str, object] = field(default_factory=dict)
    prefetch: bool = False

    def prefetch_bytes(self) -> list[int]:
        """Per tile id, the DRAM weight bytes it may load ahead of its dependencies (0: none).

        A tile qualifies when the plan prefetches, it is the first tile of its stage and waits
        for an earlier layer (its stage's ``after`` stages or its ``deps``: the next layer's
        first tiles), it loads weights from DRAM into the weights buffer (``dram_read['weights']``
        with ``alloc['weights']``), and every tile it waits for has a lower id: the engine lets it
        prefetch only once every lower id holds its buffers, so it never holds space that a tile
        it waits for still needs (docs/engine.md, section 6)."""
        out = [0] * len(self.tiles)
        if not self.prefetch:
            return out
        layer_of = {t: s.layer for s in self.stages for t in s.tiles}
        for s in self.stages:
            if not s.tiles:
                continue
            t = self.tiles[s.tiles[0]]
            w = t.dram_read.get("weights", 0)
            if not (w and t.alloc.get("weights", 0)):
                continue
            waits = [u for a in s.after for u in self.stages[a].tiles] + list(t.deps)
            if all(u < t.id for u in waits) and any(layer_of[u] < s.layer for u in waits):
                out[t.id] = w
        return out

    def stage_of(self, tile: Tile) -> StagePlan:
        return self.stages[tile.stage]

    def layer_tiles(self, layer: int) -> list[Tile]:
        return [self.tiles[t] for s in self.stages if s.layer == layer for t in s.tiles]

    def compute_cycles(self) -> dict[str, dict[str, int]]:
        """Compute cycles per layer and unit class (fill/drain included, no stalls): e.g.
        ``plan.compute_cycles()["pw1"]["mac"]`` is what SCALE-Sim calls the layer's compute
        cycles when the config matches its array."""
        out: dict[str, dict[str, int]] = {name: {} for name in self.layers}
        for s in self.stages:
            row = out[s.layer_name]
            row[s.unit] = row.get(s.unit, 0) + sum(self.tiles[t].compute_cycles
                                                   for t in s.tiles)
        return out
