"""Operation and model-size totals of a workload under an accounting convention.

A convention (:mod:`accelsim.conventions`; docs/accounting.md) is named data: ``actual`` counts
the network as built (integer hidden widths), ``paper`` multiplies every stage's operations and
weights by its ``paper_scale`` (the paper's fractional hidden widths), and others may count batch
norms as multiply-adds, ignore residual additions or keep layers fp. :func:`counted` applies a
convention's structural rules to a workload; :func:`stage_ops` and :func:`stage_weight_bytes`
its scaling. Every op-count model (counts, balance bound, compare, allocate) goes through them.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

from accelsim.choices import Choice
from accelsim.conventions import AccountingConvention, load_convention
from accelsim.errors import InputError, Problem
from accelsim.workload.schema import Layer, Stage, WeightTensor, Workload


class Convention(Choice):
    """The bundled conventions every table of the paper needs (any name of
    :func:`accelsim.conventions.bundled` or a convention file is accepted where a convention
    is): ``actual`` (the network as built), ``paper`` (the paper's fractional hidden widths),
    ``hbn2018`` (the per-layer binary-network accounting of :mod:`accelsim.hbn`, which the
    operation counts here do not apply)."""

    ACTUAL = "actual"
    PAPER = "paper"
    HBN2018 = "hbn2018"  #: Chakraborty et al.'s binary accounting (accelsim.hbn)


#: Layer kinds whose bias stage stands for a folded batch norm (an FC's bias is a bias).
BN_KINDS = ("conv", "depthwise")
#: A convention given by name, path or value.
ConventionLike = str | AccountingConvention


@dataclass(frozen=True)
class Counts:
    """Operations by class (``mac``, ``add``, ``mul``...) and stored model size in bytes.

    Counts are floats only under a convention with fractional hidden widths."""

    name: str
    ops: Mapping[str, float]
    model_size_bytes: float

    @property
    def macs(self) -> float:
        return self.ops.get("mac", 0)

    @property
    def adds(self) -> float:
        return self.ops.get("add", 0)

    @property
    def muls(self) -> float:
        return self.ops.get("mul", 0)

    @property
    def model_size_kb(self) -> float:
        return self.model_size_bytes / 1024


def resolve(convention: ConventionLike) -> AccountingConvention:
    """The convention named (or given); raises :class:`InputError` for an unknown name, a bad
    file, or one whose method is not operation counting (``hbn2018``)."""
    conv = load_convention(convention)
    if conv.method != "ops":
        raise InputError(Problem("--convention", conv.name, f"method {conv.method} counts "
                                 "per-layer parameters and FLOPs, not operation classes; use "
                                 "accelsim counts or accelsim paper --table " + conv.name))
    return conv


def stage_ops(stage: Stage, *, zero_skip: bool = False,
              convention: ConventionLike = Convention.ACTUAL) -> float:
    """Operations of ``stage`` (non-zero ones with ``zero_skip``) under ``convention``."""
    n = stage.ops(zero_skip)
    return n * stage.paper_scale if resolve(convention).fractional_hidden else n


def stage_weight_bytes(stage: Stage, convention: ConventionLike = Convention.ACTUAL) -> float:
    """Stored bytes of ``stage``'s weights under ``convention``."""
    if resolve(convention).fractional_hidden:
        return sum(w.count * w.bits for w in stage.weights) * stage.paper_scale / 8
    return stage.weight_bytes


def counted(wl: Workload, convention: ConventionLike = Convention.ACTUAL) -> Workload:
    """``wl`` as ``convention`` counts it: bias stages of conv and depthwise layers (folded batch
    norms) per its ``bn`` rule, residual-add layers
    per ``eltwise``, ``keep_fp`` layers replaced by the fp16 conv / FC of their shape, stored
    values re-sized by ``fp_bytes`` (docs/accounting.md). ``wl`` itself when no rule changes a
    stage (``actual``, ``paper``). Only for counting: the result is not a workload to map."""
    conv = resolve(convention)
    if not conv.structural:
        return wl
    layers = []
    for layer in wl.layers:
        if layer.kind == "eltwise" and conv.eltwise == "ignored":
            continue
        if layer.variant != "fp" and any(fnmatchcase(layer.name, p) for p in conv.keep_fp):
            layer = _fp_layer(layer, wl.activation_bits)
        stages = []
        for st in layer.stages:
            if st.role == "bias" and conv.bn != "folded" and layer.kind in BN_KINDS:
                if conv.bn == "ignored":
                    continue
                st = replace(st, op="mac", fuse_into=None, weights=tuple(
                    WeightTensor(w.name, 2 * w.count, w.bits) for w in st.weights))
            if conv.fp_bytes is not None:
                st = replace(st, weights=tuple(
                    WeightTensor(w.name, w.count, 8 * conv.fp_bytes) if w.bits > 2 else w
                    for w in st.weights))
            stages.append(st)
        layers.append(replace(layer, stages=tuple(stages)))
    return replace(wl, layers=tuple(layers))


def _fp_layer(layer: Layer, default_bits: int) -> Layer:
    """The plain full-precision layer of ``layer``'s shape: one conv (MACs) and, if the layer
    has biases, one bias stage; values as wide as the layer's widest stored value."""
    sh = layer.shape
    bits = max((w.bits for st in layer.stages for w in st.weights if w.bits > 2),
               default=default_bits)
    m, n = sh.out_h * sh.out_w, sh.out_c
    k = sh.kernel_h * sh.kernel_w * sh.in_c // sh.groups
    role = "depthwise" if layer.kind == "depthwise" else "conv"
    stages = [Stage("conv", role, "mac", m, n, k, sh.groups, m * n * k, m * n * k,
                    (WeightTensor("weight", n * k, bits),))]
    if any(st.role == "bias" for st in layer.stages):
        stages.append(Stage("bias", "bias", "add", m, n, 1, 1, m * n, m * n,
                            (WeightTensor("bias", n, bits),), reads="conv", after=("conv",),
                            fuse_into="conv"))
    return replace(layer, variant="fp", stages=tuple(stages), strassen=None)


def layer_counts(layer: Layer, *, zero_skip: bool = False,
                 convention: ConventionLike = Convention.ACTUAL) -> Counts:
    """Totals of one layer, as it stands (apply :func:`counted` to its workload first for a
    convention's structural rules)."""
    ops: dict[str, float] = {}
    size = 0.0
    for st in layer.stages:
        ops[st.op] = ops.get(st.op, 0) + stage_ops(st, zero_skip=zero_skip,
                                                        convention=convention)
        size += stage_weight_bytes(st, convention)
    return Counts(layer.name, ops, size)


def workload_counts(wl: Workload, *, zero_skip: bool = False,
                    convention: ConventionLike = Convention.ACTUAL) -> Counts:
    """Totals over the network (``macs``, ``muls``, ``adds``, ``model_size_bytes``)."""
    ops: dict[str, float] = {}
    size = 0.0
    for layer in counted(wl, convention).layers:
        c = layer_counts(layer, zero_skip=zero_skip, convention=convention)
        for k, v in c.ops.items():
            ops[k] = ops.get(k, 0) + v
        size += c.model_size_bytes
    return Counts(wl.name, ops, size)


def counts_table(wl: Workload, *, zero_skip: bool = False,
                 convention: ConventionLike = Convention.ACTUAL) -> dict:
    """Plain-data totals and per-layer rows (what ``accelsim counts --json`` prints)."""
    conv = resolve(convention)
    total = workload_counts(wl, zero_skip=zero_skip, convention=conv)
    rows = []
    for layer in counted(wl, conv).layers:
        c = layer_counts(layer, zero_skip=zero_skip, convention=conv)
        rows.append({"name": layer.name, "kind": layer.kind, "variant": layer.variant,
                     "macs": c.macs, "muls": c.muls, "adds": c.adds,
                     "adds_nonzero": layer_counts(layer, zero_skip=True, convention=conv).adds,
                     "model_size_bytes": c.model_size_bytes})
    return {"workload": wl.name, "convention": conv.name, "zero_skip": zero_skip,
            "totals": {"macs": total.macs, "muls": total.muls, "adds": total.adds,
                       "model_size_bytes": total.model_size_bytes,
                       "model_size_kb": total.model_size_kb,
                       "ops": dict(total.ops)},
            "layers": rows}
