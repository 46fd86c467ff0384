"""Normalise store rows the paper's way: to a baseline network on a same-area MAC-only array.

``throughput_norm`` and ``energy_norm`` of each row are :func:`accelsim.evaluate.normalise` of
the row against :func:`accelsim.evaluate.reference` of the row's config under the row's model
and schedule. References are computed once per distinct (config without its area split, model,
schedule, zero-skip) group.
"""
from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from accelsim.choices import NO_SCHEDULE, Model, SchedulePolicy
from accelsim.dse.spec import FRACTIONS
from accelsim.evaluate import Reference, normalise, reference
from accelsim.hw.load import hwconfig_from_dict
from accelsim.workload.schema import Workload

if TYPE_CHECKING:  # pandas is imported where rows are built (it takes ~0.5 s)
    import pandas as pd


def normalise_rows(df: pd.DataFrame, baseline: Workload,
                   cache: dict[tuple, Reference] | None = None) -> pd.DataFrame:
    """A copy of store rows ``df`` with ``throughput_norm`` and ``energy_norm`` columns
    (NaN for rows with an error). ``cache`` keeps the references across calls (a store read in
    batches computes each reference once)."""
    out = df.copy()
    thr = [math.nan] * len(out)
    en = [math.nan] * len(out)
    cache = {} if cache is None else cache
    for pos, row in enumerate(out.itertuples(index=False)):
        if row.error or not math.isfinite(row.cycles) or row.cycles <= 0:
            continue
        params = {k: v for k, v in json.loads(row.params_json).items() if k not in FRACTIONS}
        key = (row.base_hw_hash, json.dumps(params, sort_keys=True), row.engine,
               row.schedule, bool(row.zero_skip))
        if key not in cache:
            cfg = hwconfig_from_dict(json.loads(row.config_json))
            schedule = SchedulePolicy.SEQUENTIAL if row.schedule == NO_SCHEDULE else \
                row.schedule
            cache[key] = reference(Model.parse(row.engine), baseline, cfg, schedule=schedule,
                                   zero_skip=bool(row.zero_skip))
        n = normalise((row.cycles, row.energy_pj), cache[key])
        thr[pos], en[pos] = n.throughput, n.energy
    out["throughput_norm"] = thr
    out["energy_norm"] = en
    return out
