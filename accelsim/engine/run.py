"""Entry point of the engine: run a mapped :class:`~accelsim.mapping.schedule.Schedule`."""
from __future__ import annotations

from pathlib import Path

from accelsim import __version__
from accelsim.choices import Model
from accelsim.engine.core import Engine
from accelsim.engine.probes import layer_records
from accelsim.engine.timeline import write_timeline
from accelsim.hw.config import HardwareConfig
from accelsim.mapping.schedule import Schedule
from accelsim.results.energy import price
from accelsim.results.records import Result


def simulate_plan(plan: Schedule, hw: HardwareConfig, *,
                  timeline: str | Path | None = None) -> Result:
    """Run ``plan`` on ``hw`` in the discrete-event engine; a priced ``Result`` (engine "des").

    ``timeline``: also write a Chrome trace-event JSON there. Raises
    :class:`~accelsim.errors.LivenessError` if the run stops making progress."""
    eng = Engine(plan, hw, record=timeline is not None)
    log = eng.run()
    records = layer_records(plan, hw, log)
    cycles = max((d for d in log.done), default=0)
    meta = {**plan.meta, "accelsim_version": __version__, "tiles": len(plan.tiles),
            "dram_busy_cycles": eng.dram.busy_cycles,
            "buffer_peak_bytes": dict(eng.pool.peak)}
    if plan.prefetch:
        meta["prefetched_tiles"] = sum(1 for t in log.prefetched if t >= 0)
        meta["prefetched_bytes"] = eng.prefetched_bytes
    result = Result(engine=Model.DES, schedule=plan.policy, workload=plan.workload, hw=plan.hw,
                    zero_skip=plan.zero_skip, cycles=int(max(cycles, 0)), clock_mhz=hw.clock_mhz,
                    layers=tuple(records), meta=meta)
    if timeline is not None:
        write_timeline(eng, timeline)
    return price(result, hw)
