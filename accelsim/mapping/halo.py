"""Input halos: where a stage's output positions sit on the layer's input, and which input bytes a
run of positions reads (:class:`Halo`); the exact integer shares every slice is cut with
(:func:`share`).

A stage that reads the layer's input over its output grid with windows larger than its stride
(3x3 convolutions, depthwise layers, Strassen patches) cannot cut its input in proportion to the
positions: a tile of output positions reads every input row (and, within one output row, every
column) its receptive fields span, so neighbouring tiles both read the rows between them.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

INF = 1 << 62


def share(total: int, lo: int, hi: int, size: int) -> int:
    """The part of ``total`` that falls on ``[lo, hi)`` of ``size`` equal parts (exact partition:
    shares of adjacent ranges add up)."""
    if size <= 0:
        return 0
    return total * hi // size - total * lo // size


@dataclass(frozen=True)
class Halo:
    """Where a stage's output positions sit on the layer's input: ``rows x cols`` positions
    (row-major), each reading a ``kernel_h x kernel_w`` window at ``stride`` with ``pad`` on an
    ``in_h x in_w`` input. Only built for kernels larger than the stride (overlapping windows);
    a window smaller than the stride reads ``stride`` rows / columns (so that neighbouring blocks'
    spans still cover the input without gaps)."""

    rows: int
    cols: int
    kernel_h: int
    kernel_w: int
    stride: int
    pad: int
    in_h: int
    in_w: int

    def input_rows(self, r0: int, r1: int) -> tuple[int, int]:
        """Input rows ``[lo, hi)`` read by output rows ``r0..r1`` (the first output row from input
        row 0 and the last up to the last input row: the whole grid reads the whole input)."""
        s, p = self.stride, self.pad
        lo = 0 if r0 <= 0 else min(self.in_h, max(0, r0 * s - p))
        hi = self.in_h if r1 >= self.rows - 1 else \
            min(self.in_h, max(lo, r1 * s - p + max(self.kernel_h, s)))
        return lo, hi

    def _cols(self, c0: int, c1: int) -> tuple[int, int]:
        s, p = self.stride, self.pad
        lo = 0 if c0 <= 0 else min(self.in_w, max(0, c0 * s - p))
        hi = self.in_w if c1 >= self.cols - 1 else \
            min(self.in_w, max(lo, c1 * s - p + max(self.kernel_w, s)))
        return lo, hi

    @functools.lru_cache(maxsize=1 << 16)  # noqa: B019 (frozen, hashable, few instances)
    def area(self, m0: int, m1: int) -> int:
        """Input pixels (row x column) the receptive fields of output positions ``[m0, m1)``
        cover: within one output row its window rows by its window columns; across rows the
        union of the first row's tail, the whole rows between and the last row's head."""
        cols = max(1, self.cols)
        r0, c0 = divmod(m0, cols)
        r1, c1 = divmod(m1 - 1, cols)
        if r0 == r1:
            lo, hi = self.input_rows(r0, r0)
            clo, chi = self._cols(c0, c1)
            return (hi - lo) * (chi - clo)
        rects = [(*self.input_rows(r0, r0), *self._cols(c0, cols - 1)),
                 (*self.input_rows(r1, r1), *self._cols(0, c1))]
        if r1 - r0 > 1:
            rects.append((*self.input_rows(r0 + 1, r1 - 1), 0, self.in_w))
        ys = sorted({y for r in rects for y in r[:2]})
        area = 0
        for ya, yb in zip(ys, ys[1:]):
            spans = sorted((xa, xb) for ylo, yhi, xa, xb in rects if ylo <= ya and yb <= yhi)
            covered, end = 0, -1
            for xa, xb in spans:
                if xb > end:
                    covered += xb - max(xa, end)
                    end = xb
            area += (yb - ya) * covered
        return area

    def part(self, total: int, runs: Sequence[tuple[int, int]]) -> int:
        """Bytes of ``total`` (spread evenly over the input's rows and columns) that output
        position runs ``[m0, m1)`` read: one run, its receptive fields' pixels (:meth:`area`);
        several runs (folds of a systolic block), the union of their whole input rows."""
        runs = [(a, b) for a, b in runs if b > a]
        if not runs:
            return 0
        cols = max(1, self.cols)
        if len(runs) == 1:
            m0, m1 = runs[0]
            pixels = self.in_h * self.in_w
            return total * self.area(m0, m1) // pixels if m1 - m0 < self.rows * cols else total
        spans = sorted(self.input_rows(a // cols, (b - 1) // cols) for a, b in runs)
        x, cur_lo, cur_hi = 0, spans[0][0], spans[0][1]
        for lo, hi in spans[1:]:
            if lo > cur_hi:
                x += share(total, cur_lo, cur_hi, self.in_h)
                cur_lo = lo
            cur_hi = max(cur_hi, hi)
        return x + share(total, cur_lo, cur_hi, self.in_h)

    @functools.lru_cache(maxsize=1 << 14)  # noqa: B019
    def worst(self, total: int, step: int) -> int:
        """Most bytes of ``total`` any run of ``step`` consecutive positions reads: runs that
        start in a row whose windows the input's top border clips, or end in one the bottom
        border clips, and runs starting in the first row past the top band (every other run is
        a translation of one of these)."""
        cols, rows = max(1, self.cols), max(1, self.rows)
        size = rows * cols
        if step >= size:
            return total
        pixels = self.in_h * self.in_w
        last = size - step
        s = max(1, self.stride)
        top = max(1, -(-self.pad // s))  # rows whose windows start at the input's first row
        bottom = max(0, min(rows - 1, (self.in_h + self.pad - max(self.kernel_h, s)) // s))
        starts: set[int] = set()
        for r in range(min(rows, top + 1)):  # starting in the top band or just past it
            starts.update(range(r * cols, min((r + 1) * cols, last + 1)))
        for r in range(bottom, rows):  # ending in a row whose windows reach the last row
            starts.update(e - step + 1 for e in range(r * cols, (r + 1) * cols)
                          if 0 <= e - step + 1 <= last)
        return max(total * self.area(m, m + step) // pixels for m in starts)

    def positions(self, limit: int, total: int, size: int) -> int:
        """Largest run of positions (at most ``size``) whose input bytes fit ``limit`` wherever
        it starts (0 if not even one position's window fits)."""
        if limit >= INF or total <= 0:
            return size
        lo, hi = 0, size
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.worst(total, mid) <= limit:
                lo = mid
            else:
                hi = mid - 1
        return lo
