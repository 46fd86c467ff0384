"""``accelsim trace`` / ``make-workloads`` with torch: regeneration of the bundled files,
overrides, and one-line errors."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")

from accelsim.cli import main
from accelsim.cli.trace import parse_override
from accelsim.errors import InputError
from accelsim.reference.entry import BUNDLED
from accelsim.workload import load_workload, loads_workload

WORKLOADS = Path(__file__).resolve().parent.parent / "workloads"


def test_make_workloads_regenerates_the_committed_files_byte_for_byte(tmp_path):
    res = CliRunner().invoke(main, ["make-workloads", "--out", str(tmp_path / "wl")])
    assert res.exit_code == 0, res.output
    assert len(res.output.splitlines()) == len(BUNDLED)
    for filename, _ in BUNDLED:
        new = (tmp_path / "wl" / filename).read_bytes()
        assert new == (WORKLOADS / filename).read_bytes(), filename


def test_trace_command_applies_options_and_per_layer_overrides(tmp_path):
    out = tmp_path / "r20.json"
    res = CliRunner().invoke(main, [
        "trace", "resnet20", "--width", "0.5", "--resolution", "16", "--variant", "hybrid",
        "--alpha", "0.25", "--r-factor", "2", "--patch", "2", "--groups", "2",
        "--fp-bytes", "4", "--seed", "3",
        "--override", "layer2.0.shortcut=0.5:1", "--override", "conv1=0:0.5", "-o", str(out)])
    assert res.exit_code == 0, res.output
    wl = load_workload(out)
    sc = wl.layer("layer2.0.shortcut").strassen
    assert (sc.alpha, sc.c_fp, sc.c_rem, sc.r, sc.patch, sc.groups) == (0.5, 8, 8, 8, 2, 2)
    c1 = wl.layer("conv1").strassen
    # conv1 has 3 input channels: groups gcd(2, 3) = 1, r = 0.5 * 8 = 4
    assert (c1.c_fp, c1.c_rem, c1.r, c1.groups) == (0, 8, 4, 1)
    assert wl.layer("conv1").variant == "strassen"
    default = wl.layer("layer3.2.conv2").strassen
    assert (default.c_fp, default.r) == (8, 48)
    assert wl.provenance["params"]["overrides"] == [["layer2.0.shortcut", 0.5, 1.0],
                                                    ["conv1", 0.0, 0.5]]
    assert wl.layer("fc").strassen.r == 32  # fc_hidden defaults to the FC input width
    weights = [w for st in wl.layer("fc").stages for w in st.weights if w.name == "a"]
    assert [w.bits for w in weights] == [32]


def test_trace_to_stdout():
    res = CliRunner().invoke(main, ["trace", "mobilenet_v1", "--width", "0.25", "--resolution",
                                    "32", "--classes", "4", "-o", "-"])
    assert res.exit_code == 0, res.output
    wl = loads_workload(res.stdout)
    assert wl.name == "mobilenet_v1_0.25_32px_4cls_baseline" and len(wl.layers) == 28


@pytest.mark.parametrize("args,line", [
    (["trace", "mobilenet_v1", "--width", "0.25", "--resolution", "32", "--variant", "hybrid",
      "--override", "dw3=0.5:1"],  # depthwise convs stay fp
     "error: overrides[0].name: 'dw3' (not a strassenified conv layer of mobilenet_v1; "
     "did you mean 'pw3'?)"),
    (["trace", "resnet20", "--override", "conv1:0.5", "--variant", "hybrid"],
     "error: --override[0]: 'conv1:0.5' (expected NAME=ALPHA:RFACTOR, e.g. pw3=0.5:1.6)"),
    (["trace", "resnet19", "--variant", "strassen", "--alpha", "0.5"],
     "error: model: 'resnet19' (must be one of mobilenet_v1, resnet20, resnet18, alexnet, "
     "squeezenet1_0)"),
])
def test_trace_bad_input_is_one_line_per_problem_and_exit_2(tmp_path, args, line):
    res = CliRunner().invoke(main, args + ["-o", str(tmp_path / "x.json")])
    assert res.exit_code == 2
    assert res.stderr.splitlines()[0] == line
    assert not (tmp_path / "x.json").exists()


def test_parse_override():
    assert parse_override("layer1.0.conv1=0.25:1.33") == ("layer1.0.conv1", 0.25, 1.33)
    for bad in ("=0.5:1", "pw1=0.5", "pw1=a:1"):
        with pytest.raises(InputError):
            parse_override(bad)
