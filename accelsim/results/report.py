"""``accelsim report``: the bundled MobileNets on the bundled configs, as tables and figures.

For every workload of the paper's table (:func:`accelsim.published.gope2019_mobilenet`):

* on ``paper.yaml``: the paper's whole-network balance bound (its accounting convention, so the
  published digits reproduce), the op-count sequential model on the best fixed split
  (:func:`accelsim.analytic.allocation.allocate` with ``model="sequential"``), and the
  discrete-event engine on that split (MAC-array aspect ratio chosen by simulation, reference included) under both schedules; every throughput is normalised to the
  baseline on a MAC-only array of the same area under the same model, energy to the baseline's
  MAC energy (the paper's definitions);
* on ``iso_area_45nm.yaml`` (real memories): the DES on each workload's best sequential split,
  both schedules, with absolute energy per inference.

Figures: throughput/energy vs MAC share (a sweep of the split, both op-count models), energy vs
throughput with the Pareto front and the published points, per-layer cycles and energy of one
DES run, and the Gantt chart of its timeline. Only this module (and :mod:`accelsim.dse`) uses
pandas; figures come from :mod:`accelsim.results.plot`.
"""
from __future__ import annotations

import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from accelsim.analytic.allocation import allocate, mac_only
from accelsim.compare import compare
from accelsim.dse.allocate import drop_idle_units
from accelsim.errors import InputError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.hw.load import load_hwconfig
from accelsim.published import gope2019_mobilenet
from accelsim.results.text import markdown
from accelsim.workload.load import load_workload
from accelsim.workload.schema import Workload

#: The workload whose per-layer result and timeline are drawn.
FOCUS = "mobilenet_v1_0.5_hybrid_a0.375_r1.6"
SCHEDULES = ("sequential", "overlap")
FRACTIONS = 101


@dataclass(frozen=True)
class Report:
    """What :func:`report` wrote: the paper-config table rows, its markdown, the 45 nm rows,
    every file, and the wall time."""

    out: Path
    rows: tuple[dict, ...]
    markdown: str
    rows_45nm: tuple[dict, ...]
    files: tuple[Path, ...]
    elapsed_s: float


def report(out: str | Path = "report", *, workload_dir: str | Path = "workloads",
           hw_dir: str | Path = "hwconfigs", jobs: int = 1, des: bool = True) -> Report:
    """Run everything (see module docstring) and write it into ``out``.

    ``des=False`` leaves the discrete-event columns and figures out. Raises :class:`InputError`
    if a bundled workload or config is missing."""
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
    cmp_paper = {r.workload: r for r in compare(wls, paper, baseline=base, convention="paper")}
    splits = {wl.name: drop_idle_units(wl, allocate(wl, paper, model="sequential").config)
              for wl in wls}
    splits_45 = {wl.name: drop_idle_units(wl, allocate(wl, real, model="sequential").config)
                 for wl in wls}
    des_paper: dict[tuple[str, str], Any] = {}
    des_45: dict[tuple[str, str], Any] = {}
    if des:
        runs = [(wl, splits[wl.name]) for wl in wls] + [(base, mac_only(paper))]
        runs += [(wl, splits_45[wl.name]) for wl in wls] + [(base, mac_only(real))]
        results = _map(_simulate, runs, jobs)
        n = len(wls) + 1
        for (wl, cfg), pair in zip(runs[:n], results[:n]):
            for s, res in zip(SCHEDULES, pair):
                des_paper[(wl.name if cfg.name != f"{paper.name}_mac_only" else "ref", s)] = res
        for (wl, cfg), pair in zip(runs[n:], results[n:]):
            for s, res in zip(SCHEDULES, pair):
                des_45[(wl.name if cfg.name != f"{real.name}_mac_only" else "ref", s)] = res
    rows = tuple(_paper_row(r, cmp_paper[r.workload], des_paper) for r in published)
    rows_45 = tuple(_real_row(wl, splits_45[wl.name], des_45) for wl in wls) if des else ()
    files = _write_tables(out, rows, rows_45)
    files += _figures(out, wls, paper, real, splits_45, des_45, des)
    text = _markdown(rows)
    return Report(out, rows, text, rows_45, tuple(files), time.perf_counter() - t0)


def _simulate(args: tuple[Workload, HardwareConfig]) -> Any:
    """DES results for every schedule, on the MAC-array aspect ratio that suits ``wl`` best
    (:func:`accelsim.study.best_shape`: depthwise layers depend on it heavily)."""
    from accelsim.engine import simulate
    from accelsim.study import best_shape

    wl, hw = args
    shaped, first = best_shape(wl, hw, SCHEDULES[0])
    return tuple(first if i == 0 and first is not None else
                 simulate(wl, shaped, engine="des", schedule=s) for i, s in enumerate(SCHEDULES))


def _map(fn: Callable, items: Sequence, jobs: int) -> list:
    if jobs <= 1 or len(items) < 2:
        return [fn(x) for x in items]
    import multiprocessing as mp

    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        return list(pool.map(fn, items, chunksize=max(1, len(items) // (4 * jobs))))


def _paper_row(pub: Any, c: Any, des: dict) -> dict:
    row = {"network": pub.network, "alpha": pub.alpha, "r": pub.r, "workload": pub.workload,
           "published_throughput": pub.values["throughput"], "balance_throughput":
           c.thr_balance, "sequential_throughput": c.thr_sequential}
    for s in SCHEDULES:
        res, ref = des.get((pub.workload, s)), des.get(("ref", s))
        row[f"des_{s}_throughput"] = ref.cycles / res.cycles if res and ref else math.nan
    row.update({"published_energy": pub.values["energy"], "energy": c.energy,
                "mac_share_balance": c.mac_share_balance,
                "mac_share_sequential": c.mac_share_sequential,
                "sequential_gap": 1.0 - c.thr_sequential / c.thr_balance})
    return row


def _real_row(wl: Workload, cfg: HardwareConfig, des: dict) -> dict:
    row: dict = {"workload": wl.name, "macs": cfg.counts["mac"], "adders": cfg.counts["add"],
                 "multipliers": cfg.counts["mul"]}
    for s in SCHEDULES:
        res, ref = des.get((wl.name, s)), des.get(("ref", s))
        row[f"des_{s}_cycles"] = res.cycles
        row[f"des_{s}_throughput"] = ref.cycles / res.cycles
        row[f"des_{s}_energy_uj"] = res.total_energy_pj / 1e6
        row[f"des_{s}_energy"] = res.total_energy_pj / ref.total_energy_pj
    return row


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
             "(op counts); *DES*: discrete-event engine on that split (MAC-array aspect ratio chosen by simulation, reference included), sequential or overlapped "
             "layers; *seq. gap*: sequential below balance. The baseline's balance value "
             "is below 1 because the paper's balance convention counts bias adds as adder "
             "work; its reference (1 by definition) preloads them into the accumulators.")
    return markdown(_HEAD, body, 2) + "\n\n" + notes


def _write_tables(out: Path, rows: Sequence[dict], rows_45: Sequence[dict]) -> list[Path]:
    import pandas as pd

    files = [out / "comparison.csv", out / "comparison.md"]
    pd.DataFrame(list(rows)).to_csv(files[0], index=False, lineterminator="\n")
    files[1].write_text(_markdown(rows) + "\n", encoding="utf-8")
    if rows_45:
        files.append(out / "des_45nm.csv")
        pd.DataFrame(list(rows_45)).to_csv(files[-1], index=False, lineterminator="\n")
        files.append(out / "des_45nm.md")
        head = list(rows_45[0])
        files[-1].write_text(markdown(head, [list(r.values()) for r in rows_45], 3) + "\n",
                             encoding="utf-8")
    return files


def _figures(out: Path, wls: Sequence[Workload], paper: HardwareConfig,
             real: HardwareConfig, splits: dict, des: dict, with_des: bool) -> list[Path]:
    from accelsim.dse.figures import plot_fraction, plot_gantt, plot_pareto
    from accelsim.results.plot import layers_figure, save

    df = _fraction_sweep(wls, paper)
    files = [plot_fraction(df, out / "fraction.png", baseline=wls[0],
                           title="MobileNet-V1 0.5 on the paper config: throughput and energy "
                                 "vs MAC share of the area"),
             plot_pareto(df, out / "pareto.png", baseline=wls[0], engines=("balance",),
                         title="Energy vs throughput (paper config, balance model, "
                               "every MAC share)")]
    if with_des and (FOCUS, "sequential") in des:
        res = des[(FOCUS, "sequential")]
        files.append(save(layers_figure(res), out / "layers.png"))
        events = _timeline(next(w for w in wls if w.name == FOCUS), splits[FOCUS], "overlap",
                           out / "timeline.json")
        files += [out / "timeline.json",
                  plot_gantt(events, out / "gantt.png",
                             title=f"{FOCUS} on {real.name} (DES, overlap)")]
    return files


def _fraction_sweep(wls: Sequence[Workload], hw: HardwareConfig) -> Any:
    """Store-like rows of a MAC-share sweep (balance and sequential), in memory."""
    from accelsim.dse.points import Inputs, iter_points
    from accelsim.dse.spec import SweepSpec, expand_range
    from accelsim.dse.spec import Axis
    from accelsim.dse.store import expand_params
    from accelsim.dse.sweep import run_points
    from accelsim.hw.load import hwconfig_hash
    from accelsim.workload.load import workload_hash
    import pandas as pd

    spec = SweepSpec(hw=("<report>",), workloads=tuple(w.name for w in wls),
                     axes=(Axis("mac_fraction", expand_range(
                         {"start": 0.0, "stop": 1.0, "num": FRACTIONS}, "mac_fraction")),),
                     engines=("balance", "sequential"))
    inputs = Inputs(("<report>",), (hw,), (hwconfig_hash(hw),), spec.workloads, tuple(wls),
                    tuple(workload_hash(w) for w in wls))
    return expand_params(pd.DataFrame(run_points(iter_points(spec, inputs), inputs)))


def _timeline(wl: Workload, hw: HardwareConfig, schedule: str, path: Path) -> list[dict]:
    """Chrome trace events of one DES run (also written to ``path``)."""
    from accelsim.dse.figures import load_trace
    from accelsim.engine import simulate

    simulate(wl, hw, engine="des", schedule=schedule, timeline=path)
    return load_trace(path)
