"""Memory policy: what each tile loads, keeps, forwards, spills and writes back.

Decided per stage by :func:`plan_layer_memory` (and adjusted by the tiling pass of
:mod:`accelsim.mapping.mapper` when a forwarded tensor does not fit) and applied per block by
:func:`tile_memory`:

* **weights** are *resident* (loaded once by the stage's first tile, freed by its last) when they
  would otherwise be re-read and fit the layer's residency budget; else each tile loads its slice
  (a weight-stationary fold's continuation chunks load nothing: the weights stay in the array).
* **inputs** read from DRAM are resident on the same terms, else loaded per tile (a WS stage
  with several channel folds then re-reads them, as SCALE-Sim does).
* a stage whose output is read by exactly one later stage of the layer **forwards** it on chip:
  the producer allocates its slices in the buffer it writes (``hidden`` or ``outputs``), the
  consumer reads them there and frees them (per chunk when both pipeline on the same chunk grid,
  else once the whole tensor is consumed). A consumer of the same shape whose output is no larger
  than its input (ã, a bias) works **in place** and passes the allocation on. When the tensor (or
  one chunk) does not fit, it is **spilled**: written to DRAM and read back.
* **partial sums** of a WS channel fold whose term folds span several tiles stay in the output
  buffer when they fit, else they go to DRAM and come back (``partials``).
* a stage with no consumer writes its outputs to DRAM (the layer's output).

``port`` bytes are the array-side SRAM traffic that bounds the tile's occupancy.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from accelsim.hw.config import HardwareConfig, SparseFormat, Sram, ZeroHandling
from accelsim.mapping.build import RoutedStage, TimingModel
from accelsim.mapping.residency import NONE as NO_RESIDENCY
from accelsim.mapping.residency import Residency
from accelsim.mapping.tiling import Block
from accelsim.mapping.units import ChunkOrder, Layout, SystolicMapping
from accelsim.workload.build import TERNARY_BITS
from accelsim.workload.schema import HIDDEN, LAYER_OUTPUT, Stage

DRAM, FWD, SPILL = "dram", "fwd", "spill"
#: a layer's input read from / output kept in the activation buffer (cross-layer residency)
RES = "resident"


@dataclass(frozen=True)
class StageMemory:
    """Memory decisions of one stage.

    ``source``/``sink``: where its input comes from and its output goes (``dram``, ``fwd``: on
    chip from/to the stage it is paired with, ``spill``: through DRAM); ``in_place``: it works in
    its producer's buffer; ``in_buf``/``out_buf``: the buffers its input is read from and its
    forwarded output lives in; ``resident_w``/``resident_in``: weights / inputs loaded once for
    the stage; ``weights_total``/``inputs_total``/``out_tensor``: bytes of its weights (fused
    stages' included), input and output tensor; ``chunk_edge_in``/``chunk_edge_out``: its
    producer / consumer edge is chunk by chunk (set by the tiling pass); ``index_bytes``: the
    part of ``weights_total`` that is sparse-format metadata (zero-skipping);
    ``input_kept``: bytes of ``inputs_total`` read from the activation buffer ``act_buf`` (the
    layer's input kept on chip by the residency pass; all of it when ``source`` is
    ``resident``), ``frees_act``: kept bytes the stage's last tile frees there;
    ``input_staged``: ``loads`` (its first tile loads the layer's DRAM input once for every
    stage that reads it) or ``reads`` (it reads what another stage staged), ``frees_staged``:
    staged input bytes its last tile frees (the layer's last stage)."""

    source: str = DRAM
    sink: str = DRAM
    in_place: bool = False
    in_buf: str = "inputs"
    out_buf: str = "outputs"
    resident_w: bool = False
    resident_in: bool = False
    weights_total: int = 0
    inputs_total: int = 0
    out_tensor: int = 0
    chunk_edge_in: bool = False
    chunk_edge_out: bool = False
    index_bytes: int = 0
    input_kept: int = 0
    act_buf: str = "outputs"
    frees_act: int = 0
    input_staged: str = ""
    frees_staged: int = 0


@dataclass(frozen=True)
class StageTiling:
    """The tiling pass's result for one routed stage: its final ``memory`` policy (spills of
    forwarded tensors that do not fit applied, chunk edges set), the chunk pipeline ``comp``
    (-1: none) whose position-chunk grid it shares, and its ``blocks`` in execution order."""

    memory: StageMemory
    comp: int
    blocks: tuple[Block, ...]


def stored_weight_bytes(st: Stage, hw: HardwareConfig, zero_skip: bool) -> tuple[int, int]:
    """(bytes, of which metadata) of a stage's weights as the accelerator stores them.

    With zero-skipping on adders that skip (``adder_array.zero_handling: skip``) and a sparse
    format, each ternary weight matrix (2-bit tensors larger than one value per channel) is
    stored sparse: ``bitmask`` keeps one presence bit per weight and one sign bit per non-zero;
    ``index`` keeps per non-zero a sign bit and a ``ceil(log2 k)``-bit term index. The
    non-zeros are the stage's density (``ops_nonzero / ops_dense``) times the tensor's size.
    Otherwise the dense form (2 bits per ternary weight) is stored and no metadata counted."""
    adder = hw.adder_array
    if not (zero_skip and adder.zero_handling == ZeroHandling.SKIP and
            adder.sparse_format != SparseFormat.NONE and st.ops_nonzero < st.ops_dense
            and st.ops_dense):
        return st.weight_bytes, 0
    density = st.ops_nonzero / st.ops_dense
    total = meta = 0
    for w in st.weights:
        if w.bits != TERNARY_BITS or w.count <= st.n:
            total += w.nbytes
            continue
        nnz = round(w.count * density)
        if adder.sparse_format == SparseFormat.BITMASK:
            bits, meta_bits = w.count + nnz, w.count
        else:
            idx = max(1, math.ceil(math.log2(max(st.k, 2))))
            bits, meta_bits = nnz * (1 + idx), nnz * idx
        total += -(-bits // 8)
        meta += meta_bits // 8
    return total, meta


def _buf(writes: str) -> str:
    return "hidden" if writes == HIDDEN else "outputs"


def plan_layer_memory(group: Sequence[RoutedStage], hw: HardwareConfig,
                      mappings: Mapping[int, Layout], zero_skip: bool = False,
                      residency: Residency = NO_RESIDENCY) -> dict[int, StageMemory]:
    """Sources, sinks, in-place work, tensors and residency of one layer's stages (by stage
    index), given the systolic stages' ``mappings`` (``zero_skip``: ternary weights stored as
    the config's sparse format says) and the layer's part in the cross-layer residency plan.
    ``group`` is in stage order, a topological order of the layer's stages."""
    bufs = dict(hw.buffers.items())
    budget = {name: sram.size_bytes - sram.tile_bytes for name, sram in bufs.items()}
    act = hw.mapping.activation_buffer
    mem: dict[int, StageMemory] = {}
    for s in group:
        st = s.stage
        p = mem.get(s.producer) if s.producer is not None else None
        pst = group_stage(group, s.producer)
        m = StageMemory(out_buf=_buf(st.writes))
        if p is not None and pst is not None:
            in_place = (st.m == pst.stage.m and st.n == pst.stage.n and
                        (st.out_bytes == 0 or (st.out_bytes <= st.in_bytes and
                                               _buf(st.writes) == p.out_buf)))
            m = replace(m, in_place=in_place)
        out_tensor = p.out_tensor if (p is not None and m.in_place) else st.out_bytes
        if m.in_place and p is not None:
            m = replace(m, out_buf=p.out_buf)
        stored, index = stored_weight_bytes(st, hw, zero_skip)
        m = replace(m, out_tensor=out_tensor,
                    weights_total=stored + sum(f.weight_bytes for f in s.fused),
                    index_bytes=index,
                    inputs_total=st.in_bytes if p is None else p.out_tensor)
        if p is not None and pst is not None:
            one = len(pst.consumers) == 1
            fits = p.out_tensor <= bufs[p.out_buf].tile_bytes
            # chunk-ordered pairs may forward chunk by chunk (checked when the grid is cut)
            source = FWD if one and (fits or (s.chunked and pst.chunked)) else SPILL
            m = replace(m, source=source, in_buf=p.out_buf if source == FWD else "inputs")
        # residency: operands that would be re-read, within the layer's budget
        reuse_w, reuse_in = _reuse(s, hw, mappings.get(s.index))
        w_tile = bufs["weights"].tile_bytes
        if reuse_w and residency.holds and m.weights_total <= min(w_tile, budget["weights"]):
            m = replace(m, resident_w=True)
            budget["weights"] -= m.weights_total
        in_tile = bufs["inputs"].tile_bytes
        if p is None and residency.input_kept:
            kept = round(m.inputs_total * residency.input_share)
            m = replace(m, input_kept=kept, act_buf=act)
            if kept >= m.inputs_total:
                m = replace(m, source=RES, in_buf=act)
        dram_in = m.inputs_total - m.input_kept
        if (m.source == DRAM and reuse_in and residency.holds
                and dram_in <= min(in_tile, budget["inputs"])):
            m = replace(m, resident_in=True)
            budget["inputs"] -= dram_in
        mem[s.index] = m
    for s in group:
        if len(s.consumers) == 1:
            mem[s.index] = replace(mem[s.index], sink=mem[s.consumers[0]].source)
        elif s.consumers:
            mem[s.index] = replace(mem[s.index], sink=SPILL)
            for c in s.consumers:
                mem[c] = replace(mem[c], source=SPILL, in_buf="inputs")
        elif residency.output_kept and s.stage.writes == LAYER_OUTPUT:
            # the layer's output stays in the activation buffer (a stage whose result another
            # stage reads only through ``after``, such as a binary layer's K map, is no part of
            # it: kept too, it would overfill the space the residency plan gave the output)
            mem[s.index] = replace(mem[s.index], sink=RES, out_buf=act, act_buf=act)
    if residency.frees and group:  # freed by the layer's last stage, after every reader
        last = group[-1].index
        mem[last] = replace(mem[last], frees_act=residency.frees, act_buf=act)
    _share_input(group, mem, bufs, budget, residency)
    return mem


def _share_input(group: Sequence[RoutedStage], mem: dict[int, StageMemory],
                 bufs: Mapping[str, Sram], budget: dict[str, int], residency: Residency
                 ) -> None:
    """Stages that read the layer's input from DRAM share one read of it: the first loads it
    whole into the input buffer, the others read it there, the layer's last stage frees it.
    Only when the policy asks for it and the input fits the input buffer's residency budget
    (else each stage streams it: the earlier model)."""
    readers = [s for s in group if s.producer is None and mem[s.index].source == DRAM]
    if not (residency.share_input and residency.holds) or len(readers) < 2:
        return
    first = mem[readers[0].index]
    total = first.inputs_total - first.input_kept
    if not all(mem[s.index].inputs_total - mem[s.index].input_kept == total for s in readers):
        return
    if first.resident_in:
        budget["inputs"] += total
    if total <= 0 or total > min(bufs["inputs"].tile_bytes, budget["inputs"]):
        return
    budget["inputs"] -= total
    for i, s in enumerate(readers):
        mem[s.index] = replace(mem[s.index], resident_in=i == 0,
                               input_staged="loads" if i == 0 else "reads")
    last = group[-1].index
    mem[last] = replace(mem[last], frees_staged=total)


def group_stage(group: Sequence[RoutedStage], index: int | None) -> RoutedStage | None:
    """The stage of ``group`` with stage index ``index`` (None for None)."""
    if index is None:
        return None
    for s in group:
        if s.index == index:
            return s
    return None


def _reuse(s: RoutedStage, hw: HardwareConfig, mapping: Layout | None
           ) -> tuple[bool, bool]:
    """Would the stage read its weights / inputs more than once if they were not resident?
    (WS re-reads inputs per channel fold; OS per channel fold too, and weights per position
    fold; IS re-reads weights per position fold; CP reads each once but its weights per
    position fold; chunked stages re-read weights per position chunk, or, channel blocks outer,
    inputs per channel block.)"""
    st = s.stage
    if s.timing is TimingModel.SYSTOLIC:
        mac = hw.mac_array
        if mapping is SystolicMapping.WS:
            return False, st.groups == 1 and st.n > mac.cols
        if mapping is SystolicMapping.IS:
            return st.m > mac.cols, False
        if mapping is SystolicMapping.CP:
            return st.m > mac.rows, False
        return st.m > mac.rows, st.groups == 1 and st.n > mac.cols
    if mapping is ChunkOrder.CHANNELS:
        return False, st.groups == 1
    return st.m > 1, False


@dataclass(frozen=True)
class TileMemory:
    """Buffer reservations and traffic of one tile (bytes by buffer or DRAM kind)."""

    alloc: Mapping[str, int]
    free: Mapping[str, int]
    dram_read: Mapping[str, int]
    dram_write: Mapping[str, int]
    sram_read: Mapping[str, int]
    sram_write: Mapping[str, int]
    port_cycles: int


def tile_memory(b: Block, mem: StageMemory, kept: defaultdict[int, int],
                producer_kept: Mapping[int, int] | None, *, first: bool, last: bool,
                chunk_last: bool, partial_bytes: int, hw: HardwareConfig) -> TileMemory:
    """Memory traffic and buffer reservations of one block.

    ``first``/``last``: first/last tile of the stage; ``chunk_last``: last tile of its chunk
    (or of the stage when the producer edge is stage-level); ``kept``: this stage's bytes kept
    on chip for its consumer, by chunk (-1: whole stage), accumulated here tile by tile;
    ``producer_kept``: the producer's (freed here when this tile is the last consumer);
    ``partial_bytes``: size of the block's channel-fold partial-sum set when kept on chip."""
    alloc: dict = defaultdict(int)
    free: dict = defaultdict(int)
    dr: dict = defaultdict(int)
    dw: dict = defaultdict(int)
    sr: dict = defaultdict(int)
    sw: dict = defaultdict(int)
    port: dict = defaultdict(int)

    def from_dram(buf: str, resident: bool, total: int, block: int, staged: bool = False,
                  reused: int = 0, held: bool = False, keep: bool = False) -> None:
        """Load from DRAM into ``buf``: once for the whole stage when ``resident`` (freed after
        its last tile, or by the layer's last stage when staged for several stages), else this
        block's bytes (freed when the tile is done; not loaded when ``held`` over from the
        previous tile, not freed when kept for the next)."""
        if resident:
            if first:
                dr[buf] += total
                alloc[buf] += total
                sw[buf] += total
            if last and not staged:
                free[buf] += total
        elif block:  # (``reused``: still in the line buffer from the previous tile)
            if not held:
                dr[buf] += block - reused
                alloc[buf] += block
                sw[buf] += block - reused
            if not keep:
                free[buf] += block

    # weights
    from_dram("weights", mem.resident_w, mem.weights_total, b.w, held=b.w_held,
              keep=b.w_kept)
    sr["weights"] += b.w
    port["weights"] += b.w

    # inputs
    src_buf = mem.in_buf
    if mem.source == RES:  # the layer's input, kept in the activation buffer (the part still
        sr[mem.act_buf] += b.inp_reads - b.reused  # in the line buffer is read there)
        sr["inputs"] += b.reused
        port[mem.act_buf] += b.inp_reads - b.reused
        port["inputs"] += b.reused
    elif mem.source == DRAM and mem.input_kept:  # part kept on chip (residual add), part DRAM
        total = mem.inputs_total
        on_chip = b.inp_reads * mem.input_kept // total if total else 0
        sr[mem.act_buf] += on_chip
        port[mem.act_buf] += on_chip
        src_buf = "inputs"
        dram_block = b.inp - (b.inp * mem.input_kept // total if total else 0)
        if mem.input_staged != "reads":
            from_dram("inputs", mem.resident_in, total - mem.input_kept, dram_block,
                      bool(mem.input_staged), held=b.in_held, keep=b.in_kept)
        sr[src_buf] += b.inp_reads - on_chip
        port[src_buf] += b.inp_reads - on_chip
    elif mem.source == DRAM:
        src_buf = "inputs"
        if mem.input_staged != "reads":
            from_dram("inputs", mem.resident_in, mem.inputs_total, b.inp,
                      bool(mem.input_staged), b.reused, b.in_held, b.in_kept)
    elif mem.source == SPILL:
        src_buf = "inputs"
        if not b.in_held:
            dr["spill"] += b.inp
            alloc["inputs"] += b.inp
            sw["inputs"] += b.inp
        if not b.in_kept:
            free["inputs"] += b.inp
    if not (mem.source == RES or (mem.source == DRAM and mem.input_kept)):
        sr[src_buf] += b.inp_reads
        port[src_buf] += b.inp_reads
    if last and mem.frees_act:
        free[mem.act_buf] += mem.frees_act
    if last and mem.frees_staged:
        free["inputs"] += mem.frees_staged
    passes_on = mem.in_place and (mem.sink == FWD or (mem.sink == RES and
                                                      src_buf == mem.act_buf))
    if mem.source == FWD and chunk_last and not passes_on and producer_kept is not None:
        key = b.chunk if mem.chunk_edge_in else -1
        free[src_buf] += producer_kept.get(key, 0)

    # partial sums of a weight-stationary channel fold split over several tiles
    out = b.out
    have_out_alloc = False
    handled = False
    key_out = b.chunk if mem.chunk_edge_out else -1
    fwd_new = mem.sink in (FWD, RES) and not mem.in_place
    if not (b.kfirst and b.klast):
        port["outputs"] += out * (1 if b.kfirst else 2)
        sw["outputs"] += out
        if not b.kfirst:
            sr["outputs"] += out
        if partial_bytes and not b.chunked:  # partial sums stay in the output buffer
            if b.kfirst:
                alloc["outputs"] += partial_bytes
            if b.klast:
                if fwd_new and mem.out_buf == "outputs":
                    kept[key_out] += partial_bytes  # the partial set becomes the forward
                    handled = True
                else:  # written to DRAM (or forwarded to another buffer) from the partial set
                    free["outputs"] += partial_bytes
                    have_out_alloc = mem.sink not in (FWD, RES) and not mem.in_place
        else:  # partial sums go to DRAM between term folds
            if not (b.klast and fwd_new):
                alloc["outputs"] += out
                free["outputs"] += out
                have_out_alloc = b.klast and mem.sink not in (FWD, RES) and not mem.in_place
            if not b.klast:
                dw["partials"] += out
                sr["outputs"] += out
            if not b.kfirst:
                dr["partials"] += out
                sw["outputs"] += out
        if not b.klast:
            out = 0

    # finished outputs
    if out and not handled:
        if mem.sink == DRAM:
            if mem.in_place:
                sr[src_buf] += out
            else:
                if not have_out_alloc:
                    alloc["outputs"] += out
                    free["outputs"] += out
                    port["outputs"] += out
                    sw["outputs"] += out
                    # (a finished partial set was already written by the array)
                sr["outputs"] += out
            dw["outputs"] += out
        elif mem.sink == RES and mem.in_place and src_buf != mem.act_buf:
            sr[src_buf] += out  # finished in place, then moved to the activation buffer
            alloc[mem.act_buf] += out
            port[mem.act_buf] += out
            sw[mem.act_buf] += out
        elif mem.sink in (FWD, RES):
            buf = src_buf if mem.in_place else mem.out_buf
            port[buf] += out
            sw[buf] += out
            if not mem.in_place:
                alloc[buf] += out
                kept[key_out] += out
        else:  # spill
            if mem.in_place:
                sr[src_buf] += out
            else:
                if not have_out_alloc:
                    alloc["outputs"] += out
                    free["outputs"] += out
                    port["outputs"] += out
                    sw["outputs"] += out
                sr["outputs"] += out
            dw["spill"] += out
    if mem.in_place and mem.sink == FWD and producer_kept is not None:
        for key, v in producer_kept.items():
            if (key == b.chunk if mem.chunk_edge_in else True) and chunk_last:
                kept[key if mem.chunk_edge_out else -1] += v

    bufs = dict(hw.buffers.items())
    port_cycles = max((math.ceil(v / bufs[name].bandwidth_bytes_per_cycle)
                       for name, v in port.items() if v), default=0)
    return TileMemory(_clean(alloc), _clean(free), _clean(dr), _clean(dw), _clean(sr),
                      _clean(sw), port_cycles)


def _clean(d: dict) -> dict:
    return {k: int(v) for k, v in sorted(d.items()) if v}
