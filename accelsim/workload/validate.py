"""The semantic validator of workloads: what a structurally valid workload must also satisfy.

The loader (:mod:`accelsim.workload.load`) checks each field alone (types, ranges, names that
refer to something); :func:`workload_problems` checks how the fields of a workload fit together,
so that a file that is valid JSON but inconsistent is rejected instead of simulated:

* **the layer graph**: ``inputs`` lists each producer once; a layer's ``in_c`` is the sum of its
  producers' ``out_c`` (each producer's, for an eltwise layer);
* **the stage graph** of a layer: ``fuse_into`` names another stage that runs on its own (no
  chains, no cycles) and the fused stage reads it; a stage that writes ``hidden`` is read (or
  waited for, ``after``) by a later stage; ``after`` lists each stage once;
* **shapes**: ``out_h``/``out_w`` follow from the input size, kernel, stride and padding (floor or
  ceil rounding); an eltwise layer keeps its input shape; a depthwise layer has
  ``groups = in_c``;
* **kinds and variants against stages**: every stage is what the format defines for its layer's
  kind, variant, shape and parameters (docs/workload-format.md, "What each variant emits";
  checked by building the layer with :mod:`accelsim.workload.build` / :mod:`.binary` and
  comparing field by field): an eltwise layer carrying a conv's MAC stages, a ``shape`` that
  disagrees with a stage's ``m``, a ``paper_scale`` other than ``r_nominal / r`` are refused.
  Only the traced data is free: ``ops_nonzero`` of ternary stages (one addition per non-zero
  weight per position: a multiple of ``m`` for TWN and W_b stages) and ``unique_kernels``;
* **derived totals**: a weight tensor's bytes, the workload's operations and bytes stay within
  :data:`accelsim.limits.NUMBER`, so sums over layers cannot overflow 64-bit arithmetic.

Each problem names the field (``layers[pw1].stages[wb].m``), the value and what it must be.
"""
from __future__ import annotations

import math
from dataclasses import fields

from accelsim.errors import Problem, WorkloadError
from accelsim.limits import NUMBER
from accelsim.workload.binary import fbin_layer, wbin_layer
from accelsim.workload.build import eltwise_layer, fp_layer, strassen_layer, twn_layer
from accelsim.workload.schema import HIDDEN, Layer, Shape, Stage, Workload

#: Stages whose ``ops_nonzero`` is traced data (zero ternary weights skipped), by variant.
_FREE_NONZERO = {"twn": ("conv",), "strassen": ("wb", "wc"), "hybrid": ("wb", "wc")}
#: Stages whose ``ops_nonzero`` is ``m`` times a count of non-zero weights.
_PER_POSITION = {"twn": ("conv",), "strassen": ("wb",), "hybrid": ("wb",)}
_FULL_PRECISION_BITS = (16, 32)
#: Optional binary-stage fields: checked against the definition when given.
_OPTIONAL = ("word_bits", "ops_words", "kernel_taps")
#: Traced per-channel splits of ``ops_nonzero``: the loader checks them (one entry per output
#: channel, summing to ``ops_nonzero``), which the definition then fixes where it fixes the total.
_TRACED = ("unique_kernels", "ops_nonzero_per_channel")


def check_workload(wl: Workload, source: str = "<memory>") -> Workload:
    """``wl`` if :func:`workload_problems` finds nothing, else :class:`WorkloadError`."""
    problems = workload_problems(wl)
    if problems:
        raise WorkloadError(problems, source)
    return wl


def workload_problems(wl: Workload) -> list[Problem]:
    """Every cross-field problem of ``wl`` (see module docstring), one per field."""
    problems: list[Problem] = []
    out_c = {layer.name: layer.shape.out_c for layer in wl.layers}
    for layer in wl.layers:
        n0 = len(problems)
        problems += _graph(layer, out_c)
        problems += _stage_graph(layer)
        problems += _shape(layer)
        if len(problems) == n0:  # stage by stage against the definition of the variant
            problems += _against_definition(layer, wl.activation_bits)
    if not problems:
        problems += _totals(wl)
    return problems


# -- graphs ------------------------------------------------------------------------------------
def _graph(layer: Layer, out_c: dict[str, int]) -> list[Problem]:
    path = f"layers[{layer.name}]"
    problems = []
    seen: set[str] = set()
    for src in layer.inputs:
        if src in seen:
            problems.append(Problem(f"{path}.inputs", src, "listed twice: a layer reads each "
                                    "producer once"))
        seen.add(src)
    srcs = [s for s in dict.fromkeys(layer.inputs) if s in out_c]
    if srcs and not problems:
        given = [out_c[s] for s in srcs]
        if layer.kind == "eltwise":
            bad = [s for s in srcs if out_c[s] != layer.shape.in_c]
            if bad:
                problems.append(Problem(f"{path}.shape.in_c", layer.shape.in_c,
                                        f"an eltwise layer adds tensors of its own channels; "
                                        f"'{bad[0]}' has out_c = {out_c[bad[0]]}"))
        elif sum(given) != layer.shape.in_c:
            what = f"out_c of '{srcs[0]}'" if len(srcs) == 1 else \
                f"the sum of the inputs' out_c ({' + '.join(map(str, given))})"
            problems.append(Problem(f"{path}.shape.in_c", layer.shape.in_c,
                                    f"must be {sum(given)}, {what}"))
    return problems


def _stage_graph(layer: Layer) -> list[Problem]:
    path = f"layers[{layer.name}].stages"
    problems = []
    by_name = {st.name: st for st in layer.stages}
    for i, st in enumerate(layer.stages):
        where = f"{path}[{st.name}]"
        if len(set(st.after)) != len(st.after):
            problems.append(Problem(f"{where}.after", list(st.after), "lists a stage twice"))
        target = st.fuse_into
        if target is not None:
            if target == st.name:
                problems.append(Problem(f"{where}.fuse_into", target,
                                        "a stage cannot fuse into itself"))
            elif target in by_name and by_name[target].fuse_into is not None:
                problems.append(Problem(f"{where}.fuse_into", target,
                                        f"names a stage that is itself fused into "
                                        f"'{by_name[target].fuse_into}' (fuse_into chains and "
                                        "cycles are not allowed)"))
            elif st.reads != target:
                problems.append(Problem(f"{where}.reads", st.reads,
                                        f"must be '{target}': a fused stage adds into the "
                                        "accumulators of the stage it is fused into"))
        if st.writes == HIDDEN and not any(later.reads == st.name or st.name in later.after
                                           for later in layer.stages[i + 1:]):
            problems.append(Problem(f"{where}.writes", st.writes,
                                    f"no later stage reads '{st.name}' (or waits for it): its "
                                    "result would be lost"))
    return problems


# -- shapes ------------------------------------------------------------------------------------
def _shape(layer: Layer) -> list[Problem]:
    sh, path = layer.shape, f"layers[{layer.name}].shape"
    problems = []
    if layer.kind == "eltwise":
        for a, b in (("out_h", "in_h"), ("out_w", "in_w"), ("out_c", "in_c")):
            if getattr(sh, a) != getattr(sh, b):
                problems.append(Problem(f"{path}.{a}", getattr(sh, a),
                                        f"must equal {b} = {getattr(sh, b)}: an eltwise layer "
                                        "keeps the shape of its inputs"))
        return problems
    for out, size, kernel in (("out_h", sh.in_h, sh.kernel_h), ("out_w", sh.in_w, sh.kernel_w)):
        span = size + 2 * sh.padding - kernel
        if span < 0:
            problems.append(Problem(f"{path}.kernel_{out[-1]}", kernel,
                                    f"larger than the padded input ({size} + 2 x "
                                    f"{sh.padding})"))
            continue
        ok = (span // sh.stride + 1, -(-span // sh.stride) + 1)
        if getattr(sh, out) not in ok:
            problems.append(Problem(f"{path}.{out}", getattr(sh, out),
                                    f"must be {ok[0]} = (in + 2*padding - kernel) // stride + 1"
                                    + (f" (or {ok[1]}, rounding up)" if ok[1] != ok[0] else "")))
    if layer.kind == "depthwise" and sh.groups != sh.in_c:
        problems.append(Problem(f"{path}.groups", sh.groups,
                                f"a depthwise layer has groups = in_c = {sh.in_c}"))
    return problems


# -- stages against the definition of the variant -----------------------------------------------
def _against_definition(layer: Layer, act_bits: int) -> list[Problem]:
    path = f"layers[{layer.name}]"
    variant, kind = layer.variant, layer.kind
    if kind == "eltwise":
        odd = [st for st in layer.stages if st.weights or st.role != "eltwise"]
        if variant != "fp" or odd:
            st = odd[0] if odd else layer.stages[0]
            return [Problem(f"{path}.stages[{st.name}].role" if odd else f"{path}.variant",
                            st.role if odd else variant,
                            "an eltwise layer (variant fp) has one 'add' stage of role "
                            "'eltwise' and no weights")]
    if (layer.strassen is not None) != (variant in ("strassen", "hybrid")):
        return [Problem(f"{path}.strassen", "<missing>" if layer.strassen is None else "<given>",
                        "strassen and hybrid layers, and only they, have strassen parameters")]
    problems = _strassen_params(layer)
    if problems:
        return problems
    try:
        expected = _build(layer, act_bits)
    except WorkloadError as exc:
        return list(exc.problems)
    except (ValueError, KeyError, ZeroDivisionError) as exc:  # a combination no builder takes
        return [Problem(f"{path}.kind", kind, f"not a valid {variant} layer ({exc})")]
    if expected is None:
        return [Problem(f"{path}.variant", variant, f"no definition for a {variant} {kind} "
                        "layer")]
    return _compare(layer, expected)


def _strassen_params(layer: Layer) -> list[Problem]:
    sp = layer.strassen
    if sp is None:
        return []
    path = f"layers[{layer.name}].strassen"
    problems = []
    if sp.c_fp + sp.c_rem != layer.shape.out_c:
        problems.append(Problem(f"{path}.c_rem", sp.c_rem,
                                f"c_fp + c_rem must equal out_c = {layer.shape.out_c}"))
    if (sp.c_fp > 0) != (layer.variant == "hybrid"):
        problems.append(Problem(f"{path}.c_fp", sp.c_fp, "a hybrid layer has c_fp > 0, a "
                                "strassen layer c_fp = 0"))
    if sp.c_rem < 1:
        problems.append(Problem(f"{path}.c_rem", sp.c_rem, "must be >= 1"))
    if sp.r_factor is not None and not math.isclose(sp.r_nominal, sp.r_factor * sp.c_rem,
                                                     rel_tol=1e-9):
        problems.append(Problem(f"{path}.r_nominal", sp.r_nominal,
                                f"must be r_factor x c_rem = {sp.r_factor * sp.c_rem:g}"))
    rounded = max(sp.groups, int(round(sp.r_nominal / sp.groups)) * sp.groups)
    if sp.r != rounded and sp.r_nominal != sp.r:
        problems.append(Problem(f"{path}.r", sp.r,
                                f"must be r_nominal = {sp.r_nominal:g} rounded to a multiple "
                                f"of groups ({rounded})"))
    return problems


def _fp_bits(layer: Layer) -> int:
    """Bits of the layer's full-precision parameters (16 unless a tensor says 32)."""
    for st in layer.stages:
        for w in st.weights:
            if w.bits in _FULL_PRECISION_BITS:
                return w.bits
    return 16


def _stage(layer: Layer, name: str) -> Stage | None:
    return next((st for st in layer.stages if st.name == name), None)


def _per_position(st: Stage | None) -> int:
    return st.ops_nonzero // st.m if st is not None and st.m else 0


def _build(layer: Layer, act_bits: int) -> Layer | None:
    """The layer as :mod:`accelsim.workload.build` defines it, from the file's kind, variant,
    shape, parameters and traced counts (None: no definition for the combination)."""
    name, kind, sh, v = layer.name, layer.kind, layer.shape, layer.variant
    fp_bits, inputs = _fp_bits(layer), layer.inputs
    if kind == "eltwise":
        return eltwise_layer(name, sh.out_h, sh.out_w, sh.out_c, inputs, act_bits=act_bits)
    if v == "fp":
        return fp_layer(name, kind, sh, fp_bits=fp_bits, act_bits=act_bits,
                        bias=_stage(layer, "bias") is not None, inputs=inputs)
    if v == "twn":
        return twn_layer(name, kind, sh, weight_nnz=_per_position(_stage(layer, "conv")),
                         act_bits=act_bits, inputs=inputs)
    if v in ("strassen", "hybrid") and layer.strassen is not None:
        p = layer.strassen.patch
        return strassen_layer(name, kind, sh, layer.strassen,
                              wb_nnz=_per_position(_stage(layer, "wb")),
                              wc_nnz=[[0] * p for _ in range(p)], fp_bits=fp_bits,
                              act_bits=act_bits, inputs=inputs)
    if v == "wbin":
        conv = _stage(layer, "conv")
        return wbin_layer(name, kind, sh, unique_kernels=(conv.unique_kernels or 0) if conv
                          else 0, fp_bits=fp_bits, act_bits=act_bits, inputs=inputs)
    if v == "fbin":
        xnor = _stage(layer, "xnor")
        return fbin_layer(name, kind, sh, unique_kernels=(xnor.unique_kernels or 0) if xnor
                          else 0, word_bits=(xnor.word_bits or 64) if xnor else 64,
                          fp_bits=fp_bits, act_bits=act_bits, inputs=inputs)
    return None


def _compare(layer: Layer, expected: Layer) -> list[Problem]:
    path = f"layers[{layer.name}]"
    what = f"for a {layer.variant} {layer.kind} layer of this shape (docs/workload-format.md)"
    problems = []
    for f in fields(Shape):
        got, want = getattr(layer.shape, f.name), getattr(expected.shape, f.name)
        if got != want:
            problems.append(Problem(f"{path}.shape.{f.name}", got, f"must be {want} {what}"))
    names = [st.name for st in layer.stages]
    want_names = [st.name for st in expected.stages]
    if names != want_names:
        return problems + [Problem(f"{path}.stages", names,
                                   f"must be the stages {want_names} {what}")]
    free = _FREE_NONZERO.get(layer.variant, ())
    for st, want in zip(layer.stages, expected.stages):
        where = f"{path}.stages[{st.name}]"
        for f in fields(Stage):
            if f.name in _TRACED or (f.name == "ops_nonzero" and st.name in free) \
                    or (f.name in _OPTIONAL and getattr(st, f.name) is None):
                continue
            got_v, want_v = getattr(st, f.name), getattr(want, f.name)
            if got_v != want_v:
                key = "unit" if f.name == "op" else f.name
                problems.append(Problem(f"{where}.{key}", _plain(got_v),
                                        f"must be {_plain(want_v)!r} {what}"))
        if st.name in _PER_POSITION.get(layer.variant, ()) and st.m and st.ops_nonzero % st.m:
            problems.append(Problem(f"{where}.ops_nonzero", st.ops_nonzero,
                                    f"must be a multiple of m = {st.m} (one addition per "
                                    "non-zero weight per position)"))
    return problems


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: getattr(value, f.name) for f in fields(value)}  # type: ignore[arg-type]
    return value


# -- totals ------------------------------------------------------------------------------------
def _totals(wl: Workload) -> list[Problem]:
    problems = []
    ops = weight_bytes = act_bytes = 0.0
    for layer in wl.layers:
        for st in layer.stages:
            for i, w in enumerate(st.weights):
                if w.nbytes > NUMBER:
                    problems.append(Problem(
                        f"layers[{layer.name}].stages[{st.name}].weights[{i}].count", w.count,
                        f"x {w.bits} bits = {w.nbytes:.3g} bytes, over the limit of "
                        f"{NUMBER:g}"))
            ops += st.ops_dense * max(1.0, st.paper_scale)
            weight_bytes += st.weight_bytes * max(1.0, st.paper_scale)
            act_bytes += st.in_bytes + st.out_bytes
    for what, total in (("operations", ops), ("weight bytes", weight_bytes),
                        ("activation bytes", act_bytes)):
        if total > NUMBER:
            problems.append(Problem("layers", f"{total:.3g} {what}",
                                    f"the workload's total is over the limit of {NUMBER:g} "
                                    "(the models' 64-bit arithmetic)"))
    return problems

