"""Golden result tables: every bundled workload on every bundled config under every model.

``results_table(config)`` is one CSV text per config (a row per workload x model x schedule,
plus the zero-skipping DES run): cycles, energy by component, DRAM bytes and tiles, or the
one-line error when the workload cannot run there. ``layers_table(config)`` is the per-layer DES
result of :data:`FOCUS` (of the config's own focus, :data:`CONFIG_FOCUS`). A config of
:data:`CONFIG_WORKLOADS` is tabled on those workloads only (the binary config on the binary
networks: the others run there as on ``iso_area_45nm``). ``tests/test_golden_results.py``
compares them with the files in ``tests/golden/results/``; ``pytest --update-golden`` rewrites
the files, so a change that moves a number shows it in the diff. Floats are written with
``repr`` (exact).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from accelsim.choices import Model, SchedulePolicy
from accelsim.errors import AccelsimError
from accelsim.evaluate import evaluate
from accelsim.hw.load import load_hwconfig
from accelsim.results.records import STALL_CAUSES, UNIT_WAITS, Result
from accelsim.results.tables import mapping_text
from accelsim.workload.load import load_workload

ROOT = Path(__file__).resolve().parents[1]
GOLDEN_RESULTS = Path(__file__).resolve().parent / "golden" / "results"
CONFIGS = tuple(sorted(p.stem for p in (ROOT / "hwconfigs").glob("*.yaml")))
WORKLOADS = tuple(sorted(p.stem for p in (ROOT / "workloads").glob("*.json")))
FOCUS = "mobilenet_v1_0.5_hybrid_a0.375_r1.6"
#: Configs tabled on some workloads only, and the workload of their per-layer table.
CONFIG_WORKLOADS = {"iso_area_45nm_binary": ("resnet18_fbin", "resnet18_hbn_7wbin",
                                             "resnet18_wbin")}
CONFIG_FOCUS = {"iso_area_45nm_binary": "resnet18_hbn_7wbin"}
#: Unit classes of the per-layer tables.
UNITS = ("mac", "add", "mul", "xnor")
#: (model, schedule, zero_skip) of every row.
RUNS = ((Model.BALANCE, SchedulePolicy.SEQUENTIAL, False),
        (Model.SEQUENTIAL, SchedulePolicy.SEQUENTIAL, False),
        (Model.ANALYTIC, SchedulePolicy.SEQUENTIAL, False),
        (Model.ANALYTIC, SchedulePolicy.OVERLAP, False),
        (Model.DES, SchedulePolicy.SEQUENTIAL, False),
        (Model.DES, SchedulePolicy.OVERLAP, False),
        (Model.DES, SchedulePolicy.SEQUENTIAL, True))
ENERGY = ("mac", "add", "mul", "xnor", "sram_weights", "sram_inputs", "sram_outputs",
          "sram_hidden", "sram_activations", "dram", "leakage", "mac_operands", "add_operands")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _csv(header: list[str], rows: list[list[object]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows([[_fmt(v) for v in row] for row in rows])
    return buf.getvalue()


def results_table(config: str) -> str:
    """The golden results of every bundled workload on ``hwconfigs/<config>.yaml``."""
    hw = load_hwconfig(ROOT / "hwconfigs" / f"{config}.yaml")
    header = ["workload", "model", "schedule", "zero_skip", "cycles", "energy_pj",
              *[f"energy_{e}_pj" for e in ENERGY], "dram_read_bytes", "dram_write_bytes",
              "tiles", "error"]
    rows: list[list[object]] = []
    for name in CONFIG_WORKLOADS.get(config, WORKLOADS):
        wl = load_workload(ROOT / "workloads" / f"{name}.json")
        for model, schedule, zero_skip in RUNS:
            row: list[object] = [name, model.value, schedule.value if not
                                 model.counts_ops_only else "-", zero_skip]
            try:
                res = evaluate(model, wl, hw, schedule=schedule, zero_skip=zero_skip)
            except AccelsimError as exc:
                rows.append(row + [""] * (len(header) - len(row) - 1) +
                            [" ".join(str(exc).split())[:160]])
                continue
            rows.append(row + _totals(res))
    return _csv(header, rows)


def _totals(res: Result) -> list[object]:
    read, written = res.total("bytes_read"), res.total("bytes_written")
    return [res.cycles, res.total_energy_pj,
            *[float(res.energy_pj.get(e, 0.0)) for e in ENERGY],
            int(read.get("dram", 0)), int(written.get("dram", 0)),
            int(res.meta.get("tiles", sum(r.tiles for r in res.layers))), ""]


def focus(config: str) -> str:
    """The workload of ``config``'s per-layer table."""
    return CONFIG_FOCUS.get(config, FOCUS)


def layers_table(config: str) -> str:
    """Per-layer DES result (sequential schedule) of :func:`focus` on ``config``: compute and
    stall cycles, per unit array where its other cycles went (``wait_<unit>_<cause>``,
    ``LayerRecord.unit_stall_cycles``; 0 for an array the layer does not use), and the layout
    the mapping chose for each stage (``mapping``, e.g. ``wb=is wc=ws``)."""
    hw = load_hwconfig(ROOT / "hwconfigs" / f"{config}.yaml")
    wl = load_workload(ROOT / "workloads" / f"{focus(config)}.json")
    header = ["layer", "start_cycle", "end_cycle", *[f"compute_{u}" for u in UNITS],
              *[f"stall_{c}" for c in STALL_CAUSES], "dram_read_bytes",
              "dram_write_bytes", "energy_pj", "tiles",
              *[f"wait_{u}_{c}" for u in UNITS for c in UNIT_WAITS], "mapping"]
    try:
        res = evaluate(Model.DES, wl, hw)
    except AccelsimError as exc:
        return _csv(["error"], [[" ".join(str(exc).split())[:160]]])
    rows: list[list[object]] = []
    for rec in res.layers:
        rows.append([rec.name, rec.start_cycle, rec.end_cycle,
                     *[int(rec.compute_cycles.get(u, 0)) for u in UNITS],
                     *[int(rec.stall_cycles.get(c, 0)) for c in STALL_CAUSES],
                     int(rec.bytes_read.get("dram", 0)), int(rec.bytes_written.get("dram", 0)),
                     float(sum(rec.energy_pj.values())), rec.tiles,
                     *[int(rec.unit_stall_cycles.get(u, {}).get(c, 0))
                       for u in UNITS for c in UNIT_WAITS],
                     mapping_text(rec.mapping)])
    return _csv(header, rows)


def golden_files() -> dict[str, str]:
    """File name -> text of every golden result table."""
    out = {}
    for config in CONFIGS:
        out[f"{config}.csv"] = results_table(config)
        out[f"layers_{config}_{focus(config)}.csv"] = layers_table(config)
    return out
