"""The TWN quantizer and the ternary / strassenified / hybrid layers of accelsim.reference."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
F = torch.nn.functional

from accelsim.reference.layers import (
    HybridConv2d,
    StrassenConv2d,
    StrassenLinear,
    TernaryConv2d,
    TernaryConvTranspose2d,
    TernaryLinear,
    make_conv,
)
from accelsim.reference.quant import ternarize, ternary_ste
from accelsim.reference.trace import layer_arrays

pytestmark = pytest.mark.usefixtures("one_torch_thread")


_floats = st.floats(min_value=-100.0, max_value=100.0, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(st.lists(_floats, min_size=1, max_size=64), st.lists(_floats, min_size=64, max_size=64))
def test_twn_quantizer_values_threshold_and_straight_through_gradient(values, upstream):
    w = torch.tensor(values, dtype=torch.float32, requires_grad=True)
    wt, scale = ternarize(w)
    assert wt.dtype == torch.int8
    assert set(wt.unique().tolist()) <= {-1, 0, 1}
    a = np.abs(np.array(values, dtype=np.float32))
    delta = np.float32(0.7) * a.mean(dtype=np.float32)
    expect = np.where(np.array(values, dtype=np.float32) > delta, 1, 0) - \
        np.where(np.array(values, dtype=np.float32) < -delta, 1, 0)
    # values within float rounding of the threshold may go either way
    near = np.isclose(a, delta, rtol=1e-5, atol=1e-6)
    assert np.array_equal(wt.numpy()[~near], expect[~near])
    nz = wt.numpy() != 0
    if nz.any():
        assert float(scale) == pytest.approx(float(a[nz].mean()), rel=1e-5)
    else:
        assert float(scale) == 0.0
    q = ternary_ste(w)
    assert torch.equal(q.detach(), scale * wt.float())
    g = torch.tensor(upstream[:len(values)], dtype=torch.float32)
    (q * g).sum().backward()
    assert torch.equal(w.grad, g)  # straight-through: d(q)/d(w) = identity


def test_quantizer_on_gaussian_weights_zeroes_about_forty_percent():
    w = torch.randn(100_000, generator=torch.Generator().manual_seed(3))
    wt, scale = ternarize(w)
    zero_fraction = float((wt == 0).float().mean())
    # for N(0,1): delta = 0.7*sqrt(2/pi) = 0.5585, P(|w| < delta) = 0.4238
    assert zero_fraction == pytest.approx(0.4238, abs=0.005)
    assert float(scale) == pytest.approx(1.1846, abs=0.01)  # phi(delta) / (1 - Phi(delta))


def _ternary_kernel(shape, seed):
    return torch.randint(-1, 2, shape, generator=torch.Generator().manual_seed(seed)).float()


@pytest.mark.parametrize("k,s,pad,p,size", [(3, 1, 1, 2, 7), (3, 2, 1, 2, 9), (7, 2, 3, 2, 13),
                                            (1, 2, 0, 3, 10), (3, 1, 1, 1, 5), (3, 2, 1, 3, 8)])
def test_strassen_conv_geometry_reproduces_a_ternary_conv_exactly(k, s, pad, p, size):
    # r = c_out * p * p hidden channels: hidden channel (o, a, b) holds kernel o shifted to
    # offset (a*s, b*s) of the kb x kb window, and W_c routes it to output o at offset (a, b).
    # With +-1 weights both TWN scales are 1, so the SPN must equal conv(x, K) exactly; this
    # pins W_b's kernel, stride and padding, W_c's layout and the crop.
    c_in, c_out = 2, 3
    kern = _ternary_kernel((c_out, c_in, k, k), 1)
    kern[0, 0, 0, 0] = 1.0
    layer = StrassenConv2d(c_in, c_out, k, s, pad, hidden=c_out * p * p, patch=p)
    kb = (p - 1) * s + k
    wb = torch.zeros(c_out * p * p, c_in, kb, kb)
    wc = torch.zeros(c_out * p * p, c_out, p, p)
    for o in range(c_out):
        for a in range(p):
            for b in range(p):
                h = (o * p + a) * p + b
                wb[h, :, a * s:a * s + k, b * s:b * s + k] = kern[o]
                wc[h, o, a, b] = 1.0
    with torch.no_grad():
        layer.wb.weight.copy_(wb)
        layer.wc.weight.copy_(wc)
        layer.a.fill_(1.0)
        x = torch.randn(1, c_in, size, size + 1, generator=torch.Generator().manual_seed(2))
        ref = F.conv2d(x, kern, layer.bias, s, pad)
        y = layer(x)
    assert y.shape == ref.shape
    torch.testing.assert_close(y, ref, rtol=1e-5, atol=1e-5)
    top, left, bottom, right = layer.wb_padding(size, size + 1)
    assert (top, left) == (pad, pad)
    hidden = F.conv2d(F.pad(x, (left, right, top, bottom)), wb, None, p * s)
    assert hidden.shape[-2:] == (math.ceil(ref.shape[2] / p), math.ceil(ref.shape[3] / p))


def test_resnet18_last_stage_maps_give_a_4x4_hidden_map_with_patch_2():
    layer = StrassenConv2d(4, 4, 3, 1, 1, hidden=4, patch=2, in_hw=(7, 7))
    arrays = layer_arrays(layer)
    assert arrays["padding"] == (1, 1, 2, 2) and arrays["stride"] == 2
    assert (arrays["out_h"], arrays["out_w"]) == (7, 7)
    assert arrays["wb"].shape == (4, 4, 4, 4) and arrays["wc"].shape == (4, 4, 2, 2)
    x = torch.randn(1, 4, 7, 7, generator=torch.Generator().manual_seed(0))
    top, left, bottom, right = arrays["padding"]
    hidden = F.conv2d(F.pad(x, (left, right, top, bottom)), torch.from_numpy(arrays["wb"]).float(),
                      None, arrays["stride"])
    assert hidden.shape == (1, 4, 4, 4)
    assert layer(x).shape == (1, 4, 7, 7)


def _from_arrays(d, x):
    """The documented semantics of layer_arrays, evaluated with torch.functional."""
    t = lambda a: torch.from_numpy(np.asarray(a)).float()
    bias = None if d.get("bias") is None else t(d["bias"])
    if d["kind"] == "conv":
        return F.conv2d(x, t(d["w"]), bias, d["stride"], d["padding"], 1, d["groups"])
    if d["kind"] == "linear":
        return F.linear(x, t(d["w"]), bias)
    if d["kind"] == "ternary_conv":
        return F.conv2d(x, d["scale"] * t(d["w"]), bias, d["stride"], d["padding"], 1,
                        d["groups"])
    if d["kind"] == "ternary_linear":
        return F.linear(x, d["scale"] * t(d["w"]), bias)
    if d["kind"] == "strassen_linear":
        h = t(d["a"]) * (d["wb_scale"] * F.linear(x, t(d["wb"])))
        return bias + d["wc_scale"] * F.linear(h, t(d["wc"]))
    if d["kind"] == "strassen_conv":
        top, left, bottom, right = d["padding"]
        h = d["wb_scale"] * F.conv2d(F.pad(x, (left, right, top, bottom)), t(d["wb"]), None,
                                     d["stride"], 0, 1, d["groups"])
        h = t(d["a"]).view(1, -1, 1, 1) * h
        y = d["wc_scale"] * F.conv_transpose2d(h, t(d["wc"]), None, d["patch"])
        return y[:, :, :d["out_h"], :d["out_w"]] + bias.view(1, -1, 1, 1)
    assert d["kind"] == "hybrid_conv"
    return torch.cat([_from_arrays(d["fp"], x), _from_arrays(d["st"], x)], dim=1)


@pytest.mark.parametrize("make,xshape", [
    (lambda g: make_conv(6, 6, 3, 2, 1, groups=6, generator=g), (1, 6, 9, 9)),
    (lambda g: torch.nn.utils.skip_init(torch.nn.Linear, 5, 3), (2, 5)),
    (lambda g: TernaryConv2d(4, 8, 3, 1, 1, generator=g), (1, 4, 6, 6)),
    (lambda g: TernaryLinear(16, 8, generator=g), (2, 16)),
    (lambda g: StrassenLinear(16, 10, hidden=12, generator=g), (2, 16)),
    (lambda g: StrassenConv2d(8, 6, 3, 2, 1, hidden=8, patch=2, groups=4, in_hw=(11, 11),
                              generator=g), (1, 8, 11, 11)),
    (lambda g: HybridConv2d(8, 10, 1, 1, 0, c_fp=3, hidden=9, in_hw=(5, 5), generator=g),
     (1, 8, 5, 5)),
])
def test_layer_arrays_semantics_match_the_forward_pass(make, xshape):
    g = torch.Generator().manual_seed(5)
    layer = make(g)
    if isinstance(layer, torch.nn.Linear):
        with torch.no_grad():
            layer.weight.normal_(generator=g)
            layer.bias.normal_(generator=g)
    x = torch.randn(xshape, generator=g)
    d = layer_arrays(layer)
    for key in ("w", "wb", "wc"):
        if key in d and d["kind"] != "conv" and d["kind"] != "linear":
            assert d[key].dtype == np.int8 and set(np.unique(d[key])) <= {-1, 0, 1}
    with torch.no_grad():
        torch.testing.assert_close(_from_arrays(d, x), layer(x), rtol=1e-5, atol=1e-5)


def test_ternary_conv_transpose_matches_the_float_op_on_its_quantized_weights():
    layer = TernaryConvTranspose2d(4, 3, 2, stride=2, generator=torch.Generator().manual_seed(1))
    wt, scale = ternarize(layer.weight)
    x = torch.randn(1, 4, 3, 5, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(layer(x), F.conv_transpose2d(x, scale * wt.float(), None, 2))
    assert layer(x).shape == (1, 3, 6, 10)


def test_gradients_reach_every_strassen_parameter_through_the_quantizers():
    layer = HybridConv2d(4, 8, 3, 1, 1, c_fp=2, hidden=6, patch=2,
                         generator=torch.Generator().manual_seed(0))
    x = torch.randn(2, 4, 6, 6, generator=torch.Generator().manual_seed(1))
    layer(x).square().sum().backward()
    for name, param in layer.named_parameters():
        assert param.grad is not None and float(param.grad.abs().sum()) > 0, name


def test_layers_are_deterministic_given_a_generator_and_leave_global_rng_alone():
    state = torch.random.get_rng_state()
    a = StrassenConv2d(4, 4, 3, hidden=5, generator=torch.Generator().manual_seed(9))
    b = StrassenConv2d(4, 4, 3, hidden=5, generator=torch.Generator().manual_seed(9))
    make_conv(3, 4, 3, generator=torch.Generator().manual_seed(9))
    assert torch.equal(torch.random.get_rng_state(), state)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_bad_groups_and_hybrid_split_raise_value_errors():
    with pytest.raises(ValueError, match="groups = 3"):
        StrassenConv2d(4, 4, 3, hidden=6, groups=3)
    with pytest.raises(ValueError, match="c_fp = 4"):
        HybridConv2d(4, 4, 3, c_fp=4, hidden=4)
