"""Reference networks: MobileNet-V1, ResNet-20 (CIFAR-10), ResNet-18 (ImageNet).

:func:`build_model` turns a :class:`~accelsim.reference.spec.ModelSpec` into an ``nn.Module``
whose counted layers (convolutions, FC, residual additions) are named as in the traces:
``conv1, dw1, pw1, ..., dw13, pw13, fc`` for MobileNet-V1; ``conv1, layerS.B.conv1,
layerS.B.conv2, layerS.B.shortcut, layerS.B.add, ..., fc`` for the ResNets. Each model has a
``layer_inputs`` mapping (layer name -> producer layer names; ReLU and pooling are not layers).

The networks are in inference form: every convolution carries a bias (a folded BatchNorm), ReLU
after each conv / residual add, global average pooling before the FC. Variants:

* ``baseline``: ``nn.Conv2d`` / ``nn.Linear`` everywhere;
* ``twn``: every conv, depthwise conv and FC is ternary (:class:`TernaryConv2d`,
  :class:`TernaryLinear`);
* ``strassen`` / ``hybrid``: every non-depthwise conv (stem, MobileNet pointwise, ResNet 3x3 and
  projection shortcuts) is a :class:`HybridConv2d` (or :class:`StrassenConv2d` when it keeps no
  fp channel) sized by :func:`accelsim.workload.build.strassen_params`; depthwise convs stay fp;
  the FC is a :class:`StrassenLinear` with ``r = fc_hidden`` (alpha 0).
"""
from __future__ import annotations

import difflib
import math

import torch
import torch.nn.functional as F
from torch import nn

from accelsim.errors import InputError, Problem
from accelsim.fields import need
from accelsim.reference.binary_models import build_binary_model, is_binary_spec
from accelsim.reference.layers import (
    EltwiseAdd,
    HybridConv2d,
    StrassenConv2d,
    StrassenLinear,
    TernaryConv2d,
    TernaryLinear,
    make_conv,
    make_linear,
)
from accelsim.reference.spec import ModelSpec
from accelsim.reference.topology import (
    MOBILENET_BLOCKS,
    RESNET18_STAGES,
    RESNET20_STAGES,
    scaled,
)
from accelsim.workload.build import conv_out, strassen_params


class _Factory:
    """Creates each counted layer for the spec's variant, in construction order."""

    def __init__(self, spec: ModelSpec, generator: torch.Generator):
        self.spec, self.gen = spec, generator
        self.overrides = {name: (alpha, factor) for name, alpha, factor in spec.overrides}
        self.strassen_names: list[str] = []

    def conv(self, name: str, in_c: int, out_c: int, kernel: int, stride: int, padding: int,
             hw: tuple[int, int], *, depthwise: bool = False) -> nn.Module:
        variant, groups = self.spec.variant, (in_c if depthwise else 1)
        if variant == "baseline" or (depthwise and variant in ("strassen", "hybrid")):
            return make_conv(in_c, out_c, kernel, stride, padding, groups, generator=self.gen)
        if variant == "twn":
            return TernaryConv2d(in_c, out_c, kernel, stride, padding, groups, generator=self.gen)
        alpha, factor = self.overrides.get(name, (self.spec.alpha, self.spec.r_factor))
        self.strassen_names.append(name)
        if alpha == 1.0:  # an override keeps this layer full precision
            return make_conv(in_c, out_c, kernel, stride, padding, groups, generator=self.gen)
        g = math.gcd(self.spec.groups, in_c)
        params = strassen_params(out_c, alpha=alpha, r_factor=factor, patch=self.spec.patch,
                                 groups=g)
        module: HybridConv2d | StrassenConv2d
        if params.c_fp:
            module = HybridConv2d(in_c, out_c, kernel, stride, padding, c_fp=params.c_fp,
                                  hidden=params.r, patch=params.patch, groups=g, in_hw=hw,
                                  generator=self.gen)
        else:
            module = StrassenConv2d(in_c, out_c, kernel, stride, padding, hidden=params.r,
                                    patch=params.patch, groups=g, in_hw=hw, generator=self.gen)
        module.params = params
        return module

    def linear(self, name: str, in_f: int, out_f: int) -> nn.Module:
        variant = self.spec.variant
        if variant == "baseline":
            return make_linear(in_f, out_f, generator=self.gen)
        if variant == "twn":
            return TernaryLinear(in_f, out_f, generator=self.gen)
        if name in self.overrides and self.overrides[name][0] == 1.0:  # kept full precision
            self.strassen_names.append(name)
            return make_linear(in_f, out_f, generator=self.gen)
        hidden = self.spec.fc_hidden if self.spec.fc_hidden is not None else in_f
        module = StrassenLinear(in_f, out_f, hidden=hidden, generator=self.gen)
        module.params = strassen_params(out_f, alpha=0.0, r=hidden)
        return module

    def check_overrides(self) -> None:
        problems = []
        for i, (name, _, _) in enumerate(self.spec.overrides):
            if name not in self.strassen_names:
                near = difflib.get_close_matches(name, self.strassen_names, n=1)
                hint = f"; did you mean '{near[0]}'?" if near else ""
                if name == "fc":
                    hint = ("; the FC's hidden width is set by fc_hidden (alpha 1 keeps it "
                            "full precision)")
                problems.append(Problem(f"overrides[{i}].name", name,
                                        f"not a strassenified conv layer of {self.spec.model}"
                                        f"{hint}"))
        if problems:
            raise InputError(problems)


class MobileNetV1(nn.Module):
    """MobileNet-V1: 3x3/s2 stem, 13 depthwise-separable blocks, global pool, FC."""

    def __init__(self, spec: ModelSpec, f: _Factory):
        super().__init__()
        hw = (need(spec.resolution), need(spec.resolution))
        c = scaled(32, spec.width)
        self.conv1 = f.conv("conv1", 3, c, 3, 2, 1, hw)
        hw = _out(hw, 3, 2, 1)
        self.layer_inputs: dict[str, tuple[str, ...]] = {"conv1": ()}
        prev = "conv1"
        for i, (out_c, stride) in enumerate(MOBILENET_BLOCKS, 1):
            out_c = scaled(out_c, spec.width)
            setattr(self, f"dw{i}", f.conv(f"dw{i}", c, c, 3, stride, 1, hw, depthwise=True))
            hw = _out(hw, 3, stride, 1)
            setattr(self, f"pw{i}", f.conv(f"pw{i}", c, out_c, 1, 1, 0, hw))
            self.layer_inputs[f"dw{i}"], self.layer_inputs[f"pw{i}"] = (prev,), (f"dw{i}",)
            prev, c = f"pw{i}", out_c
        self.fc = f.linear("fc", c, need(spec.classes))
        self.layer_inputs["fc"] = (prev,)
        self.blocks = len(MOBILENET_BLOCKS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        for i in range(1, self.blocks + 1):
            x = F.relu(getattr(self, f"dw{i}")(x))
            x = F.relu(getattr(self, f"pw{i}")(x))
        return self.fc(x.mean(dim=(2, 3)))


class BasicBlock(nn.Module):
    """Two 3x3 convs and a residual add; a 1x1 projection shortcut when the shape changes."""

    def __init__(self, f: _Factory, prefix: str, in_c: int, out_c: int, stride: int,
                 hw: tuple[int, int]):
        super().__init__()
        self.conv1 = f.conv(f"{prefix}.conv1", in_c, out_c, 3, stride, 1, hw)
        self.out_hw = _out(hw, 3, stride, 1)
        self.conv2 = f.conv(f"{prefix}.conv2", out_c, out_c, 3, 1, 1, self.out_hw)
        self.shortcut = (f.conv(f"{prefix}.shortcut", in_c, out_c, 1, stride, 0, hw)
                         if stride != 1 or in_c != out_c else None)
        self.add = EltwiseAdd()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(F.relu(self.conv1(x)))
        return F.relu(self.add(y, self.shortcut(x) if self.shortcut is not None else x))


class ResNet(nn.Module):
    """ResNet-20 (``imagenet=False``: 3x3 stem, no max-pool) or ResNet-18 (7x7/s2 stem and
    3x3/s2 max-pool, torchvision layout) built from :class:`BasicBlock` stages."""

    def __init__(self, spec: ModelSpec, f: _Factory, stages: tuple, imagenet: bool):
        super().__init__()
        hw = (need(spec.resolution), need(spec.resolution))
        c = scaled(stages[0][0], spec.width)
        k, s, pad = (7, 2, 3) if imagenet else (3, 1, 1)
        self.conv1 = f.conv("conv1", 3, c, k, s, pad, hw)
        hw = _out(hw, k, s, pad)
        self.maxpool = imagenet
        if imagenet:
            hw = _out(hw, 3, 2, 1)
        self.layer_inputs: dict[str, tuple[str, ...]] = {"conv1": ()}
        prev = "conv1"
        for si, (width, blocks, stride) in enumerate(stages, 1):
            out_c, seq = scaled(width, spec.width), []
            for b in range(blocks):
                p = f"layer{si}.{b}"
                block = BasicBlock(f, p, c, out_c, stride if b == 0 else 1, hw)
                seq.append(block)
                self.layer_inputs[f"{p}.conv1"] = (prev,)
                self.layer_inputs[f"{p}.conv2"] = (f"{p}.conv1",)
                skip = prev
                if block.shortcut is not None:
                    self.layer_inputs[f"{p}.shortcut"] = (prev,)
                    skip = f"{p}.shortcut"
                self.layer_inputs[f"{p}.add"] = (f"{p}.conv2", skip)
                prev, c, hw = f"{p}.add", out_c, block.out_hw
            setattr(self, f"layer{si}", nn.Sequential(*seq))
        self.stages = len(stages)
        self.fc = f.linear("fc", c, need(spec.classes))
        self.layer_inputs["fc"] = (prev,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        if self.maxpool:
            x = F.max_pool2d(x, 3, 2, 1)
        for si in range(1, self.stages + 1):
            x = getattr(self, f"layer{si}")(x)
        return self.fc(x.mean(dim=(2, 3)))


def build_model(spec: ModelSpec) -> nn.Module:
    """The network ``spec`` describes, in eval mode, parameters drawn from a
    ``torch.Generator`` seeded with ``spec.seed`` (the global RNG is not touched).
    Raises :class:`InputError` if an override names no strassenified conv layer.
    AlexNet, SqueezeNet and the binary variants are built by
    :func:`accelsim.reference.binary_models.build_binary_model`."""
    if is_binary_spec(spec):
        return build_binary_model(spec)
    gen = torch.Generator().manual_seed(spec.seed)
    f = _Factory(spec, gen)
    if spec.model == "mobilenet_v1":
        model: nn.Module = MobileNetV1(spec, f)
    elif spec.model == "resnet20":
        model = ResNet(spec, f, RESNET20_STAGES, imagenet=False)
    else:
        model = ResNet(spec, f, RESNET18_STAGES, imagenet=True)
    f.check_overrides()
    setattr(model, "spec", spec)  # noqa: B010 - nn.Module attributes are untyped to mypy
    return model.eval()


def input_shape(spec: ModelSpec) -> tuple[int, int, int, int]:
    """(batch 1, 3 channels, resolution, resolution)."""
    return 1, 3, need(spec.resolution), need(spec.resolution)


def _out(hw: tuple[int, int], k: int, s: int, pad: int) -> tuple[int, int]:
    return conv_out(hw[0], k, s, pad), conv_out(hw[1], k, s, pad)
