"""Torch-free entry points of the reference model (the :mod:`accelsim.api` twins) and the list
of bundled workloads.

Importing this module never imports torch; :func:`trace` and :func:`make_workloads` import it
when called and raise :class:`~accelsim.reference.spec.TorchMissingError` (one line naming the
``pip install`` command) if it is missing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from accelsim.outputs import atomic_write
from accelsim.reference.spec import ModelSpec, require_torch
from accelsim.workload import dumps_workload
from accelsim.workload.schema import Workload


def _mobilenet(variant: str, **kw: Any) -> ModelSpec:
    return ModelSpec("mobilenet_v1", width=0.5, resolution=224, classes=1000, variant=variant,
                     seed=0, **kw)


def _strassen(r: float) -> ModelSpec:
    return _mobilenet("strassen", alpha=0.0, r_factor=r, fc_hidden=512, fp_bytes=4)


def _hybrid(alpha: float, r: float, fc_hidden: int) -> ModelSpec:
    return _mobilenet("hybrid", alpha=alpha, r_factor=r, fc_hidden=fc_hidden, fp_bytes=2)


#: The WeightBinConv layers of Chakraborty et al.'s hybrid ResNet-18 (their Conv14-Conv20: the
#: last six 3x3 convs and the last projection shortcut); every other binarizable layer is
#: FullBinConv, the stem and the classifier stay fp.
HBN_WBIN = ("layer3.1.conv1", "layer3.1.conv2", "layer4.0.conv1", "layer4.0.conv2",
            "layer4.0.shortcut", "layer4.1.conv1", "layer4.1.conv2")

#: The bundled workloads: (file name, spec). MobileNet-V1 0.5 rows of Gope et al. Tables 1-2
#: (FC hidden width 512 for ST-MobileNets and alpha 0.5, 768 for alpha 0.25 / 0.375; the
#: ST-MobileNet rows store full-precision values in 4 bytes, as the paper's sizes imply), plus a
#: few ResNets, and ResNet-18 as a WBin, FBin and Chakraborty et al.'s hybrid binary network
#: (the baseline is their FPrec network). Each file name is ``spec.slug() + '.json'`` (the
#: workload's name).
BUNDLED: tuple[tuple[str, ModelSpec], ...] = (
    ("mobilenet_v1_0.5_baseline.json", _mobilenet("baseline", fp_bytes=2)),
    ("mobilenet_v1_0.5_twn.json", _mobilenet("twn")),
    ("mobilenet_v1_0.5_strassen_r0.5.json", _strassen(0.5)),
    ("mobilenet_v1_0.5_strassen_r0.75.json", _strassen(0.75)),
    ("mobilenet_v1_0.5_strassen_r1.json", _strassen(1.0)),
    ("mobilenet_v1_0.5_strassen_r2.json", _strassen(2.0)),
    ("mobilenet_v1_0.5_hybrid_a0.25_r1.json", _hybrid(0.25, 1.0, 768)),
    ("mobilenet_v1_0.5_hybrid_a0.25_r1.33.json", _hybrid(0.25, 1.33, 768)),
    ("mobilenet_v1_0.5_hybrid_a0.25_r2.json", _hybrid(0.25, 2.0, 768)),
    ("mobilenet_v1_0.5_hybrid_a0.375_r1.json", _hybrid(0.375, 1.0, 768)),
    ("mobilenet_v1_0.5_hybrid_a0.375_r1.6.json", _hybrid(0.375, 1.6, 768)),
    ("mobilenet_v1_0.5_hybrid_a0.375_r2.json", _hybrid(0.375, 2.0, 768)),
    ("mobilenet_v1_0.5_hybrid_a0.5_r1.json", _hybrid(0.5, 1.0, 512)),
    ("mobilenet_v1_0.5_hybrid_a0.5_r2.json", _hybrid(0.5, 2.0, 512)),
    ("resnet20_baseline.json", ModelSpec("resnet20", fp_bytes=2)),
    ("resnet20_strassen_r1_p2_g4.json",
     ModelSpec("resnet20", variant="strassen", alpha=0.0, r_factor=1.0, patch=2, groups=4,
               fc_hidden=64)),
    ("resnet18_baseline.json", ModelSpec("resnet18", fp_bytes=2)),
    ("resnet18_wbin.json", ModelSpec("resnet18", variant="wbin")),
    ("resnet18_fbin.json", ModelSpec("resnet18", variant="fbin")),
    ("resnet18_hbn_7wbin.json",
     ModelSpec("resnet18", variant="hbn", binarize=tuple((name, "wbin") for name in HBN_WBIN))),
)


def trace(spec: ModelSpec) -> Workload:
    """Trace ``spec``'s network into a :class:`Workload` (see
    :func:`accelsim.reference.trace.trace`). Raises ``TorchMissingError`` without torch and
    :class:`~accelsim.errors.InputError` for a bad spec."""
    require_torch()
    from accelsim.reference.trace import trace as _trace  # imports torch
    return _trace(spec)


def make_workloads(out: str | Path = "workloads") -> list[tuple[Path, int]]:
    """(Re)generate every bundled workload into directory ``out`` (created if missing).
    Returns ``(path, size in bytes)`` per file. Raises ``TorchMissingError`` without torch."""
    require_torch()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, spec in BUNDLED:
        text = dumps_workload(trace(spec))
        path = atomic_write(out / filename, text)  # a bundled file is never half written
        written.append((path, len(text.encode())))
    return written
