"""Accuracy beside hardware for the bundled trained workloads (workloads/trained/).

Prints, per trained workload, its test accuracy (from the workload's provenance) next to its
energy and throughput normalised to the trained fp16 baseline on hwconfigs/paper.yaml (the
paper's cost model: balance-bound energy, best fixed MAC/adder split for throughput, as in
`accelsim compare`), and writes the figure docs/training/accuracy.png (--out to move it).

    python bench/trained_accuracy.py [--hw hwconfigs/paper.yaml] [--out docs/training/accuracy.png]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from accelsim import api
from accelsim.results.plot import save
from accelsim.results.training_plots import accuracy_figure

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hw", default=str(ROOT / "hwconfigs" / "paper.yaml"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "training" / "accuracy.png"))
    args = ap.parse_args()
    files = sorted((ROOT / "workloads" / "trained").glob("*.json"))
    wls = [api.load_workload(f) for f in files]
    base = next(w for w in wls if "_baseline_" in w.name)
    rows = api.compare(wls, api.load_hwconfig(args.hw), baseline=base)
    data = []
    print(f"{'workload':<42} {'accuracy':>8} {'energy':>7} {'thr seq':>7} {'size KB':>8}")
    for wl, row in zip(wls, rows):
        acc = api.workload_accuracy(wl)
        data.append({"workload": wl.name.removeprefix("resnet20_0.5_16px_"), "accuracy": acc,
                     "energy": row.energy, "throughput": row.thr_sequential})
        print(f"{wl.name:<42} {acc:>8.4f} {row.energy:>7.3f} {row.thr_sequential:>7.3f} "
              f"{row.size_kb:>8.1f}")
    fig = accuracy_figure(data, energy_label="energy per inference (fp16 baseline = 1)",
                          throughput_label="throughput, best fixed split (baseline = 1)",
                          title="ResNet-20 (width 0.5, 16x16) trained on digits; "
                                f"{Path(args.hw).name}")
    print(f"wrote {save(fig, args.out)}")


if __name__ == "__main__":
    main()
