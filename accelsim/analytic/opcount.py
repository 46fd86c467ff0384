"""The op-count models, once: routing as arrays, then cycles and energy for any unit counts.

Both models see a config only through its unit counts, cost table and clock, once every stage
is routed (routing depends on the cost table's ``executes`` and the ``route`` map, never on
counts). :func:`opcount_tables` routes a workload once; the array functions then evaluate ``N``
count vectors at a time (the sweeps' vectorised path), and :func:`sequential` / :func:`balance`
are the one-config :class:`~accelsim.results.records.Result` forms built from the same tables.

* **sequential**: layers one after another on fixed unit counts; a layer takes
  ``max_u ceil(work[l, u] / n_u)`` cycles over its non-fused work (its stages pipeline over the
  unit classes; a bias fused into a MAC stage takes no cycles: accumulators preloaded).
* **balance** at a fixed split (the paper's whole-network view): ``max_u W_u / n_u`` with ``W_u``
  the whole network's work on class ``u``; a fused bias add counts as work of the class it routes
  to (adders) unless the config has none of those (then it is preloaded into the accumulators).
  At the best split this is the paper's balance bound (:mod:`accelsim.analytic.paper`) up to the
  rounding of counts to whole units.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim import __version__
from accelsim.choices import NO_SCHEDULE, Model, SchedulePolicy
from accelsim.counts import Convention, ConventionLike, counted, resolve, stage_ops
from accelsim.errors import CompatibilityError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.hw.rules import leakage_pj, leakage_uw
from accelsim.results.energy import price
from accelsim.results.records import LayerRecord, Result
from accelsim.routing import assign, binary_word_ops, check_compatible
from accelsim.workload.load import workload_hash
from accelsim.workload.schema import Workload


@dataclass(frozen=True)
class OpcountTables:
    """Routing of one workload on one config family, as arrays over ``units`` (sorted names).

    ``work``: [layers, units] operations of non-fused stages by executing class;
    ``unfused``: [layers, units] the same with fused stages counted on the class they route to
    when not fused (the paper's convention: every bias add is adder work; ``unroutable`` lists
    fused stages whose unfused class the cost table lacks);
    ``fused``: [units] whole-network operations of fused stages by that class;
    ``needed``: [units] classes some non-fused stage runs on (they need units);
    ``priced``: [units, units] operations by (executing class, priced class): the sequential
    model's energy breakdown (:func:`accelsim.results.energy.layer_energy`);
    ``by_class``: [units] operations priced at each class (the balance model's breakdown);
    ``seq_components``: executing classes in order of first appearance;
    ``layer_ops``: per layer, operations by op key (``"add"``, ``"add@mac"``) in stage order;
    ``layer_stages``: stages per layer; ``touched``: [layers, units] classes a non-fused stage
    of the layer runs on (even with no operations). Arrays are int64 except under a fractional
    convention.
    """

    workload: str
    units: tuple[str, ...]
    work: np.ndarray
    unfused: np.ndarray
    fused: np.ndarray
    needed: np.ndarray
    priced: np.ndarray
    by_class: np.ndarray
    seq_components: tuple[str, ...]
    layer_names: tuple[str, ...]
    layer_ops: tuple[tuple[tuple[str, float], ...], ...]
    layer_stages: tuple[int, ...]
    touched: np.ndarray
    unroutable: tuple[Problem, ...]

    def unit_work(self, *, fuse: bool = True, source: str = "") -> np.ndarray:
        """Per-layer operations by unit class [layers, units] (float). ``fuse=False`` counts
        fused stages on the class they route to unfused (the paper's convention: every bias add
        is adder work); raises :class:`CompatibilityError` if that class is not in the cost
        table."""
        if fuse:
            return self.work.astype(float)
        if self.unroutable:
            raise CompatibilityError(self.unroutable[0], source or None)
        return self.unfused


def opcount_tables(wl: Workload, hw: HardwareConfig, *, zero_skip: bool = False,
                   convention: ConventionLike = Convention.ACTUAL) -> OpcountTables:
    """Route every stage of ``wl`` on ``hw`` (see :class:`OpcountTables`), counted under
    ``convention`` (:func:`accelsim.counts.counted`). Binary dot products (``xnor``) count
    as word operations of the config's ``binary_array.word_bits``
    (:func:`accelsim.routing.binary_word_ops`).

    Raises :class:`CompatibilityError` if a stage routes to a class the cost table lacks or
    whose ``executes`` does not include the stage's operation class."""
    units = tuple(sorted(hw.units))
    col = {u: i for i, u in enumerate(units)}
    n_u = len(units)
    convention = resolve(convention)
    wl = counted(wl, convention)
    dtype = float if convention.fractional_hidden else np.int64
    work = np.zeros((len(wl.layers), n_u), dtype=dtype)
    unfused = np.zeros((len(wl.layers), n_u))
    fused = np.zeros(n_u)
    needed = np.zeros(n_u, dtype=bool)
    touched = np.zeros((len(wl.layers), n_u), dtype=bool)
    priced = np.zeros((n_u, n_u))
    by_class = np.zeros(n_u)
    comps: dict[str, None] = {}
    layer_ops = []
    unroutable: list[Problem] = []
    for li, layer in enumerate(wl.layers):
        ops: dict[str, float] = {}
        for st in layer.stages:
            a = assign(st, layer, hw)
            words = binary_word_ops(st, hw)
            n = stage_ops(st, zero_skip=zero_skip, convention=convention) if words is None \
                else words
            op, _, unit = a.op_key.partition("@")
            unit = unit or op
            price_cls = op if op in hw.units else unit
            for name, where in ((a.unit, "its unit"), (price_cls, "its cost")):
                if name not in col:
                    raise CompatibilityError(Problem(
                        f"layers[{layer.name}].stages[{st.name}].unit", st.op,
                        f"{where} '{name}' is not in the config's cost table"), hw.name)
            if not a.fused and st.op not in hw.units[a.unit].executes:
                raise CompatibilityError(Problem(
                    f"layers[{layer.name}].stages[{st.name}].unit", st.op,
                    f"units.{a.unit}.executes does not include it"), hw.name)
            ops[a.op_key] = ops.get(a.op_key, 0) + n
            priced[col[unit], col[price_cls]] += n
            by_class[col[price_cls]] += n
            comps[unit] = None
            target = hw.unit_for(st.op) if a.fused else a.unit
            if target not in col:  # only the paper's convention (fused work unfused) needs it
                unroutable.append(Problem(
                    f"layers[{layer.name}].stages[{st.name}].unit", st.op,
                    f"routed to '{target}', which the config's cost table lacks"))
                continue
            unfused[li, col[target]] += n
            if a.fused:
                fused[col[target]] += n
            else:
                work[li, col[a.unit]] += n
                touched[li, col[a.unit]] = True
                needed[col[a.unit]] = True
        layer_ops.append(tuple(ops.items()))
    return OpcountTables(wl.name, units, work, unfused, fused, needed, priced, by_class,
                         tuple(comps), tuple(la.name for la in wl.layers), tuple(layer_ops),
                         tuple(len(la.stages) for la in wl.layers), touched, tuple(unroutable))


# -- array forms (N configs at once) ----------------------------------------------------------
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


def evaluate_counts(t: OpcountTables, model: Model, counts: np.ndarray,
                    energy_pj_per_op: np.ndarray, leak_uw: np.ndarray, clock_mhz: np.ndarray
                    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Cycles [N] and energy components {name: [N]} (pJ) of ``model`` (``balance`` or
    ``sequential``) for N configs: ``counts`` [N, units], ``energy_pj_per_op`` [N, units] (cost
    of one operation of each class), ``leak_uw`` [N] (total leakage power), ``clock_mhz`` [N].

    Sequential components are keyed by executing unit class, balance components by operation
    class, plus ``leakage`` when any config leaks."""
    if model is Model.SEQUENTIAL:
        cycles = sequential_cycles(t, counts).astype(float)
        comps = {u: (energy_pj_per_op * t.priced[i][None, :]).sum(axis=1)
                 for i, u in enumerate(t.units) if u in t.seq_components}
    elif model is Model.BALANCE:
        cycles = balance_cycles(t, counts)
        comps = {u: energy_pj_per_op[:, i] * t.by_class[i]
                 for i, u in enumerate(t.units) if t.by_class[i]}
    else:
        raise ValueError(f"not an op-count model: {model!r}")
    if np.any(leak_uw):
        comps["leakage"] = leakage_pj(leak_uw, cycles, clock_mhz)
    return cycles, comps


def config_arrays(hw: HardwareConfig, units: tuple[str, ...]
                  ) -> tuple[np.ndarray, np.ndarray, float]:
    """One config's counts [1, units], energies [1, units] and leakage power (uW)."""
    counts = np.array([[hw.counts.get(u, 0) for u in units]], dtype=np.int64)
    energy = np.array([[hw.units[u].energy_pj_per_op for u in units]])
    return counts, energy, float(leakage_uw(hw))


# -- one config: Results ----------------------------------------------------------------------
def balance(wl: Workload, hw: HardwareConfig, *, zero_skip: bool = False) -> Result:
    """The whole-network balance model at ``hw``'s unit counts, as a :class:`Result` (no
    per-layer timing: ``layers`` is empty; ``cycles`` may be fractional).

    Raises :class:`CompatibilityError` when a needed unit class has no units."""
    check_compatible(wl, hw)
    t = opcount_tables(wl, hw, zero_skip=zero_skip)
    counts, energy, leak = config_arrays(hw, t.units)
    cycles, comps = evaluate_counts(t, Model.BALANCE, counts, energy, np.array([leak]),
                                    np.array([hw.clock_mhz]))
    return Result(engine=Model.BALANCE, schedule=NO_SCHEDULE, workload=wl.name, hw=hw.name,
                  zero_skip=zero_skip, cycles=float(cycles[0]), clock_mhz=hw.clock_mhz,
                  layers=(), energy_pj={k: float(v[0]) for k, v in comps.items()},
                  meta={"workload_hash": workload_hash(wl), "accelsim_version": __version__})


def sequential(wl: Workload, hw: HardwareConfig, *, zero_skip: bool = False) -> Result:
    """Fixed split, layers one after another, op-count level (no memory model); priced.

    Raises :class:`CompatibilityError` when a needed unit class has no units."""
    check_compatible(wl, hw)
    t = opcount_tables(wl, hw, zero_skip=zero_skip)
    counts = hw.counts
    records = []
    start = 0
    for li, name in enumerate(t.layer_names):
        work = {u: int(t.work[li, i]) for i, u in enumerate(t.units) if t.touched[li, i]}
        compute = {u: -(-w // counts[u]) for u, w in work.items()}
        busy = {u: w / counts[u] for u, w in work.items()}
        cycles = max(compute.values(), default=0)
        records.append(LayerRecord(name=name, start_cycle=start, end_cycle=start + cycles,
                                   compute_cycles=compute, busy_cycles=busy,
                                   ops={k: int(v) for k, v in t.layer_ops[li]},
                                   bytes_read={}, bytes_written={}, tiles=t.layer_stages[li]))
        start += cycles
    result = Result(engine=Model.SEQUENTIAL, schedule=SchedulePolicy.SEQUENTIAL,
                    workload=wl.name, hw=hw.name, zero_skip=zero_skip, cycles=start,
                    clock_mhz=hw.clock_mhz, layers=tuple(records),
                    meta={"workload_hash": workload_hash(wl), "accelsim_version": __version__})
    return price(result, hw, operands=False)  # op counts move no data (as the array path)
