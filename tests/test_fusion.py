"""Layer fusion as a schedule (``mapping.fusion``): a depthwise layer and its pointwise consumer
processed chunk by chunk, their intermediate map kept in the activation buffer."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import HWCONFIGS
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import hw_dict, hwconfigs, tiny_workload, workloads

from accelsim.analytic.bound import estimate
from accelsim.api import load_hwconfig, load_workload, override, simulate
from accelsim.cli import main
from accelsim.counts import workload_counts
from accelsim.engine import simulate_plan
from accelsim.errors import CompatibilityError
from accelsim.hw import hwconfig_from_dict, hwconfig_to_dict
from accelsim.mapping import map_workload
from accelsim.workload.build import fp_layer
from accelsim.workload.schema import Shape, Workload

WORKLOADS = HWCONFIGS.parent / "workloads"


def _hw(act_kib: float = 1, **changes):
    """The tiny config (output-stationary only: weights resident, read once) with a dedicated
    activation buffer of ``act_kib`` (not double-buffered: a fused chunk gets a quarter)."""
    doc = hw_dict(**{"mac_array.dataflow": "os", "mac_array.dataflows": ["os"],
                     "mapping.activation_buffer": "activations", **changes})
    doc["buffers"]["activations"] = {"size_kib": act_kib, "bandwidth_bytes_per_cycle": 32,
                                     "read_energy_pj_per_byte": 0.5,
                                     "write_energy_pj_per_byte": 0.5, "double_buffered": False}
    return hwconfig_from_dict(doc)


def _chain(kernel: int = 1) -> Workload:
    """dw (8x8x8, ``kernel`` x ``kernel``) -> pw (1x1, 8 -> 8): a 1,024 B intermediate map of
    eight 128 B rows."""
    pad = kernel // 2
    dw = Shape(8, 8, 8, 8, 8, 8, kernel, kernel, 1, pad, groups=8)
    return Workload("chain", (fp_layer("dw", "depthwise", dw),
                              fp_layer("pw", "conv", Shape(8, 8, 8, 8, 8, 8), inputs=("dw",))))


def _bytes(plan, attr: str, layer: str, kind: str) -> int:
    return sum(getattr(plan.tiles[t], attr).get(kind, 0) for s in plan.stages
               if s.layer_name == layer for t in s.tiles)


def _dram(plan) -> int:
    return sum(t.dram_read_bytes + t.dram_write_bytes for t in plan.tiles)


def test_fused_chain_saves_twice_the_intermediate_map_and_never_moves_it():
    wl, hw = _chain(), _hw()
    off = map_workload(wl, hw, memory="roundtrip")
    on = map_workload(wl, hw, memory="roundtrip", fusion="always")
    assert on.meta["fused_layers"] == [["dw", "pw"]]
    # a quarter of the 1 KiB buffer holds two 128 B rows: four chunks of two rows
    assert on.meta["fused_chunks"] == {"pw": 4}
    assert _bytes(off, "dram_write", "dw", "outputs") == 1024
    assert _bytes(off, "dram_read", "pw", "inputs") == 1024
    assert _bytes(on, "dram_write", "dw", "outputs") == 0
    assert _bytes(on, "dram_read", "pw", "inputs") == 0
    assert _dram(on) == _dram(off) - 2 * 1024
    # each chunk is written to the activation buffer once, streamed from there as the
    # unfused layer streams it from its input buffer (once per channel fold: two), and freed
    assert _bytes(on, "sram_write", "dw", "activations") == 1024
    assert _bytes(on, "sram_read", "pw", "activations") == 2 * 1024 == \
        _bytes(off, "sram_read", "pw", "inputs")
    assert _bytes(on, "alloc", "dw", "activations") == 1024
    assert _bytes(on, "free", "pw", "activations") == 1024
    assert max(t.alloc.get("activations", 0) for t in on.tiles) <= 256
    assert {t.chunk for t in on.tiles} == {0, 1, 2, 3}
    for policy in ("sequential", "overlap"):
        plan = map_workload(wl, hw, policy, memory="roundtrip", fusion="always")
        des, bound = simulate_plan(plan, hw), estimate(plan, hw)
        assert des.cycles >= bound.cycles > 0
        assert des.layers[0].mapping["fused_into"] == "pw"
    # fused, the pair overlaps: faster than the two layers one after the other
    assert simulate_plan(on, hw).cycles < simulate_plan(off, hw).cycles


def test_weights_that_are_not_resident_are_read_again_per_chunk():
    wl = _chain()
    hw = _hw(**{"mac_array.dataflow": "ws", "mac_array.dataflows": ["ws"]})
    off = map_workload(wl, hw, memory="roundtrip")
    on = map_workload(wl, hw, memory="roundtrip", fusion="always")
    pw_weights = 8 * 8 * 2 + 8 * 2  # and the bias; weight-stationary: loaded by each fold
    assert _bytes(off, "dram_read", "pw", "weights") == pw_weights
    assert _bytes(on, "dram_read", "pw", "weights") == 4 * pw_weights


def test_hybrid_consumer_frees_each_chunk_after_both_branches_read_it():
    wl = tiny_workload(hybrid=True)
    hw = _hw(4, **{"mapping.memory": "resident"})
    plan = map_workload(wl, hw, fusion="always")
    assert plan.meta["fused_layers"] == [["dw1", "pw1"]]
    stages = {s.name: s for s in plan.stages if s.layer_name == "pw1"}
    fp, wb = stages["fp"], stages["wb"]  # both read the layer input: the intermediate map
    for chunk in {plan.tiles[t].chunk for t in wb.tiles}:
        last_wb = max(t for t in wb.tiles if plan.tiles[t].chunk == chunk)
        last_fp = max(t for t in fp.tiles if plan.tiles[t].chunk == chunk)
        assert plan.tiles[last_wb].free.get("activations", 0) > 0
        assert last_fp in plan.tiles[last_wb].deps
    assert _bytes(plan, "dram_write", "dw1", "outputs") == 0
    assert _bytes(plan, "dram_read", "pw1", "inputs") == 0
    assert sum(t.alloc.get("activations", 0) for t in plan.tiles) == \
        sum(t.free.get("activations", 0) for t in plan.tiles)
    for policy in ("sequential", "overlap"):
        plan = map_workload(wl, hw, policy, fusion="always")
        des, bound = simulate_plan(plan, hw), estimate(plan, hw)
        assert des.cycles >= bound.cycles
        assert des.total("ops") == bound.total("ops")


def test_always_names_the_pair_the_buffer_and_the_smallest_size_that_works():
    wl = _chain()
    with pytest.raises(CompatibilityError) as exc:
        map_workload(wl, _hw(0.0625), fusion="always")
    msg = str(exc.value)
    assert "buffers.activations.size_kib" in msg and "layers[dw] -> layers[pw]" in msg
    assert "one output row of their intermediate map is 128 B" in msg
    assert "the smallest size that works: 0.125 KiB" in msg and "\n" not in msg
    # auto leaves the pair unfused instead
    assert map_workload(wl, _hw(0.0625), fusion="auto").meta["fused_layers"] == []
    with pytest.raises(CompatibilityError, match="needs the dedicated activations buffer"):
        map_workload(wl, hwconfig_from_dict(hw_dict()), fusion="always")


def test_cli_fusion_flag_and_its_twin(tmp_path):
    wl_path = tmp_path / "chain.json"
    from accelsim.api import save_workload

    save_workload(_chain(), wl_path)
    hw_path = HWCONFIGS / "iso_area_45nm.yaml"
    res = CliRunner().invoke(main, ["simulate", str(wl_path), "--hw", str(hw_path),
                                    "--fusion", "always"])
    assert res.exit_code == 0, res.output
    assert "fusion always: 1 layer pairs fused: dw -> pw" in res.output
    twin = simulate(_chain(), load_hwconfig(hw_path), fusion="always")
    assert twin.meta["fused_layers"] == [["dw", "pw"]]
    bad = CliRunner().invoke(main, ["simulate", str(wl_path), "--hw",
                                    str(HWCONFIGS / "paper.yaml"), "--fusion", "always"])
    assert bad.exit_code == 2 and "mapping.activation_buffer" in bad.output


@pytest.mark.parametrize("name", ["mobilenet_v1_0.5_baseline",
                                  "mobilenet_v1_0.5_hybrid_a0.5_r1"])
def test_auto_is_never_worse_than_off_on_iso_area(name):
    """``auto`` on the config's objective (throughput): the engine's cycles with the pairs it
    fuses are no more than without fusion."""
    wl = load_workload(WORKLOADS / f"{name}.json")
    hw = load_hwconfig(HWCONFIGS / "iso_area_45nm.yaml")
    off = simulate(wl, hw, fusion="off")
    auto = simulate(wl, hw, fusion="auto")
    assert auto.meta["fused_layers"]  # it does fuse some pairs there
    assert auto.cycles <= off.cycles


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(workloads(), hwconfigs(), st.sampled_from(["sequential", "overlap"]), st.booleans())
def test_always_conserves_work_and_bytes(wl, hw, schedule, zero_skip):
    """Every pair fused (buffers large enough for one-row chunks): the operations are the
    trace's, alloc and free balance, the engine never beats the bound."""
    doc = hwconfig_to_dict(hw)
    doc["buffers"]["activations"] = dict(doc["buffers"]["outputs"], size_kib=8)
    for name in ("hidden", "outputs", "inputs", "weights"):
        doc["buffers"][name]["size_kib"] = max(doc["buffers"][name]["size_kib"], 2)
    hw = override(hwconfig_from_dict(doc), {"mapping.activation_buffer": "activations"})
    try:
        plan = map_workload(wl, hw, schedule, zero_skip, fusion="always")
    except CompatibilityError:
        assume(False)
    des, bound = simulate_plan(plan, hw), estimate(plan, hw)
    expected = {k: v for k, v in workload_counts(wl, zero_skip=zero_skip).ops.items() if v}
    got: dict[str, int] = {}
    for k, v in des.total("ops").items():
        got[k.partition("@")[0]] = got.get(k.partition("@")[0], 0) + v
    assert got == expected
    assert des.total("bytes_read") == bound.total("bytes_read")
    assert des.cycles >= bound.cycles
    alloc: dict[str, int] = {}
    free: dict[str, int] = {}
    for t in plan.tiles:
        for k, v in t.alloc.items():
            alloc[k] = alloc.get(k, 0) + v
        for k, v in t.free.items():
            free[k] = free.get(k, 0) + v
    assert alloc == free
    for producer, consumer in plan.meta["fused_layers"]:
        assert _bytes(plan, "dram_write", producer, "outputs") == 0
        assert _bytes(plan, "dram_read", consumer, "inputs") == 0


def test_overlap_pairs_back_to_back_on_a_small_activation_buffer_finish():
    """Under ``overlap`` a fused producer waits for the whole previous layer: without it, the
    next pair's producer filled the 256 KiB buffer with bands its consumer could not read yet
    (its resident weights waited for the previous pair to release theirs) while the previous
    pair's producer needed that space, and the engine stalled."""
    wl = load_workload(WORKLOADS / "mobilenet_v1_0.5_hybrid_a0.25_r1.json")
    hw = override(load_hwconfig(HWCONFIGS / "iso_area_45nm.yaml"),
                  {"buffers.activations.size_kib": 256})
    plan = map_workload(wl, hw, "overlap", fusion="auto")
    assert len(plan.meta["fused_layers"]) >= 2
    des, bound = simulate_plan(plan, hw), estimate(plan, hw)
    assert des.cycles >= bound.cycles
    off = simulate_plan(map_workload(wl, hw, "overlap"), hw)
    assert des.cycles < off.cycles
