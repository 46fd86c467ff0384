"""Training speed of the reference model per variant, side by side in one run.

ResNet-20 width 0.5 at 16x16 (the bundled trained workloads' network), batch 64, one torch
thread, deterministic algorithms on (as `accelsim train`): images per second of a training
step (forward, backward, SGD) in phase fp and in phase quantize, and of inference (eval mode,
folded network). Each figure is the median of --repeats timings of --steps steps on the same
random batch.

    python bench/train_speed.py [--steps 20] [--repeats 3] [--threads 1]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from accelsim.reference.models import build_model
from accelsim.reference.spec import ModelSpec
from accelsim.reference.trainform import fold, set_quantize, to_train_form

VARIANTS: tuple[tuple[str, dict[str, float]], ...] = (
    ("baseline", {}), ("twn", {}), ("strassen", {}), ("hybrid", {"alpha": 0.5}))


def _rate(fn, images: int, steps: int, repeats: int) -> float:
    fn()                                                        # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        times.append(time.perf_counter() - start)
    return images * steps / statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, 16, 16, generator=g)
    y = torch.randint(0, 10, (args.batch,), generator=g)
    print(f"ResNet-20 width 0.5, 16x16, batch {args.batch}, {args.threads} thread(s): "
          "images/s")
    print(f"{'variant':<10} {'train fp':>10} {'train quant':>12} {'inference':>10} "
          f"{'params':>8}")
    for variant, kw in VARIANTS:
        spec = ModelSpec("resnet20", width=0.5, resolution=16, variant=variant, **kw)
        model = to_train_form(build_model(spec)).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True,
                              weight_decay=1e-4)

        def step(model: torch.nn.Module = model, opt: torch.optim.Optimizer = opt) -> None:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        set_quantize(model, False)
        fp = _rate(step, args.batch, args.steps, args.repeats)
        set_quantize(model, True)
        quant = _rate(step, args.batch, args.steps, args.repeats)
        inference = fold(model).eval()

        def infer(inference: torch.nn.Module = inference) -> None:
            with torch.no_grad():
                inference(x)
        inf = _rate(infer, args.batch, args.steps, args.repeats)
        params = sum(p.numel() for p in inference.parameters())
        print(f"{variant:<10} {fp:>10,.0f} {quant:>12,.0f} {inf:>10,.0f} {params:>8,}")


if __name__ == "__main__":
    main()
