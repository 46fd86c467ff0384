"""Reading SCALE-Sim's COMPUTE_REPORT.csv, its WS, OS and IS closed forms, the golden format."""
from __future__ import annotations

import pytest

from accelsim.errors import InputError
from accelsim.interop import (
    ScaleSimRow,
    dumps_golden,
    is_compute_cycles,
    load_golden,
    os_compute_cycles,
    per_topology_row,
    read_compute_report,
    ws_compute_cycles,
)

# First rows of a real SCALE-Sim 3.0.0 report (ws32.cfg, MobileNet-V1 0.5 conv1, pw1, pw2), in
# its own column order: "incl. prefetch" comes before "Total Cycles".
REPORT = """LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, Overall Util %, \
Mapping Efficiency %, Compute Util %,
0, 22757, 20989, 8352, 25.213206917909382, 42.1875, 41.77125266398295,
1, 25927, 23367, 10730, 26.841271879145804, 50.0, 49.50666982397979,

2, 14913, 12609, 6150, 49.74224760091998, 100.0, 96.16681999386691,
"""


def test_read_compute_report_picks_total_and_stall_columns(tmp_path):
    path = tmp_path / "COMPUTE_REPORT.csv"
    path.write_text(REPORT)
    rows = read_compute_report(path)
    assert rows == ((20989, 8352), (23367, 10730), (12609, 6150))
    folded = per_topology_row(["conv1", "DPx"], [1, 2], rows)
    assert folded == (ScaleSimRow("conv1", 1, 20989, 8352),
                      ScaleSimRow("DPx", 2, 23367 + 12609, 10730 + 6150))
    assert folded[0].compute_cycles == 12637


def test_report_errors(tmp_path):
    path = tmp_path / "r.csv"
    with pytest.raises(InputError, match="cannot read"):
        read_compute_report(path)
    path.write_text("LayerID, Cycles,\n0, 1,\n")
    with pytest.raises(InputError, match="no column 'Total Cycles'"):
        read_compute_report(path)
    path.write_text(REPORT.replace("\n1, ", "\n5, "))
    with pytest.raises(InputError, match=r"LayerID: 5 \(expected 1"):
        read_compute_report(path)
    path.write_text(REPORT.replace("23367", "lots"))
    with pytest.raises(InputError, match="not a report row"):
        read_compute_report(path)
    with pytest.raises(InputError, match="expands to 3 layers"):
        per_topology_row(["a", "b"], [1, 2], ((1, 0),))


@pytest.mark.parametrize("sr, sc, t, expected", [
    (27, 16, 112 * 112, 12637),   # conv1: 1 fold
    (32, 64, 56 * 56, 6459),      # pw2: 2 column folds
    (512, 512, 7 * 7, 36607),     # pw13: 16 x 16 folds
    (512, 1000, 1, 48639),        # fc: 16 x 32 folds of one input vector
    (9, 1, 112 * 112, 12637),     # one channel of DP1_dw (SCALE-Sim total: 16 x 12637)
])
def test_ws_closed_form_matches_measured_scalesim_cycles(sr, sc, t, expected):
    # expected: Total - Stall cycles measured with scalesim==3.0.0 on bench/scalesim_ws32.cfg
    assert ws_compute_cycles(sr, sc, t, 32, 32) == expected


@pytest.mark.parametrize("sr, sc, t, expected", [
    (112 * 112, 16, 27, 34887),   # conv1: 392 row folds x 1 column fold
    (56 * 56, 64, 32, 18423),     # pw2: 98 x 2 folds
    (7 * 7, 512, 512, 18367),     # pw13: 2 x 16 folds, 512 terms streamed
    (1, 1000, 512, 18367),        # fc: one row fold (1 of 32 rows used) x 32 column folds
])
def test_os_closed_form_matches_measured_scalesim_cycles(sr, sc, t, expected):
    # expected: Total - Stall cycles measured with scalesim==3.0.0 on bench/scalesim_os32.cfg
    assert os_compute_cycles(sr, sc, t, 32, 32) == expected



@pytest.mark.parametrize("sr, sc, t, expected", [
    (27, 112 * 112, 16, 43119),   # conv1: 1 term fold x 392 pixel folds, 16 filters streamed
    (32, 56 * 56, 64, 15483),     # pw2: 1 x 98 folds
    (512, 7 * 7, 512, 19391),     # pw13: 16 x 2 folds, 512 filters streamed
    (512, 1, 1000, 17503),        # fc: 16 term folds x 1 pixel fold (1 of 32 columns used)
    (9, 112 * 112, 1, 37239),     # one channel of DP1_dw (SCALE-Sim total: 16 x 37239)
])
def test_is_closed_form_matches_measured_scalesim_cycles(sr, sc, t, expected):
    # expected: Total - Stall cycles measured with scalesim==3.0.0 on bench/scalesim_is32.cfg
    assert is_compute_cycles(sr, sc, t, 32, 32) == expected


def test_golden_round_trip_and_validation(tmp_path):
    rows = (ScaleSimRow("conv1", 1, 20989, 8352), ScaleSimRow("DP1_dw", 16, 202192, 0))
    path = tmp_path / "g.csv"
    path.write_text(dumps_golden(rows, ["made by a test", "second line"]))
    assert path.read_text().startswith("# made by a test\n# second line\nlayer,")
    assert load_golden(path) == rows
    path.write_text(path.read_text().replace("202192,0,202192", "202192,0,202191"))
    with pytest.raises(InputError, match="DP1_dw.compute_cycles: 202191"):
        load_golden(path)
    path.write_text("name,cycles\n")
    with pytest.raises(InputError, match="expected layer,scalesim_layers"):
        load_golden(path)
    path.write_text(dumps_golden(rows, []).replace("20989", "x"))
    with pytest.raises(InputError, match="expected name and four integers"):
        load_golden(path)
