"""Figures of the training side (matplotlib, Agg backend), from plain data.

* :func:`sensitivity_figure` — per-filter relative SPN loss against hidden width r for one layer
  of a trained network (the result of ``accelsim sensitivity``): which filters are hard to
  strassenify (Gope et al., appendix C.1);
* :func:`accuracy_figure` — accuracy against energy and against throughput, one point per
  workload that carries an accuracy (``accelsim.workload.accuracy``).

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
                    throughput_label: str = "throughput", title: str | None = None) -> Figure:
    """Accuracy against energy (left) and throughput (right), one labelled point per row
    ``{workload, accuracy, energy, throughput}`` (a DataFrame's ``to_dict("records")`` or a
    list of dicts); rows without an accuracy are skipped. Raises :class:`InputError` when no
    row has one."""
    points = [r for r in rows if r.get("accuracy") is not None]
    if not points:
        raise InputError(Problem("accuracy", "<none>", "no workload carries an accuracy "
                                 "(trace a trained checkpoint: accelsim trace --checkpoint)"))
    fig = Figure(figsize=(10, 4))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key, label in ((axes[0], "energy", energy_label),
                           (axes[1], "throughput", throughput_label)):
        for k, row in enumerate(points):
            ax.scatter(float(row[key]), 100 * float(row["accuracy"]), s=40, color=f"C{k}",
                       zorder=3)
            ax.annotate(str(row["workload"]), (float(row[key]), 100 * float(row["accuracy"])),
                        textcoords="offset points", xytext=(5, 4), fontsize=8)
        ax.set_xlabel(label)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
