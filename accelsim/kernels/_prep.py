"""Numpy preparation of kernel arguments: padding, stride phases, term offsets, CSR lists.

Everything here moves or indexes data; no arithmetic on activations except the exact negation
in :func:`with_negation`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def as_compute(a: np.ndarray, ctype: type, round_fp16: bool) -> np.ndarray:
    """``a`` in the compute type; rounded to the nearest fp16 value first if ``round_fp16``.

    float16 inputs are widened exactly. Rounding to fp16 is the only half-precision step: numba
    cannot do fp16 arithmetic on the CPU (numba issue #4402), so the kernels compute in float32
    (or float64) on fp16-representable inputs.
    """
    if round_fp16:
        a = a.astype(np.float16)
    return np.ascontiguousarray(a, dtype=ctype)


@dataclass(frozen=True)
class Geometry:
    """Where a convolution's kernels read and write (see :mod:`._ternary`).

    The input (C, H, W) is zero-padded by ``pad`` = (top, left, bottom, right) and split into
    ``stride x stride`` phases of ``hq x wq`` pixels. ``out_h x out_w`` is the layer's output
    size; ``run_h x run_w`` the one the kernels iterate over (a convolution whose per-phase kernel
    is 1x1 and whose output rows are complete is run as one long row: ``run_h = 1``), and
    ``pitch`` the row pitch they use.
    """

    in_shape: tuple[int, int, int]
    stride: int
    pad: tuple[int, int, int, int]
    hq: int
    wq: int
    out_h: int
    out_w: int
    run_h: int
    run_w: int

    @property
    def pitch(self) -> int:
        return self.wq

    @property
    def image_size(self) -> int:
        """Elements of one phased image (without the negated half)."""
        return self.in_shape[0] * self.stride ** 2 * self.hq * self.wq

    def offsets(self, c_per_group: int, kh: int, kw: int) -> np.ndarray:
        """Offsets of a filter's terms in its (c, dy, dx) order, relative to its group."""
        s, plane = self.stride, self.hq * self.wq
        c = np.arange(c_per_group, dtype=np.int64)[:, None, None] * (s * s * plane)
        dy = np.arange(kh, dtype=np.int64)[None, :, None]
        dx = np.arange(kw, dtype=np.int64)[None, None, :]
        phase = ((dy % s) * s + dx % s) * plane
        return (c + phase + (dy // s) * self.wq + dx // s).reshape(-1)

    def group_bases(self, n_out: int, groups: int) -> np.ndarray:
        """Offset of the first input channel of output channel ``o``'s group, for every ``o``."""
        group = np.arange(n_out, dtype=np.int64) // (n_out // groups)
        return group * (self.image_size // groups)

    def phase(self, x: np.ndarray) -> np.ndarray:
        """``x`` (N, C, H, W) zero-padded and split into phases: (N, image_size)."""
        n, c, h, w = x.shape
        top, left = self.pad[0], self.pad[1]
        s = self.stride
        if self.pad == (0, 0, 0, 0) and s == 1:
            xq = x
        else:
            xpad = np.zeros((n, c, self.hq * s, self.wq * s), dtype=x.dtype)
            xpad[:, :, top:top + h, left:left + w] = x
            xq = xpad.reshape(n, c, self.hq, s, self.wq, s).transpose(0, 1, 3, 5, 2, 4)
        return np.ascontiguousarray(xq).reshape(n, self.image_size)


def geometry(in_shape: tuple[int, int, int], kh: int, kw: int, stride: int,
             pad: tuple[int, int, int, int]) -> Geometry:
    """The :class:`Geometry` of a (validated) convolution of a (C, H, W) input."""
    _, h, w = in_shape
    hp, wp = h + pad[0] + pad[2], w + pad[1] + pad[3]
    out_h, out_w = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    hq, wq = -(-hp // stride), -(-wp // stride)
    one_row = kh <= stride and kw <= stride and out_w == wq
    return Geometry(in_shape=(in_shape[0], h, w), stride=stride, pad=pad, hq=hq, wq=wq,
                    out_h=out_h, out_w=out_w, run_h=1 if one_row else out_h,
                    run_w=out_h * out_w if one_row else out_w)


def with_negation(x: np.ndarray) -> np.ndarray:
    """``[x, -x]`` along the last axis (negation is exact): subtractions become additions."""
    return np.ascontiguousarray(np.concatenate([x, -x], axis=-1))


def csr_signed(w: np.ndarray, offsets: np.ndarray, bases: np.ndarray,
               neg_shift: int) -> tuple[np.ndarray, np.ndarray]:
    """One CSR list per row of ``w`` of its non-zero entries' offsets, in column order.

    ``w``: int8 (rows, K); entry ``(i, k)`` sits at ``bases[i] + offsets[k]``, shifted by
    ``neg_shift`` (into the negated half of :func:`with_negation`) when it is -1.
    Returns ``(ptr, offs)``: row ``i``'s offsets are ``offs[ptr[i]:ptr[i + 1]]``.
    """
    rows, cols = np.nonzero(w)
    ptr = np.zeros(w.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=w.shape[0]), out=ptr[1:])
    offs = bases[rows] + offsets[cols] + np.where(w[rows, cols] < 0, neg_shift, 0)
    return ptr, np.ascontiguousarray(offs, dtype=np.int64)
