"""Tracing the binary layers of :mod:`accelsim.reference.binary_models` (called by
:mod:`accelsim.reference.trace`).

* A BatchNorm in front of a binary layer is traced as a ``depthwise`` 1x1 layer with a bias
  (``variant`` ``fp``): at inference it is ``x * scale_c + shift_c``, one multiply-accumulate per
  element (:func:`accelsim.workload.build.fp_layer`).
* WeightBinConv / FullBinConv layers become :func:`accelsim.workload.binary.wbin_layer` /
  :func:`~accelsim.workload.binary.fbin_layer`, with ``unique_kernels`` counted from the sign of
  the weights (:func:`accelsim.reference.binary.unique_kernels`).

:func:`binary_layer_arrays` exports them for the kernels (contract in its docstring).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from accelsim.reference.binary import (
    BINARY_MODULES,
    FullBinConv2d,
    FullBinLinear,
    WeightBinConv2d,
    WeightBinLinear,
    unique_kernels,
)
from accelsim.workload.binary import fbin_layer, wbin_layer
from accelsim.workload.build import fp_layer
from accelsim.workload.schema import Layer, Shape

BATCHNORMS = (nn.BatchNorm2d, nn.BatchNorm1d)
#: Module types of the binary networks that are one traced layer each.
BINARY_COUNTED = BINARY_MODULES + BATCHNORMS


def trace_binary_layer(name: str, mod: nn.Module, in_shape: tuple[int, ...],
                       out_shape: tuple[int, ...], inputs: tuple[str, ...], fp_bits: int,
                       word_bits: int) -> Layer:
    """The :class:`Layer` of a BatchNorm or binary module given its input and output tensor
    shapes (NCHW, or NC for linear layers). Raises ``TypeError`` for another module type."""
    if isinstance(mod, BATCHNORMS):
        c = in_shape[1]
        h, w = (in_shape[2], in_shape[3]) if len(in_shape) == 4 else (1, 1)
        shape = Shape(in_h=h, in_w=w, in_c=c, out_h=h, out_w=w, out_c=c, groups=c)
        return fp_layer(name, "depthwise", shape, fp_bits=fp_bits, bias=True, inputs=inputs)
    if isinstance(mod, (WeightBinLinear, FullBinLinear)):
        kind = "linear"
        shape = Shape(in_h=1, in_w=1, in_c=in_shape[-1], out_h=1, out_w=1, out_c=out_shape[-1])
    elif isinstance(mod, (WeightBinConv2d, FullBinConv2d)):
        kind = "conv"
        shape = Shape(in_h=in_shape[2], in_w=in_shape[3], in_c=in_shape[1], out_h=out_shape[2],
                      out_w=out_shape[3], out_c=out_shape[1], kernel_h=mod.kernel_size,
                      kernel_w=mod.kernel_size, stride=mod.stride, padding=mod.padding)
    else:
        raise TypeError(f"not a binary layer type: {type(mod).__name__}")
    unique = unique_kernels(mod.sign_weight().numpy())
    if isinstance(mod, (WeightBinConv2d, WeightBinLinear)):
        return wbin_layer(name, kind, shape, unique_kernels=unique, fp_bits=fp_bits,
                          inputs=inputs)
    return fbin_layer(name, kind, shape, unique_kernels=unique, word_bits=word_bits,
                      fp_bits=fp_bits, inputs=inputs)


def binary_layer_arrays(module: nn.Module) -> dict[str, Any]:
    """A BatchNorm's or binary layer's parameters as numpy arrays (the kernels' input).

    Keys by ``kind``: ``affine`` (``scale``, ``shift`` float32 ``[C]``: the BatchNorm in eval
    mode, ``y = x * scale + shift`` per channel, ``scale = (1 / sqrt(running_var + eps)) *
    weight``, ``shift = bias - running_mean * scale``, in float32 as PyTorch computes them);
    ``wbin_conv`` / ``wbin_linear`` (``w`` int8 ±1 ``[out, in, k, k]`` / ``[out, in]``,
    ``alpha`` float32 ``[out]``; conv: ``stride``, ``padding``); ``fbin_conv`` / ``fbin_linear``
    (``w``, ``alpha`` = alpha' as the module's forward uses it; conv: ``stride``,
    ``padding``, ``kernel``). Semantics: docs/binary-networks.md. Raises ``TypeError`` for
    another module type.
    """
    if isinstance(module, BATCHNORMS):
        assert module.running_var is not None and module.running_mean is not None
        with torch.no_grad():
            scale = (1.0 / torch.sqrt(module.running_var + module.eps)) * module.weight
            shift = module.bias - module.running_mean * scale
        return {"kind": "affine", "scale": _f32(scale), "shift": _f32(shift)}
    if not isinstance(module, BINARY_MODULES):
        raise TypeError(f"not a binary layer type: {type(module).__name__}")
    with torch.no_grad():
        alpha = _f32(module.scales())
    full = isinstance(module, (FullBinConv2d, FullBinLinear))
    if isinstance(module, (WeightBinLinear, FullBinLinear)):
        return {"kind": "fbin_linear" if full else "wbin_linear",
                "w": module.sign_weight().numpy(), "alpha": alpha}
    out = {"kind": "fbin_conv" if full else "wbin_conv", "w": module.sign_weight().numpy(),
           "alpha": alpha, "stride": module.stride, "padding": module.padding}
    if full:
        out["kernel"] = module.kernel_size
    return out


def describe_binary(spec: Any) -> str:
    """The variant part of a trace's description for a binary-family spec."""
    kinds = {"baseline": "all layers fp", "wbin": "WeightBinConv layers",
             "fbin": "FullBinConv layers", "hbn": "hybrid: FullBinConv by default"}
    text = kinds[spec.variant]
    if spec.variant != "baseline":
        text += (f", first layer fp, last layer {'binary' if spec.binary_last else 'fp'}, "
                 f"{spec.word_bits}-bit words")
        for kind in ("wbin", "fbin", "fp"):
            names = [n for n, k in spec.binarize if k == kind]
            if names:
                text += f"; {kind}: {', '.join(names)}"
    return text


def _f32(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32, copy=True)
