"""The one place that sets how accelsim's numba kernels are compiled.

* ``cache=True``: compiled machine code is cached next to the sources (``__pycache__``), so only
  the first call in a fresh checkout pays the compilation (a few seconds per kernel).
* ``fastmath=False``: no reassociation or contraction of floating-point operations. The kernels are
  verification kernels: their summation order is part of their specification and their error
  bounds (docs/kernels.md) assume every add and multiply is rounded on its own (no fused
  multiply-add).
* ``error_model="numpy"``: integer division and modulo by zero follow numpy instead of raising;
  the wrappers in :mod:`accelsim.kernels.api` validate every size before calling a kernel, and the
  numpy model lets LLVM vectorise the inner loops.
* ``nogil=True`` and no ``parallel``: one kernel call uses one core (accelsim's sweeps parallelise
  across processes, and the speed benchmark compares single-threaded code).

Setting the environment variable ``NUMBA_DISABLE_JIT=1`` runs the same kernel bodies as plain
Python (the test-suite does so once, in a subprocess).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numba import njit

JIT_OPTIONS: dict[str, Any] = {
    "cache": True,
    "fastmath": False,
    "error_model": "numpy",
    "nogil": True,
    "boundscheck": False,
}


def kernel(fn: Callable) -> Callable:
    """Compile ``fn`` with :data:`JIT_OPTIONS` (the decorator every kernel uses)."""
    return njit(**JIT_OPTIONS)(fn)

#: Output pixels per tile of the convolution kernels (see :mod:`accelsim.kernels._ternary`): long
#: rows amortise the per-term-group setup of the vectorised inner loop. 1024 was best or within
#: noise of the best (256 to 4096 tried) on every MobileNet-V1 0.5 pointwise layer with
#: ``bench/kernel_speed.py``; MobileNet's largest pointwise map is 112 x 112 = 12,544 pixels.
TILE_PIXELS = 1024
