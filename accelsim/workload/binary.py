"""Stages of binary layers: the one definition of what a WeightBinConv and a FullBinConv compute.

Torch-free, like :mod:`accelsim.workload.build`; the tracer (``accelsim.reference``) calls these
with the shapes of the modules it hooks and the repeated kernels of their binary weights.
docs/workload-format.md ("Binary layers") gives the same definitions in prose.

* **WeightBinConv** (``wbin``, BWN: ``y = alpha_o * sum(+-x)``): ``conv`` (``add``: one addition
  or subtraction per weight per output, ``m*n*k``; binary weights have no zeros, so
  ``ops_nonzero = ops_dense``), then ``scale`` (``mul``: one multiplication by the filter's scale
  per output).
* **FullBinConv** (``fbin``, XNOR-Net: ``y = (sign(I) (*) sign(W)) * alpha'_o * K'``):
  ``k_sum`` (``add``: the channel sum of ``|I|``, ``in_c`` additions per input pixel), ``k_box``
  (``add``: the ``kh x kw`` box sum of that map at every output position, zero padded; absent for
  1x1 kernels), ``xnor`` (``xnor``: the binary dot products, ``k`` bits each, ``m*n*k`` bit
  operations and ``m*n*ceil(k/word_bits)`` word operations), ``scale`` (``mul``: two
  multiplications per output, by ``alpha'_o`` then by ``K'``; the integer-to-float conversion of
  the dot product is part of the first). ``alpha'_o = mean|W_o| / (in_c * kh * kw)`` folds
  XNOR-Net's two averages into the filter scale, a layer constant.

Binary layers have no bias (the batch norm in front of them is its own layer) and ``groups = 1``.
"""
from __future__ import annotations

from collections.abc import Sequence

from accelsim.errors import Problem, WorkloadError
from accelsim.workload.schema import HIDDEN, Layer, Shape, Stage, WeightTensor

#: Bits per stored binary weight.
BINARY_BITS = 1
#: Word width of the ``ops_words`` count written by default (64-bit words, as the kernels use).
DEFAULT_WORD_BITS = 64


def word_count(k: int, word_bits: int) -> int:
    """Words holding ``k`` bits packed contiguously: ``ceil(k / word_bits)``."""
    return -(-k // word_bits)


def _act(count: int, act_bits: int) -> int:
    return -(-count * act_bits // 8)


def _geometry(name: str, shape: Shape, unique_kernels: int) -> tuple[int, int, int]:
    if shape.groups != 1:
        raise WorkloadError(Problem(f"layers[{name}].shape.groups", shape.groups,
                                    "binary layers need a dense (groups = 1) convolution"))
    taps = shape.kernel_h * shape.kernel_w
    k = taps * shape.in_c
    if not 0 <= unique_kernels <= shape.out_c * shape.in_c:
        raise WorkloadError(Problem(f"layers[{name}].unique_kernels", unique_kernels,
                                    f"must be in [0, {shape.out_c * shape.in_c}]"))
    return shape.out_h * shape.out_w, k, taps


def wbin_layer(name: str, kind: str, shape: Shape, *, unique_kernels: int, fp_bits: int = 16,
               act_bits: int = 16, inputs: Sequence[str] = ()) -> Layer:
    """A WeightBinConv (BWN) conv or linear layer: stages ``conv`` (add) and ``scale`` (mul).

    ``unique_kernels``: distinct ``kh x kw`` sign patterns per input channel, summed over the
    input channels (at most ``out_c * in_c``). Raises WorkloadError for grouped layers.
    """
    m, k, taps = _geometry(name, shape, unique_kernels)
    n = shape.out_c
    conv = Stage(name="conv", role="wbin", op="add", m=m, n=n, k=k, groups=1,
                 ops_dense=m * n * k, ops_nonzero=m * n * k,
                 weights=(WeightTensor("weight", n * k, BINARY_BITS),), reads="input",
                 writes=HIDDEN, in_bytes=_act(shape.in_h * shape.in_w * shape.in_c, act_bits),
                 out_bytes=_act(m * n, act_bits), kernel_taps=taps,
                 unique_kernels=unique_kernels)
    scale = Stage(name="scale", role="scale", op="mul", m=m, n=n, k=1, groups=1,
                  ops_dense=m * n, ops_nonzero=m * n,
                  weights=(WeightTensor("alpha", n, fp_bits),), reads="conv", writes="output",
                  in_bytes=_act(m * n, act_bits), out_bytes=_act(m * n, act_bits),
                  after=("conv",))
    return Layer(name=name, kind=kind, variant="wbin", shape=shape, stages=(conv, scale),
                 inputs=tuple(inputs))


def fbin_layer(name: str, kind: str, shape: Shape, *, unique_kernels: int,
               word_bits: int = DEFAULT_WORD_BITS, fp_bits: int = 16, act_bits: int = 16,
               inputs: Sequence[str] = ()) -> Layer:
    """A FullBinConv (XNOR-Net) conv or linear layer: stages ``k_sum``, ``k_box`` (kernels
    larger than 1x1), ``xnor`` and ``scale`` (see the module docstring).

    The ``xnor`` stage reads the binarized input (1 bit per value, ``in_bytes``) and writes
    ``act_bits``-bit integer dot products; ``k_sum`` reads the full-precision input.
    Raises WorkloadError for grouped layers or a ``word_bits`` that is not a power of two.
    """
    if word_bits < 1 or word_bits & (word_bits - 1):
        raise WorkloadError(Problem(f"layers[{name}].word_bits", word_bits,
                                    "must be a power of two (bits per packed word)"))
    m, k, taps = _geometry(name, shape, unique_kernels)
    n = shape.out_c
    pixels = shape.in_h * shape.in_w
    stages = [Stage(name="k_sum", role="kmap", op="add", m=pixels, n=1, k=shape.in_c,
                    groups=1, ops_dense=pixels * shape.in_c, ops_nonzero=pixels * shape.in_c,
                    reads="input", writes=HIDDEN,
                    in_bytes=_act(pixels * shape.in_c, act_bits),
                    out_bytes=_act(pixels, act_bits))]
    kmap = "k_sum"
    if taps > 1:
        stages.append(Stage(name="k_box", role="kmap", op="add", m=m, n=1, k=taps, groups=1,
                            ops_dense=m * taps, ops_nonzero=m * taps, reads="k_sum",
                            writes=HIDDEN, in_bytes=_act(pixels, act_bits),
                            out_bytes=_act(m, act_bits), after=("k_sum",)))
        kmap = "k_box"
    stages.append(Stage(name="xnor", role="xnor", op="xnor", m=m, n=n, k=k, groups=1,
                        ops_dense=m * n * k, ops_nonzero=m * n * k,
                        weights=(WeightTensor("weight", n * k, BINARY_BITS),), reads="input",
                        writes=HIDDEN, in_bytes=_act(pixels * shape.in_c, BINARY_BITS),
                        out_bytes=_act(m * n, act_bits), word_bits=word_bits,
                        ops_words=m * n * word_count(k, word_bits), kernel_taps=taps,
                        unique_kernels=unique_kernels))
    stages.append(Stage(name="scale", role="scale", op="mul", m=m, n=n, k=2, groups=1,
                        ops_dense=2 * m * n, ops_nonzero=2 * m * n,
                        weights=(WeightTensor("alpha", n, fp_bits),), reads="xnor",
                        writes="output", in_bytes=_act(m * n, act_bits) + _act(m, act_bits),
                        out_bytes=_act(m * n, act_bits), after=("xnor", kmap)))
    return Layer(name=name, kind=kind, variant="fbin", shape=shape, stages=tuple(stages),
                 inputs=tuple(inputs))
