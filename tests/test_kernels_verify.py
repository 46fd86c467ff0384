"""``accelsim verify``: the kernels against the torch reference, end to end, and its failures."""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")

from accelsim import api
from accelsim.cli import main
from accelsim.reference import capture as torch_side
from accelsim.reference.models import build_model, input_shape
from accelsim.reference.trace import iter_layers, layer_arrays
from accelsim.verify.run import check_layer
from accelsim.workload import dumps_workload, load_workload, loads_workload

WORKLOADS = Path(__file__).resolve().parent.parent / "workloads"
R20 = api.ModelSpec("resnet20", variant="strassen", r_factor=1.0, patch=2, groups=4)


def run(*args: str):
    return CliRunner().invoke(main, ["verify", *args])


@pytest.fixture(scope="module")
def r20_report():
    return api.verify(R20)


def test_resnet20_strassen_p2_g4_verifies(r20_report):
    rep = r20_report
    assert rep.ok, [c.problems for c in rep.failures]
    kinds = {c.kind for c in rep.layers}
    assert kinds == {"strassen_conv", "eltwise", "strassen_linear"}
    assert len(rep.layers) == 31 and rep.workload == "resnet20_strassen_r1_p2_g4"
    conv = next(c for c in rep.layers if c.name == "layer2.0.conv1")
    assert [s.stage for s in conv.stages] == ["wb", "a_mul", "wc", "st_bias"]
    wb = conv.stages[0]
    assert wb.nonzero_counted < wb.dense_counted          # zero-skipping skipped something
    assert all(0 < c.bound_ratio < 1 and 0 < c.bound_ratio_fp64 < 1
               for c in rep.layers if c.kind != "eltwise")
    assert all(c.max_rel_err < 1e-5 for c in rep.layers)


@pytest.mark.parametrize("name", ["mobilenet_v1_0.5_hybrid_a0.375_r1.6.json",
                                  "mobilenet_v1_0.5_twn.json", "resnet20_baseline.json"])
def test_bundled_workloads_verify(name):
    res = run(str(WORKLOADS / name))
    assert res.exit_code == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split()[:2] == ["layer", "kind"]
    assert lines[-1].endswith("all match")
    wl = load_workload(WORKLOADS / name)
    assert len(lines) == len(wl.layers) + 2


def test_resnet18_strassen_reduced_resolution_json():
    res = run("resnet18", "--variant", "strassen", "--r-factor", "1", "--patch", "2",
              "--groups", "4", "--resolution", "64", "--json")
    assert res.exit_code == 0, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["ok"] and doc["spec"]["resolution"] == 64 and doc["spec"]["groups"] == 4
    assert doc["source"] == "model options" and len(doc["layers"]) == 29
    conv1 = doc["layers"][0]
    assert conv1["name"] == "conv1" and conv1["kind"] == "strassen_conv" and conv1["ok"]


@pytest.fixture(scope="module")
def r20_layer():
    model = build_model(R20)
    named = dict(iter_layers(model))
    gen = torch.Generator().manual_seed(R20.seed)
    cap = torch_side.capture(model, list(named.items()), torch.randn(input_shape(R20),
                                                                     generator=gen))
    name = "layer2.0.conv2"
    return name, layer_arrays(named[name]), cap[name], api.trace(R20).layer(name)


def test_a_single_flipped_weight_fails_the_layer(r20_layer):
    name, arrays, (inputs, out_t), expected = r20_layer
    assert check_layer(name, arrays, inputs, out_t, expected, torch_side).ok
    wc = arrays["wc"].copy()
    k, c = np.argwhere(wc[:, :, 0, 0] != 0)[0]
    wc[k, c, 0, 0] = -wc[k, c, 0, 0]
    bad = check_layer(name, {**arrays, "wc": wc}, inputs, out_t, expected, torch_side)
    assert not bad.ok and bad.bound_ratio > 100
    assert any(p.startswith("zero-skip output differs from torch") for p in bad.problems)


def test_the_float64_check_catches_a_tiny_kernel_error(r20_layer, monkeypatch):
    """An error far below float32 resolution (1e-10 relative) still fails the float64 check."""
    from accelsim.verify import layers
    name, arrays, (inputs, out_t), expected = r20_layer
    real = layers.run_layer

    def off_by_a_little(arrays, x, *, zero_skip, dtype="float32"):
        out, counts = real(arrays, x, zero_skip=zero_skip, dtype=dtype)
        if dtype == "float64":
            out[0, 0, 0, 0] += 1e-10 * np.abs(out).max()
        return out, counts

    monkeypatch.setattr(layers, "run_layer", off_by_a_little)
    bad = check_layer(name, arrays, inputs, out_t, expected, torch_side)
    assert bad.bound_ratio < 1 < bad.bound_ratio_fp64
    assert [p.split(" output")[0] for p in bad.problems] == ["float64 dense", "float64 zero-skip"]


def test_a_count_mismatch_fails_the_stage(r20_layer):
    name, arrays, (inputs, out_t), expected = r20_layer
    wb = expected.stage("wb")
    wrong = dataclasses.replace(expected, stages=tuple(
        dataclasses.replace(s, ops_nonzero=s.ops_nonzero - 1) if s is wb else s
        for s in expected.stages))
    bad = check_layer(name, arrays, inputs, out_t, wrong, torch_side)
    assert bad.problems == (f"stage wb: the kernels counted {wb.ops_nonzero:,} add ops "
                            f"(zero-skip), the workload says {wb.ops_nonzero - 1:,}",)


def test_cli_mismatch_exits_1_naming_the_layer(tmp_path):
    doc = json.loads((WORKLOADS / "resnet20_strassen_r1_p2_g4.json").read_text())
    layer = next(layer for layer in doc["layers"] if layer["name"] == "layer3.1.conv1")
    stage = next(s for s in layer["stages"] if s["name"] == "wc")
    stage["ops_nonzero"] += 7
    stage["ops_nonzero_per_channel"][0] += 7
    path = tmp_path / "tampered.json"
    path.write_text(dumps_workload(loads_workload(json.dumps(doc))))
    res = run(str(path))
    assert res.exit_code == 1
    assert "layer3.1.conv1" in res.stderr and "stage wc" in res.stderr
    assert "1 failing" in res.stdout


@pytest.mark.parametrize("args,text", [
    (["missing.json"], "cannot read"),
    (["lenet"], "model: 'lenet' (must be one of mobilenet_v1, resnet20, resnet18, alexnet, "
                "squeezenet1_0)"),
    (["resnet20", "--groups", "0"], "groups: 0 (must be >= 1)"),
])
def test_cli_bad_input_exits_2(args, text):
    res = run(*args)
    assert res.exit_code == 2
    assert text in res.stderr and "Traceback" not in res.stderr


def test_cli_rejects_model_options_with_a_workload_file():
    res = run(str(WORKLOADS / "resnet20_baseline.json"), "--patch", "2")
    assert res.exit_code == 2 and "model options apply to a model name" in res.stderr


def test_cli_workload_not_from_the_reference_model_exits_2(tmp_path):
    wl = load_workload(WORKLOADS / "resnet20_baseline.json")
    path = tmp_path / "foreign.json"
    path.write_text(dumps_workload(dataclasses.replace(wl, provenance={"generator": "scalesim"})))
    res = run(str(path))
    assert res.exit_code == 2 and "not a trace written by accelsim.reference" in res.stderr


def test_cli_without_torch_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    res = run("resnet20")
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == [
        "error: the reference model needs PyTorch: pip install torch==2.13.0"]
