"""Traces of the reference networks: op counts against closed forms written here from
docs/accounting.md (not from accelsim.workload.build), zero-skip counts against the quantized
weights, names, producers and determinism."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from accelsim.reference.models import build_model, input_shape
from accelsim.reference.spec import ModelSpec
from accelsim.reference.trace import iter_layers, layer_arrays, trace
from accelsim.workload import dumps_workload, loads_workload

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- an independent description of the three networks ---------------------------------------
def _o(size, k, s, pad):
    return (size + 2 * pad - k) // s + 1


def _c(ch, width):
    return max(1, int(ch * width + 1e-9))


def arch(spec):
    """[(name, kind, in_c, out_c, k, s, pad, in_size)] in order, kind in conv/dw/fc/add."""
    w, size, out = spec.width, spec.resolution, []
    if spec.model == "mobilenet_v1":
        c = _c(32, w)
        out.append(("conv1", "conv", 3, c, 3, 2, 1, size))
        size = _o(size, 3, 2, 1)
        table = [64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]
        strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
        for i, (ch, s) in enumerate(zip(table, strides), 1):
            out.append((f"dw{i}", "dw", c, c, 3, s, 1, size))
            size = _o(size, 3, s, 1)
            out.append((f"pw{i}", "conv", c, _c(ch, w), 1, 1, 0, size))
            c = _c(ch, w)
        return out + [("fc", "fc", c, spec.classes, 1, 1, 0, 1)]
    if spec.model == "resnet20":
        stages, c = [(16, 3, 1), (32, 3, 2), (64, 3, 2)], _c(16, w)
        out.append(("conv1", "conv", 3, c, 3, 1, 1, size))
    else:
        stages, c = [(64, 2, 1), (128, 2, 2), (256, 2, 2), (512, 2, 2)], _c(64, w)
        out.append(("conv1", "conv", 3, c, 7, 2, 3, size))
        size = _o(_o(size, 7, 2, 3), 3, 2, 1)
    for si, (ch, blocks, stride) in enumerate(stages, 1):
        for b in range(blocks):
            s, p, oc = (stride if b == 0 else 1), f"layer{si}.{b}", _c(ch, w)
            out.append((f"{p}.conv1", "conv", c, oc, 3, s, 1, size))
            o = _o(size, 3, s, 1)
            out.append((f"{p}.conv2", "conv", oc, oc, 3, 1, 1, o))
            if s != 1 or c != oc:
                out.append((f"{p}.shortcut", "conv", c, oc, 1, s, 0, size))
            out.append((f"{p}.add", "add", oc, oc, 1, 1, 0, o))
            c, size = oc, o
    return out + [("fc", "fc", c, spec.classes, 1, 1, 0, 1)]


def expected(spec):
    """{name: (macs, adds, muls, weight bits)} from the formulas of docs/accounting.md."""
    fpb, res = 8 * spec.fp_bytes, {}
    ovr = {n: (a, f) for n, a, f in spec.overrides}
    for name, kind, ci, co, k, s, pad, size in arch(spec):
        oh = 1 if kind == "fc" else _o(size, k, s, pad)
        m = oh * oh
        if kind == "add":
            res[name] = (0, m * co, 0, 0)
            continue
        terms = k * k * (1 if kind == "dw" else ci)
        if spec.variant == "baseline" or (kind == "dw" and spec.variant != "twn"):
            res[name] = (m * co * terms, m * co, 0, (co * terms + co) * fpb)
        elif spec.variant == "twn":
            res[name] = (0, m * co * terms, 0, (co * terms + co) * 2)
        elif kind == "fc":
            r = spec.fc_hidden if spec.fc_hidden is not None else ci
            res[name] = (0, r * ci + co * r + co, r, (r * ci + co * r) * 2 + (r + co) * fpb)
        else:
            alpha, factor = ovr.get(name, (spec.alpha, spec.r_factor))
            p, g = spec.patch, math.gcd(spec.groups, ci)
            c_fp = math.floor(alpha * co + 1e-9)
            c_rem = co - c_fp
            r = max(g, round(factor * c_rem / g) * g)
            kb = (p - 1) * s + k
            hidden = math.ceil(oh / p) ** 2
            adds = r * hidden * kb * kb * ci // g + c_rem * r * m + co * m
            bits = (c_fp * (terms + 1) + r + c_rem) * fpb + (r * kb * kb * ci // g +
                                                               c_rem * r * p * p) * 2
            res[name] = (m * c_fp * terms, adds, r * hidden, bits)
    return res


def observed(wl):
    res = {}
    for layer in wl.layers:
        by = {"mac": 0, "add": 0, "mul": 0}
        for st in layer.stages:
            by[st.op] += st.ops_dense
        bits = sum(w.count * w.bits for st in layer.stages for w in st.weights)
        res[layer.name] = (by["mac"], by["add"], by["mul"], bits)
    return res


SPECS = [
    ModelSpec("mobilenet_v1", width=0.25, resolution=64, classes=10, variant=v, **kw)
    for v, kw in [("baseline", {}), ("twn", {}),
                  ("strassen", dict(r_factor=0.75, fc_hidden=24, fp_bytes=4)),
                  ("hybrid", dict(alpha=0.375, r_factor=1.6, fc_hidden=40)),
                  ("hybrid", dict(alpha=0.25, r_factor=1.33, patch=2, groups=4,
                                  overrides=(("pw5", 0.5, 2.0), ("conv1", 0.0, 1.0))))]
] + [
    ModelSpec(model, width=width, resolution=res, variant=v, classes=7, **kw)
    for model, width, res in [("resnet20", 0.5, 16), ("resnet18", 0.125, 96)]
    for v, kw in [("baseline", {}), ("twn", {}),
                  ("strassen", dict(r_factor=1.0, patch=2, groups=4, fc_hidden=16)),
                  ("hybrid", dict(alpha=0.5, r_factor=2.0, patch=2, groups=4))]
]


@pytest.fixture(scope="module", params=SPECS, ids=lambda s: s.slug())
def traced(request):
    spec = request.param
    return spec, trace(spec)


def test_trace_counts_equal_closed_forms_per_layer(traced):
    spec, wl = traced
    exp, obs = expected(spec), observed(wl)
    assert list(obs) == [a[0] for a in arch(spec)]
    for name in exp:
        assert obs[name] == exp[name], name


def test_zero_skip_counts_equal_nonzeros_of_the_quantized_weights(traced):
    spec, wl = traced
    model = build_model(spec)
    for (name, module), layer in zip(iter_layers(model), wl.layers):
        assert name == layer.name
        d = layer_arrays(module)
        st = d.get("st", d)
        out_h, out_w = layer.shape.out_h, layer.shape.out_w
        if d["kind"] in ("ternary_conv", "ternary_linear"):
            assert layer.stage("conv").ops_nonzero == np.count_nonzero(d["w"]) * out_h * out_w
        elif st["kind"] in ("strassen_conv", "strassen_linear"):
            p = st.get("patch", 1)
            hidden = math.ceil(out_h / p) * math.ceil(out_w / p)
            assert layer.stage("wb").ops_nonzero == np.count_nonzero(st["wb"]) * hidden
            if st["kind"] == "strassen_linear":
                wc_skip = np.count_nonzero(st["wc"])
            else:
                wc_skip = sum(np.count_nonzero(st["wc"][:, :, y % p, x % p])
                              for y in range(out_h) for x in range(out_w))
            assert layer.stage("wc").ops_nonzero == wc_skip
            assert 0 < layer.stage("wb").ops_nonzero < layer.stage("wb").ops_dense
        else:
            assert all(s.ops_nonzero == s.ops_dense for s in layer.stages)


def test_layer_names_producers_and_provenance(traced):
    spec, wl = traced
    names = [layer.name for layer in wl.layers]
    assert names[0] == "conv1" and names[-1] == "fc" and wl.layers[0].inputs == ()
    for layer in wl.layers[1:]:
        assert layer.inputs and all(names.index(i) < names.index(layer.name)
                                    for i in layer.inputs)
    if spec.model == "mobilenet_v1":
        assert wl.layer("pw1").inputs == ("dw1",) and wl.layer("dw2").inputs == ("pw1",)
    else:
        assert wl.layer("layer1.0.add").inputs == ("layer1.0.conv2", "conv1")
        assert wl.layer("layer2.0.add").inputs == ("layer2.0.conv2", "layer2.0.shortcut")
        assert wl.layer("layer2.0.shortcut").inputs == ("layer1.1.add" if spec.model == "resnet18"
                                                        else "layer1.2.add",)
    assert ModelSpec.from_provenance(wl.provenance) == spec
    reloaded = loads_workload(dumps_workload(wl))
    assert ModelSpec.from_provenance(reloaded.provenance) == spec
    assert wl.provenance["torch_version"] == torch.__version__


def test_trace_is_byte_identical_when_repeated():
    spec = SPECS[4]
    assert dumps_workload(trace(spec)) == dumps_workload(trace(spec))
    other = dumps_workload(trace(ModelSpec(**{**spec.to_dict(), "seed": 1,
                                              "overrides": spec.overrides})))
    assert other != dumps_workload(trace(spec))  # the seed changes the ternary non-zeros


def test_resnet18_224_last_stage_hidden_maps_are_4x4_with_patch_2():
    spec = ModelSpec("resnet18", width=0.0625, variant="strassen", patch=2, groups=4)
    wl = trace(spec)
    layer = wl.layer("layer4.1.conv2")
    assert (layer.shape.out_h, layer.shape.out_w) == (7, 7)
    assert layer.stage("wb").m == 16 and layer.stage("wc").m == 49
    assert observed(wl) == expected(spec)


@pytest.mark.parametrize("model", ["mobilenet_v1", "resnet20", "resnet18"])
@pytest.mark.parametrize("variant", ["baseline", "twn", "strassen", "hybrid"])
def test_forward_pass_of_every_variant(model, variant):
    kw = {"alpha": 0.25, "patch": 2} if variant == "hybrid" else {}
    spec = ModelSpec(model, width=0.25, resolution=32, classes=5, variant=variant, **kw)
    net = build_model(spec)
    x = torch.randn(input_shape(spec), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = net(x)
    assert y.shape == (1, 5) and bool(torch.isfinite(y).all()) and float(y.abs().max()) > 0
    y2 = build_model(spec)(x)
    assert torch.equal(y, y2.detach())


def test_hybrid_layers_concatenate_fp_channels_first():
    spec = ModelSpec("mobilenet_v1", width=0.25, resolution=32, variant="hybrid", alpha=0.5)
    net = build_model(spec)
    layer = net.pw3
    x = torch.randn(1, layer.in_channels, 4, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = layer(x)
        assert torch.equal(y[:, :layer.c_fp], layer.fp(x))
        assert torch.equal(y[:, layer.c_fp:], layer.st(x))


def test_wc_zero_skip_counts_use_each_offsets_own_slice_on_non_square_maps():
    from accelsim.reference.layers import StrassenConv2d
    from accelsim.reference.trace import trace_layer
    layer = StrassenConv2d(4, 3, 3, 1, 1, hidden=6, patch=2, generator=torch.Generator())
    with torch.no_grad():
        layer.wc.weight.fill_(1.0)
        layer.wc.weight[:, :, 0, 1] = 0.0   # offset (row 0, col 1) has no non-zeros
        layer.wc.weight[:2, :, 1, 0] = 0.0  # offset (row 1, col 0): 4 of 6 rows non-zero
    x = torch.zeros(1, 4, 5, 8)
    built = trace_layer("st", layer, tuple(x.shape), tuple(layer(x).shape))
    # 5 x 8 output: rows 0,2,4 / 1,3 by offset; cols 0,2,4,6 / 1,3,5,7
    per = {(0, 0): 3 * 4 * 18, (0, 1): 0, (1, 0): 2 * 4 * 12, (1, 1): 2 * 4 * 18}
    assert built.stage("wc").ops_nonzero == sum(per.values())
    assert built.stage("wb").m == 3 * 4
