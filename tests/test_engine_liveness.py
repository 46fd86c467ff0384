"""Liveness: a schedule that cannot finish raises LivenessError quickly, naming who waits on
what; every valid run terminates with all work done, all buffers released and the conservation
invariants intact; the command line turns a stall into one line and exit status 1.

Every run here is under a wall-clock deadline (SIGALRM), so a hang fails instead of hanging CI.
"""
from __future__ import annotations

import contextlib
import re
import signal
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import branching_workloads, hwconfigs, tiny_hw, tiny_workload, workloads

import accelsim.evaluate as engine_run
from accelsim.analytic.bound import estimate
from accelsim.cli import main
from accelsim.counts import workload_counts
from accelsim.engine.core import UNSET, Engine
from accelsim.errors import LivenessError
from accelsim.hw import dumps_hwconfig
from accelsim.mapping import map_workload
from accelsim.workload import save_workload

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs SIGALRM")
STALLED = re.compile(r"stalled at cycle (\d+) \((event queue empty|no completion within "
                     r"(\d+) cycles)\):")


class Hang(Exception):
    """The code under test overran its deadline."""


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise :class:`Hang` in this (main) thread if the block runs longer than ``seconds``."""
    def _raise(signum, frame):
        raise Hang(f"did not finish within {seconds} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _plan():
    """conv1 -> dw1 -> pw1 (hybrid: fp, wb, a_mul, wc, st_bias) -> add1 -> fc on the tiny config;
    one tile per stage except add1 (two)."""
    hw = tiny_hw()
    plan = map_workload(tiny_workload(), hw)
    names = [(s.layer_name, s.name, len(s.tiles)) for s in plan.stages]
    assert names == [("conv1", "conv", 1), ("dw1", "conv", 1), ("pw1", "fp", 1),
                     ("pw1", "wb", 1), ("pw1", "a_mul", 1), ("pw1", "wc", 1),
                     ("pw1", "st_bias", 1), ("add1", "add", 2), ("fc", "conv", 1)]
    return plan, hw


def _with_tile(plan, tid, **changes):
    tiles = list(plan.tiles)
    tiles[tid] = replace(tiles[tid], **changes)
    return replace(plan, tiles=tuple(tiles))


def _stall(plan, hw) -> tuple[str, Engine]:
    eng = Engine(plan, hw)
    with deadline(10), pytest.raises(LivenessError) as info:
        eng.run()
    return str(info.value), eng


def _last_event(eng: Engine) -> int:
    log = eng.log
    return max(t for times in (log.ready, log.reserved, log.loaded, log.start, log.end,
                               log.done) for t in times if t != UNSET)


def test_dependency_on_a_tile_that_never_runs():
    """pw1.wb's tile waits for fc's tile, which (sequential schedule) waits for pw1.wb."""
    plan, hw = _plan()
    stuck = _with_tile(plan, 3, deps=plan.tiles[3].deps + (9,))
    text, eng = _stall(stuck, hw)
    head = STALLED.search(text)
    assert head and head[2] == "event queue empty"
    assert int(head[1]) == _last_event(eng) < eng.horizon()   # when it stopped, not the horizon
    lines = text.splitlines()[1:]
    assert lines[0].strip() == "pw1.wb tile 3 waits for dependencies: tile 9"
    assert "fc.conv tile 9 waits for dependencies: stage add1.add" in text
    assert len(lines) == 6   # wb, a_mul, wc, st_bias, add, fc: every stalled stage, once
    # what did finish is recorded: conv1, dw1 and the fp branch of pw1
    assert [eng.log.done[t] != UNSET for t in range(3)] == [True, True, True]


def test_two_tiles_waiting_on_each_other():
    plan, hw = _plan()
    stuck = _with_tile(plan, 0, deps=(1,))      # conv1's tile waits for dw1's, which waits for it
    text, _ = _stall(stuck, hw)
    assert "conv1.conv tile 0 waits for dependencies: tile 1" in text
    assert "dw1.conv tile 1 waits for dependencies: stage conv1.conv" in text
    assert STALLED.search(text)[1] == "0"   # nothing can ever start


def test_reservation_larger_than_the_buffer():
    plan, hw = _plan()
    cap = hw.buffers.weights.size_bytes
    stuck = _with_tile(plan, 5, alloc={**plan.tiles[5].alloc, "weights": cap + 1})
    text, eng = _stall(stuck, hw)
    assert re.search(rf"pw1\.wc tile 5 waits for buffer space: needs \{{.*'weights': {cap + 1}"
                     rf".*\}}, free \{{.*'weights': {cap}", text)
    assert eng.pool.free["weights"] == cap  # nothing else holds weight-buffer bytes


def test_horizon_stops_a_run_that_keeps_going(monkeypatch):
    """A run still busy at the horizon (here shrunk to 50 cycles) is stopped and diagnosed."""
    plan, hw = _plan()
    monkeypatch.setattr(Engine, "horizon", lambda self: 50)
    text, eng = _stall(plan, hw)
    head = STALLED.search(text)
    assert head[2].startswith("no completion within") and head[3] == "50"
    assert int(head[1]) <= 50 and eng.log.done[0] == UNSET
    assert "conv1.conv tile 0 waits for" in text


def test_simulate_command_reports_a_stall_in_one_line_exit_1(tmp_path, monkeypatch):
    """A stall on inputs that passed validation is accelsim's bug, not the user's: exit 1."""
    wl, hw = tmp_path / "wl.json", tmp_path / "hw.yaml"
    save_workload(tiny_workload(), wl)
    hw.write_text(dumps_hwconfig(tiny_hw()))
    real = engine_run.map_workload

    def broken(*args, **kwargs):
        return _with_tile(real(*args, **kwargs), 0, deps=(1,))

    monkeypatch.setattr(engine_run, "map_workload", broken)
    with deadline(30):
        res = CliRunner().invoke(main, ["simulate", str(wl), "--hw", str(hw)])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output
    assert lines[0].startswith("error: simulation of tiny_hybrid on tiny stalled at cycle 0 "
                               "(event queue empty): conv1.conv tile 0 waits for dependencies: "
                               "tile 1; dw1.conv tile 1 waits for dependencies: stage conv1.conv;")
    assert "and 5 more stalled stages" in lines[0] and "accelsim bug" in lines[0]


@settings(max_examples=150, deadline=None)
@given(workloads(max_layers=5), hwconfigs(), st.sampled_from(["sequential", "overlap"]),
       st.booleans())
def test_every_valid_run_terminates_with_all_work_done(wl, hw, schedule, zero_skip):
    plan = map_workload(wl, hw, schedule, zero_skip)
    eng = Engine(plan, hw)
    with deadline(20):
        log = eng.run()
    # every tile went through every step, in order, and every byte reserved was released
    for tid in range(len(plan.tiles)):
        times = [log.ready[tid], log.reserved[tid], log.loaded[tid], log.start[tid],
                 log.end[tid], log.done[tid]]
        assert UNSET not in times and times == sorted(times)
        assert times[4] - times[3] == plan.tiles[tid].occupancy
    assert eng.pool.free == eng.pool.capacity and not eng.pool.waiting
    assert all(eng.pool.peak[b] <= eng.pool.capacity[b] for b in eng.pool.capacity)
    # conservation: operations by class equal the workload's (dense or zero-skip) counts
    ops: dict[str, int] = {}
    for t in plan.tiles:
        s = plan.stages[t.stage]
        for key, n in ((s.op_key, t.ops), (s.fused_key, t.fused_ops)):
            if n:
                op = key.partition("@")[0]
                ops[op] = ops.get(op, 0) + n
    assert ops == {k: v for k, v in workload_counts(wl, zero_skip=zero_skip).ops.items() if v}
    # and the engine never beats the analytic bound of the same plan
    assert max(log.done) >= estimate(plan, hw).cycles


@settings(max_examples=80, deadline=None)
@given(branching_workloads(), hwconfigs(), st.booleans())
def test_layers_side_by_side_under_overlap_finish(wl, hw, zero_skip):
    """Random concurrent layer pairs (two branches reading one layer, joined by an add) finish
    under the overlap schedule with every reservation released, whatever each keeps resident
    (the residency budget is global across the layers in flight)."""
    plan = map_workload(wl, hw, "overlap", zero_skip)
    eng = Engine(plan, hw)
    with deadline(20):
        log = eng.run()
    assert eng.pool.free == eng.pool.capacity and not eng.pool.waiting
    assert all(eng.pool.peak[b] <= eng.pool.capacity[b] for b in eng.pool.capacity)
    assert UNSET not in log.done and max(log.done) >= estimate(plan, hw).cycles


def test_parallel_strassen_branches_under_overlap_finish():
    from accelsim.hw import load_hwconfig
    from accelsim.workload.synthetic import resnet_bottleneck

    hw = load_hwconfig(ROOT / "hwconfigs" / "iso_area_45nm.yaml")
    plan = map_workload(resnet_bottleneck(50, resolution=64, variant="strassen"), hw, "overlap")
    with deadline(30):
        Engine(plan, hw).run()
