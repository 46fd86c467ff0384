"""Per-layer choices of the mapping: how each systolic stage is laid out on the MAC array.

Where the array supports several dataflows (``mac_array.dataflows``, and the channel-parallel
depthwise mapping), every combination for the layer's systolic stages is mapped and costed
exactly as it would run (memory policy, tiling, each tile's traffic), and the one that
minimises the objective wins: ``throughput`` (the layer's cycle bound: the busiest unit array's
occupancy or the DRAM transfer time, whichever is longer), ``energy`` (SRAM, DRAM and leakage;
the operations cost the same whatever the layout) or ``edp``. Ties go to the layout whose
arrays and DRAM channel are busy for less time in total (less to overlap, less contention),
then to the other criterion, then to the array's own dataflow. Layers that repeat a shape
reuse the decision.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from accelsim.choices import Objective
from accelsim.errors import CompatibilityError
from accelsim.hw.config import HardwareConfig
from accelsim.hw.rules import leakage_uw
from accelsim.mapping.build import RoutedStage, TimingModel
from accelsim.mapping.memory import plan_layer_memory
from accelsim.mapping.tiler import LayerTiler
from accelsim.mapping.tiles import stage_tiles
from accelsim.mapping.units import SystolicMapping, mappings


class MappingChooser:
    """Chooses the systolic mapping of every layer's systolic stages (see module docstring)."""

    def __init__(self, hw: HardwareConfig, zero_skip: bool, source: str, objective: Objective):
        self.hw, self.zero_skip, self.source, self.objective = hw, zero_skip, source, objective
        self._cache: dict[tuple, tuple[SystolicMapping, ...]] = {}
        self.leak_pj_per_cycle = leakage_uw(hw) * 1e-6 * hw.cycle_s * 1e12

    def choose(self, group: Sequence[RoutedStage]) -> dict[int, SystolicMapping]:
        """The mapping of each systolic stage of one layer's routed stages (by stage index)."""
        systolic = [s for s in group if s.timing is TimingModel.SYSTOLIC]
        if not systolic:
            return {}
        mac = self.hw.mac_array
        options = [mappings(mac, s.stage.groups, s.stage.n) for s in systolic]
        combos = list(itertools.product(*options))
        if len(combos) > 1:
            key = _signature(group)
            if key not in self._cache:
                self._cache[key] = self._best(group, systolic, combos)
            combo = self._cache[key]
        else:
            combo = combos[0]
        return {s.index: m for s, m in zip(systolic, combo)}

    def _best(self, group: Sequence[RoutedStage], systolic: Sequence[RoutedStage],
              combos: list[tuple[SystolicMapping, ...]]) -> tuple[SystolicMapping, ...]:
        best, best_score = combos[0], (math.inf, math.inf, math.inf)
        for combo in combos:
            choice = {s.index: m for s, m in zip(systolic, combo)}
            try:
                cycles, busy, energy = self.cost(group, choice)
            except CompatibilityError:  # a buffer too small for this layout's minimal tile
                continue
            score = self.objective.score(cycles, energy)
            tie = energy if self.objective is not Objective.ENERGY else cycles
            if (score, busy, tie) < best_score:
                best, best_score = combo, (score, busy, tie)
        return best

    def cost(self, group: Sequence[RoutedStage], choice: dict[int, SystolicMapping]
             ) -> tuple[float, float, float]:
        """(cycle bound, busy cycles of the arrays and the DRAM channel summed, memory and
        leakage energy in pJ) of one layer under ``choice``."""
        hw = self.hw
        memory = plan_layer_memory(group, hw, choice, self.zero_skip)
        tilings = LayerTiler(group, memory, hw, self.zero_skip, self.source, choice).run()
        occupancy: dict[str, int] = {}
        dram = 0
        energy = 0.0
        bufs = dict(hw.buffers.items())
        for s, _, b, tm, _, _ in stage_tiles(group, tilings, hw, self.zero_skip):
            occupancy[s.unit] = occupancy.get(s.unit, 0) + max(b.cycles, tm.port_cycles)
            moved = sum(tm.dram_read.values()) + sum(tm.dram_write.values())
            dram += moved
            energy += moved * hw.dram.energy_pj_per_byte
            for name, nbytes in tm.sram_read.items():
                energy += nbytes * bufs[name].read_energy_pj_per_byte
            for name, nbytes in tm.sram_write.items():
                energy += nbytes * bufs[name].write_energy_pj_per_byte
        transfer = math.ceil(dram / hw.dram.bandwidth_bytes_per_cycle)
        cycles = max(max(occupancy.values(), default=0), transfer)
        busy = sum(occupancy.values()) + transfer
        return float(cycles), float(busy), energy + self.leak_pj_per_cycle * cycles


def _signature(group: Sequence[RoutedStage]) -> tuple:
    """What a layer's choice depends on: its stages and their edges (relative indices)."""
    base = group[0].index
    return tuple((s.stage, s.unit, s.op_key, s.timing, s.fused,
                  None if s.producer is None else s.producer - base,
                  tuple(c - base for c in s.consumers)) for s in group)
