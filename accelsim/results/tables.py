"""A :class:`~accelsim.results.Result` as tables: dict (JSON), DataFrame / CSV, terminal text.

One row per layer. In the DataFrame and CSV, mapping fields are flattened as ``field.key``
(``compute_cycles.mac``, ``stall_cycles.dram``, ``energy_pj.sram_inputs``,
``unit_stall_cycles.mac.dram``...); in the dict they stay nested. pandas is imported only by
:func:`layers_frame` and :func:`write_csv`. Every field: docs/results.md.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from accelsim.outputs import atomic_path, atomic_write, strict_json
from accelsim.results.records import STALL_CAUSES, UNIT_WAITS, LayerRecord, Result
from accelsim.results.text import table

_MAPPINGS = ("compute_cycles", "busy_cycles", "ops", "bytes_read", "bytes_written",
             "stall_cycles", "energy_pj")


def totals(result: Result) -> dict[str, Any]:
    """Whole-inference figures: cycles, latency (s) at the clock, inferences/s, energy per
    inference by component (pJ) and in total, utilisation per unit class (busy cycles / cycles),
    and the per-layer mappings summed."""
    out: dict[str, Any] = {
        "cycles": result.cycles, "clock_mhz": result.clock_mhz,
        "latency_s": result.latency_s, "inferences_per_s": result.inferences_per_s,
        "energy_pj": dict(result.energy_pj), "energy_pj_total": result.total_energy_pj,
        "tiles": sum(rec.tiles for rec in result.layers),
    }
    for name in _MAPPINGS[:-1]:
        out[name] = dict(sorted(result.total(name).items()))
    busy = out["busy_cycles"]
    out["utilisation"] = {u: (v / result.cycles if result.cycles else 0.0)
                          for u, v in busy.items()}
    out["stall_cycles"] = {c: out["stall_cycles"].get(c, 0) for c in STALL_CAUSES}
    return out


def layer_row(rec: LayerRecord) -> dict[str, Any]:
    """One layer as a JSON-ready dict (nested mappings)."""
    row = asdict(rec)
    for name in _MAPPINGS:
        row[name] = dict(sorted(row[name].items()))
    row["unit_stall_cycles"] = {u: dict(w) for u, w in sorted(rec.unit_stall_cycles.items())}
    row["cycles"] = rec.cycles
    row["energy_pj_total"] = float(sum(rec.energy_pj.values()))
    return row


def result_dict(result: Result, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{"engine", "schedule", "workload", "hw", "zero_skip", "meta", "totals", "layers"}``;
    ``extra`` entries (e.g. the resolved config) are added at the top level."""
    out: dict[str, Any] = {"engine": result.engine, "schedule": result.schedule,
                           "workload": result.workload, "hw": result.hw,
                           "zero_skip": result.zero_skip, "meta": dict(result.meta),
                           "totals": totals(result),
                           "layers": [layer_row(rec) for rec in result.layers]}
    if extra:
        out.update(extra)
    return out


def flat_rows(result: Result) -> list[dict[str, Any]]:
    """Layer rows with mappings flattened to ``field.key`` columns (stable column set)."""
    keys: dict[str, set] = {name: set() for name in _MAPPINGS}
    for rec in result.layers:
        for name in _MAPPINGS:
            keys[name].update(getattr(rec, name))
    keys["stall_cycles"].update(STALL_CAUSES)
    waits = sorted({u for rec in result.layers for u in rec.unit_stall_cycles})
    rows = []
    for rec in result.layers:
        row: dict[str, Any] = {"name": rec.name, "start_cycle": rec.start_cycle,
                               "end_cycle": rec.end_cycle, "cycles": rec.cycles,
                               "tiles": rec.tiles}
        for name in _MAPPINGS:
            values = getattr(rec, name)
            for k in sorted(keys[name]):
                row[f"{name}.{k}"] = values.get(k, 0)
        for u in waits:
            for c in UNIT_WAITS:
                row[f"unit_stall_cycles.{u}.{c}"] = rec.unit_stall_cycles.get(u, {}).get(c, 0)
        row["energy_pj_total"] = float(sum(rec.energy_pj.values()))
        row["mapping"] = mapping_text(rec.mapping)
        rows.append(row)
    return rows


def mapping_text(mapping: Mapping[str, str]) -> str:
    """A layer's per-stage mapping choices on one line: ``"wb=ws wc=os"`` (stage=layout)."""
    return " ".join(f"{k}={v}" for k, v in mapping.items())


def systolic_dataflows(mapping: Mapping[str, str]) -> str:
    """The MAC-array layouts a layer's stages use, e.g. ``"ws"`` or ``"ws+os"`` (``-``: none)."""
    used = sorted({v for v in mapping.values() if v in _SYSTOLIC})
    return "+".join(used) or "-"


_SYSTOLIC = ("ws", "os", "is", "cp")


def layers_frame(result: Result):
    """A pandas DataFrame, one row per layer (columns of :func:`flat_rows`)."""
    import pandas as pd

    return pd.DataFrame(flat_rows(result))


def write_csv(result: Result, path: str | Path) -> None:
    """Layer rows as CSV, written atomically (a temporary file renamed on success)."""
    with atomic_path(path) as tmp:
        layers_frame(result).to_csv(tmp, index=False)


def write_json(result: Result, path: str | Path, extra: Mapping[str, Any] | None = None) -> None:
    """:func:`result_dict` as strict JSON (NaN and infinities as null), written atomically."""
    atomic_write(path, strict_json(result_dict(result, extra), indent=1) + "\n")


def summary_text(result: Result) -> str:
    """Per-layer table and totals for the terminal. Per unit class: ``busy%`` (the array computed
    the layer's tiles, a share of the layer's cycles), ``util%`` (operations / (units x cycles))
    and the largest cause of the array's other cycles (docs/results.md)."""
    units = sorted({u for rec in result.layers for u in rec.compute_cycles})
    waits = any(rec.unit_stall_cycles for rec in result.layers)
    head = ["layer", "cycles", "dataflow"] + [h for u in units for h in
                                  (f"{u} busy%", f"{u} util%") +
                                  ((f"{u} waits on",) if waits else ())] + ["energy uJ"]
    rows = []
    for rec in result.layers:
        cyc = rec.cycles
        row: list[object] = [rec.name, cyc, systolic_dataflows(rec.mapping)]
        for u in units:
            used = u in rec.compute_cycles
            row += [100.0 * rec.compute_cycles[u] / cyc if used and cyc else None,
                    100.0 * rec.busy_cycles.get(u, 0) / cyc if used and cyc else None]
            if waits:
                row.append(_main_wait(rec.unit_stall_cycles.get(u), cyc) if used else None)
        rows.append(row + [sum(rec.energy_pj.values()) / 1e6])
    t = totals(result)
    lines = [f"{result.workload} on {result.hw}: engine {result.engine}, schedule "
             f"{result.schedule}, zero-skip {'on' if result.zero_skip else 'off'}",
             table(head, rows, 1)]
    if waits:
        lines.append("busy%: the array computed this layer's tiles (fill and drain included), "
                     "share of the layer's cycles; util%: operations / (units x cycles); "
                     "waits on: the largest part of the array's other cycles (dram, buffer, "
                     "dependency, unit, idle), share of the layer's cycles; '-': array not "
                     "used by the layer; dataflow: the MAC-array layout the mapping chose "
                     "(ws, os, is; cp: channel-parallel depthwise) (docs/results.md)")
    lines += ["",
              f"cycles {result.cycles:,}  latency {result.latency_s * 1e3:,.4f} ms at "
              f"{result.clock_mhz:g} MHz  ({result.inferences_per_s:,.1f} inferences/s)",
              f"energy per inference {t['energy_pj_total'] / 1e6:,.4f} uJ: " + ", ".join(
                  f"{k} {v / 1e6:,.4f}" for k, v in sorted(t['energy_pj'].items(),
                                                         key=lambda kv: -kv[1])),
              "utilisation: " + ", ".join(f"{u} {100 * v:.1f}%"
                                          for u, v in t["utilisation"].items()),
              "stall cycles (per array, summed over arrays and layers): " + ", ".join(
                  f"{c} {t['stall_cycles'][c]:,}" for c in STALL_CAUSES),
              "ops: " + ", ".join(f"{k} {v:,}" for k, v in t["ops"].items()),
              f"DRAM bytes: read {t['bytes_read'].get('dram', 0):,}, written "
              f"{t['bytes_written'].get('dram', 0):,}; tiles {t['tiles']:,}"]
    kept = result.meta.get("kept_outputs")
    if isinstance(kept, list):
        lines.append(f"memory policy {result.meta.get('memory')}: {len(kept)} of "
                     f"{len(result.layers)} layer outputs kept in the "
                     f"{result.meta.get('activation_buffer')} buffer for their consumers")
    fused = result.meta.get("fused_layers")
    if isinstance(fused, list):
        lines.append(f"fusion {result.meta.get('fusion')}: {len(fused)} layer pairs fused"
                     + (": " + ", ".join(f"{p} -> {c}" for p, c in fused) if fused else ""))
    return "\n".join(lines)


def _main_wait(waits: Mapping[str, int] | None, cycles: int) -> str:
    """``"dram 41%"``: the largest wait of an array in a layer, share of the layer's cycles."""
    if not waits or not cycles or not any(waits.values()):
        return "-"
    cause = max(UNIT_WAITS, key=lambda c: (waits.get(c, 0), -UNIT_WAITS.index(c)))
    return f"{cause} {100.0 * waits[cause] / cycles:.0f}%"
