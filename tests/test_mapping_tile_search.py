"""The mapper's tile-size search (``mapping.tile_halvings``) and pipelined DRAM loads
(``dram.pipelined_loads``)."""
from __future__ import annotations

from pathlib import Path

from accelsim.analytic.bound import estimate
from accelsim.choices import MappingObjective
from accelsim.engine.core import Engine
from accelsim.evaluate import evaluate
from accelsim.hw import load_hwconfig, override
from accelsim.mapping import map_workload
from accelsim.mapping.build import route_workload
from accelsim.mapping.choice import LayerChoice, MappingChooser
from accelsim.results.tables import totals
from accelsim.workload.load import load_workload

ROOT = Path(__file__).resolve().parent.parent
HYBRID = ROOT / "workloads" / "mobilenet_v1_0.5_hybrid_a0.5_r1.json"


def test_tile_search_picks_per_layer_the_cheapest_tile_and_records_it():
    # paper.yaml (memory free, 1 cycle DRAM latency): the hybrid layers' chunk pipelines fill
    # faster with smaller tiles, so the search halves the tiles of conv1 and the first pointwise
    # layers; every layer's choice costs no more than its largest tiles in the mapper's model
    hw = override(load_hwconfig(ROOT / "hwconfigs" / "paper.yaml"), {"mapping.tile_halvings": 2})
    wl = load_workload(HYBRID)
    chooser = MappingChooser(hw, False, "test", MappingObjective.THROUGHPUT)
    groups: dict[int, list] = {}
    for s in route_workload(wl, hw):
        groups.setdefault(s.layer_index, []).append(s)
    halved = {}
    for group in groups.values():
        choice = chooser.choose(group)
        largest = chooser.cost(group, LayerChoice(choice.layouts, 0))[0]
        assert chooser.cost(group, choice)[0] <= largest
        if choice.halvings:
            halved[group[0].layer.name] = f"1/{2 ** choice.halvings}"
    assert halved["conv1"] == "1/4" and halved["pw2"] == "1/4"
    searched = evaluate("des", wl, hw)
    assert {r.name: r.mapping["tile"] for r in searched.layers if "tile" in r.mapping} == halved
    assert searched.meta["tile_fraction_by_layer"] == halved
    plain = evaluate("des", wl, load_hwconfig(ROOT / "hwconfigs" / "paper.yaml"))
    assert totals(searched)["cycles"] < 0.95 * totals(plain)["cycles"]
    assert totals(searched)["tiles"] > totals(plain)["tiles"]
    # the same work in other tiles: operations and DRAM bytes are unchanged (memory is free,
    # every operand resident or loaded once either way)
    assert totals(searched)["ops"] == totals(plain)["ops"]


def test_pipelined_loads_keep_several_loads_in_flight_and_hand_tiles_over_in_order():
    # iso_area_45nm (100-cycle DRAM latency): with one load in flight a stage waits out every
    # load's latency; pipelined, the next load leaves as soon as the channel is free
    base = load_hwconfig(ROOT / "hwconfigs" / "iso_area_45nm.yaml")
    assert base.dram.pipelined_loads
    wl = load_workload(ROOT / "workloads" / "mobilenet_v1_0.5_twn.json")
    cycles = {}
    for flag in (False, True):
        hw = override(base, {"dram.pipelined_loads": flag})
        plan = map_workload(wl, hw)
        log = Engine(plan, hw).run()
        for s in plan.stages:  # each stage's tiles computed in order
            starts = [log.start[t] for t in s.tiles]
            assert starts == sorted(starts)
            assert all(log.loaded[t] <= log.start[t] for t in s.tiles)
        cycles[flag] = max(log.done)
        assert cycles[flag] >= totals(estimate(plan, hw))["cycles"]  # never beats the bound
    assert cycles[True] < 0.99 * cycles[False]
