"""The engine on hand-checkable cases, its liveness guard, timeline, tables and command line."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner
from strategies import tiny_hw, tiny_workload, unbounded

from accelsim.api import simulate
from accelsim.cli import main
from accelsim.engine import simulate_plan
from accelsim.errors import LivenessError
from accelsim.hw import dumps_hwconfig
from accelsim.mapping import map_workload
from accelsim.results.tables import layers_frame, result_dict, summary_text
from accelsim.workload import save_workload
from accelsim.workload.build import fp_layer
from accelsim.workload.schema import Shape, Workload

ONE = Workload("one", (fp_layer("c", "conv", Shape(4, 4, 4, 4, 4, 4), bias=False),))


def test_single_tile_timeline_by_hand():
    # 4x4 WS array, 16 positions x 4 channels x 4 terms: one fold, one tile.
    # load: 32 B weights + 128 B input at 8 B/cycle = 20 cycles, + 10 latency -> cycle 30
    # compute: 16 + (2*4 - 1) + (4 - 1) = 26, + 1 pipeline latency -> cycle 57
    # writeback: 128 B -> 16 cycles + 10 latency -> cycle 83
    res = simulate(ONE, tiny_hw())
    rec = res.layers[0]
    assert res.cycles == 83 and (rec.start_cycle, rec.end_cycle) == (0, 83)
    assert rec.compute_cycles == {"mac": 27} and rec.ops == {"mac": 256}
    assert rec.bytes_read["dram"] == 160 and rec.bytes_written["dram"] == 128
    assert rec.stall_cycles["dram"] == 30 and rec.stall_cycles["unit"] == 0
    assert rec.busy_cycles == {"mac": 16.0}
    # priced afterwards: 256 MACs at 1 pJ, 288 DRAM bytes at 2 pJ, SRAM bytes at 0.1 pJ
    assert res.energy_pj["mac"] == 256.0 and res.energy_pj["dram"] == 576.0
    # with unbounded memory only the one-cycle transfers remain around the 26 + 1 cycles
    assert simulate(ONE, unbounded(tiny_hw())).cycles == 1 + 27 + 1


def test_analytic_engine_and_zero_skip_options():
    hw = tiny_hw()
    wl = tiny_workload()
    des = simulate(wl, hw)
    bound = simulate(wl, hw, engine="analytic")
    assert bound.engine == "analytic" and des.engine == "des"
    assert bound.cycles <= des.cycles
    skip = simulate(wl, hw, zero_skip=True)
    assert skip.zero_skip and skip.total("ops")["add"] < des.total("ops")["add"]
    assert skip.total("ops")["mac"] == des.total("ops")["mac"]


def test_hybrid_layer_uses_all_three_arrays_concurrently():
    res = simulate(tiny_workload(), unbounded(tiny_hw()), schedule="overlap")
    pw = next(rec for rec in res.layers if rec.name == "pw1")
    assert set(pw.compute_cycles) == {"mac", "add", "mul"}
    assert pw.cycles < sum(pw.compute_cycles.values())
    assert pw.ops["add@mac"] == 64 * 4    # the fp branch's bias, preloaded in the accumulators


def test_liveness_guard_names_the_waiting_tile():
    hw = tiny_hw()
    plan = map_workload(ONE, hw)
    bad = replace(plan.tiles[0], alloc={"inputs": 10 ** 9})
    plan = replace(plan, tiles=(bad,) + plan.tiles[1:])
    with pytest.raises(LivenessError, match=r"c\.conv tile 0 waits for buffer space"):
        simulate_plan(plan, hw)


def test_timeline_is_chrome_trace_json(tmp_path):
    path = tmp_path / "sub" / "trace.json"
    res = simulate(tiny_workload(), tiny_hw(), timeline=path)
    events = json.loads(path.read_text())["traceEvents"]
    names = {e["args"]["name"] for e in events if e["ph"] == "M"}
    assert {"mac array", "add array", "mul array", "DRAM channel"} <= names
    slices = [e for e in events if e["ph"] == "X" and e["cat"] != "dram"]
    assert len(slices) == res.meta["tiles"]
    assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in events if e["ph"] == "X")
    assert any(e["ph"] == "C" for e in events)


def test_tables():
    res = simulate(tiny_workload(), tiny_hw())
    d = result_dict(res)
    assert [row["name"] for row in d["layers"]] == ["conv1", "dw1", "pw1", "add1", "fc"]
    assert d["layers"][0]["compute_cycles"]["mac"] > 0
    assert d["totals"]["cycles"] == res.cycles
    assert set(d["totals"]["stall_cycles"]) == {"dram", "buffer", "dependency", "unit"}
    json.dumps(d)
    df = layers_frame(res)
    assert len(df) == 5 and "compute_cycles.mac" in df.columns and "stall_cycles.dram" in df
    assert df["cycles"].sum() >= 0 and (df["ops.mac"] >= 0).all()
    text = summary_text(res)
    assert "inferences/s" in text and "pw1" in text and "utilisation" in text


@pytest.fixture
def files(tmp_path):
    wl, hw = tmp_path / "wl.json", tmp_path / "hw.yaml"
    save_workload(tiny_workload(), wl)
    hw.write_text(dumps_hwconfig(tiny_hw()))
    return wl, hw


def test_cli_simulate(files, tmp_path):
    wl, hw = files
    runner = CliRunner()
    r = runner.invoke(main, ["simulate", str(wl), "--hw", str(hw), "--json",
                             "--schedule", "overlap", "--out", str(tmp_path / "out"),
                             "--timeline", str(tmp_path / "out" / "t.json")])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["totals"]["cycles"] > 0 and data["layers"][2]["name"] == "pw1"
    assert "compute_cycles" in data["layers"][0]
    saved = json.loads((tmp_path / "out" / "result.json").read_text())
    assert saved["config"]["name"] == "tiny" and saved["meta"]["workload_hash"]
    assert (tmp_path / "out" / "layers.csv").read_text().startswith("name,")
    r = runner.invoke(main, ["simulate", str(wl), "--hw", str(hw), "--engine", "analytic"])
    assert r.exit_code == 0 and "engine analytic" in r.output


def test_cli_errors_are_one_line(files, tmp_path):
    wl, hw = files
    runner = CliRunner()
    r = runner.invoke(main, ["simulate", str(wl), "--hw", str(hw), "--engine", "analytic",
                             "--timeline", str(tmp_path / "t.json")])
    assert r.exit_code == 2 and "timeline" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(dumps_hwconfig(tiny_hw()).replace("count: 16", "count: 0"))
    r = runner.invoke(main, ["simulate", str(wl), "--hw", str(bad)])
    assert r.exit_code == 2
    assert "layers[pw1].stages[wb].unit: 'add'" in r.output and "Traceback" not in r.output
