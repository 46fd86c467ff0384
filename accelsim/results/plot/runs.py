"""Figures of runs: :func:`layers_figure` (per layer and unit array), :func:`gantt_figure` (a
timeline) and :func:`energy_bars_figure` (energy by component of several runs)."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from accelsim.errors import InputError, Problem
from accelsim.results.plot.base import SPARE, figure, patch
from accelsim.results.plotdata import (
    ENERGY_COLORS,
    ENERGY_LABELS,
    ROLE_COLORS,
    ROLE_LABELS,
    STATE_COLORS,
    STATE_LABELS,
    STATES,
    UNIT_NAMES,
    layer_marks,
    unit_states,
)
from accelsim.results.records import Result

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_UNUSED_HATCH, _UNUSED_EDGE = "//", "#d0d0d0"


def layers_figure(result: Result, *, title: str | None = None) -> Figure:
    """One panel per unit array: each layer's bar is the layer's cycles, split into the cycles
    the array computed this layer's tiles and those it waited, by cause
    (:func:`accelsim.results.plotdata.unit_states`); then energy per layer by component (µJ).
    Raises :class:`InputError` for a result without layers."""
    if not result.layers:
        raise InputError(Problem("result.layers", "()", "nothing to plot"))
    names = [r.name for r in result.layers]
    xs = list(range(len(names)))
    states = unit_states(result)
    n = len(states) + 1
    fig = figure(figsize=(max(9.0, 0.34 * len(names) + 4.5), 2.5 * n + 1.2),
                  layout="constrained")
    axes = fig.subplots(n, 1, sharex=True)
    used: list[str] = []
    for ax, (unit, vals) in zip(axes, states.items()):
        bottom = [0.0] * len(xs)
        for s in STATES:
            if not any(vals[s]):
                continue
            ax.bar(xs, vals[s], bottom=bottom, color=STATE_COLORS[s], width=0.8,
                   edgecolor=_UNUSED_EDGE if s == "unused" else "none", linewidth=0.4,
                   hatch=_UNUSED_HATCH if s == "unused" else None, label=STATE_LABELS[s])
            bottom = [b + v for b, v in zip(bottom, vals[s])]
            if s not in used:
                used.append(s)
        ax.sharey(axes[0])
        ax.set_ylabel("cycles")
        ax.set_title(f"{UNIT_NAMES.get(unit, unit + ' units')}: each bar = the layer's cycles",
                     fontsize=10, loc="left")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(handles=[patch(STATE_COLORS[s], STATE_LABELS[s],
                                   hatch=_UNUSED_HATCH if s == "unused" else None)
                            for s in STATES if s in used],
                   loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
                   title="unit array state", title_fontsize=8)
    energy_ax = axes[-1]
    comps = sorted({k for r in result.layers for k in r.energy_pj},
                   key=lambda c: (list(ENERGY_COLORS).index(c) if c in ENERGY_COLORS else 99, c))
    bottom = [0.0] * len(xs)
    spare = iter(SPARE * 4)
    for c in comps:
        uj = [r.energy_pj.get(c, 0.0) / 1e6 for r in result.layers]
        energy_ax.bar(xs, uj, bottom=bottom, color=ENERGY_COLORS.get(c) or next(spare),
                      width=0.8, label=ENERGY_LABELS.get(c, c))
        bottom = [b + v for b, v in zip(bottom, uj)]
    energy_ax.set_ylabel("energy (µJ)")
    energy_ax.set_title("energy per layer by component", fontsize=10, loc="left")
    energy_ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5),
                     title="energy", title_fontsize=8)
    energy_ax.grid(axis="y", alpha=0.3)
    energy_ax.set_xlabel("layer")
    energy_ax.set_xticks(xs, names, rotation=90, fontsize=7)
    fig.suptitle(title or f"{result.workload} on {result.hw} ({result.engine}, "
                 f"{result.schedule}): {result.cycles:,} cycles, "
                 f"{result.total_energy_pj / 1e6:,.2f} µJ")
    return fig


def gantt_figure(events: Iterable[Mapping], *, title: str | None = None, max_lanes: int = 64,
                 marks: bool = True) -> Figure:
    """Gantt chart of complete ("X") events, one lane per (pid, tid), named by
    ``thread_name``/``process_name`` metadata events when present; bars coloured by ``cat``
    (stage role) or the event name's first word. The axis is in cycles when every event
    carries ``args.start_cycle``/``end_cycle`` (accelsim's timelines), else in the trace's
    microseconds. ``marks``: a dotted line and a label where each layer (``name`` =
    ``layer.stage``) starts. The title is ``title``, else the trace's process name. Raises
    :class:`InputError` if there are no X events."""
    events = list(events)
    spans = [e for e in events if e.get("ph") == "X"]
    if not spans:
        raise InputError(Problem("trace", f"{len(events)} events",
                                 "no complete ('ph': 'X') events to draw"))
    names, procs = {}, {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[(e.get("pid"), e.get("tid"))] = e.get("args", {}).get("name")
        if e.get("ph") == "M" and e.get("name") == "process_name":
            procs[e.get("pid")] = e.get("args", {}).get("name")
    cycles = all(isinstance(e.get("args"), dict) and
                 all(_number(e["args"].get(k)) for k in ("start_cycle", "end_cycle"))
                 for e in spans)
    if cycles:
        t0 = [float(e["args"]["start_cycle"]) for e in spans]
        t1 = [float(e["args"]["end_cycle"]) for e in spans]
    else:
        t0 = [float(e["ts"]) for e in spans]
        t1 = [a + float(e.get("dur", 0)) for a, e in zip(t0, spans)]
    unit = "cycles" if cycles else "us"
    lanes = sorted({(e.get("pid", 0), e.get("tid", 0)) for e in spans},
                   key=lambda k: (str(k[0]), str(k[1])))[:max_lanes]
    lane_of = {k: i for i, k in enumerate(lanes)}
    cats = sorted({_category(e) for e in spans},
                  key=lambda c: (list(ROLE_COLORS).index(c) if c in ROLE_COLORS else 99, c))
    spare = iter(SPARE * (1 + len(cats)))
    colors = {c: ROLE_COLORS.get(c) or next(spare) for c in cats}
    fig = figure(figsize=(13.0, 2.2 + 0.45 * len(lanes)), layout="constrained")
    ax = fig.subplots()
    for cat in cats:
        by_lane: dict[int, list[tuple[float, float]]] = {}
        for e, a, b in zip(spans, t0, t1):
            key = (e.get("pid", 0), e.get("tid", 0))
            if _category(e) == cat and key in lane_of:
                by_lane.setdefault(lane_of[key], []).append((a, b - a))
        for k, lane in enumerate(sorted(by_lane)):
            ax.broken_barh(by_lane[lane], (lane - 0.4, 0.8), facecolors=colors[cat],
                           label=ROLE_LABELS.get(cat, cat) if k == 0 else None)
    labels = []
    for pid, tid in lanes:
        lane_name = names.get((pid, tid)) or f"tid {tid}"
        proc = procs.get(pid)
        labels.append(f"{proc}: {lane_name}" if proc and len(procs) > 1 else str(lane_name))
    ax.set_yticks(range(len(lanes)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("cycle" if cycles else "time (us)")
    ax.grid(axis="x", alpha=0.3)
    end = max(t1)
    if marks:
        layer_starts = layer_marks(spans, dict(enumerate(t0)))
        for m in layer_starts:
            ax.axvline(m.time, color="#606060", lw=0.5, ls=":", zorder=0)
        if layer_starts:
            top = ax.secondary_xaxis("top")
            top.set_xticks([m.time for m in layer_starts], [m.layer for m in layer_starts],
                           rotation=90, fontsize=6)
            top.tick_params(length=2, pad=1)
    fig.legend(fontsize=7, loc="outside lower center", ncol=min(9, len(cats)))
    head = title or next((p for p in procs.values() if p), None) or "Timeline"
    ax.set_title(f"{head}\n{len(spans):,} spans, {len(lanes)} lanes; the last ends at "
                 f"{end:,.0f} {unit}" + ("; dotted lines: layer starts" if marks else ""),
                 fontsize=10)
    if cycles:
        from matplotlib.ticker import FuncFormatter

        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    return fig


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def _category(event: Mapping) -> str:
    cat = event.get("cat")
    if cat:
        return str(cat)
    return (str(event.get("name", "?")).split() or ["?"])[0].split(":")[0]




def energy_bars_figure(bars: Sequence[tuple[str, str, Mapping[str, float]]], *,
                       title: str = "", ylabel: str = "energy per inference (µJ)") -> Figure:
    """Stacked bars of energy by component: ``bars`` are ``(group, label, {component: µJ})``,
    drawn in order, one panel per group (the panels share the y axis so their bars compare).
    Raises :class:`InputError` when there is nothing to draw."""
    if not bars:
        raise InputError(Problem("figure", "bars", "nothing to draw"))
    groups: list[str] = []
    for g, _, _ in bars:
        if g not in groups:
            groups.append(g)
    comps: list[str] = []
    for _, _, parts in bars:
        comps += [c for c, v in parts.items() if v and c not in comps]
    comps.sort(key=lambda c: (list(ENERGY_COLORS).index(c) if c in ENERGY_COLORS else 99, c))
    per = max(sum(1 for g2, _, _ in bars if g2 == g) for g in groups)
    fig = figure(figsize=(max(6.0, 0.55 * per * len(groups) + 2), 4.2))
    axes = fig.subplots(1, len(groups), sharey=True, squeeze=False)[0]
    spare = iter(SPARE)
    colors = {c: ENERGY_COLORS.get(c) or next(spare) for c in comps}
    for ax, g in zip(axes, groups):
        mine = [(label, parts) for g2, label, parts in bars if g2 == g]
        xs = list(range(len(mine)))
        bottom = [0.0] * len(mine)
        for c in comps:
            vals = [float(parts.get(c, 0.0)) for _, parts in mine]
            ax.bar(xs, vals, bottom=bottom, color=colors[c], width=0.75,
                   label=ENERGY_LABELS.get(c, c))
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_xticks(xs, [label for label, _ in mine], rotation=60, ha="right", fontsize=8)
        ax.set_title(g, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel(ylabel)
    handles = [patch(colors[c], ENERGY_LABELS.get(c, c)) for c in reversed(comps)]
    axes[-1].legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
