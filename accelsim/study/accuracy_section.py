"""The report's "accuracy beside hardware" section: trained workloads on the report's configs.

The workloads of ``workloads/trained/`` carry the test accuracy measured when their checkpoint
was exported (:func:`accelsim.workload.accuracy.workload_accuracy`). This section simulates each
of them with the discrete-event engine on every config the report simulates, the way the report
treats the MobileNets (``des_45nm.md``): each workload on its best fixed split for layers run
one after another (:func:`accelsim.analytic.allocation.allocate`, sequential model, idle unit
classes dropped), its MAC array reshaped to the column count that gives its sequential run the
fewest cycles, under both schedules. Throughput and energy are normalised
(:func:`accelsim.evaluate.normalise`) to the trained fp16 baseline on the MAC-only accelerator
of the same area, its array shaped the same way, under the same schedule; that reference is a
row of its own (exactly 1 by construction). Every run goes through the report's result store,
so a killed report resumes here too.

Writes ``accuracy.csv``, ``accuracy.md`` and one figure per config, ``accuracy_<config>.png``:
accuracy against normalised energy and against normalised throughput (sequential schedule), one
labelled point per variant, the reference as a dotted line at 1
(:func:`accelsim.results.training_plots.accuracy_figure`).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from accelsim.analytic.allocation import allocate
from accelsim.choices import Model, SchedulePolicy
from accelsim.dse.allocate import drop_idle_units
from accelsim.errors import InputError, Problem
from accelsim.evaluate import Reference, normalise
from accelsim.hw.config import HardwareConfig
from accelsim.hw.rules import mac_only
from accelsim.results.pareto import pareto_mask
from accelsim.results.plot import save
from accelsim.results.plotdata import series_styles
from accelsim.results.text import markdown
from accelsim.results.training_plots import accuracy_figure
from accelsim.study.compare import pick_baseline
from accelsim.workload.accuracy import workload_accuracy, workload_training
from accelsim.workload.load import load_workload, workload_hash
from accelsim.workload.schema import Workload

if TYPE_CHECKING:  # pandas is imported where rows are read (it takes ~0.5 s)
    import pandas as pd

#: Label of the reference row (the baseline on the MAC-only accelerator).
REFERENCE_LABEL = "fp16 baseline, MAC-only (reference)"
SCHEDULES = (SchedulePolicy.SEQUENTIAL, SchedulePolicy.OVERLAP)


class DesRunLike(Protocol):
    """What a DES run read back from the report's store gives (``report.DesRun``)."""

    @property
    def cycles(self) -> int: ...

    @property
    def energy_pj(self) -> float: ...

    @property
    def shape(self) -> tuple[int, int]: ...


#: ``runs -> [(sequential, overlap)]`` for (workload name, config) pairs: the report's
#: ``_Store.des_runs`` over the trained workloads (array shape chosen by simulation).
DesRunner = Callable[[Sequence[tuple[str, HardwareConfig]]],
                     Sequence[tuple[DesRunLike, DesRunLike]]]


@dataclass(frozen=True)
class AccuracySection:
    """The section's rows (one dict per config and workload, reference first; the columns of
    ``accuracy.csv``), its markdown with caption, and the files written."""

    rows: tuple[dict, ...]
    markdown: str
    files: tuple[Path, ...]


def load_trained(folder: str | Path) -> tuple[Workload, ...]:
    """The workloads (``*.json``) of ``folder`` that carry an accuracy, baseline first then in
    the figures' order; ``()`` when the folder does not exist or holds none. Raises the
    loader's :class:`InputError` for a bad file, and one when they carry accuracies but not
    exactly one of them is an all-fp baseline."""
    folder = Path(folder)
    if not folder.is_dir():
        return ()
    wls = [wl for wl in (load_workload(p) for p in sorted(folder.glob("*.json")))
           if workload_accuracy(wl) is not None]
    if not wls:
        return ()
    base = pick_baseline(wls)
    order = list(series_styles(w.name for w in wls))
    return (base, *sorted((w for w in wls if w is not base), key=lambda w: order.index(w.name)))


def best_split(wl: Workload, hw: HardwareConfig) -> HardwareConfig:
    """``wl``'s best fixed split of ``hw``'s area (sequential op-count model), unit classes it
    does not use dropped: the config the report simulates it on."""
    return drop_idle_units(wl, allocate(wl, hw, model=Model.SEQUENTIAL).config)


def accuracy_section(out: str | Path, workloads: Sequence[Workload],
                     configs: Sequence[HardwareConfig], des_runs: DesRunner) -> AccuracySection:
    """Simulate ``workloads`` (:func:`load_trained`: baseline first) on each of ``configs``
    through ``des_runs`` and write the table and figures into ``out`` (see module docstring).
    Raises :class:`InputError` if a workload carries no accuracy or a run failed."""
    out = Path(out)
    base = workloads[0]
    for wl in workloads:
        if workload_accuracy(wl) is None:
            raise InputError(Problem("provenance.training.accuracy", "<missing>",
                                     "the accuracy section needs trained workloads"), wl.name)
    styles = series_styles(w.name for w in workloads)
    runs: list[tuple[str, HardwareConfig]] = []
    for hw in configs:
        runs.append((base.name, mac_only(hw)))
        runs += [(wl.name, best_split(wl, hw)) for wl in workloads]
    results = list(des_runs(runs))
    if len(results) != len(runs):
        raise InputError(Problem("accuracy section", f"{len(results)} results",
                                 f"expected one per run ({len(runs)})"))
    rows: list[dict] = []
    per = len(workloads) + 1
    for i, hw in enumerate(configs):
        refs = {s: Reference(Model.DES, float(r.cycles), r.energy_pj)
                for s, r in zip(SCHEDULES, results[i * per])}
        for k in range(per):
            wl = base if k == 0 else workloads[k - 1]
            label = REFERENCE_LABEL if k == 0 else styles[wl.name].label
            rows.append(_row(hw, wl, label, runs[i * per + k][1], results[i * per + k], refs))
    import pandas as pd

    files = [out / "accuracy.csv", out / "accuracy.md"]
    pd.DataFrame(rows).to_csv(files[0], index=False, lineterminator="\n")
    text = _markdown(rows, configs, base)
    files[1].write_text(text + "\n", encoding="utf-8")
    for hw in configs:
        points = [{"workload": r["variant"], "accuracy": r["accuracy"],
                   "energy": r["des_sequential_energy"],
                   "throughput": r["des_sequential_throughput"],
                   "color": styles[r["workload"]].color} for r in rows
                  if r["config"] == hw.name and r["variant"] != REFERENCE_LABEL]
        if not all(math.isfinite(p["energy"]) and math.isfinite(p["throughput"])
                   for p in points):
            raise InputError(Problem("accuracy section", hw.name,
                                     "a run gave no finite throughput or energy"))
        fig = accuracy_figure(
            points, energy_label="energy per inference (x reference)",
            throughput_label="throughput, DES sequential (x reference)",
            title=f"Trained workloads on {hw.name}; dotted: the reference (fp16 baseline on "
                  "the same-area MAC-only accelerator)", reference=1.0)
        files.append(save(fig, out / f"accuracy_{hw.name}.png"))
    return AccuracySection(tuple(rows), text, tuple(files))


def _row(hw: HardwareConfig, wl: Workload, label: str, cfg: HardwareConfig,
         pair: tuple[DesRunLike, DesRunLike], refs: dict[SchedulePolicy, Reference]) -> dict:
    training = workload_training(wl) or {}
    rows, cols = pair[0].shape
    row: dict = {"config": hw.name, "workload": wl.name, "variant": label,
                 "accuracy": workload_accuracy(wl), "test_images": training.get("test_images"),
                 "macs": cfg.counts["mac"], "adders": cfg.counts["add"],
                 "multipliers": cfg.counts["mul"],
                 "mac_array": f"{rows}x{cols}" if rows else "-"}
    for s, res in zip(SCHEDULES, pair):
        n = normalise((float(res.cycles), res.energy_pj), refs[s])
        row[f"des_{s}_cycles"] = res.cycles
        row[f"des_{s}_throughput"] = n.throughput
        row[f"des_{s}_energy_uj"] = res.energy_pj / 1e6
        row[f"des_{s}_energy"] = n.energy
    return row


_HEAD = ["config", "variant", "accuracy", "MACs", "adders", "multipliers",
         "MAC array (rows x cols)", "cycles, seq.", "thr seq.", "thr overlap",
         "energy µJ, seq.", "energy seq.", "energy overlap"]


def _markdown(rows: Sequence[dict], configs: Sequence[HardwareConfig], base: Workload) -> str:
    body = [[r["config"], r["variant"], f"{100 * r['accuracy']:.2f}%", r["macs"], r["adders"],
             r["multipliers"], r["mac_array"], r["des_sequential_cycles"],
             r["des_sequential_throughput"], r["des_overlap_throughput"],
             r["des_sequential_energy_uj"], r["des_sequential_energy"],
             r["des_overlap_energy"]] for r in rows]
    training = workload_training(base) or {}
    spec = base.provenance.get("params", {}) if isinstance(base.provenance, dict) else {}
    net = f"{spec.get('model', '?')} (width {spec.get('width', '?')}, " \
          f"{spec.get('resolution', '?')}x{spec.get('resolution', '?')} input)"
    caption = (
        f"Trained workloads ({', '.join(sorted({str(r['workload']) for r in rows}))}): "
        f"{net} trained on {training.get('data', '?')}; *accuracy* is the top-1 accuracy of "
        f"the exported (BatchNorm-folded, quantized) network on the test split "
        f"({training.get('test_images', '?')} images), stored in the workload's "
        "`provenance.training.accuracy` when it was traced. Discrete-event engine on "
        f"{', '.join(f'`{c.name}`' for c in configs)}: each workload on its best fixed split "
        "for layers run one after another (MACs, adders, multipliers: "
        "`accelsim.analytic.allocation.allocate`, sequential model), its MAC array reshaped "
        "to the column count (4 to 64) that gives its sequential run the fewest cycles; the "
        "overlap run uses the same shape. *thr* and *energy* without a unit are normalised to "
        "the trained fp16 baseline on the MAC-only accelerator of the same area (the "
        f"*{REFERENCE_LABEL}* row, its array shaped the same way), under the same config and "
        "schedule: throughput = reference cycles / cycles, energy = energy / reference "
        "energy. The figures `accuracy_<config>.png` draw accuracy against *energy seq.* and "
        "*thr seq.*.")
    return markdown(_HEAD, body, 3) + "\n\n" + caption


def accuracy_workloads(paths: Sequence[str | Path | Workload]) -> tuple[Workload, ...]:
    """Workloads from files, folders (their ``*.json``) or loaded ones, for
    :func:`accuracy_points`. Raises :class:`InputError` for a path that is neither, or the
    loader's for a bad file."""
    out: list[Workload] = []
    for p in paths:
        if isinstance(p, Workload):
            out.append(p)
        elif Path(p).is_dir():
            out += [load_workload(f) for f in sorted(Path(p).glob("*.json"))]
        elif Path(p).is_file():
            out.append(load_workload(p))
        else:
            raise InputError(Problem("--accuracy", str(p), "no such workload file or folder"))
    return tuple(out)


def accuracy_points(df: pd.DataFrame, workloads: Sequence[Workload], throughput: str,
                    energy: str) -> tuple[list[dict], str]:
    """Points for :func:`~accelsim.results.training_plots.accuracy_figure` from store rows
    ``df`` (error rows already left out): each row whose workload (matched by
    ``workload_hash``, so the file swept) carries an accuracy, highlighted when it is on its
    workload's front of ``energy`` against ``throughput`` (:func:`pareto_mask`; the front's
    fastest point labelled), coloured by family. Also a one-line note on the rows left out
    (``""`` if none)."""
    acc = {workload_hash(w): a for w in workloads if (a := workload_accuracy(w)) is not None}
    given = {w.name for w in workloads}
    has = df["workload_hash"].map(lambda h: h in acc).to_numpy(bool)
    kept, left = df[has], df[~has]
    styles = series_styles(kept["workload"].unique())
    points: list[dict] = []
    for name, style in styles.items():       # families in the figures' order
        g = kept[kept["workload"] == name]
        thr, en = g[throughput].to_numpy(float), g[energy].to_numpy(float)
        front = pareto_mask(thr, en)
        fastest = thr[front].max() if front.any() else math.nan
        for on, x, e, h in zip(front, thr, en, g["workload_hash"]):
            points.append({"workload": style.label, "accuracy": acc[h], "energy": e,
                           "throughput": x, "color": style.color, "highlight": bool(on),
                           "label": style.label if on and x == fastest else ""})
    note = ""
    if len(left):
        names = sorted(left["workload"].unique())
        differ = [n for n in names if n in given]
        note = (f"{len(left)} of {len(df)} rows carry no accuracy and are left out "
                f"({', '.join(names[:4])}{', ...' if len(names) > 4 else ''}"
                + (f"; {', '.join(differ[:2])}: the file given is not the one swept or has no "
                   "accuracy" if differ else "") + ")")
    return points, note
