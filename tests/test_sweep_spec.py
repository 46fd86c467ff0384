"""Sweep specs, points and keys, and the array path against the scalar path."""
from __future__ import annotations

import json

import numpy as np
import pytest
from dse_support import IAREA_HW, PAPER_HW, write_inputs, write_spec
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.dse.points import (
    iter_points,
    load_inputs,
    resolve_config,
)
from accelsim.dse.spec import SweepSpecError, expand_range, load_sweep_spec, sweep_spec_from_dict
from accelsim.dse.tasks import Task, evaluate_point
from accelsim.dse.vector import evaluate_vectorised
from accelsim.errors import ConfigError
from accelsim.hw.load import load_hwconfig
from accelsim.hw.rules import split_area


def test_ranges_are_inclusive_rounded_and_typed():
    assert expand_range({"start": 0.0, "stop": 1.0, "step": 0.1}, "f") == \
        tuple(i / 10 for i in range(11))
    assert expand_range({"start": 8, "stop": 64, "step": 8}, "f") == (8, 16, 24, 32, 40, 48,
                                                                         56, 64)
    assert expand_range({"start": 64, "stop": 8, "step": -28}, "f") == (64, 36, 8)
    assert expand_range({"start": 0, "stop": 1, "num": 5}, "f") == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert expand_range({"start": 2, "stop": 2, "num": 1}, "f") == (2,)
    assert expand_range([3, "x", True], "f") == (3, "x", True)
    assert expand_range(7, "f") == (7,)


@pytest.mark.parametrize("raw, why", [
    ({"start": 0, "stop": 1, "step": 0}, "must be non-zero"),
    ({"start": 0, "stop": 1, "step": -1}, "point from start to stop"),
    ({"start": 0, "stop": 1, "num": 0}, "must be >= 1"),
    ({"start": 0, "stop": 1, "nmu": 3}, "did you mean"),
    ([], "at least one value"),
    ([1, 1], "values repeat"),
    ([None], "finite numbers"),
])
def test_bad_ranges_say_why(raw, why):
    with pytest.raises(SweepSpecError, match=why):
        expand_range(raw, "f")


def test_spec_collects_every_problem(tmp_path):
    doc = {"hw": "missing.yaml", "workloads": ["nope_*.json"], "engine": "dse",
           "schedule": "parallel", "zero_skip": "yes", "axes": {"mac_fraction": [1.5],
                                                                "adder_array.count": [4]},
           "extra": 1}
    with pytest.raises(SweepSpecError) as err:
        sweep_spec_from_dict(doc, "s.yaml", base_dir=tmp_path)
    text = str(err.value)
    for needle in ("s.yaml: hw: 'missing.yaml' (no such file)",
                   "workloads: 'nope_*.json' (the pattern matches no file)",
                   "engine: 'dse' (must be one of balance, sequential, analytic, des",
                   "schedule: 'parallel'", "zero_skip: 'yes'",
                   "axes.mac_fraction: 1.5 (must be a number in [0, 1])",
                   "axes.adder_array.count: <key> (conflicts with 'mac_fraction'",
                   "extra: <key> (unknown key"):
        assert needle in text
    assert len(text.splitlines()) == 8


def test_spec_file_paths_are_relative_to_it_and_size_counts_points(tmp_path):
    files = write_inputs(tmp_path)
    path = write_spec(tmp_path, {"hw": [str(PAPER_HW), str(IAREA_HW)],
                                 "workloads": "tiny_*.json", "store": "out",
                                 "axes": {"mac_fraction": {"start": 0.1, "stop": 0.9, "num": 5}},
                                 "engine": ["balance", "des"],
                                 "schedule": ["sequential", "overlap"]})
    spec = load_sweep_spec(path)
    assert spec.workloads == tuple(str(p) for p in sorted(files.values()))
    assert spec.store == str(tmp_path / "out")
    assert spec.size == 2 * 2 * (1 + 2) * 5
    points = list(iter_points(spec, load_inputs(spec)))
    assert len(points) == spec.size and len({p.key for p in points}) == spec.size
    assert {p.schedule for p in points if p.engine == "balance"} == {"-"}


def test_keys_are_canonical_and_content_addressed(tmp_path):
    files = write_inputs(tmp_path, ("fp",))
    base = {"hw": str(PAPER_HW), "workloads": str(files["fp"]), "engine": "sequential"}
    a = sweep_spec_from_dict({**base, "axes": {"buffers.weights.size_kib": [64]}})
    b = sweep_spec_from_dict({**base, "axes": {"buffers.weights.size_kib": [64.0]}})
    ka = [p.key for p in iter_points(a, load_inputs(a))]
    assert ka == [p.key for p in iter_points(b, load_inputs(b))]
    (tmp_path / "edited.json").write_text(files["fp"].read_text().replace('"tiny_fp"',
                                                                          '"tiny_fp2"'))
    c = sweep_spec_from_dict({**base, "workloads": str(tmp_path / "edited.json"),
                              "axes": {"buffers.weights.size_kib": [64]}})
    assert [p.key for p in iter_points(c, load_inputs(c))] != ka


def test_unknown_axis_field_suggests_the_right_one(tmp_path):
    files = write_inputs(tmp_path, ("fp",))
    spec = sweep_spec_from_dict({"hw": str(PAPER_HW), "workloads": str(files["fp"]),
                                 "axes": {"buffers.weight.size_kib": [1]}})
    with pytest.raises(ConfigError, match="did you mean 'buffers.weights'"):
        list(iter_points(spec, load_inputs(spec)))


def test_mac_fraction_split_rounds_to_whole_rows_within_the_area():
    hw = load_hwconfig(PAPER_HW)
    cfg = resolve_config(hw, (("mac_fraction", 0.5),))
    assert cfg.mac_array.cols == 32 and cfg.counts["mac"] % 32 == 0
    assert cfg.compute_area_um2 <= hw.area_budget_um2
    # 0.5 of 1024 MAC areas = 512 MACs (16 rows); the rest is 1024 adders
    assert cfg.counts == {"mac": 512, "add": 1024, "mul": 64, "xnor": 0}
    rows, cols, macs, adders = split_area(np.array([0.0, 0.01, 1.0]), 2785280.0, 2720.0,
                                            1360.0, 0.0, 64, 32)
    assert macs.tolist() == [0, 10, 1024] and rows.tolist() == [0, 1, 32]
    assert cols.tolist() == [0, 10, 32] and adders.tolist() == [2048, 2028, 0]


_FIELDS = {
    "mac_fraction": st.sampled_from([0.0, 0.003, 0.1, 0.37, 0.5, 0.81, 0.999, 1.0]),
    "area_budget_um2": st.sampled_from([1e6, 2785280.0, 4e6]),
    "units.add.energy_pj_per_op": st.sampled_from([0.1, 0.4, 0.9]),
    "units.mac.leakage_uw": st.sampled_from([0.0, 2.5]),
    "units.mul.area_um2": st.sampled_from([0.0, 900.0]),
    "multiplier_array.count": st.sampled_from([0, 1, 64]),
    "buffers.hidden.leakage_uw": st.sampled_from([0.0, 10.0]),
    "clock_mhz": st.sampled_from([500.0, 1000.0]),
    "dram.latency_cycles": st.sampled_from([1, 100]),
}


@settings(max_examples=25, deadline=None)
@given(fields=st.sets(st.sampled_from(sorted(_FIELDS)), min_size=1, max_size=4),
       data=st.data(), engine=st.sampled_from(["balance", "sequential"]),
       zero_skip=st.booleans(), kind=st.sampled_from(["fp", "hybrid", "twn", "strassen"]))
def test_array_path_equals_scalar_path(tmp_path_factory, fields, data, engine, zero_skip, kind):
    tmp = tmp_path_factory.mktemp("v")
    files = write_inputs(tmp, (kind,))
    axes = {f: data.draw(st.lists(_FIELDS[f], min_size=1, max_size=3, unique=True))
            for f in sorted(fields)}
    spec = sweep_spec_from_dict({"hw": str(PAPER_HW), "workloads": str(files[kind]),
                                 "axes": axes, "engine": engine, "zero_skip": zero_skip})
    inputs = load_inputs(spec)
    points = tuple(iter_points(spec, inputs))
    task = Task(inputs.hw[0], inputs.hw_hashes[0], inputs.workloads[0],
                inputs.workload_hashes[0], points, True)
    cols = evaluate_vectorised(task)
    fast_rows = [{c: v[i] for c, v in cols.items()} for i in range(len(points))]
    for fast, slow in zip(fast_rows, [evaluate_point(task, p) for p in points]):
        assert fast.keys() == slow.keys()
        for k, v in slow.items():
            if isinstance(v, float) and k.startswith("energy"):
                assert fast[k] == pytest.approx(v, rel=1e-12, nan_ok=True), k
            elif isinstance(v, float) and v != v:
                assert fast[k] != fast[k], k
            else:
                assert fast[k] == v, (k, json.loads(slow["params_json"]))


def test_error_rows_name_the_problem(tmp_path):
    files = write_inputs(tmp_path, ("hybrid",))
    spec = sweep_spec_from_dict({"hw": str(PAPER_HW), "workloads": str(files["hybrid"]),
                                 "axes": {"mac_fraction": [0.0, 1.0]}, "engine": "sequential"})
    inputs = load_inputs(spec)
    pts = tuple(iter_points(spec, inputs))
    cols = evaluate_vectorised(Task(inputs.hw[0], inputs.hw_hashes[0], inputs.workloads[0],
                                    inputs.workload_hashes[0], pts, True))
    no_mac, no_add = [{c: v[i] for c, v in cols.items()} for i in range(2)]
    assert "needs 'mac' units but the config has none (mac_array.rows = 0)" in no_mac["error"]
    assert "needs 'add' units" in no_add["error"]
    # an invalid point has no unit counts (null, an empty cell in exports), only its reason
    assert no_mac["cycles"] != no_mac["cycles"] and no_mac["mac_units"] is None
