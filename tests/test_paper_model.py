"""The paper's accounting and cost model, checked against closed forms and the published table."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import HWCONFIGS, WORKLOADS
from mobilenet_closed_form import paper_counts

from accelsim.analytic.allocation import allocate
from accelsim.analytic.opcount import sequential
from accelsim.analytic.paper import balance_bound, reference_cycles
from accelsim.cli import main
from accelsim.counts import workload_counts
from accelsim.hw import load_hwconfig
from accelsim.hw.rules import mac_only
from accelsim.hw.rules import with_counts as apply_allocation
from accelsim.study.compare import compare, paper_table, truncate
from accelsim.workload import load_workload

PAPER = load_hwconfig(HWCONFIGS / "paper.yaml")

ROWS = {  # bundled workload -> closed-form parameters (docs/accounting.md, the published table)
    "baseline": ("baseline", {}),
    "twn": ("twn", {}),
    "strassen_r0.5": ("strassen", dict(r_factor=0.5, fc_hidden=512, fp_bytes=4)),
    "strassen_r2": ("strassen", dict(r_factor=2, fc_hidden=512, fp_bytes=4)),
    "hybrid_a0.25_r1.33": ("hybrid", dict(alpha=0.25, r_factor=1.33, fc_hidden=768)),
    "hybrid_a0.375_r1.6": ("hybrid", dict(alpha=0.375, r_factor=1.6, fc_hidden=768)),
    "hybrid_a0.5_r1": ("hybrid", dict(alpha=0.5, r_factor=1, fc_hidden=512)),
}


def _wl(key):
    return load_workload(WORKLOADS / f"mobilenet_v1_0.5_{key}.json")


@pytest.mark.parametrize("key", sorted(ROWS))
def test_paper_counts_equal_closed_form(key):
    variant, kw = ROWS[key]
    want = paper_counts(variant, **kw)
    got = workload_counts(_wl(key), convention="paper")
    assert got.macs == pytest.approx(want["macs"], rel=1e-12)
    assert got.muls == pytest.approx(want["muls"], rel=1e-12)
    assert got.adds == pytest.approx(want["adds"], rel=1e-12)
    assert got.model_size_bytes == pytest.approx(want["bits"] / 8, rel=1e-12)


def test_balance_bound_is_the_papers_formula():
    base = workload_counts(_wl("baseline"))
    for key in ROWS:
        wl = _wl(key)
        c = workload_counts(wl, convention="paper")
        bal = balance_bound(wl, PAPER, convention="paper")
        thr = reference_cycles(_wl("baseline"), PAPER) / bal.cycles
        assert thr == pytest.approx(2 * base.macs / (2 * c.macs + c.adds), rel=1e-12)
        energy = bal.energy_pj / (base.macs * PAPER.units["mac"].energy_pj_per_op)
        assert energy == pytest.approx((5 * c.macs + 2.15 * c.muls + c.adds) / (5 * base.macs),
                                       rel=1e-9)


def test_paper_table_matches_every_row_but_the_inconsistent_one():
    rows = paper_table(WORKLOADS, PAPER)
    assert len(rows) == 14
    bad = [r.workload for r in rows if not r.match]
    assert bad == ["mobilenet_v1_0.5_hybrid_a0.5_r1"]
    row = rows[-2]
    assert row.note and {c.column for c in row.cells if not c.match} == \
        {"muls_m", "adds_m", "size_kb", "energy"}
    computed = {c.column: c.computed for c in row.cells}
    # docs/accounting.md: 0.77M muls, 115.99M adds, 78.83M MACs, 1170.52 KB, energy 0.68, thr 1.09
    assert computed["muls_m"] == pytest.approx(0.78, abs=0.005)
    assert computed["adds_m"] == pytest.approx(116.0, abs=0.05)
    assert computed["size_kb"] == pytest.approx(1170.5, abs=0.1)
    assert truncate(computed["energy"], 2) == 0.68 and truncate(computed["throughput"], 2) == 1.09


def test_truncation_not_rounding():
    assert truncate(0.6999, 2) == 0.69 and truncate(1.0, 0) == 1 and truncate(0.2, 1) == 0.2


def test_sequential_never_beats_balance_and_allocation_is_optimal():
    for key in ("hybrid_a0.375_r1.6", "strassen_r0.5", "hybrid_a0.5_r1"):
        wl = _wl(key)
        bal = allocate(wl, PAPER, model="balance")
        seq = allocate(wl, PAPER, model="sequential")
        assert seq.model_cycles >= bal.model_cycles * (1 - 1e-9)
        # the search beats (or ties) every split on a coarse independent grid
        area = PAPER.area_budget_um2
        for share in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            n_mac = int(share * area / PAPER.units["mac"].area_um2) // 32 * 32
            n_add = int((area - n_mac * PAPER.units["mac"].area_um2) // PAPER.units["add"].area_um2)
            cfg = apply_allocation(PAPER, {"mac": n_mac, "add": n_add})
            assert seq.cycles <= sequential(wl, cfg).cycles * 1.01
        assert seq.config.compute_area_um2 <= area


def test_balance_allocation_closed_form():
    wl = _wl("hybrid_a0.25_r1")
    c = workload_counts(wl)
    a = allocate(wl, PAPER, model="balance")
    # area share of MACs = 2*MACs / (2*MACs + adds) (adders: 1 area unit, muls: free)
    assert a.shares["mac"] == pytest.approx(2 * c.macs / (2 * c.macs + c.adds), abs=2e-3)


def test_mac_only_reference():
    ref = mac_only(PAPER)
    assert (ref.mac_array.rows, ref.mac_array.cols) == (32, 32)
    assert ref.counts == {"mac": 1024, "add": 0, "mul": 0, "xnor": 0}
    assert ref.unit_for("add") == "mac"
    res = sequential(_wl("baseline"), ref)
    macs = workload_counts(_wl("baseline")).macs
    assert res.total("ops")["mac"] == macs
    assert res.total("ops")["add@mac"] == workload_counts(_wl("baseline")).adds


def test_compare_rows():
    rows = compare([_wl("baseline"), _wl("twn"), _wl("hybrid_a0.375_r1")], PAPER)
    by = {r.workload: r for r in rows}
    assert by["mobilenet_v1_0.5_twn"].thr_balance == pytest.approx(2.0)
    assert by["mobilenet_v1_0.5_twn"].energy == pytest.approx(0.2)
    assert by["mobilenet_v1_0.5_baseline"].thr_sequential == pytest.approx(1.0)
    hyb = by["mobilenet_v1_0.5_hybrid_a0.375_r1"]
    assert hyb.thr_sequential < hyb.thr_balance
    assert truncate(hyb.thr_balance, 2) == 1.06


def test_cli_paper_and_compare():
    runner = CliRunner()
    res = runner.invoke(main, ["paper", "--json", "--workloads", str(WORKLOADS),
                               "--hw", str(HWCONFIGS / "paper.yaml")])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["unexpected_mismatches"] == []
    assert sum(r["match"] for r in data["rows"]) == 13
    res = runner.invoke(main, ["compare", str(WORKLOADS / "mobilenet_v1_0.5_baseline.json"),
                               str(WORKLOADS / "mobilenet_v1_0.5_twn.json"),
                               "--hw", str(HWCONFIGS / "paper.yaml"), "--json"])
    assert res.exit_code == 0, res.output
    assert {r["workload"] for r in json.loads(res.output)} == \
        {"mobilenet_v1_0.5_baseline", "mobilenet_v1_0.5_twn"}


def test_cli_counts_and_bad_input(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["counts", str(WORKLOADS / "mobilenet_v1_0.5_baseline.json"),
                               "--json"])
    assert res.exit_code == 0
    assert json.loads(res.output)["totals"]["macs"] == 149_497_088
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "accelsim.workload", "schema_version": 1, "name": "x", '
                   '"layers": [{"name": "a", "kind": "conv", "variant": "fp", "shape": '
                   '{"in_h": 1, "in_w": 1, "in_c": 1, "out_h": 1, "out_w": 1, "out_c": -2}, '
                   '"stages": []}]}')
    res = runner.invoke(main, ["counts", str(bad)])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert f"error: {bad}: layers[a].shape.out_c: -2 (must be >= 1)" in lines
    assert "Traceback" not in res.output


def test_leakage_is_charged_once_even_when_layers_overlap():
    from dataclasses import replace

    from accelsim.api import simulate
    from accelsim.hw import override
    from accelsim.results.energy import leakage_pj_per_cycle

    hw = override(load_hwconfig(HWCONFIGS / "iso_area_45nm.yaml"),
                  {"units.mac.leakage_uw": 10.0, "units.add.leakage_uw": 3.0,
                   "buffers.inputs.leakage_uw": 50.0})
    wl = _wl("hybrid_a0.375_r1")
    for schedule in ("sequential", "overlap"):
        res = simulate(wl, hw, "des", schedule)
        want = leakage_pj_per_cycle(hw) * res.cycles
        assert res.energy_pj["leakage"] == pytest.approx(want, rel=1e-9)
        assert sum(r.energy_pj["leakage"] for r in res.layers) == pytest.approx(want, rel=1e-9)
    assert leakage_pj_per_cycle(replace(hw, clock_mhz=2 * hw.clock_mhz)) == \
        pytest.approx(leakage_pj_per_cycle(hw) / 2)
