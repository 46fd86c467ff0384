"""Cross-check against ZigZag 3.9.1 without installing it: accelsim's per-layer DRAM bytes and
energy by memory level on hwconfigs/zigzag_tpu_like32.yaml versus ZigZag's numbers stored in
tests/golden/zigzag_tpu_like32_mobilenet_v1_0.5.csv (written by
``bench/zigzag_crosscheck.py --write-golden``). Each layer must lie in the deviation band
tests/golden/zigzag_tpu_like32_bands.json documents for each metric (docs/zigzag-crosscheck.md):
within 10% where the tools agree, today's measured deviation (+-2 points) where accelsim's
memory model differs, so a change that moves either shows up here."""
from __future__ import annotations

import math

import pytest
import yaml
from conftest import GOLDEN, HWCONFIGS, WORKLOADS

from accelsim.api import load_hwconfig, load_workload, simulate
from accelsim.errors import InputError
from accelsim.interop.zigzag import (
    METRICS,
    accelsim_row,
    band_of,
    deviation_pct,
    load_bands,
    load_golden,
    mac_stages_only,
    metric,
    outside_bands,
    zigzag_mapping,
    zigzag_row,
    zigzag_workload,
)

REF = {r.layer: r for r in load_golden(GOLDEN / "zigzag_tpu_like32_mobilenet_v1_0.5.csv")}
BANDS = load_bands(GOLDEN / "zigzag_tpu_like32_bands.json")
WL = mac_stages_only(load_workload(WORKLOADS / "mobilenet_v1_0.5_baseline.json"))
HW = load_hwconfig(HWCONFIGS / "zigzag_tpu_like32.yaml")


@pytest.fixture(scope="module")
def ours() -> dict:
    return {rec.name: accelsim_row(rec) for rec in simulate(WL, HW, engine="des").layers}


def test_same_layers_and_macs(ours):
    assert list(REF) == [layer.name for layer in WL.layers]
    assert {n: r.macs for n, r in ours.items()} == {n: r.macs for n, r in REF.items()}


def test_every_layer_within_its_documented_band(ours):
    assert outside_bands(REF, ours, BANDS) == []


def test_agreement_where_the_models_agree(ours):
    """DRAM bytes and MAC energy agree exactly; DRAM energy within 5% (write cost)."""
    for name, z in REF.items():
        assert metric(ours[name], "dram_bytes") == metric(z, "dram_bytes"), name
        assert ours[name].mac_pj == pytest.approx(z.mac_pj, rel=1e-9), name
        assert -5.0 < deviation_pct(ours[name].dram_pj, z.dram_pj) <= 0.0, name


def test_every_layer_has_exactly_one_band_per_metric():
    for m in METRICS:
        for name in REF:
            assert band_of(BANDS[m], name).why


def test_exported_workload_has_the_golden_macs():
    layers = yaml.safe_load(zigzag_workload(WL))
    assert [x["name"] for x in layers] == list(REF)
    for x in layers:
        assert math.prod(x["loop_sizes"]) == REF[x["name"]].macs
        assert x["operand_source"] == {"I": x["id"], "W": x["id"]}  # each layer standalone
    mapping = yaml.safe_load(zigzag_mapping(WL, 32, 32))
    assert mapping[0]["spatial_mapping"] == {"D1": ["K, 32"], "D2": ["C, 32"]}
    assert [m["name"] for m in mapping[1:]] == [f"dw{i}" for i in range(1, 14)]


def test_zigzag_output_reduction():
    """bench/zigzag/run_zigzag.py's per-level records reduced to one row (hand-made run)."""
    def level(op, mem, bits, energy):
        dirs = ("rd_up", "wr_down", "rd_down", "wr_up")
        return {"operand": op, "memory": mem, "accesses": dict.fromkeys(dirs, 0.0),
                "bits": dict(zip(dirs, bits)), "energy_pj": dict(zip(dirs, energy))}

    run = {"name": "x", "macs": 10, "mac_energy_pj": 0.4, "levels": [
        level("W", "rf_128B", (0, 80, 160, 0), (0, 1.0, 2.0, 0)),
        level("W", "dram", (0, 0, 80, 0), (0, 0, 700.0, 0)),
        level("I", "sram_2MB", (0, 64, 128, 0), (0, 3.0, 4.0, 0)),
        level("I", "dram", (0, 0, 64, 0), (0, 0, 700.0, 0)),
        level("O", "rf_2B", (16, 0, 16, 16), (0.5, 0, 0.5, 0.5)),
        level("O", "dram", (0, 0, 0, 32), (0, 0, 0, 750.0))]}
    row = zigzag_row(run)
    assert (row.dram_read_bytes, row.dram_write_bytes) == (18.0, 4.0)
    assert (row.dram_pj, row.sram_pj, row.register_pj, row.mac_pj) == (2150.0, 7.0, 4.5, 0.4)
    assert (row.sram_in_pj, row.sram_out_pj) == (7.0, 0.0)


def test_bad_golden_is_a_one_line_error(tmp_path):
    bad = tmp_path / "g.csv"
    bad.write_text("layer,macs,dram_read_bytes\nconv1,5,x\n")
    with pytest.raises(InputError) as err:
        load_golden(bad)
    assert len(str(err.value).splitlines()) == 1 and "g.csv" in str(err.value)
