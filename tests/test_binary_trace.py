"""Traces of binary networks: stage counts against closed forms written here (not from
accelsim.workload.binary), repeated kernels against the weights, the xnor op class's word
counts, the loader's checks of the new stage fields, and the bundled binary workloads."""
from __future__ import annotations

import json
import math

import pytest
from conftest import WORKLOADS
from hypothesis import given
from hypothesis import strategies as st

from accelsim.errors import WorkloadError
from accelsim.workload import loads_workload
from accelsim.workload.schema import Stage


def _o(size, k, s, pad):
    return (size + 2 * pad - k) // s + 1


def resnet18_arch(res, width, classes):
    """[(name, in_c, out_c, k, stride, pad, in_size)] of ResNet-18's convs, 'add' and 'fc'."""
    c = max(1, int(64 * width))
    out = [("conv1", 3, c, 7, 2, 3, res)]
    size = _o(_o(res, 7, 2, 3), 3, 2, 1)
    for si, ch in enumerate((64, 128, 256, 512), 1):
        for b in range(2):
            s, oc, p = (2 if si > 1 and b == 0 else 1), max(1, int(ch * width)), f"layer{si}.{b}"
            out.append((f"{p}.conv1", c, oc, 3, s, 1, size))
            out.append((f"{p}.conv2", oc, oc, 3, 1, 1, _o(size, 3, s, 1)))
            if s != 1 or c != oc:
                out.append((f"{p}.shortcut", c, oc, 1, s, 0, size))
            out.append((f"{p}.add", oc, oc, 1, 1, 0, _o(size, 3, s, 1)))
            c, size = oc, _o(size, 3, s, 1)
    return out + [("fc", c, classes, 1, 1, 0, 1)]


def expected_stages(arch, kinds):
    """{layer: {stage: (unit, ops)}} and {layer: words} from the definitions of
    docs/workload-format.md."""
    ops, words = {}, {}
    for name, ci, co, k, s, pad, size in arch:
        oh = size if name.endswith("add") or name == "fc" else _o(size, k, s, pad)
        m, kk = oh * oh, k * k * ci
        kind = kinds.get(name, "fp")
        if name.endswith("add"):
            ops[name] = {"add": ("add", m * co)}
            continue
        if kind == "fp":
            ops[name] = {"conv": ("mac", m * co * kk), "bias": ("add", m * co)}
            continue
        ops[f"{name}_bn"] = {"conv": ("mac", size * size * ci), "bias": ("add", size * size * ci)}
        if kind == "wbin":
            ops[name] = {"conv": ("add", m * co * kk), "scale": ("mul", m * co)}
        else:
            ops[name] = {"k_sum": ("add", size * size * ci), "xnor": ("xnor", m * co * kk),
                         "scale": ("mul", 2 * m * co)}
            if k > 1:
                ops[name]["k_box"] = ("add", m * k * k)
            words[name] = m * co * math.ceil(kk / 64)
    return ops, words


@pytest.fixture(scope="module")
def hybrid():
    pytest.importorskip("torch")
    from accelsim.reference.models import build_model
    from accelsim.reference.spec import ModelSpec
    from accelsim.reference.trace import trace
    spec = ModelSpec("resnet18", width=0.25, resolution=64, classes=10, variant="hbn",
                     binarize=(("layer2.0.conv2", "wbin"), ("layer3.0.shortcut", "wbin"),
                               ("layer4.1.conv1", "fp")), word_bits=32)
    return spec, trace(spec), build_model(spec)


def test_binary_stage_counts_equal_closed_forms(hybrid):
    spec, wl, _ = hybrid
    arch = resnet18_arch(64, 0.25, 10)
    kinds = {name: "fbin" for name, *_ in arch[1:-1] if not name.endswith("add")}
    kinds.update(dict(spec.binarize))
    ops, words = expected_stages(arch, kinds)
    got = {layer.name: {s.name: (s.op, s.ops_dense) for s in layer.stages}
           for layer in wl.layers}
    assert got == ops
    for layer in wl.layers:
        for s in layer.stages:
            assert s.ops_nonzero == s.ops_dense                 # binary weights have no zeros
            if s.op == "xnor":
                assert (s.word_bits, s.ops_words) == (32, s.m * s.n * math.ceil(s.k / 32))
                assert s.word_ops(64) == words[layer.name]
    assert {layer.variant for layer in wl.layers} == {"fp", "wbin", "fbin"}


def test_unique_kernels_are_counted_from_the_weights(hybrid):
    from accelsim.reference.trace import iter_layers, layer_arrays
    _, wl, model = hybrid
    for name, mod in iter_layers(model):
        arrays = layer_arrays(mod)
        if arrays["kind"] not in ("wbin_conv", "fbin_conv"):
            continue
        w = arrays["w"].reshape(arrays["w"].shape[0], arrays["w"].shape[1], -1)
        want = sum(len({tuple(w[o, c]) for o in range(w.shape[0])}) for c in range(w.shape[1]))
        stage = wl.layer(name).stages[0 if arrays["kind"] == "wbin_conv" else -2]
        assert (stage.kernel_taps, stage.unique_kernels) == (w.shape[2], want)


def test_provenance_rebuilds_the_spec_and_the_trace_is_deterministic(hybrid):
    from accelsim.reference.spec import ModelSpec
    from accelsim.reference.trace import trace
    from accelsim.workload import dumps_workload
    spec, wl, _ = hybrid
    assert ModelSpec.from_provenance(wl.provenance) == spec
    assert wl.name == "resnet18_0.25_64px_10cls_hbn_w32_2wbin_1fp"
    assert dumps_workload(trace(spec)) == dumps_workload(wl)


@given(st.integers(1, 10 ** 6), st.integers(0, 10))
def test_word_ops_for_any_power_of_two_width(k, log_w):
    w = 2 ** log_w
    stage = Stage(name="xnor", role="xnor", op="xnor", m=3, n=5, k=k, groups=1,
                  ops_dense=15 * k, ops_nonzero=15 * k)
    words = stage.word_ops(w)
    assert words == 15 * -(-k // w) and (words - 15) * w < 15 * k <= words * w
    with pytest.raises(ValueError):
        stage.word_ops(w + 3 if w > 1 else 3)


def _one_stage_doc(**fields):
    """A FullBinConv layer (its xnor stage: m = 4, n = 2, k = 72) whose xnor stage has the
    binary fields ``fields`` and no others."""
    from accelsim.workload import workload_to_dict
    from accelsim.workload.binary import fbin_layer
    from accelsim.workload.schema import Shape, Workload

    layer = fbin_layer("b", "conv", Shape(2, 2, 8, 2, 2, 2, 3, 3, 1, 1), unique_kernels=0)
    doc = workload_to_dict(Workload("t", (layer,)))
    stage = next(s for s in doc["layers"][0]["stages"] if s["name"] == "xnor")
    for key in ("word_bits", "ops_words", "kernel_taps", "unique_kernels"):
        stage.pop(key, None)
    stage.update(fields)
    return json.dumps(doc)


@pytest.mark.parametrize("fields,problem", [
    ({"word_bits": 64, "ops_words": 16}, None),
    ({"word_bits": 64, "ops_words": 17}, "ops_words: 17 (must equal m*n*ceil(k/word_bits) = 16)"),
    ({"word_bits": 48, "ops_words": 8}, "word_bits: 48 (bits per packed word: must be a power"),
    ({"word_bits": 64}, "ops_words: <missing> (required when word_bits is given)"),
    ({"kernel_taps": 9, "unique_kernels": 16}, None),
    ({"kernel_taps": 5, "unique_kernels": 3}, "kernel_taps: 5 (must divide k = 72)"),
    ({"kernel_taps": 9, "unique_kernels": 17}, "unique_kernels: 17 (must be <= n*k/kernel_taps"),
    ({"unique_kernels": 3}, "kernel_taps: <missing> (required when unique_kernels is given)"),
])
def test_loader_checks_the_binary_stage_fields(fields, problem):
    text = _one_stage_doc(**fields)
    if problem is None:
        stage = loads_workload(text).layers[0].stage("xnor")
        assert all(getattr(stage, k) == v for k, v in fields.items())
        return
    with pytest.raises(WorkloadError) as err:
        loads_workload(text, "f.json")
    assert str(err.value).startswith(f"f.json: layers[b].stages[xnor].{problem}")
    assert len(err.value.problems) == 1


def test_bundled_binary_resnet18_workloads():
    """FPrec (the baseline), WBin, FBin and the paper's hybrid: same convs, same MACs."""
    from accelsim.workload import load_workload
    wls = {v: load_workload(WORKLOADS / f"resnet18_{v}.json")
           for v in ("baseline", "wbin", "fbin", "hbn_7wbin")}

    def main_ops(wl):
        return {layer.name: max(s.ops_dense for s in layer.stages) for layer in wl.layers
                if layer.kind in ("conv", "linear")}
    base = main_ops(wls["baseline"])
    assert sum(base.values()) == 1_814_073_344
    for v in ("wbin", "fbin", "hbn_7wbin"):
        assert main_ops(wls[v]) == base
    hyb = {layer.name: layer.variant for layer in wls["hbn_7wbin"].layers
           if layer.kind in ("conv", "linear")}
    assert sorted(n for n, k in hyb.items() if k == "wbin") == sorted(
        ["layer3.1.conv1", "layer3.1.conv2", "layer4.0.conv1", "layer4.0.conv2",
         "layer4.0.shortcut", "layer4.1.conv1", "layer4.1.conv2"])
    assert hyb["conv1"] == hyb["fc"] == "fp" and sum(k == "fbin" for k in hyb.values()) == 12
