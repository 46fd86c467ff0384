"""Bad arrays and geometry raise InputError naming the argument and saying why."""
from __future__ import annotations

import numpy as np
import pytest

from accelsim.errors import InputError
from accelsim.kernels import (
    FpConv,
    StrassenConv,
    fp_conv2d,
    hybrid_conv2d,
    strassen_conv2d,
    strassen_linear,
    ternary_conv2d,
    ternary_linear,
)
from accelsim.kernels.plan import prepare_ternary_conv

X = np.zeros((1, 4, 6, 6), np.float32)
W = np.ones((2, 4, 3, 3), np.int8)


def problem(call):
    with pytest.raises(InputError) as info:
        call()
    assert len(info.value.problems) == 1
    return info.value.problems[0]


@pytest.mark.parametrize("call,field,why", [
    (lambda: ternary_conv2d(X.astype(np.int32), W), "x", "float16, float32 or float64"),
    (lambda: ternary_conv2d(np.asfortranarray(np.zeros((1, 4, 6, 5), np.float32)), W),
     "x", "C-contiguous"),
    (lambda: ternary_conv2d(X[0], W), "x", "4 dimensions"),
    (lambda: ternary_conv2d([[1.0]], W), "x", "numpy array"),
    (lambda: ternary_conv2d(np.full_like(X, np.nan), W), "x", "finite"),
    (lambda: ternary_conv2d(X, W.astype(np.float32)), "w", "integer array"),
    (lambda: ternary_conv2d(X, W * 2), "w", "-1, 0 or 1"),
    (lambda: ternary_conv2d(X, np.ones((2, 3, 3, 3), np.int8)), "w", "in_channels / groups"),
    (lambda: ternary_conv2d(X, W, groups=3), "groups", "must divide"),
    (lambda: ternary_conv2d(X, W, stride=0), "stride", ">= 1"),
    (lambda: ternary_conv2d(X, W, padding=-1), "padding", ">= 0"),
    (lambda: ternary_conv2d(X, W, padding=(1, 2)), "padding", "(top, left, bottom, right)"),
    (lambda: ternary_conv2d(X, np.ones((2, 4, 9, 9), np.int8)), "w", "larger than the padded"),
    (lambda: ternary_linear(X, W), "x", "2 dimensions"),
    (lambda: fp_conv2d(X, np.ones((2, 4, 3, 3), np.float32), np.ones(3, np.float32)),
     "bias", "2 elements"),
    (lambda: strassen_conv2d(X, StrassenConv(wb=W, a=np.ones(3, np.float32),
                                             wc=np.ones((2, 3, 1, 1), np.int8))),
     "a", "2 elements"),
    (lambda: strassen_conv2d(X, StrassenConv(wb=W, a=np.ones(2, np.float32),
                                             wc=np.ones((2, 3, 2, 2), np.int8))),
     "wc", "patch = 1"),
    (lambda: strassen_conv2d(X, StrassenConv(wb=W, a=np.ones(2, np.float32),
                                             wc=np.ones((2, 3, 2, 2), np.int8), patch=2,
                                             out_h=9, out_w=4)),
     "out_h/out_w", "at most 8 x 8"),
    (lambda: strassen_conv2d(X, StrassenConv(wb=W, a=np.ones(2, np.float32),
                                             wc=np.ones((2, 3, 1, 1), np.int8),
                                             wb_scale=float("inf"))),
     "wb_scale", "finite"),
    (lambda: strassen_linear(np.ones((1, 4), np.float32), np.ones((2, 4), np.int8),
                             np.ones(2, np.float32), np.ones((3, 5), np.int8)),
     "wc", "r = 2"),
    (lambda: hybrid_conv2d(X, FpConv(np.ones((1, 4, 3, 3), np.float32), padding=0),
                           StrassenConv(wb=np.ones((2, 4, 1, 1), np.int8),
                                        a=np.ones(2, np.float32),
                                        wc=np.ones((2, 3, 1, 1), np.int8))),
     "st.out_h/out_w", "fp branch"),
    (lambda: prepare_ternary_conv(W, (4, 6, 6)).run(np.zeros((1, 4, 5, 6), np.float32)),
     "x", "plan is for inputs (N, 4, 6, 6)"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_bad_input_names_field_and_reason(call, field, why):
    p = problem(call)
    assert p.field == field
    assert why in p.why


def test_error_renders_one_line_per_problem():
    with pytest.raises(InputError) as info:
        ternary_conv2d(X, W * 3)
    assert str(info.value) == "w: 3 (ternary weights must be -1, 0 or 1)"
