"""Binary layers and networks of the reference model: XNOR-Net / BWN semantics written out
independently, straight-through gradients, layer kinds and names, spec fields and errors."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F
from torch import nn

from accelsim.errors import InputError
from accelsim.reference.binary import (
    FullBinConv2d,
    FullBinLinear,
    WeightBinConv2d,
    WeightBinLinear,
    binary_sign,
    unique_kernels,
)
from accelsim.reference.models import build_model, input_shape
from accelsim.reference.spec import ModelSpec
from accelsim.reference.trace import iter_layers

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_sign_is_plus_one_at_zero_with_a_clipped_straight_through_gradient():
    x = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5], requires_grad=True)
    y = binary_sign(x)
    assert y.tolist() == [-1, -1, -1, 1, 1, 1, 1]
    y.backward(torch.arange(1.0, 8.0))
    assert x.grad.tolist() == [0, 2, 3, 4, 5, 6, 0]


def test_weight_bin_conv_is_bwn():
    g = torch.Generator().manual_seed(1)
    conv = WeightBinConv2d(5, 4, 3, stride=2, padding=1, generator=g)
    x = torch.randn(2, 5, 7, 7, generator=g)
    w = conv.weight.detach()
    alpha = w.abs().mean(dim=(1, 2, 3))
    want = F.conv2d(x, torch.sign(w) * alpha.view(-1, 1, 1, 1), stride=2, padding=1)
    torch.testing.assert_close(conv(x), want, rtol=1e-5, atol=1e-5)
    conv(x).sum().backward()
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0


def test_full_bin_conv_is_xnor_net():
    """sign(I) (*) sign(W) scaled by alpha = mean|W_o| and K = avgpool(mean_c |I|) (XNOR-Net's
    K = A (*) k with a box filter k of 1 / (kh kw), zero padded)."""
    g = torch.Generator().manual_seed(2)
    conv = FullBinConv2d(6, 3, 3, stride=1, padding=1, generator=g)
    x = torch.randn(2, 6, 5, 5, generator=g, requires_grad=True)
    w = conv.weight.detach()
    alpha = w.abs().mean(dim=(1, 2, 3)).view(1, -1, 1, 1)
    k_map = F.avg_pool2d(x.detach().abs().mean(1, keepdim=True), 3, 1, 1,
                         count_include_pad=True)
    want = F.conv2d(torch.sign(x.detach()), torch.sign(w), padding=1) * alpha * k_map
    torch.testing.assert_close(conv(x), want, rtol=1e-5, atol=1e-6)
    conv(x).sum().backward()
    assert x.grad.abs().sum() > 0 and conv.weight.grad.abs().sum() > 0


def test_binary_linear_layers():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, 20, generator=g)
    fb, wb = FullBinLinear(20, 7, generator=g), WeightBinLinear(20, 7, generator=g)
    w = fb.weight.detach()
    want = (torch.sign(x) @ torch.sign(w).T) * w.abs().mean(1) * x.abs().mean(1, keepdim=True)
    torch.testing.assert_close(fb(x), want, rtol=1e-5, atol=1e-6)
    w = wb.weight.detach()
    torch.testing.assert_close(wb(x), x @ (torch.sign(w) * w.abs().mean(1, keepdim=True)).T,
                               rtol=1e-5, atol=1e-5)


def test_unique_kernels_counts_distinct_patterns_per_input_channel():
    w = np.ones((4, 2, 2, 2), np.int8)
    w[1, 0, 0, 0] = -1          # channel 0: patterns {all +1, one -1}: 2 distinct
    w[3, 1] = -1                # channel 1: {all +1, all -1}: 2 distinct
    w[2, 1, 1, 1] = -1          # channel 1: a third pattern
    assert unique_kernels(w) == 2 + 3
    rng = np.random.default_rng(0)
    for shape in [(30, 5, 3, 3), (12, 3, 9, 9), (40, 6)]:   # 9x9 uses the generic path
        w = np.where(rng.random(shape) < 0.5 if len(shape) == 2 else rng.random(shape) < 0.1,
                     1, -1)
        flat = w.reshape(w.shape[0], w.shape[1], -1)
        want = sum(len({tuple(flat[o, c]) for o in range(w.shape[0])})
                   for c in range(w.shape[1]))
        assert unique_kernels(w) == want


MODELS = [("alexnet", {"width": 0.25, "resolution": 64, "classes": 10}),
          ("squeezenet1_0", {"width": 0.25, "resolution": 64, "classes": 10}),
          ("resnet18", {"width": 0.25, "resolution": 32, "classes": 10}),
          ("resnet20", {"width": 0.5, "resolution": 16, "classes": 4})]


def _kinds(model):
    out = {}
    for name, mod in iter_layers(model):
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            out[name] = "fp"
        elif isinstance(mod, (WeightBinConv2d, WeightBinLinear)):
            out[name] = "wbin"
        elif isinstance(mod, (FullBinConv2d, FullBinLinear)):
            out[name] = "fbin"
    return out


@pytest.mark.parametrize("model,kw", MODELS)
def test_variants_first_layer_fp_last_selectable_and_per_layer_choices(model, kw):
    variants = ["wbin", "fbin", "hbn"] + (["baseline"] if model in ("alexnet",
                                                                     "squeezenet1_0") else [])
    for variant in variants:
        m = build_model(ModelSpec(model, variant=variant, **kw))
        kinds = list(_kinds(m).values())
        default = {"baseline": "fp", "wbin": "wbin", "fbin": "fbin", "hbn": "fbin"}[variant]
        assert kinds[0] == "fp" and kinds[-1] == "fp" and set(kinds[1:-1]) == {default}
        y = m(torch.randn(input_shape(m.spec)))
        assert y.shape == (1, m.spec.classes) and bool(torch.isfinite(y).all())
    names = list(_kinds(m))
    pick = [(names[1], "wbin"), (names[2], "fp"), (names[-1], "fbin")]
    m = build_model(ModelSpec(model, variant="hbn", binarize=pick, binary_last=True, **kw))
    kinds = _kinds(m)
    assert [kinds[n] for n, _ in pick] == ["wbin", "fp", "fbin"] and kinds[names[3]] == "fbin"
    bns = {n for n, mod in iter_layers(m) if isinstance(mod, nn.modules.batchnorm._BatchNorm)}
    assert bns == {f"{n}_bn" for n, k in kinds.items() if k != "fp"}
    assert all(m.layer_inputs[n] == (f"{n}_bn",) for n in kinds if kinds[n] != "fp")


def test_batchnorm_calibration_centres_binary_inputs():
    m = build_model(ModelSpec("resnet18", variant="fbin", width=0.25, resolution=32))
    seen = []
    hooks = [mod.register_forward_hook(lambda _m, i, _o: seen.append(float((i[0] >= 0)
                                                                          .float().mean())))
             for _, mod in iter_layers(m) if isinstance(mod, FullBinConv2d)]
    m(torch.randn(input_shape(m.spec), generator=torch.Generator().manual_seed(9)))
    for h in hooks:
        h.remove()
    assert len(seen) == 19 and all(0.2 < s < 0.8 for s in seen)


def test_spec_fields_and_errors():
    old = ModelSpec("resnet18")
    assert "binarize" not in old.to_dict() and "word_bits" not in old.to_dict()
    spec = ModelSpec("resnet18", variant="hbn", binarize=[["layer4.0.conv1", "wbin"]],
                     binary_last=True, word_bits=32)
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    assert spec.slug() == "resnet18_hbn_binlast_w32_1wbin"
    bad = [({"model": "alexnet", "variant": "twn"}, "variant"),
           ({"model": "mobilenet_v1", "variant": "fbin"}, "variant"),
           ({"model": "resnet18", "binarize": [("fc", "wbin")]}, "binarize"),
           ({"model": "resnet18", "binary_last": True}, "binary_last"),
           ({"model": "resnet18", "variant": "fbin", "word_bits": 24}, "word_bits"),
           ({"model": "resnet18", "variant": "fbin", "binarize": [("a", "fp"), ("a", "wbin")]},
            "binarize[1].name")]
    for kw, field in bad:
        with pytest.raises(InputError) as err:
            ModelSpec(**kw)
        assert [p.field for p in err.value.problems] == [field], kw
    with pytest.raises(InputError) as err:
        build_model(ModelSpec("alexnet", variant="fbin", resolution=32))
    assert err.value.problems[0].field == "resolution"
