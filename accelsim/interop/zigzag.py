"""Interchange with ZigZag (zigzag-dse 3.9.1): workload and mapping files, the per-layer memory
levels of a ZigZag run and of an accelsim result side by side, and the golden file that stores
ZigZag's numbers (``tests/golden/zigzag_tpu_like32_mobilenet_v1_0.5.csv``).

ZigZag evaluates each layer on its own (inputs from DRAM, outputs to DRAM) and prices every
memory level it models; accelsim prices its buffers, DRAM and the operand movement inside its
arrays. The levels compared (:data:`LEVELS`): ``dram``, ``sram`` (on-chip buffers holding
activations) and ``register`` (operand storage inside the array: ZigZag's per-PE register files;
accelsim's weights buffer, which stands for them in ``hwconfigs/zigzag_tpu_like32.yaml``, and the
MAC array's operand energy), plus the MAC operations themselves. The bench script
``bench/zigzag_crosscheck.py`` runs both tools; docs/zigzag-crosscheck.md has the comparison.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from accelsim.errors import InputError, Problem
from accelsim.results.records import LayerRecord
from accelsim.workload.schema import Layer, Workload

#: accelsim energy components (pJ) summed into each compared level.
LEVELS: Mapping[str, tuple[str, ...]] = {
    "dram": ("dram",),
    "sram": ("sram_inputs", "sram_outputs", "sram_hidden"),
    "sram_in": ("sram_inputs",),
    "sram_out": ("sram_outputs", "sram_hidden"),
    "register": ("sram_weights", "mac_operands"),
    "mac": ("mac",),
}


@dataclass(frozen=True)
class LevelRow:
    """One layer's traffic and energy by memory level, from either tool: bytes read from and
    written to DRAM, and energy (pJ) at each level of :data:`LEVELS`; the SRAM's also split by
    what it holds (``sram_in_pj``: layer inputs, ZigZag's ``I`` operand; ``sram_out_pj``:
    outputs and partial sums, ZigZag's ``O``)."""

    layer: str
    macs: int
    dram_read_bytes: float
    dram_write_bytes: float
    dram_pj: float
    sram_pj: float
    sram_in_pj: float
    sram_out_pj: float
    register_pj: float
    mac_pj: float

    @property
    def dram_bytes(self) -> float:
        return self.dram_read_bytes + self.dram_write_bytes


COLUMNS = tuple(f.name for f in fields(LevelRow))
#: The compared metrics (all but ``layer`` and ``macs``), with ``dram_bytes`` first.
METRICS = ("dram_bytes", "dram_pj", "sram_pj", "sram_in_pj", "sram_out_pj", "register_pj",
           "mac_pj")


def mac_stages_only(wl: Workload) -> Workload:
    """``wl`` with each layer reduced to its MAC stage (what ZigZag's workload holds: no bias
    adds). Raises :class:`InputError` for a layer whose MAC stage is not its only output."""
    layers = []
    for layer in wl.layers:
        macs = [s for s in layer.stages if s.op == "mac"]
        if len(macs) != 1 or macs[0].writes != "output":
            raise InputError(Problem(f"layers.{layer.name}", len(macs),
                                     "needs exactly one MAC stage writing the layer output"))
        layers.append(replace(layer, stages=(macs[0],)))
    return replace(wl, layers=tuple(layers))


def _yaml_value(x: object) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_yaml_value(y) for y in x) + "]"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k}: {_yaml_value(y)}" for k, y in x.items()) + "}"
    return str(x)


def _zigzag_layer(i: int, layer: Layer, bits: int) -> dict[str, object]:
    sh = layer.shape
    prec = {"W": bits, "I": bits, "O": bits, "O_final": bits}
    rel = [f"ix={sh.stride}*ox+1*fx", f"iy={sh.stride}*oy+1*fy"]
    pad = [[sh.padding, sh.padding], [sh.padding, sh.padding]]
    common = {"id": i, "name": layer.name, "operator_type": "Conv"}
    tail = {"operand_precision": prec, "operand_source": {"I": i, "W": i},
            "pr_loop_dims": ["IX", "IY"], "pr_loop_sizes": [sh.in_w, sh.in_h], "padding": pad}
    if sh.groups > 1:
        if not sh.groups == sh.in_c == sh.out_c:
            raise InputError(Problem(f"layers.{layer.name}.groups", sh.groups,
                                     "only depthwise grouping (groups = channels) is exported"))
        return {**common, "equation": "O[b][g][oy][ox]+=W[g][fy][fx]*I[b][g][iy][ix]",
                "dimension_relations": rel, "loop_dims": ["B", "G", "OY", "OX", "FY", "FX"],
                "loop_sizes": [1, sh.groups, sh.out_h, sh.out_w, sh.kernel_h, sh.kernel_w],
                **tail}
    return {**common, "equation": "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]",
            "dimension_relations": rel, "loop_dims": ["B", "K", "C", "OY", "OX", "FY", "FX"],
            "loop_sizes": [1, sh.out_c, sh.in_c, sh.out_h, sh.out_w, sh.kernel_h, sh.kernel_w],
            **tail}


def zigzag_workload(wl: Workload) -> str:
    """ZigZag's YAML workload for ``wl``'s layers (shapes from each layer's ``shape``), each
    layer standalone (its input from outside the accelerator), operands of
    ``wl.activation_bits`` bits. Depthwise layers use a group dimension ``G``."""
    lines = []
    for i, layer in enumerate(wl.layers):
        for j, (k, v) in enumerate(_zigzag_layer(i, layer, wl.activation_bits).items()):
            lines.append(("- " if j == 0 else "  ") + f"{k}: {_yaml_value(v)}")
        lines.append("")
    return "\n".join(lines)


def zigzag_mapping(wl: Workload, rows: int, cols: int) -> str:
    """ZigZag's mapping file for a ``rows x cols`` weight-stationary array (ZigZag's ``tpu_like``
    links: O->O, W->I2, I->I1): output channels on D1 (``cols``), input channels on D2
    (``rows``); depthwise layers (one entry each, by name) put channels on D1 and the kernel
    window on D2, as accelsim's block-diagonal depthwise mapping does."""
    links = "  memory_operand_links:\n    O: O\n    W: I2\n    I: I1\n"
    out = [f"- name: default\n  spatial_mapping:\n    D1:\n      - K, {cols}\n    D2:\n"
           f"      - C, {rows}\n" + links]
    for layer in wl.layers:
        sh = layer.shape
        if sh.groups > 1:
            out.append(f"- name: {layer.name}\n  spatial_mapping:\n    D1:\n      - G, {cols}\n"
                       f"    D2:\n      - FX, {sh.kernel_w}\n      - FY, {sh.kernel_h}\n" + links)
    return "\n".join(out)


def zigzag_row(layer: Mapping[str, Any]) -> LevelRow:
    """One layer of ``bench/zigzag/run_zigzag.py``'s output reduced to a :class:`LevelRow`:
    DRAM bytes are the data ZigZag moves at its ``dram`` level (element counts x precision),
    energies are ZigZag's per level (memories named ``dram``, ``sram*`` and ``rf*``; the SRAM's
    split by operand, ``I`` against the rest)."""
    read = write = 0.0
    energy = dict.fromkeys(("dram", "sram", "sram_in", "sram_out", "register"), 0.0)
    for lv in layer["levels"]:
        name = str(lv["memory"])
        kind = "dram" if name == "dram" else "sram" if name.startswith("sram") else \
            "register" if name.startswith("rf") else None
        if kind is None:
            raise InputError(Problem("levels.memory", name, "is not dram, sram* or rf*"))
        e = sum(lv["energy_pj"].values())
        energy[kind] += e
        if kind == "sram":
            energy["sram_in" if lv["operand"] == "I" else "sram_out"] += e
        if kind == "dram":
            bits = lv["bits"]
            read += (bits["rd_down"] + bits["rd_up"]) / 8
            write += (bits["wr_up"] + bits["wr_down"]) / 8
    return LevelRow(str(layer["name"]), int(layer["macs"]), read, write, energy["dram"],
                    energy["sram"], energy["sram_in"], energy["sram_out"], energy["register"],
                    float(layer["mac_energy_pj"]))


def accelsim_row(rec: LayerRecord) -> LevelRow:
    """One accelsim layer record (priced) as a :class:`LevelRow` (levels of :data:`LEVELS`)."""
    e = rec.energy_pj

    def level(name: str) -> float:
        return float(sum(e.get(c, 0.0) for c in LEVELS[name]))

    macs = sum(n for key, n in rec.ops.items() if key.partition("@")[0] == "mac")
    return LevelRow(rec.name, int(macs), float(rec.bytes_read.get("dram", 0)),
                    float(rec.bytes_written.get("dram", 0)), level("dram"), level("sram"),
                    level("sram_in"), level("sram_out"), level("register"), level("mac"))


def metric(row: LevelRow, name: str) -> float:
    """The value of metric ``name`` (one of :data:`METRICS`) of ``row``."""
    return float(getattr(row, name))


def deviation_pct(ours: float, ref: float) -> float:
    """``100 * (ours - ref) / ref`` (0 when both are 0, inf when only ``ref`` is)."""
    if ref == 0:
        return 0.0 if ours == 0 else float("inf")
    return 100.0 * (ours - ref) / ref


@dataclass(frozen=True)
class Band:
    """The deviation band (percent) a group of layers must lie in for one metric, and why."""

    layers: tuple[str, ...] | None  # None: every layer no other band of the metric lists
    min_pct: float
    max_pct: float
    why: str


def load_bands(path: str | Path) -> dict[str, tuple[Band, ...]]:
    """The documented deviation bands by metric (``tests/golden/zigzag_tpu_like32_bands.json``:
    per metric a list of ``{layers: [...] | "*", min_pct, max_pct, why}``). Raises
    :class:`InputError` naming the file for a malformed entry."""
    path = Path(path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, tuple[Band, ...]] = {}
    for m in METRICS:
        try:
            out[m] = tuple(Band(None if b["layers"] == "*" else tuple(b["layers"]),
                                float(b["min_pct"]), float(b["max_pct"]), str(b["why"]))
                           for b in doc[m])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(Problem(m, type(exc).__name__, "not a list of bands"),
                             str(path)) from None
    return out


def band_of(bands: Sequence[Band], layer: str) -> Band:
    """The band of ``layer`` among one metric's ``bands`` (its listed group, else ``*``)."""
    listed = [b for b in bands if b.layers is not None and layer in b.layers]
    rest = [b for b in bands if b.layers is None]
    if len(listed) + (0 if listed else len(rest)) != 1:
        raise InputError(Problem("bands", layer, "must be in exactly one band per metric"))
    return listed[0] if listed else rest[0]


def outside_bands(ref: Mapping[str, LevelRow], ours: Mapping[str, LevelRow],
                  bands: Mapping[str, Sequence[Band]]) -> list[str]:
    """One line per (layer, metric) whose deviation of ``ours`` from ``ref`` leaves its band."""
    bad = []
    for name, z in ref.items():
        for m in METRICS:
            d = deviation_pct(metric(ours[name], m), metric(z, m))
            b = band_of(bands[m], name)
            if not b.min_pct <= d <= b.max_pct:
                bad.append(f"{name} {m}: {d:+.1f}% outside [{b.min_pct:+g}, {b.max_pct:+g}] "
                           f"({b.why})")
    return bad


def dumps_golden(rows: Iterable[LevelRow], provenance: Sequence[str]) -> str:
    """The golden CSV: ``# `` provenance lines, then one row per layer (:data:`COLUMNS`)."""
    buf = io.StringIO()
    for line in provenance:
        buf.write(f"# {line}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([r.layer, r.macs] + [f"{metric(r, c):.10g}" for c in COLUMNS[2:]])
    return buf.getvalue()


def load_golden(path: str | Path) -> tuple[LevelRow, ...]:
    """The rows of a golden CSV written by :func:`dumps_golden`; raises :class:`InputError`
    (one line naming the file) when a column is missing or a value is not a number."""
    path = Path(path)
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines()
             if ln and not ln.startswith("#")]
    out = []
    for i, rec in enumerate(csv.DictReader(lines), start=2):
        try:
            out.append(LevelRow(rec["layer"], int(rec["macs"]),
                                *(float(rec[c]) for c in COLUMNS[2:])))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(Problem(f"row {i}", type(exc).__name__, "not a golden row"),
                             str(path)) from None
    return tuple(out)
