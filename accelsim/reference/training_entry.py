"""Torch-free entry points of the training side (the :mod:`accelsim.api` twins of
``accelsim train``, ``rediscover-strassen``, ``sensitivity`` and ``trace --checkpoint``).

Importing this module never imports torch; each function imports it when called and raises
:class:`~accelsim.reference.spec.TorchMissingError` (one line with the install command) if it
is missing. See docs/training.md.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accelsim.errors import InputError, Problem
from accelsim.reference.schedule import (
    EpochRecord,
    Phase,
    TrainConfig,
    TrainResult,
    default_phases,
)
from accelsim.reference.spec import ModelSpec, require_torch
from accelsim.workload.schema import Workload

if TYPE_CHECKING:  # pragma: no cover
    from accelsim.reference.rediscover import RediscoveryReport

__all__ = ["EpochRecord", "Phase", "TrainConfig", "TrainResult", "default_phases",
           "data_classes", "train", "rediscover_strassen", "sensitivity", "trace_checkpoint"]


def data_classes(source: str) -> int:
    """Number of classes of a data source without reading its images: 10 for ``digits`` and
    ``cifar10:DIR``, the class folders of ``imagefolder:DIR/train``. Raises
    :class:`InputError` for an unknown source or a missing folder."""
    kind, _, path = source.partition(":")
    if (kind == "digits" and not path) or (kind == "cifar10" and path):
        return 10
    if kind == "imagefolder" and path:
        train = Path(path) / "train"
        if not train.is_dir():
            raise InputError(Problem("<folder>", path, "expected subfolders train/ and val/ "
                                     "(or test/), each with one folder of images per class"),
                             path)
        return sum(1 for d in train.iterdir() if d.is_dir())
    raise InputError(Problem("data", source, "must be digits, cifar10:DIR or imagefolder:DIR"))


def train(config: TrainConfig, run_dir: str | Path, *, resume: bool = False,
          export: str | Path | None = None, progress: bool = False,
          on_epoch: Callable[[EpochRecord], None] | None = None) -> TrainResult:
    """Train ``config`` in ``run_dir`` with the three-phase schedule, checkpoint after every
    epoch, export the folded network (see :func:`accelsim.reference.train.train`)."""
    require_torch()
    from accelsim.reference.train import train as _train
    return _train(config, run_dir, resume=resume, export=export, progress=progress,
                  on_epoch=on_epoch)


def rediscover_strassen(rank: int = 7, seeds: int = 200, **options: Any) -> RediscoveryReport:
    """Search ``seeds`` initialisations for an exact ternary SPN of the 2x2 product with
    ``rank`` multiplications (see :func:`accelsim.reference.rediscover.rediscover`)."""
    require_torch()
    from accelsim.reference.rediscover import rediscover
    for name, value, low in (("rank", rank, 1), ("seeds", seeds, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(Problem(name, value, f"must be an integer >= {low}"))
    return rediscover(rank, seeds, **options)


def sensitivity(checkpoint: str | Path, layer: str, out: str | Path,
                **options: Any) -> dict[str, Any]:
    """Per-filter SPN loss against hidden width for one layer of a trained network (see
    :func:`accelsim.reference.sensitivity.sensitivity`); resumable through ``out``."""
    require_torch()
    from accelsim.reference.sensitivity import sensitivity as _sensitivity
    return _sensitivity(checkpoint, layer, out, **options)


def trace_checkpoint(checkpoint: str | Path, relative_to: str | Path = ".") -> Workload:
    """The workload of an exported checkpoint's trained network, its provenance pointing to
    the checkpoint relative to folder ``relative_to`` (see
    :func:`accelsim.reference.trained.trace_checkpoint`)."""
    require_torch()
    from accelsim.reference.trained import trace_checkpoint as _trace
    return _trace(checkpoint, relative_to)


def spec_for_data(spec: ModelSpec, source: str, classes_given: bool) -> ModelSpec:
    """``spec`` with ``classes`` set from the data when the user did not give it; an
    :class:`InputError` when the user's value disagrees with the data."""
    n = data_classes(source)
    if classes_given and spec.classes != n:
        raise InputError(Problem("classes", spec.classes, f"the data {source!r} has {n} "
                                 "classes"))
    return replace(spec, classes=n)
