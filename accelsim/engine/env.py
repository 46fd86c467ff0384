"""The simulated hardware: unit arrays, SRAM buffers and the DRAM channel (SimPy, integer cycles).

Components only move and count; they never compute energy. Lower ``priority`` values are served
first (the mapping's tile ids: earlier layers first); ties are served in request order, so same
inputs give the same event order.

* :class:`Dram`: one channel shared by every transfer (weights, inputs, outputs, partial sums,
  spills, prefetched weights). A transfer of ``b`` bytes holds the channel ``ceil(b / bandwidth)``
  cycles, then its data arrives ``latency_cycles`` later (requests are pipelined: latency does not
  hold the channel); a prefetch holds it in bursts (:data:`PREFETCH_BURST`), queueing again
  between them.
* :class:`BufferPool`: the SRAM buffers as byte capacities. A tile reserves all its bytes at
  once (all-or-nothing, so no tile holds one buffer while waiting for another; the one exception,
  a prefetching tile, holds its weights while it waits, see :mod:`accelsim.engine.core`);
  waiting requests are granted in priority order, skipping any that do not fit yet (first fit).
* unit arrays: one :class:`simpy.PriorityResource` of capacity 1 per unit class: an array serves
  one tile at a time (all its units work on that tile).
"""
from __future__ import annotations

import math
from collections.abc import Generator, Mapping

import simpy

from accelsim.hw.config import HardwareConfig

#: Channel cycles a prefetch holds the DRAM channel at a time before queueing again.
PREFETCH_BURST = 64


class Dram:
    """The shared DRAM channel; ``busy_cycles`` counts cycles it was transferring."""

    def __init__(self, env: simpy.Environment, bandwidth: float, latency: int):
        self.env = env
        self.bandwidth = bandwidth
        self.latency = latency
        self.channel = simpy.PriorityResource(env, capacity=1)
        self.busy_cycles = 0
        self.transfers: list[tuple[int, int, int, str]] = []  # (start, end, tile, kind)

    def cycles(self, nbytes: int) -> int:
        return math.ceil(nbytes / self.bandwidth)

    def transfer(self, nbytes: int, priority: int, kind: str, record: bool, burst: int = 0,
                 sent: simpy.Event | None = None) -> Generator[simpy.Event, None, None]:
        """Move ``nbytes``: queue for the channel, hold it, then wait out the latency.

        ``burst`` > 0 (prefetches): hold the channel at most ``burst`` cycles at a time and queue
        again between bursts, so that transfers of lower priority values (earlier tiles) are not
        held up for the whole transfer; the channel cycles are the same
        (``ceil(nbytes / bandwidth)`` in total). ``sent`` succeeds when the channel part is done
        (the data still arrives ``latency`` later)."""
        left = self.cycles(nbytes)
        while left > 0:
            with self.channel.request(priority=priority) as req:
                yield req
                start = self.env.now
                hold = min(left, burst) if burst > 0 else left
                yield self.env.timeout(hold)
                left -= hold
                self.busy_cycles += hold
                if record:
                    self.transfers.append((int(start), int(start + hold), priority, kind))
        if sent is not None:
            sent.succeed()
        if self.latency:
            yield self.env.timeout(self.latency)


class BufferPool:
    """Byte capacities of the SRAM buffers with atomic, first-fit, priority-ordered reservation."""

    def __init__(self, env: simpy.Environment, capacity: Mapping[str, int], record: bool):
        self.env = env
        self.capacity = dict(capacity)
        self.free = dict(capacity)
        self.peak = dict.fromkeys(capacity, 0)
        self.waiting: list[tuple[int, int, dict, simpy.Event]] = []
        self._seq = 0
        self.record = record
        self.levels: list[tuple[int, str, int]] = []  # (time, buffer, bytes in use)

    def _fits(self, amounts: Mapping[str, int]) -> bool:
        return all(self.free[k] >= v for k, v in amounts.items())

    def _take(self, amounts: Mapping[str, int]) -> None:
        for k, v in amounts.items():
            self.free[k] -= v
            used = self.capacity[k] - self.free[k]
            if used > self.peak[k]:
                self.peak[k] = used
            if self.record:
                self.levels.append((int(self.env.now), k, used))

    def reserve(self, amounts: Mapping[str, int], priority: int) -> simpy.Event:
        """An event that succeeds once ``amounts`` (bytes per buffer) are reserved."""
        ev = self.env.event()
        if not amounts or (self._fits(amounts) and not self.waiting):
            self._take(amounts)
            ev.succeed()
            return ev
        self._seq += 1
        self.waiting.append((priority, self._seq, dict(amounts), ev))
        self.waiting.sort(key=lambda w: (w[0], w[1]))
        self._grant()
        return ev

    def release(self, amounts: Mapping[str, int]) -> None:
        if not amounts:
            return
        for k, v in amounts.items():
            self.free[k] += v
            if self.record:
                self.levels.append((int(self.env.now), k, self.capacity[k] - self.free[k]))
        self._grant()

    def _grant(self) -> None:
        keep = []
        for item in self.waiting:
            if self._fits(item[2]):
                self._take(item[2])
                item[3].succeed()
            else:
                keep.append(item)
        self.waiting = keep

    def blocked(self) -> list[tuple[int, dict]]:
        """Waiting requests (priority, bytes) for diagnostics."""
        return [(w[0], w[2]) for w in self.waiting]


def capacities(hw: HardwareConfig) -> dict[str, int]:
    """Buffer capacities in bytes (a double-buffered buffer holds two tile budgets)."""
    return {name: sram.size_bytes for name, sram in hw.buffers.items()}


def unit_arrays(env: simpy.Environment, units: set[str]) -> dict[str, simpy.PriorityResource]:
    """One capacity-1 priority resource per unit class used by the plan."""
    return {u: simpy.PriorityResource(env, capacity=1) for u in sorted(units)}
