"""``accelsim verify``: run a reference network layer by layer on the numba kernels.

One seeded forward pass of the torch reference model (the same model, input and seed as its
trace) captures every layer's input and output; each layer is then recomputed by the kernels
from the same input and the same quantized weights, with the dense datapath and with
zero-skipping, in float32 and in float64. A layer passes when

* both float32 outputs are within the float32 rounding bound of the module's output,
* both float64 outputs are within the float64 rounding bound of a float64 evaluation of the
  layer's arrays (tight enough that any wrong term shows), and
* the operations the kernels counted equal the workload's ``ops_dense`` / ``ops_nonzero`` for
  every stage (residual additions: their sum is checked against torch's, and their counts).

The bounds are derived in docs/kernels.md.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from accelsim.errors import InputError, Problem
from accelsim.reference import entry
from accelsim.reference.spec import ModelSpec, require_torch
from accelsim.verify.report import LayerCheck, StageCheck, VerifyReport
from accelsim.workload import load_workload
from accelsim.workload.schema import Layer, Workload


def verify(target: Any, *, on_layer: Callable[[LayerCheck], None] | None = None
           ) -> VerifyReport:
    """Verify a network: ``target`` is a :class:`~accelsim.reference.ModelSpec` (its trace is
    the expected workload), a :class:`Workload` traced by :mod:`accelsim.reference`, or the path
    of such a workload file. A trained workload (provenance ``checkpoint``) is verified with
    the weights of its checkpoint, resolved against the workload file's folder. ``on_layer`` is
    called with each :class:`LayerCheck` as it is done.

    Raises :class:`~accelsim.reference.TorchMissingError` without torch and
    :class:`~accelsim.errors.InputError` for a bad spec or file or a workload the reference
    model did not write. Mismatches are not raised: see :attr:`VerifyReport.ok`.
    """
    require_torch()
    if isinstance(target, ModelSpec):
        spec, source = target, "model options"
        expected = entry.trace(spec)
    else:
        if isinstance(target, Workload):
            expected, source = target, "<workload>"
        elif isinstance(target, (str, Path)):
            expected, source = load_workload(target), str(target)
        else:
            raise InputError(Problem("target", type(target).__name__,
                                     "must be a ModelSpec, a Workload or a workload file path"))
        try:
            spec = ModelSpec.from_provenance(expected.provenance)
        except InputError as exc:
            raise exc.with_source(source) from None
        # a trained workload: verify the trained weights of its checkpoint
        from accelsim.reference.trained import checkpoint_of, model_for  # imports torch
        base = Path(target).parent if isinstance(target, (str, Path)) else Path(".")
        path = checkpoint_of(expected.provenance, base, source)
        if path is not None:
            return _verify(spec, expected, source, on_layer, model_for(spec, path, source))
    return _verify(spec, expected, source, on_layer)


def _verify(spec: ModelSpec, expected: Workload, source: str,
            on_layer: Callable[[LayerCheck], None] | None, model: Any = None) -> VerifyReport:
    from accelsim.reference import capture as torch_side  # imports torch
    from accelsim.reference.trace import layer_arrays  # imports torch

    start = time.perf_counter()
    named, captured = torch_side.capture_model(spec, model)
    expected_layers = {layer.name: layer for layer in expected.layers}
    model_names = [name for name, _ in named]
    problems = [f"layer {name}: in the workload but not in the reference model"
                for name in expected_layers if name not in model_names]
    problems += [f"layer {name}: in the reference model but not in the workload"
                 for name in model_names if name not in expected_layers]
    checks = []
    for name, module in named:
        if name not in expected_layers:
            continue
        inputs, out_t = captured[name]
        check = check_layer(name, layer_arrays(module), inputs, out_t,
                            expected_layers[name], torch_side)
        checks.append(check)
        if on_layer is not None:
            on_layer(check)
    return VerifyReport(workload=expected.name, source=source, spec=spec.to_dict(),
                        layers=tuple(checks), problems=tuple(problems),
                        seconds=time.perf_counter() - start)


def check_layer(name: str, arrays: dict[str, Any], inputs: tuple[np.ndarray, ...],
                out_t: np.ndarray, expected: Layer, torch_side: Any) -> LayerCheck:
    """Check one layer (see the module docstring). ``torch_side`` is
    :mod:`accelsim.reference.capture` (``tolerance`` and ``evaluate``)."""
    from accelsim.verify.layers import eltwise, run_layer  # imports numba (~0.6 s)

    start = time.perf_counter()
    kind = arrays["kind"]
    problems: list[str] = []
    if kind == "eltwise":
        out_k, counts = eltwise(inputs)
        runs32 = {"dense": (out_k, counts), "zero-skip": (out_k, counts)}
        tol = 2 * torch_side.U32 * (len(inputs) - 1) * sum(np.abs(a).astype(np.float64)
                                                            for a in inputs)
        ratio64 = 0.0
    else:
        x = inputs[0]
        runs32 = {label: run_layer(arrays, x, zero_skip=zs)
                  for label, zs in (("dense", False), ("zero-skip", True))}
        tol = torch_side.tolerance(arrays, x)
        exact = torch_side.evaluate(arrays, x)
        tol64 = torch_side.tolerance(arrays, x, torch_side.U64)
        ratio64 = 0.0
        for label, zs in (("dense", False), ("zero-skip", True)):
            out64, _ = run_layer(arrays, x, zero_skip=zs, dtype="float64")
            r = _ratio(out64, exact, tol64, f"float64 {label}", "its float64 evaluation",
                       problems)[1]
            ratio64 = max(ratio64, r)
    abs_err = ratio = 0.0
    for label, (out_k, _) in runs32.items():
        err, r = _ratio(out_k, out_t, tol, label, "torch", problems)
        abs_err, ratio = max(abs_err, err), max(ratio, r)
    scale = float(np.abs(out_t).max())
    stages = _stage_checks(expected, runs32["dense"][1], runs32["zero-skip"][1], problems)
    exact = None
    if kind in ("fbin_conv", "fbin_linear"):
        exact = _dots_exact(arrays, inputs[0], torch_side, problems)
    return LayerCheck(name=name, kind=kind, out_shape=tuple(out_t.shape), max_abs_err=abs_err,
                      max_rel_err=abs_err / scale if scale > 0 else abs_err, bound_ratio=ratio,
                      bound_ratio_fp64=ratio64, stages=stages, problems=tuple(problems),
                      seconds=time.perf_counter() - start, dots_exact=exact)


def _dots_exact(arrays: dict[str, Any], x: np.ndarray, torch_side: Any,
                problems: list[str]) -> bool:
    """Whether the xnor-popcount kernel's dot products equal torch's ±1 convolution exactly."""
    from accelsim.verify.layers import binary_dots

    got = binary_dots(arrays, x)
    want = torch_side.binary_dots(arrays, x)
    if got.shape == want.shape and np.array_equal(got, want):
        return True
    diff = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("inf")
    problems.append(f"binary dot products differ from torch's by up to {diff:g} (must be "
                    "equal)")
    return False


def _ratio(got: np.ndarray, ref: np.ndarray, tol: np.ndarray, label: str, against: str,
           problems: list[str]) -> tuple[float, float]:
    """(max |got - ref|, max |got - ref| / tol); appends a problem when the ratio exceeds 1."""
    if got.shape != ref.shape:
        problems.append(f"{label} output shape {got.shape} != {against}'s {ref.shape}")
        return float("inf"), float("inf")
    err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    ratio = float(np.max(err / np.maximum(tol, np.finfo(np.float64).tiny)))
    if ratio > 1.0:
        problems.append(f"{label} output differs from {against} by up to {err.max():.3g} "
                        f"({ratio:.3g} x the rounding bound)")
    return float(err.max()), ratio


def _stage_checks(expected: Layer, dense: Any, skip: Any, problems: list[str]
                  ) -> tuple[StageCheck, ...]:
    checks = []
    counted = {name for name, _ in dense.stages}
    for st in expected.stages:
        if st.name not in counted:
            problems.append(f"stage {st.name}: in the workload, but the kernels perform no "
                            f"such stage")
            continue
        # binary stages: the kernels use 64-bit words, m*n*ceil(k/64) whatever the trace's width
        words = dense.stage(st.name).words if st.word_bits is not None else None
        check = StageCheck(stage=st.name, unit=st.op, dense_expected=st.ops_dense,
                           dense_counted=dense.stage(st.name).of_unit(st.op),
                           nonzero_expected=st.ops_nonzero,
                           nonzero_counted=skip.stage(st.name).of_unit(st.op),
                           words_expected=None if words is None else st.word_ops(64),
                           words_counted=words)
        checks.append(check)
        for label, exp, got in (("dense", check.dense_expected, check.dense_counted),
                                ("zero-skip", check.nonzero_expected, check.nonzero_counted)):
            if exp != got:
                problems.append(f"stage {st.name}: the kernels counted {got:,} {st.op} ops "
                                f"({label}), the workload says {exp:,}")
        if check.words_expected != check.words_counted:
            problems.append(f"stage {st.name}: the kernels counted {check.words_counted:,} "
                            f"64-bit word ops, the workload implies {check.words_expected:,}")
    extra = counted - {st.name for st in expected.stages}
    for name in sorted(extra):
        problems.append(f"stage {name}: performed by the kernels but not in the workload")
    return tuple(checks)
