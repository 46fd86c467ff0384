"""Price operation and byte counts with a config's cost table (energy = counts @ costs)."""
from __future__ import annotations

from dataclasses import replace

from accelsim.hw.config import HardwareConfig
from accelsim.hw.rules import leakage_uw
from accelsim.results.records import LayerRecord, Result


def layer_energy(rec: LayerRecord, hw: HardwareConfig, *, operands: bool = True
                 ) -> dict[str, float]:
    """Energy (pJ) of one layer record by component: unit classes, buffers, DRAM, leakage.

    ``rec.ops`` is keyed ``"op"`` (an operation of class ``op`` on units of the same class) or
    ``"op@unit"`` (class ``op`` executed by unit class ``unit``, e.g. ``"add@mac"`` for a bias
    preloaded into MAC accumulators or an add routed to the MAC array). An operation is priced at
    its own class's energy when the cost table has it (an add costs an add wherever it runs),
    else at the executing unit's energy; the component is the executing unit class.
    Operand movement inside an array (``mac_array`` / ``adder_array``
    ``.operand_energy_pj_per_op``) is priced per operation the array executes, as components
    ``mac_operands`` / ``add_operands`` (absent when the config prices it at 0, or when
    ``operands`` is false: the op-count models, which move no data).
    Leakage is priced over the layer's duration for every unit and buffer (:func:`price`
    rescales it so that overlapping layers do not count the same cycles twice).
    """
    out: dict[str, float] = {}
    moving = {"mac": hw.mac_array.operand_energy_pj_per_op,
              "add": hw.adder_array.operand_energy_pj_per_op} if operands else {}
    for key, n in rec.ops.items():
        op, _, unit = key.partition("@")
        unit = unit or op
        cost = hw.units[op] if op in hw.units else hw.units[unit]
        out[unit] = out.get(unit, 0.0) + n * cost.energy_pj_per_op
        if moving.get(unit):
            out[f"{unit}_operands"] = out.get(f"{unit}_operands", 0.0) + n * moving[unit]
    for name, sram in hw.buffers.items():
        e = rec.bytes_read.get(name, 0) * sram.read_energy_pj_per_byte + \
            rec.bytes_written.get(name, 0) * sram.write_energy_pj_per_byte
        if e:
            out[f"sram_{name}"] = e
    dram = rec.bytes_read.get("dram", 0) + rec.bytes_written.get("dram", 0)
    if dram:
        out["dram"] = dram * hw.dram.energy_pj_per_byte
    leak = leakage_pj_per_cycle(hw)
    if leak:
        out["leakage"] = leak * rec.cycles
    return out


def leakage_pj_per_cycle(hw: HardwareConfig) -> float:
    """Leakage energy of the whole accelerator (units and buffers) per cycle, in pJ."""
    return leakage_uw(hw) * 1e-6 * hw.cycle_s * 1e12


def price(result: Result, hw: HardwareConfig, *, operands: bool = True) -> Result:
    """Return ``result`` with ``energy_pj`` filled per layer and in total.

    Leakage in total is ``leakage per cycle x result.cycles``; it is shared among the layers in
    proportion to their durations, so layers that overlap in time are not charged twice.
    ``operands``: price the operand movement inside the arrays (:func:`layer_energy`)."""
    layers = []
    total: dict[str, float] = {}
    span = sum(rec.cycles for rec in result.layers)
    scale = result.cycles / span if span else 0.0
    for rec in result.layers:
        e = layer_energy(rec, hw, operands=operands)
        if "leakage" in e:
            e["leakage"] *= scale
        layers.append(replace(rec, energy_pj=e))
        for k, v in e.items():
            total[k] = total.get(k, 0.0) + v
    return replace(result, layers=tuple(layers), energy_pj=total)
