#!/usr/bin/env python3
"""What does layer fusion move? (prints a table; not a test)

Runs the discrete-event engine (sequential schedule) on MobileNet-V1 0.5 (baseline, TWN and the
r = c hybrids, alpha = 0.25, 0.375, 0.5), each on its own unit split of
``hwconfigs/iso_area_45nm.yaml`` (as ``bench/memory_ablation.py`` does), under the memory
assumptions ``mapping.memory: roundtrip`` without and with ``mapping.fusion: always``, and
``resident`` with fusion ``off``, ``auto`` and ``always``, with the shipped 1 MiB
activation buffer and with it shrunk to 256 KiB (where less of the network stays on chip, so
fusion should matter most). Per network: cycles, energy, DRAM bytes, the layer pairs fused, and
energy / throughput relative to the baseline on the MAC-only accelerator of the same area under
the same assumptions.

    python bench/fusion_ablation.py          # ~1-2 min
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from memory_ablation import PREFIX, _field, _policy, on_own_split  # noqa: E402

from accelsim.choices import FusionPolicy, Model  # noqa: E402
from accelsim.evaluate import normalise, reference  # noqa: E402
from accelsim.hw.config import HardwareConfig  # noqa: E402
from accelsim.hw.load import load_hwconfig  # noqa: E402
from accelsim.workload.load import load_workload  # noqa: E402

NETWORKS = (("baseline", "baseline"), ("TWN", "twn"), ("hyb .25", "hybrid_a0.25_r1"),
            ("hyb .375", "hybrid_a0.375_r1"), ("hyb .5", "hybrid_a0.5_r1"))


def _fusion(f: str) -> Callable[[HardwareConfig], HardwareConfig]:
    return lambda hw: replace(hw, mapping=replace(hw.mapping, fusion=FusionPolicy(f)))


def _both(*changes: Callable[[HardwareConfig], HardwareConfig]
          ) -> Callable[[HardwareConfig], HardwareConfig]:
    def apply(hw: HardwareConfig) -> HardwareConfig:
        for change in changes:
            hw = change(hw)
        return hw
    return apply


def _variants() -> list[tuple[str, Callable[[HardwareConfig], HardwareConfig]]]:
    out = [("roundtrip", _both(_policy("roundtrip"), _fusion("off"))),
           ("roundtrip, fusion always", _both(_policy("roundtrip"), _fusion("always")))]
    for act in (1024, 256):
        size = _field("buffers.activations.size_kib", act)
        out += [(f"resident {act} KiB", _both(size, _policy("resident"), _fusion("off"))),
                (f"resident {act} KiB, fusion auto", _both(size, _policy("resident"),
                                                           _fusion("auto"))),
                (f"resident {act} KiB, fusion always", _both(size, _policy("resident"),
                                                             _fusion("always")))]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hw", default=str(ROOT / "hwconfigs" / "iso_area_45nm.yaml"))
    args = ap.parse_args()
    base_hw = load_hwconfig(args.hw)
    wls = {stem: load_workload(ROOT / "workloads" / f"{PREFIX}{stem}.json")
           for _, stem in NETWORKS}
    print(f"{'variant':34s} {'network':9s} {'cycles':>9s} {'energy uJ':>9s} {'DRAM MB':>8s} "
          f"{'fused':>5s} {'energy':>7s} {'thrpt':>6s}   (last two: / baseline on MAC-only)")
    for label, change in _variants():
        hw = change(base_hw)
        ref = reference(Model.DES, wls["baseline"], hw)
        for name, stem in NETWORKS:
            res = on_own_split(wls[stem], hw)
            n = normalise(res, ref)
            dram = res.total("bytes_read").get("dram", 0) + \
                res.total("bytes_written").get("dram", 0)
            pairs = res.meta.get("fused_layers", [])
            fused = len(pairs) if isinstance(pairs, list) else 0
            print(f"{label:34s} {name:9s} {res.cycles:9,d} {res.total_energy_pj / 1e6:9.1f} "
                  f"{dram / 1e6:8.2f} {fused:5d} {n.energy:7.3f} {n.throughput:6.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
