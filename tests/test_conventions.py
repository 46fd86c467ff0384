"""Accounting conventions as data: the bundled ones, rules applied to workloads, files given by
path, one-line errors, the tinyML table and keeping a layer full precision."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from accelsim import api
from accelsim.cli import main
from accelsim.conventions import bundled, convention_from_dict, load_convention
from accelsim.counts import counted, counts_table, resolve, workload_counts
from accelsim.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
WL = ROOT / "workloads"
EXAMPLE = ROOT / "examples" / "conventions" / "fp_classifier_bn_counted.yaml"


def _doc(**rules) -> dict:
    return {"schema": "accelsim.convention", "schema_version": 1, "name": "t",
            "description": "test", "rules": rules}


def test_bundled_conventions_and_their_rules():
    assert {"actual", "paper", "hbn2018"} <= set(bundled())
    actual, paper, hbn = (load_convention(n) for n in ("actual", "paper", "hbn2018"))
    assert not actual.fractional_hidden and not actual.structural
    assert paper.fractional_hidden and not paper.structural and "Gope" in paper.citation
    assert hbn.method == "hbn2018"
    wl = api.load_workload(WL / "mobilenet_v1_0.5_hybrid_a0.25_r1.33.json")
    assert counted(wl, "actual") is wl and counted(wl, "paper") is wl  # nothing rewritten
    with pytest.raises(InputError, match="method hbn2018 counts per-layer"):
        resolve("hbn2018")


def test_bn_eltwise_keep_fp_and_fp_bytes_rules():
    wl = api.load_workload(WL / "resnet20_strassen_r1_p2_g4.json")
    base = workload_counts(wl)
    conv = load_convention(EXAMPLE)
    got = workload_counts(wl, convention=conv)
    conv_bias = sum(s.ops_dense for la in wl.layers if la.kind in ("conv", "depthwise")
                    for s in la.stages if s.role == "bias")
    eltwise = sum(s.ops_dense for la in wl.layers if la.kind == "eltwise" for s in la.stages)
    fc = wl.layer("fc")
    fc_adds = sum(s.ops_dense for s in fc.stages if s.op == "add")
    fc_muls = sum(s.ops_dense for s in fc.stages if s.op == "mul")
    assert base.macs == 0 and conv_bias > 0 and eltwise > 0
    assert got.macs == conv_bias + 64 * 10            # BN multiply-adds + the fp classifier
    assert got.adds == base.adds - conv_bias - eltwise - fc_adds + 10   # fc keeps its bias adds
    assert got.muls == base.muls - fc_muls
    kept = counted(wl, conv).layer("fc")
    assert kept.variant == "fp" and [s.op for s in kept.stages] == ["mac", "add"]
    assert not [la for la in counted(wl, conv).layers if la.kind == "eltwise"]
    # BN counted: two stored values per channel; fp_bytes re-sizes every value wider than 2 bits
    one = convention_from_dict(_doc(bn="counted"))
    layer = wl.layer("conv1")
    before = sum(w.count for s in layer.stages if s.role == "bias" for w in s.weights)
    after = sum(w.count for s in counted(wl, one).layer("conv1").stages if s.role == "bias"
                for w in s.weights)
    assert after == 2 * before
    wide = workload_counts(wl, convention=convention_from_dict(_doc(fp_bytes=4)))
    fp_values = sum(w.count for la in wl.layers for s in la.stages for w in s.weights
                    if w.bits > 2)
    assert wide.model_size_bytes - base.model_size_bytes == fp_values * 2  # 16 -> 32 bits
    assert workload_counts(wl, convention=convention_from_dict(_doc(bn="ignored"))).adds == \
        base.adds - conv_bias


def test_keep_fp_counts_a_layer_as_building_it_fp_would(tmp_path):
    """``keep_fp: [pw13, fc]`` on the strassen trace counts what ``--override pw13=1:1
    --override fc=1:1`` builds (the layer's values as wide as its widest stored value)."""
    pytest.importorskip("torch")
    spec = dict(variant="strassen", fc_hidden=512, fp_bytes=4)
    built = api.trace(api.ModelSpec("mobilenet_v1", width=0.5, **spec,
                                    overrides=(("pw13", 1.0, 1.0), ("fc", 1.0, 1.0))))
    assert built.layer("pw13").variant == "fp" and built.layer("fc").variant == "fp"
    st = api.load_workload(WL / "mobilenet_v1_0.5_strassen_r1.json")
    kept = convention_from_dict(_doc(keep_fp=["pw13", "f?"]))
    a, b = workload_counts(built), workload_counts(st, convention=kept)
    assert a.ops == b.ops and a.model_size_bytes == b.model_size_bytes
    with pytest.raises(InputError, match=r"overrides\[0\].alpha: 1.5 \(must be in \[0, 1\]"):
        api.ModelSpec("mobilenet_v1", variant="hybrid", overrides=(("pw1", 1.5, 1.0),))
    with pytest.raises(InputError, match="alpha 1 keeps it full precision"):
        api.trace(api.ModelSpec("mobilenet_v1", width=0.25, resolution=32, variant="hybrid",
                                overrides=(("fc", 0.5, 1.0),)))


@pytest.mark.parametrize("change, line", [
    (dict(rules={"bn": "fold"}), "rules.bn: 'fold' (must be one of folded, counted, ignored; "
                                 "did you mean 'folded'?)"),
    (dict(rules={"keep": ["fc"]}), "rules.keep: <key> (unknown key; did you mean 'keep_fp'?)"),
    (dict(schema_version=2), "schema_version: 2 (must be <= 1)"),
    (dict(method="hbn2018"), "rules: <key> (method hbn2018 has its own rules"),
])
def test_bad_convention_files_are_one_line_errors(tmp_path, change, line):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**_doc(), **change}))
    res = CliRunner().invoke(main, ["counts", str(WL / "resnet20_baseline.json"),
                                    "--convention", str(path)])
    assert res.exit_code == 2 and res.output.startswith(f"error: {path}: {line}")
    assert len(res.output.strip().splitlines()) == 1
    res = CliRunner().invoke(main, ["compare", str(WL / "resnet20_baseline.json"), "--hw",
                                    str(ROOT / "hwconfigs/paper.yaml"), "--convention", "papr"])
    assert res.exit_code == 2 and "--convention: 'papr' (must be one of" in res.output


def test_a_convention_file_works_in_counts_and_compare():
    res = CliRunner().invoke(main, ["counts", str(WL / "resnet20_strassen_r1_p2_g4.json"),
                                    "--convention", str(EXAMPLE), "--json"])
    assert res.exit_code == 0
    data = yaml.safe_load(res.output)
    assert data["convention"] == "fp_classifier_bn_counted" and data["totals"]["macs"] == 201344
    base = api.load_workload(WL / "resnet20_baseline.json")
    rows = api.compare([base, WL / "resnet20_strassen_r1_p2_g4.json"],
                       ROOT / "hwconfigs/paper.yaml", convention=str(EXAMPLE))
    assert rows[0].energy == 1.0 and rows[1].macs_m == pytest.approx(0.201344)
    assert counts_table(base, convention="actual")["convention"] == "actual"


def test_tinyml_table_and_its_headlines():
    t = api.tinyml_table(WL, ROOT / "hwconfigs/paper.yaml")
    assert t.convention.name == "paper"
    assert [r.match for r in t.rows] == [True, True, True, False]
    assert t.rows[3].note and t.rows[0].top1 == 65.2
    heads = {h.metric: h for h in t.headlines}
    assert all(h.consistent for h in t.headlines)
    assert heads["fewer_multiplications"].from_table == pytest.approx(46.41, abs=0.005)
    assert heads["more_additions"].from_table == pytest.approx(47.97, abs=0.005)
    assert heads["more_additions"].computed == pytest.approx(30.32, abs=0.005)
    assert heads["more_adds_only"].computed == pytest.approx(317.58, abs=0.005)
    assert heads["smaller"].computed == pytest.approx(54.81, abs=0.005)
    res = CliRunner().invoke(main, ["paper", "--table", "tinyml2019"])
    assert res.exit_code == 0
    assert "(additions + MACs) / baseline MACs - 1" in res.output
    assert "convention paper (" in res.output and "Top-1 accuracy needs" in res.output


def test_paper_and_counts_json_unchanged_by_the_convention_files():
    """``paper`` and ``actual`` numbers are what they were before conventions became data:
    spot values of the hybrid alpha = 0.25, r = 1.33c row (fractional hidden widths)."""
    wl = api.load_workload(WL / "mobilenet_v1_0.5_hybrid_a0.25_r1.33.json")
    paper = workload_counts(wl, convention="paper")
    actual = workload_counts(wl)
    assert isinstance(actual.adds, int) and isinstance(paper.adds, float)
    assert round(paper.adds / 1e6, 2) == 270.95 and round(paper.model_size_kb, 2) == 1097.07
    assert replace(load_convention("paper"), fractional_hidden=False).structural is False
