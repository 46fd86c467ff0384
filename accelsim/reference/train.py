"""Train a reference network with the three-phase StrassenNets schedule (docs/training.md).

:func:`train` runs the phases of a :class:`~accelsim.reference.schedule.TrainConfig` (fp,
quantize, freeze; a baseline or binary network only fp) with SGD (Nesterov, weight decay) or
Adam, optional knowledge
distillation from an exported teacher checkpoint, a training checkpoint after every epoch
(resumable bit-identically) and, at the end, an exported inference-form checkpoint whose test
accuracy is measured on the folded network.

Determinism: the initial weights come from ``spec.seed``, the data order and augmentation from
a ``torch.Generator`` seeded with ``config.seed`` (saved in every checkpoint); the run uses
``config.threads`` torch threads and deterministic algorithms (both restored afterwards).
"""
from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from accelsim.errors import InputError, Problem
from accelsim.reference import checkpoint as ckpt
from accelsim.reference.data import ImageData, load_data, translate
from accelsim.reference.models import build_model
from accelsim.reference.schedule import EpochRecord, Phase, TrainConfig, TrainResult
from accelsim.reference.spec import ModelSpec
from accelsim.reference.trainform import fold, freeze_ternary, set_quantize, to_train_form

CHECKPOINT = "checkpoint.pt"
EXPORT = "model.pt"


@dataclass
class _State:
    model: nn.Module
    generator: torch.Generator
    epochs_done: int
    history: list[EpochRecord]
    optimizer_state: dict[str, Any] | None


def train(config: TrainConfig, run_dir: str | Path, *, resume: bool = False,
          export: str | Path | None = None, progress: bool = False,
          on_epoch: Callable[[EpochRecord], None] | None = None,
          on_step: Callable[[int, int], None] | None = None,
          data: ImageData | None = None) -> TrainResult:
    """Train ``config`` in ``run_dir`` (``checkpoint.pt`` after every epoch) and export the
    inference form to ``export`` (default ``run_dir/model.pt``). ``resume`` continues from
    ``run_dir/checkpoint.pt`` (its config must equal ``config``); without it an existing
    checkpoint is an error. ``on_epoch`` sees each :class:`EpochRecord`; ``on_step(epoch,
    step)`` is called before every optimizer step. Raises :class:`InputError` for bad data,
    checkpoint or teacher files."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True)
    try:
        return _train(config, Path(run_dir), resume, export, progress, on_epoch, on_step, data)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


def _train(config: TrainConfig, run_dir: Path, resume: bool, export: str | Path | None,
           progress: bool, on_epoch: Callable[[EpochRecord], None] | None,
           on_step: Callable[[int, int], None] | None, data: ImageData | None) -> TrainResult:
    spec = ModelSpec.from_dict(config.spec)
    data = data if data is not None else load_data(config.data, int(spec.resolution or 0))
    if data.classes != spec.classes:
        raise InputError(Problem("classes", spec.classes, f"the data {config.data!r} has "
                                 f"{data.classes} classes"))
    teacher = _teacher(config, spec)
    state = _start(config, spec, run_dir, resume)
    model = state.model
    steps = len(data.train_y) // config.batch_size
    if steps == 0:
        raise InputError(Problem("batch_size", config.batch_size, f"larger than the "
                                 f"{len(data.train_y)} training images"))
    current: str | None = None
    opt: torch.optim.Optimizer | None = None
    for epoch in range(state.epochs_done, config.total_epochs):
        phase, e_in = config.phase_of(epoch)
        if phase.name != current:
            opt = _enter_phase(model, phase, config)
            if state.optimizer_state is not None:
                opt.load_state_dict(state.optimizer_state)
                state.optimizer_state = None
            current = phase.name
        assert opt is not None
        record = _epoch(model, opt, phase, epoch, e_in, steps, data, config, state.generator,
                        teacher, progress, on_step)
        state.history.append(record)
        ckpt.save_atomic(_training_doc(config, model, opt, phase, state, epoch + 1),
                         run_dir / CHECKPOINT)
        if on_epoch is not None:
            on_epoch(record)
    return _export(config, spec, model, data, run_dir, export, state.history)


def _start(config: TrainConfig, spec: ModelSpec, run_dir: Path, resume: bool) -> _State:
    path = run_dir / CHECKPOINT
    model = to_train_form(build_model(spec))
    gen = torch.Generator().manual_seed(config.seed)
    if not resume:
        if path.exists():
            raise InputError(Problem("<file>", str(path), "a run already exists here: pass "
                                     "--resume to continue it, or choose another folder"))
        return _State(model, gen, 0, [], None)
    if not path.exists():
        return _State(model, gen, 0, [], None)
    doc = ckpt.load(path, "training")
    where = str(path)
    saved = doc.get("config")
    if saved != config.to_dict():
        diff = [k for k in config.to_dict() if not isinstance(saved, dict)
                or saved.get(k) != config.to_dict()[k]]
        raise InputError(Problem("config", diff, "the run was started with other settings "
                                 "(resume with the same options)"), where)
    epochs_done = doc.get("epochs_done")
    if not isinstance(epochs_done, int) or not 0 < epochs_done <= config.total_epochs:
        raise InputError(Problem("epochs_done", epochs_done, "out of range"), where)
    phase, _ = config.phase_of(epochs_done - 1)
    _enter_phase(model, phase, config)
    ckpt.load_state(model, doc["state"], where)
    gen.set_state(doc["generator"])
    history = [EpochRecord(**r) for r in doc.get("history", [])]
    same_phase = epochs_done < config.total_epochs and \
        config.phase_of(epochs_done)[0].name == phase.name
    return _State(model, gen, epochs_done, history, doc["optimizer"] if same_phase else None)


def _enter_phase(model: nn.Module, phase: Phase, config: TrainConfig) -> torch.optim.Optimizer:
    """Set quantization / freezing for ``phase`` and return a fresh optimizer (SGD or Adam)
    over what trains."""
    set_quantize(model, phase.name != "fp")
    if phase.name == "freeze":
        freeze_ternary(model)
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=phase.lr, weight_decay=config.weight_decay)
    nesterov = config.nesterov and config.momentum > 0
    return torch.optim.SGD(params, lr=phase.lr, momentum=config.momentum, nesterov=nesterov,
                           weight_decay=config.weight_decay)


def _batches(n: int, batch: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
    order = torch.randperm(n, generator=gen)
    for i in range(n // batch):
        yield order[i * batch:(i + 1) * batch]


def _epoch(model: nn.Module, opt: torch.optim.Optimizer, phase: Phase, epoch: int, e_in: int,
           steps: int, data: ImageData, config: TrainConfig, gen: torch.Generator,
           teacher: nn.Module | None, progress: bool,
           on_step: Callable[[int, int], None] | None) -> EpochRecord:
    from tqdm import tqdm

    start = time.perf_counter()
    model.train()
    total_loss, correct, seen, lr = 0.0, 0, 0, phase.lr
    bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{config.total_epochs} {phase.name}",
               disable=not progress, leave=False, unit="batch")
    for step, idx in enumerate(_batches(len(data.train_y), config.batch_size, gen)):
        lr = phase.lr_at(e_in, step, steps)
        for group in opt.param_groups:
            group["lr"] = lr
        x, y = data.train_x[idx], data.train_y[idx]
        if config.augment:
            x = translate(x, gen)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        if teacher is not None:
            loss = loss + distillation_loss(logits, teacher, x, config)
        if on_step is not None:
            on_step(epoch, step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total_loss += float(loss.detach()) * len(y)
        correct += int((logits.argmax(1) == y).sum())
        seen += len(y)
        bar.update(1)
        bar.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}")
    bar.close()
    test_acc = accuracy(model, data.test_x, data.test_y)
    return EpochRecord(epoch=epoch + 1, phase=phase.name, lr=lr, loss=total_loss / seen,
                       train_acc=correct / seen, test_acc=test_acc,
                       seconds=time.perf_counter() - start, images=seen)


def distillation_loss(logits: torch.Tensor, teacher: nn.Module, x: torch.Tensor,
                      config: TrainConfig) -> torch.Tensor:
    """``distill_weight * T**2 * CE(softmax(teacher / T), softmax(student / T))`` (Hinton
    et al.; T = 1 and weight 1 give the papers' equal-weight sum with the label loss)."""
    with torch.no_grad():
        soft = F.softmax(teacher(x) / config.temperature, dim=1)
    log_p = F.log_softmax(logits / config.temperature, dim=1)
    return config.distill_weight * config.temperature ** 2 * -(soft * log_p).sum(1).mean()


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 256) -> float:
    """Top-1 accuracy of ``model`` (eval mode, restored afterwards) on ``x``, ``y``."""
    was_training = model.training
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            correct += int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    model.train(was_training)
    return correct / max(1, len(y))


def _teacher(config: TrainConfig, spec: ModelSpec) -> nn.Module | None:
    if config.teacher is None:
        return None
    model, tspec, _ = ckpt.load_model(config.teacher)
    for name in ("classes", "resolution"):
        if getattr(tspec, name) != getattr(spec, name):
            raise InputError(Problem(f"spec.{name}", getattr(tspec, name),
                                     f"the student has {getattr(spec, name)}: the teacher is "
                                     "of another network"), config.teacher)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _training_doc(config: TrainConfig, model: nn.Module, opt: torch.optim.Optimizer,
                  phase: Phase, state: _State, epochs_done: int) -> dict[str, Any]:
    return {"kind": "training", "config": config.to_dict(), "epochs_done": epochs_done,
            "phase": phase.name, "state": model.state_dict(), "optimizer": opt.state_dict(),
            "generator": state.generator.get_state(),
            "history": [asdict(r) for r in state.history]}


def _export(config: TrainConfig, spec: ModelSpec, model: nn.Module, data: ImageData,
            run_dir: Path, export: str | Path | None, history: list[EpochRecord]
            ) -> TrainResult:
    inference = fold(copy.deepcopy(model)).eval()
    set_quantize(inference, True)
    acc = accuracy(inference, data.test_x, data.test_y)
    path = Path(export) if export is not None else run_dir / EXPORT
    state = dict(inference.state_dict())
    training = {"data": data.name, "accuracy": acc, "test_images": int(len(data.test_y)),
                "train_images": int(len(data.train_y)), "epochs": config.total_epochs,
                "phases": [p.name for p in config.active_phases], "seed": config.seed,
                "distilled": config.teacher is not None}
    ckpt.save_atomic({"kind": "inference", "spec": spec.to_dict(), "state": state,
                      "training": training}, path)
    return TrainResult(run_dir=run_dir, exported=path, accuracy=acc,
                       test_images=int(len(data.test_y)), history=tuple(history))
