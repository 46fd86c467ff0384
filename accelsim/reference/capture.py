"""The torch half of verification: capture every layer's input and output in one forward pass,
and compute each layer's rounding-error bound. Imported only by :func:`accelsim.verify.verify`
after checking that torch is installed.

Error bound (docs/kernels.md): a float32 computation in which every value reaches the output
through at most ``n`` roundings (additions, multiplications) satisfies
``|computed - exact| <= gamma(n) * A`` with ``gamma(n) = n u / (1 - n u)``, ``u = 2**-24``, and
``A`` the same computation on absolute values (Higham, *Accuracy and Stability of Numerical
Algorithms*, 2nd ed., sections 3.1 and 4.2). The kernels and torch's conventional (direct or
GEMM) convolutions both satisfy it, so the tolerance between the two is ``2 * gamma(n) * A``.
In float64 (``u = 2**-53``) the same bound is tight enough to expose a single wrong term.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from accelsim.reference.models import build_model, input_shape
from accelsim.reference.trace import iter_layers

U32 = 2.0 ** -24
U64 = 2.0 ** -53


def capture(model: torch.nn.Module, names: list[tuple[str, torch.nn.Module]],
            x: torch.Tensor) -> dict[str, tuple[tuple[np.ndarray, ...], np.ndarray]]:
    """Run ``model(x)`` once; return ``{name: (inputs, output)}`` of every listed module as
    float32 numpy arrays (copies)."""
    seen: dict[str, tuple[tuple[np.ndarray, ...], np.ndarray]] = {}

    def hook_for(name: str):
        def hook(_m: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            seen[name] = (tuple(_np(t) for t in inputs), _np(output))
        return hook

    handles = [mod.register_forward_hook(hook_for(name)) for name, mod in names]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return seen


def depth(arrays: Mapping[str, Any]) -> int:
    """Roundings on the longest path from an input to an output of the layer (``n`` above):
    ``K`` additions plus a product and a bias add (conv, linear, TWN); ``K_b + r`` additions
    plus the folded scales, ã and bias (strassen, see docs/kernels.md); a BatchNorm's product
    and add; ``K`` additions and the scale (WeightBinConv); the ``C`` additions of the channel
    sum, the ``k * k`` of the box sum and the two scale products (FullBinConv: the dot product
    itself is exact)."""
    kind = arrays["kind"]
    if kind in ("conv", "ternary_conv", "linear", "ternary_linear"):
        return int(np.prod(arrays["w"].shape[1:])) + 2
    if kind == "affine":
        return 3
    if kind in ("wbin_conv", "wbin_linear"):
        return int(np.prod(arrays["w"].shape[1:])) + 1
    if kind == "fbin_conv":
        return arrays["w"].shape[1] + arrays["kernel"] ** 2 + 2
    if kind == "fbin_linear":
        return arrays["w"].shape[1] + 2
    if kind in ("strassen_conv", "strassen_linear"):
        r = arrays["wb"].shape[0]
        return int(np.prod(arrays["wb"].shape[1:])) + r + 4
    if kind == "hybrid_conv":
        return max(depth(arrays["fp"]), depth(arrays["st"]))
    raise ValueError(f"no rounding depth for layer kind {kind!r}")


def tolerance(arrays: Mapping[str, Any], x: np.ndarray, u: float = U32) -> np.ndarray:
    """``2 * gamma(n) * A`` elementwise for the layer's output (float64), see the module doc;
    ``u`` is the unit roundoff of the compared computations (2**-53 for float64)."""
    if arrays["kind"] == "hybrid_conv":
        return np.concatenate([tolerance(arrays["fp"], x, u), tolerance(arrays["st"], x, u)],
                              axis=1)
    n = depth(arrays)
    return 2 * (n * u / (1.0 - n * u)) * evaluate(arrays, x, absolute=True)


def evaluate(arrays: Mapping[str, Any], x: np.ndarray, *, absolute: bool = False) -> np.ndarray:
    """The layer's output in float64 from its arrays (torch functional ops, independent of the
    kernels); with ``absolute=True`` on the absolute values of every input and parameter
    (the ``A`` of the error bound)."""
    kind = arrays["kind"]
    t = _t64(absolute)
    xa = t(x)
    if kind == "hybrid_conv":
        return np.concatenate([evaluate(arrays["fp"], x, absolute=absolute),
                               evaluate(arrays["st"], x, absolute=absolute)], axis=1)
    if kind in ("conv", "ternary_conv"):
        y = F.conv2d(xa, t(arrays["w"]), stride=arrays["stride"], padding=arrays["padding"],
                     groups=arrays["groups"])
        return (y * _scale(arrays, 4, t) + _bias(arrays, 4, t)).numpy()
    if kind in ("linear", "ternary_linear"):
        y = xa @ t(arrays["w"]).T
        return (y * _scale(arrays, 2, t) + _bias(arrays, 2, t)).numpy()
    if kind == "strassen_linear":
        h = (xa @ t(arrays["wb"]).T) * t(arrays["wb_scale"]) * t(arrays["a"])
        return ((h @ t(arrays["wc"]).T) * t(arrays["wc_scale"]) + _bias(arrays, 2, t)).numpy()
    if kind in ("affine", "wbin_conv", "wbin_linear", "fbin_conv", "fbin_linear"):
        return _evaluate_binary(arrays, x, t, absolute).numpy()
    if kind == "strassen_conv":
        top, left, bottom, right = arrays["padding"]
        h = F.conv2d(F.pad(xa, (left, right, top, bottom)), t(arrays["wb"]),
                     stride=arrays["stride"], groups=arrays["groups"])
        h = h * t(arrays["wb_scale"]) * t(arrays["a"]).view(1, -1, 1, 1)
        y = F.conv_transpose2d(h, t(arrays["wc"]), stride=arrays["patch"]) \
            * t(arrays["wc_scale"])
        return (y[:, :, :arrays["out_h"], :arrays["out_w"]] + _bias(arrays, 4, t)).numpy()
    raise ValueError(f"cannot evaluate layer kind {kind!r}")


def _evaluate_binary(arrays: Mapping[str, Any], x: np.ndarray,
                     t: Callable[[Any], torch.Tensor], absolute: bool) -> torch.Tensor:
    """:func:`evaluate` for BatchNorm and binary layers (``absolute``: the bound's ``A``, ``t``
    takes absolute values and every sign counts as 1)."""
    kind, xa = arrays["kind"], t(x)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if kind == "affine":
        return xa * t(arrays["scale"]).view(shape) + t(arrays["shift"]).view(shape)
    w = t(arrays["w"])
    if kind.startswith("wbin"):
        y = F.conv2d(xa, w, stride=arrays["stride"], padding=arrays["padding"]) \
            if kind == "wbin_conv" else xa @ w.T
        return y * t(arrays["alpha"]).view(shape)
    signs = torch.from_numpy(np.where(x >= 0, 1.0, 1.0 if absolute else -1.0))
    alpha = t(arrays["alpha"]).view(shape)
    if kind == "fbin_linear":
        return (signs @ w.T) * alpha * xa.abs().sum(1, keepdim=True)
    s, p, k = arrays["stride"], arrays["padding"], arrays["kernel"]
    kmap = F.conv2d(xa.abs().sum(1, keepdim=True), torch.ones((1, 1, k, k), dtype=xa.dtype),
                    stride=s, padding=p)
    return F.conv2d(signs, w, stride=s, padding=p) * alpha * kmap


def binary_dots(arrays: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    """The ±1 dot products of a ``fbin_conv`` / ``fbin_linear`` layer computed by torch in
    float64 (exact integers), before the scaling."""
    signs = torch.from_numpy(np.where(x >= 0, 1.0, -1.0))
    w = torch.from_numpy(arrays["w"].astype(np.float64))
    if arrays["kind"] == "fbin_linear":
        return (signs @ w.T).numpy()
    return F.conv2d(signs, w, stride=arrays["stride"], padding=arrays["padding"]).numpy()


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32, copy=True)


def _t64(absolute: bool) -> Callable[[Any], torch.Tensor]:
    """float64 tensor of an array or number (its absolute value if ``absolute``)."""
    def t(a: Any) -> torch.Tensor:
        v = np.array(a, dtype=np.float64, ndmin=1) if np.ndim(a) else np.array([a], np.float64)
        v = np.abs(v) if absolute else v
        return torch.from_numpy(v) if np.ndim(a) else torch.from_numpy(v)[0]
    return t


def _scale(arrays: Mapping[str, Any], ndim: int, t: Callable[[Any], torch.Tensor]
           ) -> torch.Tensor:
    """The TWN scale: a number, or one per output channel (a trained, folded layer)."""
    scale = t(arrays.get("scale", 1.0))
    return scale.view((1, -1) + (1,) * (ndim - 2)) if scale.ndim else scale


def _bias(arrays: Mapping[str, Any], ndim: int, t: Callable[[Any], torch.Tensor]
          ) -> torch.Tensor | float:
    bias = arrays.get("bias")
    if bias is None:
        return 0.0
    return t(bias).view((1, -1) + (1,) * (ndim - 2))


def capture_model(spec: Any, model: torch.nn.Module | None = None
                  ) -> tuple[list[tuple[str, Any]], dict[str, tuple]]:
    """Build the reference model of ``spec`` (or take ``model``, e.g. a trained one) and run one
    seeded forward pass (one torch thread).

    Returns the traced ``(layer_name, module)`` list and, per layer name, its captured
    ``(inputs, output)`` numpy arrays (see :func:`capture`)."""

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = build_model(spec) if model is None else model
        named = list(iter_layers(model))
        gen = torch.Generator().manual_seed(spec.seed)
        captured = capture(model, named, torch.randn(input_shape(spec), generator=gen))
    finally:
        torch.set_num_threads(threads)
    return named, captured
