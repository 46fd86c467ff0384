"""Pareto fronts of a sweep: energy (lower is better) against throughput (higher is better).

:func:`pareto` reads a result store (or takes a DataFrame of store rows) and returns the
non-dominated rows (:func:`accelsim.results.pareto.pareto_mask`) with one column per swept field,
sorted by ``by``, then throughput. A point is dominated when another has at most its energy and
at least its throughput, and is strictly better in one of the two; points with equal coordinates
are all kept. Rows with an error or a non-finite value are left out.

A store is read in batches (:meth:`~accelsim.dse.store.ResultStore.batches`): a point dominated
within its batch is dominated in the whole store, so only each batch's front is kept and the
front of those is the answer; memory is bounded by a batch and the fronts, whatever the store's
size.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accelsim.dse.normalise import normalise_rows
from accelsim.dse.store import ResultStore, expand_params
from accelsim.errors import InputError, Problem
from accelsim.results.pareto import ENERGY, THROUGHPUT, pareto_mask
from accelsim.workload.schema import Workload

if TYPE_CHECKING:  # pandas is imported where rows are built (it takes ~0.5 s)
    import pandas as pd

#: Store columns a front needs (and shows), besides the two it is computed over.
FRONT_COLUMNS = ("key", "hw", "workload", "engine", "schedule", "zero_skip", "params_json",
                 "mac_units", "adder_units", "multiplier_units", "cycles", "energy_pj",
                 "inferences_per_s", "error")
#: Columns the paper's normalisation needs too.
_NORMALISE = ("base_hw_hash", "config_json")


def pareto(source: str | Path | pd.DataFrame, *, baseline: Workload | None = None,
           by: Sequence[str] = (), engines: Sequence[str] = (), throughput: str | None = None,
           energy: str | None = None) -> pd.DataFrame:
    """Non-dominated rows of a store (a path) or a DataFrame of store rows, with one column
    per swept field, sorted by ``by`` then throughput.

    With a ``baseline`` workload the front is over the normalised columns (``throughput_norm``,
    ``energy_norm``, see :mod:`accelsim.dse.normalise`), else over ``inferences_per_s`` and
    ``energy_pj``; ``throughput``/``energy`` name other columns. ``by`` computes one front per
    group (e.g. ``["workload"]``, or a swept field); ``engines`` keeps only those engines' rows.
    Raises :class:`InputError` for a missing store, an empty one or a missing column."""
    import pandas as pd

    thr = throughput or ("throughput_norm" if baseline is not None else THROUGHPUT)
    en = energy or ("energy_norm" if baseline is not None else ENERGY)
    cache: dict = {}
    fronts = []
    seen = 0
    for df in _frames(source, baseline, engines, (thr, en, *by)):
        if baseline is not None:
            df = normalise_rows(df, baseline, cache)
        df = expand_params(df) if "params_json" in df.columns else df
        for col in (thr, en, *by):
            if col not in df.columns:
                raise InputError(Problem("column", col, f"not in the store's rows "
                                         f"({', '.join(sorted(map(str, df.columns))[:12])}"
                                         "...)"))
        seen += len(df)
        fronts.append(_front(df, thr, en, by))
    if not seen:
        where = str(source) if isinstance(source, (str, Path)) else "<frame>"
        raise InputError(Problem("STORE", where, "holds no finished point without an error"))
    front = _front(pd.concat(fronts, ignore_index=True), thr, en, by)
    order = [*by, thr, "key"] if "key" in front.columns else [*by, thr]
    return front.sort_values(order, kind="stable").reset_index(drop=True)


def swept_fields(df: pd.DataFrame) -> list[str]:
    """The swept fields of store rows (keys of ``params_json``), sorted."""
    if "params_json" not in df.columns:
        return []
    return sorted({k for p in df["params_json"] for k in json.loads(p or "{}")})


def _frames(source: str | Path | pd.DataFrame, baseline: Workload | None,
            engines: Sequence[str], wanted: Sequence[str]) -> Iterator[pd.DataFrame]:
    """Rows without an error (of ``engines`` when given), a batch at a time."""
    if not isinstance(source, (str, Path)):
        yield _usable(source, engines)
        return
    if not Path(source).is_dir():
        raise InputError(Problem("STORE", str(source), "no such result store (a directory)"))
    from accelsim.dse.store import COLUMN_NAMES

    cols = list(dict.fromkeys([*FRONT_COLUMNS, *(c for c in wanted if c in COLUMN_NAMES),
                               *(_NORMALISE if baseline is not None else ())]))
    mapper = _int_mapper()
    for batch in ResultStore(source).batches(cols):
        yield _usable(batch.to_pandas(types_mapper=mapper), engines)


def _int_mapper() -> Any:
    import pandas as pd
    import pyarrow as pa

    return {pa.int64(): pd.Int64Dtype()}.get


def _usable(df: pd.DataFrame, engines: Sequence[str]) -> pd.DataFrame:
    df = df[df["error"].fillna("") == ""]
    if engines:
        df = df[df["engine"].isin(list(engines))]
    return df


def _front(df: pd.DataFrame, thr: str, en: str, by: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    if df.empty:
        return df
    groups = df.groupby(list(by), sort=True, dropna=False) if by else [((), df)]
    parts = [g[pareto_mask(g[thr].to_numpy(float), g[en].to_numpy(float))] for _, g in groups]
    return pd.concat(parts) if parts else df.iloc[:0]
