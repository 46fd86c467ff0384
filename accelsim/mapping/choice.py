"""Per-layer choices of the mapping: the loop order and tile size of each layer (a pruned
enumeration in the manner of Timeloop's mapper, small enough to stay fast).

The choices: each systolic stage's layout on the MAC array (the array's dataflows,
``mac_array.dataflows``, and the channel-parallel depthwise mapping: WS runs channel folds
outer and re-reads inputs, IS position folds outer and re-reads weights, OS and CP keep outputs
in the PEs); the loop order of each chunk-ordered stage whose weights span several channel
blocks (:class:`~accelsim.mapping.units.ChunkOrder`: position chunks or channel blocks outer);
and the tile size (tiles as large as the buffers hold, or cut to ``1/2**h`` of each tile budget
for ``h`` up to ``mapping.tile_halvings``). Every combination is mapped and costed exactly as it
would run (memory policy, tiling, each tile's traffic), and the one that minimises the
objective wins: ``throughput`` (the layer's cycle bound, the busiest unit array's occupancy or
the DRAM transfer time, whichever is longer, plus the pipeline's exposed first load and last
write-back), ``energy`` (SRAM, DRAM and leakage; the operations cost the same whatever the
mapping), ``edp`` or ``dram`` (bytes moved to and from DRAM; ties to fewer cycles, then less
energy). For each tile size, layouts whose objective is within 1% of the lowest count as ties
(:data:`TIE`), which go to the one whose arrays and DRAM channel are busy for less time in total
(less to overlap, less contention), then to the other criterion, then to the first option (the
array's own dataflow, positions outer); the tile size whose pick scores lowest wins (ties to the
largest tiles). Layers that repeat a shape reuse the
decision. Under ``throughput`` the mappings are costed cheapest compute first and the search
stops when a layout's compute alone (a lower bound on its cost) exceeds the best cost found, so
hopeless layouts (a depthwise filter weight-stationary) are never tiled.
"""
from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from accelsim.choices import MappingObjective
from accelsim.errors import CompatibilityError
from accelsim.hw.config import HardwareConfig, MacArray
from accelsim.hw.rules import leakage_uw
from accelsim.mapping.build import RoutedStage, TimingModel
from accelsim.mapping.memory import (
    StageTiling,
    group_stage,
    plan_layer_memory,
    stored_weight_bytes,
)
from accelsim.mapping.residency import NONE as NO_RESIDENCY
from accelsim.mapping.residency import Residency
from accelsim.mapping.tiler import LayerTiler
from accelsim.mapping.tiles import tile_costs
from accelsim.mapping.units import (
    ChunkOrder,
    Layout,
    SystolicMapping,
    mappings,
    systolic_cycles,
)
from accelsim.workload.schema import Stage


@dataclass(frozen=True)
class LayerChoice:
    """One layer's mapping: ``layouts``, (stage index, layout) of the stages that have a choice
    (systolic stages, chunk-ordered stages whose loop order matters), and ``halvings``: tiles
    cut to ``1/2**halvings`` of each buffer's tile budget (``mapping.tile_halvings``)."""

    layouts: tuple[tuple[int, Layout], ...] = ()
    halvings: int = 0

    def layout(self) -> dict[int, Layout]:
        """The layouts by stage index."""
        return dict(self.layouts)


#: Objectives within this fraction of the lowest count as a tie, settled by the busy time: the
#: cost model's bound assumes a layer's stages overlap perfectly and does not see them contend
#: for the DRAM channel (a layout that moves three times the bytes for a 0.5% lower bound is
#: slower in the engine).
TIE = 0.01


class MappingChooser:
    """Chooses every layer's mapping (see module docstring)."""

    def __init__(self, hw: HardwareConfig, zero_skip: bool, source: str,
                 objective: MappingObjective, overlap: bool = False):
        self.hw, self.zero_skip, self.source, self.objective = hw, zero_skip, source, objective
        self.overlap = overlap
        self._cache: dict[tuple, tuple[tuple[Layout, ...], int]] = {}
        self._kept: dict[tuple, dict[int, StageTiling]] = {}
        self._tiled: dict[tuple, dict[int, StageTiling]] = {}
        self._view, self._res = hw, NO_RESIDENCY
        self._grid: tuple[tuple[int, int], ...] | None = None
        self.leak_pj_per_cycle = leakage_uw(hw) * 1e-6 * hw.cycle_s * 1e12

    def choose(self, group: Sequence[RoutedStage], view: HardwareConfig | None = None,
               residency: Residency = NO_RESIDENCY,
               grid: Sequence[tuple[int, int]] | None = None) -> LayerChoice:
        """One layer's mapping: the layout of each systolic stage and of each chunk-ordered
        stage whose loop order matters, and the tile size; ``view``: the config as the layer
        sees it (buffers shrunk by the activations kept across it,
        :func:`~accelsim.mapping.residency.buffer_view`), ``residency``: its part in the
        residency plan; ``grid``: the position chunks of a fused pair the layer is cut on
        (:mod:`accelsim.mapping.fusion`)."""
        self._kept.clear()
        self._view = view if view is not None else self.hw
        self._res = residency
        self._grid = tuple(grid) if grid is not None else None
        systolic = [s for s in group if s.timing is TimingModel.SYSTOLIC]
        chunked = [s for s in group if self._orders(group, s)]
        mac = self.hw.mac_array
        options: list[tuple[Layout, ...]] = [mappings(mac, s.stage.groups, s.stage.n)
                                             for s in systolic]
        options += [(ChunkOrder.POSITIONS, ChunkOrder.CHANNELS)] * len(chunked)
        stages = systolic + chunked
        combos = [(combo, h) for combo in itertools.product(*options)
                  for h in range(self.hw.mapping.tile_halvings + 1)]
        if len(combos) > 1:
            key = (_signature(group, self.zero_skip), residency, self._view.buffers,
                   self._grid)
            if key not in self._cache:
                self._cache[key] = self._best(group, stages, combos)
            combo, halvings = self._cache[key]
        else:
            combo, halvings = combos[0]
        return LayerChoice(tuple((s.index, m) for s, m in zip(stages, combo)), halvings)

    def _orders(self, group: Sequence[RoutedStage], s: RoutedStage) -> bool:
        """Does the loop order of chunk-ordered stage ``s`` matter: it heads its chunk pipeline
        (no chunk-ordered producer in the layer) and its weights exceed a weight tile (else
        they form one channel block and both orders are the same)?"""
        if not s.chunked:
            return False
        p = group_stage(group, s.producer)
        if p is not None and p.chunked:
            return False
        stored, _ = stored_weight_bytes(s.stage, self._view, self.zero_skip)
        weights = stored + sum(f.weight_bytes for f in s.fused)
        return weights > self._view.buffers.weights.tile_bytes

    def _best(self, group: Sequence[RoutedStage], stages: Sequence[RoutedStage],
              combos: list[tuple[tuple[Layout, ...], int]]) -> tuple[tuple[Layout, ...], int]:
        """Per tile size, the layouts whose objective is within :data:`TIE` of that size's
        lowest and, among those, the one that keeps the arrays and the DRAM channel busy for the
        least time (then the other criterion, then the first option); then the tile size whose
        pick scores lowest (ties to the larger tiles)."""
        order = {c: i for i, c in enumerate(combos)}
        scored: list[tuple[float, tuple[float, float, int], tuple[tuple[Layout, ...], int]]] = []
        lowest = math.inf
        prune = self.objective is MappingObjective.THROUGHPUT
        if prune:  # cheapest compute first; stop once no layout can come near the best found
            bounds = {c: _compute_bound(stages, c[0], self.hw) for c in combos}
            combos = sorted(combos, key=lambda c: bounds[c])
        for combo in combos:
            if prune and bounds[combo] > lowest * (1 + TIE):
                break
            choice = LayerChoice(tuple((s.index, m) for s, m in zip(stages, combo[0])),
                                 combo[1])
            try:
                cycles, busy, energy, dram = self.cost(group, choice)
            except CompatibilityError:  # a buffer too small for this layout's minimal tile
                continue
            score = self.objective.score(cycles, energy, dram)
            tie = energy if self.objective is not MappingObjective.ENERGY else cycles
            if self.objective is MappingObjective.DRAM:
                busy, tie = cycles, energy
            lowest = min(lowest, score)
            scored.append((score, (busy, tie, order[combo]), combo))
        best: dict[int, tuple[float, tuple[Layout, ...]]] = {}
        for h in sorted({c[1] for _, _, c in scored}):  # per tile size, the layouts
            mine = [x for x in scored if x[2][1] == h]
            low = min(x[0] for x in mine)
            pick = min((x for x in mine if x[0] <= low * (1 + TIE)), key=lambda x: x[1])
            best[h] = (pick[0], pick[2][0])
        if not best:
            return min(order, key=order.__getitem__)
        h = min(best, key=lambda k: (best[k][0], k))  # then the tile size, strictly
        return best[h][1], h

    def cost(self, group: Sequence[RoutedStage], choice: LayerChoice
             ) -> tuple[float, float, float, float]:
        """(cycles, busy cycles of the arrays and the DRAM channel summed, memory and leakage
        energy in pJ, DRAM bytes moved) of one layer under ``choice``. The cycles are the
        layer's bound (the busiest array's occupancy, the DRAM channel's transfer time, or a
        stage's loads one after another, each waiting out the DRAM latency, whichever is
        longest) plus what a pipeline of tiles cannot hide: the first tile's load when the
        arrays bound the layer (else its compute), and the last tile's write-back (not under
        the ``overlap`` schedule, where the neighbouring layers' tiles fill those gaps)."""
        hw = self._view
        layouts = choice.layout()
        memory = plan_layer_memory(group, hw, layouts, self.zero_skip, self._res)
        tilings = LayerTiler(group, memory, hw, self.zero_skip, self.source, layouts,
                             choice.halvings, self._grid).run()
        self._kept[_key(group, choice)] = tilings
        c = tile_costs(group, tilings, hw, self.zero_skip)
        transfer = max(math.ceil(c.dram / hw.dram.bandwidth_bytes_per_cycle), c.loads)
        compute = max(c.occupancy.values(), default=0)
        exposed = 0 if c.first is None or self.overlap else \
            c.last_write + (c.first[0] if compute >= transfer else c.first[1])
        cycles = max(compute, transfer) + exposed
        busy = sum(c.occupancy.values()) + transfer
        return (float(cycles), float(busy), c.energy + self.leak_pj_per_cycle * cycles,
                float(c.dram))

    def tilings(self, group: Sequence[RoutedStage], choice: LayerChoice
                ) -> dict[int, StageTiling]:
        """The layer's tiling under ``choice``: the one costed while choosing it (when it was
        costed for this very layer), else tiled now."""
        got = self._kept.get(_key(group, choice))
        if got is None:  # a layer identical to an earlier one (same stages, edges, residency
            base = group[0].index  # and buffers) is tiled the same way: reuse its tiling
            same = (_signature(group, self.zero_skip), self._res, self._view.buffers,
                    tuple(sorted((i - base, m) for i, m in choice.layouts)), choice.halvings,
                    self._grid)
            rel = self._tiled.get(same)
            if rel is None:
                layouts = choice.layout()
                memory = plan_layer_memory(group, self._view, layouts, self.zero_skip,
                                           self._res)
                got = LayerTiler(group, memory, self._view, self.zero_skip, self.source,
                                 layouts, choice.halvings, self._grid).run()
                self._tiled[same] = {i - base: t for i, t in got.items()}
            else:
                got = {base + i: t for i, t in rel.items()}
        return got


def _key(group: Sequence[RoutedStage], choice: LayerChoice) -> tuple:
    return (group[0].index, tuple(sorted(choice.layouts)), choice.halvings)


def _compute_bound(systolic: Sequence[RoutedStage], combo: tuple[Layout, ...],
                   hw: HardwareConfig) -> int:
    """A lower bound on the MAC array's occupancy of a layer under ``combo``: its systolic
    stages' compute cycles, each stage in one run (tiling can only expose more fill, drain and
    load), hence a lower bound on the layer's cycle bound too. (A chunk-ordered stage's loop
    order does not change its compute.)"""
    return sum(_systolic_cycles(s.stage.m, s.stage.n, s.stage.k, s.stage.groups, hw.mac_array,
                                m) for s, m in zip(systolic, combo)
               if isinstance(m, SystolicMapping))


@functools.lru_cache(maxsize=4096)
def _systolic_cycles(m: int, n: int, k: int, groups: int, mac: MacArray,
                     mapping: SystolicMapping) -> int:
    return systolic_cycles(m, n, k, groups, mac, mapping)


def _signature(group: Sequence[RoutedStage], zero_skip: bool) -> tuple:
    """What a layer's choice depends on: its stages and their edges (relative indices); the
    non-zero counts only when zeros are skipped (the dense work is the same otherwise)."""
    base = group[0].index

    def stage(st: Stage) -> Stage:
        return st if zero_skip else replace(st, ops_nonzero=0, ops_nonzero_per_channel=())

    return tuple((stage(s.stage), s.unit, s.op_key, s.timing,
                  tuple(stage(f) for f in s.fused),
                  None if s.producer is None else s.producer - base,
                  tuple(c - base for c in s.consumers)) for s in group)
