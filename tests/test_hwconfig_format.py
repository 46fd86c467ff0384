"""Hardware configs: bundled files load, round-trip, and reject bad input in one line each."""
from __future__ import annotations

import pytest
import yaml
from conftest import HWCONFIGS
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.errors import ConfigError
from accelsim.hw import dumps_hwconfig, load_hwconfig, loads_hwconfig, override
from accelsim.hw.config import Dataflow


@pytest.mark.parametrize("name", ["paper", "iso_area_45nm", "scalesim_ws32", "scalesim_os32",
                                  "scalesim_is32"])
def test_bundled_configs_load_and_round_trip(name):
    cfg = load_hwconfig(HWCONFIGS / f"{name}.yaml")
    assert loads_hwconfig(dumps_hwconfig(cfg)) == cfg
    if cfg.area_budget_um2 is not None:
        assert cfg.compute_area_um2 <= cfg.area_budget_um2


def test_paper_config_encodes_the_papers_cost_model():
    cfg = load_hwconfig(HWCONFIGS / "paper.yaml")
    u = cfg.units
    assert u["mac"].area_um2 == 2 * u["add"].area_um2
    assert u["mac"].energy_pj_per_op == pytest.approx(5 * u["add"].energy_pj_per_op)
    assert u["mul"].energy_pj_per_op == pytest.approx(2.15 * u["add"].energy_pj_per_op)
    assert all(s.read_energy_pj_per_byte == 0 for _, s in cfg.buffers.items())
    assert cfg.dram.energy_pj_per_byte == 0
    assert cfg.area_budget_um2 == 1024 * u["mac"].area_um2


def _doc(name="paper"):
    return yaml.safe_load((HWCONFIGS / f"{name}.yaml").read_text())


def _err(doc) -> str:
    with pytest.raises(ConfigError) as exc:
        loads_hwconfig(yaml.safe_dump(doc), "hw.yaml")
    return str(exc.value)


@pytest.mark.parametrize("path,value,expected", [
    (("adder_array", "count"), -4, "hw.yaml: adder_array.count: -4 (must be >= 0)"),
    (("clock_mhz",), 0, "hw.yaml: clock_mhz: 0 (must be > 0)"),
    (("units", "add", "energy_pj_per_op"), float("nan"),
     "hw.yaml: units.add.energy_pj_per_op: nan (must be finite)"),
    (("dram", "bandwidth_bytes_per_cycle"), float("inf"),
     "hw.yaml: dram.bandwidth_bytes_per_cycle: inf (must be finite)"),
    (("buffers", "hidden", "size_kib"), -1, "hw.yaml: buffers.hidden.size_kib: -1 (must be > 0)"),
    (("mac_array", "dataflow"), "wss",
     "hw.yaml: mac_array.dataflow: 'wss' (must be one of ws, os, is; did you mean 'ws'?)"),
    (("mac_array", "rows"), "16", "hw.yaml: mac_array.rows: '16' (must be an integer)"),
])
def test_bad_values(path, value, expected):
    doc = _doc()
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    assert _err(doc) == expected


def test_unknown_and_missing_keys():
    doc = _doc()
    doc["adder_aray"] = doc.pop("adder_array")
    msg = _err(doc)
    assert "hw.yaml: adder_aray: <key> (unknown key; did you mean 'adder_array'?)" in msg
    assert "hw.yaml: adder_array: <missing> (required field is missing)" in msg


def test_cross_field_rules():
    doc = _doc()
    doc["mac_array"]["rows"] = 64
    assert "area_budget_um2: 2785280.0 (compute units need" in _err(doc)
    doc = _doc()
    doc["route"] = {"mul": "add"}
    assert "route.mul: 'add' (units.add.executes does not include 'mul')" in _err(doc)


def test_malformed_yaml():
    with pytest.raises(ConfigError) as exc:
        loads_hwconfig("name: [unclosed", "hw.yaml")
    assert str(exc.value).startswith("hw.yaml: <document>: 'line ")


def test_override():
    cfg = load_hwconfig(HWCONFIGS / "iso_area_45nm.yaml")
    small = override(cfg, {"buffers.weights.size_kib": 8, "mac_array.dataflow": "os"})
    assert small.buffers.weights.size_kib == 8 and small.mac_array.dataflow is Dataflow.OS
    with pytest.raises(ConfigError, match="names no field"):
        override(cfg, {"buffers.weight.size_kib": 8})


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(0, 64), add=st.integers(0, 4096), mul=st.integers(0, 256),
       kib=st.floats(0.5, 4096, allow_nan=False), bw=st.floats(0.1, 4096, allow_nan=False),
       df=st.sampled_from(["ws", "os"]), lat=st.integers(0, 1000),
       e=st.one_of(st.just(0.0), st.floats(1e-15, 1e3)))
def test_round_trip_property(rows, add, mul, kib, bw, df, lat, e):
    doc = _doc("iso_area_45nm")
    del doc["area_budget_um2"]
    doc["mac_array"].update(rows=rows, cols=32 if rows else 0, dataflow=df)
    doc["adder_array"]["count"] = add
    doc["multiplier_array"]["count"] = mul
    doc["buffers"]["hidden"].update(size_kib=kib, bandwidth_bytes_per_cycle=bw)
    doc["dram"].update(latency_cycles=lat, energy_pj_per_byte=e)
    cfg = loads_hwconfig(yaml.safe_dump(doc))
    assert loads_hwconfig(dumps_hwconfig(cfg)) == cfg
    assert cfg.counts == {"mac": rows * (32 if rows else 0), "add": add, "mul": mul, "xnor": 0}
