"""Figures: titles, axis labels, series, point counts and markers, not just that a file exists."""
from __future__ import annotations

import pandas as pd
import pytest

from accelsim.errors import InputError
from accelsim.results.plot import (
    FRONT_LABEL,
    OPTIMUM_LABEL,
    PUBLISHED_LABEL,
    fraction_figure,
    gantt_figure,
    layers_figure,
    pareto_figure,
    save,
)
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


def test_pareto_figure_front_and_published_points():
    df = _sweep_rows()
    pub = [{"label": "paper A", "throughput": 1.5, "energy": 0.55},
           {"label": "paper B", "throughput": 1.0, "energy": 0.4}]
    fig = pareto_figure(df[df.engine == "balance"], published=pub, title="front")
    ax = fig.axes[0]
    assert ax.get_title() == "front"
    assert ax.get_xlabel() == "throughput (x MAC-only baseline)"
    assert ax.get_ylabel() == "energy (x baseline)"
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert len(lines["net_a"].get_xdata()) == 5 and len(lines["net_b"].get_xdata()) == 5
    # front of the 10 balance points: (thr, energy) non-dominated ones, sorted by throughput
    front = lines[FRONT_LABEL]
    assert list(front.get_xdata()) == [1.5, 2.0] and list(front.get_ydata()) == [0.5, 0.525]
    assert list(lines[PUBLISHED_LABEL].get_xdata()) == [1.5, 1.0]
    assert [t.get_text() for t in ax.texts] == ["paper A", "paper B"]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert FRONT_LABEL in legend and PUBLISHED_LABEL in legend


def _result() -> Result:
    def rec(name: str, start: int, end: int, stall: dict, energy: dict) -> LayerRecord:
        return LayerRecord(name=name, start_cycle=start, end_cycle=end, compute_cycles={},
                           busy_cycles={}, ops={}, bytes_read={}, bytes_written={},
                           stall_cycles=stall, energy_pj=energy)

    layers = (rec("conv1", 0, 100, {"dram": 30}, {"mac": 5000.0, "dram": 1000.0}),
              rec("pw1", 100, 150, {}, {"add": 2000.0}),
              rec("fc", 150, 400, {"dram": 50, "dependency": 25}, {"mac": 1000.0}))
    return Result(engine="des", schedule="sequential", workload="tiny", hw="hw", zero_skip=False,
                  cycles=400, clock_mhz=1000.0, layers=layers,
                  energy_pj={"mac": 6000.0, "dram": 1000.0, "add": 2000.0})


def test_layers_figure_stacks_cycles_and_energy():
    fig = layers_figure(_result())
    top, bottom = fig.axes
    assert "tiny on hw (des, sequential): 400 cycles" in fig._suptitle.get_text()
    assert top.get_ylabel() == "cycles" and bottom.get_ylabel() == "energy (nJ)"
    labels = [c.get_label() for c in top.containers]
    assert labels == ["compute", "stall: dram", "stall: dependency"]
    heights = [[p.get_height() for p in c] for c in top.containers]
    assert heights == [[70, 50, 175], [30, 0, 50], [0, 0, 25]]
    assert [sum(col) for col in zip(*heights)] == [100, 50, 250]
    assert [c.get_label() for c in bottom.containers] == ["add", "dram", "mac"]
    assert [p.get_height() for p in bottom.containers[2]] == [5.0, 0.0, 1.0]
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["conv1", "pw1", "fc"]


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
    assert ax.get_title() == "run: 3 spans, 2 lanes, end 10 us"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["mac", "dram"]
    assert ax.get_xlabel() == "time (us)"
    bars = {c.get_label(): c for c in ax.collections}
    assert set(bars) == {"conv", "dram"}
    assert len(bars["conv"].get_paths()) == 2 and len(bars["dram"].get_paths()) == 1
    with pytest.raises(InputError, match="no complete"):
        gantt_figure([{"ph": "C", "ts": 0}])


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"),
                                           (".pdf", b"%PDF")])
def test_save_formats(tmp_path, suffix, magic):
    path = save(layers_figure(_result()), tmp_path / f"f{suffix}")
    assert path.read_bytes().startswith(magic)


def test_save_rejects_unknown_format(tmp_path):
    with pytest.raises(InputError, match="must end in .png, .svg, .pdf"):
        save(layers_figure(_result()), tmp_path / "f.jpg")
