"""Run ZigZag 3.9.1 on a workload and dump, per layer, the traffic and energy of every memory
level. Runs inside ZigZag's own virtual environment (bench/zigzag/zzenv.py), never imported by
accelsim.

Usage: python run_zigzag.py WORKLOAD.yaml HARDWARE.yaml MAPPING.yaml OPT OUT.json

OPT is LOMA's objective (``energy``, ``latency``, ``EDP``). OUT.json: a list with one object per
layer: ``name``, ``macs``, ``latency_cycles``, ``mac_energy_pj``, ``spatial_mapping``,
``temporal_mapping`` and ``levels``: for each (operand, memory level) its memory name, the
accesses ZigZag counts in each direction (words of the level's port, ``rd_up`` = read out
towards a higher level, ``wr_down`` = written in from a higher level, ``rd_down`` = read out
towards a lower level, ``wr_up`` = written in from a lower level), their energy (pJ) and the
data those accesses carry in bits (element count x precision, before ZigZag rounds each
transfer up to the port width).
"""
from __future__ import annotations

import json
import sys
import time

from zigzag.api import get_hardware_performance_zigzag
from zigzag.datatypes import LayerOperand
from zigzag.mapping.data_movement import DataDirection, DataMoveAttr

DIRS = {"rd_up": DataDirection.RD_OUT_TO_HIGH, "wr_down": DataDirection.WR_IN_BY_HIGH,
        "rd_down": DataDirection.RD_OUT_TO_LOW, "wr_up": DataDirection.WR_IN_BY_LOW}


def layer_levels(cme) -> list[dict]:
    """Per (operand, memory level) of one ZigZag CostModelEvaluation ``cme``: its record."""
    out = []
    hierarchy = cme.accelerator.memory_hierarchy
    for op in cme.layer.layer_operands:
        mem_op = cme.memory_operand_links.layer_to_mem_op(op)
        levels = hierarchy.get_memory_levels(mem_op=mem_op)
        for lv, (access, energy) in enumerate(zip(cme.memory_word_access[op],
                                                  cme.mem_energy_breakdown_further[op])):
            move = cme.mapping.unit_mem_data_movement[op][lv]
            amount = move.get_attribute(DataMoveAttr.DATA_TRANS_AMOUNT_PER_PERIOD)
            precision = move.get_attribute(DataMoveAttr.DATA_PRECISION)
            periods = move.get_attribute(DataMoveAttr.DATA_TRANS_PERIOD_COUNT)
            units = cme.mapping.spatial_mapping.unit_count[op][lv + 1]
            out.append({
                "operand": str(op), "level": lv, "memory": levels[lv].name,
                "accesses": {k: float(access.get(d)) for k, d in DIRS.items()},
                "energy_pj": {k: float(energy.get(d)) for k, d in DIRS.items()},
                "bits": {k: float(amount.get(d) * precision.get(d) * periods.get(d) * units)
                         for k, d in DIRS.items()},
            })
    return out


def main() -> None:
    workload, hardware, mapping, opt, out = sys.argv[1:6]
    t0 = time.perf_counter()
    _, _, cmes = get_hardware_performance_zigzag(
        workload=workload, accelerator=hardware, mapping=mapping, opt=opt,
        dump_folder=out + ".dump", pickle_filename=out + ".dump/cmes.pickle",
        loma_show_progress_bar=False)
    seconds = time.perf_counter() - t0
    layers = []
    for cme, _ in cmes[0][1]:
        assert isinstance(cme.layer.layer_operands[0], LayerOperand)
        layers.append({
            "name": cme.layer.name, "macs": int(cme.layer.total_mac_count),
            "latency_cycles": float(cme.latency_total2),
            "mac_energy_pj": float(cme.mac_energy), "mem_energy_pj": float(cme.mem_energy),
            "spatial_mapping": str(cme.spatial_mapping),
            "temporal_mapping": str(cme.temporal_mapping),
            "levels": layer_levels(cme)})
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"seconds": seconds, "layers": layers}, f, indent=1)


if __name__ == "__main__":
    main()
