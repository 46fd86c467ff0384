"""Op-count models: the paper's whole-network balance bound and a fixed split run layer by layer.

Both count operations only (no memory, no array geometry):

* :func:`balance_bound` is Gope et al.'s throughput model generalised to any cost table: the
  area budget ``A`` is split so that every unit class finishes the whole network at the same time,
  ``T = sum_u area_u * ops_u / A`` (multiplications on zero-area units cost nothing, as in the
  paper). Following the paper, every bias add counts as adder work here.
* :func:`sequential` runs the layers one after another on the config's *fixed* unit counts; a
  layer takes ``max_u ceil(ops_u / n_u)`` cycles (its stages pipeline over the unit classes). Bias
  adds fused into MAC stages take no cycles (accumulators preloaded), as in the engine.

:func:`reference_cycles` / :func:`reference_energy_pj` give the paper's normalisation: the
baseline's MACs on a MAC-only array of the same area.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from accelsim import __version__
from accelsim.counts import stage_ops
from accelsim.errors import CompatibilityError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.results.energy import price
from accelsim.results.records import LayerRecord, Result
from accelsim.routing import assign, check_compatible
from accelsim.workload.load import workload_hash
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


def area_of(hw: HardwareConfig, area_um2: float | None = None) -> float:
    """The area budget to use: explicit, else the config's budget, else its units' area."""
    area = area_um2 if area_um2 is not None else hw.area_budget_um2
    area = area if area is not None else hw.compute_area_um2
    if not area or area <= 0 or not math.isfinite(area):
        raise CompatibilityError(Problem("area_budget_um2", area, "must be > 0"), hw.name)
    return float(area)


def unit_work(wl: Workload, hw: HardwareConfig, *, zero_skip: bool = False,
              convention: str = "actual", fuse: bool = True) -> np.ndarray:
    """Per-layer operations by unit class: array [layers, len(units)] in ``sorted(hw.units)``
    order. With ``fuse=False`` fused bias adds count as work of the unit class they route to
    (the paper's convention)."""
    names = sorted(hw.units)
    col = {u: i for i, u in enumerate(names)}
    out = np.zeros((len(wl.layers), len(names)))
    for li, layer in enumerate(wl.layers):
        for st in layer.stages:
            a = assign(st, layer, hw)
            if a.fused and fuse:
                continue
            unit = hw.unit_for(st.unit) if a.fused else a.unit
            if unit not in col:
                raise CompatibilityError(Problem(
                    f"layers[{layer.name}].stages[{st.name}].unit", st.unit,
                    f"routed to '{unit}', which the config's cost table lacks"), hw.name)
            out[li, col[unit]] += stage_ops(st, zero_skip=zero_skip, convention=convention)
    return out


def op_energy_pj(wl: Workload, hw: HardwareConfig, *, zero_skip: bool = False,
                 convention: str = "actual") -> float:
    """Energy of the operations alone (each priced at its own class when the cost table has it)."""
    total = 0.0
    for layer in wl.layers:
        for st in layer.stages:
            a = assign(st, layer, hw)
            cost = hw.units.get(st.unit) or hw.units[a.unit]
            total += stage_ops(st, zero_skip=zero_skip, convention=convention) * \
                cost.energy_pj_per_op
    return total


def balance_bound(wl: Workload, hw: HardwareConfig, *, area_um2: float | None = None,
                  zero_skip: bool = False, convention: str = "actual") -> Balance:
    """The paper's whole-network balance bound (see module docstring)."""
    area = area_of(hw, area_um2)
    names = sorted(hw.units)
    work = unit_work(wl, hw, zero_skip=zero_skip, convention=convention, fuse=False).sum(axis=0)
    areas = np.array([hw.units[u].area_um2 for u in names])
    cycles = float(areas @ work) / area
    counts = {u: (float(work[i]) / cycles if cycles else 0.0) for i, u in enumerate(names)}
    ops = {u: float(work[i]) for i, u in enumerate(names)}
    return Balance(wl.name, area, cycles, counts, ops,
                   op_energy_pj(wl, hw, zero_skip=zero_skip, convention=convention))


def reference_cycles(baseline: Workload, hw: HardwareConfig, *, area_um2: float | None = None,
                     convention: str = "actual") -> float:
    """Cycles of the baseline's MAC operations on a MAC-only array of the same area (the paper's
    throughput reference: bias adds preloaded into the accumulators)."""
    mac = _mac_class(hw)
    macs = _ops_of_class(baseline, "mac", convention)
    return macs * hw.units[mac].area_um2 / area_of(hw, area_um2)


def reference_energy_pj(baseline: Workload, hw: HardwareConfig, convention: str = "actual"
                        ) -> float:
    """Energy of the baseline's MAC operations alone (the paper's energy reference)."""
    return _ops_of_class(baseline, "mac", convention) * hw.units[_mac_class(hw)].energy_pj_per_op


def sequential(wl: Workload, hw: HardwareConfig, *, zero_skip: bool = False) -> Result:
    """Fixed split, layers one after another, op-count level (no memory model); priced."""
    check_compatible(wl, hw)
    counts = hw.counts
    records = []
    t = 0
    for layer in wl.layers:
        work: dict[str, int] = {}
        ops: dict[str, int] = {}
        for st in layer.stages:
            a = assign(st, layer, hw)
            n = st.ops(zero_skip)
            ops[a.op_key] = ops.get(a.op_key, 0) + n
            if not a.fused:
                work[a.unit] = work.get(a.unit, 0) + n
        compute = {u: -(-w // counts[u]) for u, w in work.items()}
        busy = {u: w / counts[u] for u, w in work.items()}
        cycles = max(compute.values(), default=0)
        records.append(LayerRecord(name=layer.name, start_cycle=t, end_cycle=t + cycles,
                                   compute_cycles=compute, busy_cycles=busy, ops=ops,
                                   bytes_read={}, bytes_written={}, tiles=len(layer.stages)))
        t += cycles
    result = Result(engine="sequential", schedule="sequential", workload=wl.name, hw=hw.name,
                    zero_skip=zero_skip, cycles=t, clock_mhz=hw.clock_mhz,
                    layers=tuple(records),
                    meta={"workload_hash": workload_hash(wl), "accelsim_version": __version__})
    return price(result, hw)


def _mac_class(hw: HardwareConfig) -> str:
    unit = hw.unit_for("mac")
    if unit not in hw.units:
        raise CompatibilityError(Problem("units.mac", "<missing>",
                                         "the reference MAC-only array needs a 'mac' unit class"),
                                 hw.name)
    return unit


def _ops_of_class(wl: Workload, op: str, convention: str) -> float:
    return sum(stage_ops(st, convention=convention) for layer in wl.layers
               for st in layer.stages if st.unit == op)
