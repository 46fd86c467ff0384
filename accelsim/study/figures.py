"""Figure recipes: the ``accelsim plot`` kinds as functions of files. Each reads a store /
workload / trace, builds the figure with :mod:`accelsim.results.plot` and writes it, returning
the path written.

With a ``baseline`` workload, store rows are normalised the paper's way
(:mod:`accelsim.dse.normalise`) and the Pareto plot shows the published points
(:func:`accelsim.published.gope2019_mobilenet`); without one the axes are absolute
(inferences/s, pJ) and the published points, which are normalised, are left out.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from accelsim.choices import Model, SchedulePolicy
from accelsim.documents import parse_json, read_text
from accelsim.dse.normalise import normalise_rows
from accelsim.dse.spec import MAC_FRACTION
from accelsim.dse.store import store_frame
from accelsim.errors import InputError, Problem
from accelsim.evaluate import evaluate
from accelsim.hw.config import HardwareConfig
from accelsim.published import gope2019_mobilenet
from accelsim.results.plot import (
    FORMATS,
    fraction_figure,
    gantt_figure,
    layers_figure,
    pareto_figure,
    save,
)
from accelsim.results.records import Result
from accelsim.results.training_plots import load_sensitivity, sensitivity_figure
from accelsim.workload.schema import Workload

if TYPE_CHECKING:  # pandas is imported where rows are built (it takes ~0.5 s)
    import pandas as pd


def published_points() -> list[dict]:
    """The paper's (throughput, energy) points, normalised to the fp16 baseline."""
    return [{"label": r.label, "workload": r.workload, "throughput": r.values["throughput"],
             "energy": r.values["energy"]} for r in gope2019_mobilenet()
            if r.values["throughput"] is not None and r.values["energy"] is not None]


def frame(store: str | Path | pd.DataFrame, baseline: Workload | None = None,
          engines: tuple[str, ...] = ()) -> pd.DataFrame:
    """Store rows without errors (:func:`~accelsim.dse.store.store_frame`), normalised to
    ``baseline`` when given."""
    df = store_frame(store, engines)
    return normalise_rows(df, baseline) if baseline is not None else df


def _axes(baseline: Workload | None) -> tuple[str, str]:
    return ("throughput_norm", "energy_norm") if baseline is not None else \
        ("inferences_per_s", "energy_pj")


def plot_fraction(store: str | Path | pd.DataFrame, out: str | Path, *,
                  baseline: Workload | None = None, engines: tuple[str, ...] = (),
                  title: str | None = None) -> Path:
    """Throughput and energy against the MAC share (the store needs a ``mac_fraction`` axis)."""
    check_out(out)
    df = frame(store, baseline, engines)
    if MAC_FRACTION not in df.columns:
        raise InputError(Problem("STORE", str(store), f"has no '{MAC_FRACTION}' axis to plot"))
    thr, en = _axes(baseline)
    fig = fraction_figure(df, throughput=thr, energy=en, title=title,
                          throughput_label=_label(thr), energy_label=_label(en))
    return save(fig, out)


def plot_pareto(store: str | Path | pd.DataFrame, out: str | Path, *,
                baseline: Workload | None = None, engines: tuple[str, ...] = (),
                published: bool = True, title: str | None = None) -> Path:
    """Energy against throughput with the front (and the published points when normalised)."""
    check_out(out)
    df = frame(store, baseline, engines)
    thr, en = _axes(baseline)
    pub = published_points() if (published and baseline is not None) else None
    fig = pareto_figure(df, throughput=thr, energy=en, published=pub, title=title,
                        throughput_label=_label(thr), energy_label=_label(en))
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
    """Gantt chart of a Chrome trace (a file path or a list of events)."""
    check_out(out)
    events = load_trace(trace) if isinstance(trace, (str, Path)) else trace
    name = title or (Path(trace).stem if isinstance(trace, (str, Path)) else "Timeline")
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
