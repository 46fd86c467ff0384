"""Prepared convolutions: the per-weight work (term lists) done once, the per-input work per call.

A :class:`TernaryConvPlan` holds, for one ternary weight tensor and one input size, the term
offsets the kernels read (for zero-skipping: the CSR lists of the ±1 weights of every output
channel). Building it is weight preprocessing, like a ternary accelerator loading its weights;
:meth:`TernaryConvPlan.run` is the per-inference work (pad, split into stride phases, negate,
accumulate). :func:`accelsim.kernels.api.ternary_conv2d` builds and runs a plan in one call.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.kernels import _checks as ck
from accelsim.kernels._prep import Geometry, as_compute, csr_signed, geometry, with_negation
from accelsim.kernels._ternary import ternary_conv_dense, ternary_conv_skip
from accelsim.kernels.config import TILE_PIXELS


@dataclass(frozen=True, eq=False)
class TernaryConvPlan:
    """A ternary convolution ready to run on inputs of shape (N, *geometry.in_shape).

    Zero-skipping plans hold ``ptr``/``offs`` (CSR lists into ``[x, -x]``); dense plans hold the
    int8 weights ``w2`` (out, K), the term offsets ``offs`` and the group bases ``bases``.
    """

    geometry: Geometry
    n_out: int
    zero_skip: bool
    ptr: np.ndarray
    offs: np.ndarray
    w2: np.ndarray
    bases: np.ndarray

    def run(self, x: np.ndarray, *, round_fp16: bool = False, dtype: str = "float32"
            ) -> tuple[np.ndarray, int]:
        """Convolve ``x`` (N, C, H, W): returns (N, out, out_h, out_w) and the additions.

        Raises InputError when ``x`` is not a finite float array of the planned shape.
        """
        ctype = ck.compute_dtype(dtype)
        xa = ck.float_array("x", x, 4)
        if xa.shape[1:] != self.geometry.in_shape:
            ck.fail("x", f"shape {xa.shape}", f"the plan is for inputs (N, "
                    f"{', '.join(map(str, self.geometry.in_shape))})")
        return self.run_prepared(as_compute(xa, ctype, round_fp16))

    def run_prepared(self, xc: np.ndarray) -> tuple[np.ndarray, int]:
        """:meth:`run` on an already checked input in its compute type (float32/float64)."""
        g = self.geometry
        n = xc.shape[0]
        out = np.zeros((n, self.n_out, g.run_h * g.run_w), dtype=xc.dtype)
        xq = g.phase(xc)
        if self.zero_skip:
            adds = ternary_conv_skip(with_negation(xq), g.pitch, g.run_h, g.run_w, self.ptr,
                                     self.offs, TILE_PIXELS, out)
        else:
            adds = ternary_conv_dense(xq, g.pitch, g.run_h, g.run_w, self.w2, self.offs,
                                      self.bases, TILE_PIXELS, out)
        return out.reshape(n, self.n_out, g.out_h, g.out_w), int(adds)


def prepare_ternary_conv(w: np.ndarray, in_shape: tuple[int, int, int], *, stride: int = 1,
                         padding: int | tuple[int, int, int, int] = 0, groups: int = 1,
                         zero_skip: bool = True, wfield: str = "w") -> TernaryConvPlan:
    """Plan a ternary convolution of int weights ``w`` (out, in/groups, kh, kw) in {-1, 0, 1}
    over inputs of shape (N, *in_shape). Raises InputError on bad weights or geometry."""
    wa = ck.ternary_array(wfield, w, 4)
    stride_i = ck.positive_int("stride", stride)
    groups_i = ck.positive_int("groups", groups)
    pad = ck.padding4("padding", padding)
    if len(in_shape) != 3 or any(int(v) < 1 for v in in_shape):
        ck.fail("in_shape", in_shape, "must be (channels, height, width), each >= 1")
    ck.conv_geometry(tuple(int(v) for v in in_shape), wa.shape, groups_i, stride_i, pad, wfield)
    n_out, cpg, kh, kw = wa.shape
    c_in, h_in, w_in = (int(v) for v in in_shape)
    geo = geometry((c_in, h_in, w_in), kh, kw, stride_i, pad)
    offs = geo.offsets(cpg, kh, kw)
    bases = geo.group_bases(n_out, groups_i)
    w2 = np.ascontiguousarray(wa.reshape(n_out, -1))
    if zero_skip:
        ptr, term_offs = csr_signed(w2, offs, bases, geo.image_size)
        return TernaryConvPlan(geo, n_out, True, ptr, term_offs, w2, bases)
    empty = np.zeros(0, dtype=np.int64)
    return TernaryConvPlan(geo, n_out, False, empty, offs, w2, bases)
