"""Per-layer choices of the mapping: how each systolic stage is laid out on the MAC array.

Where the array supports several dataflows (``mac_array.dataflows``, and the channel-parallel
depthwise mapping), every combination for the layer's systolic stages is mapped and costed
exactly as it would run (memory policy, tiling, each tile's traffic), and the one that
minimises the objective wins: ``throughput`` (the layer's cycle bound: the busiest unit array's
occupancy or the DRAM transfer time, whichever is longer), ``energy`` (SRAM, DRAM and leakage;
the operations cost the same whatever the layout), ``edp`` or ``dram`` (bytes moved to and
from DRAM; ties to fewer cycles, then less energy). Ties go to the layout whose
arrays and DRAM channel are busy for less time in total (less to overlap, less contention),
then to the other criterion, then to the array's own dataflow. Layers that repeat a shape
reuse the decision. Under ``throughput`` the layouts are costed cheapest compute first and the
search stops when a layout's compute alone (a lower bound on its cost) exceeds the best cost
found, so hopeless layouts (a depthwise filter weight-stationary) are never tiled.
"""
from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from accelsim.choices import MappingObjective
from accelsim.errors import CompatibilityError
from accelsim.hw.config import HardwareConfig, MacArray, Sram
from accelsim.hw.rules import leakage_uw
from accelsim.mapping.build import RoutedStage, TimingModel
from accelsim.mapping.memory import StageTiling, plan_layer_memory
from accelsim.mapping.residency import NONE as NO_RESIDENCY
from accelsim.mapping.residency import Residency
from accelsim.mapping.tiler import LayerTiler
from accelsim.mapping.tiles import stage_tiles
from accelsim.mapping.units import SystolicMapping, mappings, systolic_cycles
from accelsim.workload.schema import Stage


class MappingChooser:
    """Chooses the systolic mapping of every layer's systolic stages (see module docstring)."""

    def __init__(self, hw: HardwareConfig, zero_skip: bool, source: str,
                 objective: MappingObjective):
        self.hw, self.zero_skip, self.source, self.objective = hw, zero_skip, source, objective
        self._cache: dict[tuple, tuple[SystolicMapping, ...]] = {}
        self._kept: dict[tuple, dict[int, StageTiling]] = {}
        self._tiled: dict[tuple, dict[int, StageTiling]] = {}
        self._view, self._res = hw, NO_RESIDENCY
        self._grid: tuple[tuple[int, int], ...] | None = None
        self.leak_pj_per_cycle = leakage_uw(hw) * 1e-6 * hw.cycle_s * 1e12

    def choose(self, group: Sequence[RoutedStage], view: HardwareConfig | None = None,
               residency: Residency = NO_RESIDENCY,
               grid: Sequence[tuple[int, int]] | None = None) -> dict[int, SystolicMapping]:
        """The mapping of each systolic stage of one layer's routed stages (by stage index);
        ``view``: the config as the layer sees it (buffers shrunk by the activations kept
        across it, :func:`~accelsim.mapping.residency.buffer_view`), ``residency``: its part
        in the residency plan; ``grid``: the position chunks of a fused pair the layer is cut
        on (:mod:`accelsim.mapping.fusion`)."""
        self._kept.clear()
        self._view = view if view is not None else self.hw
        self._res = residency
        self._grid = tuple(grid) if grid is not None else None
        systolic = [s for s in group if s.timing is TimingModel.SYSTOLIC]
        if not systolic:
            return {}
        mac = self.hw.mac_array
        options = [mappings(mac, s.stage.groups, s.stage.n) for s in systolic]
        combos = list(itertools.product(*options))
        if len(combos) > 1:
            key = (_signature(group, self.zero_skip), residency, self._view.buffers,
                   self._grid)
            if key not in self._cache:
                self._cache[key] = self._best(group, systolic, combos)
            combo = self._cache[key]
        else:
            combo = combos[0]
        return {s.index: m for s, m in zip(systolic, combo)}

    def _best(self, group: Sequence[RoutedStage], systolic: Sequence[RoutedStage],
              combos: list[tuple[SystolicMapping, ...]]) -> tuple[SystolicMapping, ...]:
        order = {c: i for i, c in enumerate(combos)}
        best, best_score = combos[0], (math.inf, math.inf, math.inf, math.inf)
        prune = self.objective is MappingObjective.THROUGHPUT
        if prune:  # cheapest compute first; stop once no layout can beat the best found
            bounds = {c: _compute_bound(systolic, c, self.hw) for c in combos}
            combos = sorted(combos, key=lambda c: bounds[c])
        for combo in combos:
            if prune and bounds[combo] > best_score[0]:
                break
            choice = {s.index: m for s, m in zip(systolic, combo)}
            try:
                cycles, busy, energy, dram = self.cost(group, choice)
            except CompatibilityError:  # a buffer too small for this layout's minimal tile
                continue
            score = self.objective.score(cycles, energy, dram)
            tie = energy if self.objective is not MappingObjective.ENERGY else cycles
            if self.objective is MappingObjective.DRAM:
                busy, tie = cycles, energy
            if (score, busy, tie, order[combo]) < best_score:
                best, best_score = combo, (score, busy, tie, order[combo])
        return best

    def cost(self, group: Sequence[RoutedStage], choice: dict[int, SystolicMapping]
             ) -> tuple[float, float, float, float]:
        """(cycle bound, busy cycles of the arrays and the DRAM channel summed, memory and
        leakage energy in pJ, DRAM bytes moved) of one layer under ``choice``."""
        hw = self._view
        memory = plan_layer_memory(group, hw, choice, self.zero_skip, self._res)
        tilings = LayerTiler(group, memory, hw, self.zero_skip, self.source, choice,
                             self._grid).run()
        self._kept[_key(group, choice)] = tilings
        occupancy, dram, energy = tile_costs(group, tilings, hw, self.zero_skip)
        transfer = math.ceil(dram / hw.dram.bandwidth_bytes_per_cycle)
        cycles = max(max(occupancy.values(), default=0), transfer)
        busy = sum(occupancy.values()) + transfer
        return (float(cycles), float(busy), energy + self.leak_pj_per_cycle * cycles,
                float(dram))


    def tilings(self, group: Sequence[RoutedStage], choice: dict[int, SystolicMapping]
                ) -> dict[int, StageTiling]:
        """The layer's tiling under ``choice``: the one costed while choosing it (when it was
        costed for this very layer), else tiled now."""
        got = self._kept.get(_key(group, choice))
        if got is None:  # a layer identical to an earlier one (same stages, edges, residency
            base = group[0].index  # and buffers) is tiled the same way: reuse its tiling
            same = (_signature(group, self.zero_skip), self._res, self._view.buffers,
                    tuple(sorted((i - base, m) for i, m in choice.items())), self._grid)
            rel = self._tiled.get(same)
            if rel is None:
                memory = plan_layer_memory(group, self._view, choice, self.zero_skip, self._res)
                got = LayerTiler(group, memory, self._view, self.zero_skip, self.source,
                                 choice, self._grid).run()
                self._tiled[same] = {i - base: t for i, t in got.items()}
            else:
                got = {base + i: t for i, t in rel.items()}
        return got


def tile_costs(routed: Sequence[RoutedStage], tilings: Mapping[int, StageTiling],
               hw: HardwareConfig, zero_skip: bool,
               views: Mapping[int, HardwareConfig] | None = None
               ) -> tuple[dict[str, int], int, float]:
    """(occupancy by unit class in cycles, DRAM bytes moved, SRAM and DRAM energy in pJ) of
    the tiles of ``routed`` under ``tilings`` (``views``: each layer's view of the buffers, by
    layer index; default ``hw``)."""
    occupancy: dict[str, int] = {}
    dram = 0
    energy = 0.0
    by_layer: dict[int, dict[str, Sram]] = {}
    for s, _, b, tm, _, _ in stage_tiles(routed, tilings, hw, zero_skip, views):
        bufs = by_layer.get(s.layer_index)
        if bufs is None:
            bufs = by_layer[s.layer_index] = dict(
                (views or {}).get(s.layer_index, hw).buffers.items())
        occupancy[s.unit] = occupancy.get(s.unit, 0) + max(b.cycles, tm.port_cycles)
        moved = sum(tm.dram_read.values()) + sum(tm.dram_write.values())
        dram += moved
        energy += moved * hw.dram.energy_pj_per_byte
        for name, nbytes in tm.sram_read.items():
            energy += nbytes * bufs[name].read_energy_pj_per_byte
        for name, nbytes in tm.sram_write.items():
            energy += nbytes * bufs[name].write_energy_pj_per_byte
    return occupancy, dram, energy


def _key(group: Sequence[RoutedStage], choice: dict[int, SystolicMapping]) -> tuple:
    return (group[0].index, tuple(sorted(choice.items())))


def _compute_bound(systolic: Sequence[RoutedStage], combo: tuple[SystolicMapping, ...],
                   hw: HardwareConfig) -> int:
    """A lower bound on the MAC array's occupancy of a layer under ``combo``: its systolic
    stages' compute cycles, each stage in one run (tiling can only expose more fill, drain and
    load), hence a lower bound on the layer's cycle bound too."""
    return sum(_systolic_cycles(s.stage.m, s.stage.n, s.stage.k, s.stage.groups, hw.mac_array,
                                m) for s, m in zip(systolic, combo))


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
