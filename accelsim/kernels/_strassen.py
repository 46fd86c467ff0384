"""Numba kernels for the W_c stage of a strassenified convolution.

W_c is a ternary ``p x p`` transposed convolution with stride ``p`` from ``r`` hidden channels to
``c_rem`` output channels, cropped to ``out_h x out_w``. Because stride equals kernel size, output
``(c, y, x)`` has exactly ``r`` terms, all from hidden position ``(y // p, x // p)``, weighted by
``W_c[:, c, y % p, x % p]``. Private: use :func:`accelsim.kernels.api.strassen_conv2d`.

Layout: ``h`` is the hidden map ``(N, r * hh * hw)`` (channel ``k``, row ``hy``, column ``hx`` at
``k * hh * hw + hy * hw + hx``); ``out`` is ``(N, c_rem, out_h * out_w)``. The zero-skipping
kernel reads ``[h, -h]`` (shape ``(N, 2 * r * hh * hw)``, see :mod:`._ternary`). For one output
row ``y`` and column phase ``j`` the outputs ``x = j, j + p, ...`` read consecutive hidden columns
``hx = 0, 1, ...``: the kernels accumulate them in the contiguous scratch row ``acc`` and then
store them with stride ``p``. Cropped outputs are never computed (and never counted).
"""
from __future__ import annotations

from accelsim.kernels._ternary import add_terms
from accelsim.kernels.config import kernel


@kernel
def wc_skip(hx, hh, hw, patch, out_h, out_w, ptr, offs, acc, out):
    """Zero-skipping W_c: one addition per non-zero ``W_c[k, c, y % p, x % p]`` per kept output.

    ``hx``: ``[h, -h]``. The CSR list ``q = (i * p + j) * c_rem + c`` holds the offsets
    ``k * hh * hw`` of the +1 entries of ``W_c[:, c, i, j]`` and ``(r + k) * hh * hw`` of its -1
    entries. ``acc`` is scratch of at least ``hw`` elements. Returns additions.
    """
    adds = 0
    c_rem = out.shape[1]
    for n in range(hx.shape[0]):
        hn = hx[n]
        for y in range(out_h):
            i = y % patch
            base = (y // patch) * hw
            for j in range(patch):
                cnt = (out_w - j + patch - 1) // patch
                if cnt <= 0:
                    continue
                a = acc[:cnt]
                for c in range(c_rem):
                    q = (i * patch + j) * c_rem + c
                    for t in range(cnt):
                        a[t] = 0.0
                    adds += add_terms(a, hn, base, offs, ptr[q], ptr[q + 1])
                    row = out[n, c, y * out_w + j:]
                    for t in range(cnt):
                        row[t * patch] = a[t]
    return adds


@kernel
def wc_dense(h, hh, hw, patch, out_h, out_w, wc, acc, out):
    """Dense W_c: all ``r`` terms of every kept output are added, zero weights included.

    ``wc``: int8 ``(p, p, c_rem, r)`` (``wc[i, j, c, k] = W_c[k, c, i, j]``). Returns additions.
    """
    adds = 0
    c_rem = out.shape[1]
    r = wc.shape[3]
    plane = hh * hw
    for n in range(h.shape[0]):
        hn = h[n]
        for y in range(out_h):
            i = y % patch
            base = (y // patch) * hw
            for j in range(patch):
                cnt = (out_w - j + patch - 1) // patch
                if cnt <= 0:
                    continue
                a = acc[:cnt]
                for c in range(c_rem):
                    for t in range(cnt):
                        a[t] = 0.0
                    for k in range(r):
                        b = base + k * plane
                        hs = hn[b:b + cnt]
                        s = wc[i, j, c, k]
                        if s > 0:
                            for t in range(cnt):
                                a[t] += hs[t]
                        elif s < 0:
                            for t in range(cnt):
                                a[t] -= hs[t]
                        else:
                            for t in range(cnt):
                                a[t] += 0.0
                        adds += cnt
                    row = out[n, c, y * out_w + j:]
                    for t in range(cnt):
                        row[t * patch] = a[t]
    return adds
