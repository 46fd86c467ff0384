"""Pareto fronts of energy against throughput (pure numpy: no store, no pandas)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Columns of a store row the front is computed over by default.
THROUGHPUT = "inferences_per_s"
ENERGY = "energy_pj"


def pareto_mask(throughput: Sequence[float], energy: Sequence[float]) -> np.ndarray:
    """[N] bool: which points are on the front (O(N log N)). NaN/inf points never are."""
    thr = np.asarray(throughput, dtype=float)
    en = np.asarray(energy, dtype=float)
    if thr.shape != en.shape or thr.ndim != 1:
        raise ValueError("throughput and energy must be 1-D arrays of the same length")
    ok = np.isfinite(thr) & np.isfinite(en)
    mask = np.zeros(len(thr), dtype=bool)
    idx = np.flatnonzero(ok)
    if not len(idx):
        return mask
    # highest throughput first; among equal throughputs lowest energy first
    order = idx[np.lexsort((en[idx], -thr[idx]))]
    best = np.inf        # lowest energy among strictly higher throughputs seen so far
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and thr[order[j]] == thr[order[i]]:
            j += 1
        group = order[i:j]
        low = en[group[0]]
        if low < best:
            keep = group[en[group] == low]
            mask[keep] = True
            best = low
        i = j
    return mask
