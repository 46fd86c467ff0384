"""The tiling pass of one layer: every routed stage cut into blocks, chunk pipelines on a
shared grid, forwarded tensors that do not fit spilled (:class:`LayerTiler`)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from accelsim.errors import CompatibilityError, Problem
from accelsim.hw.config import HardwareConfig, ZeroHandling
from accelsim.mapping.build import RoutedStage, TimingModel
from accelsim.mapping.chunks import channel_block, chunk_limit, chunked_blocks, even_grid
from accelsim.mapping.deps import stage_grid
from accelsim.mapping.fusion import chunk_systolic_blocks
from accelsim.mapping.memory import DRAM, FWD, RES, SPILL, StageMemory, StageTiling
from accelsim.mapping.tiling import (
    INF,
    Block,
    Halo,
    Limits,
    Slices,
    TooSmall,
    line_buffer,
    systolic_blocks,
)
from accelsim.mapping.units import ChunkOrder, Layout, SystolicMapping
from accelsim.workload.schema import LAYER_INPUT


def _kib(nbytes: int) -> str:
    """``nbytes`` in KiB, rounded up to the fourth decimal (so the size given always fits)."""
    return f"{math.ceil(nbytes / 1024 * 1e4) / 1e4:g}"


def limits_of(s: RoutedStage, mem: StageMemory, hw: HardwareConfig, halvings: int = 0
              ) -> Limits:
    """A stage's per-tile byte budgets: each buffer's tile budget (``tile_bytes``, cut to
    ``1/2**halvings`` of it) for the operands loaded tile by tile, ``INF`` for those resident
    or forwarded whole."""
    lim = _limits(s, mem, hw)
    if not halvings:
        return lim
    return Limits(*(x if x >= INF else max(1, x >> halvings)
                    for x in (lim.weights, lim.inputs, lim.outputs)))


def _limits(s: RoutedStage, mem: StageMemory, hw: HardwareConfig) -> Limits:
    bufs = dict(hw.buffers.items())
    w = INF if mem.resident_w else bufs["weights"].tile_bytes
    if mem.source == DRAM:
        i = INF if mem.resident_in or mem.input_staged == "reads" else bufs["inputs"].tile_bytes
    elif mem.source in (FWD, RES):
        i = INF
    else:
        i = bufs["inputs"].tile_bytes
    if mem.in_place and mem.source == FWD:
        o = INF
    elif mem.sink in (FWD, RES):  # (a systolic stage's partial sums live in the output buffer)
        o = bufs[mem.out_buf].tile_bytes
        if s.timing is TimingModel.SYSTOLIC:
            o = min(o, bufs["outputs"].tile_bytes)
    else:
        o = bufs["outputs"].tile_bytes
    return Limits(w, i, o)


def slices_of(s: RoutedStage, mem: StageMemory, zero_skip: bool, hw: HardwareConfig) -> Slices:
    st = s.stage
    terms = None
    skips = zero_skip and hw.adder_array.zero_handling == ZeroHandling.SKIP
    if skips and s.timing is TimingModel.TREE and st.ops_nonzero < st.ops_dense and st.m:
        per = st.ops_nonzero_per_channel
        if per:
            terms = tuple(c / st.m for c in per)
        else:
            terms = (st.ops_nonzero / (st.m * st.n),) * st.n
    return Slices(weights=mem.weights_total, inputs=mem.inputs_total, outputs=mem.out_tensor,
                  ops=st.ops(zero_skip), input_by_channel=st.groups > 1 or mem.in_place,
                  channel_terms=terms, halo=input_halo(s))


def input_halo(s: RoutedStage) -> Halo | None:
    """The spatial geometry of a stage that reads the layer's input over its output grid with
    windows larger than the stride (neighbouring tiles share input rows), else None."""
    if s.producer is not None or s.stage.reads != LAYER_INPUT:
        return None
    geo = stage_grid(s.layer, s.stage)
    if geo is None:
        return None
    rows, cols, kh, stride, pad = geo
    sh = s.layer.shape
    kw = kh - sh.kernel_h + sh.kernel_w  # a Strassen patch widens both by (patch - 1) * stride
    if max(kh, kw) <= stride or rows * cols <= 1:
        return None
    return Halo(rows, cols, kh, kw, stride, pad, sh.in_h, sh.in_w)


class LayerTiler:
    """The tiling pass of one layer (its state lives only while :meth:`run` runs)."""

    def __init__(self, group: Sequence[RoutedStage], memory: dict[int, StageMemory],
                 hw: HardwareConfig, zero_skip: bool, source: str,
                 mappings: Mapping[int, Layout], halvings: int = 0,
                 grid: Sequence[tuple[int, int]] | None = None):
        """``halvings``: tiles cut to ``1/2**halvings`` of each buffer's tile budget;
        ``grid``: position chunks every stage is cut on (a layer of a fused pair,
        :mod:`accelsim.mapping.fusion`; each stage's ``m`` is the grid's size); None: each
        chunk pipeline sizes its own grid and systolic stages keep their fold order."""
        self.group, self.hw, self.zero_skip, self.source = group, hw, zero_skip, source
        self.mappings, self.halvings = mappings, halvings
        self.grid = list(grid) if grid is not None else None
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
            self.limits[s.index] = limits_of(s, m, self.hw, self.halvings)
            sl = slices_of(s, m, self.zero_skip, self.hw)
            try:
                mapping = self.mappings.get(s.index)
                if not s.chunked and self.grid is not None:
                    assert isinstance(mapping, SystolicMapping)
                    self.blocks[s.index] = chunk_systolic_blocks(
                        s.stage, sl, self.hw, self.limits[s.index], mapping, self.grid)
                elif not s.chunked:
                    assert isinstance(mapping, SystolicMapping)
                    self.blocks[s.index] = systolic_blocks(s.stage, sl, self.hw,
                                                           self.limits[s.index], mapping)
                else:
                    nb = channel_block(s.stage, sl, self.limits[s.index])
                    self.nblock[s.index] = max(1, nb)
                    if nb < 1:
                        raise TooSmall("weights", -(-sl.weights // s.stage.n))
            except TooSmall as exc:
                raise self._too_small(exc, s) from None
        for comp in comps:
            self._grid(comp)
        if self.hw.mapping.line_buffer:
            for s in self.group:
                sl = slices_of(s, mem[s.index], self.zero_skip, self.hw)
                layout = self.mappings.get(s.index)
                self.blocks[s.index] = line_buffer(
                    s.stage, sl, self.blocks[s.index],
                    layout if isinstance(layout, SystolicMapping) else None)
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
        if self.grid is not None:
            self._fixed_grid(comp, self.grid)
            return
        mh = max(1, head.stage.m)
        step = mh
        for s in comp:
            m = mem[s.index]
            sl = slices_of(s, m, self.zero_skip, self.hw)
            nb = s.stage.n if m.sink == FWD and not m.in_place else self.nblock[s.index]
            lim = chunk_limit(s.stage, sl, self.limits[s.index], nb)
            step = min(step, lim * mh // max(1, s.stage.m))
        members = {s.index for s in comp}
        by_channel = self._channels_outer(comp)
        if by_channel:  # the followers work in place on the head's channel blocks
            for s in comp[1:]:
                self.nblock[s.index] = self.nblock[head.index]
        if step < 1 and len(comp) > 1:  # one chunk does not fit on chip: stage edges, spill
            for s in comp[1:]:
                self.comp[s.index] = -1
                if s.producer in members:
                    self._spill(s)
            for s in comp:
                self.limits[s.index] = limits_of(s, mem[s.index], self.hw,
                                                 self.halvings)
                self._grid([s])
            return
        for attempt in range(8):
            grid = even_grid(mh, max(1, step))
            try:
                for s in comp:
                    ms = s.stage.m
                    sgrid = [(a * ms // mh, b * ms // mh) for a, b in grid] if s is not head \
                        else grid
                    sl = slices_of(s, mem[s.index], self.zero_skip, self.hw)
                    self.blocks[s.index] = chunked_blocks(
                        s.stage, sl, self.hw, s.unit, self.limits[s.index], sgrid,
                        self.nblock[s.index], by_channel)
                break
            except TooSmall as exc:
                if step <= 1 or attempt == 7:
                    raise self._too_small(exc, s) from None
                step = max(1, step * 9 // 10)
        self._chunk_edges(comp)

    def _chunk_edges(self, comp: list[RoutedStage]) -> None:
        """The stages of a chunk pipeline pass their tensors chunk by chunk."""
        members = {s.index for s in comp}
        for s in comp:
            self.mem[s.index] = replace(
                self.mem[s.index], chunk_edge_in=s.producer in members and s is not comp[0],
                chunk_edge_out=any(c in members for c in s.consumers))

    def _channels_outer(self, comp: list[RoutedStage]) -> bool:
        """The component runs channel blocks outer: its head's layout asks for it and every
        other member is element-wise on the head's positions and channels (a scale, a bias: its
        block needs only the head's block of the same positions and channels; else the chunks
        pipeline position chunk by position chunk, and the order stays positions outer)."""
        head = comp[0]
        if self.mappings.get(head.index) is not ChunkOrder.CHANNELS:
            return False
        return all(s.timing is TimingModel.ELEMENTWISE and (s.stage.m, s.stage.n) ==
                   (head.stage.m, head.stage.n) for s in comp[1:])

    def _fixed_grid(self, comp: list[RoutedStage], grid: list[tuple[int, int]]) -> None:
        """Cut a chunk pipeline on the fused pair's ``grid``: each chunk into as many even
        pieces as a block's slices need, every piece's blocks carrying the chunk's index; a
        forwarded chunk must fit whole (else :class:`TooSmall` as a one-line error)."""
        for s in comp:
            m = self.mem[s.index]
            sl = slices_of(s, m, self.zero_skip, self.hw)
            lim = self.limits[s.index]
            nb = self.nblock[s.index]
            try:
                if m.sink == FWD and not m.in_place:
                    kept = -(-sl.outputs * max(b - a for a, b in grid) // max(1, s.stage.m))
                    if kept > lim.outputs:
                        raise TooSmall(m.out_buf, kept)
                step = max(1, chunk_limit(s.stage, sl, lim, nb))
                pieces, owner = [], []
                for c, (a, b) in enumerate(grid):
                    for p0, p1 in even_grid(b - a, step):
                        pieces.append((a + p0, a + p1))
                        owner.append(c)
                self.blocks[s.index] = [
                    replace(blk, chunk=owner[blk.chunk]) for blk in chunked_blocks(
                        s.stage, sl, self.hw, s.unit, lim, pieces, nb)]
            except TooSmall as exc:
                raise self._too_small(exc, s) from None
        self._chunk_edges(comp)

    def _too_small(self, exc: TooSmall, s: RoutedStage) -> CompatibilityError:
        sram = self.bufs[exc.buffer]
        half = "; double-buffered, so a tile gets half of it" if sram.double_buffered else ""
        smallest = exc.need * (2 if sram.double_buffered else 1)
        return CompatibilityError(Problem(
            f"buffers.{exc.buffer}.size_kib", sram.size_kib,
            f"too small for one minimal tile of layers[{s.layer.name}].stages[{s.stage.name}]: "
            f"needs {exc.need} B per tile, has {sram.tile_bytes} B{half}; the smallest size "
            f"that holds it: {_kib(smallest)} KiB"), self.source)
