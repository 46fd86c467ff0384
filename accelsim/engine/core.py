"""The discrete-event processes: per stage, a loader and a computer move the plan's tiles.

Loader (one per stage, tiles in order): wait for the stage's ``after`` stages and the tile's
``deps`` -> reserve the tile's buffer bytes (all at once) -> load its DRAM bytes -> hand it to
the computer (with ``dram.pipelined_loads``, the loader moves on to the next tile once the load
has left the channel; the load waits out its latency on its own and tiles are handed over in
order). Computer (one per stage): take the next loaded tile -> acquire the stage's unit
array -> hold it ``occupancy`` cycles -> release it -> write the tile's DRAM bytes back -> free
its buffer bytes -> the tile is done. With room for two tiles in a (double-buffered) buffer, the
loader fetches tile ``i + 1`` while tile ``i`` computes. Processes only move tiles and record
times (:class:`TileLog`); counting and stall attribution happen afterwards
(:mod:`accelsim.engine.probes`).

**Weight prefetch** (``plan.prefetch``: ``overlap`` schedule, ``mapping.prefetch_weights``): a
tile that qualifies (:meth:`~accelsim.mapping.schedule.Schedule.prefetch_bytes`) and whose
dependencies are not yet met splits its reservation. Once it has the *turn* (every tile with a
lower id holds all its buffers) it reserves its weight bytes and loads its weights (DRAM
transfer kind ``prefetch``, in bursts behind earlier tiles' transfers); when its dependencies are
met it reserves and loads the rest as usual. Deadlock freedom is kept: at most one tile
prefetches at a time (the lowest id not fully reserved); it holds only space that no tile it
waits for needs (those have lower ids and already hold all theirs, so they finish without asking
for more), and its full reservation equals its usual one, so the residency-budget argument of
:meth:`accelsim.mapping.deps._Wiring.serialise_holders` still applies once it is ready.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import simpy

from accelsim.engine.env import PREFETCH_BURST, BufferPool, Dram, capacities, unit_arrays
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
    prefetch: list = field(default_factory=list)  # weight prefetch began (turn granted)
    prefetched: list = field(default_factory=list)  # prefetched weights arrived


class Engine:
    """One simulation of ``plan`` on ``hw`` (construct, then :meth:`run`)."""

    def __init__(self, plan: Schedule, hw: HardwareConfig, record: bool = False):
        self.plan, self.hw, self.record = plan, hw, record
        self.env = env = simpy.Environment()
        n = len(plan.tiles)
        self.log = TileLog(*([UNSET] * n for _ in range(8)))
        self.dram = Dram(env, hw.dram.bandwidth_bytes_per_cycle, hw.dram.latency_cycles)
        self.pool = BufferPool(env, capacities(hw), record)
        self.units = unit_arrays(env, {s.unit for s in plan.stages})
        needed = {d for t in plan.tiles for d in t.deps}
        self.tile_done = {d: env.event() for d in needed}
        self.stage_done = [env.event() for _ in plan.stages]
        self.remaining = [len(s.tiles) for s in plan.stages]
        self.queues = [simpy.Store(env) for _ in plan.stages]
        self.early = plan.prefetch_bytes()  # weight bytes each tile may prefetch
        self.pipelined = hw.dram.pipelined_loads
        self.full = [False] * n       # tile holds all its buffer bytes (or has none)
        self.lowest = 0               # lowest tile id not fully reserved
        self.turns: dict[int, simpy.Event] = {}  # prefetch turn events by tile id
        self.prefetched_bytes = 0
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
        after = [self.stage_done[a] for a in stage.after]
        waits = [e for e in after if not e.triggered]
        if waits and not self.early[stage.tiles[0]]:
            yield simpy.AllOf(env, waits)
        handed: simpy.Process | None = None  # the previous tile's arrival (pipelined loads)
        for tid in stage.tiles:
            t = plan.tiles[tid]
            pre: simpy.Process | None = None
            got: simpy.Event | None = None  # the prefetched weights' reservation
            sent = got  # the prefetch's channel part done (its data arrives a latency later)
            if self.early[tid]:
                evs = [e for e in after + [self.tile_done[d] for d in t.deps]
                       if not e.triggered]
                gate = simpy.AllOf(env, evs) if evs else None
                if gate is not None:
                    turn = self._turn(tid)
                    if not turn.triggered:
                        yield simpy.AnyOf(env, [gate, turn])
                    if not gate.triggered:
                        got, sent = env.event(), env.event()
                        pre = env.process(self._prefetch(tid, got, sent))
                waits = [e for e in after if not e.triggered]
                if waits:
                    yield simpy.AllOf(env, waits)
            if t.deps:
                evs = [self.tile_done[d] for d in t.deps if not self.tile_done[d].triggered]
                if evs:
                    yield simpy.AllOf(env, evs)
            log.ready[tid] = env.now
            alloc = t.alloc
            nbytes = t.dram_read_bytes
            if pre is not None:
                alloc = {k: v - t.alloc["weights"] if k == "weights" else v
                         for k, v in t.alloc.items()}
                alloc = {k: v for k, v in alloc.items() if v}
                nbytes -= self.early[tid]
            if alloc:
                yield self.pool.reserve(alloc, tid)
            if got is not None and not got.triggered:
                yield got  # the weights' reservation, when still waiting
            self._reserved(tid)
            log.reserved[tid] = env.now
            if sent is not None and not sent.triggered:
                yield sent  # the rest queues behind the prefetch (requests are pipelined)
            if self.pipelined:  # the next load goes out once this one has left the channel
                out = env.event()
                handed = env.process(self._arrive(si, tid, nbytes, pre, handed, out))
                yield out
            else:  # one load in flight: the loader waits for it
                yield from self._arrive(si, tid, nbytes, pre, None, None)

    def _arrive(self, si: int, tid: int, nbytes: int, pre: simpy.Process | None,
                before: simpy.Process | None, out: simpy.Event | None):
        """Load tile ``tid``'s DRAM bytes (``out``, when given, succeeds once they have left
        the channel), wait out the latency and the prefetched weights, then hand the tile to
        the computer after the stage's previous tile (``before``, with pipelined loads)."""
        if nbytes:
            yield from self.dram.transfer(nbytes, tid, "load", self.record, sent=out)
        elif out is not None:
            out.succeed()
        if pre is not None and not pre.triggered:
            yield pre  # the prefetched weights arrive
        if before is not None and not before.triggered:
            yield before
        self.log.loaded[tid] = self.env.now
        yield self.queues[si].put(tid)

    def _prefetch(self, tid: int, got: simpy.Event, sent: simpy.Event):
        """Reserve tile ``tid``'s weight bytes (then ``got`` succeeds) and load its weights
        (``sent`` succeeds when they left the channel); its turn has come."""
        t = self.plan.tiles[tid]
        self.log.prefetch[tid] = self.env.now
        yield self.pool.reserve({"weights": t.alloc["weights"]}, tid)
        got.succeed()
        yield from self.dram.transfer(self.early[tid], tid, "prefetch", self.record,
                                      burst=PREFETCH_BURST, sent=sent)
        self.prefetched_bytes += self.early[tid]
        self.log.prefetched[tid] = self.env.now

    def _turn(self, tid: int) -> simpy.Event:
        """An event that succeeds once every tile with a lower id holds all its buffers."""
        ev = self.env.event()
        if self.lowest >= tid:
            ev.succeed()
        else:
            self.turns[tid] = ev
        return ev

    def _reserved(self, tid: int) -> None:
        self.full[tid] = True
        n = len(self.full)
        while self.lowest < n and self.full[self.lowest]:
            self.lowest += 1
        ev = self.turns.pop(self.lowest, None)
        if ev is not None:
            ev.succeed()

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
                held = " (holding its prefetched weights)" if log.prefetch[tid] != UNSET else ""
                lines.append(f"  {where} waits for dependencies{held}: {what}")
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
