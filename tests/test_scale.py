"""Scale: a 1000-layer chain through the analytic bound and a full-depth ResNet-152 (at 64 px)
through the discrete-event engine finish, conserve the work and show no drift: identical layers
give identical per-layer cycles however deep in the network they are. Timings and memory are
measured by bench/scale.py, not here."""
from __future__ import annotations

from collections import Counter

import pytest
from conftest import HWCONFIGS
from test_engine_liveness import deadline

from accelsim.analytic.bound import estimate
from accelsim.counts import workload_counts
from accelsim.engine import simulate_plan
from accelsim.hw import load_hwconfig
from accelsim.mapping import map_workload
from accelsim.workload.synthetic import chain, resnet_bottleneck


@pytest.fixture(scope="module")
def hw():
    return load_hwconfig(HWCONFIGS / "iso_area_45nm.yaml")


def by_class(ops: dict) -> dict:
    out: Counter = Counter()
    for key, n in ops.items():
        out[key.partition("@")[0]] += n
    return dict(out)


def test_thousand_layer_chain_through_the_analytic_bound(hw):
    wl = chain(1000)
    with deadline(120):
        plan = map_workload(wl, hw)
        bound = estimate(plan, hw)
    assert len(bound.layers) == 1000 and bound.meta["tiles"] == len(plan.tiles) > 10_000
    assert by_class(bound.total("ops")) == \
        {k: v for k, v in workload_counts(wl).ops.items() if v}
    # sequential: the network is the sum of its layers, back to back
    assert bound.cycles == sum(rec.cycles for rec in bound.layers)
    assert all(a.end_cycle == b.start_cycle for a, b in zip(bound.layers, bound.layers[1:]))
    # the chain repeats conv3x3 / depthwise / pointwise: layer i and i + 3 are the same layer
    # (the zero-skip counts differ, the dense work does not), so their bounds are equal; with
    # activations kept on chip the first block (input from DRAM) and the last layer (output to
    # DRAM) differ from the rest
    for i in range(6, 999):
        a, b = bound.layers[i - 3], bound.layers[i]
        assert (a.cycles, a.tiles, a.ops) == (b.cycles, b.tiles, b.ops), i


def test_resnet152_through_the_discrete_event_engine(hw):
    wl = resnet_bottleneck(152, resolution=64)
    # stem, 3 convs per block in blocks [3, 8, 36, 3], 4 projection shortcuts, 50 adds, fc
    assert len(wl.layers) == 1 + 3 * 50 + 4 + 50 + 1
    with deadline(120):
        plan = map_workload(wl, hw)
        des = simulate_plan(plan, hw)
    bound = estimate(plan, hw)
    assert by_class(des.total("ops")) == {k: v for k, v in workload_counts(wl).ops.items() if v}
    assert des.cycles >= bound.cycles
    assert all(d.cycles >= b.cycles for d, b in zip(des.layers, bound.layers))
    assert max(rec.end_cycle for rec in des.layers) == des.cycles
    # blocks 1..35 of stage 3 are identical: so are their simulated cycles, from the second
    # block of the stage to the thirty-sixth
    cyc = {rec.name: rec.cycles for rec in des.layers}
    for part in ("conv1", "conv2", "conv3", "add"):
        assert len({cyc[f"layer3.{i}.{part}"] for i in range(1, 36)}) == 1, part
