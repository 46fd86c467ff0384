"""The training form of a reference network: BatchNorms in, and folded back out on export.

:func:`to_train_form` adds a BatchNorm where it folds exactly into the inference form that
accelsim traces and verifies:

* after every full-precision convolution (stem, depthwise, hybrid fp branch, baseline convs):
  :class:`ConvBN`, folded into the convolution's weights and bias;
* after W_b of a strassenified layer with patch 1 and of the strassenified FC (per hidden
  channel, :class:`HiddenBN`): its scale folds into ã and its shift, carried through W_c,
  into the layer's output bias (with patch p > 1 the shift would vary with the position
  inside a p x p patch, so such layers train without it).

* after every TWN convolution (:class:`TernaryBN`): its shift folds into the bias, its scale
  into the layer's per-output-channel ``channel_scale`` (one multiplication per output, like
  the TWN scale itself, which the accounting does not count either).

FC layers (the last layer) train without BatchNorm. :func:`fold` returns the inference form
(same module names and types as :func:`~accelsim.reference.models.build_model`).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import torch
from torch import nn

from accelsim.reference.layers import (
    HybridConv2d,
    StrassenConv2d,
    StrassenLinear,
    TernaryConv2d,
    TernaryConvTranspose2d,
    TernaryLinear,
)

TERNARY = (TernaryConv2d, TernaryLinear, TernaryConvTranspose2d)


def _bn_scale(bn: nn.BatchNorm1d | nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """``(gamma / sqrt(running_var + eps), running_mean)`` of a BatchNorm."""
    assert bn.running_var is not None and bn.running_mean is not None
    return bn.weight / torch.sqrt(bn.running_var + bn.eps), bn.running_mean


class ConvBN(nn.Module):
    """``bn(conv(x))`` for a full-precision ``nn.Conv2d``."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        self.conv = conv
        self.bn = nn.BatchNorm2d(conv.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))

    def fold(self) -> nn.Conv2d:
        """The convolution with the BN folded in (weights ``w * g``, bias ``(b - mu) g + beta``,
        ``g = gamma / sqrt(var + eps)``)."""
        conv, bn = self.conv, self.bn
        with torch.no_grad():
            g, mean = _bn_scale(bn)
            conv.weight.mul_(g.view(-1, 1, 1, 1))
            b = conv.bias if conv.bias is not None else torch.zeros_like(g)
            new_bias = (b - mean) * g + bn.bias
            if conv.bias is None:
                conv.bias = nn.Parameter(new_bias)
            else:
                conv.bias.copy_(new_bias)
        return conv


class TernaryBN(nn.Module):
    """``bn(conv(x))`` for a TWN :class:`TernaryConv2d`."""

    def __init__(self, conv: TernaryConv2d):
        super().__init__()
        self.conv = conv
        self.bn = nn.BatchNorm2d(conv.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))

    def fold(self) -> TernaryConv2d:
        """The TWN convolution with ``channel_scale = g`` and bias ``(b - mu) g + beta``."""
        conv, bn = self.conv, self.bn
        with torch.no_grad():
            g, mean = _bn_scale(bn)
            old = conv.channel_scale if conv.channel_scale is not None else torch.ones_like(g)
            b = conv.bias if conv.bias is not None else torch.zeros_like(g)
            new_bias = (b - mean) * g + bn.bias
            conv.channel_scale = (old * g).detach().clone()
            if conv.bias is None:
                conv.bias = nn.Parameter(new_bias)
            else:
                conv.bias.copy_(new_bias)
        return conv


class HiddenBN(nn.Module):
    """``bn(wb(x))`` on the hidden channels of a strassenified layer (W_b's output)."""

    def __init__(self, wb: nn.Module, hidden: int, linear: bool):
        super().__init__()
        self.wb = wb
        self.bn = nn.BatchNorm1d(hidden) if linear else nn.BatchNorm2d(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.wb(x))


def to_train_form(model: nn.Module) -> nn.Module:
    """Add the BatchNorms (see the module docstring) in place; returns ``model``."""
    for parent, name, child in list(_children(model)):
        if isinstance(child, nn.Conv2d):
            setattr(parent, name, ConvBN(child))
        elif isinstance(child, TernaryConv2d):
            setattr(parent, name, TernaryBN(child))
        elif isinstance(child, StrassenLinear):
            child.wb = HiddenBN(child.wb, child.hidden, linear=True)  # type: ignore[assignment]
        elif isinstance(child, StrassenConv2d) and child.patch == 1:
            child.wb = HiddenBN(child.wb, child.hidden, linear=False)  # type: ignore[assignment]
    return model


def fold(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm of a training-form model (running statistics) into the inference
    form, in place; returns ``model``. Quantization must be on (the W_c that carries a hidden
    BN's shift is the ternary one)."""
    for parent, name, child in list(_children(model)):
        if isinstance(child, (ConvBN, TernaryBN)):
            setattr(parent, name, child.fold())
        elif isinstance(child, (StrassenLinear, StrassenConv2d)) and \
                isinstance(child.wb, HiddenBN):
            _fold_hidden(child)
    return model


def _fold_hidden(st: StrassenLinear | StrassenConv2d) -> None:
    wrapper = st.wb
    assert isinstance(wrapper, HiddenBN)
    bn = wrapper.bn
    with torch.no_grad():
        g, mean = _bn_scale(bn)
        a: torch.Tensor = st.a
        shift = a * (bn.bias - mean * g)          # per hidden channel, after ã
        if isinstance(st, StrassenLinear):
            carried = st.wc(shift.view(1, -1))[0]
        else:
            carried = st.wc(shift.view(1, -1, 1, 1))[0, :, 0, 0]
        st.a.mul_(g)
        st.bias.add_(carried)
    st.wb = wrapper.wb  # type: ignore[assignment]


def set_quantize(model: nn.Module, on: bool) -> None:
    """Turn ternary quantization of every TWN / W_b / W_c weight on or off."""
    for m in model.modules():
        if isinstance(m, TERNARY):
            m.quantize = on


def ternary_weights(model: nn.Module) -> Iterator[nn.Parameter]:
    """The full-precision shadows of every ternary weight (TWN, W_b, W_c)."""
    for m in model.modules():
        if isinstance(m, TERNARY):
            yield m.weight


def freeze_ternary(model: nn.Module) -> None:
    """Stop gradients to the ternary weights (phase 3): their ternary values and TWN scales,
    computed from the unchanged shadows, stay fixed."""
    for w in ternary_weights(model):
        w.requires_grad_(False)


def _children(model: nn.Module) -> Iterator[tuple[nn.Module, str, nn.Module]]:
    """(parent, attribute name, module) for every module below ``model``, parents first;
    does not descend into layers (convolutions, wrappers, strassenified layers, whose inner
    W_b / W_c are handled as part of them)."""
    for name, child in model.named_children():
        yield model, name, child
        if not isinstance(child, (nn.Conv2d, TernaryConv2d, ConvBN, TernaryBN, HiddenBN,
                                  StrassenConv2d, StrassenLinear)):
            yield from _children(child)


def prepare_state(model: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Give every TWN layer whose ``channel_scale`` ``state`` holds a buffer of that shape
    (an exported checkpoint of a trained TWN network), so that ``load_state_dict`` fits."""
    for name, m in model.named_modules():
        key = f"{name}.channel_scale" if name else "channel_scale"
        if isinstance(m, (TernaryConv2d, TernaryLinear)) and m.channel_scale is None and \
                isinstance(state.get(key), torch.Tensor):
            m.channel_scale = torch.ones_like(state[key])


def hybrid_or_strassen(model: nn.Module) -> bool:
    """Whether ``model`` has any strassenified layer."""
    return any(isinstance(m, (StrassenConv2d, StrassenLinear, HybridConv2d))
               for m in model.modules())
