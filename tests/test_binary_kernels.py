"""Binary kernels: the bit-packed XNOR-popcount dot products are exact, count their word
operations, and whole FullBinConv / WeightBinConv layers match plain-numpy references."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import naive
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelsim.errors import InputError
from accelsim.kernels.binary import (
    fbin_conv2d,
    fbin_linear,
    prepare_xnor_conv,
    wbin_conv2d,
    wbin_linear,
)


def signs(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, 1.0, -1.0)


def pm1(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.where(rng.standard_normal(shape) >= 0, 1, -1).astype(np.int8)


@st.composite
def conv_cases(draw):
    k = draw(st.sampled_from([1, 2, 3, 5]))
    pad = draw(st.integers(0, 2))
    h = draw(st.integers(max(1, k - 2 * pad), 9))
    return {"c": draw(st.integers(1, 140)), "o": draw(st.integers(1, 19)), "h": h,
                "w": draw(st.integers(max(1, k - 2 * pad), 9)), "k": k,
                "stride": draw(st.integers(1, 3)), "pad": pad, "n": draw(st.integers(1, 2)),
                "seed": draw(st.integers(0, 2 ** 32 - 1))}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_cases())
def test_xnor_dot_products_are_exact_and_count_words(case):
    """Any channel count (word boundaries inside taps), kernel, stride and zero padding: the
    dot products equal the ±1 convolution of sign(x); one word op per 64 bits per output."""
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["n"], case["c"], case["h"], case["w"])).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = 0.0                       # sign(0) = +1
    w = pm1(rng, (case["o"], case["c"], case["k"], case["k"]))
    plan = prepare_xnor_conv(w, x.shape[1:], stride=case["stride"], padding=case["pad"])
    dots, counts = plan.dots(x)
    want = naive.conv2d(signs(x), w, stride=case["stride"], padding=case["pad"])
    np.testing.assert_array_equal(dots, want)
    k_bits = case["c"] * case["k"] ** 2
    assert counts.xnor == dots.size * k_bits
    assert counts.words == dots.size * -(-k_bits // 64)


def test_whole_words_and_partial_words_give_the_same_dots():
    """C = 64 (whole-word copies) and C = 65 (shifted ORs) on the same leading channels."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 65, 6, 6)).astype(np.float32)
    w = pm1(rng, (9, 65, 3, 3))
    w[:, 64] = 1
    x[:, 64] = 1.0            # the 65th channel adds exactly the number of valid taps
    d65, _ = prepare_xnor_conv(w, x.shape[1:], padding=1).dots(x)
    d64, _ = prepare_xnor_conv(np.ascontiguousarray(w[:, :64]), (64, 6, 6),
                               padding=1).dots(np.ascontiguousarray(x[:, :64]))
    valid = naive.conv2d(np.ones((1, 1, 6, 6)), np.ones((1, 1, 3, 3)), padding=1)
    np.testing.assert_array_equal(d65, d64 + valid)


def _fbin_reference(x, w, alpha, stride, pad):
    """(dot * alpha') * K' in float32, K' the zero-padded box sum of sum_c |x| (numpy)."""
    dot = naive.conv2d(signs(x), w, stride=stride, padding=pad).astype(np.float32)
    kmap = naive.conv2d(np.abs(x).sum(1, keepdims=True), np.ones((1, 1) + w.shape[2:]),
                        stride=stride, padding=pad).astype(np.float32)
    return (dot * alpha.reshape(1, -1, 1, 1)) * kmap


@pytest.mark.parametrize("k,stride,pad", [(3, 1, 1), (3, 2, 1), (1, 2, 0), (5, 1, 2)])
def test_fbin_layer_is_exact_on_binary_inputs_and_counts_every_stage(k, stride, pad):
    rng = np.random.default_rng(k + stride)
    x = signs(rng.standard_normal((2, 70, 7, 7))).astype(np.float32)
    w = pm1(rng, (11, 70, k, k))
    alpha = rng.uniform(0.01, 0.1, 11).astype(np.float32)
    out, counts = fbin_conv2d(x, w, alpha, stride=stride, padding=pad)
    np.testing.assert_array_equal(out, _fbin_reference(x, w, alpha, stride, pad))
    m = out.shape[2] * out.shape[3]
    expected = {"k_sum": 2 * 49 * 70, "xnor": 2 * 11 * m * 70 * k * k, "scale": 2 * 2 * 11 * m}
    if k > 1:
        expected["k_box"] = 2 * m * k * k
    assert [name for name, _ in counts.stages] == [s for s in ("k_sum", "k_box", "xnor",
                                                                "scale") if s in expected]
    got = {name: c.adds + c.muls + c.xnor for name, c in counts.stages}
    assert got == expected
    assert counts.stage("xnor").words == 2 * 11 * m * -(-70 * k * k // 64)


def test_fbin_layer_on_real_inputs_is_within_rounding_of_float64():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 40, 6, 6)).astype(np.float32)
    w = pm1(rng, (7, 40, 3, 3))
    alpha = rng.uniform(0.01, 0.1, 7).astype(np.float32)
    out, _ = fbin_conv2d(x, w, alpha, padding=1)
    dot = naive.conv2d(signs(x), w, padding=1)
    kmap = naive.conv2d(np.abs(x.astype(np.float64)).sum(1, keepdims=True),
                        np.ones((1, 1, 3, 3)), padding=1)
    exact = dot * alpha.astype(np.float64).reshape(1, -1, 1, 1) * kmap
    bound = naive.gamma(40 + 9 + 2) * np.abs(exact)   # the dots are exact: K' and 2 products
    err = np.abs(out - exact)
    assert np.all(err <= bound) and err.max() > 0


def test_wbin_layer_is_exact_on_integer_inputs():
    rng = np.random.default_rng(6)
    x = rng.integers(-4, 5, (1, 9, 5, 5)).astype(np.float32)
    w = pm1(rng, (6, 9, 3, 3))
    alpha = np.array([0.5, 0.25, 2.0, 1.0, 0.125, 4.0], np.float32)
    out, counts = wbin_conv2d(x, w, alpha, stride=2, padding=1)
    want = naive.conv2d(x, w, stride=2, padding=1) * alpha.reshape(1, -1, 1, 1)
    np.testing.assert_array_equal(out, want)
    m = out.shape[2] * out.shape[3]
    assert counts.stage("conv").adds == 6 * m * 81 and counts.stage("scale").muls == 6 * m


def test_linear_layers():
    rng = np.random.default_rng(7)
    x = rng.integers(-3, 4, (3, 100)).astype(np.float32)
    w = pm1(rng, (5, 100))
    alpha = np.full(5, 0.5, np.float32)
    out, counts = wbin_linear(x, w, alpha)
    np.testing.assert_array_equal(out, (x @ w.T.astype(np.float32)) * 0.5)
    assert counts.adds == 3 * 5 * 100 and counts.muls == 3 * 5
    out, counts = fbin_linear(x, w, alpha)
    dot = signs(x) @ w.T
    np.testing.assert_array_equal(out, (dot.astype(np.float32) * alpha)
                                  * np.abs(x).sum(1, keepdims=True))
    assert counts.stage("xnor").words == 3 * 5 * 2 and "k_box" not in dict(counts.stages)


@pytest.mark.parametrize("call,field,why", [
    (lambda: fbin_conv2d(np.ones((1, 2, 3, 3), np.float32), np.zeros((1, 2, 3, 3), np.int8),
                         np.ones(1, np.float32)), "w", "binary weights must be -1 or 1"),
    (lambda: fbin_conv2d(np.ones((1, 2, 3, 3), np.float32), np.ones((1, 2, 3, 2), np.int8),
                         np.ones(1, np.float32)), "w", "square kernels"),
    (lambda: fbin_conv2d(np.ones((1, 2, 3, 3), np.float32), np.ones((4, 2, 3, 3), np.int8),
                         np.ones(3, np.float32)), "alpha", "must have 4 elements"),
    (lambda: wbin_conv2d(np.ones((1, 2, 3, 3), np.float32), np.ones((1, 2, 3, 3)),
                         np.ones(1, np.float32)), "w", "must be an integer array"),
])
def test_bad_arguments_are_input_errors(call, field, why):
    with pytest.raises(InputError) as err:
        call()
    assert err.value.problems[0].field == field and why in err.value.problems[0].why


def test_xnor_kernels_run_without_jit():
    script = textwrap.dedent("""
        import warnings
        import numpy as np
        import numba, naive
        from accelsim.kernels import _xnor
        from accelsim.kernels.binary import fbin_conv2d
        assert numba.config.DISABLE_JIT and not hasattr(_xnor.xnor_dots, "py_func")
        rng = np.random.default_rng(0)
        x = np.where(rng.standard_normal((1, 70, 4, 4)) >= 0, 1.0, -1.0).astype(np.float32)
        w = np.where(rng.standard_normal((9, 70, 3, 3)) >= 0, 1, -1).astype(np.int8)
        with np.errstate(over="ignore"):       # the SWAR popcount's multiply wraps by design
            out, c = fbin_conv2d(x, w, np.ones(9, np.float32), stride=2, padding=1)
        dot = naive.conv2d(x, w, stride=2, padding=1)
        kmap = naive.conv2d(np.abs(x).sum(1, keepdims=True), np.ones((1, 1, 3, 3)), stride=2,
                            padding=1)
        np.testing.assert_array_equal(out, dot * kmap)
        assert c.stage("xnor").words == out.size * 10
        print("pure python ok")
    """)
    tests = Path(__file__).resolve().parent
    env = dict(os.environ, NUMBA_DISABLE_JIT="1",
               PYTHONPATH=os.pathsep.join([str(tests), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "pure python ok"
