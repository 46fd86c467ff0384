"""A minimal training loop for tests and benchmarks of the HBN partition: a small fully
binarized network on a seeded synthetic image set (no dataset download), in seconds.

``accelsim train`` trains the binary variants on real data (tests/test_training_binary.py);
this loop is faster and its synthetic classes give the partition a well-trained network to
work on. ``accelsim.reference.binerror.save_checkpoint`` writes what it trains in the format
``accelsim train`` exports.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from accelsim.reference.models import build_model
from accelsim.reference.spec import ModelSpec

#: A small FBin network: ResNet-20 at half width on 16x16 images, 4 classes.
SMALL_FBIN = ModelSpec("resnet20", width=0.5, resolution=16, classes=4, variant="fbin", seed=0)


def synthetic_images(count: int, spec: ModelSpec, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images (float32, (N, 3, R, R)) and labels: one fixed random pattern per class
    (seed 1234), scaled by a random contrast, plus Gaussian noise (``seed``)."""
    r, classes = spec.resolution, spec.classes
    patterns = np.random.default_rng(1234).standard_normal((classes, 3, r, r))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, count)
    contrast = rng.uniform(0.5, 1.5, (count, 1, 1, 1))
    x = patterns[labels] * contrast + 0.8 * rng.standard_normal((count, 3, r, r))
    return x.astype(np.float32), labels.astype(np.int64)


def train(spec: ModelSpec = SMALL_FBIN, *, steps: int = 150, batch: int = 32,
          lr: float = 0.01, seed: int = 0) -> tuple[torch.nn.Module, float]:
    """Train ``spec``'s model with Adam on the synthetic set (one torch thread); returns the
    model in eval mode and its accuracy on 256 held-out images."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        model = build_model(spec).train()
        x, y = synthetic_images(steps * batch, spec, seed)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        for step in range(steps):
            sl = slice(step * batch, (step + 1) * batch)
            loss = F.cross_entropy(model(xt[sl]), yt[sl])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        xv, yv = synthetic_images(256, spec, seed + 1)
        with torch.no_grad():
            acc = float((model(torch.from_numpy(xv)).argmax(1).numpy() == yv).mean())
    finally:
        torch.set_num_threads(threads)
    return model, acc
