"""How to split an area budget between MAC units, adders and multipliers.

:func:`allocate` searches the split of the area among the unit classes (vectorised over a grid of
area shares, then refined) that optimises ``throughput``, ``energy`` or ``edp`` under one of two
op-count models: ``balance`` (the paper's whole-network bound: closed form) or ``sequential``
(a fixed split, layers one after another: the split that is best *on average over layers*, which is
what a real accelerator with one fixed array must choose). :func:`apply_allocation` turns unit
counts into a valid config (the MAC array keeps its column count), :func:`mac_only` gives the
same-area MAC-only reference accelerator.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product
from typing import Mapping

import numpy as np

from accelsim.analytic.balance import area_of, op_energy_pj, sequential, unit_work
from accelsim.errors import CompatibilityError, Problem
from accelsim.hw.config import AdderArray, HardwareConfig, MacArray, MultiplierArray
from accelsim.workload.schema import Workload

MODELS = ("balance", "sequential")
OBJECTIVES = ("throughput", "energy", "edp")
_ARRAYS = ("mac", "add", "mul")


@dataclass(frozen=True)
class Allocation:
    """The chosen split. ``shares``: fraction of the area per unit class (fractional optimum);
    ``counts``: integer units of the applied config (within the budget); ``model_cycles``: the
    model's cycles at the fractional optimum; ``cycles``: op-count sequential cycles of the
    applied integer config; ``layer_mac_share``: per layer, the MAC area share that would
    balance that layer alone."""

    workload: str
    model: str
    objective: str
    area_um2: float
    shares: Mapping[str, float]
    counts: Mapping[str, int]
    model_cycles: float
    cycles: int
    energy_pj: float
    layer_mac_share: tuple[tuple[str, float], ...]
    config: HardwareConfig


def allocate(wl: Workload, hw: HardwareConfig, *, area_um2: float | None = None,
             model: str = "balance", objective: str = "throughput", zero_skip: bool = False,
             resolution: int = 200) -> Allocation:
    """Best split of the area for ``wl`` (see module docstring).

    ``resolution`` is the number of grid steps per unit of area share in the first pass (the
    second pass refines around the best point ten times finer). Raises
    :class:`CompatibilityError` if the workload needs a unit class without a cost-table entry.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}")
    area = area_of(hw, area_um2)
    names = sorted(hw.units)
    fuse = model != "balance"
    work = unit_work(wl, hw, zero_skip=zero_skip, fuse=fuse)
    areas = np.array([hw.units[u].area_um2 for u in names])
    needed = work.sum(axis=0) > 0
    free = needed & (areas == 0)          # zero-area classes keep the config's counts
    opt = [i for i, u in enumerate(names) if needed[i] and areas[i] > 0 and u in _ARRAYS]
    e_ops = op_energy_pj(wl, hw, zero_skip=zero_skip)
    leak_uw = np.array([hw.units[u].leakage_uw for u in names])
    fixed_counts = np.array([float(hw.counts.get(u, 0)) for u in names])

    def evaluate(shares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """cycles and energy for a batch of share vectors [P, len(opt)]."""
        n = np.tile(fixed_counts, (shares.shape[0], 1))
        for j, i in enumerate(opt):
            n[:, i] = shares[:, j] * area / areas[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(work[None] > 0, work[None] / n[:, None, :], 0.0)
        if model == "balance":
            cyc = np.max(t.sum(axis=1), axis=1)
        else:
            cyc = np.max(t, axis=2).sum(axis=1)
        leak_w = (n * leak_uw).sum(axis=1) * 1e-6
        with np.errstate(invalid="ignore"):
            leak_pj = np.where(leak_w > 0, leak_w * cyc * hw.cycle_s * 1e12, 0.0)
        return cyc, e_ops + leak_pj

    def score(cyc: np.ndarray, energy: np.ndarray) -> np.ndarray:
        s = {"throughput": cyc, "energy": energy, "edp": energy * cyc}[objective]
        return np.where(np.isfinite(cyc), s + 1e-12 * cyc, np.inf)

    if free.any():
        for i in np.flatnonzero(free):
            if fixed_counts[i] <= 0:
                raise CompatibilityError(Problem(
                    f"{names[i]} units", 0, "zero-area units are needed but the config has none"),
                    hw.name)
    if not opt:
        best = np.zeros(0)
    elif len(opt) == 1:
        best = np.ones(1)
    else:
        grid = _simplex(len(opt), resolution)
        cyc, en = evaluate(grid)
        best = grid[int(np.argmin(score(cyc, en)))]
        fine = _refine(best, 1.0 / resolution, resolution * 10)
        cyc, en = evaluate(fine)
        best = fine[int(np.argmin(score(cyc, en)))]
    cyc, en = evaluate(best[None, :] if len(opt) else np.zeros((1, 0)))
    shares = {names[i]: float(best[j]) for j, i in enumerate(opt)}
    ideal = {names[i]: best[j] * area / areas[i] for j, i in enumerate(opt)}
    idle = {u: 0 for i, u in enumerate(names) if u in _ARRAYS and not needed[i]}
    best_cfg, best_score = None, np.inf
    for counts in _integer_candidates(hw, area, ideal):
        cand = apply_allocation(hw, {**idle, **counts}, area_um2=area)
        shares_int = np.array([[cand.counts[names[i]] * areas[i] / area for i in opt]])
        c_cyc, c_en = evaluate(shares_int) if opt else (cyc, en)
        sc = float(score(c_cyc, c_en)[0])
        if sc < best_score:
            best_cfg, best_score = cand, sc
    if best_cfg is None:  # no whole-unit split of the area runs the workload
        raise CompatibilityError(Problem(
            "area_um2", area, "too small: no whole-unit split of it has a unit of every class "
            f"the workload needs ({', '.join(names[i] for i in opt)})"), hw.name)
    config = best_cfg
    seq = sequential(wl, config, zero_skip=zero_skip)
    mac_i = names.index(hw.unit_for("mac")) if hw.unit_for("mac") in names else None
    layer_share = []
    for li, layer in enumerate(wl.layers):
        tot = float(work[li] @ areas)
        frac = float(work[li, mac_i] * areas[mac_i] / tot) if (mac_i is not None and tot) \
            else 0.0
        layer_share.append((layer.name, frac))
    return Allocation(workload=wl.name, model=model, objective=objective, area_um2=area,
                      shares=shares, counts=dict(config.counts), model_cycles=float(cyc[0]),
                      cycles=seq.cycles, energy_pj=float(en[0]),
                      layer_mac_share=tuple(layer_share), config=config)


def apply_allocation(hw: HardwareConfig, counts: Mapping[str, int], *,
                     area_um2: float | None = None) -> HardwareConfig:
    """``hw`` with the given unit counts (keys ``mac``, ``add``, ``mul``; missing keys keep the
    config's counts). The MAC array keeps its columns; rows = count // cols (a count smaller than
    the columns becomes a 1-row array). The budget becomes ``area_um2`` when given."""
    from dataclasses import replace

    mac = hw.mac_array
    if "mac" in counts:
        n = int(counts["mac"])
        if n <= 0:
            mac = replace(mac, rows=0, cols=0)
        else:
            cols = mac.cols if mac.cols and n >= mac.cols else n
            mac = replace(mac, rows=max(1, n // cols), cols=cols)
    add = replace(hw.adder_array, count=int(counts.get("add", hw.adder_array.count)))
    mul = replace(hw.multiplier_array, count=int(counts.get("mul", hw.multiplier_array.count)))
    budget = area_um2 if area_um2 is not None else hw.area_budget_um2
    return replace(hw, mac_array=mac, adder_array=add, multiplier_array=mul,
                   area_budget_um2=budget)


def mac_only(hw: HardwareConfig, *, area_um2: float | None = None) -> HardwareConfig:
    """The same-area accelerator with MAC units only (adds and multiplications routed to them).

    The array is as square as powers of two allow (1024 MACs -> 32 x 32)."""
    from dataclasses import replace

    area = area_of(hw, area_um2)
    mac_cls = hw.units.get("mac")
    if mac_cls is None or mac_cls.area_um2 <= 0:
        raise CompatibilityError(Problem("units.mac.area_um2", getattr(mac_cls, "area_um2", None),
                                         "a MAC-only reference needs MAC units with an area"),
                                 hw.name)
    n = int(area // mac_cls.area_um2 + 1e-9)
    cols = 2 ** int(math.floor(math.log2(math.sqrt(n)))) if n else 0
    rows = n // cols if cols else 0
    route = {op: "mac" for op in ("add", "mul") if op in mac_cls.executes}
    return replace(hw, name=f"{hw.name}_mac_only",
                   mac_array=MacArray(rows, cols, hw.mac_array.dataflow,
                                      hw.mac_array.pipeline_latency_cycles),
                   adder_array=AdderArray(0, hw.adder_array.tree_width,
                                          hw.adder_array.latency_cycles),
                   multiplier_array=MultiplierArray(0, hw.multiplier_array.latency_cycles),
                   route=route, area_budget_um2=area)


def _integer_candidates(hw: HardwareConfig, area: float, ideal: Mapping[str, float]
                        ) -> list[dict[str, int]]:
    """Whole-unit splits near the fractional optimum, all within the area: MACs rounded down and
    up to whole rows of the array, multipliers to the nearest unit (>= 1 when needed), adders
    fill what is left. The caller keeps the best one under its objective."""
    cols = hw.mac_array.cols or 32
    mac_options: list[int | None] = [None]
    if "mac" in ideal:
        n = int(ideal["mac"] + 1e-9)
        low = (n // cols) * cols if n >= cols else n
        high = low + cols if n >= cols else n + 1
        mac_options = [low, high]
    out = []
    for n_mac in mac_options:
        counts: dict[str, int] = {}
        used = 0.0
        if n_mac is not None:
            counts["mac"] = n_mac
            used += n_mac * hw.units["mac"].area_um2
        if "mul" in ideal:
            counts["mul"] = max(1, int(round(ideal["mul"]))) if ideal["mul"] > 0 else 0
            used += counts["mul"] * hw.units["mul"].area_um2
        if "add" in ideal:
            counts["add"] = max(0, int((area - used) // hw.units["add"].area_um2 + 1e-9))
            used += counts["add"] * hw.units["add"].area_um2
        if used <= area * (1 + 1e-9):
            out.append(counts)
    return out


def _simplex(k: int, steps: int) -> np.ndarray:
    """All share vectors of ``k`` classes on a grid of ``steps`` (excluding zero shares)."""
    if k == 2:
        s = np.arange(1, steps) / steps
        return np.stack([s, 1 - s], axis=1)
    pts = [c for c in product(range(1, steps), repeat=k - 1) if sum(c) < steps]
    arr = np.array(pts, dtype=float) / steps
    return np.concatenate([arr, 1 - arr.sum(axis=1, keepdims=True)], axis=1)


def _refine(center: np.ndarray, radius: float, steps: int) -> np.ndarray:
    k = len(center)
    offs = np.linspace(-radius, radius, 41)
    if k == 2:
        s = np.clip(center[0] + offs, 1.0 / steps, 1 - 1.0 / steps)
        return np.stack([s, 1 - s], axis=1)
    grids = np.meshgrid(*[center[i] + offs for i in range(k - 1)], indexing="ij")
    arr = np.stack([g.ravel() for g in grids], axis=1)
    arr = arr[(arr > 0).all(axis=1) & (arr.sum(axis=1) < 1)]
    return np.concatenate([arr, 1 - arr.sum(axis=1, keepdims=True)], axis=1)
