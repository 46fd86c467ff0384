"""The discrete-event engine (the only package that imports SimPy).

``simulate_plan(plan, hw)`` runs a :class:`~accelsim.mapping.Schedule` cycle by cycle (integer
cycles as SimPy time) and returns a priced :class:`~accelsim.results.Result` (``engine="des"``);
``simulate(wl, hw, engine=..., schedule=..., zero_skip=...)`` maps and runs (or bounds) in one
call. See docs/engine.md.
"""
from accelsim.engine.run import simulate, simulate_plan

__all__ = ["simulate", "simulate_plan"]
