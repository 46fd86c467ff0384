"""Run a sweep into a result store: in this process, on local worker processes, or on Dask.

The parent process plans the points, skips the keys the store already holds, cuts the rest into
:class:`~accelsim.dse.tasks.Task` s (thousands of points per task on the array path, a handful
for scalar op-count points, one per discrete-event point), hands them to the executor and writes
each finished task as one part of the store, so an interrupted sweep resumes where it stopped.
Workers never touch the store; results do not depend on the executor, the number of jobs or the
order tasks finish in, so the store's rows sorted by key are the same for any ``jobs``.
"""
from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from accelsim.dse.keys import KeyIndex
from accelsim.dse.points import Inputs, Point, count_points, iter_points, load_inputs
from accelsim.dse.spec import SweepSpec, load_sweep_spec, spec_to_dict
from accelsim.dse.store import ResultStore
from accelsim.dse.tasks import Task, evaluate_point, rows_to_columns, vectorisable
from accelsim.dse.vector import evaluate_vectorised
from accelsim.dse.workers import stop_pool, worker_init
from accelsim.errors import InputError, Problem
from accelsim.outputs import check_outputs, missing_folders, remove_created

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
    afterwards (:meth:`~accelsim.dse.store.ResultStore.export_csv`; never over the spec, its
    configs or workloads). Points are generated, checked against the store and evaluated as a
    stream: memory does not grow with the number of points. Raises :class:`InputError` for a
    bad spec, config or workload or an unsafe ``export``,
    :class:`~accelsim.dse.store.StoreError` if another sweep holds the store, and
    :class:`SweepInterrupted` on Ctrl-C (what was saved is kept: rerun to resume)."""
    if not isinstance(spec, SweepSpec):
        spec = load_sweep_spec(spec)
    target = store if store is not None else spec.store
    if target is None:
        raise InputError(Problem("store", "<missing>", "give --store or 'store:' in the spec"),
                         spec.source)
    check_outputs({"--export": export, "--store": target},
                  [p for p in (spec.source, *spec.hw, *spec.workloads) if p != "<memory>"])
    t0 = time.perf_counter()
    inputs = load_inputs(spec)
    total = count_points(spec, inputs)
    return run_store(target, inputs, iter_points(spec, inputs), total=total, jobs=jobs,
                     dask=dask, progress=progress, export=export, chunk=chunk,
                     spec_doc=spec_to_dict(spec), started=t0)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_store` (a :class:`KeyboardInterrupt`): ``saved`` points were
    written this run (``before`` were already in ``store``) of ``total``; the store is
    consistent, a rerun resumes."""

    def __init__(self, store: str, saved: int, before: int, total: int):
        super().__init__(f"interrupted: {saved:,} points saved in {store} this run "
                         f"({saved + before:,} of {total:,} in all)")
        self.store, self.saved, self.before, self.total = store, saved, before, total


def run_store(store: str | Path, inputs: Inputs, points: Iterable[Point], *, jobs: int = 1,
              dask: str | None = None, progress: bool = True, export: str | Path | None = None,
              chunk: dict[str, int] | None = None, spec_doc: dict | None = None,
              started: float | None = None, desc: str = "sweep", total: int | None = None
              ) -> SweepSummary:
    """Evaluate the ``points`` (over ``inputs``) that ``store`` does not hold yet, writing each
    finished task as one part (the machinery behind :func:`sweep`, also used by the report).

    ``points`` may be a generator (``total``: how many it yields, for the progress bar); they
    are checked against the store's keys and cut into tasks as they come. ``spec_doc`` is kept in
    the store for the record. A store folder this call created is removed again if it fails
    before saving any point. Raises :class:`~accelsim.dse.store.StoreError` if another process
    holds the store and :class:`SweepInterrupted` on Ctrl-C."""
    if jobs < 1:
        raise InputError(Problem("jobs", jobs, "must be >= 1"))
    if isinstance(points, Sequence):  # a list may name a point twice: evaluate it once
        points = list({p.key: p for p in points}.values())
        total = len(points)
    sizes = {**CHUNK, **(chunk or {})}
    t0 = started if started is not None else time.perf_counter()
    rs = ResultStore(store)
    created = missing_folders(rs.path)
    n = _Counts()
    bar = _progress(total or 0, progress, desc)
    executor = "dask" if dask else (f"processes({jobs})" if jobs > 1 else "inline")
    try:
        with rs:
            if spec_doc is not None:
                rs.write_spec(spec_doc)
            done = rs.key_index()
            todo = _todo(points, done, n, bar)
            tasks = _counted(make_tasks(todo, inputs, sizes, jobs, total), n)
            for cols in _execute(tasks, jobs, dask):
                hit = done.contains(cols["key"])
                if hit.any():  # finished meanwhile (a duplicate point): keep the first row
                    keep = [i for i, h in enumerate(hit) if not h]
                    cols = {c: [v[i] for i in keep] for c, v in cols.items()}
                rs.append(cols)
                done.update(cols["key"])
                n.computed += len(cols["key"])
                n.errors += sum(1 for e in cols["error"] if e)
                bar.update(len(cols["key"]))
            bar.close()
            if len(rs.parts()) > COMPACT_AT:
                rs.compact()
            elapsed = time.perf_counter() - t0
            if export is not None:
                rs.export_csv(export)
    except KeyboardInterrupt:
        bar.close()
        if n.computed == 0:
            remove_created(created)
        raise SweepInterrupted(str(store), n.computed, n.skipped, total or n.seen) from None
    except BaseException:
        bar.close()
        if n.computed == 0:
            remove_created(created)
        raise
    return SweepSummary(str(store), n.seen, n.skipped, n.computed, n.errors, n.tasks,
                        elapsed, executor)


class _Counts:
    """What a run has seen, skipped (already in the store), computed and cut into tasks."""

    def __init__(self) -> None:
        self.seen = self.skipped = self.computed = self.errors = self.tasks = 0


def _todo(points: Iterable[Point], done: KeyIndex, n: _Counts, bar: _Bar,
          batch: int = 4096) -> Iterator[Point]:
    """The points ``done`` does not hold, checked a batch at a time (skipped ones counted)."""
    buf: list[Point] = []

    def check() -> Iterator[Point]:
        hit = done.contains([p.key for p in buf])
        skipped = int(hit.sum())
        n.skipped += skipped
        if skipped:
            bar.update(skipped)
        yield from (p for p, h in zip(buf, hit) if not h)
        buf.clear()

    for p in points:
        n.seen += 1
        buf.append(p)
        if len(buf) >= batch:
            yield from check()
    if buf:
        yield from check()


def _counted(tasks: Iterator[Task], n: _Counts) -> Iterator[Task]:
    for t in tasks:
        n.tasks += 1
        yield t


def evaluate_task(task: Task) -> dict[str, list]:
    """Columns (:data:`accelsim.dse.store.COLUMNS` -> one value per point, in the task's
    order) for every point of ``task``: the array path for vectorised tasks, else one point at a
    time. What a worker process runs."""
    if task.vectorised:
        return evaluate_vectorised(task)
    return rows_to_columns([evaluate_point(task, p) for p in task.points])


def make_tasks(points: Iterable[Point], inputs: Inputs, sizes: dict[str, int],
               jobs: int = 1, total: int | None = None) -> Iterator[Task]:
    """Cut points into tasks as they come: consecutive points of one (config, workload, engine,
    zero_skip, swept fields) group, at most ``sizes[kind]`` each. Op-count groups whose fields
    are all :func:`vectorisable` take the array path; with ``jobs`` > 1 array-path tasks are
    at most ``total / jobs`` points (at least 256) so that every job gets work."""
    key: tuple | None = None
    group: list[Point] = []
    limit = 1

    def task() -> Task:
        hi, wi, vectorised = key[0], key[1], key[-1]  # type: ignore[index]
        return Task(inputs.hw[hi], inputs.hw_hashes[hi], inputs.workloads[wi],
                    inputs.workload_hashes[wi], tuple(group), vectorised)

    for p in points:
        fields = tuple(f for f, _ in p.params)
        vectorised = p.engine.counts_ops_only and all(vectorisable(f) for f in fields)
        k = (p.hw_index, p.workload_index, p.engine, p.zero_skip, fields, vectorised)
        if k != key or len(group) >= limit:
            if group:
                yield task()
            key, group = k, []
            kind = "vector" if vectorised else ("opcount" if p.engine.counts_ops_only
                                                else p.engine)
            limit = sizes.get(kind, 1)
            if vectorised and jobs > 1 and total:
                limit = min(limit, max(256, -(-total // jobs)))
        group.append(p)
    if group:
        yield task()


def _execute(tasks: Iterator[Task], jobs: int, dask: str | None) -> Iterator[dict[str, list]]:
    if dask:
        yield from _dask(tasks, dask, jobs)
    elif jobs > 1:
        yield from _processes(tasks, jobs)
    else:
        for task in tasks:
            yield evaluate_task(task)


def _processes(tasks: Iterator[Task], jobs: int) -> Iterator[dict[str, list]]:
    """Tasks on ``jobs`` spawned worker processes (at most ``2 * jobs`` in flight). Workers
    die with this process (:func:`accelsim.dse.workers.worker_init`); on an error or Ctrl-C
    here they are terminated at once instead of finishing their tasks."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"),
                               initializer=worker_init, initargs=(os.getpid(),))
    clean = False
    try:
        running: set = set()
        pending = iter(tasks)
        more = True
        while more or running:
            while more and len(running) < 2 * jobs:
                task = next(pending, None)
                if task is None:
                    more = False
                else:
                    running.add(pool.submit(evaluate_task, task))
            if not running:
                break
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                yield fut.result()
        clean = True
    finally:
        if clean:
            pool.shutdown(wait=True)
        else:
            stop_pool(pool)


def _dask(tasks: Iterator[Task], address: str, jobs: int) -> Iterator[dict[str, list]]:
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
        pending = iter(tasks)
        first = [client.submit(evaluate_task, t, pure=False)
                 for t in itertools.islice(pending, limit)]
        ac = as_completed(first, loop=client.loop)
        for fut in ac:
            rows = fut.result()
            fut.release()
            task = next(pending, None)
            if task is not None:
                ac.add(client.submit(evaluate_task, task, pure=False))
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
    out: dict[str, list] = {}
    for task in make_tasks(list({p.key: p for p in points}.values()), inputs, CHUNK):
        for c, v in evaluate(task).items():
            out.setdefault(c, []).extend(v)
    return out
