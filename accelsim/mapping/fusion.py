"""Layer fusion as a schedule (``mapping.fusion``): a producer layer P and its sole consumer C
processed chunk by chunk, their intermediate map kept on chip one chunk at a time.

**Which pairs** (:func:`fusable_pairs`): C is the layer right after P, P's output is read only
by C and C reads only P; C is a 1x1, stride-1, unpadded convolution on P's output grid (a
MobileNet pointwise layer after its depthwise layer), so that C's output rows are P's output
rows: consumers whose windows overlap (k > 1) would need the halo rows of the previous chunk
kept as well and are not fused. Every routed stage of both layers works on that grid of output
positions, and P's output is written by one stage. Chains are cut into disjoint pairs (a layer
is in one pair at most). Fusion needs the dedicated ``activations`` buffer
(``mapping.activation_buffer: activations``): the chunks live there, and neither layer's
working tiles do, so the producer running ahead never takes space the consumer needs (the
consumer only reads the chunks and frees them; a consumer output kept on chip is reserved by
the pair's first producer tile): the pair cannot deadlock.

**The schedule**: both layers are cut on one grid of bands of output rows
(:class:`FusedPair`; each band's share of the map at most :data:`CHUNK_SHARE` of the activation
buffer's tile, at least one row), systolic stages position-chunk outer
(:func:`chunk_systolic_blocks`: each chunk is the stage restricted to its positions, cut by
:func:`~accelsim.mapping.tiling.systolic_blocks`, so weights that are not resident are read
again per chunk: the cost fusion trades against the intermediate map's traffic). P's output
stage writes each chunk to the activation buffer; C's stages that read the layer input read it
there, chunk ``c`` after the producer tiles of chunk ``c`` (:func:`fused_edges`); the last of
them to read a chunk frees it after the others read it. There is no barrier between P and C
under either schedule: the pair is one schedule unit (the analytic bound sums it as one).
Tile ids interleave the two layers chunk by chunk. Under ``overlap`` too, P waits for the whole
previous layer: else a pair could fill the activation buffer with chunks its consumer may not
read yet (its resident operands wait for the previous pair to release theirs) while the
previous pair's producer needs that space.

**When** (:func:`accelsim.mapping.mapper.map_workload`): ``always`` fuses every legal pair
(a chunk of one row that does not fit is a one-line error naming the layers, the buffer and
the smallest size that works); ``auto`` fuses a pair when the mapped plan with it scores
better on the run's :class:`~accelsim.choices.MappingObjective` than without it
(:func:`plan_score`: cycle bound with the pair as one unit, memory energy, DRAM bytes).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from accelsim.choices import MappingObjective
from accelsim.errors import CompatibilityError, Problem
from accelsim.hw.config import HardwareConfig, Sram
from accelsim.mapping.build import RoutedStage
from accelsim.mapping.memory import StageTiling
from accelsim.mapping.residency import Residency
from accelsim.mapping.schedule import Tile
from accelsim.mapping.tiles import TileCosts
from accelsim.mapping.tiling import Block, Halo, Limits, Slices, share, systolic_blocks
from accelsim.mapping.units import SystolicMapping
from accelsim.workload.schema import Layer, Stage, Workload

#: A chunk of a fused pair's intermediate map takes at most this share of the activation
#: buffer's tile (the rest is for tensors kept across the pair and chunks produced ahead).
CHUNK_SHARE = 0.25
#: The buffer fused chunks live in.
FUSION_BUFFER = "activations"


@dataclass(frozen=True)
class FusedPair:
    """Layers ``producer`` -> ``consumer`` (indices) fused on a grid of ``rows x cols`` output
    positions cut into bands of ``band`` rows; ``map_bytes``: the intermediate map."""

    producer: int
    consumer: int
    rows: int
    cols: int
    band: int
    map_bytes: int

    @property
    def grid(self) -> tuple[tuple[int, int], ...]:
        """Position chunks ``[m0, m1)``: ``ceil(rows / band)`` nearly equal bands of rows."""
        parts = -(-self.rows // self.band)
        return tuple((self.rows * i // parts * self.cols, self.rows * (i + 1) // parts * self.cols)
                     for i in range(parts))

    @property
    def chunk_bytes(self) -> int:
        """Bytes of the largest chunk of the intermediate map."""
        size = self.rows * self.cols
        return max(share(self.map_bytes, a, b, size) for a, b in self.grid)

    def narrower(self) -> FusedPair | None:
        """The pair on bands of half as many rows (None at one row)."""
        return replace(self, band=self.band // 2) if self.band > 1 else None


def fusable_pairs(wl: Workload, producers: Sequence[Sequence[int]],
                  layers: Sequence[Sequence[RoutedStage]], hw: HardwareConfig
                  ) -> list[FusedPair]:
    """The pairs that may be fused (module docstring), each on its widest bands."""
    by_layer = {g[0].layer_index: g for g in layers}
    readers: list[list[int]] = [[] for _ in wl.layers]
    for li, prods in enumerate(producers):
        for p in prods:
            readers[p].append(li)
    out: list[FusedPair] = []
    used: set[int] = set()
    act = hw.buffers.activations
    for c, prods in enumerate(producers):
        p = c - 1
        if list(prods) != [p] or readers[p] != [c] or p in used or p not in by_layer \
                or c not in by_layer:
            continue
        lp, lc = wl.layers[p], wl.layers[c]
        if not _fusable(lp, lc, by_layer[p], by_layer[c]):
            continue
        sh = lp.shape
        row = -(-lp.output_bytes // sh.out_h)
        tile = act.tile_bytes if act is not None else 0
        band = max(1, min(sh.out_h, int(tile * CHUNK_SHARE) // max(1, row)))
        out.append(FusedPair(p, c, sh.out_h, sh.out_w, band, lp.output_bytes))
        used.update((p, c))
    return out


def _fusable(lp: Layer, lc: Layer, gp: Sequence[RoutedStage], gc: Sequence[RoutedStage]
             ) -> bool:
    sp, sc = lp.shape, lc.shape
    if (sc.kernel_h, sc.kernel_w, sc.stride, sc.padding) != (1, 1, 1, 0):
        return False
    if (sc.in_h, sc.in_w) != (sp.out_h, sp.out_w) or (sc.out_h, sc.out_w) != (sp.out_h, sp.out_w):
        return False
    size = sp.out_h * sp.out_w
    if lp.output_bytes <= 0 or any(s.stage.m != size for s in (*gp, *gc)):
        return False
    finals = [s for s in gp if not s.consumers]
    return len(finals) == 1 and finals[0].stage.n == sp.out_c


def check_buffer(hw: HardwareConfig, pairs: Sequence[FusedPair], wl: Workload,
                 source: str) -> None:
    """Raise the one-line :class:`CompatibilityError` of ``fusion: always`` when the config
    has no dedicated activation buffer or one row of a pair's map does not fit it."""
    if not pairs:
        return
    first = pairs[0]
    names = f"layers[{wl.layers[first.producer].name}] -> layers[{wl.layers[first.consumer].name}]"
    act = hw.buffers.activations
    if act is None or hw.mapping.activation_buffer != FUSION_BUFFER:
        raise CompatibilityError(Problem(
            "mapping.activation_buffer", hw.mapping.activation_buffer,
            f"fusing {names} needs the dedicated activations buffer "
            "(buffers.activations and mapping.activation_buffer: activations)"), source)
    for pr in pairs:
        row = replace(pr, band=1).chunk_bytes
        if row > act.size_bytes:
            raise fit_error(hw, wl, pr, source)


def fit_error(hw: HardwareConfig, wl: Workload, pr: FusedPair, source: str
              ) -> CompatibilityError:
    """The error of a pair whose one-row chunk does not fit the activation buffer."""
    act = hw.buffers.activations
    size = act.size_kib if act is not None else 0
    row = replace(pr, band=1).chunk_bytes
    return CompatibilityError(Problem(
        f"buffers.{FUSION_BUFFER}.size_kib", size,
        f"too small to fuse layers[{wl.layers[pr.producer].name}] -> "
        f"layers[{wl.layers[pr.consumer].name}]: one output row of their intermediate map is "
        f"{row} B; the smallest size that works: {math.ceil(row / 1024 * 1e4) / 1e4:g} KiB"),
        source)


def pair_residency(plan: Sequence[Residency], pairs: Sequence[FusedPair], wl: Workload,
                   lean: frozenset[int] = frozenset()) -> tuple[Residency, ...]:
    """``plan`` with every fused producer writing its output to the activation buffer and its
    consumer reading all of it there (freed chunk by chunk: no whole-tensor free); producers
    in ``lean`` keep no operand resident (they reload them per tile)."""
    out = list(plan)
    for pr in pairs:
        total = wl.layers[pr.producer].output_bytes
        out[pr.producer] = replace(out[pr.producer], output_kept=True,
                                   holds=pr.producer not in lean)
        out[pr.consumer] = replace(out[pr.consumer], input_kept=total, input_total=total,
                                   frees=0)
    return tuple(out)


def chunk_systolic_blocks(st: Stage, sl: Slices, hw: HardwareConfig, lim: Limits,
                          mapping: SystolicMapping, grid: Sequence[tuple[int, int]]
                          ) -> list[Block]:
    """Blocks of a systolic stage cut position-chunk outer on ``grid``: each chunk is the stage
    restricted to its positions (its share of the input, with the rows its windows read when
    they overlap, its share of the outputs and operations; all the weights), cut into folds
    by :func:`~accelsim.mapping.tiling.systolic_blocks`; ``chunk`` is the chunk's index and
    ``halo`` counts against the stage's whole input. Raises
    :class:`~accelsim.mapping.tiling.TooSmall` as that function does."""
    out: list[Block] = []
    base = 0
    for c, (m0, m1) in enumerate(grid):
        size = m1 - m0
        halo = sl.halo
        sub_halo = None
        if halo is not None:
            chunk_in = halo.part(sl.inputs, [(m0, m1)])
            sub_halo = _band(halo, m0 // max(1, halo.cols), (m1 - 1) // max(1, halo.cols))
        else:
            chunk_in = share(sl.inputs, m0, m1, st.m)
        dense = sl.ops == st.ops_dense
        sub = replace(st, m=size, ops_dense=size * st.n * st.k,
                      ops_nonzero=share(st.ops_nonzero, m0, m1, st.m), in_bytes=chunk_in,
                      out_bytes=share(st.out_bytes, m0, m1, st.m), ops_nonzero_per_channel=())
        ssl = Slices(weights=sl.weights, inputs=chunk_in,
                     outputs=share(sl.outputs, m0, m1, st.m),
                     ops=sub.ops_dense if dense else share(sl.ops, m0, m1, st.m),
                     input_by_channel=sl.input_by_channel, halo=sub_halo)
        prop = share(sl.inputs, m0, m1, st.m)
        blocks = systolic_blocks(sub, ssl, hw, lim, mapping)
        for b in blocks:
            own = b.inp - b.halo  # the block's proportional part of the chunk's input
            extra = own - own * prop // chunk_in if chunk_in else 0
            out.append(replace(b, m0=b.m0 + m0, m1=b.m1 + m0, chunk=c, cfold=b.cfold + base,
                               halo=b.halo + extra))
        base += max((b.cfold for b in blocks), default=-1) + 1
    return out


def _band(h: Halo, r0: int, r1: int) -> Halo:
    """The geometry of output rows ``r0..r1`` of ``h`` on the input rows they read."""
    lo, hi = h.input_rows(r0, r1)
    return Halo(r1 - r0 + 1, h.cols, h.kernel_h, h.kernel_w, h.stride,
                lo - (r0 * h.stride - h.pad), hi - lo, h.in_w)


def fused_edges(pr: FusedPair, by_layer: Mapping[int, Sequence[RoutedStage]],
                ids: Mapping[int, tuple[int, ...]], tiles: list[Tile], act: str
                ) -> dict[int, set[int]]:
    """Apply one fused pair to its ``tiles`` (in place) and return its tile edges.

    Every consumer tile that reads the layer input waits for the producer tiles of its chunk;
    the last such reader stage frees each chunk with its last tile of the chunk, which waits
    for the other readers' last tiles of it; the consumer's output kept in the activation
    buffer is reserved by the producer's first output tile instead of tile by tile."""
    gp, gc = by_layer[pr.producer], by_layer[pr.consumer]
    final = next(s for s in gp if not s.consumers)
    made: dict[int, list[int]] = {}
    nbytes: dict[int, int] = {}
    for t in ids[final.index]:
        made.setdefault(tiles[t].chunk, []).append(t)
        nbytes[tiles[t].chunk] = nbytes.get(tiles[t].chunk, 0) + tiles[t].alloc.get(act, 0)
    readers = [s for s in gc if s.producer is None and ids[s.index]]
    edges: dict[int, set[int]] = {}
    last: dict[int, dict[int, int]] = {}
    for s in readers:
        for t in ids[s.index]:
            edges.setdefault(t, set()).update(made.get(tiles[t].chunk, []))
            last.setdefault(s.index, {})[tiles[t].chunk] = t
    if readers:
        freer = readers[-1]
        for c, n in sorted(nbytes.items()):
            t = last[freer.index].get(c, ids[freer.index][-1])
            tiles[t] = replace(tiles[t], free=_plus(tiles[t].free, act, n))
            edges.setdefault(t, set()).update(
                last[r.index][c] for r in readers[:-1] if c in last[r.index])
    held = 0
    for s in gc:
        if s.consumers:
            continue
        for t in ids[s.index]:
            a = tiles[t].alloc.get(act, 0)
            if a:
                held += a
                tiles[t] = replace(tiles[t], alloc=_plus(tiles[t].alloc, act, -a))
    if held and ids[final.index]:
        t = ids[final.index][0]
        tiles[t] = replace(tiles[t], alloc=_plus(tiles[t].alloc, act, held))
    return edges


def _plus(d: Mapping[str, int], key: str, v: int) -> dict[str, int]:
    out = dict(d)
    out[key] = out.get(key, 0) + v
    return {k: x for k, x in sorted(out.items()) if x}


def holders_over(pr: FusedPair, by_layer: Mapping[int, Sequence[RoutedStage]],
                 tilings: Mapping[int, StageTiling], hw: HardwareConfig) -> str | None:
    """The buffer (``weights`` or ``inputs``) whose residency budget the operands both layers
    keep resident (loaded once, held to their last tile) exceed together, or None when they
    fit: the producer holds its operands while its consumer runs."""
    held = {"weights": 0, "inputs": 0}
    for li in (pr.producer, pr.consumer):
        for s in by_layer[li]:
            m = tilings[s.index].memory
            held["weights"] += m.weights_total if m.resident_w else 0
            held["inputs"] += (m.inputs_total - m.input_kept if m.resident_in else 0) + \
                m.frees_staged
    bufs: dict[str, Sram] = dict(hw.buffers.items())
    return next((k for k, v in held.items() if v > bufs[k].size_bytes - bufs[k].tile_bytes),
                None)


def plan_score(objective: MappingObjective, units: Sequence[TileCosts], hw: HardwareConfig,
               leak_pj_per_cycle: float) -> float:
    """The objective of a mapped plan from its schedule units' costs: cycles summed over units
    (each the longer of its busiest array and its DRAM transfer), memory energy with leakage
    over those cycles, DRAM bytes."""
    cycles = dram = 0.0
    energy = 0.0
    for c in units:
        transfer = math.ceil(c.dram / hw.dram.bandwidth_bytes_per_cycle)
        cycles += max(max(c.occupancy.values(), default=0), transfer)
        dram += c.dram
        energy += c.energy
    return objective.score(cycles, energy + leak_pj_per_cycle * cycles, dram)
