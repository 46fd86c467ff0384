"""Blocks become tiles: each block's memory traffic and buffer reservations
(:func:`~accelsim.mapping.memory.tile_memory`), forwarded bytes kept and freed across tiles, the
operations of fused stages, and the partial sums kept on chip; what a set of tiles costs
(:func:`tile_costs`, for the mapper's choices)."""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from accelsim.hw.config import HardwareConfig, Sram
from accelsim.mapping.build import RoutedStage, TimingModel
from accelsim.mapping.memory import StageTiling, TileMemory, tile_memory
from accelsim.mapping.schedule import Tile
from accelsim.mapping.tiling import Block, share


def stage_tiles(routed: Sequence[RoutedStage], tilings: Mapping[int, StageTiling],
                hw: HardwareConfig, zero_skip: bool,
                views: Mapping[int, HardwareConfig] | None = None
                ) -> Iterator[tuple[RoutedStage, int, Block, TileMemory, int, dict[int, int]]]:
    """``(stage, block index, block, its memory traffic, fused operations, the stage's on-chip
    partial sets)`` for every block of ``routed`` (in workload and stage order: producers before
    consumers), with forwarded bytes kept and freed across tiles as :func:`tile_memory` says.
    ``views``: each layer's view of the buffers (by layer index; default ``hw``)."""
    kept: dict[int, defaultdict[int, int]] = {}
    for s in routed:
        hw_s = views.get(s.layer_index, hw) if views else hw
        t = tilings[s.index]
        mem, blocks = t.memory, t.blocks
        mine = kept[s.index] = defaultdict(int)
        producer_kept = kept.get(s.producer) if s.producer is not None else None
        n_b = len(blocks)
        last_of_chunk = {}
        for j, b in enumerate(blocks):
            last_of_chunk[b.chunk if mem.chunk_edge_in else -1] = j
        sets = partial_sets(s, blocks, hw_s)
        st = s.stage
        for j, b in enumerate(blocks):
            key = b.chunk if mem.chunk_edge_in else -1
            tm = tile_memory(b, mem, mine, producer_kept, first=j == 0, last=j == n_b - 1,
                             chunk_last=last_of_chunk[key] == j,
                             partial_bytes=sets.get(b.cfold, 0), hw=hw_s)
            fused_ops = sum(b.finished * f.k if (f.m, f.n) == (st.m, st.n) else
                            share(f.ops(zero_skip), 0, b.finished, st.m * st.n)
                            for f in s.fused)
            yield s, j, b, tm, fused_ops, sets


def build_tiles(routed: Sequence[RoutedStage], tilings: Mapping[int, StageTiling],
                ids: Mapping[int, tuple[int, ...]], hw: HardwareConfig, zero_skip: bool,
                views: Mapping[int, HardwareConfig] | None = None
                ) -> tuple[list[Tile], dict[int, dict[int, int]]]:
    """Every tile (indexed by id) and, per stage, the channel folds whose partial sums stay on
    chip (:func:`partial_sets`); ``views`` as in :func:`stage_tiles`."""
    tiles: list[Tile | None] = [None] * sum(len(t.blocks) for t in tilings.values())
    partials: dict[int, dict[int, int]] = {}
    for s, j, b, tm, fused_ops, sets in stage_tiles(routed, tilings, hw, zero_skip, views):
        partials[s.index] = sets
        tid = ids[s.index][j]
        tiles[tid] = Tile(
            id=tid, stage=s.index, m=(b.m0, b.m1), n=(b.n0, b.n1), k=(b.k0, b.k1),
            chunk=b.chunk, folds=b.folds, ops=b.ops, fused_ops=fused_ops,
            compute_cycles=b.cycles, port_cycles=tm.port_cycles, alloc=tm.alloc,
            free=tm.free, dram_read=tm.dram_read, dram_write=tm.dram_write,
            sram_read=tm.sram_read, sram_write=tm.sram_write)
    for s in routed:
        partials.setdefault(s.index, {})
    assert all(t is not None for t in tiles)
    return [t for t in tiles if t is not None], partials


def partial_sets(s: RoutedStage, blocks: Sequence[Block], hw: HardwareConfig
                 ) -> dict[int, int]:
    """Channel folds of a systolic stage whose partial sums stay in the output buffer: the
    fold's term folds span several tiles, none of them cut into continuation chunks, and its
    partial set fits a tile."""
    if s.timing is not TimingModel.SYSTOLIC:
        return {}
    tile = hw.buffers.outputs.tile_bytes
    split = {b.cfold for b in blocks if not (b.kfirst and b.klast)}
    split -= {b.cfold for b in blocks if b.chunked}
    out = {}
    for b in blocks:
        if b.cfold in split and b.kfirst and b.out <= tile:
            out[b.cfold] = b.out
    return out


@dataclass(frozen=True)
class TileCosts:
    """What a set of tiles costs: ``occupancy`` by unit class (cycles), ``dram`` bytes moved,
    SRAM and DRAM ``energy`` (pJ), ``loads``: the longest a stage's loader is busy (its tiles'
    loads one after another, each waiting out the DRAM latency), ``first``: the first tile's
    (load, busy) cycles (None: no tile), ``last_write``: the last tile's write-back cycles."""

    occupancy: dict[str, int]
    dram: int
    energy: float
    loads: int
    first: tuple[int, int] | None
    last_write: int


def tile_costs(routed: Sequence[RoutedStage], tilings: Mapping[int, StageTiling],
               hw: HardwareConfig, zero_skip: bool,
               views: Mapping[int, HardwareConfig] | None = None) -> TileCosts:
    """The :class:`TileCosts` of the tiles of ``routed`` under ``tilings`` (``views``: each
    layer's view of the buffers, by layer index; default ``hw``)."""
    occupancy: dict[str, int] = {}
    dram = 0
    energy = 0.0
    bw, lat = hw.dram.bandwidth_bytes_per_cycle, hw.dram.latency_cycles
    loads: dict[int, int] = {}
    first: tuple[int, int] | None = None
    last_write = 0
    by_layer: dict[int, dict[str, Sram]] = {}
    for s, _, b, tm, _, _ in stage_tiles(routed, tilings, hw, zero_skip, views):
        bufs = by_layer.get(s.layer_index)
        if bufs is None:
            bufs = by_layer[s.layer_index] = dict(
                (views or {}).get(s.layer_index, hw).buffers.items())
        busy = max(b.cycles, tm.port_cycles)
        occupancy[s.unit] = occupancy.get(s.unit, 0) + busy
        read, written = sum(tm.dram_read.values()), sum(tm.dram_write.values())
        load = math.ceil(read / bw) + lat if read else 0
        loads[s.index] = loads.get(s.index, 0) + load
        if first is None:
            first = (load, busy)
        last_write = math.ceil(written / bw) + lat if written else 0
        dram += read + written
        energy += (read + written) * hw.dram.energy_pj_per_byte
        for name, nbytes in tm.sram_read.items():
            energy += nbytes * bufs[name].read_energy_pj_per_byte
        for name, nbytes in tm.sram_write.items():
            energy += nbytes * bufs[name].write_energy_pj_per_byte
    return TileCosts(occupancy, dram, energy, max(loads.values(), default=0), first, last_write)
