"""Numba kernels for ternary, strassenified, hybrid and binary layers (the only numba user in
accelsim).

Use the checked wrappers re-exported here from :mod:`accelsim.kernels.api` (and the prepared
convolutions of :mod:`accelsim.kernels.plan`); the ``_ternary`` and ``_strassen`` modules hold the
raw ``@njit`` kernels. Conventions, error bounds and speed: docs/kernels.md.
"""
from accelsim.kernels.api import (
    FpConv,
    OpCounts,
    StrassenConv,
    fp_conv2d,
    fp_linear,
    hybrid_conv2d,
    strassen_conv2d,
    strassen_linear,
    ternary_conv2d,
    ternary_linear,
)
from accelsim.kernels.binary import (
    XnorConvPlan,
    fbin_conv2d,
    fbin_linear,
    prepare_xnor_conv,
    wbin_conv2d,
    wbin_linear,
)
from accelsim.kernels.plan import TernaryConvPlan, prepare_ternary_conv

__all__ = [
    "FpConv", "OpCounts", "StrassenConv", "fp_conv2d", "fp_linear", "hybrid_conv2d",
    "TernaryConvPlan", "prepare_ternary_conv", "strassen_conv2d", "strassen_linear",
    "ternary_conv2d", "ternary_linear", "XnorConvPlan", "fbin_conv2d", "fbin_linear",
    "prepare_xnor_conv", "wbin_conv2d", "wbin_linear",
]
