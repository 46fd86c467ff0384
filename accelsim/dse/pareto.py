"""Pareto fronts of a sweep: energy (lower is better) against throughput (higher is better).

:func:`pareto` reads a result store (or takes a DataFrame of store rows) and returns the
non-dominated rows (:func:`accelsim.results.pareto.pareto_mask`), sorted by throughput. A point is
dominated when another has at most its energy and at least its throughput, and is strictly better
in one of the two; points with equal coordinates are all kept. Rows with an error or a
non-finite value are left out.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from accelsim.dse.normalise import normalise_rows
from accelsim.dse.store import store_frame
from accelsim.errors import InputError, Problem
from accelsim.results.pareto import ENERGY, THROUGHPUT, pareto_mask
from accelsim.workload.schema import Workload

if TYPE_CHECKING:  # pandas is imported where rows are built (it takes ~0.5 s)
    import pandas as pd


def pareto(source: str | Path | pd.DataFrame, *, baseline: Workload | None = None,
           by: Sequence[str] = (), engines: Sequence[str] = (), throughput: str | None = None,
           energy: str | None = None) -> pd.DataFrame:
    """Non-dominated rows of a store (a path) or a DataFrame of store rows, sorted by ``by``
    then throughput.

    With a ``baseline`` workload the front is over the normalised columns (``throughput_norm``,
    ``energy_norm``, see :mod:`accelsim.dse.normalise`), else over ``inferences_per_s`` and
    ``energy_pj``; ``throughput``/``energy`` name other columns. ``by`` computes one front per
    group (e.g. ``["workload"]``); ``engines`` keeps only those engines' rows. Error rows are
    left out. Raises :class:`InputError` for a missing store, an empty one or a missing column."""
    import pandas as pd

    df = store_frame(source, tuple(engines))
    if baseline is not None:
        df = normalise_rows(df, baseline)
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
