"""The discrete-event engine (the only package that imports SimPy).

``simulate_plan(plan, hw)`` runs a mapped :class:`~accelsim.mapping.schedule.Schedule` cycle by
cycle (integer cycles as SimPy time) and returns a priced :class:`~accelsim.results.Result`
(``engine="des"``). :func:`accelsim.evaluate.evaluate` maps and runs in one call. See
docs/engine.md.
"""
from accelsim.engine.run import simulate_plan

__all__ = ["simulate_plan"]
