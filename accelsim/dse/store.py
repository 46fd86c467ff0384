"""A crash-safe, append-only result store: a directory of small Parquet part files.

Layout::

    STORE/part-<ns>-<pid>-<n>.parquet   one file per flush (rows sorted by key)
    STORE/.lock                         held (flock) by the one process writing
    STORE/spec-<sha>.json               the specs that wrote to the store (for the record)

Each part is written to a hidden temporary file, fsync'ed, renamed into place and the directory
fsync'ed, so a SIGKILL at any moment leaves either the whole part or none of it; leftover
temporaries are deleted when a writer next opens the store. A point is *finished* once its part
is renamed. Only one process writes (``.lock``), and it never writes a key the store holds, so a
key appears at most once. :meth:`ResultStore.compact` merges parts into one; the merged file lists
the parts it replaces and readers ignore those, so a crash mid-compaction loses and duplicates
nothing either.
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accelsim.errors import InputError, Problem

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
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
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
            tmp = self.path / f".tmp-{os.getpid()}-spec"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            _fsync_dir(self.path)

    def compact(self) -> int:
        """Merge every part into one (rows sorted by key); returns the number of parts merged."""
        self._need_lock()
        pa, pq = _arrow()
        parts = self.parts()
        if len(parts) < 2:
            return 0
        table = pa.concat_tables([_read(pq, p) for p in parts])
        table = table.take(pa.compute.sort_indices(table, [("key", "ascending")]))
        names = json.dumps([p.name for p in parts]).encode()
        name = f"part-{time.time_ns():020d}-{os.getpid()}-merged.parquet"
        self._write_atomic(table, name, {_REPLACES: names})
        for p in parts:
            p.unlink()
        _fsync_dir(self.path)
        return len(parts)

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
        keys = table.column("key")
        if len(pa.compute.unique(keys)) != len(keys):
            raise StoreError(Problem("store", str(self.path), "holds a point twice"))
        return table

    def frame(self, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """Rows as a pandas DataFrame sorted by key, with one extra column per swept field."""
        df = self.table(columns).to_pandas()
        return expand_params(df) if "params_json" in df.columns else df

    def export_csv(self, target: str | Path) -> int:
        """Write every row, sorted by key, as CSV (the canonical, byte-comparable form)."""
        df = self.table().to_pandas()
        target = Path(target)
        tmp = target.with_name(f".{target.name}.tmp")
        df.to_csv(tmp, index=False, lineterminator="\n")
        os.replace(tmp, target)
        return len(df)

    # -- internals -----------------------------------------------------------------------------
    def _need_lock(self) -> None:
        if self._lock_fd is None:
            raise RuntimeError("write to a ResultStore inside 'with store:'")

    def _write_atomic(self, table: Any, name: str, meta: dict) -> Path:
        _, pq = _arrow()
        if meta:
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
        tmp = self.path / f".tmp-{name}"
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
            fh.flush()
            os.fsync(fh.fileno())
        target = self.path / name
        os.replace(tmp, target)
        _fsync_dir(self.path)
        return target

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
    that parts written by an earlier accelsim lack (``binary_units``, ``energy_xnor_pj``) is
    read as nulls."""
    try:
        present = set(pq.read_schema(path).names)
        want = list(columns) if columns is not None else list(COLUMN_NAMES)
        table = pq.read_table(path, columns=[c for c in want if c in present])
    except Exception as exc:
        raise StoreError(Problem("store", str(path), f"unreadable part ({type(exc).__name__}); "
                                 "move it away and rerun the sweep to recompute its points"))
    if all(c in present for c in want):
        return table.select(want)
    pa, _ = _arrow()
    full = schema()
    arrays = [table.column(c) if c in present else pa.nulls(len(table), full.field(c).type)
              for c in want]
    return pa.table(arrays, names=want, metadata=table.schema.metadata)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
