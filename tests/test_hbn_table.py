"""The HBN accounting convention (hbn2018) and Chakraborty et al.'s ResNet-18 table."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import WORKLOADS

from accelsim.cli import main
from accelsim.hbn import chakraborty2018_resnet18, hbn_layers, hbn_paper_table
from accelsim.workload import load_workload

#: The paper's row order against torchvision's module names (the projection shortcut of a stage
#: comes after that stage's first block's second 3x3 conv).
MATCH = ["conv1"] + [f"layer1.{b}.conv{i}" for b in (0, 1) for i in (1, 2)] + [
    name for s in (2, 3, 4) for name in (f"layer{s}.0.conv1", f"layer{s}.0.conv2",
                                         f"layer{s}.0.shortcut", f"layer{s}.1.conv1",
                                         f"layer{s}.1.conv2")] + ["fc"]


@pytest.fixture(scope="module")
def table():
    return hbn_paper_table(WORKLOADS)


def test_rows_are_matched_by_shape_in_the_papers_order(table):
    assert [r.layer for r in table[:-1]] == MATCH and table[-1].label == "Total"


def test_every_cell_is_within_the_published_rounding(table):
    cells = [c for r in table for c in r.cells if c.published is not None]
    assert len(cells) == 22 * 6 and all(c.match for c in cells)
    exact = {c.column for r in table for c in r.cells if c.exact}
    assert {"fprec_params", "bin_params", "fprec_flops"} <= exact
    for r in table:      # values read from the network round to the printed digits
        assert all(c.exact for c in r.cells[:3]), r.label


def test_derived_columns_follow_the_convention(table):
    rows = {r.label: {c.column: c.computed for c in r.cells} for r in table}
    pub = {p.label: p for p in chakraborty2018_resnet18()}
    conv2 = rows["Conv2"]
    assert conv2["fprec_flops"] == pytest.approx(56 * 56 * 64 * 576 / 1e7)
    assert conv2["wbin"] == pytest.approx(conv2["fprec_flops"] * (1 - 0.23))
    assert conv2["fbin"] == pytest.approx(conv2["wbin"] / 58) == conv2["hybrid_flops"]
    assert rows["Conv17"]["hybrid_flops"] == rows["Conv17"]["wbin"]        # WeightBinConv
    assert rows["Conv1"]["bin_params"] == rows["Conv1"]["fprec_params"]     # first layer fp
    assert rows["Linear"]["bin_params"] == pytest.approx(rows["Linear"]["fprec_params"] / 32)
    assert rows["Linear"]["fbin"] == rows["Linear"]["fprec_flops"]          # classifier fp
    total = rows["Total"]
    for col in ("fprec_params", "fbin", "hybrid_flops"):
        assert total[col] == pytest.approx(sum(rows[r.label][col] for r in table[:-1]))
    assert [p.hybrid for p in pub.values() if p.hybrid == "wbin"] == ["wbin"] * 7


def test_paper_command(tmp_path):
    res = CliRunner().invoke(main, ["paper", "--table", "hbn2018", "--workloads",
                                    str(WORKLOADS)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[-3].startswith("132/132 cells within tolerance")
    assert lines[-2].startswith("convention hbn2018 (method hbn2018)")
    res = CliRunner().invoke(main, ["paper", "--table", "hbn2018", "--workloads",
                                    str(WORKLOADS), "--json"])
    doc = json.loads(res.output)
    assert (doc["cells"], doc["within_tolerance"], doc["mismatches"]) == (132, 132, [])
    default = CliRunner().invoke(main, ["paper", "--workloads", str(WORKLOADS)])
    gope = CliRunner().invoke(main, ["paper", "--workloads", str(WORKLOADS), "--table",
                                     "gope2019"])
    assert default.output == gope.output and "rows match the published digits" in gope.output


def test_convention_on_a_traced_hybrid_uses_the_weights_repeats():
    wl = load_workload(WORKLOADS / "resnet18_hbn_7wbin.json")
    rows = {r.name: r for r in hbn_layers(wl)}
    assert len(rows) == 21 and rows["conv1"].first and rows["fc"].kind == "fp"
    assert rows["layer4.0.shortcut"].repeats == 0.0                 # 1x1: not reduced
    st = wl.layer("layer4.1.conv2").stage("conv")
    r = rows["layer4.1.conv2"]
    assert r.kind == "wbin" and r.repeats == pytest.approx(1 - st.unique_kernels / (512 * 512))
    assert r.flops == pytest.approx(st.ops_dense * (1 - r.repeats)) and r.params == st.n * st.k / 32
    f = rows["layer2.0.conv1"]
    assert f.kind == "fbin" and f.flops == pytest.approx(f.fprec_flops * (1 - f.repeats) / 58)
    res = CliRunner().invoke(main, ["counts", str(WORKLOADS / "resnet18_hbn_7wbin.json"),
                                    "--convention", "hbn2018", "--json"])
    doc = json.loads(res.output)
    assert doc["totals"]["flops"] == pytest.approx(sum(x.flops for x in rows.values()))
