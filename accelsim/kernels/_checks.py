"""Argument checks shared by the kernel wrappers: every problem becomes an InputError."""
from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

import numpy as np

from accelsim.errors import InputError, Problem

FLOAT_DTYPES = (np.float16, np.float32, np.float64)
COMPUTE_DTYPES = {"float32": np.float32, "float64": np.float64}


def fail(field: str, value: object, why: str) -> NoReturn:
    raise InputError(Problem(field, value, why))


def compute_dtype(dtype: str) -> type:
    """The numpy type of a compute precision name (``"float32"`` or ``"float64"``)."""
    if dtype not in COMPUTE_DTYPES:
        fail("dtype", dtype, "must be 'float32' or 'float64' (numba has no fp16 arithmetic on "
             "CPU, numba issue #4402: use round_fp16=True to round the inputs to fp16)")
    return COMPUTE_DTYPES[dtype]


def _array(field: str, a: object) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        fail(field, type(a).__name__, "must be a numpy array")
    assert isinstance(a, np.ndarray)
    if not a.flags.c_contiguous:
        fail(field, f"strides {a.strides}", "must be C-contiguous (use np.ascontiguousarray)")
    return a


def float_array(field: str, a: object, ndim: int, allow_empty: bool = False) -> np.ndarray:
    """A C-contiguous float16/32/64 array of ``ndim`` dimensions with finite values."""
    arr = _array(field, a)
    if arr.dtype.type not in FLOAT_DTYPES:
        fail(field, str(arr.dtype), "must be float16, float32 or float64")
    if arr.ndim != ndim:
        fail(field, f"shape {arr.shape}", f"must have {ndim} dimensions")
    if not allow_empty and arr.size == 0:
        fail(field, f"shape {arr.shape}", "must not be empty")
    if not np.all(np.isfinite(arr)):
        fail(field, "non-finite values", "must be finite (no NaN or infinity)")
    return arr


def ternary_array(field: str, a: object, ndim: int) -> np.ndarray:
    """A C-contiguous integer array of ``ndim`` dimensions with values in {-1, 0, 1} (as int8)."""
    arr = _array(field, a)
    if not np.issubdtype(arr.dtype, np.integer):
        fail(field, str(arr.dtype), "must be an integer array (int8) of ternary values")
    if arr.ndim != ndim:
        fail(field, f"shape {arr.shape}", f"must have {ndim} dimensions")
    if arr.size == 0:
        fail(field, f"shape {arr.shape}", "must not be empty")
    bad = arr[(arr < -1) | (arr > 1)]
    if bad.size:
        fail(field, int(bad[0]), "ternary weights must be -1, 0 or 1")
    return arr.astype(np.int8, copy=False)


def positive_int(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        fail(field, value, "must be an integer >= 1")
    return int(value)


def scalar(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not np.isfinite(value):
        fail(field, value, "must be a finite number")
    return float(value)


def padding4(field: str, value: object) -> tuple[int, int, int, int]:
    """``int`` or ``(top, left, bottom, right)`` -> four non-negative ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        vals: Sequence[object] = (value,) * 4
    elif isinstance(value, (tuple, list)) and len(value) == 4:
        vals = value
    else:
        fail(field, value, "must be an int or (top, left, bottom, right)")
        raise AssertionError  # unreachable
    out = []
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            fail(field, value, "paddings must be integers >= 0")
        out.append(int(v))
    return (out[0], out[1], out[2], out[3])


def vector(field: str, a: object, length: int) -> np.ndarray:
    """A float vector of ``length`` elements."""
    arr = float_array(field, a, 1)
    if arr.shape[0] != length:
        fail(field, f"shape {arr.shape}", f"must have {length} elements")
    return arr


def conv_geometry(in_shape: tuple[int, ...], w_shape: tuple[int, ...], groups: int, stride: int,
                  pad: tuple[int, int, int, int], wfield: str) -> tuple[int, int]:
    """Check a convolution of a (C, H, W) input; return the output size ``(out_h, out_w)``."""
    n_out, c_per_group, kh, kw = w_shape
    c_in, h, w = in_shape
    if c_in % groups or n_out % groups:
        fail("groups", groups, f"must divide the input channels ({c_in}) and the output "
             f"channels ({n_out})")
    if c_per_group * groups != c_in:
        fail(wfield, f"shape {w_shape}", f"dimension 1 must be in_channels / groups = "
             f"{c_in // groups}")
    hp = h + pad[0] + pad[2]
    wp = w + pad[1] + pad[3]
    if kh > hp or kw > wp:
        fail(wfield, f"shape {w_shape}", f"kernel larger than the padded input ({hp} x {wp})")
    return (hp - kh) // stride + 1, (wp - kw) // stride + 1
