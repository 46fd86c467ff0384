"""How many MAC units, adders and multipliers to build in an area: analytic and DES answers.

:func:`allocate_report` gathers, for one workload and one area budget:

* the paper's whole-network balance bound (fractional split, :func:`balance_bound`);
* the analytic optima of :func:`accelsim.analytic.allocation.allocate` under both op-count
  models, each evaluated on its integer config under both models (``balance``: the whole
  network balanced, the paper's throughput; ``sequential``: layers one after another, which is
  lower because one fixed split cannot suit every layer);
* with ``engine="des"``, a local search of the discrete-event engine around the analytic optimum:
  a pattern search over the number of MAC rows (adders fill the rest of the area), starting at
  the op-count optimum of the matching model, halving its step until neither neighbour improves.
  It costs a handful of DES runs (reported), not a sweep, and finds a local optimum;
* the per-layer ideal MAC area shares beside the chosen one.

Throughputs are normalised, as in the paper, to ``baseline`` run on a MAC-only accelerator of the
same area under the same model (when a baseline is given).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

from accelsim.analytic.allocation import allocate, apply_allocation, mac_only
from accelsim.analytic.balance import area_of, balance_bound, reference_cycles, sequential
from accelsim.dse.opcount import evaluate_config
from accelsim.errors import InputError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.workload.schema import Workload

OBJECTIVES = ("throughput", "energy", "edp")
ENGINES = ("analytic", "des")
#: Upper bound on DES runs of one local search.
MAX_DES_RUNS = 40


@dataclass(frozen=True)
class Choice:
    """One integer split and what each model makes of it. ``*_cycles`` per inference;
    ``thr_*`` normalised throughput (``None`` without a baseline); ``energy_pj`` of the model
    that chose it (op energy for the analytic models, full DES energy for ``des``)."""

    chosen_by: str
    counts: Mapping[str, int]
    mac_share: float
    balance_cycles: float
    sequential_cycles: float
    des_cycles: float | None
    energy_pj: float
    thr_balance: float | None
    thr_sequential: float | None
    thr_des: float | None


@dataclass(frozen=True)
class AllocationReport:
    """Everything ``accelsim allocate`` prints (see module docstring)."""

    workload: str
    hw: str
    area_um2: float
    objective: str
    engine: str
    schedule: str
    bound_cycles: float
    bound_mac_share: float
    bound_throughput: float | None
    choices: tuple[Choice, ...]
    layer_mac_share: tuple[tuple[str, float], ...]
    des_runs: int
    baseline: str | None


def allocate_report(wl: Workload, hw: HardwareConfig, *, area_um2: float | None = None,
                    objective: str = "throughput", engine: str = "analytic",
                    schedule: str = "sequential", baseline: Workload | None = None,
                    zero_skip: bool = False, convention: str = "actual",
                    max_des_runs: int = MAX_DES_RUNS) -> AllocationReport:
    """Analytic (and optionally DES) allocation of ``area_um2`` (default: the config's budget).

    Raises :class:`InputError` for an unknown objective/engine and the models' errors for a
    workload the config cannot run."""
    if objective not in OBJECTIVES:
        raise InputError(Problem("--objective", objective, f"must be one of {OBJECTIVES}"))
    if engine not in ENGINES:
        raise InputError(Problem("--engine", engine, f"must be one of {ENGINES}"))
    area = area_of(hw, area_um2)
    bound = balance_bound(wl, hw, area_um2=area, zero_skip=zero_skip, convention=convention)
    mac_area = hw.units["mac"].area_um2 if "mac" in hw.units else 0.0
    refs = _references(baseline, hw, area, convention, schedule) if baseline is not None else None
    choices = []
    allocs = {}
    layer_share: tuple = ()
    for model in ("balance", "sequential"):
        alloc = allocate(wl, hw, area_um2=area, model=model, objective=objective,
                         zero_skip=zero_skip)
        layer_share = layer_share or alloc.layer_mac_share
        allocs[model] = drop_idle_units(wl, alloc.config)
        choices.append(_choice(f"analytic {model}", wl, allocs[model], area, zero_skip, refs,
                               None, alloc.energy_pj))
    runs = 0
    if engine == "des":
        start = allocs["sequential" if schedule == "sequential" else "balance"]
        best, cycles, energy, runs = des_search(wl, start, area, objective=objective,
                                                schedule=schedule, zero_skip=zero_skip,
                                                max_runs=max_des_runs)
        choices.append(_choice(f"des ({runs} runs)", wl, best, area, zero_skip, refs,
                               cycles, energy))
    return AllocationReport(
        workload=wl.name, hw=hw.name, area_um2=area, objective=objective, engine=engine,
        schedule=schedule, bound_cycles=bound.cycles,
        bound_mac_share=bound.counts.get("mac", 0.0) * mac_area / area,
        bound_throughput=(refs["balance"] / bound.cycles if refs and bound.cycles else None),
        choices=tuple(choices), layer_mac_share=layer_share,
        des_runs=runs, baseline=baseline.name if baseline is not None else None)


def drop_idle_units(wl: Workload, cfg: HardwareConfig) -> HardwareConfig:
    """``cfg`` with no units of an array class (with an area) that ``wl`` never uses.

    :func:`~accelsim.analytic.allocation.allocate` keeps the config's count for a class the
    workload does not need (e.g. the MACs of a TWN network), which can exceed the area budget;
    removing them restores the split the allocation meant. A no-op when every class is used."""
    from accelsim.analytic.balance import unit_work

    names = sorted(cfg.units)
    used = unit_work(wl, cfg, fuse=True).sum(axis=0)
    idle = {u: 0 for i, u in enumerate(names) if u in ("mac", "add", "mul") and used[i] == 0
            and cfg.units[u].area_um2 > 0 and cfg.counts.get(u, 0) > 0}
    return apply_allocation(cfg, idle) if idle else cfg


def des_search(wl: Workload, start: HardwareConfig, area_um2: float, *,
               objective: str = "throughput", schedule: str = "sequential",
               zero_skip: bool = False, max_runs: int = MAX_DES_RUNS,
               simulate: Callable | None = None
               ) -> tuple[HardwareConfig, float, float, int]:
    """Pattern search over MAC rows with the DES, from ``start``'s split.

    Returns the best config, its DES cycles and energy (pJ) and the number of DES runs."""
    if simulate is None:
        from accelsim.engine import simulate
    cols = start.mac_array.cols or 32
    a_mac = start.units["mac"].area_um2
    a_add = start.units["add"].area_um2 if "add" in start.units else 0.0
    free = area_um2 - start.multiplier_array.count * (
        start.units["mul"].area_um2 if "mul" in start.units else 0.0)
    max_rows = int(free // (a_mac * cols) + 1e-9)
    seen: dict[int, tuple[float, float, float, HardwareConfig]] = {}

    def config(rows: int) -> HardwareConfig:
        macs = rows * cols
        adders = int((free - macs * a_mac) // a_add + 1e-9) if a_add > 0 else 0
        return apply_allocation(start, {"mac": macs, "add": adders}, area_um2=area_um2)

    def score(rows: int) -> float:
        if rows not in seen:
            cfg = config(rows)
            try:
                res = simulate(wl, cfg, engine="des", schedule=schedule, zero_skip=zero_skip)
            except InputError:
                seen[rows] = (math.inf, math.inf, math.inf, cfg)
            else:
                c, e = float(res.cycles), float(res.total_energy_pj)
                s = {"throughput": c, "energy": e, "edp": c * e}[objective]
                seen[rows] = (s + 1e-12 * c, c, e, cfg)
        return seen[rows][0]

    best = min(max(start.mac_array.count // cols, 1 if max_rows else 0), max_rows)
    score(best)
    step = max(1, best // 8)
    while step >= 1 and len(seen) < max_runs:
        moved = False
        for cand in (best - step, best + step):
            if 0 <= cand <= max_rows and len(seen) < max_runs and score(cand) < score(best):
                best, moved = cand, True
                break
        if not moved:
            step //= 2
    _, cycles, energy, cfg = seen[best]
    return cfg, cycles, energy, len(seen)


def _references(baseline: Workload, hw: HardwareConfig, area: float, convention: str,
                schedule: str) -> dict:
    """Cycles of ``baseline`` on the same-area MAC-only accelerator under each op-count model
    (the DES reference is added on first use by :func:`_des_reference`)."""
    ref = mac_only(hw, area_um2=area)
    return {"balance": reference_cycles(baseline, hw, area_um2=area, convention=convention),
            "sequential": float(sequential(baseline, ref).cycles), "config": ref,
            "workload": baseline, "schedule": schedule}


def _choice(label: str, wl: Workload, cfg: HardwareConfig, area: float, zero_skip: bool,
            refs: dict | None, des_cycles: float | None, energy: float) -> Choice:
    bal, _ = evaluate_config(wl, cfg, "balance", zero_skip=zero_skip)
    seq = float(sequential(wl, cfg, zero_skip=zero_skip).cycles)
    mac_area = cfg.units["mac"].area_um2 * cfg.counts["mac"] if "mac" in cfg.units else 0.0
    thr_des = None
    if refs is not None and des_cycles is not None:
        thr_des = _des_reference(refs, wl, zero_skip) / des_cycles
    return Choice(chosen_by=label, counts=dict(cfg.counts), mac_share=mac_area / area,
                  balance_cycles=bal, sequential_cycles=seq, des_cycles=des_cycles,
                  energy_pj=energy,
                  thr_balance=refs["balance"] / bal if refs else None,
                  thr_sequential=refs["sequential"] / seq if refs else None, thr_des=thr_des)


def _des_reference(refs: dict, wl: Workload, zero_skip: bool) -> float:
    """DES cycles of the baseline on the MAC-only reference (computed once per report)."""
    if "des" not in refs:
        from accelsim.engine import simulate

        res = simulate(refs["workload"], refs["config"], engine="des",
                       schedule=refs["schedule"], zero_skip=zero_skip)
        refs["des"] = float(res.cycles)
    return refs["des"]
