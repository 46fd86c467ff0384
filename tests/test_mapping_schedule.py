"""Schedules: tiles fit the buffers, bytes are conserved, dependencies point backwards, and
inputs the mapping cannot run are rejected with one clear problem."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import hwconfigs, tiny_hw, tiny_workload, workloads

from accelsim.errors import CompatibilityError, InputError
from accelsim.hw import Dram
from accelsim.mapping import map_workload
from accelsim.mapping.memory import stored_weight_bytes
from accelsim.workload.build import fp_layer, strassen_layer, strassen_params
from accelsim.workload.schema import Shape, Workload


def _sum(tiles, attr, key=None):
    out = {}
    for t in tiles:
        for k, v in getattr(t, attr).items():
            out[k] = out.get(k, 0) + v
    return out if key is None else out.get(key, 0)


@settings(max_examples=100, deadline=None)
@given(workloads(), hwconfigs(), st.sampled_from(["sequential", "overlap"]), st.booleans())
def test_plan_invariants(wl, hw, schedule, zero_skip):
    plan = map_workload(wl, hw, schedule, zero_skip)
    tiles = plan.tiles
    assert [t.id for t in tiles] == list(range(len(tiles)))
    caps = {name: s.size_bytes for name, s in hw.buffers.items()}
    # every reservation can be granted, and every byte reserved is released
    for t in tiles:
        assert all(v <= caps[k] for k, v in t.alloc.items())
        assert all(d < t.id or plan.tiles[d].stage != t.stage for d in t.deps)
    assert _sum(tiles, "alloc") == _sum(tiles, "free")
    # dependencies point to earlier stages
    for s in plan.stages:
        assert all(a < s.index for a in s.after)
        for tid in s.tiles:
            assert all(plan.tiles[d].stage < s.index for d in plan.tiles[tid].deps)
    # compulsory traffic: every weight and the network input read, each layer's output
    # written exactly once, unless the residency pass kept it on chip (never the network's
    # output, never under the round-trip policy)
    # (as stored: a sparse weight format stores fewer bytes than the dense tensors)
    weights = sum(stored_weight_bytes(st, hw, zero_skip)[0]
                  for layer in wl.layers for st in layer.stages)
    assert _sum(tiles, "dram_read", "weights") >= weights
    first = [t for s in plan.stages if s.layer == 0 for t in (plan.tiles[i] for i in s.tiles)]
    assert _sum(first, "dram_read", "inputs") >= wl.layers[0].input_bytes
    kept = set(plan.meta.get("kept_outputs", []))
    assert wl.layers[-1].name not in kept
    assert not kept or plan.meta["memory"] != "roundtrip"
    fused = {p for p, _ in plan.meta.get("fused_layers", [])}  # (chunk by chunk, on chip)
    assert not fused & kept and wl.layers[-1].name not in fused
    for li, layer in enumerate(wl.layers):
        mine = [plan.tiles[i] for s in plan.stages if s.layer == li for i in s.tiles]
        written = _sum(mine, "dram_write", "outputs")
        assert written == (0 if layer.name in kept | fused else layer.output_bytes)
    # what goes out to DRAM as partial sums or spills comes back
    assert _sum(tiles, "dram_write", "partials") == _sum(tiles, "dram_read", "partials")
    # input halos (tiles' inputs add up to the input plus the halo): reported per layer,
    # positive where reported, none where the windows do not overlap (1x1, k <= stride)
    halos = plan.meta.get("input_halo_by_layer", {})
    assert plan.meta["input_halo_bytes"] == sum(halos.values())
    assert all(v > 0 for v in halos.values())
    for layer in wl.layers:
        if max(layer.shape.kernel_h, layer.shape.kernel_w) <= layer.shape.stride:
            assert layer.name not in halos


def test_hybrid_chain_pipelines_on_chip():
    plan = map_workload(tiny_workload(), tiny_hw(), "overlap")
    chain = {s.name: s for s in plan.stages if s.layer_name == "pw1"}
    assert set(chain) == {"fp", "wb", "a_mul", "wc", "st_bias"}
    assert chain["fp"].fused == ("fp_bias",) and chain["fp"].fused_key == "add@mac"
    assert "output fwd" in chain["wb"].notes and "input fwd in place" in chain["a_mul"].notes
    wc_first = plan.tiles[chain["wc"].tiles[0]]
    assert {plan.tiles[d].stage for d in wc_first.deps} == {chain["a_mul"].index}
    # hidden bytes stay on chip: nothing spilled
    assert _sum(plan.tiles, "dram_write", "spill") == 0
    assert _sum(plan.tiles, "alloc", "hidden") > 0


def test_overlap_uses_receptive_field_dependencies():
    plan = map_workload(tiny_workload(hybrid=False), tiny_hw(), "overlap")
    dw = next(s for s in plan.stages if s.layer_name == "dw1")
    assert "receptive-field deps" in dw.notes and not dw.after
    seq = map_workload(tiny_workload(hybrid=False), tiny_hw(), "sequential")
    dw = next(s for s in seq.stages if s.layer_name == "dw1")
    assert dw.after == tuple(s.index for s in seq.stages if s.layer_name == "conv1")


def test_stage_needing_missing_units_is_rejected():
    with pytest.raises(CompatibilityError) as exc:
        map_workload(tiny_workload(), tiny_hw(adder_array__count=0))
    text = str(exc.value)
    assert "layers[pw1].stages[wb].unit: 'add'" in text and "adder_array.count = 0" in text
    # routed to the MAC array instead, it maps
    map_workload(tiny_workload(), tiny_hw(adder_array__count=0, route={"add": "mac"}))


def test_buffer_too_small_for_one_tile():
    sh = Shape(4, 4, 64, 4, 4, 8)
    wl = Workload("w", (fp_layer("c", "conv", sh, bias=False),))
    with pytest.raises(CompatibilityError) as exc:   # one 8x8 fold of fp16 weights = 128 B
        map_workload(wl, tiny_hw(mac_array__rows=8, mac_array__cols=8,
                                 buffers__weights__size_kib=0.125))
    assert "buffers.weights.size_kib: 0.125 (too small for one minimal tile of " \
           "layers[c].stages[conv]: needs 128 B per tile, has 64 B" in str(exc.value)
    # the size the message names is enough (double-buffered: twice the tile) and is the least
    assert "the smallest size that holds it: 0.25 KiB" in str(exc.value)
    map_workload(wl, tiny_hw(mac_array__rows=8, mac_array__cols=8,
                             buffers__weights__size_kib=0.25))
    with pytest.raises(CompatibilityError):
        map_workload(wl, tiny_hw(mac_array__rows=8, mac_array__cols=8,
                                 buffers__weights__size_kib=0.2490))


def test_zero_bandwidth_and_unknown_schedule_are_input_errors():
    from dataclasses import replace
    hw = tiny_hw()
    with pytest.raises(CompatibilityError, match="dram.bandwidth_bytes_per_cycle: 0"):
        map_workload(tiny_workload(), replace(hw, dram=Dram(0, 1)))
    with pytest.raises(InputError, match="schedule: 'fast'"):
        map_workload(tiny_workload(), hw, "fast")


def test_hidden_tensor_spills_when_the_hidden_buffer_cannot_hold_one_position():
    p = strassen_params(16, alpha=0.0, r_factor=2.0)        # r = 32 -> 64 B per position
    sh = Shape(6, 6, 8, 6, 6, 16)
    wl = Workload("s", (strassen_layer("s", "conv", sh, p, wb_nnz=100, wc_nnz=[[100]]),))
    plan = map_workload(wl, tiny_hw(buffers__hidden__size_kib=0.0625))  # 32 B per tile
    assert _sum(plan.tiles, "dram_write", "spill") >= 36 * 32 * 2
    assert _sum(plan.tiles, "dram_write", "spill") == _sum(plan.tiles, "dram_read", "spill")
