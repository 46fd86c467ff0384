"""Figures of a sweep's rows: :func:`fraction_figure` and :func:`pareto_figure`."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from accelsim.results.pareto import pareto_mask
from accelsim.results.plot.base import axis_name, figure, line, ok_rows
from accelsim.results.plotdata import SeriesStyle, series_styles

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

OPTIMUM_LABEL = "throughput optimum"
FRONT_LABEL = "Pareto front"
PUBLISHED_LABEL = "published (Gope et al.)"
FLAT_ENERGY_NOTE = ("Energy does not vary with the MAC share under these models (every "
                    "operation is priced once; no leakage): each line's energy is in the legend.")
_PANEL_TITLES = {"balance": "balance model (whole network, the paper's)",
                 "sequential": "sequential model (layers one after another)",
                 "analytic": "analytic bound (tiles)", "des": "discrete-event simulation"}


def fraction_figure(df: Any, *, x: str = "mac_fraction", throughput: str = "throughput_norm",
                    energy: str = "energy_norm", series: str = "workload",
                    columns: str = "engine", facets: Sequence[str] = (),
                    title: str | None = None,
                    throughput_label: str = "throughput (x MAC-only baseline)",
                    energy_label: str = "energy (x baseline)",
                    styles: Mapping[str, SeriesStyle] | None = None) -> Figure:
    """Throughput (top row) and energy (bottom row) against ``x``; one line per ``series``
    value, one panel per value of ``columns`` and of each ``facets`` field; a star marks each
    line's throughput optimum (at the same ``x`` in the energy panel). Rows with an error or
    NaN are left out. When no line's energy varies with ``x`` the energy row is replaced by
    each line's energy in the legend (:data:`FLAT_ENERGY_NOTE`)."""
    df = ok_rows(df, [x, throughput, energy])
    keys = [columns, *facets]
    panels = sorted({tuple(r) for r in df[keys].itertuples(index=False)}) if len(df) else []
    names = list(styles or series_styles(df[series].unique() if len(df) else []))
    styles = styles or series_styles(names)
    energy_of = _flat_energy(df, keys, series, x, energy)
    rows = 1 if energy_of is not None else 2
    ncols = max(1, len(panels))
    fig = figure(figsize=(5.6 * ncols + 3.4, 4.6 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, ncols, squeeze=False, sharex=True, sharey="row")
    for j, panel in enumerate(panels or [("-",)]):
        top = axes[0][j]
        sub = df[(df[keys] == list(panel)).all(axis=1)] if panels else df
        opt_x, opt_t, opt_e = [], [], []
        for name in names:
            g = sub[sub[series] == name].sort_values(x)
            if g.empty:
                continue
            st = styles[name]
            top.plot(g[x], g[throughput], color=st.color, linestyle=st.linestyle, lw=1.4,
                     label=st.label)
            if rows == 2:
                axes[1][j].plot(g[x], g[energy], color=st.color, linestyle=st.linestyle,
                                lw=1.4, label=st.label)
            best = g.loc[g[throughput].idxmax()]
            opt_x.append(best[x])
            opt_t.append(best[throughput])
            opt_e.append(best[energy])
        for ax, ys in zip([axes[r][j] for r in range(rows)], (opt_t, opt_e)):
            ax.plot(opt_x, ys, linestyle="none", marker="*", markersize=11, color="black",
                    label=OPTIMUM_LABEL, zorder=5)
            ax.grid(alpha=0.3)
        top.set_title(_panel_title(keys, panel), fontsize=10)
        top.set_ylabel(throughput_label)
        if rows == 2:
            axes[1][j].set_ylabel(energy_label)
        axes[rows - 1][j].set_xlabel(axis_name(x))
    handles = []
    for n in names:
        st = styles[n]
        extra = f" (energy {energy_of[n]:.3g})" if energy_of and n in energy_of else ""
        handles.append(line(color=st.color, linestyle=st.linestyle, label=st.label + extra))
    handles.append(line(linestyle="none", marker="*", markersize=11, color="black",
                         label=OPTIMUM_LABEL))
    fig.legend(handles=handles, loc="outside right center", fontsize=8,
               title=energy_label if energy_of else None, title_fontsize=8)
    fig.suptitle(title or f"Throughput and energy vs {axis_name(x)}")
    if energy_of is not None:
        fig.text(0.01, 0.0, FLAT_ENERGY_NOTE, fontsize=8, ha="left", va="top")
    return fig


def _flat_energy(df: pd.DataFrame, keys: list[str], series: str, x: str, energy: str
                 ) -> dict[str, float] | None:
    """Each series' energy if it is the same at every ``x`` and in every panel, else None."""
    out: dict[str, float] = {}
    for name, g in df.groupby(series):
        e = g[energy].astype(float)
        lo, hi = float(e.min()), float(e.max())
        if hi - lo > 1e-9 * max(1.0, abs(hi)):
            return None
        out[str(name)] = hi
    return out if len(df) else None


def _panel_title(keys: Sequence[str], panel: tuple) -> str:
    parts = []
    for key, value in zip(keys, panel):
        if key == "engine":
            parts.append(_PANEL_TITLES.get(str(value), f"engine {value}"))
        else:
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            parts.append(f"{axis_name(key)} = {shown}")
    return "\n".join(parts)


def pareto_figure(df: Any, *, throughput: str = "throughput_norm", energy: str = "energy_norm",
                  series: str = "workload", published: Sequence[Mapping] | None = None,
                  title: str | None = None, throughput_label: str | None = None,
                  energy_label: str | None = None, note: str | None = None,
                  styles: Mapping[str, SeriesStyle] | None = None) -> Figure:
    """Energy against throughput: every point (coloured by ``series``), the Pareto front
    (higher throughput, lower energy) and ``published`` points, dicts with ``label``,
    ``throughput`` and ``energy`` in the same units as the axes, labelled without overlaps.
    ``note`` is printed under the axes (e.g. why published points are left out)."""
    df = ok_rows(df, [throughput, energy])
    fig = figure(figsize=(10.5, 6.8), layout="constrained")
    ax = fig.subplots()
    styles = styles or series_styles(df[series].unique() if len(df) else [])
    for name, st in styles.items():
        g = df[df[series] == name]
        if g.empty:
            continue
        ax.plot(g[throughput], g[energy], linestyle="none", marker=st.marker, markersize=3.5,
                alpha=0.6, color=st.color, label=st.label)
    front = df[pareto_mask(df[throughput].to_numpy(float), df[energy].to_numpy(float))] \
        .sort_values(throughput) if len(df) else df
    fx, fy = list(front[throughput]), list(front[energy])
    if fx:  # the attainment staircase: everything above and left of it is dominated
        lo = float(df[throughput].min())
        ax.step([lo] + fx, [fy[0]] + fy, where="pre", color="black", lw=1.0, ls="--",
                zorder=3)
        ax.plot(fx, fy, linestyle="none", marker="D", markersize=6, markerfacecolor="none",
                markeredgecolor="black", markeredgewidth=1.6, label=FRONT_LABEL, zorder=6)
    if published:
        ax.plot([p["throughput"] for p in published], [p["energy"] for p in published],
                linestyle="none", marker="X", markersize=10, color="crimson",
                markeredgecolor="black", label=PUBLISHED_LABEL, zorder=7)
        _place_labels(fig, ax, [(p["throughput"], p["energy"]) for p in published],
                      [str(p["label"]) for p in published])
    ax.set_xlabel(throughput_label or axis_name(throughput))
    ax.set_ylabel(energy_label or axis_name(energy))
    ax.grid(alpha=0.3)
    fig.legend(loc="outside right upper", fontsize=7)
    ax.set_title(title or "Energy vs throughput (lower right is better)")
    if note:
        fig.text(0.01, 0.0, note, fontsize=8, ha="left", va="top", wrap=True)
    return fig


_OFFSETS = ((7, 5), (7, -12), (-7, 5), (-7, -12), (0, 12), (0, -18), (18, 16), (18, -24),
            (-18, 16), (-18, -24), (30, 2), (-30, 2), (8, 30), (8, -36), (-8, 30), (-8, -36))


def _place_labels(fig: Figure, ax: Axes, points: Sequence[tuple[float, float]],
                  labels: Sequence[str]) -> None:
    """Annotate each point with its label at the first of :data:`_OFFSETS` whose box overlaps
    no label placed before, no marked point and stays inside the axes (the least overlapping
    one otherwise); labels set away from their point get a leader line."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    fig.canvas.draw()
    marks = [ax.transData.transform(p) for p in points]
    frame = ax.get_window_extent(renderer)
    placed: list[Any] = []
    for i in sorted(range(len(points)), key=lambda k: (points[k][0], points[k][1])):
        best, best_cost = None, math.inf
        for dx, dy in _OFFSETS:
            far = abs(dx) > 10 or abs(dy) > 14
            text = ax.annotate(labels[i], points[i], xytext=(dx, dy), textcoords="offset points",
                               fontsize=7, color="crimson", ha="left" if dx >= 0 else "right",
                               va="bottom" if dy >= 0 else "top", zorder=8,
                               arrowprops={"arrowstyle": "-", "color": "crimson", "lw": 0.5}
                               if far else None)
            box = text.get_window_extent(renderer).expanded(1.04, 1.1)
            cost = sum(_overlap(box, b) for b in placed)
            cost += sum(_overlap(box, _point_box(m)) for k, m in enumerate(marks) if k != i)
            cost += box.width * box.height - _overlap(box, frame)
            if cost < best_cost:
                if best is not None:
                    best[0].remove()
                best, best_cost = (text, box), cost
            else:
                text.remove()
            if cost == 0:
                break
        if best is not None:
            placed.append(best[1])


def _point_box(xy: Any) -> Any:
    from matplotlib.transforms import Bbox

    return Bbox.from_bounds(xy[0] - 6, xy[1] - 6, 12, 12)


def _overlap(a: Any, b: Any) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


