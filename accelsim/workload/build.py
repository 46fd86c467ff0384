"""Build :class:`Layer` s from layer geometry: the one definition of what each variant computes.

The PyTorch tracer (``accelsim.reference.trace``) calls these with the shapes of the modules it
hooks and the non-zero counts of their quantized weights; the SCALE-Sim importer calls
:func:`fp_layer`. Nothing here imports torch.

Conventions (docs/accounting.md, after Gope et al.):
* an n-term sum is n additions; every output element of a conv/linear layer gets one bias add
  (stage ``bias``), except in TWN layers, whose ternary biases are folded (no bias stage);
* a strassenified layer is W_b (ternary conv into ``r`` hidden channels, kernel (p-1)*s+k,
  stride p*s, ``groups`` groups) -> ã (``r`` multiplications per hidden position) -> W_c (ternary
  p x p transposed conv into ``c_rem`` channels) -> bias; a hybrid layer adds an fp16 branch of
  ``c_fp`` channels on the MAC units;
* zero-skipping counts: a ternary stage performs one addition per non-zero weight per position.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from accelsim.errors import Problem, WorkloadError
from accelsim.workload.schema import HIDDEN, Layer, Shape, Stage, StrassenParams, WeightTensor

TERNARY_BITS = 2


def conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output size of a convolution (PyTorch floor convention)."""
    return (size + 2 * padding - kernel) // stride + 1


def _act(count: int, act_bits: int) -> int:
    return -(-count * act_bits // 8)


def _bias(name: str, m: int, n: int, bits: int, source: str, fuse: str | None) -> Stage:
    return Stage(name=name, role="bias", op="add", m=m, n=n, k=1, groups=1, ops_dense=m * n,
                 ops_nonzero=m * n, weights=(WeightTensor("bias", n, bits),), reads=source,
                 writes="output", in_bytes=0, out_bytes=0, after=(source,), fuse_into=fuse)


def fp_layer(name: str, kind: str, shape: Shape, *, fp_bits: int = 16, act_bits: int = 16,
             bias: bool = True, inputs: Sequence[str] = ()) -> Layer:
    """A full-precision conv / depthwise / linear layer on MAC units (+ its bias add)."""
    m = shape.out_h * shape.out_w
    k = shape.kernel_h * shape.kernel_w * shape.in_c // shape.groups
    role = {"conv": "conv", "depthwise": "depthwise", "linear": "linear"}[kind]
    main = Stage(name="conv", role=role, op="mac", m=m, n=shape.out_c, k=k,
                 groups=shape.groups, ops_dense=m * shape.out_c * k,
                 ops_nonzero=m * shape.out_c * k,
                 weights=(WeightTensor("weight", shape.out_c * k, fp_bits),), reads="input",
                 writes="output", in_bytes=_act(shape.in_h * shape.in_w * shape.in_c, act_bits),
                 out_bytes=_act(m * shape.out_c, act_bits))
    stages = (main, _bias("bias", m, shape.out_c, fp_bits, "conv", "conv")) if bias else (main,)
    return Layer(name=name, kind=kind, variant="fp", shape=shape, stages=stages,
                 inputs=tuple(inputs))


def twn_layer(name: str, kind: str, shape: Shape, *, weight_nnz: int, act_bits: int = 16,
              inputs: Sequence[str] = (), channel_nnz: Sequence[int] | None = None) -> Layer:
    """A TWN layer: every MAC becomes one addition; ternary, folded biases (paper convention).
    ``channel_nnz``: non-zero weights of each output channel's filter (optional)."""
    m = shape.out_h * shape.out_w
    k = shape.kernel_h * shape.kernel_w * shape.in_c // shape.groups
    count = shape.out_c * k
    _check_nnz(name, "weight_nnz", weight_nnz, count)
    st = Stage(name="conv", role="ternary", op="add", m=m, n=shape.out_c, k=k,
               groups=shape.groups, ops_dense=m * count, ops_nonzero=m * weight_nnz,
               ops_nonzero_per_channel=_per_channel(name, "channel_nnz", channel_nnz,
                                                    shape.out_c, weight_nnz, m),
               weights=(WeightTensor("weight", count, TERNARY_BITS),
                        WeightTensor("bias", shape.out_c, TERNARY_BITS)),
               reads="input", writes="output",
               in_bytes=_act(shape.in_h * shape.in_w * shape.in_c, act_bits),
               out_bytes=_act(m * shape.out_c, act_bits))
    return Layer(name=name, kind=kind, variant="twn", shape=shape, stages=(st,),
                 inputs=tuple(inputs))


def strassen_layer(name: str, kind: str, shape: Shape, params: StrassenParams, *,
                   wb_nnz: int, wc_nnz: Sequence[Sequence[int]], fp_bits: int = 16,
                   act_bits: int = 16, inputs: Sequence[str] = (),
                   wb_channel_nnz: Sequence[int] | None = None,
                   wc_channel_nnz: Sequence[Sequence[Sequence[int]]] | None = None) -> Layer:
    """A strassenified (``c_fp == 0``) or hybrid filter bank layer.

    ``wb_nnz`` is the number of non-zero entries of W_b (shape r x in_c/g x kb x kb);
    ``wc_nnz[i][j]`` the non-zero entries of W_c[:, :, i, j] (shape c_rem x r for each of the
    p x p kernel offsets). Output positions whose offset is (y % p, x % p) use slice (i, j).
    Optional, per channel: ``wb_channel_nnz[c]`` for each hidden channel of W_b and
    ``wc_channel_nnz[c][i][j]`` for each output channel of W_c.
    """
    p, g, r = params.patch, params.groups, params.r
    if shape.groups != 1:
        raise WorkloadError(Problem(f"layers[{name}].shape.groups", shape.groups,
                                    "strassenified layers need a dense (groups = 1) convolution"))
    if params.c_fp + params.c_rem != shape.out_c:
        raise WorkloadError(Problem(f"layers[{name}].strassen.c_rem", params.c_rem,
                                    f"c_fp + c_rem must equal out_c = {shape.out_c}"))
    if shape.in_c % g or r % g:
        raise WorkloadError(Problem(f"layers[{name}].strassen.groups", g,
                                    f"must divide in_c = {shape.in_c} and r = {r}"))
    m = shape.out_h * shape.out_w
    hidden_h, hidden_w = math.ceil(shape.out_h / p), math.ceil(shape.out_w / p)
    mh = hidden_h * hidden_w
    kb_h = (p - 1) * shape.stride + shape.kernel_h
    kb_w = (p - 1) * shape.stride + shape.kernel_w
    kb_terms = kb_h * kb_w * shape.in_c // g
    scale = params.r_nominal / r
    in_bytes = _act(shape.in_h * shape.in_w * shape.in_c, act_bits)
    stages: list[Stage] = []
    if params.c_fp:
        k = shape.kernel_h * shape.kernel_w * shape.in_c
        stages.append(Stage(name="fp", role="conv" if kind != "linear" else "linear", op="mac",
                            m=m, n=params.c_fp, k=k, groups=1, ops_dense=m * params.c_fp * k,
                            ops_nonzero=m * params.c_fp * k,
                            weights=(WeightTensor("weight", params.c_fp * k, fp_bits),),
                            reads="input", writes="output", in_bytes=in_bytes,
                            out_bytes=_act(m * params.c_fp, act_bits)))
        stages.append(_bias("fp_bias", m, params.c_fp, fp_bits, "fp", "fp"))
    _check_nnz(name, "wb_nnz", wb_nnz, r * kb_terms)
    stages.append(Stage(name="wb", role="wb", op="add", m=mh, n=r, k=kb_terms, groups=g,
                        ops_dense=mh * r * kb_terms, ops_nonzero=mh * wb_nnz,
                        ops_nonzero_per_channel=_per_channel(name, "wb_channel_nnz",
                                                             wb_channel_nnz, r, wb_nnz, mh),
                        weights=(WeightTensor("wb", r * kb_terms, TERNARY_BITS),),
                        reads="input", writes=HIDDEN, in_bytes=in_bytes,
                        out_bytes=_act(mh * r, act_bits), paper_scale=scale))
    stages.append(Stage(name="a_mul", role="a_mul", op="mul", m=mh, n=r, k=1, groups=1,
                        ops_dense=mh * r, ops_nonzero=mh * r,
                        weights=(WeightTensor("a", r, fp_bits),), reads="wb", writes=HIDDEN,
                        in_bytes=_act(mh * r, act_bits), out_bytes=_act(mh * r, act_bits),
                        after=("wb",), paper_scale=scale))
    wc_nonzero = _wc_nonzero(name, wc_nnz, p, shape.out_h, shape.out_w, params.c_rem * r)
    wc_channels: tuple[int, ...] = ()
    if wc_channel_nnz is not None:
        wc_channels = tuple(_wc_nonzero(name, c, p, shape.out_h, shape.out_w, r)
                            for c in wc_channel_nnz)
        if len(wc_channels) != params.c_rem or sum(wc_channels) != wc_nonzero:
            raise WorkloadError(Problem(f"layers[{name}].wc_channel_nnz",
                                        f"{len(wc_channels)} channels",
                                        f"must be one p x p count per channel of W_c "
                                        f"({params.c_rem}) adding up to wc_nnz"))
    stages.append(Stage(name="wc", role="wc", op="add", m=m, n=params.c_rem, k=r, groups=1,
                        ops_dense=m * params.c_rem * r, ops_nonzero=wc_nonzero,
                        ops_nonzero_per_channel=wc_channels,
                        weights=(WeightTensor("wc", params.c_rem * r * p * p, TERNARY_BITS),),
                        reads="a_mul", writes="output", in_bytes=_act(mh * r, act_bits),
                        out_bytes=_act(m * params.c_rem, act_bits), after=("a_mul",),
                        paper_scale=scale))
    stages.append(_bias("st_bias", m, params.c_rem, fp_bits, "wc", None))
    variant = "hybrid" if params.c_fp else "strassen"
    return Layer(name=name, kind=kind, variant=variant, shape=shape, stages=tuple(stages),
                 inputs=tuple(inputs), strassen=params)


def eltwise_layer(name: str, h: int, w: int, c: int, inputs: Sequence[str], *,
                  act_bits: int = 16) -> Layer:
    """An elementwise addition of ``len(inputs)`` tensors (a residual add): one add per element
    per extra operand."""
    extra = max(len(inputs) - 1, 1)
    m = h * w
    st = Stage(name="add", role="eltwise", op="add", m=m, n=c, k=extra, groups=1,
               ops_dense=m * c * extra, ops_nonzero=m * c * extra, reads="input",
               writes="output", in_bytes=_act((extra + 1) * m * c, act_bits),
               out_bytes=_act(m * c, act_bits))
    shape = Shape(in_h=h, in_w=w, in_c=c, out_h=h, out_w=w, out_c=c)
    return Layer(name=name, kind="eltwise", variant="fp", shape=shape, stages=(st,),
                 inputs=tuple(inputs))


def strassen_params(out_c: int, *, alpha: float, r_factor: float | None = None,
                    r: int | None = None, patch: int = 1, groups: int = 1) -> StrassenParams:
    """Split ``out_c`` into fp16 and strassenified channels and size the hidden layer.

    ``c_fp = floor(alpha * out_c)``; ``r_nominal = r_factor * c_rem`` (the paper's, possibly
    fractional, width) and ``r = round(r_nominal)`` rounded up to a multiple of ``groups``, unless
    ``r`` is given explicitly (then ``r_nominal = r``).
    """
    c_fp = int(math.floor(alpha * out_c + 1e-9))
    c_rem = out_c - c_fp
    if r is None:
        if r_factor is None:
            raise ValueError("give r_factor or r")
        r_nominal = r_factor * c_rem
        r = max(groups, int(round(r_nominal / groups)) * groups)
    else:
        r_nominal = float(r)
    return StrassenParams(alpha=alpha, c_fp=c_fp, c_rem=c_rem, r=r, r_nominal=r_nominal,
                          r_factor=r_factor, patch=patch, groups=groups)


def _wc_nonzero(name: str, wc_nnz: Sequence[Sequence[int]], p: int, out_h: int, out_w: int,
                slice_size: int) -> int:
    if len(wc_nnz) != p or any(len(row) != p for row in wc_nnz):
        raise WorkloadError(Problem(f"layers[{name}].wc_nnz", wc_nnz, f"must be {p} x {p}"))
    total = 0
    for i in range(p):
        rows = len(range(i, out_h, p))
        for j in range(p):
            _check_nnz(name, f"wc_nnz[{i}][{j}]", wc_nnz[i][j], slice_size)
            total += rows * len(range(j, out_w, p)) * wc_nnz[i][j]
    return total


def _per_channel(name: str, field: str, nnz: Sequence[int] | None, n: int, total: int,
                 positions: int) -> tuple[int, ...]:
    """Per-channel non-zero operations (``positions`` x each channel's non-zero weights)."""
    if nnz is None:
        return ()
    if len(nnz) != n or sum(nnz) != total:
        raise WorkloadError(Problem(f"layers[{name}].{field}", f"{len(nnz)} channels",
                                    f"must have {n} entries adding up to {total}"))
    return tuple(positions * int(c) for c in nnz)


def _check_nnz(name: str, field: str, value: int, size: int) -> None:
    if not 0 <= value <= size:
        raise WorkloadError(Problem(f"layers[{name}].{field}", value, f"must be in [0, {size}]"))
