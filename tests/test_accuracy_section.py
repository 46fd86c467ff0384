"""Accuracy beside hardware: the report's section on the bundled trained workloads (values from
the workloads' stored accuracy and real DES runs, normalised to the MAC-only reference, resumed
from the store), ``plot pareto --accuracy`` (rows without an accuracy: a warning, not an
error), and the MAC-only reference built with the config's array design. No torch."""
from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import HWCONFIGS, WORKLOADS
from dse_support import tiny_workload, write_spec

from accelsim import api
from accelsim.analytic.allocation import allocate
from accelsim.choices import Model, SchedulePolicy
from accelsim.cli import main
from accelsim.dse.allocate import drop_idle_units
from accelsim.errors import AccelsimWarning, InputError
from accelsim.evaluate import evaluate
from accelsim.hw.rules import mac_only
from accelsim.study.accuracy_section import (
    REFERENCE_LABEL,
    accuracy_points,
    accuracy_section,
    accuracy_workloads,
    best_split,
    load_trained,
)
from accelsim.study.figures import frame
from accelsim.study.report import _Store
from accelsim.workload.load import save_workload

TRAINED = WORKLOADS / "trained"
BASE = TRAINED / "resnet20_0.5_16px_baseline_digits.json"


def _stored_accuracy(name: str) -> float:
    """The accuracy as written in the workload file, read without accelsim's helpers."""
    doc = json.loads((TRAINED / f"{name}.json").read_text(encoding="utf-8"))
    return doc["provenance"]["training"]["accuracy"]


def _reshaped(cfg, shape: str):
    if shape == "-":
        return cfg
    rows, cols = map(int, shape.split("x"))
    return replace(cfg, mac_array=replace(cfg.mac_array, rows=rows, cols=cols))


def test_section_rows_are_stored_accuracy_beside_real_des_runs_and_resume(tmp_path):
    wls = load_trained(TRAINED)
    assert [w.name for w in wls] == [
        "resnet20_0.5_16px_baseline_digits", "resnet20_0.5_16px_twn_digits",
        "resnet20_0.5_16px_strassen_r1_digits", "resnet20_0.5_16px_hybrid_a0.5_r1_digits"]
    hw = api.load_hwconfig(HWCONFIGS / "paper.yaml")
    store = _Store(tmp_path / "store", wls, 1, False)
    sec = accuracy_section(tmp_path, wls, [hw], store.des_runs)
    rows = sec.rows
    assert [r["variant"] for r in rows] == [REFERENCE_LABEL, "fp16 baseline", "TWN",
                                            "StrassenNets r=c", "hybrid α=0.5 r=c"]
    for r in rows:
        assert r["accuracy"] == _stored_accuracy(r["workload"]) and r["test_images"] == 360
    ref = rows[0]
    # the reference row is the normalisation's reference itself: exactly 1
    for s in SchedulePolicy.SEQUENTIAL, SchedulePolicy.OVERLAP:
        assert ref[f"des_{s}_throughput"] == 1.0 and ref[f"des_{s}_energy"] == 1.0
    assert (ref["macs"], ref["adders"], ref["multipliers"]) == (1024, 0, 0)
    base = wls[0]
    ref_run = evaluate(Model.DES, base, _reshaped(mac_only(hw), ref["mac_array"]))
    assert ref_run.cycles == ref["des_sequential_cycles"]
    # every other row: a DES run of the workload on its best split, divided by the reference
    for wl, r in zip(wls, rows[1:]):
        split = drop_idle_units(wl, allocate(wl, hw, model=Model.SEQUENTIAL).config)
        assert split == best_split(wl, hw) and r["macs"] == split.counts["mac"]
        res = evaluate(Model.DES, wl, _reshaped(split, r["mac_array"]))
        assert res.cycles == r["des_sequential_cycles"]
        assert r["des_sequential_throughput"] == pytest.approx(ref_run.cycles / res.cycles,
                                                               rel=1e-12)
        assert r["des_sequential_energy"] == pytest.approx(
            res.total_energy_pj / ref_run.total_energy_pj, rel=1e-12)
    twn = rows[2]
    assert twn["macs"] == 0 and twn["mac_array"] == "-" and twn["des_sequential_energy"] < 0.3
    # files: the CSV holds the rows, the markdown the percentages, one figure per config
    csv = pd.read_csv(tmp_path / "accuracy.csv")
    assert list(csv.variant) == [r["variant"] for r in rows]
    assert list(csv.des_sequential_cycles) == [r["des_sequential_cycles"] for r in rows]
    md = (tmp_path / "accuracy.md").read_text(encoding="utf-8")
    assert "| paper | TWN | 98.06% | 0 | 2,048 | 0 | - |" in md
    assert "normalised to the trained fp16 baseline on the MAC-only accelerator" in md
    assert (tmp_path / "accuracy_paper.png").read_bytes()[:4] == b"\x89PNG"
    # a second report finds every run in the store
    again = _Store(tmp_path / "store", wls, 1, False)
    assert accuracy_section(tmp_path, wls, [hw], again.des_runs).rows == rows
    assert again.computed == 0 and again.reused == store.computed > 0


def test_load_trained_skips_folders_without_trained_workloads(tmp_path):
    assert load_trained(tmp_path / "missing") == ()
    save_workload(tiny_workload("fp"), tmp_path / "fp.json")
    assert load_trained(tmp_path) == ()
    with pytest.raises(InputError, match="no such workload file or folder"):
        accuracy_workloads([tmp_path / "nope"])


def test_mac_only_reference_has_the_configs_array_design():
    hw = api.load_hwconfig(HWCONFIGS / "iso_area_45nm.yaml")
    ref = mac_only(hw)
    assert (ref.mac_array.rows, ref.mac_array.cols) == (32, 32)
    assert replace(ref.mac_array, rows=hw.mac_array.rows, cols=hw.mac_array.cols) == \
        hw.mac_array
    # the fp16 MobileNet's best split is MAC-only: on the reference's shape it is the reference
    wl = api.load_workload(WORKLOADS / "mobilenet_v1_0.5_baseline.json")
    split = best_split(wl, hw)
    assert split.counts == {"mac": 1024, "add": 0, "mul": 0, "xnor": 0}
    assert evaluate(Model.DES, wl, split).cycles == \
        api.reference("des", wl, hw, schedule="sequential").cycles


def _trained_store(tmp_path):
    untrained = tmp_path / "tiny_fp.json"
    save_workload(tiny_workload("fp"), untrained)
    spec = write_spec(tmp_path, {
        "hw": str(HWCONFIGS / "paper.yaml"),
        "workloads": [str(TRAINED / "resnet20_0.5_16px_twn_digits.json"),
                      str(TRAINED / "resnet20_0.5_16px_hybrid_a0.5_r1_digits.json"),
                      str(untrained)],
        "axes": {"mac_fraction": [0.25, 0.5, 0.75]}, "engine": "sequential"})
    store = tmp_path / "store"
    api.sweep(spec, store, progress=False)
    return store


def test_plot_pareto_accuracy_draws_trained_rows_and_notes_the_rest(tmp_path):
    store = _trained_store(tmp_path)
    base = api.load_workload(BASE)
    df = frame(store, base)
    points, note = accuracy_points(df, accuracy_workloads([TRAINED]), "throughput_norm",
                                   "energy_norm")
    assert note == "3 of 9 rows carry no accuracy and are left out (tiny_fp)"
    assert len(points) == 6
    by_label = {p["workload"]: p for p in points if p["highlight"]}
    assert by_label["TWN"]["accuracy"] == _stored_accuracy("resnet20_0.5_16px_twn_digits")
    twn = df[df.workload == "resnet20_0.5_16px_twn_digits"]
    # TWN: fewer MACs, more adders, faster at the same energy: the lowest MAC share is its front
    assert by_label["TWN"]["throughput"] == twn.throughput_norm.max()
    with pytest.warns(AccelsimWarning, match=r"3 of 9 rows carry no accuracy"):
        out = api.plot_pareto(store, tmp_path / "acc.png", baseline=base, accuracy=[TRAINED])
    assert out.read_bytes()[:4] == b"\x89PNG"
    res = CliRunner().invoke(main, ["plot", "pareto", str(store), "--accuracy", str(TRAINED),
                                    "--out", str(tmp_path / "cli.svg")])
    assert res.exit_code == 0, res.output
    assert res.stderr.strip().splitlines() == [
        "warning: 3 of 9 rows carry no accuracy and are left out (tiny_fp)"]
    assert (tmp_path / "cli.svg").stat().st_size > 10_000
    # only untrained workloads given: nothing to draw, one line, exit 2
    res = CliRunner().invoke(main, ["plot", "pareto", str(store), "--accuracy",
                                    str(tmp_path / "tiny_fp.json"), "--out",
                                    str(tmp_path / "none.png")])
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines()[-1].startswith(
        "error: --accuracy: ")
    assert "no row of the store is of a workload given there that carries an accuracy" in \
        res.stderr
    assert not (tmp_path / "none.png").exists()
