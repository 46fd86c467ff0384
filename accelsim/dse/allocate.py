"""How many MAC units, adders, multipliers and binary lanes to build in an area: analytic and DES
answers.

:func:`allocate_report` gathers, for one workload and one area budget:

* the paper's whole-network balance bound (fractional split, :func:`balance_bound`);
* the analytic optima of :func:`accelsim.analytic.allocation.allocate` under both op-count
  models, each evaluated on its integer config under both models (``balance``: the whole
  network balanced, the paper's throughput; ``sequential``: layers one after another, which is
  lower because one fixed split cannot suit every layer);
* with ``engine="des"``, a local search of the discrete-event engine around the analytic optimum:
  a pattern search over the number of MAC rows and, on a config with binary lanes, the number
  of lanes (adders fill the rest of the area), starting at the op-count optimum of the matching
  model, halving its steps until no neighbour improves.
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
    that chose it (op energy for the analytic models, full DES energy for ``des``);
    ``mac_share`` / ``binary_share``: area of the MAC units / binary lanes over the area."""

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
    binary_share: float = 0.0


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
    bound_binary_share: float = 0.0


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
        des_runs=runs, baseline=baseline.name if baseline is not None else None,
        bound_binary_share=_share(bound.counts.get("xnor", 0.0), hw, "xnor", area))


def drop_idle_units(wl: Workload, cfg: HardwareConfig) -> HardwareConfig:
    """``cfg`` with no units of an array class (with an area) that ``wl`` never uses.

    :func:`~accelsim.analytic.allocation.allocate` keeps the config's count for a class the
    workload does not need (e.g. the MACs of a TWN network), which can exceed the area budget;
    removing them restores the split the allocation meant. A no-op when every class is used."""
    names = sorted(cfg.units)
    used = opcount_tables(wl, cfg).unit_work(fuse=True).sum(axis=0)
    idle = {u: 0 for i, u in enumerate(names) if u in ("mac", "add", "mul", "xnor")
            and used[i] == 0 and cfg.units[u].area_um2 > 0 and cfg.counts.get(u, 0) > 0}
    return with_counts(cfg, idle) if idle else cfg


def des_search(wl: Workload, start: HardwareConfig, area_um2: float, *,
               objective: Objective | str = Objective.THROUGHPUT,
               schedule: SchedulePolicy | str = SchedulePolicy.SEQUENTIAL,
               zero_skip: bool = False, max_runs: int = MAX_DES_RUNS,
               evaluator: Callable[..., Result] = evaluate
               ) -> tuple[HardwareConfig, float, float, int]:
    """Pattern search with the DES from ``start``'s split over the number of MAC rows and,
    when ``start`` has binary lanes, the number of lanes (adders fill the rest of the area,
    multipliers stay as in ``start``).

    Each variable starts with a step of an eighth of its start value (at least 1); the search
    tries the neighbours one variable at a time (MAC rows first, down then up), moves to the
    first that improves, and halves every step when none does, until every step is below 1 or
    ``max_runs`` configs were simulated. ``evaluator`` is :func:`accelsim.evaluate.evaluate`
    (replaceable, e.g. by a model of known optimum in tests). Returns the best config, its DES
    cycles and energy (pJ) and the number of DES runs."""
    objective = Objective.parse(objective, "objective")
    cols = start.mac_array.cols or 32
    a_mac = start.units["mac"].area_um2
    a_add = start.units["add"].area_um2 if "add" in start.units else 0.0
    a_bin = start.units["xnor"].area_um2 if "xnor" in start.units else 0.0
    free = area_um2 - start.multiplier_array.count * (
        start.units["mul"].area_um2 if "mul" in start.units else 0.0)
    max_rows = int(free // (a_mac * cols) + 1e-9)
    binary = start.binary_array.lanes > 0 and a_bin > 0
    seen: dict[tuple[int, ...], tuple[float, float, float, HardwareConfig]] = {}
    failures: dict[tuple[int, ...], InputError] = {}

    def config(point: tuple[int, ...]) -> HardwareConfig:
        macs = point[0] * cols
        lanes = point[1] if binary else start.binary_array.lanes
        rest = free - macs * a_mac - (lanes * a_bin if binary else 0.0)
        adders = int(rest // a_add + 1e-9) if a_add > 0 else 0
        counts = {"mac": macs, "add": adders, **({"xnor": lanes} if binary else {})}
        return with_counts(start, counts, area_um2=area_um2)

    # only splits with a unit of every class the workload runs on (zero-skipping included)
    t = opcount_tables(wl, start)
    needs = {u for u, n in zip(t.units, t.needed) if n}
    low = 1 if "mac" in needs and max_rows else 0
    min_lanes = 1 if "xnor" in needs else 0
    lanes0 = (max(start.binary_array.lanes, min_lanes),) if binary else ()
    high = max_rows
    while "add" in needs and a_add > 0 and high >= low and \
            config((high, *lanes0)).counts["add"] < 1:
        high -= 1
    if high < low:
        raise CompatibilityError(Problem(
            "area_um2", area_um2, "too small: no whole-row split of it has a row of MAC units "
            "and an adder, which the workload needs"), start.name)

    def fits(point: tuple[int, ...]) -> bool:
        lanes = point[1] if binary else 0
        if not (low <= point[0] <= high and lanes >= min_lanes and
                point[0] * cols * a_mac + lanes * a_bin <= free * (1 + 1e-9)):
            return False
        return "add" not in needs or a_add <= 0 or config(point).counts["add"] >= 1

    def score(point: tuple[int, ...]) -> float:
        if point not in seen:
            cfg = config(point)
            try:
                res = evaluator(Model.DES, wl, cfg, schedule=schedule, zero_skip=zero_skip)
            except InputError as exc:
                seen[point] = (math.inf, math.inf, math.inf, cfg)
                failures[point] = exc
            else:
                c, e = float(res.cycles), float(res.total_energy_pj)
                s = objective.score(c, e)
                seen[point] = (s + 1e-12 * c, c, e, cfg)
        return seen[point][0]

    rows0 = min(max(start.mac_array.count // cols, low, 1 if max_rows else 0), high)
    best: tuple[int, ...] = (rows0, *lanes0)
    score(best)
    steps = [max(1, v // 8) for v in best]
    while any(st >= 1 for st in steps) and len(seen) < max_runs:
        moved = False
        for var, st in enumerate(steps):
            if st < 1:
                continue
            for delta in (-st, st):
                cand = tuple(v + delta if i == var else v for i, v in enumerate(best))
                if fits(cand) and len(seen) < max_runs and score(cand) < score(best):
                    best, moved = cand, True
                    break
            if moved:
                break
        if not moved:
            steps = [st // 2 for st in steps]
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
    thr_des = None
    if refs is not None and des_cycles is not None:
        thr_des = refs.des(zero_skip).cycles / des_cycles
    return Choice(chosen_by=label, counts=dict(cfg.counts),
                  mac_share=_share(cfg.counts["mac"], cfg, "mac", area),
                  binary_share=_share(cfg.counts["xnor"], cfg, "xnor", area),
                  balance_cycles=bal, sequential_cycles=seq, des_cycles=des_cycles,
                  energy_pj=energy,
                  thr_balance=refs.balance.cycles / bal if refs else None,
                  thr_sequential=refs.sequential.cycles / seq if refs else None,
                  thr_des=thr_des)


def _share(count: float, hw: HardwareConfig, unit: str, area: float) -> float:
    """Area of ``count`` units of class ``unit`` over ``area`` (0 without a cost entry)."""
    return count * hw.units[unit].area_um2 / area if unit in hw.units else 0.0
