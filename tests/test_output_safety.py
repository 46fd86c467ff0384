"""Output safety over every command that writes: an output that resolves to an input of the
command (directly, through a symlink, a hard link or ``..``), to another of its outputs or to a
bundled file is refused before anything is written; writes are atomic (a failure leaves the old
file, never half a new one); a command that fails removes the output folder it created."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_bad_inputs import BAD, LINE, ROOT

from accelsim.cli import main
from accelsim.errors import InputError
from accelsim.outputs import OutputError, atomic_path, atomic_write, check_outputs, output_dir

W, H = "w.json", "h.yaml"


def _scratch(tmp: Path) -> Path:
    (tmp / W).write_bytes((BAD / "ok_tiny.json").read_bytes())
    (tmp / H).write_bytes((BAD / "ok_tiny.yaml").read_bytes())
    (tmp / "t.csv").write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter "
                               "Width, Channels, Num Filter, Strides,\nc, 6, 6, 3, 3, 2, 4, 1,\n")
    (tmp / "s.yaml").write_text(yaml.safe_dump({"hw": H, "workloads": [W],
                                                "axes": {"mac_fraction": [0.5]}}))
    (tmp / "trace.json").write_text('{"traceEvents": [{"ph": "X", "name": "a", "pid": 1, '
                                    '"tid": 1, "ts": 0, "dur": 1}]}')
    (tmp / "ckpt.pt").write_bytes(b"not read: the output is refused first")
    (tmp / "sens.json").write_text("{}")
    return tmp


#: (command line with OUT where the output goes, the input file OUT is set to)
CASES = [
    (["simulate", W, "--hw", H, "--timeline", "OUT"], W),
    (["simulate", W, "--hw", H, "--timeline", "OUT"], H),
    (["sweep", "s.yaml", "--store", "st", "--export", "OUT", "--no-progress"], "s.yaml"),
    (["sweep", "s.yaml", "--store", "st", "--export", "OUT", "--no-progress"], H),
    (["sweep", "s.yaml", "--store", "st", "--export", "OUT", "--no-progress"], W),
    (["plot", "layers", W, "--hw", H, "--out", "OUT"], H),
    (["plot", "gantt", "trace.json", "--out", "OUT"], "trace.json"),
    (["import-scalesim", "t.csv", "-o", "OUT"], "t.csv"),
    (["export-scalesim", W, "-o", "OUT"], W),
    (["trace", "--checkpoint", "ckpt.pt", "-o", "OUT"], "ckpt.pt"),
    (["partition", "ckpt.pt", "--ratio", "0.3", "-o", "OUT"], "ckpt.pt"),
    (["sensitivity", "ckpt.pt", "--layer", "conv1", "--out", "OUT"], "ckpt.pt"),
    (["sensitivity", "ckpt.pt", "--layer", "conv1", "--out", "s.out", "--csv", "OUT"],
     "ckpt.pt"),
    (["plot", "sensitivity", "sens.json", "--out", "OUT"], "sens.json"),
    (["train", "resnet20", "--teacher", "ckpt.pt", "--run", "run", "--export", "OUT"],
     "ckpt.pt"),
]
#: How the output names the input: as given, through ``..``, a symlink and a hard link.
SPELLINGS = ("same", "dotdot", "symlink", "hardlink")


def _spell(tmp: Path, name: str, how: str) -> str:
    if how == "same":
        return name
    if how == "dotdot":
        (tmp / "sub").mkdir(exist_ok=True)
        return f"sub/../{name}"
    link = tmp / f"link-{how}-{name}"
    if not link.exists():
        (os.symlink if how == "symlink" else os.link)(tmp / name, link)
    return link.name


def _digest(tmp: Path) -> dict[str, str]:
    return {str(p.relative_to(tmp)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(tmp.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize("how", SPELLINGS)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_an_output_over_an_input_is_refused_before_anything_is_written(case, how, tmp_path,
                                                                        monkeypatch):
    args, target = CASES[case]
    tmp = _scratch(tmp_path)
    monkeypatch.chdir(tmp)
    out = _spell(tmp, target, how)
    before = _digest(tmp)
    res = CliRunner().invoke(main, [out if a == "OUT" else a for a in args])
    assert res.exit_code == 2, res.output
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and LINE.match(lines[0]), lines
    assert f"is the input {target}" in lines[0] or "is the input" in lines[0]
    assert _digest(tmp) == before
    assert not (tmp / "st").exists() and not (tmp / "run").exists()


@pytest.mark.parametrize("args", [
    ["export-scalesim", str(BAD / "ok_tiny.json"), "-o",
     str(ROOT / "workloads" / "mobilenet_v1_0.5_baseline.json")],
    ["import-scalesim", "t.csv", "-o", str(ROOT / "hwconfigs" / "paper.yaml")],
    ["simulate", str(BAD / "ok_tiny.json"), "--hw", str(BAD / "ok_tiny.yaml"), "--timeline",
     str(ROOT / "workloads" / "resnet20_baseline.json")],
    ["plot", "layers", str(BAD / "ok_tiny.json"), "--hw", str(BAD / "ok_tiny.yaml"), "--out",
     str(ROOT / "accelsim" / "data" / "gope2019_mobilenet.csv")],
])
def test_a_bundled_file_is_never_overwritten(args, tmp_path, monkeypatch):
    _scratch(tmp_path)
    monkeypatch.chdir(tmp_path)
    target = Path(args[-1])
    before = target.read_bytes()
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and "is a file bundled with accelsim" in res.stderr
    assert target.read_bytes() == before


def test_two_outputs_that_are_one_file_are_refused(tmp_path, monkeypatch):
    _scratch(tmp_path)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["simulate", W, "--hw", H, "--out", "run", "--timeline",
                                    "run/result.json"])
    assert res.exit_code == 2 and "is also the output of --timeline" in res.stderr
    assert not (tmp_path / "run").exists()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half a new fi")
            raise RuntimeError("disk full, say")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    atomic_write(target, "new")
    assert target.read_text() == "new" and len(list(tmp_path.iterdir())) == 1


def test_a_write_into_a_missing_folder_that_fails_removes_the_folder(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "a" / "b" / "out.csv") as tmp:
            tmp.write_text("x")
            raise RuntimeError
    assert list(tmp_path.iterdir()) == []


def test_a_file_size_limit_is_one_line_naming_the_file(tmp_path):
    import resource
    import subprocess
    import sys

    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300)); "
            "from accelsim.cli import main; sys.argv = ['accelsim'] + sys.argv[1:]; main()")
    for args in (["sweep", str(BAD / "ok_spec.yaml"), "--store", "st", "--export", "e.csv",
                  "--no-progress"],):
        p = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 2, p.stderr
        assert LINE.match(p.stderr.strip()) and "cannot write: File too large" in p.stderr
        assert list(tmp_path.iterdir()) == []
    assert resource  # the limit is set in the child only


def test_output_dir_removes_what_a_failed_command_created(tmp_path):
    with pytest.raises(InputError):
        with output_dir(tmp_path / "new" / "run"):
            (tmp_path / "new" / "run" / "half.csv").write_text("x")
            raise InputError([])
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()
    with pytest.raises(KeyboardInterrupt):
        with output_dir(tmp_path / "kept" / "run", keep=lambda: True):
            raise KeyboardInterrupt
    assert (tmp_path / "kept" / "run").is_dir()


def test_a_sweep_that_fails_before_saving_a_point_leaves_no_store(tmp_path, monkeypatch):
    import importlib

    sweep_mod = importlib.import_module("accelsim.dse.sweep")
    _scratch(tmp_path)

    def broken(task):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_mod, "evaluate_task", broken)
    with pytest.raises(sweep_mod.SweepInterrupted):
        sweep_mod.sweep(tmp_path / "s.yaml", tmp_path / "new" / "store", progress=False)
    assert not (tmp_path / "new").exists()


def test_check_outputs_lists_every_unsafe_output(tmp_path):
    (tmp_path / "a").write_text("x")
    with pytest.raises(OutputError) as err:
        check_outputs({"--one": tmp_path / "a", "--two": tmp_path / "b", "--three":
                       tmp_path / "b"}, [tmp_path / "a"])
    assert [p.field for p in err.value.problems] == ["--one", "--three"]
