"""Operation and model-size totals of a workload, under the paper's accounting conventions.

``convention="actual"`` counts the network as built (integer hidden widths);
``convention="paper"`` multiplies every stage's operations and weights by its ``paper_scale``,
which reproduces the paper's fractional hidden widths (e.g. r = 1.33 c). See docs/accounting.md.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from accelsim.choices import Choice
from accelsim.workload.schema import Layer, Stage, Workload


class Convention(Choice):
    """How operations and model size are counted: ``actual`` (the network as built) or
    ``paper`` (each stage rescaled by its ``paper_scale``: the paper's fractional hidden
    widths); ``hbn2018`` is the per-layer binary-network accounting of :mod:`accelsim.hbn`,
    which the operation counts here do not apply."""

    ACTUAL = "actual"
    PAPER = "paper"
    HBN2018 = "hbn2018"  #: Chakraborty et al.'s binary accounting (accelsim.hbn)


@dataclass(frozen=True)
class Counts:
    """Operations by class (``mac``, ``add``, ``mul``...) and stored model size in bytes.

    Counts are floats only under the paper convention (fractional hidden widths)."""

    name: str
    ops: Mapping[str, float]
    model_size_bytes: float

    @property
    def macs(self) -> float:
        return self.ops.get("mac", 0)

    @property
    def adds(self) -> float:
        return self.ops.get("add", 0)

    @property
    def muls(self) -> float:
        return self.ops.get("mul", 0)

    @property
    def model_size_kb(self) -> float:
        return self.model_size_bytes / 1024


def stage_ops(stage: Stage, *, zero_skip: bool = False, convention: str = Convention.ACTUAL
              ) -> float:
    """Operations of ``stage`` (non-zero ones with ``zero_skip``) under ``convention``."""
    n = stage.ops(zero_skip)
    return n * stage.paper_scale if convention == Convention.PAPER else n


def stage_weight_bytes(stage: Stage, convention: str = Convention.ACTUAL) -> float:
    """Stored bytes of ``stage``'s weights under ``convention``."""
    if convention == Convention.PAPER:
        return sum(w.count * w.bits for w in stage.weights) * stage.paper_scale / 8
    return stage.weight_bytes


def layer_counts(layer: Layer, *, zero_skip: bool = False,
                 convention: str = Convention.ACTUAL) -> Counts:
    _check(convention)
    ops: dict[str, float] = {}
    size = 0.0
    for st in layer.stages:
        ops[st.op] = ops.get(st.op, 0) + stage_ops(st, zero_skip=zero_skip,
                                                        convention=convention)
        size += stage_weight_bytes(st, convention)
    return Counts(layer.name, ops, size)


def workload_counts(wl: Workload, *, zero_skip: bool = False, convention: str = Convention.ACTUAL
                    ) -> Counts:
    """Totals over the network (``macs``, ``muls``, ``adds``, ``model_size_bytes``)."""
    ops: dict[str, float] = {}
    size = 0.0
    for layer in wl.layers:
        c = layer_counts(layer, zero_skip=zero_skip, convention=convention)
        for k, v in c.ops.items():
            ops[k] = ops.get(k, 0) + v
        size += c.model_size_bytes
    return Counts(wl.name, ops, size)


def counts_table(wl: Workload, *, zero_skip: bool = False, convention: str = Convention.ACTUAL
                 ) -> dict:
    """Plain-data totals and per-layer rows (what ``accelsim counts --json`` prints)."""
    total = workload_counts(wl, zero_skip=zero_skip, convention=convention)
    rows = []
    for layer in wl.layers:
        c = layer_counts(layer, zero_skip=zero_skip, convention=convention)
        rows.append({"name": layer.name, "kind": layer.kind, "variant": layer.variant,
                     "macs": c.macs, "muls": c.muls, "adds": c.adds,
                     "adds_nonzero": layer_counts(layer, zero_skip=True,
                                                  convention=convention).adds,
                     "model_size_bytes": c.model_size_bytes})
    return {"workload": wl.name, "convention": convention, "zero_skip": zero_skip,
            "totals": {"macs": total.macs, "muls": total.muls, "adds": total.adds,
                       "model_size_bytes": total.model_size_bytes,
                       "model_size_kb": total.model_size_kb,
                       "ops": dict(total.ops)},
            "layers": rows}


def _check(convention: str) -> None:
    Convention.parse(convention, "convention")
