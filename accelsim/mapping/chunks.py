"""Blocks of chunk-ordered stages (adder trees, binary lanes, element-wise units): a grid of
position chunks and blocks of channels, all terms of an output in one block, in either loop order
(:class:`~accelsim.mapping.units.ChunkOrder`). Slices and budgets as in
:mod:`accelsim.mapping.tiling`."""
from __future__ import annotations

from accelsim.hw.config import HardwareConfig
from accelsim.mapping.build import TimingModel, timing_model
from accelsim.mapping.tiling import (
    Block,
    Limits,
    Slices,
    TooSmall,
    _in,
    _in_positions,
    _largest,
    _ops,
    _out,
    _w,
    share,
)
from accelsim.mapping.units import (
    binary_cycles,
    elementwise_cycles,
    lockstep_cycles,
    unit_count,
    unit_latency,
)
from accelsim.workload.schema import Stage


def chunk_limit(st: Stage, sl: Slices, lim: Limits, nblock: int) -> int:
    """Largest position chunk of a chunk-ordered stage with ``nblock``-channel blocks."""
    i_all = sl.inputs if not sl.input_by_channel else share(sl.inputs, 0, nblock, st.n)
    o_all = share(sl.outputs, 0, nblock, st.n)
    return min(_in_positions(sl, lim.inputs, i_all, st.m), _largest(lim.outputs, o_all, st.m))


def channel_block(st: Stage, sl: Slices, lim: Limits) -> int:
    """Largest channel block of a chunk-ordered stage whose weights fit (0 if none does)."""
    nb = _largest(lim.weights, sl.weights, st.n)
    if st.groups > 1 and nb >= st.n // st.groups:
        ng = st.n // st.groups
        nb = nb // ng * ng
    return nb


def chunked_blocks(st: Stage, sl: Slices, hw: HardwareConfig, unit: str, lim: Limits,
                   grid: list[tuple[int, int]], nblock: int,
                   channels_outer: bool = False) -> list[Block]:
    """Blocks of a tree, binary or element-wise stage: chunks of ``grid`` outer, ``nblock``
    channels inner (``chunk`` = the chunk's index); or, ``channels_outer``, channel blocks outer
    and chunks inner, each channel block's weights loaded by its first chunk and held until its
    last (``chunk`` = a running index of the (channel block, chunk) pairs, so that a stage
    working in place on the same grid pairs with its producer block by block). Positions outer,
    a chunk's input (the same for every channel block unless the input is cut by channel) is
    loaded by its first channel block and held until its last. Raises :class:`TooSmall` if a
    block's slices exceed ``lim``."""
    model = timing_model(st, unit)
    count = unit_count(hw, unit)
    blocks = []
    starts = range(0, st.n, nblock)
    if channels_outer:
        boxes = [(ib * len(grid) + c, m0, m1, n0, c == 0, c == len(grid) - 1)
                 for ib, n0 in enumerate(starts) for c, (m0, m1) in enumerate(grid)]
    else:
        boxes = [(c, m0, m1, n0, True, True) for c, (m0, m1) in enumerate(grid)
                 for n0 in starts]
    shared_in = not channels_outer and not sl.input_by_channel
    for c, m0, m1, n0, w_first, w_last in boxes:
        n1 = min(st.n, n0 + nblock)
        ops = _ops(st, sl, m0, m1, n0, n1, 0, st.k)
        w = _w(st, sl, n0, n1, 0, st.k)
        i = _in(st, sl, m0, m1, n0, n1, 0, st.k)
        halo = i - _in(st, sl, m0, m1, n0, n1, 0, st.k, spatial=False)
        o = _out(st, sl, m0, m1, n0, n1)
        reads = i
        if model is TimingModel.TREE:
            terms = sl.channel_terms[n0:n1] if sl.channel_terms is not None else None
            cyc, groups = lockstep_cycles(m1 - m0, n0, n1, st.k, st.n // st.groups,
                                          terms, hw.adder_array, count)
            if st.groups == 1:  # each broadcast group reads the positions' inputs once
                reads = i * groups
        elif model is TimingModel.BINARY:  # word operations, a lane per output
            words = -(-st.k // hw.binary_array.word_bits)
            ops = (m1 - m0) * (n1 - n0) * words
            cyc = binary_cycles((m1 - m0) * (n1 - n0), words, count,
                                unit_latency(hw, unit))
        else:
            cyc = elementwise_cycles(ops, count, unit_latency(hw, unit))
        for name, need, cap in (("weights", w, lim.weights), ("inputs", i, lim.inputs),
                                ("outputs", o, lim.outputs)):
            if need > cap:
                raise TooSmall(name, need)
        blocks.append(Block(m0, m1, n0, n1, 0, st.k, c, 0, cyc, ops, w, i, reads, o,
                            (m1 - m0) * (n1 - n0), halo=halo, w_held=not w_first,
                            w_kept=not w_last, in_held=shared_in and n0 > 0,
                            in_kept=shared_in and n1 < st.n))
    return blocks


def even_grid(size: int, step: int) -> list[tuple[int, int]]:
    """``[0, size)`` cut into ``ceil(size / step)`` nearly equal chunks of at most ``step``."""
    if size <= 0:
        return [(0, 0)]
    parts = -(-size // max(1, step))
    return [(size * i // parts, size * (i + 1) // parts) for i in range(parts)]
