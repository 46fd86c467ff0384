"""Trained networks into the simulator: trace an exported checkpoint, and find the checkpoint
behind a trained workload again (for ``accelsim verify``).

A trained workload's provenance holds, besides the spec, ``checkpoint`` (``path``: the exported
checkpoint relative to the workload file's folder, ``sha256``: its bytes' hash) and
``training`` (what training measured: ``data``, ``accuracy`` = top-1 test accuracy of the
exported inference form in [0, 1], ``test_images``, ``epochs``, ...; docs/workload-format.md).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from torch import nn

from accelsim.errors import InputError, Problem
from accelsim.reference import checkpoint as ckpt
from accelsim.reference.spec import GENERATOR, ModelSpec
from accelsim.reference.trace import describe, trace_model
from accelsim.workload.schema import Workload


def trace_checkpoint(path: str | Path, relative_to: str | Path = ".") -> Workload:
    """The workload of an exported checkpoint's trained network: zero-skip counts, weights and
    sizes from its quantized weights; provenance with the checkpoint's path relative to the
    folder ``relative_to`` (where the workload will be written) and its training record.
    Deterministic (byte-identical for the same file and folder). Raises :class:`InputError`
    naming the file for a missing, corrupt or foreign checkpoint."""
    model, spec, doc = ckpt.load_model(path)
    raw = doc.get("training")
    training: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    rel = Path(os.path.relpath(Path(path).resolve(), Path(relative_to).resolve())).as_posix()
    extra = {"checkpoint": {"path": rel, "sha256": ckpt.file_sha256(path)},
             "training": dict(training)}
    text = describe(spec).removesuffix(f"; traced by {GENERATOR}.")
    acc = training.get("accuracy")
    if isinstance(acc, float):
        text += (f"; trained on {training.get('data')} (test accuracy {acc:.4f} on "
                 f"{training.get('test_images')} images)")
    wl = trace_model(spec, model, extra, text + f"; traced by {GENERATOR}.")
    data = training.get("data")
    return replace(wl, name=f"{wl.name}_{data}" if isinstance(data, str) else wl.name)


def checkpoint_of(provenance: Mapping[str, Any], base: str | Path, where: str
                  ) -> Path | None:
    """The exported checkpoint a trained workload was traced from (``None`` for an untrained
    one), resolved against the workload file's folder ``base``. Raises :class:`InputError`
    (source ``where``) when it is missing or its bytes changed since the trace."""
    entry = provenance.get("checkpoint")
    if entry is None:
        return None
    if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
        raise InputError(Problem("provenance.checkpoint", entry, "must be a mapping with a "
                                 "path"), where)
    path = Path(base) / entry["path"]
    if not path.is_file():
        raise InputError(Problem("provenance.checkpoint.path", entry["path"],
                                 f"no such checkpoint ({path})"), where)
    digest = entry.get("sha256")
    if digest is not None and digest != ckpt.file_sha256(path):
        raise InputError(Problem("provenance.checkpoint.sha256", digest, f"{path} has changed "
                                 "since the workload was traced"), where)
    return path


def model_for(spec: ModelSpec, path: Path, where: str) -> nn.Module:
    """The trained model of ``path``, checked to be the network of ``spec`` (the workload's
    provenance). Raises :class:`InputError`."""
    model, got, _ = ckpt.load_model(path)
    ckpt.check_same_network(got, spec, str(path))
    return model
