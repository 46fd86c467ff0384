"""How to split an area budget between MAC units, adders, multipliers and binary lanes.

:func:`allocate` searches the split of the area among the unit classes with an area (vectorised
over a grid of area shares on the simplex, then refined; with four classes or more a coarser
grid refined several times) that optimises ``throughput``, ``energy`` or ``edp`` under one of two
op-count models: ``balance`` (the paper's whole-network bound: closed form) or ``sequential``
(a fixed split, layers one after another: the split that is best *on average over layers*, which is
what a real accelerator with one fixed array must choose). Unit counts become a config by
:func:`accelsim.hw.rules.with_counts` (the MAC array keeps its column count).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import product

import numpy as np

from accelsim.analytic.opcount import opcount_tables, sequential
from accelsim.analytic.paper import op_energy_pj
from accelsim.choices import Model, Objective
from accelsim.errors import CompatibilityError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.hw.rules import area_of, leakage_pj, with_counts
from accelsim.limits import NUMBER
from accelsim.workload.schema import Workload

#: The op-count models an allocation can optimise under.
ALLOCATION_MODELS = (Model.BALANCE, Model.SEQUENTIAL)
_ARRAYS = ("mac", "add", "mul", "xnor")
#: Most grid points of the first pass (the grid gets coarser for many classes).
MAX_GRID = 50_000


@dataclass(frozen=True)
class Allocation:
    """The chosen split. ``shares``: fraction of the area per unit class (fractional optimum);
    ``counts``: integer units of the applied config (within the budget); ``model_cycles``: the
    model's cycles at the fractional optimum; ``cycles``: op-count sequential cycles of the
    applied integer config; ``layer_mac_share``: per layer, the MAC area share that would
    balance that layer alone."""

    workload: str
    model: Model
    objective: Objective
    area_um2: float
    shares: Mapping[str, float]
    counts: Mapping[str, int]
    model_cycles: float
    cycles: float
    energy_pj: float
    layer_mac_share: tuple[tuple[str, float], ...]
    config: HardwareConfig


def allocate(wl: Workload, hw: HardwareConfig, *, area_um2: float | None = None,
             model: Model | str = Model.BALANCE,
             objective: Objective | str = Objective.THROUGHPUT, zero_skip: bool = False,
             resolution: int = 200) -> Allocation:
    """Best split of the area for ``wl`` (see module docstring).

    ``resolution`` is the number of grid steps per unit of area share in the first pass (the
    second pass refines around the best point ten times finer). Raises
    :class:`CompatibilityError` if the workload needs a unit class without a cost-table entry.
    """
    model = Model.parse(model, "model")
    if model not in ALLOCATION_MODELS:
        raise ValueError(f"model must be one of {ALLOCATION_MODELS}")
    objective = Objective.parse(objective, "objective")
    area = area_of(hw, area_um2)
    names = sorted(hw.units)
    tables = opcount_tables(wl, hw, zero_skip=zero_skip)
    work = tables.unit_work(fuse=model is not Model.BALANCE, source=hw.name)
    areas = np.array([hw.units[u].area_um2 for u in names])
    # a class some stage runs on needs units even when zero-skipping leaves it no operations
    needed = (work.sum(axis=0) > 0) | tables.needed
    free = needed & (areas == 0)          # zero-area classes keep the config's counts
    opt = [i for i, u in enumerate(names) if needed[i] and areas[i] > 0 and u in _ARRAYS]
    e_ops = op_energy_pj(wl, hw, zero_skip=zero_skip)
    leak_uw = np.array([hw.units[u].leakage_uw for u in names])
    fixed_counts = np.array([float(hw.counts.get(u, 0)) for u in names])
    for u in opt:
        most = area / areas[u]
        if most > NUMBER:
            raise CompatibilityError(Problem(
                f"units.{names[u]}.area_um2", float(areas[u]),
                f"an area of {area:g} um2 holds {most:.3g} units of {areas[u]:g} um2, over the "
                f"limit of {NUMBER:g} (the models' 64-bit arithmetic)"), hw.name)

    def evaluate(shares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """cycles and energy for a batch of share vectors [P, len(opt)]."""
        n = np.tile(fixed_counts, (shares.shape[0], 1))
        for j, i in enumerate(opt):
            n[:, i] = shares[:, j] * area / areas[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(work[None] > 0, work[None] / n[:, None, :], 0.0)
        if model is Model.BALANCE:
            cyc = np.max(t.sum(axis=1), axis=1)
        else:
            cyc = np.max(t, axis=2).sum(axis=1)
        leak = (n * leak_uw).sum(axis=1)   # the units' leakage: the buffers' does not move
        with np.errstate(invalid="ignore"):
            leak_pj = np.where(leak > 0, leakage_pj(leak, cyc, hw.clock_mhz), 0.0)
        return cyc, e_ops + leak_pj

    def score(cyc: np.ndarray, energy: np.ndarray) -> np.ndarray:
        s = objective.score(cyc, energy)
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
        steps = _grid_steps(len(opt), resolution)
        grid = _simplex(len(opt), steps)
        cyc, en = evaluate(grid)
        best = grid[int(np.argmin(score(cyc, en)))]
        radius, points = 1.0 / steps, 41 if len(opt) <= 3 else 21
        while True:  # refine around the best point until ten times finer than the grid
            fine = _refine(best, radius, resolution * 10, points)
            cyc, en = evaluate(fine)
            best = fine[int(np.argmin(score(cyc, en)))]
            radius *= 2.0 / (points - 1)
            if radius < 1.0 / (resolution * 10) or len(opt) <= 3:
                break
    cyc, en = evaluate(best[None, :] if len(opt) else np.zeros((1, 0)))
    shares = {names[i]: float(best[j]) for j, i in enumerate(opt)}
    ideal = {names[i]: best[j] * area / areas[i] for j, i in enumerate(opt)}
    idle = {u: 0 for i, u in enumerate(names) if u in _ARRAYS and not needed[i]}
    best_cfg, best_score = None, np.inf
    must = [names[i] for i in opt if tables.needed[i]]
    for counts in _integer_candidates(hw, area, ideal):
        cand = with_counts(hw, {**idle, **counts}, area_um2=area)
        if any(cand.counts.get(u, 0) < 1 for u in must):
            continue  # a class the workload runs on has no unit: not a split of it
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


def _integer_candidates(hw: HardwareConfig, area: float, ideal: Mapping[str, float]
                        ) -> list[dict[str, int]]:
    """Whole-unit splits near the fractional optimum, all within the area: MACs rounded down and
    up to whole rows of the array, binary lanes down and up to a whole lane, multipliers to the
    nearest unit (>= 1 when needed), adders fill what is left. The caller keeps the best one
    under its objective."""
    cols = hw.mac_array.cols or 32
    mac_options: list[int | None] = [None]
    if "mac" in ideal:
        n = int(ideal["mac"] + 1e-9)
        low = (n // cols) * cols if n >= cols else n
        high = low + cols if n >= cols else n + 1
        mac_options = [low, high]
    lane_options: list[int | None] = [None]
    if "xnor" in ideal:
        n = int(ideal["xnor"] + 1e-9)
        lane_options = list(dict.fromkeys([max(1, n), n + 1])) if ideal["xnor"] > 0 else [0]
    out = []
    for n_mac, n_lanes in product(mac_options, lane_options):
        counts: dict[str, int] = {}
        used = 0.0
        if n_mac is not None:
            counts["mac"] = n_mac
            used += n_mac * hw.units["mac"].area_um2
        if "mul" in ideal:
            counts["mul"] = max(1, int(round(ideal["mul"]))) if ideal["mul"] > 0 else 0
            used += counts["mul"] * hw.units["mul"].area_um2
        if n_lanes is not None:
            counts["xnor"] = n_lanes
            used += n_lanes * hw.units["xnor"].area_um2
        if "add" in ideal:
            counts["add"] = max(0, int((area - used) // hw.units["add"].area_um2 + 1e-9))
            used += counts["add"] * hw.units["add"].area_um2
        if used <= area * (1 + 1e-9):
            out.append(counts)
    return out


def _grid_steps(k: int, resolution: int) -> int:
    """Grid steps of the first pass for ``k`` classes: ``resolution`` while the simplex grid
    has at most :data:`MAX_GRID` points (always for two or three classes at the default),
    else the largest number of steps that keeps it there."""
    steps = resolution
    while k > 3 and steps > k and math.comb(steps - 1, k - 1) > MAX_GRID:
        steps -= 1
    return steps


def _simplex(k: int, steps: int) -> np.ndarray:
    """All share vectors of ``k`` classes on a grid of ``steps`` (excluding zero shares)."""
    if k == 2:
        s = np.arange(1, steps) / steps
        return np.stack([s, 1 - s], axis=1)
    if k == 3:
        pts = [c for c in product(range(1, steps), repeat=k - 1) if sum(c) < steps]
        arr = np.array(pts, dtype=float) / steps
        return np.concatenate([arr, 1 - arr.sum(axis=1, keepdims=True)], axis=1)
    grids = np.meshgrid(*[np.arange(1, steps)] * (k - 1), indexing="ij")
    ints = np.stack([g.ravel() for g in grids], axis=1)
    ints = ints[ints.sum(axis=1) < steps]
    arr = ints.astype(float) / steps
    return np.concatenate([arr, 1 - arr.sum(axis=1, keepdims=True)], axis=1)


def _refine(center: np.ndarray, radius: float, steps: int, points: int = 41) -> np.ndarray:
    k = len(center)
    offs = np.linspace(-radius, radius, points)
    if k == 2:
        s = np.clip(center[0] + offs, 1.0 / steps, 1 - 1.0 / steps)
        return np.stack([s, 1 - s], axis=1)
    grids = np.meshgrid(*[center[i] + offs for i in range(k - 1)], indexing="ij")
    arr = np.stack([g.ravel() for g in grids], axis=1)
    arr = arr[(arr > 0).all(axis=1) & (arr.sum(axis=1) < 1)]
    return np.concatenate([arr, 1 - arr.sum(axis=1, keepdims=True)], axis=1)
