"""Binary layers of Hybrid Binary Networks (docs/binary-networks.md), float32 forward passes.

* :func:`binary_sign`: ``+1`` where ``x >= 0``, ``-1`` elsewhere (zero maps to +1, so every value
  is one bit), with the clipped straight-through gradient ``grad * (|x| <= 1)`` (Courbariaux et
  al. 2016, as in XNOR-Net).
* :class:`WeightBinConv2d` / :class:`WeightBinLinear` (BWN, Rastegari et al. 2016): weights
  ``alpha_o * sign(W_o)`` with ``alpha_o = mean |W_o|`` per output filter, full-precision inputs:
  ``y = (x (*) sign(W)) * alpha`` (additions and subtractions, then one multiplication per
  output).
* :class:`FullBinConv2d` / :class:`FullBinLinear` (XNOR-Net): inputs and weights binarized,
  ``y = (sign(I) (*) sign(W)) * alpha'_o * K'``, where ``K'`` is the ``kh x kw`` box sum (zero
  padded, the conv's stride) of ``sum_c |I_c|`` and ``alpha'_o = mean |W_o| / (C * kh * kw)``;
  ``alpha'_o * K'`` is XNOR-Net's ``alpha_o * K`` with ``K = A (*) k``, ``A = mean_c |I_c|`` and
  ``k`` the ``1 / (kh * kw)`` box filter. The multiplications are done in that order, dot
  product first, so the kernels reproduce the output bit for bit on binary inputs.

The sign of the weights has the straight-through gradient too; ``alpha`` is differentiated as
it is computed (XNOR-Net's ``1/n`` term). Binary layers have no bias and no groups: in the
networks of :mod:`accelsim.reference.binary_models` a BatchNorm in front of each binary layer
centres its input (block order BN -> binary activation -> conv -> ReLU).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from accelsim.reference.layers import RELU_GAIN


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return sign_pm1(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def sign_pm1(x: torch.Tensor) -> torch.Tensor:
    """``+1`` where ``x >= 0``, ``-1`` elsewhere, in ``x``'s dtype (no gradient)."""
    one = torch.ones((), dtype=x.dtype)
    return torch.where(x >= 0, one, -one)


def binary_sign(x: torch.Tensor) -> torch.Tensor:
    """:func:`sign_pm1` with the clipped straight-through gradient ``grad * (|x| <= 1)``."""
    return _SignSTE.apply(x)


def filter_scale(w: torch.Tensor) -> torch.Tensor:
    """``mean |W_o|`` of every output filter (dimension 0), shape ``[out]``."""
    return w.abs().flatten(1).mean(1)


def _init(weight: torch.Tensor, fan_in: int, generator: torch.Generator) -> None:
    with torch.no_grad():
        weight.normal_(0.0, RELU_GAIN / math.sqrt(fan_in), generator=generator)


def _gen(generator: torch.Generator | None) -> torch.Generator:
    return generator if generator is not None else torch.Generator().manual_seed(0)


class _BinConv2d(nn.Module):
    """Shared parts of the binary convolutions: weight ``[out, in, k, k]``, stride, padding."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, *, generator: torch.Generator | None = None):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.groups = 1
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size,
                                               kernel_size))
        _init(self.weight, in_channels * kernel_size ** 2, _gen(generator))

    def sign_weight(self) -> torch.Tensor:
        """The ±1 weights (int8, no gradient)."""
        return sign_pm1(self.weight.detach()).to(torch.int8)


class WeightBinConv2d(_BinConv2d):
    """BWN convolution: ``conv2d(x, sign(W)) * alpha`` with ``alpha_o = mean |W_o|``."""

    def scales(self) -> torch.Tensor:
        """``alpha`` (``[out]``), as the forward pass uses it."""
        return filter_scale(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(x, binary_sign(self.weight), None, self.stride, self.padding)
        return y * self.scales().view(1, -1, 1, 1)


class FullBinConv2d(_BinConv2d):
    """XNOR-Net convolution: ``conv2d(sign(I), sign(W)) * alpha' * K'`` (module docstring)."""

    def scales(self) -> torch.Tensor:
        """``alpha'_o = mean |W_o| / (C * kh * kw)`` (``[out]``), as the forward pass uses it."""
        return filter_scale(self.weight) / float(self.in_channels * self.kernel_size ** 2)

    def kmap(self, x: torch.Tensor) -> torch.Tensor:
        """``K'``: the box sum of ``sum_c |x_c|`` at every output position, ``[N, 1, oh, ow]``."""
        box = torch.ones((1, 1, self.kernel_size, self.kernel_size), dtype=x.dtype)
        return F.conv2d(x.abs().sum(1, keepdim=True), box, None, self.stride, self.padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dot = F.conv2d(binary_sign(x), binary_sign(self.weight), None, self.stride,
                       self.padding)
        return dot * self.scales().view(1, -1, 1, 1) * self.kmap(x)


class _BinLinear(nn.Module):
    def __init__(self, in_features: int, out_features: int, *,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        _init(self.weight, in_features, _gen(generator))

    def sign_weight(self) -> torch.Tensor:
        """The ±1 weights (int8, no gradient)."""
        return sign_pm1(self.weight.detach()).to(torch.int8)


class WeightBinLinear(_BinLinear):
    """BWN matrix product: ``linear(x, sign(W)) * alpha``."""

    def scales(self) -> torch.Tensor:
        """``alpha`` (``[out]``)."""
        return filter_scale(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, binary_sign(self.weight)) * self.scales()


class FullBinLinear(_BinLinear):
    """XNOR-Net matrix product: ``linear(sign(x), sign(W)) * alpha' * K'`` with
    ``K' = sum |x|`` per sample and ``alpha'_o = mean |W_o| / in_features``."""

    def scales(self) -> torch.Tensor:
        """``alpha'`` (``[out]``)."""
        return filter_scale(self.weight) / float(self.in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dot = F.linear(binary_sign(x), binary_sign(self.weight))
        return dot * self.scales() * x.abs().sum(1, keepdim=True)


BINARY_MODULES = (WeightBinConv2d, FullBinConv2d, WeightBinLinear, FullBinLinear)


def unique_kernels(sign_w: np.ndarray) -> int:
    """Distinct ``kh x kw`` sign patterns among the filters, per input channel, summed over the
    input channels (a linear layer's kernels are single weights). ``sign_w``: ±1 array
    ``[out, in, kh, kw]`` or ``[out, in]``."""
    w = sign_w.reshape(sign_w.shape[0], sign_w.shape[1], -1) > 0
    taps = w.shape[2]
    if taps <= 62:
        codes = (w.astype(np.int64) << np.arange(taps, dtype=np.int64)).sum(axis=2)
        codes = np.sort(codes, axis=0)
        return int(w.shape[1] + np.count_nonzero(np.diff(codes, axis=0)))
    return sum(len(np.unique(w[:, c, :], axis=0)) for c in range(w.shape[1]))
