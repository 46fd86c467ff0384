"""A result store as one CSV, in a human order and in bounded memory, however large the store.

:func:`export_csv` writes every row of a store (:class:`~accelsim.dse.store.ResultStore`):

* **columns**: the store's columns, with ``params_json`` replaced by one column per swept field
  (sorted by name; a field whose name is also a store column, e.g. ``clock_mhz``, gets the
  prefix ``axis.``); unit counts are empty for a point with an error, whose ``error`` column
  says why;
* **rows**: by hw, workload, engine, schedule, zero-skip, then each swept field's value (numbers
  numerically, before text values; a row without the field first), then key: the same bytes for
  the same rows, whatever the number of jobs, the executor or the order points finished in.

Memory is bounded: pass 1 reads only the sort columns (about 100 bytes a row) and computes each
row's rank; pass 2 cuts the rows into runs of :data:`RUN_ROWS`, each sorted by rank, in
temporary files beside the target; pass 3 merges the runs window by window
(:data:`WINDOW_ROWS`; each run is read a small row group at a time, :data:`BUFFER_ROWS` rows
buffered over all runs) and appends each window to the CSV. The CSV is written to a
temporary file and renamed over the target only when complete.
"""
from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from accelsim.outputs import atomic_path


class ResultStore(Protocol):
    """What the export needs of a store (:class:`accelsim.dse.store.ResultStore`)."""

    def batches(self, columns: Iterable[str] | None = None, batch_rows: int = ...
                ) -> Iterator[Any]: ...

#: Rows of one sorted run (pass 2).
RUN_ROWS = 16_384
#: Rows of one window of the merge (pass 3), written to the CSV at a time.
WINDOW_ROWS = 16_384
#: Rows read from a run at a time during the merge (fewer with many runs: about
#: ``BUFFER_ROWS / runs``, at least 64), so the runs' buffers hold about BUFFER_ROWS rows.
READ_ROWS = 1_024
BUFFER_ROWS = 16_384
_SORT = ("hw", "workload", "engine", "schedule")


def export_csv(store: ResultStore, target: str | Path, columns: tuple[str, ...],
               empty: Any) -> int:
    """Write ``store`` as CSV to ``target`` (see module docstring); ``columns`` are the store's
    column names, ``empty`` an empty table of its schema. Returns the rows written."""
    rank, fields = _ranks(store)
    names = _field_columns(fields, columns)
    n = len(rank)
    with atomic_path(target) as out:
        with tempfile.TemporaryDirectory(prefix=".export-", dir=Path(target).parent) as tmp:
            runs = _write_runs(store, rank, Path(tmp))
            with open(out, "w", encoding="utf-8", newline="") as fh:
                header = True
                for window in _merge(runs, n):
                    frame = _frame(window, fields, names, columns, empty)
                    frame.to_csv(fh, index=False, header=header, lineterminator="\n")
                    header = False
                if header:  # an empty store: the header alone
                    _frame(None, fields, names, columns, empty).to_csv(
                        fh, index=False, lineterminator="\n")
    return n


# -- pass 1: ranks -----------------------------------------------------------------------------
def _ranks(store: ResultStore) -> tuple[np.ndarray, list[str]]:
    """Each row's position in the export (rows in scan order) and the swept fields."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols: dict[str, list[Any]] = {c: [] for c in (*_SORT, "zero_skip", "key")}
    names: dict[str, dict[str, int]] = {c: {} for c in _SORT}  # value -> code, in first order
    values: dict[str, list[tuple[np.ndarray, np.ndarray, list[str]]]] = {}
    lengths: list[int] = []
    for batch in store.batches([*_SORT, "zero_skip", "key", "params_json"], batch_rows=16_384):
        for c in _SORT:  # a few distinct values: codes, not strings, are kept
            enc = pc.dictionary_encode(batch.column(c).fill_null(""))
            known = names[c]
            remap = np.array([known.setdefault(v, len(known))
                              for v in enc.dictionary.to_pylist()], dtype=np.int32)
            cols[c].append(remap[enc.indices.to_numpy(zero_copy_only=False)])
        for c in ("zero_skip", "key"):
            cols[c].append(batch.column(c))
        m = batch.num_rows
        parsed = [json.loads(p) if p else {} for p in batch.column("params_json").to_pylist()]
        for name in {k for p in parsed for k in p}:
            if name not in values:  # rows of earlier batches have no value for it
                values[name] = [_missing(k) for k in lengths]
        for name, per in values.items():
            per.append(_encode([p.get(name, _ABSENT) for p in parsed]))
        lengths.append(m)
    if not lengths:
        return np.zeros(0, dtype=np.int64), []
    keys: list[np.ndarray] = []
    for c in _SORT:  # codes in the order of the values' text
        by_text = np.empty(len(names[c]), dtype=np.int32)
        by_text[[names[c][v] for v in sorted(names[c])]] = np.arange(len(names[c]),
                                                                     dtype=np.int32)
        keys.append(by_text[np.concatenate(cols[c])])
    arr = pa.chunked_array(cols["key"]).combine_chunks()
    keys.append(pc.rank(arr, sort_keys="ascending", tiebreaker="dense").to_numpy())
    zs = pa.chunked_array(cols["zero_skip"]).combine_chunks().fill_null(False)
    order_keys = keys[:4] + [zs.to_numpy(zero_copy_only=False).astype(np.int8)]
    fields = sorted(values)
    for name in fields:
        kind = np.concatenate([k for k, _, _ in values[name]])
        num = np.concatenate([v for _, v, _ in values[name]])
        text = np.array([t for _, _, ts in values[name] for t in ts], dtype=object)
        _, text_rank = np.unique(text.astype(str), return_inverse=True)
        order_keys += [kind, num, text_rank]
    order_keys.append(keys[4])  # the key breaks ties
    order = np.lexsort(order_keys[::-1])
    del order_keys, keys, cols, values
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank, fields


_ABSENT = object()


def _missing(n: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    return np.zeros(n, dtype=np.int8), np.zeros(n), [""] * n


def _encode(vals: list[Any]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(kind, number, text) sort keys: kind 0 for a missing value, 1 a number, 2 anything
    else (ordered by its JSON text)."""
    kind = np.empty(len(vals), dtype=np.int8)
    num = np.zeros(len(vals))
    text = [""] * len(vals)
    for i, v in enumerate(vals):
        if v is _ABSENT:
            kind[i] = 0
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            kind[i], num[i] = 1, float(v)
        else:
            kind[i], text[i] = 2, json.dumps(v, sort_keys=True)
    return kind, num, text


def _field_columns(fields: list[str], taken: tuple[str, ...]) -> list[str]:
    return [f"axis.{f}" if f in taken else f for f in fields]


# -- pass 2: sorted runs -----------------------------------------------------------------------
def _write_runs(store: ResultStore, rank: np.ndarray, tmp: Path) -> list[Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    runs: list[Path] = []
    group = max(64, min(READ_ROWS, BUFFER_ROWS // max(1, -(-len(rank) // RUN_ROWS))))
    start = 0
    pending: list[Any] = []
    size = 0

    def flush() -> None:
        nonlocal pending, size
        if not pending:
            return
        table = pa.Table.from_batches(pending)
        table = table.take(pa.compute.sort_indices(table, [("_rank", "ascending")]))
        path = tmp / f"run-{len(runs):06d}.parquet"
        pq.write_table(table, path, row_group_size=group, compression="lz4")
        runs.append(path)
        pending, size = [], 0

    for batch in store.batches(batch_rows=min(RUN_ROWS, 8192)):
        m = batch.num_rows
        batch = batch.append_column("_rank", pa.array(rank[start:start + m]))
        start += m
        pending.append(batch)
        size += m
        if size >= RUN_ROWS:
            flush()
    flush()
    return runs


# -- pass 3: merge -----------------------------------------------------------------------------
class _Run:
    """A sorted run read a row group at a time."""

    def __init__(self, path: Path):
        import pyarrow.parquet as pq

        f = pq.ParquetFile(path)
        self._batches = f.iter_batches(batch_size=f.metadata.row_group(0).num_rows
                                       if f.metadata.num_row_groups else READ_ROWS)
        self.batch: Any = None
        self.pos = 0
        self._next()

    def _next(self) -> None:
        self.batch = next(self._batches, None)
        self.pos = 0
        self.ranks: np.ndarray = self.batch.column("_rank").to_numpy() \
            if self.batch is not None else np.zeros(0, dtype=np.int64)

    def take_below(self, limit: int) -> list[Any]:
        """The run's next rows with rank < ``limit``."""
        out = []
        while self.batch is not None:
            end = int(np.searchsorted(self.ranks, limit, side="left"))
            if end > self.pos:
                out.append(self.batch.slice(self.pos, end - self.pos))
            if end < self.batch.num_rows:
                self.pos = end
                break
            self._next()
        return out


def _merge(runs: list[Path], n: int) -> Iterator[Any]:
    """Tables of consecutive ranks [a, a + WINDOW_ROWS), in rank order."""
    import pyarrow as pa

    readers = [_Run(p) for p in runs]
    for a in range(0, n, WINDOW_ROWS):
        slices = [s for r in readers for s in r.take_below(a + WINDOW_ROWS)]
        table = pa.Table.from_batches(slices)
        yield table.take(pa.compute.sort_indices(table, [("_rank", "ascending")]))
    for r in readers:
        with contextlib.suppress(Exception):
            r._batches.close()


def _frame(table: Any, fields: list[str], names: list[str], columns: tuple[str, ...],
           empty: Any) -> Any:
    """One window as the CSV's DataFrame (columns and types of the module docstring)."""
    import pandas as pd
    import pyarrow as pa

    if table is None:
        table = empty
    mapper = {pa.int64(): pd.Int64Dtype()}.get
    df = table.select([c for c in columns if c != "params_json"]).to_pandas(types_mapper=mapper)
    params = [json.loads(p) if p else {} for p in table.column("params_json").to_pylist()]
    at = columns.index("params_json")
    for i, (field, name) in enumerate(zip(fields, names)):
        df.insert(at + i, name, pd.Series([p.get(field) for p in params], dtype=object))
    return df
