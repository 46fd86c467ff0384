"""Per-layer sums of a schedule's tiles: what both the analytic bound and the engine report.

Both models execute the same tiles, so operations, bytes and compute cycles are properties of
the :class:`~accelsim.mapping.schedule.Schedule`; only timing (start, end, stalls) differs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from accelsim.hw.config import HardwareConfig
from accelsim.mapping.schedule import Schedule


@dataclass
class LayerSums:
    """Sums over one layer's tiles (plain dicts; see :class:`accelsim.results.LayerRecord`)."""

    name: str
    compute_cycles: dict = field(default_factory=dict)
    occupancy: dict = field(default_factory=dict)
    busy_cycles: dict = field(default_factory=dict)
    ops: dict = field(default_factory=dict)
    bytes_read: dict = field(default_factory=dict)
    bytes_written: dict = field(default_factory=dict)
    dram_bytes: int = 0
    tiles: int = 0
    mapping: dict = field(default_factory=dict)


def _add(d: dict, key: str, v: float) -> None:
    if v:
        d[key] = d.get(key, 0) + v


def layer_sums(plan: Schedule, hw: HardwareConfig) -> list[LayerSums]:
    """One :class:`LayerSums` per layer of ``plan`` (layers without tiles included).

    ``busy_cycles[u]`` is unit-cycles of useful work divided by the number of units of ``u``
    (operations that occupy a unit: fused operations excluded)."""
    out = [LayerSums(name) for name in plan.layers]
    kept = plan.meta.get("kept_outputs")
    if isinstance(kept, (list, tuple)):  # where each layer's output went (residency)
        for rec in out:
            rec.mapping["output"] = "on_chip" if rec.name in kept else "dram"
    tiles = plan.meta.get("tile_fraction_by_layer")
    if isinstance(tiles, dict):  # the tile size the mapper chose, where below the budget
        for rec in out:
            if rec.name in tiles:
                rec.mapping["tile"] = tiles[rec.name]
    fused = plan.meta.get("fused_layers")
    if isinstance(fused, (list, tuple)):  # a fused producer's output goes to its consumer
        index = {name: i for i, name in enumerate(plan.layers)}
        for producer, consumer in fused:
            out[index[producer]].mapping["fused_into"] = consumer
            if "output" in out[index[producer]].mapping:
                out[index[producer]].mapping["output"] = "fused"
    counts = hw.counts
    for s in plan.stages:
        rec = out[s.layer]
        rec.mapping[s.name] = s.mapping
        for tid in s.tiles:
            t = plan.tiles[tid]
            rec.tiles += 1
            _add(rec.compute_cycles, s.unit, t.compute_cycles)
            _add(rec.occupancy, s.unit, t.occupancy)
            _add(rec.busy_cycles, s.unit, t.ops / counts[s.unit])
            _add(rec.ops, s.op_key, t.ops)
            _add(rec.ops, s.fused_key, t.fused_ops)
            for k, v in t.sram_read.items():
                _add(rec.bytes_read, k, v)
            for k, v in t.sram_write.items():
                _add(rec.bytes_written, k, v)
            _add(rec.bytes_read, "dram", t.dram_read_bytes)
            _add(rec.bytes_written, "dram", t.dram_write_bytes)
            rec.dram_bytes += t.dram_read_bytes + t.dram_write_bytes
        for u in (s.unit,):
            rec.compute_cycles.setdefault(u, 0)
    return out
