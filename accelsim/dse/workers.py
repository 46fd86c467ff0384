"""Worker processes of a local sweep: they die with the process that started them.

A sweep run with ``--jobs N`` evaluates tasks on N spawned processes
(:func:`accelsim.dse.sweep.run_store`). If the parent is killed (SIGKILL, OOM killer) nothing
would tell them to stop: they used to live on, computing results nobody collects. Each worker
therefore runs :func:`worker_init` first:

* on Linux it asks the kernel for ``SIGKILL`` when its parent dies
  (``prctl(PR_SET_PDEATHSIG)``), then checks that the parent is still the process that started
  it (it may have died before the request was made) and exits otherwise;
* it ignores SIGINT: Ctrl-C in a terminal reaches the whole process group, and the parent,
  which handles it (saving what is finished), stops the workers itself (:func:`stop_pool`),
  so no worker prints a traceback.

Workers never open the result store (the parent writes every part and holds its lock), so even
a worker that outlived its parent could not write into a resumed sweep's store.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from typing import Any

#: ``PR_SET_PDEATHSIG`` from ``<linux/prctl.h>``.
PR_SET_PDEATHSIG = 1
#: Seconds :func:`stop_pool` waits for a terminated worker before killing it.
STOP_TIMEOUT_S = 5.0


def parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux only).
    Returns whether the request was made."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def worker_init(parent_pid: int) -> None:
    """Initializer of a sweep's worker process (see module docstring)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the request: do not run orphaned
        os._exit(1)


def stop_pool(pool: Any) -> None:
    """Stop a ``ProcessPoolExecutor`` now: cancel queued tasks, terminate the workers (SIGTERM,
    then SIGKILL after :data:`STOP_TIMEOUT_S`) and wait for them."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(STOP_TIMEOUT_S)
            if p.is_alive():
                p.kill()
                p.join(STOP_TIMEOUT_S)
    with contextlib.suppress(Exception):
        pool.shutdown(wait=False, cancel_futures=True)
