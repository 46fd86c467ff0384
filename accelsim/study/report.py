"""``accelsim report``: the bundled MobileNets on the bundled configs, as tables and figures.

For every workload of the paper's table (:func:`accelsim.published.gope2019_mobilenet`):

* on ``paper.yaml``: the paper's whole-network balance bound (its accounting convention, so the
  published digits reproduce), the op-count sequential model on the best fixed split
  (:func:`accelsim.analytic.allocation.allocate` with ``model="sequential"``), and the
  discrete-event engine on that split (MAC-array aspect ratio chosen by simulation, reference
  included) under both schedules; every throughput is normalised to the baseline on a MAC-only
  array of the same area under the same model, energy to the baseline's MAC energy (the paper's
  definitions);
* on ``iso_area_45nm.yaml`` (real memories): the DES on each workload's best sequential split,
  both schedules, with absolute energy per inference;
* the memory-policy section (:mod:`accelsim.study.memory_section`, with the DES): every workload
  on ``iso_area_45nm.yaml`` under the round-trip, resident and fused activation policies, energy
  by component (``memory.csv``, ``memory.md``);
* the binary section (:mod:`accelsim.study.binary_section`): ResNet-18 FPrec, WBin, FBin and
  the HBN hybrid on ``iso_area_45nm_binary.yaml``, each on its best MAC / adder / binary split.

Every evaluation except the two runs drawn in detail goes through the sweep machinery into a
result store (``OUT/store``): a killed report resumes where it stopped, and every number carries
its provenance (config and workload hashes, accelsim version). The DES runs happen in two passes:
every candidate array shape under the sequential schedule, then the overlap schedule on the
shape that won (:data:`accelsim.study.question.SHAPE_COLUMNS`, ties to the first).

Figures: throughput/energy vs MAC share (a sweep of the split, both op-count models), energy vs
throughput with the Pareto front and the published points, per-layer cycles and energy of one
DES run, and the Gantt chart of its timeline.

With the DES, the trained workloads of ``WORKLOADS/trained/`` (those that carry an accuracy) get
a section of their own: accuracy beside simulated energy and throughput on both configs
(:mod:`accelsim.study.accuracy_section`: ``accuracy.csv``, ``accuracy.md``,
``accuracy_<config>.png``), through the same store.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from accelsim.analytic.allocation import allocate
from accelsim.choices import MemoryPolicy, Model, SchedulePolicy
from accelsim.counts import Convention
from accelsim.dse.allocate import drop_idle_units
from accelsim.dse.points import Inputs, Point, make_point
from accelsim.dse.spec import MAC_FRACTION, expand_range
from accelsim.dse.store import ResultStore, expand_params
from accelsim.dse.sweep import run_store
from accelsim.errors import InputError, Problem
from accelsim.evaluate import evaluate
from accelsim.hw.config import HardwareConfig
from accelsim.hw.load import hwconfig_hash, load_hwconfig
from accelsim.hw.rules import leakage_uw, mac_only
from accelsim.published import PublishedRow, gope2019_mobilenet
from accelsim.results.plot import layers_figure, save
from accelsim.results.text import markdown
from accelsim.study.accuracy_section import accuracy_section, load_trained
from accelsim.study.binary_section import binary_section
from accelsim.study.compare import CompareRow, compare
from accelsim.study.figures import load_trace, plot_fraction, plot_gantt, plot_pareto
from accelsim.study.memory_section import Run, memory_section
from accelsim.study.question import SHAPE_COLUMNS
from accelsim.workload.load import load_workload, workload_hash
from accelsim.workload.schema import Workload

if TYPE_CHECKING:  # pandas is imported where rows are read (it takes ~0.5 s)
    import pandas as pd

#: The workload whose per-layer result and timeline are drawn.
FOCUS = "mobilenet_v1_0.5_hybrid_a0.375_r1.6"
SCHEDULES = (SchedulePolicy.SEQUENTIAL, SchedulePolicy.OVERLAP)
FRACTIONS = 101
#: Points per task: a run's candidate array shapes go to one worker together.
REPORT_CHUNK = {"des": len(SHAPE_COLUMNS)}
#: Store key of the reference (baseline on the MAC-only twin) in the DES results.
REF = "ref"


@dataclass(frozen=True)
class Report:
    """What :func:`report` wrote: the paper-config table rows, its markdown, the 45 nm rows,
    every file, the wall time, how many store points were computed now / found done, and the
    binary section's rows and markdown,
    ``accuracy_rows``: the accuracy section's rows (empty without the DES or trained workloads),
    ``memory_rows``: the memory-policy section's rows (empty without the DES)."""

    out: Path
    rows: tuple[dict, ...]
    markdown: str
    rows_45nm: tuple[dict, ...]
    files: tuple[Path, ...]
    elapsed_s: float
    computed: int = 0
    reused: int = 0
    rows_binary: tuple[dict, ...] = ()
    markdown_binary: str = ""
    accuracy_rows: tuple[dict, ...] = ()
    memory_rows: tuple[dict, ...] = ()


@dataclass(frozen=True)
class DesRun:
    """Cycles and energy (pJ) of one DES run read back from the store, and the array shape."""

    cycles: int
    energy_pj: float
    shape: tuple[int, int]


def report(out: str | Path = "report", *, workload_dir: str | Path = "workloads",
           hw_dir: str | Path = "hwconfigs", jobs: int = 1, des: bool = True,
           progress: bool = False) -> Report:
    """Run everything (see module docstring) and write it into ``out``.

    ``des=False`` leaves the discrete-event columns and figures out; ``jobs`` worker processes
    run the store's points; ``progress`` shows a bar on stderr. Raises :class:`InputError` if a
    bundled workload or config is missing."""
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    published = gope2019_mobilenet()
    wdir, hdir = Path(workload_dir), Path(hw_dir)
    missing = [r.workload for r in published if not (wdir / f"{r.workload}.json").is_file()]
    if missing:
        raise InputError(Problem("--workloads", str(wdir), f"lacks {', '.join(missing)}.json"))
    wls = [load_workload(wdir / f"{r.workload}.json") for r in published]
    paper = load_hwconfig(hdir / "paper.yaml")
    real = load_hwconfig(hdir / "iso_area_45nm.yaml")
    base = wls[0]
    cmp_paper = {r.workload: r for r in compare(wls, paper, baseline=base,
                                                 convention=Convention.PAPER)}
    splits = {wl.name: drop_idle_units(wl, allocate(wl, paper, model=Model.SEQUENTIAL).config)
              for wl in wls}
    splits_45 = {wl.name: drop_idle_units(wl, allocate(wl, real, model=Model.SEQUENTIAL).config)
                 for wl in wls}
    store = _Store(out / "store", wls, jobs, progress)
    frac = store.fraction_sweep(paper)
    des_paper: dict[tuple[str, str], DesRun] = {}
    des_45: dict[tuple[str, str], DesRun] = {}
    if des:
        runs = [(wl.name, splits[wl.name]) for wl in wls] + [(REF, mac_only(paper))]
        runs += [(wl.name, splits_45[wl.name]) for wl in wls] + [(REF, mac_only(real))]
        results = store.des_runs(runs)
        n = len(wls) + 1
        for (name, _), pair in zip(runs[:n], results[:n]):
            for s, res in zip(SCHEDULES, pair):
                des_paper[(name, s)] = res
        for (name, _), pair in zip(runs[n:], results[n:]):
            for s, res in zip(SCHEDULES, pair):
                des_45[(name, s)] = res
    rows = tuple(_paper_row(r, cmp_paper[r.workload], des_paper) for r in published)
    rows_45 = tuple(_real_row(wl, splits_45[wl.name], des_45) for wl in wls) if des else ()
    ref_45 = des_45.get((REF, SchedulePolicy.SEQUENTIAL))
    files = _write_tables(out, rows, rows_45, real, ref_45.shape if ref_45 else None)
    files += _figures(out, wls, frac, real, splits_45, des_45, des)
    memory_rows: tuple[dict, ...] = ()
    if des:
        mem = memory_section(out, wls, splits_45, real, store.run_points)
        files += mem.files
        memory_rows = mem.rows
    binary = binary_section(out, wdir, hdir, jobs=jobs, des=des, progress=progress)
    files += binary.files
    computed, reused = store.computed + binary.computed, store.reused + binary.reused
    trained = load_trained(wdir / "trained") if des else ()
    acc_rows: tuple[dict, ...] = ()
    if trained:
        acc_store = _Store(out / "store", trained, jobs, progress)
        section = accuracy_section(out, trained, (paper, real), acc_store.des_runs)
        files += section.files
        acc_rows = section.rows
        computed, reused = computed + acc_store.computed, reused + acc_store.reused
    text = _markdown(rows)
    return Report(out, rows, text, rows_45, tuple(files), time.perf_counter() - t0,
                  computed, reused, binary.rows, binary.markdown, acc_rows, memory_rows)


class _Store:
    """The report's points, evaluated through the sweep machinery into one result store."""

    def __init__(self, path: Path, wls: Sequence[Workload], jobs: int, progress: bool):
        self.path, self.wls, self.jobs, self.progress = path, list(wls), jobs, progress
        self.hashes = tuple(workload_hash(w) for w in wls)
        self.computed = self.reused = 0

    def _run(self, configs: Sequence[HardwareConfig], points: Sequence[Point],
             inputs: Inputs, desc: str) -> pd.DataFrame:
        summary = run_store(self.path, inputs, points, jobs=self.jobs, progress=self.progress,
                            desc=desc, chunk=REPORT_CHUNK)
        self.computed += summary.computed
        self.reused += summary.skipped
        df = ResultStore(self.path).frame().set_index("key")
        return df.loc[[p.key for p in points]].reset_index()

    def _inputs(self, configs: Sequence[HardwareConfig]) -> Inputs:
        return Inputs(tuple(f"<report:{c.name}>" for c in configs), tuple(configs),
                      tuple(hwconfig_hash(c) for c in configs),
                      tuple(w.name for w in self.wls), tuple(self.wls), self.hashes)

    def fraction_sweep(self, hw: HardwareConfig) -> pd.DataFrame:
        """Rows of a MAC-share sweep (balance and sequential models) of every workload."""
        inputs = self._inputs([hw])
        fracs = expand_range({"start": 0.0, "stop": 1.0, "num": FRACTIONS}, MAC_FRACTION)
        points = [make_point(inputs, 0, wi, model, SchedulePolicy.SEQUENTIAL, False,
                             ((MAC_FRACTION, f),))
                  for wi in range(len(self.wls)) for model in (Model.BALANCE, Model.SEQUENTIAL)
                  for f in fracs]
        return expand_params(self._run([hw], points, inputs, "report: MAC-share sweep"))

    def run_points(self, runs: Sequence[Run]) -> pd.DataFrame:
        """Sequential DES rows of (workload name, or None for the baseline; config; axis
        values), one per run, in order."""
        configs = [cfg for _, cfg, _ in runs]
        inputs = self._inputs(configs)
        index = {w.name: i for i, w in enumerate(self.wls)}
        points = [make_point(inputs, i, index[name] if name is not None else 0, Model.DES,
                             SchedulePolicy.SEQUENTIAL, False, params)
                  for i, (name, _, params) in enumerate(runs)]
        return self._run(configs, points, inputs, "report: memory policies")

    def des_runs(self, runs: Sequence[tuple[str, HardwareConfig]]
                 ) -> list[tuple[DesRun, DesRun]]:
        """(sequential, overlap) DES results of each (workload name or :data:`REF`, config),
        each on the array shape that gives its sequential run the fewest cycles."""
        index = {w.name: i for i, w in enumerate(self.wls)}
        configs = [cfg for _, cfg in runs]
        inputs = self._inputs(configs)
        shapes = [[(n // c, c) for c in SHAPE_COLUMNS if c <= n] if (n := cfg.mac_array.count)
                  else [] for cfg in configs]
        seq_points = [make_point(inputs, i, index[name if name != REF else self.wls[0].name],
                                 Model.DES, SchedulePolicy.SEQUENTIAL, False, _shape(r, c))
                      for i, (name, _) in enumerate(runs) for r, c in shapes[i] or [(0, 0)]]
        seq = self._run(configs, seq_points, inputs, "report: DES, array shapes")
        best: list[tuple[int, Point]] = []
        pos = 0
        for i, _ in enumerate(runs):
            k = max(1, len(shapes[i]))
            rows = seq.iloc[pos:pos + k]
            j = min(range(k), key=lambda t: (rows["cycles"].iloc[t], t))
            best.append((pos + j, seq_points[pos + j]))
            pos += k
        ov_points = [make_point(inputs, p.hw_index, p.workload_index, Model.DES,
                                SchedulePolicy.OVERLAP, False, p.params) for _, p in best]
        ov = self._run(configs, ov_points, inputs, "report: DES, overlap")
        out = []
        for i, (row, p) in enumerate(best):
            shape = _shape_of(p, configs[i])
            out.append((_des_run(seq.iloc[row], shape), _des_run(ov.iloc[i], shape)))
        return out


def _shape(rows: int, cols: int) -> tuple[tuple[str, int], ...]:
    """Axis values of an array shape (none for a config without MACs: 0 x 0)."""
    return () if not rows else (("mac_array.rows", rows), ("mac_array.cols", cols))


def _shape_of(p: Point, cfg: HardwareConfig) -> tuple[int, int]:
    params = dict(p.params)
    return (int(params.get("mac_array.rows", cfg.mac_array.rows)),
            int(params.get("mac_array.cols", cfg.mac_array.cols)))


def _des_run(row: pd.Series, shape: tuple[int, int]) -> DesRun:
    if row["error"]:
        raise InputError(Problem("report", row["workload"], str(row["error"])))
    return DesRun(int(row["cycles"]), float(row["energy_pj"]), shape)


def _paper_row(pub: PublishedRow, c: CompareRow, des: dict) -> dict:
    row = {"network": pub.network, "alpha": pub.alpha, "r": pub.r, "workload": pub.workload,
           "published_throughput": pub.values["throughput"], "balance_throughput":
           c.thr_balance, "sequential_throughput": c.thr_sequential}
    for s in SCHEDULES:
        res, ref = des.get((pub.workload, s)), des.get((REF, s))
        row[f"des_{s}_throughput"] = ref.cycles / res.cycles if res and ref else math.nan
    row.update({"published_energy": pub.values["energy"], "energy": c.energy,
                "mac_share_balance": c.mac_share_balance,
                "mac_share_sequential": c.mac_share_sequential,
                "sequential_gap": 1.0 - c.thr_sequential / c.thr_balance})
    return row


def _real_row(wl: Workload, cfg: HardwareConfig, des: dict) -> dict:
    rows_cols = des[(wl.name, SchedulePolicy.SEQUENTIAL)].shape
    row: dict = {"workload": wl.name, "macs": cfg.counts["mac"], "adders": cfg.counts["add"],
                 "multipliers": cfg.counts["mul"],
                 "mac_array": f"{rows_cols[0]}x{rows_cols[1]}" if rows_cols[0] else "-"}
    for s in SCHEDULES:
        res, ref = des[(wl.name, s)], des[(REF, s)]
        row[f"des_{s}_cycles"] = res.cycles
        row[f"des_{s}_throughput"] = ref.cycles / res.cycles
        row[f"des_{s}_energy_uj"] = res.energy_pj / 1e6
        row[f"des_{s}_energy"] = res.energy_pj / ref.energy_pj
    return row


#: Headers of des_45nm.md, one per column of des_45nm.csv.
_HEAD_45 = ["workload", "MACs", "adders", "multipliers", "MAC array (rows x cols)",
            "cycles, seq.", "thr seq.", "energy µJ, seq.", "energy seq.", "cycles, overlap",
            "thr overlap", "energy µJ, overlap", "energy overlap"]


def _activations(hw: HardwareConfig) -> str:
    """How the config keeps activations between layers, for a caption."""
    if hw.mapping.memory is MemoryPolicy.ROUNDTRIP:
        return "every layer output through DRAM, "
    name = hw.mapping.activation_buffer
    return (f"layer outputs kept in the {getattr(hw.buffers, name).size_kib:g} KiB `{name}` "
            "buffer when they fit (memory.md compares policies), ")


def caption_45nm(hw: HardwareConfig, ref: tuple[int, int] | None) -> str:
    """What des_45nm.md shows (on config ``hw``), normalised to what, and why both schedules
    cost the same energy. ``ref``: the MAC array shape of the reference (baseline, MAC-only)."""
    shape = f" ({ref[0]}x{ref[1]} MAC array)" if ref else ""
    leak = "leakage is 0 in this config" if not leakage_uw(hw) else "leakage included"
    return (
        f"Discrete-event engine on `{hw.name}` ({hw.buffers.weights.size_kib:g} KiB buffers, "
        f"{_activations(hw)}"
        f"{hw.dram.bandwidth_bytes_per_cycle:g} B/cycle DRAM at "
        f"{hw.dram.energy_pj_per_byte:g} pJ/B): each workload on its best fixed split for "
        "layers run one "
        "after another (MACs, adders, multipliers: `accelsim.analytic.allocation.allocate`, "
        "sequential model), its MAC array reshaped to the column count (4 to 64) that gives "
        "its sequential run the fewest cycles; the overlap run uses the same shape. *cycles*: "
        f"one inference at {hw.clock_mhz:g} MHz; *energy µJ*: per inference, every component "
        f"(arithmetic, SRAM, DRAM; {leak}). *thr* and *energy* without a unit are "
        "normalised to the fp16 baseline on the MAC-only accelerator of the same area"
        f"{shape}, under the same schedule: throughput = reference cycles / cycles, energy = "
        "energy / reference energy. Energy is the same under both schedules because it is "
        "priced from what is done (operations, SRAM and DRAM bytes), which the schedule does "
        "not change; only leakage, priced over the run's time, would differ. The Gantt chart "
        "`gantt.png` is the overlap run of the hybrid α = 0.375, r = 1.6c row, on its shape.")


_HEAD = ["network", "α", "r", "thr published", "thr balance", "thr sequential",
         "thr DES seq.", "thr DES overlap", "energy published", "energy", "MAC share bal.",
         "MAC share seq.", "seq. gap"]


def _markdown(rows: Sequence[dict]) -> str:
    body = [[r["network"], "-" if r["alpha"] is None else f"{r['alpha']:g}", r["r"] or "-",
             r["published_throughput"], r["balance_throughput"], r["sequential_throughput"],
             r["des_sequential_throughput"], r["des_overlap_throughput"],
             r["published_energy"], r["energy"], r["mac_share_balance"],
             r["mac_share_sequential"], f"{100 * r['sequential_gap']:.0f}%"] for r in rows]
    notes = ("Throughput and energy normalised to the fp16 baseline on a MAC-only accelerator of "
             "the same area (paper config). *balance*: the paper's whole-network bound (paper "
             "accounting); *sequential*: layers one after another on the best fixed split "
             "(op counts); *DES*: discrete-event engine on that split (MAC-array aspect ratio "
             "chosen by simulation, reference included), sequential or overlapped "
             "layers; *seq. gap*: sequential below balance. *energy*: operations priced by the "
             "paper's cost model (MAC = 5 additions, multiplication = 2.15, memory ignored) "
             "over the baseline's MAC energy. The baseline row is the reference itself (1 by "
             "definition: on the MAC-only accelerator its bias adds are preloaded into the "
             "accumulators); every other row is evaluated on the same-area MAC/adder "
             "accelerator, where the paper's convention counts bias adds as adder work.")
    return markdown(_HEAD, body, 2) + "\n\n" + notes


def _write_tables(out: Path, rows: Sequence[dict], rows_45: Sequence[dict],
                  real: HardwareConfig, ref_shape: tuple[int, int] | None) -> list[Path]:
    import pandas as pd

    files = [out / "comparison.csv", out / "comparison.md"]
    pd.DataFrame(list(rows)).to_csv(files[0], index=False, lineterminator="\n")
    files[1].write_text(_markdown(rows) + "\n", encoding="utf-8")
    if rows_45:
        files.append(out / "des_45nm.csv")
        pd.DataFrame(list(rows_45)).to_csv(files[-1], index=False, lineterminator="\n")
        files.append(out / "des_45nm.md")
        files[-1].write_text(markdown(_HEAD_45, [list(r.values()) for r in rows_45], 3) +
                             "\n\n" + caption_45nm(real, ref_shape) + "\n", encoding="utf-8")
    return files


def _figures(out: Path, wls: Sequence[Workload], frac: pd.DataFrame, real: HardwareConfig,
             splits: dict[str, HardwareConfig], des: dict, with_des: bool) -> list[Path]:
    files = [plot_fraction(frac, out / "fraction.png", baseline=wls[0],
                           title="MobileNet-V1 0.5 on the paper config: throughput vs MAC share "
                                 "of the area (every other unit: adders)"),
             plot_pareto(frac, out / "pareto.png", baseline=wls[0], engines=("balance",),
                         title="Energy vs throughput (paper config, balance model, "
                               "every MAC share)")]
    if with_des and (FOCUS, SchedulePolicy.SEQUENTIAL) in des:
        # the runs of des_45nm.md's FOCUS row: its split, reshaped as the table says
        wl = next(w for w in wls if w.name == FOCUS)
        rows, cols = des[(FOCUS, SchedulePolicy.SEQUENTIAL)].shape
        shaped = _reshape(splits[FOCUS], rows, cols)
        res = evaluate(Model.DES, wl, shaped)
        files.append(save(layers_figure(res, title=(
            f"{FOCUS} on {real.name}, MAC array {rows}x{cols} (DES, sequential; the "
            f"des_45nm.md run): {res.cycles:,} cycles, {res.total_energy_pj / 1e6:,.1f} µJ")),
            out / "layers.png"))
        path = out / "timeline.json"
        ov = evaluate(Model.DES, wl, shaped, schedule=SchedulePolicy.OVERLAP, timeline=path)
        files += [path, plot_gantt(load_trace(path), out / "gantt.png", title=(
            f"{FOCUS} on {real.name}, MAC array {rows}x{cols} (DES, overlap; the des_45nm.md "
            f"run, {ov.cycles:,} cycles)"))]
    return files


def _reshape(hw: HardwareConfig, rows: int, cols: int) -> HardwareConfig:
    return replace(hw, mac_array=replace(hw.mac_array, rows=rows, cols=cols))
