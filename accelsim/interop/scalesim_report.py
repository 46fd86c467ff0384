"""SCALE-Sim's outputs: COMPUTE_REPORT.csv, its WS, OS and IS compute-cycle formulas, goldens.

SCALE-Sim 3.0.0 writes one ``COMPUTE_REPORT.csv`` row per *simulated* layer, in topology order,
keyed only by ``LayerID``; a ``DP`` row of the topology is simulated as one layer per channel.
:func:`read_compute_report` reads the rows; :func:`per_topology_row` folds the per-channel rows
back onto the topology rows. Compute cycles are ``Total Cycles - Stall Cycles`` (folds including
systolic fill and drain; DRAM stalls excluded), the part of SCALE-Sim's answer that depends only
on the mapping.

Nothing here imports SCALE-Sim; ``bench/scalesim_crosscheck.py`` runs it in its own environment.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from accelsim.documents import read_text
from accelsim.errors import InputError, Problem

_TOTAL, _STALL = "Total Cycles", "Stall Cycles"


@dataclass(frozen=True)
class ScaleSimRow:
    """SCALE-Sim's cycles for one topology row (``layers`` simulated layers summed).

    ``total_cycles`` includes DRAM stalls; ``stall_cycles`` are those stalls; both in cycles.
    """

    name: str
    layers: int
    total_cycles: int
    stall_cycles: int

    @property
    def compute_cycles(self) -> int:
        return self.total_cycles - self.stall_cycles


def read_compute_report(path: str | Path) -> tuple[tuple[int, int], ...]:
    """``(total_cycles, stall_cycles)`` per simulated layer, in LayerID order.

    Raises :class:`InputError` if the file is missing, lacks the columns, or has a bad value.
    """
    path = Path(path)
    text = read_text(path)
    reader = csv.reader(text.splitlines())
    header = [c.strip() for c in next(reader, [])]
    problems: list[Problem] = []
    for col in ("LayerID", _TOTAL, _STALL):
        if col not in header:
            problems.append(Problem("header", ", ".join(header), f"no column '{col}'"))
    if problems:
        raise InputError(problems, str(path))
    idx = [header.index(c) for c in ("LayerID", _TOTAL, _STALL)]
    rows: list[tuple[int, int]] = []
    for lineno, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        try:
            layer_id, total, stall = (int(float(cells[i])) for i in idx)
        except (ValueError, IndexError):
            raise InputError(Problem(f"line {lineno}", ",".join(cells), "not a report row"),
                             str(path)) from None
        if layer_id != len(rows):
            raise InputError(Problem(f"line {lineno}.LayerID", layer_id,
                                     f"expected {len(rows)} (rows out of order)"), str(path))
        rows.append((total, stall))
    return tuple(rows)


def per_topology_row(names: Sequence[str], splits: Sequence[int],
                     report: Sequence[tuple[int, int]]) -> tuple[ScaleSimRow, ...]:
    """Sum the report's per-layer rows onto topology rows: row ``i`` (``names[i]``) was simulated
    as ``splits[i]`` layers (its channel count for a ``DP`` row, else 1).

    Raises :class:`InputError` if the report has a different number of layers.
    """
    if sum(splits) != len(report):
        raise InputError(Problem("COMPUTE_REPORT.csv", len(report),
                                 f"the topology expands to {sum(splits)} layers"))
    out, i = [], 0
    for name, n in zip(names, splits):
        chunk = report[i:i + n]
        out.append(ScaleSimRow(name, n, sum(t for t, _ in chunk), sum(s for _, s in chunk)))
        i += n
    return tuple(out)


def ws_compute_cycles(sr: int, sc: int, t: int, rows: int, cols: int) -> int:
    """SCALE-Sim 3.0.0's WS compute cycles for one simulated layer (closed form of its demand
    matrices, ``compute/systolic_compute_ws.py``).

    ``sr`` = filter terms (R*S*C, mapped on array rows), ``sc`` = filters (columns), ``t`` = OFMAP
    pixels (streamed in time). Each of ``ceil(sr/rows) * ceil(sc/cols)`` folds takes
    ``rows`` cycles to load weights, ``t`` cycles to stream inputs, ``cols - 1`` to drain and
    ``rows - 1`` of input skew: ``t + 2*rows + cols - 2``; the memory model counts one cycle less
    over the whole layer (the last cycle index, not a count).
    """
    folds = math.ceil(sr / rows) * math.ceil(sc / cols)
    return folds * (t + 2 * rows + cols - 2) - 1


def os_compute_cycles(sr: int, sc: int, t: int, rows: int, cols: int) -> int:
    """SCALE-Sim 3.0.0's OS compute cycles for one simulated layer (closed form of its demand
    matrices, ``compute/systolic_compute_os.py``).

    ``sr`` = OFMAP pixels (mapped on array rows), ``sc`` = filters (columns), ``t`` = filter terms
    R*S*C (streamed in time). Each of ``ceil(sr/rows) * ceil(sc/cols)`` folds streams ``t``
    cycles of operands with ``rows - 1`` cycles of skew and ``cols - 1`` to drain the outputs
    (nothing to load: the outputs stay): ``t + rows + cols - 2``; the memory model counts one
    cycle less over the whole layer (the last cycle index, not a count).
    """
    folds = math.ceil(sr / rows) * math.ceil(sc / cols)
    return folds * (t + rows + cols - 2) - 1


def is_compute_cycles(sr: int, sc: int, t: int, rows: int, cols: int) -> int:
    """SCALE-Sim 3.0.0's IS compute cycles for one simulated layer (closed form of its demand
    matrices, ``compute/systolic_compute_is.py``).

    ``sr`` = filter terms R*S*C (mapped on array rows), ``sc`` = OFMAP pixels (the input windows
    held stationary, one per column), ``t`` = filters (streamed in time). Each of
    ``ceil(sr/rows) * ceil(sc/cols)`` folds takes ``rows`` cycles to load the inputs, ``t``
    cycles to stream the filters, ``rows - 1`` of skew and ``cols - 1`` to drain (the IFMAP
    demand of a fold is ``rows`` load rows plus ``rows + cols + t - 2``): ``t + 2*rows + cols
    - 2``, as WS with filters and pixels swapped; the memory model counts one cycle less over
    the whole layer (the last cycle index, not a count).
    """
    folds = math.ceil(sr / rows) * math.ceil(sc / cols)
    return folds * (t + 2 * rows + cols - 2) - 1


# -- golden files --------------------------------------------------------------------------------
GOLDEN_FIELDS = ("layer", "scalesim_layers", "total_cycles", "stall_cycles", "compute_cycles")


def dumps_golden(rows: Iterable[ScaleSimRow], provenance: Sequence[str]) -> str:
    """Golden CSV text: ``# provenance`` lines, then one row per topology row."""
    lines = [f"# {p}" for p in provenance]
    lines.append(",".join(GOLDEN_FIELDS))
    for r in rows:
        lines.append(f"{r.name},{r.layers},{r.total_cycles},{r.stall_cycles},{r.compute_cycles}")
    return "\n".join(lines) + "\n"


def load_golden(path: str | Path) -> tuple[ScaleSimRow, ...]:
    """Read a golden written by :func:`dumps_golden` (comment lines skipped).

    Raises :class:`InputError` on a missing file, wrong header, or inconsistent row.
    """
    path = Path(path)
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines()
                 if ln.strip() and not ln.startswith("#")]
    except OSError as exc:
        raise InputError(Problem("<file>", str(path), f"cannot read: {exc.strerror}"), str(path))
    if not lines or tuple(lines[0].split(",")) != GOLDEN_FIELDS:
        raise InputError(Problem("header", lines[0] if lines else "",
                                 f"expected {','.join(GOLDEN_FIELDS)}"), str(path))
    out = []
    for line in lines[1:]:
        cells = line.split(",")
        try:
            name, n, total, stall, compute = cells[0], *(int(c) for c in cells[1:])
        except ValueError:
            raise InputError(Problem("row", line, "expected name and four integers"),
                             str(path)) from None
        row = ScaleSimRow(name, n, total, stall)
        if row.compute_cycles != compute:
            raise InputError(Problem(f"{name}.compute_cycles", compute,
                                     "must equal total_cycles - stall_cycles"), str(path))
        out.append(row)
    return tuple(out)
