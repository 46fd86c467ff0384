"""Crash safety: the same sweep killed (SIGKILL) again and again at random moments, resumed each
time, loses no point, duplicates none, always reads cleanly, and ends byte-identical to an
uninterrupted run."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from dse_support import PAPER_HW, write_inputs, write_spec
from test_bad_inputs import entry_point

from accelsim.dse import ResultStore, sweep
from accelsim.dse.points import iter_points, load_inputs
from accelsim.dse.spec import load_sweep_spec

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
KILLS = 4
SEED = 20240611


def sweep_spec(tmp: Path) -> Path:
    """300 op-count points (150 MAC fractions x 2 models) of a tiny hybrid workload."""
    files = write_inputs(tmp, ("hybrid",))
    return write_spec(tmp, {"hw": str(PAPER_HW), "workloads": [files["hybrid"].name],
                            "axes": {"mac_fraction": {"start": 0.0, "stop": 1.0, "num": 150}},
                            "engine": ["balance", "sequential"]})


def kill_after_progress(cmd: list[str], store: Path, new_parts: int, delay_s: float
                        ) -> tuple[bool, int]:
    """Start a sweep, wait until it has written ``new_parts`` more parts, then ``delay_s`` more
    seconds, and SIGKILL it (the moment is random, the progress per kill bounded whatever the
    machine's speed). Returns (killed, parts seen when the kill was sent)."""
    before = len(list(store.glob("part-*.parquet"))) if store.is_dir() else 0
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if store.is_dir() and len(list(store.glob("part-*.parquet"))) >= before + new_parts:
            break
        time.sleep(0.001)
    time.sleep(delay_s)
    parts = len(list(store.glob("part-*.parquet")))
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=30)
    assert b"Traceback" not in err
    return proc.returncode == -signal.SIGKILL, parts


def test_repeated_sigkill_loses_and_duplicates_nothing(tmp_path):
    spec = sweep_spec(tmp_path)
    expected = {p.key for p in iter_points(load_sweep_spec(spec),
                                           load_inputs(load_sweep_spec(spec)))}
    assert len(expected) == 300
    ref_csv = tmp_path / "ref.csv"
    sweep(spec, tmp_path / "ref", progress=False, export=ref_csv)

    store = tmp_path / "killed"
    cmd = entry_point() + ["sweep", str(spec), "--store", str(store), "--chunk", "1",
                           "--no-progress"]
    rng = np.random.default_rng(SEED)
    done: set[str] = set()
    kills = 0
    for _ in range(3 * KILLS):  # a run that finishes before its kill does not count
        if kills == KILLS:
            break
        killed, _ = kill_after_progress(cmd, store, int(rng.integers(1, 30)),
                                        float(rng.uniform(0.0, 0.05)))
        kills += killed
        rs = ResultStore(store)
        table = rs.table()               # every part readable, no key twice (else StoreError)
        keys = table.column("key").to_pylist()
        assert len(keys) == len(set(keys)) and set(keys) <= expected
        assert done <= set(keys), "a finished point was lost"
        assert set(keys) > done or not killed or len(keys) == 300, "no progress between kills"
        done = set(keys)
    assert kills == KILLS and 0 < len(done) < 300
    summary = sweep(spec, store, progress=False, export=tmp_path / "resumed.csv")
    assert (summary.skipped, summary.computed) == (len(done), 300 - len(done))
    assert not list(store.glob(".tmp-*"))
    assert ResultStore(store).table().num_rows == 300
    assert (tmp_path / "resumed.csv").read_bytes() == ref_csv.read_bytes()
