"""The hardware side of hybrid binary networks: the binary (XNOR-popcount) array in the config,
the mapping, the engine, the op-count models, the three-way area split and the sweeps."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from golden_results import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import hw_dict, hwconfigs

from accelsim.analytic.allocation import allocate
from accelsim.analytic.bound import estimate
from accelsim.analytic.opcount import opcount_tables
from accelsim.choices import Model
from accelsim.dse.allocate import des_search
from accelsim.dse.points import resolve_config
from accelsim.engine import simulate_plan
from accelsim.errors import CompatibilityError, ConfigError
from accelsim.evaluate import evaluate
from accelsim.hw import hwconfig_from_dict, hwconfig_to_dict
from accelsim.hw.load import load_hwconfig
from accelsim.hw.rules import mac_only, with_counts
from accelsim.hw.schema import replace_field
from accelsim.mapping import map_workload
from accelsim.mapping.units import binary_cycles
from accelsim.workload.binary import fbin_layer, wbin_layer
from accelsim.workload.build import conv_out, fp_layer
from accelsim.workload.schema import Layer, Shape, Stage, Workload

BINARY_HW = ROOT / "hwconfigs" / "iso_area_45nm_binary.yaml"
XNOR_COST = {"area_um2": 2, "energy_pj_per_op": 0.3, "executes": ["xnor"]}


def with_binary(hw, lanes: int, word_bits: int, latency: int = 1):
    """``hw`` with ``lanes`` binary lanes of ``word_bits`` bits and an ``xnor`` cost entry."""
    doc = hwconfig_to_dict(hw)
    doc["units"]["xnor"] = dict(XNOR_COST)
    doc["binary_array"] = {"lanes": lanes, "word_bits": word_bits, "latency_cycles": latency}
    return hwconfig_from_dict(doc)


@st.composite
def binary_workloads(draw) -> Workload:
    """An fp stem, then 1-3 WeightBinConv / FullBinConv convolutions (1x1 or 3x3, 1-12
    channels: dot products of 1 to 108 bits), optionally a FullBinConv classifier of at most
    48 inputs (so that the smallest buffers of :func:`strategies.hwconfigs` hold a tile)."""
    h, c = draw(st.integers(2, 6)), draw(st.integers(1, 6))
    layers: list[Layer] = [fp_layer("stem", "conv", Shape(h, h, 3, h, h, c, 3, 3, 1, 1))]
    for i in range(draw(st.integers(1, 3))):
        ksz = draw(st.sampled_from([1, 3]))
        s = draw(st.sampled_from([1, 2])) if ksz == 3 else 1
        pad = ksz // 2
        oh = conv_out(h, ksz, s, pad)
        co = draw(st.integers(1, 12))
        sh = Shape(h, h, c, oh, oh, co, ksz, ksz, s, pad)
        build = fbin_layer if draw(st.booleans()) else wbin_layer
        layers.append(build(f"b{i}", "conv", sh, unique_kernels=draw(st.integers(0, co * c)),
                            inputs=(layers[-1].name,)))
        h, c = oh, co
    if c * h * h <= 48 and draw(st.booleans()):
        layers.append(fbin_layer("fc", "linear", Shape(1, 1, c * h * h, 1, 1,
                                                       draw(st.integers(1, 10))),
                                 unique_kernels=0, inputs=(layers[-1].name,)))
    return Workload("random_binary", tuple(layers))


@st.composite
def binary_hwconfigs(draw):
    return with_binary(draw(hwconfigs()), draw(st.integers(1, 16)),
                       draw(st.sampled_from([8, 16, 32, 64])), draw(st.integers(0, 3)))


def _word_ops(wl: Workload, word_bits: int) -> int:
    return sum(st.word_ops(word_bits) for la in wl.layers for st in la.stages if st.op == "xnor")


@settings(max_examples=60, deadline=None)
@given(binary_workloads(), binary_hwconfigs(), st.sampled_from(["sequential", "overlap"]))
def test_word_operations_are_conserved_and_the_engine_never_beats_the_bound(wl, hw, schedule):
    words = _word_ops(wl, hw.binary_array.word_bits)
    plan = map_workload(wl, hw, schedule)
    on_lanes = [t for s in plan.stages if s.unit == "xnor" for t in s.tiles]
    assert sum(plan.tiles[t].ops for t in on_lanes) == words          # workload == tiles
    des, bound = simulate_plan(plan, hw), estimate(plan, hw)
    assert des.total("ops").get("xnor", 0) == words                    # == the engine's count
    assert bound.total("ops").get("xnor", 0) == words
    t = opcount_tables(wl, hw)
    assert t.work[:, t.units.index("xnor")].sum() == words             # == the op-count models
    assert des.cycles >= bound.cycles
    if schedule == "sequential":
        assert all(d.cycles >= b.cycles for d, b in zip(des.layers, bound.layers))
    if words:
        assert des.energy_pj["xnor"] == pytest.approx(words * 0.3)
        util = des.total("busy_cycles")["xnor"]
        assert util == pytest.approx(words / hw.binary_array.lanes)
    for rec in des.layers:     # the binary array's cycles are attributed like the others'
        assert set(rec.unit_stall_cycles) == set(rec.compute_cycles)
        for u, waits in rec.unit_stall_cycles.items():
            assert rec.compute_cycles[u] + sum(waits.values()) == rec.cycles


def test_a_binary_dot_product_holds_a_lane_for_its_words():
    # 10 outputs of 3 words on 4 lanes: rounds of 4, 4, 2 outputs, 3 cycles each, + latency 2
    assert binary_cycles(10, 3, 4, 2) == 3 * 3 + 2
    assert binary_cycles(0, 3, 4, 2) == 0
    sh = Shape(4, 4, 40, 4, 4, 8, 3, 3, 1, 1)        # k = 360 bits: 6 words of 64, 12 of 32
    wl = Workload("one", (fbin_layer("b", "conv", sh, unique_kernels=0),))
    for bits, words in ((64, 6), (32, 12)):
        hw = with_binary(load_hwconfig(ROOT / "tests" / "bad_inputs" / "ok_tiny.yaml"), 16, bits)
        plan = map_workload(wl, hw)
        xnor = next(s for s in plan.stages if s.unit == "xnor")
        assert xnor.mapping == "binary"
        tiles = [plan.tiles[t] for t in xnor.tiles]
        assert sum(t.ops for t in tiles) == 16 * 8 * words
        assert sum(t.compute_cycles for t in tiles) == sum(
            binary_cycles((t.m[1] - t.m[0]) * (t.n[1] - t.n[0]), words, 16, 1) for t in tiles)


def test_the_bundled_binary_config_runs_every_binary_resnet18():
    hw = load_hwconfig(BINARY_HW)
    assert hw.counts["xnor"] == 256 and hw.units["xnor"].area_um2 == 704
    assert "Horowitz" in hw.units["xnor"].source
    assert hw.compute_area_um2 <= hw.area_budget_um2
    from accelsim.workload.load import load_workload

    wl = load_workload(ROOT / "workloads" / "resnet18_hbn_7wbin.json")
    res = evaluate(Model.SEQUENTIAL, wl, hw)
    assert res.energy_pj["xnor"] == pytest.approx(_word_ops(wl, 64) * 0.58)
    ref = mac_only(hw)
    assert ref.counts["xnor"] == 0 and ref.binary_array.word_bits == 64
    with pytest.raises(CompatibilityError, match=r"stages\[xnor\]\.unit: 'xnor' \(needs 'xnor' "
                       r"units but the config has none \(binary_array\.lanes = 0\)"):
        evaluate(Model.SEQUENTIAL, wl, with_counts(hw, {"xnor": 0}))


def test_word_bits_must_be_a_power_of_two_wherever_it_is_set():
    hw = load_hwconfig(BINARY_HW)
    with pytest.raises(ConfigError, match=r"binary_array\.word_bits: 48 \(bits per packed "
                                          r"word: must be a power of two\)"):
        replace_field(hw, "binary_array.word_bits", 48)
    assert replace_field(hw, "binary_array.word_bits", 32).binary_array.word_bits == 32
    doc = hwconfig_to_dict(hw)
    doc["binary_array"]["word_bits"] = 0
    with pytest.raises(ConfigError, match=r"binary_array\.word_bits: 0 \(must be >= 1\)"):
        hwconfig_from_dict(doc, "x.yaml")


def _stage(name: str, op: str, m: int, n: int, k: int) -> Stage:
    return Stage(name=name, role=name, op=op, m=m, n=n, k=k, groups=1, ops_dense=m * n * k,
                 ops_nonzero=m * n * k)


def _three_class_case():
    """6000 MACs, 4000 additions and 2000 word operations (1000 dot products of 128 bits on
    64-bit words) in three layers; unit areas 3 (MAC), 1 (adder), 2 (lane); 2600 um2."""
    sh = Shape(1, 1, 1, 1, 1, 1)
    wl = Workload("three", (Layer("a", "conv", "fp", sh, (_stage("mac", "mac", 100, 10, 6),)),
                            Layer("b", "conv", "wbin", sh, (_stage("add", "add", 100, 10, 4),)),
                            Layer("c", "conv", "fbin", sh,
                                  (_stage("xnor", "xnor", 100, 10, 128),))))
    doc = hwconfig_to_dict(load_hwconfig(ROOT / "tests" / "bad_inputs" / "ok_tiny.yaml"))
    doc["units"] = {"mac": {"area_um2": 3, "energy_pj_per_op": 1.0, "executes": ["mac"]},
                    "add": {"area_um2": 1, "energy_pj_per_op": 0.2, "executes": ["add"]},
                    "mul": {"area_um2": 0, "energy_pj_per_op": 0.5, "executes": ["mul"]},
                    "xnor": {"area_um2": 2, "energy_pj_per_op": 0.3, "executes": ["xnor"]}}
    doc["mac_array"].update(rows=1, cols=10)
    doc["binary_array"] = {"lanes": 1, "word_bits": 64, "latency_cycles": 1}
    doc["area_budget_um2"] = 2600
    return wl, hwconfig_from_dict(doc)


def test_three_way_allocation_finds_the_known_optima():
    wl, hw = _three_class_case()
    # balance (all classes busy the whole network): share_u = a_u W_u / sum a W = 18:4:4
    bal = allocate(wl, hw, model="balance")
    for u, want in (("mac", 18 / 26), ("add", 4 / 26), ("xnor", 4 / 26)):
        assert bal.shares[u] == pytest.approx(want, abs=2e-3)
    assert bal.counts["mac"] == 600 and bal.counts["add"] == 400 and bal.counts["xnor"] == 200
    assert bal.model_cycles == pytest.approx(10.0, rel=1e-3)
    # sequential (layers one after another): minimise sum W_u / n_u, share_u ~ sqrt(a_u W_u)
    seq = allocate(wl, hw, model="sequential")
    roots = {u: math.sqrt(a * w) for u, a, w in (("mac", 3, 6000), ("add", 1, 4000),
                                                 ("xnor", 2, 2000))}
    for u, r in roots.items():
        assert seq.shares[u] == pytest.approx(r / sum(roots.values()), abs=2e-3)
    assert seq.model_cycles == pytest.approx(sum(roots.values()) ** 2 / 2600, rel=1e-4)
    cfg = seq.config
    assert cfg.compute_area_um2 <= 2600 and cfg.counts["mac"] % 10 == 0


def test_des_search_moves_binary_lanes_too():
    wl, hw = _three_class_case()
    start = with_counts(hw, {"mac": 300, "add": 900, "xnor": 400})   # rows 30, 400 lanes
    calls: list = []

    def sim(engine, wl, cfg, schedule, zero_skip):
        calls.append((cfg.mac_array.rows, cfg.binary_array.lanes))
        assert cfg.compute_area_um2 <= 2600 * (1 + 1e-9)
        cycles = 1000 + 5 * (cfg.mac_array.rows - 40) ** 2 + (cfg.binary_array.lanes - 170) ** 2
        return SimpleNamespace(cycles=cycles, total_energy_pj=float(cycles))

    cfg, cycles, _, runs = des_search(wl, start, 2600, evaluator=sim, max_runs=60)
    assert (cfg.mac_array.rows, cfg.binary_array.lanes) == (40, 170) and cycles == 1000
    assert runs == len(calls) == len(set(calls))
    assert cfg.counts["add"] == int((2600 - 400 * 3 - 170 * 2) // 1)


def test_sweeps_split_the_area_three_ways():
    hw = load_hwconfig(BINARY_HW)
    cfg = resolve_config(hw, (("mac_fraction", 0.5), ("binary_fraction", 0.1)))
    free = hw.area_budget_um2 - 8 * 1640
    assert cfg.counts["xnor"] == int(0.1 * free // 704)
    assert cfg.counts["mac"] == int(0.5 * free // 3000) // 32 * 32
    assert cfg.counts["add"] == int((free - cfg.counts["mac"] * 3000 - cfg.counts["xnor"] * 704)
                                    // 1360)
    only = resolve_config(hw, (("binary_fraction", 0.2),))       # the MAC array keeps its size
    assert only.counts["mac"] == 512 and only.counts["xnor"] == int(0.2 * free // 704)
    macs = resolve_config(hw, (("mac_fraction", 0.25),))          # the lanes keep their count
    assert macs.counts["xnor"] == 256 and macs.compute_area_um2 <= hw.area_budget_um2


_AXES = {
    "mac_fraction": [0.0, 0.2, 0.5, 0.9],
    "binary_fraction": [0.0, 0.01, 0.1, 0.6],
    "units.xnor.energy_pj_per_op": [0.2, 0.58],
    "units.xnor.area_um2": [352.0, 704.0],
    "area_budget_um2": [1.5e6, 3072000.0],
}


@settings(max_examples=12, deadline=None)
@given(fields=st.sets(st.sampled_from(sorted(_AXES)), min_size=1, max_size=3),
       engine=st.sampled_from(["balance", "sequential"]))
def test_array_path_equals_scalar_path_on_a_binary_config(tmp_path_factory, fields, engine):
    from accelsim.dse.points import iter_points, load_inputs
    from accelsim.dse.spec import sweep_spec_from_dict
    from accelsim.dse.tasks import Task, evaluate_point
    from accelsim.dse.vector import evaluate_vectorised
    from accelsim.workload.load import save_workload

    tmp = tmp_path_factory.mktemp("vb")
    sh = Shape(8, 8, 16, 8, 8, 16, 3, 3, 1, 1)
    wl = Workload("tiny_hbn", (fp_layer("stem", "conv", Shape(8, 8, 3, 8, 8, 16, 3, 3, 1, 1)),
                               fbin_layer("b1", "conv", sh, unique_kernels=40, inputs=("stem",)),
                               wbin_layer("b2", "conv", sh, unique_kernels=40, inputs=("b1",))))
    save_workload(wl, tmp / "wl.json")
    spec = sweep_spec_from_dict({"hw": str(BINARY_HW), "workloads": str(tmp / "wl.json"),
                                 "axes": {f: _AXES[f] for f in sorted(fields)},
                                 "engine": engine})
    inputs = load_inputs(spec)
    points = tuple(iter_points(spec, inputs))
    task = Task(inputs.hw[0], inputs.hw_hashes[0], inputs.workloads[0],
                inputs.workload_hashes[0], points, True)
    cols = evaluate_vectorised(task)
    for i, slow in enumerate(evaluate_point(task, p) for p in points):
        for k, v in slow.items():
            if isinstance(v, float) and k.startswith("energy"):
                assert cols[k][i] == pytest.approx(v, rel=1e-12, nan_ok=True), k
            elif isinstance(v, float) and v != v:
                assert cols[k][i] != cols[k][i], k
            else:
                assert cols[k][i] == v, (k, slow["params_json"])


def test_a_binary_layers_k_map_is_not_kept_as_its_output():
    # Found by the property test above: a FullBinConv layer's K map (k_sum, read by the scale
    # stage through ``after``) has no consumer edge, and under ``mapping.memory: resident`` it
    # was kept in the activation buffer beside the layer's output, overfilling the 512 B the
    # residency plan had sized for the output (stem 50 B + output 450 B): the engine stalled.
    doc = hw_dict(**{"mac_array.rows": 1, "mac_array.cols": 1, "route": {"add": "mac",
                                                                          "mul": "mac"},
                     "mapping.memory": "resident", "mapping.activation_buffer": "activations"})
    for name, kib in (("weights", 0.25), ("inputs", 0.5), ("outputs", 0.25), ("hidden", 0.25),
                      ("activations", 0.5)):
        doc["buffers"][name] = {"size_kib": kib, "bandwidth_bytes_per_cycle": 32,
                                "read_energy_pj_per_byte": 0.1,
                                "write_energy_pj_per_byte": 0.1}
    hw = with_binary(hwconfig_from_dict(doc), 1, 8, 0)
    stem = fp_layer("stem", "conv", Shape(5, 5, 3, 5, 5, 1, 3, 3, 1, 1))
    b0 = fbin_layer("b0", "conv", Shape(5, 5, 1, 5, 5, 9, 1, 1, 1, 0), unique_kernels=0,
                    inputs=("stem",))
    b1 = wbin_layer("b1", "conv", Shape(5, 5, 9, 5, 5, 2, 1, 1, 1, 0), unique_kernels=0,
                    inputs=("b0",))
    wl = Workload("k_map", (stem, b0, b1))
    for schedule in ("sequential", "overlap"):
        plan = map_workload(wl, hw, schedule)
        assert plan.meta["kept_outputs"] == ["stem", "b0"]
        k_sum = next(s for s in plan.stages if (s.layer_name, s.name) == ("b0", "k_sum"))
        assert all("activations" not in plan.tiles[t].alloc for t in k_sum.tiles)
        des, bound = simulate_plan(plan, hw), estimate(plan, hw)  # finishes, never beats it
        assert des.cycles >= bound.cycles
