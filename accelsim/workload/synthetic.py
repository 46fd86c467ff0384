"""Torch-free synthetic workloads for scale tests and benchmarks.

* :func:`chain` - ``n`` layers of a repeating conv / depthwise / hybrid pattern (any length);
* :func:`resnet_bottleneck` - a ResNet-50/101/152-shaped network (He et al. 2016, bottleneck
  blocks [3, 4, 6 | 23 | 36, 3], 1x1 projection shortcuts) built from the closed-form geometry,
  as ``fp`` or ``strassen`` layers, with zero-skip counts drawn from a seeded generator at the TWN
  quantizer's typical density.
"""
from __future__ import annotations

import numpy as np

from accelsim.workload.build import (
    conv_out,
    eltwise_layer,
    fp_layer,
    strassen_layer,
    strassen_params,
)
from accelsim.workload.schema import Layer, Shape, Workload

_DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
DENSITY = 0.6  # fraction of non-zero ternary weights (TWN quantizer on Gaussian weights)


def _conv(name: str, h: int, c_in: int, c_out: int, k: int, s: int, variant: str,
          rng: np.random.Generator, inputs: tuple[str, ...], r_factor: float = 1.0,
          groups: int = 1) -> tuple[Layer, int]:
    pad = k // 2
    ho = conv_out(h, k, s, pad)
    shape = Shape(h, h, c_in, ho, ho, c_out, k, k, s, pad, groups)
    if variant == "fp" or groups != 1:
        kind = "depthwise" if groups == c_in and groups > 1 else "conv"
        return fp_layer(name, kind, shape, inputs=inputs), ho
    p = strassen_params(c_out, alpha=0.0 if variant == "strassen" else 0.25, r_factor=r_factor)
    dense_b = p.r * k * k * c_in
    nnz_b = int(rng.binomial(dense_b, DENSITY))
    nnz_c = int(rng.binomial(p.c_rem * p.r, DENSITY))
    return strassen_layer(name, "conv", shape, p, wb_nnz=nnz_b, wc_nnz=[[nnz_c]],
                          inputs=inputs), ho


def chain(n_layers: int, *, channels: int = 64, hw: int = 28, variant: str = "hybrid",
          seed: int = 0) -> Workload:
    """``n_layers`` layers cycling conv3x3 -> depthwise3x3 -> pointwise (fp or strassen/hybrid)."""
    if n_layers < 1:
        raise ValueError("n_layers must be >= 1")
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    prev: tuple[str, ...] = ()
    for i in range(n_layers):
        name = f"l{i}"
        pattern = i % 3
        if pattern == 1:
            layer, _ = _conv(name, hw, channels, channels, 3, 1, "fp", rng, prev, groups=channels)
        else:
            k = 3 if pattern == 0 else 1
            layer, _ = _conv(name, hw, channels, channels, k, 1, variant, rng, prev)
        layers.append(layer)
        prev = (name,)
    return Workload(f"chain{n_layers}_{variant}", tuple(layers),
                    provenance={"generator": "accelsim.workload.synthetic.chain",
                                "n_layers": n_layers, "channels": channels, "hw": hw,
                                "variant": variant, "seed": seed})


def resnet_bottleneck(depth: int = 152, *, resolution: int = 224, classes: int = 1000,
                      variant: str = "fp", seed: int = 0) -> Workload:
    """A ResNet-``depth`` (50, 101 or 152) workload; ``variant`` is ``fp`` or ``strassen``."""
    if depth not in _DEPTHS:
        raise ValueError(f"depth must be one of {sorted(_DEPTHS)}")
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    stem, h = _conv("conv1", resolution, 3, 64, 7, 2, variant, rng, ())
    layers.append(stem)
    h = conv_out(h, 3, 2, 1)  # max pool (not counted)
    prev, c_in = "conv1", 64
    for stage, blocks in enumerate(_DEPTHS[depth], start=1):
        width = 64 * 2 ** (stage - 1)
        for b in range(blocks):
            s = 2 if b == 0 and stage > 1 else 1
            base = f"layer{stage}.{b}"
            l1, _ = _conv(f"{base}.conv1", h, c_in, width, 1, 1, variant, rng, (prev,))
            l2, ho = _conv(f"{base}.conv2", h, width, width, 3, s, variant, rng,
                           (f"{base}.conv1",))
            l3, _ = _conv(f"{base}.conv3", ho, width, 4 * width, 1, 1, variant, rng,
                          (f"{base}.conv2",))
            layers += [l1, l2, l3]
            shortcut = prev
            if b == 0:
                sc, _ = _conv(f"{base}.shortcut", h, c_in, 4 * width, 1, s, variant, rng,
                              (prev,))
                layers.append(sc)
                shortcut = f"{base}.shortcut"
            layers.append(eltwise_layer(f"{base}.add", ho, ho, 4 * width,
                                        (f"{base}.conv3", shortcut)))
            prev, c_in, h = f"{base}.add", 4 * width, ho
    fc = fp_layer("fc", "linear", Shape(1, 1, c_in, 1, 1, classes), inputs=(prev,))
    layers.append(fc)
    return Workload(f"resnet{depth}_{variant}", tuple(layers),
                    provenance={"generator": "accelsim.workload.synthetic.resnet_bottleneck",
                                "depth": depth, "resolution": resolution, "variant": variant,
                                "seed": seed})
