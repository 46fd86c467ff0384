"""The paper's cost model: Gope et al.'s whole-network balance bound and its normalisation.

:func:`balance_bound` generalises the paper's throughput model to any cost table: the area
budget ``A`` is split so that every unit class finishes the whole network at the same time,
``T = sum_u area_u * ops_u / A`` (multiplications on zero-area units cost nothing, as in the
paper). Following the paper, every bias add counts as adder work. It is the optimum over splits
of the balance model of :mod:`accelsim.analytic.opcount`.

:func:`reference_cycles` / :func:`reference_energy_pj` give the paper's normalisation: the
baseline's MACs on a MAC-only array of the same area, and the energy of those MACs alone.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from accelsim.analytic.opcount import opcount_tables
from accelsim.counts import Convention, ConventionLike, counted, resolve, stage_ops
from accelsim.errors import CompatibilityError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.hw.rules import area_of
from accelsim.routing import assign, binary_word_ops
from accelsim.workload.schema import Workload


@dataclass(frozen=True)
class Balance:
    """The paper's whole-network balance for one workload and area.

    ``cycles``: ideal cycles per inference; ``counts``: the (fractional) units of each class that
    balance the network; ``ops``: operations per unit class; ``energy_pj``: ops x energy per op."""

    workload: str
    area_um2: float
    cycles: float
    counts: Mapping[str, float]
    ops: Mapping[str, float]
    energy_pj: float


def op_energy_pj(wl: Workload, hw: HardwareConfig, *, zero_skip: bool = False,
                 convention: ConventionLike = Convention.ACTUAL) -> float:
    """Energy of the operations alone, summed stage by stage (each operation priced at its own
    class when the cost table has it, else at the class that executes it; binary dot products
    as word operations of the config's word width)."""
    total = 0.0
    convention = resolve(convention)
    for layer in counted(wl, convention).layers:
        for st in layer.stages:
            a = assign(st, layer, hw)
            cost = hw.units.get(st.op) or hw.units[a.unit]
            words = binary_word_ops(st, hw)
            n = stage_ops(st, zero_skip=zero_skip, convention=convention) if words is None \
                else words
            total += n * cost.energy_pj_per_op
    return total


def balance_bound(wl: Workload, hw: HardwareConfig, *, area_um2: float | None = None,
                  zero_skip: bool = False, convention: ConventionLike = Convention.ACTUAL
                  ) -> Balance:
    """The paper's whole-network balance bound (see module docstring)."""
    area = area_of(hw, area_um2)
    names = sorted(hw.units)
    tables = opcount_tables(wl, hw, zero_skip=zero_skip, convention=convention)
    work = tables.unit_work(fuse=False, source=hw.name).sum(axis=0)
    areas = np.array([hw.units[u].area_um2 for u in names])
    cycles = float(areas @ work) / area
    counts = {u: (float(work[i]) / cycles if cycles else 0.0) for i, u in enumerate(names)}
    ops = {u: float(work[i]) for i, u in enumerate(names)}
    return Balance(wl.name, area, cycles, counts, ops,
                   op_energy_pj(wl, hw, zero_skip=zero_skip, convention=convention))


def reference_cycles(baseline: Workload, hw: HardwareConfig, *, area_um2: float | None = None,
                     convention: ConventionLike = Convention.ACTUAL) -> float:
    """Cycles of the baseline's MAC operations on a MAC-only array of the same area (the paper's
    throughput reference: bias adds preloaded into the accumulators). Raises
    :class:`CompatibilityError` if the baseline has no MAC operations (no reference then)."""
    mac = _mac_class(hw)
    macs = _ops_of_class(baseline, "mac", convention)
    if macs <= 0:
        raise CompatibilityError(Problem(
            "layers", "0 MAC operations", "a baseline without MAC work has no MAC-only "
            "reference to normalise to; use the full-precision network as the baseline"),
            baseline.name)
    return macs * hw.units[mac].area_um2 / area_of(hw, area_um2)


def reference_energy_pj(baseline: Workload, hw: HardwareConfig,
                        convention: ConventionLike = Convention.ACTUAL) -> float:
    """Energy of the baseline's MAC operations alone (the paper's energy reference)."""
    return _ops_of_class(baseline, "mac", convention) * hw.units[_mac_class(hw)].energy_pj_per_op


def _mac_class(hw: HardwareConfig) -> str:
    unit = hw.unit_for("mac")
    if unit not in hw.units:
        raise CompatibilityError(Problem("units.mac", "<missing>",
                                         "the reference MAC-only array needs a 'mac' unit class"),
                                 hw.name)
    return unit


def _ops_of_class(wl: Workload, op: str, convention: ConventionLike) -> float:
    convention = resolve(convention)
    return sum(stage_ops(st, convention=convention) for layer in counted(wl, convention).layers
               for st in layer.stages if st.op == op)
