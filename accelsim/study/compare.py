"""Table 1/2-style comparisons: op counts, size, and energy and throughput normalised to a baseline.

Throughput is reported under two op-count models (see :mod:`accelsim.analytic.balance`):
``thr_balance``, the paper's whole-network balance bound for the config's area; and
``thr_sequential``, layers one after another on the best *fixed* split of the same area
(searched by :func:`accelsim.analytic.allocation.allocate`); ``thr_config`` is the same with the
config's own split. Each is normalised to the baseline workload on a MAC-only accelerator of the
same area. Energy follows the paper: operations priced by the cost table, divided by the energy of
the baseline's MACs. The baseline's own row is the reference itself: energy and balance
throughput exactly 1 and MAC share 1 (on the MAC-only accelerator its bias adds are preloaded
into the accumulators, so they cost neither adder time nor energy). Rows come in a human order:
baseline, TWN, StrassenNets by r, hybrids by alpha and r (numerically: r = c before 1.33c), then
other workloads by name.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from accelsim.analytic.allocation import allocate
from accelsim.analytic.paper import balance_bound
from accelsim.choices import Model
from accelsim.counts import Convention, workload_counts
from accelsim.errors import InputError, Problem
from accelsim.evaluate import evaluate, reference
from accelsim.hw.config import HardwareConfig
from accelsim.published import COLUMNS, gope2019_mobilenet
from accelsim.results.plotdata import series_styles
from accelsim.workload.load import load_workload
from accelsim.workload.schema import Workload


@dataclass(frozen=True)
class CompareRow:
    workload: str
    macs_m: float
    muls_m: float
    adds_m: float
    size_kb: float
    energy: float
    thr_balance: float
    thr_sequential: float
    thr_config: float
    mac_share_balance: float
    mac_share_sequential: float


def pick_baseline(workloads: Sequence[Workload]) -> Workload:
    """The workload whose layers are all full precision (MAC) layers; error if none or several."""
    fp = [w for w in workloads if all(layer.variant == "fp" for layer in w.layers)]
    if len(fp) != 1:
        raise InputError(Problem("--baseline", [w.name for w in fp] or "<none>",
                                 "give the baseline workload explicitly (need exactly one "
                                 "all-fp workload among the inputs)"))
    return fp[0]


def compare(workloads: Sequence[Workload], hw: HardwareConfig, *,
            baseline: Workload | None = None, convention: str = Convention.ACTUAL
            ) -> tuple[CompareRow, ...]:
    """One row per workload, in a human order (see module docstring)."""
    base = baseline if baseline is not None else pick_baseline(workloads)
    order = list(series_styles(w.name for w in workloads))
    workloads = sorted(workloads, key=lambda w: order.index(w.name))
    ref = reference(Model.BALANCE, base, hw, convention=convention)
    ref_c, ref_e = ref.cycles, ref.energy_pj
    ref_seq = reference(Model.SEQUENTIAL, base, hw).cycles
    rows = []
    for wl in workloads:
        c = workload_counts(wl, convention=convention)
        bal = balance_bound(wl, hw, convention=convention)
        best = allocate(wl, hw, model=Model.SEQUENTIAL)
        try:
            own = ref_seq / evaluate(Model.SEQUENTIAL, wl, hw).cycles
        except InputError:
            own = float("nan")  # the config lacks a unit class this workload needs
        area = bal.area_um2
        is_ref = wl is base
        rows.append(CompareRow(
            workload=wl.name, macs_m=c.macs / 1e6, muls_m=c.muls / 1e6, adds_m=c.adds / 1e6,
            size_kb=c.model_size_kb,
            energy=1.0 if is_ref else bal.energy_pj / ref_e if ref_e else math.nan,
            thr_balance=1.0 if is_ref else ref_c / bal.cycles if bal.cycles else math.inf,
            thr_sequential=ref_seq / best.cycles, thr_config=own,
            mac_share_balance=1.0 if is_ref else
            bal.counts.get("mac", 0) * hw.units["mac"].area_um2 / area,
            mac_share_sequential=best.shares.get("mac", 0.0)))
    return tuple(rows)


@dataclass(frozen=True)
class PaperCell:
    column: str
    published: float | None
    computed: float | None
    shown: float | None          # computed, truncated to the published digits
    match: bool


@dataclass(frozen=True)
class PaperRow:
    label: str
    workload: str
    cells: tuple[PaperCell, ...]
    note: str

    @property
    def match(self) -> bool:
        return all(c.match for c in self.cells)


#: Rows known not to reproduce, and why (see docs/accounting.md).
KNOWN_INCONSISTENT = {
    "mobilenet_v1_0.5_hybrid_a0.5_r1":
        "published row is internally inconsistent (no single r reproduces it; "
        "docs/accounting.md, 'The inconsistent row')",
}


def truncate(value: float, digits: int) -> float:
    """Truncate (not round) to ``digits`` decimals, as the paper's tables do."""
    scale = 10 ** digits
    return math.floor(value * scale + 1e-9) / scale


def paper_table(workload_dir: str | Path, hw: HardwareConfig) -> tuple[PaperRow, ...]:
    """Recompute Gope et al.'s MobileNet table from the bundled workloads (paper convention).

    The baseline row's throughput is the reference (1 by definition: it runs on the MAC-only
    accelerator); every other row is evaluated on the area-equivalent balanced accelerator."""
    published = gope2019_mobilenet()
    wdir = Path(workload_dir)
    loaded = {row.workload: load_workload(wdir / f"{row.workload}.json") for row in published}
    base = loaded[published[0].workload]
    ref = reference(Model.BALANCE, base, hw, convention=Convention.PAPER)
    ref_c, ref_e = ref.cycles, ref.energy_pj
    out = []
    for row in published:
        wl = loaded[row.workload]
        c = workload_counts(wl, convention=Convention.PAPER)
        bal = balance_bound(wl, hw, convention=Convention.PAPER)
        computed = {"muls_m": c.muls / 1e6, "adds_m": c.adds / 1e6, "macs_m": c.macs / 1e6,
                    "size_kb": c.model_size_kb,
                    "energy": bal.energy_pj / ref_e if ref_e else math.nan,
                    "throughput": 1.0 if wl is base else ref_c / bal.cycles}
        cells = []
        for col in COLUMNS:
            pub = row.values[col]
            val = computed[col]
            if pub is None:   # the paper prints '-': nothing to compare (baseline bias adds)
                cells.append(PaperCell(col, None, val, val, True))
                continue
            shown = truncate(val, row.digits[col])
            cells.append(PaperCell(col, pub, val, shown, abs(shown - pub) < 1e-9))
        out.append(PaperRow(row.label, row.workload, tuple(cells),
                            KNOWN_INCONSISTENT.get(row.workload, "")))
    return tuple(out)
