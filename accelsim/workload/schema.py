"""The workload schema: what a network asks of any accelerator, and nothing about hardware.

A :class:`Workload` is an ordered tuple of :class:`Layer` s. Each layer is split into
:class:`Stage` s, the unit of work the mapping tiles and the engine schedules: an fp16
convolution, a ternary W_b convolution, the ã multiplication, a W_c convolution, a bias add...
Every stage is described as a (grouped) matrix product of ``m`` output positions by ``n`` output
channels with ``k`` terms per output, so that ``ops_dense == m * n * k`` operations of class
``op`` (``"mac"``, ``"add"``, ``"mul"``, ``"xnor"``; an open set; the field ``unit`` of the
file). ``ops_nonzero`` is the count when zero ternary weights are skipped (equal to
``ops_dense`` for full-precision and binary stages). An ``"xnor"`` stage is a binary dot product
on bit-packed words: ``k`` is the bits per dot product, ``ops_dense`` counts bit operations and
``ops_words`` the ``word_bits``-bit word operations, ``m * n * ceil(k / word_bits)``
(docs/workload-format.md).

The JSON form is documented in ``docs/workload-format.md``; :mod:`accelsim.workload.load` reads
and writes it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

SCHEMA = "accelsim.workload"
SCHEMA_VERSION = 1

#: Layer kinds the reference model emits. Other tools may emit others; the engine only needs stages.
LAYER_KINDS = ("conv", "depthwise", "linear", "eltwise")
#: How a layer's weights are represented.
VARIANTS = ("fp", "twn", "strassen", "hybrid", "wbin", "fbin")
#: Where a stage reads from / writes to (besides another stage's output, named by stage name).
LAYER_INPUT = "input"
LAYER_OUTPUT = "output"
HIDDEN = "hidden"


@dataclass(frozen=True)
class WeightTensor:
    """A stored parameter tensor: ``count`` values of ``bits`` bits each (2 for ternary)."""

    name: str
    count: int
    bits: int

    @property
    def nbytes(self) -> int:
        """Bytes when packed densely (ternary values 4 per byte), rounded up."""
        return -(-self.count * self.bits // 8)


@dataclass(frozen=True)
class Stage:
    """One unit of work of a layer, shaped as a grouped matrix product.

    ``m`` output positions x ``n`` output channels, ``k`` reduction terms per output (per group),
    ``groups`` block-diagonal groups (``n % groups == 0``). ``ops_dense = m*n*k`` operations of
    class ``op`` (the workload file calls this field ``unit``; the hardware config routes each
    operation class to a unit class). ``reads`` is ``"input"`` (the layer's input tensor) or
    the name of an earlier
    stage; ``writes`` is ``"output"`` or ``"hidden"`` (an intermediate buffer, e.g. between W_b and
    W_c). ``in_bytes``/``out_bytes`` are the activation bytes read and written once.
    ``after`` lists stages that must finish first (same layer). ``fuse_into`` names a stage whose
    units may perform this one for free (a bias preloaded into MAC accumulators).
    ``paper_scale`` rescales op and weight counts to the paper's nominal, possibly fractional,
    hidden width (see docs/accounting.md); it is 1.0 except for strassen stages of a layer whose
    ``r_factor * c_rem`` is not an integer.

    Binary stages (docs/workload-format.md, "Binary layers"): ``word_bits`` and ``ops_words``
    (``xnor`` stages only) give the word operations ``m * n * ceil(k / word_bits)`` for the word
    width the trace was recorded with; ``kernel_taps`` (``kh * kw``) and ``unique_kernels`` (the
    number of distinct ``kh x kw`` sign patterns per input channel, summed over input channels)
    describe the repeated binary kernels of a binary-weight stage. All four are ``None`` elsewhere.
    ``ops_nonzero_per_channel`` (ternary stages of traced networks) splits ``ops_nonzero`` by
    output channel (``n`` entries summing to it): what each channel's sums skip, for arrays
    whose lanes wait for their slowest member. Empty when unknown.
    """

    name: str
    role: str
    op: str
    m: int
    n: int
    k: int
    groups: int
    ops_dense: int
    ops_nonzero: int
    weights: tuple[WeightTensor, ...] = ()
    reads: str = LAYER_INPUT
    writes: str = LAYER_OUTPUT
    in_bytes: int = 0
    out_bytes: int = 0
    after: tuple[str, ...] = ()
    fuse_into: str | None = None
    paper_scale: float = 1.0
    word_bits: int | None = None
    ops_words: int | None = None
    kernel_taps: int | None = None
    unique_kernels: int | None = None
    ops_nonzero_per_channel: tuple[int, ...] = ()

    @property
    def weight_bytes(self) -> int:
        return sum(w.nbytes for w in self.weights)

    def weight_bytes_by_bits(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for w in self.weights:
            out[w.bits] = out.get(w.bits, 0) + w.nbytes
        return out

    def ops(self, zero_skip: bool = False) -> int:
        return self.ops_nonzero if zero_skip else self.ops_dense

    def word_ops(self, word_bits: int) -> int:
        """Word operations of a binary (``xnor``) stage on ``word_bits``-bit words:
        ``m * n * ceil(k / word_bits)`` (each dot product's ``k`` bits packed contiguously, the
        last word partly filled). ``word_bits`` must be a power of two (ValueError otherwise)."""
        if word_bits < 1 or word_bits & (word_bits - 1):
            raise ValueError(f"word_bits must be a power of two, not {word_bits}")
        return self.m * self.n * -(-self.k // word_bits)


@dataclass(frozen=True)
class Shape:
    """Tensor geometry of a layer (PyTorch conventions; linear layers use h = w = 1)."""

    in_h: int
    in_w: int
    in_c: int
    out_h: int
    out_w: int
    out_c: int
    kernel_h: int = 1
    kernel_w: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1


@dataclass(frozen=True)
class StrassenParams:
    """Parameters of a strassenified (or hybrid) layer.

    ``c_fp`` output channels come from fp16 filters, ``c_rem`` from the strassenified branch with
    ``r`` hidden channels (``r_nominal = r_factor * c_rem`` before rounding to an integer),
    patch ``patch`` (W_c is a patch x patch transposed conv) and ``groups`` groups in W_b.
    """

    alpha: float
    c_fp: int
    c_rem: int
    r: int
    r_nominal: float
    r_factor: float | None
    patch: int = 1
    groups: int = 1


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str
    variant: str
    shape: Shape
    stages: tuple[Stage, ...]
    inputs: tuple[str, ...] = ()
    strassen: StrassenParams | None = None

    @property
    def input_bytes(self) -> int:
        return max((s.in_bytes for s in self.stages if s.reads == LAYER_INPUT), default=0)

    @property
    def output_bytes(self) -> int:
        return sum(s.out_bytes for s in self.stages if s.writes == LAYER_OUTPUT)

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)


@dataclass(frozen=True)
class Workload:
    """A network as a sequence of layers, plus where it came from."""

    name: str
    layers: tuple[Layer, ...]
    activation_bits: int = 16
    provenance: Mapping[str, object] = field(default_factory=dict)
    description: str = ""

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    @property
    def ops(self) -> frozenset[str]:
        """Operation classes the workload needs (``mac``, ``add``, ``mul``, ...)."""
        return frozenset(s.op for layer in self.layers for s in layer.stages)

    @property
    def num_stages(self) -> int:
        return sum(len(layer.stages) for layer in self.layers)
