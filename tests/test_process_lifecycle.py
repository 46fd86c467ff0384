"""Process lifecycle of a sweep on worker processes: killing the parent leaves no worker alive
(5 s later), a resumed sweep takes the store at once and finishes it, Ctrl-C says what was
saved and how to resume (exit status 130), and workers never hold the store."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from test_bad_inputs import ROOT, entry_point

from accelsim.dse import ResultStore, sweep

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc (Linux)")
POINTS = 48


def _spec(tmp: Path) -> Path:
    """48 discrete-event points of the bundled ResNet-20 (~0.04 s each)."""
    path = tmp / "spec.yaml"
    path.write_text(yaml.safe_dump({
        "hw": str(ROOT / "hwconfigs" / "iso_area_45nm.yaml"),
        "workloads": [str(ROOT / "workloads" / "resnet20_baseline.json")],
        "axes": {"dram.bandwidth_bytes_per_cycle": {"start": 8, "stop": 384, "step": 8}},
        "engine": "des"}))
    return path


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _start_and_wait(spec: Path, store: Path) -> tuple[subprocess.Popen, set[int]]:
    """Start ``sweep --jobs 2`` and wait until two workers run and a point is saved."""
    proc = subprocess.Popen(entry_point() + ["sweep", str(spec), "--store", str(store),
                                             "--jobs", "2", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    kids: list[int] = []
    while time.monotonic() < deadline and proc.poll() is None:
        kids = _children(proc.pid)
        if len(kids) >= 2 and store.is_dir() and any(store.glob("part-*.parquet")):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep finished before it could be interrupted"
    family = set(kids) | {g for k in kids for g in _children(k)}
    return proc, family


def _workers_hold_no_store_file(family: set[int], store: Path) -> bool:
    for pid in family:
        try:
            targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if any(t.startswith(str(store)) for t in targets):
            return False
    return True


def test_kill_the_parent_then_ctrl_c_then_resume(tmp_path):
    """SIGKILL of the parent: no worker alive 5 s later, the lock free at once; the resumed run
    interrupted with Ctrl-C: exit 130, what was saved and the command that resumes; that command
    finishes the sweep."""
    spec, store = _spec(tmp_path), tmp_path / "store"
    proc, family = _start_and_wait(spec, store)
    assert family and _workers_hold_no_store_file(family, store)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5 and any(_alive(p) for p in family):
        time.sleep(0.05)
    assert [p for p in family if _alive(p)] == [], "workers outlived their parent by 5 s"
    with ResultStore(store):   # the lock is free: no orphan holds the store
        pass
    killed_at = len(ResultStore(store).done_keys())
    assert 0 < killed_at < POINTS

    proc, family = _start_and_wait(spec, store)   # resumes, then Ctrl-C
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Aborted" not in err
    lines = err.strip().splitlines()
    saved = len(ResultStore(store).done_keys())
    assert lines[0].startswith(f"interrupted: {saved - killed_at:,} points saved in {store} "
                               f"this run ({saved:,} of {POINTS} in all)"), lines
    assert lines[-1] == f"resume with: accelsim sweep {spec} --store {store} --jobs 2"
    time.sleep(0.5)
    assert [p for p in family if _alive(p)] == []
    summary = sweep(spec, store, progress=False)
    assert (summary.skipped, summary.computed) == (saved, POINTS - saved)
    assert ResultStore(store).table().num_rows == POINTS
