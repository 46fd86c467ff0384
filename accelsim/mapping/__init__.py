"""Mapping: a workload on a hardware config -> tiles, their costs and dependencies.

``map_workload(wl, hw, schedule=..., zero_skip=...) -> Schedule``; the timing models of the
unit arrays are in :mod:`accelsim.mapping.units`.
"""
from accelsim.mapping.plan import SCHEDULES, Schedule, StagePlan, Tile
from accelsim.mapping.schedule import map_workload
from accelsim.mapping.units import per_channel_cycles, systolic_cycles, tree_cycles

__all__ = ["SCHEDULES", "Schedule", "StagePlan", "Tile", "map_workload", "per_channel_cycles",
           "systolic_cycles", "tree_cycles"]
