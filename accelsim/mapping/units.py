"""Timing models of the arithmetic arrays: how many cycles a block of a stage occupies a unit.

Every function here is closed-form and pure; docs/engine.md restates each formula with its
default parameters and source.

**Systolic MAC array** (``R x C``, after SCALE-Sim 3.0.0, ``compute/systolic_compute_{ws,os}.py``).
A stage is a (grouped) matrix product: ``m`` positions x ``n`` channels, ``k`` terms per output
and group. The array is *folded* over two dimensions and *streams* the third:

* weight-stationary (WS): rows hold terms, columns hold channels, the ``m`` positions stream.
  One fold costs ``m + (2R - 1) + (C - 1)`` cycles: ``R`` cycles to shift the weights in and
  ``R - 1`` of input skew (the *fill*), then ``C - 1`` cycles for the last partial sums to drain.
  SCALE-Sim's WS demand matrices have exactly ``2R + C + T - 2`` rows per fold with ``T = m``.
* output-stationary (OS): rows hold positions, columns hold channels, the ``k`` terms stream.
  One fold costs ``k + (R - 1) + (C - 1)`` (skew fill, drain), SCALE-Sim's ``R + C + T - 2``
  with ``T = k``.

Grouped stages (``groups = g``, ``n_g = n / g`` channels and ``k`` terms per group; depthwise is
``n_g = 1``) use a *native block-diagonal packing* instead of SCALE-Sim's one-layer-per-channel
split: WS places ``b = min(R // k, C // n_g, g)`` groups per fold, group ``i`` on rows
``[i*k, (i+1)*k)`` and columns ``[i*n_g, (i+1)*n_g)`` (the off-diagonal weights are zero);
OS places ``b = min(C // n_g, g)`` groups' channels across the columns and streams their
``b * k`` terms (zero weights included). A group that does not fit (``k > R`` in WS or
``n_g > C``) is folded on its own like a dense stage. :func:`per_channel_cycles` gives
SCALE-Sim's split for comparison.

**Adder trees**: ``count`` adders form ``trees = count // w`` trees of ``w = min(tree_width,
count)`` inputs (``w - 1`` adders reduce ``w`` terms, one more accumulates across cycles: ``w``
adders per tree). An output with ``t`` terms occupies one tree for ``ceil(t / w)`` cycles; short
sums (``t < w``) waste ``w - t`` inputs, i.e. the efficiency of an output is
``t / (w * ceil(t / w))``. A block adds ``ceil(log2 w) * latency_cycles`` of pipeline fill.

**Binary lanes** (``binary_array``: ``L`` lanes of ``W``-bit words): a lane computes one binary
dot product at a time, one ``W``-bit word operation (xnor, popcount, accumulate) per cycle, so an
output of ``k`` bits holds it ``ceil(k / W)`` cycles; the outputs are spread over the lanes:
``ceil(outputs / L) * ceil(k / W)`` cycles plus ``latency_cycles`` of pipeline once per block.

**Element-wise work** (bias, residual adds, the ã products, or any op class routed to a unit
that has no reduction structure): one operation per unit per cycle plus the unit's latency.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from accelsim.hw.config import (
    AdderArray,
    DepthwiseMapping,
    HardwareConfig,
    Loading,
    MacArray,
    UnsharedOperands,
)


class SystolicMapping(StrEnum):
    """How a stage is laid out on the systolic array: one of the array's dataflows, or the
    channel-parallel depthwise mapping (``cp``: columns hold channels, rows positions, terms
    stream, each PE accumulating its own output)."""

    WS = "ws"
    OS = "os"
    IS = "is"
    CP = "cp"


class ChunkOrder(StrEnum):
    """Loop order of a chunk-ordered stage (adder trees, binary lanes, element-wise units):
    ``positions`` (position chunks outer, channel blocks inner: the chunks pipeline with the
    stages they forward to; a channel block's weights are loaded again for every chunk unless
    they are resident) or ``channels`` (channel blocks outer, position chunks inner: a block's
    weights are loaded once and held over its chunks; the input is read again for every channel
    block unless it is resident)."""

    POSITIONS = "positions"
    CHANNELS = "channels"


#: A stage's layout: its systolic mapping on the MAC array, or the loop order of a chunk-ordered
#: stage.
Layout = SystolicMapping | ChunkOrder


@dataclass(frozen=True)
class Fold:
    """One fold of a systolic mapping: the box ``[n0, n1) x [k0, k1) x [m0, m1)`` of the stage it
    computes (the streamed dimension spans its whole range: positions for WS, terms for OS and
    CP, channels for IS), ``stream`` cycles of streamed operands, ``rows``/``cols`` of the array
    in use (for the mapping efficiency)."""

    n0: int
    n1: int
    k0: int
    k1: int
    m0: int
    m1: int
    stream: int
    rows: int
    cols: int


@dataclass(frozen=True)
class Phases:
    """Per-fold overheads of a mapping on an array: ``load`` cycles to shift the stationary
    operand in (WS weights, IS inputs; 0 for OS and CP), the skewed ``fill`` (R - 1) and the
    ``drain`` (C - 1), and whether loads are double-buffered and folds pipelined."""

    load: int
    fill: int
    drain: int
    double_buffered: bool
    pipelined: bool


def phases(mac: MacArray, mapping: SystolicMapping) -> Phases:
    """The fold overheads of ``mapping`` on ``mac`` (SCALE-Sim's with blocking loads and no
    pipelining: WS/IS ``2R + C - 2``, OS ``R + C - 2`` per fold). CP has no skewed fill: no
    operand travels from PE to PE (each column's weight is broadcast down it, each PE reads its
    own input window), so a fold is its ``k`` terms plus the ``C - 1`` cycles of shifting the
    accumulated outputs out."""
    r, c = mac.rows, mac.cols
    load = r if mapping in (SystolicMapping.WS, SystolicMapping.IS) else 0
    fill = 0 if mapping is SystolicMapping.CP else max(r - 1, 0)
    return Phases(load, fill, max(c - 1, 0), mac.loading == Loading.DOUBLE_BUFFERED,
                  mac.fold_pipelining)


def segments_cycles(ph: Phases, segments: list[tuple[int, bool, bool]]) -> int:
    """Cycles of consecutive stream segments on the array: ``(stream, starts_fold, ends_fold)``
    each (a whole fold is ``(T, True, True)``; a fold cut across tiles gives its first chunk
    ``starts`` and its last ``ends``).

    A fold start exposes the load (blocking: every fold; double-buffered: the first fold of the
    run, later ones only the part not hidden behind the previous segment's work) and the fill
    (every fold, or only the first when folds are pipelined); a fold end exposes the drain
    (every fold, or only the last when pipelined)."""
    total = 0
    prev_work = 0
    first_start = next((i for i, s in enumerate(segments) if s[1]), -1)
    last_end = max((i for i, s in enumerate(segments) if s[2]), default=-1)
    for i, (stream, starts, ends) in enumerate(segments):
        work = stream
        if starts:
            if not ph.double_buffered or i == first_start:
                total += ph.load
            else:
                total += max(0, ph.load - prev_work)
            if not ph.pipelined or i == first_start:
                work += ph.fill
        if ends and (not ph.pipelined or i == last_end):
            work += ph.drain
        total += work
        prev_work = work
    return total


def fold_cycles(mac: MacArray, stream: int, mapping: SystolicMapping = SystolicMapping.WS
                ) -> int:
    """Cycles of one whole fold alone streaming ``stream`` operands (load + fill + stream +
    drain)."""
    return segments_cycles(phases(mac, mapping), [(stream, True, True)])


def mappings(mac: MacArray, groups: int, n: int) -> tuple[SystolicMapping, ...]:
    """The mappings a stage of ``n`` channels in ``groups`` groups may use on ``mac``: the array's
    supported dataflows, plus CP for a depthwise stage (one channel per group) when the array
    has the channel-parallel depthwise mapping."""
    out = [SystolicMapping(d.value) for d in mac.supported]
    if groups > 1 and n == groups and mac.depthwise == DepthwiseMapping.CHANNEL_PARALLEL:
        out.append(SystolicMapping.CP)
    return tuple(out)


def systolic_folds(m: int, n: int, k: int, groups: int, mac: MacArray,
                   mapping: SystolicMapping | None = None) -> list[Fold]:
    """The folds of a (grouped) ``m x n x k`` matrix product on ``mac`` under ``mapping``
    (default: the array's dataflow), in execution order.

    WS: channel folds outer, term folds inner (SCALE-Sim's order), each streaming all ``m``
    positions. OS: channel folds outer, position folds inner, each streaming its terms. IS:
    position folds outer, term folds inner, each streaming all ``n`` channels (rows hold terms,
    columns positions). CP: channel folds outer, position folds inner, each streaming the
    ``k`` terms of its channels (depthwise only)."""
    r, c = mac.rows, mac.cols
    ng = n // groups
    if mapping is None:
        mapping = SystolicMapping(mac.dataflow.value)
    out: list[Fold] = []
    if mapping is SystolicMapping.CP:
        rows, vcols = cp_shape(m, groups, r, c)
        for g0 in range(0, groups, vcols):
            g1 = min(groups, g0 + vcols)
            for m0 in range(0, m, rows):
                m1 = min(m, m0 + rows)
                out.append(Fold(g0 * ng, g1 * ng, 0, k, m0, m1, k, m1 - m0, g1 - g0))
        return out
    ws = mapping is SystolicMapping.WS
    if mapping is SystolicMapping.IS:
        for g in range(groups):
            gn0, gn1 = g * ng, (g + 1) * ng
            for m0 in range(0, m, c):
                m1 = min(m, m0 + c)
                for k0 in range(0, k, r):
                    k1 = min(k, k0 + r)
                    out.append(Fold(gn0, gn1, k0, k1, m0, m1, ng, k1 - k0, m1 - m0))
        return out
    if groups > 1 and ng <= c and (k <= r or not ws):
        b = max(1, min(c // ng, groups, r // k if ws else groups))
        for g0 in range(0, groups, b):
            g1 = min(groups, g0 + b)
            n0, n1 = g0 * ng, g1 * ng
            if ws:
                out.append(Fold(n0, n1, 0, k, 0, m, m, (g1 - g0) * k, n1 - n0))
            else:
                for m0 in range(0, m, r):
                    m1 = min(m, m0 + r)
                    out.append(Fold(n0, n1, 0, k, m0, m1, (g1 - g0) * k, m1 - m0, n1 - n0))
        return out
    for g in range(groups):
        for n0 in range(g * ng, (g + 1) * ng, c):
            n1 = min((g + 1) * ng, n0 + c)
            if ws:
                for k0 in range(0, k, r):
                    k1 = min(k, k0 + r)
                    out.append(Fold(n0, n1, k0, k1, 0, m, m, k1 - k0, n1 - n0))
            else:
                for m0 in range(0, m, r):
                    m1 = min(m, m0 + r)
                    out.append(Fold(n0, n1, 0, k, m0, m1, k, m1 - m0, n1 - n0))
    return out


def cp_shape(m: int, channels: int, r: int, c: int) -> tuple[int, int]:
    """How the channel-parallel mapping lays ``m`` positions x ``channels`` depthwise outputs on
    an ``r x c`` array: ``rows`` positions per PE column group and ``c * (r // rows)`` channels
    (the array's rows split into ``r // rows`` groups of ``rows``, each group its own channels),
    chosen to use the most PEs (ties: taller groups)."""
    best, best_eff = (r, c), -1.0
    for rows in range(r, 0, -1):
        vcols = c * (r // rows)
        folds = -(-m // rows) * -(-channels // vcols)
        eff = m * channels / (folds * r * c)
        if eff > best_eff + 1e-12:
            best, best_eff = (rows, vcols), eff
    return best


def systolic_cycles(m: int, n: int, k: int, groups: int, mac: MacArray,
                    mapping: SystolicMapping | None = None) -> int:
    """Compute cycles of a whole stage on the systolic array with no memory stalls, every fold
    in one run (fill and drain as the microarchitecture exposes them): with SCALE-Sim's
    microarchitecture, what SCALE-Sim reports as compute cycles."""
    mp = mapping if mapping is not None else SystolicMapping(mac.dataflow.value)
    folds = systolic_folds(m, n, k, groups, mac, mp)
    return segments_cycles(phases(mac, mp), [(f.stream, True, True) for f in folds])


def per_channel_cycles(m: int, n: int, k: int, mac: MacArray) -> int:
    """A depthwise stage (``groups = n``) mapped the SCALE-Sim way: ``n`` single-channel layers,
    each a dense ``m x 1 x k`` product folded on the whole array."""
    return n * systolic_cycles(m, 1, k, 1, mac)


def mac_utilisation(m: int, n: int, k: int, groups: int, mac: MacArray,
                    mapping: SystolicMapping | None = None) -> float:
    """Useful MACs over MAC-unit cycles of a stage alone on the array: ``m*n*k / (R*C*cycles)``
    (dense; zero weights count as work)."""
    cycles = systolic_cycles(m, n, k, groups, mac, mapping)
    return m * n * k / (mac.count * cycles) if cycles else 0.0


def tree_shape(count: int, tree_width: int) -> tuple[int, int]:
    """(trees, inputs per tree) of an adder array of ``count`` adders: ``w = min(tree_width,
    count)``, ``trees = count // w``."""
    w = max(1, min(tree_width, count))
    return max(1, count // w), w


def tree_cycles(outputs: int, terms_per_output: float, count: int, tree_width: int,
                latency_cycles: int) -> int:
    """Cycles for ``outputs`` sums of ``terms_per_output`` terms each on the adder trees.

    Each output occupies one tree for ``ceil(t / w)`` cycles (``t`` rounded up to a whole term);
    the outputs are spread over the trees; ``ceil(log2 w) * latency_cycles`` of pipeline fill is
    added once. Zero outputs or zero terms cost 0 cycles."""
    if outputs <= 0 or terms_per_output <= 0:
        return 0
    trees, w = tree_shape(count, tree_width)
    per_out = math.ceil(math.ceil(terms_per_output - 1e-9) / w)
    return math.ceil(outputs * per_out / trees) + tree_latency(count, tree_width, latency_cycles)


def lockstep_cycles(positions: int, n0: int, n1: int, k: int, channels_per_group: int,
                    channel_terms: Sequence[float] | None, adder: AdderArray, count: int
                    ) -> tuple[int, int]:
    """(cycles, operand reads) of ``positions`` x channels ``[n0, n1)`` sums of ``k`` terms on
    the adder trees (the reads are in units of "the positions' input slice, once").

    The ``count // w`` trees of ``w`` inputs work in lockstep groups of ``L = lockstep_trees``:
    a group takes one output position and ``L`` consecutive channels and moves on when its
    slowest tree is done, ``max_c ceil(t_c / w)`` cycles for the terms ``t_c`` each channel adds
    (``k``, or its non-zero terms when zero terms are skipped). Operands are read once per
    broadcast group of ``B = broadcast_trees`` trees (0: every tree, ideally: once per position)
    and reach it over a bus of ``operand_bus_terms`` terms per cycle, so no group spends fewer
    than ``ceil(k_in / bus)`` cycles on a position (``k_in = k`` times the input groups its
    channels span: a depthwise sum shares nothing; with ``unshared_operands: private`` each
    tree reads its unshared operands through its own feed and the bus carries one input group's
    ``k``). Groups work in parallel on (position, channel group) items, the trees left over
    forming a smaller group: ``ceil(positions * sum(item cycles) * L / trees)`` plus the tree's
    pipeline fill."""
    nb = n1 - n0
    if positions <= 0 or nb <= 0 or k <= 0:
        return 0, 0
    trees, w = tree_shape(count, adder.tree_width)
    lock = max(1, min(adder.lockstep_trees, trees))
    fan = nb if adder.broadcast_trees <= 0 else max(1, min(adder.broadcast_trees, trees))
    cpg = max(1, channels_per_group)
    bus = adder.operand_bus_terms
    private = adder.unshared_operands == UnsharedOperands.PRIVATE

    def spans(a: int, b: int) -> int:
        if private:
            return 1
        return (n0 + b - 1) // cpg - (n0 + a) // cpg + 1

    total = 0
    for g0 in range(0, nb, lock):
        g1 = min(nb, g0 + lock)
        if channel_terms is None:
            slowest = math.ceil(k / w)
        else:
            slowest = max(math.ceil(math.ceil(t - 1e-9) / w) for t in channel_terms[g0:g1])
        if bus > 0:
            b0 = g0 // fan * fan
            slowest = max(slowest, math.ceil(k * spans(b0, min(nb, b0 + fan)) / bus))
        total += slowest
    cycles = math.ceil(positions * total * lock / trees)  # trees left over form a smaller group
    return (cycles + tree_latency(count, adder.tree_width, adder.latency_cycles),
            math.ceil(nb / fan))


def tree_latency(count: int, tree_width: int, latency_cycles: int) -> int:
    """Pipeline depth of one adder tree: ``ceil(log2 w) * latency_cycles`` (at least one level)."""
    _, w = tree_shape(count, tree_width)
    return max(1, math.ceil(math.log2(w))) * latency_cycles if w > 1 else latency_cycles


def tree_efficiency(terms: int, tree_width: int) -> float:
    """Fraction of a tree's inputs doing useful work for a ``terms``-term sum."""
    if terms <= 0:
        return 0.0
    return terms / (tree_width * math.ceil(terms / tree_width))


def elementwise_cycles(ops: int, units: int, latency_cycles: int) -> int:
    """``ceil(ops / units) + latency_cycles`` (0 for no work)."""
    if ops <= 0:
        return 0
    return math.ceil(ops / units) + latency_cycles


def binary_cycles(outputs: int, words_per_output: int, lanes: int, latency_cycles: int) -> int:
    """Cycles for ``outputs`` binary dot products of ``words_per_output`` word operations each
    on ``lanes`` lanes (a lane accumulates one output at a time): ``ceil(outputs / lanes) *
    words_per_output + latency_cycles`` (0 for no work)."""
    if outputs <= 0 or words_per_output <= 0:
        return 0
    return math.ceil(outputs / max(1, lanes)) * words_per_output + latency_cycles


def binary_efficiency(outputs: int, lanes: int) -> float:
    """Share of the lanes' word slots doing useful work for ``outputs`` dot products (the last
    round of outputs may leave lanes idle): ``outputs / (lanes * ceil(outputs / lanes))``."""
    if outputs <= 0 or lanes <= 0:
        return 0.0
    return outputs / (lanes * math.ceil(outputs / lanes))


def unit_count(hw: HardwareConfig, unit: str) -> int:
    """Number of units of class ``unit`` (``mac``: R x C)."""
    return hw.counts.get(unit, 0)


def unit_latency(hw: HardwareConfig, unit: str) -> int:
    """Per-block pipeline latency of a unit class for element-wise work."""
    if unit == "mac":
        return hw.mac_array.pipeline_latency_cycles
    if unit == "add":
        return hw.adder_array.latency_cycles
    if unit == "xnor":
        return hw.binary_array.latency_cycles
    return hw.multiplier_array.latency_cycles
