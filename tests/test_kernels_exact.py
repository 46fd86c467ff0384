"""Add-only kernels agree EXACTLY with the plain-numpy reference on small integers stored as
floats, and count exactly the closed-form number of operations of every stage."""
from __future__ import annotations

import naive
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.kernels import (
    FpConv,
    StrassenConv,
    fp_conv2d,
    fp_linear,
    hybrid_conv2d,
    strassen_conv2d,
    strassen_linear,
    ternary_conv2d,
    ternary_linear,
)
from accelsim.kernels.plan import prepare_ternary_conv


def ints(rng: np.random.Generator, shape, lo=-8, hi=8) -> np.ndarray:
    return rng.integers(lo, hi + 1, shape).astype(np.float32)


def ternary(rng: np.random.Generator, shape, zero_fraction=0.4) -> np.ndarray:
    w = rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)
    w[rng.random(shape) < zero_fraction] = 0
    return w


# (N, C, H, W, O, kernel, stride, padding, groups)
GEOMETRIES = [
    (1, 4, 7, 7, 6, 1, 1, 0, 1),            # pointwise, run as one long row
    (2, 6, 9, 8, 4, 3, 1, 1, 2),            # 3x3 same, grouped
    (1, 8, 11, 9, 8, 3, 2, 1, 8),           # depthwise, stride 2
    (1, 3, 10, 13, 5, 5, 3, (2, 0, 1, 3), 1),  # asymmetric padding, stride 3
    (2, 4, 6, 6, 8, 1, 2, 0, 4),            # strided 1x1, grouped
    (1, 2, 4, 4, 3, 4, 4, 0, 1),            # kernel = stride: one term per phase
]


@pytest.mark.parametrize("geo", GEOMETRIES, ids=str)
@pytest.mark.parametrize("zero_skip", [False, True], ids=["dense", "zero-skip"])
def test_ternary_conv_exact(geo, zero_skip):
    n, c, h, w, o, k, s, pad, g = geo
    rng = np.random.default_rng(hash(geo) % 2 ** 32)
    x, wt = ints(rng, (n, c, h, w)), ternary(rng, (o, c // g, k, k))
    out, counts = ternary_conv2d(x, wt, stride=s, padding=pad, groups=g, zero_skip=zero_skip)
    ref = naive.conv2d(x, wt, stride=s, padding=pad, groups=g)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, ref)
    dense, skip = naive.ternary_conv_counts(x.shape, wt, s, pad)
    assert counts.adds == (skip if zero_skip else dense)
    assert (counts.muls, counts.macs) == (0, 0)


def test_counts_follow_nonzeros_not_values():
    """Zero-skipping counts nnz per filter per output, whatever the activations (zeros too)."""
    wt = np.array([[[[1, 0, -1]]], [[[0, 0, 0]]]], dtype=np.int8)      # (2, 1, 1, 3)
    x = np.zeros((1, 1, 2, 5), np.float32)
    _, skip = ternary_conv2d(x, wt, padding=(0, 1, 0, 1))
    _, dense = ternary_conv2d(x, wt, padding=(0, 1, 0, 1), zero_skip=False)
    assert skip.adds == 2 * 5 * 2          # 10 outputs of filter 0 x 2 non-zeros; filter 1: 0
    assert dense.adds == 2 * 2 * 5 * 3     # 20 outputs x 3 terms, padded positions included


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_ternary_conv_property(data):
    g = data.draw(st.integers(1, 3), "groups")
    cpg, opg = data.draw(st.integers(1, 3), "cpg"), data.draw(st.integers(1, 3), "opg")
    kh = data.draw(st.integers(1, 4), "kernel")
    s = data.draw(st.integers(1, 3), "stride")
    pad = tuple(data.draw(st.lists(st.integers(0, 2), min_size=4, max_size=4), "padding"))
    h = data.draw(st.integers(max(1, kh - pad[0] - pad[2]), 9), "h")
    w = data.draw(st.integers(max(1, kh - pad[1] - pad[3]), 9), "w")
    n = data.draw(st.integers(1, 2), "n")
    seed = data.draw(st.integers(0, 2 ** 32 - 1), "seed")
    rng = np.random.default_rng(seed)
    x, wt = ints(rng, (n, g * cpg, h, w)), ternary(rng, (g * opg, cpg, kh, kh))
    ref = naive.conv2d(x, wt, stride=s, padding=pad, groups=g)
    dense, skip = naive.ternary_conv_counts(x.shape, wt, s, pad)
    for zero_skip, expected in ((False, dense), (True, skip)):
        out, counts = ternary_conv2d(x, wt, stride=s, padding=pad, groups=g,
                                     zero_skip=zero_skip)
        np.testing.assert_array_equal(out, ref)
        assert counts.adds == expected


def _strassen_case(rng, n, c_in, g, r_per_g, c_rem, k, s, p, pad, crop):
    """Random integer strassen layer; W_b kernel (p-1)*s+k, stride p*s (as in the paper)."""
    kb, r = (p - 1) * s + k, g * r_per_g
    h = w = int(rng.integers(max(1, kb - min(pad[0] + pad[2], pad[1] + pad[3])), 11))
    x = ints(rng, (n, c_in, h, w))
    st_ = StrassenConv(wb=ternary(rng, (r, c_in // g, kb, kb)), a=ints(rng, r, -2, 2),
                       wc=ternary(rng, (r, c_rem, p, p)), bias=ints(rng, c_rem),
                       wb_scale=0.5, wc_scale=2.0, stride=p * s, padding=pad, groups=g,
                       patch=p)
    hh = naive.conv_out(h, kb, p * s, pad[0], pad[2])
    hw = naive.conv_out(w, kb, p * s, pad[1], pad[3])
    out_h, out_w = max(1, hh * p - crop[0]), max(1, hw * p - crop[1])
    st_ = StrassenConv(**{**st_.__dict__, "out_h": out_h, "out_w": out_w})
    return x, st_, (hh, hw)


def _strassen_reference(x, st_):
    return naive.strassen_conv2d(x, st_.wb, st_.a, st_.wc, st_.bias, wb_scale=st_.wb_scale,
                                 wc_scale=st_.wc_scale, stride=st_.stride, padding=st_.padding,
                                 groups=st_.groups, patch=st_.patch, out_h=st_.out_h,
                                 out_w=st_.out_w)


def _check_strassen_counts(counts, x, st_, hidden, zero_skip):
    n, r, c_rem = x.shape[0], st_.wb.shape[0], st_.wc.shape[1]
    wb_dense, wb_skip = naive.ternary_conv_counts(x.shape, st_.wb, st_.stride, st_.padding)
    wc_dense, wc_skip = naive.wc_counts(n, st_.wc, st_.patch, st_.out_h, st_.out_w)
    assert [name for name, _ in counts.stages] == ["wb", "a_mul", "wc", "st_bias"]
    assert counts.stage("wb").adds == (wb_skip if zero_skip else wb_dense)
    assert counts.stage("a_mul").muls == n * r * hidden[0] * hidden[1]
    assert counts.stage("wc").adds == (wc_skip if zero_skip else wc_dense)
    assert counts.stage("st_bias").adds == n * c_rem * st_.out_h * st_.out_w
    assert counts.adds == sum(c.adds for _, c in counts.stages) and counts.macs == 0


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_strassen_conv_property(data):
    g = data.draw(st.integers(1, 3), "groups")
    p = data.draw(st.integers(1, 3), "patch")
    s = data.draw(st.integers(1, 2), "stride")
    k = data.draw(st.integers(1, 3), "kernel")
    pad = tuple(data.draw(st.lists(st.integers(0, 2), min_size=4, max_size=4), "padding"))
    crop = (data.draw(st.integers(0, p - 1), "crop_h"), data.draw(st.integers(0, p - 1), "crop_w"))
    seed = data.draw(st.integers(0, 2 ** 32 - 1), "seed")
    rng = np.random.default_rng(seed)
    x, st_, hidden = _strassen_case(rng, data.draw(st.integers(1, 2), "n"),
                                    g * data.draw(st.integers(1, 2), "cpg"), g,
                                    data.draw(st.integers(1, 3), "r_per_g"),
                                    data.draw(st.integers(1, 4), "c_rem"), k, s, p, pad, crop)
    ref = _strassen_reference(x, st_)
    for zero_skip in (False, True):
        out, counts = strassen_conv2d(x, st_, zero_skip=zero_skip)
        np.testing.assert_array_equal(out, ref)
        _check_strassen_counts(counts, x, st_, hidden, zero_skip)


def test_hybrid_conv_exact_and_staged():
    rng = np.random.default_rng(7)
    x, st_, hidden = _strassen_case(rng, 1, 4, 2, 3, 5, 3, 1, 2, (1, 1, 2, 2), (1, 0))
    h, w = x.shape[2:]                  # p = 2, kb = 4, stride 2: hidden = ceil(h / 2) >= h / 2
    fp = FpConv(w=ints(rng, (3, 4, 3, 3), -3, 3), bias=ints(rng, 3), stride=1, padding=1)
    st_ = StrassenConv(**{**st_.__dict__, "out_h": h, "out_w": w})
    out, counts = hybrid_conv2d(x, fp, st_)
    ref_fp = naive.conv2d(x, fp.w, fp.bias, padding=1)
    np.testing.assert_array_equal(out[:, :3], ref_fp)                 # fp channels first
    np.testing.assert_array_equal(out[:, 3:], _strassen_reference(x, st_))
    assert [name for name, _ in counts.stages] == ["fp", "fp_bias", "wb", "a_mul", "wc",
                                                    "st_bias"]
    assert counts.stage("fp").macs == h * w * 3 * 4 * 9
    assert counts.stage("fp_bias").adds == h * w * 3
    assert counts.macs == h * w * 3 * 4 * 9
    assert counts.muls == 6 * hidden[0] * hidden[1]                     # r = 6 hidden channels


def test_fp_conv_exact_and_counts():
    rng = np.random.default_rng(3)
    x, w, b = ints(rng, (2, 6, 9, 7)), ints(rng, (6, 1, 3, 3), -3, 3), ints(rng, 6)
    out, counts = fp_conv2d(x, w, b, stride=2, padding=1, groups=6)          # depthwise
    np.testing.assert_array_equal(out, naive.conv2d(x, w, b, stride=2, padding=1, groups=6))
    positions = 2 * 5 * 4
    assert counts.stage("conv").macs == positions * 6 * 9
    assert counts.stage("bias").adds == positions * 6
    _, no_bias = fp_conv2d(x, w, None, stride=2, padding=1, groups=6)
    assert [name for name, _ in no_bias.stages] == ["conv"]


def test_linear_kernels_exact():
    rng = np.random.default_rng(11)
    x = ints(rng, (3, 20))
    wt, wf, b = ternary(rng, (7, 20)), ints(rng, (7, 20), -3, 3), ints(rng, 7)
    out, counts = ternary_linear(x, wt)
    np.testing.assert_array_equal(out, naive.linear(x, wt))
    assert counts.adds == 3 * np.count_nonzero(wt)
    assert ternary_linear(x, wt, zero_skip=False)[1].adds == 3 * wt.size
    out, counts = fp_linear(x, wf, b)
    np.testing.assert_array_equal(out, naive.linear(x, wf, b))
    assert (counts.stage("conv").macs, counts.stage("bias").adds) == (3 * 140, 21)
    wb, a, wc = ternary(rng, (9, 20)), ints(rng, 9, -2, 2), ternary(rng, (7, 9))
    for zero_skip in (False, True):
        out, counts = strassen_linear(x, wb, a, wc, b, wb_scale=0.25, wc_scale=4.0,
                                      zero_skip=zero_skip)
        np.testing.assert_array_equal(out, naive.strassen_linear(x, wb, a, wc, b, wb_scale=0.25,
                                                                 wc_scale=4.0))
        nz = (np.count_nonzero(wb), np.count_nonzero(wc)) if zero_skip else (wb.size, wc.size)
        assert counts.stage("wb").adds == 3 * nz[0]
        assert counts.stage("a_mul").muls == 3 * 9
        assert counts.stage("wc").adds == 3 * nz[1]
        assert counts.stage("st_bias").adds == 3 * 7


def test_plan_reuses_weights_across_inputs():
    rng = np.random.default_rng(5)
    wt = ternary(rng, (4, 3, 3, 3))
    plan = prepare_ternary_conv(wt, (3, 8, 8), stride=2, padding=1)
    for _ in range(2):
        x = ints(rng, (1, 3, 8, 8))
        out, adds = plan.run(x)
        np.testing.assert_array_equal(out, naive.conv2d(x, wt, stride=2, padding=1))
        assert adds == naive.ternary_conv_counts(x.shape, wt, 2, 1)[1]
