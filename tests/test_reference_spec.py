"""ModelSpec validation and the committed bundled workloads (no torch needed here)."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from accelsim.cli import main
from accelsim.errors import InputError
from accelsim.reference.entry import BUNDLED
from accelsim.reference.spec import ModelSpec
from accelsim.workload import load_workload

WORKLOADS = Path(__file__).resolve().parent.parent / "workloads"


def totals(path, paper):
    """(macs, adds, muls, size KB); paper=True rescales by each stage's paper_scale."""
    t = {"mac": 0.0, "add": 0.0, "mul": 0.0}
    bits = 0.0
    for layer in load_workload(path).layers:
        for st in layer.stages:
            scale = st.paper_scale if paper else 1.0
            t[st.op] += st.ops_dense * scale
            bits += sum(w.count * w.bits for w in st.weights) * scale
    return t["mac"], t["add"], t["mul"], bits / 8 / 1024


def test_bundled_files_are_exactly_the_listed_ones():
    assert sorted(p.name for p in WORKLOADS.glob("*.json")) == sorted(f for f, _ in BUNDLED)
    for filename, spec in BUNDLED:
        assert spec.slug() + ".json" == filename
        wl = load_workload(WORKLOADS / filename)
        assert wl.name == spec.slug()
        assert ModelSpec.from_provenance(wl.provenance) == spec
        # small enough to keep in git (per-channel non-zero counts included)
        assert (WORKLOADS / filename).stat().st_size < 200_000


def test_bundled_totals_match_the_independently_verified_figures():
    wl = WORKLOADS
    assert totals(wl / "mobilenet_v1_0.5_baseline.json", False) == \
        (149_497_088, 2_522_344, 0, 2590.078125)
    assert totals(wl / "mobilenet_v1_0.5_twn.json", False) == (0, 149_497_088, 0, 323.759765625)
    assert totals(wl / "mobilenet_v1_0.5_strassen_r0.5.json", False) == \
        (8_692_992, 158_541_032, 778_240, 522.333984375)
    macs, adds, muls, kb = totals(wl / "mobilenet_v1_0.5_hybrid_a0.25_r1.33.json", True)
    assert (macs, math.floor(muls / 1e3), round(adds / 1e3), round(kb, 2)) == \
        (43_766_016, 1552, 270_954, 1097.07)
    assert totals(wl / "mobilenet_v1_0.5_hybrid_a0.25_r1.33.json", False) == \
        (43_766_016, 271_046_376, 1_554_950, 1096.98828125)
    macs, adds, muls, kb = totals(wl / "mobilenet_v1_0.5_hybrid_a0.5_r1.json", False)
    assert (macs, adds, muls) == (78_839_040, 115_991_784, 778_240)
    # well-known totals of the standard networks (1x1 projection shortcuts in ResNet-20)
    assert totals(wl / "resnet20_baseline.json", False)[0] == 40_813_184
    assert totals(wl / "resnet18_baseline.json", False)[0] == 1_814_073_344


# Gope et al. Tables 1-2 (muls M, adds M, MACs M, size KB), truncated digits as published.
PUBLISHED = {
    "strassen_r0.5": (0.77, 158.54, 8.69, 522.33), "strassen_r0.75": (1.16, 236.16, 8.69, 631.76),
    "strassen_r1": (1.55, 313.78, 8.69, 741.19), "strassen_r2": (3.11, 624.27, 8.69, 1178.92),
    "hybrid_a0.25_r1": (1.16, 204.63, 43.76, 1004.67),
    "hybrid_a0.25_r1.33": (1.55, 270.95, 43.76, 1097.07),
    "hybrid_a0.25_r2": (2.33, 405.59, 43.76, 1284.65),
    "hybrid_a0.375_r1": (0.97, 157.84, 61.3, 1131.43),
    "hybrid_a0.375_r1.6": (1.55, 250.34, 61.3, 1260.44),
    "hybrid_a0.375_r2": (1.94, 312.01, 61.3, 1346.45),
    "hybrid_a0.5_r2": (1.55, 228.68, 78.83, 1327.88),
}


@pytest.mark.parametrize("row", sorted(PUBLISHED))
def test_bundled_mobilenets_reproduce_the_published_rows_under_paper_accounting(row):
    macs, adds, muls, kb = totals(WORKLOADS / f"mobilenet_v1_0.5_{row}.json", True)

    def trunc(x, digits=2):
        return math.floor(round(x * 10 ** digits, 6)) / 10 ** digits
    assert (trunc(muls / 1e6), trunc(adds / 1e6), trunc(macs / 1e6), trunc(kb)) == PUBLISHED[row]


def test_spec_defaults_and_normalisation():
    spec = ModelSpec("resnet20", width=1, alpha=0, variant="hybrid")
    assert (spec.resolution, spec.classes, spec.width, spec.alpha) == (32, 10, 1.0, 0.0)
    assert isinstance(spec.width, float) and spec.fc_hidden is None
    assert ModelSpec("mobilenet_v1").resolution == 224
    again = ModelSpec.from_dict(spec.to_dict())
    assert again == spec and hash(again) == hash(spec)
    ovr = ModelSpec("resnet18", variant="hybrid", alpha=0.5, overrides=[["conv1", 0, 2]])
    assert ovr.overrides == (("conv1", 0.0, 2.0),)
    assert ModelSpec.from_dict(ovr.to_dict()) == ovr


def test_spec_reports_every_bad_field_at_once():
    with pytest.raises(InputError) as err:
        ModelSpec("vgg16", width=-1, variant="binary", fp_bytes=3, patch=0, seed=-2,
                  r_factor=float("nan"), alpha=1.0, groups=True)
    fields = [p.field for p in err.value.problems]
    assert fields == ["model", "variant", "width", "alpha", "r_factor", "patch", "groups",
                      "seed", "fp_bytes"]
    assert "must be one of mobilenet_v1, resnet20, resnet18" in str(err.value)


@pytest.mark.parametrize("kwargs,field,why", [
    (dict(variant="strassen", alpha=0.25), "alpha", "strassen variant has alpha = 0"),
    (dict(variant="twn", overrides=(("conv1", 0.5, 1.0),)), "overrides", "no strassenified"),
    (dict(variant="hybrid", overrides=(("conv1", 1.5, 1.0),)), "overrides[0].alpha", "[0, 1]"),
    (dict(variant="hybrid", overrides=(("conv1", 0.5, 0.0),)), "overrides[0].r_factor", "> 0"),
    (dict(variant="hybrid", overrides=(("a", 0.5, 1.0), ("a", 0.1, 1.0))), "overrides[1].name",
     "twice"),
    (dict(variant="hybrid", overrides=(("conv1", 0.5),)), "overrides[0]", "(layer_name"),
    (dict(resolution=0), "resolution", "in [1, 2048]"),
    (dict(fc_hidden=0), "fc_hidden", ">= 1"),
])
def test_spec_rejects_inconsistent_settings(kwargs, field, why):
    with pytest.raises(InputError) as err:
        ModelSpec("resnet20", **kwargs)
    assert [p.field for p in err.value.problems] == [field]
    assert why in err.value.problems[0].why


def test_from_provenance_rejects_foreign_traces():
    with pytest.raises(InputError, match="not a trace written by accelsim.reference"):
        ModelSpec.from_provenance({"generator": "scalesim"})
    with pytest.raises(InputError, match="params.depth"):
        ModelSpec.from_provenance({"generator": "accelsim.reference",
                                   "params": {"model": "resnet20", "depth": 20}})


def test_commands_without_torch_print_one_line_and_exit_2(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    runner = CliRunner()
    for args in (["make-workloads", "--out", str(tmp_path)],
                 ["trace", "resnet20", "-o", str(tmp_path / "x.json")]):
        res = runner.invoke(main, args)
        assert res.exit_code == 2, res.output
        assert res.stderr.strip().splitlines() == [
            "error: the reference model needs PyTorch: pip install torch==2.13.0"]
    assert list(tmp_path.iterdir()) == []


def test_api_imports_without_torch():
    code = ("import sys; sys.modules['torch'] = None; import accelsim.api as a; "
            "print(a.ModelSpec('resnet20').slug(), 'torch' in sys.modules and "
            "sys.modules['torch'] is not None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["resnet20_baseline", "False"]
