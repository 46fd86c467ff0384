"""Run a sweep into a result store: in this process, on local worker processes, or on Dask.

The parent process plans the points, skips the keys the store already holds, cuts the rest into
:class:`~accelsim.dse.tasks.Task` s (thousands of points per task on the array path, a handful
for scalar op-count points, one per discrete-event point), hands them to the executor and writes
each finished task as one part of the store, so an interrupted sweep resumes where it stopped.
Workers never touch the store; results do not depend on the executor, the number of jobs or the
order tasks finish in, so the store's rows sorted by key are the same for any ``jobs``.
"""
from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from accelsim.dse.points import Inputs, Point, iter_points, load_inputs
from accelsim.dse.spec import SweepSpec, load_sweep_spec, spec_to_dict
from accelsim.dse.store import ResultStore
from accelsim.dse.tasks import Task, evaluate_point, rows_to_columns, vectorisable
from accelsim.dse.vector import evaluate_vectorised
from accelsim.errors import InputError, Problem

#: Points per task, by kind of evaluation.
CHUNK = {"vector": 2048, "opcount": 64, "analytic": 8, "des": 1}
#: Seconds to wait for a Dask scheduler to answer.
DASK_CONNECT_TIMEOUT_S = 10
#: Merge the store's parts into one when a run leaves more than this many.
COMPACT_AT = 64


@dataclass(frozen=True)
class SweepSummary:
    """What a run did: ``total`` points in the spec, ``skipped`` already in the store,
    ``computed`` now (``errors`` of them with an error row), in ``elapsed_s`` seconds."""

    store: str
    total: int
    skipped: int
    computed: int
    errors: int
    tasks: int
    elapsed_s: float
    executor: str

    @property
    def points_per_s(self) -> float:
        return self.computed / self.elapsed_s if self.elapsed_s > 0 else float("inf")


def sweep(spec: SweepSpec | str | Path, store: str | Path | None = None, *, jobs: int = 1,
          dask: str | None = None, progress: bool = True, export: str | Path | None = None,
          chunk: dict[str, int] | None = None) -> SweepSummary:
    """Evaluate every point of ``spec`` not yet in ``store`` (default: the spec's ``store``).

    ``jobs`` > 1 uses that many local processes; ``dask`` is the address of a running Dask
    scheduler (``tcp://host:8786``) to use instead. ``export`` writes the whole store as CSV
    sorted by key afterwards. Raises :class:`InputError` for a bad spec, config or workload, and
    :class:`~accelsim.dse.store.StoreError` if another sweep holds the store."""
    if not isinstance(spec, SweepSpec):
        spec = load_sweep_spec(spec)
    target = store if store is not None else spec.store
    if target is None:
        raise InputError(Problem("store", "<missing>", "give --store or 'store:' in the spec"),
                         spec.source)
    t0 = time.perf_counter()
    inputs = load_inputs(spec)
    points = list(iter_points(spec, inputs))
    return run_store(target, inputs, points, jobs=jobs, dask=dask, progress=progress,
                     export=export, chunk=chunk, spec_doc=spec_to_dict(spec), started=t0)


def run_store(store: str | Path, inputs: Inputs, points: Sequence[Point], *, jobs: int = 1,
              dask: str | None = None, progress: bool = True, export: str | Path | None = None,
              chunk: dict[str, int] | None = None, spec_doc: dict | None = None,
              started: float | None = None, desc: str = "sweep") -> SweepSummary:
    """Evaluate the ``points`` (over ``inputs``) that ``store`` does not hold yet, writing each
    finished task as one part (the machinery behind :func:`sweep`, also used by the report).

    ``spec_doc`` is kept in the store for the record. Raises
    :class:`~accelsim.dse.store.StoreError` if another process holds the store."""
    if jobs < 1:
        raise InputError(Problem("jobs", jobs, "must be >= 1"))
    sizes = {**CHUNK, **(chunk or {})}
    t0 = started if started is not None else time.perf_counter()
    rs = ResultStore(store)
    with rs:
        if spec_doc is not None:
            rs.write_spec(spec_doc)
        done = rs.done_keys()
        todo = [p for p in {p.key: p for p in points}.values() if p.key not in done]
        skipped = len(points) - len(todo)
        tasks = list(make_tasks(todo, inputs, sizes, jobs))
        bar = _progress(len(todo), progress, desc)
        errors = 0
        executor = "dask" if dask else (f"processes({jobs})" if jobs > 1 else "inline")
        try:
            for cols in _execute(tasks, jobs, dask):
                keep = [i for i, k in enumerate(cols["key"]) if k not in done]
                if len(keep) != len(cols["key"]):
                    cols = {c: [v[i] for i in keep] for c, v in cols.items()}
                rs.append(cols)
                done.update(cols["key"])
                errors += sum(1 for e in cols["error"] if e)
                bar.update(len(keep))
        finally:
            bar.close()
        if len(rs.parts()) > COMPACT_AT:
            rs.compact()
        elapsed = time.perf_counter() - t0
        if export is not None:
            rs.export_csv(export)
    return SweepSummary(str(store), len(points), skipped, len(todo), errors, len(tasks),
                        elapsed, executor)


def evaluate_task(task: Task) -> dict[str, list]:
    """Columns (:data:`accelsim.dse.store.COLUMNS` -> one value per point, in the task's
    order) for every point of ``task``: the array path for vectorised tasks, else one point at a
    time. What a worker process runs."""
    if task.vectorised:
        return evaluate_vectorised(task)
    return rows_to_columns([evaluate_point(task, p) for p in task.points])


def make_tasks(points: Sequence[Point], inputs: Inputs, sizes: dict[str, int],
               jobs: int = 1) -> Iterator[Task]:
    """Group points by (config, workload, engine, zero_skip, swept fields) in order and cut them
    into tasks. Op-count groups whose fields are all :func:`vectorisable` take the array path;
    array-path tasks are cut so every job gets at least one."""
    groups: dict[tuple, list[Point]] = {}
    for p in points:
        fields = tuple(f for f, _ in p.params)
        groups.setdefault((p.hw_index, p.workload_index, p.engine, p.zero_skip, fields),
                          []).append(p)
    for (hi, wi, engine, _, fields), pts in groups.items():
        vectorised = engine.counts_ops_only and all(vectorisable(f) for f in fields)
        kind = "vector" if vectorised else ("opcount" if engine.counts_ops_only else engine)
        size = sizes.get(kind, 1)
        if vectorised and jobs > 1:
            size = min(size, max(256, -(-len(pts) // jobs)))
        for i in range(0, len(pts), size):
            yield Task(inputs.hw[hi], inputs.hw_hashes[hi], inputs.workloads[wi],
                       inputs.workload_hashes[wi], tuple(pts[i:i + size]), vectorised)


def _execute(tasks: list[Task], jobs: int, dask: str | None) -> Iterator[dict[str, list]]:
    if dask:
        yield from _dask(tasks, dask, jobs)
    elif jobs > 1 and len(tasks) > 1:
        yield from _processes(tasks, jobs)
    else:
        for task in tasks:
            yield evaluate_task(task)


def _processes(tasks: list[Task], jobs: int) -> Iterator[dict[str, list]]:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pending = deque(tasks)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        running: set = set()
        try:
            while pending or running:
                while pending and len(running) < 2 * jobs:
                    running.add(pool.submit(evaluate_task, pending.popleft()))
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    yield fut.result()
        finally:
            for fut in running:
                fut.cancel()


def _dask(tasks: list[Task], address: str, jobs: int) -> Iterator[dict[str, list]]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise InputError(Problem("--dask", address, "needs dask: pip install 'accelsim[dask]'"))
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(Problem("--dask", address, f"cannot connect: {exc}")) from None
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        limit = 2 * max(workers, jobs)
        pending = deque(tasks)
        first = [client.submit(evaluate_task, pending.popleft(), pure=False)
                 for _ in range(min(limit, len(pending)))]
        ac = as_completed(first, loop=client.loop)
        for fut in ac:
            rows = fut.result()
            fut.release()
            if pending:
                ac.add(client.submit(evaluate_task, pending.popleft(), pure=False))
            yield rows
    finally:
        client.close()


class _Bar(Protocol):
    def update(self, n: int) -> object: ...
    def close(self) -> None: ...


def _progress(total: int, enabled: bool, desc: str = "sweep") -> _Bar:
    """A tqdm bar on stderr (points done, rate, time left), or a no-op."""
    if enabled:
        from tqdm import tqdm

        return tqdm(total=total, unit="pt", file=sys.stderr, smoothing=0.1, mininterval=0.5,
                    dynamic_ncols=True, desc=desc)
    return _NoBar()


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def run_points(points: Iterable[Point], inputs: Inputs,
               evaluate: Callable[[Task], dict[str, list]] = evaluate_task) -> dict[str, list]:
    """Evaluate points in this process without a store; columns as in the store (used by the
    report and tests)."""
    points = list(points)
    out: dict[str, list] = {}
    for task in make_tasks(points, inputs, CHUNK):
        for c, v in evaluate(task).items():
            out.setdefault(c, []).extend(v)
    return out
