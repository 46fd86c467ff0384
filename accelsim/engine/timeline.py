"""Chrome trace-event JSON of an engine run (open it in https://ui.perfetto.dev).

The process name says what ran (workload, config, MAC array shape, schedule); one track
(``tid``) per unit array and one for the DRAM channel; one complete (``"X"``) slice
per tile (named ``layer.stage``) on its unit and per DRAM transfer (named ``load``, ``store`` or
``prefetch``: weights loaded ahead of the tile's dependencies, in bursts); counter (``"C"``)
tracks of the bytes in use in each SRAM buffer. Timestamps are microseconds at the config's clock
(``cycle / clock_mhz``); every slice carries its cycle numbers in ``args``.
"""
from __future__ import annotations

from pathlib import Path

from accelsim.engine.core import Engine
from accelsim.outputs import atomic_write, strict_json


def trace_events(engine: Engine) -> dict:
    """The trace as a JSON-ready dict (``{"traceEvents": [...], "displayTimeUnit": "ns"}``)."""
    plan, log, mhz = engine.plan, engine.log, engine.hw.clock_mhz
    units = sorted({s.unit for s in plan.stages})
    tid_of = {u: i + 1 for i, u in enumerate(units)}
    dram_tid = len(units) + 1
    arr = engine.hw.mac_array
    ev: list[dict] = [{"ph": "M", "pid": 1, "name": "process_name",
                       "args": {"name": f"{plan.workload} on {plan.hw}, MAC array "
                                        f"{arr.rows}x{arr.cols} (DES, {plan.policy})"}}]
    for u, i in tid_of.items():
        ev.append({"ph": "M", "pid": 1, "tid": i, "name": "thread_name",
                   "args": {"name": f"{u} array"}})
    ev.append({"ph": "M", "pid": 1, "tid": dram_tid, "name": "thread_name",
               "args": {"name": "DRAM channel"}})
    for s in plan.stages:
        for tid in s.tiles:
            t = plan.tiles[tid]
            a, b = log.start[tid], log.end[tid]
            ev.append({"ph": "X", "pid": 1, "tid": tid_of[s.unit],
                       "name": f"{s.layer_name}.{s.name}", "cat": s.role, "ts": a / mhz,
                       "dur": (b - a) / mhz,
                       "args": {"tile": tid, "start_cycle": a, "end_cycle": b, "ops": t.ops,
                                "compute_cycles": t.compute_cycles, "m": list(t.m),
                                "n": list(t.n), "k": list(t.k),
                                **({"weights_prefetched_cycle": log.prefetched[tid]}
                                   if log.prefetched[tid] >= 0 else {})}})
    for a, b, tile, kind in engine.dram.transfers:
        s = plan.stages[plan.tiles[tile].stage]
        ev.append({"ph": "X", "pid": 1, "tid": dram_tid, "name": kind, "cat": "dram",
                   "ts": a / mhz, "dur": (b - a) / mhz,
                   "args": {"tile": tile, "stage": f"{s.layer_name}.{s.name}",
                            "start_cycle": a, "end_cycle": b}})
    for when, buf, used in engine.pool.levels:
        ev.append({"ph": "C", "pid": 1, "name": f"sram {buf} bytes", "ts": when / mhz,
                   "args": {"bytes": used}})
    return {"traceEvents": ev, "displayTimeUnit": "ns"}


def write_timeline(engine: Engine, path: str | Path) -> None:
    """Write the run's trace-event JSON to ``path`` (parent directories are created)."""
    atomic_write(path, strict_json(trace_events(engine)))
