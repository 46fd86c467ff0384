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

The MAC array's aspect ratio matters a great deal to depthwise layers on a weight-stationary
array (a 3x3 depthwise filter occupies 9 rows and one column, so a 16-row array runs one channel
per fold), so for the engine the column count of every config, the MAC-only reference included,
is chosen from :data:`SHAPE_COLUMNS` by simulation (:func:`best_shape`); a fixed 32-column array
would mostly measure how badly the baseline's depthwise layers map.

:func:`layer_gaps` explains the gap per layer: a layer's share of the balance bound, the cycles
lost because its unit classes are unbalanced on the fixed split, and those lost to mapping and
memory in the engine.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from accelsim.analytic.allocation import allocate
from accelsim.analytic.opcount import opcount_tables
from accelsim.analytic.paper import balance_bound
from accelsim.choices import Model, SchedulePolicy
from accelsim.evaluate import evaluate, reference
from accelsim.hw.config import HardwareConfig
from accelsim.hw.rules import area_of, mac_only
from accelsim.results.records import Result
from accelsim.workload.schema import Workload

SHAPE_COLUMNS = (4, 8, 16, 32, 64)


def best_shape(wl: Workload, hw: HardwareConfig,
               schedule: SchedulePolicy | str = SchedulePolicy.SEQUENTIAL
               ) -> tuple[HardwareConfig, Result | None]:
    """``hw`` with the MAC array reshaped (same number of MACs, rounded down to whole rows) to the
    column count in :data:`SHAPE_COLUMNS` that gives ``wl`` the fewest engine cycles, and the
    engine's result on it under ``schedule`` (``None`` when ``hw`` has no MAC array)."""
    n = hw.mac_array.count
    if n == 0:
        return hw, None
    best, best_res = hw, None
    for cols in SHAPE_COLUMNS:
        if cols > n:
            continue
        cand = replace(hw, mac_array=replace(hw.mac_array, rows=n // cols, cols=cols))
        res = evaluate(Model.DES, wl, cand, schedule=schedule)
        if best_res is None or res.cycles < best_res.cycles:
            best, best_res = cand, res
    return best, best_res


@dataclass(frozen=True)
class StudyRow:
    """Normalised throughput (baseline on MAC-only = 1) and energy per model for one workload."""

    workload: str
    mac_share: float
    counts: dict
    mac_shape: tuple[int, int]
    thr_balance: float
    thr_fixed: float
    thr_des_seq: float
    thr_des_overlap: float
    energy_paper: float
    energy_des: float
    cycles_des_seq: float
    cycles_des_overlap: float


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
    ref_bal = reference(Model.BALANCE, baseline, hw)
    ref_fixed = reference(Model.SEQUENTIAL, baseline, hw, config=ref_hw)
    ref_shaped, ref_seq = best_shape(baseline, ref_hw)
    ref_seq = ref_seq or evaluate(Model.DES, baseline, ref_shaped)
    ref_ov = evaluate(Model.DES, baseline, ref_shaped, schedule=SchedulePolicy.OVERLAP)
    rows = []
    for wl in workloads:
        if wl is baseline:
            cfg, share = ref_hw, 1.0
        else:
            alloc = allocate(wl, hw, model=Model.SEQUENTIAL)
            cfg, share = alloc.config, alloc.shares.get("mac", 0.0)
        bal = balance_bound(wl, hw)
        shaped, seq = best_shape(wl, cfg)
        seq = seq or evaluate(Model.DES, wl, shaped)
        ov = evaluate(Model.DES, wl, shaped, schedule=SchedulePolicy.OVERLAP)
        rows.append(StudyRow(
            workload=wl.name, mac_share=share, counts=dict(cfg.counts),
            mac_shape=(shaped.mac_array.rows, shaped.mac_array.cols),
            thr_balance=1.0 if wl is baseline else ref_bal.cycles / bal.cycles,
            thr_fixed=ref_fixed.cycles / evaluate(Model.SEQUENTIAL, wl, cfg).cycles,
            thr_des_seq=ref_seq.cycles / seq.cycles, thr_des_overlap=ref_ov.cycles / ov.cycles,
            energy_paper=bal.energy_pj / ref_bal.energy_pj,
            energy_des=seq.total_energy_pj / ref_seq.total_energy_pj,
            cycles_des_seq=seq.cycles, cycles_des_overlap=ov.cycles))
    return tuple(rows)


def layer_gaps(wl: Workload, hw: HardwareConfig) -> tuple[LayerGap, ...]:
    """Per-layer decomposition of the gap between the balance bound and the engine on the best
    fixed split of ``hw``'s area and the best array shape (sequential schedule)."""
    cfg, des = best_shape(wl, allocate(wl, hw, model=Model.SEQUENTIAL).config)
    area = area_of(hw)
    areas = np.array([hw.units[u].area_um2 for u in sorted(hw.units)])
    ideal = opcount_tables(wl, hw).unit_work(fuse=False, source=hw.name) @ areas / area
    fixed = evaluate(Model.SEQUENTIAL, wl, cfg)
    des = des or evaluate(Model.DES, wl, cfg)
    out = []
    for i, layer in enumerate(wl.layers):
        out.append(LayerGap(layer.name, layer.kind, layer.variant, float(ideal[i]),
                            fixed.layers[i].cycles, des.layers[i].cycles))
    return tuple(out)
