"""Sourced energy tables (accelsim/data/energy/*.yaml): lookups, interpolation, the config syntax
that names them, the errors, and the operand-movement energy in the priced results."""
from __future__ import annotations

import math

import pytest
import yaml
from conftest import HWCONFIGS, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.api import load_hwconfig, load_workload, simulate
from accelsim.errors import ConfigError
from accelsim.hw.energy_tables import (
    TableRangeError,
    dram_technologies,
    operand_presets,
    sram_lookup,
    sram_tables,
    sram_value,
)
from accelsim.hw.load import hwconfig_to_dict, loads_hwconfig

TINY = (ROOT / "tests/bad_inputs/ok_tiny.yaml").read_text()


def _doc() -> dict:
    return yaml.safe_load(TINY)


def _load(doc: dict):
    return loads_hwconfig(yaml.safe_dump(doc), "t.yaml")


def test_table_points_are_returned_exactly():
    cacti = sram_tables()["cacti7_45nm"]
    # the stored CACTI rows: 8 KiB x 64 bit read 7.4669 pJ per word; 1 MiB x 64 bit 113.2 pJ
    assert sram_lookup(cacti, "read_pj", 8, 64) == pytest.approx(7.4669)
    assert sram_value(cacti, "read_energy_pj_per_byte", 8, 8) == pytest.approx(7.4669 / 8)
    horowitz = sram_tables()["horowitz2014_45nm"]
    # Horowitz 2014: 20 pJ per 64-bit read of 32 KB -> 2.5 pJ/B for any port width
    assert sram_value(horowitz, "read_energy_pj_per_byte", 32, 64) == 2.5
    assert sram_value(horowitz, "read_energy_pj_per_byte", 1024, 8) == 100 / 8


def test_cacti_agrees_with_horowitz_within_a_factor_of_1_4():
    """The CACTI 7 table and the published 45 nm points (64-bit reads) are consistent."""
    cacti = sram_tables()["cacti7_45nm"]
    for size, published in ((8, 10.0), (32, 20.0), (1024, 100.0)):
        ratio = sram_lookup(cacti, "read_pj", size, 64) / published
        assert 0.7 < ratio < 1.4, (size, ratio)


def test_log_log_interpolation_between_points():
    horowitz = sram_tables()["horowitz2014_45nm"]
    # halfway in log capacity between 8 and 32 KiB: the geometric mean of 10 and 20 pJ
    assert sram_lookup(horowitz, "read_pj", 16, 64) == pytest.approx(math.sqrt(10 * 20))


@settings(max_examples=60, deadline=None)
@given(size=st.floats(1, 4096), width=st.floats(64, 256),
       table=st.sampled_from(["cacti7_45nm", "cacti7_28nm"]))
def test_interpolation_stays_between_the_corner_points(size, width, table):
    t = sram_tables()[table]
    sizes = sorted({p.size_kib for p in t.points})
    widths = sorted({p.width_bits for p in t.points})
    s0 = max(s for s in sizes if s <= size)
    s1 = min(s for s in sizes if s >= size)
    w0 = max(w for w in widths if w <= width)
    w1 = min(w for w in widths if w >= width)
    corners = [sram_lookup(t, "read_pj", s, w) for s in (s0, s1) for w in (w0, w1)]
    value = sram_lookup(t, "read_pj", size, width)
    assert min(corners) * (1 - 1e-9) <= value <= max(corners) * (1 + 1e-9)


def test_outside_the_table_names_its_range():
    t = sram_tables()["cacti7_28nm"]
    with pytest.raises(TableRangeError, match="range 1-4096 KiB at 64-bit words"):
        sram_lookup(t, "read_pj", 8192, 64)
    with pytest.raises(TableRangeError, match="widths 64-512 bits"):
        sram_lookup(t, "read_pj", 64, 2048)
    with pytest.raises(TableRangeError, match="gives no write energies"):
        sram_lookup(sram_tables()["horowitz2014_45nm"], "write_pj", 32, 64)


def test_presets_have_sources():
    dram = dram_technologies()
    assert {"lpddr4", "hbm2", "ddr3", "gddr5"} <= set(dram)
    assert dram["lpddr4"].value == 8.0 and dram["hbm2"].value == 3.9
    assert all(p.source for p in dram.values())
    ops = operand_presets()
    assert ops["zigzag_tpu_like_ws"].value == pytest.approx(2 * 0.095 + 2 * 0.021)


def test_config_names_tables_and_records_their_sources():
    doc = _doc()
    doc["buffers"]["inputs"] = {"size_kib": 32, "bandwidth_bytes_per_cycle": 8,
                                "read_energy_pj_per_byte": "horowitz2014_45nm",
                                "write_energy_pj_per_byte": "cacti7_45nm",
                                "leakage_uw": "cacti7_45nm"}
    doc["dram"] = {"bandwidth_bytes_per_cycle": 8, "technology": "lpddr4"}
    doc["mac_array"]["operand_energy_pj_per_op"] = "zigzag_tpu_like_ws"
    hw = _load(doc)
    cacti = sram_tables()["cacti7_45nm"]
    assert hw.buffers.inputs.read_energy_pj_per_byte == 2.5
    assert hw.buffers.inputs.write_energy_pj_per_byte == pytest.approx(
        sram_lookup(cacti, "write_pj", 32, 64) / 8)
    assert hw.buffers.inputs.leakage_uw == pytest.approx(
        sram_lookup(cacti, "leakage_mw", 32, 64) * 1000)
    assert hw.dram.energy_pj_per_byte == 64.0
    assert hw.mac_array.operand_energy_pj_per_op == pytest.approx(0.232)
    assert "lpddr4: 8 pJ/bit = 64 pJ/B" in hw.sources["dram.energy_pj_per_byte"]
    assert "horowitz2014_45nm at 32 KiB" in \
        hw.sources["buffers.inputs.read_energy_pj_per_byte"]
    assert "45 nm" in hw.sources["buffers.inputs.leakage_uw"]
    # the canonical form holds the numbers: it reloads to the same config
    again = loads_hwconfig(yaml.safe_dump(hwconfig_to_dict(hw)), "again.yaml")
    assert again == hw


def test_explicit_dram_energy_wins_over_the_preset():
    doc = _doc()
    doc["dram"] = {"bandwidth_bytes_per_cycle": 8, "technology": "hbm2",
                   "energy_pj_per_byte": 12.5}
    hw = _load(doc)
    assert hw.dram.energy_pj_per_byte == 12.5
    assert "dram.energy_pj_per_byte" not in hw.sources


@pytest.mark.parametrize(("change", "line"), [
    (lambda d: d["dram"].update(technology="ddr9"),
     "t.yaml: dram.technology: 'ddr9' (unknown DRAM technology; known: ddr3,"),
    (lambda d: d["buffers"]["inputs"].update(size_kib=8192,
                                             read_energy_pj_per_byte="cacti7_45nm"),
     "t.yaml: buffers.inputs.size_kib: 8192 (outside table cacti7_45nm's range 1-4096 KiB at "
     "256-bit words, asked by buffers.inputs.read_energy_pj_per_byte: cacti7_45nm)"),
    (lambda d: d["buffers"]["inputs"].update(bandwidth_bytes_per_cycle=1024,
                                             leakage_uw="cacti7_28nm"),
     "t.yaml: buffers.inputs.bandwidth_bytes_per_cycle: 1024 (a 8192-bit word is outside "
     "table cacti7_28nm's widths 64-512 bits"),
    (lambda d: d["buffers"]["hidden"].update(write_energy_pj_per_byte="horowitz2014_45nm"),
     "t.yaml: buffers.hidden.write_energy_pj_per_byte: 'horowitz2014_45nm' (table "
     "horowitz2014_45nm gives no write energies)"),
    (lambda d: d["adder_array"].update(operand_energy_pj_per_op="eyeriss"),
     "t.yaml: adder_array.operand_energy_pj_per_op: 'eyeriss' (unknown operand-energy preset"),
    (lambda d: d["mac_array"].update(operand_energy_pj_per_op=-1),
     "t.yaml: mac_array.operand_energy_pj_per_op: -1 (must be >= 0)"),
])
def test_bad_table_references_are_one_line_errors(change, line):
    doc = _doc()
    change(doc)
    with pytest.raises(ConfigError) as err:
        _load(doc)
    lines = str(err.value).splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), lines


def test_operand_energy_is_priced_per_operation_on_its_array():
    wl = load_workload(ROOT / "tests/bad_inputs/ok_tiny.json")
    base = load_hwconfig(ROOT / "tests/bad_inputs/ok_tiny.yaml")
    plain = simulate(wl, base, engine="des")
    assert not any(k.endswith("_operands") for k in plain.energy_pj)  # default 0: not priced
    doc = _doc()
    doc["mac_array"]["operand_energy_pj_per_op"] = 0.25
    doc["adder_array"]["operand_energy_pj_per_op"] = 0.125
    priced = simulate(wl, _load(doc), engine="des")
    ops = priced.total("ops")
    on = {u: sum(n for k, n in ops.items() if (k.partition("@")[2] or k) == u)
          for u in ("mac", "add")}
    assert priced.energy_pj["mac_operands"] == pytest.approx(0.25 * on["mac"])
    if on["add"]:
        assert priced.energy_pj["add_operands"] == pytest.approx(0.125 * on["add"])
    rest = {k: v for k, v in priced.energy_pj.items() if not k.endswith("_operands")}
    assert rest == pytest.approx(dict(plain.energy_pj))
    assert priced.cycles == plain.cycles
    # the op-count models move no data: no operand energy, as in the vectorised sweep path
    for engine in ("sequential", "balance"):
        res = simulate(wl, _load(doc), engine=engine)
        assert not any(k.endswith("_operands") for k in res.energy_pj), engine


def test_sourced_example_config_changes_only_memory_energies():
    """examples/iso_area_45nm_sourced.yaml is iso_area_45nm with table-sourced memory
    energies: same timing, same arithmetic energy, cheaper DRAM (LPDDR4 64 pJ/B instead of
    Horowitz's 162.5 pJ/B), CACTI SRAM energies and leakage."""
    base = load_hwconfig(HWCONFIGS / "iso_area_45nm.yaml")
    src = load_hwconfig(ROOT / "examples" / "iso_area_45nm_sourced.yaml")
    cacti = sram_tables()["cacti7_45nm"]
    assert src.dram.energy_pj_per_byte == 64.0
    for name, sram in src.buffers.items():
        kib = sram.size_kib  # 32 KiB working buffers, the 1 MiB activation buffer
        assert sram.read_energy_pj_per_byte == pytest.approx(
            sram_lookup(cacti, "read_pj", kib, 512) / 64), name
        assert sram.leakage_uw == pytest.approx(sram_lookup(cacti, "leakage_mw", kib, 512) * 1e3)
    assert src.mapping == base.mapping
    assert (src.mac_array, src.adder_array, src.units) == \
        (base.mac_array, base.adder_array, base.units)
    wl = load_workload(ROOT / "workloads" / "mobilenet_v1_0.5_twn.json")
    a, b = simulate(wl, base, engine="des"), simulate(wl, src, engine="des")
    assert a.cycles == b.cycles
    assert a.energy_pj["add"] == b.energy_pj["add"]
    assert b.energy_pj["dram"] == pytest.approx(a.energy_pj["dram"] * 64 / 162.5)
    assert b.energy_pj["leakage"] > 0 and "leakage" not in a.energy_pj
