"""Scale: wall time and peak memory of the mapping and both engines on large synthetic networks.

    python bench/scale.py                       # everything below (~4 min on 2 shared cores)
    python bench/scale.py --only chain1000 resnet152_fp --engines des --schedules sequential
    python bench/scale.py --no-trace            # skip the tracemalloc pass (halves the time)

Workloads (torch-free, :mod:`accelsim.workload.synthetic`): ``chain(n)`` for n = 10, 100, 1000
(conv3x3 / depthwise / hybrid pointwise, 64 channels, 28x28) and ``resnet_bottleneck(152)`` at
224 px as ``fp`` and ``strassen`` layers; config ``hwconfigs/iso_area_45nm.yaml``. Each run
(workload x schedule x engine) is a fresh child process, so its peak RSS (``ru_maxrss``) is its
own (``VmHWM``; ``ru_maxrss`` too, see :func:`peak_rss_mb`): the child builds the workload, times
``map_workload`` + the engine (analytic bound or DES) untraced and reads the peak RSS, then
repeats both under ``tracemalloc`` for the peak of traced Python memory (tracemalloc's
bookkeeping would inflate the RSS, hence the order).
A run that raises :class:`~accelsim.errors.LivenessError` is reported as ``stalled``.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HW = ROOT / "hwconfigs" / "iso_area_45nm.yaml"
WORKLOADS = ("chain10", "chain100", "chain1000", "resnet152_fp", "resnet152_strassen")
ENGINES = ("analytic", "des")
SCHEDULES = ("sequential", "overlap")


def build(key: str):
    """The synthetic workload named ``key`` (see :data:`WORKLOADS`)."""
    from accelsim.workload.synthetic import chain, resnet_bottleneck

    if key.startswith("chain"):
        return chain(int(key[len("chain"):]))
    depth, variant = key[len("resnet"):].split("_")
    return resnet_bottleneck(int(depth), variant=variant)


def peak_rss_mb() -> tuple[float, float]:
    """(peak RSS of this process's own address space, ``ru_maxrss``) in MiB.

    The first is ``VmHWM`` from /proc (Linux; else ``ru_maxrss``). ``ru_maxrss`` of a child
    started by fork + exec also counts the parent's resident set at the fork, so the two differ
    when the parent is large (e.g. bench/reliability.py)."""
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    maxrss = usage / (2**20 if sys.platform == "darwin" else 1024)  # bytes on macOS, else KiB
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024, maxrss
    except OSError:
        pass
    return maxrss, maxrss


def _run_once(wl, hw, schedule: str, engine: str) -> tuple[float, float, object, object]:
    from accelsim.analytic.bound import estimate
    from accelsim.engine import simulate_plan
    from accelsim.mapping import map_workload

    t0 = time.perf_counter()
    plan = map_workload(wl, hw, schedule)
    t1 = time.perf_counter()
    res = estimate(plan, hw) if engine == "analytic" else simulate_plan(plan, hw)
    return t1 - t0, time.perf_counter() - t1, plan, res


def child(key: str, schedule: str, engine: str, trace: bool) -> dict:
    """One measured run (in this process); a JSON-ready dict."""
    from accelsim.errors import LivenessError
    from accelsim.hw import load_hwconfig

    hw = load_hwconfig(HW)
    wl = build(key)
    row = {"workload": key, "schedule": schedule, "engine": engine, "layers": len(wl.layers),
           "stages": wl.num_stages}
    try:
        map_s, run_s, plan, res = _run_once(wl, hw, schedule, engine)
    except LivenessError as exc:
        row["stalled"] = str(exc).splitlines()[1].strip()
        row["rss_mb"], row["maxrss_mb"] = peak_rss_mb()
        return row
    row.update(tiles=len(plan.tiles), plan_stages=len(plan.stages), map_s=map_s, run_s=run_s,
               cycles=res.cycles, deps=sum(len(t.deps) for t in plan.tiles))
    # peak RSS of the untraced run, before tracemalloc's own bookkeeping
    row["rss_mb"], row["maxrss_mb"] = peak_rss_mb()
    del plan, res
    if trace:
        tracemalloc.start()
        _run_once(wl, hw, schedule, engine)
        row["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return row


def measure(key: str, schedule: str, engine: str, trace: bool = True) -> dict:
    """Run :func:`child` in a fresh interpreter and return its row."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", key, schedule, engine]
    if not trace:
        cmd.append("--no-trace")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def format_rows(rows: list[dict]) -> str:
    head = (f"{'workload':<19} {'schedule':<10} {'engine':<8} {'layers':>6} {'stages':>6} "
            f"{'tiles':>7} {'dep edges':>9} {'map s':>6} {'engine s':>8} {'us/tile':>7} "
            f"{'traced MB':>9} {'RSS MB':>7} {'maxrss MB':>9}")
    lines = [head, "-" * len(head)]
    for r in rows:
        left = (f"{r['workload']:<19} {r['schedule']:<10} {r['engine']:<8} {r['layers']:>6} "
                f"{r['stages']:>6} ")
        if "stalled" in r:
            lines.append(left + f"stalled: {r['stalled']}  (RSS {r['rss_mb']:.0f} MB)")
            continue
        per_tile = 1e6 * (r["map_s"] + r["run_s"]) / r["tiles"]
        traced = f"{r['traced_peak_mb']:9.0f}" if "traced_peak_mb" in r else f"{'-':>9}"
        lines.append(left + f"{r['tiles']:>7,} {r['deps']:>9,} {r['map_s']:>6.2f} "
                     f"{r['run_s']:>8.2f} {per_tile:>7.0f} {traced} {r['rss_mb']:>7.0f} "
                     f"{r['maxrss_mb']:>9.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    ap.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    ap.add_argument("--schedules", nargs="+", choices=SCHEDULES, default=list(SCHEDULES))
    ap.add_argument("--no-trace", action="store_true", help="skip the tracemalloc pass")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("--child", nargs=3, metavar=("WORKLOAD", "SCHEDULE", "ENGINE"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child, trace=not args.no_trace)))
        return 0
    rows = []
    for key in args.only:
        for schedule in args.schedules:
            for engine in args.engines:
                rows.append(measure(key, schedule, engine, trace=not args.no_trace))
                if not args.json:
                    print(format_rows(rows[-1:]).splitlines()[-1] if len(rows) > 1 else
                          format_rows(rows), flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    done = [r for r in rows if "stalled" not in r]
    if done:
        big = max(done, key=lambda r: r["rss_mb"])
        print(f"\npeak RSS over all runs: {big['rss_mb']:.0f} MB ({big['workload']}, "
              f"{big['schedule']}, {big['engine']}: {big['tiles']:,} tiles, "
              f"{big['deps']:,} dependency edges)")
    stalled = [r for r in rows if "stalled" in r]
    if stalled:
        print(f"{len(stalled)} run(s) stalled (LivenessError), see docs/reliability.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
