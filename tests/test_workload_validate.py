"""The semantic validator of workloads (accelsim/workload/validate.py): how the fields of a
workload fit together. Valid JSON that is inconsistent is rejected naming the field; every
bundled and every generated workload passes; a random workload with one field corrupted is
rejected or gives exactly the numbers of the original, never something in between."""
from __future__ import annotations

import copy
import json
import math

import pytest
from conftest import WORKLOADS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import tiny_hw, tiny_workload, unbounded, workloads

from accelsim.analytic.bound import estimate
from accelsim.analytic.opcount import balance, sequential
from accelsim.counts import Convention, workload_counts
from accelsim.errors import InputError, WorkloadError
from accelsim.mapping import map_workload
from accelsim.workload import load_workload, workload_from_dict, workload_to_dict
from accelsim.workload.binary import fbin_layer, wbin_layer
from accelsim.workload.build import fp_layer
from accelsim.workload.schema import Shape, Workload
from accelsim.workload.validate import workload_problems


def _doc(wl: Workload) -> dict:
    return json.loads(json.dumps(workload_to_dict(wl)))


def _problem(doc: dict) -> str:
    with pytest.raises(WorkloadError) as err:
        workload_from_dict(doc, "w.json")
    lines = str(err.value).splitlines()
    assert all(line.startswith("w.json: ") for line in lines)
    return lines[0]


def test_every_bundled_workload_is_consistent():
    files = sorted(WORKLOADS.glob("**/*.json"))
    assert len(files) >= 20
    for path in files:
        assert workload_problems(load_workload(path)) == [], path


BINARY = Workload("bin", (
    fp_layer("stem", "conv", Shape(8, 8, 3, 8, 8, 8, 3, 3, 1, 1)),
    fp_layer("stem_bn", "depthwise", Shape(8, 8, 8, 8, 8, 8, groups=8), inputs=("stem",)),
    wbin_layer("w", "conv", Shape(8, 8, 8, 8, 8, 8, 3, 3, 1, 1), unique_kernels=20,
               inputs=("stem_bn",)),
    fbin_layer("f", "conv", Shape(8, 8, 8, 4, 4, 8, 3, 3, 2, 1), unique_kernels=30,
               inputs=("w",)),
    fp_layer("fc", "linear", Shape(1, 1, 8, 1, 1, 10), inputs=("f",)),
))


@pytest.mark.parametrize("wl", [tiny_workload(True), tiny_workload(False), BINARY],
                         ids=["hybrid", "fp", "binary"])
def test_generated_workloads_are_consistent(wl):
    assert workload_problems(wl) == []
    assert workload_from_dict(_doc(wl)) == wl


def _stage(doc: dict, layer: str, stage: str) -> dict:
    lay = next(x for x in doc["layers"] if x["name"] == layer)
    return next(s for s in lay["stages"] if s["name"] == stage)


def _layer(doc: dict, layer: str) -> dict:
    return next(x for x in doc["layers"] if x["name"] == layer)


def _set_m(stage: dict, m: int) -> None:
    """``m`` changed with the op counts that follow from it (so only the geometry is wrong)."""
    stage.update(m=m, ops_dense=m * stage["n"] * stage["k"],
                 ops_nonzero=min(stage["ops_nonzero"], m * stage["n"] * stage["k"]))


# Each class of inconsistency, several instances each: (mutation, field named, reason start).
CLASSES = {
    "fuse_into cycle": [
        (lambda d: _stage(d, "conv1", "conv").update(fuse_into="bias"),
         "layers[conv1].stages[conv].fuse_into", "names a stage that is itself fused"),
        (lambda d: _stage(d, "pw1", "fp").update(fuse_into="fp_bias"),
         "layers[pw1].stages[fp].fuse_into", "names a stage that is itself fused"),
        (lambda d: _stage(d, "fc", "bias").update(fuse_into="bias"),
         "layers[fc].stages[bias].fuse_into", "a stage cannot fuse into itself"),
    ],
    "hidden nobody reads": [
        (lambda d: _stage(d, "conv1", "conv").update(writes="hidden"),
         "layers[conv1].stages[conv]", ""),
        (lambda d: (_stage(d, "pw1", "wc").update(writes="hidden"),
                    _layer(d, "pw1").update(stages=_layer(d, "pw1")["stages"][:-1])),
         "layers[pw1].stages[wc].writes", "no later stage reads"),
        (lambda d: _stage(d, "dw1", "conv").update(writes="hidden"),
         "layers[dw1].stages[conv]", ""),
    ],
    "shape against stages": [
        (lambda d: _layer(d, "conv1")["shape"].update(out_h=7), "layers[conv1].shape.out_h",
         "must be 8"),
        (lambda d: _set_m(_stage(d, "pw1", "wb"), 17), "layers[pw1].stages[wb].m",
         "must be 64"),
        (lambda d: _layer(d, "fc")["shape"].update(in_c=9), "layers[fc].shape.in_c", "must be 8"),
        (lambda d: _stage(d, "conv1", "conv").update(in_bytes=1), "layers[conv1].stages[conv]"
         ".in_bytes", "must be 512"),
    ],
    "kind against stages": [
        (lambda d: _layer(d, "dw1")["shape"].update(groups=1), "layers[dw1].shape.groups",
         "a depthwise layer has groups = in_c"),
        (lambda d: _layer(d, "conv1").update(kind="depthwise"), "layers[conv1].shape.groups",
         "a depthwise layer"),
        (lambda d: _layer(d, "add1").update(stages=_layer(d, "pw1")["stages"][:2]),
         "layers[add1].stages[fp].role", "an eltwise layer"),
        (lambda d: _stage(d, "conv1", "conv").update(unit="add"),
         "layers[conv1].stages[conv].unit", "must be 'mac'"),
        (lambda d: _layer(d, "pw1").update(variant="fp"), "layers[pw1].strassen",
         "strassen and hybrid layers"),
    ],
    "duplicate entries": [
        (lambda d: _layer(d, "add1").update(inputs=["pw1", "pw1"]), "layers[add1].inputs",
         "listed twice"),
        (lambda d: _stage(d, "pw1", "wc").update(after=["a_mul", "a_mul"]),
         "layers[pw1].stages[wc].after", "lists a stage twice"),
    ],
    "derived overflow": [
        (lambda d: _stage(d, "conv1", "conv")["weights"][0].update(count=10**15, bits=64),
         "layers[conv1].stages[conv]", ""),
        (lambda d: _stage(d, "fc", "conv")["weights"][0].update(bits=10**12),
         "layers[fc].stages[conv].weights[0].bits", "must be <= 64"),
    ],
    "paper_scale": [
        (lambda d: _stage(d, "pw1", "wb").update(paper_scale=1e-12),
         "layers[pw1].stages[wb].paper_scale", "must be"),
        (lambda d: _stage(d, "pw1", "wc").update(paper_scale=1e12),
         "layers[pw1].stages[wc].paper_scale", "must be"),
        (lambda d: _layer(d, "pw1")["strassen"].update(r_nominal=1e9),
         "layers[pw1].strassen.r_nominal", "must be r_factor x c_rem"),
        (lambda d: _stage(d, "conv1", "conv").update(paper_scale=2.0),
         "layers[conv1].stages[conv].paper_scale", "must be 1.0"),
    ],
}


@pytest.mark.parametrize("cls,index", [(c, i) for c, v in CLASSES.items()
                                       for i in range(len(v))])
def test_inconsistent_workload_is_rejected_naming_the_field(cls, index):
    mutate, field, why = CLASSES[cls][index]
    doc = _doc(tiny_workload(True))
    mutate(doc)
    line = _problem(doc)
    assert line.startswith(f"w.json: {field}"), line
    assert why in line, line


def test_problems_are_all_reported_at_once():
    doc = _doc(tiny_workload(True))
    _layer(doc, "dw1")["shape"]["groups"] = 1
    _layer(doc, "add1")["inputs"] = ["pw1", "pw1"]
    with pytest.raises(WorkloadError) as err:
        workload_from_dict(doc, "w.json")
    assert len(err.value.problems) == 2


# -- one field corrupted: rejected, or the very same numbers ------------------------------------
_HW = unbounded(tiny_hw())


def _numbers(wl: Workload) -> tuple:
    """Every dense-mode number of the models (op counts under both conventions, the op-count
    models, the tile-level bound under the overlap schedule, which uses shapes and strides)."""
    out: list[float] = []
    for conv in (Convention.ACTUAL, Convention.PAPER):
        c = workload_counts(wl, convention=conv)
        out += [c.macs, c.muls, c.adds, c.model_size_kb]
    for res in (balance(wl, _HW), sequential(wl, _HW),
                estimate(map_workload(wl, _HW, schedule="overlap"), _HW)):
        out += [float(res.cycles), res.total_energy_pj]
    return tuple(out)


def _leaves(doc, path=()):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(doc, list) and doc and not all(isinstance(x, str) for x in doc):
        for i, v in enumerate(doc):
            yield from _leaves(v, path + (i,))
    else:
        yield path, doc


def _corruptions(value):
    """Plausible wrong values for a field holding ``value``: off by one, doubled, halved,
    zero, negative, another type, another word."""
    out = [None, "x", [], {}, True]
    if isinstance(value, bool):
        out += [not value]
    elif isinstance(value, int):
        out += [value + 1, value - 1, 2 * value, value // 2, 0, -value, float(value) + 0.5]
    elif isinstance(value, float):
        out += [value * 2, value / 2, value + 1, -value, 0.0, math.nextafter(value, math.inf)]
    elif isinstance(value, str):
        out += [value + "x", "", "output", "hidden", "input", "mac", "add", "conv"]
    elif isinstance(value, list):
        out += [value[:-1], value + value[:1], ["nope"]]
    return out


#: Fields that are data, not geometry: changing them changes no dense-mode number.
_FREE = ("ops_nonzero", "description", "provenance", "alpha", "unique_kernels")


@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(wl=workloads(max_layers=4), data=st.data())
def test_one_corrupted_field_is_rejected_or_changes_no_number(wl, data):
    doc = _doc(wl)
    path, value = data.draw(st.sampled_from(sorted(_leaves(doc), key=str)))
    bad = data.draw(st.sampled_from(_corruptions(value)))
    changed = copy.deepcopy(doc)
    node = changed
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = bad
    try:
        loaded = workload_from_dict(changed, "w.json")
    except InputError:
        return
    if any(f in path for f in _FREE) or loaded == wl:
        return
    try:
        got = _numbers(loaded)
    except InputError:  # rejected when run (e.g. a unit class the config lacks): fine too
        return
    assert got == _numbers(wl), (path, value, bad)
