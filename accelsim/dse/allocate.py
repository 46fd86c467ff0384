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
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from accelsim.analytic.allocation import ALLOCATION_MODELS, allocate
from accelsim.analytic.opcount import opcount_tables
from accelsim.analytic.paper import balance_bound
from accelsim.choices import Model, Objective, SchedulePolicy
from accelsim.counts import Convention
from accelsim.errors import CompatibilityError, InputError, Problem
from accelsim.evaluate import Reference, evaluate, reference
from accelsim.hw.config import HardwareConfig
from accelsim.hw.rules import area_of, mac_only, with_counts
from accelsim.results.records import Result
from accelsim.workload.schema import Workload

#: How an allocation is searched: by the op-count models alone, or refined with the DES.
SEARCHES = ("analytic", "des")
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
    objective: Objective
    engine: str
    schedule: SchedulePolicy
    bound_cycles: float
    bound_mac_share: float
    bound_throughput: float | None
    choices: tuple[Choice, ...]
    layer_mac_share: tuple[tuple[str, float], ...]
    des_runs: int
    baseline: str | None


def allocate_report(wl: Workload, hw: HardwareConfig, *, area_um2: float | None = None,
                    objective: Objective | str = Objective.THROUGHPUT, engine: str = "analytic",
                    schedule: SchedulePolicy | str = SchedulePolicy.SEQUENTIAL,
                    baseline: Workload | None = None, zero_skip: bool = False,
                    convention: str = Convention.ACTUAL,
                    max_des_runs: int = MAX_DES_RUNS) -> AllocationReport:
    """Analytic (and optionally DES) allocation of ``area_um2`` (default: the config's budget).

    ``engine``: ``analytic`` (the op-count optima) or ``des`` (also a DES local search). Raises
    :class:`InputError` for an unknown objective/engine and the models' errors for a workload
    the config cannot run."""
    objective = Objective.parse(objective, "--objective")
    schedule = SchedulePolicy.parse(schedule, "--schedule")
    if engine not in SEARCHES:
        raise InputError(Problem("--engine", engine, f"must be one of {SEARCHES}"))
    area = area_of(hw, area_um2)
    bound = balance_bound(wl, hw, area_um2=area, zero_skip=zero_skip, convention=convention)
    mac_area = hw.units["mac"].area_um2 if "mac" in hw.units else 0.0
    refs = _References(baseline, hw, area, convention, schedule) if baseline is not None \
        else None
    choices = []
    allocs = {}
    layer_share: tuple = ()
    for model in ALLOCATION_MODELS:
        alloc = allocate(wl, hw, area_um2=area, model=model, objective=objective,
                         zero_skip=zero_skip)
        layer_share = layer_share or alloc.layer_mac_share
        allocs[model] = drop_idle_units(wl, alloc.config)
        choices.append(_choice(f"analytic {model}", wl, allocs[model], area, zero_skip, refs,
                               None, alloc.energy_pj))
    runs = 0
    if engine == "des":
        start = allocs[Model.SEQUENTIAL if schedule is SchedulePolicy.SEQUENTIAL
                       else Model.BALANCE]
        best, cycles, energy, runs = des_search(wl, start, area, objective=objective,
                                                schedule=schedule, zero_skip=zero_skip,
                                                max_runs=max_des_runs)
        choices.append(_choice(f"des ({runs} runs)", wl, best, area, zero_skip, refs,
                               cycles, energy))
    return AllocationReport(
        workload=wl.name, hw=hw.name, area_um2=area, objective=objective, engine=engine,
        schedule=schedule, bound_cycles=bound.cycles,
        bound_mac_share=bound.counts.get("mac", 0.0) * mac_area / area,
        bound_throughput=(refs.balance.cycles / bound.cycles if refs and bound.cycles
                          else None),
        choices=tuple(choices), layer_mac_share=layer_share,
        des_runs=runs, baseline=baseline.name if baseline is not None else None)


def drop_idle_units(wl: Workload, cfg: HardwareConfig) -> HardwareConfig:
    """``cfg`` with no units of an array class (with an area) that ``wl`` never uses.

    :func:`~accelsim.analytic.allocation.allocate` keeps the config's count for a class the
    workload does not need (e.g. the MACs of a TWN network), which can exceed the area budget;
    removing them restores the split the allocation meant. A no-op when every class is used."""
    names = sorted(cfg.units)
    used = opcount_tables(wl, cfg).unit_work(fuse=True).sum(axis=0)
    idle = {u: 0 for i, u in enumerate(names) if u in ("mac", "add", "mul") and used[i] == 0
            and cfg.units[u].area_um2 > 0 and cfg.counts.get(u, 0) > 0}
    return with_counts(cfg, idle) if idle else cfg


def des_search(wl: Workload, start: HardwareConfig, area_um2: float, *,
               objective: Objective | str = Objective.THROUGHPUT,
               schedule: SchedulePolicy | str = SchedulePolicy.SEQUENTIAL,
               zero_skip: bool = False, max_runs: int = MAX_DES_RUNS,
               evaluator: Callable[..., Result] = evaluate
               ) -> tuple[HardwareConfig, float, float, int]:
    """Pattern search over MAC rows with the DES, from ``start``'s split.

    ``evaluator`` is :func:`accelsim.evaluate.evaluate` (replaceable, e.g. by a model of known
    optimum in tests). Returns the best config, its DES cycles and energy (pJ) and the number of
    DES runs."""
    objective = Objective.parse(objective, "objective")
    cols = start.mac_array.cols or 32
    a_mac = start.units["mac"].area_um2
    a_add = start.units["add"].area_um2 if "add" in start.units else 0.0
    free = area_um2 - start.multiplier_array.count * (
        start.units["mul"].area_um2 if "mul" in start.units else 0.0)
    max_rows = int(free // (a_mac * cols) + 1e-9)
    seen: dict[int, tuple[float, float, float, HardwareConfig]] = {}
    failures: dict[int, InputError] = {}

    def config(rows: int) -> HardwareConfig:
        macs = rows * cols
        adders = int((free - macs * a_mac) // a_add + 1e-9) if a_add > 0 else 0
        return with_counts(start, {"mac": macs, "add": adders}, area_um2=area_um2)

    # only splits with a unit of every class the workload runs on (zero-skipping included)
    t = opcount_tables(wl, start)
    needs = {u for u, n in zip(t.units, t.needed) if n}
    low = 1 if "mac" in needs and max_rows else 0
    high = max_rows
    while "add" in needs and a_add > 0 and high >= low and config(high).counts["add"] < 1:
        high -= 1
    if high < low:
        raise CompatibilityError(Problem(
            "area_um2", area_um2, "too small: no whole-row split of it has a row of MAC units "
            "and an adder, which the workload needs"), start.name)

    def score(rows: int) -> float:
        if rows not in seen:
            cfg = config(rows)
            try:
                res = evaluator(Model.DES, wl, cfg, schedule=schedule, zero_skip=zero_skip)
            except InputError as exc:
                seen[rows] = (math.inf, math.inf, math.inf, cfg)
                failures[rows] = exc
            else:
                c, e = float(res.cycles), float(res.total_energy_pj)
                s = objective.score(c, e)
                seen[rows] = (s + 1e-12 * c, c, e, cfg)
        return seen[rows][0]

    best = min(max(start.mac_array.count // cols, low, 1 if max_rows else 0), high)
    score(best)
    step = max(1, best // 8)
    while step >= 1 and len(seen) < max_runs:
        moved = False
        for cand in (best - step, best + step):
            if low <= cand <= high and len(seen) < max_runs and score(cand) < score(best):
                best, moved = cand, True
                break
        if not moved:
            step //= 2
    if best in failures:  # no split tried runs (the error of the best one says why)
        raise failures[best]
    _, cycles, energy, cfg = seen[best]
    return cfg, cycles, energy, len(seen)


class _References:
    """References of ``baseline`` on the same-area MAC-only accelerator: the balance and
    sequential ones at once, the DES one on first use (it costs a simulation)."""

    def __init__(self, baseline: Workload, hw: HardwareConfig, area: float, convention: str,
                 schedule: SchedulePolicy):
        self.baseline, self.schedule = baseline, schedule
        self.config = mac_only(hw, area_um2=area)
        self.balance = reference(Model.BALANCE, baseline, hw, convention=convention,
                                 area_um2=area)
        self.sequential = reference(Model.SEQUENTIAL, baseline, hw, config=self.config)
        self._des: Reference | None = None

    def des(self, zero_skip: bool) -> Reference:
        if self._des is None:
            self._des = reference(Model.DES, self.baseline, self.config, schedule=self.schedule,
                                  zero_skip=zero_skip, config=self.config)
        return self._des


def _choice(label: str, wl: Workload, cfg: HardwareConfig, area: float, zero_skip: bool,
            refs: _References | None, des_cycles: float | None, energy: float) -> Choice:
    bal = float(evaluate(Model.BALANCE, wl, cfg, zero_skip=zero_skip).cycles)
    seq = float(evaluate(Model.SEQUENTIAL, wl, cfg, zero_skip=zero_skip).cycles)
    mac_area = cfg.units["mac"].area_um2 * cfg.counts["mac"] if "mac" in cfg.units else 0.0
    thr_des = None
    if refs is not None and des_cycles is not None:
        thr_des = refs.des(zero_skip).cycles / des_cycles
    return Choice(chosen_by=label, counts=dict(cfg.counts), mac_share=mac_area / area,
                  balance_cycles=bal, sequential_cycles=seq, des_cycles=des_cycles,
                  energy_pj=energy,
                  thr_balance=refs.balance.cycles / bal if refs else None,
                  thr_sequential=refs.sequential.cycles / seq if refs else None,
                  thr_des=thr_des)
