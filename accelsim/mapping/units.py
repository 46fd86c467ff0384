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

**Element-wise work** (bias, residual adds, the ã products, or any op class routed to a unit
that has no reduction structure): one operation per unit per cycle plus the unit's latency.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from accelsim.hw.config import Dataflow, HardwareConfig, MacArray


@dataclass(frozen=True)
class Fold:
    """One fold of a systolic mapping: channels ``[n0, n1)``, terms ``[k0, k1)`` (WS) or
    positions ``[m0, m1)`` (OS), ``stream`` cycles of streamed operands, ``rows``/``cols`` of the
    array in use (for the mapping efficiency)."""

    n0: int
    n1: int
    k0: int
    k1: int
    m0: int
    m1: int
    stream: int
    rows: int
    cols: int


def fill_drain(mac: MacArray) -> tuple[int, int]:
    """(fill, drain) cycles of one fold: WS ``(2R - 1, C - 1)``, OS ``(R - 1, C - 1)``."""
    r, c = mac.rows, mac.cols
    if mac.dataflow is Dataflow.WS:
        return 2 * r - 1, c - 1
    return r - 1, c - 1


def fold_cycles(mac: MacArray, stream: int) -> int:
    """Cycles of one whole fold streaming ``stream`` operands (fill + stream + drain)."""
    fill, drain = fill_drain(mac)
    return stream + fill + drain


def systolic_folds(m: int, n: int, k: int, groups: int, mac: MacArray) -> list[Fold]:
    """The folds of a (grouped) ``m x n x k`` matrix product on ``mac``, in execution order.

    WS: channel folds outer, term folds inner (SCALE-Sim's order), each streaming all ``m``
    positions (``m0, m1`` span ``[0, m)``). OS: channel folds outer, position folds inner, each
    streaming its terms (``k0, k1`` span ``[0, k)``)."""
    r, c = mac.rows, mac.cols
    ng = n // groups
    ws = mac.dataflow is Dataflow.WS
    out: list[Fold] = []
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


def systolic_cycles(m: int, n: int, k: int, groups: int, mac: MacArray) -> int:
    """Compute cycles of a whole stage on the systolic array (fill and drain of every fold
    included, no memory stalls): the quantity SCALE-Sim reports as compute cycles."""
    return sum(fold_cycles(mac, f.stream) for f in systolic_folds(m, n, k, groups, mac))


def per_channel_cycles(m: int, n: int, k: int, mac: MacArray) -> int:
    """A depthwise stage (``groups = n``) mapped the SCALE-Sim way: ``n`` single-channel layers,
    each a dense ``m x 1 x k`` product folded on the whole array."""
    return n * systolic_cycles(m, 1, k, 1, mac)


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


def unit_count(hw: HardwareConfig, unit: str) -> int:
    """Number of units of class ``unit`` (``mac``: R x C)."""
    return hw.counts.get(unit, 0)


def unit_latency(hw: HardwareConfig, unit: str) -> int:
    """Per-block pipeline latency of a unit class for element-wise work."""
    if unit == "mac":
        return hw.mac_array.pipeline_latency_cycles
    if unit == "add":
        return hw.adder_array.latency_cycles
    return hw.multiplier_array.latency_cycles
