"""``map_workload``: a workload on a hardware config -> a :class:`~accelsim.mapping.plan.Schedule`.

Steps: route every stage to a unit class (:func:`accelsim.routing.assign`; a bias fused into a
MAC stage gets no tiles, its additions are counted on that stage's tiles as ``add@mac``), decide
the memory policy (:mod:`accelsim.mapping.memory`), cut each stage into tiles
(:mod:`accelsim.mapping.tiling`), and wire dependencies:

* inside a layer, a producer/consumer pair of chunk-ordered stages (W_b -> ã -> W_c -> bias on
  adders and multipliers) shares one position-chunk grid and pipelines chunk by chunk; any other
  pair waits for the whole producer stage;
* across layers, ``sequential`` puts a barrier after every layer; ``overlap`` lets a tile start
  as soon as the producer tiles covering its receptive field are done (rows of the producer's
  output, from the layer shapes) when its stage streams its operands, and after the whole
  producer stage otherwise (resident operands, partial sums kept on chip, shape changes).

Tile ids are the service priority everywhere (DRAM, units, buffers): earlier layers first, the
stages of a chunk pipeline interleaved chunk by chunk.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from accelsim import __version__
from accelsim.errors import CompatibilityError, InputError, Problem
from accelsim.hw.config import Dataflow, HardwareConfig
from accelsim.hw.load import hwconfig_hash
from accelsim.mapping import deps as _deps
from accelsim.mapping.memory import DRAM, FWD, SPILL, StageMemory, tile_memory
from accelsim.mapping.plan import SCHEDULES, Schedule, Tile
from accelsim.mapping.tiling import (
    INF, Limits, Slices, TooSmall, channel_block, chunk_limit, chunked_blocks, even_grid,
    model_of, share, systolic_blocks,
)
from accelsim.routing import assign, check_compatible
from accelsim.workload.load import workload_hash
from accelsim.workload.schema import HIDDEN, LAYER_INPUT, Layer, Stage, Workload


@dataclass(eq=False)
class _S:
    """Build record of one non-fused stage (private, mutable while mapping)."""

    idx: int
    li: int
    layer: Layer
    st: Stage
    unit: str
    op_key: str
    model: str
    fused: list = field(default_factory=list)
    fused_key: str = ""
    producer: "_S | None" = None
    consumers: list = field(default_factory=list)
    mem: StageMemory = field(default_factory=StageMemory)
    out_tensor: int = 0
    comp: int = -1
    grid: list | None = None
    nblock: int = 0
    limits: Limits | None = None
    blocks: list = field(default_factory=list)
    ids: list = field(default_factory=list)
    positional: bool = False
    partials: dict = field(default_factory=dict)

    @property
    def chunked(self) -> bool:
        return self.model != "systolic"


def map_workload(wl: Workload, hw: HardwareConfig, schedule: str = "sequential",
                 zero_skip: bool = False) -> Schedule:
    """Map ``wl`` onto ``hw``.

    ``schedule``: ``"sequential"`` (barrier between layers) or ``"overlap"``; ``zero_skip``:
    count and time ternary stages by their non-zero weights. Raises
    :class:`~accelsim.errors.InputError` for an unknown schedule and
    :class:`~accelsim.errors.CompatibilityError` when a stage needs a unit class the config has
    none of, a buffer cannot hold one minimal tile, or a bandwidth is not positive."""
    if schedule not in SCHEDULES:
        raise InputError(Problem("schedule", schedule, f"must be one of {', '.join(SCHEDULES)}"))
    source = f"{wl.name} on {hw.name}"
    _check_hw(hw, source)
    check_compatible(wl, hw, source)
    stages = _route(wl, hw)
    by_layer: dict[int, list[_S]] = {}
    for s in stages:
        by_layer.setdefault(s.li, []).append(s)
    for li, group in by_layer.items():
        _edges(group)
        _policy(group, hw)
        _tile_layer(group, hw, zero_skip, source)
    _assign_ids(stages, by_layer)
    tiles = _build_tiles(stages, hw, zero_skip)
    producers = _deps.producer_layers(wl, source)
    plans, tiles = _deps.wire(wl, stages, by_layer, tiles, producers, schedule)
    meta = {"workload_hash": workload_hash(wl), "hw_hash": hwconfig_hash(hw),
            "accelsim_version": __version__}
    return Schedule(wl.name, hw.name, schedule, zero_skip, tuple(la.name for la in wl.layers),
                    tuple(plans), tuple(tiles), meta)


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


def _route(wl: Workload, hw: HardwareConfig) -> list[_S]:
    out: list[_S] = []
    for li, layer in enumerate(wl.layers):
        fused: list[tuple[Stage, str, str]] = []
        mine: dict[str, _S] = {}
        for st in layer.stages:
            a = assign(st, layer, hw)
            if a.fused:
                fused.append((st, st.fuse_into, a.op_key))
                continue
            s = _S(len(out), li, layer, st, a.unit, a.op_key, model_of(st, a.unit))
            mine[st.name] = s
            out.append(s)
        for st, target, key in fused:
            tgt = mine.get(target)
            for _ in layer.stages:  # fused into a fused stage: follow the chain
                if tgt is not None or target is None:
                    break
                target = layer.stage(target).fuse_into
                tgt = mine.get(target)
            if tgt is None:
                raise CompatibilityError(Problem(f"layers[{layer.name}].stages[{st.name}]"
                                                 ".fuse_into", st.fuse_into,
                                                 "names no stage that runs on its own"))
            tgt.fused.append(st)
            tgt.fused_key = key
    return out


def _edges(group: list[_S]) -> None:
    by_name = {s.st.name: s for s in group}
    fused_to = {f.name: s for s in group for f in s.fused}
    for s in group:
        if s.st.reads == LAYER_INPUT:
            continue
        p = by_name.get(s.st.reads) or fused_to.get(s.st.reads)
        if p is None or p is s:
            continue
        s.producer = p
        p.consumers.append(s)


def _buf(writes: str) -> str:
    return "hidden" if writes == HIDDEN else "outputs"


def _policy(group: list[_S], hw: HardwareConfig) -> None:
    """Sources, sinks, in-place work, tensors and residency for one layer's stages."""
    bufs = dict(hw.buffers.items())
    budget = {name: sram.size_bytes - sram.tile_bytes for name, sram in bufs.items()}
    for s in group:  # stage order is a topological order
        st, mem, p = s.st, s.mem, s.producer
        mem.out_buf = _buf(st.writes)
        if p is not None:
            mem.in_place = (st.m == p.st.m and st.n == p.st.n and
                            (st.out_bytes == 0 or (st.out_bytes <= st.in_bytes and
                                                   _buf(st.writes) == p.mem.out_buf)))
        s.out_tensor = p.out_tensor if mem.in_place else st.out_bytes
        if mem.in_place:
            mem.out_buf = p.mem.out_buf
        mem.weights_total = st.weight_bytes + sum(f.weight_bytes for f in s.fused)
        mem.inputs_total = st.in_bytes if p is None else p.out_tensor
        if p is not None:
            one = len(p.consumers) == 1
            fits = p.out_tensor <= bufs[p.mem.out_buf].tile_bytes
            # chunk-ordered pairs may forward chunk by chunk (checked when the grid is cut)
            mem.source = FWD if one and (fits or (s.chunked and p.chunked)) else SPILL
            mem.in_buf = p.mem.out_buf if mem.source == FWD else "inputs"
        # residency: operands that would be re-read, within the layer's budget
        reuse_w, reuse_in = _reuse(s, hw)
        w_tile = bufs["weights"].tile_bytes
        if reuse_w and mem.weights_total <= min(w_tile, budget["weights"]):
            mem.resident_w = True
            budget["weights"] -= mem.weights_total
        in_tile = bufs["inputs"].tile_bytes
        if (mem.source == DRAM and reuse_in and
                mem.inputs_total <= min(in_tile, budget["inputs"])):
            mem.resident_in = True
            budget["inputs"] -= mem.inputs_total
    for s in group:
        if len(s.consumers) == 1:
            s.mem.sink = s.consumers[0].mem.source  # fwd or spill
        elif s.consumers:
            s.mem.sink = SPILL
            for c in s.consumers:
                c.mem.source, c.mem.in_buf = SPILL, "inputs"


def _reuse(s: _S, hw: HardwareConfig) -> tuple[bool, bool]:
    """Would the stage read its weights / inputs more than once if they were not resident?"""
    st = s.st
    if s.model == "systolic":
        mac = hw.mac_array
        if mac.dataflow is Dataflow.WS:
            return False, st.groups == 1 and st.n > mac.cols
        return st.m > mac.rows, st.groups == 1 and st.n > mac.cols
    return st.m > 1, False


def _limits(s: _S, hw: HardwareConfig) -> Limits:
    bufs = dict(hw.buffers.items())
    mem = s.mem
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
        if s.model == "systolic":
            o = min(o, bufs["outputs"].tile_bytes)
    else:
        o = bufs["outputs"].tile_bytes
    return Limits(w, i, o)


def _slices(s: _S, zero_skip: bool) -> Slices:
    st = s.st
    return Slices(weights=s.mem.weights_total, inputs=s.mem.inputs_total,
                  outputs=s.out_tensor, ops=st.ops(zero_skip),
                  input_by_channel=st.groups > 1 or s.mem.in_place)


def _tile_layer(group: list[_S], hw: HardwareConfig, zero_skip: bool, source: str) -> None:
    """Components of chunk-ordered stages share a grid; everything else is tiled alone."""
    comps: list[list[_S]] = []
    for s in group:
        p = s.producer
        if (s.chunked and p is not None and p.chunked and p.comp >= 0 and s.mem.source == FWD
                and not (p.mem.in_place and comps[p.comp][0] is p)):
            s.comp = p.comp
            comps[p.comp].append(s)
        elif s.chunked:
            s.comp = len(comps)
            comps.append([s])
        if (p is not None and s.mem.source == FWD and (s.comp < 0 or s.comp != p.comp)
                and p.out_tensor > dict(hw.buffers.items())[p.mem.out_buf].tile_bytes):
            _spill(s)
    for s in group:
        s.limits = _limits(s, hw)
        sl = _slices(s, zero_skip)
        try:
            if not s.chunked:
                s.blocks = systolic_blocks(s.st, sl, hw, s.limits)
            else:
                s.nblock = max(1, channel_block(s.st, sl, s.limits))
                if channel_block(s.st, sl, s.limits) < 1:
                    raise TooSmall("weights", -(-sl.weights // s.st.n))
        except TooSmall as exc:
            raise _too_small(exc, s, hw, source) from None
    for comp in comps:
        _grid(comp, hw, zero_skip, source)


def _grid(comp: list[_S], hw: HardwareConfig, zero_skip: bool, source: str) -> None:
    head = comp[0]
    mh = max(1, head.st.m)
    step = mh
    for s in comp:
        sl = _slices(s, zero_skip)
        nb = s.st.n if s.mem.sink == FWD and not s.mem.in_place else s.nblock
        lim = chunk_limit(s.st, sl, s.limits, nb)
        step = min(step, lim * mh // max(1, s.st.m))
    if step < 1 and len(comp) > 1:  # one chunk does not fit on chip: stage-level edges, spill
        for s in comp[1:]:
            s.comp = -1
            if s.producer in comp:
                _spill(s)
        for s in comp:
            s.limits = _limits(s, hw)
            _grid([s], hw, zero_skip, source)
        return
    for attempt in range(8):
        grid = even_grid(mh, max(1, step))
        try:
            for s in comp:
                m = s.st.m
                s.grid = [(a * m // mh, b * m // mh) for a, b in grid] if s is not head else grid
                s.blocks = chunked_blocks(s.st, _slices(s, zero_skip), hw, s.unit, s.limits,
                                          s.grid, s.nblock)
            break
        except TooSmall as exc:
            if step <= 1 or attempt == 7:
                raise _too_small(exc, s, hw, source) from None
            step = max(1, step * 9 // 10)
    for s in comp:
        s.mem.chunk_edge_in = s.producer in comp and s is not head
        s.mem.chunk_edge_out = any(c in comp for c in s.consumers)


def _spill(s: _S) -> None:
    """The edge from ``s``'s producer goes through DRAM."""
    s.mem.source, s.mem.in_buf = SPILL, "inputs"
    s.producer.mem.sink = SPILL


def _too_small(exc: TooSmall, s: _S, hw: HardwareConfig, source: str) -> CompatibilityError:
    sram = dict(hw.buffers.items())[exc.buffer]
    half = "; double-buffered, so a tile gets half of it" if sram.double_buffered else ""
    return CompatibilityError(Problem(
        f"buffers.{exc.buffer}.size_kib", sram.size_kib,
        f"too small for one minimal tile of layers[{s.layer.name}].stages[{s.st.name}]: needs "
        f"{exc.need} B per tile, has {sram.tile_bytes} B{half}"), source)


def _assign_ids(stages: list[_S], by_layer: dict[int, list[_S]]) -> None:
    nxt = 0
    for li in sorted(by_layer):
        done: set[int] = set()
        for s in by_layer[li]:
            if id(s) in done:
                continue
            if s.comp < 0:
                s.ids = list(range(nxt, nxt + len(s.blocks)))
                nxt += len(s.blocks)
                done.add(id(s))
                continue
            comp = [x for x in by_layer[li] if x.comp == s.comp]
            per = {id(x): {} for x in comp}
            for x in comp:
                for j, b in enumerate(x.blocks):
                    per[id(x)].setdefault(b.chunk, []).append(j)
                x.ids = [0] * len(x.blocks)
            chunks = sorted({c for x in comp for c in per[id(x)]})
            for c in chunks:
                for x in comp:
                    for j in per[id(x)].get(c, []):
                        x.ids[j] = nxt
                        nxt += 1
            done.update(id(x) for x in comp)


def _build_tiles(stages: list[_S], hw: HardwareConfig, zero_skip: bool) -> list[Tile | None]:
    total = sum(len(s.blocks) for s in stages)
    tiles: list[Tile | None] = [None] * total
    for s in stages:  # workload and stage order: producers before consumers
        n_b = len(s.blocks)
        last_of_chunk = {}
        for j, b in enumerate(s.blocks):
            last_of_chunk[b.chunk if s.mem.chunk_edge_in else -1] = j
        partial_sets = s.partials = _partial_sets(s, hw)
        for j, b in enumerate(s.blocks):
            key = b.chunk if s.mem.chunk_edge_in else -1
            tm = tile_memory(b, s.mem, s.producer.mem.kept if s.producer else None,
                             first=j == 0, last=j == n_b - 1,
                             chunk_last=last_of_chunk[key] == j,
                             partial_bytes=partial_sets.get(b.cfold, 0), hw=hw)
            fused_ops = sum(b.finished * f.k if (f.m, f.n) == (s.st.m, s.st.n) else
                            share(f.ops(zero_skip), 0, b.finished, s.st.m * s.st.n)
                            for f in s.fused)
            tiles[s.ids[j]] = Tile(
                id=s.ids[j], stage=s.idx, m=(b.m0, b.m1), n=(b.n0, b.n1), k=(b.k0, b.k1),
                chunk=b.chunk, folds=b.folds, ops=b.ops, fused_ops=fused_ops,
                compute_cycles=b.cycles, port_cycles=tm.port_cycles, alloc=tm.alloc,
                free=tm.free, dram_read=tm.dram_read, dram_write=tm.dram_write,
                sram_read=tm.sram_read, sram_write=tm.sram_write)
    return tiles


def _partial_sets(s: _S, hw: HardwareConfig) -> dict[int, int]:
    """Channel folds of a systolic stage whose partial sums stay in the output buffer: the
    fold's term folds span several tiles, none of them cut into continuation chunks, and its
    partial set fits a tile."""
    if s.model != "systolic":
        return {}
    tile = dict(hw.buffers.items())["outputs"].tile_bytes
    split = {b.cfold for b in s.blocks if not (b.kfirst and b.klast)}
    split -= {b.cfold for b in s.blocks if b.chunked}
    out = {}
    for b in s.blocks:
        if b.cfold in split and b.kfirst and b.out <= tile:
            out[b.cfold] = b.out
    return out
