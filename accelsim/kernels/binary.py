"""Checked wrappers for binary layers: WeightBinConv (BWN) and FullBinConv (XNOR-Net).

Arrays use PyTorch layouts (``x`` (N, C, H, W); conv weights (out, in, kh, kw); linear weights
(out, in)); binary weights are integer arrays of ±1. Every function returns ``(output,
OpCounts)`` with the counts per workload stage (:mod:`accelsim.workload.binary`):

* :func:`wbin_conv2d` / :func:`wbin_linear`: ``conv`` (adds: the ±x sums, on the ternary
  kernels) and ``scale`` (muls: ``y * alpha_o``);
* :func:`fbin_conv2d` / :func:`fbin_linear`: ``k_sum`` and ``k_box`` (adds: the K map; no
  ``k_box`` for 1x1 kernels), ``xnor`` (``xnor`` bit operations and 64-bit ``words``: the
  bit-packed dot products of :mod:`accelsim.kernels._xnor`), ``scale`` (muls: ``(dot *
  alpha'_o) * K'``).

:class:`XnorConvPlan` packs a FullBinConv's weights once (like loading them into an
accelerator); :meth:`XnorConvPlan.dots` is the per-inference binary work and returns the exact
integer dot products. Raises :class:`accelsim.errors.InputError` on bad arguments, naming the
argument. docs/kernels.md ("Binary kernels") has the conventions and the measured speed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.kernels import _checks as ck
from accelsim.kernels._prep import as_compute
from accelsim.kernels._ternary import scale_channels
from accelsim.kernels._xnor import (
    box_sum,
    channel_abs_sum,
    gather_patches,
    pack_pixels,
    xnor_dots,
    xnor_scale,
)
from accelsim.kernels.api import OpCounts, Padding, ternary_conv2d

#: Bits per packed word of the kernels.
WORD_BITS = 64


def binary_array(field: str, a: object, ndim: int) -> np.ndarray:
    """A C-contiguous integer array of ``ndim`` dimensions with values in {-1, 1} (as int8)."""
    if not isinstance(a, np.ndarray):
        ck.fail(field, type(a).__name__, "must be a numpy array")
    assert isinstance(a, np.ndarray)
    if not np.issubdtype(a.dtype, np.integer):
        ck.fail(field, str(a.dtype), "must be an integer array (int8) of binary values")
    if a.ndim != ndim:
        ck.fail(field, f"shape {a.shape}", f"must have {ndim} dimensions")
    if a.size == 0:
        ck.fail(field, f"shape {a.shape}", "must not be empty")
    bad = a[(a != -1) & (a != 1)]
    if bad.size:
        ck.fail(field, int(bad[0]), "binary weights must be -1 or 1")
    return np.ascontiguousarray(a, dtype=np.int8)


@dataclass(frozen=True, eq=False)
class XnorConvPlan:
    """A FullBinConv's packed weights and geometry, for inputs (N, *in_shape).

    ``wpk`` (O, KW) uint64: filter bits in (dy, dx, c) order; ``pattern`` (out_h * out_w,)
    int64 and ``corr`` (P, O) int64: the padding correction of :mod:`._xnor`.
    """

    in_shape: tuple[int, int, int]
    kernel: int
    stride: int
    pad: tuple[int, int, int, int]
    out_h: int
    out_w: int
    wpk: np.ndarray
    pattern: np.ndarray
    corr: np.ndarray

    @property
    def k_bits(self) -> int:
        return self.kernel * self.kernel * self.in_shape[0]

    @property
    def k_words(self) -> int:
        return -(-self.k_bits // WORD_BITS)

    def dots(self, x: np.ndarray) -> tuple[np.ndarray, OpCounts]:
        """The ±1 dot products of ``sign(x)`` (``x >= 0`` is +1) with the filters, zero padded:
        int32 (N, O, out_h, out_w), and the ``xnor`` bit and word operations. Raises InputError
        when ``x`` is not a finite float array of the planned shape."""
        xa = self._input(x)
        out = np.zeros((xa.shape[0], self.wpk.shape[0], self.out_h * self.out_w), np.int32)
        counts = self._dots(xa, out)
        return out.reshape(xa.shape[0], -1, self.out_h, self.out_w), counts

    def _input(self, x: object) -> np.ndarray:
        xa = ck.float_array("x", x, 4)
        if xa.shape[1:] != self.in_shape:
            ck.fail("x", f"shape {xa.shape}", f"the plan is for inputs (N, "
                    f"{', '.join(map(str, self.in_shape))})")
        return xa

    def _dots(self, xa: np.ndarray, out: np.ndarray) -> OpCounts:
        """Dot products of a checked ``xa`` into ``out`` (N, O, out_h * out_w), int32 or float."""
        n = xa.shape[0]
        c, h, w = self.in_shape
        top, left, bottom, right = self.pad
        px = np.zeros((n, -(-c // WORD_BITS), h + top + bottom, w + left + right), np.uint64)
        pack_pixels(xa, top, left, px)
        patches = np.zeros((n, self.out_h * self.out_w, self.k_words), np.uint64)
        gather_patches(px, c, self.kernel, self.kernel, self.stride, self.out_h, self.out_w,
                       patches)
        words, bits = xnor_dots(patches, self.wpk, self.k_bits, self.pattern, self.corr, out)
        return OpCounts(xnor=int(bits), words=int(words))

    def run(self, x: np.ndarray, alpha: np.ndarray, *, round_fp16: bool = False,
            dtype: str = "float32") -> tuple[np.ndarray, OpCounts]:
        """The whole FullBinConv layer on ``x`` (N, *in_shape): the K map (``k_sum``, and
        ``k_box`` for kernels larger than 1x1), the dot products (``xnor``) and ``scale``,
        ``(dot * alpha') * K'`` in the compute type. Returns (N, O, out_h, out_w) and the counts
        per stage. Raises InputError on a bad ``x`` or ``alpha``."""
        ctype = ck.compute_dtype(dtype)
        xc = as_compute(self._input(x), ctype, round_fp16)
        a = as_compute(ck.vector("alpha", alpha, self.wpk.shape[0]), ctype, round_fp16)
        n, c, h, wd = xc.shape
        k, s, m = self.kernel, self.stride, self.out_h * self.out_w
        asum = np.zeros((n, h * wd), dtype=ctype)
        sum_adds = channel_abs_sum(xc.reshape(n, c, h * wd), asum)
        stages = [("k_sum", OpCounts(adds=int(sum_adds)))]
        top, left, bottom, right = self.pad
        apad = np.zeros((n, h + top + bottom, wd + left + right), dtype=ctype)
        apad[:, top:top + h, left:left + wd] = asum.reshape(n, h, wd)
        if k == 1:   # K' is the channel sum itself, sampled with the stride: no additions
            kmap = np.ascontiguousarray(apad[:, :(self.out_h - 1) * s + 1:s,
                                             :(self.out_w - 1) * s + 1:s].reshape(n, m))
        else:
            kmap = np.zeros((n, m), dtype=ctype)
            box_adds = box_sum(apad, k, k, s, self.out_h, self.out_w, kmap)
            stages.append(("k_box", OpCounts(adds=int(box_adds))))
        dots: np.ndarray = np.zeros((n, self.wpk.shape[0], m), dtype=ctype)   # exact ints
        xnor = self._dots(xc, dots)
        out = np.zeros_like(dots)
        muls = xnor_scale(dots, a, kmap, out)
        stages += [("xnor", xnor), ("scale", OpCounts(muls=int(muls)))]
        return out.reshape(n, -1, self.out_h, self.out_w), OpCounts.of_stages(stages)


def prepare_xnor_conv(w: np.ndarray, in_shape: tuple[int, int, int], *, stride: int = 1,
                      padding: Padding = 0, wfield: str = "w") -> XnorConvPlan:
    """Pack ±1 weights ``w`` (out, in, k, k) for inputs (N, *in_shape). Raises InputError on
    bad weights or geometry (square kernels, no groups)."""
    wa = binary_array(wfield, w, 4)
    stride_i = ck.positive_int("stride", stride)
    pad = ck.padding4("padding", padding)
    if len(in_shape) != 3 or any(int(v) < 1 for v in in_shape):
        ck.fail("in_shape", in_shape, "must be (channels, height, width), each >= 1")
    shape = (int(in_shape[0]), int(in_shape[1]), int(in_shape[2]))
    n_out, _, kh, kw = wa.shape
    if kh != kw:
        ck.fail(wfield, f"shape {wa.shape}", "binary convolutions need square kernels")
    out_h, out_w = ck.conv_geometry(shape, wa.shape, 1, stride_i, pad, wfield)
    bits = (wa.transpose(0, 2, 3, 1).reshape(n_out, -1) > 0)
    k_words = -(-bits.shape[1] // WORD_BITS)
    padded = np.zeros((n_out, k_words * WORD_BITS), dtype=bool)
    padded[:, :bits.shape[1]] = bits
    wpk = np.ascontiguousarray(np.packbits(padded, axis=1, bitorder="little")
                               .view("<u8").astype(np.uint64))
    pattern, corr = _padding_correction(wa, shape, stride_i, pad, out_h, out_w)
    return XnorConvPlan(shape, kh, stride_i, pad, out_h, out_w, wpk, pattern, corr)


def _padding_correction(w: np.ndarray, in_shape: tuple[int, int, int], stride: int,
                        pad: tuple[int, int, int, int], out_h: int, out_w: int
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Per output position, the id of its set of padded taps; per id and filter, the sum of the
    filter's ±1 weights over those taps (what the kernel adds back, see :mod:`._xnor`)."""
    _, h, wd = in_shape
    k = w.shape[2]
    rows = np.arange(out_h)[:, None] * stride + np.arange(k)[None, :] - pad[0]
    cols = np.arange(out_w)[:, None] * stride + np.arange(k)[None, :] - pad[1]
    row_ok, col_ok = (rows >= 0) & (rows < h), (cols >= 0) & (cols < wd)
    row_pat, row_id = np.unique(row_ok, axis=0, return_inverse=True)
    col_pat, col_id = np.unique(col_ok, axis=0, return_inverse=True)
    pattern = (row_id.reshape(-1)[:, None] * len(col_pat) + col_id.reshape(-1)[None, :])
    tapsum = w.astype(np.int64).sum(axis=1)                               # (O, k, k)
    padded = ~(row_pat[:, None, :, None] & col_pat[None, :, None, :])     # (R, C, k, k)
    corr = np.einsum("rcyx,oyx->rco", padded.astype(np.int64), tapsum)
    return (np.ascontiguousarray(pattern.reshape(-1), dtype=np.int64),
            np.ascontiguousarray(corr.reshape(-1, w.shape[0]), dtype=np.int64))


# -- layers ------------------------------------------------------------------------------------

def wbin_conv2d(x: np.ndarray, w: np.ndarray, alpha: np.ndarray, *, stride: int = 1,
                padding: Padding = 0, round_fp16: bool = False, dtype: str = "float32"
                ) -> tuple[np.ndarray, OpCounts]:
    """WeightBinConv: ``conv(x, w) * alpha`` with ±1 ``w`` (out, in, k, k): stages ``conv``
    (one addition per weight per output) and ``scale`` (one multiplication per output)."""
    wa = binary_array("w", w, 4)
    out, conv = ternary_conv2d(x, wa, stride=stride, padding=padding, zero_skip=True,
                               round_fp16=round_fp16, dtype=dtype)
    return _scale(out, alpha, conv.adds, round_fp16)


def wbin_linear(x: np.ndarray, w: np.ndarray, alpha: np.ndarray, *, round_fp16: bool = False,
                dtype: str = "float32") -> tuple[np.ndarray, OpCounts]:
    """WeightBinConv fully connected layer: x (N, in), ±1 w (out, in), alpha (out)."""
    wa = binary_array("w", w, 2)
    out, counts = wbin_conv2d(_as_image(x), np.ascontiguousarray(wa[:, :, None, None]), alpha,
                              round_fp16=round_fp16, dtype=dtype)
    return out.reshape(out.shape[:2]), counts


def fbin_conv2d(x: np.ndarray, w: np.ndarray, alpha: np.ndarray, *, stride: int = 1,
                padding: Padding = 0, round_fp16: bool = False, dtype: str = "float32"
                ) -> tuple[np.ndarray, OpCounts]:
    """FullBinConv: ``(dot(sign x, w) * alpha') * K'`` (docs/binary-networks.md) with ±1 ``w``
    (out, in, k, k), ``alpha`` = alpha' (out) and ``K'`` the box sum of ``sum_c |x|``: builds an
    :class:`XnorConvPlan` and runs it."""
    xc = as_compute(ck.float_array("x", x, 4), ck.compute_dtype(dtype), round_fp16)
    plan = prepare_xnor_conv(w, xc.shape[1:], stride=stride, padding=padding)
    return plan.run(xc, alpha, round_fp16=round_fp16, dtype=dtype)


def fbin_linear(x: np.ndarray, w: np.ndarray, alpha: np.ndarray, *, round_fp16: bool = False,
                dtype: str = "float32") -> tuple[np.ndarray, OpCounts]:
    """FullBinConv fully connected layer: x (N, in), ±1 w (out, in), alpha = alpha' (out);
    ``K' = sum |x|`` per sample. Stages ``k_sum``, ``xnor``, ``scale``."""
    wa = binary_array("w", w, 2)
    out, counts = fbin_conv2d(_as_image(x), np.ascontiguousarray(wa[:, :, None, None]), alpha,
                              round_fp16=round_fp16, dtype=dtype)
    return out.reshape(out.shape[:2]), counts


def _scale(out: np.ndarray, alpha: object, adds: int, round_fp16: bool
           ) -> tuple[np.ndarray, OpCounts]:
    n, o = out.shape[:2]
    a = as_compute(ck.vector("alpha", alpha, o), out.dtype.type, round_fp16)
    muls = scale_channels(out.reshape(n, o, -1), a)
    return out, OpCounts.of_stages([("conv", OpCounts(adds=int(adds))),
                                    ("scale", OpCounts(muls=int(muls)))])


def _as_image(x: object) -> np.ndarray:
    xa = ck.float_array("x", x, 2)
    return xa.reshape(xa.shape[0], xa.shape[1], 1, 1)
