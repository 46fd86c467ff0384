"""The first pass of the mapping: every stage routed to a unit class, with its producer edges.

:func:`route_workload` returns one frozen :class:`RoutedStage` per stage that runs on its own
(a bias fused into the MAC stage it follows gets no record: it rides on that stage, named in
``fused``). Later passes key their results by :attr:`RoutedStage.index`: the memory policy
(:func:`accelsim.mapping.memory.plan_layer_memory`), the tiling
(:class:`accelsim.mapping.memory.StageTiling`) and the tiles (:mod:`accelsim.mapping.mapper`),
the dependencies (:mod:`accelsim.mapping.deps`).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from accelsim.errors import CompatibilityError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.routing import assign
from accelsim.workload.schema import LAYER_INPUT, Layer, Stage, Workload


class TimingModel(StrEnum):
    """How a stage's blocks are timed (:mod:`accelsim.mapping.units`): on the ``systolic`` MAC
    array, on ``tree`` s of adders, on the ``binary`` lanes (word operations), or
    ``elementwise`` (one operation per unit per cycle)."""

    SYSTOLIC = "systolic"
    TREE = "tree"
    ELEMENTWISE = "elementwise"
    BINARY = "binary"


def timing_model(st: Stage, unit: str) -> TimingModel:
    """Timing model of ``st`` on unit class ``unit``."""
    if unit == "xnor":
        return TimingModel.BINARY
    if st.k <= 1 or st.role == "eltwise" or unit == "mul":
        return TimingModel.ELEMENTWISE
    return TimingModel.SYSTOLIC if unit == "mac" else TimingModel.TREE


@dataclass(frozen=True)
class RoutedStage:
    """A stage that runs on its own, routed.

    ``index``: position among all routed stages (workload order); ``layer_index``/``layer``;
    ``stage``; ``unit``: the unit class that runs it; ``op_key``: the key its operations are
    counted under (``"add"``, ``"add@mac"``); ``timing``; ``fused``: stages fused into it (their
    operations counted under ``fused_key``); ``producer``: index of the routed stage of the same
    layer whose output it reads (None: the layer's input); ``consumers``: indices of the routed
    stages that read its output."""

    index: int
    layer_index: int
    layer: Layer
    stage: Stage
    unit: str
    op_key: str
    timing: TimingModel
    fused: tuple[Stage, ...] = ()
    fused_key: str = ""
    producer: int | None = None
    consumers: tuple[int, ...] = ()

    @property
    def chunked(self) -> bool:
        """Tiled position chunk by position chunk (everything but the systolic array)."""
        return self.timing is not TimingModel.SYSTOLIC


def route_workload(wl: Workload, hw: HardwareConfig) -> tuple[RoutedStage, ...]:
    """Route every stage of ``wl`` on ``hw`` (see module docstring). Raises
    :class:`CompatibilityError` for a ``fuse_into`` chain that ends at no stage running on its
    own."""
    out: list[RoutedStage] = []
    for li, layer in enumerate(wl.layers):
        out.extend(_route_layer(li, layer, hw, len(out)))
    return tuple(out)


def _route_layer(li: int, layer: Layer, hw: HardwareConfig, first: int) -> list[RoutedStage]:
    fused_into: dict[str, list[Stage]] = {}
    fused_key: dict[str, str] = {}
    own: list[tuple[Stage, str, str]] = []
    pending: list[tuple[Stage, str | None, str]] = []
    for st in layer.stages:
        a = assign(st, layer, hw)
        if a.fused:
            pending.append((st, st.fuse_into, a.op_key))
        else:
            own.append((st, a.unit, a.op_key))
    names = {st.name for st, _, _ in own}
    for st, target, key in pending:
        for _ in layer.stages:  # fused into a fused stage: follow the chain
            if target is None or target in names:
                break
            target = layer.stage(target).fuse_into
        if target is None or target not in names:
            raise CompatibilityError(Problem(f"layers[{layer.name}].stages[{st.name}].fuse_into",
                                             st.fuse_into, "names no stage that runs on its own"))
        fused_into.setdefault(target, []).append(st)
        fused_key[target] = key
    index = {st.name: first + i for i, (st, _, _) in enumerate(own)}
    for target, stages in fused_into.items():
        for f in stages:
            index.setdefault(f.name, index[target])
    producer: dict[int, int] = {}
    for i, (st, _, _) in enumerate(own):
        if st.reads == LAYER_INPUT:
            continue
        p = index.get(st.reads)
        if p is not None and p != first + i:
            producer[first + i] = p
    consumers: dict[int, list[int]] = {}
    for c, p in producer.items():
        consumers.setdefault(p, []).append(c)
    return [RoutedStage(first + i, li, layer, st, unit, key, timing_model(st, unit),
                        tuple(fused_into.get(st.name, ())), fused_key.get(st.name, ""),
                        producer.get(first + i), tuple(consumers.get(first + i, ())))
            for i, (st, unit, key) in enumerate(own)]

