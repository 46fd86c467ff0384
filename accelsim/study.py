"""The paper's question answered by simulation: does a hybrid MobileNet on an area-equivalent
MAC/adder accelerator keep the baseline's throughput at lower energy?

For each workload the area of the config is split the best way for layers run one after another
(:func:`accelsim.analytic.allocation.allocate`, ``model="sequential"``); the workload then runs
through four models of increasing realism, each normalised to the baseline on a same-area MAC-only
accelerator *under the same model*:

``balance``    the paper's whole-network bound (ideal split, all units busy all the time);
``fixed``      the same area split once, layers one after another, perfect arrays (op counts);
``des_seq``    the discrete-event engine, a barrier between layers (array geometry, fill/drain,
               buffers, DRAM);
``des_overlap`` the engine, tiles start as soon as their inputs and a unit are free.

:func:`layer_gaps` explains the gap per layer: a layer's share of the balance bound, the cycles
lost because its unit classes are unbalanced on the fixed split, and those lost to mapping and
memory in the engine.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from accelsim.analytic.allocation import allocate, mac_only
from accelsim.analytic.balance import (
    area_of, balance_bound, reference_cycles, reference_energy_pj, sequential, unit_work,
)
from accelsim.engine import simulate
from accelsim.hw.config import HardwareConfig
from accelsim.workload.schema import Workload


@dataclass(frozen=True)
class StudyRow:
    """Normalised throughput (baseline on MAC-only = 1) and energy per model for one workload."""

    workload: str
    mac_share: float
    counts: dict
    thr_balance: float
    thr_fixed: float
    thr_des_seq: float
    thr_des_overlap: float
    energy_paper: float
    energy_des: float
    cycles_des_seq: int
    cycles_des_overlap: int


@dataclass(frozen=True)
class LayerGap:
    """Cycles of one layer: ``ideal`` (its share of the balance bound), ``fixed`` (op-count time
    on the fixed split), ``des`` (engine, sequential schedule). ``imbalance = fixed - ideal``,
    ``mapping_memory = des - fixed``."""

    layer: str
    kind: str
    variant: str
    ideal: float
    fixed: int
    des: int

    @property
    def imbalance(self) -> float:
        return self.fixed - self.ideal

    @property
    def mapping_memory(self) -> int:
        return self.des - self.fixed


def answer(workloads: Sequence[Workload], hw: HardwareConfig, baseline: Workload
           ) -> tuple[StudyRow, ...]:
    """One :class:`StudyRow` per workload (see module docstring)."""
    ref_hw = mac_only(hw)
    ref_bal = reference_cycles(baseline, hw)
    ref_e = reference_energy_pj(baseline, hw)
    ref_fixed = sequential(baseline, ref_hw).cycles
    ref_seq = simulate(baseline, ref_hw, "des", "sequential")
    ref_ov = simulate(baseline, ref_hw, "des", "overlap")
    rows = []
    for wl in workloads:
        if wl is baseline:
            cfg, share = ref_hw, 1.0
        else:
            alloc = allocate(wl, hw, model="sequential")
            cfg, share = alloc.config, alloc.shares.get("mac", 0.0)
        bal = balance_bound(wl, hw)
        seq = simulate(wl, cfg, "des", "sequential")
        ov = simulate(wl, cfg, "des", "overlap")
        rows.append(StudyRow(
            workload=wl.name, mac_share=share, counts=dict(cfg.counts),
            thr_balance=1.0 if wl is baseline else ref_bal / bal.cycles,
            thr_fixed=ref_fixed / sequential(wl, cfg).cycles,
            thr_des_seq=ref_seq.cycles / seq.cycles, thr_des_overlap=ref_ov.cycles / ov.cycles,
            energy_paper=bal.energy_pj / ref_e,
            energy_des=seq.total_energy_pj / ref_seq.total_energy_pj,
            cycles_des_seq=seq.cycles, cycles_des_overlap=ov.cycles))
    return tuple(rows)


def layer_gaps(wl: Workload, hw: HardwareConfig) -> tuple[LayerGap, ...]:
    """Per-layer decomposition of the gap between the balance bound and the engine on the best
    fixed split of ``hw``'s area (sequential schedule)."""
    cfg = allocate(wl, hw, model="sequential").config
    area = area_of(hw)
    areas = np.array([hw.units[u].area_um2 for u in sorted(hw.units)])
    ideal = unit_work(wl, hw, fuse=False) @ areas / area
    fixed = sequential(wl, cfg)
    des = simulate(wl, cfg, "des", "sequential")
    out = []
    for i, layer in enumerate(wl.layers):
        out.append(LayerGap(layer.name, layer.kind, layer.variant, float(ideal[i]),
                            fixed.layers[i].cycles, des.layers[i].cycles))
    return tuple(out)
