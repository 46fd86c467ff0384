"""Figures: titles, axis labels, series, point counts and markers, not just that a file exists."""
from __future__ import annotations

import pandas as pd
import pytest

from accelsim.errors import InputError
from accelsim.results.plot import (
    FLAT_ENERGY_NOTE,
    FRONT_LABEL,
    OPTIMUM_LABEL,
    PUBLISHED_LABEL,
    fraction_figure,
    gantt_figure,
    layers_figure,
    pareto_figure,
    save,
)
from accelsim.results.plotdata import STATE_LABELS
from accelsim.results.records import LayerRecord, Result

FRACS = [0.0, 0.25, 0.5, 0.75, 1.0]


def _sweep_rows() -> pd.DataFrame:
    rows = []
    for wl, peak in (("net_a", 0.25), ("net_b", 0.75)):
        for engine in ("balance", "sequential"):
            for f in FRACS:
                thr = 2.0 - abs(f - peak) * (2 if engine == "balance" else 3)
                rows.append({"workload": wl, "engine": engine, "mac_fraction": f,
                             "throughput_norm": thr, "energy_norm": 0.5 + f / 10,
                             "error": "", "key": f"{wl}{engine}{f}"})
    rows.append({"workload": "net_a", "engine": "balance", "mac_fraction": 0.6,
                 "throughput_norm": 99.0, "energy_norm": 0.1, "error": "no MACs", "key": "z"})
    return pd.DataFrame(rows)


def test_fraction_figure_lines_points_and_optimum_markers():
    fig = fraction_figure(_sweep_rows(), title="split sweep")
    assert fig._suptitle.get_text() == "split sweep"
    axes = fig.axes
    assert len(axes) == 4
    top_left, top_right, bottom_left = axes[0], axes[1], axes[2]
    assert top_left.get_title() == "balance model (whole network, the paper's)"
    assert top_right.get_title() == "sequential model (layers one after another)"
    assert top_left.get_ylabel().startswith("throughput")
    assert bottom_left.get_ylabel().startswith("energy")
    assert bottom_left.get_xlabel() == "MAC share of the area"
    lines = {ln.get_label(): ln for ln in top_left.get_lines()}
    assert set(lines) == {"net_a", "net_b", OPTIMUM_LABEL}
    assert list(lines["net_a"].get_xdata()) == FRACS  # the error row is left out
    opt = lines[OPTIMUM_LABEL]
    assert opt.get_marker() == "*" and opt.get_linestyle() == "None"
    assert list(opt.get_xdata()) == [0.25, 0.75] and list(opt.get_ydata()) == [2.0, 2.0]
    # the energy panel marks the same MAC share
    eopt = [ln for ln in bottom_left.get_lines() if ln.get_label() == OPTIMUM_LABEL][0]
    assert list(eopt.get_xdata()) == [0.25, 0.75]
    assert list(eopt.get_ydata()) == pytest.approx([0.525, 0.575])
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["net_a", "net_b", OPTIMUM_LABEL]


def test_fraction_figure_flat_energy_goes_to_the_legend():
    df = _sweep_rows()
    df["energy_norm"] = [0.5 if w == "net_a" else 0.25 for w in df["workload"]]
    fig = fraction_figure(df)
    assert len(fig.axes) == 2  # one row: throughput only
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["net_a (energy 0.5)", "net_b (energy 0.25)", OPTIMUM_LABEL]
    assert FLAT_ENERGY_NOTE in [t.get_text() for t in fig.texts]


def test_fraction_figure_facets_and_readable_labels():
    rows = []
    for wl in ("mobilenet_v1_0.5_hybrid_a0.375_r1.6", "mobilenet_v1_0.5_hybrid_a0.375_r1",
               "mobilenet_v1_0.5_baseline"):
        for bw in (8, 16):
            for f in FRACS:
                rows.append({"workload": wl, "engine": "des", "mac_fraction": f, "bw": bw,
                             "throughput_norm": f * bw, "energy_norm": f + bw, "error": ""})
    fig = fraction_figure(pd.DataFrame(rows), facets=("bw",))
    assert len(fig.axes) == 4
    assert fig.axes[0].get_title() == "discrete-event simulation\nbw = 8"
    assert fig.axes[1].get_title() == "discrete-event simulation\nbw = 16"
    lines = {ln.get_label(): ln for ln in fig.axes[1].get_lines()}
    # r = c before r = 1.6c, baseline first; each panel only has its own bandwidth's rows
    assert list(lines)[:3] == ["fp16 baseline", "hybrid α=0.375 r=c", "hybrid α=0.375 r=1.6c"]
    assert list(lines["fp16 baseline"].get_ydata()) == [f * 16 for f in FRACS]
    assert lines["hybrid α=0.375 r=c"].get_color() == lines["hybrid α=0.375 r=1.6c"].get_color()
    assert lines["hybrid α=0.375 r=c"].get_linestyle() != \
        lines["hybrid α=0.375 r=1.6c"].get_linestyle()


def test_pareto_figure_front_and_published_points():
    df = _sweep_rows()
    pub = [{"label": "paper A", "throughput": 1.5, "energy": 0.55},
           {"label": "paper B", "throughput": 1.0, "energy": 0.4},
           {"label": "paper C close to B", "throughput": 1.01, "energy": 0.405}]
    fig = pareto_figure(df[df.engine == "balance"], published=pub, title="front", note="why")
    ax = fig.axes[0]
    assert ax.get_title() == "front"
    assert ax.get_xlabel() == "throughput (x MAC-only baseline)"
    assert ax.get_ylabel() == "energy (x baseline)"
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert len(lines["net_a"].get_xdata()) == 5 and len(lines["net_b"].get_xdata()) == 5
    # front of the 10 balance points: (thr, energy) non-dominated ones, sorted by throughput
    front = lines[FRONT_LABEL]
    assert list(front.get_xdata()) == [1.5, 2.0] and list(front.get_ydata()) == [0.5, 0.525]
    assert list(lines[PUBLISHED_LABEL].get_xdata()) == [1.5, 1.0, 1.01]
    assert sorted(t.get_text() for t in ax.texts) == ["paper A", "paper B",
                                                      "paper C close to B"]
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    for i, a in enumerate(boxes):  # no two published labels overlap
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert FRONT_LABEL in legend and PUBLISHED_LABEL in legend
    assert "why" in [t.get_text() for t in fig.texts]


def _result(unit_waits: bool = True) -> Result:
    def rec(name: str, start: int, end: int, compute: dict, waits: dict, energy: dict
            ) -> LayerRecord:
        return LayerRecord(name=name, start_cycle=start, end_cycle=end, compute_cycles=compute,
                           busy_cycles={}, ops={}, bytes_read={}, bytes_written={},
                           stall_cycles={}, energy_pj=energy,
                           unit_stall_cycles=waits if unit_waits else {})

    w = dict.fromkeys(("dram", "buffer", "dependency", "unit", "idle"), 0)
    layers = (rec("conv1", 0, 100, {"mac": 70, "add": 20},
                  {"mac": {**w, "dram": 30}, "add": {**w, "dependency": 50, "idle": 30}},
                  {"mac": 5000.0, "dram": 1000.0}),
              rec("pw1", 100, 150, {"add": 50}, {"add": w}, {"add": 2000.0}),
              rec("fc", 150, 400, {"mac": 175}, {"mac": {**w, "dram": 50, "dependency": 25}},
                  {"mac": 1000.0}))
    return Result(engine="des", schedule="sequential", workload="tiny", hw="hw", zero_skip=False,
                  cycles=400, clock_mhz=1000.0, layers=layers,
                  energy_pj={"mac": 6000.0, "dram": 1000.0, "add": 2000.0})


def test_layers_figure_bars_are_the_layers_cycles_split_per_unit():
    fig = layers_figure(_result())
    mac, add, energy = fig.axes[:3]
    assert "tiny on hw (des, sequential): 400 cycles" in fig._suptitle.get_text()
    assert mac.get_title(loc="left").startswith("MAC array")
    assert add.get_title(loc="left").startswith("adder")
    assert energy.get_ylabel() == "energy (µJ)"
    for ax in (mac, add):
        heights = [[p.get_height() for p in c] for c in ax.containers]
        assert [sum(col) for col in zip(*heights)] == [100, 50, 250]  # each bar = cycles
    labels = [c.get_label() for c in mac.containers]
    assert labels == [STATE_LABELS[s] for s in ("busy", "dram", "dependency", "unused")]
    assert [p.get_height() for p in mac.containers[0]] == [70, 0, 175]
    assert [p.get_height() for p in mac.containers[-1]] == [0, 50, 0]  # pw1 uses no MACs
    assert [p.get_height() for p in add.containers[0]] == [20, 50, 0]
    # energy: its own colours, none shared with the unit-state panels
    state_colors = {tuple(c.patches[0].get_facecolor()) for ax in (mac, add)
                    for c in ax.containers}
    energy_colors = {tuple(c.patches[0].get_facecolor()) for c in energy.containers}
    assert not state_colors & energy_colors
    assert [c.get_label() for c in energy.containers] == ["MAC units", "adders", "DRAM"]
    assert [p.get_height() for p in energy.containers[0]] == [0.005, 0.0, 0.001]
    assert [t.get_text() for t in energy.get_xticklabels()] == ["conv1", "pw1", "fc"]


def test_layers_figure_without_a_breakdown_still_adds_up():
    fig = layers_figure(_result(unit_waits=False))
    mac = fig.axes[0]
    labels = [c.get_label() for c in mac.containers]
    assert labels == [STATE_LABELS[s] for s in ("busy", "unattributed", "unused")]
    heights = [[p.get_height() for p in c] for c in mac.containers]
    assert [sum(col) for col in zip(*heights)] == [100, 50, 250]


def test_gantt_figure_lanes_and_bars():
    events = [{"ph": "M", "pid": 1, "tid": 1, "name": "thread_name", "args": {"name": "mac"}},
              {"ph": "M", "pid": 1, "tid": 2, "name": "thread_name", "args": {"name": "dram"}},
              {"ph": "X", "pid": 1, "tid": 1, "name": "conv1.conv", "cat": "conv", "ts": 0,
               "dur": 5},
              {"ph": "X", "pid": 1, "tid": 1, "name": "pw1.fp", "cat": "conv", "ts": 6, "dur": 2},
              {"ph": "X", "pid": 1, "tid": 2, "name": "load", "cat": "dram", "ts": 1, "dur": 9},
              {"ph": "C", "pid": 1, "name": "sram", "ts": 3, "args": {"bytes": 1}}]
    fig = gantt_figure(events, title="run")
    ax = fig.axes[0]
    assert ax.get_title() == ("run\n3 spans, 2 lanes; the last ends at 10 us; dotted lines: "
                              "layer starts")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["mac", "dram"]
    assert ax.get_xlabel() == "time (us)"
    bars = {c.get_label(): c for c in ax.collections}
    assert set(bars) == {"fp16 conv / FC", "DRAM transfer"}
    assert len(bars["fp16 conv / FC"].get_paths()) == 2
    assert len(bars["DRAM transfer"].get_paths()) == 1
    marks = [ln.get_xdata()[0] for ln in ax.get_lines()]
    assert marks == [0, 6]  # conv1 and pw1 start
    with pytest.raises(InputError, match="no complete"):
        gantt_figure([{"ph": "C", "ts": 0}])


def test_gantt_figure_in_cycles_with_the_process_name_as_title():
    events = [{"ph": "M", "pid": 1, "name": "process_name", "args": {"name": "wl on hw"}}]
    for role, a, b in (("wb", 0, 10), ("wc", 10, 30), ("a_mul", 5, 12)):
        events.append({"ph": "X", "pid": 1, "tid": 1 + (role == "a_mul"), "name": f"pw1.{role}",
                       "cat": role, "ts": a / 1000, "dur": (b - a) / 1000,
                       "args": {"start_cycle": a, "end_cycle": b}})
    ax = gantt_figure(events).axes[0]
    assert ax.get_title().startswith("wl on hw\n3 spans, 2 lanes; the last ends at 30 cycles")
    assert ax.get_xlabel() == "cycle"
    colors = {c.get_label(): tuple(c.get_facecolor()[0]) for c in ax.collections}
    assert colors["W_b (ternary adds)"] != colors["W_c (ternary adds)"]


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"),
                                           (".pdf", b"%PDF")])
def test_save_formats(tmp_path, suffix, magic):
    path = save(layers_figure(_result()), tmp_path / f"f{suffix}")
    assert path.read_bytes().startswith(magic)


def test_save_rejects_unknown_format(tmp_path):
    with pytest.raises(InputError, match="must end in .png, .svg, .pdf"):
        save(layers_figure(_result()), tmp_path / "f.jpg")


def test_energy_bars_stack_to_each_runs_total_one_panel_per_group():
    from accelsim.results.plot import energy_bars_figure

    bars = [("roundtrip", "baseline", {"mac": 2.0, "dram": 8.0}),
            ("roundtrip", "TWN", {"add": 1.0, "dram": 5.0, "sram": 0.5}),
            ("resident", "baseline", {"mac": 2.0, "dram": 3.0, "sram": 1.0})]
    fig = energy_bars_figure(bars, title="t")
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["roundtrip", "resident"]
    for ax, totals in zip(axes, ([10.0, 6.5], [6.0])):
        tops = {}
        for p in ax.patches:
            x = round(p.get_x() + p.get_width() / 2)
            tops[x] = max(tops.get(x, 0.0), p.get_y() + p.get_height())
        assert [tops[i] for i in sorted(tops)] == pytest.approx(totals)
    legend = [t.get_text() for t in axes[-1].get_legend().get_texts()]
    assert set(legend) == {"MAC units", "adders", "SRAM (all buffers)", "DRAM"}
    with pytest.raises(InputError):
        energy_bars_figure([])
