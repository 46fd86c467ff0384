"""The discrete-event processes: per stage, a loader and a computer move the plan's tiles.

Loader (one per stage, tiles in order): wait for the stage's ``after`` stages and the tile's
``deps`` -> reserve the tile's buffer bytes (all at once) -> load its DRAM bytes -> hand it to
the computer. Computer (one per stage): take the next loaded tile -> acquire the stage's unit
array -> hold it ``occupancy`` cycles -> release it -> write the tile's DRAM bytes back -> free
its buffer bytes -> the tile is done. With room for two tiles in a (double-buffered) buffer, the
loader fetches tile ``i + 1`` while tile ``i`` computes. Processes only move tiles and record
times (:class:`TileLog`); counting and stall attribution happen afterwards
(:mod:`accelsim.engine.probes`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import simpy

from accelsim.engine.env import BufferPool, Dram, capacities, unit_arrays
from accelsim.errors import LivenessError
from accelsim.hw.config import HardwareConfig
from accelsim.mapping.schedule import Schedule

UNSET = -1


@dataclass
class TileLog:
    """Per-tile event times (cycles; ``-1`` = never reached), indexed by tile id."""

    ready: list = field(default_factory=list)   # dependencies satisfied
    reserved: list = field(default_factory=list)  # buffer bytes granted
    loaded: list = field(default_factory=list)  # DRAM reads arrived
    start: list = field(default_factory=list)   # unit acquired, compute starts
    end: list = field(default_factory=list)     # compute done, unit released
    done: list = field(default_factory=list)    # writeback done, buffers freed


class Engine:
    """One simulation of ``plan`` on ``hw`` (construct, then :meth:`run`)."""

    def __init__(self, plan: Schedule, hw: HardwareConfig, record: bool = False):
        self.plan, self.hw, self.record = plan, hw, record
        self.env = env = simpy.Environment()
        n = len(plan.tiles)
        self.log = TileLog(*([UNSET] * n for _ in range(6)))
        self.dram = Dram(env, hw.dram.bandwidth_bytes_per_cycle, hw.dram.latency_cycles)
        self.pool = BufferPool(env, capacities(hw), record)
        self.units = unit_arrays(env, {s.unit for s in plan.stages})
        needed = {d for t in plan.tiles for d in t.deps}
        self.tile_done = {d: env.event() for d in needed}
        self.stage_done = [env.event() for _ in plan.stages]
        self.remaining = [len(s.tiles) for s in plan.stages]
        self.queues = [simpy.Store(env) for _ in plan.stages]
        for s in plan.stages:
            if not s.tiles:
                self.stage_done[s.index].succeed()
            else:
                env.process(self._loader(s.index))
                env.process(self._computer(s.index))

    # -- processes ------------------------------------------------------------------------------
    def _loader(self, si: int):
        env, plan, log = self.env, self.plan, self.log
        stage = plan.stages[si]
        waits = [self.stage_done[a] for a in stage.after if not self.stage_done[a].triggered]
        if waits:
            yield simpy.AllOf(env, waits)
        for tid in stage.tiles:
            t = plan.tiles[tid]
            if t.deps:
                evs = [self.tile_done[d] for d in t.deps if not self.tile_done[d].triggered]
                if evs:
                    yield simpy.AllOf(env, evs)
            log.ready[tid] = env.now
            if t.alloc:
                yield self.pool.reserve(t.alloc, tid)
            log.reserved[tid] = env.now
            nbytes = t.dram_read_bytes
            if nbytes:
                yield from self.dram.transfer(nbytes, tid, "load", self.record)
            log.loaded[tid] = env.now
            yield self.queues[si].put(tid)

    def _computer(self, si: int):
        env, plan, log = self.env, self.plan, self.log
        stage = plan.stages[si]
        unit = self.units[stage.unit]
        for _ in stage.tiles:
            tid = yield self.queues[si].get()
            t = plan.tiles[tid]
            with unit.request(priority=tid) as req:
                yield req
                log.start[tid] = env.now
                yield env.timeout(t.occupancy)
                log.end[tid] = env.now
            if t.dram_write:
                env.process(self._writeback(tid))
            else:
                self._finish(tid)

    def _writeback(self, tid: int):
        t = self.plan.tiles[tid]
        yield from self.dram.transfer(t.dram_write_bytes, tid, "store", self.record)
        self._finish(tid)

    def _finish(self, tid: int) -> None:
        t = self.plan.tiles[tid]
        self.pool.release(t.free)
        self.log.done[tid] = self.env.now
        ev = self.tile_done.get(tid)
        if ev is not None:
            ev.succeed()
        self.remaining[t.stage] -= 1
        if self.remaining[t.stage] == 0:
            self.stage_done[t.stage].succeed()

    # -- running --------------------------------------------------------------------------------
    def horizon(self) -> int:
        """A generous bound on the makespan: every transfer and tile fully serialised, twice."""
        bw, lat = self.hw.dram.bandwidth_bytes_per_cycle, self.hw.dram.latency_cycles
        serial = sum(t.occupancy + 2 * lat + math.ceil(t.dram_read_bytes / bw)
                     + math.ceil(t.dram_write_bytes / bw) for t in self.plan.tiles)
        return 2 * serial + 1000

    def run(self) -> TileLog:
        """Run to completion; raises :class:`LivenessError` naming who waits on what if the
        event queue empties (or the horizon passes) with tiles left."""
        limit = self.horizon()
        env = self.env
        while env.peek() <= limit:  # stops at the last event (queue empty) or at the horizon
            env.step()
        if all(ev.triggered for ev in self.stage_done):
            return self.log
        raise LivenessError(self._diagnose(limit))

    def _diagnose(self, limit: int) -> str:
        plan, log = self.plan, self.log
        why = "event queue empty" if self.env.peek() == float("inf") else \
            f"no completion within {limit} cycles"
        lines = [f"simulation of {plan.workload} on {plan.hw} stalled at cycle "
                 f"{self.env.now} ({why}):"]
        for s in plan.stages:
            if self.stage_done[s.index].triggered:
                continue
            pending = [t for t in s.tiles if log.done[t] == UNSET]
            tid = pending[0]
            t = plan.tiles[tid]
            where = f"{s.layer_name}.{s.name} tile {tid}"
            if log.ready[tid] == UNSET:
                stages = [plan.stages[a] for a in s.after if not self.stage_done[a].triggered]
                tiles = [d for d in t.deps if not self.tile_done[d].triggered]
                what = ", ".join([f"stage {x.layer_name}.{x.name}" for x in stages] +
                                 [f"tile {d}" for d in tiles[:5]]) or "its loader"
                lines.append(f"  {where} waits for dependencies: {what}")
            elif log.reserved[tid] == UNSET:
                lines.append(f"  {where} waits for buffer space: needs {dict(t.alloc)}, free "
                             f"{ {k: self.pool.free[k] for k in t.alloc} }")
            elif log.loaded[tid] == UNSET:
                lines.append(f"  {where} waits for the DRAM channel")
            elif log.start[tid] == UNSET:
                lines.append(f"  {where} waits for the '{s.unit}' array")
            else:
                lines.append(f"  {where} waits for its writeback")
        return "\n".join(lines)
