"""Sweep speed: the array path of the op-count models, and DES sweeps with 1 and 2 jobs.

    python bench/dse_speed.py [--points 10000] [--des-points 24]

Prints (1) op-count points/s end to end (plan, evaluate, write the Parquet store) and for the
evaluation alone, on a sweep of >= 10,000 MAC-share points of bundled MobileNet workloads on
hwconfigs/paper.yaml; (2) a DES sweep (hwconfigs/iso_area_45nm.yaml) run with --jobs 1 and 2 into
separate stores, side by side, with the speed-up and a check that both stores export the same
bytes. Timings depend on the machine and its load; nothing here asserts a target.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ["mobilenet_v1_0.5_hybrid_a0.375_r1.6", "mobilenet_v1_0.5_strassen_r1"]


def _spec(tmp: Path, name: str, fractions: int, engines: list[str], schedules: list[str],
          hw: str = "paper.yaml") -> Path:
    doc = {"hw": str(ROOT / "hwconfigs" / hw),
           "workloads": [str(ROOT / "workloads" / f"{w}.json") for w in WORKLOADS],
           "axes": {"mac_fraction": {"start": 0.05, "stop": 0.95, "num": fractions}},
           "engine": engines, "schedule": schedules}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def main() -> None:
    from accelsim.dse import sweep
    from accelsim.dse.points import iter_points, load_inputs
    from accelsim.dse.spec import load_sweep_spec
    from accelsim.dse.tasks import Task
    from accelsim.dse.vector import evaluate_vectorised

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000, help="op-count points (>= 10,000)")
    ap.add_argument("--des-points", type=int, default=16, help="DES points")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        n = -(-args.points // (2 * len(WORKLOADS)))
        spec = _spec(tmp, "opcount", n, ["balance", "sequential"], ["sequential"])
        for run, label in ((1, "first run, incl. one-time pyarrow/pandas imports"),
                           (2, "second run, fresh store")):
            s = sweep(spec, tmp / f"opcount{run}", progress=False)
            print(f"op-count sweep: {s.computed:,} points in {s.elapsed_s:.2f} s = "
                  f"{s.points_per_s:,.0f} points/s end to end (plan + evaluate + Parquet "
                  f"store, {s.tasks} tasks; {label})")
        sp = load_sweep_spec(spec)
        inputs = load_inputs(sp)
        points = tuple(p for p in iter_points(sp, inputs) if p.engine == "sequential"
                       and p.workload_index == 0)
        task = Task(inputs.hw[0], inputs.hw_hashes[0], inputs.workloads[0],
                    inputs.workload_hashes[0], points, True)
        t0 = time.perf_counter()
        rows = evaluate_vectorised(task)["key"]
        dt = time.perf_counter() - t0
        print(f"array path alone: {len(rows):,} sequential-model rows in {dt:.3f} s = "
              f"{len(rows) / dt:,.0f} points/s")

        m = max(1, args.des_points // (2 * len(WORKLOADS)))
        des_spec = _spec(tmp, "des", m, ["des"], ["sequential", "overlap"], "iso_area_45nm.yaml")
        results = {}
        for jobs in (1, 2):
            r = sweep(des_spec, tmp / f"des{jobs}", jobs=jobs, progress=False,
                      export=tmp / f"des{jobs}.csv")
            results[jobs] = r
        one, two = results[1], results[2]
        same = (tmp / "des1.csv").read_bytes() == (tmp / "des2.csv").read_bytes()
        print(f"DES sweep ({one.computed} MobileNet points, iso_area_45nm): "
              f"--jobs 1 {one.points_per_s:.2f} points/s ({one.elapsed_s:.1f} s) | "
              f"--jobs 2 {two.points_per_s:.2f} points/s ({two.elapsed_s:.1f} s) | "
              f"ratio {two.points_per_s / one.points_per_s:.2f}x | "
              f"identical exports: {same}")


if __name__ == "__main__":
    main()
