"""MAC:adder allocation: the paper's throughputs, both op-count models, and the DES local search."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from dse_support import IAREA_HW, PAPER_HW, WORKLOADS, tiny_workload

from accelsim.dse.allocate import allocate_report, des_search
from accelsim.errors import InputError
from accelsim.hw.load import load_hwconfig
from accelsim.published import gope2019_mobilenet
from accelsim.study.compare import truncate
from accelsim.workload.load import load_workload

INCONSISTENT = "mobilenet_v1_0.5_hybrid_a0.5_r1"   # docs/accounting.md, 'The inconsistent row'


@pytest.fixture(scope="module")
def paper():
    rows = gope2019_mobilenet()
    wls = {r.workload: load_workload(WORKLOADS / f"{r.workload}.json") for r in rows}
    return rows, wls, load_hwconfig(PAPER_HW)


def test_paper_config_reproduces_published_normalised_throughput(paper):
    rows, wls, hw = paper
    base = wls[rows[0].workload]
    checked = 0
    for row in rows[1:]:       # the baseline's 1 is the reference itself
        rep = allocate_report(wls[row.workload], hw, baseline=base, convention="paper")
        shown = truncate(rep.bound_throughput, row.digits["throughput"])
        if row.workload == INCONSISTENT:
            assert rep.bound_throughput == pytest.approx(1.09, abs=0.005)  # docs/accounting.md
            assert truncate(rep.bound_throughput, 2) == 1.09 != row.values["throughput"]
            continue
        assert shown == pytest.approx(row.values["throughput"]), row.label
        checked += 1
    assert checked == 12


def test_both_models_on_their_integer_splits(paper):
    rows, wls, hw = paper
    wl, base = wls["mobilenet_v1_0.5_hybrid_a0.375_r1.6"], wls[rows[0].workload]
    rep = allocate_report(wl, hw, baseline=base)
    bal, seq = rep.choices
    assert (bal.chosen_by, seq.chosen_by) == ("analytic balance", "analytic sequential")
    for c in rep.choices:
        area = c.counts["mac"] * 2720 + c.counts["add"] * 1360
        assert area <= rep.area_um2
        # layers one after another never beat the whole-network balance of the same split
        assert c.sequential_cycles >= c.balance_cycles
        assert c.thr_sequential <= c.thr_balance
    assert seq.sequential_cycles <= bal.sequential_cycles
    assert rep.bound_throughput >= bal.thr_balance          # fractional split is an upper bound
    assert 0.25 < rep.bound_mac_share < 0.45
    assert len(rep.layer_mac_share) == len(wl.layers)
    assert {n for n, _ in rep.layer_mac_share} == {layer.name for layer in wl.layers}
    shares = dict(rep.layer_mac_share)
    # a 3x3 depthwise layer: 9 MACs (2 adder areas each) and one bias add per output
    assert shares["dw1"] == pytest.approx(18 / 19)
    assert rep.des_runs == 0 and seq.des_cycles is None


def _fake_sim(optimum_rows: int, cols: int, calls: list):
    def simulate(engine, wl, cfg, schedule, zero_skip):
        calls.append(cfg.mac_array.rows)
        rows = cfg.counts["mac"] // cols
        cycles = 1000 + 7 * (rows - optimum_rows) ** 2
        return SimpleNamespace(cycles=cycles, total_energy_pj=5.0 * cycles + rows)
    return simulate


@pytest.mark.parametrize("start_rows, optimum", [(4, 13), (20, 13), (13, 13), (1, 2), (30, 31)])
def test_des_search_finds_the_optimum_of_a_unimodal_objective(start_rows, optimum):
    hw = load_hwconfig(PAPER_HW)
    from accelsim.hw.rules import with_counts as apply_allocation

    start = apply_allocation(hw, {"mac": start_rows * 32, "add": 10})
    calls: list = []
    cfg, cycles, energy, runs = des_search(tiny_workload(), start, hw.area_budget_um2,
                                           evaluator=_fake_sim(optimum, 32, calls))
    assert cfg.counts["mac"] == optimum * 32 and cycles == 1000
    assert runs == len(calls) == len(set(calls)) and runs <= 12     # no point simulated twice
    free = hw.area_budget_um2 - cfg.counts["mac"] * 2720
    assert cfg.counts["add"] == int(free // 1360)


def test_des_search_respects_the_run_budget():
    hw = load_hwconfig(PAPER_HW)
    calls: list = []
    des_search(tiny_workload(), hw, hw.area_budget_um2, max_runs=3,
               evaluator=_fake_sim(1, 32, calls))
    assert len(calls) == 3


def test_des_allocation_on_a_real_engine_run():
    hw = load_hwconfig(IAREA_HW)
    wl, base = tiny_workload("hybrid", h=32), tiny_workload("fp", h=32)
    rep = allocate_report(wl, hw, engine="des", baseline=base)
    des = rep.choices[-1]
    assert des.chosen_by == f"des ({rep.des_runs} runs)" and 1 <= rep.des_runs <= 40
    assert des.des_cycles > 0 and math.isfinite(des.thr_des)
    assert des.counts["mac"] % hw.mac_array.cols == 0


def test_bad_objective_is_an_input_error():
    hw = load_hwconfig(PAPER_HW)
    with pytest.raises(InputError, match="--objective: 'speed'"):
        allocate_report(tiny_workload(), hw, objective="speed")


def test_unused_unit_classes_get_no_area(paper):
    rows, wls, hw = paper
    rep = allocate_report(wls["mobilenet_v1_0.5_twn"], hw, baseline=wls[rows[0].workload])
    for c in rep.choices:
        assert c.counts["mac"] == 0 and c.counts["add"] == 2048      # every MAC became an add
        assert c.thr_balance == pytest.approx(2.0, rel=1e-3)
