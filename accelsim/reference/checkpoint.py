"""Checkpoint files of the reference model: written atomically, read with one-line errors.

Two kinds, both ``torch.save`` of a plain dict (read back with ``weights_only=True``):

* a **training checkpoint** (``kind = "training"``), written after every epoch of
  ``accelsim train``: the :class:`TrainConfig`, the training-form state (with BatchNorms),
  the optimizer state of the current phase, the data-order generator's state, the epochs done
  and the per-epoch history; enough to resume bit-identically;
* an **exported checkpoint** (``kind = "inference"``), written at the end: the
  :class:`ModelSpec`, the inference-form state (BatchNorms folded, ternary shadows kept) and
  what training measured (``training``: dataset, test accuracy, ...). ``accelsim trace
  --checkpoint`` and ``accelsim verify`` read it.

A file that is not such a checkpoint, is truncated or corrupt, or holds another network than
expected raises :class:`~accelsim.errors.InputError` naming the file and what is wrong.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from accelsim.errors import InputError, Problem
from accelsim.reference.spec import ModelSpec

FORMAT = "accelsim.checkpoint"
VERSION = 1
KINDS = ("training", "inference")


def save_atomic(doc: Mapping[str, Any], path: str | Path) -> Path:
    """``torch.save(doc)`` to a temporary file beside ``path``, fsync, then rename over
    ``path``: a reader (or a run killed mid-write) sees the old file or the new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(dict(doc, format=FORMAT, version=VERSION), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load(path: str | Path, kind: str | None = None) -> dict[str, Any]:
    """Read a checkpoint (of ``kind`` if given). Raises :class:`InputError` naming the file."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        why = "is a folder" if path.is_dir() else "no such file"
        raise InputError(Problem("<file>", where, f"cannot read: {why}"), where)
    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):
            raise
        why = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise InputError(Problem("<file>", where, f"not a readable checkpoint (truncated or "
                                 f"corrupt: {why})"), where) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(Problem("format", doc.get("format") if isinstance(doc, dict) else
                                 type(doc).__name__, f"not an {FORMAT} file"), where)
    if doc.get("version") != VERSION:
        raise InputError(Problem("version", doc.get("version"), f"must be {VERSION}"), where)
    if doc.get("kind") not in KINDS or (kind is not None and doc["kind"] != kind):
        want = kind or " or ".join(KINDS)
        hint = {"training": ": a run's per-epoch checkpoint; pass the exported model.pt "
                            "that `accelsim train` writes when the run finishes",
                "inference": ": an exported model; resume from the run folder's "
                             "checkpoint.pt"}.get(
                    str(doc.get("kind")), "")
        raise InputError(Problem("kind", doc.get("kind"), f"must be {want}{hint}"), where)
    if not isinstance(doc.get("state"), Mapping):
        raise InputError(Problem("state", "<missing>", "the checkpoint holds no weights"), where)
    return doc


def spec_of(doc: Mapping[str, Any], where: str) -> ModelSpec:
    """The :class:`ModelSpec` a checkpoint was trained for. Raises :class:`InputError`."""
    raw = doc.get("spec") if doc.get("kind") == "inference" else \
        (doc.get("config") or {}).get("spec")
    try:
        return ModelSpec.from_dict(raw if isinstance(raw, Mapping) else {})
    except InputError as exc:
        raise exc.with_source(where) from None


def load_state(model: nn.Module, state: Mapping[str, torch.Tensor], where: str) -> None:
    """Copy ``state`` into ``model`` exactly (same names and shapes). Raises
    :class:`InputError` naming the first parameter that does not fit: the checkpoint is of
    another network than ``model``."""
    from accelsim.reference.trainform import prepare_state

    prepare_state(model, state)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    if missing or extra:
        key = missing[0] if missing else extra[0]
        what = "missing" if missing else "unexpected"
        raise InputError(Problem("state", key, f"{what} parameter ({len(missing)} missing, "
                                 f"{len(extra)} unexpected): the checkpoint is of another "
                                 "network"), where)
    for k, v in own.items():
        if not isinstance(state[k], torch.Tensor) or tuple(state[k].shape) != tuple(v.shape):
            got = tuple(state[k].shape) if isinstance(state[k], torch.Tensor) else state[k]
            raise InputError(Problem(f"state.{k}", got, f"shape must be {tuple(v.shape)}: the "
                                     "checkpoint is of another network"), where)
    model.load_state_dict(dict(state), strict=True)


def check_same_network(spec: ModelSpec, expected: ModelSpec, where: str,
                       fields: tuple[str, ...] | None = None) -> None:
    """Raise :class:`InputError` naming every field in which ``spec`` (from the file
    ``where``) differs from ``expected`` (all fields, or ``fields``)."""
    a, b = spec.to_dict(), expected.to_dict()
    names = fields or tuple(a)
    diff = [Problem(f"spec.{k}", a[k], f"expected {b[k]!r}: the checkpoint is of another "
                    "network") for k in names if a[k] != b[k]]
    if diff:
        raise InputError(diff, where)


def load_model(path: str | Path) -> tuple[nn.Module, ModelSpec, dict[str, Any]]:
    """The inference-form network of an exported checkpoint (eval mode), its spec and the
    checkpoint dict. Raises :class:`InputError` naming the file."""
    from accelsim.reference.models import build_model

    doc = load(path, "inference")
    where = str(path)
    spec = spec_of(doc, where)
    model = build_model(spec)
    load_state(model, doc["state"], where)
    return model.eval(), spec, doc


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
