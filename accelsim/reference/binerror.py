"""The torch half of the HBN partition: read a trained FBin checkpoint and measure the
binarization error of every FullBinConv layer's input (:mod:`accelsim.reference.partition`).

Checkpoints: the exported checkpoint that ``accelsim train`` writes for an ``fbin`` network
(:mod:`accelsim.reference.checkpoint`, ``kind = "inference"``; :func:`save_checkpoint` writes
the same format for a model trained elsewhere), or the earlier form ``{"format":
"accelsim.checkpoint", "version": 1, "spec": ..., "state_dict": ...}``; both are ``torch.save``
of a dict, loaded with ``weights_only=True``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from accelsim.errors import InputError, Problem
from accelsim.reference import checkpoint as ckpt
from accelsim.reference.binary import FullBinConv2d, FullBinLinear, sign_pm1
from accelsim.reference.counted import iter_layers
from accelsim.reference.models import build_model, input_shape
from accelsim.reference.spec import ModelSpec

CHECKPOINT_FORMAT = "accelsim.checkpoint"


def save_checkpoint(model: nn.Module, path: str | Path,
                    training: dict[str, Any] | None = None) -> None:
    """Write ``model`` (built by :func:`build_model`, so it has ``model.spec``) as an exported
    checkpoint (the format ``accelsim train`` writes; ``training``: what training measured)."""
    spec: ModelSpec = getattr(model, "spec")  # noqa: B009 (set by build_model)
    ckpt.save_atomic({"kind": "inference", "spec": spec.to_dict(),
                      "state": model.state_dict(), "training": training or {}}, path)


def load_checkpoint(path: str | Path) -> tuple[ModelSpec, nn.Module]:
    """The spec and the model (eval mode, trained parameters) of a checkpoint. Raises
    InputError naming the file for an unreadable file, another format, a spec that is not a
    fully binarized (``fbin``) model, or a state dict that does not fit the spec's model."""
    source = str(path)
    try:
        doc = torch.load(Path(path), map_location="cpu", weights_only=True)
    except OSError as exc:
        raise InputError(Problem("<file>", source, f"cannot read: {exc.strerror or exc}"),
                         source) from None
    except Exception as exc:
        raise InputError(Problem("<document>", type(exc).__name__,
                                 "not a PyTorch checkpoint written by accelsim"), source) from None
    if not isinstance(doc, dict) or doc.get("format") != CHECKPOINT_FORMAT:
        value = doc.get("format", "<missing>") if isinstance(doc, dict) else type(doc).__name__
        raise InputError(Problem("format", value, f"must be '{CHECKPOINT_FORMAT}'"), source)
    if "kind" in doc:   # an exported (or a training) checkpoint of accelsim train
        doc = ckpt.load(path, "inference")
        spec = ckpt.spec_of(doc, source)
        _need_fbin(spec, source)
        model = build_model(spec)
        ckpt.load_state(model, doc["state"], source)
        return spec, model.eval()
    try:
        spec = ModelSpec.from_dict(doc.get("spec", "<missing>"))
    except InputError as exc:
        raise exc.with_source(source) from None
    _need_fbin(spec, source)
    model = build_model(spec)
    state = doc.get("state_dict")
    if not isinstance(state, dict):
        raise InputError(Problem("state_dict", type(state).__name__, "must be a state dict"),
                         source)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        names = list(missing) or list(unexpected)
        raise InputError(Problem("state_dict", names[:3], f"{len(missing)} missing and "
                                 f"{len(unexpected)} unexpected keys for {spec.slug()}"), source)
    return spec, model.eval()


def _need_fbin(spec: ModelSpec, source: str) -> None:
    if spec.variant != "fbin":
        raise InputError(Problem("spec.variant", spec.variant, "the partition needs a fully "
                                 "binarized (fbin) model"), source)


def data_images(source: str, spec: ModelSpec, images: int) -> torch.Tensor:
    """The first ``images`` training images of the data ``source`` (``digits``,
    ``cifar10:DIR``, ``imagefolder:DIR``; what ``accelsim train`` reads) at ``spec``'s
    resolution, normalised as in training. Raises InputError for bad data, or data whose
    class count is not the model's."""
    from accelsim.reference.data import load_data

    data = load_data(source, int(spec.resolution or 0))
    if data.classes != spec.classes:
        raise InputError(Problem("data", source, f"has {data.classes} classes, the checkpoint's "
                                 f"model {spec.classes}: it was trained on other data"))
    return data.train_x[:images].contiguous()


def load_inputs(path: str | Path, spec: ModelSpec) -> torch.Tensor:
    """A ``.npy`` float array of images ``(N, 3, R, R)`` for ``spec``'s resolution R. Raises
    InputError naming the file, the field and the value."""
    source = str(path)
    try:
        a = np.load(Path(path), allow_pickle=False)
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a .npy array"
        raise InputError(Problem("<file>", source, f"cannot read: {why}"), source) from None
    want = input_shape(spec)[1:]
    if a.ndim != 4 or a.shape[1:] != want or a.shape[0] < 1:
        raise InputError(Problem("shape", list(a.shape), f"must be (N, {want[0]}, {want[1]}, "
                                 f"{want[2]}) for {spec.slug()}"), source)
    if not np.issubdtype(a.dtype, np.floating) or not np.all(np.isfinite(a)):
        raise InputError(Problem("values", str(a.dtype), "must be finite floats"), source)
    return torch.from_numpy(a.astype(np.float32))


def layer_errors(model: nn.Module, spec: ModelSpec, *, x: torch.Tensor | None = None,
                 images: int = 16, seed: int = 0, batch: int = 16
                 ) -> list[tuple[str, float, int]]:
    """``(name, E, NF)`` of every FullBinConv layer, in execution order: ``E`` the mean over
    the images of ``mean((I - s sign(I))^2)`` (sign(0) = +1), ``s = mean |I|`` per image, ``I`` the
    layer's input; ``NF`` its multiply-accumulates per image. ``x``: the images (default ``images``
    seeded Gaussian ones). One torch thread."""

    named = [(n, m) for n, m in iter_layers(model) if isinstance(m, (FullBinConv2d,
                                                                       FullBinLinear))]
    if not named:
        raise InputError(Problem("spec", spec.slug(), "the model has no FullBinConv layer"))
    if x is None:
        x = torch.randn((images,) + input_shape(spec)[1:],
                        generator=torch.Generator().manual_seed(seed))
    sums: dict[str, float] = {n: 0.0 for n, _ in named}
    flops: dict[str, int] = {}

    def hook_for(name: str) -> Any:
        def hook(mod: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            i = inputs[0].double().flatten(1)
            s = i.abs().mean(1, keepdim=True)
            sums[name] += float(((i - s * sign_pm1(i)) ** 2).mean(1).sum())
            if isinstance(mod, FullBinLinear):
                k = mod.in_features
            else:
                assert isinstance(mod, FullBinConv2d)
                k = mod.in_channels * mod.kernel_size ** 2
            flops[name] = int(output[0].numel()) * k
        return hook

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    handles = [m.register_forward_hook(hook_for(n)) for n, m in named]
    try:
        with torch.no_grad():
            for start in range(0, x.shape[0], batch):
                model(x[start:start + batch])
    finally:
        for h in handles:
            h.remove()
        torch.set_num_threads(threads)
    return [(n, sums[n] / x.shape[0], flops[n]) for n, _ in named]
