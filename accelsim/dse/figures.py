"""The ``accelsim plot`` kinds as functions of files: read a store / workload / trace, build the
figure with :mod:`accelsim.results.plot`, write it. Each returns the path written.

With a ``baseline`` workload, store rows are normalised the paper's way
(:mod:`accelsim.dse.normalise`) and the Pareto plot shows the published points
(:func:`accelsim.published.gope2019_mobilenet`); without one the axes are absolute
(inferences/s, pJ) and the published points, which are normalised, are left out.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from accelsim.dse.spec import MAC_FRACTION
from accelsim.errors import InputError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.workload.schema import Workload


def published_points() -> list[dict]:
    """The paper's (throughput, energy) points, normalised to the fp16 baseline."""
    from accelsim.published import gope2019_mobilenet

    return [{"label": r.label, "workload": r.workload, "throughput": r.values["throughput"],
             "energy": r.values["energy"]} for r in gope2019_mobilenet()
            if r.values["throughput"] is not None and r.values["energy"] is not None]


def store_frame(store: str | Path | Any, baseline: Workload | None = None,
                engines: tuple[str, ...] = ()) -> Any:
    """Store rows (a path, or a DataFrame already read) without error rows, filtered to
    ``engines`` when given, with normalised columns when ``baseline`` is given."""
    from accelsim.dse.store import ResultStore

    if isinstance(store, (str, Path)) and not Path(store).is_dir():
        raise InputError(Problem("STORE", str(store), "no such result store (a directory)"))
    df = ResultStore(store).frame() if isinstance(store, (str, Path)) else store
    df = df[df["error"].fillna("") == ""]
    if engines:
        df = df[df["engine"].isin(engines)]
    if df.empty:
        raise InputError(Problem("STORE", str(store) if isinstance(store, (str, Path)) else
                                 "<frame>", "holds no finished point without an error"))
    if baseline is not None:
        from accelsim.dse.normalise import normalise

        df = normalise(df, baseline)
    return df


def _axes(baseline: Workload | None) -> tuple[str, str]:
    return ("throughput_norm", "energy_norm") if baseline is not None else \
        ("inferences_per_s", "energy_pj")


def plot_fraction(store: str | Path | Any, out: str | Path, *,
                  baseline: Workload | None = None, engines: tuple[str, ...] = (),
                  title: str | None = None) -> Path:
    """Throughput and energy against the MAC share (the store needs a ``mac_fraction`` axis)."""
    check_out(out)
    from accelsim.results.plot import fraction_figure, save

    df = store_frame(store, baseline, engines)
    if MAC_FRACTION not in df.columns:
        raise InputError(Problem("STORE", str(store), f"has no '{MAC_FRACTION}' axis to plot"))
    thr, en = _axes(baseline)
    fig = fraction_figure(df, throughput=thr, energy=en, title=title,
                          throughput_label=_label(thr), energy_label=_label(en))
    return save(fig, out)


def plot_pareto(store: str | Path | Any, out: str | Path, *,
                baseline: Workload | None = None, engines: tuple[str, ...] = (),
                published: bool = True, title: str | None = None) -> Path:
    """Energy against throughput with the front (and the published points when normalised)."""
    check_out(out)
    from accelsim.results.plot import pareto_figure, save

    df = store_frame(store, baseline, engines)
    thr, en = _axes(baseline)
    pub = published_points() if (published and baseline is not None) else None
    fig = pareto_figure(df, throughput=thr, energy=en, published=pub, title=title,
                        throughput_label=_label(thr), energy_label=_label(en))
    return save(fig, out)


def simulate_result(wl: Workload, hw: HardwareConfig, *, engine: str = "des",
                    schedule: str = "sequential", zero_skip: bool = False) -> Any:
    """A priced per-layer :class:`~accelsim.results.records.Result` of ``engine``
    (``sequential``, ``analytic`` or ``des``)."""
    if engine == "sequential":
        from accelsim.analytic.balance import sequential

        return sequential(wl, hw, zero_skip=zero_skip)
    if engine not in ("analytic", "des"):
        raise InputError(Problem("--engine", engine,
                                 "per-layer results come from sequential, analytic or des"))
    from accelsim.engine import simulate

    return simulate(wl, hw, engine=engine, schedule=schedule, zero_skip=zero_skip)


def plot_layers(wl: Workload, hw: HardwareConfig, out: str | Path, *, engine: str = "des",
                schedule: str = "sequential", zero_skip: bool = False) -> Path:
    """Per-layer stacked cycles and energy of one run."""
    check_out(out)
    from accelsim.results.plot import layers_figure, save

    res = simulate_result(wl, hw, engine=engine, schedule=schedule, zero_skip=zero_skip)
    return save(layers_figure(res), out)


def load_trace(path: str | Path) -> list[dict]:
    """Events of a Chrome trace file (a JSON list, or an object with ``traceEvents``)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise InputError(Problem("<file>", str(path), f"cannot read: {why}"), str(path))
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
    from accelsim.results.plot import gantt_figure, save

    events = load_trace(trace) if isinstance(trace, (str, Path)) else trace
    name = title or (Path(trace).stem if isinstance(trace, (str, Path)) else "Timeline")
    return save(gantt_figure(events, title=name), out)


FORMATS = (".png", ".svg", ".pdf")


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
