"""Strassen's 2x2 algorithm rediscovered by training an SPN (StrassenNets, section 3.1).

The SPN ``vec(C) = W_c [(W_b vec(B)) * (W_a vec(A))]`` (``vec`` stacks columns) with hidden
width ``rank`` is trained on products of random 2x2 matrices, many random initialisations
(seeds) at once as one batched computation (weights ``[S, rank, 4]``): entries of A, B and the
initial weights i.i.d. U[-1, 1]; phase 1 full precision, phase 2 with TWN quantization of
W_a, W_b, W_c (per seed and matrix, straight-through gradients); SGD with momentum.

A seed succeeds when its ternary matrices are an exact algorithm, checked exactly in integers:
the coefficient tensor ``T[k, i, j] = sum_r W_c[k, r] W_a[r, i] W_b[r, j]`` equals that of the
2x2 product (so the bilinear forms agree on every input). :func:`check_algorithm` then also
multiplies random integer matrices with the integer matrices and through the numba kernels
(:func:`accelsim.kernels.strassen_linear`) and compares with ``A @ B`` exactly. Rank 7 is the
least possible (Winograd 1971): with rank 6 no seed can succeed.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from accelsim.reference.quant import DELTA_FACTOR


def product_tensor() -> np.ndarray:
    """``M[k, i, j]``: ``vec(A B)_k = sum_ij M[k, i, j] vec(A)_i vec(B)_j`` for 2x2 matrices,
    column-stacking ``vec`` (entry (p, q) at index ``2 q + p``)."""
    m = np.zeros((4, 4, 4), dtype=np.int64)
    for p in range(2):
        for q in range(2):
            for t in range(2):
                m[2 * q + p, 2 * t + p, 2 * q + t] = 1
    return m


@dataclass(frozen=True)
class Algorithm:
    """Integer matrices of an SPN for the 2x2 product: ``wa``, ``wb`` (rank x 4), ``wc``
    (4 x rank), entries in {-1, 0, 1}; ``seed``: the initialisation that found it."""

    seed: int
    wa: tuple[tuple[int, ...], ...]
    wb: tuple[tuple[int, ...], ...]
    wc: tuple[tuple[int, ...], ...]

    @property
    def rank(self) -> int:
        return len(self.wa)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (np.array(self.wa, dtype=np.int64), np.array(self.wb, dtype=np.int64),
                np.array(self.wc, dtype=np.int64))

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "rank": self.rank, "wa": [list(r) for r in self.wa],
                "wb": [list(r) for r in self.wb], "wc": [list(r) for r in self.wc]}


@dataclass(frozen=True)
class AlgorithmCheck:
    """How a found algorithm was checked: the tensor identity, ``pairs`` random integer
    products computed with the integer matrices and through the kernels (all exact?), and the
    kernels' multiplications per product."""

    tensor_identity: bool
    pairs: int
    integer_exact: bool
    kernel_exact: bool
    kernel_muls_per_product: float

    @property
    def ok(self) -> bool:
        return self.tensor_identity and self.integer_exact and self.kernel_exact


@dataclass(frozen=True)
class RediscoveryReport:
    """Seeds tried, how many were exact, wall time; the first exact algorithm and its check."""

    rank: int
    seeds_tried: int
    exact_seeds: tuple[int, ...]
    seconds: float
    settings: dict[str, Any] = field(default_factory=dict)
    found: Algorithm | None = None
    check: AlgorithmCheck | None = None

    @property
    def success_rate(self) -> float:
        return len(self.exact_seeds) / self.seeds_tried if self.seeds_tried else 0.0

    @property
    def seconds_per_seed(self) -> float:
        return self.seconds / self.seeds_tried if self.seeds_tried else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "seeds_tried": self.seeds_tried,
                "exact_seeds": list(self.exact_seeds), "success_rate": self.success_rate,
                "seconds": self.seconds, "seconds_per_seed": self.seconds_per_seed,
                "settings": dict(self.settings),
                "found": self.found.to_dict() if self.found else None,
                "check": None if self.check is None else dict(vars(self.check), ok=self.check.ok)}


def is_exact(wa: np.ndarray, wb: np.ndarray, wc: np.ndarray) -> bool:
    """Whether integer ``wa``, ``wb`` (r x 4), ``wc`` (4 x r) compute the 2x2 product exactly
    (coefficient tensor identity, integer arithmetic)."""
    t = np.einsum("kr,ri,rj->kij", wc.astype(np.int64), wa.astype(np.int64),
                  wb.astype(np.int64))
    return bool(np.array_equal(t, product_tensor()))


def check_algorithm(alg: Algorithm, pairs: int = 200, seed: int = 0) -> AlgorithmCheck:
    """Check ``alg`` exactly: the tensor identity, and ``pairs`` products of random integer
    matrices (entries in [-50, 50]) computed with the integer matrices (int64) and by the
    numba kernels (float64, ã = W_a vec(A), W_b and W_c ternary), against ``A @ B``."""
    from accelsim.kernels import strassen_linear

    wa, wb, wc = alg.arrays()
    rng = np.random.default_rng(seed)
    a = rng.integers(-50, 51, size=(pairs, 2, 2))
    b = rng.integers(-50, 51, size=(pairs, 2, 2))
    want = np.einsum("npt,ntq->npq", a, b)
    vec = lambda m: m.transpose(0, 2, 1).reshape(len(m), 4)
    got = (wc @ ((wb @ vec(b).T) * (wa @ vec(a).T))).T
    integer_exact = bool(np.array_equal(got, vec(want)))
    kernel_exact, muls = True, 0
    for i in range(pairs):
        out, counts = strassen_linear(vec(b[i:i + 1]).astype(np.float64), wb.astype(np.int8),
                                      (wa @ vec(a[i:i + 1])[0]).astype(np.float64),
                                      wc.astype(np.int8), None, zero_skip=True,
                                      dtype="float64")
        kernel_exact &= bool(np.array_equal(out[0], vec(want[i:i + 1])[0].astype(np.float64)))
        muls += counts.stage("a_mul").muls
    return AlgorithmCheck(tensor_identity=is_exact(wa, wb, wc), pairs=pairs,
                          integer_exact=integer_exact, kernel_exact=kernel_exact,
                          kernel_muls_per_product=muls / pairs)


def _ternary(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-seed TWN quantization of ``w`` [S, m, n]: (ternary values, scale [S, 1, 1])."""
    a = w.detach().abs()
    delta = DELTA_FACTOR * a.mean(dim=(1, 2), keepdim=True)
    t = (w.detach() > delta).to(w.dtype) - (w.detach() < -delta).to(w.dtype)
    nz = (t != 0).to(w.dtype)
    scale = (a * nz).sum(dim=(1, 2), keepdim=True) / nz.sum(dim=(1, 2), keepdim=True).clamp(min=1)
    return t, scale


def _ste(w: torch.Tensor) -> torch.Tensor:
    t, scale = _ternary(w)
    return w + (scale * t - w).detach()


def train_seeds(seeds: list[int], rank: int, *, steps: tuple[int, int], batch: int,
                lr: tuple[float, float], momentum: float = 0.9, data_seed: int = 12345,
                balance: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train one SPN per seed (batched) and return the ternary ``wa``, ``wb`` [S, r, 4],
    ``wc`` [S, 4, r] (int64) and each seed's final quantized loss [S]."""
    ws = []
    for s in seeds:
        g = torch.Generator().manual_seed(s)
        ws.append([torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1
                   for shape in ((rank, 4), (rank, 4), (4, rank))])
    params = [torch.stack([w[i] for w in ws]).requires_grad_(True) for i in range(3)]
    data = torch.Generator().manual_seed(data_seed)
    loss_per_seed = torch.zeros(len(seeds), dtype=torch.float64)
    for phase, (n_steps, phase_lr) in enumerate(zip(steps, lr)):
        if phase == 1 and balance:
            _balance(params)
        opt = torch.optim.SGD(params, lr=phase_lr, momentum=momentum)
        for _ in range(n_steps):
            a = torch.rand((batch, 4), generator=data, dtype=torch.float64) * 2 - 1
            b = torch.rand((batch, 4), generator=data, dtype=torch.float64) * 2 - 1
            c = _product(a, b)
            wa, wb, wc = (_ste(p) for p in params) if phase else params
            h = torch.einsum("sri,ni->snr", wa, a) * torch.einsum("srj,nj->snr", wb, b)
            pred = torch.einsum("skr,snr->snk", wc, h)
            loss_per_seed = ((pred - c) ** 2).sum(-1).mean(-1)
            opt.zero_grad(set_to_none=True)
            loss_per_seed.sum().backward()
            opt.step()
            with torch.no_grad():
                for p in params:
                    torch.nan_to_num_(p, nan=0.0, posinf=1.0, neginf=-1.0).clamp_(-10, 10)
    ints = [_ternary(p)[0].to(torch.int64).numpy() for p in params]
    return ints[0], ints[1], ints[2], loss_per_seed.detach().numpy()


def _balance(params: list[torch.Tensor]) -> None:
    """Rescale each hidden unit so that its W_a and W_b rows have largest magnitude 1, W_c's
    column compensating: the SPN computes the same function, but no unit is lost to TWN's
    threshold only because the fp solution happened to put it at a small scale."""
    wa, wb, wc = params
    with torch.no_grad():
        na = wa.abs().amax(dim=2, keepdim=True).clamp(min=1e-12)       # [S, r, 1]
        nb = wb.abs().amax(dim=2, keepdim=True).clamp(min=1e-12)
        wa.div_(na)
        wb.div_(nb)
        wc.mul_((na * nb).transpose(1, 2))


def _product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """vec(A B) for column-stacked vec(A), vec(B) rows [N, 4]."""
    m = torch.from_numpy(product_tensor()).to(a.dtype)
    return torch.einsum("kij,ni,nj->nk", m, a, b)


def rediscover(rank: int = 7, seeds: int = 200, *, first_seed: int = 0, chunk: int = 100,
               steps: tuple[int, int] = (4000, 2000), batch: int = 16,
               lr: tuple[float, float] = (0.05, 0.0003), stop_at_first: bool = False,
               threads: int = 1, pairs: int = 200,
               on_chunk: Callable[[int, int], None] | None = None) -> RediscoveryReport:
    """Train ``seeds`` initialisations (``first_seed`` on), ``chunk`` at a time, and report
    which became exact algorithms; with ``stop_at_first`` stop after the first chunk that
    holds one. The first exact algorithm is checked by :func:`check_algorithm`. ``on_chunk``
    sees (seeds done, exact so far)."""
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    start = time.perf_counter()
    exact: list[int] = []
    found: Algorithm | None = None
    tried = 0
    try:
        for lo in range(first_seed, first_seed + seeds, chunk):
            ids = list(range(lo, min(lo + chunk, first_seed + seeds)))
            wa, wb, wc, _ = train_seeds(ids, rank, steps=steps, batch=batch, lr=lr)
            for k, s in enumerate(ids):
                if is_exact(wa[k], wb[k], wc[k]):
                    exact.append(s)
                    if found is None:
                        found = Algorithm(s, _rows(wa[k]), _rows(wb[k]), _rows(wc[k]))
            tried += len(ids)
            if on_chunk is not None:
                on_chunk(tried, len(exact))
            if stop_at_first and found is not None:
                break
    finally:
        torch.set_num_threads(prev)
    seconds = time.perf_counter() - start
    check = check_algorithm(found, pairs) if found is not None else None
    settings = {"steps": list(steps), "batch": batch, "lr": list(lr), "chunk": chunk,
                "first_seed": first_seed, "threads": threads}
    return RediscoveryReport(rank=rank, seeds_tried=tried, exact_seeds=tuple(exact),
                             seconds=seconds, settings=settings, found=found, check=check)


def _rows(m: np.ndarray) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(v) for v in row) for row in m)
