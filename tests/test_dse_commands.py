"""The dse commands through click: allocate, sweep, pareto, plot, report."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from dse_support import IAREA_HW, PAPER_HW, WORKLOADS, tiny_workload, write_inputs, write_spec

from accelsim.cli import main
from accelsim.workload.load import save_workload

HYB = str(WORKLOADS / "mobilenet_v1_0.5_hybrid_a0.375_r1.6.json")
BASE = str(WORKLOADS / "mobilenet_v1_0.5_baseline.json")


def run(*args: str, ok: bool = True):
    res = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert res.exit_code == 0, res.output
    return res


def test_allocate_table_reports_bound_models_and_layer_shares():
    out = run("allocate", HYB, "--hw", PAPER_HW, "--baseline", BASE, "--convention", "paper")
    text = out.output
    assert "paper balance bound (whole network, fractional split): MAC share 0.329, " \
           "throughput 0.802 x" in text
    assert "analytic balance" in text and "analytic sequential" in text
    assert "ideal MAC share" in text and "pw13" in text


def test_allocate_json_and_des_engine(tmp_path):
    wl, base = tmp_path / "w.json", tmp_path / "b.json"
    save_workload(tiny_workload("hybrid", h=32), wl)
    save_workload(tiny_workload("fp", h=32), base)
    data = json.loads(run("allocate", wl, "--hw", IAREA_HW, "--engine", "des", "--baseline",
                          base, "--objective", "edp", "--json").output)
    assert data["objective"] == "edp" and data["des_runs"] >= 1
    assert [c["chosen_by"].split()[0] for c in data["choices"]] == ["analytic", "analytic", "des"]
    assert data["choices"][-1]["des_cycles"] > 0


def test_allocate_bad_input_is_one_line_exit_2(tmp_path):
    res = run("allocate", tmp_path / "missing.json", "--hw", PAPER_HW, ok=False)
    assert res.exit_code == 2
    assert res.output.startswith("error: ") and "cannot read" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_sweep_pareto_and_plots(tmp_path):
    files = write_inputs(tmp_path, ("fp", "hybrid"))
    spec = write_spec(tmp_path, {"hw": str(PAPER_HW), "workloads": [p.name for p in
                                                                    files.values()],
                                 "axes": {"mac_fraction": {"start": 0.1, "stop": 1.0,
                                                           "num": 10}},
                                 "engine": ["balance", "sequential"], "store": "store"})
    out = run("sweep", spec, "--no-progress", "--export", tmp_path / "all.csv").output
    assert out.startswith("40 points: 0 already in") and "40 computed" in out
    assert len(pd.read_csv(tmp_path / "all.csv")) == 40
    again = run("sweep", spec, "--no-progress", "--json").output
    assert json.loads(again)["skipped"] == 40
    store = tmp_path / "store"
    base = files["fp"]
    front = json.loads(run("pareto", store, "--baseline", base, "--by", "workload",
                           "--json").output)
    assert {r["workload"] for r in front} == {"tiny_fp", "tiny_hybrid"}
    # one column per swept field, not a JSON string
    assert all(r["throughput_norm"] > 0 and 0 <= r["mac_fraction"] <= 1 for r in front)
    assert "params_json" not in front[0]
    text = run("pareto", store, "--engine", "sequential").output
    assert "points on the front" in text and "balance" not in text.split("\n", 2)[2]
    for kind in ("fraction", "pareto"):
        target = tmp_path / f"{kind}.png"
        res = run("plot", kind, store, "--baseline", base, "--out", target)
        assert res.stdout.strip() == f"wrote {target}" and target.stat().st_size > 10_000
        # the paper's points are not drawn over rows of other models or cost tables
        assert res.stderr == ("" if kind == "fraction" else
                              "warning: published points left out: they come from the paper's "
                              "balance model, these rows from balance, sequential\n")
    res = run("plot", "fraction", tmp_path / "nope", "--out", tmp_path / "x.png", ok=False)
    assert res.exit_code == 2 and "no such result store" in res.output


def test_plot_layers_and_gantt_from_a_des_run(tmp_path):
    wl = tmp_path / "w.json"
    save_workload(tiny_workload("hybrid", h=16), wl)
    run("plot", "layers", wl, "--hw", IAREA_HW, "--out", tmp_path / "layers.svg")
    assert (tmp_path / "layers.svg").read_text().count("<svg") == 1
    from accelsim.api import simulate
    from accelsim.hw.load import load_hwconfig

    simulate(tiny_workload("hybrid", h=16), load_hwconfig(IAREA_HW), engine="des",
             schedule="overlap", timeline=tmp_path / "t.json")
    run("plot", "gantt", tmp_path / "t.json", "--out", tmp_path / "g.pdf")
    assert (tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")
    (tmp_path / "bad.json").write_text('{"traceEvents": 3}')
    res = run("plot", "gantt", tmp_path / "bad.json", "--out", tmp_path / "g.png", ok=False)
    assert res.exit_code == 2 and "traceEvents: 'int' (must be a list" in res.output


def test_report_without_des_reproduces_the_paper_columns(tmp_path):
    res = run("report", "--out", tmp_path / "rep", "--no-des", "--workloads", WORKLOADS,
              "--hwconfigs", PAPER_HW.parent)
    assert res.stdout.startswith("| network | α | r | thr published | thr balance |")
    df = pd.read_csv(tmp_path / "rep" / "comparison.csv")
    assert len(df) == 14
    rows = df[df.workload != "mobilenet_v1_0.5_hybrid_a0.5_r1"].iloc[1:]
    # the balance column is the paper's model: published values to their printed digits
    assert (abs(rows.balance_throughput - rows.published_throughput) < 0.011).all()
    assert (abs(rows.energy - rows.published_energy) < 0.011).all()
    assert (df.sequential_throughput <= df.balance_throughput + 0.011).all()
    for name in ("comparison.md", "fraction.png", "pareto.png"):
        assert (tmp_path / "rep" / name).stat().st_size > 0
    assert not (tmp_path / "rep" / "gantt.png").exists()
    # the baseline row is the reference itself, exactly, and the caption says so
    base = df.iloc[0]
    assert (base.balance_throughput, base.energy, base.mac_share_balance) == (1.0, 1.0, 1.0)
    md = (tmp_path / "rep" / "comparison.md").read_text()
    assert "| MobileNets fp16 | - | - | 1.00 | 1.00 | 1.00 | n/a | n/a | 1.00 | 1.00 |" in md
    assert "The baseline row is the reference itself" in md


@pytest.mark.parametrize("args, needle", [
    (["sweep", "missing.yaml"], "missing.yaml: <file>: 'missing.yaml' (cannot read"),
    (["plot", "fraction", ".", "--out", "f.gif"], "must end in .png, .svg, .pdf"),
])
def test_cli_errors(tmp_path, args, needle):
    res = run(*args, ok=False)
    assert res.exit_code == 2 and needle in res.output
