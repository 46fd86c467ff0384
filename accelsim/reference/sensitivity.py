"""Filter sensitivity (Gope et al., appendix C.1): how hard is each filter to strassenify?

For every filter ``w`` (``c_in/groups x k x k`` values, scaled to unit L2 norm) of a chosen
full-precision convolution of a trained network, an SPN ``y = W_c [(W_b x) * (W_a w)]`` (hidden
width ``r``, one output: the filter's response to one receptive field ``x``) is trained on
``pairs`` random inputs ``x`` with entries i.i.d. U[-1, 1]: phase 1 full precision, phase 2
with TWN quantization of W_a, W_b, W_c (straight-through), SGD with momentum; all filters of
the layer at once (weights ``[filters, r, n]``). The recorded loss is the quantized SPN's mean
squared error on 10,000 fresh inputs relative to the mean squared response (0 = exact;
1 = no better than answering 0).

:func:`sensitivity` runs a list of hidden widths and writes the JSON result after each one;
run again with the same arguments, it skips the widths already in the file (resume).
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from accelsim.errors import InputError, Problem
from accelsim.outputs import atomic_write
from accelsim.reference import checkpoint as ckpt
from accelsim.reference.layers import HybridConv2d
from accelsim.reference.rediscover import _ste
from accelsim.reference.trace import iter_layers

EVAL_PAIRS = 10_000


def layer_filters(model: nn.Module, layer: str, where: str) -> torch.Tensor:
    """The fp filters ``[out, n]`` of ``layer`` (an ``nn.Conv2d`` or a hybrid layer's fp
    branch). Raises :class:`InputError` naming the layer for one without fp filters."""
    named = dict(iter_layers(model))
    if layer not in named:
        raise InputError(Problem("layer", layer, f"no such layer (layers: "
                                 f"{', '.join(list(named)[:8])}, ...)"), where)
    mod = named[layer]
    conv = mod.fp if isinstance(mod, HybridConv2d) else mod
    if not isinstance(conv, nn.Conv2d):
        raise InputError(Problem("layer", layer, f"is a {type(mod).__name__}, not a "
                                 "full-precision convolution (use a baseline network)"), where)
    return conv.weight.detach().reshape(conv.out_channels, -1).to(torch.float64)


def train_filters(filters: torch.Tensor, r: int, *, pairs: int, batch: int,
                  lr: tuple[float, float], momentum: float = 0.9, seed: int = 0
                  ) -> list[float]:
    """Train one SPN of hidden width ``r`` per filter (rows of ``filters``, [F, n]) and return
    each one's relative loss after quantization (see the module docstring)."""
    f, n = filters.shape
    w = filters / filters.norm(dim=1, keepdim=True).clamp(min=1e-12)
    g = torch.Generator().manual_seed(seed)
    params = [((torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * scale)
              .requires_grad_(True)
              for shape, scale in (((f, r, n), 1.0), ((f, r, n), 1 / math.sqrt(n)),
                                   ((f, 1, r), 1 / math.sqrt(r)))]
    data = torch.Generator().manual_seed(seed + 1)
    steps = max(1, pairs // batch)
    for phase, phase_lr in enumerate(lr):
        opt = torch.optim.SGD(params, lr=phase_lr, momentum=momentum)
        for step in range(steps):
            x = torch.rand((batch, n), generator=data, dtype=torch.float64) * 2 - 1
            for group in opt.param_groups:          # linear decay within the phase
                group["lr"] = phase_lr * (1 - step / steps)
            loss = _loss(params, w, x, quantized=phase == 1).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                for p in params:
                    torch.nan_to_num_(p, nan=0.0, posinf=1.0, neginf=-1.0).clamp_(-10, 10)
    x = torch.rand((EVAL_PAIRS, n), generator=data, dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        err = _loss(params, w, x, quantized=True)
        ref = ((x @ w.T) ** 2).mean(0)
    return [float(v) for v in err / ref]


def _loss(params: list[torch.Tensor], w: torch.Tensor, x: torch.Tensor, quantized: bool
          ) -> torch.Tensor:
    """Mean squared error per filter [F] of the SPN on inputs ``x`` [N, n]."""
    wa, wb, wc = (_ste(p) for p in params) if quantized else params
    a = torch.einsum("frn,fn->fr", wa, w)                        # ã = W_a w, per filter
    h = torch.einsum("frn,bn->fbr", wb, x) * a[:, None, :]
    y = torch.einsum("for,fbr->fb", wc, h)
    return ((y - (x @ w.T).T) ** 2).mean(1)


def sensitivity(checkpoint: str | Path, layer: str, out: str | Path, *,
                ranks: tuple[int, ...] = (1, 2, 4, 8, 16, 32), pairs: int = 100_000,
                batch: int = 32, lr: tuple[float, float] = (0.01, 0.001), seed: int = 0,
                threads: int = 1, on_rank: Callable[[int, list[float]], None] | None = None
                ) -> dict[str, Any]:
    """Per-filter relative loss for each hidden width in ``ranks`` for ``layer`` of an
    exported ``checkpoint``; the result (a dict, also written to the JSON file ``out`` after
    each width) lists ``results``: ``[{"r", "loss": [per filter], "seconds"}]``. Resumes from
    ``out`` when it holds a run with the same settings. Raises :class:`InputError`."""
    if not ranks or any(isinstance(r, bool) or not isinstance(r, int) or r < 1 for r in ranks):
        raise InputError(Problem("ranks", list(ranks), "must be integers >= 1"))
    for name, v in (("pairs", pairs), ("batch", batch)):
        if v < 1:
            raise InputError(Problem(name, v, "must be >= 1"))
    model, spec, _ = ckpt.load_model(checkpoint)
    filters = layer_filters(model, layer, str(checkpoint))
    settings = {"checkpoint": Path(checkpoint).name, "sha256": ckpt.file_sha256(checkpoint),
                "layer": layer, "pairs": pairs, "batch": batch, "lr": list(lr), "seed": seed}
    doc = _resume(Path(out), settings) or {
        "what": "relative L2 loss of a ternary SPN per filter (Gope et al. C.1)",
        "network": spec.slug(), "filters": int(filters.shape[0]),
        "values_per_filter": int(filters.shape[1]), "settings": settings, "results": []}
    done = {entry["r"] for entry in doc["results"]}
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for r in ranks:
            if r in done:
                continue
            start = time.perf_counter()
            losses = train_filters(filters, r, pairs=pairs, batch=batch, lr=lr, seed=seed)
            doc["results"].append({"r": r, "loss": losses,
                                   "seconds": time.perf_counter() - start})
            doc["results"].sort(key=lambda e: e["r"])
            _write(Path(out), doc)
            if on_rank is not None:
                on_rank(r, losses)
    finally:
        torch.set_num_threads(prev)
    return doc


def _resume(path: Path, settings: dict[str, Any]) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(Problem("<file>", str(path), f"not a readable sensitivity result "
                                 f"({type(exc).__name__}); delete it or choose another "
                                 "--out")) from None
    if not isinstance(doc, dict) or doc.get("settings") != settings or \
            not isinstance(doc.get("results"), list):
        raise InputError(Problem("settings", doc.get("settings") if isinstance(doc, dict)
                                 else None, "the file holds a run with other settings; "
                                 "choose another --out"), str(path))
    return doc


def _write(path: Path, doc: dict[str, Any]) -> None:
    """The result written atomically (a temporary file renamed on success)."""
    atomic_write(path, json.dumps(doc, indent=1) + "\n")
