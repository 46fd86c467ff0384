"""The two op-count models as array arithmetic over many unit counts at once.

Both models depend on a config only through its unit counts, cost table and clock, once the
routing of every stage is known (routing depends on the cost table's ``executes`` and the
``route`` map, never on counts). :func:`opcount_tables` does that routing once per workload and
config family; :func:`sequential_cycles` and :func:`balance_cycles` then evaluate ``N`` count
vectors with numpy.

* sequential: :func:`accelsim.analytic.balance.sequential`, exactly (integer cycles): a layer
  takes ``max_u ceil(work[l, u] / n_u)`` cycles over its non-fused work, layers add up.
* balance at a fixed split: the paper's whole-network view, ``max_u W_u / n_u`` with ``W_u`` the
  whole network's work on unit class ``u``. As in :func:`~accelsim.analytic.balance.balance_bound`
  a fused bias add counts as work of the class it routes to (adders), unless the config has none
  of those, in which case it is preloaded into the accumulators. At the best split this equals
  the balance bound up to the rounding of the counts to whole units.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.errors import CompatibilityError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.routing import assign, check_compatible
from accelsim.workload.schema import Workload


@dataclass(frozen=True)
class OpcountTables:
    """Routing of one workload on one config family, as arrays over ``units`` (sorted names).

    ``work``: [layers, units] operations of non-fused stages by executing class (int64);
    ``fused``: [units] operations of fused stages by the class they would route to unfused;
    ``needed``: [units] classes some non-fused stage runs on (they need units);
    ``priced``: [units, units] operations by (executing class, priced class) — the sequential
    model's energy breakdown (:func:`accelsim.results.energy.layer_energy`);
    ``by_class``: [units] operations priced at each class (the balance model's breakdown);
    ``seq_components``: executing classes the sequential breakdown lists."""

    units: tuple[str, ...]
    work: np.ndarray
    fused: np.ndarray
    needed: np.ndarray
    priced: np.ndarray
    by_class: np.ndarray
    seq_components: tuple[str, ...]


def opcount_tables(wl: Workload, hw: HardwareConfig, *, zero_skip: bool = False
                   ) -> OpcountTables:
    """Route every stage of ``wl`` on ``hw`` (see :class:`OpcountTables`).

    Raises :class:`CompatibilityError` if a stage routes to a class the cost table lacks."""
    units = tuple(sorted(hw.units))
    col = {u: i for i, u in enumerate(units)}
    U = len(units)
    work = np.zeros((len(wl.layers), U), dtype=np.int64)
    fused = np.zeros(U)
    needed = np.zeros(U, dtype=bool)
    priced = np.zeros((U, U))
    by_class = np.zeros(U)
    comps: dict[str, None] = {}
    for li, layer in enumerate(wl.layers):
        for st in layer.stages:
            a = assign(st, layer, hw)
            n = st.ops(zero_skip)
            op, _, unit = a.op_key.partition("@")
            unit = unit or op
            price_cls = op if op in hw.units else unit
            for name, where in ((a.unit, "its unit"), (price_cls, "its cost")):
                if name not in col:
                    raise CompatibilityError(Problem(
                        f"layers[{layer.name}].stages[{st.name}].unit", st.unit,
                        f"{where} '{name}' is not in the config's cost table"), hw.name)
            priced[col[unit], col[price_cls]] += n
            by_class[col[price_cls]] += n
            comps[unit] = None
            if not a.fused and a.unit in hw.units and st.unit not in hw.units[a.unit].executes:
                raise CompatibilityError(Problem(
                    f"layers[{layer.name}].stages[{st.name}].unit", st.unit,
                    f"units.{a.unit}.executes does not include it"), hw.name)
            if a.fused:
                target = hw.unit_for(st.unit)
                if target in col:
                    fused[col[target]] += n
            else:
                work[li, col[a.unit]] += n
                needed[col[a.unit]] = True
    return OpcountTables(units, work, fused, needed, priced, by_class, tuple(comps))


def sequential_cycles(t: OpcountTables, counts: np.ndarray) -> np.ndarray:
    """Cycles [N] (int64) of the sequential model for unit counts [N, units]."""
    n = np.asarray(counts, dtype=np.int64)
    safe = np.where(n > 0, n, 1)
    total = np.zeros(n.shape[0], dtype=np.int64)
    for row in t.work:
        cols = np.flatnonzero(row)
        if len(cols):
            total += np.max(-(-row[cols][None, :] // safe[:, cols]), axis=1)
    return total


def balance_cycles(t: OpcountTables, counts: np.ndarray) -> np.ndarray:
    """Cycles [N] (float) of the whole-network balance at the given unit counts [N, units]."""
    n = np.asarray(counts, dtype=float)
    w = t.work.sum(axis=0).astype(float)[None, :] + t.fused[None, :] * (n > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(w > 0, w / np.where(n > 0, n, 1.0), 0.0)
    return ratio.max(axis=1) if ratio.shape[1] else np.zeros(n.shape[0])


def feasible(t: OpcountTables, counts: np.ndarray) -> np.ndarray:
    """[N] bool: every needed unit class has units (else the models raise CompatibilityError)."""
    n = np.asarray(counts)
    return np.all((n > 0) | ~t.needed[None, :], axis=1)


def leakage_pj(leak_uw: np.ndarray, cycles: np.ndarray, clock_mhz: np.ndarray) -> np.ndarray:
    """Leakage energy (pJ) of ``leak_uw`` microwatts over ``cycles`` at ``clock_mhz``."""
    return leak_uw * 1e-6 * cycles * (1e-6 / clock_mhz) * 1e12


def evaluate_counts(t: OpcountTables, engine: str, counts: np.ndarray, energy_pj_per_op:
                    np.ndarray, leak_uw: np.ndarray, clock_mhz: np.ndarray
                    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Cycles [N] and energy components {name: [N]} (pJ) of ``engine`` (``balance`` or
    ``sequential``) for N configs: ``counts`` [N, units], ``energy_pj_per_op`` [N, units] (cost
    of one operation of each class), ``leak_uw`` [N] (total leakage power), ``clock_mhz`` [N].

    Sequential components are keyed by executing unit class, balance components by operation
    class, plus ``leakage`` when any config leaks."""
    if engine == "sequential":
        cycles = sequential_cycles(t, counts).astype(float)
        comps = {u: (energy_pj_per_op * t.priced[i][None, :]).sum(axis=1)
                 for i, u in enumerate(t.units) if u in t.seq_components}
    elif engine == "balance":
        cycles = balance_cycles(t, counts)
        comps = {u: energy_pj_per_op[:, i] * t.by_class[i]
                 for i, u in enumerate(t.units) if t.by_class[i]}
    else:
        raise ValueError(f"not an op-count engine: {engine!r}")
    if np.any(leak_uw):
        comps["leakage"] = leakage_pj(leak_uw, cycles, clock_mhz)
    return cycles, comps


def config_arrays(hw: HardwareConfig, units: tuple[str, ...]
                  ) -> tuple[np.ndarray, np.ndarray, float]:
    """One config's counts [1, units], energies [1, units] and leakage power (uW)."""
    counts = np.array([[hw.counts.get(u, 0) for u in units]], dtype=np.int64)
    energy = np.array([[hw.units[u].energy_pj_per_op for u in units]])
    leak = sum(hw.units[u].leakage_uw * n for u, n in hw.counts.items() if u in hw.units)
    leak += sum(s.leakage_uw for _, s in hw.buffers.items())
    return counts, energy, float(leak)


def evaluate_config(wl: Workload, hw: HardwareConfig, engine: str, *, zero_skip: bool = False
                    ) -> tuple[float, dict[str, float]]:
    """Cycles and energy components of one config (the scalar twin of the array path).

    Raises :class:`CompatibilityError` when a needed unit class has no units."""
    check_compatible(wl, hw)
    t = opcount_tables(wl, hw, zero_skip=zero_skip)
    counts, energy, leak = config_arrays(hw, t.units)
    cycles, comps = evaluate_counts(t, engine, counts, energy, np.array([leak]),
                                    np.array([hw.clock_mhz]))
    return float(cycles[0]), {k: float(v[0]) for k, v in comps.items()}
