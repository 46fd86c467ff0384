"""Fidelity against SCALE-Sim 3.0.0 without installing it: accelsim's DES compute cycles versus
the golden SCALE-Sim numbers in tests/golden/scalesim_ws32_mobilenet_v1_0.5.csv (written by
``bench/scalesim_crosscheck.py --write-golden``; see bench/README.md)."""
from __future__ import annotations

import math

import pytest
from conftest import GOLDEN, HWCONFIGS

from accelsim.api import load_hwconfig, simulate
from accelsim.interop import import_topology, load_golden, ws_compute_cycles
from accelsim.workload.schema import Workload

TARGET_PCT = 2.0
REF = {r.name: r for r in load_golden(GOLDEN / "scalesim_ws32_mobilenet_v1_0.5.csv")}
TOPO = GOLDEN / "scalesim_mobilenet_v1_0.5_topology.csv"
HW = load_hwconfig(HWCONFIGS / "scalesim_ws32.yaml")
NATIVE = import_topology(TOPO)
DENSE = [layer.name for layer in NATIVE.layers if layer.kind != "depthwise" and layer.name in REF]
DEPTHWISE = [layer.name for layer in NATIVE.layers
             if layer.kind == "depthwise" and layer.name in REF]


def _subset(wl: Workload, rows: list[str]) -> Workload:
    keep = tuple(layer for layer in wl.layers if layer.name.split("Channel_")[0] in rows)
    return Workload(wl.name, keep, wl.activation_bits, wl.provenance)


def _compute_cycles(wl: Workload) -> dict[str, int]:
    """accelsim DES compute cycles per topology row (split DP layers summed per row)."""
    out: dict[str, int] = {}
    for rec in simulate(wl, HW, engine="des").layers:
        row = rec.name.split("Channel_")[0]
        out[row] = out.get(row, 0) + rec.compute_cycles["mac"]
    return out


@pytest.fixture(scope="module")
def dense_cycles() -> dict[str, int]:
    return _compute_cycles(_subset(NATIVE, DENSE))


def test_golden_covers_stem_pointwise_fc_and_some_depthwise():
    assert len(DENSE) == 15 and DENSE[0] == "conv1" and DENSE[-1] == "fc"
    assert len(DEPTHWISE) >= 2


def test_golden_agrees_with_scalesim_ws_closed_form():
    """The golden is SCALE-Sim's measurement; its closed form explains every row exactly."""
    for layer in NATIVE.layers:
        if layer.name not in REF:
            continue
        st, sh = layer.stages[0], layer.shape
        if layer.kind == "depthwise":  # SCALE-Sim: one 1-channel, 1-filter layer per channel
            want = sh.in_c * ws_compute_cycles(st.k, 1, st.m, 32, 32)
        else:
            want = ws_compute_cycles(st.k, st.n, st.m, 32, 32)
        assert REF[layer.name].compute_cycles == want, layer.name


@pytest.mark.parametrize("name", DENSE)
def test_dense_layer_within_2_percent_of_scalesim(name, dense_cycles):
    ref = REF[name].compute_cycles
    diff = 100.0 * (dense_cycles[name] - ref) / ref
    assert abs(diff) <= TARGET_PCT, f"{name}: accelsim {dense_cycles[name]} vs SCALE-Sim {ref}"


def test_depthwise_split_like_scalesim_within_2_percent():
    """Mapped as SCALE-Sim maps it (one single-channel layer per channel), accelsim agrees."""
    split = _compute_cycles(_subset(import_topology(TOPO, depthwise="split"), DEPTHWISE))
    for name in DEPTHWISE:
        ref = REF[name].compute_cycles
        assert abs(100.0 * (split[name] - ref) / ref) <= TARGET_PCT, (name, split[name], ref)


def test_native_depthwise_packs_three_channels_per_fold_of_scalesims_cost(dense_cycles):
    """accelsim's native depthwise mapping puts floor(32 rows / 9 terms) = 3 channels on the
    array at once (block-diagonal); each fold then costs what one of SCALE-Sim's per-channel
    layers costs, so native = ceil(c / 3) / c of SCALE-Sim's split total (within 2%)."""
    native = _compute_cycles(_subset(NATIVE, DEPTHWISE))
    for name in DEPTHWISE:
        ref, c = REF[name], REF[name].layers
        per_fold = ref.compute_cycles / c
        want = math.ceil(c / (32 // 9)) * per_fold
        assert abs(100.0 * (native[name] - want) / want) <= TARGET_PCT, (name, native[name], want)
        assert native[name] < 0.4 * ref.compute_cycles
