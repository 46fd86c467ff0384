"""Which unit class runs each stage on a given config: the one rule shared by every model.

This is the only module that looks at a workload and a hardware config together (besides the
mapping): :func:`assign` routes a stage, :func:`check_compatible` rejects a workload that needs a
unit class the config has none of, naming the layer, the stage and the config field.
"""
from __future__ import annotations

from dataclasses import dataclass

from accelsim.errors import CompatibilityError, Problem
from accelsim.hw.config import HardwareConfig
from accelsim.hw.schema import ARRAY_UNITS, COUNT_FIELDS
from accelsim.workload.schema import Layer, Stage, Workload

_ARRAY_OF = {unit: array for array, unit in ARRAY_UNITS.items()}
#: The operation class of binary dot products on packed words (docs/workload-format.md).
XNOR = "xnor"


def binary_word_ops(st: Stage, hw: HardwareConfig) -> int | None:
    """The word operations ``hw`` executes for a binary dot-product stage (op ``xnor``):
    ``m * n * ceil(k / binary_array.word_bits)``, whatever word width the trace recorded (the
    cost table prices an ``xnor`` operation per word); None for any other stage, whose
    operations are counted as the workload gives them."""
    if st.op != XNOR:
        return None
    return st.word_ops(hw.binary_array.word_bits)


@dataclass(frozen=True)
class Assignment:
    """Where a stage runs: ``unit`` class, the key its operations are counted under (``"add"``, or
    ``"add@mac"`` when an add runs on MAC units) and whether it is ``fused`` (performed inside the
    stage it is fused into, e.g. a bias preloaded into the MAC accumulators: no cycles of its own).
    """

    unit: str
    op_key: str
    fused: bool


def assign(stage: Stage, layer: Layer, hw: HardwareConfig) -> Assignment:
    """Route ``stage`` of ``layer`` on ``hw``.

    A stage with ``fuse_into`` is fused when the target stage's unit class can also perform the
    stage's operation class (MAC units can add, so a bias is preloaded into the accumulators).
    Otherwise the stage runs on ``hw.unit_for(stage.op)``.
    """
    if stage.fuse_into is not None:
        target = hw.unit_for(layer.stage(stage.fuse_into).op)
        unit_cls = hw.units.get(target)
        if unit_cls is not None and stage.op in unit_cls.executes:
            key = stage.op if target == stage.op else f"{stage.op}@{target}"
            return Assignment(target, key, True)
    unit = hw.unit_for(stage.op)
    key = stage.op if unit == stage.op else f"{stage.op}@{unit}"
    return Assignment(unit, key, False)


def check_compatible(wl: Workload, hw: HardwareConfig, source: str | None = None) -> None:
    """Raise :class:`CompatibilityError` listing every stage that needs a unit the config lacks."""
    problems = []
    seen: set[tuple[str, str]] = set()
    for layer in wl.layers:
        for st in layer.stages:
            a = assign(st, layer, hw)
            if a.fused or (a.unit, st.op) in seen:
                continue
            count = hw.counts.get(a.unit, 0)
            unit_cls = hw.units.get(a.unit)
            if count <= 0 or unit_cls is None:
                array = _ARRAY_OF.get(a.unit, a.unit)
                field = f"{array}.{COUNT_FIELDS.get(array, 'count')}"
                problems.append(Problem(
                    f"layers[{layer.name}].stages[{st.name}].unit", st.op,
                    f"needs '{a.unit}' units but the config has none ({field} = "
                    f"{count}); add them or route '{st.op}' elsewhere with route.{st.op}"))
                seen.add((a.unit, st.op))
            elif st.op not in unit_cls.executes:
                problems.append(Problem(f"layers[{layer.name}].stages[{st.name}].unit", st.op,
                                        f"units.{a.unit}.executes does not include it"))
                seen.add((a.unit, st.op))
    if problems:
        raise CompatibilityError(problems, source or f"{wl.name} on {hw.name}")
