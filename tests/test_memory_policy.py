"""Memory policies (``mapping.memory``): layer outputs kept on chip, shared input reads, the
global residency budget, and what the results say about it."""
from __future__ import annotations

from pathlib import Path

import pytest
from strategies import hw_dict, tiny_workload

from accelsim.engine.core import Engine
from accelsim.hw import hwconfig_from_dict
from accelsim.mapping import map_workload


def _hw(memory: str, act_kib: float | None = None, buffer: str = "outputs"):
    doc = hw_dict(**{"mapping.memory": memory, "mapping.activation_buffer": buffer})
    if act_kib is not None:
        doc["buffers"]["activations"] = {"size_kib": act_kib, "bandwidth_bytes_per_cycle": 32,
                                         "read_energy_pj_per_byte": 0.5,
                                         "write_energy_pj_per_byte": 0.5}
    return hwconfig_from_dict(doc)


def _dram(plan, direction: str, kind: str, layer: str | None = None) -> int:
    return sum(getattr(t, direction).get(kind, 0) for s in plan.stages
               if layer is None or s.layer_name == layer for t in (plan.tiles[i] for i in s.tiles))


def test_resident_keeps_every_inner_output_in_a_large_activation_buffer():
    wl = tiny_workload()
    trip = map_workload(wl, _hw("roundtrip", 64, "activations"), "sequential")
    kept = map_workload(wl, _hw("resident", 64, "activations"), "sequential")
    names = [la.name for la in wl.layers]
    assert kept.meta["kept_outputs"] == names[:-1] and "kept_outputs" not in trip.meta
    # only the network's output is written to DRAM; every inner activation crosses no pin
    assert _dram(kept, "dram_write", "outputs") == wl.layers[-1].output_bytes
    assert _dram(trip, "dram_write", "outputs") == sum(la.output_bytes for la in wl.layers)
    # what the consumers read on chip is what the producers wrote there
    assert _dram(kept, "dram_read", "inputs") < _dram(trip, "dram_read", "inputs")
    assert _dram(kept, "sram_write", "activations") >= sum(la.output_bytes
                                                           for la in wl.layers[:-1])
    eng = Engine(kept, _hw("resident", 64, "activations"))
    eng.run()
    assert eng.pool.free == eng.pool.capacity


def test_outputs_that_do_not_fit_go_to_dram_and_the_results_say_so():
    wl = tiny_workload()
    # every inner output is 1 KiB; conv1's lives until the residual add reads it. In 2 KiB:
    # conv1 and dw1 are kept; pw1's would be a third live KiB while it runs (dw1 is its input),
    # so it goes to DRAM; add1's fits again once dw1 is freed.
    plan = map_workload(wl, _hw("resident", 2, "activations"), "sequential")
    kept = plan.meta["kept_outputs"]
    assert kept == ["conv1", "dw1", "add1"]
    for la in wl.layers:
        written = _dram(plan, "dram_write", "outputs", la.name)
        assert written == (0 if la.name in kept else la.output_bytes)
    tiny = map_workload(wl, _hw("resident", 0.5, "activations"), "sequential")
    assert tiny.meta["kept_outputs"] == []


def test_hybrid_branches_share_one_input_read():
    wl = tiny_workload()
    hybrid = next(la for la in wl.layers if la.strassen is not None)
    trip = map_workload(wl, _hw("roundtrip", 0.0625, "activations"), "sequential")
    shared = map_workload(wl, _hw("resident", 0.0625, "activations"), "sequential")
    # nothing kept (the buffer is too small), but the fp and W_b branches load the input once
    assert shared.meta["kept_outputs"] == []
    assert _dram(trip, "dram_read", "inputs", hybrid.name) >= 2 * hybrid.input_bytes
    assert _dram(shared, "dram_read", "inputs", hybrid.name) == hybrid.input_bytes


def test_report_memory_section_normalises_each_policy_to_its_own_reference(tmp_path):
    import pandas as pd

    from accelsim.hw import load_hwconfig
    from accelsim.study.memory_section import POLICIES, memory_section
    from accelsim.workload.schema import Workload

    root = Path(__file__).resolve().parents[1]
    real = load_hwconfig(root / "hwconfigs" / "iso_area_45nm.yaml")
    wls = [Workload("base", ()), Workload("hyb", ())]
    seen = []

    def run_points(runs):  # the reference, then each workload, per policy
        seen.extend(runs)
        rows = []
        for name, _, params in runs:
            scale = 4.0 if dict(params)["mapping.memory"] == "roundtrip" else 1.0
            e = {"mac": 1.0, "add": 0.0, "mul": 0.0, "sram": 1.0,
                 "dram": (2.0 if name == "hyb" else 3.0) * scale}
            rows.append({"workload": name or "ref", "error": "",
                         "cycles": 100 * scale * (0.5 if name == "hyb" else 1.0),
                         "energy_pj": 1e6 * sum(e.values()),
                         **{f"energy_{c}_pj": 1e6 * v for c, v in e.items()}})
        return pd.DataFrame(rows)

    sec = memory_section(tmp_path, wls, {"base": real, "hyb": real}, real, run_points)
    assert [r[0] for r in seen] == [None, "base", "hyb"] * len(POLICIES)
    by = {(r["policy"], r["workload"]): r for r in sec.rows}
    assert by[("roundtrip", "hyb")]["energy"] == pytest.approx(10.0 / 14.0)
    assert by[("resident", "hyb")]["energy"] == pytest.approx(4.0 / 5.0)
    assert by[("resident", "hyb")]["throughput"] == pytest.approx(2.0)
    assert by[("resident", "base")]["dram_share"] == pytest.approx(3.0 / 5.0)
    assert by[("fused", "hyb")]["energy"] == pytest.approx(4.0 / 5.0)
    assert [policy for policy, _ in POLICIES] == ["roundtrip", "resident", "fused"]
    assert ("mapping.fusion", "auto") in POLICIES[2][1]
    assert [p.name for p in sec.files] == ["memory.csv", "memory.md", "memory.png"]
    assert "| resident | hyb |" in (tmp_path / "memory.md").read_text()
