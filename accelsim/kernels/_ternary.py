"""Numba kernels for ternary (add/subtract-only) and full-precision convolutions.

Private: call them through :mod:`accelsim.kernels.api`, which validates and prepares every
argument. All kernels are pure functions of C-contiguous arrays: they write into ``out`` (or
``acc``) and return the number of operations they performed, counted as they perform them.

Layout (channels first, one image per leading index, spatial dimensions flattened). A convolution
of stride ``s`` is first rewritten (by :mod:`accelsim.kernels._prep`, data movement only) as a
stride-1 convolution over the ``s x s`` *phases* of the zero-padded input: phase ``(a, b)`` of
channel ``c`` holds padded pixels ``(a + s * y, b + s * x)``. Then:

* ``xp``: the phased input, shape ``(N, C * s * s * Hq * Wq)``; row ``y`` of a phase starts
  ``y * pitch`` after the phase's start (``pitch = Wq``);
* ``out``: shape ``(N, O, out_h * out_w)``, zero on entry;
* a weight term ``(c, dy, dx)`` is identified by its *offset*, the position of the input value
  output ``(0, 0)`` multiplies, ``c`` being the absolute input channel (group included): output
  ``(oy, ox)`` reads ``xp[n, offset + oy * pitch + ox]``. The kernels know nothing about strides,
  groups or kernel sizes, and every inner loop reads consecutive memory.

The zero-skipping kernel reads ``xx = [xp, -xp]`` (the phased input followed by its negation,
shape ``(N, 2 * C * s * s * Hq * Wq)``) and one list of term offsets per output channel ``o``,
``offs[ptr[o]:ptr[o + 1]]``: a +1 weight points into the first half, a -1 weight into the second.
Subtracting ``v`` and adding ``-v`` are the same IEEE operation (bit for bit), so every term is an
addition of one list and the terms can be grouped freely.

Output rows are processed in tiles of ``tile`` pixels; every output channel accumulates its tile
from the same input tile (all channels), which stays in cache. The innermost loops run over
consecutive output pixels and are vectorised by LLVM. Inner loops index array *slices* from 0, so
that numba emits no negative-index wraparound checks (which would stop vectorisation). Each tile
is accumulated in a scratch row private to the kernel, then stored. Terms are summed eight at a
time, ``acc += (((t0 + t1) + (t2 + t3)) + ((t4 + t5) + (t6 + t7)))`` (an eight-input adder tree
in front of an accumulator), then four at a time, then one at a time: one addition per term per
output in every case. See docs/kernels.md for the measured speed and what limits it.
"""
from __future__ import annotations

import numpy as np

from accelsim.kernels.config import kernel


@kernel
def add_terms(acc, x, base, offs, lo, hi):
    """``acc[t] += sum(x[base + offs[e] + t] for e in lo..hi-1)`` for every ``t``.

    Returns the additions performed: one per term per element of ``acc``.
    """
    cnt = acc.shape[0]
    adds = 0
    e = lo
    while e + 8 <= hi:
        x0 = x[base + offs[e]:base + offs[e] + cnt]
        x1 = x[base + offs[e + 1]:base + offs[e + 1] + cnt]
        x2 = x[base + offs[e + 2]:base + offs[e + 2] + cnt]
        x3 = x[base + offs[e + 3]:base + offs[e + 3] + cnt]
        x4 = x[base + offs[e + 4]:base + offs[e + 4] + cnt]
        x5 = x[base + offs[e + 5]:base + offs[e + 5] + cnt]
        x6 = x[base + offs[e + 6]:base + offs[e + 6] + cnt]
        x7 = x[base + offs[e + 7]:base + offs[e + 7] + cnt]
        for t in range(cnt):
            acc[t] += ((x0[t] + x1[t]) + (x2[t] + x3[t])) + ((x4[t] + x5[t]) + (x6[t] + x7[t]))
        adds += 8 * cnt
        e += 8
    if e + 4 <= hi:
        x0 = x[base + offs[e]:base + offs[e] + cnt]
        x1 = x[base + offs[e + 1]:base + offs[e + 1] + cnt]
        x2 = x[base + offs[e + 2]:base + offs[e + 2] + cnt]
        x3 = x[base + offs[e + 3]:base + offs[e + 3] + cnt]
        for t in range(cnt):
            acc[t] += (x0[t] + x1[t]) + (x2[t] + x3[t])
        adds += 4 * cnt
        e += 4
    while e < hi:
        x0 = x[base + offs[e]:base + offs[e] + cnt]
        for t in range(cnt):
            acc[t] += x0[t]
        adds += cnt
        e += 1
    return adds


@kernel
def ternary_conv_skip(xx, pitch, out_h, out_w, ptr, offs, tile, out):
    """Zero-skipping ternary convolution: one addition per non-zero weight per output.

    ``xx``: ``[xp, -xp]`` as described in the module docstring; ``pitch``: the row pitch.
    Each output tile is accumulated in a scratch row private to the kernel (which LLVM keeps
    apart from the inputs) and then stored. Returns the number of additions.
    """
    adds = 0
    n_out = out.shape[1]
    scratch = np.empty(tile, dtype=out.dtype)
    for n in range(xx.shape[0]):
        xn = xx[n]
        for oy in range(out_h):
            row_base = oy * pitch
            for x0 in range(0, out_w, tile):
                cnt = min(tile, out_w - x0)
                base = row_base + x0
                start = oy * out_w + x0
                acc = scratch[:cnt]
                for o in range(n_out):
                    for t in range(cnt):
                        acc[t] = 0.0
                    adds += add_terms(acc, xn, base, offs, ptr[o], ptr[o + 1])
                    row = out[n, o, start:start + cnt]
                    for t in range(cnt):
                        row[t] = acc[t]
    return adds


@kernel
def ternary_conv_dense(xp, pitch, out_h, out_w, w, offs, group_base, tile, out):
    """Dense ternary convolution: every term is added, zero weights included (adding 0.0).

    ``w``: int8 ``(O, K)`` in {-1, 0, 1}; ``offs``: the ``K`` term offsets within a group;
    ``group_base[o]``: the offset of output channel ``o``'s input-channel group. Returns additions
    (``K`` per output).
    """
    adds = 0
    n_out, n_terms = w.shape
    for n in range(xp.shape[0]):
        xn = xp[n]
        for oy in range(out_h):
            row_base = oy * pitch
            for x0 in range(0, out_w, tile):
                cnt = min(tile, out_w - x0)
                start = oy * out_w + x0
                for o in range(n_out):
                    acc = out[n, o, start:start + cnt]
                    base = row_base + x0 + group_base[o]
                    for k in range(n_terms):
                        b = base + offs[k]
                        xs = xn[b:b + cnt]
                        s = w[o, k]
                        if s > 0:
                            for t in range(cnt):
                                acc[t] += xs[t]
                        elif s < 0:
                            for t in range(cnt):
                                acc[t] -= xs[t]
                        else:
                            for t in range(cnt):
                                acc[t] += 0.0
                        adds += cnt
    return adds


@kernel
def fp_conv(xp, pitch, out_h, out_w, w, offs, group_base, tile, out):
    """Full-precision convolution by multiply-accumulate (product rounded, then sum rounded).

    ``w``: float ``(O, K)``; other arguments as :func:`ternary_conv_dense`. Returns MACs.
    """
    macs = 0
    n_out, n_terms = w.shape
    for n in range(xp.shape[0]):
        xn = xp[n]
        for oy in range(out_h):
            row_base = oy * pitch
            for x0 in range(0, out_w, tile):
                cnt = min(tile, out_w - x0)
                start = oy * out_w + x0
                for o in range(n_out):
                    acc = out[n, o, start:start + cnt]
                    base = row_base + x0 + group_base[o]
                    for k in range(n_terms):
                        b = base + offs[k]
                        xs = xn[b:b + cnt]
                        v = w[o, k]
                        for t in range(cnt):
                            acc[t] += v * xs[t]
                        macs += cnt
    return macs


@kernel
def add_bias(out, bias):
    """``out[n, o, :] += bias[o]``; returns additions (one per output element)."""
    adds = 0
    for n in range(out.shape[0]):
        for o in range(out.shape[1]):
            row = out[n, o]
            b = bias[o]
            for t in range(row.shape[0]):
                row[t] += b
            adds += row.shape[0]
    return adds


@kernel
def scale_channels(h, a):
    """``h[n, k, :] *= a[k]`` (the ã stage); returns multiplications (one per element)."""
    muls = 0
    for n in range(h.shape[0]):
        for k in range(h.shape[1]):
            row = h[n, k]
            s = a[k]
            for t in range(row.shape[0]):
                row[t] *= s
            muls += row.shape[0]
    return muls
