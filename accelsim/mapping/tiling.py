"""Stage -> blocks: the tiles' geometry, compute cycles, operations and operand slices.

A stage is an ``m x n x k`` (grouped) matrix product. This module cuts it into *blocks*, each a
box ``[m0, m1) x [n0, n1) x [k0, k1)`` of that iteration space whose working set fits the
per-tile budgets it is given (:class:`Limits`), and prices each block with the timing model of
the unit that runs it (:mod:`accelsim.mapping.units`). Memory policy (which operand stays
resident, what is forwarded on chip or spilled to DRAM) is decided in
:mod:`accelsim.mapping.memory`; this module only says how big each slice is.

Two kinds of blocks:

* ``systolic`` (MAC array, reductions): the folds of :func:`~accelsim.mapping.units.systolic_folds`
  in SCALE-Sim's order. Consecutive whole folds are grouped into one block while their slices
  fit; a fold whose slices do not fit is cut along its streamed dimension (positions for WS,
  terms for OS) into *continuation* chunks that stream back to back: the first chunk pays the
  fill, the last the drain, so the stage's cycles equal SCALE-Sim's whatever the buffer sizes.
* ``tree`` (adder trees), ``binary`` (binary lanes; operations are word operations) and
  ``elementwise``: position chunks and channel blocks, all terms of an output in one block
  (:mod:`accelsim.mapping.chunks`).

Byte slices are exact shares (:func:`share`): summed over a partition they give the total.
The one exception is the input of a stage that reads the layer's input over its spatial grid
with a kernel larger than its stride (:class:`~accelsim.mapping.halo.Halo`): a block covering
output positions ``[m0, m1)`` reads the input rows its receptive fields span
(``[r0*s - p, r1*s - p + kh - 1]``, clipped; the input columns too when the block lies within
one output row), so neighbouring blocks both read the rows between them: the blocks' inputs add
up to the input plus the *halo* (``Block.halo``: the block's input bytes beyond its
proportional share).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from accelsim.hw.config import HardwareConfig
from accelsim.mapping.halo import INF, Halo, share
from accelsim.mapping.units import (
    Fold,
    Phases,
    SystolicMapping,
    phases,
    segments_cycles,
    systolic_folds,
)
from accelsim.workload.schema import Stage

__all__ = ["INF", "Block", "Halo", "Limits", "Slices", "TooSmall", "line_buffer", "share",
           "systolic_blocks"]

@dataclass(frozen=True)
class Limits:
    """Per-tile byte budgets of the working set (``INF`` when the operand is resident)."""

    weights: int
    inputs: int
    outputs: int


@dataclass(frozen=True)
class Slices:
    """Totals a stage's slices are cut from: weights, input, output tensor bytes and the op
    count in the requested mode (dense or non-zero)."""

    weights: int
    inputs: int
    outputs: int
    ops: int
    #: the input is cut along the channel axis too (grouped stages, in-place consumers)
    input_by_channel: bool = False
    #: terms per output the adder trees add, by channel, when zero terms are skipped (None:
    #: every term, ``k``)
    channel_terms: tuple[float, ...] | None = None
    #: the stage reads the layer's input over its spatial grid with overlapping windows (None:
    #: the input is cut in proportion to the positions)
    halo: Halo | None = None


@dataclass(frozen=True)
class Block:
    """One tile's geometry and arithmetic.

    ``chunk`` is the position-chunk index of chunk-ordered blocks (-1 for systolic blocks);
    ``cfold`` the first channel fold of a systolic block and ``kfirst``/``klast`` whether it
    holds the first / last term fold of its channels (partial sums start / finish here);
    ``chunked`` is True for the chunks of a fold cut along its streamed dimension, ``cont`` for
    all but the first of them (weights already in the array).
    ``w``, ``inp``, ``out``: bytes of the weight, input and output slices the block touches;
    ``inp_reads``: input bytes streamed into the unit (re-reads of a slice counted);
    ``finished``: output elements completed in the block (all their terms summed);
    ``halo``: bytes of ``inp`` beyond the block's proportional share of the input (the rows its
    receptive fields share with neighbouring blocks; also counted in ``inp_reads``);
    ``reused``: bytes of ``inp`` still on chip in the line buffer from the previous block of the
    same channel and term slice (:func:`line_buffer`), not loaded again;
    ``w_held``/``w_kept``: the block's weight slice is already on chip from the previous block
    (not loaded again) / stays on chip for the next block (not freed): a channel block's
    weights held over its position chunks (:attr:`~accelsim.mapping.units.ChunkOrder.CHANNELS`);
    ``in_held``/``in_kept``: the same for the input slice (a position chunk's input held over
    its channel blocks, positions outer).
    """

    m0: int
    m1: int
    n0: int
    n1: int
    k0: int
    k1: int
    chunk: int
    folds: int
    cycles: int
    ops: int
    w: int
    inp: int
    inp_reads: int
    out: int
    finished: int = 0
    cfold: int = -1
    kfirst: bool = True
    klast: bool = True
    cont: bool = False
    chunked: bool = False
    halo: int = 0
    reused: int = 0
    w_held: bool = False
    w_kept: bool = False
    in_held: bool = False
    in_kept: bool = False


def line_buffer(st: Stage, sl: Slices, blocks: Sequence[Block],
                mapping: SystolicMapping | None = None) -> list[Block]:
    """``blocks`` with the input a line buffer keeps between them: a block that continues the
    positions of the previous block of its channel and term slice (``m0`` is that block's
    ``m1``) finds the rows (or, within one output row, the window columns) the two footprints
    share still on chip, ``reused = inp(A) + inp(B) - inp(A and B together)``; without a halo
    (windows no larger than the stride) nothing is shared. The blocks' loads then add up to the
    input plus the halo that no line buffer bridges (slices revisited out of order)."""
    if sl.halo is None:
        return list(blocks)
    order = _ORDER[mapping] if mapping is not None else "nmk"
    last: dict[tuple[int, int, int, int], Block] = {}
    out = []
    for b in blocks:
        key = (b.n0, b.n1, b.k0, b.k1)
        a = last.get(key)
        if a is not None and a.m1 == b.m0 and b.inp and not b.in_held:
            both = _in(st, sl, a.m0, b.m1, b.n0, b.n1, b.k0, b.k1, order)
            own_a = _in(st, sl, a.m0, a.m1, b.n0, b.n1, b.k0, b.k1, order)
            own_b = _in(st, sl, b.m0, b.m1, b.n0, b.n1, b.k0, b.k1, order)
            reused = max(0, min(own_a + own_b - both, own_b, b.inp))
            if reused:
                b = replace(b, reused=reused)
        last[key] = b
        out.append(b)
    return out


class TooSmall(Exception):
    """A buffer cannot hold one minimal tile: ``buffer`` names it, ``need`` is in bytes."""

    def __init__(self, buffer: str, need: int):
        super().__init__(buffer, need)
        self.buffer, self.need = buffer, need


#: The order in which each mapping's blocks partition a stage (outer dimension first): slices
#: are nested shares in this order, so the slices of any set of blocks covering the stage add up
#: to its totals exactly.
_ORDER = {SystolicMapping.WS: "nkm", SystolicMapping.OS: "nmk", SystolicMapping.CP: "nmk",
          SystolicMapping.IS: "mkn"}


def _cut(total: int, st: Stage, order: str, m0: int, m1: int, n0: int, n1: int, k0: int,
         k1: int, by_channel: bool = True, mpart: Callable[[int], int] | None = None) -> int:
    """Share of ``total`` on a box, cut in ``order`` (a permutation of ``"nmk"``, outer first;
    ``n`` skipped unless ``by_channel``; ``mpart``: the part of a total the box's positions
    take, instead of their proportional share)."""
    box = {"n": (n0, n1, st.n), "m": (m0, m1, st.m), "k": (k0, k1, st.k)}
    x = total
    for dim in order:
        if dim == "n" and not by_channel:
            continue
        if dim == "m" and mpart is not None:
            x = mpart(x)
            continue
        lo, hi, size = box[dim]
        x = share(x, lo, hi, size)
    return x


def _ops(st: Stage, sl: Slices, m0: int, m1: int, n0: int, n1: int, k0: int, k1: int,
         order: str = "nmk") -> int:
    if sl.ops == st.ops_dense:
        return (m1 - m0) * (n1 - n0) * (k1 - k0)
    return _cut(sl.ops, st, order, m0, m1, n0, n1, k0, k1)


def _w(st: Stage, sl: Slices, n0: int, n1: int, k0: int, k1: int) -> int:
    return share(share(sl.weights, n0, n1, st.n), k0, k1, st.k)


def _in(st: Stage, sl: Slices, m0: int, m1: int, n0: int, n1: int, k0: int, k1: int,
        order: str = "nmk", runs: Sequence[tuple[int, int]] | None = None,
        spatial: bool = True) -> int:
    """Input bytes of a box: with the halo (:class:`Halo`, positions ``runs``, default
    ``[(m0, m1)]``) when the stage has one and ``spatial``, else the proportional share."""
    halo = sl.halo if spatial else None
    mpart = None
    if halo is not None:
        rr = runs if runs is not None else [(m0, m1)]

        def mpart(x: int) -> int:
            return halo.part(x, rr)
    return _cut(sl.inputs, st, order, m0, m1, n0, n1, k0, k1, sl.input_by_channel, mpart)


def _in_positions(sl: Slices, limit: int, total: int, size: int) -> int:
    """Largest position run whose input slice (of a box of ``total`` bytes) fits ``limit``."""
    if sl.halo is not None:
        return sl.halo.positions(limit, total, size)
    return _largest(limit, total, size)


def _out(st: Stage, sl: Slices, m0: int, m1: int, n0: int, n1: int) -> int:
    return share(share(sl.outputs, n0, n1, st.n), m0, m1, st.m)


def _largest(limit: int, total: int, size: int) -> int:
    """Largest ``d`` in ``[0, size]`` with ``ceil(total * d / size) <= limit``."""
    if total <= 0 or limit >= INF:
        return size
    return min(size, limit * size // total)


# ---------------------------------------------------------------------------------------------
def _partial_key(f: Fold, mapping: SystolicMapping) -> tuple[int, ...] | None:
    """Folds with the same key accumulate the same outputs over successive term ranges (WS: a
    channel fold's term folds; IS: a position fold's term folds, per group of a grouped stage);
    None: folds are independent."""
    if mapping is SystolicMapping.WS:
        return (f.n0, f.n1)
    if mapping is SystolicMapping.IS:
        return (f.m0, f.m1, f.n0, f.n1)
    return None


def systolic_blocks(st: Stage, sl: Slices, hw: HardwareConfig, lim: Limits,
                    mapping: SystolicMapping) -> list[Block]:
    """Blocks of a reduction stage on the systolic MAC array under ``mapping`` (see module
    docstring).

    A block holds whole partial-sum groups (all the term folds of their outputs: outputs finish
    inside it), or a run of term folds of one group (``kfirst``/``klast`` say whether partial
    sums start or finish there), or one continuation chunk of one fold."""
    mac = hw.mac_array
    ph = phases(mac, mapping)
    order = _ORDER[mapping]
    lat = mac.pipeline_latency_cycles
    items: list[list[Fold]] = []
    for f in systolic_folds(st.m, st.n, st.k, st.groups, mac, mapping):
        key = _partial_key(f, mapping)
        if key is not None and items and _partial_key(items[-1][0], mapping) == key:
            items[-1].append(f)
        else:
            items.append([f])
    blocks: list[Block] = []
    group: list[Fold] = []
    seen_in: set = set()
    seen_out: set = set()
    seen_w: set = set()
    acc = [0, 0, 0]  # weights, distinct input slices (proportional shares), distinct outputs
    # with a halo: the open group's position runs and input bytes by input slice key (terms,
    # and channels when the input is cut by channel), and their total
    runs: dict[tuple, list[tuple[int, int]]] = {}
    in_bytes: dict[tuple, int] = {}
    acc_h = [0]

    cache: dict[int, tuple] = {}

    def fold_data(f: Fold) -> tuple[int, int, int, tuple, tuple, tuple]:
        got = cache.get(id(f))
        if got is None:
            kin = (f.k0, f.k1, f.m0, f.m1) + ((f.n0, f.n1) if sl.input_by_channel else ())
            got = cache[id(f)] = (_w(st, sl, f.n0, f.n1, f.k0, f.k1),
                                  _in(st, sl, f.m0, f.m1, f.n0, f.n1, f.k0, f.k1, order,
                                      spatial=False),
                                  _out(st, sl, f.m0, f.m1, f.n0, f.n1), kin,
                                  (f.n0, f.n1, f.m0, f.m1), (f.n0, f.n1, f.k0, f.k1))
        return got

    def halo_trial(f_list: list[Fold]) -> tuple[int, dict, dict]:
        """The open group's halo-inclusive input bytes with ``f_list`` added, and the changed
        runs and bytes by key."""
        new_runs: dict[tuple, list[tuple[int, int]]] = {}
        first: dict[tuple, Fold] = {}
        for f in f_list:
            key = (f.k0, f.k1) + ((f.n0, f.n1) if sl.input_by_channel else ())
            cur = new_runs.get(key)
            if cur is None:
                cur = new_runs[key] = list(runs.get(key, []))
                first[key] = f
            _merge_run(cur, f.m0, f.m1)
        total = acc_h[0]
        new_bytes = {}
        for key, rr in new_runs.items():
            f0 = first[key]
            b = _in(st, sl, 0, st.m, f0.n0, f0.n1, f0.k0, f0.k1, order, runs=rr)
            total += b - in_bytes.get(key, 0)
            new_bytes[key] = b
        return total, new_runs, new_bytes

    def trial(f_list: list[Fold]) -> tuple | None:
        """The open group's totals and new slice keys with ``f_list`` added; None if they
        would not fit."""
        w, i, o = acc
        new_in, new_out, new_w = set(), set(), set()
        for f in f_list:
            fw, fi, fo, kin, kout, kw = fold_data(f)
            if kw not in seen_w and kw not in new_w:
                w += fw
                new_w.add(kw)
            if kin not in seen_in and kin not in new_in:
                i += fi
                new_in.add(kin)
            if kout not in seen_out and kout not in new_out:
                o += fo
                new_out.add(kout)
        h: tuple = (i, {}, {})
        if sl.halo is not None:
            h = halo_trial(f_list)
        if w > lim.weights or h[0] > lim.inputs or o > lim.outputs:
            return None
        return w, i, o, new_in, new_out, new_w, h

    def add(f_list: list[Fold]) -> bool:
        """Add folds to the open group if they fit; say whether they did."""
        t = trial(f_list)
        if t is None:
            return False
        group.extend(f_list)
        seen_in.update(t[3])
        seen_out.update(t[4])
        seen_w.update(t[5])
        acc[:] = t[:3]
        acc_h[0] = t[6][0]
        runs.update(t[6][1])
        in_bytes.update(t[6][2])
        return True

    def flush(cfold: int) -> None:
        if not group:
            return
        ops = sum(_ops(st, sl, f.m0, f.m1, f.n0, f.n1, f.k0, f.k1, order) for f in group)
        halo = acc_h[0] - acc[1]
        reads = sum(fold_data(f)[1] for f in group) + halo
        cycles = segments_cycles(ph, [(f.stream, True, True) for f in group]) + lat
        done = {(f.n0, f.n1, f.m0, f.m1) for f in group if f.k1 == st.k}
        finished = sum((n1 - n0) * (m1 - m0) for n0, n1, m0, m1 in done)
        blocks.append(Block(min(f.m0 for f in group), max(f.m1 for f in group),
                            min(f.n0 for f in group), max(f.n1 for f in group),
                            min(f.k0 for f in group), max(f.k1 for f in group), -1, len(group),
                            cycles, ops, acc[0], acc_h[0], reads, acc[2], finished, cfold,
                            kfirst=group[0].k0 == 0, klast=group[-1].k1 == st.k, halo=halo))
        group.clear()
        seen_in.clear()
        seen_out.clear()
        seen_w.clear()
        acc[:] = [0, 0, 0]
        acc_h[0] = 0
        runs.clear()
        in_bytes.clear()

    for cfold, item in enumerate(items):
        if add(item):
            continue
        flush(cfold - 1)
        if add(item):  # fits in a block of its own
            continue
        for f in item:  # runs of term folds with partial sums, or continuation chunks
            if add([f]):
                continue
            flush(cfold)
            if not add([f]):
                blocks.extend(_continuation(st, sl, f, lim, mapping, ph, lat, cfold))
        flush(cfold)
    flush(len(items) - 1)
    return blocks


def _merge_run(runs: list[tuple[int, int]], m0: int, m1: int) -> None:
    """Add ``[m0, m1)`` to sorted disjoint ``runs`` (merging touching runs), in place."""
    if runs and runs[-1][0] <= m0 <= runs[-1][1]:  # the usual case: extends the last run
        runs[-1] = (runs[-1][0], max(runs[-1][1], m1))
        return
    out: list[tuple[int, int]] = []
    for a, b in sorted(runs + [(m0, m1)]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    runs[:] = out


def _continuation(st: Stage, sl: Slices, f: Fold, lim: Limits, mapping: SystolicMapping,
                  ph: Phases, lat: int, cfold: int) -> list[Block]:
    """Cut one fold along its streamed dimension into chunks that fit (the stationary operand
    stays in the array: the first chunk pays the load and fill, the last the drain)."""
    order = _ORDER[mapping]
    out: list[Block] = []

    def cycles(stream: int, first: bool, last: bool) -> int:
        return segments_cycles(ph, [(stream, first, last)]) + lat

    if mapping is SystolicMapping.WS:  # stream positions; weights fixed in the array
        w = _w(st, sl, f.n0, f.n1, f.k0, f.k1)
        if w > lim.weights:
            raise TooSmall("weights", w)
        i_all = _in(st, sl, 0, st.m, f.n0, f.n1, f.k0, f.k1, order)
        o_all = _out(st, sl, 0, st.m, f.n0, f.n1)
        i_step = _in_positions(sl, lim.inputs, i_all, st.m)
        step = min(i_step, _largest(lim.outputs, o_all, st.m))
        if step < 1:
            raise TooSmall("inputs" if i_step < 1 else "outputs",
                           _one_position(sl, i_all, st.m) if i_step < 1 else
                           -(-o_all // st.m))
        for m0 in range(0, st.m, step):
            m1 = min(st.m, m0 + step)
            first, last = m0 == 0, m1 == st.m
            i = _in(st, sl, m0, m1, f.n0, f.n1, f.k0, f.k1, order)
            halo = i - _in(st, sl, m0, m1, f.n0, f.n1, f.k0, f.k1, order, spatial=False)
            done = (m1 - m0) * (f.n1 - f.n0) if f.k1 == st.k else 0
            out.append(Block(m0, m1, f.n0, f.n1, f.k0, f.k1, -1, 1 if first else 0,
                             cycles(m1 - m0, first, last),
                             _ops(st, sl, m0, m1, f.n0, f.n1, f.k0, f.k1, order),
                             w if first else 0, i, i, _out(st, sl, m0, m1, f.n0, f.n1), done,
                             cfold, kfirst=f.k0 == 0, klast=f.k1 == st.k, cont=not first,
                             chunked=True, halo=halo))
        return out
    if mapping is SystolicMapping.IS:  # stream channels; inputs fixed in the array
        i = _in(st, sl, f.m0, f.m1, f.n0, f.n1, f.k0, f.k1, order)
        halo = i - _in(st, sl, f.m0, f.m1, f.n0, f.n1, f.k0, f.k1, order, spatial=False)
        if i > lim.inputs:
            raise TooSmall("inputs", i)
        size = f.n1 - f.n0
        w_all = _w(st, sl, f.n0, f.n1, f.k0, f.k1)
        o_all = _out(st, sl, f.m0, f.m1, f.n0, f.n1)
        step = min(_largest(lim.weights, w_all, size), _largest(lim.outputs, o_all, size))
        if step < 1:
            raise TooSmall("weights" if _largest(lim.weights, w_all, size) < 1 else "outputs",
                           max(-(-w_all // size), -(-o_all // size)))
        for c0 in range(f.n0, f.n1, step):
            c1 = min(f.n1, c0 + step)
            first, last = c0 == f.n0, c1 == f.n1
            done = (f.m1 - f.m0) * (c1 - c0) if f.k1 == st.k else 0
            out.append(Block(f.m0, f.m1, c0, c1, f.k0, f.k1, -1, 1 if first else 0,
                             cycles(c1 - c0, first, last),
                             _ops(st, sl, f.m0, f.m1, c0, c1, f.k0, f.k1, order),
                             _w(st, sl, c0, c1, f.k0, f.k1), i if first else 0,
                             i if first else 0, _out(st, sl, f.m0, f.m1, c0, c1), done, cfold,
                             kfirst=f.k0 == 0, klast=f.k1 == st.k, cont=not first,
                             chunked=True, halo=halo if first else 0))
        return out
    # output stationary (OS, CP): stream terms, outputs stay in the PEs
    o = _out(st, sl, f.m0, f.m1, f.n0, f.n1)
    if o > lim.outputs:
        raise TooSmall("outputs", o)
    w_all = _w(st, sl, f.n0, f.n1, 0, st.k)
    i_all = _in(st, sl, f.m0, f.m1, f.n0, f.n1, 0, st.k, order)
    step_k = min(_largest(lim.weights, w_all, st.k), _largest(lim.inputs, i_all, st.k))
    if step_k < 1:
        raise TooSmall("weights" if _largest(lim.weights, w_all, st.k) < 1 else "inputs",
                       max(-(-w_all // st.k), -(-i_all // st.k)))
    # a packed fold streams (groups in fold) * k terms: scale the chunk cycles accordingly
    scale = f.stream / st.k
    for k0 in range(0, st.k, step_k):
        k1 = min(st.k, k0 + step_k)
        first, last = k0 == 0, k1 == st.k
        i = _in(st, sl, f.m0, f.m1, f.n0, f.n1, k0, k1, order)
        halo = i - _in(st, sl, f.m0, f.m1, f.n0, f.n1, k0, k1, order, spatial=False)
        out.append(Block(f.m0, f.m1, f.n0, f.n1, k0, k1, -1, 1 if first else 0,
                         cycles(math.ceil((k1 - k0) * scale), first, last),
                         _ops(st, sl, f.m0, f.m1, f.n0, f.n1, k0, k1, order),
                         _w(st, sl, f.n0, f.n1, k0, k1), i, i, o if last else 0,
                         (f.m1 - f.m0) * (f.n1 - f.n0) if last else 0, cfold,
                         kfirst=True, klast=True, cont=not first, chunked=True, halo=halo))
    return out


def _one_position(sl: Slices, total: int, size: int) -> int:
    """Input bytes (of a box of ``total``) the largest one-position slice needs."""
    if sl.halo is not None:
        return sl.halo.worst(total, 1)
    return -(-total // size)
