"""The work a mapping implies, bounded *before* mapping: tiles, systolic folds and cycles.

A workload of a few hundred bytes can ask for billions of tiles (a large ``m`` on tiny buffers,
a big layer on a 1 x 1 MAC array), and a valid config can make the cycles of a small workload
astronomical (a bandwidth of 1e-15 bytes per cycle). :func:`mapping_budget` estimates, from the
workload's stage geometry and the config's array and buffer sizes alone (no tile is built):

* ``folds``: the systolic folds of every stage on the MAC array, exactly for each layout (the
  closed form of :func:`accelsim.mapping.units.systolic_folds`), under the layout with the most
  of those the mapping may choose (``mac_array.dataflows``, channel-parallel depthwise): the
  mapping lists them all;
* ``tiles``: an upper estimate of the tiles: per stage, its folds (systolic) or channel blocks
  (trees, element-wise), each cut into as many chunks as its share of the stage's bytes needs
  tiles of the smallest buffer's tile size;
* ``cycles``: an upper estimate of the fully serialised time: compute at one fold or one unit
  per operation at a time, every byte through the slowest port, every tile paying the latencies.

:func:`check_budget` raises a one-line :class:`~accelsim.errors.InputError` when the tiles or
folds exceed :data:`accelsim.limits.TILES` (``ACCELSIM_MAX_TILES`` raises it) or the cycles
exceed :data:`accelsim.limits.NUMBER` (the models' exact arithmetic), naming what drives the
number. :func:`accelsim.evaluate.evaluate` calls it before :func:`~accelsim.mapping.map_workload`.
"""
from __future__ import annotations

from dataclasses import dataclass

from accelsim.errors import CompatibilityError, Problem
from accelsim.hw.config import HardwareConfig, MacArray
from accelsim.limits import NUMBER, TILES
from accelsim.mapping.build import TimingModel, timing_model
from accelsim.mapping.units import SystolicMapping, cp_shape, mappings
from accelsim.routing import assign
from accelsim.workload.schema import Stage, Workload


@dataclass(frozen=True)
class Budget:
    """Estimated work of mapping a workload on a config (see module docstring): ``folds`` and
    ``tiles`` in total, ``cycles`` serialised; ``largest`` names the stage with the most tiles
    (``layers[x].stages[y]``) and ``largest_tiles`` its estimate."""

    folds: int
    tiles: int
    cycles: float
    largest: str
    largest_tiles: int
    transfer_cycles: float = 0.0


def fold_count(m: int, n: int, k: int, groups: int, mac: MacArray,
               mapping: SystolicMapping | None = None) -> int:
    """Number of folds :func:`accelsim.mapping.units.systolic_folds` lists under ``mapping``
    (default: the array's dataflow), without listing them (closed form; 0 for an empty
    array)."""
    r, c = mac.rows, mac.cols
    if r <= 0 or c <= 0:
        return 0
    mp = mapping if mapping is not None else SystolicMapping(mac.dataflow.value)
    ng = n // groups
    if mp is SystolicMapping.CP:
        rows, vcols = cp_shape(m, groups, r, c)
        return -(-groups // vcols) * -(-m // rows)
    if mp is SystolicMapping.IS:
        return groups * -(-m // c) * -(-k // r)
    ws = mp is SystolicMapping.WS
    if groups > 1 and ng <= c and (k <= r or not ws):
        b = max(1, min(c // ng, groups, r // k if ws else groups))
        packs = -(-groups // b)
        return packs if ws else packs * -(-m // r)
    per_group = -(-ng // c) * (-(-k // r) if ws else -(-m // r))
    return groups * per_group


def _systolic_estimate(st: Stage, mac: MacArray, mp: SystolicMapping, t_in: int, t_out: int,
                       t_w: int) -> tuple[int, int, int]:
    """(folds, tiles, streamed operands per fold) of a systolic stage laid out as ``mp``: one
    fold's slices of the inputs, outputs and weights, a fold that does not fit its buffers cut
    into chunks that do (upper estimates)."""
    f = fold_count(st.m, st.n, st.k, st.groups, mac, mp)
    r, c = mac.rows, mac.cols
    m, n, k, g = max(1, st.m), max(1, st.n), max(1, st.k), max(1, st.groups)
    if mp is SystolicMapping.CP:
        rows, vcols = cp_shape(st.m, st.groups, r, c)
        share = min(vcols, g) / g * min(rows, m) / m
        in_fold, out_fold = int(st.in_bytes * share), int(st.out_bytes * share)
        w_fold = st.weight_bytes * min(vcols, g) // g
        stream = k
    elif mp is SystolicMapping.IS:  # rows hold terms, columns positions, channels stream
        in_fold = int(st.in_bytes * min(r, k) / k * min(c, m) / m)
        out_fold = st.out_bytes * min(c, m) // m
        w_fold = st.weight_bytes * min(r, k) // k
        stream = max(1, st.n // g)
    else:
        ws = mp is SystolicMapping.WS
        rows, cols = min(r, st.m if not ws else st.k), min(c, st.n)
        in_fold = st.in_bytes * rows // (k if ws else m)
        out_fold = st.out_bytes * cols // n
        w_fold = 0 if ws else st.weight_bytes * cols // n
        stream = st.m if ws else st.k
    chunks = 1 + max(in_fold // t_in, out_fold // t_out, w_fold // t_w)
    return f, f * chunks, stream


def mapping_budget(wl: Workload, hw: HardwareConfig) -> Budget:
    """The estimates of the module docstring for ``wl`` on ``hw`` (no tile is built)."""
    bufs = dict(hw.buffers.items())
    t_in = max(1, min(bufs["inputs"].tile_bytes, bufs["hidden"].tile_bytes))
    t_out = max(1, min(bufs["outputs"].tile_bytes, bufs["hidden"].tile_bytes))
    t_w = max(1, bufs["weights"].tile_bytes)
    port = min([s.bandwidth_bytes_per_cycle for _, s in hw.buffers.items()]
               + [hw.dram.bandwidth_bytes_per_cycle])
    mac = hw.mac_array
    fill = 2 * mac.rows + mac.cols + mac.pipeline_latency_cycles
    per_tile = hw.dram.latency_cycles + max(hw.adder_array.latency_cycles * 16,
                                            hw.multiplier_array.latency_cycles,
                                            hw.binary_array.latency_cycles, fill)
    folds = tiles = 0
    cycles = transfer = 0.0
    largest, most = "", 0
    for layer in wl.layers:
        for st in layer.stages:
            a = assign(st, layer, hw)
            if a.fused:
                continue
            nbytes = st.in_bytes + st.out_bytes + st.weight_bytes
            count = max(1, hw.counts.get(a.unit, 0))
            if timing_model(st, a.unit) is TimingModel.SYSTOLIC:
                # the layout the mapping chooses is not known yet: the most of every candidate
                est = [_systolic_estimate(st, mac, mp, t_in, t_out, t_w)
                       for mp in mappings(mac, st.groups, st.n)]
                f = max(e[0] for e in est)
                t = max(e[1] for e in est)
                folds += f
                cycles += max(e[0] * (e[2] + fill) for e in est) + st.ops_dense / count
            else:
                blocks = 1 + st.weight_bytes // t_w
                t = blocks * (1 + max(st.in_bytes // t_in, st.out_bytes // blocks // t_out))
                t = t * 5 // 2  # a pipeline's chunk grid follows its largest stage
                cycles += st.ops_dense / count + t
            tiles += t
            transfer += nbytes / port
            cycles += nbytes / port + t * per_tile
            if t > most:
                largest, most = f"layers[{layer.name}].stages[{st.name}]", t
    return Budget(folds, tiles, cycles, largest, most, transfer)


def check_budget(wl: Workload, hw: HardwareConfig, source: str | None = None) -> Budget:
    """:func:`mapping_budget`, or :class:`CompatibilityError` (bad input, exit status 2) when the
    mapping would build more than :data:`~accelsim.limits.TILES` tiles or folds, or its
    serialised cycles exceed :data:`~accelsim.limits.NUMBER`."""
    b = mapping_budget(wl, hw)
    source = source or f"{wl.name} on {hw.name}"
    limit = TILES.value()
    if b.folds > limit:
        raise CompatibilityError(Problem(
            "mac_array.rows", hw.mac_array.rows,
            f"a {hw.mac_array.rows} x {hw.mac_array.cols} array needs {b.folds:,} folds for "
            f"this workload ({b.largest} alone about {b.largest_tiles:,} tiles): "
            + TILES.exceeded(b.folds)), source)
    if b.tiles > limit:
        small = min(hw.buffers.items(), key=lambda kv: kv[1].tile_bytes)
        raise CompatibilityError(Problem(
            f"buffers.{small[0]}.size_kib", small[1].size_kib,
            f"with buffers this small the mapping would build about {b.tiles:,} tiles "
            f"({b.largest} alone about {b.largest_tiles:,}): " + TILES.exceeded(b.tiles)),
            source)
    if b.cycles > NUMBER:
        ports = [(f"buffers.{n}.bandwidth_bytes_per_cycle", s.bandwidth_bytes_per_cycle)
                 for n, s in hw.buffers.items()]
        ports.append(("dram.bandwidth_bytes_per_cycle", hw.dram.bandwidth_bytes_per_cycle))
        field, value = min(ports, key=lambda fv: fv[1]) if b.transfer_cycles * 2 > b.cycles \
            else ("clock_mhz", hw.clock_mhz)
        what = "moving its bytes through this port" if field != "clock_mhz" else "computing it"
        raise CompatibilityError(Problem(
            field, value, f"{what} would take about {b.cycles:.3g} cycles, over the limit of "
            f"{NUMBER:g} (the models' exact arithmetic): the config is too small for this "
            "workload"), source)
    return b
