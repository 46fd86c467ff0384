"""SCALE-Sim topology CSV <-> accelsim baseline workload.

SCALE-Sim (v2/v3, ``scalesim`` on PyPI) describes a network as one CSV row per convolution::

    Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter,
    Strides,                           (one line in the file)
    conv1, 225, 225, 3, 3, 3, 16, 2,

Conventions of SCALE-Sim 3.0.0 (``scalesim/topology_utils.py``), which this module follows:

* the first non-blank line is a header; every row ends with a comma; a ninth column, if present,
  is a sparsity ratio ``N:M`` (SCALE-Sim v3);
* there is no padding field: ``OFMAP = ceil((IFMAP - Filter + Stride) / Stride)``, so the IFMAP
  sizes in the file are the *padded* sizes. Imported layers therefore have ``padding = 0``, the
  given (padded) input size and that output size;
* a row whose name contains ``DP`` is a depthwise convolution with ``Channels`` channels and
  ``Num Filter`` filters per channel (SCALE-Sim simulates it as ``Channels`` single-channel
  layers). It is imported as one native depthwise layer (kind ``depthwise``, ``groups = c``,
  ``out_c = c * Num Filter``);
* a 1x1 filter on a 1x1 IFMAP is a fully connected layer (kind ``linear``).

Export writes, for each fp layer, the smallest padded IFMAP that yields the layer's own output
size, ``(out - 1) * stride + kernel``: with PyTorch ``padding=1`` this is H+2 for 3x3/s1, H+1 for
3x3/s2 (225 for a 224 input) and H for 1x1/s1. Eltwise layers have no SCALE-Sim equivalent and are
left out of the CSV (it has no comment syntax: every non-header line is read as a layer).
"""
from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

from accelsim.documents import read_text
from accelsim.errors import Problem, WorkloadError
from accelsim.fields import LIMIT
from accelsim.outputs import atomic_write, check_outputs
from accelsim.workload.build import fp_layer
from accelsim.workload.load import load_workload, save_workload
from accelsim.workload.schema import Layer, Shape, Workload

#: SCALE-Sim's header, column by column (the reference files use exactly this text).
COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
           "Channels", "Num Filter", "Strides")
HEADER = ", ".join(COLUMNS) + ","
#: How a ``DP`` row is imported: one depthwise layer, or SCALE-Sim's per-channel split.
DEPTHWISE_MODES = ("native", "split")
_RATIO = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*$")


def import_topology(path: str | Path, *, name: str | None = None, bias: bool = True,
                    depthwise: str = "native") -> Workload:
    """Read a SCALE-Sim topology CSV as a baseline (fp16) workload.

    ``name`` defaults to the file's stem; ``bias`` adds the per-output bias stage of accelsim's
    accounting convention (fused into the MAC accumulators; SCALE-Sim has no bias).
    ``depthwise="native"`` imports a ``DP`` row as one depthwise layer; ``"split"`` reproduces
    SCALE-Sim's own mapping instead: one single-channel conv layer per channel, named
    ``<name>Channel_<i>`` as SCALE-Sim names them (for mapping cross-checks).
    Raises :class:`~accelsim.errors.WorkloadError` naming the file, the line, the layer and the
    field of every malformed value (all problems at once), or if the file cannot be read.
    """
    path = Path(path)
    text = read_text(path, WorkloadError)
    digest = hashlib.sha256(text.encode()).hexdigest()
    prov = {"format": "scalesim-topology", "file": path.name, "sha256": digest}
    return parse_topology(text, source=str(path), name=name or path.stem, bias=bias,
                          depthwise=depthwise, provenance=prov)


def parse_topology(text: str, *, source: str = "<memory>", name: str = "scalesim",
                   bias: bool = True, depthwise: str = "native",
                   provenance: dict | None = None) -> Workload:
    """Parse the text of a topology CSV (see :func:`import_topology`)."""
    if depthwise not in DEPTHWISE_MODES:
        raise ValueError(f"depthwise must be one of {DEPTHWISE_MODES}, not {depthwise!r}")
    problems: list[Problem] = []
    layers: list[Layer] = []
    seen: set[str] = set()
    header_seen = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if cells and cells[-1] == "":
            cells.pop()  # the trailing comma every SCALE-Sim row ends with
        if not header_seen:
            header_seen = True
            _check_header(cells, lineno, problems)
            continue
        for layer in _parse_row(cells, lineno, seen, problems, bias, depthwise == "split"):
            layers.append(layer)
            seen.add(layer.name)
    if not header_seen:
        problems.append(Problem("<document>", "", "empty file: expected the SCALE-Sim header "
                                                  f"'{HEADER}'"))
    elif not layers and not problems:
        problems.append(Problem("<document>", "", "no layer rows after the header"))
    if problems:
        raise WorkloadError(problems, source)
    prov = dict(provenance or {"format": "scalesim-topology"})
    prov["padding"] = "none: IFMAP sizes are SCALE-Sim's padded sizes"
    return Workload(name=name, layers=tuple(layers), activation_bits=16, provenance=prov,
                    description=f"baseline fp16 layers imported from SCALE-Sim topology {source}")


def _check_header(cells: list[str], lineno: int, problems: list[Problem]) -> None:
    got = [" ".join(c.lower().split()) for c in cells[:len(COLUMNS)]]
    want = [c.lower() for c in COLUMNS]
    if got != want:
        problems.append(Problem(f"line {lineno} (header)", ", ".join(cells),
                                f"expected the SCALE-Sim header '{HEADER}'"))


def _parse_row(cells: list[str], lineno: int, seen: set[str], problems: list[Problem],
               bias: bool, split: bool) -> tuple[Layer, ...]:
    name = cells[0] if cells else ""
    where = f"line {lineno} ({name or '?'})"
    n0 = len(problems)
    if len(cells) not in (len(COLUMNS), len(COLUMNS) + 1):
        problems.append(Problem(where, ", ".join(cells),
                                f"expected {len(COLUMNS)} values (+ optional sparsity N:M), "
                                f"got {len(cells)}"))
        return ()
    if not name:
        problems.append(Problem(f"{where}.{COLUMNS[0]}", name, "must be a non-empty name"))
    elif name in seen:
        problems.append(Problem(f"{where}.{COLUMNS[0]}", name, "duplicate layer name"))
    vals: dict[str, int] = {}
    for col, cell in zip(COLUMNS[1:], cells[1:len(COLUMNS)]):
        try:
            value = int(cell)
        except ValueError:
            value = 0
        if value < 1:
            problems.append(Problem(f"{where}.{col}", cell, "must be a positive integer"))
        vals[col] = value
    if len(cells) > len(COLUMNS):
        _check_ratio(cells[-1], f"{where}.Sparsity", problems)
    if len(problems) > n0:
        return ()
    h, w = vals["IFMAP Height"], vals["IFMAP Width"]
    fh, fw = vals["Filter Height"], vals["Filter Width"]
    c, nf, s = vals["Channels"], vals["Num Filter"], vals["Strides"]
    if fh > h:
        problems.append(Problem(f"{where}.Filter Height", fh, f"must be <= IFMAP Height = {h}"))
    if fw > w:
        problems.append(Problem(f"{where}.Filter Width", fw, f"must be <= IFMAP Width = {w}"))
    if len(problems) > n0:
        return ()
    out_h, out_w = scalesim_out(h, fh, s), scalesim_out(w, fw, s)
    if "DP" in name:
        kind, out_c, groups = "depthwise", c * nf, c
    elif (h, w, fh, fw) == (1, 1, 1, 1):
        kind, out_c, groups = "linear", nf, 1
    else:
        kind, out_c, groups = "conv", nf, 1
    shape = Shape(in_h=h, in_w=w, in_c=c, out_h=out_h, out_w=out_w, out_c=out_c, kernel_h=fh,
                  kernel_w=fw, stride=s, padding=0, groups=groups)
    layer = fp_layer(name, kind, shape, bias=bias)
    big = max(max(st.ops_dense, st.in_bytes, st.out_bytes) for st in layer.stages)
    if big > LIMIT:  # the limit every workload file obeys
        problems.append(Problem(where, ", ".join(cells), f"{big:.3g} operations or bytes in one "
                                f"stage, over accelsim's limit of {LIMIT:g}"))
        return ()
    if "DP" in name and split:
        one = Shape(in_h=h, in_w=w, in_c=1, out_h=out_h, out_w=out_w, out_c=nf, kernel_h=fh,
                    kernel_w=fw, stride=s, padding=0)
        return tuple(fp_layer(f"{name}Channel_{i}", "conv", one, bias=bias) for i in range(c))
    return (layer,)


def _check_ratio(cell: str, field: str, problems: list[Problem]) -> None:
    match = _RATIO.match(cell)
    if match is None or not 1 <= int(match[1]) <= int(match[2]):
        problems.append(Problem(field, cell, "must be a sparsity ratio N:M with 1 <= N <= M"))
    elif match[1] != match[2]:
        problems.append(Problem(field, cell, "structured sparsity is not imported: accelsim "
                                             "baseline layers are dense (use 1:1)"))


def scalesim_out(size: int, kernel: int, stride: int) -> int:
    """SCALE-Sim's output size: ``ceil((size - kernel + stride) / stride)`` (no padding)."""
    return math.ceil((size - kernel + stride) / stride)


# -- export ------------------------------------------------------------------------------------
def export_topology(wl: Workload) -> str:
    """Write a baseline workload as a SCALE-Sim topology CSV (header, one row per layer).

    Conv, depthwise and linear fp layers are written with padded IFMAP sizes
    ``(out - 1) * stride + kernel`` so that SCALE-Sim computes the layer's own output size;
    depthwise layers become ``DP`` rows (``Num Filter`` = channel multiplier); eltwise layers are
    skipped. Names are made SCALE-Sim-safe: commas and blanks become ``_``, and ``DP`` in the name
    of a layer that is not depthwise becomes ``Dp`` (SCALE-Sim would split it per channel).
    Raises :class:`WorkloadError` listing every layer that cannot be written (strassen, twn and
    hybrid layers; grouped convolutions that are not depthwise).
    """
    problems: list[Problem] = []
    rows: list[str] = [HEADER]
    used: set[str] = set()
    not_fp = [layer for layer in wl.layers if layer.kind != "eltwise" and layer.variant != "fp"]
    if len(not_fp) == 1:
        problems.append(Problem(f"layers[{not_fp[0].name}].variant", not_fp[0].variant,
                                "SCALE-Sim runs fp layers only; export the baseline workload"))
    elif not_fp:  # one line for the whole workload, not one per layer
        variants = sorted({layer.variant for layer in not_fp})
        names = [layer.name for layer in not_fp]
        shown = ", ".join(names[:4]) + (f", ... {names[-1]}" if len(names) > 4 else "")
        problems.append(Problem("layers[*].variant", "<" + "/".join(variants) + ">",
                                f"{len(names)} of {len(wl.layers)} layers are not fp ({shown}); "
                                "SCALE-Sim runs fp layers only: export the baseline workload"))
    for layer in wl.layers:
        if layer.kind == "eltwise" or layer.variant != "fp":
            continue
        row = _export_row(layer, used, problems)
        if row is not None:
            rows.append(row)
    if problems:
        raise WorkloadError(problems, wl.name)
    if len(rows) == 1:
        raise WorkloadError(Problem("layers", len(wl.layers),
                                    "no conv, depthwise or linear layer to export"), wl.name)
    return "\n".join(rows) + "\n"


def _export_row(layer: Layer, used: set[str], problems: list[Problem]) -> str | None:
    where = f"layers[{layer.name}]"
    sh = layer.shape
    depthwise = layer.kind == "depthwise" or sh.groups > 1
    if depthwise and (sh.groups != sh.in_c or sh.out_c % sh.in_c):
        problems.append(Problem(f"{where}.shape.groups", sh.groups,
                                "SCALE-Sim has no grouped convolution; only depthwise "
                                f"(groups = in_c = {sh.in_c}) can be written"))
        return None
    name = re.sub(r"[\s,]+", "_", layer.name)
    if depthwise and "DP" not in name:
        name = f"DP_{name}"
    elif not depthwise:
        name = name.replace("DP", "Dp")
    base, i = name, 2
    while name in used:
        name, i = f"{base}_{i}", i + 1
    used.add(name)
    in_h = (sh.out_h - 1) * sh.stride + sh.kernel_h
    in_w = (sh.out_w - 1) * sh.stride + sh.kernel_w
    filters = sh.out_c // sh.in_c if depthwise else sh.out_c
    cells = (name, in_h, in_w, sh.kernel_h, sh.kernel_w, sh.in_c, filters, sh.stride)
    return ", ".join(str(c) for c in cells) + ","


# -- API twins of the CLI commands ------------------------------------------------------------
def import_scalesim(csv_path: str | Path, out: str | Path | None = None, *,
                    name: str | None = None, bias: bool = True,
                    depthwise: str = "native") -> Workload:
    """``accelsim import-scalesim``: :func:`import_topology`, saved as workload JSON to ``out``
    if given (atomically; never over the CSV or a bundled file). Raises :class:`WorkloadError`
    on a malformed CSV and :class:`~accelsim.outputs.OutputError` for an unsafe ``out``."""
    check_outputs({"--out": out}, [csv_path])
    wl = import_topology(csv_path, name=name, bias=bias, depthwise=depthwise)
    if out is not None:
        save_workload(wl, out)
    return wl


def export_scalesim(workload: Workload | str | Path, out: str | Path | None = None) -> str:
    """``accelsim export-scalesim``: :func:`export_topology` of a workload (or workload file),
    written to ``out`` if given (atomically; never over the workload file or a bundled file).
    Raises :class:`WorkloadError` on a non-baseline workload and
    :class:`~accelsim.outputs.OutputError` for an unsafe ``out``."""
    check_outputs({"--out": out}, [] if isinstance(workload, Workload) else [workload])
    wl = workload if isinstance(workload, Workload) else load_workload(workload)
    try:
        text = export_topology(wl)
    except WorkloadError as exc:  # name the file the workload came from
        if isinstance(workload, Workload):
            raise
        raise WorkloadError(list(exc.problems), str(workload)) from None
    if out is not None:
        atomic_write(out, text)
    return text
