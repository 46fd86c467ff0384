"""Normalise store rows the paper's way: to a baseline network on a same-area MAC-only array.

``throughput_norm = reference cycles / cycles`` and ``energy_norm = energy / reference energy``,
where the reference runs ``baseline`` on :func:`~accelsim.analytic.allocation.mac_only` of the
row's config under the row's model:

* ``balance``: the paper's reference (:func:`~accelsim.analytic.balance.reference_cycles`, the
  baseline's MACs over the MAC-only array) and energy of the baseline's MACs alone
  (:func:`~accelsim.analytic.balance.reference_energy_pj`), so the numbers are Table 1-2's;
* ``sequential``: the sequential model of the baseline on the MAC-only array, same energy
  reference (as :func:`accelsim.compare.compare` does);
* ``analytic`` / ``des``: that engine's cycles and total energy of the baseline on the MAC-only
  array under the row's schedule.

References are computed once per distinct (config without its MAC split, model) group.
"""
from __future__ import annotations

import json
import math
from typing import Any, Callable

from accelsim.analytic.allocation import mac_only
from accelsim.analytic.balance import reference_cycles, reference_energy_pj, sequential
from accelsim.dse.spec import MAC_FRACTION
from accelsim.hw.load import hwconfig_from_dict
from accelsim.workload.schema import Workload


def reference(baseline: Workload, cfg: Any, engine: str, schedule: str, zero_skip: bool,
              simulate: Callable | None = None) -> tuple[float, float]:
    """(cycles, energy pJ) of ``baseline`` on the MAC-only twin of ``cfg`` under ``engine``."""
    if engine == "balance":
        return reference_cycles(baseline, cfg), reference_energy_pj(baseline, cfg)
    ref = mac_only(cfg)
    if engine == "sequential":
        return float(sequential(baseline, ref).cycles), reference_energy_pj(baseline, cfg)
    if simulate is None:
        from accelsim.engine import simulate
    res = simulate(baseline, ref, engine=engine, schedule=schedule, zero_skip=zero_skip)
    return float(res.cycles), float(res.total_energy_pj)


def normalise(df: Any, baseline: Workload, *, simulate: Callable | None = None) -> Any:
    """A copy of store rows ``df`` with ``throughput_norm`` and ``energy_norm`` columns
    (NaN for rows with an error)."""
    out = df.copy()
    thr = [math.nan] * len(out)
    en = [math.nan] * len(out)
    cache: dict[tuple, tuple[float, float]] = {}
    for pos, row in enumerate(out.itertuples(index=False)):
        if row.error or not math.isfinite(row.cycles) or row.cycles <= 0:
            continue
        params = {k: v for k, v in json.loads(row.params_json).items() if k != MAC_FRACTION}
        key = (row.base_hw_hash, json.dumps(params, sort_keys=True), row.engine,
               row.schedule, bool(row.zero_skip))
        if key not in cache:
            cfg = hwconfig_from_dict(json.loads(row.config_json))
            cache[key] = reference(baseline, cfg, row.engine, row.schedule,
                                   bool(row.zero_skip), simulate)
        ref_c, ref_e = cache[key]
        thr[pos] = ref_c / row.cycles
        en[pos] = row.energy_pj / ref_e if ref_e else math.nan
    out["throughput_norm"] = thr
    out["energy_norm"] = en
    return out
