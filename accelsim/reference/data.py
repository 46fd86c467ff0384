"""Image classification data for training the reference model, read from local files only.

* ``digits``: the 1,797 8x8 handwritten digits that ship inside scikit-learn's wheel
  (``sklearn/datasets/data/digits.csv.gz``, read directly, without importing scikit-learn);
  split once by a fixed permutation (seed 0) into 1,437 training and 360 test images.
* ``cifar10:DIR``: CIFAR-10 in its binary format (``data_batch_1.bin`` ... ``data_batch_5.bin``
  and ``test_batch.bin``, records of 1 label byte + 3,072 pixel bytes, channel-major 32x32).
* ``imagefolder:DIR``: ``DIR/train/<class>/*.png`` and ``DIR/val/<class>/...`` (or ``test``),
  one folder per class (sorted names are the class indices); images read with Pillow.

Every image is resized (bilinear) to the network's resolution, made 3-channel (grey images are
repeated) and normalised per channel with the training split's mean and std. Nothing is
downloaded. A file or folder in the wrong format raises :class:`~accelsim.errors.InputError`
naming it and what is wrong.
"""
from __future__ import annotations

import gzip
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from accelsim.errors import InputError, Problem

DIGITS_TEST = 360
CIFAR_RECORD = 1 + 3 * 32 * 32
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".gif", ".tif", ".tiff")


@dataclass(frozen=True)
class ImageData:
    """Normalised float32 images ``[N, 3, res, res]`` and int64 labels, both splits."""

    name: str
    classes: int
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def load_data(source: str, resolution: int) -> ImageData:
    """The dataset named by ``source`` (``digits``, ``cifar10:DIR``, ``imagefolder:DIR``) at
    ``resolution`` pixels. Raises :class:`InputError` for an unknown source or bad files."""
    try:
        return _load(source, resolution)
    except InputError as exc:   # name the file or folder as the source of the problem
        first = exc.problems[0]
        if exc.source is None and first.field in ("<file>", "<folder>"):
            raise exc.with_source(str(first.value)) from None
        raise


def _load(source: str, resolution: int) -> ImageData:
    kind, _, path = source.partition(":")
    if kind == "digits" and not path:
        tx, ty, vx, vy = _digits()
    elif kind == "cifar10" and path:
        tx, ty, vx, vy = _cifar10(Path(path))
    elif kind == "imagefolder" and path:
        tx, ty, vx, vy = _imagefolder(Path(path))
    else:
        raise InputError(Problem("data", source, "must be digits, cifar10:DIR or "
                                                 "imagefolder:DIR"))
    classes = int(max(ty.max(), vy.max())) + 1
    train = _resize(tx, resolution)
    test = _resize(vx, resolution)
    mean = train.mean(dim=(0, 2, 3), keepdim=True)
    std = train.std(dim=(0, 2, 3), keepdim=True).clamp(min=1e-6)
    return ImageData(name=kind if kind == "digits" else source, classes=classes,
                     train_x=((train - mean) / std).contiguous(), train_y=ty,
                     test_x=((test - mean) / std).contiguous(), test_y=vy)


def _resize(x: torch.Tensor, resolution: int) -> torch.Tensor:
    """uint8 or float ``[N, C, h, w]`` -> float32 ``[N, 3, res, res]`` in [0, 1]."""
    x = x.to(torch.float32)
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    if x.shape[-1] != resolution or x.shape[-2] != resolution:
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear",
                          align_corners=False)
    return x


# -- digits ----------------------------------------------------------------------------------

def digits_path() -> Path:
    """Where scikit-learn's wheel keeps ``digits.csv.gz`` (scikit-learn is not imported).
    Raises :class:`InputError` with the install command when scikit-learn is missing."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise InputError(Problem("data", "digits", "the digits dataset ships with "
                                 "scikit-learn: pip install 'scikit-learn>=1.3'"))
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if not path.is_file():
        raise InputError(Problem("<file>", str(path), "scikit-learn is installed but its "
                                 "digits.csv.gz is missing"))
    return path


def _digits() -> tuple[torch.Tensor, ...]:
    path = digits_path()
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    images = torch.from_numpy(table[:, :64].reshape(-1, 1, 8, 8) / 16.0)
    labels = torch.from_numpy(table[:, 64].astype(np.int64))
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    test, train = order[:DIGITS_TEST], order[DIGITS_TEST:]
    return images[train], labels[train], images[test], labels[test]


# -- CIFAR-10 binary ---------------------------------------------------------------------------

def _cifar10(folder: Path) -> tuple[torch.Tensor, ...]:
    if not folder.is_dir():
        raise InputError(Problem("<folder>", str(folder), "not a folder (expected CIFAR-10 "
                                 "binary files data_batch_*.bin and test_batch.bin)"))
    train_files = sorted(folder.glob("data_batch_*.bin"))
    test_file = folder / "test_batch.bin"
    if not train_files or not test_file.is_file():
        raise InputError(Problem("<folder>", str(folder), "no CIFAR-10 binary files: expected "
                                 "data_batch_1.bin ... data_batch_5.bin and test_batch.bin"))
    parts = [_cifar_file(p) for p in train_files]
    tx = torch.cat([p[0] for p in parts])
    ty = torch.cat([p[1] for p in parts])
    vx, vy = _cifar_file(test_file)
    return tx, ty, vx, vy


def _cifar_file(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % CIFAR_RECORD:
        raise InputError(Problem("<file>", str(path), f"{raw.size} bytes is not a whole "
                                 f"number of {CIFAR_RECORD}-byte CIFAR-10 records"))
    records = raw.reshape(-1, CIFAR_RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise InputError(Problem("<file>", str(path), f"record {bad} has label "
                                 f"{labels[bad]} (CIFAR-10 labels are 0-9)"))
    images = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return torch.from_numpy(images), torch.from_numpy(labels)


# -- ImageFolder ----------------------------------------------------------------------------

def _imagefolder(root: Path) -> tuple[torch.Tensor, ...]:
    if not root.is_dir():
        raise InputError(Problem("<folder>", str(root), "not a folder"))
    train = root / "train"
    val = next((root / n for n in ("val", "test") if (root / n).is_dir()), None)
    if not train.is_dir() or val is None:
        raise InputError(Problem("<folder>", str(root), "expected subfolders train/ and val/ "
                                 "(or test/), each with one folder of images per class"))
    classes = sorted(d.name for d in train.iterdir() if d.is_dir())
    if len(classes) < 2:
        raise InputError(Problem("<folder>", str(train), f"{len(classes)} class folders "
                                 "(need at least 2)"))
    extra = sorted(d.name for d in val.iterdir() if d.is_dir() and d.name not in classes)
    if extra:
        raise InputError(Problem("<folder>", str(val / extra[0]), "a class folder that "
                                 f"{train} does not have"))
    tx, ty = _read_split(train, classes)
    vx, vy = _read_split(val, classes)
    return tx, ty, vx, vy


def _read_split(split: Path, classes: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    from PIL import Image, UnidentifiedImageError

    images, labels, size = [], [], None
    for label, name in enumerate(classes):
        folder = split / name
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) \
            if folder.is_dir() else []
        if not files and split.name == "train":
            raise InputError(Problem("<folder>", str(folder), "no images (expected "
                                     f"{', '.join(IMAGE_SUFFIXES)} files)"))
        for path in files:
            try:
                with Image.open(path) as img:
                    rgb = img.convert("RGB")
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                raise InputError(Problem("<file>", str(path), f"not a readable image: "
                                         f"{type(exc).__name__}")) from None
            size = size or rgb.size
            if rgb.size != size:
                rgb = rgb.resize(size, Image.Resampling.BILINEAR)
            images.append(np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1) / 255.0)
            labels.append(label)
    if not images:
        raise InputError(Problem("<folder>", str(split), "no images"))
    return torch.from_numpy(np.stack(images)), torch.tensor(labels, dtype=torch.int64)


def translate(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random translations by up to 1/8 of the side (zero fill), one per image, drawn from
    ``generator`` (deterministic)."""
    n, _, h, w = x.shape
    pad = max(1, h // 8)
    padded = F.pad(x, (pad, pad, pad, pad))
    shifts = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator).tolist()
    return torch.stack([padded[i, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(shifts)])
