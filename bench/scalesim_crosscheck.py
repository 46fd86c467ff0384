#!/usr/bin/env python3
"""Cross-check accelsim's discrete-event engine against SCALE-Sim 3.0.0 (compute cycles).

Runs SCALE-Sim (PyPI ``scalesim==3.0.0`` with ``numpy<2``, installed by pip into its own virtual
environment outside the repo, default ~/.cache/accelsim/scalesim-venv, about 0.5 GB; the script
says so and asks before creating it, or needs --yes when not run from a terminal; remove it with
``rm -rf ~/.cache/accelsim``) through its Python API
with ``save_disk_space=True`` on MobileNet-V1 0.5 (tests/golden/scalesim_mobilenet_v1_0.5_topology
.csv), and accelsim's DES engine on the same layers, for each dataflow (--dataflow, default all):
weight stationary with bench/scalesim_ws32.cfg and hwconfigs/scalesim_ws32.yaml, output
stationary with bench/scalesim_os32.cfg and hwconfigs/scalesim_os32.yaml, input stationary with
bench/scalesim_is32.cfg and hwconfigs/scalesim_is32.yaml. Prints, per layer,
SCALE-Sim's compute cycles (Total - Stall), accelsim's (LayerRecord.compute_cycles["mac"]), the
difference and PASS/FAIL against the 2% target, wall time and peak memory of both tools, and
per dataflow the largest per-layer and the total (summed cycles) deviation.

Depthwise (DP) rows: SCALE-Sim simulates each as one single-channel layer per channel (2,495
layers for the whole network: minutes and GBs), so only a subset of DP rows is run by default
(--dp, or --all-dp). They are compared twice: against accelsim on the same per-channel split
(PASS/FAIL, same mapping) and against accelsim's native depthwise mapping (reported, no target).

  python bench/scalesim_crosscheck.py                  # both tools, WS, OS and IS (~15-30 min)
  python bench/scalesim_crosscheck.py --dataflow is    # IS only (ws, os, is; both = ws and os)
  python bench/scalesim_crosscheck.py --yes            # same, installing SCALE-Sim without asking
  python bench/scalesim_crosscheck.py --reuse          # reuse SCALE-Sim outputs if inputs match
  python bench/scalesim_crosscheck.py --from-golden    # accelsim vs the stored goldens only
  python bench/scalesim_crosscheck.py --write-golden --all-dp  # refresh all goldens (slow)
Exit status 1 if a compared layer misses the target.
"""
from __future__ import annotations

import argparse
import configparser
import hashlib
import json
import subprocess
import sys
import venv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accelsim.interop import (  # noqa: E402
    dumps_golden,
    export_topology,
    import_topology,
    is_compute_cycles,
    load_golden,
    os_compute_cycles,
    per_topology_row,
    read_compute_report,
    ws_compute_cycles,
)
from accelsim.workload.schema import Workload  # noqa: E402

SCALESIM = ("scalesim==3.0.0", "numpy<2")
TOPOLOGY = ROOT / "tests/golden/scalesim_mobilenet_v1_0.5_topology.csv"


@dataclass(frozen=True)
class Flow:
    """One dataflow's cross-check: SCALE-Sim config, accelsim hwconfig, golden file, and
    SCALE-Sim's closed form ``formula(terms, filters, pixels, rows, cols)`` of one layer."""

    name: str
    title: str
    cfg: Path
    hw: Path
    golden: Path
    formula: Callable[[int, int, int, int, int], int]


def _os_formula(k: int, n: int, m: int, rows: int, cols: int) -> int:
    return os_compute_cycles(m, n, k, rows, cols)


def _is_formula(k: int, n: int, m: int, rows: int, cols: int) -> int:
    return is_compute_cycles(k, m, n, rows, cols)


FLOWS = {
    "ws": Flow("ws", "WS", ROOT / "bench/scalesim_ws32.cfg", ROOT / "hwconfigs/scalesim_ws32.yaml",
               ROOT / "tests/golden/scalesim_ws32_mobilenet_v1_0.5.csv", ws_compute_cycles),
    "os": Flow("os", "OS", ROOT / "bench/scalesim_os32.cfg", ROOT / "hwconfigs/scalesim_os32.yaml",
               ROOT / "tests/golden/scalesim_os32_mobilenet_v1_0.5.csv", _os_formula),
    "is": Flow("is", "IS", ROOT / "bench/scalesim_is32.cfg", ROOT / "hwconfigs/scalesim_is32.yaml",
               ROOT / "tests/golden/scalesim_is32_mobilenet_v1_0.5.csv", _is_formula),
}
# --dataflow: a single dataflow, "both" (WS and OS, as before IS was added) or "all".
SELECTIONS = {"ws": ("ws",), "os": ("os",), "is": ("is",), "both": ("ws", "os"),
              "all": ("ws", "os", "is")}

@dataclass(frozen=True)
class Agreement:
    """accelsim vs SCALE-Sim compute cycles on one dataflow: ``ok`` if every compared layer is
    within the target; ``worst_*`` the largest per-layer |diff| in %; ``*_cycles`` the sums over
    the compared rows as (SCALE-Sim, accelsim), for the total deviation."""

    ok: bool
    worst_dense: float
    worst_split: float
    dense_cycles: tuple[int, int]
    split_cycles: tuple[int, int]


DP_DEFAULT = "DP1_dw,DP2_dw,DP6_dw,DP13_dw"
TARGET_PCT = 2.0
# SCALE-Sim needs a layout file even with custom layouts off; a header-only file is enough.
LAYOUT_HEADER = (
    "Layer name, IFMAP Height Intraline Factor, IFMAP Width Intraline Factor, Filter Height "
    "Intraline Factor, Filter Width Intraline Factor, Channel Intraline Factor, Num Filter "
    "Intraline Factor, IFMAP Height Intraline Order, IFMAP Width Intraline Order, Channel "
    "Intraline Order, IFMAP Height Interline Order, IFMAP Width Interline Order, Channel Interline "
    "Order, Num Filter Intraline Order, Channel Intraline Order, Filter Height Intraline Order, "
    "Filter Width Intraline Order, Num Filter Interline Order, Channel Interline Order, Filter "
    "Height Interline Order, Filter Width Interline Order,\n")
# Runs inside SCALE-Sim's venv: simulate, then report wall time and the process's peak RSS.
SCALESIM_CHILD = """
import json, resource, sys, time
from importlib.metadata import version
from scalesim.scale_sim import scalesim
cfg, topo, layout, out = sys.argv[1:5]
t0 = time.perf_counter()
s = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo, layout=layout,
             input_type_gemm=False)
s.run_scale(top_path=out)
print(json.dumps({"seconds": time.perf_counter() - t0, "layers": s.topo.get_num_layers(),
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "scalesim": version("scalesim"), "numpy": version("numpy")}))
"""


def ensure_venv(path: Path, work: Path, yes: bool) -> Path:
    """Create ``path`` (a venv) with SCALE-Sim 3.0.0 unless it already has it; its python.
    Says what it installs where and how to remove it, and asks first (``yes``: do not ask;
    without a terminal and without ``yes`` it stops)."""
    python = path / "bin" / "python"
    probe = "from importlib.metadata import version as v; assert v('scalesim') == '3.0.0'; " \
            "assert int(v('numpy').split('.')[0]) < 2"
    if python.exists() and subprocess.run([python, "-c", probe],
                                          capture_output=True).returncode == 0:
        return python
    print(f"SCALE-Sim 3.0.0 is not installed. This creates a virtual environment in {path} and "
          f"installs {' '.join(SCALESIM)} and their dependencies from PyPI into it (about "
          f"0.5 GB), kept for later runs; SCALE-Sim's outputs go to {work}. Remove both with: "
          f"rm -rf {path} {work}\n(--from-golden compares with the stored SCALE-Sim numbers "
          "without installing anything.)", flush=True)
    if not yes:
        if not sys.stdin.isatty():
            sys.exit("not installing without a terminal to ask: rerun with --yes")
        if input("Install? [y/N] ").strip().lower() not in ("y", "yes"):
            sys.exit("not installed")
    print(f"creating SCALE-Sim environment in {path} (pip install {' '.join(SCALESIM)})",
          flush=True)
    venv.EnvBuilder(with_pip=True, clear=python.exists()).create(path)
    subprocess.run([python, "-m", "pip", "install", "-q", *SCALESIM], check=True)
    return python


def run_scalesim(python: Path, cfg: Path, wl: Workload, work: Path, reuse: bool) -> dict:
    """Run SCALE-Sim on ``wl`` (exported to CSV) in ``work``; its COMPUTE_REPORT rows + stats."""
    work.mkdir(parents=True, exist_ok=True)
    topo, layout, stamp = work / "topology.csv", work / "layout.csv", work / "run.json"
    topo.write_text(export_topology(wl))
    layout.write_text(LAYOUT_HEADER)
    key = hashlib.sha256(cfg.read_bytes() + topo.read_bytes()).hexdigest()
    run_name = _run_name(cfg)
    report = work / run_name / "COMPUTE_REPORT.csv"
    if reuse and stamp.exists() and report.exists():
        stats = json.loads(stamp.read_text())
        if stats.get("key") == key:
            print(f"reusing SCALE-Sim results in {work}", flush=True)
            return stats | {"rows": read_compute_report(report)}
    print(f"running SCALE-Sim on {len(wl.layers)} rows ({topo}) ...", flush=True)
    proc = subprocess.run([python, "-c", SCALESIM_CHILD, cfg, topo, layout, work],
                          capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"SCALE-Sim failed:\n{proc.stderr[-2000:]}")
    stats = json.loads(proc.stdout.strip().splitlines()[-1]) | {"key": key}
    stamp.write_text(json.dumps(stats))
    return stats | {"rows": read_compute_report(report)}


def run_accelsim(rows: list[str], depthwise: str, hw: Path, topology: Path) -> dict:
    """accelsim DES on the named topology rows, in a child process (clean timing and peak RSS)."""
    spec = json.dumps({"rows": rows, "depthwise": depthwise, "hw": str(hw),
                       "topology": str(topology)})
    proc = subprocess.run([sys.executable, __file__, "--child", spec], capture_output=True,
                          text=True)
    if proc.returncode:
        sys.exit(f"accelsim failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _accelsim_child(spec: dict) -> None:
    import resource
    import time

    from accelsim.api import load_hwconfig, simulate

    wl = _subset(import_topology(spec["topology"], depthwise=spec["depthwise"]), spec["rows"])
    hw = load_hwconfig(spec["hw"])
    t0 = time.perf_counter()
    result = simulate(wl, hw, engine="des")
    seconds = time.perf_counter() - t0
    cycles: dict[str, int] = {}
    for rec in result.layers:  # split DP layers are named <row>Channel_<i>
        row = rec.name.split("Channel_")[0] if "Channel_" in rec.name else rec.name
        cycles[row] = cycles.get(row, 0) + int(rec.compute_cycles.get("mac", 0))
    print(json.dumps({"seconds": seconds, "layers": len(wl.layers), "cycles": cycles,
                      "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def _subset(wl: Workload, rows: list[str]) -> Workload:
    keep = tuple(layer for layer in wl.layers
                 if layer.name in rows or layer.name.split("Channel_")[0] in rows)
    return Workload(wl.name, keep, wl.activation_bits, wl.provenance, wl.description)


def _run_name(cfg: Path) -> str:
    parser = configparser.ConfigParser()
    parser.read(cfg)
    return parser.get("general", "run_name")


def _pct(ours: int, ref: int) -> float:
    return 100.0 * (ours - ref) / ref


def print_tables(flow: Flow, ref: dict, wl: Workload, acc_split: dict, acc_native: dict,
                 rows_cfg: tuple[int, int]) -> Agreement:
    """The per-layer comparison of one dataflow, printed; its summary."""
    ok, worst_dense, worst_split = True, 0.0, 0.0
    dense_ss = dense_acc = split_ss = split_acc = 0
    arr_r, arr_c = rows_cfg
    print(f"\nCompute cycles, {flow.title} {arr_r}x{arr_c}: SCALE-Sim = Total - Stall Cycles; "
          f"accelsim = DES LayerRecord.compute_cycles['mac']; target |diff| <= {TARGET_PCT}%")
    print(f"{'layer':9} {'kind':9} {'SCALE-Sim':>11} {'formula':>9} {'accelsim':>11} "
          f"{'diff %':>8}  verdict")
    for layer in wl.layers:
        if layer.name not in ref or layer.kind == "depthwise":
            continue
        s, a = ref[layer.name].compute_cycles, acc_native["cycles"][layer.name]
        st = layer.stages[0]
        closed = flow.formula(st.k, st.n, st.m, arr_r, arr_c)
        verdict = "PASS" if abs(_pct(a, s)) <= TARGET_PCT else "FAIL"
        ok &= verdict == "PASS"
        worst_dense = max(worst_dense, abs(_pct(a, s)))
        dense_ss, dense_acc = dense_ss + s, dense_acc + a
        print(f"{layer.name:9} {layer.kind:9} {s:>11,} {'ok' if closed == s else closed:>9} "
              f"{a:>11,} {_pct(a, s):>+8.2f}  {verdict}")
    dws = [layer for layer in wl.layers if layer.kind == "depthwise" and layer.name in ref]
    if dws:
        print("\nDepthwise rows (SCALE-Sim: one 1-channel layer per channel, each a 9-term x "
              "1-filter layer folded on the array;\naccelsim 'split' = the same per-channel "
              "layers, 'native' = accelsim's own depthwise mapping, no target):")
        print(f"{'layer':9} {'ch':>4} {'SCALE-Sim':>11} {'formula':>9} {'acc split':>11} "
              f"{'diff %':>8}  verdict {'acc native':>11} {'native/SS':>9}")
        for layer in dws:
            sh = layer.shape
            s = ref[layer.name].compute_cycles
            closed = sh.in_c * flow.formula(9, 1, sh.out_h * sh.out_w, arr_r, arr_c) \
                if (sh.kernel_h, sh.kernel_w, sh.out_c) == (3, 3, sh.in_c) else s
            a_split, a_nat = acc_split["cycles"][layer.name], acc_native["cycles"][layer.name]
            verdict = "PASS" if abs(_pct(a_split, s)) <= TARGET_PCT else "FAIL"
            ok &= verdict == "PASS"
            worst_split = max(worst_split, abs(_pct(a_split, s)))
            split_ss, split_acc = split_ss + s, split_acc + a_split
            print(f"{layer.name:9} {sh.in_c:>4} {s:>11,} {'ok' if closed == s else closed:>9} "
                  f"{a_split:>11,} {_pct(a_split, s):>+8.2f}  {verdict:7} {a_nat:>11,} "
                  f"{a_nat / s:>9.3f}")
        total = sum(1 for layer in wl.layers if layer.kind == "depthwise")
        print(f"({len(dws)} of {total} depthwise rows run; 'formula' = SCALE-Sim's "
              f"{flow.title} closed form, accelsim.interop.{flow.name}_compute_cycles)")
    return Agreement(ok, worst_dense, worst_split, (dense_ss, dense_acc), (split_ss, split_acc))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataflow", choices=tuple(SELECTIONS), default="all",
                    help="which dataflow(s) to cross-check: ws, os, is, both (ws and os) or "
                    "all (default)")
    ap.add_argument("--venv", type=Path, default=Path.home() / ".cache/accelsim/scalesim-venv")
    ap.add_argument("--work", type=Path, default=Path.home() / ".cache/accelsim/crosscheck")
    ap.add_argument("--cfg", type=Path, help="SCALE-Sim config (one --dataflow only; default "
                    "bench/scalesim_<dataflow>32.cfg)")
    ap.add_argument("--hw", type=Path, help="accelsim hwconfig (one --dataflow only; default "
                    "hwconfigs/scalesim_<dataflow>32.yaml)")
    ap.add_argument("--topology", type=Path, default=TOPOLOGY)
    ap.add_argument("--dp", default=DP_DEFAULT, help="comma-separated DP rows to run")
    ap.add_argument("--all-dp", action="store_true", help="run all DP rows (slow: minutes, GBs)")
    ap.add_argument("--reuse", action="store_true", help="reuse SCALE-Sim results if unchanged")
    ap.add_argument("--from-golden", action="store_true",
                    help="compare against the stored goldens instead of running SCALE-Sim")
    ap.add_argument("--write-golden", action="store_true",
                    help="write tests/golden/scalesim_<dataflow>32_mobilenet_v1_0.5.csv")
    ap.add_argument("--yes", action="store_true",
                    help="install SCALE-Sim into --venv without asking (about 0.5 GB)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _accelsim_child(json.loads(args.child))
        return 0
    names = SELECTIONS[args.dataflow]
    if len(names) > 1 and (args.cfg or args.hw):
        ap.error("--cfg and --hw need a single --dataflow (ws, os or is)")
    if args.from_golden and args.write_golden:
        ap.error("--write-golden needs SCALE-Sim's numbers: drop --from-golden")
    flows = [FLOWS[n] for n in names]
    if args.cfg or args.hw:
        f = flows[0]
        flows = [Flow(f.name, f.title, args.cfg or f.cfg, args.hw or f.hw, f.golden, f.formula)]
    wl = import_topology(args.topology)
    all_dp = [layer.name for layer in wl.layers if layer.kind == "depthwise"]
    dp = all_dp if args.all_dp else [n for n in args.dp.split(",") if n]
    unknown = sorted(set(dp) - set(all_dp))
    if unknown:
        ap.error(f"--dp: not depthwise rows of {args.topology.name}: {', '.join(unknown)}")
    python = None if args.from_golden else ensure_venv(args.venv, args.work, args.yes)
    results = {flow.name: run_flow(flow, args, wl, dp, python) for flow in flows}
    print("\nSummary, accelsim vs SCALE-Sim compute cycles (diff %: largest per-layer |diff|; "
          "total: summed over the rows):")
    for flow in flows:
        r = results[flow.name]
        line = (f"  {flow.title}: dense rows max {r.worst_dense:.3f}%, total "
                f"{_total(r.dense_cycles)}")
        if r.split_cycles[0]:
            line += (f"; depthwise split rows max {r.worst_split:.3f}%, total "
                     f"{_total(r.split_cycles)}")
        print(f"{line} -> {'PASS' if r.ok else 'FAIL'}")
    if python is not None:
        print(f"\nSCALE-Sim stays installed in {args.venv} and its outputs in {args.work}; "
              f"remove them with: rm -rf {args.venv} {args.work}")
    return 0 if all(r.ok for r in results.values()) else 1


def _total(cycles: tuple[int, int]) -> str:
    """``SCALE-Sim -> accelsim (+x.xxx%)`` for summed cycles."""
    ss, acc = cycles
    return f"{ss:,} -> {acc:,} ({_pct(acc, ss):+.4f}%)"


def run_flow(flow: Flow, args: argparse.Namespace, wl: Workload, dp: list[str],
             python: Path | None) -> Agreement:
    """SCALE-Sim (or the golden) and accelsim on one dataflow; prints the tables and timings."""
    dense = [layer.name for layer in wl.layers if layer.kind != "depthwise"]
    cfg = configparser.ConfigParser()
    cfg.read(flow.cfg)
    arr = (cfg.getint("architecture_presets", "ArrayHeight"),
           cfg.getint("architecture_presets", "ArrayWidth"))
    runs: dict[str, dict] = {}
    if python is None:
        ref = {r.name: r for r in load_golden(flow.golden)}
        dp = [layer.name for layer in wl.layers if layer.kind == "depthwise" and layer.name in ref]
        dense = [n for n in dense if n in ref]
    else:
        ref = {}
        for part, names in (("dense", dense), ("depthwise", dp)):
            if not names:
                continue
            sub = _subset(wl, names)
            stats = run_scalesim(python, flow.cfg, sub, args.work / flow.name / part, args.reuse)
            splits = [layer.shape.in_c if layer.kind == "depthwise" else 1
                      for layer in sub.layers]
            ref.update({r.name: r for r in
                        per_topology_row([x.name for x in sub.layers], splits, stats["rows"])})
            runs[f"SCALE-Sim {part}"] = stats
    if args.write_golden:
        ver = runs.get("SCALE-Sim dense", runs.get("SCALE-Sim depthwise", {}))
        flow.golden.write_text(dumps_golden([ref[n] for n in dense + dp],
                                            _provenance(args, flow, ver, dp)))
        print(f"wrote {flow.golden}")
    acc_native = run_accelsim(dense + dp, "native", flow.hw, args.topology)
    acc_split = run_accelsim(dp, "split", flow.hw, args.topology) if dp else {"cycles": {}}
    result = print_tables(flow, ref, wl, acc_split, acc_native, arr)
    print(f"\nWall time (simulation only, imports excluded) and peak resident memory per process "
          f"({flow.title}):")
    runs["accelsim native (dense + DP rows)"] = acc_native
    if dp:
        runs["accelsim split DP rows"] = acc_split
    for label, st in runs.items():
        print(f"  {label:34} {st['layers']:>5} layers {st['seconds']:>9.2f} s "
              f"{st['maxrss_kib'] / 1024:>8.0f} MiB")
    return result


def _provenance(args: argparse.Namespace, flow: Flow, ver: dict, dp: list[str]) -> list[str]:
    def rel(p: Path) -> str:
        p = p.resolve()
        return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)

    def sha(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()[:16]

    return [f"SCALE-Sim {ver.get('scalesim')} (PyPI scalesim=={ver.get('scalesim')}, numpy "
            f"{ver.get('numpy')}), Python API scalesim.scale_sim.scalesim(save_disk_space=True)",
            f"config {rel(flow.cfg)} (sha256 {sha(flow.cfg)}...): {flow.title} 32x32, 32 K-word "
            "SRAMs, 16 words/cycle, InterfaceBandwidth USER",
            f"topology {rel(args.topology)} (sha256 {sha(args.topology)}...); dense rows run as "
            "one SCALE-Sim topology, DP rows as another",
            f"DP rows: sum over SCALE-Sim's per-channel layers; rows run: "
            f"{'all' if args.all_dp else 'subset'} ({' '.join(dp) or 'none'})",
            "compute_cycles = Total Cycles - Stall Cycles (COMPUTE_REPORT.csv)",
            f"regenerate: python bench/scalesim_crosscheck.py --dataflow {flow.name} "
            "--write-golden" + (" --all-dp" if args.all_dp else f" --dp {','.join(dp)}")]


if __name__ == "__main__":
    sys.exit(main())
