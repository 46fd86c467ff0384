"""Classes of bad input, each with several generated instances (the held-out adversarial classes
of issue 12): numbers that are each in range but tiny, subnormal or whose products overflow;
duplicate keys; YAML alias bombs; inputs that are not regular files or are too large; inputs
whose work explodes (tiles, folds, points); result-store parts of another schema; a baseline
without MACs. Every instance must be rejected like the corpus cases of test_bad_inputs.py:
exit status 2, one ``error: FILE: FIELD: VALUE (why)`` line per problem, no traceback, and
nothing written. ``CLASSES`` is shared with bench/reliability.py."""
from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_bad_inputs import BAD, LINE, ROOT

from accelsim.cli import main

WL = json.loads((BAD / "ok_tiny.json").read_text())
HW = yaml.safe_load((BAD / "ok_tiny.yaml").read_text())
MOBILENET = ROOT / "workloads" / "mobilenet_v1_0.5_baseline.json"


def _set(doc: dict, dotted: str, value: object) -> dict:
    doc = copy.deepcopy(doc)
    node = doc
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    node[parts[-1]] = value
    return doc


def _hw(tmp: Path, doc: dict | str, name: str = "h.yaml") -> Path:
    path = tmp / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return path


def _wl(tmp: Path, doc: dict | str, name: str = "w.json") -> Path:
    path = tmp / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def _spec(tmp: Path, text: str, name: str = "s.yaml") -> Path:
    (tmp / "h.yaml").write_text(yaml.safe_dump(HW))
    (tmp / "w.json").write_text(json.dumps(WL))
    path = tmp / name
    path.write_text(text)
    return path


#: A class: a name -> instances, each a function of a scratch folder returning the command
#: line and the start of the reason of (one of) its problems.
Instance = Callable[[Path], tuple[list[str], str]]
CLASSES: dict[str, list[Instance]] = {}


def _add(cls: str, fn: Instance) -> None:
    CLASSES.setdefault(cls, []).append(fn)


# -- numbers: subnormal or below 1e-15 -----------------------------------------------------------
for _field in ("dram.bandwidth_bytes_per_cycle", "clock_mhz",
               "buffers.weights.bandwidth_bytes_per_cycle", "buffers.inputs.size_kib",
               "units.mac.area_um2", "units.add.energy_pj_per_op", "dram.energy_pj_per_byte"):
    for _v in (1e-310, 5e-324, 1e-16):
        _add("tiny or subnormal number", lambda t, f=_field, v=_v: (
            ["simulate", str(BAD / "ok_tiny.json"), "--hw", str(_hw(t, _set(HW, f, v)))],
            "must be 0 or at least 1e-15"))
for _v in (1e-310, 1e-20):
    _add("tiny or subnormal number", lambda t, v=_v: (
        ["sweep", str(_spec(t, yaml.safe_dump({"hw": "h.yaml", "workloads": ["w.json"], "axes": {
            "clock_mhz": {"start": 1, "stop": 2, "step": v}}}))), "--store", str(t / "st"),
         "--no-progress"], "must be 0 or at least 1e-15"))

# -- numbers valid alone whose products leave exact arithmetic ------------------------------------
for _field, _v in (("dram.bandwidth_bytes_per_cycle", 1e-15), ("dram.latency_cycles", 10**15),
                   ("mac_array.pipeline_latency_cycles", 10**15),
                   ("buffers.outputs.bandwidth_bytes_per_cycle", 1e-14)):
    for _engine in ("des", "analytic"):
        _add("derived overflow", lambda t, f=_field, v=_v, e=_engine: (
            ["simulate", str(BAD / "ok_tiny.json"), "--hw", str(_hw(t, _set(HW, f, v))),
             "--engine", e], "over the limit of 1e+15"))
for _area in ("1e20", "inf", "nan", "1e16"):
    _add("derived overflow", lambda t, a=_area: (
        ["allocate", str(BAD / "ok_tiny.json"), "--hw", str(BAD / "ok_tiny.yaml"), "--area", a],
        "must be"))
for _unit, _a in (("add", 1e-6), ("mac", 1e-6), ("add", 1e-3)):
    _add("derived overflow", lambda t, u=_unit, a=_a: (
        ["allocate", str(BAD / "ok_tiny.json"), "--hw", str(_hw(t, _set(HW, f"units.{u}.area_um2",
                                                                        a))),
         "--area", "1e15"], "over the limit of 1e+15"))
_add("derived overflow", lambda t: (
    ["simulate", str(BAD / "ok_tiny.json"), "--hw", str(_hw(t, _set(_set(
        HW, "mac_array.rows", 10**8), "mac_array.cols", 10**8)))], "over the limit"))

# -- duplicate keys ------------------------------------------------------------------------------
_TEXT = json.dumps(WL, indent=1)
for _old, _new in (('"name": "one",', '"name": "one", "name": "two",'),
                   ('"in_h": 4,', '"in_h": 4, "in_h": 8,'),
                   ('"count": 72,', '"count": 72, "count": 72,'),
                   ('"schema_version": 1,', '"schema_version": 1, "schema_version": 1,')):
    _add("duplicate key", lambda t, o=_old, n=_new: (
        ["counts", str(_wl(t, _TEXT.replace(o, n, 1)))], "duplicate key"))
_HW_TEXT = (BAD / "ok_tiny.yaml").read_text()
for _extra in ("clock_mhz: 500\n", "mac_array: {rows: 8, cols: 8}\n",
               "units:\n  mac: {area_um2: 2, energy_pj_per_op: 1.0}\n"):
    _add("duplicate key", lambda t, x=_extra: (
        ["simulate", str(BAD / "ok_tiny.json"), "--hw", str(_hw(t, _HW_TEXT + x))],
        "duplicate key"))
_add("duplicate key", lambda t: (
    ["simulate", str(BAD / "ok_tiny.json"), "--hw", str(_hw(t, _HW_TEXT.replace(
        "adder_array: {count: 16,", "adder_array: {count: 16, count: 4,")))], "duplicate key"))
for _axes in ("  mac_fraction: [0.5]\n  mac_fraction: [0.25]\n",
              "  clock_mhz: [100]\n  dram.latency_cycles: [1]\n  clock_mhz: [200]\n"):
    _add("duplicate key", lambda t, a=_axes: (
        ["sweep", str(_spec(t, f"hw: h.yaml\nworkloads: [w.json]\naxes:\n{a}")), "--store",
         str(t / "st"), "--no-progress"], "duplicate key"))


# -- valid JSON, inconsistent workload ------------------------------------------------------------
_INCONSISTENT = (
    ("layers.0.stages.0.fuse_into", "bias", "names a stage that is itself fused"),
    ("layers.0.stages.1.fuse_into", "bias", "a stage cannot fuse into itself"),
    ("layers.0.shape.out_h", 5, "must be 4 = (in + 2*padding - kernel) // stride + 1"),
    ("layers.0.kind", "depthwise", "a depthwise layer has groups = in_c"),
    ("layers.0.kind", "eltwise", "an eltwise layer keeps the shape of its inputs"),
    ("layers.0.stages.0.in_bytes", 1, "must be 64 for a fp conv layer"),
    ("layers.0.stages.0.unit", "add", "must be 'mac' for a fp conv layer"),
    ("layers.0.stages.0.paper_scale", 1e-12, "must be 1.0"),
    ("layers.0.stages.0.writes", "hidden", "must be 'output'"),
    ("layers.0.stages.1.reads", "input", "must be 'conv': a fused stage adds"),
)
for _path, _v, _why in _INCONSISTENT:
    for _cmd in ("counts", "simulate"):
        _add("inconsistent workload", lambda t, p=_path, v=_v, c=_cmd, w=_why: (
            [c, str(_wl(t, _set(WL, p, v)))] + (["--hw", str(BAD / "ok_tiny.yaml")]
                                                 if c == "simulate" else []), w))


# -- YAML alias bombs ----------------------------------------------------------------------------
def _laughs(depth: int, width: int, key: str = "x") -> str:
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, depth + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    lines.append(f"{key}: *a{depth}")
    return "\n".join(lines) + "\n"


for _d, _w in ((9, 5), (6, 10), (3, 101)):
    _add("YAML alias bomb", lambda t, d=_d, w=_w: (
        ["simulate", str(BAD / "ok_tiny.json"), "--hw", str(_hw(t, _laughs(d, w)))],
        "is over the YAML document size limit"))
    _add("YAML alias bomb", lambda t, d=_d, w=_w: (
        ["sweep", str(_spec(t, _laughs(d, w, "description") + "hw: h.yaml\nworkloads: "
                            "[w.json]\n")), "--store", str(t / "st"), "--no-progress"],
        "is over the YAML document size limit"))
_add("YAML alias bomb", lambda t: (
    ["simulate", str(BAD / "ok_tiny.json"), "--hw", str(_hw(t, "a: &a [1, *a]\n"))],
    "a recursive alias"))


# -- not a regular file, or too large --------------------------------------------------------------
def _fifo(t: Path) -> Path:
    path = t / "fifo"
    os.mkfifo(path)
    return path


for _make in (lambda t: Path("/dev/zero"), _fifo, lambda t: Path("/dev/null")):
    _add("not a regular file", lambda t, m=_make: (["counts", str(m(t))], "cannot read: "))
    _add("not a regular file", lambda t, m=_make: (
        ["simulate", str(BAD / "ok_tiny.json"), "--hw", str(m(t))], "cannot read: "))
    _add("not a regular file", lambda t, m=_make: (["sweep", str(m(t)), "--store",
                                                    str(t / "st")], "cannot read: "))
    _add("not a regular file", lambda t, m=_make: (["import-scalesim", str(m(t))],
                                                   "cannot read: "))
    _add("not a regular file", lambda t, m=_make: (["plot", "gantt", str(m(t)), "--out",
                                                    str(t / "g.png")], "cannot read: "))


# -- work that explodes: tiles, folds, points ------------------------------------------------------
def _huge_m(t: Path, m: int) -> Path:
    from accelsim.workload import workload_to_dict
    from accelsim.workload.build import fp_layer
    from accelsim.workload.schema import Shape, Workload
    side = int(m ** 0.5)
    wl = Workload("ex", (fp_layer("c", "conv", Shape(side, side, 16, side, side, 16, 3, 3, 1,
                                                       1)),))
    return _wl(t, workload_to_dict(wl))


for _m, _kib in ((2**24, 0.25), (2**22, 0.25), (2**26, 2)):
    for _engine in ("des", "analytic"):
        _add("work explosion", lambda t, m=_m, k=_kib, e=_engine: (
            ["simulate", str(_huge_m(t, m)), "--hw", str(_hw(t, _set(_set(
                _set(HW, "buffers.inputs.size_kib", k), "buffers.outputs.size_kib", k),
                "buffers.weights.size_kib", k))), "--engine", e], "is over the mapping size"))
for _schedule in ("sequential", "overlap"):
    _add("work explosion", lambda t, s=_schedule: (
        ["simulate", str(MOBILENET), "--hw", str(_hw(t, _set(_set(HW, "mac_array.rows", 1),
                                                              "mac_array.cols", 1))),
         "--schedule", s], "is over the mapping size"))
for _axis in ("{start: 1, stop: 2, num: 1000000000}", "{start: 0, stop: 1, step: 1.0e-12}",
              "{start: 1, stop: 100000000000000, step: 1}"):
    _add("work explosion", lambda t, a=_axis: (
        ["sweep", str(_spec(t, f"hw: h.yaml\nworkloads: [w.json]\naxes: {{clock_mhz: {a}}}\n")),
         "--store", str(t / "st"), "--no-progress"], ""))
_add("work explosion", lambda t: (
    ["sweep", str(_spec(t, "hw: h.yaml\nworkloads: [w.json]\naxes: {clock_mhz: {start: 1, "
                        "stop: 3000, num: 3000}, dram.latency_cycles: {start: 1, stop: 3000, "
                        "num: 3000}}\n")), "--store", str(t / "st"), "--no-progress"],
    "is over the sweep size limit"))


# -- result-store parts of another schema ----------------------------------------------------------
def _other_store(t: Path, table: dict) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq
    store = t / "store"
    store.mkdir()
    pq.write_table(pa.table(table), store / "part-00000000000000000001-1-000001.parquet")
    return store


for _table in ({"a": [1, 2]}, {"key": [1, 2]}, {"key": ["a"], "error": [3]}):
    _add("store of another schema", lambda t, tb=_table: (
        ["pareto", str(_other_store(t, tb))], "a Parquet file of another schema"))
    _add("store of another schema", lambda t, tb=_table: (
        ["plot", "fraction", str(_other_store(t, tb)), "--out", str(t / "f.png")],
        "a Parquet file of another schema"))


# -- a baseline without MAC work -------------------------------------------------------------------
def _no_mac_baseline(t: Path, h: int) -> Path:
    from accelsim.workload import save_workload
    from accelsim.workload.build import eltwise_layer
    from accelsim.workload.schema import Workload
    folder = t / "wl"
    folder.mkdir()
    for f in (ROOT / "workloads").glob("mobilenet_v1_0.5_*.json"):
        (folder / f.name).write_text(f.read_text())
    save_workload(Workload("mobilenet_v1_0.5_baseline", (eltwise_layer("a", h, h, 4, ()),)),
                  folder / "mobilenet_v1_0.5_baseline.json")
    return folder


for _h in (1, 4):
    _add("baseline without MACs", lambda t, h=_h: (
        ["paper", "--workloads", str(_no_mac_baseline(t, h))], "a baseline without MAC work"))
    _add("baseline without MACs", lambda t, h=_h: (
        ["compare", str(MOBILENET), "--hw", str(ROOT / "hwconfigs" / "paper.yaml"),
         "--baseline", str(_no_mac_baseline(t, h) / "mobilenet_v1_0.5_baseline.json")],
        "a baseline without MAC work"))

INSTANCES = [(cls, i) for cls, fns in CLASSES.items() for i in range(len(fns))]


def run_instance(cls: str, index: int, tmp: Path) -> tuple[list[str], str, int, str, str]:
    """Run one instance in-process: (args, reason, exit status, stdout, stderr)."""
    args, why = CLASSES[cls][index](tmp)
    res = CliRunner().invoke(main, args)
    assert res.exception is None or isinstance(res.exception, SystemExit), \
        f"{type(res.exception).__name__}: {res.exception}"
    return args, why, res.exit_code, res.stdout, res.stderr


def verdict(why: str, code: int, stdout: str, stderr: str) -> list[str]:
    """Every way the answer differs from a clean rejection (empty when it is one)."""
    lines = stderr.splitlines()
    bad = [] if code == 2 else [f"exit status {code}"]
    if "Traceback" in stdout + stderr:
        bad.append("a traceback")
    if not lines or not all(LINE.match(ln) for ln in lines):
        bad.append(f"not one 'error: FILE: FIELD: VALUE (why)' line per problem: {lines}")
    if why and not any(why in ln for ln in lines):
        bad.append(f"no line says {why!r}: {lines}")
    return bad


@pytest.mark.parametrize("cls,index", INSTANCES, ids=[f"{c}-{i}" for c, i in INSTANCES])
def test_bad_input_class_instance_is_rejected_cleanly(cls, index, tmp_path):
    before = set(tmp_path.rglob("*"))
    _, why, code, out, err = run_instance(cls, index, tmp_path)
    assert verdict(why, code, out, err) == []
    inputs_made = set(tmp_path.rglob("*"))
    written = {p for p in inputs_made - before if p.name not in ("h.yaml", "w.json", "s.yaml",
                                                                   "fifo", "store")
               and not p.is_relative_to(tmp_path / "store")
               and not p.is_relative_to(tmp_path / "wl")}
    assert written == set(), "a rejected command wrote files"


def test_every_class_has_several_instances():
    assert len(CLASSES) >= 9
    assert all(len(v) >= 3 for v in CLASSES.values()), {k: len(v) for k, v in CLASSES.items()}


def test_file_over_the_size_limit_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCELSIM_MAX_INPUT_BYTES", "100")
    for args in (["counts", str(BAD / "ok_tiny.json")],
                 ["simulate", str(BAD / "ok_tiny.json"), "--hw", str(BAD / "ok_tiny.yaml")]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2
        assert "is over the input file size limit of 100; set ACCELSIM_MAX_INPUT_BYTES=N" \
            in res.stderr


def test_a_limit_set_to_nonsense_is_one_line(monkeypatch):
    monkeypatch.setenv("ACCELSIM_MAX_TILES", "many")
    res = CliRunner().invoke(main, ["simulate", str(BAD / "ok_tiny.json"), "--hw",
                                    str(BAD / "ok_tiny.yaml")])
    assert res.exit_code == 2
    assert res.stderr.startswith("error: environment: ACCELSIM_MAX_TILES: 'many' (must be a "
                                 "positive integer")
