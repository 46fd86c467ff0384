"""The report's memory-policy section: what keeping activations on chip changes.

On the realistic config (``iso_area_45nm``), every MobileNet-V1 0.5 variant of the report runs
through the discrete-event engine (sequential schedule, each workload on its own MAC / adder /
multiplier split, the config's array shape) under each memory policy
(:class:`~accelsim.choices.MemoryPolicy`): ``roundtrip`` (every layer output written to DRAM
and read back), ``resident`` (outputs kept in the activation buffer when they fit, the two
branches of a hybrid layer sharing one input read) and ``fused`` (resident, with depthwise ->
pointwise pairs fused where the mapper finds it wins, ``mapping.fusion: auto``). Energy by
component and DRAM traffic are reported, and cycles and energy are normalised to the fp16
baseline on the MAC-only accelerator of the same area *under the same policy*. The points go
through the report's result store, so a killed report resumes.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from accelsim.choices import FusionPolicy, MemoryPolicy
from accelsim.errors import InputError, Problem
from accelsim.hw.config import HardwareConfig, Sram
from accelsim.hw.rules import mac_only
from accelsim.results.plot import energy_bars_figure, save
from accelsim.results.plotdata import series_styles
from accelsim.results.text import markdown
from accelsim.workload.schema import Workload

if TYPE_CHECKING:
    import pandas as pd

#: Policies compared, in the order of the table: (label, config fields set).
POLICIES: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = (
    ("roundtrip", (("mapping.memory", MemoryPolicy.ROUNDTRIP.value),)),
    ("resident", (("mapping.memory", MemoryPolicy.RESIDENT.value),)),
    ("fused", (("mapping.memory", MemoryPolicy.RESIDENT.value),
               ("mapping.fusion", FusionPolicy.AUTO.value))),
)
#: Energy components shown (store columns ``energy_<name>_pj``), in µJ.
COMPONENTS = ("mac", "add", "mul", "sram", "dram")
#: One DES point: (workload name, or None for the reference; config; axis values).
Run = tuple[str | None, HardwareConfig, tuple[tuple[str, object], ...]]
#: Evaluates DES points (sequential schedule) and returns one store row per point, in order.
RunPoints = Callable[[Sequence[Run]], "pd.DataFrame"]


@dataclass(frozen=True)
class MemorySection:
    """The section's rows (one per policy and workload) and the files written."""

    rows: tuple[dict, ...]
    files: tuple[Path, ...]


def memory_section(out: Path, wls: Sequence[Workload], splits: Mapping[str, HardwareConfig],
                   real: HardwareConfig, run_points: RunPoints) -> MemorySection:
    """Evaluate and write ``memory.csv`` / ``memory.md`` into ``out``. ``wls[0]`` is the
    baseline; ``splits``: each workload's config (its own unit split of ``real``)."""
    import pandas as pd

    runs: list[Run] = []
    for _, axis in POLICIES:
        runs.append((None, mac_only(real), axis))
        runs += [(wl.name, splits[wl.name], axis) for wl in wls]
    df = run_points(runs)
    rows = []
    per = len(wls) + 1
    for i, (policy, _) in enumerate(POLICIES):
        block = df.iloc[i * per:(i + 1) * per]
        errors = block[block["error"].astype(bool)]
        if len(errors):
            bad = errors.iloc[0]
            raise InputError(Problem("report: memory section", bad["workload"],
                                     str(bad["error"])))
        ref = block.iloc[0]
        for j, wl in enumerate(wls):
            r = block.iloc[j + 1]
            row: dict = {"policy": policy, "workload": wl.name,
                         "cycles": int(r["cycles"]),
                         "throughput": float(ref["cycles"]) / float(r["cycles"]),
                         "energy_uj": float(r["energy_pj"]) / 1e6,
                         "energy": float(r["energy_pj"]) / float(ref["energy_pj"])}
            for c in COMPONENTS:
                row[f"{c}_uj"] = float(r[f"energy_{c}_pj"]) / 1e6
            row["dram_share"] = float(r["energy_dram_pj"]) / float(r["energy_pj"])
            rows.append(row)
    files = [out / "memory.csv", out / "memory.md", out / "memory.png"]
    pd.DataFrame(rows).to_csv(files[0], index=False, lineterminator="\n")
    files[1].write_text(memory_markdown(rows, real) + "\n", encoding="utf-8")
    labels = series_styles(r["workload"] for r in rows)
    names = {label: ", ".join(f"{k.removeprefix('mapping.')}: {v}" for k, v in axis)
             for label, axis in POLICIES}
    bars = [(names[r["policy"]], labels[r["workload"]].label,
             {c: r[f"{c}_uj"] for c in COMPONENTS}) for r in rows]
    save(energy_bars_figure(bars, title=f"Energy by component on {real.name} (DES, "
                            "sequential; each workload on its own split)"), files[2])
    return MemorySection(tuple(rows), tuple(files))


_HEAD = ["policy", "workload", "cycles", "thr", "energy µJ", "energy", "MAC µJ", "adder µJ",
         "mult. µJ", "SRAM µJ", "DRAM µJ", "DRAM share"]


def memory_markdown(rows: Sequence[dict], real: HardwareConfig) -> str:
    """The section's table and caption."""
    body = [[r["policy"], r["workload"].replace("mobilenet_v1_0.5_", ""), r["cycles"],
             r["throughput"], r["energy_uj"], r["energy"],
             *(r[f"{c}_uj"] for c in COMPONENTS), f"{100 * r['dram_share']:.0f}%"]
            for r in rows]
    act = _activation_note(real)
    caption = (
        f"Memory policies on `{real.name}` (discrete-event engine, sequential schedule, each "
        f"workload on its own unit split). *roundtrip*: every layer output is written to DRAM "
        f"and read back by its consumers; *resident*: outputs stay in the activation buffer "
        f"({act}) when they fit beside the other live ones, and the two branches of a hybrid "
        f"layer share one input read. *thr* and *energy* are normalised to the fp16 baseline "
        f"on the MAC-only accelerator of the same area under the same policy; energy "
        f"components in µJ per inference (SRAM: all buffers). *fused*: resident, and a layer "
        f"and its 1x1 consumer (depthwise -> pointwise) run fused, band of rows by band of "
        f"rows, their intermediate map kept in the activation buffer, where the mapper finds "
        f"that fusing the pair wins (`mapping.fusion: auto`, objective "
        f"`{real.mapping.objective.value}`; the reference fuses on the same terms).")
    return markdown(_HEAD, body, 2) + "\n\n" + caption


def _activation_note(hw: HardwareConfig) -> str:
    """The buffer that keeps activations under ``resident``, for a caption."""
    name = hw.mapping.activation_buffer
    sram: Sram = getattr(hw.buffers, name)
    return (f"`buffers.{name}`, {sram.size_kib:g} KiB, "
            f"{sram.read_energy_pj_per_byte:g} pJ/B read")
