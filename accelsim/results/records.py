"""Result rows: plain frozen records shared by the analytic model and the discrete-event engine.

Both models return a :class:`Result` for the same (workload, hardware, schedule) question, so
they can be compared field by field (the engine must never report fewer cycles than the bound).
Energy is not computed by the models: they count operations and bytes, and
:func:`accelsim.results.energy.price` prices the counts with the config's cost table.
Dictionaries are keyed by unit class (``mac``, ``add``, ``mul``), memory (``weights``, ``inputs``,
``outputs``, ``hidden``, ``dram``) or stall cause (``dram``, ``buffer``, ``dependency``, ``unit``).
Every field, its unit and how stalls are attributed: docs/results.md.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

STALL_CAUSES = ("dram", "buffer", "dependency", "unit")
#: Where a unit array's non-compute cycles inside a layer's window go: the stall causes, and
#: ``idle`` (no work of the layer left on that array).
UNIT_WAITS = STALL_CAUSES + ("idle",)


@dataclass(frozen=True)
class LayerRecord:
    """What one layer did. Cycles are integer accelerator cycles.

    ``compute_cycles[u]``: cycles unit class ``u`` was occupied by this layer's tiles, including
    pipeline fill and drain (what SCALE-Sim calls compute cycles). ``busy_cycles[u]``: operations
    on ``u`` divided by the number of units of ``u`` (the utilisation numerator: the cycles the
    array would need at 100% use, fractional because a layer's operations need not be a multiple
    of the unit count). ``ops``: operations executed, keyed ``"op"`` or ``"op@unit"`` when class
    ``op`` ran on unit class ``unit`` (see :func:`accelsim.results.energy.layer_energy`).
    ``bytes_read``/``bytes_written`` per memory level.
    ``unit_stall_cycles[u][cause]`` (discrete-event engine only): where unit array ``u``'s other
    cycles inside the layer's window went, by cause (:data:`UNIT_WAITS`), so that
    ``compute_cycles[u] + sum(unit_stall_cycles[u].values()) == cycles``.
    ``stall_cycles[cause]``: ``unit_stall_cycles[u][cause]`` summed over the layer's arrays
    (the engine); the analytic bound names the one cause of its window beyond the compute cycles.
    ``energy_pj`` per component (filled in by the energy pricing step).
    """

    name: str
    start_cycle: int
    end_cycle: int
    compute_cycles: Mapping[str, int]
    busy_cycles: Mapping[str, float]
    ops: Mapping[str, int]
    bytes_read: Mapping[str, int]
    bytes_written: Mapping[str, int]
    stall_cycles: Mapping[str, int] = field(default_factory=dict)
    energy_pj: Mapping[str, float] = field(default_factory=dict)
    tiles: int = 0
    unit_stall_cycles: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    #: how each stage is laid out on its array (stage name -> ``ws``/``os``/``is``/``cp`` for the
    #: systolic array, ``tree``/``elementwise`` otherwise): the mapping's per-layer choices;
    #: under a resident or fused memory policy also ``output`` -> ``on_chip`` (kept in the
    #: activation buffer for its consumers) or ``dram``
    mapping: Mapping[str, str] = field(default_factory=dict)

    @property
    def cycles(self) -> int:
        return self.end_cycle - self.start_cycle


@dataclass(frozen=True)
class Result:
    """The answer of one model (``engine`` = ``analytic``, ``des`` or ``balance``) for one workload
    on one hardware config under one schedule. ``cycles`` is the end-to-end latency of one
    inference in cycles; ``meta`` holds the workload hash, config hash and accelsim version."""

    engine: str
    schedule: str
    workload: str
    hw: str
    zero_skip: bool
    cycles: float
    clock_mhz: float
    layers: tuple[LayerRecord, ...]
    energy_pj: Mapping[str, float] = field(default_factory=dict)
    meta: Mapping[str, object] = field(default_factory=dict)

    @property
    def latency_s(self) -> float:
        return self.cycles / (self.clock_mhz * 1e6)

    @property
    def inferences_per_s(self) -> float:
        return 1.0 / self.latency_s if self.cycles else float("inf")

    @property
    def total_energy_pj(self) -> float:
        return float(sum(self.energy_pj.values()))

    def total(self, attr: str) -> dict[str, float]:
        """Sum a per-layer mapping field (``ops``, ``bytes_read``...) over layers."""
        out: dict[str, float] = {}
        for rec in self.layers:
            for k, v in getattr(rec, attr).items():
                out[k] = out.get(k, 0) + v
        return out
