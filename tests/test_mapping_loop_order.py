"""Loop order of chunk-ordered stages (adder trees, binary lanes, element-wise units): position
chunks outer (a chunk's input loaded once and held over the channel blocks, a channel block's
weights loaded again for every chunk) or channel blocks outer (weights loaded once per channel
block and held over its chunks, the input read again by every channel block). Both orders
partition the same work; the mapper picks the one its objective prefers, as it picks the MAC
array's dataflow."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import tiny_hw

from accelsim.choices import MappingObjective
from accelsim.hw.load import load_hwconfig
from accelsim.mapping import map_workload
from accelsim.mapping.build import route_workload
from accelsim.mapping.choice import LayerChoice, MappingChooser
from accelsim.mapping.chunks import chunked_blocks, even_grid
from accelsim.mapping.memory import StageMemory, tile_memory
from accelsim.mapping.tiling import INF, Limits, Slices
from accelsim.mapping.units import ChunkOrder
from accelsim.workload.build import conv_out, twn_layer
from accelsim.workload.load import load_workload
from accelsim.workload.schema import Shape

ROOT = Path(__file__).resolve().parent.parent


def _traffic(blocks, weights_total: int) -> tuple[int, int, int]:
    """(weight bytes from DRAM, input bytes from DRAM, peak weight bytes held) of a stage's
    blocks run in order with nothing resident."""
    mem = StageMemory(weights_total=weights_total)
    held = peak = w = i = 0
    for j, b in enumerate(blocks):
        tm = tile_memory(b, mem, defaultdict(int), None, first=j == 0,
                         last=j == len(blocks) - 1, chunk_last=True, partial_bytes=0,
                         hw=tiny_hw())
        w += tm.dram_read.get("weights", 0)
        i += tm.dram_read.get("inputs", 0)
        held += tm.alloc.get("weights", 0)
        peak = max(peak, held)
        held -= tm.free.get("weights", 0)
    assert held == 0  # every weight reservation is released
    return w, i, peak


@settings(max_examples=60, deadline=None)
@given(st.integers(4, 12), st.integers(1, 6), st.integers(1, 3).map(lambda k: 2 * k - 1),
       st.integers(2, 12), st.integers(1, 5), st.integers(1, 6))
def test_both_orders_partition_the_work_and_trade_weight_for_input_reads(h, c, k, co, nb,
                                                                        parts):
    oh = conv_out(h, k, 1, k // 2)
    layer = twn_layer("c", "conv", Shape(h, h, c, oh, oh, co, k, k, 1, k // 2),
                      weight_nnz=co * k * k * c)
    s = layer.stages[0]
    sl = Slices(s.weight_bytes, s.in_bytes, s.out_bytes, s.ops_dense)
    grid = even_grid(s.m, -(-s.m // parts))
    nb = min(nb, s.n)
    lim = Limits(INF, INF, INF)
    pos = chunked_blocks(s, sl, tiny_hw(), "add", lim, grid, nb)
    chan = chunked_blocks(s, sl, tiny_hw(), "add", lim, grid, nb, channels_outer=True)
    for name in ("ops", "out", "inp", "w", "finished", "cycles"):
        assert sum(getattr(b, name) for b in pos) == sum(getattr(b, name) for b in chan), name
    assert len({b.chunk for b in chan}) == len(chan)  # one pairing key per block
    nblocks, nchunks = -(-s.n // nb), len(grid)
    w_pos, i_pos, _ = _traffic(pos, s.weight_bytes)
    w_chan, i_chan, peak = _traffic(chan, s.weight_bytes)
    assert w_chan == s.weight_bytes  # each channel block's weights loaded once
    assert w_pos == s.weight_bytes * nchunks  # ... and once per chunk positions outer
    assert i_pos == s.in_bytes  # a chunk's input held over its channel blocks
    assert i_chan == s.in_bytes * nblocks  # ... and read again by every channel block
    assert peak == max(b.w for b in chan)  # one channel block's weights held at a time


def test_mapper_runs_binary_weight_layers_channel_blocks_outer_when_weights_do_not_fit():
    # ResNet-18 WBin layer4.0.conv2 on iso_area_45nm_binary: 288 KiB of 1-bit weights against
    # 16 KiB weight tiles (19 channel blocks). Positions outer re-reads them for each of the 17
    # position chunks; channel blocks outer reads them once and the 49 KiB input 19 times.
    # (Halo-inclusive chunks of 3x3 windows on 7x7 outputs are a few rows each.)
    hw = load_hwconfig(ROOT / "hwconfigs" / "iso_area_45nm_binary.yaml")
    wl = load_workload(ROOT / "workloads" / "resnet18_wbin.json")
    group = [s for s in route_workload(wl, hw) if s.layer.name == "layer4.0.conv2"]
    chooser = MappingChooser(hw, False, "test", MappingObjective.THROUGHPUT)
    head = group[0].index
    assert chooser.choose(group) == LayerChoice(((head, ChunkOrder.CHANNELS),))
    pos = chooser.cost(group, LayerChoice(((head, ChunkOrder.POSITIONS),)))
    chan = chooser.cost(group, LayerChoice(((head, ChunkOrder.CHANNELS),)))
    assert chan[0] < pos[0] and chan[3] < pos[3]  # fewer cycles, fewer DRAM bytes
    plan = map_workload(wl, hw)
    rec = {p.name: p.mapping for p in plan.stages if p.layer_name == "layer4.0.conv2"}
    assert rec == {"conv": "tree/channels", "scale": "elementwise"}
    # weights from DRAM: each stored weight byte of the layer read once
    stages = {p.index: p for p in plan.stages}
    tiles = [t for t in plan.tiles if stages[t.stage].layer_name == "layer4.0.conv2"]
    assert sum(t.dram_read.get("weights", 0) for t in tiles) == sum(
        st_.weight_bytes for st_ in group[0].layer.stages)
