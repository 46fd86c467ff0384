"""SCALE-Sim topology CSV import/export (accelsim.interop.scalesim) and its CLI commands."""
from __future__ import annotations

from dataclasses import replace

import pytest
from click.testing import CliRunner
from conftest import GOLDEN, WORKLOADS
from hypothesis import given, settings
from hypothesis import strategies as st
from mobilenet_closed_form import mobilenet_layers, paper_counts

from accelsim import api
from accelsim.cli import main
from accelsim.errors import WorkloadError
from accelsim.interop import (
    HEADER,
    export_topology,
    import_topology,
    parse_topology,
    scalesim_out,
)
from accelsim.workload import load_workload
from accelsim.workload.build import (
    conv_out,
    eltwise_layer,
    fp_layer,
    strassen_layer,
    strassen_params,
    twn_layer,
)
from accelsim.workload.schema import Shape, Workload

TOPO = GOLDEN / "scalesim_mobilenet_v1_0.5_topology.csv"


def _macs(wl: Workload) -> int:
    return sum(s.ops_dense for layer in wl.layers for s in layer.stages if s.op == "mac")


def _parse(body: str, **kw) -> Workload:
    return parse_topology(HEADER + "\n" + body, source="topo.csv", **kw)


def _error(body: str) -> str:
    with pytest.raises(WorkloadError) as info:
        _parse(body)
    return str(info.value)


# -- import ------------------------------------------------------------------------------------
def test_mobilenet_import_matches_closed_form():
    wl = import_topology(TOPO)
    assert wl.name == "scalesim_mobilenet_v1_0.5_topology"
    assert _macs(wl) == 149_497_088 == paper_counts("baseline")["macs"]
    ref = mobilenet_layers()
    assert len(wl.layers) == len(ref) == 28
    for layer, (kind, cin, cout, k, h) in zip(wl.layers, ref):
        assert layer.kind == {"conv": "conv", "pw": "conv", "dw": "depthwise",
                              "fc": "linear"}[kind]
        sh = layer.shape
        assert (sh.in_c, sh.out_c, sh.kernel_h, sh.out_h, sh.out_w) == (cin, cout, k, h, h)
        assert sh.padding == 0 and sh.groups == (cin if kind == "dw" else 1)
        assert layer.variant == "fp" and layer.stages[1].fuse_into == "conv"
    assert wl.provenance["format"] == "scalesim-topology"
    assert len(wl.provenance["sha256"]) == 64


def test_depthwise_split_reproduces_scalesim_layer_list():
    wl = import_topology(TOPO, depthwise="split", bias=False)
    assert len(wl.layers) == 2495  # what SCALE-Sim 3.0.0 simulates for this file
    assert _macs(wl) == 149_497_088
    first = wl.layer("DP1_dwChannel_0").shape
    assert (first.in_c, first.out_c, first.groups, first.out_h) == (1, 1, 1, 112)
    assert wl.layer("DP13_dwChannel_511").kind == "conv"
    assert all(len(layer.stages) == 1 for layer in wl.layers)


def test_scalesim_output_size_rounds_up():
    # SCALE-Sim keeps a partial last window: ceil((H - R + S) / S), not PyTorch's floor
    assert scalesim_out(225, 3, 2) == 112 and scalesim_out(114, 3, 1) == 112
    assert scalesim_out(6, 3, 2) == 3 and conv_out(6, 3, 2, 0) == 2
    wl = _parse("odd, 6, 7, 3, 3, 4, 8, 2,")
    assert (wl.layers[0].shape.out_h, wl.layers[0].shape.out_w) == (3, 3)


def test_tolerates_spaces_blank_lines_crlf_trailing_ratio_and_no_trailing_comma():
    text = ("Layer name,IFMAP Height,  IFMAP Width, Filter Height, Filter Width, Channels, "
            "Num Filter, Strides, Sparsity,\r\n\r\n  c1 ,  9, 9,3,3,  2, 4, 1 , 1:1,\r\n\n"
            "DPx, 9, 9, 3, 3, 4, 2, 1\n   \nfc, 1, 1, 1, 1, 8, 10, 1,")
    wl = parse_topology(text)
    assert [layer.name for layer in wl.layers] == ["c1", "DPx", "fc"]
    assert [layer.kind for layer in wl.layers] == ["conv", "depthwise", "linear"]
    dw = wl.layer("DPx").shape
    assert (dw.in_c, dw.out_c, dw.groups) == (4, 8, 4)  # Num Filter = channel multiplier
    assert wl.layer("DPx").stages[0].ops_dense == 7 * 7 * 8 * 9
    assert wl.layer("fc").stages[0].ops_dense == 80


@pytest.mark.parametrize("body, expected", [
    ("pw2, 56, 56, 1, 1, 32, 64, x,", "topo.csv: line 2 (pw2).Strides: 'x' (must be a positive "
                                      "integer)"),
    ("pw2, 56, 56, 1, 1, 0, 64, 1,", "line 2 (pw2).Channels: '0' (must be a positive integer)"),
    ("pw2, 56, 56, 1, 1, 32, 2.5, 1,", "line 2 (pw2).Num Filter: '2.5'"),
    ("pw2, 56, 56, 1, 1, 32, 64,", "line 2 (pw2): 'pw2, 56, 56, 1, 1, 32, 64' (expected 8"),
    ("big, 2, 9, 3, 3, 1, 1, 1,", "line 2 (big).Filter Height: 3 (must be <= IFMAP Height = 2)"),
    (", 9, 9, 3, 3, 1, 1, 1,", "line 2 (?).Layer name: '' (must be a non-empty name)"),
    ("a, 9, 9, 3, 3, 1, 1, 1,\na, 9, 9, 3, 3, 1, 1, 1,", "line 3 (a).Layer name: 'a' (duplicate"),
    ("s, 9, 9, 3, 3, 1, 1, 1, 2:4,", "line 2 (s).Sparsity: '2:4' (structured sparsity is not"),
    ("s, 9, 9, 3, 3, 1, 1, 1, 5:4,", "line 2 (s).Sparsity: '5:4' (must be a sparsity ratio"),
])
def test_malformed_rows_name_file_line_layer_field_and_value(body, expected):
    assert expected in _error(body)


def test_all_problems_reported_at_once():
    msg = _error("a, 9, 9, 3, 3, 1, 1, -1,\nb, 9, y, 3, 3, 1, 1, 1,")
    assert msg.count("\n") == 1 and "(a).Strides: '-1'" in msg and "(b).IFMAP Width: 'y'" in msg


def test_bad_header_empty_and_unreadable_files(tmp_path):
    with pytest.raises(WorkloadError, match=r"line 1 \(header\).*expected the SCALE-Sim header"):
        parse_topology("conv1, 225, 225, 3, 3, 3, 16, 2,\n")
    with pytest.raises(WorkloadError, match="empty file"):
        parse_topology("\n \n")
    with pytest.raises(WorkloadError, match="no layer rows"):
        parse_topology(HEADER + "\n")
    with pytest.raises(WorkloadError, match=r"missing\.csv: <file>: .*cannot read"):
        import_topology(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="depthwise"):
        _parse("a, 9, 9, 3, 3, 1, 1, 1,", depthwise="grouped")


# -- export ------------------------------------------------------------------------------------
def test_export_of_import_is_byte_identical_to_reference():
    assert export_topology(import_topology(TOPO)) == TOPO.read_text()


@pytest.mark.parametrize("bundled", ["mobilenet_v1_0.5_baseline", "resnet18_baseline",
                                     "resnet20_baseline"])
def test_bundled_baselines_round_trip_geometry_and_op_counts(bundled):
    wl = load_workload(WORKLOADS / f"{bundled}.json")
    back = parse_topology(export_topology(wl))
    convs = [layer for layer in wl.layers if layer.kind != "eltwise"]
    assert len(back.layers) == len(convs)  # eltwise (residual) layers are left out
    assert (len(convs) < len(wl.layers)) == bundled.startswith("resnet")
    for a, b in zip(convs, back.layers):
        assert (b.kind, b.shape.out_h, b.shape.out_w, b.shape.out_c, b.shape.groups) == \
            (a.kind, a.shape.out_h, a.shape.out_w, a.shape.out_c, a.shape.groups), a.name
        assert [(x.op, x.ops_dense) for x in b.stages] == \
            [(x.op, x.ops_dense) for x in a.stages], a.name


def test_bundled_mobilenet_exports_to_the_reference_rows():
    rows = export_topology(load_workload(WORKLOADS / "mobilenet_v1_0.5_baseline.json"))
    ref = TOPO.read_text().splitlines()
    assert [r.split(",", 1)[1] for r in rows.splitlines()] == [r.split(",", 1)[1] for r in ref]


def _torch_layer(name, kind, h, cin, cout, k, s):
    pad = (k - 1) // 2
    out = conv_out(h, k, s, pad)
    groups = cin if kind == "depthwise" else 1
    shape = Shape(in_h=h, in_w=h, in_c=cin, out_h=out, out_w=out, out_c=cout, kernel_h=k,
                  kernel_w=k, stride=s, padding=pad, groups=groups)
    return fp_layer(name, kind, shape)


def test_export_pads_pytorch_layers_like_the_reference():
    wl = Workload("t", (_torch_layer("stem", "conv", 224, 3, 16, 3, 2),
                        _torch_layer("dw", "depthwise", 112, 16, 16, 3, 1),
                        _torch_layer("dw2", "depthwise", 112, 32, 32, 3, 2),
                        _torch_layer("pw", "conv", 112, 16, 32, 1, 1),
                        eltwise_layer("res", 112, 112, 32, ("pw", "pw")),
                        _torch_layer("pw_s2", "conv", 14, 8, 8, 1, 2),
                        fp_layer("fc", "linear", Shape(1, 1, 512, 1, 1, 1000))))
    rows = export_topology(wl).splitlines()
    assert rows == [HEADER, "stem, 225, 225, 3, 3, 3, 16, 2,", "DP_dw, 114, 114, 3, 3, 16, 1, 1,",
                    "DP_dw2, 113, 113, 3, 3, 32, 1, 2,", "pw, 112, 112, 1, 1, 16, 32, 1,",
                    "pw_s2, 13, 13, 1, 1, 8, 8, 2,", "fc, 1, 1, 1, 1, 512, 1000, 1,"]


def test_export_sanitises_names():
    sh = Shape(4, 4, 2, 4, 4, 2)
    wl = Workload("t", (fp_layer("DPconv", "conv", sh), fp_layer("a b,c", "conv", sh),
                        fp_layer("a_b_c", "conv", sh)))
    names = [r.split(",")[0] for r in export_topology(wl).splitlines()[1:]]
    assert names == ["Dpconv", "a_b_c", "a_b_c_2"]  # 'DP' would make SCALE-Sim split it


def test_export_refuses_non_baseline_layers_in_one_line():
    sh = Shape(8, 8, 4, 8, 8, 8, kernel_h=3, kernel_w=3, padding=1)
    twn = twn_layer("t1", "conv", sh, weight_nnz=100)
    hyb = strassen_layer("h1", "conv", sh, strassen_params(8, alpha=0.5, r_factor=1.0),
                         wb_nnz=10, wc_nnz=[[4]])
    grouped = fp_layer("g1", "conv", Shape(8, 8, 4, 8, 8, 8, groups=2))
    with pytest.raises(WorkloadError) as info:
        export_topology(Workload("mixed", (twn, hyb, grouped)))
    lines = str(info.value).splitlines()
    assert lines == [
        "mixed: layers[*].variant: <hybrid/twn> (2 of 3 layers are not fp (t1, h1); SCALE-Sim "
        "runs fp layers only: export the baseline workload)",
        "mixed: layers[g1].shape.groups: 2 (SCALE-Sim has no grouped convolution; only "
        "depthwise (groups = in_c = 4) can be written)"]
    with pytest.raises(WorkloadError) as info:  # a single such layer is named as before
        export_topology(Workload("one", (twn, replace(grouped, shape=sh))))
    assert str(info.value) == ("one: layers[t1].variant: 'twn' (SCALE-Sim runs fp layers "
                               "only; export the baseline workload)")
    with pytest.raises(WorkloadError, match="no conv, depthwise or linear layer"):
        export_topology(Workload("e", (eltwise_layer("r", 2, 2, 2, ("a", "b")),)))


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 40), cin=st.integers(1, 24), mult=st.integers(1, 3),
       k=st.sampled_from([1, 3, 5, 7]), s=st.integers(1, 3),
       kind=st.sampled_from(["conv", "depthwise"]))
def test_round_trip_keeps_geometry_and_op_counts(h, cin, mult, k, s, kind):
    pad = (k - 1) // 2
    if h + 2 * pad < k:
        return
    layer = _torch_layer("l", kind, h, cin, cin * mult, k, s)
    back = parse_topology(export_topology(Workload("w", (layer,)))).layers[0]
    a, b = layer.shape, back.shape
    # a 1x1 conv with a 1x1 output is a matrix-vector product: it comes back as a linear layer
    kind = "linear" if (kind, k, a.out_h) == ("conv", 1, 1) else kind
    assert (b.out_h, b.out_w, b.in_c, b.out_c, b.kernel_h, b.stride, b.groups, back.kind) == \
        (a.out_h, a.out_w, a.in_c, a.out_c, a.kernel_h, a.stride, a.groups, kind)
    assert b.padding == 0 and b.in_h == (a.out_h - 1) * s + k <= a.in_h + 2 * pad
    assert [(x.m, x.n, x.k, x.groups, x.ops_dense) for x in back.stages] == \
        [(x.m, x.n, x.k, x.groups, x.ops_dense) for x in layer.stages]


# -- CLI and API twins ---------------------------------------------------------------------------
def test_cli_import_then_export_round_trips(tmp_path):
    runner = CliRunner()
    wl_path, csv_path = tmp_path / "mb.json", tmp_path / "mb.csv"
    res = runner.invoke(main, ["import-scalesim", str(TOPO), "-o", str(wl_path)])
    assert res.exit_code == 0, res.output
    assert "28 layers, 149,497,088 MACs" in res.output
    assert _macs(load_workload(wl_path)) == 149_497_088
    res = runner.invoke(main, ["export-scalesim", str(wl_path), "-o", str(csv_path)])
    assert res.exit_code == 0, res.output
    assert csv_path.read_text() == TOPO.read_text()
    res = runner.invoke(main, ["export-scalesim", str(wl_path)])
    assert res.output == TOPO.read_text()
    res = runner.invoke(main, ["import-scalesim", str(TOPO), "--depthwise", "split",
                               "--no-bias", "--name", "mb"])
    assert res.exit_code == 0 and res.output.count('"name": "DP13_dwChannel_') == 512


def test_cli_bad_csv_exits_2_with_one_line_per_problem(tmp_path):
    bad = tmp_path / "topo.csv"
    bad.write_text(HEADER + "\npw2, 56, 56, 1, 1, 32, 64, x,\n")
    res = CliRunner().invoke(main, ["import-scalesim", str(bad)])
    assert res.exit_code == 2
    assert f"error: {bad}: line 2 (pw2).Strides: 'x' (must be a positive integer)" in res.output


def test_api_twins_write_files(tmp_path):
    wl = api.import_scalesim(TOPO, tmp_path / "w.json", name="mb")
    assert wl.name == "mb" and load_workload(tmp_path / "w.json") == wl
    text = api.export_scalesim(tmp_path / "w.json", tmp_path / "t.csv")
    assert text == (tmp_path / "t.csv").read_text() == TOPO.read_text()
