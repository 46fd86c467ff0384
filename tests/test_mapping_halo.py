"""Input halos: tiles of a convolution whose windows overlap (kernel > stride) read the input rows
their receptive fields span, so neighbouring tiles both read the rows between them. The tiles'
inputs add up to the input plus the halo; weights, outputs and operations still partition."""
from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import hwconfigs, tiny_hw

from accelsim.mapping import map_workload
from accelsim.mapping.build import RoutedStage, TimingModel
from accelsim.mapping.chunks import chunked_blocks
from accelsim.mapping.tiler import input_halo
from accelsim.mapping.tiling import INF, Limits, Slices, TooSmall, systolic_blocks
from accelsim.mapping.units import SystolicMapping
from accelsim.workload.build import conv_out, fp_layer, twn_layer
from accelsim.workload.schema import Layer, Shape, Workload


def _routed(layer: Layer, timing: TimingModel = TimingModel.TREE) -> RoutedStage:
    st_ = layer.stages[0]
    return RoutedStage(0, 0, layer, st_, "add", "add", timing)


def _slices(layer: Layer, timing: TimingModel = TimingModel.TREE, halo: bool = True) -> Slices:
    st_ = layer.stages[0]
    return Slices(st_.weight_bytes, st_.in_bytes, st_.out_bytes, st_.ops_dense,
                  input_by_channel=st_.groups > 1,
                  halo=input_halo(_routed(layer, timing)) if halo else None)


def _twn(h: int, c: int, k: int, s: int, p: int, co: int = 4) -> Layer:
    oh = conv_out(h, k, s, p)
    return twn_layer("c", "conv", Shape(h, h, c, oh, oh, co, k, k, s, p),
                     weight_nnz=co * k * k * c)


def test_two_row_bands_of_a_3x3_conv_each_read_five_of_eight_input_rows():
    # 8x8x4 fp16 input (512 B, 64 B a row), 3x3 stride 1 pad 1: output rows 0-3 read input
    # rows 0-4, output rows 4-7 read input rows 3-7; input rows 3 and 4 are read twice
    layer = _twn(8, 4, 3, 1, 1)
    st_ = layer.stages[0]
    assert (st_.m, st_.in_bytes) == (64, 512)
    blocks = chunked_blocks(st_, _slices(layer), tiny_hw(), "add", Limits(INF, INF, INF),
                            [(0, 32), (32, 64)], st_.n)
    assert [b.inp for b in blocks] == [5 * 64, 5 * 64]
    assert [b.halo for b in blocks] == [64, 64]
    assert sum(b.inp for b in blocks) == st_.in_bytes + 2 * 64
    # weights, outputs and operations still partition exactly
    assert sum(b.out for b in blocks) == st_.out_bytes
    assert sum(b.ops for b in blocks) == st_.ops_dense


def test_strided_bands_and_a_tile_within_one_row():
    # 3x3 stride 2 pad 1 on 8x8 -> 4x4: output rows 0-1 read input rows 0-3, rows 2-3 read
    # rows 3-7 (input row 3 is shared)
    layer = _twn(8, 4, 3, 2, 1)
    st_ = layer.stages[0]
    blocks = chunked_blocks(st_, _slices(layer), tiny_hw(), "add", Limits(INF, INF, INF),
                            [(0, 8), (8, 16)], st_.n)
    assert [b.inp for b in blocks] == [4 * 64, 5 * 64] and sum(b.halo for b in blocks) == 64
    # stride 1: the first 4 positions of output row 0 read input rows 0-1, columns 0-4
    halo = input_halo(_routed(_twn(8, 4, 3, 1, 1)))
    assert halo is not None and halo.part(512, [(0, 4)]) == 512 * 2 // 8 * 5 // 8
    # a 1x1 convolution, or one whose windows do not overlap, has no halo
    assert input_halo(_routed(_twn(8, 4, 1, 1, 0))) is None
    assert input_halo(_routed(_twn(8, 4, 2, 2, 0))) is None


def test_plan_reports_the_halo_and_streams_it_from_dram():
    # one TWN 3x3 conv on adders, its input streamed from DRAM tile by tile (round trip, a
    # 0.5 KiB input buffer: 6x6x8 fp16 input = 576 B does not fit a 256 B tile)
    layer = _twn(6, 8, 3, 1, 1)
    wl = Workload("w", (layer,))
    plan = map_workload(wl, tiny_hw(buffers__inputs__size_kib=0.5,
                                    buffers__inputs__double_buffered=True))
    halo = plan.meta["input_halo_bytes"]
    assert halo > 0 and plan.meta["input_halo_by_layer"] == {"c": halo}
    read = sum(t.dram_read.get("inputs", 0) for t in plan.tiles)
    # with a line buffer (the default) a tile does not reload what it shares with the previous
    # tile of its channels; without one every tile loads its whole receptive field
    reused = plan.meta["input_halo_reused_bytes"]
    assert 0 < reused <= halo and read == layer.input_bytes + halo - reused
    plain = map_workload(wl, tiny_hw(buffers__inputs__size_kib=0.5, mapping__line_buffer=False,
                                     buffers__inputs__double_buffered=True))
    assert plain.meta["input_halo_reused_bytes"] == 0
    assert sum(t.dram_read.get("inputs", 0) for t in plain.tiles) == \
        layer.input_bytes + plain.meta["input_halo_bytes"]
    stage = plan.stages[0]
    assert f"input halo: {halo} B" in stage.notes
    # every tile fits its buffer with its halo
    assert all(t.alloc.get("inputs", 0) <= 256 for t in plan.tiles)
    # the same layer on a buffer that holds it whole: one tile, no halo
    whole = map_workload(wl, tiny_hw(buffers__inputs__size_kib=8))
    assert whole.meta["input_halo_bytes"] == 0 and "input_halo_by_layer" not in whole.meta


@st.composite
def _convs(draw):
    h, c = draw(st.integers(1, 9)), draw(st.integers(1, 6))
    k = draw(st.sampled_from([1, 2, 3, 5]))
    s = draw(st.sampled_from([1, 2, 3]))
    p = draw(st.integers(0, k // 2))
    if h + 2 * p < k:
        h = k
    oh = conv_out(h, k, s, p)
    depthwise = draw(st.booleans())
    co = c if depthwise else draw(st.integers(1, 5))
    sh = Shape(h, h, c, oh, oh, co, k, k, s, p, groups=c if depthwise else 1)
    layer = fp_layer("c", "depthwise" if depthwise else "conv", sh, bias=False)
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, oh * oh - 1)), max_size=6))))
    cuts = [x for x in cuts if 0 < x < oh * oh]
    bounds = [0, *cuts, oh * oh]
    return layer, list(zip(bounds[:-1], bounds[1:]))


def _window_bytes(layer: Layer, m0: int, m1: int) -> int:
    """Bytes of the input pixels the windows of positions ``[m0, m1)`` cover (brute force)."""
    sh = layer.shape
    pixels = set()
    for m in range(m0, m1):
        r, c = divmod(m, sh.out_w)
        for i in range(sh.kernel_h):
            for j in range(sh.kernel_w):
                y, x = r * sh.stride - sh.padding + i, c * sh.stride - sh.padding + j
                if 0 <= y < sh.in_h and 0 <= x < sh.in_w:
                    pixels.add((y, x))
    return len(pixels) * layer.input_bytes // (sh.in_h * sh.in_w)


@settings(max_examples=150, deadline=None)
@given(_convs())
def test_chunk_inputs_add_up_to_input_plus_halo(case):
    layer, grid = case
    st_ = layer.stages[0]
    sl = _slices(layer)
    blocks = chunked_blocks(st_, sl, tiny_hw(), "add", Limits(INF, INF, INF), grid, st_.n)
    halo = sum(b.halo for b in blocks)
    assert sum(b.inp for b in blocks) == st_.in_bytes + halo and halo >= 0
    sh = layer.shape
    if len(grid) == 1 or max(sh.kernel_h, sh.kernel_w) <= sh.stride:
        assert halo == 0
    for b in blocks:  # never less than the windows need (when they overlap)
        assert sl.halo is None or b.inp >= _window_bytes(layer, b.m0, b.m1) - 1
        assert b.inp_reads == b.inp
    assert sum(b.out for b in blocks) == st_.out_bytes
    assert sum(b.ops for b in blocks) == st_.ops_dense
    # a chunk grid sized for a budget fits it with its halo, wherever the chunks start
    budget = max(b.inp for b in blocks)
    if sl.halo is not None and budget:
        step = sl.halo.positions(budget, st_.in_bytes, st_.m)
        assert step >= 1
        for m0 in range(0, st_.m):
            m1 = min(st_.m, m0 + step)
            assert sl.halo.part(st_.in_bytes, [(m0, m1)]) <= budget


@settings(max_examples=100, deadline=None)
@given(_convs(), hwconfigs(), st.sampled_from(list(SystolicMapping)),
       st.sampled_from([64, 256, 1024, INF]))
def test_systolic_blocks_add_their_halo_to_the_proportional_shares(case, hw, mapping, cap):
    """Whatever the layout and budgets, every block's input is its proportional share plus its
    halo, the halo is never negative, and it is zero when no block cuts the positions."""
    layer, _ = case
    st_ = layer.stages[0]
    if mapping is SystolicMapping.CP and st_.groups == 1:
        mapping = SystolicMapping.OS
    lim = Limits(INF, INF, cap)  # inputs unbounded: the same blocks with and without halo
    try:
        with_halo = systolic_blocks(st_, _slices(layer, TimingModel.SYSTOLIC), hw, lim, mapping)
    except TooSmall:  # one fold's outputs exceed the cap (an OS fold keeps them all)
        assume(False)
    plain = systolic_blocks(st_, _slices(layer, TimingModel.SYSTOLIC, halo=False), hw, lim,
                            mapping)
    assert [(b.m0, b.m1, b.n0, b.n1, b.k0, b.k1) for b in with_halo] == \
        [(b.m0, b.m1, b.n0, b.n1, b.k0, b.k1) for b in plain]
    for a, b in zip(with_halo, plain):
        assert a.inp == b.inp + a.halo and a.inp_reads == b.inp_reads + a.halo
        assert (a.w, a.out, a.ops) == (b.w, b.out, b.ops)
    assert sum(b.halo for b in with_halo) >= 0
    if mapping is SystolicMapping.WS and all((b.m0, b.m1) == (0, st_.m) for b in with_halo):
        assert all(b.halo == 0 for b in with_halo)  # (every WS fold streams every position)
