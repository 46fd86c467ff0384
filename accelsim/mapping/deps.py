"""Dependencies between tiles and stages: the last pass of :mod:`accelsim.mapping.mapper`.

Positional (receptive-field) dependencies across layers: a consumer tile covering output rows
``[r0, r1]`` of a layer with kernel ``kh``, stride ``s`` and padding ``p`` needs input rows
``[r0*s - p, r1*s - p + kh - 1]`` (clipped), i.e. the producer's output positions of those
rows; it depends on the producer's final tiles overlapping them. Used only in the ``overlap``
schedule, for stages that stream their operands, when the producer's output grid is the
consumer's input grid; otherwise a consumer waits for the whole producer stage.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from accelsim.choices import SchedulePolicy
from accelsim.errors import CompatibilityError, Problem
from accelsim.mapping.build import RoutedStage
from accelsim.mapping.memory import DRAM, RES, StageTiling
from accelsim.mapping.schedule import StagePlan, Tile
from accelsim.workload.schema import LAYER_INPUT, Layer, Stage, Workload


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


def wire(wl: Workload, routed: Sequence[RoutedStage],
         layers: Sequence[Sequence[RoutedStage]], tilings: dict[int, StageTiling],
         ids: dict[int, tuple[int, ...]], partials: dict[int, dict[int, int]],
         tiles: list[Tile], producers: list[list[int]], policy: SchedulePolicy,
         mappings: Mapping[int, str], hw_budgets: Mapping[str, int],
         fused: Mapping[int, Mapping[int, set[int]]] | None = None,
         barriers: frozenset[int] = frozenset()) -> tuple[list[StagePlan], list[Tile]]:
    """Stage-level ``after`` lists and tile-level ``deps``; returns stage plans and tiles
    (``mappings``: the systolic stages' layouts, recorded in their plans; ``hw_budgets``: bytes
    of the weight and input buffers that resident operands may hold at once, by buffer: the
    size less one working tile; ``fused``: by consumer layer of a fused pair, the tile edges
    :func:`accelsim.mapping.fusion.fused_edges` gives it, which replace its barrier and its
    edges to the previous layer; ``barriers``: layers that wait for the whole previous layer
    under either schedule: fused producers)."""
    fused = fused or {}
    w = _Wiring(wl, routed, layers, tilings, ids, partials, tiles, producers)
    plans = []
    for s in routed:
        mem = tilings[s.index].memory
        after: set[int] = set()
        group = w.by_layer[s.layer_index]
        names = {x.stage.name: x for x in group}
        names.update({f.name: x for x in group for f in x.fused})
        if s.producer is not None:
            if mem.chunk_edge_in:
                prod: dict[int, list[int]] = {}
                for t in ids[s.producer]:
                    prod.setdefault(tiles[t].chunk, []).append(t)
                for t in ids[s.index]:
                    w.deps.setdefault(t, set()).update(prod.get(tiles[t].chunk, []))
            else:
                after.add(s.producer)
        for name in s.stage.after:
            x = names.get(name)
            if x is not None and x is not s and not (x.index == s.producer and
                                                     mem.chunk_edge_in):
                after.add(x.index)
        positional = False
        if s.layer_index in fused:  # one schedule unit with its producer: chunk edges only
            pass
        elif policy is SchedulePolicy.SEQUENTIAL or s.layer_index in barriers:
            if s.layer_index > 0:
                after.update(x.index for x in w.by_layer.get(s.layer_index - 1, []))
        elif s.stage.reads == LAYER_INPUT:
            positional = w.cross_layer(s, after)
        plans.append(StagePlan(
            index=s.index, layer=s.layer_index, layer_name=s.layer.name, name=s.stage.name,
            role=s.stage.role, unit=s.unit, op_key=s.op_key, timing=s.timing,
            tiles=ids[s.index], after=tuple(sorted(after)),
            fused=tuple(f.name for f in s.fused), fused_key=s.fused_key,
            notes=_notes(tilings[s.index], bool(partials[s.index]), positional),
            mapping=mappings.get(s.index, s.timing.value)))
    for edges in fused.values():
        for t, need in edges.items():
            w.deps.setdefault(t, set()).update(need)
    w.free_after_readers()
    if policy is not SchedulePolicy.SEQUENTIAL:
        w.serialise_holders(hw_budgets)
    out = [replace(t, deps=tuple(sorted(w.deps[t.id]))) if w.deps.get(t.id) else t for t in tiles]
    return plans, out


def _notes(t: StageTiling, partials: bool, positional: bool) -> tuple[str, ...]:
    mem = t.memory
    notes = []
    if mem.resident_w:
        notes.append("weights resident")
    if mem.resident_in:
        notes.append("inputs resident")
    if mem.source != DRAM:
        notes.append(f"input {mem.source}" + (" in place" if mem.in_place else ""))
    if mem.sink != DRAM:
        notes.append(f"output {mem.sink}")
    if partials:
        notes.append("partial sums on chip")
    if positional:
        notes.append("receptive-field deps")
    if mem.index_bytes:
        notes.append(f"sparse weights: {mem.index_bytes} B of metadata")
    halo = sum(b.halo for b in t.blocks)
    if halo:
        notes.append(f"input halo: {halo} B")
    return tuple(notes)


class _Wiring:
    """What the cross-layer edges need to look up (built once per mapping)."""

    def __init__(self, wl: Workload, routed: Sequence[RoutedStage],
                 layers: Sequence[Sequence[RoutedStage]], tilings: dict[int, StageTiling],
                 ids: dict[int, tuple[int, ...]], partials: dict[int, dict[int, int]],
                 tiles: list[Tile], producers: list[list[int]]):
        self.wl, self.routed, self.tilings, self.ids = wl, routed, tilings, ids
        self.partials, self.tiles, self.producers = partials, tiles, producers
        self.by_layer = {group[0].layer_index: list(group) for group in layers}
        self.finals = {li: [s for s in group if tilings[s.index].memory.sink in (DRAM, RES)]
                       for li, group in self.by_layer.items()}
        self.deps: dict[int, set[int]] = {}

    def free_after_readers(self) -> None:
        """A kept activation is freed by the last tile of its last reader layer's last stage:
        that tile waits for the last tile of every stage that reads the tensor on chip (both
        branches of a hybrid layer, earlier consumer layers)."""
        readers: dict[int, list[RoutedStage]] = {}
        for s in self.routed:
            if s.producer is None and self.tilings[s.index].memory.input_kept:
                for p in self.producers[s.layer_index]:
                    readers.setdefault(p, []).append(s)
        layer_of = {s.index: s.layer_index for s in self.routed}
        for s in self.routed:  # a staged input: read after the load, freed after the reads
            mem = self.tilings[s.index].memory
            if not mem.input_staged or not self.ids[s.index]:
                continue
            group = self.by_layer[layer_of[s.index]]
            loader = next(x for x in group
                          if self.tilings[x.index].memory.input_staged == "loads")
            if mem.input_staged == "reads" and self.ids[loader.index]:
                self.deps.setdefault(self.ids[s.index][0], set()).add(
                    self.ids[loader.index][0])
            tail = group[-1]
            if tail.index != s.index and self.ids[tail.index]:
                self.deps.setdefault(self.ids[tail.index][-1], set()).add(self.ids[s.index][-1])
        for s in self.routed:
            mem = self.tilings[s.index].memory
            if not mem.frees_act or not self.ids[s.index]:
                continue
            last = self.ids[s.index][-1]
            for p in self.producers[s.layer_index]:
                for r in readers.get(p, []):
                    if r.index < s.index and self.ids[r.index]:
                        self.deps.setdefault(last, set()).add(self.ids[r.index][-1])

    def serialise_holders(self, budgets: Mapping[str, int]) -> None:
        """The residency budget is global across layers in flight together (overlap): a layer
        that keeps operands resident (weights or inputs loaded once, held until its stages end)
        loads them only after enough earlier holders have released theirs that the live ones
        fit ``budgets`` together (and so does the rest of the layer: its streaming stages would
        otherwise fill the buffers the holders' chunk pipelines need). Holders are taken in
        layer order; holder ``q``'s *window* is the run of holders just before it that fit
        beside it. If holder ``h`` is the first one
        outside the window, ``q``'s loading tiles wait for the last tiles of holders
        ``window(h)..h``; every holder before ``window(h)`` was released before ``h`` loaded.
        So at any time the live holders are the latest one's window and itself: within
        budget, and no two layers side by side (parallel branches of a block) can each hold
        so much that neither finds room for a working tile."""
        holders: list[tuple[dict[str, int], list[int], list[int]]] = []
        for _, group in sorted(self.by_layer.items()):
            tiled = [s for s in group if self.ids[s.index]]
            mems = [self.tilings[s.index].memory for s in tiled]
            if not any(m.resident_w or m.resident_in for m in mems):
                continue
            held = {"weights": sum(m.weights_total for m in mems if m.resident_w),
                    "inputs": sum(m.inputs_total - m.input_kept for m in mems if m.resident_in)}
            # the whole layer waits: its streaming stages would fill shared buffers
            holders.append((held, [self.ids[s.index][0] for s in tiled],
                            [self.ids[s.index][-1] for s in tiled]))
        start: list[int] = []
        for q, (held, loads, _) in enumerate(holders):
            total = dict(held)
            p = q - 1
            while p >= 0:
                over = False
                for buf in total:
                    total[buf] += holders[p][0][buf]
                    over = over or total[buf] > budgets.get(buf, 0)
                if over:
                    break
                p -= 1
            start.append(p + 1)
            if p < 0:
                continue
            wait = [t for g in range(start[p], p + 1) for t in holders[g][2]]
            for t in loads:
                self.deps.setdefault(t, set()).update(wait)

    def streams(self, s: RoutedStage) -> bool:
        """True when the stage (and its chunk pipeline) holds nothing across tiles while
        waiting."""
        comp = self.tilings[s.index].comp
        members = [x for x in self.by_layer[s.layer_index]
                   if self.tilings[x.index].comp == comp] if comp >= 0 else [s]
        return not any(self.tilings[x.index].memory.resident_w or
                       self.tilings[x.index].memory.resident_in or self.partials[x.index]
                       for x in members)

    def cross_layer(self, s: RoutedStage, after: set[int]) -> bool:
        """Edges from the producer layers' final stages into ``s`` (overlap schedule): tile by
        tile over the receptive field when ``s`` streams over the producer's output grid, else
        stage by stage. Returns whether receptive-field edges were used."""
        wl, tiles = self.wl, self.tiles
        prods = self.producers[s.layer_index]
        if not prods:
            return False
        fin = [x for pl in prods for x in self.finals.get(pl, [])]
        geo = stage_grid(s.layer, s.stage)
        ok = geo is not None and self.streams(s)
        sh = s.layer.shape
        if ok:
            for pl in prods:
                lp = wl.layers[pl]
                if (lp.shape.out_h, lp.shape.out_w) != (sh.in_h, sh.in_w) or any(
                        x.stage.m != lp.shape.out_h * lp.shape.out_w
                        for x in self.finals.get(pl, [])):
                    ok = False
        if not ok or geo is None:
            after.update(x.index for x in fin)
            return False
        rows, cols, kh, stride, pad = geo
        # channel offsets of the producers' final stages in their layer's output (concatenated)
        offset: dict[int, int] = {}
        by_channel = s.stage.groups > 1
        for pl in prods:
            off = 0
            for x in self.finals.get(pl, []):
                offset[x.index] = off
                off += x.stage.n
            if off != wl.layers[pl].shape.out_c or len(prods) > 1:
                by_channel = False
        for t in self.ids[s.index]:
            m0, m1 = tiles[t].m
            if m1 <= m0:
                continue
            r0, r1 = m0 // cols, (m1 - 1) // cols
            lo = max(0, r0 * stride - pad)
            hi = min(sh.in_h - 1, r1 * stride - pad + kh - 1)
            p0, p1 = lo * sh.in_w, (hi + 1) * sh.in_w
            n0, n1 = tiles[t].n
            c0, c1 = n0 * sh.in_c // s.stage.n, -(-n1 * sh.in_c // s.stage.n)
            need = self.deps.setdefault(t, set())
            for x in fin:
                off = offset[x.index]
                need.update(u for u in self.ids[x.index]
                            if tiles[u].m[0] < p1 and tiles[u].m[1] > p0 and (
                                not by_channel or (off + tiles[u].n[0] < c1 and
                                                   off + tiles[u].n[1] > c0)))
        return True
