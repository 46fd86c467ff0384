"""Pareto fronts of energy (lower is better) against throughput (higher is better).

:func:`pareto_mask` works on plain arrays; :func:`pareto` reads a result store (or takes a
DataFrame of store rows) and returns the non-dominated rows, sorted by throughput. A point is
dominated when another has at most its energy and at least its throughput, and is strictly better
in one of the two; points with equal coordinates are all kept. Rows with an error or a
non-finite value are left out.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

#: Columns of a store row the front is computed over.
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


def pareto(source: Any, *, baseline: Any = None, by: Sequence[str] = (),
           engines: Sequence[str] = (), throughput: str | None = None,
           energy: str | None = None) -> Any:
    """Non-dominated rows of a store (a path) or a DataFrame of store rows, sorted by ``by``
    then throughput.

    With a ``baseline`` workload the front is over the normalised columns (``throughput_norm``,
    ``energy_norm``, see :mod:`accelsim.dse.normalise`), else over ``inferences_per_s`` and
    ``energy_pj``; ``throughput``/``energy`` name other columns. ``by`` computes one front per
    group (e.g. ``["workload"]``); ``engines`` keeps only those engines' rows. Error rows are
    left out. Raises :class:`InputError` for a missing store, an empty one or a missing column."""
    import pandas as pd

    from accelsim.dse.figures import store_frame
    from accelsim.errors import InputError, Problem

    df = store_frame(source, baseline, tuple(engines))
    thr = throughput or ("throughput_norm" if baseline is not None else THROUGHPUT)
    en = energy or ("energy_norm" if baseline is not None else ENERGY)
    for col in (thr, en, *by):
        if col not in df.columns:
            raise InputError(Problem("column", col, f"not in the store's rows "
                                     f"({', '.join(sorted(map(str, df.columns))[:12])}...)"))
    frames = []
    groups = df.groupby(list(by), sort=True, dropna=False) if by else [((), df)]
    for _, g in groups:
        m = pareto_mask(g[thr].to_numpy(float), g[en].to_numpy(float))
        frames.append(g[m].sort_values([thr, "key"] if "key" in g else [thr]))
    return pd.concat(frames).reset_index(drop=True)
