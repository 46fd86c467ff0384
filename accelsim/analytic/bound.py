"""Closed-form lower bound of the discrete-event engine for the same :class:`Schedule`.

The engine executes exactly the plan's tiles, so any quantity that cannot overlap with itself
bounds its cycles from below (``engine="analytic"``):

* **units**: a unit array serves one tile at a time: ``sum(occupancy)`` of the tiles on it,
  ``occupancy = max(compute_cycles, port_cycles)``;
* **DRAM**: one channel moves every transfer: ``sum(ceil(bytes / bandwidth))``;
* **dependency path**: tile by tile, a tile cannot be ready before its ``after`` stages and its
  ``deps`` are done, cannot compute before its load arrived (``latency + ceil(bytes /
  bandwidth)`` after it was ready) nor before its stage predecessor left the array, and is done
  after its writeback (see :func:`_path`).

``sequential``: the layer barrier makes the network bound the sum of per-layer bounds
``max(units, DRAM, path)``. ``overlap``: one whole-network ``max(units, DRAM, path)``; the
per-layer windows reported are the path's earliest start / end of each layer.
"""
from __future__ import annotations

import math

from accelsim import __version__
from accelsim.choices import Model, SchedulePolicy
from accelsim.hw.config import HardwareConfig
from accelsim.mapping.schedule import Schedule, StagePlan
from accelsim.mapping.summary import layer_sums
from accelsim.results.energy import price
from accelsim.results.records import LayerRecord, Result


def estimate(plan: Schedule, hw: HardwareConfig) -> Result:
    """The analytic lower bound of ``plan`` on ``hw`` as a priced :class:`Result`."""
    sums = layer_sums(plan, hw)
    bw, lat = hw.dram.bandwidth_bytes_per_cycle, hw.dram.latency_cycles
    xfer = [_xfer(t.dram_read_bytes, bw) + _xfer(t.dram_write_bytes, bw) for t in plan.tiles]
    dram_layer = [0] * len(plan.layers)
    by_layer: list[list[StagePlan]] = [[] for _ in plan.layers]
    owner = [0] * len(plan.tiles)  # stage index of every tile (built once: linear in tiles)
    for s in plan.stages:
        dram_layer[s.layer] += sum(xfer[t] for t in s.tiles)
        by_layer[s.layer].append(s)
        for t in s.tiles:
            owner[t] = s.index
    records = []
    if plan.policy is SchedulePolicy.SEQUENTIAL:
        start = 0
        for unit in _schedule_units(plan):  # a layer, or a fused pair (no barrier inside)
            cycles = 0
            for li in unit:
                rec = sums[li]
                path = _path(plan, by_layer[li], bw, lat, owner, cross_layer=False)
                units = max(rec.occupancy.values(), default=0)
                terms = {"unit": units, "dram": dram_layer[li],
                         "dependency": max(path.values(), default=0)}
                records.append(_record(rec, start, start + max(terms.values()), terms))
                cycles = max(cycles, max(terms.values()))
            if len(unit) > 1:
                occ: dict[str, int] = {}
                for li in unit:
                    for u, v in sums[li].occupancy.items():
                        occ[u] = occ.get(u, 0) + v
                path = _path(plan, [s for li in unit for s in by_layer[li]], bw, lat, owner,
                             cross_layer=True)
                cycles = max(cycles, max(occ.values(), default=0),
                             sum(dram_layer[li] for li in unit), max(path.values(), default=0))
            start += cycles
        total = start
    else:
        path_end = _path(plan, list(plan.stages), bw, lat, owner, cross_layer=True, starts=True)
        unit_tot: dict[str, int] = {}
        for rec in sums:
            for u, v in rec.occupancy.items():
                unit_tot[u] = unit_tot.get(u, 0) + v
        ends = [e for e, _ in path_end.values()]
        total = max([sum(dram_layer), max(unit_tot.values(), default=0)] + ends)
        for li, rec in enumerate(sums):
            spans = [path_end[s.index] for s in by_layer[li]]
            s0 = min((b for _, b in spans), default=0)
            e0 = max((e for e, _ in spans), default=s0)
            records.append(_record(rec, s0, e0, {}))
    result = Result(engine=Model.ANALYTIC, schedule=plan.policy, workload=plan.workload,
                    hw=plan.hw, zero_skip=plan.zero_skip, cycles=int(total),
                    clock_mhz=hw.clock_mhz, layers=tuple(records),
                    meta={**plan.meta, "accelsim_version": __version__,
                          "tiles": len(plan.tiles)})
    return price(result, hw)


def _schedule_units(plan: Schedule) -> list[list[int]]:
    """Layer indices in barrier-separated units: one layer each, a fused pair
    (``meta["fused_layers"]``, :mod:`accelsim.mapping.fusion`) together."""
    index = {name: i for i, name in enumerate(plan.layers)}
    pair_of: dict[int, int] = {}
    fused = plan.meta.get("fused_layers", ())
    for producer, consumer in fused if isinstance(fused, (list, tuple)) else ():
        p, c = index[producer], index[consumer]
        pair_of[p] = pair_of[c] = p
    units: list[list[int]] = []
    for li in range(len(plan.layers)):
        if li in pair_of and pair_of[li] != li and units and units[-1][0] == pair_of[li]:
            units[-1].append(li)
        else:
            units.append([li])
    return units


def _load(nbytes: int, bw: float, lat: int) -> int:
    """Cycles from the start of a load of ``nbytes`` to its arrival (0 for no bytes)."""
    return lat + math.ceil(nbytes / bw) if nbytes > 0 else 0


def _xfer(nbytes: int, bw: float) -> int:
    return math.ceil(nbytes / bw) if nbytes > 0 else 0


def _record(rec, start: int, end: int, terms: dict) -> LayerRecord:
    stall: dict[str, int] = {}
    if terms:
        units = max(rec.compute_cycles.values(), default=0)
        binding = max(terms, key=lambda k: (terms[k], k == "unit"))
        cause = "buffer" if binding == "unit" else binding
        gap = end - start - units
        if gap > 0:
            stall[cause] = gap
    return LayerRecord(name=rec.name, start_cycle=int(start), end_cycle=int(end),
                       compute_cycles=dict(rec.compute_cycles), busy_cycles=dict(rec.busy_cycles),
                       ops=dict(rec.ops), bytes_read=dict(rec.bytes_read),
                       bytes_written=dict(rec.bytes_written), stall_cycles=stall, tiles=rec.tiles,
                       mapping=dict(rec.mapping))


def _path(plan: Schedule, stages: list[StagePlan], bw: float, lat: int, owner: list[int], *,
          cross_layer: bool, starts: bool = False) -> dict:
    """Earliest end (and start, when ``starts``) of each stage along the dependencies.

    Tile by tile, in each stage's order: a tile is ready when its stage's ``after`` stages and
    its ``deps`` are done (and not before its predecessor was ready: one loader per stage),
    loaded ``latency + ceil(read / bw)`` later, starts when loaded and its predecessor has left
    the array, holds it ``occupancy`` cycles and is done after its writeback. Every term is a
    lower bound of the engine's time for the same event. ``owner[tile]`` is the tile's stage.

    A tile that may prefetch its weights (:meth:`Schedule.prefetch_bytes`) is loaded no earlier
    than the smaller of the plain load above and the prefetch route: its weights leave the
    channel ``ceil(weights / bw)`` after its predecessor was ready (the loader reaches it no
    sooner; the stage's first tile: from cycle 0) and arrive ``latency`` later; the rest is
    sent once it is ready and the weights have left the channel, and arrives
    ``latency + ceil(rest / bw)`` later."""
    tiles = plan.tiles
    early = plan.prefetch_bytes()
    include = {s.index for s in stages}
    done: dict[int, int] = {}
    start: dict[int, int] = {}
    end: dict[int, int] = {}
    for s in stages:  # stage order is a topological order
        b = max((end[a] for a in s.after if a in include), default=0)
        start[s.index] = b
        ready = prev_end = b
        prev_ready = 0
        e = b
        for tid in s.tiles:
            t = tiles[tid]
            first = prev_ready  # the loader reaches this tile once its predecessor was ready
            for d in t.deps:
                if owner[d] in include and (cross_layer or
                                            plan.stages[owner[d]].layer == s.layer):
                    ready = max(ready, done[d])
            loaded = ready + _load(t.dram_read_bytes, bw, lat)
            if early[tid]:  # or its weights were prefetched, then the rest loaded when ready
                w_sent = first + math.ceil(early[tid] / bw)
                loaded = min(loaded, max(max(ready, w_sent) +
                                         _load(t.dram_read_bytes - early[tid], bw, lat),
                                         w_sent + lat))
            prev_ready = ready
            t_end = max(loaded, prev_end) + t.occupancy
            prev_end = t_end
            done[tid] = t_end + (lat + math.ceil(t.dram_write_bytes / bw)
                                 if t.dram_write_bytes else 0)
            e = max(e, done[tid])
        end[s.index] = e
    if starts:
        return {i: (end[i], start[i]) for i in end}
    return end
