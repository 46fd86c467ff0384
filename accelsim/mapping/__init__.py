"""Mapping: a workload on a hardware config -> tiles, their costs and dependencies.

``map_workload(wl, hw, schedule=..., zero_skip=...) -> Schedule`` (:mod:`accelsim.mapping.mapper`);
the :class:`Schedule` record is in :mod:`accelsim.mapping.schedule`, the timing models of the
unit arrays in :mod:`accelsim.mapping.units`.
"""
from accelsim.mapping.mapper import map_workload
from accelsim.mapping.schedule import Schedule, StagePlan, Tile
from accelsim.mapping.units import per_channel_cycles, systolic_cycles, tree_cycles

__all__ = ["Schedule", "StagePlan", "Tile", "map_workload", "per_channel_cycles",
           "systolic_cycles", "tree_cycles"]
