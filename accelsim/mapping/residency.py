"""Which layer outputs stay on chip between layers: the global residency pass.

Under ``mapping.memory: resident`` a layer's output is kept in the activation
buffer (``mapping.activation_buffer``: the ``outputs`` buffer or a dedicated ``activations``
global buffer) from the layer that writes it to the last layer that reads it, instead of going
to DRAM and back. Layers are visited in order and a tensor is kept when, over its whole
lifetime, it fits beside every tensor already kept (greedy, first come first kept):

* in a dedicated ``activations`` buffer the kept tensors may fill it;
* in the ``outputs`` buffer they may fill all but one working tile (``tile_bytes``), and every
  layer is tiled as if the buffer were smaller by the bytes kept while it runs (its *view* of
  the buffer, :func:`buffer_view`), so the working tiles of a layer and the tensors kept across
  it never exceed the buffer together.

The network's outputs (tensors no layer reads) always go to DRAM. Under these policies the
stages that read a layer's input from DRAM (the fp16 and W_b branches of a hybrid layer) also
share one read of it when it fits the input buffer (``Residency.share_input``). A consumer
layer reads the kept part of its input from the activation buffer; for a layer with several
producers (a residual add) the kept producers' share of its input is read on chip, the rest
from DRAM. The last layer that reads a kept tensor frees it (its last stage, after every
stage that reads the tensor). The result is a :class:`Residency` per layer; the mapper applies
it (:func:`accelsim.mapping.memory.plan_layer_memory`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from accelsim.choices import MemoryPolicy
from accelsim.hw.config import HardwareConfig, Sram
from accelsim.workload.schema import Workload


@dataclass(frozen=True)
class Residency:
    """One layer's part in the residency plan.

    ``output_kept``: its output stays in the activation buffer; ``input_kept``: bytes of its
    input produced by kept tensors (read on chip), of ``input_total`` (the producers' outputs
    summed); ``frees``: bytes of kept tensors whose last reader it is (freed when it is done);
    ``live``: bytes of kept tensors in the activation buffer while it runs (its own input and
    output included); ``share_input``: stages that read the layer's input from DRAM (both
    branches of a hybrid layer) share one read of it when it fits the input buffer;
    ``holds``: its stages may keep operands (weights, DRAM inputs) resident across their tiles
    (off for the producer of a fused pair whose operands do not fit beside its consumer's,
    :mod:`accelsim.mapping.fusion`)."""

    output_kept: bool = False
    input_kept: int = 0
    input_total: int = 0
    frees: int = 0
    live: int = 0
    share_input: bool = False
    holds: bool = True

    @property
    def input_share(self) -> float:
        """Fraction of the layer's input read from the activation buffer."""
        return self.input_kept / self.input_total if self.input_total else 0.0


NONE = Residency()


def plan_residency(wl: Workload, producers: Sequence[Sequence[int]], hw: HardwareConfig,
                   policy: MemoryPolicy, evicted: frozenset[int] = frozenset(),
                   reserve: Mapping[int, int] | None = None,
                   born: Mapping[int, int] | None = None) -> tuple[Residency, ...]:
    """The residency of every layer (see module docstring); ``evicted``: layers whose output
    must go to DRAM whatever fits (the mapper evicts a tensor when a layer cannot be tiled
    beside the tensors kept across it); ``reserve``: bytes of the activation buffer taken while
    a layer runs before any tensor is kept (the chunks of a fused pair's intermediate map,
    :mod:`accelsim.mapping.fusion`); ``born``: the layer from which a kept output takes its
    space when earlier than the layer that writes it (a fused consumer's output, reserved when
    its pair starts)."""
    n = len(wl.layers)
    if policy is MemoryPolicy.ROUNDTRIP or n == 0:
        return (NONE,) * n
    act_name = hw.mapping.activation_buffer
    act: Sram = getattr(hw.buffers, act_name)
    cap = act.size_bytes - (act.tile_bytes if act_name == "outputs" else 0)
    readers: list[list[int]] = [[] for _ in range(n)]
    for li, prods in enumerate(producers):
        for p in prods:
            readers[p].append(li)
    live = [(reserve or {}).get(li, 0) for li in range(n)]
    kept = [False] * n
    for j, layer in enumerate(wl.layers):
        size = layer.output_bytes
        if not readers[j] or j in evicted or size <= 0:
            continue
        first, last = (born or {}).get(j, j), max(readers[j])
        if max(live[first:last + 1]) + size <= cap:
            kept[j] = True
            for li in range(first, last + 1):
                live[li] += size
    out = []
    for li, prods in enumerate(producers):
        total = sum(wl.layers[p].output_bytes for p in prods)
        mine = sum(wl.layers[p].output_bytes for p in prods if kept[p])
        frees = sum(wl.layers[p].output_bytes for p in prods
                    if kept[p] and max(readers[p]) == li)
        out.append(Residency(kept[li], mine, total, frees, live[li], share_input=True))
    return tuple(out)


def kept_across(wl: Workload, producers: Sequence[Sequence[int]],
                plan: Sequence[Residency], li: int) -> list[int]:
    """Layers whose kept output is live while layer ``li`` runs (its own output included)."""
    last: dict[int, int] = {}
    for r, prods in enumerate(producers):
        for p in prods:
            last[p] = max(last.get(p, r), r)
    return [j for j in range(len(wl.layers)) if plan[j].output_kept and j <= li <= last[j]]


def buffer_view(hw: HardwareConfig, res: Residency) -> HardwareConfig:
    """``hw`` as one layer sees it: the ``outputs`` buffer smaller by the bytes kept in it
    while the layer runs (a dedicated activation buffer is left as it is: nothing else lives
    there). The layer's tiles are cut for this view."""
    if hw.mapping.activation_buffer != "outputs" or res.live <= 0:
        return hw
    out = hw.buffers.outputs
    size = max(out.size_bytes - res.live, 0) / 1024
    return replace(hw, buffers=replace(hw.buffers, outputs=_sized(out, size)))


def _sized(sram: Sram, size_kib: float) -> Sram:
    return replace(sram, size_kib=size_kib)
