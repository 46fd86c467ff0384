"""Fuzzing the loaders: thousands of mutated workload and hardware-config documents, sweep specs,
SCALE-Sim topology CSVs and Chrome traces; every one either loads or is rejected with a clean
InputError (never another exception)."""
from __future__ import annotations

import copy
import json

import pytest
import yaml
from conftest import HWCONFIGS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelsim.dse.points import iter_points, load_inputs
from accelsim.dse.spec import sweep_spec_from_dict
from accelsim.errors import InputError
from accelsim.hw import hwconfig_to_dict, load_hwconfig, loads_hwconfig
from accelsim.interop import HEADER, parse_topology
from accelsim.study.figures import load_trace
from accelsim.workload import loads_workload, workload_from_dict, workload_to_dict
from accelsim.workload.build import fp_layer, strassen_layer, strassen_params, twn_layer
from accelsim.workload.schema import Shape, Workload

_SH = Shape(6, 6, 4, 6, 6, 8, 3, 3, 1, 1, 1)
_P = strassen_params(8, alpha=0.25, r_factor=1.0)
_WL = Workload("fuzz", (
    fp_layer("a", "conv", _SH),
    twn_layer("b", "conv", Shape(6, 6, 8, 6, 6, 8, 1, 1, 1, 0, 1), weight_nnz=40, inputs=("a",)),
    strassen_layer("c", "conv", Shape(6, 6, 8, 6, 6, 8, 3, 3, 1, 1, 1), _P, wb_nnz=200,
                   wc_nnz=[[20]], inputs=("b",)),
))
WL_DOC = workload_to_dict(_WL)
HW_DOC = hwconfig_to_dict(load_hwconfig(HWCONFIGS / "iso_area_45nm.yaml"))

_junk = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**12),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.lists(st.integers(-3, 3), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(),
                                                              max_size=2))


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


WL_PATHS = [p for p in _paths(WL_DOC) if p]
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's, when built: 10x faster
HW_PATHS = [p for p in _paths(HW_DOC) if p]


@st.composite
def mutated(draw, doc, paths):
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths))
        node = doc
        try:
            for p in path[:-1]:
                node = node[p]
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                node[path[-1]] = draw(_junk)
            elif action == "delete":
                del node[path[-1]]
            elif isinstance(node, dict):
                node[draw(st.text(min_size=1, max_size=6))] = draw(_junk)
        except (KeyError, IndexError, TypeError):
            continue
    return doc


def _dump_json(doc) -> str:
    return json.dumps(doc, allow_nan=True)


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=mutated(WL_DOC, WL_PATHS))
def test_workload_loader_never_crashes(doc):
    try:
        loads_workload(_dump_json(doc), "fuzz.json")
    except InputError as exc:
        text = str(exc)
        assert text and all(line.startswith("fuzz.json: ") for line in text.splitlines())


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=mutated(HW_DOC, HW_PATHS))
def test_hwconfig_loader_never_crashes(doc):
    try:
        loads_hwconfig(yaml.dump(doc, Dumper=_DUMPER), "fuzz.yaml")
    except InputError as exc:
        text = str(exc)
        assert text and all(line.startswith("fuzz.yaml: ") for line in text.splitlines())


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_arbitrary_text(text):
    for load, name in ((loads_workload, "t.json"), (loads_hwconfig, "t.yaml")):
        try:
            load(text, name)
        except InputError as exc:
            assert str(exc).startswith(f"{name}: ")


# -- the other loaders: sweep specs, SCALE-Sim topology CSVs, Chrome traces ---------------------
SPEC_DOC = {"hw": "hw.yaml", "workloads": ["wl.json"], "engine": ["balance", "des"],
            "schedule": "sequential", "zero_skip": [False, True], "store": "s",
            "axes": {"mac_fraction": {"start": 0.1, "stop": 0.9, "num": 3},
                     "buffers.weights.size_kib": [16, 32],
                     "dram.bandwidth_bytes_per_cycle": {"start": 8, "stop": 16, "step": 8}}}
SPEC_PATHS = [p for p in _paths(SPEC_DOC) if p]


@pytest.fixture(scope="module")
def spec_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("spec")
    (d / "wl.json").write_text(json.dumps(WL_DOC))
    (d / "hw.yaml").write_text(yaml.safe_dump(HW_DOC))
    return d


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=mutated(SPEC_DOC, SPEC_PATHS))
def test_sweep_spec_loader_never_crashes(doc, spec_dir):
    try:
        spec = sweep_spec_from_dict(doc, "fuzz.yaml", base_dir=spec_dir)
        inputs = load_inputs(spec)
        if spec.size <= 2000:  # a valid spec may have millions of points: enumerate small ones
            assert len(list(iter_points(spec, inputs))) <= spec.size
    except InputError as exc:
        assert str(exc) and "\n\n" not in str(exc)


_CELL = st.one_of(st.integers(-3, 300).map(str), st.text(max_size=5),
                  st.sampled_from(["", "x", "1.5", "nan", "1e999", "10" * 12, "3:4", "1:1"]))


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["conv", "DP1", "fc", ""]),
                               st.lists(_CELL, max_size=9)), max_size=4),
       header=st.booleans(), split=st.booleans())
def test_scalesim_topology_parser_never_crashes(rows, header, split):
    lines = [HEADER] if header else []
    lines += [", ".join([name, *cells]) + "," for name, cells in rows]
    try:
        wl = parse_topology("\n".join(lines), source="t.csv",
                            depthwise="split" if split else "native")
    except InputError as exc:
        assert all(line.startswith("t.csv: ") for line in str(exc).splitlines())
    else:
        assert wl.layers and workload_from_dict(workload_to_dict(wl)) == wl


_EVENT = st.fixed_dictionaries({}, optional={
    "ph": st.sampled_from(["X", "M", "C", 3]), "name": st.one_of(st.text(max_size=4), _junk),
    "pid": _junk, "tid": _junk, "ts": _junk, "dur": _junk, "cat": _junk,
    "args": st.one_of(_junk, st.fixed_dictionaries({"name": _junk}))})


@settings(max_examples=200, deadline=None)
@given(events=st.one_of(st.lists(_EVENT, max_size=4), _junk), wrap=st.booleans())
def test_trace_loader_never_crashes(events, wrap, tmp_path_factory):
    from accelsim.results.plot import gantt_figure

    path = tmp_path_factory.mktemp("trace") / "t.json"
    path.write_text(json.dumps({"traceEvents": events} if wrap else events, allow_nan=True))
    try:
        loaded = load_trace(path)
    except InputError as exc:
        assert str(exc).startswith(f"{path}: ")
    else:  # what loads can be drawn
        gantt_figure(loaded)
