"""Read and write workload files (JSON, schema ``accelsim.workload`` version 1).

:func:`load_workload` validates everything (types, ranges, unknown keys, cross references,
``ops_dense == m*n*k``) and raises one :class:`~accelsim.errors.WorkloadError` listing every
problem as ``FILE: FIELD: VALUE (why)``. :func:`dumps_workload` writes the canonical form used for
hashing and for byte-identical regeneration.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from accelsim.documents import parse_json, read_text
from accelsim.errors import Problem, WorkloadError
from accelsim.fields import LIMIT, Reader, need
from accelsim.outputs import atomic_write
from accelsim.workload.schema import (
    HIDDEN,
    LAYER_INPUT,
    LAYER_KINDS,
    LAYER_OUTPUT,
    SCHEMA,
    SCHEMA_VERSION,
    VARIANTS,
    Layer,
    Shape,
    Stage,
    StrassenParams,
    WeightTensor,
    Workload,
)
from accelsim.workload.validate import check_workload

_TOP_KEYS = ("schema", "schema_version", "name", "description", "activation_bits", "provenance",
             "layers")
_LAYER_KEYS = ("name", "kind", "variant", "inputs", "shape", "strassen", "stages")
_SHAPE_KEYS = tuple(f.name for f in fields(Shape))
_STRASSEN_KEYS = tuple(f.name for f in fields(StrassenParams))
#: Keys of a stage in the file (schema v1 names the operation class `unit`).
_STAGE_KEYS = tuple("unit" if f.name == "op" else f.name for f in fields(Stage))
_WEIGHT_KEYS = ("name", "count", "bits")
#: Optional stage fields of binary layers, written only when set (docs/workload-format.md).
_BINARY_KEYS = ("word_bits", "ops_words", "kernel_taps", "unique_kernels")
#: Largest word width a binary stage may declare.
MAX_WORD_BITS = 4096
#: Largest width of one stored value (a weight, an activation), in bits.
MAX_VALUE_BITS = 64


def load_workload(path: str | Path) -> Workload:
    """Load and validate a workload file. Raises :class:`WorkloadError` naming file and field."""
    source = str(path)
    return loads_workload(read_text(path, WorkloadError), source)


def as_workload(value: Workload | str | Path, field: str = "workload") -> Workload:
    """``value`` if it is a :class:`Workload`, else the workload file it names (loaded); raises
    :class:`WorkloadError` (one line naming the file, or ``field`` for a value of another
    type) otherwise. What the Python twins of the commands accept for a workload."""
    if isinstance(value, Workload):
        return value
    if isinstance(value, (str, Path)):
        return load_workload(value)
    raise WorkloadError(_problem(field, type(value).__name__, "must be a Workload or the path "
                                 "of a workload file"), "<argument>")


def loads_workload(text: str, source: str = "<memory>") -> Workload:
    try:  # NaN / Infinity are read as floats so that the field holding one can be named
        doc = parse_json(text, source, WorkloadError)
        bad = _non_finite(doc, "")
    except (json.JSONDecodeError, ValueError) as exc:
        raise WorkloadError(_problem("<document>", _excerpt(exc), "malformed JSON"), source)
    except RecursionError:
        raise WorkloadError(_problem("<document>", "<nested too deeply>", "malformed JSON"),
                            source) from None
    if bad:
        raise WorkloadError([_problem(f, v, "malformed JSON: not a finite number")
                             for f, v in bad], source)
    return workload_from_dict(doc, source)


def workload_from_dict(doc: Any, source: str = "<memory>") -> Workload:
    """Validate a workload given as plain data: each field (types, ranges, references), then
    how the fields fit together (:mod:`accelsim.workload.validate`). Raises
    :class:`WorkloadError` listing every problem."""
    rd = Reader()
    wl = _read_workload(rd, doc)
    if rd.problems or wl is None:
        raise WorkloadError(rd.problems or [], source)
    return check_workload(wl, source)


_INT_LIST = re.compile(r"\[\n(?:\s*-?\d+,\n)*\s*-?\d+\n\s*\]")


def dumps_workload(wl: Workload) -> str:
    """Canonical JSON text of a workload (stable key order, one trailing newline; lists of
    integers on one line)."""
    text = json.dumps(workload_to_dict(wl), indent=1, ensure_ascii=True)
    text = _INT_LIST.sub(lambda m: "[" + ", ".join(m.group(0)[1:-1].split()).replace(",,", ",")
                         + "]", text)
    return text + "\n"


def save_workload(wl: Workload, path: str | Path) -> None:
    """Write ``wl`` to ``path`` atomically (a temporary file renamed on success)."""
    atomic_write(path, dumps_workload(wl))


def workload_hash(wl: Workload) -> str:
    """sha256 of the workload's content as compact JSON (stable key order): identifies a
    workload in result stores, whatever the file's layout."""
    text = json.dumps(workload_to_dict(wl), separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def workload_to_dict(wl: Workload) -> dict:
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "name": wl.name,
        "description": wl.description,
        "activation_bits": wl.activation_bits,
        "provenance": dict(wl.provenance),
        "layers": [_layer_to_dict(layer) for layer in wl.layers],
    }


def _layer_to_dict(layer: Layer) -> dict:
    out: dict[str, Any] = {"name": layer.name, "kind": layer.kind, "variant": layer.variant,
                           "inputs": list(layer.inputs), "shape": asdict(layer.shape)}
    if layer.strassen is not None:
        out["strassen"] = asdict(layer.strassen)
    out["stages"] = [_stage_to_dict(s) for s in layer.stages]
    return out


def _stage_to_dict(s: Stage) -> dict:
    # the file calls the operation class ``unit`` (schema v1)
    d = {("unit" if k == "op" else k): v for k, v in asdict(s).items()}
    d["weights"] = [asdict(w) for w in s.weights]
    d["after"] = list(s.after)
    if s.fuse_into is None:
        del d["fuse_into"]
    if s.paper_scale == 1.0:
        del d["paper_scale"]
    for key in _BINARY_KEYS:
        if d[key] is None:
            del d[key]
    if s.ops_nonzero_per_channel:
        d["ops_nonzero_per_channel"] = list(s.ops_nonzero_per_channel)
    else:
        del d["ops_nonzero_per_channel"]
    return d


# ---------------------------------------------------------------------------------------------
def _read_workload(rd: Reader, doc: Any) -> Workload | None:
    doc = rd.mapping(doc, "")
    if doc is None:
        return None
    rd.keys(doc, _TOP_KEYS, "")
    schema = doc.get("schema", "<missing>")
    if schema != SCHEMA:
        rd.problem("schema", schema, f"must be '{SCHEMA}'")
    version = doc.get("schema_version", "<missing>")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        rd.problem("schema_version", version, f"this accelsim reads version {SCHEMA_VERSION}")
        return None
    name = rd.string(doc, "name", "")
    description = doc.get("description", "")
    if not isinstance(description, str):
        rd.problem("description", description, "must be a string")
    act_bits = rd.integer(doc, "activation_bits", "", minimum=1, maximum=MAX_VALUE_BITS,
                          default=16)
    prov = doc.get("provenance", {})
    if not isinstance(prov, dict):
        rd.problem("provenance", prov, "must be a mapping")
        prov = {}
    raw_layers = rd.get(doc, "layers", "")
    raw_layers = rd.sequence(raw_layers, "layers") if raw_layers is not None else None
    if raw_layers is None:
        return None
    if not raw_layers:
        rd.problem("layers", "[]", "a workload needs at least one layer")
        return None
    layers: list[Layer] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_layers):
        layer = _read_layer(rd, raw, f"layers[{i}]", seen)
        if layer is not None:
            layers.append(layer)
        if isinstance(raw, dict) and isinstance(raw.get("name"), str):
            seen.add(raw["name"])  # later references to a broken layer are not errors too
    if rd.problems:
        return None
    return Workload(name=need(name), layers=tuple(layers), activation_bits=need(act_bits),
                    provenance=prov,
                    description=description if isinstance(description, str) else "")


def _read_layer(rd: Reader, raw: Any, path: str, seen: set[str]) -> Layer | None:
    raw = rd.mapping(raw, path)
    if raw is None:
        return None
    n0 = len(rd.problems)
    name = rd.string(raw, "name", path)
    if name is not None:
        path = f"layers[{name}]"
        if name in seen:
            rd.problem(f"{path}.name", name, "duplicate layer name")
    rd.keys(raw, _LAYER_KEYS, path)
    kind = rd.string(raw, "kind", path, choices=LAYER_KINDS)
    variant = rd.string(raw, "variant", path, choices=VARIANTS)
    inputs = rd.get(raw, "inputs", path, default=[])
    if not isinstance(inputs, list) or not all(isinstance(x, str) for x in inputs):
        rd.problem(f"{path}.inputs", inputs, "must be a list of layer names")
        inputs = []
    for src in inputs:
        if src not in seen:
            rd.problem(f"{path}.inputs", src, "names no earlier layer")
    shape = _read_shape(rd, rd.get(raw, "shape", path), f"{path}.shape")
    strassen = None
    if raw.get("strassen") is not None:
        strassen = _read_strassen(rd, raw["strassen"], f"{path}.strassen")
    stages_raw = rd.get(raw, "stages", path)
    stages: list[Stage] = []
    if stages_raw is not None and rd.sequence(stages_raw, f"{path}.stages") is not None:
        if not stages_raw:
            rd.problem(f"{path}.stages", "[]", "a layer needs at least one stage")
        names: set[str] = set()
        for j, sraw in enumerate(stages_raw):
            st = _read_stage(rd, sraw, f"{path}.stages[{j}]", names)
            if st is not None:
                stages.append(st)
            if isinstance(sraw, dict) and isinstance(sraw.get("name"), str):
                names.add(sraw["name"])
        for st in stages:
            if st.fuse_into is not None and st.fuse_into not in names:
                rd.problem(f"{path}.stages[{st.name}].fuse_into", st.fuse_into, "names no stage")
    if len(rd.problems) > n0 or shape is None:
        return None
    return Layer(name=need(name), kind=need(kind), variant=need(variant), shape=shape,
                 stages=tuple(stages),
                 inputs=tuple(inputs), strassen=strassen)


def _read_shape(rd: Reader, raw: Any, path: str) -> Shape | None:
    if raw is None:
        return None
    raw = rd.mapping(raw, path)
    if raw is None:
        return None
    rd.keys(raw, _SHAPE_KEYS, path)
    got: dict[str, int | None] = {}
    for key in _SHAPE_KEYS:
        minimum = 0 if key == "padding" else 1
        default = {"kernel_h": 1, "kernel_w": 1, "stride": 1, "padding": 0, "groups": 1}
        got[key] = rd.integer(raw, key, path, minimum=minimum,
                              **({"default": default[key]} if key in default else {}))
    if any(v is None for v in got.values()):
        return None
    vals = {k: need(v) for k, v in got.items()}
    for c in ("in_c", "out_c"):
        if vals[c] % vals["groups"]:
            rd.problem(f"{path}.groups", vals["groups"], f"must divide {c} = {vals[c]}")
            return None
    return Shape(**vals)


def _read_strassen(rd: Reader, raw: Any, path: str) -> StrassenParams | None:
    raw = rd.mapping(raw, path)
    if raw is None:
        return None
    rd.keys(raw, _STRASSEN_KEYS, path)
    alpha = rd.number(raw, "alpha", path, minimum=0.0, maximum=1.0)
    c_fp = rd.integer(raw, "c_fp", path)
    c_rem = rd.integer(raw, "c_rem", path)
    r = rd.integer(raw, "r", path, minimum=1)
    r_nominal = rd.number(raw, "r_nominal", path, minimum=0.0, strict=True)
    r_factor = raw.get("r_factor")
    if r_factor is not None:
        r_factor = rd.number(raw, "r_factor", path, minimum=0.0, strict=True)
    patch = rd.integer(raw, "patch", path, minimum=1, default=1)
    groups = rd.integer(raw, "groups", path, minimum=1, default=1)
    if (alpha is None or c_fp is None or c_rem is None or r is None or r_nominal is None
            or patch is None or groups is None):
        return None
    return StrassenParams(alpha=alpha, c_fp=c_fp, c_rem=c_rem, r=r, r_nominal=r_nominal,
                          r_factor=r_factor, patch=patch, groups=groups)


def _read_stage(rd: Reader, raw: Any, path: str, earlier: set[str]) -> Stage | None:
    raw = rd.mapping(raw, path)
    if raw is None:
        return None
    n0 = len(rd.problems)
    name = rd.string(raw, "name", path)
    if name is not None:
        path = path.rsplit("[", 1)[0] + f"[{name}]"
        if name in earlier:
            rd.problem(f"{path}.name", name, "duplicate stage name in this layer")
        if name in (LAYER_INPUT, LAYER_OUTPUT, HIDDEN):
            rd.problem(f"{path}.name", name, "reserved name")
    rd.keys(raw, _STAGE_KEYS, path)
    role = rd.string(raw, "role", path)
    unit = rd.string(raw, "unit", path)
    m = rd.integer(raw, "m", path, minimum=1)
    n = rd.integer(raw, "n", path, minimum=1)
    k = rd.integer(raw, "k", path, minimum=1)
    groups = rd.integer(raw, "groups", path, minimum=1, default=1)
    dense = rd.integer(raw, "ops_dense", path)
    nonzero = rd.integer(raw, "ops_nonzero", path)
    in_bytes = rd.integer(raw, "in_bytes", path, default=0)
    out_bytes = rd.integer(raw, "out_bytes", path, default=0)
    reads = rd.string(raw, "reads", path, default=LAYER_INPUT)
    writes = rd.string(raw, "writes", path, choices=(LAYER_OUTPUT, HIDDEN), default=LAYER_OUTPUT)
    if reads is not None and reads != LAYER_INPUT and reads not in earlier:
        rd.problem(f"{path}.reads", reads, "must be 'input' or the name of an earlier stage")
    after = raw.get("after", [])
    if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
        rd.problem(f"{path}.after", after, "must be a list of stage names")
        after = []
    for a in after:
        if a not in earlier:
            rd.problem(f"{path}.after", a, "names no earlier stage")
    fuse_into = raw.get("fuse_into")
    if fuse_into is not None and not isinstance(fuse_into, str):
        rd.problem(f"{path}.fuse_into", fuse_into, "must be a stage name")
        fuse_into = None
    scale = rd.number(raw, "paper_scale", path, minimum=0.0, strict=True, default=1.0)
    weights: list[WeightTensor] = []
    wraw = raw.get("weights", [])
    if rd.sequence(wraw, f"{path}.weights") is not None:
        for i, w in enumerate(wraw):
            wpath = f"{path}.weights[{i}]"
            w = rd.mapping(w, wpath)
            if w is None:
                continue
            rd.keys(w, _WEIGHT_KEYS, wpath)
            wn = rd.string(w, "name", wpath)
            wc = rd.integer(w, "count", wpath)
            wb = rd.integer(w, "bits", wpath, minimum=1, maximum=MAX_VALUE_BITS)
            if (wn is not None and wc is not None and wb is not None):
                weights.append(WeightTensor(wn, wc, wb))
    if (m is not None and n is not None and k is not None and groups is not None):
        if n % groups:
            rd.problem(f"{path}.groups", groups, f"must divide n = {n}")
        if dense is not None and dense != m * n * k:
            rd.problem(f"{path}.ops_dense", dense, f"must equal m*n*k = {m * n * k}")
            dense = None
    if dense is not None and nonzero is not None and nonzero > dense:
        rd.problem(f"{path}.ops_nonzero", nonzero, f"must be <= ops_dense = {dense}")
    binary = _read_binary(rd, raw, path, m, n, k)
    per_channel = _read_per_channel(rd, raw, path, n, nonzero)
    if len(rd.problems) > n0:
        return None
    return Stage(name=need(name), role=need(role), op=need(unit), m=need(m), n=need(n),
                 k=need(k), groups=need(groups), ops_dense=need(dense),
                 ops_nonzero=need(nonzero), weights=tuple(weights), reads=need(reads),
                 writes=need(writes), in_bytes=need(in_bytes), out_bytes=need(out_bytes),
                 after=tuple(after), fuse_into=fuse_into, paper_scale=need(scale),
                 ops_nonzero_per_channel=per_channel, **binary)


def _read_per_channel(rd: Reader, raw: dict, path: str, n: int | None, nonzero: int | None
                      ) -> tuple[int, ...]:
    """``ops_nonzero_per_channel``: ``n`` non-negative integers summing to ``ops_nonzero``."""
    value = raw.get("ops_nonzero_per_channel")
    if value is None:
        return ()
    field = f"{path}.ops_nonzero_per_channel"
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool)
                                              and 0 <= v <= LIMIT for v in value):
        rd.problem(field, _short_list(value), "must be a list of integers >= 0")
        return ()
    if n is not None and len(value) != n:
        rd.problem(field, f"{len(value)} entries", f"must have one entry per channel (n = {n})")
    elif nonzero is not None and sum(value) != nonzero:
        rd.problem(field, f"sum {sum(value)}", f"must add up to ops_nonzero = {nonzero}")
    return tuple(value)


def _short_list(value: object) -> object:
    return f"[{len(value)} items]" if isinstance(value, list) else value


def _read_binary(rd: Reader, raw: dict, path: str, m: int | None, n: int | None,
                 k: int | None) -> dict[str, int | None]:
    """The optional binary-stage fields, checked: ``word_bits`` a power of two with
    ``ops_words == m*n*ceil(k/word_bits)``; ``kernel_taps`` dividing ``k`` with
    ``0 <= unique_kernels <= n*k/kernel_taps``. Each pair is given together or not at all."""
    vals = {key: rd.integer(raw, key, path, minimum=1 if key in ("word_bits", "kernel_taps")
                            else 0, default=None) for key in _BINARY_KEYS}
    bits, words = vals["word_bits"], vals["ops_words"]
    if bits is not None and (bits & (bits - 1) or bits > MAX_WORD_BITS):
        rd.problem(f"{path}.word_bits", bits, f"bits per packed word: must be a power of two "
                   f"<= {MAX_WORD_BITS}")
        bits = None
    taps, unique = vals["kernel_taps"], vals["unique_kernels"]
    for a, b in (("word_bits", "ops_words"), ("kernel_taps", "unique_kernels")):
        va, vb = raw.get(a), raw.get(b)
        if (va is None) != (vb is None):
            missing, given = (a, b) if va is None else (b, a)
            rd.problem(f"{path}.{missing}", "<missing>", f"required when {given} is given")
    if None in (m, n, k):
        return vals
    assert m is not None and n is not None and k is not None
    if bits is not None and words is not None and words != m * n * -(-k // bits):
        rd.problem(f"{path}.ops_words", words,
                   f"must equal m*n*ceil(k/word_bits) = {m * n * -(-k // bits)}")
    if taps is not None and k % taps:
        rd.problem(f"{path}.kernel_taps", taps, f"must divide k = {k}")
    elif taps is not None and unique is not None and unique > n * (k // taps):
        rd.problem(f"{path}.unique_kernels", unique,
                   f"must be <= n*k/kernel_taps = {n * (k // taps)} (the number of kernels)")
    return vals


def _problem(field: str, value: object, why: str) -> Problem:
    return Problem(field, value, why)


def _non_finite(value: Any, path: str) -> list[tuple[str, float]]:
    """(path, value) of every NaN or infinite float nested in ``value``; list items that have a
    ``name`` are named by it, as the loader's problems name them (``layers[conv1].stages[wb]``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return [(path or "<document>", value)]
    if isinstance(value, dict):
        return [hit for k, v in value.items()
                for hit in _non_finite(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        hits = []
        for i, v in enumerate(value):
            named = isinstance(v, dict) and isinstance(v.get("name"), str)
            hits += _non_finite(v, f"{path}[{v['name'] if named else i}]")
        return hits
    return []


def _excerpt(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"line {exc.lineno} column {exc.colno}: {exc.msg}"
    return str(exc)
