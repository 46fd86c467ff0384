#!/usr/bin/env python3
"""Which memory assumptions move the energy conclusion? (prints a table; not a test)

The README's energy conclusion on ``iso_area_45nm.yaml`` rests on the memory policy and on
the activation buffer the config declares. This re-runs the discrete-event engine (sequential
schedule) on the baseline, TWN and the r = c hybrids of MobileNet-V1 0.5, each on its own unit
split (``accelsim allocate``'s sequential optimum), with one memory assumption changed per row,
and prints energy and throughput relative to the baseline on the MAC-only accelerator of the
same area under the same assumptions, with the baseline's DRAM share of energy:

* the policy: ``roundtrip`` (every activation through DRAM) vs ``resident`` (as shipped);
* the activation buffer's capacity (256 KiB, 1 MiB as shipped, 4 MiB) and its energy per
  byte (2.5 pJ/B, a 32 KB array's, vs 12.5 pJ/B, Horowitz's 1 MB point, as shipped);
* the DRAM energy (162.5 pJ/B, Horowitz's low end, as shipped, vs 325 pJ/B, the high end);
* the activation buffer being the 32 KiB output buffer instead of a global one.

    python bench/memory_ablation.py                  # ~1-2 min
    python bench/memory_ablation.py --csv /tmp/mem.csv   # append rows as computed; resumes
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accelsim.analytic.allocation import allocate  # noqa: E402
from accelsim.choices import MemoryPolicy, Model  # noqa: E402
from accelsim.dse.allocate import drop_idle_units  # noqa: E402
from accelsim.evaluate import evaluate, normalise, reference  # noqa: E402
from accelsim.hw.config import HardwareConfig  # noqa: E402
from accelsim.hw.load import load_hwconfig  # noqa: E402
from accelsim.hw.schema import replace_field  # noqa: E402
from accelsim.results.records import Result  # noqa: E402
from accelsim.workload.load import load_workload  # noqa: E402
from accelsim.workload.schema import Workload  # noqa: E402

COLUMNS = (("TWN", "twn"), ("hyb .25", "hybrid_a0.25_r1"), ("hyb .375", "hybrid_a0.375_r1"),
           ("hyb .5", "hybrid_a0.5_r1"), ("hyb .5 r=2c", "hybrid_a0.5_r2"))
PREFIX = "mobilenet_v1_0.5_"


def _policy(p: str) -> Callable[[HardwareConfig], HardwareConfig]:
    return lambda hw: replace(hw, mapping=replace(hw.mapping, memory=MemoryPolicy(p)))


def _field(name: str, value: object) -> Callable[[HardwareConfig], HardwareConfig]:
    return lambda hw: replace_field(hw, name, value)


def on_own_split(wl: Workload, hw: HardwareConfig) -> Result:
    """The discrete-event engine (sequential schedule) on ``wl``'s own unit split of ``hw``
    (``accelsim allocate``'s sequential optimum, idle unit classes dropped)."""
    split = drop_idle_units(wl, allocate(wl, hw, model=Model.SEQUENTIAL).config)
    return evaluate(Model.DES, wl, split, schedule="sequential")


def _outputs_buffer(hw: HardwareConfig) -> HardwareConfig:
    return replace(hw, mapping=replace(hw.mapping, activation_buffer="outputs"))


VARIANTS: tuple[tuple[str, Callable[[HardwareConfig], HardwareConfig]], ...] = (
    ("as shipped (resident, 1 MiB at 12.5 pJ/B)", lambda hw: hw),
    ("roundtrip (every activation through DRAM)", _policy("roundtrip")),
    ("activation buffer 256 KiB", _field("buffers.activations.size_kib", 256)),
    ("activation buffer 4 MiB", _field("buffers.activations.size_kib", 4096)),
    ("activation buffer at 2.5 pJ/B", lambda hw: _field(
        "buffers.activations.write_energy_pj_per_byte", 2.5)(
        _field("buffers.activations.read_energy_pj_per_byte", 2.5)(hw))),
    ("DRAM 325 pJ/B (Horowitz high end)", _field("dram.energy_pj_per_byte", 325.0)),
    ("kept in the 32 KiB output buffer", _outputs_buffer),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hw", default=str(ROOT / "hwconfigs" / "iso_area_45nm.yaml"))
    ap.add_argument("--csv", default=None, help="append rows here as computed; skip rows there")
    args = ap.parse_args()
    base_hw = load_hwconfig(args.hw)
    wls = {stem: load_workload(ROOT / "workloads" / f"{PREFIX}{stem}.json")
           for stem in ["baseline", *(s for _, s in COLUMNS)]}
    done: dict[tuple[str, str], dict] = {}
    if args.csv and Path(args.csv).is_file():
        with open(args.csv, newline="") as f:
            for row in csv.DictReader(f):
                done[(row["variant"], row["workload"])] = row
    print(f"{'variant':44s} {'base DRAM%':>10s} " +
          " ".join(f"{label:>16s}" for label, _ in COLUMNS) + "   (energy / throughput)")
    for label, change in VARIANTS:
        hw = change(base_hw)
        cells = []
        ref = None
        for stem in ["baseline", *(s for _, s in COLUMNS)]:
            row = done.get((label, stem))
            if row is None:
                if ref is None:
                    ref = reference(Model.DES, wls["baseline"], hw)
                res = on_own_split(wls[stem], hw)
                n = normalise(res, ref)
                row = {"variant": label, "workload": stem, "energy": n.energy,
                       "throughput": n.throughput,
                       "dram_share": res.energy_pj.get("dram", 0.0) / res.total_energy_pj}
                if args.csv:
                    new = not Path(args.csv).is_file()
                    with open(args.csv, "a", newline="") as f:
                        w = csv.DictWriter(f, fieldnames=list(row))
                        if new:
                            w.writeheader()
                        w.writerow(row)
            cells.append(row)
        base = cells[0]
        print(f"{label:44s} {100 * float(base['dram_share']):9.0f}% " + " ".join(
            f"{float(c['energy']):7.2f} / {float(c['throughput']):5.2f}" for c in cells[1:]),
            flush=True)


if __name__ == "__main__":
    main()
