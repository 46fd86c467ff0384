"""The pieces of the second hardening pass, one by one: safe documents (duplicate keys, alias
bombs), limits, strict JSON, exit codes and --debug, the mapping budget (an upper estimate of the
tiles, computed before mapping), the vectorised sweep path obeying the scalar path's rules, the
allocation never choosing a split without a class the workload runs on, and the streamed,
human-ordered export of a store."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from dse_support import PAPER_HW, write_inputs, write_spec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import hwconfigs, tiny_hw, workloads
from test_bad_inputs import BAD

from accelsim.cli import main
from accelsim.documents import parse_json, parse_yaml
from accelsim.dse import ResultStore, sweep
from accelsim.dse.points import iter_points, load_inputs
from accelsim.dse.spec import sweep_spec_from_dict
from accelsim.dse.tasks import Task, evaluate_point
from accelsim.dse.vector import evaluate_vectorised
from accelsim.errors import InputError
from accelsim.mapping import map_workload
from accelsim.mapping.budget import fold_count, mapping_budget
from accelsim.mapping.units import mappings, systolic_folds
from accelsim.outputs import strict_json


# -- documents ---------------------------------------------------------------------------------
def test_duplicate_json_keys_are_named_by_path():
    with pytest.raises(InputError) as err:
        parse_json('{"a": 1, "layers": [{"name": "x", "m": 1, "m": 2}], "a": 3}', "f.json")
    assert sorted(p.field for p in err.value.problems) == ["a", "layers[x].m"]


def test_duplicate_yaml_keys_name_both_lines():
    with pytest.raises(InputError) as err:
        parse_yaml("a: 1\nb:\n  c: 2\n  c: 3\n", "f.yaml")
    (p,) = err.value.problems
    assert (p.field, p.value) == ("b.c", "line 4") and "also on line 3" in p.why


def test_yaml_anchors_within_the_limit_still_work():
    doc = parse_yaml("base: &b {size_kib: 2, bandwidth_bytes_per_cycle: 32}\n"
                     "weights: *b\ninputs: *b\nmerged: {<<: *b, size_kib: 4}\n", "f.yaml")
    assert doc["inputs"] == doc["weights"] and doc["merged"]["size_kib"] == 4


@pytest.mark.parametrize("limit", [10, 1000])
def test_alias_expansion_is_counted_against_the_limit(limit, monkeypatch):
    monkeypatch.setenv("ACCELSIM_MAX_DOCUMENT_NODES", str(limit))
    text = "a: &a [1, 2, 3]\n" + "".join(f"k{i}: *a\n" for i in range(limit // 4 + 1))
    with pytest.raises(InputError, match="is over the YAML document size limit"):
        parse_yaml(text, "f.yaml")


def test_strict_json_writes_null_for_nan_and_infinities():
    text = strict_json({"a": math.inf, "b": [math.nan, -math.inf, 1.5], "c": np.float64("nan"),
                        "d": np.int64(3)})
    assert json.loads(text) == {"a": None, "b": [None, None, 1.5], "c": None, "d": 3}
    assert "NaN" not in text and "Infinity" not in text


def test_json_output_of_every_command_is_parseable(tmp_path):
    """A config whose units cost nothing gives NaN ratios; --json still prints JSON."""
    hw = tmp_path / "h.yaml"
    hw.write_text((BAD / "ok_tiny.yaml").read_text().replace("energy_pj_per_op: 1.0",
                                                             "energy_pj_per_op: 0"))
    for args in (["simulate", str(BAD / "ok_tiny.json"), "--hw", str(hw), "--engine", e,
                  "--json"] for e in ("balance", "sequential", "analytic", "des")):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0
        json.loads(res.stdout)
    other = tmp_path / "two.json"  # not the baseline: its energy ratio is 0 / 0
    other.write_text((BAD / "ok_tiny.json").read_text().replace('"name": "one"', '"name": "two"'))
    res = CliRunner().invoke(main, ["compare", str(BAD / "ok_tiny.json"), str(other),
                                    "--baseline", str(BAD / "ok_tiny.json"), "--hw", str(hw),
                                    "--json"])
    assert res.exit_code == 0
    rows = {r["workload"]: r for r in json.loads(res.stdout)}
    assert rows["two"]["energy"] is None


# -- exit codes --------------------------------------------------------------------------------
def test_an_internal_error_is_one_line_with_exit_1_and_a_traceback_under_debug(monkeypatch):
    from accelsim import api

    def boom(*a, **k):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(api, "counts", boom)
    args = ["counts", str(BAD / "ok_tiny.json")]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1 and "Traceback" not in res.output
    (line,) = res.stderr.splitlines()
    assert line.startswith("error: internal error (ZeroDivisionError: float division by zero)")
    assert "accelsim --debug" in line
    res = CliRunner().invoke(main, ["--debug", *args])
    assert res.exit_code == 1 and isinstance(res.exception, ZeroDivisionError)


def test_ctrl_c_is_exit_130_not_aborted(monkeypatch):
    from accelsim import api

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "counts", interrupted)
    res = CliRunner().invoke(main, ["counts", str(BAD / "ok_tiny.json")])
    assert res.exit_code == 130 and "Aborted" not in res.output
    assert res.stderr.strip() == "interrupted (Ctrl-C)"


# -- mapping budget ----------------------------------------------------------------------------
@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(wl=workloads(max_layers=4), hw=hwconfigs(),
       schedule=st.sampled_from(["sequential", "overlap"]))
def test_the_budget_bounds_the_tiles_before_mapping(wl, hw, schedule):
    b = mapping_budget(wl, hw)
    for layer in wl.layers:
        for s in layer.stages:
            assert fold_count(s.m, s.n, s.k, s.groups, hw.mac_array) == \
                len(systolic_folds(s.m, s.n, s.k, s.groups, hw.mac_array))
            for mp in mappings(hw.mac_array, s.groups, s.n):
                assert fold_count(s.m, s.n, s.k, s.groups, hw.mac_array, mp) == \
                    len(systolic_folds(s.m, s.n, s.k, s.groups, hw.mac_array, mp))
    try:
        plan = map_workload(wl, hw, schedule=schedule)
    except InputError:
        return
    assert len(plan.tiles) <= b.tiles


def test_the_budget_names_the_limit_and_how_to_raise_it(monkeypatch):
    from accelsim.evaluate import evaluate
    from accelsim.workload import load_workload

    wl = load_workload(BAD / "ok_tiny.json")
    hw = tiny_hw()
    assert evaluate("des", wl, hw).cycles > 0
    monkeypatch.setenv("ACCELSIM_MAX_TILES", "3")
    with pytest.raises(InputError, match=r"is over the mapping size limit of 3; set "
                                         r"ACCELSIM_MAX_TILES=N to raise it"):
        evaluate("analytic", wl, hw)


# -- the vectorised sweep path obeys the scalar rules -------------------------------------------
_AXIS_VALUES = st.one_of(
    st.sampled_from([0.25, 0.5, 0.75, 1, 2, 16, 64, 700, 1360, 2720, 2785280, 5e6]),
    st.sampled_from([0.25, 0.5, 0.75, 1, 2, 16, 64, 700, 1360, 2720, 2785280, 5e6]),
    st.floats(1e-3, 1e15), st.integers(0, 10**15),
    st.sampled_from(["x", True, 0, -1, 1e-16, 10**16]))


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(fields=st.lists(st.sampled_from([
    "mac_fraction", "area_budget_um2", "units.mac.area_um2", "units.add.area_um2",
    "adder_array.count", "mac_array.rows", "clock_mhz", "units.add.energy_pj_per_op"]),
    min_size=1, max_size=3, unique=True), data=st.data(),
    engine=st.sampled_from(["balance", "sequential"]))
def test_vectorised_rows_equal_scalar_rows(fields, data, engine, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vec")
    files = write_inputs(tmp, ("hybrid",))
    axes = {}
    for f in fields:
        vals = data.draw(st.lists(_AXIS_VALUES, min_size=1, max_size=3, unique_by=json.dumps))
        axes[f] = [min(max(v, 0.0), 1.0) if f == "mac_fraction" and not isinstance(v, (str,
                   bool)) else v for v in vals]
        axes[f] = list({json.dumps(v): v for v in axes[f]}.values())
    try:
        spec = sweep_spec_from_dict({"hw": str(PAPER_HW), "workloads": str(files["hybrid"]),
                                     "axes": axes, "engine": engine})
    except InputError:
        return
    inputs = load_inputs(spec)
    pts = tuple(iter_points(spec, inputs))
    task = Task(inputs.hw[0], inputs.hw_hashes[0], inputs.workloads[0],
                inputs.workload_hashes[0], pts, True)
    cols = evaluate_vectorised(task)
    for i, p in enumerate(pts):
        row = evaluate_point(task, p)
        got = {c: v[i] for c, v in cols.items()}
        assert bool(got["error"]) == bool(row["error"]), (p.params, got["error"], row["error"])
        for c in ("mac_units", "adder_units", "multiplier_units"):
            assert got[c] == row[c] and (got[c] is None or 0 <= got[c] <= 10**15)
        if not row["error"]:
            assert got["cycles"] == pytest.approx(row["cycles"], rel=1e-12)
            assert got["energy_pj"] == pytest.approx(row["energy_pj"], rel=1e-9)
            assert math.isfinite(got["cycles"]) and math.isfinite(got["energy_pj"])


# -- allocation: a unit of every class the workload runs on --------------------------------------
@pytest.mark.parametrize("engine", ["analytic", "des"])
@pytest.mark.parametrize("zero_skip", [False, True])
def test_allocation_keeps_a_unit_of_every_class_the_workload_runs_on(engine, zero_skip):
    from accelsim.dse import allocate_report
    from accelsim.workload.build import fp_layer, twn_layer
    from accelsim.workload.schema import Shape, Workload

    wl = Workload("zs", (fp_layer("a", "conv", Shape(8, 8, 4, 8, 8, 8, 3, 3, 1, 1)),
                         twn_layer("b", "conv", Shape(8, 8, 8, 8, 8, 8), weight_nnz=0,
                                   inputs=("a",))))
    rep = allocate_report(wl, tiny_hw(), engine=engine, zero_skip=zero_skip)
    for c in rep.choices:
        assert c.counts["mac"] >= 1 and c.counts["add"] >= 1, c


# -- the export ----------------------------------------------------------------------------------
def test_export_has_a_column_per_field_human_order_and_empty_counts_for_errors(tmp_path,
                                                                               monkeypatch):
    import importlib

    export = importlib.import_module("accelsim.dse.export")
    files = write_inputs(tmp_path, ("fp", "hybrid"))
    spec = write_spec(tmp_path, {"hw": str(PAPER_HW), "workloads": [f.name for f in
                                                                     files.values()],
                                 "axes": {"clock_mhz": [1000, 50, 500],
                                          "mac_fraction": [1.0, 0.0, 0.5]},
                                 "engine": ["sequential", "balance"]})
    store = tmp_path / "s"
    sweep(spec, store, progress=False, export=tmp_path / "a.csv", chunk={"vector": 5})
    monkeypatch.setattr(export, "RUN_ROWS", 7)     # many runs and windows
    monkeypatch.setattr(export, "WINDOW_ROWS", 5)
    monkeypatch.setattr(export, "READ_ROWS", 3)
    ResultStore(store).export_csv(tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    rows = list(csv.DictReader((tmp_path / "a.csv").open()))
    assert len(rows) == 36 and "params_json" not in rows[0]
    assert "axis.clock_mhz" in rows[0] and "mac_fraction" in rows[0]
    order = [(r["hw"], r["workload"], r["engine"], r["schedule"], float(r["axis.clock_mhz"]),
              float(r["mac_fraction"])) for r in rows]
    assert order == sorted(order)
    bad = [r for r in rows if r["error"]]
    assert bad and all(r["mac_units"] == r["adder_units"] == "" and r["cycles"] == ""
                       for r in bad)
    assert all(int(r["mac_units"]) >= 0 for r in rows if not r["error"])


def test_a_store_compacts_and_exports_in_bounded_batches(tmp_path, monkeypatch):
    import importlib

    store_mod = importlib.import_module("accelsim.dse.store")
    files = write_inputs(tmp_path, ("hybrid",))
    spec = write_spec(tmp_path, {"hw": str(PAPER_HW), "workloads": files["hybrid"].name,
                                 "axes": {"mac_fraction": {"start": 0, "stop": 1, "num": 60}}})
    store = tmp_path / "s"
    sweep(spec, store, progress=False, chunk={"vector": 4}, export=tmp_path / "a.csv")
    rs = ResultStore(store)
    assert len(rs.parts()) == 15
    with rs:
        assert rs.compact(max_rows=16) == 15
    assert len(rs.parts()) == 4 and rs.table().num_rows == 60
    assert sum(b.num_rows for b in rs.batches(batch_rows=7)) == 60
    rs.export_csv(tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert store_mod.KeyIndex().contains(["x" * 24]).tolist() == [False]


def test_parts_written_by_older_versions_still_open(tmp_path):
    """Stores written before this version held -1 unit counts on error rows: same schema, so
    they open; readers and exports show the counts as empty."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from accelsim.dse.store import COLUMNS, schema

    row = {c: ("" if t == "string" else False if t == "bool" else 0 if t == "int64" else 1.0)
           for c, t in COLUMNS}
    old = dict(row, key="a" * 24, params_json="{}", mac_units=-1, adder_units=-1,
               multiplier_units=-1, error="no MAC units")
    good = dict(row, key="b" * 24, params_json="{}", mac_units=4, adder_units=8,
                multiplier_units=1)
    store = tmp_path / "old"
    store.mkdir()
    pq.write_table(pa.Table.from_pylist([old, good], schema=schema()),
                   store / "part-00000000000000000001-1-000001.parquet")
    df = ResultStore(store).frame().set_index("key")
    assert df.loc["a" * 24, "mac_units"] is None or math.isnan(df.loc["a" * 24, "mac_units"])
    assert int(df.loc["b" * 24, "mac_units"]) == 4
    ResultStore(store).export_csv(tmp_path / "old.csv")
    rows = {r["key"]: r for r in csv.DictReader((tmp_path / "old.csv").open())}
    assert rows["a" * 24]["mac_units"] == "" and rows["b" * 24]["mac_units"] == "4"


def test_ctrl_c_in_the_report_says_what_was_saved_and_how_to_resume(tmp_path, monkeypatch):
    import importlib

    from accelsim.dse.sweep import SweepInterrupted

    report_mod = importlib.import_module("accelsim.study.report")

    out = tmp_path / "rep"

    def interrupted(*a, **k):  # as run_store raises it (patched early: the report is slow)
        raise SweepInterrupted(str(out / "store"), 0, 0, 84)

    monkeypatch.setattr(report_mod, "compare", interrupted)
    res = CliRunner().invoke(main, ["report", "--out", str(out), "--no-des", "--jobs", "1",
                                    "--no-progress"])
    assert res.exit_code == 130
    lines = res.stderr.strip().splitlines()
    assert lines[0].startswith(f"interrupted: 0 points saved in {out / 'store'} this run")
    assert lines[-1] == f"resume with: accelsim report --out {out} --jobs 1 --no-des"
    assert not out.exists()  # nothing was saved: the folder the command created is removed
