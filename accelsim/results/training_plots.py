"""Figures of the training side (matplotlib, Agg backend), from plain data.

* :func:`sensitivity_figure` — per-filter relative SPN loss against hidden width r for one layer
  of a trained network (the result of ``accelsim sensitivity``): which filters are hard to
  strassenify (Gope et al., appendix C.1);
* :func:`accuracy_figure` — accuracy against energy and against throughput, one point per
  row that carries an accuracy (``accelsim.workload.accuracy``): per variant in the report's
  accuracy section, per design point in ``accelsim plot pareto --accuracy``.

Both return a :class:`matplotlib.figure.Figure`; :func:`accelsim.results.plot.save` writes it.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure

from accelsim.documents import parse_json, read_text
from accelsim.errors import InputError, Problem


def load_sensitivity(path: str | Path) -> dict[str, Any]:
    """Read an ``accelsim sensitivity`` JSON result. Raises :class:`InputError` naming the file
    and the field that is wrong."""
    where = str(path)
    text = read_text(path, InputError, where)
    try:
        doc = parse_json(text, where)
    except ValueError as exc:
        raise InputError(Problem("<file>", where, f"not JSON ({exc})")) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list) or \
            not doc["results"]:
        raise InputError(Problem("results", "<missing>", "not a sensitivity result (no "
                                 "results)"), where)
    for i, entry in enumerate(doc["results"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("r"), int) or \
                not isinstance(entry.get("loss"), list) or not entry["loss"] or \
                not all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0
                        for v in entry["loss"]):
            raise InputError(Problem(f"results[{i}]", entry, "must be {r: int, loss: "
                                     "[finite numbers >= 0]}"), where)
    sizes = {len(e["loss"]) for e in doc["results"]}
    if len(sizes) != 1:
        raise InputError(Problem("results.loss", sorted(sizes), "every width must list the "
                                 "same filters"), where)
    return doc


def sensitivity_figure(doc: Mapping[str, Any], *, hard: int = 3) -> Figure:
    """Relative loss per filter against r (log axes): one grey line per filter, the ``hard``
    filters with the highest loss at the widest r highlighted, and the median."""
    results = sorted(doc["results"], key=lambda e: e["r"])
    rs = [e["r"] for e in results]
    n_filters = len(results[0]["loss"])
    per_filter = [[e["loss"][f] for e in results] for f in range(n_filters)]
    floor = 1e-6
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    order = sorted(range(n_filters), key=lambda f: per_filter[f][-1], reverse=True)
    worst = set(order[:hard])
    for f in range(n_filters):
        if f not in worst:
            ax.plot(rs, [max(v, floor) for v in per_filter[f]], color="0.75", lw=0.8)
    for k, f in enumerate(order[:hard]):
        ax.plot(rs, [max(v, floor) for v in per_filter[f]], lw=1.6, marker="o", ms=3,
                color=f"C{k + 1}", label=f"filter {f} (hardest #{k + 1})")
    median = [sorted(e["loss"])[n_filters // 2] for e in results]
    ax.plot(rs, [max(v, floor) for v in median], color="k", lw=2, ls="--", label="median")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(rs, [str(r) for r in rs])
    ax.set_xlabel("hidden width r of the per-filter SPN")
    ax.set_ylabel("relative L2 loss (ternary SPN)")
    layer = doc.get("settings", {}).get("layer", "?") if isinstance(doc.get("settings"),
                                                                    Mapping) else "?"
    ax.set_title(f"{doc.get('network', '')} {layer}: {n_filters} filters, "
                 f"{doc.get('values_per_filter', '?')} values each", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def accuracy_figure(rows: Iterable[Mapping[str, Any]], *, energy_label: str = "energy",
                    throughput_label: str = "throughput", title: str | None = None,
                    note: str | None = None, reference: float | None = None) -> Figure:
    """Accuracy against energy (left) and throughput (right), one point per row
    ``{workload, accuracy, energy, throughput}`` (a DataFrame's ``to_dict("records")`` or a
    list of dicts); rows without an accuracy are skipped. Optional keys: ``color`` (default: one
    per workload), ``label`` (the text next to the point, default the workload; ``""``: none)
    and ``highlight``: when any row has it, highlighted rows are drawn large with an outline,
    the others small and faint, and only highlighted rows are labelled. ``note``: a line of
    text under the panels; ``reference``: a dotted line at that x in both panels (the value of
    the normalisation's reference). Raises :class:`InputError` when no row has an accuracy."""
    points = [r for r in rows if r.get("accuracy") is not None]
    if not points:
        raise InputError(Problem("accuracy", "<none>", "no workload carries an accuracy "
                                 "(trace a trained checkpoint: accelsim trace --checkpoint)"))
    emphasis = any("highlight" in r for r in points)
    names = list(dict.fromkeys(str(r["workload"]) for r in points))
    fig = Figure(figsize=(10, 4.4 if note else 4))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key, label in ((axes[0], "energy", energy_label),
                           (axes[1], "throughput", throughput_label)):
        labels = []
        for row in points:
            x, y = float(row[key]), 100 * float(row["accuracy"])
            color = row.get("color") or f"C{names.index(str(row['workload'])) % 10}"
            strong = not emphasis or bool(row.get("highlight"))
            ax.scatter(x, y, s=44 if strong else 14, color=color, alpha=1.0 if strong else 0.35,
                       edgecolors="k" if emphasis and strong else "none", linewidths=0.8,
                       zorder=3 if strong else 2)
            text = str(row.get("label", row["workload"]))
            if strong and text:
                labels.append((x, y, text))
        if reference is not None:
            ax.axvline(reference, color="0.5", lw=0.8, ls=":", zorder=1)
        ax.margins(x=0.08, y=0.12)
        lo, hi = ax.get_xlim()
        for x, y, text in labels:   # labels of points in the right half go to their left
            right = x > (lo + hi) / 2
            ax.annotate(text, (x, y), textcoords="offset points", xytext=(-5 if right else 5, 4),
                        ha="right" if right else "left", fontsize=8)
        ax.set_xlabel(label)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)")
    if title:
        fig.suptitle(title, fontsize=10)
    if note:
        fig.text(0.5, 0.0, note, ha="center", va="bottom", fontsize=8, color="0.3")
        fig.subplots_adjust(bottom=0.2)
    return fig
