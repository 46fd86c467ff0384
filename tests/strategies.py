"""Shared test fixtures and hypothesis strategies: tiny configs and random valid workloads.

Import from tests: ``from strategies import tiny_hw, tiny_workload, workloads, hwconfigs``.
Everything is built with the public builders (``accelsim.workload.build``,
``accelsim.hw.hwconfig_from_dict``), so a generated object is valid by construction.
"""
from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from accelsim.hw import HardwareConfig, hwconfig_from_dict
from accelsim.workload.build import (
    conv_out,
    eltwise_layer,
    fp_layer,
    strassen_layer,
    strassen_params,
    twn_layer,
)
from accelsim.workload.schema import Layer, Shape, Workload

_BASE: dict[str, Any] = {
    "schema": "accelsim.hwconfig", "schema_version": 1, "name": "tiny", "clock_mhz": 1000,
    "units": {
        "mac": {"area_um2": 2, "energy_pj_per_op": 1.0, "executes": ["mac", "add", "mul"]},
        "add": {"area_um2": 1, "energy_pj_per_op": 0.2, "executes": ["add"]},
        "mul": {"area_um2": 1, "energy_pj_per_op": 0.5, "executes": ["mul"]},
    },
    "mac_array": {"rows": 4, "cols": 4, "dataflow": "ws", "pipeline_latency_cycles": 1},
    "adder_array": {"count": 16, "tree_width": 4, "latency_cycles": 1},
    "multiplier_array": {"count": 2, "latency_cycles": 2},
    "buffers": {name: {"size_kib": 2, "bandwidth_bytes_per_cycle": 32,
                       "read_energy_pj_per_byte": 0.1, "write_energy_pj_per_byte": 0.1,
                       "double_buffered": True}
                for name in ("weights", "inputs", "outputs", "hidden")},
    "dram": {"bandwidth_bytes_per_cycle": 8, "latency_cycles": 10, "energy_pj_per_byte": 2.0},
    "route": {},
    "mapping": {"objective": "throughput"},
}


def hw_dict(**changes: Any) -> dict:
    """The tiny config as a dict, with dotted-path ``changes`` (``{"mac_array.rows": 8}``)."""
    doc = copy.deepcopy(_BASE)
    for path, value in changes.items():
        node = doc
        parts = path.split(".")
        for p in parts[:-1]:
            node = node[p]
        node[parts[-1]] = value
    return doc


def tiny_hw(**changes: Any) -> HardwareConfig:
    """A 4x4 WS MAC array, 16 adders (trees of 4), 2 multipliers, 2 KiB buffers, 8 B/cycle DRAM."""
    return hwconfig_from_dict(hw_dict(**{k.replace("__", "."): v for k, v in changes.items()}))


def unbounded(hw: HardwareConfig) -> HardwareConfig:
    """``hw`` with (practically) unbounded DRAM and SRAM bandwidth, zero DRAM latency and 64 MiB
    buffers."""
    from accelsim.hw import hwconfig_to_dict

    doc = hwconfig_to_dict(hw)
    doc["dram"].update(bandwidth_bytes_per_cycle=1e12, latency_cycles=0)
    for b in doc["buffers"].values():
        b.update(size_kib=65536, bandwidth_bytes_per_cycle=1e12)
    return hwconfig_from_dict(doc)


def tiny_workload(hybrid: bool = True) -> Workload:
    """conv 3x3 (8x8x4 -> 8x8x8) -> depthwise 3x3 -> pointwise (hybrid or fp) -> residual add
    -> linear."""
    s1 = Shape(8, 8, 4, 8, 8, 8, 3, 3, 1, 1)
    dw = Shape(8, 8, 8, 8, 8, 8, 3, 3, 1, 1, groups=8)
    pw = Shape(8, 8, 8, 8, 8, 8)
    layers = [fp_layer("conv1", "conv", s1), fp_layer("dw1", "depthwise", dw, inputs=("conv1",))]
    if hybrid:
        p = strassen_params(8, alpha=0.5, r_factor=1.0)
        layers.append(strassen_layer("pw1", "conv", pw, p, wb_nnz=p.r * 8 // 2,
                                     wc_nnz=[[p.c_rem * p.r // 2]], inputs=("dw1",)))
    else:
        layers.append(fp_layer("pw1", "conv", pw, inputs=("dw1",)))
    layers.append(eltwise_layer("add1", 8, 8, 8, ("pw1", "conv1")))
    layers.append(fp_layer("fc", "linear", Shape(1, 1, 8, 1, 1, 10), inputs=("add1",)))
    return Workload("tiny_hybrid" if hybrid else "tiny_fp", tuple(layers))


# -- hypothesis strategies --------------------------------------------------------------------
@st.composite
def hwconfigs(draw, *, routes: bool = True) -> HardwareConfig:
    """Small valid configs: 1-8 x 1-8 arrays of any dataflow set and microarchitecture, 0-64
    adders (any broadcast / bus / lockstep / zero handling / sparse format), 0-4 multipliers
    (missing classes routed to the MAC array), 0.25-8 KiB buffers (inputs 0.5-8 KiB), maybe a
    dedicated 0.5-8 KiB activation buffer, fusion off or auto, 1-64 B/cycle DRAM."""
    rows, cols = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    adders = draw(st.sampled_from([0, 1, 3, 8, 16, 64])) if routes else draw(st.integers(1, 64))
    muls = draw(st.sampled_from([0, 1, 4])) if routes else draw(st.integers(1, 4))
    route = {}
    if adders == 0:
        route["add"] = "mac"
    if muls == 0:
        route["mul"] = "mac"
    flows = draw(st.lists(st.sampled_from(["ws", "os", "is"]), min_size=1, max_size=3,
                          unique=True))
    doc = hw_dict(**{
        "mac_array.rows": rows, "mac_array.cols": cols,
        "mac_array.dataflow": flows[0], "mac_array.dataflows": flows,
        "mac_array.loading": draw(st.sampled_from(["blocking", "double_buffered"])),
        "mac_array.fold_pipelining": draw(st.booleans()),
        "mac_array.depthwise": draw(st.sampled_from(["block_diagonal", "channel_parallel"])),
        "adder_array.broadcast_trees": draw(st.sampled_from([0, 1, 2, 8])),
        "adder_array.operand_bus_terms": draw(st.sampled_from([0, 1, 4, 32])),
        "adder_array.lockstep_trees": draw(st.sampled_from([1, 2, 8])),
        "adder_array.zero_handling": draw(st.sampled_from(["skip", "gate"])),
        "adder_array.sparse_format": draw(st.sampled_from(["none", "bitmask", "index"])),
        "adder_array.unshared_operands": draw(st.sampled_from(["bus", "private"])),
        "mapping.objective": draw(st.sampled_from(["throughput", "energy", "edp", "dram"])),
        "mapping.memory": draw(st.sampled_from(["roundtrip", "resident"])),
        "mapping.fusion": draw(st.sampled_from(["off", "auto"])),
        "mac_array.pipeline_latency_cycles": draw(st.integers(0, 3)),
        "adder_array.count": adders, "adder_array.tree_width": draw(st.sampled_from([1, 2, 4, 16])),
        "adder_array.latency_cycles": draw(st.integers(0, 2)),
        "multiplier_array.count": muls,
        "multiplier_array.latency_cycles": draw(st.integers(0, 3)),
        "dram.bandwidth_bytes_per_cycle": draw(st.sampled_from([1, 4, 16, 64])),
        "dram.latency_cycles": draw(st.integers(0, 40)),
        "dram.pipelined_loads": draw(st.booleans()),
        "mapping.tile_halvings": draw(st.integers(0, 2)),
        "route": route,
    })
    if draw(st.booleans()):  # a dedicated activation buffer (what fusion needs)
        doc["buffers"]["activations"] = dict(doc["buffers"]["outputs"])
        doc["mapping"]["activation_buffer"] = "activations"
    for name in doc["buffers"]:
        # a tile of the input buffer holds one output position's whole input window (its halo:
        # a 3x3 window of up to 12 channels of fp16, 216 B, for a tree stage that sums all of
        # a position's terms at once), so the smallest input buffer here is 0.5 KiB
        sizes = [0.5, 1, 2, 8] if name in ("inputs", "activations") else [0.25, 0.5, 1, 2, 8]
        doc["buffers"][name].update(
            size_kib=draw(st.sampled_from(sizes)),
            bandwidth_bytes_per_cycle=draw(st.sampled_from([4, 16, 256])),
            double_buffered=draw(st.booleans()))
    return hwconfig_from_dict(doc)


def _layer(draw, name: str, kind: str, h: int, c: int, inputs: tuple[str, ...]) -> Layer:
    if kind == "depthwise":
        s = draw(st.sampled_from([1, 2]))
        oh = conv_out(h, 3, s, 1)
        return fp_layer(name, "depthwise", Shape(h, h, c, oh, oh, c, 3, 3, s, 1, groups=c),
                        inputs=inputs)
    ksz = draw(st.sampled_from([1, 3]))
    s = draw(st.sampled_from([1, 2])) if ksz == 3 else 1
    pad = 1 if ksz == 3 else 0
    oh = conv_out(h, ksz, s, pad)
    co = draw(st.integers(2, 12))
    sh = Shape(h, h, c, oh, oh, co, ksz, ksz, s, pad)
    k = ksz * ksz * c
    if kind == "fp":
        return fp_layer(name, "conv", sh, inputs=inputs)
    if kind == "twn":
        return twn_layer(name, "conv", sh, weight_nnz=draw(st.integers(0, co * k)),
                         inputs=inputs)
    alpha = 0.0 if kind == "strassen" else draw(st.sampled_from([0.25, 0.5]))
    p = strassen_params(co, alpha=alpha, r_factor=draw(st.sampled_from([0.5, 1.0, 2.0])))
    return strassen_layer(name, "conv", sh, p, wb_nnz=draw(st.integers(0, p.r * k)),
                          wc_nnz=[[draw(st.integers(0, p.c_rem * p.r))]], inputs=inputs)


@st.composite
def workloads(draw, max_layers: int = 4) -> Workload:
    """Random valid chains of fp / twn / strassen / hybrid convolutions, depthwise layers, an
    optional residual add and an optional final linear layer (inputs 2-6 px, 1-8 channels)."""
    h, c = draw(st.integers(2, 6)), draw(st.integers(1, 8))
    layers: list[Layer] = []
    prev: tuple[str, ...] = ()
    shapes: dict[str, tuple[int, int]] = {}
    for i in range(draw(st.integers(1, max_layers))):
        kind = draw(st.sampled_from(["fp", "twn", "strassen", "hybrid", "depthwise", "add"]))
        name = f"l{i}"
        same = [n for n, hc in shapes.items() if hc == (h, c) and (n,) != prev]
        if kind == "add" and prev and same:
            layer = eltwise_layer(name, h, h, c, (prev[0], draw(st.sampled_from(same))))
        else:
            layer = _layer(draw, name, "fp" if kind == "add" else kind, h, c, prev)
        layers.append(layer)
        h, c = layer.shape.out_h, layer.shape.out_c
        shapes[name] = (h, c)
        prev = (name,)
    if draw(st.booleans()):
        layers.append(fp_layer("fc", "linear", Shape(1, 1, c, 1, 1, draw(st.integers(1, 10))),
                               inputs=prev))
    return Workload("random", tuple(layers))


@st.composite
def branching_workloads(draw) -> Workload:
    """A stem layer, two layers of any kind that both read it (they may run side by side under
    the overlap schedule: a residual block's main path and projection shortcut) and an add that
    joins them; optionally a layer after the add."""
    h, c = draw(st.integers(2, 6)), draw(st.integers(1, 8))
    stem = _layer(draw, "stem", draw(st.sampled_from(["fp", "twn", "strassen", "hybrid"])), h, c,
                  ())
    h, c = stem.shape.out_h, stem.shape.out_c
    co = draw(st.integers(2, 12))
    branches = []
    for name in ("a", "b"):
        kind = draw(st.sampled_from(["fp", "twn", "strassen", "hybrid"]))
        ksz = draw(st.sampled_from([1, 3]))
        sh = Shape(h, h, c, h, h, co, ksz, ksz, 1, ksz // 2)
        k = ksz * ksz * c
        if kind == "fp":
            layer = fp_layer(name, "conv", sh, inputs=("stem",))
        elif kind == "twn":
            layer = twn_layer(name, "conv", sh, weight_nnz=draw(st.integers(0, co * k)),
                              inputs=("stem",))
        else:
            alpha = 0.0 if kind == "strassen" else draw(st.sampled_from([0.25, 0.5]))
            p = strassen_params(co, alpha=alpha,
                                r_factor=draw(st.sampled_from([0.5, 1.0, 2.0])))
            layer = strassen_layer(name, "conv", sh, p, wb_nnz=draw(st.integers(0, p.r * k)),
                                   wc_nnz=[[draw(st.integers(0, p.c_rem * p.r))]],
                                   inputs=("stem",))
        branches.append(layer)
    layers = [stem, *branches, eltwise_layer("join", h, h, co, ("a", "b"))]
    if draw(st.booleans()):
        layers.append(_layer(draw, "tail", draw(st.sampled_from(["fp", "strassen"])), h, co,
                             ("join",)))
    return Workload("branches", tuple(layers))
