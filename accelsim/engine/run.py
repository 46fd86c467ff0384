"""Entry points: run a schedule through the engine, or map and run a workload."""
from __future__ import annotations

from pathlib import Path

from accelsim import __version__
from accelsim.analytic.bound import estimate
from accelsim.engine.core import Engine
from accelsim.engine.probes import layer_records
from accelsim.engine.timeline import write_timeline
from accelsim.errors import InputError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.mapping.plan import Schedule
from accelsim.mapping.schedule import map_workload
from accelsim.results.energy import price
from accelsim.results.records import Result
from accelsim.workload.schema import Workload

ENGINES = ("des", "analytic")


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
    result = Result(engine="des", schedule=plan.schedule, workload=plan.workload, hw=plan.hw,
                    zero_skip=plan.zero_skip, cycles=int(max(cycles, 0)), clock_mhz=hw.clock_mhz,
                    layers=tuple(records), meta=meta)
    if timeline is not None:
        write_timeline(eng, timeline)
    return price(result, hw)


def simulate(wl: Workload, hw: HardwareConfig, engine: str = "des",
             schedule: str = "sequential", zero_skip: bool = False, *,
             timeline: str | Path | None = None) -> Result:
    """Map ``wl`` on ``hw`` and run it (``engine="des"``) or bound it (``"analytic"``).

    Raises :class:`~accelsim.errors.InputError` for an unknown engine or schedule,
    :class:`~accelsim.errors.CompatibilityError` when the workload cannot run on ``hw``."""
    if engine not in ENGINES:
        raise InputError(Problem("engine", engine, f"must be one of {', '.join(ENGINES)}"))
    if timeline is not None and engine != "des":
        raise InputError(Problem("timeline", str(timeline),
                                 "only the discrete-event engine (des) records a timeline"))
    plan = map_workload(wl, hw, schedule=schedule, zero_skip=zero_skip)
    if engine == "analytic":
        return estimate(plan, hw)
    return simulate_plan(plan, hw, timeline=timeline)
