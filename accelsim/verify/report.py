"""What ``accelsim verify`` found: frozen records of plain numbers (no torch, no numba)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class StageCheck:
    """Operations the kernels counted for one workload stage, dense and zero-skipping, next to
    what the workload says (``ops_dense`` / ``ops_nonzero`` of class ``unit``); for a binary
    ``xnor`` stage also the 64-bit word operations against the workload's ``ops_words``."""

    stage: str
    unit: str
    dense_expected: int
    dense_counted: int
    nonzero_expected: int
    nonzero_counted: int
    words_expected: int | None = None
    words_counted: int | None = None

    @property
    def ok(self) -> bool:
        return (self.dense_expected == self.dense_counted
                and self.nonzero_expected == self.nonzero_counted
                and self.words_expected == self.words_counted)


@dataclass(frozen=True)
class LayerCheck:
    """One layer: the kernels' output against the reference module's (worst of the dense and
    the zero-skipping run), and their op counts against the workload.

    ``max_abs_err``: max |kernel - torch| in float32; ``max_rel_err``: that over max |torch|
    (normwise); ``bound_ratio``: max of |kernel - torch| / (2 gamma(n) A), the error as a
    fraction of the float32 rounding bound (<= 1 passes; docs/kernels.md);
    ``bound_ratio_fp64``: the same for the kernels run in float64 against a float64 evaluation
    of the layer's arrays (a bound ~1e-9 as tight, which a single wrong term exceeds);
    ``problems``: why the layer fails (empty when it passes); ``seconds``: wall time;
    ``dots_exact``: for a FullBinConv layer, whether the kernel's integer dot products equal
    torch's exactly (``None`` for other layers).
    """

    name: str
    kind: str
    out_shape: tuple[int, ...]
    max_abs_err: float
    max_rel_err: float
    bound_ratio: float
    bound_ratio_fp64: float
    stages: tuple[StageCheck, ...]
    problems: tuple[str, ...] = ()
    seconds: float = 0.0
    dots_exact: bool | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class VerifyReport:
    """Every layer of one network. ``workload``: the workload's name; ``source``: the file or
    ``"model options"``; ``spec``: the reference ModelSpec's fields; ``problems``: network-level
    problems (layers present in only one of the model and the workload)."""

    workload: str
    source: str
    spec: Mapping[str, Any]
    layers: tuple[LayerCheck, ...]
    problems: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and all(layer.ok for layer in self.layers)

    @property
    def failures(self) -> tuple[LayerCheck, ...]:
        return tuple(layer for layer in self.layers if not layer.ok)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``--json`` output)."""
        doc = asdict(self)
        doc["spec"] = dict(self.spec)
        doc["ok"] = self.ok
        for layer, out in zip(self.layers, doc["layers"]):
            out["ok"] = layer.ok
        return doc
