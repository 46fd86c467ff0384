"""Which modules of a reference network are traced layers, and how to walk them in order.

Kept apart from :mod:`accelsim.reference.trace` so that model builders can walk their own layers
without importing the tracer (which imports the builders).
"""
from __future__ import annotations

from collections.abc import Iterator

from torch import nn

from accelsim.reference.binary_trace import BINARY_COUNTED
from accelsim.reference.layers import (
    EltwiseAdd,
    HybridConv2d,
    StrassenConv2d,
    StrassenLinear,
    TernaryConv2d,
    TernaryLinear,
)

#: Module types that are one traced layer each (their children are not traced separately).
COUNTED = (nn.Conv2d, nn.Linear, TernaryConv2d, TernaryLinear, StrassenConv2d, StrassenLinear,
           HybridConv2d, EltwiseAdd) + BINARY_COUNTED


def iter_layers(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """``(layer_name, module)`` for every counted layer, in trace (= execution) order; names
    are dotted module paths (``"pw3"``, ``"layer2.0.shortcut"``)."""
    def walk(module: nn.Module, prefix: str) -> Iterator[tuple[str, nn.Module]]:
        for name, child in module.named_children():
            full = f"{prefix}.{name}" if prefix else name
            if isinstance(child, COUNTED):
                yield full, child
            else:
                yield from walk(child, full)
    yield from walk(model, "")
