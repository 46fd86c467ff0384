"""Hybrid binary networks: AlexNet, SqueezeNet 1.0 and the ResNets in FPrec, WBin, FBin and
hybrid variants (docs/binary-networks.md).

:func:`build_binary_model` turns a :class:`ModelSpec` of ``alexnet`` / ``squeezenet1_0`` (any
variant) or of ``resnet20`` / ``resnet18`` (a binary variant) into an ``nn.Module``. Every
convolution and FC layer has a *kind*: ``fp`` (``nn.Conv2d`` / ``nn.Linear`` with a bias, a
folded BatchNorm, then ReLU: the FPrec block), ``wbin`` or ``fbin`` (BatchNorm -> binary layer
-> ReLU, the HBN block, :mod:`accelsim.reference.binary`). The first layer is always ``fp``;
the last one (the classifier) is ``fp`` unless ``spec.binary_last``; every other layer takes the
variant's kind (``baseline``: fp, ``wbin``, ``fbin``, ``hbn``: fbin) unless ``spec.binarize``
names it. The BatchNorm in front of a binary layer ``NAME`` is the module ``NAME_bn``, traced
as its own layer (a per-channel multiply-add).

Layer names: AlexNet (torchvision layout: 64-192-384-256-256 channels, FC 4096-4096)
``conv1..conv5, fc6, fc7, fc8``; SqueezeNet 1.0 ``conv1, fireN.squeeze, fireN.expand1x1,
fireN.expand3x3 (N = 2..9), conv10``; ResNets as :mod:`accelsim.reference.models`. ``width``
scales every channel count and the AlexNet FC width. Dropout is omitted (inference form).

Untrained BatchNorms would pass ReLU outputs (all >= 0) to ``sign``, so the built model's
BatchNorm statistics are calibrated once on a seeded random batch (two images, seed
``spec.seed + 1``): each binary layer then sees a centred input. Loading a trained state dict
replaces them.
"""
from __future__ import annotations

import difflib

import torch
import torch.nn.functional as F
from torch import nn

from accelsim.errors import InputError, Problem
from accelsim.reference.binary import (
    FullBinConv2d,
    FullBinLinear,
    WeightBinConv2d,
    WeightBinLinear,
)
from accelsim.reference.counted import iter_layers
from accelsim.reference.layers import EltwiseAdd, make_conv, make_linear
from accelsim.reference.spec import BINARY_VARIANTS, ModelSpec
from accelsim.reference.topology import RESNET18_STAGES, RESNET20_STAGES, scaled

#: SqueezeNet 1.0 fire modules: (squeeze, expand 1x1, expand 3x3) channels; a max-pool follows
#: the stem and fire4 and fire8.
FIRES = ((16, 64, 64), (16, 64, 64), (32, 128, 128), (32, 128, 128), (48, 192, 192),
         (48, 192, 192), (64, 256, 256), (64, 256, 256))
POOL_AFTER = (4, 8)
ALEXNET_CONVS = ((64, 11, 4, 2), (192, 5, 1, 2), (384, 3, 1, 1), (256, 3, 1, 1),
                 (256, 3, 1, 1))   # (out channels, kernel, stride, padding)


def run(bn: nn.Module | None, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``layer(bn(x))``, or ``layer(x)`` for an fp layer (no BatchNorm in front)."""
    return layer(bn(x) if bn is not None else x)


class _Factory:
    """Creates every conv / FC layer with its kind, in construction order."""

    def __init__(self, spec: ModelSpec, generator: torch.Generator):
        self.spec, self.gen = spec, generator
        self.kinds = dict(spec.binarize)
        self.default = BINARY_VARIANTS.get(spec.variant, "fp")
        self.names: list[str] = []
        self.first: str | None = None
        self.layer_inputs: dict[str, tuple[str, ...]] = {}

    def kind(self, name: str, first: bool, last: bool) -> str:
        if first:
            self.first = name
            return "fp"
        self.names.append(name)
        if name in self.kinds:
            return self.kinds[name]
        return "fp" if last and not self.spec.binary_last else self.default

    def conv(self, name: str, in_c: int, out_c: int, kernel: int, stride: int, padding: int,
             inputs: tuple[str, ...], *, first: bool = False, last: bool = False
             ) -> tuple[nn.Module | None, nn.Module]:
        kind = self.kind(name, first, last)
        if kind == "fp":
            self.layer_inputs[name] = inputs
            return None, make_conv(in_c, out_c, kernel, stride, padding, generator=self.gen)
        self.layer_inputs[f"{name}_bn"], self.layer_inputs[name] = inputs, (f"{name}_bn",)
        cls = WeightBinConv2d if kind == "wbin" else FullBinConv2d
        return nn.BatchNorm2d(in_c), cls(in_c, out_c, kernel, stride, padding, generator=self.gen)

    def linear(self, name: str, in_f: int, out_f: int, inputs: tuple[str, ...], *,
               last: bool = False) -> tuple[nn.Module | None, nn.Module]:
        kind = self.kind(name, False, last)
        if kind == "fp":
            self.layer_inputs[name] = inputs
            return None, make_linear(in_f, out_f, generator=self.gen)
        self.layer_inputs[f"{name}_bn"], self.layer_inputs[name] = inputs, (f"{name}_bn",)
        cls = WeightBinLinear if kind == "wbin" else FullBinLinear
        return nn.BatchNorm1d(in_f), cls(in_f, out_f, generator=self.gen)

    def check(self) -> None:
        """Raise InputError for a ``binarize`` entry that names no binarizable layer."""
        problems = []
        for i, (name, _) in enumerate(self.spec.binarize):
            if name in self.names:
                continue
            if name == self.first:
                hint = "; the first layer always stays fp"
            else:
                near = difflib.get_close_matches(name, self.names, n=1)
                hint = f"; did you mean '{near[0]}'?" if near else ""
            problems.append(Problem(f"binarize[{i}].name", name,
                                    f"not a binarizable layer of {self.spec.model}{hint}"))
        if problems:
            raise InputError(problems)


def _attach(module: nn.Module, attr: str, pair: tuple[nn.Module | None, nn.Module]) -> None:
    """Register ``attr_bn`` (if any) then ``attr``: module order = execution order."""
    bn, layer = pair
    if bn is not None:
        setattr(module, f"{attr}_bn", bn)
    setattr(module, attr, layer)


def _call(module: nn.Module, attr: str, x: torch.Tensor) -> torch.Tensor:
    layer: nn.Module = getattr(module, attr)
    bn: nn.Module | None = getattr(module, f"{attr}_bn", None)
    return run(bn, layer, x)


def _res(spec: ModelSpec) -> int:
    """The spec's input resolution (always set once a ModelSpec is built)."""
    assert spec.resolution is not None
    return spec.resolution


def _classes(spec: ModelSpec) -> int:
    assert spec.classes is not None
    return spec.classes


def _size(spec: ModelSpec, size: int, kernel: int, stride: int, padding: int, where: str, *,
          ceil: bool = False) -> int:
    """Output size of a conv / pool, or InputError when the input is too small for it."""
    if size + 2 * padding < kernel:
        raise InputError(Problem("resolution", spec.resolution, f"too small for {spec.model}: "
                                 f"the feature map at {where} is {size} x {size}"))
    span = size + 2 * padding - kernel
    return (-(-span // stride) if ceil else span // stride) + 1


class BinaryBlock(nn.Module):
    """A ResNet basic block whose convs have kinds: ``conv1``, ``conv2`` and the projection
    ``shortcut``, each preceded by its BatchNorm when binary; ReLU after conv1 and after the
    residual add."""

    def __init__(self, f: _Factory, prefix: str, in_c: int, out_c: int, stride: int,
                 source: str):
        super().__init__()
        _attach(self, "conv1", f.conv(f"{prefix}.conv1", in_c, out_c, 3, stride, 1, (source,)))
        _attach(self, "conv2", f.conv(f"{prefix}.conv2", out_c, out_c, 3, 1, 1,
                                      (f"{prefix}.conv1",)))
        self.has_shortcut = stride != 1 or in_c != out_c
        if self.has_shortcut:
            _attach(self, "shortcut", f.conv(f"{prefix}.shortcut", in_c, out_c, 1, stride, 0,
                                             (source,)))
        self.add = EltwiseAdd()
        f.layer_inputs[f"{prefix}.add"] = (f"{prefix}.conv2",
                                           f"{prefix}.shortcut" if self.has_shortcut else source)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = _call(self, "conv2", F.relu(_call(self, "conv1", x)))
        skip = _call(self, "shortcut", x) if self.has_shortcut else x
        return F.relu(self.add(y, skip))


class BinaryResNet(nn.Module):
    """ResNet-20 / ResNet-18 (as :class:`accelsim.reference.models.ResNet`) with layer kinds."""

    def __init__(self, spec: ModelSpec, f: _Factory, stages: tuple, imagenet: bool):
        super().__init__()
        size = _res(spec)
        c = scaled(stages[0][0], spec.width)
        k, s, pad = (7, 2, 3) if imagenet else (3, 1, 1)
        _attach(self, "conv1", f.conv("conv1", 3, c, k, s, pad, (), first=True))
        size = _size(spec, size, k, s, pad, "conv1")
        self.maxpool = imagenet
        if imagenet:
            size = _size(spec, size, 3, 2, 1, "the stem max-pool")
        prev = "conv1"
        for si, (width, blocks, stride) in enumerate(stages, 1):
            out_c, seq = scaled(width, spec.width), []
            for b in range(blocks):
                st = stride if b == 0 else 1
                size = _size(spec, size, 3, st, 1, f"layer{si}.{b}")
                seq.append(BinaryBlock(f, f"layer{si}.{b}", c, out_c, st, prev))
                prev, c = f"layer{si}.{b}.add", out_c
            setattr(self, f"layer{si}", nn.Sequential(*seq))
        self.stages = len(stages)
        _attach(self, "fc", f.linear("fc", c, _classes(spec), (prev,), last=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(_call(self, "conv1", x))
        if self.maxpool:
            x = F.max_pool2d(x, 3, 2, 1)
        for si in range(1, self.stages + 1):
            x = getattr(self, f"layer{si}")(x)
        return _call(self, "fc", x.mean(dim=(2, 3)))


class AlexNet(nn.Module):
    """AlexNet, torchvision layout: five convs (max-pools after conv1, conv2, conv5), adaptive
    6x6 average pool, FC 4096 -> 4096 -> classes, ReLU after every layer but the last."""

    def __init__(self, spec: ModelSpec, f: _Factory):
        super().__init__()
        size, c = _res(spec), 3
        prev: tuple[str, ...] = ()
        for i, (out_c, k, s, pad) in enumerate(ALEXNET_CONVS, 1):
            out_c = scaled(out_c, spec.width)
            _attach(self, f"conv{i}", f.conv(f"conv{i}", c, out_c, k, s, pad, prev,
                                             first=i == 1))
            size = _size(spec, size, k, s, pad, f"conv{i}")
            if i in (1, 2, 5):
                size = _size(spec, size, 3, 2, 0, f"the max-pool after conv{i}")
            c, prev = out_c, (f"conv{i}",)
        hidden = scaled(4096, spec.width)
        _attach(self, "fc6", f.linear("fc6", c * 36, hidden, prev))
        _attach(self, "fc7", f.linear("fc7", hidden, hidden, ("fc6",)))
        _attach(self, "fc8", f.linear("fc8", hidden, _classes(spec), ("fc7",), last=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, 6):
            x = F.relu(_call(self, f"conv{i}", x))
            if i in (1, 2, 5):
                x = F.max_pool2d(x, 3, 2)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 6), 1)
        x = F.relu(_call(self, "fc6", x))
        x = F.relu(_call(self, "fc7", x))
        return _call(self, "fc8", x)


class Fire(nn.Module):
    """SqueezeNet fire module: 1x1 squeeze, ReLU, then 1x1 and 3x3 expands (ReLU each),
    concatenated on channels (1x1 first)."""

    def __init__(self, f: _Factory, name: str, in_c: int, sq: int, e1: int, e3: int,
                 sources: tuple[str, ...]):
        super().__init__()
        _attach(self, "squeeze", f.conv(f"{name}.squeeze", in_c, sq, 1, 1, 0, sources))
        _attach(self, "expand1x1", f.conv(f"{name}.expand1x1", sq, e1, 1, 1, 0,
                                          (f"{name}.squeeze",)))
        _attach(self, "expand3x3", f.conv(f"{name}.expand3x3", sq, e3, 3, 1, 1,
                                          (f"{name}.squeeze",)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.relu(_call(self, "squeeze", x))
        return torch.cat([F.relu(_call(self, "expand1x1", s)),
                          F.relu(_call(self, "expand3x3", s))], 1)


class SqueezeNet(nn.Module):
    """SqueezeNet 1.0: 7x7/s2 stem (96 channels), fire2..fire9 with 3x3/s2 ceil-mode max-pools
    after the stem, fire4 and fire8, a 1x1 classifier conv10 (ReLU), global average pool."""

    def __init__(self, spec: ModelSpec, f: _Factory):
        super().__init__()
        c = scaled(96, spec.width)
        _attach(self, "conv1", f.conv("conv1", 3, c, 7, 2, 0, (), first=True))
        size = _size(spec, _res(spec), 7, 2, 0, "conv1")
        size = _size(spec, size, 3, 2, 0, "the max-pool after conv1", ceil=True)
        sources: tuple[str, ...] = ("conv1",)
        for i, (sq, e1, e3) in enumerate(FIRES, 2):
            sq, e1, e3 = (scaled(v, spec.width) for v in (sq, e1, e3))
            _size(spec, size, 3, 1, 1, f"fire{i}")
            setattr(self, f"fire{i}", Fire(f, f"fire{i}", c, sq, e1, e3, sources))
            c, sources = e1 + e3, (f"fire{i}.expand1x1", f"fire{i}.expand3x3")
            if i in POOL_AFTER:
                size = _size(spec, size, 3, 2, 0, f"the max-pool after fire{i}", ceil=True)
        _attach(self, "conv10", f.conv("conv10", c, _classes(spec), 1, 1, 0, sources, last=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(_call(self, "conv1", x)), 3, 2, ceil_mode=True)
        for i in range(2, 2 + len(FIRES)):
            x = getattr(self, f"fire{i}")(x)
            if i in POOL_AFTER:
                x = F.max_pool2d(x, 3, 2, ceil_mode=True)
        return F.relu(_call(self, "conv10", x)).mean(dim=(2, 3))


def build_binary_model(spec: ModelSpec) -> nn.Module:
    """The network of ``spec`` (see the module docstring), in eval mode, parameters drawn from a
    ``torch.Generator`` seeded with ``spec.seed``, BatchNorms calibrated. Raises
    :class:`InputError` for a ``binarize`` entry naming no binarizable layer or a resolution too
    small for the network."""
    gen = torch.Generator().manual_seed(spec.seed)
    f = _Factory(spec, gen)
    if spec.model == "alexnet":
        model: nn.Module = AlexNet(spec, f)
    elif spec.model == "squeezenet1_0":
        model = SqueezeNet(spec, f)
    elif spec.model == "resnet20":
        model = BinaryResNet(spec, f, RESNET20_STAGES, imagenet=False)
    else:
        model = BinaryResNet(spec, f, RESNET18_STAGES, imagenet=True)
    f.check()
    setattr(model, "layer_inputs", f.layer_inputs)   # noqa: B010 (plain attributes, as in models.py)
    setattr(model, "spec", spec)  # noqa: B010
    calibrate_batchnorm(model, spec)
    return model.eval()


def calibrate_batchnorm(model: nn.Module, spec: ModelSpec) -> None:
    """Set every BatchNorm's running statistics to those of one forward pass over two seeded
    random images (seed ``spec.seed + 1``), with one torch thread (deterministic)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None           # cumulative average: one batch sets the statistics
        x = torch.randn((2, 3, _res(spec), _res(spec)),
                        generator=torch.Generator().manual_seed(spec.seed + 1))
        model.train()
        with torch.no_grad():
            model(x)
    finally:
        for bn in bns:
            bn.momentum = 0.1
        model.eval()
        torch.set_num_threads(threads)


def binarizable_layers(model: nn.Module) -> list[str]:
    """Names of the layers that can be given a kind (every conv / FC but the first), in order."""
    names = [n for n, m in iter_layers(model)
             if isinstance(m, (nn.Conv2d, nn.Linear, WeightBinConv2d, FullBinConv2d,
                               WeightBinLinear, FullBinLinear))]
    return names[1:]


def is_binary_spec(spec: ModelSpec) -> bool:
    """Whether :func:`build_binary_model` (rather than the strassen family's builder) builds
    ``spec``."""
    return spec.variant in BINARY_VARIANTS or spec.model in ("alexnet", "squeezenet1_0")
