"""Fuzzing the workload and hardware-config loaders: thousands of mutated documents, and every
one either loads or is rejected with a clean InputError (never another exception)."""
from __future__ import annotations

import copy
import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelsim.errors import InputError
from accelsim.hw import hwconfig_to_dict, load_hwconfig, loads_hwconfig
from accelsim.workload import loads_workload, workload_to_dict
from accelsim.workload.build import fp_layer, strassen_layer, strassen_params, twn_layer
from accelsim.workload.schema import Shape, Workload

from conftest import HWCONFIGS

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
        loads_hwconfig(yaml.safe_dump(doc), "fuzz.yaml")
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
