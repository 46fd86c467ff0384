"""``map_workload``: a workload on a hardware config -> a
:class:`~accelsim.mapping.schedule.Schedule`.

The passes, each returning a value keyed by routed-stage index:

1. **route** (:func:`accelsim.mapping.build.route_workload`): every stage to a unit class; a bias
   fused into a MAC stage gets no tiles, its additions are counted on that stage's tiles as
   ``add@mac``;
2. **memory policy** per layer (:func:`accelsim.mapping.memory.plan_layer_memory`);
3. **tiling** per layer (:class:`_LayerTiler` -> :class:`~accelsim.mapping.memory.StageTiling`):
   chunk-ordered stages (W_b -> ã -> W_c -> bias on adders and multipliers) that forward on
   chip share one position-chunk grid and pipeline chunk by chunk; a forwarded tensor that does
   not fit is spilled; each stage is cut into blocks (:mod:`accelsim.mapping.tiling`);
4. **tile ids** (:func:`assign_ids`): the service priority everywhere (DRAM, units, buffers):
   earlier layers first, the stages of a chunk pipeline interleaved chunk by chunk;
5. **tiles** (:func:`build_tiles`): each block's memory traffic and reservations
   (:func:`~accelsim.mapping.memory.tile_memory`);
6. **dependencies** (:func:`accelsim.mapping.deps.wire`): stage barriers, chunk edges and, in
   the ``overlap`` schedule, receptive-field edges across layers.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from accelsim import __version__
from accelsim.choices import SchedulePolicy
from accelsim.errors import CompatibilityError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.hw.load import hwconfig_hash
from accelsim.mapping.build import RoutedStage, TimingModel, route_workload
from accelsim.mapping.deps import producer_layers, wire
from accelsim.mapping.memory import (
    DRAM,
    FWD,
    SPILL,
    StageMemory,
    StageTiling,
    plan_layer_memory,
    tile_memory,
)
from accelsim.mapping.schedule import Schedule, Tile
from accelsim.mapping.tiling import (
    INF,
    Block,
    Limits,
    Slices,
    TooSmall,
    channel_block,
    chunk_limit,
    chunked_blocks,
    even_grid,
    share,
    systolic_blocks,
)
from accelsim.routing import check_compatible
from accelsim.workload.load import workload_hash
from accelsim.workload.schema import Workload


def map_workload(wl: Workload, hw: HardwareConfig,
                 schedule: SchedulePolicy | str = SchedulePolicy.SEQUENTIAL,
                 zero_skip: bool = False) -> Schedule:
    """Map ``wl`` onto ``hw``.

    ``schedule``: ``"sequential"`` (barrier between layers) or ``"overlap"``; ``zero_skip``:
    count and time ternary stages by their non-zero weights. Raises
    :class:`~accelsim.errors.InputError` for an unknown schedule and
    :class:`~accelsim.errors.CompatibilityError` when a stage needs a unit class the config has
    none of, a buffer cannot hold one minimal tile, or a bandwidth is not positive."""
    policy = SchedulePolicy.parse(schedule, "schedule")
    source = f"{wl.name} on {hw.name}"
    _check_hw(hw, source)
    check_compatible(wl, hw, source)
    routed = route_workload(wl, hw)
    layers = _by_layer(routed)
    tilings: dict[int, StageTiling] = {}
    for group in layers:
        memory = plan_layer_memory(group, hw)
        tilings.update(_LayerTiler(group, memory, hw, zero_skip, source).run())
    ids = assign_ids(layers, tilings)
    tiles, partials = build_tiles(routed, tilings, ids, hw, zero_skip)
    producers = producer_layers(wl, source)
    plans, final = wire(wl, routed, layers, tilings, ids, partials, tiles, producers, policy)
    meta = {"workload_hash": workload_hash(wl), "hw_hash": hwconfig_hash(hw),
            "accelsim_version": __version__}
    return Schedule(wl.name, hw.name, policy, zero_skip, tuple(la.name for la in wl.layers),
                    tuple(plans), tuple(final), meta)


def _check_hw(hw: HardwareConfig, source: str) -> None:
    problems = []
    if not hw.dram.bandwidth_bytes_per_cycle > 0:
        problems.append(Problem("dram.bandwidth_bytes_per_cycle",
                                hw.dram.bandwidth_bytes_per_cycle, "must be > 0 to move any data"))
    for name, sram in hw.buffers.items():
        if not sram.bandwidth_bytes_per_cycle > 0:
            problems.append(Problem(f"buffers.{name}.bandwidth_bytes_per_cycle",
                                    sram.bandwidth_bytes_per_cycle, "must be > 0"))
        if sram.tile_bytes < 1:
            problems.append(Problem(f"buffers.{name}.size_kib", sram.size_kib,
                                    "must hold at least one byte per tile"))
    if problems:
        raise CompatibilityError(problems, source)


def _by_layer(routed: Sequence[RoutedStage]) -> tuple[tuple[RoutedStage, ...], ...]:
    """Routed stages grouped by layer (layers with at least one routed stage, in order)."""
    groups: dict[int, list[RoutedStage]] = {}
    for s in routed:
        groups.setdefault(s.layer_index, []).append(s)
    return tuple(tuple(groups[li]) for li in sorted(groups))


# -- tiling -----------------------------------------------------------------------------------
def _limits(s: RoutedStage, mem: StageMemory, hw: HardwareConfig) -> Limits:
    bufs = dict(hw.buffers.items())
    w = INF if mem.resident_w else bufs["weights"].tile_bytes
    if mem.source == DRAM:
        i = INF if mem.resident_in else bufs["inputs"].tile_bytes
    elif mem.source == FWD:
        i = INF
    else:
        i = bufs["inputs"].tile_bytes
    if mem.in_place and mem.source == FWD:
        o = INF
    elif mem.sink == FWD:  # (a systolic stage's partial sums live in the output buffer)
        o = bufs[mem.out_buf].tile_bytes
        if s.timing is TimingModel.SYSTOLIC:
            o = min(o, bufs["outputs"].tile_bytes)
    else:
        o = bufs["outputs"].tile_bytes
    return Limits(w, i, o)


def _slices(s: RoutedStage, mem: StageMemory, zero_skip: bool) -> Slices:
    st = s.stage
    return Slices(weights=mem.weights_total, inputs=mem.inputs_total, outputs=mem.out_tensor,
                  ops=st.ops(zero_skip), input_by_channel=st.groups > 1 or mem.in_place)


class _LayerTiler:
    """The tiling pass of one layer (its state lives only while :meth:`run` runs)."""

    def __init__(self, group: Sequence[RoutedStage], memory: dict[int, StageMemory],
                 hw: HardwareConfig, zero_skip: bool, source: str):
        self.group, self.hw, self.zero_skip, self.source = group, hw, zero_skip, source
        self.mem = dict(memory)
        self.by_index = {s.index: s for s in group}
        self.bufs = dict(hw.buffers.items())
        self.comp: dict[int, int] = {}
        self.limits: dict[int, Limits] = {}
        self.nblock: dict[int, int] = {}
        self.blocks: dict[int, list[Block]] = {}

    def run(self) -> dict[int, StageTiling]:
        """Components of chunk-ordered stages share a grid; everything else is tiled alone."""
        comps: list[list[RoutedStage]] = []
        mem = self.mem
        for s in self.group:
            p = self.by_index.get(s.producer) if s.producer is not None else None
            pcomp = self.comp.get(p.index, -1) if p is not None else -1
            if (s.chunked and p is not None and p.chunked and pcomp >= 0
                    and mem[s.index].source == FWD
                    and not (mem[p.index].in_place and comps[pcomp][0] is p)):
                self.comp[s.index] = pcomp
                comps[pcomp].append(s)
            elif s.chunked:
                self.comp[s.index] = len(comps)
                comps.append([s])
            own = self.comp.get(s.index, -1)
            if (p is not None and mem[s.index].source == FWD and (own < 0 or own != pcomp)
                    and mem[p.index].out_tensor > self.bufs[mem[p.index].out_buf].tile_bytes):
                self._spill(s)
        for s in self.group:
            m = mem[s.index]
            self.limits[s.index] = _limits(s, m, self.hw)
            sl = _slices(s, m, self.zero_skip)
            try:
                if not s.chunked:
                    self.blocks[s.index] = systolic_blocks(s.stage, sl, self.hw,
                                                           self.limits[s.index])
                else:
                    nb = channel_block(s.stage, sl, self.limits[s.index])
                    self.nblock[s.index] = max(1, nb)
                    if nb < 1:
                        raise TooSmall("weights", -(-sl.weights // s.stage.n))
            except TooSmall as exc:
                raise self._too_small(exc, s) from None
        for comp in comps:
            self._grid(comp)
        return {s.index: StageTiling(mem[s.index], self.comp.get(s.index, -1),
                                     tuple(self.blocks[s.index])) for s in self.group}

    def _spill(self, s: RoutedStage) -> None:
        """The edge from ``s``'s producer goes through DRAM."""
        assert s.producer is not None
        self.mem[s.index] = replace(self.mem[s.index], source=SPILL, in_buf="inputs")
        self.mem[s.producer] = replace(self.mem[s.producer], sink=SPILL)

    def _grid(self, comp: list[RoutedStage]) -> None:
        mem = self.mem
        head = comp[0]
        mh = max(1, head.stage.m)
        step = mh
        for s in comp:
            m = mem[s.index]
            sl = _slices(s, m, self.zero_skip)
            nb = s.stage.n if m.sink == FWD and not m.in_place else self.nblock[s.index]
            lim = chunk_limit(s.stage, sl, self.limits[s.index], nb)
            step = min(step, lim * mh // max(1, s.stage.m))
        members = {s.index for s in comp}
        if step < 1 and len(comp) > 1:  # one chunk does not fit on chip: stage edges, spill
            for s in comp[1:]:
                self.comp[s.index] = -1
                if s.producer in members:
                    self._spill(s)
            for s in comp:
                self.limits[s.index] = _limits(s, mem[s.index], self.hw)
                self._grid([s])
            return
        for attempt in range(8):
            grid = even_grid(mh, max(1, step))
            try:
                for s in comp:
                    ms = s.stage.m
                    sgrid = [(a * ms // mh, b * ms // mh) for a, b in grid] if s is not head \
                        else grid
                    self.blocks[s.index] = chunked_blocks(
                        s.stage, _slices(s, mem[s.index], self.zero_skip), self.hw, s.unit,
                        self.limits[s.index], sgrid, self.nblock[s.index])
                break
            except TooSmall as exc:
                if step <= 1 or attempt == 7:
                    raise self._too_small(exc, s) from None
                step = max(1, step * 9 // 10)
        for s in comp:
            mem[s.index] = replace(
                mem[s.index], chunk_edge_in=s.producer in members and s is not head,
                chunk_edge_out=any(c in members for c in s.consumers))

    def _too_small(self, exc: TooSmall, s: RoutedStage) -> CompatibilityError:
        sram = self.bufs[exc.buffer]
        half = "; double-buffered, so a tile gets half of it" if sram.double_buffered else ""
        return CompatibilityError(Problem(
            f"buffers.{exc.buffer}.size_kib", sram.size_kib,
            f"too small for one minimal tile of layers[{s.layer.name}].stages[{s.stage.name}]: "
            f"needs {exc.need} B per tile, has {sram.tile_bytes} B{half}"), self.source)


# -- ids and tiles ----------------------------------------------------------------------------
def assign_ids(layers: Sequence[Sequence[RoutedStage]], tilings: dict[int, StageTiling]
               ) -> dict[int, tuple[int, ...]]:
    """Tile ids of every routed stage's blocks (see module docstring)."""
    nxt = 0
    ids: dict[int, tuple[int, ...]] = {}
    for group in layers:
        for s in group:
            if s.index in ids:
                continue
            t = tilings[s.index]
            if t.comp < 0:
                ids[s.index] = tuple(range(nxt, nxt + len(t.blocks)))
                nxt += len(t.blocks)
                continue
            comp = [x for x in group if tilings[x.index].comp == t.comp]
            per: dict[int, dict[int, list[int]]] = {x.index: {} for x in comp}
            got: dict[int, list[int]] = {x.index: [0] * len(tilings[x.index].blocks) for x in comp}
            for x in comp:
                for j, b in enumerate(tilings[x.index].blocks):
                    per[x.index].setdefault(b.chunk, []).append(j)
            for c in sorted({c for x in comp for c in per[x.index]}):
                for x in comp:
                    for j in per[x.index].get(c, []):
                        got[x.index][j] = nxt
                        nxt += 1
            ids.update({k: tuple(v) for k, v in got.items()})
    return ids


def build_tiles(routed: Sequence[RoutedStage], tilings: dict[int, StageTiling],
                ids: dict[int, tuple[int, ...]], hw: HardwareConfig, zero_skip: bool
                ) -> tuple[list[Tile], dict[int, dict[int, int]]]:
    """Every tile (indexed by id) and, per stage, the channel folds whose partial sums stay on
    chip (:func:`_partial_sets`)."""
    tiles: list[Tile | None] = [None] * sum(len(t.blocks) for t in tilings.values())
    kept: dict[int, defaultdict[int, int]] = {}
    partials: dict[int, dict[int, int]] = {}
    for s in routed:  # workload and stage order: producers before consumers
        t = tilings[s.index]
        mem, blocks = t.memory, t.blocks
        mine = kept[s.index] = defaultdict(int)
        producer_kept = kept[s.producer] if s.producer is not None else None
        n_b = len(blocks)
        last_of_chunk = {}
        for j, b in enumerate(blocks):
            last_of_chunk[b.chunk if mem.chunk_edge_in else -1] = j
        sets = partials[s.index] = _partial_sets(s, blocks, hw)
        for j, b in enumerate(blocks):
            key = b.chunk if mem.chunk_edge_in else -1
            tm = tile_memory(b, mem, mine, producer_kept, first=j == 0, last=j == n_b - 1,
                             chunk_last=last_of_chunk[key] == j,
                             partial_bytes=sets.get(b.cfold, 0), hw=hw)
            st = s.stage
            fused_ops = sum(b.finished * f.k if (f.m, f.n) == (st.m, st.n) else
                            share(f.ops(zero_skip), 0, b.finished, st.m * st.n)
                            for f in s.fused)
            tid = ids[s.index][j]
            tiles[tid] = Tile(
                id=tid, stage=s.index, m=(b.m0, b.m1), n=(b.n0, b.n1), k=(b.k0, b.k1),
                chunk=b.chunk, folds=b.folds, ops=b.ops, fused_ops=fused_ops,
                compute_cycles=b.cycles, port_cycles=tm.port_cycles, alloc=tm.alloc,
                free=tm.free, dram_read=tm.dram_read, dram_write=tm.dram_write,
                sram_read=tm.sram_read, sram_write=tm.sram_write)
    assert all(t is not None for t in tiles)
    return [t for t in tiles if t is not None], partials


def _partial_sets(s: RoutedStage, blocks: Sequence[Block], hw: HardwareConfig
                  ) -> dict[int, int]:
    """Channel folds of a systolic stage whose partial sums stay in the output buffer: the
    fold's term folds span several tiles, none of them cut into continuation chunks, and its
    partial set fits a tile."""
    if s.timing is not TimingModel.SYSTOLIC:
        return {}
    tile = dict(hw.buffers.items())["outputs"].tile_bytes
    split = {b.cfold for b in blocks if not (b.kfirst and b.klast)}
    split -= {b.cfold for b in blocks if b.chunked}
    out = {}
    for b in blocks:
        if b.cfold in split and b.kfirst and b.out <= tile:
            out[b.cfold] = b.out
    return out
