"""Figures (matplotlib, Agg backend; the only module that imports matplotlib).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot's global state;
:func:`save` writes it as PNG, SVG or PDF (chosen by the file suffix). Inputs are plain data:
DataFrames of store rows (:mod:`accelsim.dse.store`), :class:`~accelsim.results.records.Result`
and Chrome trace events (``{"name", "ph": "X", "ts", "dur", "pid", "tid"}``).

* :func:`fraction_figure` — throughput and energy against the MAC share of the area, one line per
  workload and one column per model, the throughput optimum of each line marked with a star;
* :func:`pareto_figure` — energy against throughput, every design point, the Pareto front, and
  (normalised axes only) the paper's published points;
* :func:`layers_figure` — per-layer stacked cycles (compute and stalls by cause) and energy (by
  component) of one result;
* :func:`gantt_figure` — a Gantt chart of a timeline, one lane per (pid, tid).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accelsim.errors import InputError, Problem
from accelsim.outputs import atomic_path
from accelsim.results.pareto import pareto_mask
from accelsim.results.records import STALL_CAUSES, Result

if TYPE_CHECKING:  # matplotlib is imported when a figure is built (it takes ~0.5 s)
    import pandas as pd
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

FORMATS = (".png", ".svg", ".pdf")
OPTIMUM_LABEL = "throughput optimum"
FRONT_LABEL = "Pareto front"
PUBLISHED_LABEL = "published (Gope et al.)"
_METADATA = {"Software": None}  # no version string in the files: byte-stable output
_PANEL_TITLES = {"balance": "balance model (whole network, the paper's)",
                 "sequential": "sequential model (layers one after another)",
                 "analytic": "analytic bound (tiles)", "des": "discrete-event simulation"}


def save(fig: Figure, path: str | Path, dpi: int = 130) -> Path:
    """Write ``fig`` to ``path`` (.png, .svg or .pdf). Raises :class:`InputError` otherwise."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InputError(Problem("--out", str(path), f"must end in {', '.join(FORMATS)}"))
    meta: dict = {} if path.suffix.lower() == ".pdf" else dict(_METADATA)
    if path.suffix.lower() == ".svg":
        meta = {"Date": None}
    with atomic_path(path) as tmp:  # renamed over ``path`` only once complete
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", metadata=meta,
                    format=path.suffix.lower()[1:])
    return path


def _figure(**kwargs: Any) -> Figure:
    """A new figure (Agg backend, no pyplot state)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _line(**kwargs: Any) -> Line2D:
    from matplotlib.lines import Line2D

    return Line2D([], [], **kwargs)


def _colors(n: int) -> list:
    import matplotlib

    cmap = matplotlib.colormaps["tab20" if n > 10 else "tab10"]
    return [cmap(i % cmap.N) for i in range(n)]


def fraction_figure(df: Any, *, x: str = "mac_fraction", throughput: str = "throughput_norm",
                  energy: str = "energy_norm", series: str = "workload",
                  columns: str = "engine", title: str | None = None,
                  throughput_label: str = "throughput (x MAC-only baseline)",
                  energy_label: str = "energy (x baseline)") -> Figure:
    """Throughput (top row) and energy (bottom row) against ``x``; one line per ``series``
    value, one column per ``columns`` value; a star marks each line's throughput optimum (at
    the same ``x`` in the energy panel). Rows with an error or NaN are left out."""
    df = _ok_rows(df, [x, throughput, energy])
    panels = sorted(df[columns].unique()) if len(df) else ["-"]
    names = sorted(df[series].unique()) if len(df) else []
    colors = dict(zip(names, _colors(len(names))))
    fig = _figure(figsize=(6.2 * len(panels) + 2.8, 8.0), layout="constrained")
    axes = fig.subplots(2, len(panels), squeeze=False, sharex=True)
    for j, panel in enumerate(panels):
        top, bottom = axes[0][j], axes[1][j]
        sub = df[df[columns] == panel]
        opt_x, opt_t, opt_e = [], [], []
        for name in names:
            g = sub[sub[series] == name].sort_values(x)
            if g.empty:
                continue
            top.plot(g[x], g[throughput], color=colors[name], label=name, lw=1.4)
            bottom.plot(g[x], g[energy], color=colors[name], label=name, lw=1.4)
            best = g.loc[g[throughput].idxmax()]
            opt_x.append(best[x])
            opt_t.append(best[throughput])
            opt_e.append(best[energy])
        for ax, ys in ((top, opt_t), (bottom, opt_e)):
            ax.plot(opt_x, ys, linestyle="none", marker="*", markersize=11, color="black",
                    label=OPTIMUM_LABEL, zorder=5)
            ax.grid(alpha=0.3)
        top.set_title(_PANEL_TITLES.get(str(panel), f"{columns} = {panel}"))
        top.set_ylabel(throughput_label)
        bottom.set_ylabel(energy_label)
        bottom.set_xlabel(_axis_name(x))
    handles = [_line(color=colors[n], label=n) for n in names]
    handles.append(_line(linestyle="none", marker="*", markersize=11, color="black",
                          label=OPTIMUM_LABEL))
    fig.legend(handles=handles, loc="outside right center", fontsize=8)
    fig.suptitle(title or f"Throughput and energy vs {_axis_name(x)}")
    return fig


def pareto_figure(df: Any, *, throughput: str = "throughput_norm", energy: str = "energy_norm",
                series: str = "workload", published: Sequence[Mapping] | None = None,
                title: str | None = None, throughput_label: str | None = None,
                energy_label: str | None = None) -> Figure:
    """Energy against throughput: every point (coloured by ``series``), the Pareto front
    (higher throughput, lower energy) and ``published`` points, dicts with ``label``,
    ``throughput`` and ``energy`` in the same units as the axes."""
    df = _ok_rows(df, [throughput, energy])
    fig = _figure(figsize=(10.5, 6.8), layout="constrained")
    ax = fig.subplots()
    names = sorted(df[series].unique()) if len(df) else []
    for name, color in zip(names, _colors(len(names))):
        g = df[df[series] == name]
        ax.plot(g[throughput], g[energy], linestyle="none", marker="o", markersize=3.5,
                alpha=0.55, color=color, label=name)
    front = df[pareto_mask(df[throughput].to_numpy(float), df[energy].to_numpy(float))] \
        .sort_values(throughput) if len(df) else df
    if published:
        ax.plot([p["throughput"] for p in published], [p["energy"] for p in published],
                linestyle="none", marker="X", markersize=10, color="crimson",
                markeredgecolor="black", label=PUBLISHED_LABEL, zorder=5)
        for i, p in enumerate(published):
            ax.annotate(p["label"], (p["throughput"], p["energy"]), fontsize=6.5,
                        xytext=(5, 4 if i % 2 else -9), textcoords="offset points",
                        color="crimson")
    fx, fy = list(front[throughput]), list(front[energy])
    if fx:  # the attainment staircase: everything above and left of it is dominated
        lo = float(df[throughput].min())
        ax.step([lo] + fx, [fy[0]] + fy, where="pre", color="black", lw=1.0, ls="--",
                zorder=3)
        ax.plot(fx, fy, linestyle="none", marker="D", markersize=6, markerfacecolor="none",
                markeredgecolor="black", markeredgewidth=1.6, label=FRONT_LABEL, zorder=6)
    ax.set_xlabel(throughput_label or _axis_name(throughput))
    ax.set_ylabel(energy_label or _axis_name(energy))
    ax.grid(alpha=0.3)
    fig.legend(loc="outside right upper", fontsize=7)
    ax.set_title(title or "Energy vs throughput (lower right is better)")
    return fig


def layers_figure(result: Result, *, title: str | None = None) -> Figure:
    """Per-layer stacked bars: cycles (compute, then stalls by cause) and energy by component
    (nJ). Raises :class:`InputError` for a result without layers."""
    if not result.layers:
        raise InputError(Problem("result.layers", "()", "nothing to plot"))
    names = [r.name for r in result.layers]
    xs = list(range(len(names)))
    fig = _figure(figsize=(max(8.0, 0.32 * len(names) + 3.0), 7.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    stalls = {c: [float(r.stall_cycles.get(c, 0)) for r in result.layers] for c in STALL_CAUSES}
    compute = [max(r.cycles - sum(s[i] for s in stalls.values()), 0.0)
               for i, r in enumerate(result.layers)]
    stacks = [("compute", compute)] + [(f"stall: {c}", v) for c, v in stalls.items() if any(v)]
    _stack(top, xs, stacks)
    top.set_ylabel("cycles")
    comps = sorted({k for r in result.layers for k in r.energy_pj})
    _stack(bottom, xs, [(c, [r.energy_pj.get(c, 0.0) / 1e3 for r in result.layers])
                        for c in comps])
    bottom.set_ylabel("energy (nJ)")
    bottom.set_xlabel("layer")
    bottom.set_xticks(xs, names, rotation=90, fontsize=7)
    for ax in (top, bottom):
        ax.legend(fontsize=7, loc="upper right")
        ax.grid(axis="y", alpha=0.3)
    top.set_title("cycles per layer")
    bottom.set_title("energy per layer")
    fig.suptitle(title or f"{result.workload} on {result.hw} ({result.engine}, "
                 f"{result.schedule}): {result.cycles:,} cycles, "
                 f"{result.total_energy_pj / 1e6:,.2f} uJ")
    return fig


def _stack(ax: Any, xs: list[int], stacks: list[tuple[str, list[float]]]) -> None:
    bottom = [0.0] * len(xs)
    for (label, vals), color in zip(stacks, _colors(len(stacks))):
        ax.bar(xs, vals, bottom=bottom, label=label, color=color, width=0.8)
        bottom = [b + v for b, v in zip(bottom, vals)]


def gantt_figure(events: Iterable[Mapping], *, title: str = "Timeline", max_lanes: int = 64,
               time_unit: str = "us") -> Figure:
    """Gantt chart of complete ("X") events, one lane per (pid, tid), named by
    ``thread_name``/``process_name`` metadata events when present; bars coloured by ``cat``
    (or the event name's first word). Raises :class:`InputError` if there are no X events."""
    events = list(events)
    spans = [e for e in events if e.get("ph") == "X"]
    if not spans:
        raise InputError(Problem("trace", f"{len(events)} events",
                                 "no complete ('ph': 'X') events to draw"))
    names = {}
    procs = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[(e.get("pid"), e.get("tid"))] = e.get("args", {}).get("name")
        if e.get("ph") == "M" and e.get("name") == "process_name":
            procs[e.get("pid")] = e.get("args", {}).get("name")
    lanes = sorted({(e.get("pid", 0), e.get("tid", 0)) for e in spans},
                   key=lambda k: (str(k[0]), str(k[1])))[:max_lanes]
    lane_of = {k: i for i, k in enumerate(lanes)}
    cats = sorted({_category(e) for e in spans})
    colors = dict(zip(cats, _colors(len(cats))))
    fig = _figure(figsize=(12.0, 1.6 + 0.42 * len(lanes)), layout="constrained")
    ax = fig.subplots()
    for cat in cats:
        bars = [(float(e["ts"]), float(e.get("dur", 0))) for e in spans
                if _category(e) == cat and (e.get("pid", 0), e.get("tid", 0)) in lane_of]
        rows = [lane_of[(e.get("pid", 0), e.get("tid", 0))] for e in spans
                if _category(e) == cat and (e.get("pid", 0), e.get("tid", 0)) in lane_of]
        for lane in sorted(set(rows)):
            ax.broken_barh([b for b, r in zip(bars, rows) if r == lane], (lane - 0.4, 0.8),
                           facecolors=colors[cat], label=cat if lane == min(rows) else None)
    labels = []
    for pid, tid in lanes:
        lane_name = names.get((pid, tid)) or f"tid {tid}"
        proc = procs.get(pid)
        labels.append(f"{proc}: {lane_name}" if proc and len(procs) > 1 else str(lane_name))
    ax.set_yticks(range(len(lanes)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"time ({time_unit})")
    ax.set_ylabel("unit / lane")
    ax.grid(axis="x", alpha=0.3)
    fig.legend(fontsize=7, loc="outside lower center", ncol=min(8, len(cats)))
    end = max(float(e["ts"]) + float(e.get("dur", 0)) for e in spans)
    ax.set_title(f"{title}: {len(spans):,} spans, {len(lanes)} lanes, "
                 f"end {end:,.0f} {time_unit}")
    return fig


def _category(event: Mapping) -> str:
    cat = event.get("cat")
    if cat:
        return str(cat)
    return (str(event.get("name", "?")).split() or ["?"])[0].split(":")[0]


def _ok_rows(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(Problem("columns", missing, "the table lacks these columns"))
    if "error" in df.columns:
        df = df[df["error"].fillna("") == ""]
    keep = [all(_finite(v) for v in row) for row in df[list(cols)].itertuples(index=False)]
    return df[keep]


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _axis_name(col: str) -> str:
    return {"mac_fraction": "MAC share of the area", "inferences_per_s": "inferences / s",
            "energy_pj": "energy per inference (pJ)", "throughput_norm":
            "throughput (x MAC-only baseline)", "energy_norm": "energy (x baseline)"
            }.get(col, col)
