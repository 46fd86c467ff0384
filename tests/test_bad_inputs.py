"""Bad inputs: every command that reads files rejects every file of ``tests/bad_inputs`` with exit
status 2 and exactly one stderr line per problem, ``error: FILE: FIELD: VALUE (why)``, naming
the file, the field and the value; never a traceback, and nothing written.

The cases (command, files, expected problems) are listed in ``tests/bad_inputs/cases.yaml``; the
same list drives ``bench/reliability.py``. Each case runs in-process (click's ``CliRunner``); the
cases marked ``subprocess`` also run through the installed ``accelsim`` entry point.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from accelsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "bad_inputs"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))
LINE = re.compile(r"^error: \S.*: .+ \(.+\)$")


def expand(args: list[str], tmp: Path) -> list[str]:
    """The case's arguments with ``{bad}``, ``{root}``, ``{tmp}`` and ``{empty}`` filled in."""
    marks = {"{bad}": BAD, "{root}": ROOT, "{empty}": tmp / "empty", "{tmp}": tmp}
    out = []
    for a in args:
        for mark, path in marks.items():
            a = a.replace(mark, str(path))
        out.append(a)
    return out


def problems_of(case: dict, tmp: Path) -> list[str]:
    """The expected start of each error line (``error: FILE: FIELD: VALUE (``) and its why."""
    out = []
    for p in case["problems"]:
        where = f"{p['file']}: " if p["file"] is not None else ""
        prefix = f"error: {where}{p['field']}: {p['value']} ("
        out.append((expand([prefix], tmp)[0], expand([p["why"]], tmp)[0]))
    return out


def mismatches(case: dict, tmp: Path, code: int, stdout: str, stderr: str) -> list[str]:
    """Every way the command's answer differs from the case (empty when it is right)."""
    bad = []
    if code != 2:
        bad.append(f"exit status {code}, expected 2")
    if "Traceback" in stdout + stderr:
        bad.append("a traceback was printed")
    lines = stderr.splitlines()
    expected = problems_of(case, tmp)
    if len(lines) != len(expected):
        bad.append(f"{len(lines)} stderr lines for {len(expected)} problems: {lines}")
    bad += [f"not of the form 'error: FILE: FIELD: VALUE (why)': {ln!r}" for ln in lines
            if not LINE.match(ln)]
    left = list(lines)
    for prefix, why in expected:
        hit = next((ln for ln in left if ln.startswith(prefix) and why in ln[len(prefix):]), None)
        if hit is None:
            bad.append(f"no line {prefix}{why}...) in {left}")
        else:
            left.remove(hit)
    return bad


def _scratch(tmp: Path) -> Path:
    (tmp / "empty").mkdir(parents=True)
    return tmp


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input_is_rejected_in_one_line_per_problem(case, tmp_path):
    tmp = _scratch(tmp_path)
    res = CliRunner().invoke(main, expand(case["args"], tmp))
    assert res.exception is None or isinstance(res.exception, SystemExit), \
        f"{type(res.exception).__name__}: {res.exception}"
    assert mismatches(case, tmp, res.exit_code, res.stdout, res.stderr) == []
    assert sorted(p.name for p in tmp.iterdir()) == ["empty"], "a rejected command wrote files"


def entry_point() -> list[str]:
    """The installed ``accelsim`` script next to this interpreter, else the same via ``-c``."""
    script = Path(sys.executable).with_name("accelsim")
    return [str(script)] if script.is_file() else \
        [sys.executable, "-c", "from accelsim.cli import main; main()"]


def test_installed_entry_point_rejects_bad_inputs(tmp_path):
    """Real processes (run side by side): exit status, stderr lines, no traceback."""
    chosen = [c for c in CASES if c.get("subprocess")]
    assert len(chosen) >= 5
    procs = []
    for i, case in enumerate(chosen):
        tmp = _scratch(tmp_path / str(i))
        procs.append((case, tmp, subprocess.Popen(
            entry_point() + expand(case["args"], tmp), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, cwd=tmp)))
    failures = {}
    for case, tmp, proc in procs:
        out, err = proc.communicate(timeout=120)
        bad = mismatches(case, tmp, proc.returncode, out, err)
        if bad:
            failures[case["id"]] = bad
    assert failures == {}


def test_every_corpus_file_is_used_by_a_case():
    args = [a for c in CASES for a in c["args"]]
    specs = [(BAD / a[len("{bad}/"):]).read_text() for a in args if a.startswith("{bad}/spec_")]
    used = set(args) | {f"{{bad}}/{word}" for text in specs for word in re.findall(r"[\w.]+", text)}
    unused = sorted(p.name for p in BAD.iterdir()
                    if p.name != "cases.yaml" and f"{{bad}}/{p.name}" not in used)
    assert unused == []


def test_every_command_that_reads_files_is_exercised():
    def command(args: list[str]) -> str:
        name = " ".join(args[:2]) if args[0] == "plot" else args[0]
        if name == "simulate":
            name += " analytic" if "analytic" in args else " des"
        return name

    seen = {command(c["args"]) for c in CASES}
    assert seen >= {"counts", "compare", "paper", "simulate des", "simulate analytic",
                    "allocate", "sweep", "pareto", "plot fraction", "plot pareto", "plot layers",
                    "plot gantt", "import-scalesim", "export-scalesim", "verify", "trace"}
    assert sum(len(c["problems"]) for c in CASES) > len(CASES)  # some files have several


def test_a_compatibility_error_names_layer_stage_and_config_field():
    """The bundled MobileNet hybrid on SCALE-Sim's MAC-only array with its routes removed: each
    missing unit class is named once, with the first stage needing it and the config field."""
    case = next(c for c in CASES if c["id"] == "simulate-mobilenet-hw_scalesim_ws32_no_route")
    got = {(p["field"], p["value"]) for p in case["problems"]}
    assert got == {("layers[conv1].stages[wb].unit", "'add'"),
                   ("layers[conv1].stages[a_mul].unit", "'mul'")}
    whys = " ".join(p["why"] for p in case["problems"])
    assert "adder_array.count = 0" in whys and "multiplier_array.count = 0" in whys
