"""Strassen's 2x2 algorithm rediscovered: success rate and time per seed.

Trains --seeds initialisations of the rank-7 SPN (and of rank 6, where no exact algorithm
exists) with `accelsim rediscover-strassen`'s default settings, all seeds of a chunk at once on
one torch thread, and prints how many became exact ternary algorithms (checked exactly in
integers and through the numba kernels), the time per seed, and the first algorithm found.

    python bench/rediscover_strassen.py [--seeds 200] [--rank6-seeds 100] [--threads 1]
"""
from __future__ import annotations

import argparse

from accelsim.reference.rediscover import rediscover


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--rank6-seeds", type=int, default=100)
    ap.add_argument("--chunk", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    for rank, seeds in ((7, args.seeds), (6, args.rank6_seeds)):
        if seeds <= 0:
            continue
        r = rediscover(rank, seeds, chunk=args.chunk, threads=args.threads)
        print(f"rank {rank}: {len(r.exact_seeds)} exact of {r.seeds_tried} seeds "
              f"({100 * r.success_rate:.1f}%, one per {1 / r.success_rate:.0f} seeds)"
              if r.exact_seeds else
              f"rank {rank}: 0 exact of {r.seeds_tried} seeds")
        print(f"  {r.seconds:.1f} s in all, {r.seconds_per_seed:.3f} s per seed "
              f"({args.threads} thread(s), chunks of {args.chunk}); settings {r.settings}")
        if r.exact_seeds:
            print(f"  exact seeds: {list(r.exact_seeds)}")
            mean_wait = r.seconds_per_seed / r.success_rate
            print(f"  expected time to the first exact algorithm: {mean_wait:.1f} s")
        if r.found is not None and r.check is not None:
            wa, wb, wc = r.found.arrays()
            print(f"  seed {r.found.seed}: W_a = {wa.tolist()}")
            print(f"           W_b = {wb.tolist()}")
            print(f"           W_c = {wc.tolist()}")
            print(f"  check: tensor identity {r.check.tensor_identity}, {r.check.pairs} integer "
                  f"products exact {r.check.integer_exact}, numba kernels exact "
                  f"{r.check.kernel_exact}, {r.check.kernel_muls_per_product:g} "
                  "multiplications per product")


if __name__ == "__main__":
    main()
