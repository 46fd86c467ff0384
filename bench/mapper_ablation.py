#!/usr/bin/env python3
"""What the per-layer mapper's search and the DRAM interface move (prints tables; not a test).

The realistic configs (``iso_area_45nm``, ``iso_area_45nm_binary``) let the mapper search each
layer's loop order (MAC dataflow; positions or channel blocks outer for adder-tree, binary and
element-wise stages), take the largest tiles the buffers hold (``mapping.tile_halvings: 0``)
and keep several DRAM loads in flight (``dram.pipelined_loads``). This re-runs the
discrete-event engine on them with the tile-size search turned on (tiles of 1, 1/2 or 1/4 of
each buffer's tile budget) and with one DRAM load in flight per stage, under both schedules,
and prints cycles, energy and DRAM bytes relative to the shipped config, and how many layers
got smaller tiles or run channel blocks outer.

A second table costs, for every layer whose chunk-ordered stage the mapper runs channel blocks
outer, both loop orders with the mapper's own cost (cycles and DRAM bytes of that layer).

    python bench/mapper_ablation.py            # ~2 min
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accelsim.api import simulate  # noqa: E402
from accelsim.choices import MappingObjective, SchedulePolicy  # noqa: E402
from accelsim.hw import load_hwconfig, override  # noqa: E402
from accelsim.mapping import map_workload  # noqa: E402
from accelsim.mapping.build import route_workload  # noqa: E402
from accelsim.mapping.choice import LayerChoice, MappingChooser  # noqa: E402
from accelsim.mapping.units import ChunkOrder  # noqa: E402
from accelsim.results.tables import totals  # noqa: E402
from accelsim.results.text import table  # noqa: E402
from accelsim.workload.load import load_workload  # noqa: E402

CASES = [("mobilenet_v1_0.5_baseline", "iso_area_45nm"),
         ("mobilenet_v1_0.5_twn", "iso_area_45nm"),
         ("mobilenet_v1_0.5_hybrid_a0.5_r1", "iso_area_45nm"),
         ("mobilenet_v1_0.5_hybrid_a0.25_r1", "iso_area_45nm"),
         ("resnet18_wbin", "iso_area_45nm_binary"),
         ("resnet18_hbn_7wbin", "iso_area_45nm_binary"),
         ("resnet18_fbin", "iso_area_45nm_binary")]
VARIANTS = [("shipped", {}),
            ("tile search (1, 1/2, 1/4)", {"mapping.tile_halvings": 2}),
            ("one load in flight", {"dram.pipelined_loads": False}),
            ("tile search, one load", {"mapping.tile_halvings": 2,
                                       "dram.pipelined_loads": False})]


def _run(wl, hw, schedule: str) -> tuple[int, float, int, int, int]:
    r = simulate(wl, hw, schedule=schedule)
    t = totals(r)
    dram = t["bytes_read"].get("dram", 0) + t["bytes_written"].get("dram", 0)
    halved = len(r.meta.get("tile_fraction_by_layer", {}) or {})
    by_channel = sum(1 for rec in r.layers for v in rec.mapping.values()
                     if str(v).endswith("/channels"))
    return t["cycles"], t["energy_pj_total"] / 1e6, dram, halved, by_channel


def ablation() -> None:
    rows = []
    for wname, cname in CASES:
        wl = load_workload(ROOT / "workloads" / f"{wname}.json")
        base = load_hwconfig(ROOT / "hwconfigs" / f"{cname}.yaml")
        for schedule in ("sequential", "overlap"):
            ref = None
            for label, changes in VARIANTS:
                cyc, uj, dram, halved, chan = _run(wl, override(base, changes), schedule)
                if ref is None:
                    ref = (cyc, uj, dram)
                rows.append([wname, cname, schedule, label, cyc, f"{cyc / ref[0]:.4f}",
                             f"{uj:.1f}", f"{uj / ref[1]:.4f}", f"{dram / 1e6:.3f}", halved,
                             chan])
                print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print("DES, each row relative to the shipped config (same workload, schedule):")
    print(table(["workload", "config", "schedule", "variant", "cycles", "x shipped",
                 "energy uJ", "x shipped", "DRAM MB", "layers w/ smaller tiles",
                 "stages ch-outer"], rows, 1))


def loop_orders() -> None:
    rows = []
    for wname, cname in CASES:
        wl = load_workload(ROOT / "workloads" / f"{wname}.json")
        hw = override(load_hwconfig(ROOT / "hwconfigs" / f"{cname}.yaml"),
                      {"mapping.memory": "roundtrip"})
        plan = map_workload(wl, hw)
        chosen = {s.layer_name for s in plan.stages if s.mapping.endswith("/channels")}
        chooser = MappingChooser(hw, False, wname, MappingObjective.THROUGHPUT)
        groups: dict[int, list] = {}
        for s in route_workload(wl, hw):
            groups.setdefault(s.layer_index, []).append(s)
        for group in groups.values():
            if group[0].layer.name not in chosen:
                continue
            choice = chooser.choose(group)
            costs = {}
            for order in ChunkOrder:
                alt = LayerChoice(tuple((i, order if isinstance(m, ChunkOrder) else m)
                                        for i, m in choice.layouts), choice.halvings)
                costs[order] = chooser.cost(group, alt)
            pos, chan = costs[ChunkOrder.POSITIONS], costs[ChunkOrder.CHANNELS]
            rows.append([wname, group[0].layer.name, int(pos[0]), int(chan[0]),
                         f"{chan[0] / pos[0]:.3f}", int(pos[3]), int(chan[3]),
                         f"{chan[3] / pos[3]:.3f}"])
    print(f"\nLayers run channel blocks outer (mapper's cost, {SchedulePolicy.SEQUENTIAL.value}, "
          "roundtrip memory):")
    print(table(["workload", "layer", "cycles pos-outer", "cycles ch-outer", "ratio",
                 "DRAM B pos-outer", "DRAM B ch-outer", "ratio"], rows, 1))


if __name__ == "__main__":
    ablation()
    loop_orders()
