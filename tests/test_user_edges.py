"""What a new user meets at the edges: API twins taking paths, the unused-area warning, closed
pipes, compare's order and exact baseline, one error line per workload for export-scalesim."""
from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from accelsim import api
from accelsim.cli import main
from accelsim.errors import AccelsimWarning, InputError

ROOT = Path(__file__).resolve().parents[1]
WL = ROOT / "workloads"
PAPER = ROOT / "hwconfigs" / "paper.yaml"
IAREA = ROOT / "hwconfigs" / "iso_area_45nm.yaml"


def test_api_twins_take_paths_or_loaded_objects():
    wl_path = WL / "mobilenet_v1_0.5_twn.json"
    by_path = api.simulate(str(wl_path), str(IAREA), engine="analytic")
    loaded = api.simulate(api.load_workload(wl_path), api.load_hwconfig(IAREA),
                          engine="analytic")
    assert by_path == loaded
    assert api.evaluate("sequential", wl_path, PAPER).cycles == \
        api.evaluate("sequential", api.load_workload(wl_path), api.load_hwconfig(PAPER)).cycles
    rows = api.compare([WL / "mobilenet_v1_0.5_baseline.json", wl_path], PAPER,
                       baseline=WL / "mobilenet_v1_0.5_baseline.json")
    assert [r.workload for r in rows] == ["mobilenet_v1_0.5_baseline", "mobilenet_v1_0.5_twn"]
    assert api.counts(wl_path)["totals"]["adds"] == api.workload_counts(wl_path).adds


def test_api_errors_are_the_commands_one_line_errors(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(InputError) as info:
        api.simulate(missing, PAPER)
    res = CliRunner().invoke(main, ["simulate", str(missing), "--hw", str(PAPER)])
    assert res.exit_code == 2 and res.output == f"error: {info.value}\n"
    with pytest.raises(InputError, match=r"wl: 'int' \(must be a Workload or the path"):
        api.simulate(5, PAPER)
    with pytest.raises(InputError, match=r"hw: 'dict' \(must be a HardwareConfig or the path"):
        api.allocate_report(WL / "mobilenet_v1_0.5_twn.json", {})


def test_a_config_that_leaves_a_quarter_of_its_area_unused_warns_once(tmp_path):
    doc = yaml.safe_load(PAPER.read_text())
    doc["adder_array"]["count"] = 100   # 512 MACs + 100 adders: 55% of the budget
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.warns(AccelsimWarning, match=r"compute units use 1,528,640 of area_budget_um2 "
                                             r"2,785,280 \(55%, below 75%\)"):
        api.load_hwconfig(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        api.load_hwconfig(PAPER)  # the bundled configs use their whole budget
    res = CliRunner().invoke(main, ["simulate", str(WL / "mobilenet_v1_0.5_twn.json"), "--hw",
                                    str(path), "--engine", "analytic"])
    assert res.exit_code == 0
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"warning: {path}: paper: compute units use")


def test_output_to_a_closed_pipe_exits_quietly():
    proc = subprocess.Popen([sys.executable, "-c", "from accelsim.cli import main; main()",
                             "counts", str(WL / "resnet18_baseline.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader went away before the first line
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141 and err == b""


def test_compare_sorts_numerically_and_normalises_the_baseline_exactly():
    names = ["mobilenet_v1_0.5_hybrid_a0.25_r1.33", "mobilenet_v1_0.5_hybrid_a0.25_r1",
             "mobilenet_v1_0.5_twn", "mobilenet_v1_0.5_baseline", "mobilenet_v1_0.5_strassen_r2",
             "mobilenet_v1_0.5_strassen_r0.5"]
    rows = api.compare([WL / f"{n}.json" for n in names], PAPER)
    assert [r.workload for r in rows] == [
        "mobilenet_v1_0.5_baseline", "mobilenet_v1_0.5_twn", "mobilenet_v1_0.5_strassen_r0.5",
        "mobilenet_v1_0.5_strassen_r2", "mobilenet_v1_0.5_hybrid_a0.25_r1",
        "mobilenet_v1_0.5_hybrid_a0.25_r1.33"]
    base = rows[0]
    assert (base.energy, base.thr_balance, base.mac_share_balance) == (1.0, 1.0, 1.0)
    assert rows[1].energy == pytest.approx(0.2) and rows[1].thr_balance == pytest.approx(2.0)


def test_export_scalesim_reports_a_hybrid_workload_in_one_line():
    res = CliRunner().invoke(main, ["export-scalesim",
                                    str(WL / "mobilenet_v1_0.5_hybrid_a0.375_r1.6.json")])
    assert res.exit_code == 2
    assert res.output.splitlines() == [
        f"error: {WL / 'mobilenet_v1_0.5_hybrid_a0.375_r1.6.json'}: layers[*].variant: "
        "<hybrid/strassen> (15 of 28 layers are not fp (conv1, pw1, pw2, pw3, ... fc); "
        "SCALE-Sim runs fp layers only: export the baseline workload)"]
