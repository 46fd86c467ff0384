"""Turn an engine run (tile event times) into :class:`~accelsim.results.LayerRecord` s.

Counts (operations, bytes, compute cycles) come from the plan
(:func:`accelsim.mapping.summary.layer_sums`); the run adds each layer's window and its stalls.

Stall cycles of a layer, by cause (docs/engine.md):

* ``dependency`` / ``buffer`` / ``dram``: cycles a unit array sat idle inside the layer's window
  before one of the layer's tiles started, split by what that tile was still waiting for at the
  time: its dependencies, buffer space, or its DRAM load. A tile whose compute is limited by an
  SRAM port adds ``occupancy - compute_cycles`` to ``buffer``.
* ``unit``: cycles a loaded tile, whose stage predecessor had finished, waited because its array
  was serving another stage.
"""
from __future__ import annotations

from accelsim.engine.core import TileLog
from accelsim.hw.config import HardwareConfig
from accelsim.mapping.schedule import Schedule
from accelsim.mapping.summary import layer_sums
from accelsim.results.records import STALL_CAUSES, LayerRecord


def layer_records(plan: Schedule, hw: HardwareConfig, log: TileLog) -> list[LayerRecord]:
    sums = layer_sums(plan, hw)
    n_layers = len(plan.layers)
    first: list[int | None] = [None] * n_layers
    end = [0] * n_layers
    layer_of = [0] * len(plan.tiles)
    for s in plan.stages:
        for tid in s.tiles:
            layer_of[tid] = s.layer
            r = log.ready[tid]
            f = first[s.layer]
            first[s.layer] = r if f is None else min(f, r)
            end[s.layer] = max(end[s.layer], log.done[tid])
    start: list[int] = []
    prev_end = 0
    for li in range(n_layers):  # layers without tiles take no time, right after the previous
        f = first[li]
        if f is None:
            f = end[li] = prev_end
        start.append(f)
        prev_end = end[li]
    stalls = [dict.fromkeys(STALL_CAUSES, 0) for _ in range(n_layers)]
    _attribute(plan, log, layer_of, start, stalls)
    out = []
    for li, rec in enumerate(sums):
        out.append(LayerRecord(
            name=rec.name, start_cycle=int(start[li]), end_cycle=int(end[li]),
            compute_cycles=dict(rec.compute_cycles), busy_cycles=dict(rec.busy_cycles),
            ops=dict(rec.ops), bytes_read=dict(rec.bytes_read),
            bytes_written=dict(rec.bytes_written),
            stall_cycles={k: int(v) for k, v in stalls[li].items()}, tiles=rec.tiles,
            mapping=dict(rec.mapping)))
    return out


def _attribute(plan: Schedule, log: TileLog, layer_of: list[int], start: list,
               stalls: list[dict]) -> None:
    by_unit: dict[str, list[int]] = {}
    for s in plan.stages:
        by_unit.setdefault(s.unit, []).extend(s.tiles)
    prev_same: dict[int, int] = {}
    for s in plan.stages:
        last = None
        for tid in s.tiles:
            prev_same[tid] = log.end[last] if last is not None else -1
            last = tid
    for tids in by_unit.values():
        tids.sort(key=lambda t: (log.start[t], t))
        unit_free = 0
        for tid in tids:
            t = plan.tiles[tid]
            st = stalls[layer_of[tid]]
            t0 = log.start[tid]
            gap_from = max(unit_free, start[layer_of[tid]])
            if t0 > gap_from:  # the array idled before this tile: why?
                cut = gap_from
                for cause, when in (("dependency", log.ready[tid]),
                                    ("buffer", log.reserved[tid]), ("dram", log.loaded[tid])):
                    upto = min(max(when, cut), t0)
                    st[cause] += upto - cut
                    cut = upto
                st["unit"] += t0 - cut
            waited_from = max(log.loaded[tid], prev_same[tid])
            contention = min(t0, unit_free) - waited_from
            if contention > 0:
                st["unit"] += contention
            st["buffer"] += t.occupancy - t.compute_cycles
            unit_free = max(unit_free, log.end[tid])
