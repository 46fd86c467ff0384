"""A crash-safe, append-only result store: a directory of small Parquet part files.

Layout::

    STORE/part-<ns>-<pid>-<n>.parquet   one file per flush (rows sorted by key)
    STORE/.lock                         held (flock) by the one process writing
    STORE/spec-<sha>.json               the specs that wrote to the store (for the record)

Each part is written to a hidden temporary file, fsync'ed, renamed into place and the directory
fsync'ed, so a SIGKILL at any moment leaves either the whole part or none of it; leftover
temporaries are deleted when a writer next opens the store. A point is *finished* once its part
is renamed. Only one process writes (``.lock``, held by the sweep's parent process: worker
processes never open the store, so an orphaned worker cannot write into a resumed sweep's
store), and it never writes a key the store holds, so a key appears at most once.
:meth:`ResultStore.compact` merges parts, streaming them batch by batch into merged parts of at
most :data:`MERGED_ROWS` rows; a merged file lists the parts it replaces and readers ignore
those, so a crash mid-compaction loses and duplicates nothing either.

The schema (:data:`COLUMNS`) has been the same since the first store; a point that could not
be evaluated has an ``error`` and null unit counts (older stores wrote -1: readers turn those
into nulls too). A part whose columns are not these (another program's Parquet file) is named
in a one-line :class:`StoreError`.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accelsim.dse.export import export_csv
from accelsim.dse.keys import KEY_BYTES, KeyIndex
from accelsim.errors import InputError, Problem
from accelsim.outputs import cannot_write

if TYPE_CHECKING:  # pyarrow and pandas are imported where a store is read or written
    import pandas as pd
    import pyarrow as pa

#: Column name -> Arrow type name, in export order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("key", "string"), ("hw", "string"), ("base_hw_hash", "string"), ("hw_hash", "string"),
    ("workload", "string"), ("workload_hash", "string"), ("engine", "string"),
    ("schedule", "string"), ("zero_skip", "bool"), ("params_json", "string"),
    ("mac_units", "int64"), ("adder_units", "int64"), ("multiplier_units", "int64"),
    ("binary_units", "int64"), ("compute_area_um2", "float64"),
    ("area_budget_um2", "float64"), ("clock_mhz", "float64"),
    ("cycles", "float64"), ("latency_s", "float64"), ("inferences_per_s", "float64"),
    ("energy_pj", "float64"), ("energy_mac_pj", "float64"), ("energy_add_pj", "float64"),
    ("energy_mul_pj", "float64"), ("energy_xnor_pj", "float64"),
    ("energy_sram_pj", "float64"), ("energy_dram_pj", "float64"),
    ("energy_leakage_pj", "float64"), ("energy_other_pj", "float64"), ("error", "string"),
    ("accelsim_version", "string"), ("config_json", "string"),
)
COLUMN_NAMES = tuple(c for c, _ in COLUMNS)
#: Unit-count columns: null for a point with an error.
UNIT_COLUMNS = ("mac_units", "adder_units", "multiplier_units", "binary_units")
#: Columns added after the first stores were written: a part without them reads them as nulls.
LATE_COLUMNS = ("binary_units", "energy_xnor_pj")
#: Largest merged part written by :meth:`ResultStore.compact` (rows), and the rows of one of
#: its row groups (the unit a reader decodes at a time: bounded memory for scans).
MERGED_ROWS = 262_144
ROW_GROUP = 8_192
_PART_GLOB = "part-*.parquet"
_REPLACES = b"accelsim.replaces"


class StoreError(InputError):
    """A result store cannot be used (locked by another sweep, unreadable part, no pyarrow)."""


def _arrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.compute
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency of the sweep store
        raise StoreError(Problem("store", "parquet",
                                 "needs pyarrow: pip install 'accelsim[parquet]'"))
    return pa, pq


def schema() -> pa.Schema:
    pa, _ = _arrow()
    types = {"string": pa.string(), "bool": pa.bool_(), "int64": pa.int64(),
             "float64": pa.float64()}
    return pa.schema([(name, types[typ]) for name, typ in COLUMNS])


class ResultStore:
    """A store directory. Reading needs no lock; writing happens inside :meth:`writer`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock_fd: int | None = None
        self._counter = 0

    # -- writing -------------------------------------------------------------------------------
    def __enter__(self) -> ResultStore:
        """Take the write lock (creating the directory); remove a crashed writer's leftovers."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            # close-on-exec: a worker process started later never holds (or keeps) the lock
            fd = os.open(self.path / ".lock",
                         os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            raise cannot_write(exc.filename if exc.filename is not None else self.path,
                               exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(Problem("store", str(self.path),
                                     "another sweep is writing to it; wait or use another store"))
        self._lock_fd = fd
        for tmp in self.path.glob(".tmp-*"):
            tmp.unlink()
        for part in self._replaced_parts():
            part.unlink()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def append(self, columns: Mapping[str, Sequence]) -> Path | None:
        """Write rows given as columns (every name of :data:`COLUMNS` -> one value per row) as
        one part, atomically, rows sorted by key."""
        if not len(columns.get("key", ())):
            return None
        self._need_lock()
        pa, _ = _arrow()
        table = pa.Table.from_pydict({c: list(columns[c]) for c in COLUMN_NAMES},
                                     schema=schema())
        table = table.take(pa.compute.sort_indices(table, [("key", "ascending")]))
        self._counter += 1
        name = f"part-{time.time_ns():020d}-{os.getpid()}-{self._counter:06d}.parquet"
        return self._write_atomic(table, name, {})

    def write_spec(self, spec: dict) -> None:
        """Keep a copy of a spec that wrote to this store (``spec-<sha>.json``)."""
        self._need_lock()
        import hashlib

        text = json.dumps(spec, sort_keys=True, indent=1) + "\n"
        target = self.path / f"spec-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"
        if not target.exists():
            with self._written(target.name) as tmp:
                tmp.write_text(text, encoding="utf-8")

    def compact(self, max_rows: int = MERGED_ROWS) -> int:
        """Merge parts into merged parts of at most ``max_rows`` rows each (whole parts, in name
        order), streaming them batch by batch (memory bounded by one batch, whatever the store's
        size). Returns the number of parts merged."""
        self._need_lock()
        _, pq = _arrow()
        groups: list[list[Path]] = [[]]
        rows = 0
        for p in self.parts():
            n = _rows(pq, p)
            if groups[-1] and rows + n > max_rows:
                groups.append([])
                rows = 0
            groups[-1].append(p)
            rows += n
        merged = 0
        for group in groups:
            if len(group) < 2:
                continue
            self._counter += 1
            name = f"part-{time.time_ns():020d}-{os.getpid()}-{self._counter:06d}-merged.parquet"
            names = json.dumps([p.name for p in group]).encode()
            self._write_stream(group, name, {_REPLACES: names})
            for p in group:
                p.unlink()
            _fsync_dir(self.path)
            merged += len(group)
        return merged

    # -- reading -------------------------------------------------------------------------------
    def parts(self) -> list[Path]:
        """Live part files (excluding parts a merged part replaces), in name order."""
        if not self.path.is_dir():
            return []
        replaced = {p.name for p in self._replaced_parts()}
        return sorted(p for p in self.path.glob(_PART_GLOB) if p.name not in replaced)

    def done_keys(self) -> set[str]:
        """Keys of every finished point."""
        _, pq = _arrow()
        keys: set[str] = set()
        for p in self.parts():
            keys.update(_read(pq, p, ["key"]).column("key").to_pylist())
        return keys

    def key_index(self) -> KeyIndex:
        """Keys of every finished point as a compact sorted index (24 bytes per key instead of
        a Python string each: what a sweep of millions of points checks its points against)."""
        _, pq = _arrow()
        chunks = [_read(pq, p, ["key"]).column("key").to_numpy(zero_copy_only=False)
                  .astype(f"S{KEY_BYTES}") for p in self.parts()]
        return KeyIndex(chunks)

    def batches(self, columns: Iterable[str] | None = None, batch_rows: int = 16_384
                ) -> Iterator[pa.RecordBatch]:
        """Every row, part by part in batches of at most ``batch_rows`` (unsorted): a scan in
        bounded memory. Unit counts of error rows are null."""
        _, pq = _arrow()
        cols = list(columns) if columns is not None else None
        for p in self.parts():
            f = _open(pq, p)
            want = cols if cols is not None else list(COLUMN_NAMES)
            present = [c for c in want if c in f.schema_arrow.names]
            try:
                for batch in f.iter_batches(batch_size=batch_rows, columns=present):
                    yield _null_counts(_complete(batch, want))
            except Exception as exc:
                raise _unreadable(p, exc) from None

    def table(self, columns: Iterable[str] | None = None) -> pa.Table:
        """Every row as one Arrow table sorted by key. Raises :class:`StoreError` if the store
        holds a key twice (which the writer never does)."""
        pa, pq = _arrow()
        cols = list(columns) if columns is not None else None
        if cols is not None and "key" not in cols:
            cols = ["key"] + cols
        parts = self.parts()
        if not parts:
            return schema().empty_table() if cols is None else \
                pa.schema([schema().field(c) for c in cols]).empty_table()
        table = pa.concat_tables([_read(pq, p, cols) for p in parts])
        table = table.take(pa.compute.sort_indices(table, [("key", "ascending")]))
        table = _null_counts(table)
        keys = table.column("key")
        if len(pa.compute.unique(keys)) != len(keys):
            raise StoreError(Problem("store", str(self.path), "holds a point twice"))
        return table

    def frame(self, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """Rows as a pandas DataFrame sorted by key, with one extra column per swept field."""
        df = self.table(columns).to_pandas()
        return expand_params(df) if "params_json" in df.columns else df

    def export_csv(self, target: str | Path) -> int:
        """Write every row as CSV (the canonical, byte-comparable form), atomically and in
        bounded memory: rows in a human order (hw, workload, engine, schedule, zero-skip, then
        the swept fields' values, numbers numerically), one column per swept field instead of
        ``params_json``, error rows with their reason and empty unit counts
        (:func:`accelsim.dse.export.export_csv`). Returns the number of rows."""
        return export_csv(self, target, COLUMN_NAMES, schema().empty_table())

    # -- internals -----------------------------------------------------------------------------
    def _need_lock(self) -> None:
        if self._lock_fd is None:
            raise RuntimeError("write to a ResultStore inside 'with store:'")

    def _write_atomic(self, table: Any, name: str, meta: dict) -> Path:
        _, pq = _arrow()
        if meta:
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
        with self._written(name) as tmp:
            pq.write_table(table, tmp, compression="zstd")
        return self.path / name

    @contextlib.contextmanager
    def _written(self, name: str) -> Iterator[Path]:
        """A temporary path in the store to write ``name`` to: fsync'ed and renamed into place
        on success, removed on failure (a full disk, a file-size limit: :class:`OutputError`
        naming the store)."""
        tmp = self.path / f".tmp-{name}"
        try:
            yield tmp
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, self.path / name)
            _fsync_dir(self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise cannot_write(self.path, exc) from None
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def _write_stream(self, sources: Sequence[Path], name: str, meta: dict) -> Path:
        """Write the rows of ``sources`` (parts) into one part, batch by batch, atomically."""
        _, pq = _arrow()
        target_schema = schema().with_metadata(meta)
        with self._written(name) as tmp:
            with pq.ParquetWriter(tmp, target_schema, compression="zstd") as writer:
                for src in sources:
                    f = _open(pq, src)
                    try:
                        for batch in f.iter_batches(batch_size=ROW_GROUP):
                            writer.write_batch(_complete(batch, COLUMN_NAMES),
                                               row_group_size=ROW_GROUP)
                    except OSError:
                        raise
                    except Exception as exc:
                        raise _unreadable(src, exc) from None
        return self.path / name

    def _replaced_parts(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        _, pq = _arrow()
        out = []
        for merged in self.path.glob("part-*-merged.parquet"):
            meta = pq.read_schema(merged).metadata or {}
            for name in json.loads(meta.get(_REPLACES, b"[]")):
                if (self.path / name).exists() and name != merged.name:
                    out.append(self.path / name)
        return out


def store_frame(store: str | Path | pd.DataFrame, engines: Sequence[str] = ()
                ) -> pd.DataFrame:
    """Finished rows without an error of a store (a path, or a DataFrame already read), filtered
    to ``engines`` when given. Raises :class:`InputError` for a missing or empty store."""
    if isinstance(store, (str, Path)) and not Path(store).is_dir():
        raise InputError(Problem("STORE", str(store), "no such result store (a directory)"))
    df = ResultStore(store).frame() if isinstance(store, (str, Path)) else store
    df = df[df["error"].fillna("") == ""]
    if engines:
        df = df[df["engine"].isin(list(engines))]
    if df.empty:
        raise InputError(Problem("STORE", str(store) if isinstance(store, (str, Path)) else
                                 "<frame>", "holds no finished point without an error"))
    return df


def expand_params(df: pd.DataFrame) -> pd.DataFrame:
    """Add one column per swept field (from ``params_json``) to a store DataFrame."""
    params = [json.loads(p) for p in df["params_json"]]
    names = sorted({k for p in params for k in p})
    for name in names:
        if name not in df.columns:
            df[name] = [p.get(name) for p in params]
    return df


def _read(pq: Any, path: Path, columns: list[str] | None = None) -> pa.Table:
    """One part's ``columns`` (all of :data:`COLUMNS`), in the store's column order; a column
    that parts written by an earlier accelsim lack (:data:`LATE_COLUMNS`) is read as nulls."""
    f = _open(pq, path)
    want = list(columns) if columns is not None else list(COLUMN_NAMES)
    try:
        table = f.read(columns=[c for c in want if c in f.schema_arrow.names])
    except Exception as exc:
        raise _unreadable(path, exc) from None
    return _complete(table, want)


def _complete(data: Any, want: Sequence[str]) -> Any:
    """A table or record batch with the columns ``want`` in that order, a :data:`LATE_COLUMNS`
    column it lacks (a part of an earlier accelsim) added as nulls."""
    names = list(data.schema.names)
    if names == list(want):
        return data
    pa, _ = _arrow()
    full = schema()
    arrays = [data.column(names.index(c)) if c in names else
              pa.nulls(data.num_rows, full.field(c).type) for c in want]
    if isinstance(data, pa.RecordBatch):
        return pa.RecordBatch.from_arrays(arrays, names=list(want))
    return pa.table(arrays, names=list(want), metadata=data.schema.metadata)


def _open(pq: Any, path: Path) -> Any:
    """A part opened for reading, its schema checked against :data:`COLUMNS` (a part of an
    earlier accelsim may lack the :data:`LATE_COLUMNS`)."""
    try:
        f = pq.ParquetFile(path)
        got = f.schema_arrow
    except Exception as exc:
        raise _unreadable(path, exc) from None
    want = schema()
    missing = [n for n in COLUMN_NAMES if n not in got.names and n not in LATE_COLUMNS]
    wrong = [n for n in COLUMN_NAMES if n in got.names
             and not got.field(n).type.equals(want.field(n).type)]
    if missing or wrong:
        what = f"no column {', '.join(missing[:3])}" if missing else \
            f"column {wrong[0]} is {got.field(wrong[0]).type}, not {want.field(wrong[0]).type}"
        raise StoreError(Problem("store", str(path), f"a Parquet file of another schema "
                                 f"({what}{', ...' if len(missing) > 3 else ''}): not a part of "
                                 "an accelsim result store; move it away"))
    return f


def _unreadable(path: Path, exc: Exception) -> StoreError:
    return StoreError(Problem("store", str(path), f"unreadable part ({type(exc).__name__}); "
                              "move it away and rerun the sweep to recompute its points"))


def _rows(pq: Any, path: Path) -> int:
    return int(_open(pq, path).metadata.num_rows)


def _null_counts(data: Any) -> Any:
    """Unit counts of error rows as nulls (older stores wrote -1)."""
    names = data.schema.names
    if "error" not in names or not any(c in names for c in UNIT_COLUMNS):
        return data
    pa, _ = _arrow()
    bad = pa.compute.not_equal(data.column("error"), "")
    for c in UNIT_COLUMNS:
        if c in names:
            i = names.index(c)
            col = pa.compute.if_else(bad, pa.scalar(None, pa.int64()), data.column(c))
            data = data.set_column(i, c, col)
    return data



def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
