"""What the figures draw, computed without matplotlib: the meaning of every colour, the split of
each layer's cycles per unit array, the layer marks of a timeline, readable workload labels.

Each colour has one meaning in a figure: unit-array states (:data:`STATE_COLORS`), energy
components (:data:`ENERGY_COLORS`) and stage roles on a timeline (:data:`ROLE_COLORS`) use
disjoint colours, so the panels of one figure never reuse a colour for two things.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from accelsim.results.records import UNIT_WAITS, Result

#: Unit-array states inside a layer's window (docs/results.md), drawn bottom to top.
STATES = ("busy",) + UNIT_WAITS + ("unattributed", "unused")
STATE_LABELS = {
    "busy": "computing (fill and drain included)",
    "dram": "waiting: DRAM load of its next tile",
    "buffer": "waiting: buffer space or an SRAM port",
    "dependency": "waiting: producer tiles",
    "unit": "serving another layer / hand-over",
    "idle": "idle: no work of this layer left",
    "unattributed": "not computing (this model gives no breakdown)",
    "unused": "array not used by this layer",
}
STATE_COLORS = {"busy": "#1a9850", "dram": "#d73027", "buffer": "#fdae61",
                "dependency": "#4575b4", "unit": "#762a83", "idle": "#e0e0e0",
                "unattributed": "#bababa", "unused": "#ffffff"}
#: Energy components (results.energy.price): blues for arithmetic, browns for memories.
ENERGY_COLORS = {"mac": "#08306b", "add": "#4292c6", "mul": "#9ecae1", "xnor": "#c6dbef",
                 "mac_operands": "#2171b5", "add_operands": "#6baed6",
                 "sram_weights": "#8c510a", "sram_inputs": "#bf812d", "sram_outputs": "#dfc27d",
                 "sram_hidden": "#f6e8c3", "sram_activations": "#543005", "sram": "#bf812d",
                 "dram": "#3f007d", "leakage": "#737373"}
ENERGY_LABELS = {"mac": "MAC units", "add": "adders", "mul": "multipliers",
                 "xnor": "binary lanes", "mac_operands": "MAC operands",
                 "add_operands": "adder operands",
                 "sram_weights": "SRAM weights", "sram_inputs": "SRAM inputs",
                 "sram_outputs": "SRAM outputs", "sram_hidden": "SRAM hidden",
                 "sram_activations": "SRAM activations", "sram": "SRAM (all buffers)",
                 "dram": "DRAM", "leakage": "leakage"}
#: Stage roles on a timeline (workload-format.md) and the DRAM channel's transfers.
ROLE_COLORS = {"conv": "#1f77b4", "depthwise": "#17becf", "wb": "#ff7f0e", "a_mul": "#d62728",
               "wc": "#9467bd", "bias": "#8c564b", "eltwise": "#bcbd22", "xnor": "#2ca02c",
               "dram": "#b0b0b0"}
ROLE_LABELS = {"conv": "fp16 conv / FC", "depthwise": "depthwise", "wb": "W_b (ternary adds)",
               "a_mul": "ã multiply", "wc": "W_c (ternary adds)", "bias": "bias",
               "eltwise": "residual add", "xnor": "XNOR-popcount", "dram": "DRAM transfer"}
UNIT_ORDER = ("mac", "add", "mul", "xnor")
UNIT_NAMES = {"mac": "MAC array", "add": "adder trees", "mul": "multipliers",
              "xnor": "XNOR units"}


def unit_order(units: Iterable[str]) -> list[str]:
    """Unit classes in the usual order (MAC, adders, multipliers, then the rest by name)."""
    return sorted(set(units), key=lambda u: (UNIT_ORDER.index(u) if u in UNIT_ORDER
                                             else len(UNIT_ORDER), u))


def unit_states(result: Result) -> dict[str, dict[str, list[float]]]:
    """Per unit class, per state (:data:`STATES`), one value per layer: where the array's cycles
    inside each layer's window went. For every unit and layer the states add up to the layer's
    cycles. Without the engine's per-array breakdown (analytic, sequential models) the cycles
    beyond the compute cycles are ``unattributed``."""
    units = unit_order(u for rec in result.layers for u in rec.compute_cycles)
    out: dict[str, dict[str, list[float]]] = {u: {s: [] for s in STATES} for u in units}
    for rec in result.layers:
        cyc = float(rec.cycles)
        for u in units:
            vals = dict.fromkeys(STATES, 0.0)
            if u not in rec.compute_cycles:
                vals["unused"] = cyc
            elif u in rec.unit_stall_cycles:
                vals["busy"] = float(rec.compute_cycles[u])
                vals.update({c: float(v) for c, v in rec.unit_stall_cycles[u].items()})
            else:
                vals["busy"] = min(float(rec.compute_cycles[u]), cyc)
                vals["unattributed"] = cyc - vals["busy"]
            for s in STATES:
                out[u][s].append(vals[s])
    return out


@dataclass(frozen=True)
class LayerMark:
    """Where a layer's first tile starts on a timeline (``time`` in the axis unit)."""

    layer: str
    time: float


def layer_marks(spans: Iterable[Mapping], time_of: Mapping[int, float]) -> list[LayerMark]:
    """The first start of each layer's compute spans (``name`` = ``layer.stage``; DRAM
    transfers excluded), in time order. ``time_of[i]`` is span ``i``'s start on the axis."""
    first: dict[str, float] = {}
    for i, e in enumerate(spans):
        if e.get("cat") == "dram" or "." not in str(e.get("name", "")):
            continue
        layer = str(e["name"]).rsplit(".", 1)[0]
        t = time_of[i]
        if layer not in first or t < first[layer]:
            first[layer] = t
    return [LayerMark(name, t) for name, t in sorted(first.items(), key=lambda kv: kv[1])]


_NAME = re.compile(r"^(?P<net>.*?)_?(?P<variant>baseline|twn|strassen|hybrid)"
                   r"(?:_a(?P<alpha>[0-9.]+))?(?:_r(?P<r>[0-9.]+))?(?:_(?P<data>[a-z]+))?$")
_VARIANT = {"baseline": "fp16 baseline", "twn": "TWN", "strassen": "StrassenNets",
            "hybrid": "hybrid"}
_FAMILY_COLORS = {("baseline", ""): "#000000", ("twn", ""): "#7f7f7f",
                  ("strassen", ""): "#1f77b4", ("hybrid", "0.25"): "#2ca02c",
                  ("hybrid", "0.375"): "#ff7f0e", ("hybrid", "0.5"): "#d62728"}
_SPARE = ("#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
_DASHES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "v", "D", "P")


@dataclass(frozen=True)
class SeriesStyle:
    """How one workload is drawn: a readable ``label``, its family's ``color`` and, within the
    family, a ``linestyle`` and ``marker`` by hidden width."""

    label: str
    color: str
    linestyle: str
    marker: str
    order: tuple


def series_styles(names: Iterable[str]) -> dict[str, SeriesStyle]:
    """Readable labels and styles for workload names such as
    ``mobilenet_v1_0.5_hybrid_a0.375_r1.6`` ("hybrid α=0.375 r=1.6c"): one colour per family
    (baseline, TWN, StrassenNets, hybrid per α), line style and marker by r within the family.
    A trained workload's dataset suffix (``resnet20_0.5_16px_twn_digits``) belongs to the
    network. The network name is kept in the label when several networks are drawn; names that
    do not follow the bundled pattern keep their name and get colours of their own."""
    names = sorted(set(names))
    parsed = {n: _NAME.match(n) for n in names}
    nets = {_net(m) for m in parsed.values() if m}
    families: dict[tuple[str, str], list[tuple[float, str]]] = {}
    for n, m in parsed.items():
        key = (m["variant"], m["alpha"] or "") if m else ("", n)
        families.setdefault(key, []).append((_num(m["r"]) if m else 0.0, n))
    spare = iter(_SPARE * (1 + len(families) // len(_SPARE)))
    out = {}
    for key, members in families.items():
        color = _FAMILY_COLORS.get(key) or next(spare)
        for rank, (r, n) in enumerate(sorted(members)):
            m = parsed[n]
            if m is None:
                out[n] = SeriesStyle(n, color, _DASHES[0], _MARKERS[0], (9, n))
                continue
            parts = [_VARIANT[m["variant"]]]
            if m["alpha"]:
                parts.append(f"α={_num(m['alpha']):g}")
            if m["r"]:
                parts.append("r=c" if _num(m["r"]) == 1 else f"r={_num(m['r']):g}c")
            label = " ".join(parts) if len(nets) <= 1 else f"{_net(m)} {' '.join(parts)}"
            order = (_net(m), list(_VARIANT).index(m["variant"]), _num(m["alpha"] or "0"), r)
            out[n] = SeriesStyle(label, color, _DASHES[rank % len(_DASHES)],
                                 _MARKERS[rank % len(_MARKERS)], (0, *order))
    return dict(sorted(out.items(), key=lambda kv: kv[1].order))


def _net(m: re.Match[str]) -> str:
    """The network of a parsed name: its prefix, with the dataset of a trained workload."""
    return f"{m['net']} ({m['data']})" if m["data"] else m["net"]


def _num(text: str | None) -> float:
    try:
        value = float(text or "nan")
    except ValueError:
        return math.nan
    return value
