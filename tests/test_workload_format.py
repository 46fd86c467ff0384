"""The workload file format: round trips, and one clear line per problem on bad input."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.errors import WorkloadError
from accelsim.workload import dumps_workload, loads_workload, workload_to_dict
from accelsim.workload.build import eltwise_layer, fp_layer, strassen_layer, strassen_params
from accelsim.workload.schema import Shape, Workload


def _tiny() -> Workload:
    sh = Shape(8, 8, 4, 8, 8, 8, 3, 3, 1, 1, 1)
    p = strassen_params(8, alpha=0.25, r_factor=1.33)
    return Workload("tiny", (
        fp_layer("conv1", "conv", Shape(8, 8, 4, 8, 8, 4, 3, 3, 1, 1, 1)),
        strassen_layer("hyb", "conv", sh, p, wb_nnz=p.r * 36 // 2, wc_nnz=[[p.c_rem * p.r - 1]],
                       inputs=("conv1",)),
        fp_layer("side", "conv", Shape(8, 8, 4, 8, 8, 8, 1, 1, 1, 0, 1), inputs=("conv1",)),
        eltwise_layer("add", 8, 8, 8, inputs=("hyb", "side")),
    ))


def _doc() -> dict:
    return json.loads(dumps_workload(_tiny()))


def _err(doc: dict | str) -> str:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    with pytest.raises(WorkloadError) as exc:
        loads_workload(text, "wl.json")
    return str(exc.value)


def test_round_trip_is_exact():
    wl = _tiny()
    assert loads_workload(dumps_workload(wl)) == wl
    assert dumps_workload(loads_workload(dumps_workload(wl))) == dumps_workload(wl)


def test_hybrid_stages_follow_method():
    hyb = _tiny().layer("hyb")
    assert [s.name for s in hyb.stages] == ["fp", "fp_bias", "wb", "a_mul", "wc", "st_bias"]
    assert hyb.strassen.c_fp == 2 and hyb.strassen.c_rem == 6 and hyb.strassen.r == 8
    wb, wc = hyb.stage("wb"), hyb.stage("wc")
    assert wb.ops_dense == 64 * 8 * 36 and wc.ops_dense == 64 * 6 * 8
    assert wb.paper_scale == pytest.approx(1.33 * 6 / 8)
    assert hyb.stage("fp_bias").fuse_into == "fp"


def test_missing_field_names_file_field_and_value():
    doc = _doc()
    del doc["layers"][0]["stages"][0]["m"]
    assert _err(doc) == \
        "wl.json: layers[conv1].stages[conv].m: <missing> (required field is missing)"


def test_extra_key_suggests_close_match():
    doc = _doc()
    doc["layers"][1]["shpe"] = doc["layers"][1]["shape"]
    msg = _err(doc)
    assert "wl.json: layers[hyb].shpe: <key> (unknown key; did you mean 'shape'?)" in msg


@pytest.mark.parametrize("field,value,why", [
    ("m", -3, "must be >= 1"), ("m", 2.5, "must be an integer"), ("n", "8", "must be an integer"),
    ("ops_dense", 7, "must equal m*n*k"), ("ops_nonzero", 10 ** 12, "must be <= ops_dense"),
])
def test_bad_stage_values(field, value, why):
    doc = _doc()
    doc["layers"][0]["stages"][0][field] = value
    msg = _err(doc)
    assert msg.startswith(f"wl.json: layers[conv1].stages[conv].{field}: ")
    assert why in msg and "\n" not in msg


def test_collects_every_problem():
    doc = _doc()
    doc["layers"][0]["shape"]["in_h"] = -1
    doc["layers"][2]["stages"][0]["unit"] = ""
    lines = _err(doc).splitlines()
    assert len(lines) == 2 and all(line.startswith("wl.json: ") for line in lines)


def test_schema_version_empty_and_malformed():
    doc = _doc()
    doc["schema_version"] = 99
    assert "schema_version: 99 (this accelsim reads version 1)" in _err(doc)
    doc = _doc()
    doc["layers"] = []
    assert "layers: '[]' (a workload needs at least one layer)" in _err(doc)
    assert "malformed JSON" in _err('{"schema": ')
    assert "malformed JSON" in _err('{"m": NaN}')


def test_dangling_references():
    doc = _doc()
    doc["layers"][1]["inputs"] = ["nope"]
    doc["layers"][1]["stages"][3]["reads"] = "zz"
    msg = _err(doc)
    assert "layers[hyb].inputs: 'nope' (names no earlier layer)" in msg
    assert "layers[hyb].stages[a_mul].reads: 'zz'" in msg


@settings(max_examples=40, deadline=None)
@given(c_in=st.integers(1, 16), c_out=st.integers(2, 32), k=st.sampled_from([1, 3, 5]),
       hw=st.integers(1, 12), alpha=st.sampled_from([0.0, 0.25, 0.5]),
       rf=st.sampled_from([0.5, 1.0, 1.33, 2.0]), p=st.sampled_from([1, 2]),
       fp_bits=st.sampled_from([16, 32]))
def test_round_trip_property(c_in, c_out, k, hw, alpha, rf, p, fp_bits):
    sh = Shape(hw, hw, c_in, hw, hw, c_out, k, k, 1, k // 2, 1)
    prm = strassen_params(c_out, alpha=alpha, r_factor=rf, patch=p)
    kb = (p - 1) + k
    layer = strassen_layer("s", "conv", sh, prm, wb_nnz=prm.r * kb * kb * c_in // 3,
                           wc_nnz=[[prm.c_rem * prm.r // 2] * p] * p, fp_bits=fp_bits)
    wl = Workload("w", (layer,))
    back = loads_workload(dumps_workload(wl))
    assert back == wl
    assert workload_to_dict(back) == workload_to_dict(wl)
    # conservation of operations: per stage, dense = m*n*k and zero-skip <= dense
    for s in back.layers[0].stages:
        assert s.ops_dense == s.m * s.n * s.k and 0 <= s.ops_nonzero <= s.ops_dense
