"""The report's binary section: ResNet-18 FPrec, WBin, FBin and the HBN hybrid at equal area.

On ``iso_area_45nm_binary.yaml`` (the area of 1,024 fp16 MACs, 45 nm costs, a binary
XNOR-popcount array; docs/binary-unit-costs.md) every variant gets its best three-way split of
the area between MAC units, adders and binary lanes
(:func:`accelsim.analytic.allocation.allocate`; multipliers as the search sets them):

* ``balance``: the whole-network balance at the balance-optimal split (the paper's model);
* ``sequential``: layers one after another at the sequential-optimal split, the split a fixed
  accelerator must choose, which the table lists;
* ``DES``: the discrete-event engine on that split (sequential schedule, the config's 32
  columns), with absolute energy per inference.

Throughput and energy are normalised to the FPrec network on the MAC-only accelerator of the
same area under the same model (:func:`accelsim.evaluate.reference`). The DES runs go through
the report's result store (``OUT/store``), so a killed report resumes them.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from accelsim.analytic.allocation import allocate
from accelsim.choices import Model, SchedulePolicy
from accelsim.dse.allocate import drop_idle_units
from accelsim.dse.points import Inputs, make_point
from accelsim.dse.store import ResultStore
from accelsim.dse.sweep import run_store
from accelsim.errors import InputError, Problem
from accelsim.evaluate import Reference, evaluate, normalise, reference
from accelsim.hw.config import HardwareConfig
from accelsim.hw.load import hwconfig_hash, load_hwconfig
from accelsim.hw.rules import area_of, mac_only
from accelsim.results.text import markdown
from accelsim.workload.load import load_workload, workload_hash
from accelsim.workload.schema import Workload

#: The config of the section (in the report's config folder).
CONFIG = "iso_area_45nm_binary.yaml"
#: (label, workload) of the four ResNet-18 variants; the first is the reference network.
VARIANTS = (("FPrec", "resnet18_baseline"), ("WBin", "resnet18_wbin"),
            ("FBin", "resnet18_fbin"), ("Hybrid (7 WBin)", "resnet18_hbn_7wbin"))
_UNITS = (("mac", "MACs"), ("add", "adders"), ("xnor", "binary"))


@dataclass(frozen=True)
class BinarySection:
    """What :func:`binary_section` wrote: one row per variant, the markdown, the files, and
    how many store points were computed now / found done."""

    rows: tuple[dict, ...]
    markdown: str
    files: tuple[Path, ...]
    computed: int = 0
    reused: int = 0


def binary_section(out: str | Path, workload_dir: str | Path, hw_dir: str | Path, *,
                   jobs: int = 1, des: bool = True, progress: bool = False) -> BinarySection:
    """Evaluate the four variants (see module docstring); write ``binary.csv`` and
    ``binary.md`` into ``out``. ``des=False`` leaves the DES columns empty. Raises
    :class:`InputError` if a workload or the config is missing."""
    out, wdir = Path(out), Path(workload_dir)
    missing = [w for _, w in VARIANTS if not (wdir / f"{w}.json").is_file()]
    if missing:
        raise InputError(Problem("--workloads", str(wdir), f"lacks {', '.join(missing)}.json"))
    wls = [load_workload(wdir / f"{w}.json") for _, w in VARIANTS]
    hw = load_hwconfig(Path(hw_dir) / CONFIG)
    base = wls[0]
    splits = {m: [drop_idle_units(wl, allocate(wl, hw, model=m).config) for wl in wls]
              for m in (Model.BALANCE, Model.SEQUENTIAL)}
    ref_cfg = mac_only_twin(hw)
    refs = {Model.BALANCE: reference(Model.BALANCE, base, hw),
            Model.SEQUENTIAL: reference(Model.SEQUENTIAL, base, hw, config=ref_cfg)}
    runs: list[tuple[float, float] | None] = [None] * (len(wls) + 1)
    computed = reused = 0
    if des:
        configs = [*splits[Model.SEQUENTIAL], ref_cfg]
        runs_, computed, reused = _des_runs(out / "store", [*wls, base], configs, jobs,
                                            progress)
        runs = list(runs_)
    ref_des = runs[-1]
    rows = []
    for i, ((label, _), wl) in enumerate(zip(VARIANTS, wls)):
        seq_cfg, bal_cfg = splits[Model.SEQUENTIAL][i], splits[Model.BALANCE][i]
        bal = normalise(evaluate(Model.BALANCE, wl, bal_cfg), refs[Model.BALANCE])
        seq = normalise(evaluate(Model.SEQUENTIAL, wl, seq_cfg), refs[Model.SEQUENTIAL])
        row: dict = {"network": label, "workload": wl.name,
                     "macs": seq_cfg.counts["mac"], "adders": seq_cfg.counts["add"],
                     "multipliers": seq_cfg.counts["mul"],
                     "binary_lanes": seq_cfg.counts["xnor"]}
        row.update({f"{u}_share": _share(seq_cfg, u) for u, _ in _UNITS})
        row["balance_split"] = "/".join(f"{_share(bal_cfg, u):.2f}" for u, _ in _UNITS)
        row.update({"balance_throughput": bal.throughput, "sequential_throughput":
                    seq.throughput, "op_energy": bal.energy})
        run = runs[i]
        if run is not None and ref_des is not None:
            d = normalise(run, Reference(Model.DES, *ref_des))
            row.update({"des_cycles": run[0], "des_throughput": d.throughput,
                        "des_energy_uj": run[1] / 1e6, "des_energy": d.energy})
        else:
            row.update(dict.fromkeys(("des_cycles", "des_throughput", "des_energy_uj",
                                      "des_energy"), math.nan))
        rows.append(row)
    text = _markdown(rows, hw, area_of(hw), ref_cfg)
    files = _write(out, rows, text)
    return BinarySection(tuple(rows), text, tuple(files), computed, reused)


def mac_only_twin(hw: HardwareConfig) -> HardwareConfig:
    """:func:`accelsim.hw.rules.mac_only` of ``hw`` with ``hw``'s MAC-array microarchitecture
    (dataflows, operand loading, fold pipelining, depthwise mapping), so that the DES reference
    differs from the variants' accelerators only in its units."""
    ref = mac_only(hw)
    return replace(ref, mac_array=replace(hw.mac_array, rows=ref.mac_array.rows,
                                          cols=ref.mac_array.cols))


def _share(cfg: HardwareConfig, unit: str) -> float:
    """Area share of a unit class in ``cfg`` (0 without a cost entry)."""
    if unit not in cfg.units:
        return 0.0
    return cfg.counts[unit] * cfg.units[unit].area_um2 / area_of(cfg)


def _des_runs(store: Path, wls: Sequence[Workload], configs: Sequence[HardwareConfig],
              jobs: int, progress: bool) -> tuple[list[tuple[float, float]], int, int]:
    """(cycles, energy pJ) of the DES (sequential schedule) of ``wls[i]`` on ``configs[i]``,
    through the result store ``store``; and the points computed now / found done."""
    names = list(dict.fromkeys(w.name for w in wls))
    uniq = [next(w for w in wls if w.name == n) for n in names]
    inputs = Inputs(tuple(f"<report:{c.name}>" for c in configs), tuple(configs),
                    tuple(hwconfig_hash(c) for c in configs), tuple(names), tuple(uniq),
                    tuple(workload_hash(w) for w in uniq))
    points = [make_point(inputs, i, names.index(wl.name), Model.DES, SchedulePolicy.SEQUENTIAL,
                         False, ()) for i, wl in enumerate(wls)]
    summary = run_store(store, inputs, points, jobs=jobs, progress=progress,
                        desc="report: binary networks, DES")
    df = ResultStore(store).frame().set_index("key").loc[[p.key for p in points]]
    out = []
    for _, row in df.iterrows():
        if row["error"]:
            raise InputError(Problem("report", row["workload"], str(row["error"])))
        out.append((float(row["cycles"]), float(row["energy_pj"])))
    return out, summary.computed, summary.skipped


_HEAD = ["network", "MACs", "adders", "muls", "binary lanes", "MAC share", "adder share",
         "binary share", "bal. split M/A/B", "thr balance", "thr sequential", "thr DES",
         "energy ops", "energy µJ DES", "energy DES"]


def _markdown(rows: Sequence[dict], hw: HardwareConfig, area: float,
              ref: HardwareConfig) -> str:
    body = [[r["network"], r["macs"], r["adders"], r["multipliers"], r["binary_lanes"],
             r["mac_share"], r["add_share"], r["xnor_share"], r["balance_split"],
             r["balance_throughput"], r["sequential_throughput"], r["des_throughput"],
             r["op_energy"], r["des_energy_uj"], r["des_energy"]] for r in rows]
    lane = hw.units["xnor"]
    notes = (
        f"ResNet-18 (224x224, bundled traces) on `{hw.name}` ({area:,.0f} um2, the area of "
        f"{area / hw.units['mac'].area_um2:,.0f} fp16 MACs; binary lane "
        f"{lane.area_um2:g} um2 and {lane.energy_pj_per_op:g} pJ per "
        f"{hw.binary_array.word_bits}-bit word operation, docs/binary-unit-costs.md). Each "
        "network on its best split of the area between MAC units, adders and binary lanes for "
        "layers run one after another (`allocate`, sequential model; multipliers as the search "
        "sets them); *shares* are of the area. *bal. split*: the MAC/adder/binary shares of the "
        "whole-network balance optimum, where *thr balance* is taken. Throughput (reference "
        "cycles / cycles) and energy are normalised to FPrec on the MAC-only accelerator of the "
        f"same area ({ref.mac_array.rows}x{ref.mac_array.cols} MACs, the config's MAC-array "
        "microarchitecture) under the same model: "
        "*balance* and *sequential* are op-count models and *energy ops* the operations' "
        "energy over FPrec's MAC energy; *DES* is the discrete-event engine (sequential "
        "schedule, 32-column MAC array) with every energy component (arithmetic, SRAM, DRAM), "
        "*energy µJ DES* per inference. The traces come from seeded untrained weights; the "
        "first layer and the classifier stay fp in every variant.")
    return markdown(_HEAD, body, 2) + "\n\n" + notes


def _write(out: Path, rows: Sequence[dict], text: str) -> list[Path]:
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    files = [out / "binary.csv", out / "binary.md"]
    pd.DataFrame(list(rows)).to_csv(files[0], index=False, lineterminator="\n")
    files[1].write_text(text + "\n", encoding="utf-8")
    return files
