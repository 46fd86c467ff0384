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
"""
from __future__ import annotations

from collections.abc import Sequence

from accelsim import __version__
from accelsim.choices import MappingObjective, MemoryPolicy, SchedulePolicy
from accelsim.errors import CompatibilityError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.hw.load import hwconfig_hash
from accelsim.mapping.build import RoutedStage, route_workload
from accelsim.mapping.choice import MappingChooser
from accelsim.mapping.deps import producer_layers, wire
from accelsim.mapping.memory import RES, StageTiling
from accelsim.mapping.residency import buffer_view, kept_across, plan_residency
from accelsim.mapping.schedule import Schedule
from accelsim.mapping.tiles import build_tiles
from accelsim.mapping.units import ChunkOrder, Layout, SystolicMapping
from accelsim.routing import check_compatible
from accelsim.workload.load import workload_hash
from accelsim.workload.schema import Workload


def map_workload(wl: Workload, hw: HardwareConfig,
                 schedule: SchedulePolicy | str = SchedulePolicy.SEQUENTIAL,
                 zero_skip: bool = False, objective: MappingObjective | str | None = None,
                 memory: MemoryPolicy | str | None = None) -> Schedule:
    """Map ``wl`` onto ``hw``.

    ``schedule``: ``"sequential"`` (barrier between layers) or ``"overlap"``; ``zero_skip``:
    count and time ternary stages by their non-zero weights (as the config's
    ``adder_array.zero_handling`` says); ``objective``: what the per-layer choices minimise
    (default: the config's ``mapping.objective``); ``memory``: where activations live between
    layers (default: the config's ``mapping.memory``). Raises
    :class:`~accelsim.errors.InputError` for an unknown schedule, objective or memory policy,
    and :class:`~accelsim.errors.CompatibilityError` when a stage needs a unit class the config
    has none of, a buffer cannot hold one minimal tile, or a bandwidth is not positive."""
    policy = SchedulePolicy.parse(schedule, "schedule")
    goal = MappingObjective.parse(objective, "objective") if objective is not None else \
        hw.mapping.objective
    keep = MemoryPolicy.parse(memory, "memory") if memory is not None else hw.mapping.memory
    source = f"{wl.name} on {hw.name}"
    _check_hw(hw, source)
    check_compatible(wl, hw, source)
    routed = route_workload(wl, hw)
    layers = _by_layer(routed)
    producers = producer_layers(wl, source)
    chooser = MappingChooser(hw, zero_skip, source, goal,
                             overlap=policy is SchedulePolicy.OVERLAP)
    tilings, chosen, views, halved = _tile_layers(wl, hw, layers, producers, chooser, keep)
    ids = assign_ids(layers, tilings)
    tiles, partials = build_tiles(routed, tilings, ids, hw, zero_skip, views)
    plans, final = wire(wl, routed, layers, tilings, ids, partials, tiles, producers, policy,
                        {s.index: layout_name(s, chosen[s.index]) for s in routed
                         if s.index in chosen},
                        {name: sram.size_bytes - sram.tile_bytes
                         for name, sram in hw.buffers.items() if name in ("weights", "inputs")})
    meta: dict[str, object] = {"workload_hash": workload_hash(wl), "hw_hash": hwconfig_hash(hw),
                               "accelsim_version": __version__}
    if keep is not MemoryPolicy.ROUNDTRIP:
        meta["memory"] = keep.value
        meta["activation_buffer"] = hw.mapping.activation_buffer
        meta["kept_outputs"] = [wl.layers[li].name for li in sorted(
            {s.layer_index for s in routed if tilings[s.index].memory.sink == RES})]
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


def _tile_layers(wl: Workload, hw: HardwareConfig, layers: Sequence[Sequence[RoutedStage]],
                 producers: list[list[int]], chooser: MappingChooser, keep: MemoryPolicy
                 ) -> tuple[dict[int, StageTiling], dict[int, Layout],
                            dict[int, HardwareConfig], dict[int, int]]:
    """Choose and tile every layer under the residency plan. When a layer cannot be tiled
    beside the activations kept across it, the largest of them goes to DRAM instead and the
    layers are tiled again (each retry evicts one tensor, so this ends). Returns the tilings,
    the stages' layouts, each layer's view of the buffers and the tile halvings of the layers
    whose tiles were cut below the buffers' tile budgets (by layer index)."""
    evicted: set[int] = set()
    while True:
        plan = plan_residency(wl, producers, hw, keep, frozenset(evicted))
        tilings: dict[int, StageTiling] = {}
        chosen: dict[int, Layout] = {}
        halved: dict[int, int] = {}
        views: dict[int, HardwareConfig] = {}
        try:
            for group in layers:
                li = group[0].layer_index
                view = views[li] = buffer_view(hw, plan[li])
                choice = chooser.choose(group, view, plan[li])
                chosen.update(choice.layouts)
                if choice.halvings:
                    halved[li] = choice.halvings
                tilings.update(chooser.tilings(group, choice))
            return tilings, chosen, views, halved
        except CompatibilityError:
            across = kept_across(wl, producers, plan, li)
            if not across:
                raise
            evicted.add(max(across, key=lambda j: (wl.layers[j].output_bytes, j)))


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
