"""Ternary, strassenified and hybrid-filter-bank layers (float32 forward passes).

* :class:`TernaryConv2d`, :class:`TernaryLinear`, :class:`TernaryConvTranspose2d`: TWN weights
  (:func:`~accelsim.reference.quant.ternary_ste`), an optional float bias.
* :class:`StrassenConv2d`: the SPN of a ``k x k`` / stride ``s`` / padding ``pad`` convolution
  (Tschannen et al.): W_b, a ternary convolution ``c_in -> r`` with kernel ``(p-1)*s + k``, stride
  ``p*s`` and ``groups`` groups, on the input padded by ``pad`` at the top/left and by just enough
  at the bottom/right for a hidden map of ``ceil(out/p)``; then ``ã``, one learnable multiplier
  per hidden channel; then W_c, a ternary ``p x p`` transposed convolution (stride ``p``)
  ``r -> c_out``, cropped to the convolution's output size; then a bias.
  There is deliberately no BatchNorm inside: at inference a BN after W_b folds into ``ã`` plus a
  per-hidden-channel bias, and keeping the layer exactly the SPN lets the kernels verify it.
  The two TWN scales fold into ``ã`` too, so they cost no multiplications in the accounting.
* :class:`StrassenLinear`: the same for a matrix product (W_b ``r x in``, ``ã``, W_c ``out x r``).
* :class:`HybridConv2d`: an fp ``nn.Conv2d`` for the first ``c_fp`` output channels and a
  :class:`StrassenConv2d` for the rest, concatenated on channels (fp channels first).
* :class:`EltwiseAdd`: a residual addition, a module so that the tracer can hook it.

Parameters are initialised from an explicit ``torch.Generator`` (never the global RNG); pass the
same generator to every layer of a network, in construction order, for a deterministic model.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from accelsim.reference.quant import ternary_ste
from accelsim.workload.build import conv_out
from accelsim.workload.schema import StrassenParams

RELU_GAIN = math.sqrt(2.0)


def _gen(generator: torch.Generator | None) -> torch.Generator:
    return generator if generator is not None else torch.Generator().manual_seed(0)


def _init_weight_bias(weight: torch.Tensor, bias: torch.Tensor | None, fan_in: int, gain: float,
                      generator: torch.Generator) -> None:
    """Normal(0, gain/sqrt(fan_in)) weights, Uniform(+-1/sqrt(fan_in)) biases."""
    with torch.no_grad():
        weight.normal_(0.0, gain / math.sqrt(fan_in), generator=generator)
        if bias is not None:
            bound = 1.0 / math.sqrt(fan_in)
            bias.uniform_(-bound, bound, generator=generator)


def make_conv(in_c: int, out_c: int, kernel: int, stride: int = 1, padding: int = 0,
              groups: int = 1, *, bias: bool = True, gain: float = RELU_GAIN,
              generator: torch.Generator | None = None) -> nn.Conv2d:
    """A plain fp ``nn.Conv2d`` initialised from ``generator`` (built without touching the
    global RNG)."""
    conv = nn.utils.skip_init(nn.Conv2d, in_c, out_c, kernel, stride=stride, padding=padding,
                              groups=groups, bias=bias)
    _init_weight_bias(conv.weight, conv.bias, in_c // groups * kernel * kernel, gain,
                      _gen(generator))
    return conv


def make_linear(in_f: int, out_f: int, *, bias: bool = True, gain: float = 1.0,
                generator: torch.Generator | None = None) -> nn.Linear:
    """A plain fp ``nn.Linear`` initialised from ``generator``."""
    lin = nn.utils.skip_init(nn.Linear, in_f, out_f, bias=bias)
    _init_weight_bias(lin.weight, lin.bias, in_f, gain, _gen(generator))
    return lin


class TernaryConv2d(nn.Module):
    """A convolution with TWN weights (shape ``[out, in/groups, k, k]``) and a float bias.
    ``quantize = False`` (training phase 1 only) uses the full-precision weights instead.
    ``channel_scale`` (a buffer, ``None`` unless a trained BatchNorm was folded in, see
    :mod:`accelsim.reference.trainform`) multiplies each output channel before the bias."""

    quantize = True
    channel_scale: torch.Tensor | None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, groups: int = 1, *, bias: bool = True,
                 gain: float = RELU_GAIN, generator: torch.Generator | None = None):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding, self.groups = (kernel_size, stride, padding,
                                                                    groups)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, kernel_size,
                                               kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.register_buffer("channel_scale", None)
        _init_weight_bias(self.weight, self.bias, in_channels // groups * kernel_size ** 2, gain,
                          _gen(generator))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = ternary_ste(self.weight) if self.quantize else self.weight
        if self.channel_scale is None:
            return F.conv2d(x, w, self.bias, self.stride, self.padding, 1, self.groups)
        y = F.conv2d(x, w, None, self.stride, self.padding, 1, self.groups)
        y = y * self.channel_scale.view(1, -1, 1, 1)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


class TernaryLinear(nn.Module):
    """A matrix product with TWN weights (shape ``[out, in]``) and a float bias
    (``quantize`` and ``channel_scale`` as for :class:`TernaryConv2d`)."""

    quantize = True
    channel_scale: torch.Tensor | None

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True,
                 gain: float = 1.0, generator: torch.Generator | None = None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.register_buffer("channel_scale", None)
        _init_weight_bias(self.weight, self.bias, in_features, gain, _gen(generator))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = ternary_ste(self.weight) if self.quantize else self.weight
        if self.channel_scale is None:
            return F.linear(x, w, self.bias)
        y = F.linear(x, w) * self.channel_scale
        return y if self.bias is None else y + self.bias


class TernaryConvTranspose2d(nn.Module):
    """A transposed convolution (no padding) with TWN weights, shape ``[in, out, k, k]``.

    With ``kernel_size == stride == p`` every output position receives exactly ``in_channels``
    terms, which sets the initial weight scale. ``quantize`` as for :class:`TernaryConv2d`."""

    quantize = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, *,
                 bias: bool = False, gain: float = RELU_GAIN,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = kernel_size, stride
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels, kernel_size,
                                               kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        terms = in_channels * max(1, (kernel_size // stride) ** 2)
        _init_weight_bias(self.weight, self.bias, terms, gain, _gen(generator))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = ternary_ste(self.weight) if self.quantize else self.weight
        return F.conv_transpose2d(x, w, self.bias, self.stride)


class StrassenConv2d(nn.Module):
    """The SPN form of a ``kernel_size x kernel_size`` convolution (see the module docstring).

    ``hidden`` is r, ``patch`` is p, ``groups`` the groups of W_b (must divide ``in_channels``
    and ``hidden``). ``in_hw`` is the input size the network feeds this layer (used by
    :func:`~accelsim.reference.trace.layer_arrays`; the forward pass accepts any size).
    ``params`` holds the :class:`StrassenParams` the network builder chose, or ``None``.
    Raises ``ValueError`` on inconsistent sizes.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, *, hidden: int, patch: int = 1, groups: int = 1,
                 in_hw: tuple[int, int] | None = None,
                 generator: torch.Generator | None = None):
        super().__init__()
        if in_channels % groups or hidden % groups:
            raise ValueError(f"groups = {groups} must divide in_channels = {in_channels} and "
                             f"hidden = {hidden}")
        gen = _gen(generator)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.hidden, self.patch, self.groups, self.in_hw = hidden, patch, groups, in_hw
        self.params: StrassenParams | None = None
        kb = (patch - 1) * stride + kernel_size
        self.wb = TernaryConv2d(in_channels, hidden, kb, stride=patch * stride, padding=0,
                                groups=groups, bias=False, gain=1.0, generator=gen)
        self.a = nn.Parameter(torch.empty(hidden))
        self.wc = TernaryConvTranspose2d(hidden, out_channels, patch, stride=patch, bias=False,
                                         generator=gen)
        self.bias = nn.Parameter(torch.empty(out_channels))
        with torch.no_grad():
            self.a.uniform_(0.5, 1.5, generator=gen)
            bound = 1.0 / math.sqrt(hidden)
            self.bias.uniform_(-bound, bound, generator=gen)

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        """Output size of the convolution this layer stands for (PyTorch floor convention)."""
        k, s, pad = self.kernel_size, self.stride, self.padding
        return conv_out(h, k, s, pad), conv_out(w, k, s, pad)

    def wb_padding(self, h: int, w: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) zero padding of W_b's input for an ``h x w`` input, such
        that the hidden map is ``ceil(out_h/p) x ceil(out_w/p)``."""
        p, s, pad = self.patch, self.stride, self.padding
        kb = (p - 1) * s + self.kernel_size
        out_h, out_w = self.output_size(h, w)
        if out_h < 1 or out_w < 1:
            raise ValueError(f"input {h}x{w} is too small for a {self.kernel_size}x"
                             f"{self.kernel_size} kernel")
        bottom = max(0, (math.ceil(out_h / p) - 1) * p * s + kb - h - pad)
        right = max(0, (math.ceil(out_w / p) - 1) * p * s + kb - w - pad)
        return pad, pad, bottom, right

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        top, left, bottom, right = self.wb_padding(h, w)
        out_h, out_w = self.output_size(h, w)
        z = self.wb(F.pad(x, (left, right, top, bottom)))
        z = z * self.a.view(1, -1, 1, 1)
        y = self.wc(z)[:, :, :out_h, :out_w]
        return y + self.bias.view(1, -1, 1, 1)


class StrassenLinear(nn.Module):
    """The SPN form of a matrix product: ``bias + W_c (ã * (W_b x))`` with ``hidden`` = r."""

    def __init__(self, in_features: int, out_features: int, *, hidden: int,
                 generator: torch.Generator | None = None):
        super().__init__()
        gen = _gen(generator)
        self.in_features, self.out_features, self.hidden = in_features, out_features, hidden
        self.params: StrassenParams | None = None
        self.wb = TernaryLinear(in_features, hidden, bias=False, gain=1.0, generator=gen)
        self.a = nn.Parameter(torch.empty(hidden))
        self.wc = TernaryLinear(hidden, out_features, bias=False, gain=1.0, generator=gen)
        self.bias = nn.Parameter(torch.empty(out_features))
        with torch.no_grad():
            self.a.uniform_(0.5, 1.5, generator=gen)
            bound = 1.0 / math.sqrt(hidden)
            self.bias.uniform_(-bound, bound, generator=gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.wc(self.wb(x) * self.a) + self.bias


class HybridConv2d(nn.Module):
    """A hybrid filter bank: ``c_fp`` fp output channels (``self.fp``, an ``nn.Conv2d`` with
    bias) and ``out_channels - c_fp`` strassenified ones (``self.st``), concatenated."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, *, c_fp: int, hidden: int, patch: int = 1, groups: int = 1,
                 in_hw: tuple[int, int] | None = None,
                 generator: torch.Generator | None = None):
        super().__init__()
        if not 0 < c_fp < out_channels:
            raise ValueError(f"c_fp = {c_fp} must be in (0, {out_channels})")
        gen = _gen(generator)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.c_fp, self.in_hw = c_fp, in_hw
        self.params: StrassenParams | None = None
        self.fp = make_conv(in_channels, c_fp, kernel_size, stride, padding, generator=gen)
        self.st = StrassenConv2d(in_channels, out_channels - c_fp, kernel_size, stride, padding,
                                 hidden=hidden, patch=patch, groups=groups, in_hw=in_hw,
                                 generator=gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.fp(x), self.st(x)], dim=1)


class EltwiseAdd(nn.Module):
    """``a + b`` (a residual connection): one addition per output element."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b
