#!/usr/bin/env python3
"""Write a small trained FullBinConv checkpoint for ``accelsim partition`` (needs torch).

    python examples/fbin_checkpoint.py fbin_checkpoint.pt
    accelsim partition fbin_checkpoint.pt --ratio 0.3 -o hybrid.json

The network is ResNet-20 at half width on 16x16 images with 4 classes, every conv but the first
a FullBinConv (variant ``fbin``), trained for 60 Adam steps on a seeded synthetic image set (one
fixed random pattern per class, random contrast, Gaussian noise; nothing is downloaded), about
5 s on one core. The file is in the checkpoint format of docs/binary-networks.md
(``accelsim.reference.binerror.save_checkpoint``).
"""
from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="checkpoint file to write (.pt)")
    ap.add_argument("--steps", type=int, default=60, help="Adam steps of 32 images [60]")
    args = ap.parse_args()
    import torch
    import torch.nn.functional as F

    from accelsim.reference.binerror import save_checkpoint
    from accelsim.reference.models import build_model
    from accelsim.reference.spec import ModelSpec

    spec = ModelSpec("resnet20", width=0.5, resolution=16, classes=4, variant="fbin", seed=0)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    patterns = np.random.default_rng(1234).standard_normal((4, 3, 16, 16))
    model = build_model(spec).train()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(args.steps):
        labels = rng.integers(0, 4, 32)
        x = patterns[labels] * rng.uniform(0.5, 1.5, (32, 1, 1, 1)) + \
            0.8 * rng.standard_normal((32, 3, 16, 16))
        loss = F.cross_entropy(model(torch.from_numpy(x.astype(np.float32))),
                               torch.from_numpy(labels))
        opt.zero_grad()
        loss.backward()
        opt.step()
    save_checkpoint(model.eval(), args.out)
    last = float(loss.detach())
    print(f"wrote {args.out} (ResNet-20 fbin, {args.steps} steps, last loss {last:.3f})")


if __name__ == "__main__":
    main()
