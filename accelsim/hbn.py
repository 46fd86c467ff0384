"""The accounting convention of Hybrid Binary Networks (``hbn2018``) and its ResNet-18 table.

Chakraborty et al. (WACV 2018, supplementary section C) count a hybrid binary network as
follows (docs/accounting.md, "Hybrid binary networks"):

* FLOPs are multiply-accumulates of the full-precision network (``FPrec``), per layer;
* a binary layer stores its parameters in 1 bit: ``Bin params = FPrec params / 32`` (the first
  layer stays fp; the published table divides the classifier too);
* *repeats*: the fraction of a layer's binary ``kh x kw`` kernels that duplicate another kernel
  of the same input channel; only distinct kernels are computed, ``WBin = FPrec * (1 -
  repeats)`` (1x1 layers are not reduced);
* a FullBinConv costs ``WBin / 58`` (XNOR-Net's measured speed-up of binary over fp
  operations); layers kept fp (the first, the classifier) keep their FPrec FLOPs;
* a hybrid network takes, per layer, its WBin or FBin figure.

:func:`hbn_layers` applies the convention to any traced workload of fp / WeightBinConv /
FullBinConv layers, with repeats counted from the traced weights (``unique_kernels``) or given.
:func:`hbn_paper_table` reproduces the published ResNet-18 table from the bundled FPrec workload
and the published repeats, matching rows to layers by shape. Torch-free.
"""
from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from accelsim.errors import InputError, Problem
from accelsim.workload.load import load_workload
from accelsim.workload.schema import Layer, Stage, Workload

#: The convention's constants: bits of an fp parameter and XNOR-Net's binary speed-up.
PARAM_DIVISOR = 32
FBIN_SPEEDUP = 58.0
CONVENTION = "hbn2018"
#: Units of the published table: parameters in 0.1 M, FLOPs in 10 M.
PARAM_UNIT, FLOP_UNIT = 1e5, 1e7
COLUMNS = ("fprec_params", "bin_params", "fprec_flops", "wbin", "fbin", "hybrid_flops")


@dataclass(frozen=True)
class HbnLayer:
    """One conv / FC layer under the convention: its ``kind`` (``fp``, ``wbin``, ``fbin``), its
    full-precision parameters and MACs, and the fraction of repeated binary kernels."""

    name: str
    kind: str
    fprec_params: int
    fprec_flops: int
    repeats: float
    first: bool = False

    @property
    def bin_params(self) -> float:
        return self.fprec_params if self.first else self.fprec_params / PARAM_DIVISOR

    @property
    def wbin_flops(self) -> float:
        return self.fprec_flops * (1.0 - self.repeats)

    @property
    def fbin_flops(self) -> float:
        return self.wbin_flops / FBIN_SPEEDUP

    @property
    def flops(self) -> float:
        """The layer's FLOPs as built: FPrec, WBin or FBin by its kind."""
        return {"fp": float(self.fprec_flops), "wbin": self.wbin_flops,
                "fbin": self.fbin_flops}[self.kind]

    @property
    def params(self) -> float:
        return float(self.fprec_params) if self.kind == "fp" else \
            self.fprec_params / PARAM_DIVISOR


def _main_stage(layer: Layer) -> Stage:
    name = {"fp": "conv", "wbin": "conv", "fbin": "xnor"}.get(layer.variant)
    if name is None:
        raise InputError(Problem(f"layers[{layer.name}].variant", layer.variant,
                                 f"the {CONVENTION} convention counts fp and binary layers only"))
    return layer.stage(name)


def stage_repeats(stage: Stage) -> float:
    """Repeated kernels of a binary stage, ``1 - unique_kernels / kernels`` (0 for 1x1 kernels
    and stages without kernel statistics)."""
    if stage.kernel_taps is None or stage.unique_kernels is None or stage.kernel_taps == 1:
        return 0.0
    kernels = stage.n * (stage.k // stage.kernel_taps)
    return 1.0 - stage.unique_kernels / kernels


def hbn_layers(wl: Workload, *, repeats: Mapping[str, float] | None = None,
               kinds: Mapping[str, str] | None = None) -> tuple[HbnLayer, ...]:
    """The conv and linear layers of ``wl`` under the convention (BatchNorm, depthwise and
    residual layers are not counted, as in the paper). ``repeats``: per layer name, replaces the
    fraction counted from the traced weights; ``kinds``: per layer name, replaces the traced
    kind. Raises InputError for strassen / TWN layers or an unknown name in either mapping."""
    rows: list[HbnLayer] = []
    for layer in wl.layers:
        if layer.kind not in ("conv", "linear"):
            continue
        st = _main_stage(layer)
        rep = stage_repeats(st) if layer.variant != "fp" else 0.0
        rows.append(HbnLayer(layer.name, layer.variant, st.n * st.k, st.ops_dense, rep,
                             first=not rows))
    names = {r.name for r in rows}
    for label, given in (("repeats", repeats), ("kinds", kinds)):
        for name in given or {}:
            if name not in names:
                raise InputError(Problem(f"{label}.{name}", "<key>", "not a conv or linear "
                                         f"layer of {wl.name}"))
    return tuple(HbnLayer(r.name, (kinds or {}).get(r.name, r.kind), r.fprec_params,
                          r.fprec_flops, (repeats or {}).get(r.name, r.repeats), r.first)
                 for r in rows)


def hbn_counts(wl: Workload) -> dict:
    """Plain-data per-layer rows and totals of ``wl`` under the convention, with repeats
    counted from its weights (params in parameters, FLOPs in MACs)."""
    rows = hbn_layers(wl)
    return {"workload": wl.name, "convention": CONVENTION,
            "layers": [{"name": r.name, "kind": r.kind, "fprec_params": r.fprec_params,
                        "params": r.params, "fprec_flops": r.fprec_flops,
                        "repeats": r.repeats, "flops": r.flops} for r in rows],
            "totals": {"fprec_params": sum(r.fprec_params for r in rows),
                       "params": sum(r.params for r in rows),
                       "fprec_flops": sum(r.fprec_flops for r in rows),
                       "flops": sum(r.flops for r in rows)}}


# -- the published ResNet-18 table -------------------------------------------------------------

@dataclass(frozen=True)
class PublishedHbnRow:
    """One row of the published table (``values`` by :data:`COLUMNS`, ``None`` where blank;
    ``digits``: decimals printed)."""

    label: str
    values: dict[str, float | None]
    digits: dict[str, int]
    repeats: float | None
    binary: bool
    hybrid: str


def chakraborty2018_resnet18() -> tuple[PublishedHbnRow, ...]:
    """The rows of the published table, the ``Total`` row last."""
    text = resources.files("accelsim.data").joinpath("chakraborty2018_resnet18.csv") \
        .read_text()
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    out = []
    for rec in csv.DictReader(lines):
        values: dict[str, float | None] = {}
        digits: dict[str, int] = {}
        for col in COLUMNS:
            cell = rec[col].strip()
            values[col] = float(cell) if cell else None
            digits[col] = len(cell.split(".")[1]) if "." in cell else 0
        rep = rec["repeats"].strip()
        out.append(PublishedHbnRow(rec["layer"], values, digits, float(rep) if rep else None,
                                   rec["binary"] == "yes", rec["hybrid"]))
    return tuple(out)


@dataclass(frozen=True)
class HbnCell:
    """``computed`` beside ``published``; ``tolerance``: the largest deviation the published
    rounding explains (see :func:`hbn_paper_table`); ``match``: within it."""

    column: str
    published: float | None
    computed: float
    tolerance: float
    digits: int = 2

    @property
    def exact(self) -> bool:
        """Whether ``computed`` rounds to the printed value."""
        return self.published is None or \
            abs(self.computed - self.published) <= _half_unit(self.digits) + 1e-9

    @property
    def deviation(self) -> float:
        return 0.0 if self.published is None else abs(self.computed - self.published)

    @property
    def match(self) -> bool:
        return self.published is None or self.deviation <= self.tolerance + 1e-9


@dataclass(frozen=True)
class HbnTableRow:
    label: str
    layer: str          # the workload layer matched by shape ("" for the total, "?" if none)
    cells: tuple[HbnCell, ...]

    @property
    def match(self) -> bool:
        return all(c.match for c in self.cells)


def _half_unit(digits: int) -> float:
    return 0.5 * 10.0 ** -digits


def match_rows(published: tuple[PublishedHbnRow, ...], layers: tuple[HbnLayer, ...]
               ) -> list[HbnLayer | None]:
    """For every published layer row, in order, the first not yet matched workload layer (in
    workload order) whose FPrec parameters and FLOPs round to the published values; ``None``
    when there is none."""
    used: set[str] = set()
    out: list[HbnLayer | None] = []
    for row in published:
        hit = None
        for layer in layers:
            if layer.name in used:
                continue
            p, f = layer.fprec_params / PARAM_UNIT, layer.fprec_flops / FLOP_UNIT
            if abs(p - (row.values["fprec_params"] or 0)) <= _half_unit(
                    row.digits["fprec_params"]) + 1e-9 and \
                    abs(f - (row.values["fprec_flops"] or 0)) <= _half_unit(
                        row.digits["fprec_flops"]) + 1e-9:
                hit = layer
                used.add(layer.name)
                break
        out.append(hit)
    return out


def hbn_paper_table(workload_dir: str | Path = "workloads") -> tuple[HbnTableRow, ...]:
    """Recompute the published ResNet-18 table from ``resnet18_baseline.json`` (the FPrec
    network) in ``workload_dir`` and the published repeats and hybrid partition.

    Tolerances: a value read from the network (FPrec and Bin parameters, FPrec FLOPs) must round
    to the printed digits (deviation <= half a unit of the last digit). WBin, FBin and hybrid
    values are computed from the published repeats, which are rounded to 0.01: the true fraction
    lies within +-0.005, so a WBin value may deviate by ``0.005 * FPrec`` plus the printed
    rounding, an FBin value by that over 58 plus the printed rounding. A total's tolerance is
    the sum of its rows' repeat tolerances plus its own printed rounding (totals are computed
    from unrounded row values). Raises InputError if the workload is
    missing or is not ResNet-18-shaped enough to match every row."""
    rows = chakraborty2018_resnet18()
    published, total = rows[:-1], rows[-1]
    wl = load_workload(Path(workload_dir) / "resnet18_baseline.json")
    matched = match_rows(published, hbn_layers(wl))
    missing = [r.label for r, m in zip(published, matched) if m is None]
    if missing:
        raise InputError(Problem("layers", missing, "no layer of the workload has these rows' "
                                 "parameters and FLOPs"), wl.name)
    out, sums, tols = [], dict.fromkeys(COLUMNS, 0.0), dict.fromkeys(COLUMNS, 0.0)
    for i, (row, layer) in enumerate(zip(published, matched)):
        assert layer is not None
        fp_flops = layer.fprec_flops / FLOP_UNIT
        binary = row.binary
        wbin = fp_flops * (1.0 - (row.repeats or 0.0)) if binary else fp_flops
        fbin = wbin / FBIN_SPEEDUP if binary else fp_flops
        wtol = 0.005 * fp_flops if binary and row.repeats else 0.0
        ftol = wtol / FBIN_SPEEDUP
        hybrid = {"fp": fp_flops, "wbin": wbin, "fbin": fbin}[row.hybrid]
        htol = {"fp": 0.0, "wbin": wtol, "fbin": ftol}[row.hybrid]
        values = {"fprec_params": layer.fprec_params / PARAM_UNIT,
                  "bin_params": (layer.fprec_params if i == 0 else
                                 layer.fprec_params / PARAM_DIVISOR) / PARAM_UNIT,
                  "fprec_flops": fp_flops, "wbin": wbin, "fbin": fbin, "hybrid_flops": hybrid}
        extra = {"wbin": wtol, "fbin": ftol, "hybrid_flops": htol}
        cells = []
        for col in COLUMNS:
            tol = extra.get(col, 0.0) + _half_unit(row.digits[col])
            cells.append(HbnCell(col, row.values[col], values[col], tol, row.digits[col]))
            sums[col] += values[col]
            tols[col] += extra.get(col, 0.0)
        out.append(HbnTableRow(row.label, layer.name, tuple(cells)))
    out.append(HbnTableRow(total.label, "", tuple(
        HbnCell(c, total.values[c], sums[c], tols[c] + _half_unit(total.digits[c]),
                total.digits[c]) for c in COLUMNS)))
    return tuple(out)
