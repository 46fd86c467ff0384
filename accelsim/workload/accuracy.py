"""The accuracy a trained workload carries (torch-free).

A workload traced from a trained checkpoint (``accelsim trace --checkpoint``) records what
training measured in ``provenance.training``; ``provenance.training.accuracy`` is the top-1
accuracy of the exported inference-form network on its data's test split, a fraction in
[0, 1] (docs/workload-format.md). Untrained workloads have none.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from accelsim.errors import InputError, Problem
from accelsim.workload.schema import Workload


def workload_accuracy(wl: Workload) -> float | None:
    """``provenance.training.accuracy`` of ``wl`` (``None`` when it has none). Raises
    :class:`InputError` when the field is present but not a fraction in [0, 1]."""
    training = wl.provenance.get("training") if isinstance(wl.provenance, Mapping) else None
    if not isinstance(training, Mapping) or "accuracy" not in training:
        return None
    acc = training["accuracy"]
    if isinstance(acc, bool) or not isinstance(acc, (int, float)) or not math.isfinite(acc) \
            or not 0.0 <= acc <= 1.0:
        raise InputError(Problem("provenance.training.accuracy", acc,
                                 "must be a fraction in [0, 1]"), wl.name)
    return float(acc)


def workload_training(wl: Workload) -> Mapping[str, object] | None:
    """The whole ``provenance.training`` record (data, accuracy, test images, epochs, ...),
    or ``None``."""
    training = wl.provenance.get("training") if isinstance(wl.provenance, Mapping) else None
    return training if isinstance(training, Mapping) else None
