#!/usr/bin/env python3
"""The paper's question answered by simulation (accelsim.study.question), printed as tables.

Usage: python bench/paper_question.py [--hw hwconfigs/paper.yaml] [--layers WORKLOAD_NAME]
For every bundled MobileNet-V1 0.5 workload: normalised throughput under the paper's balance
bound, a fixed split run layer by layer, and the discrete-event engine (sequential and overlap
schedules), and energy (paper formula and engine). Then, for one workload, the per-layer gap.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accelsim.hw import load_hwconfig  # noqa: E402
from accelsim.published import gope2019_mobilenet  # noqa: E402
from accelsim.results.text import table  # noqa: E402
from accelsim.study.question import answer, layer_gaps  # noqa: E402
from accelsim.workload import load_workload  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hw", default=str(ROOT / "hwconfigs/paper.yaml"))
    ap.add_argument("--layers", default="mobilenet_v1_0.5_hybrid_a0.375_r1")
    args = ap.parse_args()
    hw = load_hwconfig(args.hw)
    rows = gope2019_mobilenet()
    wls = [load_workload(ROOT / "workloads" / f"{r.workload}.json") for r in rows]
    t0 = time.perf_counter()
    study = answer(wls, hw, wls[0])
    dt = time.perf_counter() - t0
    print(f"config {hw.name}; throughput normalised to the baseline on a same-area MAC-only "
          f"array under the same model; {len(wls)} workloads x 4 engine runs in {dt:.1f} s\n")
    print(table(["workload", "MAC share", "MAC/add/mul", "MAC array", "thr paper (pub)",
                 "thr balance",
                 "thr fixed", "thr DES seq", "thr DES overlap", "energy paper (pub)",
                 "energy DES"],
                [[s.workload.replace("mobilenet_v1_0.5_", ""), s.mac_share,
                  f"{s.counts['mac']}/{s.counts['add']}/{s.counts['mul']}",
                  f"{s.mac_shape[0]}x{s.mac_shape[1]}",
                  r.values["throughput"], s.thr_balance, s.thr_fixed, s.thr_des_seq,
                  s.thr_des_overlap, r.values["energy"], s.energy_des]
                 for s, r in zip(study, rows)], 3))
    wl = next(w for w in wls if w.name == args.layers)
    gaps = layer_gaps(wl, hw)
    print(f"\nper-layer gap for {wl.name} (cycles; ideal = share of the balance bound)")
    print(table(["layer", "kind", "variant", "ideal", "fixed split", "DES seq", "imbalance",
                 "mapping+memory"],
                [[g.layer, g.kind, g.variant, g.ideal, g.fixed, g.des, g.imbalance,
                  g.mapping_memory] for g in gaps], 0))
    ideal = sum(g.ideal for g in gaps)
    print(f"total: ideal {ideal:,.0f}  fixed {sum(g.fixed for g in gaps):,}  DES "
          f"{sum(g.des for g in gaps):,}  imbalance {sum(g.imbalance for g in gaps) / ideal:.1%}"
          f"  mapping+memory {sum(g.mapping_memory for g in gaps) / ideal:.1%} of the ideal")


if __name__ == "__main__":
    main()
