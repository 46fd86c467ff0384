"""Plain-numpy reference implementations of every kernel (independent of accelsim.kernels).

All functions compute in float64 with ``np.einsum`` over explicit windows; ternary weights are
used as the numbers -1, 0, 1. ``counts_*`` give the closed-form operation counts the kernels must
report. With ``absolute=True`` the same computation runs on absolute values: the ``A`` of the
rounding-error bound ``|computed - exact| <= gamma(n) * A`` (docs/kernels.md).
"""
from __future__ import annotations

import numpy as np

U32 = 2.0 ** -24
U64 = 2.0 ** -53


def gamma(n: int, u: float = U32) -> float:
    return n * u / (1.0 - n * u)


def pad4(padding: int | tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return (padding,) * 4 if isinstance(padding, int) else tuple(padding)


def _f64(a, absolute: bool) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return np.abs(a) if absolute else a


def conv2d(x, w, bias=None, stride=1, padding=0, groups=1, absolute=False) -> np.ndarray:
    """out[n, o, y, x] = bias[o] + sum_{c, dy, dx} w[o, c, dy, dx] x_pad[n, g*cpg + c, y*s+dy,
    x*s+dx] (PyTorch conv2d semantics, padding (top, left, bottom, right) or int)."""
    x, w = _f64(x, absolute), _f64(w, absolute)
    top, left, bottom, right = pad4(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    n_out, cpg, kh, kw = w.shape
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]                      # (N, C, OH, OW, kh, kw)
    opg = n_out // groups
    out = np.concatenate([
        np.einsum("nchwij,ocij->nohw", win[:, g * cpg:(g + 1) * cpg], w[g * opg:(g + 1) * opg])
        for g in range(groups)], axis=1)
    if bias is not None:
        out = out + _f64(bias, absolute)[None, :, None, None]
    return out


def conv_transpose_crop(h, wc, patch, out_h, out_w, absolute=False) -> np.ndarray:
    """A p x p transposed convolution with stride p (wc: (r, c_out, p, p)), cropped:
    out[n, c, y, x] = sum_k wc[k, c, y % p, x % p] h[n, k, y // p, x // p]."""
    h, wc = _f64(h, absolute), _f64(wc, absolute)
    n, r, hh, hw = h.shape
    full = np.zeros((n, wc.shape[1], hh * patch, hw * patch))
    for i in range(patch):
        for j in range(patch):
            full[:, :, i::patch, j::patch] = np.einsum("nkyx,kc->ncyx", h, wc[:, :, i, j])
    return full[:, :, :out_h, :out_w]


def strassen_conv2d(x, wb, a, wc, bias, *, wb_scale=1.0, wc_scale=1.0, stride=1, padding=0,
                    groups=1, patch=1, out_h=None, out_w=None, absolute=False) -> np.ndarray:
    """bias + wc_scale * convT(a * (wb_scale * conv(pad(x), wb)), wc) cropped."""
    s = abs if absolute else float
    hid = conv2d(x, wb, None, stride, padding, groups, absolute)
    hid = hid * s(wb_scale) * _f64(a, absolute)[None, :, None, None]
    out_h = hid.shape[2] * patch if out_h is None else out_h
    out_w = hid.shape[3] * patch if out_w is None else out_w
    y = conv_transpose_crop(hid, wc, patch, out_h, out_w, absolute) * s(wc_scale)
    if bias is not None:
        y = y + _f64(bias, absolute)[None, :, None, None]
    return y


def linear(x, w, bias=None, absolute=False) -> np.ndarray:
    y = np.einsum("ni,oi->no", _f64(x, absolute), _f64(w, absolute))
    return y if bias is None else y + _f64(bias, absolute)[None, :]


def strassen_linear(x, wb, a, wc, bias, *, wb_scale=1.0, wc_scale=1.0,
                    absolute=False) -> np.ndarray:
    """bias + wc_scale * wc @ (a * (wb_scale * wb @ x))."""
    s = abs if absolute else float
    hid = linear(x, wb, None, absolute) * s(wb_scale) * _f64(a, absolute)[None, :]
    y = linear(hid, wc, None, absolute) * s(wc_scale)
    return y if bias is None else y + _f64(bias, absolute)[None, :]


# -- closed-form counts ------------------------------------------------------------------------

def conv_out(size: int, kernel: int, stride: int, lo: int, hi: int) -> int:
    return (size + lo + hi - kernel) // stride + 1


def ternary_conv_counts(x_shape, w, stride, padding) -> tuple[int, int]:
    """(dense adds, zero-skipping adds) of a ternary convolution: per output, K / nnz(filter)."""
    n, _, h, wd = x_shape
    top, left, bottom, right = pad4(padding)
    oh = conv_out(h, w.shape[2], stride, top, bottom)
    ow = conv_out(wd, w.shape[3], stride, left, right)
    dense = n * oh * ow * w.size
    skip = n * oh * ow * int(np.count_nonzero(w))
    return dense, skip


def wc_counts(n, wc, patch, out_h, out_w) -> tuple[int, int]:
    """(dense, zero-skip) adds of W_c: r per kept output / nnz(wc[:, c, y % p, x % p])."""
    r, c_rem = wc.shape[:2]
    dense = n * c_rem * out_h * out_w * r
    skip = 0
    for y in range(out_h):
        for x in range(out_w):
            skip += int(np.count_nonzero(wc[:, :, y % patch, x % patch]))
    return dense, n * skip
