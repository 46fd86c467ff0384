"""A sweep of many points end to end, each step in a fresh process: time and peak memory.

    python bench/sweep_scale.py                      # 200,000 points (~2 min)
    python bench/sweep_scale.py --points 1000000     # 1M points (~8 min, ~3 GB of disk)

Steps (``accelsim`` commands): ``sweep`` (the bundled MobileNet-V1 0.5 hybrid on
``paper.yaml``, balance and sequential models, a ``mac_fraction`` x ``clock_mhz`` grid: the
vectorised path, parts of 2,048 points, compaction at the end), the same ``sweep`` again
(nothing left to compute: every point is checked against the store), ``--export`` of the store
as CSV (streamed, human order) and ``pareto``. For each: wall time, points per second and peak
RSS of the process (``ru_maxrss``). The accepted maximum of a sweep is
:data:`accelsim.limits.POINTS` (5,000,000; ``ACCELSIM_MAX_POINTS``).
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_CHILD = """
import json, resource, sys, time
from accelsim.cli import main
t = time.perf_counter()
code = 0
try:
    main(sys.argv[1:], standalone_mode=False)
except SystemExit as exc:
    code = exc.code or 0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"s": time.perf_counter() - t, "rss_mb": rss, "code": code}), file=sys.stderr)
"""


def run(args: list[str], cwd: Path) -> dict:
    p = subprocess.run([sys.executable, "-c", _CHILD, *args], cwd=cwd, capture_output=True,
                       text=True)
    last = p.stderr.strip().splitlines()[-1]
    out = json.loads(last)
    if out["code"]:
        raise SystemExit(f"accelsim {' '.join(args)} failed: {p.stderr[-2000:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    args = ap.parse_args(argv)
    per_engine = args.points // 2
    fracs = 1000 if per_engine >= 1000 else per_engine
    clocks = max(1, per_engine // fracs)
    spec = {"hw": str(ROOT / "hwconfigs" / "paper.yaml"),
            "workloads": [str(ROOT / "workloads" / "mobilenet_v1_0.5_hybrid_a0.375_r1.6.json")],
            "axes": {"mac_fraction": {"start": 0.0, "stop": 1.0, "num": fracs},
                     "clock_mhz": {"start": 100, "stop": 2000, "num": clocks}},
            "engine": ["balance", "sequential"]}
    n = 2 * fracs * clocks
    with tempfile.TemporaryDirectory(dir=args.dir) as name:
        tmp = Path(name)
        (tmp / "spec.json").write_text(json.dumps(spec))
        rows = []
        for step, cmd in (("sweep", ["sweep", "spec.json", "--store", "st", "--no-progress"]),
                          ("sweep again (all done)", ["sweep", "spec.json", "--store", "st",
                                                      "--no-progress"]),
                          ("export CSV", ["sweep", "spec.json", "--store", "st", "--export",
                                          "st.csv", "--no-progress"]),
                          ("pareto", ["pareto", "st"])):
            t0 = time.perf_counter()
            r = run(cmd, tmp)
            r["wall"] = time.perf_counter() - t0
            rows.append((step, r))
        parts = len(list((tmp / "st").glob("part-*.parquet")))
        store_mb = sum(p.stat().st_size for p in (tmp / "st").iterdir()) / 2**20
        csv_mb = (tmp / "st.csv").stat().st_size / 2**20
    print(f"{n:,} points ({fracs} MAC fractions x {clocks} clocks x 2 models); store "
          f"{store_mb:,.0f} MB in {parts} parts, export {csv_mb:,.0f} MB")
    print("| step | wall s | points/s | peak RSS MB |")
    print("|---|---|---|---|")
    for step, r in rows:
        rate = n / r["wall"] if r["wall"] > 0 else math.inf
        print(f"| {step} | {r['wall']:.1f} | {rate:,.0f} | {r['rss_mb']:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
