"""Turn an engine run (tile event times) into :class:`~accelsim.results.LayerRecord` s.

Counts (operations, bytes, compute cycles) come from the plan
(:func:`accelsim.mapping.summary.layer_sums`); the run adds each layer's window
(``start_cycle``: the first of its tiles is ready; ``end_cycle``: the last is written back) and,
per unit array the layer uses, where the array's cycles inside that window went
(``unit_stall_cycles``, docs/results.md):

* ``compute_cycles[u]``: the array computed one of the layer's tiles (fill and drain included);
* ``buffer``: the array was held by one of the layer's tiles beyond its compute cycles because
  an SRAM port was the bottleneck, or sat idle while the layer's next tile waited for buffer
  space;
* ``dependency`` / ``dram``: the array sat idle while the layer's next tile on it waited for its
  producer tiles / for its DRAM load;
* ``unit``: the array was serving another layer's tiles (``overlap`` schedule), or sat idle
  while a loaded tile was handed to it;
* ``idle``: the array had no work of this layer left (after its last tile of the layer, while the
  layer's other arrays or write-backs finish).

For every unit class ``u`` of a layer, ``compute_cycles[u] + sum(unit_stall_cycles[u].values())
== cycles`` exactly. ``stall_cycles[cause]`` is the sum over the layer's arrays of
``unit_stall_cycles[u][cause]`` for the four stall causes (``idle`` excluded): each array's part
is at most the layer's cycles, the sum over several arrays may exceed them.
"""
from __future__ import annotations

from bisect import bisect_right

from accelsim.engine.core import TileLog
from accelsim.hw.config import HardwareConfig
from accelsim.mapping.schedule import Schedule
from accelsim.mapping.summary import layer_sums
from accelsim.results.records import STALL_CAUSES, UNIT_WAITS, LayerRecord


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
    waits = _unit_waits(plan, log, layer_of, start, end)
    out = []
    for li, rec in enumerate(sums):
        per_unit = {u: waits[li].get(u) or {**dict.fromkeys(UNIT_WAITS, 0),
                                            "idle": end[li] - start[li]}
                    for u in rec.compute_cycles}
        stalls = {c: int(sum(w[c] for w in per_unit.values())) for c in STALL_CAUSES}
        out.append(LayerRecord(
            name=rec.name, start_cycle=int(start[li]), end_cycle=int(end[li]),
            compute_cycles=dict(rec.compute_cycles), busy_cycles=dict(rec.busy_cycles),
            ops=dict(rec.ops), bytes_read=dict(rec.bytes_read),
            bytes_written=dict(rec.bytes_written), stall_cycles=stalls, tiles=rec.tiles,
            unit_stall_cycles={u: {c: int(w[c]) for c in UNIT_WAITS}
                               for u, w in sorted(per_unit.items())},
            mapping=dict(rec.mapping)))
    return out


def _unit_waits(plan: Schedule, log: TileLog, layer_of: list[int], start: list[int],
                end: list[int]) -> list[dict[str, dict[str, int]]]:
    """Per layer and unit class, the array's non-compute cycles inside the layer's window by
    cause (see the module docstring). An array serves one tile at a time, so its tiles sorted
    by start are also sorted by end."""
    out: list[dict[str, dict[str, int]]] = [{} for _ in start]
    by_unit: dict[str, list[int]] = {}
    for s in plan.stages:
        by_unit.setdefault(s.unit, []).extend(s.tiles)
    for unit, tids in by_unit.items():
        tids.sort(key=lambda t: (log.start[t], t))
        ends = [log.end[t] for t in tids]
        own: dict[int, list[int]] = {}
        for i, t in enumerate(tids):
            own.setdefault(layer_of[t], []).append(i)
        for li, idxs in own.items():
            w = dict.fromkeys(UNIT_WAITS, 0)
            s0, last = start[li], log.end[tids[idxs[-1]]]
            cursor, nxt = s0, 0   # nxt: the layer's next own tile (index into idxs)
            for j in range(bisect_right(ends, s0), idxs[-1] + 1):
                t = tids[j]
                a = log.start[t]
                while idxs[nxt] < j:
                    nxt += 1
                if a > cursor:  # the array idled: why was the layer's next tile not on it?
                    _split_gap(w, cursor, a, tids[idxs[nxt]], log)
                if layer_of[t] == li:
                    tile = plan.tiles[t]
                    w["buffer"] += tile.occupancy - tile.compute_cycles
                else:
                    w["unit"] += min(log.end[t], last) - max(a, cursor)
                cursor = max(cursor, log.end[t])
            w["idle"] += end[li] - last
            out[li][unit] = w
    return out


def _split_gap(w: dict[str, int], lo: int, hi: int, tid: int, log: TileLog) -> None:
    """Charge the idle span ``[lo, hi)`` of an array to what tile ``tid`` (the layer's next on
    it) was waiting for: dependencies until ready, buffer space until reserved, DRAM until
    loaded, and the hand-over to the array after that."""
    cut = lo
    for cause, when in (("dependency", log.ready[tid]), ("buffer", log.reserved[tid]),
                        ("dram", log.loaded[tid])):
        upto = min(max(when, cut), hi)
        w[cause] += upto - cut
        cut = upto
    w["unit"] += hi - cut
