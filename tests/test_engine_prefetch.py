"""Weight prefetch under the ``overlap`` schedule: a layer's weights load during the previous
layer, by hand on two one-tile layers, and safely on random workloads."""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import hwconfigs, tiny_hw, workloads

from accelsim.analytic.bound import estimate
from accelsim.api import simulate
from accelsim.engine.core import UNSET, Engine
from accelsim.hw import override
from accelsim.mapping import map_workload
from accelsim.workload.build import fp_layer
from accelsim.workload.schema import Shape, Workload

# two 4x4x4 -> 4x4x4 1x1 convolutions, b reading a: one tile each on tiny_hw's 4x4 WS array
TWO = Workload("two", (fp_layer("a", "conv", Shape(4, 4, 4, 4, 4, 4), bias=False),
                       fp_layer("b", "conv", Shape(4, 4, 4, 4, 4, 4), bias=False)))


def _hw(prefetch: bool):
    return override(tiny_hw(), {"mapping.prefetch_weights": prefetch})


def test_next_layers_weights_load_during_the_previous_layer(tmp_path):
    # tiny_hw: 8 B/cycle, 10 cycles latency. Each tile reads 32 B of weights + 128 B of inputs,
    # computes 27 cycles and writes 128 B.
    # a: load 160 B on the channel 0-20, arrives 30; computes 30-57; stores 57-73, done 83.
    # without prefetch, b waits for a (done 83): load 160 B 83-103, arrives 113; computes
    #   113-140; stores 140-156; done 166.
    # with prefetch, b's 32 B of weights take the idle channel right after a's load: 20-24,
    #   arriving at 34 (while a computes 30-57); at 83 b loads only its 128 B of inputs 83-99,
    #   arriving 109; computes 109-136; done 162: 4 cycles (32 B / 8 B/cycle) saved.
    off = simulate(TWO, _hw(False), schedule="overlap")
    path = tmp_path / "trace.json"
    on = simulate(TWO, _hw(True), schedule="overlap", timeline=path)
    assert (off.cycles, on.cycles) == (166, 162)
    assert [(r.start_cycle, r.end_cycle) for r in on.layers] == [(0, 83), (83, 162)]
    assert on.meta["prefetched_tiles"] == 1 and on.meta["prefetched_bytes"] == 32
    # b's weight load is no longer a DRAM stall of b: 10 + 16 cycles instead of 10 + 20
    assert off.layers[1].stall_cycles["dram"] == 30 and on.layers[1].stall_cycles["dram"] == 26
    assert on.layers[0].stall_cycles == off.layers[0].stall_cycles
    # same traffic and energy: only the order of the transfers changed
    assert on.total("bytes_read") == off.total("bytes_read") and on.energy_pj == off.energy_pj
    assert on.meta["dram_busy_cycles"] == off.meta["dram_busy_cycles"] == 20 + 16 + 20 + 16
    events = json.loads(path.read_text())["traceEvents"]
    dram = [(e["name"], e["args"]["start_cycle"], e["args"]["end_cycle"], e["args"]["stage"])
            for e in events if e.get("cat") == "dram"]
    assert dram == [("load", 0, 20, "a.conv"), ("prefetch", 20, 24, "b.conv"),
                    ("store", 57, 73, "a.conv"), ("load", 83, 99, "b.conv"),
                    ("store", 136, 152, "b.conv")]
    compute = {e["name"]: e["args"] for e in events if e["ph"] == "X" and e["cat"] == "conv"}
    assert (compute["a.conv"]["start_cycle"], compute["a.conv"]["end_cycle"]) == (30, 57)
    assert compute["b.conv"]["weights_prefetched_cycle"] == 34  # inside a's compute
    assert (compute["b.conv"]["start_cycle"], compute["b.conv"]["end_cycle"]) == (109, 136)
    # the analytic bound follows the prefetch (it would be 166 were the load still exposed)
    assert simulate(TWO, _hw(True), schedule="overlap", engine="analytic").cycles == 162
    assert simulate(TWO, _hw(False), schedule="overlap", engine="analytic").cycles == 166


def test_sequential_never_prefetches():
    plan = map_workload(TWO, _hw(True), "sequential")
    assert not plan.prefetch and not any(plan.prefetch_bytes())
    res = simulate(TWO, _hw(True), schedule="sequential")
    assert res.cycles == 166 and "prefetched_tiles" not in res.meta


@settings(max_examples=60, deadline=None)
@given(workloads(max_layers=4), hwconfigs(), st.booleans())
def test_prefetching_runs_finish_release_everything_and_respect_the_bound(wl, hw, zero_skip):
    plan = map_workload(wl, hw, "overlap", zero_skip)
    eng = Engine(plan, hw)
    log = eng.run()
    assert eng.pool.free == eng.pool.capacity and not eng.pool.waiting
    assert all(eng.pool.peak[b] <= eng.pool.capacity[b] for b in eng.pool.capacity)
    early = plan.prefetch_bytes()
    for tid, t in enumerate(plan.tiles):
        if log.prefetch[tid] == UNSET:
            assert log.prefetched[tid] == UNSET
            continue
        # only qualifying tiles prefetch, before they are ready, and the weights arrive
        # before the tile is handed to its array
        assert early[tid] == t.dram_read["weights"] > 0
        assert log.prefetch[tid] < log.ready[tid]
        assert log.prefetch[tid] <= log.prefetched[tid] <= log.loaded[tid] <= log.start[tid]
    assert eng.prefetched_bytes == sum(early[t] for t in range(len(early))
                                       if log.prefetched[t] != UNSET)
    assert max(log.done) >= estimate(plan, hw).cycles
