"""Invariants of the discrete-event engine on random valid workloads and configs."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import hwconfigs, unbounded, workloads

from accelsim.analytic.bound import estimate
from accelsim.counts import workload_counts
from accelsim.engine import simulate_plan
from accelsim.mapping import map_workload

SCHEDULES = st.sampled_from(["sequential", "overlap"])


def _by_class(ops):
    """Conservation key: "add" and "add@mac" are both additions."""
    out = {}
    for key, v in ops.items():
        op = key.partition("@")[0]
        out[op] = out.get(op, 0) + v
    return out


@settings(max_examples=100, deadline=None)
@given(workloads(), hwconfigs(), SCHEDULES, st.booleans())
def test_engine_conserves_work_and_never_beats_the_bound(wl, hw, schedule, zero_skip):
    plan = map_workload(wl, hw, schedule, zero_skip)
    des = simulate_plan(plan, hw)
    bound = estimate(plan, hw)
    # operations executed equal the trace's, dense or zero-skip, whichever unit ran them
    expected = {k: v for k, v in workload_counts(wl, zero_skip=zero_skip).ops.items() if v}
    assert _by_class(des.total("ops")) == expected
    assert des.total("ops") == bound.total("ops")
    assert des.total("bytes_read") == bound.total("bytes_read")
    # the engine never reports fewer cycles than the analytic lower bound, in total or per layer
    assert des.cycles >= bound.cycles
    if schedule == "sequential":
        for d, b in zip(des.layers, bound.layers):
            assert d.cycles >= b.cycles
    # windows are consistent and the last tile ends the run
    assert all(0 <= rec.start_cycle <= rec.end_cycle <= des.cycles for rec in des.layers)
    assert max(rec.end_cycle for rec in des.layers) == des.cycles
    # per unit array, computing and waiting by cause add up to the layer's cycles exactly, and
    # the layer's stalls are the arrays' stalls summed
    for rec in des.layers:
        assert set(rec.unit_stall_cycles) == set(rec.compute_cycles)
        for u, waits in rec.unit_stall_cycles.items():
            assert min(waits.values()) >= 0
            assert rec.compute_cycles[u] + sum(waits.values()) == rec.cycles
        assert rec.stall_cycles == {c: sum(w[c] for w in rec.unit_stall_cycles.values())
                                    for c in ("dram", "buffer", "dependency", "unit")}
    assert des.meta["workload_hash"] and des.meta["hw_hash"] and des.meta["accelsim_version"]


@settings(max_examples=100, deadline=None)
@given(workloads(), hwconfigs(routes=False), SCHEDULES)
def test_unbounded_memory_matches_the_bound(wl, hw, schedule):
    """With unbounded bandwidth and buffers (and DRAM latency 0) every transfer takes one cycle:
    the engine may exceed the bound only by those one-cycle transfers queueing behind each other
    on the shared channel when several stages start together, at most one cycle per stage.
    (Routing several stages of a layer to the same array adds scheduling contention the bound
    does not model, hence ``routes=False``.)"""
    hw = unbounded(hw)
    plan = map_workload(wl, hw, schedule)
    des, bound = simulate_plan(plan, hw), estimate(plan, hw)
    assert bound.cycles <= des.cycles <= bound.cycles + len(plan.stages)
    assert sum(rec.stall_cycles["dram"] for rec in des.layers) <= 2 * len(plan.tiles)


@settings(max_examples=15, deadline=None)
@given(workloads(), hwconfigs(), SCHEDULES)
def test_identical_inputs_give_identical_results(wl, hw, schedule):
    a = simulate_plan(map_workload(wl, hw, schedule), hw)
    b = simulate_plan(map_workload(wl, hw, schedule), hw)
    assert a == b


@settings(max_examples=20, deadline=None)
@given(workloads(max_layers=3), hwconfigs())
def test_more_dram_bandwidth_never_hurts_a_single_stage_chain(wl, hw):
    """Doubling the DRAM bandwidth cannot increase the bound; the engine stays above it."""
    from accelsim.hw import override

    fast = override(hw, {"dram.bandwidth_bytes_per_cycle": hw.dram.bandwidth_bytes_per_cycle * 2})
    slow_plan, fast_plan = map_workload(wl, hw), map_workload(wl, fast)
    assert estimate(fast_plan, fast).cycles <= estimate(slow_plan, hw).cycles
    assert simulate_plan(fast_plan, fast).cycles >= estimate(fast_plan, fast).cycles
