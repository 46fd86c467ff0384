"""The TWN quantizer (Li & Liu 2016) with a straight-through gradient.

With full-precision weights ``W``: ``delta = 0.7 * mean(|W|)``; ``Wt = +1`` where ``W > delta``,
``-1`` where ``W < -delta``, ``0`` otherwise; ``scale = mean(|W|)`` over the non-zero positions
of ``Wt`` (0.0 if there are none). The forward pass uses exactly ``scale * Wt``; the backward
pass is the identity (straight-through estimator, a ``torch.autograd.Function``).
"""
from __future__ import annotations

import torch

#: Threshold factor of TWN: delta = DELTA_FACTOR * mean(|W|).
DELTA_FACTOR = 0.7


def ternarize(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(Wt, scale)``: ``Wt`` an int8 tensor in {-1, 0, 1} shaped like ``w`` and
    ``scale`` a 0-d float tensor (no gradient). ``w`` must be a floating-point tensor."""
    with torch.no_grad():
        a = w.detach().abs()
        delta = DELTA_FACTOR * a.mean()
        wt = (w.detach() > delta).to(torch.int8) - (w.detach() < -delta).to(torch.int8)
        nz = wt != 0
        count = nz.sum()
        scale = torch.where(count > 0, (a * nz).sum() / count.clamp(min=1),
                            torch.zeros((), dtype=a.dtype))
    return wt, scale


class _TernarySTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w: torch.Tensor) -> torch.Tensor:
        wt, scale = ternarize(w)
        return scale.to(w.dtype) * wt.to(w.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad


def ternary_ste(w: torch.Tensor) -> torch.Tensor:
    """``scale * Wt`` in the forward pass, identity gradient with respect to ``w``."""
    return _TernarySTE.apply(w)
