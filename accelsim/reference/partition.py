"""The HBN partition algorithm: which layers of a fully binarized network become WeightBinConv.

Chakraborty et al. (WACV 2018), as implemented here (docs/binary-networks.md):

1. On a trained FBin network, the *binarization error* of every FullBinConv layer's input,
   ``E_i = ||I - s * sign(I)||^2 / n`` with the error-minimising scale ``s = mean |I|`` (per
   image), averaged over a set of images (:mod:`accelsim.reference.binerror`, torch).
2. The score ``M_i = E_i + gamma / NF_i``, ``NF_i`` the layer's multiply-accumulates: high error
   and low cost make a layer a candidate for WeightBinConv. ``gamma`` puts both terms on one
   scale; by default ``gamma = mean(E) / mean(1 / NF)`` (the two terms then have the same mean).
3. For ``N = 2, 3, ...``: exact 1-D K-means with ``N`` clusters on the scores; ``K`` = layers in
   the cluster with the highest mean score; stop at the first ``N`` with ``K / P <= R`` (``P``
   layers, ``R`` the hybridization ratio). The layers of that cluster become WeightBinConv.

The K-means is exact and deterministic: scores are 1-D, so the optimal clustering consists of
runs of the sorted distinct scores, found by dynamic programming (equal scores always share a
cluster; ``N`` goes up to the number of distinct scores). If no ``N`` satisfies the rule (``R``
smaller than the share of the layers tied at the highest score), no layer is chosen.

This module is torch-free; :func:`partition` (the twin of ``accelsim partition``) imports torch
only to read the checkpoint and measure the errors.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from accelsim.errors import InputError, Problem
from accelsim.reference.spec import ModelSpec, require_torch


@dataclass(frozen=True)
class LayerScore:
    """One candidate layer: binarization ``error`` E, ``flops`` NF (MACs), ``score`` M and its
    ``cluster`` at the chosen N (0 = lowest mean score)."""

    name: str
    error: float
    flops: int
    score: float
    cluster: int


@dataclass(frozen=True)
class Partition:
    """The outcome: per-layer scores, ``gamma``, ``ratio``, the chosen number of clusters
    ``clusters`` (0 if none satisfied the rule), ``history`` of ``(N, K, K/P)`` tried, the
    ``wbin`` layer names, and ``spec``, the hybrid (``hbn``) spec that ``accelsim trace`` takes
    (``None`` when computed from bare scores)."""

    layers: tuple[LayerScore, ...]
    gamma: float
    ratio: float
    clusters: int
    history: tuple[tuple[int, int, float], ...]
    wbin: tuple[str, ...]
    spec: ModelSpec | None = None
    images: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``--json`` output)."""
        doc = dataclasses.asdict(self)
        doc["spec"] = self.spec.to_dict() if self.spec is not None else None
        doc["history"] = [list(h) for h in self.history]
        return doc


def check_ratio(ratio: object) -> float:
    """``ratio`` as a float in (0, 1); InputError naming the field and value otherwise."""
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or \
            not math.isfinite(ratio) or not 0.0 < ratio < 1.0:
        raise InputError(Problem("ratio", ratio, "the hybridization ratio must be in (0, 1)"))
    return float(ratio)


def kmeans_1d(values: Sequence[float], clusters: int) -> np.ndarray:
    """Optimal (least within-cluster sum of squares) K-means of 1-D ``values`` into
    ``clusters`` clusters of runs of the sorted distinct values, by dynamic programming.

    Returns the cluster of every value, numbered 0, 1, ... in increasing order of mean. Ties in
    the objective go to the split that puts the boundary earliest. Raises ValueError unless
    ``1 <= clusters <=`` the number of distinct values.
    """
    v = np.asarray(values, dtype=np.float64)
    distinct, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
    d = len(distinct)
    if not 1 <= clusters <= d:
        raise ValueError(f"clusters must be in [1, {d}] (distinct values), not {clusters}")
    w = counts.astype(np.float64)
    cw = np.concatenate([[0.0], np.cumsum(w)])
    cs = np.concatenate([[0.0], np.cumsum(w * distinct)])
    cq = np.concatenate([[0.0], np.cumsum(w * distinct ** 2)])

    def sse(i: int, j: int) -> float:   # weighted SSE of distinct[i:j]
        n, s = cw[j] - cw[i], cs[j] - cs[i]
        return max(0.0, float(cq[j] - cq[i] - s * s / n))

    cost = np.full((clusters + 1, d + 1), np.inf)
    cut = np.zeros((clusters + 1, d + 1), dtype=np.int64)
    cost[0, 0] = 0.0
    for c in range(1, clusters + 1):
        for j in range(c, d + 1):
            best, arg = np.inf, c - 1
            for i in range(c - 1, j):
                total = cost[c - 1, i] + sse(i, j)
                if total < best and (best == np.inf or total < best - 1e-12 * max(1.0, best)):
                    best, arg = total, i
            cost[c, j], cut[c, j] = best, arg
    label = np.zeros(d, dtype=np.int64)
    j = d
    for c in range(clusters, 0, -1):
        i = int(cut[c, j])
        label[i:j] = c - 1
        j = i
    return label[inverse.reshape(-1)]


def default_gamma(errors: Sequence[float], flops: Sequence[int]) -> float:
    """``mean(E) / mean(1 / NF)``: the two terms of the score then have equal means."""
    inv = float(np.mean([1.0 / f for f in flops]))
    return float(np.mean(errors)) / inv


def partition_scores(names: Sequence[str], errors: Sequence[float], flops: Sequence[int], *,
                     ratio: float, gamma: float | None = None) -> Partition:
    """Steps 2 and 3 of the module docstring on given per-layer errors and FLOPs (no torch).
    Raises InputError for a ratio outside (0, 1), a gamma that is not a finite number >= 0,
    mismatched lengths, non-finite errors or FLOPs < 1."""
    r = check_ratio(ratio)
    if not (len(names) == len(errors) == len(flops)) or not names:
        raise InputError(Problem("layers", len(names), "need one error and one FLOP count per "
                                 "layer, for at least one layer"))
    if any(not math.isfinite(e) or e < 0 for e in errors):
        raise InputError(Problem("errors", list(errors), "must be finite and >= 0"))
    if any(int(f) < 1 for f in flops):
        raise InputError(Problem("flops", list(flops), "must be >= 1"))
    g = default_gamma(errors, flops) if gamma is None else gamma
    if isinstance(g, bool) or not isinstance(g, (int, float)) or not math.isfinite(g) or g < 0:
        raise InputError(Problem("gamma", gamma, "must be a finite number >= 0"))
    scores = np.array([e + g / f for e, f in zip(errors, flops)], dtype=np.float64)
    p = len(names)
    distinct = len(np.unique(scores))
    history: list[tuple[int, int, float]] = []
    chosen, labels = 0, np.zeros(p, dtype=np.int64)
    for n in range(2, distinct + 1):
        lab = kmeans_1d(scores.tolist(), n)
        k = int(np.count_nonzero(lab == n - 1))
        history.append((n, k, k / p))
        if k / p <= r:
            chosen, labels = n, lab
            break
    wbin = tuple(nm for nm, lab in zip(names, labels) if chosen and lab == chosen - 1)
    rows = tuple(LayerScore(nm, float(e), int(f), float(s), int(lab))
                 for nm, e, f, s, lab in zip(names, errors, flops, scores, labels))
    return Partition(layers=rows, gamma=float(g), ratio=r, clusters=chosen,
                     history=tuple(history), wbin=wbin)


def partition(checkpoint: str | Path, *, ratio: float, gamma: float | None = None,
              images: int = 16, seed: int = 0, inputs: str | Path | None = None,
              data: str | None = None) -> Partition:
    """Run the partition algorithm on a trained FBin checkpoint (``accelsim partition``; the
    exported checkpoint of ``accelsim train``).

    The errors are averaged over ``inputs`` (a ``.npy`` float array ``(N, 3, H, W)`` of the
    model's input size), over the first ``images`` training images of ``data`` (a data source
    of ``accelsim train``: ``digits``, ``cifar10:DIR``, ``imagefolder:DIR``) or, without
    either, over ``images`` seeded Gaussian images (``seed``). The returned
    :class:`Partition`'s ``spec`` is the checkpoint's spec with variant ``hbn`` and the chosen
    layers as ``wbin``. Raises InputError (ratio, gamma, images, data or inputs given both,
    unreadable or unsuitable checkpoint or inputs) and TorchMissingError without torch.
    """
    r = check_ratio(ratio)
    if isinstance(images, bool) or not isinstance(images, int) or images < 1:
        raise InputError(Problem("images", images, "must be an integer >= 1"))
    if inputs is not None and data is not None:
        raise InputError(Problem("data", data, "give --inputs or --data, not both"))
    require_torch()
    from accelsim.reference.binerror import (  # imports torch
        data_images,
        layer_errors,
        load_checkpoint,
        load_inputs,
    )

    spec, model = load_checkpoint(checkpoint)
    x = load_inputs(inputs, spec) if inputs is not None else \
        data_images(data, spec, images) if data is not None else None
    measured = layer_errors(model, spec, x=x, images=images, seed=seed)
    result = partition_scores([m[0] for m in measured], [m[1] for m in measured],
                              [m[2] for m in measured], ratio=r, gamma=gamma)
    kinds = dict(spec.binarize)
    kinds.update((n, "wbin") for n in result.wbin)
    hybrid = dataclasses.replace(spec, variant="hbn", binarize=tuple(kinds.items()))
    n_images = images if x is None else int(x.shape[0])
    return dataclasses.replace(result, spec=hybrid, images=n_images)
