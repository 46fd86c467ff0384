#!/usr/bin/env python3
"""Which modelling assumptions move the conclusions? (prints tables; not a test)

For the bundled MobileNet-V1 0.5 workloads, on ``paper.yaml`` and ``iso_area_45nm.yaml``, the
discrete-event engine is re-run with the engine-fidelity assumptions switched one at a time:

* **cumulative**: starting from the earlier engine (weight-stationary only, blocking weight
  loads, fill and drain paid per fold, depthwise block-diagonal on the MAC array, ideal adder
  operand delivery), each assumption is switched on in turn, in the order of the issue that
  introduced them, ending at the config as shipped;
* **leave one out**: from the config as shipped, each assumption is switched back off alone, so
  the row says how much that one assumption moves the answer;
* **zero-skipping**: the shipped config with ternary zeros skipped, with the trees of a group
  in lockstep (each waits for its slowest member, from the traced per-channel non-zero counts)
  or each on its own (``lockstep_trees: 1``), sparse weights stored dense or as a bitmask;
* **op-count references**: the sequential and balance op-count models of the same splits.

Every workload runs on its own MAC/adder/multiplier split: the op-count sequential optimum for
the same area (``accelsim allocate``'s first choice, units it never uses dropped). Throughput is
normalised as everywhere in accelsim: the baseline network on the MAC-only accelerator of the
same area (with the same microarchitecture fields), under the same model; energy likewise.

    python bench/fidelity_ablation.py                        # both configs, ~3-6 min
    python bench/fidelity_ablation.py --hw hwconfigs/paper.yaml --csv /tmp/ablation.csv
    python bench/fidelity_ablation.py --all-workloads        # every bundled MobileNet variant

``--csv`` appends each row as it is computed and skips rows already there (rerun to resume).
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accelsim.analytic.allocation import allocate  # noqa: E402
from accelsim.choices import Model  # noqa: E402
from accelsim.dse.allocate import drop_idle_units  # noqa: E402
from accelsim.evaluate import evaluate, normalise, reference  # noqa: E402
from accelsim.hw.config import HardwareConfig  # noqa: E402
from accelsim.hw.load import load_hwconfig  # noqa: E402
from accelsim.hw.rules import mac_only  # noqa: E402
from accelsim.hw.schema import replace_field  # noqa: E402
from accelsim.workload.load import load_workload  # noqa: E402
from accelsim.workload.schema import Workload  # noqa: E402

CONFIGS = ("paper", "iso_area_45nm")
#: The issue's columns: (label, workload file stem).
COLUMNS = (("TWN", "twn"), ("ST r=c", "strassen_r1"), ("hyb .25 r=c", "hybrid_a0.25_r1"),
           ("hyb .375 r=c", "hybrid_a0.375_r1"), ("hyb .5 r=c", "hybrid_a0.5_r1"),
           ("hyb .5 r=2c", "hybrid_a0.5_r2"))
PREFIX = "mobilenet_v1_0.5_"


@dataclass(frozen=True)
class Assumption:
    """One modelling assumption: its label and the field values that switch it off (the earlier
    engine's behaviour). Switching it on restores the config's own values."""

    label: str
    off: tuple[tuple[str, Any], ...]


ASSUMPTIONS = (
    Assumption("depthwise channel-parallel (both arrays)",
               (("mac_array.depthwise", "block_diagonal"),
                ("adder_array.unshared_operands", "bus"))),
    Assumption("weights double-buffered", (("mac_array.loading", "blocking"),)),
    Assumption("folds pipelined", (("mac_array.fold_pipelining", False),)),
    Assumption("per-layer dataflow (ws/os/is)", (("mac_array.dataflow", "ws"),
                                                ("mac_array.dataflows", ["ws"]))),
    Assumption("adder operand bus + broadcast groups", (("adder_array.operand_bus_terms", 0),
                                                        ("adder_array.broadcast_trees", 0))),
)
#: Zero-skip variants: (label, field values applied to the shipped config).
ZERO_SKIP = (
    ("zero-skip, each tree on its own (no lockstep), dense weights",
     (("adder_array.lockstep_trees", 1), ("adder_array.sparse_format", "none"))),
    ("zero-skip, trees in lockstep, dense weights", (("adder_array.sparse_format", "none"),)),
    ("zero-skip, lockstep + bitmask weights (shipped)", ()),
)


@dataclass(frozen=True)
class Variant:
    table: str
    label: str
    fields: tuple[tuple[str, Any], ...]
    zero_skip: bool = False
    model: Model = Model.DES


def variants(hw: HardwareConfig) -> list[Variant]:
    """Every row of the three tables for ``hw`` (its own values are the 'on' state)."""
    out: list[Variant] = []
    off = [f for a in ASSUMPTIONS for f in a.off]
    out.append(Variant("cumulative", "all off (earlier engine)", tuple(off)))
    for i, a in enumerate(ASSUMPTIONS):
        rest = tuple(f for b in ASSUMPTIONS[i + 1:] for f in b.off)
        out.append(Variant("cumulative", f"+ {a.label}", rest))
    for a in ASSUMPTIONS:
        out.append(Variant("leave one out", f"without {a.label}", a.off))
    for label, fields in ZERO_SKIP:
        out.append(Variant("zero-skipping", label, fields, zero_skip=True))
    out.append(Variant("op-count references", "sequential op-count (same split)", (),
                       model=Model.SEQUENTIAL))
    out.append(Variant("op-count references", "balance op-count (same split)", (),
                       model=Model.BALANCE))
    return out


def configured(hw: HardwareConfig, fields: tuple[tuple[str, Any], ...]) -> HardwareConfig:
    for dotted, value in fields:
        hw = replace_field(hw, dotted, value)
    return hw


def split_for(wl: Workload, hw: HardwareConfig, zero_skip: bool) -> HardwareConfig:
    """The op-count sequential optimum of ``hw``'s area for ``wl`` (idle classes dropped)."""
    alloc = allocate(wl, hw, model=Model.SEQUENTIAL, zero_skip=zero_skip)
    return drop_idle_units(wl, alloc.config)


def run_row(cfg_name: str, hw: HardwareConfig, v: Variant, workloads: dict[str, Workload],
            splits: dict[tuple[str, bool], HardwareConfig]) -> dict[str, Any]:
    base = workloads["baseline"]
    ref_hw = configured(mac_only(hw), v.fields)
    ref = reference(v.model, base, hw, config=ref_hw, zero_skip=v.zero_skip)
    row: dict[str, Any] = {"config": cfg_name, "table": v.table, "variant": v.label,
                           "baseline_cycles": ref.cycles}
    for stem, wl in workloads.items():
        if stem == "baseline":
            continue
        cfg = configured(splits[(stem, v.zero_skip)], v.fields)
        res = evaluate(v.model, wl, cfg, zero_skip=v.zero_skip)
        n = normalise(res, ref)
        row[f"thr:{stem}"] = n.throughput
        row[f"energy:{stem}"] = n.energy
    return row


def _load_done(path: Path | None) -> dict[tuple[str, str, str], dict[str, Any]]:
    if path is None or not path.exists():
        return {}
    with path.open(newline="") as fh:
        return {(r["config"], r["table"], r["variant"]): r for r in csv.DictReader(fh)}


def _append(path: Path | None, row: dict[str, Any]) -> None:
    if path is None:
        return
    new = not path.exists()
    with path.open("a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)


def print_tables(cfg_name: str, rows: list[dict[str, Any]], stems: list[str],
                 labels: dict[str, str]) -> None:
    for metric, title in (("thr", "throughput"), ("energy", "energy")):
        print(f"\n### {cfg_name}: {title} relative to the baseline on the same-area MAC-only "
              "accelerator (same model)\n")
        head = ["model variant", "baseline cycles"] + [labels[s] for s in stems]
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        table = None
        for r in rows:
            if r["table"] != table:
                table = r["table"]
                print(f"| *{table}* |" + " |" * (len(head) - 1))
            cells = [r["variant"], f"{float(r['baseline_cycles']) / 1e3:,.0f}k"]
            cells += [f"{float(r[f'{metric}:{s}']):.2f}" for s in stems]
            print("| " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hw", type=Path, action="append",
                    help="config file (repeatable; default: paper.yaml and iso_area_45nm.yaml)")
    ap.add_argument("--all-workloads", action="store_true",
                    help="every bundled MobileNet-V1 0.5 variant, not only the issue's columns")
    ap.add_argument("--csv", type=Path, help="append rows here as they are computed; resume")
    args = ap.parse_args(argv)
    paths = args.hw or [ROOT / "hwconfigs" / f"{c}.yaml" for c in CONFIGS]
    if args.all_workloads:
        stems = sorted(p.name[len(PREFIX):-5] for p in (ROOT / "workloads").glob(
            f"{PREFIX}*.json") if not p.name.endswith("baseline.json"))
        labels = {s: s for s in stems}
    else:
        stems = [s for _, s in COLUMNS]
        labels = {s: lab for lab, s in COLUMNS}
    workloads = {s: load_workload(ROOT / "workloads" / f"{PREFIX}{s}.json")
                 for s in ["baseline", *stems]}
    done = _load_done(args.csv)
    t0 = time.perf_counter()
    for path in paths:
        hw = load_hwconfig(path)
        splits = {(s, z): split_for(workloads[s], hw, z) for s in stems for z in (False, True)}
        rows = []
        for v in variants(hw):
            key = (hw.name, v.table, v.label)
            row = done.get(key)
            if row is None or any(f"thr:{s}" not in row for s in stems):
                row = run_row(hw.name, hw, v, workloads, splits)
                _append(args.csv, row)
            rows.append(row)
            print(f"  {hw.name}: {v.label} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        print_tables(hw.name, rows, stems, labels)
        print("\nsplits (op-count sequential optimum, units): " + "; ".join(
            f"{labels[s]} mac {c.counts.get('mac', 0)} add {c.counts.get('add', 0)} "
            f"mul {c.counts.get('mul', 0)}" for (s, z), c in splits.items() if not z))
    return 0


if __name__ == "__main__":
    sys.exit(main())
