"""Rules that relate a config's unit counts, its arrays and its area, written once.

The loader, the allocation search, the sweep's point builder and the vectorised sweep path all
turn unit counts into configs and check them against the area budget; they all use these
functions (the array forms take numpy arrays of many configs at once, the scalar forms one
:class:`~accelsim.hw.config.HardwareConfig`).

* :func:`mac_shape`: a MAC count becomes whole rows of the array's columns; fewer MACs than
  columns make a one-row array; no MACs, a 0 x 0 array.
* :func:`split_area`: the ``mac_fraction`` rule of the sweeps: a share of the area left after the
  multipliers goes to MACs (whole rows), adders fill the rest; :func:`split_area3` adds the
  ``binary_fraction`` rule (a share of that area to binary lanes).
* :func:`within_budget`: compute area at most the budget (relative tolerance 1e-9);
  :func:`unused_area`: a warning when the units use less than :data:`UNUSED_AREA_WARNING` of it.
* :func:`leakage_uw`: leakage power of units and buffers.
* :func:`with_counts`, :func:`mac_only`: derived configs (an allocation applied; the same-area
  MAC-only reference accelerator of the paper's normalisation).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike

from accelsim.errors import CompatibilityError, Problem
from accelsim.hw.config import HardwareConfig, unit_sum
from accelsim.limits import NUMBER

_N = TypeVar("_N", float, np.ndarray)

#: Relative tolerance of the area-budget check (the split rules round areas in floating point).
BUDGET_TOLERANCE = 1e-9
#: Columns of the MAC array when a config has none and a split needs some.
DEFAULT_COLS = 32
#: Share of the area budget below which a config's compute units get a warning (not an error:
#: a deliberately small config is legal, but usually a MAC share or count was mistyped).
UNUSED_AREA_WARNING = 0.75


def mac_shape(n: ArrayLike, cols: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of arrays holding ``n`` MACs (rounded down to whole rows of ``cols``
    columns; ``n < cols`` gives one row of ``n``; ``n <= 0`` gives 0 x 0). Elementwise."""
    n = np.asarray(n)
    cols = np.asarray(cols)
    full = n >= cols
    safe = np.where(cols > 0, cols, 1)
    rows = np.where(full, n // safe, np.where(n > 0, 1, 0))
    return rows, np.where(full, cols, np.maximum(n, 0))


def split_area(frac: ArrayLike, area: ArrayLike, a_mac: ArrayLike, a_add: ArrayLike,
               a_mul: ArrayLike, n_mul: ArrayLike, cols: ArrayLike
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MAC rows, MAC columns, MAC count and adder count for a MAC share ``frac`` of the area
    left after the multipliers (elementwise over numpy arrays; scalars work too; areas in um2).

    MACs = floor(frac x free area / MAC area), rounded down to whole rows (:func:`mac_shape`);
    adders fill the rest (>= 0). Where a count would exceed :data:`accelsim.limits.NUMBER` (or
    is not a number) all four results are -1: the split is invalid (callers check)."""
    rows, cols_out, macs, _, adders = split_area3(frac, 0.0, area, a_mac, a_add, 1.0, a_mul,
                                                  n_mul, cols)
    return rows, cols_out, macs, adders


def split_area3(frac: ArrayLike, bin_frac: ArrayLike, area: ArrayLike, a_mac: ArrayLike,
                a_add: ArrayLike, a_bin: ArrayLike, a_mul: ArrayLike, n_mul: ArrayLike,
                cols: ArrayLike, macs: ArrayLike | None = None, lanes: ArrayLike | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MAC rows, MAC columns, MAC count, binary lanes and adder count for a MAC share ``frac``
    and a binary share ``bin_frac`` of the area left after the multipliers (elementwise; areas
    in um2). Lanes = floor(bin_frac x free area / lane area); MACs as :func:`split_area`. A NaN
    share keeps the given count instead (``macs`` MAC units, ``lanes`` binary lanes). Adders
    fill the rest (>= 0: shares adding up to more than 1 leave the units over the area, which
    :func:`within_budget` catches). Where a count would exceed :data:`accelsim.limits.NUMBER`
    (or is not a number) all five results are -1: the split is invalid (callers check)."""
    frac, area = np.asarray(frac, dtype=float), np.asarray(area, dtype=float)
    bin_frac = np.asarray(bin_frac, dtype=float)
    cols = np.asarray(cols, dtype=float)
    free = area - np.asarray(n_mul, dtype=float) * np.asarray(a_mul, dtype=float)
    a_mac, a_add = np.asarray(a_mac, dtype=float), np.asarray(a_add, dtype=float)
    a_bin = np.asarray(a_bin, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        n = np.floor(np.maximum(np.nan_to_num(frac) * free, 0.0) / a_mac + 1e-9)
        if macs is not None:
            n = np.where(np.isnan(frac), np.asarray(macs, dtype=float), n)
        ok = np.isfinite(n) & (n <= NUMBER)
        n = np.where(ok, n, 0.0)
        rows, cols_out = mac_shape(n, np.where(ok, cols, 1.0))
        rows = np.floor(rows)
        n_mac = rows * cols_out
        n_bin = np.floor(np.maximum(np.nan_to_num(bin_frac) * free, 0.0) / a_bin + 1e-9)
        if lanes is not None:
            n_bin = np.where(np.isnan(bin_frac), np.asarray(lanes, dtype=float), n_bin)
        ok &= np.isfinite(n_bin) & (n_bin <= NUMBER)
        n_bin = np.where(ok, n_bin, 0.0)
        adders = np.maximum(np.floor((free - n_mac * a_mac - n_bin * a_bin) / a_add + 1e-9),
                            0.0)
    ok &= np.isfinite(adders) & (adders <= NUMBER) & (n_mac <= NUMBER)
    bad = np.int64(-1)
    return tuple(np.where(ok, np.where(ok, x, 0).astype(np.int64), bad)  # type: ignore[return-value]
                 for x in (rows, cols_out, n_mac, n_bin, adders))


def within_budget(area: ArrayLike, budget: ArrayLike) -> np.ndarray:
    """Compute area within the budget (NaN budget: no budget). Elementwise."""
    budget = np.asarray(budget, dtype=float)
    return np.isnan(budget) | (np.asarray(area) <= budget * (1 + BUDGET_TOLERANCE))


def over_budget(hw: HardwareConfig) -> bool:
    """Whether ``hw``'s compute units need more than its area budget."""
    budget = math.nan if hw.area_budget_um2 is None else hw.area_budget_um2
    return not bool(within_budget(np.array(hw.compute_area_um2), np.array(budget)))


def unused_area(hw: HardwareConfig) -> str:
    """Why ``hw`` leaves more than a quarter of its area budget unused ("" if it does not, or
    has no budget): one line naming the config, the area used and the budget."""
    budget = hw.area_budget_um2
    if not budget:
        return ""
    used = hw.compute_area_um2
    if used >= UNUSED_AREA_WARNING * budget:
        return ""
    return (f"{hw.name}: compute units use {used:,.0f} of area_budget_um2 {budget:,.0f} "
            f"({100 * used / budget:.0f}%, below {100 * UNUSED_AREA_WARNING:.0f}%): "
            "throughput normalised to a same-area MAC-only array will look low")


def leakage_uw(hw: HardwareConfig) -> float:
    """Leakage power of the whole accelerator (units and buffers), in microwatts."""
    return leakage_power(hw.counts, {u: c.leakage_uw for u, c in hw.units.items()},
                         [s.leakage_uw for _, s in hw.buffers.items()])


def leakage_power(counts: Mapping[str, _N], unit_leak_uw: Mapping[str, _N],
                  buffer_leak_uw: Sequence[_N]) -> _N:
    """Leakage power (uW) of units (counts x per-unit leakage) plus buffers; floats or numpy
    arrays of many configs."""
    total = unit_sum(counts, unit_leak_uw)
    return total + sum(buffer_leak_uw)


def leakage_pj(leak_uw: ArrayLike, cycles: ArrayLike, clock_mhz: ArrayLike) -> np.ndarray:
    """Leakage energy (pJ) of ``leak_uw`` microwatts over ``cycles`` at ``clock_mhz``
    (elementwise)."""
    return np.asarray(leak_uw) * 1e-6 * np.asarray(cycles) * (1e-6 / np.asarray(clock_mhz)) \
        * 1e12


def area_of(hw: HardwareConfig, area_um2: float | None = None) -> float:
    """The area budget to use: explicit (``area_um2``, the ``--area`` option), else the config's
    budget, else its units' area.

    Raises :class:`CompatibilityError` naming where the area came from if it is not a number in
    ``(0, NUMBER]`` (:data:`accelsim.limits.NUMBER`)."""
    derived = ""
    if area_um2 is not None:
        field, area = "--area", area_um2
    elif hw.area_budget_um2 is not None:
        field, area = "area_budget_um2", hw.area_budget_um2
    else:  # no budget: the area of the config's own units
        field, area = "area_budget_um2", hw.compute_area_um2
        derived = " (none is given: this is the area of the config's units)"
    if not math.isfinite(area):
        raise CompatibilityError(Problem(field, area, "must be a finite number of um2"),
                                 hw.name)
    if area <= 0:
        raise CompatibilityError(Problem(field, area, "must be > 0"), hw.name)
    if area > NUMBER:
        raise CompatibilityError(Problem(field, area, f"must be <= {NUMBER:g} um2{derived}: "
                                         "larger values overflow the models' 64-bit "
                                         "arithmetic"), hw.name)
    return float(area)


def with_counts(hw: HardwareConfig, counts: Mapping[str, int], *,
                area_um2: float | None = None) -> HardwareConfig:
    """``hw`` with the given unit counts (keys ``mac``, ``add``, ``mul``, ``xnor``: binary
    lanes; missing keys keep the config's counts). The MAC array keeps its columns
    (:func:`mac_shape`; a config without columns gets one row). The budget becomes
    ``area_um2`` when given."""
    mac = hw.mac_array
    if "mac" in counts:
        n = int(counts["mac"])
        rows, cols = mac_shape(np.array(n), np.array(mac.cols or max(n, 0)))
        mac = replace(mac, rows=int(rows), cols=int(cols))
    add = replace(hw.adder_array, count=int(counts.get("add", hw.adder_array.count)))
    mul = replace(hw.multiplier_array, count=int(counts.get("mul", hw.multiplier_array.count)))
    binary = replace(hw.binary_array, lanes=int(counts.get("xnor", hw.binary_array.lanes)))
    budget = area_um2 if area_um2 is not None else hw.area_budget_um2
    return replace(hw, mac_array=mac, adder_array=add, multiplier_array=mul,
                   binary_array=binary, area_budget_um2=budget)


def mac_only(hw: HardwareConfig, *, area_um2: float | None = None) -> HardwareConfig:
    """The same-area accelerator with MAC units only (adds and multiplications routed to them,
    no adders, multipliers or binary lanes): the reference of the paper's normalisation.

    The array is as square as powers of two allow (1024 MACs -> 32 x 32) and keeps every
    microarchitecture field of ``hw``'s MAC array (dataflows, loading, pipelining, depthwise
    mapping), so the reference is modelled at the config's fidelity. Raises
    :class:`CompatibilityError` if the config has no MAC unit class with an area."""
    area = area_of(hw, area_um2)
    mac_cls = hw.units.get("mac")
    if mac_cls is None or mac_cls.area_um2 <= 0:
        raise CompatibilityError(Problem("units.mac.area_um2", getattr(mac_cls, "area_um2", None),
                                         "a MAC-only reference needs MAC units with an area"),
                                 hw.name)
    n = int(area // mac_cls.area_um2 + 1e-9)
    if n > NUMBER:
        raise CompatibilityError(Problem("units.mac.area_um2", mac_cls.area_um2,
                                         f"an area of {area:g} um2 holds {n:.3g} MAC units of "
                                         f"this area, over the limit of {NUMBER:g}"), hw.name)
    cols = 2 ** int(math.floor(math.log2(math.sqrt(n)))) if n else 0
    rows = n // cols if cols else 0
    route: dict[str, str] = {op: "mac" for op in ("add", "mul") if op in mac_cls.executes}
    return replace(hw, name=f"{hw.name}_mac_only",
                   mac_array=replace(hw.mac_array, rows=rows, cols=cols),
                   adder_array=replace(hw.adder_array, count=0),
                   multiplier_array=replace(hw.multiplier_array, count=0),
                   binary_array=replace(hw.binary_array, lanes=0),
                   route=route, area_budget_um2=area)
