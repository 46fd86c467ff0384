"""The kernel bodies also run as plain Python (NUMBA_DISABLE_JIT=1), in a subprocess, so that
line coverage and a pure-Python reading of the kernels are checked too."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import numpy as np
    import numba, naive
    from accelsim.kernels import (FpConv, StrassenConv, fp_conv2d, hybrid_conv2d,
                                  strassen_conv2d, ternary_conv2d)
    from accelsim.kernels import _ternary
    assert numba.config.DISABLE_JIT and not hasattr(_ternary.add_terms, "py_func")
    rng = np.random.default_rng(0)
    x = rng.integers(-4, 5, (1, 4, 5, 6)).astype(np.float32)
    w = rng.integers(-1, 2, (4, 2, 3, 3)).astype(np.int8)
    for zs in (False, True):
        out, c = ternary_conv2d(x, w, stride=2, padding=1, groups=2, zero_skip=zs)
        np.testing.assert_array_equal(out, naive.conv2d(x, w, stride=2, padding=1, groups=2))
        assert c.adds == naive.ternary_conv_counts(x.shape, w, 2, 1)[int(zs)]
    x13 = rng.integers(-4, 5, (1, 13, 3, 3)).astype(np.float32)
    w13 = np.ones((2, 13, 1, 1), np.int8)
    w13[0, ::3] = -1                               # 13 terms: an 8-, a 4- and a 1-term group
    w13[1, 5:] = 0                                 # 5 terms: a 4- and a 1-term group
    out, c = ternary_conv2d(x13, w13)
    np.testing.assert_array_equal(out, naive.conv2d(x13, w13))
    assert c.adds == 9 * 18
    st = StrassenConv(wb=rng.integers(-1, 2, (4, 4, 2, 2)).astype(np.int8),
                      a=np.array([1, 2, -1, 3], np.float32),
                      wc=rng.integers(-1, 2, (4, 3, 2, 2)).astype(np.int8),
                      bias=np.array([1, 0, -2], np.float32), stride=2, padding=(0, 0, 1, 0),
                      patch=2, out_h=5, out_w=6)
    fp = FpConv(rng.integers(-2, 3, (2, 4, 3, 3)).astype(np.float32),
                np.array([1, -1], np.float32), 1, 1)
    for zs in (False, True):
        out, c = hybrid_conv2d(x, fp, st, zero_skip=zs)
        ref = naive.strassen_conv2d(x, st.wb, st.a, st.wc, st.bias, stride=2,
                                    padding=(0, 0, 1, 0), patch=2, out_h=5, out_w=6)
        np.testing.assert_array_equal(out[:, 2:], ref)
        np.testing.assert_array_equal(out[:, :2], naive.conv2d(x, fp.w, fp.bias, padding=1))
    print("pure python ok")
""")


def test_kernels_run_without_jit():
    tests = Path(__file__).resolve().parent
    env = dict(os.environ, NUMBA_DISABLE_JIT="1",
               PYTHONPATH=os.pathsep.join([str(tests), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "pure python ok"
