#!/usr/bin/env python3
"""What weight prefetch buys under the ``overlap`` schedule (prints a table; not a test).

MobileNet-V1 0.5 (the fp16 baseline and the r = c / r = 1.6c hybrids) on ``iso_area_45nm`` and
``paper``: discrete-event cycles of the ``sequential`` schedule and of ``overlap`` with
``mapping.prefetch_weights`` off and on (side by side in one run), the change, the tiles that
prefetched, and the analytic ``overlap`` bound with prefetch (the engine never beats it).

    python bench/prefetch_ablation.py        # ~10 s
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accelsim.choices import Model  # noqa: E402
from accelsim.evaluate import evaluate  # noqa: E402
from accelsim.hw.load import load_hwconfig, override  # noqa: E402
from accelsim.workload.load import load_workload  # noqa: E402

CONFIGS = ("iso_area_45nm", "paper")
WORKLOADS = ("mobilenet_v1_0.5_baseline", "mobilenet_v1_0.5_hybrid_a0.5_r1",
             "mobilenet_v1_0.5_hybrid_a0.375_r1.6")


def main() -> None:
    print(f"{'config':15s} {'workload':38s} {'sequential':>10s} {'overlap':>9s} "
          f"{'+prefetch':>9s} {'change':>7s} {'tiles':>5s} {'bound':>9s}")
    for cfg in CONFIGS:
        hw = load_hwconfig(ROOT / "hwconfigs" / f"{cfg}.yaml")
        off = override(hw, {"mapping.prefetch_weights": False})
        for name in WORKLOADS:
            wl = load_workload(ROOT / "workloads" / f"{name}.json")
            seq = evaluate(Model.DES, wl, hw, schedule="sequential").cycles
            plain = evaluate(Model.DES, wl, off, schedule="overlap").cycles
            pre = evaluate(Model.DES, wl, hw, schedule="overlap")
            bound = evaluate(Model.ANALYTIC, wl, hw, schedule="overlap").cycles
            assert bound <= pre.cycles, (cfg, name, bound, pre.cycles)
            print(f"{cfg:15s} {name:38s} {seq:10d} {plain:9d} {pre.cycles:9d} "
                  f"{(pre.cycles - plain) / plain:+7.2%} {pre.meta['prefetched_tiles']:5d} "
                  f"{bound:9d}", flush=True)


if __name__ == "__main__":
    main()
