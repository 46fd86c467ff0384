"""``map_workload``: a workload on a hardware config -> a
:class:`~accelsim.mapping.schedule.Schedule`.

The passes, each returning a value keyed by routed-stage index:

1. **route** (:func:`accelsim.mapping.build.route_workload`): every stage to a unit class; a bias
   fused into a MAC stage gets no tiles, its additions are counted on that stage's tiles as
   ``add@mac``;
2. **residency** (:func:`accelsim.mapping.residency.plan_residency`): which layer outputs stay
   on chip between layers (``mapping.memory``), and each layer's view of the buffers;
   **layouts** per layer (:class:`~accelsim.mapping.choice.MappingChooser`) and the **memory
   policy** per layer (:func:`accelsim.mapping.memory.plan_layer_memory`);
3. **tiling** per layer (:class:`_LayerTiler` -> :class:`~accelsim.mapping.memory.StageTiling`):
   chunk-ordered stages (W_b -> ã -> W_c -> bias on adders and multipliers) that forward on
   chip share one position-chunk grid and pipeline chunk by chunk; a forwarded tensor that does
   not fit is spilled; each stage is cut into blocks (:mod:`accelsim.mapping.tiling`);
4. **tile ids** (:func:`assign_ids`): the service priority everywhere (DRAM, units, buffers):
   earlier layers first, the stages of a chunk pipeline interleaved chunk by chunk;
5. **tiles** (:func:`build_tiles`): each block's memory traffic and reservations
   (:func:`~accelsim.mapping.memory.tile_memory`);
6. **dependencies** (:func:`accelsim.mapping.deps.wire`): stage barriers, chunk edges and, in
   the ``overlap`` schedule, receptive-field edges across layers.

Under ``mapping.fusion`` (:mod:`accelsim.mapping.fusion`) the pairs of layers that run fused
are chosen first (``always``: every legal pair; ``auto``: a pair when the plan with it scores
better), then residency, tiling, ids and edges treat each pair as one unit.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from accelsim import __version__
from accelsim.choices import FusionPolicy, MappingObjective, MemoryPolicy, SchedulePolicy
from accelsim.errors import CompatibilityError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.hw.load import hwconfig_hash
from accelsim.mapping.build import RoutedStage, route_workload
from accelsim.mapping.choice import MappingChooser
from accelsim.mapping.deps import producer_layers, wire
from accelsim.mapping.fusion import (
    FUSION_BUFFER,
    FusedPair,
    check_buffer,
    fusable_pairs,
    fused_edges,
    holders_over,
    pair_residency,
    plan_score,
)
from accelsim.mapping.memory import RES, StageTiling
from accelsim.mapping.residency import buffer_view, kept_across, plan_residency
from accelsim.mapping.schedule import Schedule
from accelsim.mapping.tiles import TileCosts, build_tiles, tile_costs
from accelsim.mapping.units import ChunkOrder, Layout, SystolicMapping
from accelsim.routing import check_compatible
from accelsim.workload.load import workload_hash
from accelsim.workload.schema import Workload


def map_workload(wl: Workload, hw: HardwareConfig,
                 schedule: SchedulePolicy | str = SchedulePolicy.SEQUENTIAL,
                 zero_skip: bool = False, objective: MappingObjective | str | None = None,
                 memory: MemoryPolicy | str | None = None,
                 fusion: FusionPolicy | str | None = None) -> Schedule:
    """Map ``wl`` onto ``hw``.

    ``schedule``: ``"sequential"`` (barrier between layers) or ``"overlap"``; ``zero_skip``:
    count and time ternary stages by their non-zero weights (as the config's
    ``adder_array.zero_handling`` says); ``objective``: what the per-layer choices minimise
    (default: the config's ``mapping.objective``); ``memory``: where activations live between
    layers (default: the config's ``mapping.memory``); ``fusion``: which layer pairs run fused
    (default: the config's ``mapping.fusion``). Raises
    :class:`~accelsim.errors.InputError` for an unknown schedule, objective, memory or fusion
    policy, and :class:`~accelsim.errors.CompatibilityError` when a stage needs a unit class
    the config has none of, a buffer cannot hold one minimal tile, a bandwidth is not
    positive, or ``fusion: always`` finds a pair it cannot fuse."""
    policy = SchedulePolicy.parse(schedule, "schedule")
    goal = MappingObjective.parse(objective, "objective") if objective is not None else \
        hw.mapping.objective
    keep = MemoryPolicy.parse(memory, "memory") if memory is not None else hw.mapping.memory
    fuse = FusionPolicy.parse(fusion, "fusion") if fusion is not None else hw.mapping.fusion
    source = f"{wl.name} on {hw.name}"
    _check_hw(hw, source)
    check_compatible(wl, hw, source)
    routed = route_workload(wl, hw)
    layers = _by_layer(routed)
    producers = producer_layers(wl, source)
    chooser = MappingChooser(hw, zero_skip, source, goal,
                             overlap=policy is SchedulePolicy.OVERLAP)
    pairs = _fused_pairs(wl, hw, layers, producers, chooser, keep, fuse, source)
    tilings, chosen, views, pairs, halved = _tile_layers(
        wl, hw, layers, producers, chooser, keep, pairs, fuse is FusionPolicy.ALWAYS)
    by_layer = {g[0].layer_index: g for g in layers}
    units = _units(layers, pairs)
    for k, pr in enumerate(pairs):  # one chunk pipeline across the pair: ids interleave
        for s in (*by_layer[pr.producer], *by_layer[pr.consumer]):
            tilings[s.index] = replace(tilings[s.index], comp=_FUSED_COMP + k)
    ids = assign_ids(units, tilings)
    tiles, partials = build_tiles(routed, tilings, ids, hw, zero_skip, views)
    edges = {pr.consumer: fused_edges(pr, by_layer, ids, tiles, FUSION_BUFFER) for pr in pairs}
    plans, final = wire(wl, routed, layers, tilings, ids, partials, tiles, producers, policy,
                        {s.index: layout_name(s, chosen[s.index]) for s in routed
                         if s.index in chosen},
                        {name: sram.size_bytes - sram.tile_bytes
                         for name, sram in hw.buffers.items() if name in ("weights", "inputs")},
                        edges, frozenset(pr.producer for pr in pairs))
    meta: dict[str, object] = {"workload_hash": workload_hash(wl), "hw_hash": hwconfig_hash(hw),
                               "accelsim_version": __version__}
    fused_out = {pr.producer for pr in pairs}
    if keep is not MemoryPolicy.ROUNDTRIP:
        meta["memory"] = keep.value
        meta["activation_buffer"] = hw.mapping.activation_buffer
        meta["kept_outputs"] = [wl.layers[li].name for li in sorted(
            {s.layer_index for s in routed if tilings[s.index].memory.sink == RES}
            - fused_out)]
    if fuse is not FusionPolicy.OFF:
        meta["fusion"] = fuse.value
        meta["fused_layers"] = [[wl.layers[pr.producer].name, wl.layers[pr.consumer].name]
                                for pr in pairs]
        meta["fused_chunks"] = {wl.layers[pr.consumer].name: len(pr.grid) for pr in pairs}
    halo = {wl.layers[li].name: h for li, h in sorted(input_halos(routed, tilings).items())
            if h}
    meta["input_halo_bytes"] = sum(halo.values())
    if halo:
        meta["input_halo_by_layer"] = halo
        meta["input_halo_reused_bytes"] = sum(b.reused for t in tilings.values()
                                              for b in t.blocks)
    if halved:  # the tile size searched (mapping.tile_halvings): layers with smaller tiles
        meta["tile_fraction_by_layer"] = {wl.layers[li].name: f"1/{2 ** h}"
                                          for li, h in sorted(halved.items())}
    index = sum(t.memory.index_bytes for t in tilings.values())
    if index:
        meta["weight_index_bytes"] = index
    return Schedule(wl.name, hw.name, policy, zero_skip, tuple(la.name for la in wl.layers),
                    tuple(plans), tuple(final), meta,
                    prefetch=policy is SchedulePolicy.OVERLAP and hw.mapping.prefetch_weights)


#: chunk-pipeline index of the stages of fused pair ``k``: ``_FUSED_COMP + k`` (a layer's own
#: pipelines are numbered from 0)
_FUSED_COMP = 1 << 20


def _fused_pairs(wl: Workload, hw: HardwareConfig, layers: Sequence[Sequence[RoutedStage]],
                 producers: list[list[int]], chooser: MappingChooser, keep: MemoryPolicy,
                 fuse: FusionPolicy, source: str) -> list[FusedPair]:
    """The pairs to fuse: none (``off``), every legal pair (``always``; raises when one cannot
    be), or, in layer order, each pair whose addition improves the plan's score (``auto``)."""
    if fuse is FusionPolicy.OFF:
        return []
    pairs = fusable_pairs(wl, producers, layers, hw)
    if fuse is FusionPolicy.ALWAYS:
        check_buffer(hw, pairs, wl, source)
        return pairs
    act = hw.buffers.activations
    if act is None or hw.mapping.activation_buffer != FUSION_BUFFER:
        return []
    chosen: list[FusedPair] = []
    memo: dict[tuple[int, ...], tuple[object, TileCosts]] = {}
    best = _score(wl, hw, layers, producers, chooser, keep, chosen, memo)
    for pr in pairs:
        if pr.chunk_bytes > act.size_bytes:
            continue
        trial = _score(wl, hw, layers, producers, chooser, keep, [*chosen, pr], memo)
        if trial < best:
            chosen.append(pr)
            best = trial
    return chosen


def _score(wl: Workload, hw: HardwareConfig, layers: Sequence[Sequence[RoutedStage]],
           producers: list[list[int]], chooser: MappingChooser, keep: MemoryPolicy,
           pairs: list[FusedPair],
           memo: dict[tuple[int, ...], tuple[object, TileCosts]]
           ) -> float:
    """The objective of the plan with ``pairs`` fused (inf when one of them cannot be);
    ``memo``: each schedule unit's costs by the identity of its stages' tilings (the chooser
    hands out the same tiling objects for a layer tiled the same way; the entry keeps them
    alive so that their identities are not reused)."""
    try:
        tilings, _, views, used, _ = _tile_layers(wl, hw, layers, producers, chooser, keep,
                                                  pairs, False)
    except CompatibilityError:
        return math.inf
    if len(used) < len(pairs):
        return math.inf
    costs = []
    for unit in _units(layers, used):
        pinned = tuple(tilings[s.index] for s in unit) + tuple(
            views[li] for li in sorted({s.layer_index for s in unit}))
        key = tuple(id(x) for x in pinned)
        if key not in memo:
            memo[key] = (pinned, tile_costs(unit, tilings, hw, chooser.zero_skip, views))
        costs.append(memo[key][1])
    return plan_score(chooser.objective, costs, hw, chooser.leak_pj_per_cycle)


def _units(layers: Sequence[Sequence[RoutedStage]], pairs: Sequence[FusedPair]
           ) -> list[tuple[RoutedStage, ...]]:
    """The routed stages by schedule unit: a layer, or a fused pair's two layers."""
    consumers = {pr.consumer for pr in pairs}
    out: list[tuple[RoutedStage, ...]] = []
    for group in layers:
        if group[0].layer_index in consumers:
            out[-1] = (*out[-1], *group)
        else:
            out.append(tuple(group))
    return out


def _tile_layers(wl: Workload, hw: HardwareConfig, layers: Sequence[Sequence[RoutedStage]],
                 producers: list[list[int]], chooser: MappingChooser, keep: MemoryPolicy,
                 pairs: Sequence[FusedPair] = (), strict: bool = False
                 ) -> tuple[dict[int, StageTiling], dict[int, Layout],
                            dict[int, HardwareConfig], list[FusedPair], dict[int, int]]:
    """Choose and tile every layer under the residency plan. When a layer cannot be tiled
    beside the activations kept across it, the largest of them goes to DRAM instead and the
    layers are tiled again (each retry evicts one tensor, so this ends). A fused pair that
    cannot be tiled is cut on narrower bands, down to one row, then dropped (or, ``strict``,
    the error raised); one whose resident operands do not fit together has its producer
    reload its operands per tile, and is dropped (raised) if they still do not. Returns the
    tilings, the stages' layouts, each layer's view of the buffers, the pairs fused and the
    tile halvings of the layers whose tiles were cut below the buffers' tile budgets (by
    layer index)."""
    evicted: set[int] = set()
    lean: set[int] = set()  # fused producers that hold no operand resident
    pairs = list(pairs)
    by_layer = {g[0].layer_index: g for g in layers}
    while True:
        reserve = {li: pr.chunk_bytes for pr in pairs for li in (pr.producer, pr.consumer)}
        plan = plan_residency(wl, producers, hw, keep,
                              frozenset(evicted | {pr.producer for pr in pairs}), reserve,
                              {pr.consumer: pr.producer for pr in pairs})
        plan = pair_residency(plan, pairs, wl, frozenset(lean))
        grid = {li: pr.grid for pr in pairs for li in (pr.producer, pr.consumer)}
        tilings: dict[int, StageTiling] = {}
        chosen: dict[int, Layout] = {}
        halved: dict[int, int] = {}
        views: dict[int, HardwareConfig] = {}
        try:
            for group in layers:
                li = group[0].layer_index
                view = views[li] = buffer_view(hw, plan[li])
                choice = chooser.choose(group, view, plan[li], grid.get(li))
                chosen.update(choice.layouts)
                if choice.halvings:
                    halved[li] = choice.halvings
                tilings.update(chooser.tilings(group, choice))
        except CompatibilityError:
            pr = next((x for x in pairs if li in (x.producer, x.consumer)), None)
            if pr is not None:
                narrower = pr.narrower()
                if narrower is None and strict:
                    raise
                if narrower is None:
                    pairs.remove(pr)
                else:
                    pairs[pairs.index(pr)] = narrower
                continue
            across = kept_across(wl, producers, plan, li)
            if not across:
                raise
            evicted.add(max(across, key=lambda j: (wl.layers[j].output_bytes, j)))
            continue
        bad = [(pr, buf) for pr in pairs
               if (buf := holders_over(pr, by_layer, tilings, hw)) is not None]
        if not bad:
            return tilings, chosen, views, pairs, halved
        pr, buf = bad[0]
        if pr.producer not in lean:  # the producer reloads its operands per tile
            lean.add(pr.producer)
            continue
        if strict:
            raise CompatibilityError(Problem(
                f"buffers.{buf}.size_kib", getattr(hw.buffers, buf).size_kib,
                f"too small to fuse layers[{wl.layers[pr.producer].name}] -> "
                f"layers[{wl.layers[pr.consumer].name}]: the operands both keep resident "
                "exceed its residency budget (size less one tile) together"), chooser.source)
        pairs.remove(pr)


def layout_name(s: RoutedStage, layout: Layout) -> str:
    """How a stage's layout is recorded: its systolic mapping (``ws``, ``os``, ``is``, ``cp``),
    or its timing model (``tree``, ``binary``, ``elementwise``), with ``/channels`` when it runs
    channel blocks outer."""
    if isinstance(layout, SystolicMapping):
        return layout.value
    suffix = "/channels" if layout is ChunkOrder.CHANNELS else ""
    return s.timing.value + suffix


def input_halos(routed: Sequence[RoutedStage], tilings: dict[int, StageTiling]
                ) -> dict[int, int]:
    """Input halo bytes by layer index: what the layer's tiles read of its input beyond their
    proportional shares (the input rows neighbouring tiles of a convolution with windows larger
    than its stride both read; :class:`~accelsim.mapping.tiling.Halo`). 0 for a layer whose
    stages are not cut along the positions or whose windows do not overlap."""
    out: dict[int, int] = {}
    for s in routed:
        out[s.layer_index] = out.get(s.layer_index, 0) + sum(
            b.halo for b in tilings[s.index].blocks)
    return out


def _check_hw(hw: HardwareConfig, source: str) -> None:
    problems = []
    if not hw.dram.bandwidth_bytes_per_cycle > 0:
        problems.append(Problem("dram.bandwidth_bytes_per_cycle",
                                hw.dram.bandwidth_bytes_per_cycle, "must be > 0 to move any data"))
    for name, sram in hw.buffers.items():
        if not sram.bandwidth_bytes_per_cycle > 0:
            problems.append(Problem(f"buffers.{name}.bandwidth_bytes_per_cycle",
                                    sram.bandwidth_bytes_per_cycle, "must be > 0"))
        if sram.tile_bytes < 1:
            problems.append(Problem(f"buffers.{name}.size_kib", sram.size_kib,
                                    "must hold at least one byte per tile"))
    if problems:
        raise CompatibilityError(problems, source)


def _by_layer(routed: Sequence[RoutedStage]) -> tuple[tuple[RoutedStage, ...], ...]:
    """Routed stages grouped by layer (layers with at least one routed stage, in order)."""
    groups: dict[int, list[RoutedStage]] = {}
    for s in routed:
        groups.setdefault(s.layer_index, []).append(s)
    return tuple(tuple(groups[li]) for li in sorted(groups))


# -- ids and tiles ----------------------------------------------------------------------------
def assign_ids(layers: Sequence[Sequence[RoutedStage]], tilings: dict[int, StageTiling]
               ) -> dict[int, tuple[int, ...]]:
    """Tile ids of every routed stage's blocks (see module docstring)."""
    nxt = 0
    ids: dict[int, tuple[int, ...]] = {}
    for group in layers:
        for s in group:
            if s.index in ids:
                continue
            t = tilings[s.index]
            if t.comp < 0:
                ids[s.index] = tuple(range(nxt, nxt + len(t.blocks)))
                nxt += len(t.blocks)
                continue
            comp = [x for x in group if tilings[x.index].comp == t.comp]
            per: dict[int, dict[int, list[int]]] = {x.index: {} for x in comp}
            got: dict[int, list[int]] = {x.index: [0] * len(tilings[x.index].blocks) for x in comp}
            for x in comp:
                for j, b in enumerate(tilings[x.index].blocks):
                    per[x.index].setdefault(b.chunk, []).append(j)
            for c in sorted({c for x in comp for c in per[x.index]}):
                for x in comp:
                    for j in per[x.index].get(c, []):
                        got[x.index][j] = nxt
                        nxt += 1
            ids.update({k: tuple(v) for k, v in got.items()})
    return ids
