"""Memory policy: what each tile loads, keeps, forwards, spills and writes back.

Decided per stage by :mod:`accelsim.mapping.schedule` and applied per block here:

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
from dataclasses import dataclass, field

from accelsim.hw.config import HardwareConfig
from accelsim.mapping.tiling import Block

DRAM, FWD, SPILL = "dram", "fwd", "spill"


@dataclass
class StageMemory:
    """Memory decisions of one stage (filled by the schedule builder)."""

    source: str = DRAM          # where its input comes from: dram | fwd | spill
    sink: str = DRAM            # where its output goes: dram | fwd | spill
    in_place: bool = False
    in_buf: str = "inputs"      # buffer its input is read from
    out_buf: str = "outputs"    # buffer its forwarded output lives in
    resident_w: bool = False
    resident_in: bool = False
    weights_total: int = 0
    inputs_total: int = 0
    chunk_edge_in: bool = False   # its producer edge is chunk-level
    chunk_edge_out: bool = False  # its consumer edge is chunk-level
    keep_partials: set = field(default_factory=set)  # channel folds whose partials stay on chip
    #: bytes kept for the consumer, by chunk (-1: whole stage)
    kept: dict = field(default_factory=lambda: defaultdict(int))


@dataclass
class TileMemory:
    alloc: dict
    free: dict
    dram_read: dict
    dram_write: dict
    sram_read: dict
    sram_write: dict
    port_cycles: int


def tile_memory(b: Block, mem: StageMemory, producer_kept: dict | None, *, first: bool,
                last: bool, chunk_last: bool, partial_bytes: int, hw: HardwareConfig
                ) -> TileMemory:
    """Memory traffic and buffer reservations of one block.

    ``first``/``last``: first/last tile of the stage; ``chunk_last``: last tile of its chunk
    (or of the stage when the producer edge is stage-level); ``producer_kept``: the producer's
    kept bytes by chunk (freed here when this tile is the last consumer); ``partial_bytes``:
    size of the block's channel-fold partial-sum set when it is kept on chip."""
    alloc: dict = defaultdict(int)
    free: dict = defaultdict(int)
    dr: dict = defaultdict(int)
    dw: dict = defaultdict(int)
    sr: dict = defaultdict(int)
    sw: dict = defaultdict(int)
    port: dict = defaultdict(int)

    def from_dram(buf: str, resident: bool, total: int, block: int) -> None:
        """Load from DRAM into ``buf``: once for the whole stage when ``resident`` (freed after
        its last tile), else this block's bytes (freed when the tile is done)."""
        if resident:
            if first:
                dr[buf] += total
                alloc[buf] += total
                sw[buf] += total
            if last:
                free[buf] += total
        elif block:
            dr[buf] += block
            alloc[buf] += block
            free[buf] += block
            sw[buf] += block

    # weights
    from_dram("weights", mem.resident_w, mem.weights_total, b.w)
    sr["weights"] += b.w
    port["weights"] += b.w

    # inputs
    src_buf = mem.in_buf
    if mem.source == DRAM:
        src_buf = "inputs"
        from_dram("inputs", mem.resident_in, mem.inputs_total, b.inp)
    elif mem.source == SPILL:
        src_buf = "inputs"
        dr["spill"] += b.inp
        alloc["inputs"] += b.inp
        free["inputs"] += b.inp
        sw["inputs"] += b.inp
    sr[src_buf] += b.inp_reads
    port[src_buf] += b.inp_reads
    passes_on = mem.in_place and mem.sink == FWD
    if mem.source == FWD and chunk_last and not passes_on and producer_kept is not None:
        key = b.chunk if mem.chunk_edge_in else -1
        free[src_buf] += producer_kept.get(key, 0)

    # partial sums of a weight-stationary channel fold split over several tiles
    out = b.out
    have_out_alloc = False
    handled = False
    key_out = b.chunk if mem.chunk_edge_out else -1
    fwd_new = mem.sink == FWD and not mem.in_place
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
                    mem.kept[key_out] += partial_bytes  # the partial set becomes the forward
                    handled = True
                else:  # written to DRAM (or forwarded to another buffer) from the partial set
                    free["outputs"] += partial_bytes
                    have_out_alloc = mem.sink != FWD and not mem.in_place
        else:  # partial sums go to DRAM between term folds
            if not (b.klast and fwd_new):
                alloc["outputs"] += out
                free["outputs"] += out
                have_out_alloc = b.klast and mem.sink != FWD and not mem.in_place
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
        elif mem.sink == FWD:
            buf = src_buf if mem.in_place else mem.out_buf
            port[buf] += out
            sw[buf] += out
            if not mem.in_place:
                alloc[buf] += out
                mem.kept[key_out] += out
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
                mem.kept[key if mem.chunk_edge_out else -1] += v

    bufs = dict(hw.buffers.items())
    port_cycles = max((math.ceil(v / bufs[name].bandwidth_bytes_per_cycle)
                       for name, v in port.items() if v), default=0)
    return TileMemory(_clean(alloc), _clean(free), _clean(dr), _clean(dw), _clean(sr),
                      _clean(sw), port_cycles)


def _clean(d: dict) -> dict:
    return {k: int(v) for k, v in sorted(d.items()) if v}
