"""Random float inputs: the kernels stay within the derived rounding-error bound of the float64
reference (docs/kernels.md), in float32 and in the float64 verification mode; the fp16 rounding
at the wrapper boundary is pinned."""
from __future__ import annotations

import naive
import numpy as np
import pytest

from accelsim.errors import InputError
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

U32, U64 = naive.U32, naive.U64


def ternary(rng, shape, zero_fraction=0.4):
    w = rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)
    w[rng.random(shape) < zero_fraction] = 0
    return w


def normal(rng, shape, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(np.float32)


def within_bound(got, exact, a, n, u):
    """|got - exact| <= gamma_n(u) A, plus the float64 reference's own gamma_n(2**-53) A."""
    err = np.abs(got.astype(np.float64) - exact)
    bound = (naive.gamma(n, u) + naive.gamma(n, U64)) * a
    return float(np.max(err / np.maximum(bound, 1e-300)))


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


@pytest.mark.parametrize("dtype,u", [("float32", U32), ("float64", U64)])
@pytest.mark.parametrize("zero_skip", [False, True])
def test_ternary_conv_error_bound(rng, dtype, u, zero_skip):
    x, w = normal(rng, (2, 12, 15, 13)), ternary(rng, (10, 6, 3, 3))
    out, _ = ternary_conv2d(x, w, stride=1, padding=(1, 2, 0, 1), groups=2, zero_skip=zero_skip,
                            dtype=dtype)
    assert out.dtype == np.dtype(dtype)
    exact = naive.conv2d(x, w, padding=(1, 2, 0, 1), groups=2)
    a = naive.conv2d(x, w, padding=(1, 2, 0, 1), groups=2, absolute=True)
    ratio = within_bound(out, exact, a, 6 * 9, u)               # n = K additions
    assert ratio <= 1.0


def test_bound_detects_a_single_wrong_term(rng):
    """The float64-mode bound is tight enough that flipping one weight is caught."""
    x, w = normal(rng, (1, 64, 6, 6)), ternary(rng, (8, 64, 3, 3))
    out, _ = ternary_conv2d(x, w, padding=1, dtype="float64")
    wrong = w.copy()
    wrong[3, 10, 1, 1] = -wrong[3, 10, 1, 1] if wrong[3, 10, 1, 1] else 1
    exact = naive.conv2d(x, wrong, padding=1)
    a = naive.conv2d(x, wrong, padding=1, absolute=True)
    assert within_bound(out, exact, a, 64 * 9, U64) > 1e6


@pytest.mark.parametrize("dtype,u", [("float32", U32), ("float64", U64)])
def test_fp_conv_and_linear_error_bound(rng, dtype, u):
    x, w, b = normal(rng, (1, 5, 9, 9)), normal(rng, (7, 5, 3, 3)), normal(rng, 7)
    out, _ = fp_conv2d(x, w, b, stride=2, padding=1, dtype=dtype)
    exact = naive.conv2d(x, w, b, stride=2, padding=1)
    a = naive.conv2d(x, w, b, stride=2, padding=1, absolute=True)
    assert within_bound(out, exact, a, 5 * 9 + 2, u) <= 1.0     # products, K adds, bias
    xl, wl = normal(rng, (3, 40)), normal(rng, (6, 40))
    out, _ = fp_linear(xl, wl, b[:6], dtype=dtype)
    assert within_bound(out, naive.linear(xl, wl, b[:6]),
                        naive.linear(xl, wl, b[:6], absolute=True), 42, u) <= 1.0
    wt = ternary(rng, (6, 40))
    out, _ = ternary_linear(xl, wt, dtype=dtype)
    assert within_bound(out, naive.linear(xl, wt), naive.linear(xl, wt, absolute=True),
                        40, u) <= 1.0


@pytest.mark.parametrize("dtype,u", [("float32", U32), ("float64", U64)])
@pytest.mark.parametrize("zero_skip", [False, True])
def test_strassen_error_bound(rng, dtype, u, zero_skip):
    r, c_rem, p, s, k, g = 12, 9, 2, 1, 3, 3
    kb = (p - 1) * s + k
    x = normal(rng, (1, 6, 13, 11))
    st = StrassenConv(wb=ternary(rng, (r, 6 // g, kb, kb)), a=normal(rng, r), bias=normal(rng, 9),
                      wc=ternary(rng, (r, c_rem, p, p)), wb_scale=0.37, wc_scale=1.3,
                      stride=p * s, padding=(1, 1, 2, 2), groups=g, patch=p, out_h=13, out_w=11)
    out, _ = strassen_conv2d(x, st, zero_skip=zero_skip, dtype=dtype)
    kw = dict(wb_scale=st.wb_scale, wc_scale=st.wc_scale, stride=st.stride, padding=st.padding,
              groups=g, patch=p, out_h=13, out_w=11)
    exact = naive.strassen_conv2d(x, st.wb, st.a, st.wc, st.bias, **kw)
    a = naive.strassen_conv2d(x, st.wb, st.a, st.wc, st.bias, absolute=True, **kw)
    n = (6 // g) * kb * kb + r + 4          # K_b adds, 2 folds + ã product, r adds, bias
    assert within_bound(out, exact, a, n, u) <= 1.0
    fp = FpConv(normal(rng, (3, 6, 3, 3)), normal(rng, 3), 1, 1)
    hyb, _ = hybrid_conv2d(x, fp, st, zero_skip=zero_skip, dtype=dtype)
    np.testing.assert_array_equal(hyb[:, 3:], out)
    assert within_bound(hyb[:, :3], naive.conv2d(x, fp.w, fp.bias, padding=1),
                        naive.conv2d(x, fp.w, fp.bias, padding=1, absolute=True), 56, u) <= 1.0
    xl, wb, al, wc = normal(rng, (2, 30)), ternary(rng, (16, 30)), normal(rng, 16), \
        ternary(rng, (5, 16))
    out, _ = strassen_linear(xl, wb, al, wc, st.bias[:5], wb_scale=0.2, wc_scale=3.0,
                             zero_skip=zero_skip, dtype=dtype)
    exact = naive.strassen_linear(xl, wb, al, wc, st.bias[:5], wb_scale=0.2, wc_scale=3.0)
    a = naive.strassen_linear(xl, wb, al, wc, st.bias[:5], wb_scale=0.2, wc_scale=3.0,
                              absolute=True)
    assert within_bound(out, exact, a, 30 + 16 + 4, u) <= 1.0


# -- fp16 at the wrapper boundary (numba issue #4402: no fp16 arithmetic inside @njit) ---------

def fp16(a):
    return a.astype(np.float16).astype(np.float32)


def test_round_fp16_rounds_inputs_then_computes_in_float32(rng):
    x, w = normal(rng, (1, 8, 7, 7)), ternary(rng, (4, 8, 3, 3))
    rounded, _ = ternary_conv2d(x, w, padding=1, round_fp16=True)
    assert rounded.dtype == np.float32
    np.testing.assert_array_equal(rounded, ternary_conv2d(fp16(x), w, padding=1)[0])
    assert not np.array_equal(rounded, ternary_conv2d(x, w, padding=1)[0])
    # a float16 array is accepted and widened exactly (no second rounding)
    np.testing.assert_array_equal(ternary_conv2d(x.astype(np.float16), w, padding=1)[0],
                                  rounded)


def test_round_fp16_rounds_every_full_precision_parameter(rng):
    x, w, b = normal(rng, (1, 4, 6, 6)), normal(rng, (3, 4, 3, 3)), normal(rng, 3)
    got, _ = fp_conv2d(x, w, b, padding=1, round_fp16=True)
    np.testing.assert_array_equal(got, fp_conv2d(fp16(x), fp16(w), fp16(b), padding=1)[0])
    st = StrassenConv(wb=ternary(rng, (4, 4, 2, 2)), a=normal(rng, 4),
                      wc=ternary(rng, (4, 3, 2, 2)), bias=b, wb_scale=0.123456,
                      wc_scale=1.987654, stride=2, patch=2)
    st16 = StrassenConv(wb=st.wb, a=fp16(st.a), wc=st.wc, bias=fp16(b),
                        wb_scale=float(np.float16(st.wb_scale)),
                        wc_scale=float(np.float16(st.wc_scale)), stride=2, patch=2)
    np.testing.assert_array_equal(strassen_conv2d(x, st, round_fp16=True)[0],
                                  strassen_conv2d(fp16(x), st16)[0])


def test_half_precision_compute_is_refused(rng):
    x, w = normal(rng, (1, 2, 3, 3)), ternary(rng, (1, 2, 1, 1))
    with pytest.raises(InputError) as info:
        ternary_conv2d(x, w, dtype="float16")
    assert info.value.problems[0].field == "dtype"
    assert "4402" in str(info.value) and "round_fp16" in str(info.value)
