"""Dependencies between tiles and stages (see :mod:`accelsim.mapping.schedule`).

Positional (receptive-field) dependencies across layers: a consumer tile covering output rows
``[r0, r1]`` of a layer with kernel ``kh``, stride ``s`` and padding ``p`` needs input rows
``[r0*s - p, r1*s - p + kh - 1]`` (clipped), i.e. the producer's output positions of those
rows; it depends on the producer's final tiles overlapping them. Used only in the ``overlap``
schedule, for stages that stream their operands, when the producer's output grid is the
consumer's input grid; otherwise a consumer waits for the whole producer stage.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from accelsim.errors import CompatibilityError, Problem
from accelsim.mapping.memory import DRAM
from accelsim.mapping.plan import StagePlan, Tile
from accelsim.workload.schema import LAYER_INPUT, Layer, Stage, Workload

if TYPE_CHECKING:  # pragma: no cover
    from accelsim.mapping.schedule import _S


def producer_layers(wl: Workload, source: str) -> list[list[int]]:
    """For each layer, the indices of the layers whose outputs it reads (``inputs``; an empty
    ``inputs`` means the previous layer, or the network input for the first layer)."""
    index = {layer.name: i for i, layer in enumerate(wl.layers)}
    out: list[list[int]] = []
    problems = []
    for i, layer in enumerate(wl.layers):
        if not layer.inputs:
            out.append([i - 1] if i > 0 else [])
            continue
        idx = []
        for name in layer.inputs:
            j = index.get(name)
            if j is None or j >= i:
                problems.append(Problem(f"layers[{layer.name}].inputs", name,
                                        "names no earlier layer of the workload"))
            else:
                idx.append(j)
        out.append(idx)
    if problems:
        raise CompatibilityError(problems, source)
    return out


def stage_grid(layer: Layer, st: Stage) -> tuple[int, int, int, int, int] | None:
    """(rows, cols, kernel rows, stride, padding) of a stage's output positions, or None when
    its positions are not a spatial grid of the layer."""
    sh = layer.shape
    if st.m == sh.out_h * sh.out_w:
        return sh.out_h, sh.out_w, sh.kernel_h, sh.stride, sh.padding
    sp = layer.strassen
    if sp is not None:
        p = sp.patch
        h, w = math.ceil(sh.out_h / p), math.ceil(sh.out_w / p)
        if h * w == st.m:
            return h, w, (p - 1) * sh.stride + sh.kernel_h, p * sh.stride, sh.padding
    return None


def wire(wl: Workload, stages: list["_S"], by_layer: dict[int, list["_S"]],
         tiles: list[Tile], producers: list[list[int]], schedule: str
         ) -> tuple[list[StagePlan], list[Tile]]:
    """Stage-level ``after`` lists and tile-level ``deps``; returns stage plans and tiles."""
    finals = {li: [s for s in group if s.mem.sink == DRAM] for li, group in by_layer.items()}
    deps: dict[int, set[int]] = {}
    plans = []
    for s in stages:
        after: set[int] = set()
        group = by_layer[s.li]
        names = {x.st.name: x for x in group}
        names.update({f.name: x for x in group for f in x.fused})
        if s.producer is not None:
            if s.mem.chunk_edge_in:
                prod = {}
                for t in s.producer.ids:
                    prod.setdefault(tiles[t].chunk, []).append(t)
                for t in s.ids:
                    deps.setdefault(t, set()).update(prod.get(tiles[t].chunk, []))
            else:
                after.add(s.producer.idx)
        for name in s.st.after:
            x = names.get(name)
            if x is not None and x is not s and not (x is s.producer and s.mem.chunk_edge_in):
                after.add(x.idx)
        if schedule == "sequential":
            if s.li > 0:
                after.update(x.idx for x in by_layer.get(s.li - 1, []))
        elif s.st.reads == LAYER_INPUT:
            _cross_layer(wl, s, stages, by_layer, finals, tiles, producers, deps, after)
        notes = []
        if s.mem.resident_w:
            notes.append("weights resident")
        if s.mem.resident_in:
            notes.append("inputs resident")
        if s.mem.source != DRAM:
            notes.append(f"input {s.mem.source}" + (" in place" if s.mem.in_place else ""))
        if s.mem.sink != DRAM:
            notes.append(f"output {s.mem.sink}")
        if s.partials:
            notes.append("partial sums on chip")
        if s.positional:
            notes.append("receptive-field deps")
        plans.append(StagePlan(
            index=s.idx, layer=s.li, layer_name=s.layer.name, name=s.st.name, role=s.st.role,
            unit=s.unit, op_key=s.op_key, model=s.model, tiles=tuple(s.ids),
            after=tuple(sorted(after)), fused=tuple(f.name for f in s.fused),
            fused_key=s.fused_key, notes=tuple(notes)))
    out = [replace(t, deps=tuple(sorted(deps[t.id]))) if deps.get(t.id) else t for t in tiles]
    return plans, out


def _streams(s: "_S", stages: list["_S"]) -> bool:
    """True when the stage (and its chunk pipeline) holds nothing across tiles while waiting."""
    members = [x for x in stages if x.li == s.li and x.comp == s.comp] if s.comp >= 0 else [s]
    return not any(x.mem.resident_w or x.mem.resident_in or x.partials for x in members)


def _cross_layer(wl: Workload, s: "_S", stages: list["_S"], by_layer: dict, finals: dict,
                 tiles: list[Tile], producers: list[list[int]], deps: dict,
                 after: set[int]) -> None:
    prods = producers[s.li]
    if not prods:
        return
    fin = [x for pl in prods for x in finals.get(pl, [])]
    geo = stage_grid(s.layer, s.st)
    ok = geo is not None and _streams(s, stages)
    sh = s.layer.shape
    if ok:
        for pl in prods:
            lp = wl.layers[pl]
            if (lp.shape.out_h, lp.shape.out_w) != (sh.in_h, sh.in_w) or any(
                    x.st.m != lp.shape.out_h * lp.shape.out_w for x in finals.get(pl, [])):
                ok = False
    if not ok:
        after.update(x.idx for x in fin)
        return
    s.positional = True
    rows, cols, kh, stride, pad = geo
    # channel offsets of the producers' final stages in their layer's output (concatenated)
    offset: dict[int, int] = {}
    by_channel = s.st.groups > 1
    for pl in prods:
        off = 0
        for x in finals.get(pl, []):
            offset[x.idx] = off
            off += x.st.n
        if off != wl.layers[pl].shape.out_c or len(prods) > 1:
            by_channel = False
    for t in s.ids:
        m0, m1 = tiles[t].m
        if m1 <= m0:
            continue
        r0, r1 = m0 // cols, (m1 - 1) // cols
        lo = max(0, r0 * stride - pad)
        hi = min(sh.in_h - 1, r1 * stride - pad + kh - 1)
        p0, p1 = lo * sh.in_w, (hi + 1) * sh.in_w
        n0, n1 = tiles[t].n
        c0, c1 = n0 * sh.in_c // s.st.n, -(-n1 * sh.in_c // s.st.n)
        need = deps.setdefault(t, set())
        for x in fin:
            off = offset[x.idx]
            need.update(u for u in x.ids if tiles[u].m[0] < p1 and tiles[u].m[1] > p0 and (
                not by_channel or (off + tiles[u].n[0] < c1 and off + tiles[u].n[1] > c0)))
