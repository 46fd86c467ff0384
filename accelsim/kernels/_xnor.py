"""Numba kernels for FullBinConv (XNOR-Net) layers on bit-packed 64-bit words.

Private: call them through :mod:`accelsim.kernels.binary`, which validates and prepares every
argument. Pure functions of C-contiguous arrays; each returns the operations it performed.

Bit layout. A value ``v`` is one bit, ``1`` for ``v >= 0`` (+1) and ``0`` for ``v < 0`` (-1).
The ``K = kh * kw * C`` bits of a dot product are ordered ``(dy, dx, c)`` and packed
contiguously, bit ``t`` in bit ``t % 64`` of word ``t // 64``: ``KW = ceil(K / 64)`` words, the
unused high bits of the last word zero in both operands (so they never differ). For two such
vectors ``a`` and ``b`` the ±1 dot product is ``K - 2 * popcount(a xor b)`` (equivalently
``2 * popcount(xnor(a, b)) - K``).

Padding. A padded input position has no ±1 value (the reference convolution pads ``sign(I)``
with zeros). Its bits are stored as 0 (-1), so the full-width dot product above includes
``-b_t`` for every padded tap ``t``; the kernel adds back ``corr[pattern, o] = sum of b_t over
the padded taps``, where ``pattern`` identifies which taps of the output position fall into the
padding (precomputed per layer, like the packed weights). The result is exact.

Popcount: the SWAR bit count below, which LLVM recognises and compiles to the ``popcnt``
instruction (and to ``vpopcntq`` where AVX-512 VPOPCNTDQ exists) when it vectorises the word
loop.
"""
from __future__ import annotations

import numpy as np

from accelsim.kernels.config import kernel

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@kernel
def popcount64(x):
    """Number of set bits of a uint64 (SWAR; compiled to a popcount instruction)."""
    x = x - ((x >> np.uint64(1)) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return (x * _H01) >> np.uint64(56)


@kernel
def pack_pixels(x, pad_top, pad_left, out):
    """Sign bits of ``x`` (N, C, H, W) packed along channels per pixel of the padded input:
    ``out`` (N, CW, Hp, Wp) uint64, zero on entry, bit ``c % 64`` of plane ``c // 64`` for
    channel ``c``; padded pixels stay 0. Returns nothing."""
    n_img, c_in, h, w = x.shape
    for n in range(n_img):
        for c in range(c_in):
            plane = out[n, c >> 6]
            shift = np.uint64(c & 63)
            for y in range(h):
                row = plane[y + pad_top, pad_left:pad_left + w]
                xs = x[n, c, y]
                for i in range(w):
                    bit = np.uint64(1) if xs[i] >= 0 else np.uint64(0)
                    row[i] |= bit << shift


@kernel
def gather_patches(px, c_in, kh, kw, stride, out_h, out_w, out):
    """Patch words of every output position: ``out`` (N, out_h * out_w, KW) uint64, zero on
    entry, from the pixel words ``px`` (N, CW, Hp, Wp) of :func:`pack_pixels`. Tap ``j = dy*kw
    + dx`` contributes the ``C`` channel bits of pixel ``(oy*s + dy, ox*s + dx)`` at bit offset
    ``j * C`` (whole-word copies when ``C`` is a multiple of 64, shifted ORs otherwise)."""
    n_img = px.shape[0]
    cw = px.shape[1]
    kwords = out.shape[2]
    for n in range(n_img):
        for oy in range(out_h):
            for ox in range(out_w):
                dst = out[n, oy * out_w + ox]
                for dy in range(kh):
                    y = oy * stride + dy
                    for dx in range(kw):
                        xq = ox * stride + dx
                        base = (dy * kw + dx) * c_in
                        q0 = base >> 6
                        r = base & 63
                        if r == 0:
                            for i in range(cw):
                                dst[q0 + i] |= px[n, i, y, xq]
                        else:
                            sh = np.uint64(r)
                            back = np.uint64(64 - r)
                            for i in range(cw):
                                v = px[n, i, y, xq]
                                dst[q0 + i] |= v << sh
                                if q0 + i + 1 < kwords:
                                    dst[q0 + i + 1] |= v >> back


@kernel
def xnor_dots(patches, wpk, k_bits, pattern, corr, out):
    """Binary dot products: ``out[n, o, p] = K - 2 * popcount(patch[n, p] xor w[o]) +
    corr[pattern[p], o]``.

    ``patches`` (N, M, KW) and ``wpk`` (O, KW) uint64; ``pattern`` (M,) int64; ``corr`` (P, O)
    int64; ``out`` (N, O, M), int32 or a float type (the dot products are integers of magnitude at
    most ``K``, exact in float32 for ``K < 2**24``). Eight filters share each loaded patch word
    (register blocking), the remaining ones are done one by one. Returns ``(word_ops, bit_ops)``:
    one word operation (xor, popcount, accumulate) per word per output, ``KW`` and ``K`` per output.
    """
    n_img, n_pos, kwords = patches.shape
    n_out = wpk.shape[0]
    words = 0
    for n in range(n_img):
        pn = patches[n]
        o = 0
        while o + 8 <= n_out:
            w0, w1, w2, w3 = wpk[o], wpk[o + 1], wpk[o + 2], wpk[o + 3]
            w4, w5, w6, w7 = wpk[o + 4], wpk[o + 5], wpk[o + 6], wpk[o + 7]
            for p in range(n_pos):
                a = pn[p]
                c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = np.uint64(0)
                for i in range(kwords):
                    v = a[i]
                    c0 += popcount64(v ^ w0[i])
                    c1 += popcount64(v ^ w1[i])
                    c2 += popcount64(v ^ w2[i])
                    c3 += popcount64(v ^ w3[i])
                    c4 += popcount64(v ^ w4[i])
                    c5 += popcount64(v ^ w5[i])
                    c6 += popcount64(v ^ w6[i])
                    c7 += popcount64(v ^ w7[i])
                cr = corr[pattern[p]]
                out[n, o, p] = k_bits - 2 * np.int64(c0) + cr[o]
                out[n, o + 1, p] = k_bits - 2 * np.int64(c1) + cr[o + 1]
                out[n, o + 2, p] = k_bits - 2 * np.int64(c2) + cr[o + 2]
                out[n, o + 3, p] = k_bits - 2 * np.int64(c3) + cr[o + 3]
                out[n, o + 4, p] = k_bits - 2 * np.int64(c4) + cr[o + 4]
                out[n, o + 5, p] = k_bits - 2 * np.int64(c5) + cr[o + 5]
                out[n, o + 6, p] = k_bits - 2 * np.int64(c6) + cr[o + 6]
                out[n, o + 7, p] = k_bits - 2 * np.int64(c7) + cr[o + 7]
            words += 8 * n_pos * kwords
            o += 8
        while o < n_out:
            w0 = wpk[o]
            for p in range(n_pos):
                a = pn[p]
                c0 = np.uint64(0)
                for i in range(kwords):
                    c0 += popcount64(a[i] ^ w0[i])
                out[n, o, p] = k_bits - 2 * np.int64(c0) + corr[pattern[p], o]
            words += n_pos * kwords
            o += 1
    return words, words // kwords * k_bits


@kernel
def channel_abs_sum(x, out):
    """``out[n, p] = sum_c |x[n, c, p]|`` (``x`` (N, C, P)), accumulated from zero in channel
    order; ``out`` zero on entry. Returns additions (``C`` per pixel)."""
    n_img, c_in, n_pix = x.shape
    for n in range(n_img):
        acc = out[n]
        for c in range(c_in):
            xs = x[n, c]
            for p in range(n_pix):
                acc[p] += abs(xs[p])
    return n_img * c_in * n_pix


@kernel
def box_sum(a, kh, kw, stride, out_h, out_w, out):
    """``out[n, oy * out_w + ox] = sum_{dy, dx} a[n, oy*s + dy, ox*s + dx]`` over the zero-padded
    map ``a`` (N, Hp, Wp), accumulated from zero in (dy, dx) order; ``out`` zero on entry.
    Returns additions (``kh * kw`` per output)."""
    n_img = a.shape[0]
    for n in range(n_img):
        for oy in range(out_h):
            row = out[n, oy * out_w:(oy + 1) * out_w]
            for dy in range(kh):
                src = a[n, oy * stride + dy]
                for dx in range(kw):
                    for ox in range(out_w):
                        row[ox] += src[ox * stride + dx]
    return n_img * out_h * out_w * kh * kw


@kernel
def xnor_scale(dots, alpha, kmap, out):
    """``out[n, o, p] = (dots[n, o, p] * alpha[o]) * kmap[n, p]``; ``dots`` holds the integer
    dot products as floats of the compute type (exact: ``|dot| <= K < 2**24``). Returns
    multiplications (two per output)."""
    n_img, n_out, n_pos = dots.shape
    for n in range(n_img):
        km = kmap[n]
        for o in range(n_out):
            a = alpha[o]
            d = dots[n, o]
            row = out[n, o]
            for p in range(n_pos):
                row[p] = (d[p] * a) * km[p]
    return 2 * n_img * n_out * n_pos
