"""The size and work limits of accelsim, in one place, each with the way to raise it.

A small input must not take unbounded memory or time: every input file is bounded by its size,
every YAML document by the nodes it expands to (aliases counted as often as they are used), every
sweep by its points and every mapping by the tiles (and systolic folds) it would build, each
*estimated before it is allocated*. A value beyond a limit is bad input (exit status 2) with a
one-line message naming the limit and the environment variable (or option) that raises it.

* :data:`NUMBER`: the largest magnitude of any number in an input (counts, sizes, bandwidths,
  energies, clocks) and of the derived quantities the models compute from them (cycles, bytes,
  unit counts): 1e15 keeps them exact in float64 and int64 arithmetic;
  :data:`SMALLEST` = 1 / NUMBER is the smallest non-zero magnitude (so reciprocals stay within
  :data:`NUMBER`: a subnormal bandwidth would give infinite cycles).
* :data:`INPUT_BYTES`, :data:`DOCUMENT_NODES`, :data:`POINTS`, :data:`TILES`: :class:`Limit` s
  whose values come from the environment (``ACCELSIM_MAX_*``) when set.

Floor 0: imports nothing of accelsim but :mod:`accelsim.errors`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from accelsim.errors import InputError, Problem

#: Largest magnitude of a number in an input or derived from inputs (see module docstring).
NUMBER = 10**15
#: Smallest non-zero magnitude of a number in an input: 1 / :data:`NUMBER`.
SMALLEST = 1e-15


@dataclass(frozen=True)
class Limit:
    """A bound on the size of an input or on the work it implies.

    ``what`` names the quantity (``"input file size"``), ``default`` its value, ``unit`` the
    unit it counts, ``env`` the environment variable that replaces the default and ``option``
    a command-line option that raises it too (empty when there is none)."""

    what: str
    default: int
    unit: str
    env: str
    option: str = ""

    def value(self) -> int:
        """The limit in force: ``$env`` if set (a positive integer; underscores allowed), else
        ``default``. Raises :class:`InputError` naming the variable if it is not one."""
        raw = os.environ.get(self.env)
        if raw is None or not raw.strip():
            return self.default
        try:
            got = int(raw.strip().replace("_", ""))
        except ValueError:
            got = 0
        if got < 1:
            raise InputError(Problem(self.env, raw, "must be a positive integer (a limit "
                                     f"on the {self.what})"), "environment")
        return got

    def how_to_raise(self) -> str:
        """``set ACCELSIM_MAX_...=N to raise it`` (and the option, when there is one)."""
        opt = f" or give {self.option}" if self.option else ""
        return f"set {self.env}=N{opt} to raise it"

    def exceeded(self, amount: int | float) -> str:
        """The reason of a problem: ``N <unit> is over the limit of M (<how to raise it>)``."""
        return (f"{_count(amount)} {self.unit} is over the {self.what} limit of "
                f"{_count(self.value())}; {self.how_to_raise()}")

    def check(self, amount: int | float, field: str, value: object,
              source: str | None = None) -> None:
        """Raise :class:`InputError` (``field``, ``value``) if ``amount`` exceeds the limit."""
        if amount > self.value():
            raise InputError(Problem(field, value, self.exceeded(amount)), source)


#: Bytes of one input file (workloads, configs, specs, traces, topologies...).
INPUT_BYTES = Limit("input file size", 256 * 2**20, "bytes", "ACCELSIM_MAX_INPUT_BYTES")
#: Nodes a YAML document expands to, every use of an alias counted (a "billion laughs" of 600
#: bytes expands to 10^9 nodes).
DOCUMENT_NODES = Limit("YAML document size", 1_000_000, "nodes (aliases expanded)",
                       "ACCELSIM_MAX_DOCUMENT_NODES")
#: Points of one sweep (the spec's size before validation of each point).
POINTS = Limit("sweep size", 5_000_000, "points", "ACCELSIM_MAX_POINTS")
#: Tiles (and systolic folds) one mapping may build, estimated before mapping
#: (:mod:`accelsim.mapping.budget`); about 3 KB of memory each.
TILES = Limit("mapping size", 1_000_000, "tiles", "ACCELSIM_MAX_TILES")

#: Every limit, for documentation and tests.
ALL = (INPUT_BYTES, DOCUMENT_NODES, POINTS, TILES)


def finite_number(value: float) -> bool:
    """Whether ``value`` is a number accelsim computes with: finite, at most :data:`NUMBER` in
    magnitude and zero or at least :data:`SMALLEST` in magnitude."""
    return value == 0 or SMALLEST <= abs(value) <= NUMBER


def _count(n: int | float) -> str:
    if isinstance(n, float) and not n.is_integer():
        return f"{n:.3g}"
    return f"{int(n):,}" if abs(n) < 1e18 else f"{n:.3g}"
