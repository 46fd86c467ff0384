"""The training schedule of the reference model (torch-free, validated): three phases, each with
its own epochs and learning-rate schedule, as in StrassenNets and Gope et al.

* phase ``fp``: W_b / W_c (and TWN weights) full precision;
* phase ``quantize``: ternary quantization on, straight-through gradients to the fp shadows;
* phase ``freeze``: W_b / W_c (TWN weights) frozen to their ternary values; ã, fp filters,
  biases and BatchNorms are fine-tuned.

A baseline network has nothing to quantize: it runs phase ``fp`` only. So does a binary network
(``wbin``, ``fbin``, ``hbn``): its binary layers binarize from the first step, with
straight-through gradients to their full-precision shadows, as XNOR-Net and the HBN paper
train; its one phase is called ``fp`` too (the fp layers train in full precision).

Learning rate within a phase, for global step ``t`` of ``T`` (``W`` warm-up steps): linear
warm-up from 0 to ``lr`` over ``W`` steps, then ``cosine``: ``lr/2 (1 + cos(pi (t-W)/(T-W)))``
or ``step``: ``lr * gamma ** (number of milestones <= epoch)``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from accelsim.errors import InputError, Problem

PHASES = ("fp", "quantize", "freeze")
SCHEDULES = ("cosine", "step")
#: Optimizers: SGD (momentum, Nesterov) or Adam (what XNOR-Net trains binary networks with).
OPTIMIZERS = ("sgd", "adam")
#: Variants that run the first phase only (nothing to quantize or freeze).
ONE_PHASE_VARIANTS = ("baseline", "wbin", "fbin", "hbn")


@dataclass(frozen=True)
class Phase:
    """One training phase: ``epochs`` (0 skips it), peak ``lr``, ``schedule`` (cosine or step),
    ``warmup_epochs`` of linear warm-up, step ``milestones`` (epochs within the phase) and
    ``gamma``. Raises :class:`InputError` on a bad field."""

    name: str
    epochs: int
    lr: float
    schedule: str = "cosine"
    warmup_epochs: int = 0
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1

    def __post_init__(self) -> None:
        problems = []
        where = f"phases.{self.name}"
        if self.name not in PHASES:
            problems.append(Problem("phases", self.name, f"must be one of {', '.join(PHASES)}"))
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 0:
            problems.append(Problem(f"{where}.epochs", self.epochs, "must be an integer >= 0"))
        for name in ("lr", "gamma"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or v <= 0:
                problems.append(Problem(f"{where}.{name}", v, "must be a number > 0"))
        if self.schedule not in SCHEDULES:
            problems.append(Problem(f"{where}.schedule", self.schedule,
                                    f"must be one of {', '.join(SCHEDULES)}"))
        if isinstance(self.warmup_epochs, bool) or not isinstance(self.warmup_epochs, int) or \
                self.warmup_epochs < 0:
            problems.append(Problem(f"{where}.warmup_epochs", self.warmup_epochs,
                                    "must be an integer >= 0"))
        elif isinstance(self.epochs, int) and self.epochs and self.warmup_epochs >= self.epochs:
            problems.append(Problem(f"{where}.warmup_epochs", self.warmup_epochs,
                                    f"must be < the phase's {self.epochs} epochs"))
        object.__setattr__(self, "milestones", tuple(self.milestones))
        if any(isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in self.milestones):
            problems.append(Problem(f"{where}.milestones", list(self.milestones),
                                    "must be epochs >= 1"))
        if problems:
            raise InputError(problems)

    def lr_at(self, epoch: int, step: int, steps_per_epoch: int) -> float:
        """Learning rate for ``step`` (0-based) of ``epoch`` (0-based, within the phase)."""
        t = epoch * steps_per_epoch + step
        warm = self.warmup_epochs * steps_per_epoch
        if t < warm:
            return self.lr * (t + 1) / warm
        if self.schedule == "step":
            return self.lr * self.gamma ** sum(1 for m in self.milestones if m <= epoch)
        total = max(1, self.epochs * steps_per_epoch - warm)
        return 0.5 * self.lr * (1.0 + math.cos(math.pi * (t - warm) / total))


def default_phases(epochs: tuple[int, int, int] = (30, 10, 5),
                   lr: tuple[float, float, float] = (0.1, 0.01, 0.001),
                   schedule: str = "cosine", warmup_epochs: int = 1) -> tuple[Phase, ...]:
    """Three phases with Gope et al.'s shape (cosine decay, warm-up in phase 1, lr divided by
    10 from phase to phase), scaled to CPU-sized runs."""
    return tuple(Phase(name, e, r, schedule, warmup_epochs if name == "fp" and e > 1 else 0)
                 for name, e, r in zip(PHASES, epochs, lr))


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (recorded in every checkpoint).

    ``spec``: the network (:meth:`ModelSpec.to_dict`); ``data``: ``digits``,
    ``cifar10:DIR`` or ``imagefolder:DIR``; ``phases``: fp, quantize, freeze (a baseline or
    binary network runs only fp); ``optimizer`` ``sgd`` (with ``momentum``, ``nesterov``) or
    ``adam``, both with ``weight_decay``; ``batch_size``;
    ``seed``: data order and augmentation (the initial weights come from ``spec.seed``);
    ``augment``: random translations by up to 1/8 of the image side; ``teacher``: an exported
    checkpoint to distil from (``None``: no distillation), ``distill_weight`` and
    ``temperature`` of the distillation term; ``threads``: torch intra-op threads (results
    are bit-identical only for the same value)."""

    spec: Mapping[str, Any]
    data: str = "digits"
    phases: tuple[Phase, ...] = field(default_factory=default_phases)
    batch_size: int = 64
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 1e-4
    seed: int = 0
    augment: bool = True
    teacher: str | None = None
    distill_weight: float = 1.0
    temperature: float = 1.0
    threads: int = 1
    optimizer: str = "sgd"

    def __post_init__(self) -> None:
        problems = []
        if self.optimizer not in OPTIMIZERS:
            problems.append(Problem("optimizer", self.optimizer,
                                    f"must be one of {', '.join(OPTIMIZERS)}"))
        names = tuple(p.name for p in self.phases)
        if names != PHASES:
            problems.append(Problem("phases", list(names), f"must be {', '.join(PHASES)}"))
        for name, low in (("batch_size", 1), ("seed", 0), ("threads", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                problems.append(Problem(name, v, f"must be an integer >= {low}"))
        for name, bound, strict in (("momentum", 0.0, False), ("weight_decay", 0.0, False),
                                    ("distill_weight", 0.0, False), ("temperature", 0.0, True)):
            x = getattr(self, name)
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) \
                    or x < bound or (strict and x == bound):
                problems.append(Problem(name, x, f"must be a number {'>' if strict else '>='} "
                                                 f"{bound:g}"))
        if sum(p.epochs for p in self.active_phases) == 0:
            problems.append(Problem("phases", [p.epochs for p in self.phases],
                                    "the run has no epochs"))
        if problems:
            raise InputError(problems)

    @property
    def variant(self) -> str:
        return str(self.spec.get("variant", "baseline"))

    @property
    def active_phases(self) -> tuple[Phase, ...]:
        """The phases that run: all three, or only ``fp`` for a baseline or binary network."""
        return self.phases[:1] if self.variant in ONE_PHASE_VARIANTS else self.phases

    @property
    def total_epochs(self) -> int:
        return sum(p.epochs for p in self.active_phases)

    def phase_of(self, epoch: int) -> tuple[Phase, int]:
        """(phase, epoch within it) of global epoch ``epoch`` (0-based)."""
        for phase in self.active_phases:
            if epoch < phase.epochs:
                return phase, epoch
            epoch -= phase.epochs
        raise IndexError(epoch)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (what checkpoints record); ``optimizer`` only when not the default
        ``sgd``, so that runs started before the field existed still resume."""
        d = asdict(self)
        if self.optimizer == "sgd":
            del d["optimizer"]
        d["spec"] = dict(self.spec)
        d["phases"] = [dict(asdict(p), milestones=list(p.milestones)) for p in self.phases]
        return d

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`. Raises :class:`InputError` on unknown or bad fields."""
        known = {f.name for f in fields(cls)}
        unknown = [k for k in doc if k not in known]
        if unknown:
            raise InputError([Problem(f"config.{k}", "<key>", "unknown field") for k in unknown])
        kwargs = dict(doc)
        try:
            kwargs["phases"] = tuple(Phase(**p) for p in doc.get("phases", ()))
        except TypeError as exc:
            raise InputError(Problem("config.phases", doc.get("phases"), str(exc))) from None
        return cls(**kwargs)

    def with_(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)


@dataclass(frozen=True)
class EpochRecord:
    """One finished epoch: global ``epoch`` (1-based), ``phase``, last ``lr``, mean training
    ``loss``, training accuracy (on augmented batches), test accuracy, wall ``seconds`` and
    training ``images`` seen."""

    epoch: int
    phase: str
    lr: float
    loss: float
    train_acc: float
    test_acc: float
    seconds: float
    images: int


@dataclass(frozen=True)
class TrainResult:
    """A finished run: its folder, the exported checkpoint, the inference-form test accuracy
    measured at export and every epoch's record."""

    run_dir: Path
    exported: Path
    accuracy: float
    test_images: int
    history: tuple[EpochRecord, ...]
