"""Timing models of the unit arrays: SCALE-Sim fold arithmetic, adder trees, element-wise work."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import tiny_hw

from accelsim.hw.config import Dataflow, MacArray
from accelsim.mapping import map_workload
from accelsim.mapping.units import (
    elementwise_cycles,
    per_channel_cycles,
    systolic_cycles,
    systolic_folds,
    tree_cycles,
    tree_efficiency,
)
from accelsim.workload.build import fp_layer, twn_layer
from accelsim.workload.schema import Shape, Workload

WS32 = MacArray(32, 32, Dataflow.WS, 0)
OS32 = MacArray(32, 32, Dataflow.OS, 0)


# SCALE-Sim 3.0.0 demand matrices: WS has 2R + C + T - 2 rows per fold with T = ofmap pixels and
# ceil(window / R) * ceil(filters / C) folds; OS has R + C + T - 2 rows per fold with T = window
# and ceil(pixels / R) * ceil(filters / C) folds. MobileNet-V1 0.5 at 224 px on 32 x 32:
@pytest.mark.parametrize("m, n, k, ws, os_", [
    (112 * 112, 16, 27, 1 * 1 * (64 + 32 + 12544 - 2), 392 * (32 + 32 + 27 - 2)),  # stem
    (112 * 112, 32, 16, 12638, 392 * (16 + 62)),                                   # pw1
    (7 * 7, 512, 512, 16 * 16 * (94 + 49), 2 * 16 * (512 + 62)),                  # pw13
    (1, 1000, 512, 16 * 32 * (94 + 1), 1 * 32 * (512 + 62)),                      # fc
])
def test_systolic_cycles_match_scalesim_fold_arithmetic(m, n, k, ws, os_):
    assert systolic_cycles(m, n, k, 1, WS32) == ws
    assert systolic_cycles(m, n, k, 1, OS32) == os_


def test_depthwise_native_packing_vs_scalesim_split():
    # 3x3 depthwise, 16 channels, 112x112: WS packs floor(32 / 9) = 3 channels per fold
    assert [f.rows for f in systolic_folds(12544, 16, 9, 16, WS32)] == [27] * 5 + [9]
    assert systolic_cycles(12544, 16, 9, 16, WS32) == 6 * (94 + 12544)
    assert per_channel_cycles(12544, 16, 9, WS32) == 16 * (94 + 12544)
    # OS packs 32 channels across the columns and streams their 32 * 9 terms
    assert systolic_cycles(12544, 16, 9, 16, OS32) == 392 * (62 + 16 * 9)
    assert per_channel_cycles(12544, 16, 9, OS32) == 16 * 392 * (62 + 9)


def test_grouped_stage_too_wide_for_packing_folds_each_group():
    arr = MacArray(4, 4, Dataflow.WS, 0)
    folds = systolic_folds(10, 8, 9, 2, arr)   # 2 groups of 4 channels, 9 terms each
    assert len(folds) == 2 * 3 and {f.cols for f in folds} == {4}
    assert sum(f.rows for f in folds) == 2 * 9


def test_tree_cycles_and_short_sum_efficiency():
    # 16 adders as 4 trees of 4: a 16-term sum takes 4 tree-cycles; 2 levels of latency 1
    assert tree_cycles(64, 16, 16, 4, 1) == 64 * 4 // 4 + 2
    # a 2-term sum still occupies a tree for a cycle: efficiency 2 / 4
    assert tree_cycles(64, 2, 16, 4, 1) == 16 + 2
    assert tree_efficiency(2, 4) == 0.5 and tree_efficiency(5, 4) == 5 / 8
    assert tree_cycles(0, 16, 16, 4, 1) == 0
    # fewer adders than the tree width: one narrower tree
    assert tree_cycles(3, 8, 2, 16, 1) == 3 * 4 + 1
    assert elementwise_cycles(100, 8, 3) == 13 + 3 and elementwise_cycles(0, 8, 3) == 0


def _one(layer):
    return Workload("one", (layer,))


def test_adder_tree_stage_dense_and_zero_skip():
    sh = Shape(4, 4, 16, 4, 4, 4)   # m = 16, n = 4, k = 16
    wl = _one(twn_layer("t", "conv", sh, weight_nnz=32))   # half the 64 weights non-zero
    hw = tiny_hw(buffers__weights__size_kib=64, buffers__inputs__size_kib=64,
                 buffers__outputs__size_kib=64)
    dense = map_workload(wl, hw).compute_cycles()["t"]["add"]
    skip = map_workload(wl, hw, zero_skip=True).compute_cycles()["t"]["add"]
    assert dense == 64 * 4 // 4 + 2 and skip == 64 * 2 // 4 + 2


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([1, 2, 8]), st.sampled_from([1, 2, 8]), st.booleans(),
       st.sampled_from(["ws", "os"]))
def test_systolic_compute_cycles_do_not_depend_on_buffer_sizes(wkib, ikib, db, df):
    sh = Shape(12, 12, 24, 12, 12, 20, 3, 3, 1, 1)
    wl = _one(fp_layer("c", "conv", sh))
    hw = tiny_hw(buffers__weights__size_kib=wkib, buffers__inputs__size_kib=ikib,
                 buffers__outputs__size_kib=ikib, buffers__inputs__double_buffered=db,
                 mac_array__dataflow=df, mac_array__pipeline_latency_cycles=0)
    plan = map_workload(wl, hw)
    assert plan.compute_cycles()["c"]["mac"] == systolic_cycles(144, 20, 216, 1, hw.mac_array)
    assert sum(t.ops for t in plan.tiles) == 144 * 20 * 216
