"""One entry point for every model, and the paper's normalisation written once.

:func:`evaluate` answers "how long does one inference of this workload take on this config, and
what does it cost?" with any :class:`~accelsim.choices.Model`; every model returns the same
:class:`~accelsim.results.records.Result`. The CLI, the API, the allocation search, the sweeps,
the report and the study all call it.

:func:`reference` runs the paper's reference (a baseline network on the MAC-only accelerator of
the same area, :func:`~accelsim.hw.rules.mac_only`) under a model, and :func:`normalise` divides
by it:

* ``balance``: the paper's reference exactly (:func:`~accelsim.analytic.paper.reference_cycles`,
  the baseline's MACs over the MAC-only array, and the energy of those MACs alone), so the
  numbers are Gope et al.'s Table 1-2 definitions;
* ``sequential``: the sequential model of the baseline on the MAC-only array, the same energy
  reference;
* ``analytic`` / ``des``: that model's cycles and total energy of the baseline on the MAC-only
  array under the same schedule.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from accelsim.analytic.bound import estimate
from accelsim.analytic.opcount import balance, sequential
from accelsim.analytic.paper import reference_cycles, reference_energy_pj
from accelsim.choices import Model, SchedulePolicy
from accelsim.counts import Convention
from accelsim.engine.run import simulate_plan
from accelsim.errors import CompatibilityError, InputError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.hw.rules import mac_only
from accelsim.limits import NUMBER
from accelsim.mapping.budget import check_budget
from accelsim.mapping.mapper import map_workload
from accelsim.results.records import Result
from accelsim.workload.schema import Workload


def evaluate(model: Model | str, wl: Workload, hw: HardwareConfig, *,
             schedule: SchedulePolicy | str = SchedulePolicy.SEQUENTIAL,
             zero_skip: bool = False, timeline: str | Path | None = None) -> Result:
    """One inference of ``wl`` on ``hw`` under ``model`` (see :class:`~accelsim.choices.Model`).

    ``schedule`` applies to the tile-level models (``analytic``, ``des``); ``zero_skip`` counts
    and times ternary stages by their non-zero weights; ``timeline`` (``des`` only) also writes a
    Chrome trace-event JSON there. Raises :class:`~accelsim.errors.InputError` for an unknown
    model or schedule, :class:`~accelsim.errors.CompatibilityError` when the workload cannot run
    on ``hw`` or the mapping would exceed its budget (:mod:`accelsim.mapping.budget`: too many
    tiles, or cycles beyond exact arithmetic) and :class:`~accelsim.errors.LivenessError` if
    the engine stops progressing."""
    model = Model.parse(model, "engine")
    policy = SchedulePolicy.parse(schedule, "schedule")
    if timeline is not None and model is not Model.DES:
        raise InputError(Problem("timeline", str(timeline),
                                 "only the discrete-event engine (des) records a timeline"))
    if model is Model.BALANCE:
        return check_result(balance(wl, hw, zero_skip=zero_skip), hw)
    if model is Model.SEQUENTIAL:
        return check_result(sequential(wl, hw, zero_skip=zero_skip), hw)
    check_budget(wl, hw)  # tiles, folds and cycles bounded before anything is built
    plan = map_workload(wl, hw, schedule=policy, zero_skip=zero_skip)
    if model is Model.ANALYTIC:
        return check_result(estimate(plan, hw), hw)
    return check_result(simulate_plan(plan, hw, timeline=timeline), hw)


def check_result(res: Result, hw: HardwareConfig) -> Result:
    """``res`` if its cycles are a number in ``[0, NUMBER]`` and its latency and energies are
    finite, else :class:`~accelsim.errors.CompatibilityError`: the inputs are each valid but
    their combination leaves the models' exact arithmetic (the vectorised sweep path applies the
    same rule, so both paths give the same error row)."""
    cycles = float(res.cycles)
    problems = []
    if not (math.isfinite(cycles) and 0 <= cycles <= NUMBER):
        problems.append(Problem("clock_mhz", hw.clock_mhz, f"the run takes {cycles:.3g} cycles, "
                                f"over the limit of {NUMBER:g}"))
    elif not math.isfinite(cycles / (hw.clock_mhz * 1e6)):
        problems.append(Problem("clock_mhz", hw.clock_mhz, "gives a latency that is not finite"))
    bad = sorted(k for k, v in res.energy_pj.items() if not math.isfinite(float(v)))
    if bad:
        problems.append(Problem(f"energy.{bad[0]}", float(res.energy_pj[bad[0]]),
                                "the energy is not finite: a cost in the config is too large "
                                "for this workload"))
    if problems:
        raise CompatibilityError(problems, f"{res.workload} on {res.hw}")
    return res


@dataclass(frozen=True)
class Reference:
    """What a result is normalised by: cycles and energy (pJ) of the baseline on the same-area
    MAC-only accelerator under the same model (see module docstring)."""

    model: Model
    cycles: float
    energy_pj: float


def reference(model: Model | str, baseline: Workload, hw: HardwareConfig, *,
              schedule: SchedulePolicy | str = SchedulePolicy.SEQUENTIAL,
              zero_skip: bool = False, convention: str = Convention.ACTUAL,
              area_um2: float | None = None, config: HardwareConfig | None = None
              ) -> Reference:
    """The paper's reference for results of ``model`` on ``hw`` (see module docstring).

    ``area_um2`` replaces the config's area budget; ``config`` replaces the MAC-only twin of
    ``hw`` (e.g. the twin with its array reshaped); ``convention`` applies to the op-count
    references."""
    model = Model.parse(model, "engine")
    if model is Model.BALANCE:
        return Reference(model, reference_cycles(baseline, hw, area_um2=area_um2,
                                                 convention=convention),
                         reference_energy_pj(baseline, hw, convention=convention))
    ref_hw = config if config is not None else mac_only(hw, area_um2=area_um2)
    if model is Model.SEQUENTIAL:
        return Reference(model, float(sequential(baseline, ref_hw).cycles),
                         reference_energy_pj(baseline, hw, convention=convention))
    res = evaluate(model, baseline, ref_hw, schedule=schedule, zero_skip=zero_skip)
    return Reference(model, float(res.cycles), res.total_energy_pj)


@dataclass(frozen=True)
class Normalised:
    """A result relative to its reference: ``throughput = reference cycles / cycles`` and
    ``energy = energy / reference energy`` (NaN when undefined)."""

    throughput: float
    energy: float


def normalise(result: Result | tuple[float, float], ref: Reference) -> Normalised:
    """``result`` (a :class:`Result`, or its ``(cycles, energy_pj)``) relative to ``ref``."""
    if isinstance(result, Result):
        cycles, energy = float(result.cycles), result.total_energy_pj
    else:
        cycles, energy = result
    thr = ref.cycles / cycles if cycles > 0 else float("nan")
    en = energy / ref.energy_pj if ref.energy_pj else float("nan")
    return Normalised(thr, en)
