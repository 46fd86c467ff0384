"""The report's captions and figures, and the figure recipes' refusals: the report's
Gantt chart and per-layer figure are the des_45nm.md run, captions say what is normalised to
what, a sweep's extra axes need --by, published points appear only where comparable."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from dse_support import IAREA_HW as IAREA
from dse_support import PAPER_HW, write_inputs, write_spec
from dse_support import WORKLOADS as WL

from accelsim import api
from accelsim.analytic.allocation import allocate
from accelsim.choices import Model, SchedulePolicy
from accelsim.dse.allocate import drop_idle_units
from accelsim.dse.store import ResultStore, expand_params
from accelsim.errors import AccelsimWarning, InputError
from accelsim.evaluate import evaluate
from accelsim.hw.load import canonical_json, hwconfig_to_dict
from accelsim.study.figures import published_for, swept_fields
from accelsim.study.report import FOCUS, REF, DesRun, _figures, caption_45nm


def test_report_des_figures_are_the_des_45nm_run(tmp_path):
    hw = api.load_hwconfig(IAREA)
    wl = api.load_workload(WL / f"{FOCUS}.json")
    split = drop_idle_units(wl, allocate(wl, hw, model=Model.SEQUENTIAL).config)
    rows, cols = split.mac_array.count // 16, 16
    shaped = replace(split, mac_array=replace(split.mac_array, rows=rows, cols=cols))
    ov = evaluate(Model.DES, wl, shaped, schedule=SchedulePolicy.OVERLAP)
    des = {(FOCUS, SchedulePolicy.SEQUENTIAL): DesRun(1, 1.0, (rows, cols)),
           (FOCUS, SchedulePolicy.OVERLAP): DesRun(ov.cycles, ov.total_energy_pj, (rows, cols)),
           (REF, SchedulePolicy.SEQUENTIAL): DesRun(1, 1.0, (32, 32))}
    frac = expand_params(ResultStore(_tiny_store(tmp_path, engine=["balance"])).frame())
    with pytest.warns(AccelsimWarning, match="no workload of the paper's table is in the store"):
        files = _figures(tmp_path, [wl], frac, hw, {FOCUS: split}, des, True)
    assert [p.name for p in files[2:]] == ["layers.png", "timeline.json", "gantt.png"]
    events = json.loads((tmp_path / "timeline.json").read_text())["traceEvents"]
    name = next(e["args"]["name"] for e in events if e.get("name") == "process_name")
    assert name == f"{FOCUS} on {hw.name}, MAC array {rows}x{cols} (DES, overlap)"
    ends = max(e["args"]["end_cycle"] for e in events if e.get("ph") == "X")
    assert ends <= ov.cycles <= ends + hw.dram.latency_cycles  # the same run as the table
    cap = caption_45nm(hw, (32, 32))
    assert "normalised to the fp16 baseline on the MAC-only accelerator of the same area (32x32" \
        in cap and "Energy is the same under both schedules because" in cap


def _tiny_store(tmp_path, axes: dict | None = None, engine: object = "sequential"):
    files = write_inputs(tmp_path)
    spec = write_spec(tmp_path, {"hw": str(PAPER_HW), "workloads": [str(p) for p in
                                                                    files.values()],
                                 "axes": axes or {"mac_fraction": [0.25, 0.5, 0.75]},
                                 "engine": engine})
    store = tmp_path / "store"
    api.sweep(spec, store, progress=False)
    return store


def test_fraction_plot_needs_by_for_every_extra_axis(tmp_path):
    store = _tiny_store(tmp_path, {"mac_fraction": [0.25, 0.5, 0.75],
                                   "dram.bandwidth_bytes_per_cycle": [512, 1024]})
    assert swept_fields(ResultStore(store).frame()) == ["dram.bandwidth_bytes_per_cycle",
                                                        "mac_fraction"]
    with pytest.raises(InputError, match=r"--by: <not given> \(the store also varies "
                                         r"dram.bandwidth_bytes_per_cycle \(1024.0, 512.0\): "
                                         r"give --by dram.bandwidth_bytes_per_cycle"):
        api.plot_fraction(store, tmp_path / "f.png")
    with pytest.raises(InputError, match=r"--by: 'clock_mhz' \(not a field the store varies"):
        api.plot_fraction(store, tmp_path / "f.png", by=["clock_mhz"])
    out = api.plot_fraction(store, tmp_path / "f.png", by=["dram.bandwidth_bytes_per_cycle"])
    assert out.stat().st_size > 10_000


def test_published_points_only_where_the_paper_model_and_costs_hold(tmp_path):
    frame = ResultStore(_tiny_store(tmp_path, engine=["balance", "sequential"])).frame()
    base = api.load_workload(WL / "mobilenet_v1_0.5_baseline.json")
    assert published_for(frame, None)[1].endswith("the axes are absolute (give --baseline)")
    assert "these rows from balance, sequential" in published_for(frame, base)[1]
    bal = frame[frame.engine == "balance"]
    assert published_for(bal, base)[1].endswith("no workload of the paper's table is in the "
                                                 "store")
    paper_rows = bal.assign(workload="mobilenet_v1_0.5_hybrid_a0.375_r1.6")
    real = paper_rows.assign(config_json=canonical_json(hwconfig_to_dict(api.load_hwconfig(IAREA))))
    assert published_for(real, base)[1] == (
        "published points left out: config iso_area_45nm's MAC is not 2 adder areas and 5 "
        "adder energies (the paper's cost model)")
    points, why = published_for(paper_rows, base)
    assert why == "" and [p["label"] for p in points] == ["hybrid α=0.375 r=1.6c"]
    assert points[0]["throughput"] == 0.8 and points[0]["energy"] == 0.74
