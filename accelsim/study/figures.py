"""Figure recipes: the ``accelsim plot`` kinds as functions of files. Each reads a store /
workload / trace, builds the figure with :mod:`accelsim.results.plot` and writes it, returning
the path written.

With a ``baseline`` workload, store rows are normalised the paper's way
(:mod:`accelsim.dse.normalise`). The Pareto plot shows the published points
(:func:`accelsim.published.gope2019_mobilenet`) only where they are comparable
(:func:`published_for`): normalised axes, the paper's balance model, the paper's cost table,
and a workload of the paper's table in the store; otherwise it says in the figure why they are
left out. Workloads are labelled and coloured by family (:func:`accelsim.results.plotdata.
series_styles`). A MAC-share sweep that varies other fields too is drawn with one panel per
value of each (``by``), or refused with a message naming them.
"""
from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from accelsim.choices import Model, SchedulePolicy
from accelsim.documents import parse_json, read_text
from accelsim.dse.normalise import normalise_rows
from accelsim.dse.spec import MAC_FRACTION
from accelsim.dse.store import store_frame
from accelsim.errors import AccelsimWarning, InputError, Problem
from accelsim.evaluate import evaluate
from accelsim.hw.config import HardwareConfig
from accelsim.hw.load import hwconfig_from_dict
from accelsim.published import gope2019_mobilenet
from accelsim.results.plot import (
    FORMATS,
    fraction_figure,
    gantt_figure,
    layers_figure,
    pareto_figure,
    save,
)
from accelsim.results.plotdata import series_styles
from accelsim.results.records import Result
from accelsim.results.training_plots import accuracy_figure, load_sensitivity, sensitivity_figure
from accelsim.study.accuracy_section import accuracy_points, accuracy_workloads
from accelsim.workload.schema import Workload

if TYPE_CHECKING:  # pandas is imported where rows are built (it takes ~0.5 s)
    import pandas as pd


def published_points() -> list[dict]:
    """The paper's (throughput, energy) points, normalised to the fp16 baseline."""
    return [{"label": r.label, "workload": r.workload, "throughput": r.values["throughput"],
             "energy": r.values["energy"]} for r in gope2019_mobilenet()
            if r.values["throughput"] is not None and r.values["energy"] is not None]


def published_for(df: pd.DataFrame, baseline: Workload | None) -> tuple[list[dict], str]:
    """The published points comparable with store rows ``df`` (labelled like the rows'
    workloads), and, when there are none, why: the points are normalised (a ``baseline`` is
    needed), come from the paper's balance model with its cost table (MAC = 2 adder areas and
    5 adder energies, no memory energy, no leakage), and belong to the paper's workloads."""
    if baseline is None:
        return [], "published points left out: the axes are absolute (give --baseline)"
    engines = sorted(set(df["engine"]))
    if engines != [Model.BALANCE.value]:
        return [], ("published points left out: they come from the paper's balance model, "
                    f"these rows from {', '.join(engines)}")
    for text in sorted(set(df["config_json"])) if "config_json" in df.columns else ():
        why = _paper_costs(hwconfig_from_dict(json.loads(text)))
        if why:
            return [], f"published points left out: {why}"
    styles = series_styles(df["workload"].unique())
    points = [dict(p, label=styles[p["workload"]].label) for p in published_points()
              if p["workload"] in styles]
    if not points:
        return [], "published points left out: no workload of the paper's table is in the store"
    return points, ""


def _paper_costs(hw: HardwareConfig) -> str:
    """Why ``hw``'s cost table is not the paper's ("" if it is)."""
    u = hw.units
    if "mac" not in u or "add" not in u:
        return f"config {hw.name} lacks MAC or adder units"
    mac, add = u["mac"], u["add"]
    if not (math.isclose(mac.area_um2, 2 * add.area_um2, rel_tol=1e-6) and
            math.isclose(mac.energy_pj_per_op, 5 * add.energy_pj_per_op, rel_tol=1e-6)):
        return (f"config {hw.name}'s MAC is not 2 adder areas and 5 adder energies (the "
                "paper's cost model)")
    memory = [b.read_energy_pj_per_byte + b.write_energy_pj_per_byte + b.leakage_uw
              for _, b in hw.buffers.items()] + [hw.dram.energy_pj_per_byte] + \
        [c.leakage_uw for c in u.values()]
    if any(memory):
        return f"config {hw.name} prices memory or leakage, which the paper ignores"
    return ""


def frame(store: str | Path | pd.DataFrame, baseline: Workload | None = None,
          engines: tuple[str, ...] = ()) -> pd.DataFrame:
    """Store rows without errors (:func:`~accelsim.dse.store.store_frame`), normalised to
    ``baseline`` when given."""
    df = store_frame(store, engines)
    return normalise_rows(df, baseline) if baseline is not None else df


def _axes(baseline: Workload | None) -> tuple[str, str]:
    return ("throughput_norm", "energy_norm") if baseline is not None else \
        ("inferences_per_s", "energy_pj")


def swept_fields(df: pd.DataFrame) -> list[str]:
    """The fields a store's rows vary besides the workload and the model: the swept config
    fields, the base config, the schedule (within one model) and zero-skipping."""
    fields = []
    if "params_json" in df.columns:
        fields = sorted({k for p in df["params_json"] for k in json.loads(p)})
    out = []
    for f in ["hw", *fields, "schedule", "zero_skip"]:
        if f in df.columns and f not in out and \
                any(g[f].astype(str).nunique() > 1 for _, g in df.groupby("engine")):
            out.append(f)
    return out


def plot_fraction(store: str | Path | pd.DataFrame, out: str | Path, *,
                  baseline: Workload | None = None, engines: tuple[str, ...] = (),
                  by: Sequence[str] = (), title: str | None = None) -> Path:
    """Throughput and energy against the MAC share (the store needs a ``mac_fraction`` axis).
    A store that varies other fields too (:func:`swept_fields`) needs each of them in ``by``:
    one panel per value. Raises :class:`InputError` naming the fields otherwise."""
    check_out(out)
    df = frame(store, baseline, engines)
    if MAC_FRACTION not in df.columns:
        raise InputError(Problem("STORE", str(store), f"has no '{MAC_FRACTION}' axis to plot"))
    others = [f for f in swept_fields(df) if f != MAC_FRACTION]
    for f in by:
        if f not in others:
            raise InputError(Problem("--by", f, "not a field the store varies (it varies: "
                                     f"{', '.join(others) or 'nothing besides mac_fraction'})"))
    missing = [f for f in others if f not in by]
    if missing:
        values = {f: sorted(df[f].astype(str).unique()) for f in missing}
        raise InputError(Problem("--by", "<not given>", "the store also varies " + "; ".join(
            f"{f} ({', '.join(v[:6])}{', ...' if len(v) > 6 else ''})" for f, v in
            values.items()) + f": give --by {' --by '.join(missing)} for one panel per value, "
            "or plot a store without them (lines would mix their values)"))
    thr, en = _axes(baseline)
    fig = fraction_figure(df, throughput=thr, energy=en, title=title, facets=tuple(by),
                          throughput_label=_label(thr), energy_label=_label(en),
                          styles=series_styles(df["workload"].unique()))
    return save(fig, out)


def plot_pareto(store: str | Path | pd.DataFrame, out: str | Path, *,
                baseline: Workload | None = None, engines: tuple[str, ...] = (),
                published: bool = True, title: str | None = None,
                accuracy: Sequence[str | Path | Workload] = ()) -> Path:
    """Energy against throughput with the front, and the published points where they are
    comparable (:func:`published_for`; otherwise a note in the figure says why, and an
    :class:`~accelsim.errors.AccelsimWarning` is issued when they were asked for).

    With ``accuracy`` (workload files, folders of them, or workloads): accuracy against energy
    and against throughput instead, for the rows whose workload is one of them and carries an
    accuracy (:func:`accelsim.study.accuracy_section.accuracy_points`: each workload's
    energy-throughput Pareto points large, its other points small). Rows without one are left
    out with a note in the figure and an :class:`~accelsim.errors.AccelsimWarning`; none with
    one raises :class:`InputError`."""
    check_out(out)
    wls = accuracy_workloads(accuracy)
    df = frame(store, baseline, engines)
    thr, en = _axes(baseline)
    if accuracy:
        points, note = accuracy_points(df, wls, thr, en)
        if note:
            warnings.warn(note, AccelsimWarning, stacklevel=2)
        if not points:
            raise InputError(Problem("--accuracy", ", ".join(map(str, accuracy)),
                                     "no row of the store is of a workload given there that "
                                     "carries an accuracy"))
        legend = "large: each workload's Pareto points (energy against throughput); small: " \
                 "its other design points"
        fig = accuracy_figure(points, energy_label=_label(en), throughput_label=_label(thr),
                              title=title, note=legend + (f"\n{note}" if note else ""),
                              reference=1.0 if baseline is not None else None)
        return save(fig, out)
    pub, why = published_for(df, baseline) if published else ([], "")
    if why and baseline is not None:
        warnings.warn(why, AccelsimWarning, stacklevel=2)
    fig = pareto_figure(df, throughput=thr, energy=en, published=pub, title=title,
                        throughput_label=_label(thr), energy_label=_label(en), note=why or None,
                        styles=series_styles(df["workload"].unique()))
    return save(fig, out)


def plot_layers(wl: Workload, hw: HardwareConfig, out: str | Path, *,
                engine: Model | str = Model.DES,
                schedule: SchedulePolicy | str = SchedulePolicy.SEQUENTIAL,
                zero_skip: bool = False) -> Path:
    """Per-layer stacked cycles and energy of one run (``sequential``, ``analytic`` or ``des``;
    the ``balance`` model has no per-layer timing)."""
    check_out(out)
    model = Model.parse(engine, "--engine")
    if model is Model.BALANCE:
        raise InputError(Problem("--engine", engine,
                                 "per-layer results come from sequential, analytic or des"))
    res: Result = evaluate(model, wl, hw, schedule=schedule, zero_skip=zero_skip)
    return save(layers_figure(res), out)


def load_trace(path: str | Path) -> list[dict]:
    """Events of a Chrome trace file (a JSON list, or an object with ``traceEvents``)."""
    path = Path(path)
    text = read_text(path)
    try:
        doc = parse_json(text, str(path))
    except json.JSONDecodeError as exc:
        raise InputError(Problem("<document>", f"line {exc.lineno}", "malformed JSON"),
                         str(path))
    except RecursionError:
        raise InputError(Problem("<document>", "<nested too deeply>", "malformed JSON"),
                         str(path)) from None
    events = doc.get("traceEvents") if isinstance(doc, dict) else doc
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise InputError(Problem("traceEvents", type(events).__name__,
                                 "must be a list of event objects"), str(path))
    for i, e in enumerate(events):
        if e.get("ph") == "X" and not all(isinstance(e.get(k), (int, float)) and
                                          not isinstance(e.get(k), bool) and
                                          math.isfinite(e.get(k)) for k in ("ts", "dur")):
            raise InputError(Problem(f"traceEvents[{i}]", e.get("name"),
                                     "an 'X' event needs numeric, finite ts and dur"), str(path))
        for key in ("pid", "tid"):
            if key in e and (isinstance(e[key], bool) or not isinstance(e[key], (int, str))):
                raise InputError(Problem(f"traceEvents[{i}].{key}", e[key],
                                         "must be an integer or a string"), str(path))
        if "args" in e and not isinstance(e["args"], dict):
            raise InputError(Problem(f"traceEvents[{i}].args", e["args"], "must be a mapping"),
                             str(path))
    if not any(e.get("ph") == "X" for e in events):
        raise InputError(Problem("traceEvents", f"{len(events)} events",
                                 "no complete ('ph': 'X') events to draw"), str(path))
    return events


def plot_gantt(trace: str | Path | list, out: str | Path, *, title: str | None = None) -> Path:
    """Gantt chart of a Chrome trace (a file path or a list of events); the title is ``title``,
    else the trace's process name (accelsim writes the workload, config, schedule and MAC
    array shape there), else the file name."""
    check_out(out)
    events = load_trace(trace) if isinstance(trace, (str, Path)) else trace
    procs = [e.get("args", {}).get("name") for e in events
             if e.get("ph") == "M" and e.get("name") == "process_name"]
    name = title or next((str(p) for p in procs if p), None) or \
        (Path(trace).name if isinstance(trace, (str, Path)) else "Timeline")
    return save(gantt_figure(events, title=name), out)


def plot_sensitivity(result: str | Path, out: str | Path) -> Path:
    """Write the per-filter loss against hidden width figure of an ``accelsim sensitivity``
    result (JSON) to ``out`` (.png, .svg or .pdf). Raises :class:`InputError` for a bad file
    or suffix. Needs no torch."""
    check_out(out)
    return save(sensitivity_figure(load_sensitivity(result)), out)


def check_out(out: str | Path) -> Path:
    """``out`` as a Path; raises :class:`InputError` unless it ends in .png, .svg or .pdf
    (checked before any work is done)."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise InputError(Problem("--out", str(out), f"must end in {', '.join(FORMATS)}"))
    return out


def _label(col: str) -> str:
    return {"throughput_norm": "throughput (x baseline, same-area MAC-only)",
            "energy_norm": "energy (x baseline)", "inferences_per_s": "inferences / s",
            "energy_pj": "energy per inference (pJ)"}[col]
