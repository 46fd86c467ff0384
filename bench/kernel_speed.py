#!/usr/bin/env python3
"""Zero-skipping ternary W_b convolution (numba) against torch's float32 conv2d, one thread each.

    python bench/kernel_speed.py [--repeats 30] [--synthetic] [--seed 0] [--only ternary|xnor]

The 13 pointwise layers of MobileNet-V1 0.5 at 224x224 as strassenified layers with r = c_out
(patch 1): W_b is then a ternary 1x1 convolution c_in -> c_out. Weights are the reference
model's quantized W_b (``accelsim.reference``, ModelSpec mobilenet_v1 0.5 strassen r_factor 1,
seed 0) and inputs the activations it feeds each layer; ``--synthetic`` uses TWN-quantized
Gaussian weights and Gaussian inputs from a seeded numpy Generator instead.

Per layer: the kernel's per-inference time (``TernaryConvPlan.run``: pad/phase, negate,
accumulate; the ±1 term lists are built once per layer, like loading weights, and timed
separately as "plan ms"), torch ``F.conv2d`` on the same ternary weights as float32 (what an fp32
inference engine would run), and the ratio torch time / kernel time (> 1: the ternary kernel is
faster), with the best of ``--repeats`` interleaved runs. Last line: geometric mean of the
ratios. The kernels never use numba's parallel backend (one thread by construction) and
``torch.set_num_threads(1)``. Timings depend on the machine and its load; nothing is asserted.

Second part (``--only xnor`` runs it alone): the bit-packed XNOR-popcount FullBinConv kernel
against torch's float32 ``conv2d`` on ResNet-18's 3x3 layers with 256 and 512 output channels at
224x224 (one of each shape: layer3.0.conv1 128->256/s2, layer3.0.conv2 256->256, layer4.0.conv1
256->512/s2, layer4.0.conv2 512->512), weights and inputs from the FBin reference model (seed 0,
the BatchNorm outputs that feed each layer; ``--synthetic``: ±1 Gaussian signs). Per layer: the
weight packing (once per layer, "pack ms"), the per-inference binary work
(``XnorConvPlan.dots``: sign bits, patch words, xnor-popcount; "xnor ms") and the whole layer
(``XnorConvPlan.run``: also the K map and the two scale products; "layer ms"), torch
``F.conv2d`` on the same input and ±1 weights as float32, and the ratios torch time / kernel
time. Target: the whole layer >= 5x torch.
"""
from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accelsim.kernels import ternary_conv2d  # noqa: E402
from accelsim.kernels.binary import prepare_xnor_conv  # noqa: E402
from accelsim.kernels.plan import prepare_ternary_conv  # noqa: E402

#: (c_in, c_out, h = w) of MobileNet-V1 0.5's pointwise layers at 224x224.
POINTWISE = ((16, 32, 112), (32, 64, 56), (64, 64, 56), (64, 128, 28), (128, 128, 28),
             (128, 256, 14), (256, 256, 14), (256, 256, 14), (256, 256, 14), (256, 256, 14),
             (256, 256, 14), (256, 512, 7), (512, 512, 7))


def reference_layers() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, input, W_b) of pw1..pw13 from the reference model (one forward pass)."""
    from accelsim.reference import ModelSpec
    from accelsim.reference.capture import capture
    from accelsim.reference.models import build_model, input_shape
    from accelsim.reference.trace import iter_layers, layer_arrays

    spec = ModelSpec("mobilenet_v1", width=0.5, resolution=224, variant="strassen",
                     r_factor=1.0, seed=0)
    model = build_model(spec)
    named = [(n, m) for n, m in iter_layers(model) if n.startswith("pw")]
    x = torch.randn(input_shape(spec), generator=torch.Generator().manual_seed(spec.seed))
    captured = capture(model, named, x)
    return [(name, captured[name][0][0], layer_arrays(mod)["wb"]) for name, mod in named]


def synthetic_layers(seed: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """TWN-quantized Gaussian weights (delta = 0.7 mean|W|) and Gaussian inputs."""
    rng = np.random.default_rng(seed)
    out = []
    for i, (c_in, c_out, hw) in enumerate(POINTWISE, 1):
        w = rng.standard_normal((c_out, c_in, 1, 1))
        delta = 0.7 * np.abs(w).mean()
        wt = (np.sign(w) * (np.abs(w) > delta)).astype(np.int8)
        out.append((f"pw{i}", rng.standard_normal((1, c_in, hw, hw)).astype(np.float32), wt))
    return out


def best_of(repeats: int, *fns):
    """Best wall time of each function over ``repeats`` interleaved rounds."""
    best = [math.inf] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t)
    return best


#: ResNet-18 3x3 layers with 256 and 512 output channels, one of each shape:
#: (name, c_in, c_out, input h = w, stride).
XNOR_LAYERS = (("layer3.0.conv1", 128, 256, 28, 2), ("layer3.0.conv2", 256, 256, 14, 1),
               ("layer4.0.conv1", 256, 512, 14, 2), ("layer4.0.conv2", 512, 512, 7, 1))


def xnor_reference_layers() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, int]]:
    """(name, input, ±1 weights, alpha', stride) of XNOR_LAYERS from the ResNet-18 FBin
    reference model (one forward pass; inputs are the BatchNorm outputs feeding each layer)."""
    from accelsim.reference import ModelSpec
    from accelsim.reference.capture import capture
    from accelsim.reference.models import build_model, input_shape
    from accelsim.reference.trace import iter_layers, layer_arrays

    spec = ModelSpec("resnet18", variant="fbin", seed=0)
    model = build_model(spec)
    wanted = {name for name, *_ in XNOR_LAYERS}
    named = [(n, m) for n, m in iter_layers(model) if n in wanted]
    x = torch.randn(input_shape(spec), generator=torch.Generator().manual_seed(spec.seed))
    captured = capture(model, named, x)
    out = []
    for name, mod in named:
        arrays = layer_arrays(mod)
        out.append((name, captured[name][0][0], arrays["w"], arrays["alpha"], arrays["stride"]))
    return out


def xnor_synthetic_layers(seed: int) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, int]]:
    """Gaussian inputs and random ±1 weights of the XNOR_LAYERS shapes."""
    rng = np.random.default_rng(seed)
    return [(name, rng.standard_normal((1, c_in, hw, hw)).astype(np.float32),
             np.where(rng.standard_normal((c_out, c_in, 3, 3)) >= 0, 1, -1).astype(np.int8),
             rng.uniform(0.01, 0.1, c_out).astype(np.float32), stride)
            for name, c_in, c_out, hw, stride in XNOR_LAYERS]


def xnor_section(args: argparse.Namespace) -> None:
    """The XNOR-popcount FullBinConv kernel against torch's fp32 conv2d (module docstring)."""
    layers = xnor_synthetic_layers(args.seed) if args.synthetic else xnor_reference_layers()
    print(f"# XNOR-popcount FullBinConv (64-bit words) vs torch fp32 conv2d, one thread, "
          f"{'synthetic' if args.synthetic else 'reference-model'} inputs, best of "
          f"{args.repeats}")
    print(f"{'layer':<16}{'c_in':>5}{'c_out':>6}{'hw':>4}{'s':>3}{'pack ms':>9}{'xnor ms':>9}"
          f"{'layer ms':>10}{'torch ms':>10}{'Gword/s':>9}{'GMAC/s':>8}{'x xnor':>8}"
          f"{'x layer':>9}")
    ratios = []
    for name, x, w, alpha, stride in layers:
        c_out, c_in = w.shape[:2]
        t = time.perf_counter()
        plan = prepare_xnor_conv(w, x.shape[1:], stride=stride, padding=1)
        pack_s = time.perf_counter() - t
        dots, counts = plan.dots(x)
        xt = torch.from_numpy(x)
        wf = torch.from_numpy(w.astype(np.float32))
        with torch.no_grad():
            ref = F.conv2d(torch.from_numpy(np.where(x >= 0, 1.0, -1.0).astype(np.float32)), wf,
                           stride=stride, padding=1).numpy()
            assert np.array_equal(dots, ref), name                 # exact dot products
            t_dots, t_layer, t_torch = best_of(
                args.repeats, lambda plan=plan, x=x: plan.dots(x),
                lambda plan=plan, x=x, alpha=alpha: plan.run(x, alpha),
                lambda xt=xt, wf=wf, stride=stride: F.conv2d(xt, wf, stride=stride, padding=1))
        macs = w.size * plan.out_h * plan.out_w
        ratios.append((t_torch / t_dots, t_torch / t_layer))
        print(f"{name:<16}{c_in:>5}{c_out:>6}{x.shape[2]:>4}{stride:>3}{pack_s * 1e3:>9.2f}"
              f"{t_dots * 1e3:>9.3f}{t_layer * 1e3:>10.3f}{t_torch * 1e3:>10.3f}"
              f"{counts.words / t_dots / 1e9:>9.2f}{macs / t_torch / 1e9:>8.2f}"
              f"{ratios[-1][0]:>8.1f}{ratios[-1][1]:>9.1f}")
    geo = [math.exp(sum(math.log(r[i]) for r in ratios) / len(ratios)) for i in (0, 1)]
    print(f"geometric mean torch time / kernel time: xnor {geo[0]:.1f}, whole layer "
          f"{geo[1]:.1f} (target >= 5)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=["ternary", "xnor"], default=None,
                    help="Run one part only (default: both, ternary first).")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.only != "xnor":
        ternary_section(args)
    if args.only != "ternary":
        xnor_section(args)


def ternary_section(args: argparse.Namespace) -> None:
    """The zero-skipping ternary W_b kernel against torch (module docstring, first part)."""
    layers = synthetic_layers(args.seed) if args.synthetic else reference_layers()
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{'synthetic' if args.synthetic else 'reference-model'} weights, best of "
          f"{args.repeats}")
    print(f"{'layer':<6}{'c_in':>6}{'c_out':>6}{'hw':>5}{'nnz %':>7}{'plan ms':>9}"
          f"{'kernel ms':>11}{'torch ms':>10}{'Gadd/s':>8}{'GMAC/s':>8}{'ratio':>7}")
    ratios = []
    for name, x, wt in layers:
        c_out, c_in = wt.shape[:2]
        hw = x.shape[2]
        t = time.perf_counter()
        plan = prepare_ternary_conv(wt, x.shape[1:])
        plan_s = time.perf_counter() - t
        out, adds = plan.run(x)
        xt, wf = torch.from_numpy(x), torch.from_numpy(wt.astype(np.float32))
        with torch.no_grad():
            ref = F.conv2d(xt, wf).numpy()
            assert np.allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max()), name
            assert adds == np.count_nonzero(wt) * hw * hw
            t_kernel, t_torch = best_of(args.repeats, lambda p=plan, a=x: p.run(a),
                                        lambda a=xt, b=wf: F.conv2d(a, b))
        ratios.append(t_torch / t_kernel)
        print(f"{name:<6}{c_in:>6}{c_out:>6}{hw:>5}{100 * np.count_nonzero(wt) / wt.size:>7.1f}"
              f"{plan_s * 1e3:>9.2f}{t_kernel * 1e3:>11.3f}{t_torch * 1e3:>10.3f}"
              f"{adds / t_kernel / 1e9:>8.2f}{wt.size * hw * hw / t_torch / 1e9:>8.2f}"
              f"{ratios[-1]:>7.2f}")
    x, wt = layers[2][1], layers[2][2]
    t_call = best_of(5, lambda: ternary_conv2d(x, wt))[0]
    print(f"geometric mean ratio (torch time / kernel time): "
          f"{math.exp(sum(map(math.log, ratios)) / len(ratios)):.3f}")
    print(f"(one-call wrapper ternary_conv2d on {layers[2][0]}, plan built per call: "
          f"{t_call * 1e3:.3f} ms)")


if __name__ == "__main__":
    main()
