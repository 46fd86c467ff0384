"""Engine fidelity: the MAC array's microarchitecture, per-layer mappings, the adder trees'
operand delivery and lockstep zero-skipping, and the fairness invariants between the two arrays
(docs/engine.md)."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
from strategies import tiny_hw

from accelsim.choices import Model
from accelsim.errors import ConfigError
from accelsim.evaluate import evaluate
from accelsim.hw import load_hwconfig, override
from accelsim.hw.config import AdderArray, MacArray, UnsharedOperands
from accelsim.hw.rules import mac_only
from accelsim.mapping.memory import stored_weight_bytes
from accelsim.mapping.units import (
    SystolicMapping,
    lockstep_cycles,
    mac_utilisation,
    phases,
    segments_cycles,
    systolic_cycles,
)
from accelsim.workload.build import fp_layer, twn_layer
from accelsim.workload.load import load_workload
from accelsim.workload.schema import Shape, Workload

ROOT = Path(__file__).resolve().parents[1]
REALISTIC = ("iso_area_45nm", "paper")


def _mac(**kw: object) -> MacArray:
    return MacArray(rows=4, cols=8, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("loading,pipelined,expect", [
    ("blocking", False, 3 * (4 + 3 + 10 + 7)),       # every fold: load R, fill R-1, drain C-1
    ("double_buffered", False, 4 + 3 * (3 + 10 + 7)),  # later loads hidden behind the stream
    ("blocking", True, 3 * 4 + 3 + 3 * 10 + 7),        # fill once, drain once, loads exposed
    ("double_buffered", True, 4 + 3 + 3 * 10 + 7),     # only the first load, fill, last drain
])
def test_fold_overheads_follow_the_microarchitecture(loading, pipelined, expect):
    mac = _mac(loading=loading, fold_pipelining=pipelined)
    ph = phases(mac, SystolicMapping.WS)
    assert segments_cycles(ph, [(10, True, True)] * 3) == expect


def test_short_streams_expose_part_of_a_double_buffered_load():
    ph = phases(_mac(loading="double_buffered", fold_pipelining=True), SystolicMapping.WS)
    # R = 4 cycles of weights shift in behind the previous fold's work: the first fold's fill
    # and stream (5 cycles) hide the second load, the second fold's stream (2) hides half of
    # the third
    assert segments_cycles(ph, [(2, True, True)] * 3) == 4 + 3 + 3 * 2 + 2 + 7


def test_scalesim_microarchitecture_gives_scalesim_cycles():
    mac = MacArray(rows=32, cols=32)
    m, n, k = 3136, 64, 288
    folds = math.ceil(n / 32) * math.ceil(k / 32)
    assert systolic_cycles(m, n, k, 1, mac) == folds * (2 * 32 + 32 + m - 2)
    os_folds = math.ceil(n / 32) * math.ceil(m / 32)
    assert systolic_cycles(m, n, k, 1, mac, SystolicMapping.OS) == os_folds * (32 + 32 + k - 2)
    is_folds = math.ceil(m / 32) * math.ceil(k / 32)
    assert systolic_cycles(m, n, k, 1, mac, SystolicMapping.IS) == is_folds * (64 + 32 + n - 2)


@pytest.mark.parametrize("config", REALISTIC)
@pytest.mark.parametrize("array", ["own", "mac_only"])
def test_channel_parallel_depthwise_reaches_70_percent(config, array):
    """On the config's array and on its same-area MAC-only twin (32 x 32), every 3x3 depthwise
    layer with at least as many channels as columns keeps >= 70% of the PEs busy."""
    hw = load_hwconfig(ROOT / "hwconfigs" / f"{config}.yaml")
    mac = (hw if array == "own" else mac_only(hw)).mac_array
    wl = load_workload(ROOT / "workloads" / "mobilenet_v1_0.5_baseline.json")
    checked = 0
    for layer in wl.layers:
        st = layer.stages[0]
        if layer.kind == "depthwise" and st.n >= mac.cols:
            assert mac_utilisation(st.m, st.n, st.k, st.groups, mac, SystolicMapping.CP) >= 0.7
            # a weight-stationary array wastes almost all of its PEs on a 3x3 depthwise filter
            assert mac_utilisation(st.m, st.n, st.k, st.groups, mac, SystolicMapping.WS) < 0.05
            checked += 1
    assert checked == 12


def _ideal(config: str, **changes: object):
    """A bundled config with memory that never limits: huge buffers and bandwidths."""
    hw = load_hwconfig(ROOT / "hwconfigs" / f"{config}.yaml")
    big = {f"buffers.{b}.{f}": v for b in ("weights", "inputs", "outputs", "hidden")
           for f, v in (("size_kib", 1e6), ("bandwidth_bytes_per_cycle", 1e6))}
    return override(hw, {**big, "dram.bandwidth_bytes_per_cycle": 1e6, "dram.latency_cycles": 0,
                         "area_budget_um2": None, **changes})


def _pointwise(m: int, n: int, k: int, variant: str) -> Workload:
    h = int(math.isqrt(m))
    shape = Shape(h, h, k, h, h, n)
    if variant == "fp":
        layer = fp_layer("pw", "conv", shape, bias=False)
    else:
        layer = twn_layer("pw", "conv", shape, weight_nnz=n * k)
    return Workload(f"pw_{variant}", (layer,))


@pytest.mark.parametrize("config", REALISTIC)
def test_large_pointwise_layers_keep_both_arrays_busy(config):
    """m, n, k at least 4x the array, ideal memory: each array >= 90% utilised, and a MAC-only
    and an adder-only accelerator of equal area differ by their peak-rate ratio within 5%."""
    hw = _ideal(config)
    mac_n = hw.mac_array.count
    m, n, k = 4096, 4 * hw.mac_array.cols, 4 * 16 * hw.mac_array.rows
    area = mac_n * hw.units["mac"].area_um2
    adders = int(area // hw.units["add"].area_um2)
    mac_only = override(hw, {"adder_array.count": 0, "multiplier_array.count": 0})
    add_only = override(hw, {"mac_array.rows": 0, "mac_array.cols": 0,
                             "adder_array.count": adders, "multiplier_array.count": 0})
    fp = evaluate(Model.DES, _pointwise(m, n, k, "fp"), mac_only)
    tw = evaluate(Model.DES, _pointwise(m, n, k, "twn"), add_only)
    ops = m * n * k
    assert ops / (mac_n * fp.cycles) >= 0.9
    assert ops / (adders * tw.cycles) >= 0.9
    assert fp.cycles / tw.cycles == pytest.approx(adders / mac_n, rel=0.05)


def test_layers_record_their_mapping_and_it_is_the_cheapest():
    hw = load_hwconfig(ROOT / "hwconfigs" / "iso_area_45nm.yaml")
    wl = load_workload(ROOT / "workloads" / "mobilenet_v1_0.5_baseline.json")
    res = evaluate(Model.DES, wl, hw)
    maps = {layer.name: layer.mapping["conv"] for layer in res.layers if "conv" in layer.mapping}
    assert {maps[f"dw{i}"] for i in range(1, 14) if i != 2} == {"cp"}
    # dw2 (stride 2 on the 112x112 map) streams its 784 KiB input from DRAM: channel-parallel
    # tiles are short runs of positions that re-read more input rows (halo) than the
    # input-stationary tiles do, so the DRAM-bound layer is faster input-stationary
    assert maps["dw2"] == "is"
    assert set(maps.values()) <= {"ws", "os", "is", "cp"}
    # forcing one dataflow per run can only be slower on the layer-by-layer bound
    for flow in ("ws", "os", "is"):
        fixed = override(hw, {"mac_array.dataflow": flow, "mac_array.dataflows": [flow]})
        assert evaluate(Model.ANALYTIC, wl, fixed).cycles >= \
            evaluate(Model.ANALYTIC, wl, hw).cycles * 0.98


def test_lockstep_groups_wait_for_their_slowest_tree():
    adder = AdderArray(count=64, tree_width=4, lockstep_trees=4)
    terms = (4.0, 4.0, 4.0, 16.0, 4.0, 4.0, 4.0, 4.0)   # one slow channel in the first group
    cycles, _ = lockstep_cycles(8, 0, 8, 16, 8, terms, adder, 64)
    # 16 trees, 4 groups in parallel; items: 8 positions x (4 + 1) cycles
    assert cycles == math.ceil(8 * (4 + 1) * 4 / 16) + 2
    free, _ = lockstep_cycles(8, 0, 8, 16, 8, terms, AdderArray(count=64, tree_width=4), 64)
    assert free == math.ceil(8 * (4 + 1 + 6) / 16) + 2


def test_operand_bus_limits_what_skipping_zeros_buys():
    sparse = (4.0,) * 8
    wide = AdderArray(count=64, tree_width=4, operand_bus_terms=0)
    narrow = AdderArray(count=64, tree_width=4, operand_bus_terms=4)
    assert lockstep_cycles(8, 0, 8, 16, 8, sparse, narrow, 64)[0] > \
        lockstep_cycles(8, 0, 8, 16, 8, sparse, wide, 64)[0]
    # a depthwise sum shares no operands: each of the 8 channels needs its own 9 terms over a
    # 9-term bus (8 cycles an item), where a dense sum shares one vector (3 cycles, its adds)
    adder = AdderArray(count=64, tree_width=4, lockstep_trees=8, operand_bus_terms=9)
    assert lockstep_cycles(8, 0, 8, 9, 1, None, adder, 64)[0] == 8 * 8 * 8 // 16 + 2
    assert lockstep_cycles(8, 0, 8, 9, 8, None, adder, 64)[0] == 8 * 3 * 8 // 16 + 2
    # with a private per-tree feed (the channel-parallel counterpart) the unshared windows
    # bypass the bus: the depthwise sum costs what the shared one does
    private = replace(adder, unshared_operands=UnsharedOperands.PRIVATE)
    assert lockstep_cycles(8, 0, 8, 9, 1, None, private, 64)[0] == 8 * 3 * 8 // 16 + 2


def test_sparse_formats_store_metadata():
    wl = load_workload(ROOT / "workloads" / "mobilenet_v1_0.5_twn.json")
    st = wl.layer("pw5").stages[0]
    hw = tiny_hw()
    assert stored_weight_bytes(st, hw, True) == (st.weight_bytes, 0)
    bitmask = override(hw, {"adder_array.sparse_format": "bitmask"})
    index = override(hw, {"adder_array.sparse_format": "index"})
    count = st.weights[0].count
    nnz = round(count * st.ops_nonzero / st.ops_dense)
    got, meta = stored_weight_bytes(st, bitmask, True)
    assert meta == count // 8 and got == -(-(count + nnz) // 8) + st.weights[1].nbytes
    got, meta = stored_weight_bytes(st, index, True)
    bits = math.ceil(math.log2(st.k))
    assert meta == nnz * bits // 8 and got == -(-nnz * (1 + bits) // 8) + st.weights[1].nbytes
    assert stored_weight_bytes(st, bitmask, False) == (st.weight_bytes, 0)


def test_clock_gating_keeps_the_cycles_and_saves_the_energy():
    hw = load_hwconfig(ROOT / "hwconfigs" / "iso_area_45nm.yaml")
    wl = load_workload(ROOT / "workloads" / "mobilenet_v1_0.5_twn.json")
    gate = override(hw, {"adder_array.zero_handling": "gate"})
    dense = evaluate(Model.DES, wl, gate)
    gated = evaluate(Model.DES, wl, gate, zero_skip=True)
    assert gated.cycles == dense.cycles
    assert gated.energy_pj["add"] < dense.energy_pj["add"]
    assert gated.total("bytes_read")["dram"] == dense.total("bytes_read")["dram"]


@pytest.mark.parametrize("changes,text", [
    ({"mac_array.dataflow": "os", "mac_array.dataflows": ["ws", "is"]},
     "mac_array.dataflow: 'os' (the array cannot do it: not among mac_array.dataflows (ws, is))"),
    ({"mac_array.loading": "tripple"}, "mac_array.loading: 'tripple' (must be one of blocking, "
                                       "double_buffered"),
    ({"mac_array.dataflows": ["ws", "cp"]}, "must be a list of ws, os, is"),
    ({"adder_array.zero_handling": "drop"}, "must be one of skip, gate"),
])
def test_impossible_microarchitecture_is_one_line(changes, text):
    with pytest.raises(ConfigError) as err:
        override(tiny_hw(), changes)
    assert text in str(err.value) and len(str(err.value).splitlines()) == 1


@pytest.mark.parametrize("objective", ["dram", "energy"])
def test_each_objective_picks_the_layouts_best_for_it(objective):
    """Per layer, the layout chosen under ``objective`` is no worse for that objective than any
    single-dataflow array's layout (costed by the same chooser), and the plan moves no more
    DRAM bytes (``dram``) / memory energy (``energy``) than the throughput choice."""
    from accelsim.mapping import map_workload
    from accelsim.mapping.build import route_workload
    from accelsim.mapping.choice import TIE, LayerChoice, MappingChooser
    from accelsim.mapping.units import ChunkOrder, SystolicMapping

    hw = override(load_hwconfig(ROOT / "hwconfigs" / "iso_area_45nm.yaml"),
                  {"mapping.memory": "roundtrip", "mapping.objective": objective})
    wl = load_workload(ROOT / "workloads" / "mobilenet_v1_0.5_hybrid_a0.5_r1.json")
    chooser = MappingChooser(hw, False, "test", hw.mapping.objective)
    routed = route_workload(wl, hw)
    groups: dict[int, list] = {}
    for s in routed:
        groups.setdefault(s.layer_index, []).append(s)
    col = 3 if objective == "dram" else 2
    for group in groups.values():
        chosen = chooser.choose(group)
        if not chosen.layouts:
            continue
        best = chooser.cost(group, chosen)[col]
        for flow in (SystolicMapping.WS, SystolicMapping.OS, SystolicMapping.IS):
            for order in (ChunkOrder.POSITIONS, ChunkOrder.CHANNELS):
                alt = chooser.cost(group, LayerChoice(tuple(
                    (i, flow if isinstance(m, SystolicMapping) else order)
                    for i, m in chosen.layouts)))[col]
                # (within the tie band that goes to the less busy layout)
                assert best <= alt * (1 + TIE + 1e-9), (group[0].layer.name, flow, order)

    def dram(plan) -> int:
        return sum(sum(t.dram_read.values()) + sum(t.dram_write.values()) for t in plan.tiles)

    picked = map_workload(wl, hw)
    fast = map_workload(wl, hw, objective="throughput")
    if objective == "dram":
        assert dram(picked) <= dram(fast)
