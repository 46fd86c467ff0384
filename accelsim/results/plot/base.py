"""Shared pieces of the figure modules: the Agg figure factory, :func:`save`, legend handles,
row filtering and axis names (matplotlib is imported inside the functions)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accelsim.errors import InputError, Problem
from accelsim.outputs import atomic_path

if TYPE_CHECKING:  # matplotlib is imported when a figure is built (it takes ~0.5 s)
    import pandas as pd
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

FORMATS = (".png", ".svg", ".pdf")
_METADATA = {"Software": None}  # no version string in the files: byte-stable output
SPARE = ("#e377c2", "#bcbd22", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a")


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


def figure(**kwargs: Any) -> Figure:
    """A new figure (Agg backend, no pyplot state)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def line(**kwargs: Any) -> Line2D:
    from matplotlib.lines import Line2D

    return Line2D([], [], **kwargs)


def patch(color: str, label: str, **kwargs: Any) -> Any:
    from matplotlib.patches import Patch

    return Patch(facecolor=color, edgecolor="#808080", linewidth=0.5, label=label, **kwargs)


def ok_rows(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
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


def axis_name(col: str) -> str:
    return {"mac_fraction": "MAC share of the area", "inferences_per_s": "inferences / s",
            "energy_pj": "energy per inference (pJ)", "throughput_norm":
            "throughput (x MAC-only baseline)", "energy_norm": "energy (x baseline)",
            "dram.bandwidth_bytes_per_cycle": "DRAM bandwidth (B/cycle)",
            "dram.latency_cycles": "DRAM latency (cycles)", "schedule": "schedule",
            "zero_skip": "zero-skipping", "hw": "config", "clock_mhz": "clock (MHz)",
            "area_budget_um2": "area budget (µm²)"}.get(col, col)
