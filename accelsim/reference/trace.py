"""Trace a reference network into a :class:`~accelsim.workload.Workload`.

:func:`trace` builds the model of a :class:`ModelSpec`, runs one forward pass on a seeded random
input with forward hooks on every counted layer (:func:`iter_layers`), and turns each layer into
stages through :mod:`accelsim.workload.build` (the one definition of what each variant costs),
with zero-skipping counts taken from the actual quantized weights. :func:`layer_arrays` exports
a layer's weights as numpy arrays for the kernels (the contract is in its docstring).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from accelsim import __version__
from accelsim.reference.binary_trace import (
    BINARY_COUNTED,
    binary_layer_arrays,
    describe_binary,
    trace_binary_layer,
)
from accelsim.reference.counted import COUNTED, iter_layers
from accelsim.reference.layers import (
    EltwiseAdd,
    HybridConv2d,
    StrassenConv2d,
    StrassenLinear,
    TernaryConv2d,
    TernaryLinear,
)
from accelsim.reference.models import build_model, input_shape
from accelsim.reference.quant import ternarize
from accelsim.reference.spec import GENERATOR, ModelSpec
from accelsim.workload.build import eltwise_layer, fp_layer, strassen_layer, twn_layer
from accelsim.workload.schema import Layer, Shape, StrassenParams, Workload

__all__ = ["COUNTED", "iter_layers", "layer_arrays", "trace", "trace_layer", "trace_model"]

_LINEAR = (nn.Linear, TernaryLinear, StrassenLinear)


def trace(spec: ModelSpec) -> Workload:
    """The workload of ``spec``'s network: one :class:`Layer` per counted layer, named as by
    :func:`iter_layers`, with provenance recording every spec field. Deterministic: the same
    spec gives a byte-identical :func:`~accelsim.workload.dumps_workload`. Runs with one torch
    intra-op thread (restored afterwards): the tensors are small and a shared machine makes
    multi-threaded torch far slower here.
    Raises :class:`~accelsim.errors.InputError` for a bad spec (e.g. an unknown override)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _trace(spec)
    finally:
        torch.set_num_threads(threads)


def trace_model(spec: ModelSpec, model: nn.Module, provenance: dict[str, Any],
                description: str) -> Workload:
    """:func:`trace` of an already built (e.g. trained) inference-form ``model`` of ``spec``;
    ``provenance`` entries are added to the spec's, ``description`` replaces the default one.
    One torch thread, as :func:`trace`."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _trace(spec, model, provenance, description)
    finally:
        torch.set_num_threads(threads)


def _trace(spec: ModelSpec, model: nn.Module | None = None,
           extra: dict[str, Any] | None = None, description: str | None = None) -> Workload:
    model = build_model(spec) if model is None else model
    named = list(iter_layers(model))
    seen: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
    order: list[str] = []

    def hook_for(name: str):
        def hook(_m: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            seen[name] = (tuple(inputs[0].shape), tuple(output.shape))
            order.append(name)
        return hook

    handles = [mod.register_forward_hook(hook_for(name)) for name, mod in named]
    try:
        gen = torch.Generator().manual_seed(spec.seed)
        x = torch.randn(input_shape(spec), generator=gen)
        with torch.no_grad():
            y = model(x)
    finally:
        for h in handles:
            h.remove()
    if order != [name for name, _ in named]:
        raise RuntimeError(f"execution order {order} differs from module order")
    if tuple(y.shape) != (1, spec.classes) or not bool(torch.isfinite(y).all()):
        raise RuntimeError(f"forward pass produced {tuple(y.shape)} or non-finite values")
    for name, mod in named:
        hw = getattr(mod, "in_hw", None)
        if hw is not None and tuple(hw) != seen[name][0][-2:]:
            raise RuntimeError(f"{name}: built for input {hw}, ran on {seen[name][0][-2:]}")
    fp_bits = 8 * spec.fp_bytes
    inputs_of: dict[str, tuple[str, ...]] = getattr(model, "layer_inputs")  # noqa: B009
    layers = tuple(trace_layer(name, mod, *seen[name], inputs_of[name], fp_bits,
                               spec.word_bits) for name, mod in named)
    provenance = {"generator": GENERATOR, "model": spec.model, "params": spec.to_dict(),
                  "seed": spec.seed, "accelsim_version": __version__,
                  "torch_version": torch.__version__, **(extra or {})}
    return Workload(name=spec.slug(), layers=layers, activation_bits=16, provenance=provenance,
                    description=describe(spec) if description is None else description)


def describe(spec: ModelSpec) -> str:
    """One sentence saying what network a trace is."""
    net = {"mobilenet_v1": "MobileNet-V1", "resnet20": "ResNet-20", "resnet18": "ResNet-18",
           "alexnet": "AlexNet", "squeezenet1_0": "SqueezeNet 1.0"}[spec.model]
    text = (f"{net} width {spec.width:g}, {spec.resolution}x{spec.resolution} input, "
            f"{spec.classes} classes, {spec.variant}")
    if spec.variant in ("wbin", "fbin", "hbn") or spec.model in ("alexnet", "squeezenet1_0"):
        text += f" ({describe_binary(spec)})"
    if spec.variant in ("strassen", "hybrid"):
        fc = spec.fc_hidden if spec.fc_hidden is not None else "= FC input width"
        text += (f" (alpha {spec.alpha:g}, r = {spec.r_factor:g} c_rem, patch {spec.patch}, "
                 f"groups {spec.groups}, FC hidden {fc}")
        text += f", {len(spec.overrides)} per-layer overrides)" if spec.overrides else ")"
    if spec.variant != "twn":
        text += f", {spec.fp_bytes}-byte full-precision values"
    return text + f"; seed {spec.seed}; traced by {GENERATOR}."


def trace_layer(name: str, mod: nn.Module, in_shape: tuple[int, ...],
                out_shape: tuple[int, ...], inputs: tuple[str, ...] = (),
                fp_bits: int = 16, word_bits: int = 64) -> Layer:
    """The :class:`Layer` of one counted module given its input and output tensor shapes
    (NCHW, or NC for linear layers), its producers, the bits of stored fp values and the word
    width of binary word-operation counts. Zero-skip counts come from the module's quantized
    weights. Raises ``TypeError`` for a module type that is not in :data:`COUNTED`."""
    if not isinstance(mod, COUNTED):
        raise TypeError(f"not a traced layer type: {type(mod).__name__}")
    if isinstance(mod, BINARY_COUNTED):
        return trace_binary_layer(name, mod, in_shape, out_shape, inputs, fp_bits, word_bits)
    if isinstance(mod, EltwiseAdd):
        _, c, h, w = out_shape
        return eltwise_layer(name, h, w, c, inputs)
    if isinstance(mod, _LINEAR):
        kind = "linear"
        shape = Shape(in_h=1, in_w=1, in_c=in_shape[-1], out_h=1, out_w=1, out_c=out_shape[-1])
    else:
        _, c_in, h, w = in_shape
        _, c_out, oh, ow = out_shape
        groups = getattr(mod, "groups", 1) if isinstance(mod, (nn.Conv2d, TernaryConv2d)) else 1
        kind = "depthwise" if groups > 1 and groups == c_in else "conv"
        shape = Shape(in_h=h, in_w=w, in_c=c_in, out_h=oh, out_w=ow, out_c=c_out,
                      kernel_h=_int(mod.kernel_size), kernel_w=_int(mod.kernel_size),
                      stride=_int(mod.stride), padding=_int(mod.padding), groups=groups)
    if isinstance(mod, (nn.Conv2d, nn.Linear)):
        return fp_layer(name, kind, shape, fp_bits=fp_bits, bias=mod.bias is not None,
                        inputs=inputs)
    if isinstance(mod, (TernaryConv2d, TernaryLinear)):
        wt = ternarize(mod.weight)[0]
        return twn_layer(name, kind, shape, weight_nnz=_nnz(wt), inputs=inputs,
                         channel_nnz=_row_nnz(wt))
    st = mod.st if isinstance(mod, HybridConv2d) else mod
    params = mod.params if mod.params is not None else _params_of(mod)
    wc = ternarize(st.wc.weight)[0]
    if isinstance(mod, StrassenLinear):  # W_c is (c_rem, r)
        wc_nnz = [[_nnz(wc)]]
        wc_channels = [[[n]] for n in _row_nnz(wc)]
    else:  # W_c is a transposed convolution (r, c_rem, p, p)
        p: int = getattr(st, "patch")  # noqa: B009
        wc_nnz = [[_nnz(wc[:, :, i, j]) for j in range(p)] for i in range(p)]
        per = (wc != 0).sum(dim=0)  # (c_rem, p, p)
        wc_channels = [[[int(per[c, i, j]) for j in range(p)] for i in range(p)]
                       for c in range(per.shape[0])]
    wb = ternarize(st.wb.weight)[0]
    return strassen_layer(name, kind, shape, params, wb_nnz=_nnz(wb), wc_nnz=wc_nnz,
                          fp_bits=fp_bits, inputs=inputs, wb_channel_nnz=_row_nnz(wb),
                          wc_channel_nnz=wc_channels)


def _params_of(mod: nn.Module) -> StrassenParams:
    """StrassenParams of a layer built outside :func:`build_model` (``r_nominal = r``)."""
    st: nn.Module = getattr(mod, "st") if isinstance(mod, HybridConv2d) else mod  # noqa: B009
    c_fp = int(getattr(mod, "c_fp", 0)) if isinstance(mod, HybridConv2d) else 0
    width = getattr(st, "out_features" if isinstance(st, StrassenLinear) else "out_channels")
    out_c = c_fp + int(width)
    hidden = int(getattr(st, "hidden"))  # noqa: B009
    patch = int(getattr(st, "patch", 1))
    groups = int(getattr(st, "groups", 1))
    return StrassenParams(alpha=c_fp / out_c, c_fp=c_fp, c_rem=out_c - c_fp, r=hidden,
                          r_nominal=float(hidden), r_factor=None, patch=patch, groups=groups)


def layer_arrays(module: nn.Module, in_hw: tuple[int, int] | None = None) -> dict[str, Any]:
    """A counted layer's weights and geometry as numpy arrays (the kernels' input contract).

    Keys by ``kind``: ``conv`` (w float32 [out, in/g, kh, kw], bias, stride, padding, groups),
    ``linear`` (w float32 [out, in], bias), ``ternary_conv`` / ``ternary_linear`` (w int8 in
    {-1, 0, 1}, scale: a float, or float32 [out] for a trained layer with a folded BatchNorm,
    bias, and the conv geometry), ``strassen_conv`` (wb int8 [r, in/g, kb, kb],
    wb_scale, a float32 [r], wc int8 [r, c_rem, p, p], wc_scale, bias float32 [c_rem], stride =
    p*s, padding = (top, left, bottom, right) of W_b's input, groups, patch, out_h, out_w),
    ``strassen_linear`` (wb [r, in], wb_scale, a, wc [out, r], wc_scale, bias), ``hybrid_conv``
    ({"fp": conv dict, "st": strassen_conv dict}, outputs concatenated fp first), ``eltwise``.
    Strassen semantics: ``bias + wc_scale * convT(a * (wb_scale * conv(pad(x), wb)), wc)``
    cropped to (out_h, out_w). ``in_hw`` (input height, width) defaults to the size the network
    feeds the layer. Raises ``TypeError`` for an untraced module type and ``ValueError`` when a
    strassen conv's input size is unknown. BatchNorm and binary layers: see
    :func:`accelsim.reference.binary_trace.binary_layer_arrays`.
    """
    if isinstance(module, BINARY_COUNTED):
        return binary_layer_arrays(module)
    if isinstance(module, HybridConv2d):
        hw = in_hw if in_hw is not None else module.in_hw
        return {"kind": "hybrid_conv", "fp": layer_arrays(module.fp),
                "st": layer_arrays(module.st, hw)}
    if isinstance(module, StrassenConv2d):
        hw = in_hw if in_hw is not None else module.in_hw
        if hw is None:
            raise ValueError("input size unknown: pass in_hw=(height, width)")
        wb, wb_scale = ternarize(module.wb.weight)
        wc, wc_scale = ternarize(module.wc.weight)
        out_h, out_w = module.output_size(*hw)
        return {"kind": "strassen_conv", "wb": wb.numpy(), "wb_scale": float(wb_scale),
                "a": _f32(module.a), "wc": wc.numpy(), "wc_scale": float(wc_scale),
                "bias": _f32(module.bias), "stride": module.patch * module.stride,
                "padding": tuple(int(v) for v in module.wb_padding(*hw)),
                "groups": module.groups, "patch": module.patch, "out_h": out_h, "out_w": out_w}
    if isinstance(module, StrassenLinear):
        wb, wb_scale = ternarize(module.wb.weight)
        wc, wc_scale = ternarize(module.wc.weight)
        return {"kind": "strassen_linear", "wb": wb.numpy(), "wb_scale": float(wb_scale),
                "a": _f32(module.a), "wc": wc.numpy(), "wc_scale": float(wc_scale),
                "bias": _f32(module.bias)}
    if isinstance(module, (TernaryConv2d, TernaryLinear)):
        w, scale = ternarize(module.weight)
        cs = module.channel_scale      # a folded BatchNorm (trained TWN): one scale per channel
        out = {"kind": "ternary_conv" if isinstance(module, TernaryConv2d) else "ternary_linear",
               "w": w.numpy(), "scale": float(scale) if cs is None else _f32(scale * cs),
               "bias": _f32(module.bias)}
        if isinstance(module, TernaryConv2d):
            out.update(stride=module.stride, padding=module.padding, groups=module.groups)
        return out
    if isinstance(module, nn.Conv2d):
        return {"kind": "conv", "w": _f32(module.weight), "bias": _f32(module.bias),
                "stride": _int(module.stride), "padding": _int(module.padding),
                "groups": module.groups}
    if isinstance(module, nn.Linear):
        return {"kind": "linear", "w": _f32(module.weight), "bias": _f32(module.bias)}
    if isinstance(module, EltwiseAdd):
        return {"kind": "eltwise"}
    raise TypeError(f"not a traced layer type: {type(module).__name__}")


def _f32(t: torch.Tensor | None) -> np.ndarray | None:
    return None if t is None else t.detach().cpu().numpy().astype(np.float32, copy=True)


def _row_nnz(t: torch.Tensor) -> list[int]:
    """Non-zero entries of each output channel (first axis) of a weight tensor."""
    return [int(v) for v in (t.reshape(t.shape[0], -1) != 0).sum(dim=1)]


def _nnz(t: torch.Tensor) -> int:
    return int(torch.count_nonzero(t))


def _int(v: Any) -> int:
    """A square kernel/stride/padding as one int (tuples must be square)."""
    if isinstance(v, (tuple, list)):
        if len(set(v)) != 1:
            raise ValueError(f"non-square geometry {v} is not supported")
        v = v[0]
    if not isinstance(v, int):
        raise ValueError(f"unsupported geometry {v!r}")
    return v
