"""Run one reference layer on the kernels, from its :func:`layer_arrays` dict (no torch here).

The dict contract is :func:`accelsim.reference.trace.layer_arrays`'s. Counts come back per
workload stage (``conv``/``bias`` for fp layers and BatchNorms, ``conv`` for TWN layers, ``wb``/
``a_mul``/``wc``/``st_bias`` for strassenified layers, plus ``fp``/``fp_bias`` for hybrid ones,
``conv``/``scale`` for WeightBinConv and ``k_sum``/``k_box``/``xnor``/``scale`` for FullBinConv
layers), so that they can be compared with the trace stage by stage. Binary layers have no zero
weights: ``zero_skip`` does not change them.

TWN layers: the kernel performs (and counts) the ternary sum only. The TWN scale and the bias
are applied afterwards, uncounted, matching the accounting of Gope et al. (a TWN layer's scale
and its ternary bias fold into the next layer; the TWN row has no multiplications and no bias
additions) while still reproducing the reference module's output.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from accelsim.errors import InputError, Problem
from accelsim.kernels import (
    FpConv,
    OpCounts,
    StrassenConv,
    fp_conv2d,
    fp_linear,
    hybrid_conv2d,
    strassen_conv2d,
    strassen_linear,
    ternary_conv2d,
    ternary_linear,
)
from accelsim.kernels.binary import (
    fbin_conv2d,
    fbin_linear,
    prepare_xnor_conv,
    wbin_conv2d,
    wbin_linear,
)

KINDS = ("conv", "linear", "ternary_conv", "ternary_linear", "strassen_conv", "strassen_linear",
         "hybrid_conv", "eltwise", "affine", "wbin_conv", "wbin_linear", "fbin_conv",
         "fbin_linear")


def run_layer(arrays: Mapping[str, Any], x: np.ndarray | Sequence[np.ndarray], *,
              zero_skip: bool, dtype: str = "float32") -> tuple[np.ndarray, OpCounts]:
    """The layer's output for input ``x`` (an eltwise layer takes the sequence of its inputs)
    and the operations the kernels performed, per stage. Raises InputError on a bad dict."""
    kind = arrays.get("kind")
    if kind == "eltwise":
        return eltwise(x)
    assert isinstance(x, np.ndarray)
    if kind == "conv":
        return fp_conv2d(x, arrays["w"], arrays["bias"], stride=arrays["stride"],
                         padding=arrays["padding"], groups=arrays["groups"], dtype=dtype)
    if kind == "linear":
        return fp_linear(x, arrays["w"], arrays["bias"], dtype=dtype)
    if kind == "ternary_conv":
        out, counts = ternary_conv2d(x, arrays["w"], stride=arrays["stride"],
                                     padding=arrays["padding"], groups=arrays["groups"],
                                     zero_skip=zero_skip, dtype=dtype)
        return _twn_epilogue(out, arrays), OpCounts.of_stages([("conv", counts)])
    if kind == "ternary_linear":
        out, counts = ternary_linear(x, arrays["w"], zero_skip=zero_skip, dtype=dtype)
        return _twn_epilogue(out, arrays), OpCounts.of_stages([("conv", counts)])
    if kind == "strassen_conv":
        return strassen_conv2d(x, strassen_conv(arrays), zero_skip=zero_skip, dtype=dtype)
    if kind == "strassen_linear":
        return strassen_linear(x, arrays["wb"], arrays["a"], arrays["wc"], arrays["bias"],
                               wb_scale=arrays["wb_scale"], wc_scale=arrays["wc_scale"],
                               zero_skip=zero_skip, dtype=dtype)
    if kind in ("affine", "wbin_conv", "wbin_linear", "fbin_conv", "fbin_linear"):
        return _binary_layer(arrays, x, dtype)
    if kind == "hybrid_conv":
        fp = arrays["fp"]
        return hybrid_conv2d(x, FpConv(fp["w"], fp["bias"], fp["stride"], fp["padding"],
                                       fp["groups"]),
                             strassen_conv(arrays["st"]), zero_skip=zero_skip, dtype=dtype)
    raise InputError(Problem("kind", kind, f"must be one of {', '.join(KINDS)}"))


def _binary_layer(arrays: Mapping[str, Any], x: np.ndarray, dtype: str
                  ) -> tuple[np.ndarray, OpCounts]:
    kind = arrays["kind"]
    if kind == "affine":   # an inference-mode BatchNorm: a depthwise 1x1 conv with a bias
        scale = arrays["scale"]
        x4 = np.ascontiguousarray(x.reshape(x.shape[0], x.shape[1], -1, 1))
        out, counts = fp_conv2d(x4, np.ascontiguousarray(scale.reshape(-1, 1, 1, 1)),
                                arrays["shift"], groups=scale.shape[0], dtype=dtype)
        return out.reshape(x.shape), counts
    if kind == "wbin_conv":
        return wbin_conv2d(x, arrays["w"], arrays["alpha"], stride=arrays["stride"],
                           padding=arrays["padding"], dtype=dtype)
    if kind == "wbin_linear":
        return wbin_linear(x, arrays["w"], arrays["alpha"], dtype=dtype)
    if kind == "fbin_conv":
        return fbin_conv2d(x, arrays["w"], arrays["alpha"], stride=arrays["stride"],
                           padding=arrays["padding"], dtype=dtype)
    return fbin_linear(x, arrays["w"], arrays["alpha"], dtype=dtype)


def binary_dots(arrays: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    """The integer ±1 dot products of a ``fbin_conv`` / ``fbin_linear`` layer (before the
    scaling), from the bit-packed xnor-popcount kernel: int32, shaped like the output."""
    if arrays["kind"] == "fbin_linear":
        w = np.ascontiguousarray(arrays["w"][:, :, None, None])
        x4 = np.ascontiguousarray(x.reshape(x.shape[0], x.shape[1], 1, 1))
        dots, _ = prepare_xnor_conv(w, x4.shape[1:]).dots(x4)
        return dots.reshape(dots.shape[:2])
    plan = prepare_xnor_conv(arrays["w"], x.shape[1:], stride=arrays["stride"],
                             padding=arrays["padding"])
    return plan.dots(x)[0]


def strassen_conv(d: Mapping[str, Any]) -> StrassenConv:
    """A :class:`StrassenConv` from a ``strassen_conv`` dict."""
    return StrassenConv(wb=d["wb"], a=d["a"], wc=d["wc"], bias=d["bias"],
                        wb_scale=d["wb_scale"], wc_scale=d["wc_scale"], stride=d["stride"],
                        padding=tuple(d["padding"]), groups=d["groups"], patch=d["patch"],
                        out_h=d["out_h"], out_w=d["out_w"])


def eltwise(inputs: Sequence[np.ndarray] | np.ndarray) -> tuple[np.ndarray, OpCounts]:
    """Elementwise sum of two or more same-shape tensors: one addition per element per extra
    operand (summed left to right, as ``a + b + ...``)."""
    if isinstance(inputs, np.ndarray) or len(inputs) < 2:
        raise InputError(Problem("inputs", "a single tensor", "an eltwise layer adds two or "
                                 "more tensors"))
    out = np.array(inputs[0], dtype=np.float32, copy=True)
    adds = 0
    for other in inputs[1:]:
        if other.shape != out.shape:
            raise InputError(Problem("inputs", f"shapes {out.shape} and {other.shape}",
                                     "must match"))
        out += other
        adds += out.size
    return out, OpCounts.of_stages([("add", OpCounts(adds=adds))])


def _twn_epilogue(out: np.ndarray, arrays: Mapping[str, Any]) -> np.ndarray:
    """``scale * out + bias`` (uncounted, see the module docstring)."""
    scale = np.asarray(arrays["scale"], dtype=out.dtype)     # per channel when BN was folded
    y = out * (scale.reshape((1, -1) + (1,) * (out.ndim - 2)) if scale.ndim else scale)
    bias = arrays.get("bias")
    if bias is not None:
        y += bias.astype(out.dtype).reshape((1, -1) + (1,) * (out.ndim - 2))
    return y
