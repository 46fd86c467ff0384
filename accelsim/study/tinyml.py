"""Gope et al.'s tinyML abstract recomputed: its Table I and the percentages of its text.

Table I repeats four rows of the full paper's Tables 1-2 (baseline, TWN, StrassenNets r = 2c,
hybrid alpha = 0.5, r = c) with fewer digits and the ImageNet top-1 accuracy. accelsim
recomputes model size, energy and throughput exactly as for ``accelsim paper`` (the ``paper``
accounting convention, ``hwconfigs/paper.yaml``); top-1 accuracy is published only.

The text's percentages are ratios against the baseline whose definitions the abstract does not
state; :data:`METRICS` names each one accelsim uses and says how it is computed. For each
headline the report gives the value of the definition on the published Tables 1-2 row (does the
text follow from the paper's own table?) and on accelsim's recomputed row. The hybrid row is the
one that does not reproduce (docs/accounting.md), so its headlines inherit that.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from accelsim.conventions import AccountingConvention, load_convention
from accelsim.hw.config import HardwareConfig
from accelsim.published import TINYML_COLUMNS, gope2019_mobilenet, gope2019_tinyml
from accelsim.study.compare import KNOWN_INCONSISTENT, PaperCell, paper_table, truncate

_Values = Mapping[str, float]


def _pct(x: float) -> float:
    return 100.0 * x


#: name -> (definition, percentage from a row's values and the baseline's). Values are those of
#: the paper's tables: ``muls_m``, ``adds_m``, ``macs_m`` (millions), ``size_kb``, ``energy``
#: and ``throughput`` (normalised to the baseline).
METRICS: dict[str, tuple[str, Callable[[_Values, _Values], float]]] = {
    "fewer_multiplications": (
        "1 - (MACs + multiplications) / baseline MACs (every MAC holds one multiplication)",
        lambda v, b: _pct(1 - (v["macs_m"] + v["muls_m"]) / b["macs_m"])),
    "smaller": ("1 - model size / baseline model size",
                lambda v, b: _pct(1 - v["size_kb"] / b["size_kb"])),
    "more_additions": (
        "(additions + MACs) / baseline MACs - 1 (every MAC holds one addition)",
        lambda v, b: _pct((v["adds_m"] + v["macs_m"]) / b["macs_m"] - 1)),
    "more_adds_only": (
        "additions / baseline MACs - 1 (the additions inside the row's MACs not counted)",
        lambda v, b: _pct(v["adds_m"] / b["macs_m"] - 1)),
    "less_energy": ("1 - energy (energy normalised to the baseline's MAC energy)",
                    lambda v, b: _pct(1 - v["energy"])),
    "throughput_change": (
        "throughput - 1 (whole-network balance bound, normalised to the baseline on a "
        "same-area MAC-only accelerator); 'no loss' means >= 0",
        lambda v, b: _pct(v["throughput"] - 1)),
}


@dataclass(frozen=True)
class TinymlRow:
    """A row of Table I: published top-1, and published / computed cells (size, energy,
    throughput, truncated to the printed digits); ``note`` for the known-inconsistent row."""

    network: str
    workload: str
    top1: float
    cells: tuple[PaperCell, ...]
    note: str

    @property
    def match(self) -> bool:
        return all(c.match for c in self.cells)


@dataclass(frozen=True)
class HeadlineCheck:
    """A percentage of the text: ``printed``, the value of its definition on the published
    Tables 1-2 row (``from_table``) and on accelsim's row (``computed``); ``consistent``: the
    table's value, rounded or truncated to the printed digits, is the printed one."""

    text: str
    metric: str
    definition: str
    printed: float
    from_table: float
    computed: float
    consistent: bool


@dataclass(frozen=True)
class TinymlTable:
    convention: AccountingConvention
    rows: tuple[TinymlRow, ...]
    headlines: tuple[HeadlineCheck, ...]


def tinyml_table(workload_dir: str | Path, hw: HardwareConfig) -> TinymlTable:
    """Recompute Table I and the text's percentages from the bundled workloads (see the module
    docstring). Raises InputError if a bundled workload is missing or malformed."""
    conv_name, pub_rows, heads = gope2019_tinyml()
    full = {r.workload: r for r in paper_table(workload_dir, hw)}
    computed = {w: {c.column: c.computed or 0.0 for c in r.cells} for w, r in full.items()}
    table12 = {r.workload: {k: v or 0.0 for k, v in r.values.items()}
               for r in gope2019_mobilenet()}
    base = pub_rows[0].workload
    rows = []
    for r in pub_rows:
        cells = []
        for col in TINYML_COLUMNS:
            val = 1.0 if col == "throughput" and r.workload == base else computed[r.workload][col]
            shown = truncate(val, r.digits[col])
            cells.append(PaperCell(col, r.values[col], val, shown,
                                   abs(shown - r.values[col]) < 1e-9))
        rows.append(TinymlRow(r.network, r.workload, r.top1, tuple(cells),
                              KNOWN_INCONSISTENT.get(r.workload, "")))
    checks = []
    for h in heads:
        definition, fn = METRICS[h.metric]
        from_table = fn(table12[h.workload], table12[base])
        ours = fn(computed[h.workload], computed[base])
        scale = 10 ** h.digits
        consistent = any(math.isclose(v, h.printed, abs_tol=1e-9) for v in
                         (round(from_table * scale) / scale, truncate(from_table, h.digits)))
        checks.append(HeadlineCheck(h.text, h.metric, definition, h.printed, from_table, ours,
                                    consistent))
    return TinymlTable(load_convention(conv_name), tuple(rows), tuple(checks))
