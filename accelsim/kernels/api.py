"""Checked wrappers around the numba kernels: validate, allocate, run, count.

Every function takes numpy arrays in PyTorch layouts (``x``: (N, C, H, W); conv weights:
(out, in / groups, kh, kw); linear weights: (out, in)), checks dtypes, shapes and contiguity
(raising :class:`accelsim.errors.InputError` naming the argument and why), and returns
``(output, OpCounts)``. The counts are accumulated by the kernels as they perform each addition,
multiplication and multiply-accumulate; composite layers also report them per workload stage
(``OpCounts.stages``, named like the stages of :mod:`accelsim.workload.build`).

Precision: ``dtype="float32"`` (default) computes and accumulates in float32, ``"float64"`` in
float64 (the verification mode). ``round_fp16=True`` first rounds the activations and every
full-precision parameter to the nearest fp16 value (numba has no CPU fp16 arithmetic, numba
issue #4402). Zero-skipping (``zero_skip=True``) performs one addition per non-zero ternary
weight; the dense datapath performs one per weight, zeros included. Padded positions are treated
like any other input: their terms are performed (and counted), as the workload traces assume.
See docs/kernels.md for the conventions and the rounding-error bounds.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from accelsim.kernels import _checks as ck
from accelsim.kernels._prep import as_compute, csr_signed, geometry, with_negation
from accelsim.kernels._strassen import wc_dense, wc_skip
from accelsim.kernels._ternary import add_bias, fp_conv, scale_channels
from accelsim.kernels.config import TILE_PIXELS
from accelsim.kernels.plan import prepare_ternary_conv

Padding = int | tuple[int, int, int, int]


@dataclass(frozen=True)
class OpCounts:
    """Operations a kernel performed: additions (subtractions included), multiplications and
    multiply-accumulates; for binary dot products, ``xnor`` bit operations and the ``words``
    (64-bit xor-popcount-accumulate word operations) that performed them. ``stages`` breaks a
    composite layer down by workload stage name."""

    adds: int = 0
    muls: int = 0
    macs: int = 0
    stages: tuple[tuple[str, OpCounts], ...] = ()
    xnor: int = 0
    words: int = 0

    @classmethod
    def of_stages(cls, named: Sequence[tuple[str, OpCounts]]) -> OpCounts:
        """Totals of ``named`` stage counts, keeping the breakdown."""
        return cls(adds=sum(c.adds for _, c in named), muls=sum(c.muls for _, c in named),
                   macs=sum(c.macs for _, c in named), stages=tuple(named),
                   xnor=sum(c.xnor for _, c in named), words=sum(c.words for _, c in named))

    def stage(self, name: str) -> OpCounts:
        """The counts of stage ``name`` (KeyError if absent)."""
        for stage_name, counts in self.stages:
            if stage_name == name:
                return counts
        raise KeyError(name)

    def of_unit(self, unit: str) -> int:
        """Count for a workload op class: ``"add"``, ``"mul"``, ``"mac"`` or ``"xnor"`` (bit
        operations)."""
        return {"add": self.adds, "mul": self.muls, "mac": self.macs, "xnor": self.xnor}[unit]


@dataclass(frozen=True, eq=False)
class FpConv:
    """A full-precision convolution: weights (out, in/groups, kh, kw), optional bias (out)."""

    w: np.ndarray
    bias: np.ndarray | None = None
    stride: int = 1
    padding: Padding = 0
    groups: int = 1


@dataclass(frozen=True, eq=False)
class StrassenConv:
    """A strassenified convolution (see docs/kernels.md).

    ``wb``: ternary (r, in/groups, kb_h, kb_w), applied with stride ``stride`` (= patch x the
    layer's stride) and padding (top, left, bottom, right); ``a``: ã (r); ``wc``: ternary
    (r, c_rem, patch, patch) in ConvTranspose2d layout; ``bias``: (c_rem) or None. The output is
    ``bias + wc_scale * convT(a * (wb_scale * conv(x, wb)), wc)`` cropped to ``out_h x out_w``
    (``None``: the full ``patch x`` hidden size).
    """

    wb: np.ndarray
    a: np.ndarray
    wc: np.ndarray
    bias: np.ndarray | None = None
    wb_scale: float = 1.0
    wc_scale: float = 1.0
    stride: int = 1
    padding: Padding = 0
    groups: int = 1
    patch: int = 1
    out_h: int | None = None
    out_w: int | None = None


# -- primitives --------------------------------------------------------------------------------

def ternary_conv2d(x: np.ndarray, w: np.ndarray, *, stride: int = 1, padding: Padding = 0,
                   groups: int = 1, zero_skip: bool = True, round_fp16: bool = False,
                   dtype: str = "float32") -> tuple[np.ndarray, OpCounts]:
    """Ternary convolution with additions and subtractions only: (N, out, out_h, out_w), adds.

    Raises InputError on a non-float or non-contiguous ``x``, a non-ternary ``w`` or
    inconsistent shapes, strides, paddings or groups.
    """
    xc = _input(x, dtype, round_fp16)
    plan = prepare_ternary_conv(w, xc.shape[1:], stride=stride, padding=padding, groups=groups,
                                zero_skip=zero_skip)
    out, adds = plan.run_prepared(xc)
    return out, OpCounts(adds=adds)


def fp_conv2d(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None, *, stride: int = 1,
              padding: Padding = 0, groups: int = 1, round_fp16: bool = False,
              dtype: str = "float32") -> tuple[np.ndarray, OpCounts]:
    """Full-precision convolution by multiply-accumulate, then one bias add per output.

    Stages ``conv`` (MACs) and ``bias`` (adds, only when ``bias`` is given). Raises InputError.
    """
    return _fp_conv(x, FpConv(w, bias, stride, padding, groups), dtype, round_fp16, "conv",
                    "bias")


def ternary_linear(x: np.ndarray, w: np.ndarray, *, zero_skip: bool = True,
                   round_fp16: bool = False, dtype: str = "float32") -> tuple[np.ndarray, OpCounts]:
    """Ternary fully connected layer: x (N, in), w (out, in) -> (N, out), adds."""
    out, counts = ternary_conv2d(_linear_x(x), _linear_w(w), zero_skip=zero_skip,
                                 round_fp16=round_fp16, dtype=dtype)
    return out.reshape(out.shape[:2]), counts


def fp_linear(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None, *,
              round_fp16: bool = False, dtype: str = "float32") -> tuple[np.ndarray, OpCounts]:
    """Full-precision fully connected layer: stages ``conv`` (MACs) and ``bias`` (adds)."""
    if not isinstance(w, np.ndarray) or w.ndim != 2:
        ck.fail("w", getattr(w, "shape", type(w).__name__), "must be a 2-D (out, in) array")
    out, counts = fp_conv2d(_linear_x(x), np.ascontiguousarray(w[:, :, None, None]), bias,
                            round_fp16=round_fp16, dtype=dtype)
    return out.reshape(out.shape[:2]), counts


# -- composite layers --------------------------------------------------------------------------

def strassen_conv2d(x: np.ndarray, st: StrassenConv, *, zero_skip: bool = True,
                    round_fp16: bool = False, dtype: str = "float32"
                    ) -> tuple[np.ndarray, OpCounts]:
    """A strassenified convolution: W_b -> ã -> W_c -> bias, (N, c_rem, out_h, out_w).

    ``wb_scale * wc_scale`` is folded into ã once, before the counted ã loop (a per-layer
    constant, not an operation per inference). Stages ``wb`` and ``wc`` (adds), ``a_mul`` (muls),
    ``st_bias`` (adds, when a bias is given). Raises InputError.
    """
    ctype = ck.compute_dtype(dtype)
    xc = _input(x, dtype, round_fp16)
    plan = prepare_ternary_conv(st.wb, xc.shape[1:], stride=st.stride, padding=st.padding,
                                groups=st.groups, zero_skip=zero_skip, wfield="wb")
    r = plan.n_out
    a = as_compute(ck.vector("a", st.a, r), ctype, round_fp16)
    wc = ck.ternary_array("wc", st.wc, 4)
    patch = ck.positive_int("patch", st.patch)
    if wc.shape[0] != r or wc.shape[2:] != (patch, patch):
        ck.fail("wc", f"shape {wc.shape}", f"must be (r = {r}, c_rem, patch = {patch}, {patch})")
    c_rem = wc.shape[1]
    bias = None if st.bias is None else as_compute(ck.vector("bias", st.bias, c_rem), ctype,
                                                   round_fp16)
    scales = [ck.scalar(name, v) for name, v in (("wb_scale", st.wb_scale),
                                                 ("wc_scale", st.wc_scale))]
    hidden, wb_adds = plan.run_prepared(xc)
    n, _, hh, hw = hidden.shape
    out_h = hh * patch if st.out_h is None else ck.positive_int("out_h", st.out_h)
    out_w = hw * patch if st.out_w is None else ck.positive_int("out_w", st.out_w)
    if out_h > hh * patch or out_w > hw * patch:
        ck.fail("out_h/out_w", (out_h, out_w), f"W_b gives a {hh} x {hw} hidden map: at most "
                f"{hh * patch} x {hw * patch} outputs with patch {patch}")
    sc = as_compute(np.array(scales), ctype, round_fp16)
    folded: np.ndarray = np.ascontiguousarray((a * sc[0]) * sc[1], dtype=ctype)  # ã' = ã s_b s_c
    h = hidden.reshape(n, r, hh * hw)
    muls = scale_channels(h, folded)
    out = np.zeros((n, c_rem, out_h * out_w), dtype=ctype)
    acc: np.ndarray = np.zeros(hw, dtype=ctype)
    wct = np.ascontiguousarray(wc.transpose(2, 3, 1, 0))              # (p, p, c_rem, r)
    if zero_skip:
        ptr, offs = csr_signed(wct.reshape(-1, r), np.arange(r, dtype=np.int64) * (hh * hw),
                               np.zeros(patch * patch * c_rem, dtype=np.int64), r * hh * hw)
        wc_adds = wc_skip(with_negation(h.reshape(n, -1)), hh, hw, patch, out_h, out_w, ptr,
                          offs, acc, out)
    else:
        wc_adds = wc_dense(h.reshape(n, -1), hh, hw, patch, out_h, out_w, wct, acc, out)
    stages = [("wb", OpCounts(adds=wb_adds)), ("a_mul", OpCounts(muls=muls)),
              ("wc", OpCounts(adds=wc_adds))]
    if bias is not None:
        stages.append(("st_bias", OpCounts(adds=add_bias(out, bias))))
    return out.reshape(n, c_rem, out_h, out_w), OpCounts.of_stages(stages)


def hybrid_conv2d(x: np.ndarray, fp: FpConv, st: StrassenConv, *, zero_skip: bool = True,
                  round_fp16: bool = False, dtype: str = "float32"
                  ) -> tuple[np.ndarray, OpCounts]:
    """A hybrid filter bank layer: fp channels (MACs + bias) first, then strassen channels.

    Stages ``fp``, ``fp_bias``, ``wb``, ``a_mul``, ``wc``, ``st_bias``. Raises InputError when
    the two branches disagree on the output size.
    """
    fp_out, fp_counts = _fp_conv(x, fp, dtype, round_fp16, "fp", "fp_bias")
    st_out, st_counts = strassen_conv2d(x, st, zero_skip=zero_skip, round_fp16=round_fp16,
                                        dtype=dtype)
    if fp_out.shape[2:] != st_out.shape[2:]:
        ck.fail("st.out_h/out_w", st_out.shape[2:], f"must equal the fp branch's output size "
                f"{fp_out.shape[2:]}")
    out = np.concatenate([fp_out, st_out], axis=1)
    return out, OpCounts.of_stages(fp_counts.stages + st_counts.stages)


def strassen_linear(x: np.ndarray, wb: np.ndarray, a: np.ndarray, wc: np.ndarray,
                    bias: np.ndarray | None = None, *, wb_scale: float = 1.0,
                    wc_scale: float = 1.0, zero_skip: bool = True, round_fp16: bool = False,
                    dtype: str = "float32") -> tuple[np.ndarray, OpCounts]:
    """A strassenified fully connected layer: wb (r, in), a (r), wc (out, r), bias (out).

    Stages ``wb``, ``a_mul``, ``wc``, ``st_bias`` as :func:`strassen_conv2d` (patch 1).
    """
    wc2 = ck.ternary_array("wc", wc, 2)
    st = StrassenConv(wb=_linear_w(wb, "wb"), a=a,
                      wc=np.ascontiguousarray(wc2.T[:, :, None, None]), bias=bias,
                      wb_scale=wb_scale, wc_scale=wc_scale)
    out, counts = strassen_conv2d(_linear_x(x), st, zero_skip=zero_skip, round_fp16=round_fp16,
                                  dtype=dtype)
    return out.reshape(out.shape[:2]), counts


# -- internals ---------------------------------------------------------------------------------

def _input(x: object, dtype: str, round_fp16: bool) -> np.ndarray:
    ctype = ck.compute_dtype(dtype)
    return as_compute(ck.float_array("x", x, 4), ctype, round_fp16)


def _fp_conv(x: object, fp: FpConv, dtype: str, round_fp16: bool, conv_name: str,
             bias_name: str) -> tuple[np.ndarray, OpCounts]:
    ctype = ck.compute_dtype(dtype)
    xc = _input(x, dtype, round_fp16)
    w = as_compute(ck.float_array("w", fp.w, 4), ctype, round_fp16)
    stride = ck.positive_int("stride", fp.stride)
    groups = ck.positive_int("groups", fp.groups)
    pad = ck.padding4("padding", fp.padding)
    ck.conv_geometry(xc.shape[1:], w.shape, groups, stride, pad, "w")
    n = xc.shape[0]
    n_out, cpg, kh, kw = w.shape
    bias = None if fp.bias is None else as_compute(ck.vector("bias", fp.bias, n_out), ctype,
                                                   round_fp16)
    geo = geometry(xc.shape[1:], kh, kw, stride, pad)
    out: np.ndarray = np.zeros((n, n_out, geo.run_h * geo.run_w), dtype=ctype)
    macs = fp_conv(geo.phase(xc), geo.pitch, geo.run_h, geo.run_w, w.reshape(n_out, -1),
                   geo.offsets(cpg, kh, kw), geo.group_bases(n_out, groups), TILE_PIXELS, out)
    stages = [(conv_name, OpCounts(macs=int(macs)))]
    if bias is not None:
        stages.append((bias_name, OpCounts(adds=int(add_bias(out, bias)))))
    return out.reshape(n, n_out, geo.out_h, geo.out_w), OpCounts.of_stages(stages)


def _linear_x(x: object) -> np.ndarray:
    xa = ck.float_array("x", x, 2)
    return xa.reshape(xa.shape[0], xa.shape[1], 1, 1)


def _linear_w(w: object, wfield: str = "w") -> np.ndarray:
    wa = ck.ternary_array(wfield, w, 2)
    return wa.reshape(wa.shape[0], wa.shape[1], 1, 1)
