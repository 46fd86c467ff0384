#!/usr/bin/env python3
"""Cross-check accelsim's memory traffic and energy by level against ZigZag 3.9.1.

Runs ZigZag (PyPI ``zigzag-dse==3.9.1`` with ``six``, installed by pip into its own virtual
environment outside the repo, default ~/.cache/accelsim/zigzag-venv, about 0.45 GB; the script
says so and asks before creating it, or needs --yes when not run from a terminal; remove it with
``rm -rf ~/.cache/accelsim/zigzag-venv``) on MobileNet-V1 0.5's 28 layers (each layer's MAC
stage, from workloads/mobilenet_v1_0.5_baseline.json, exported by accelsim.interop.zigzag) on
ZigZag's 32 x 32 ``tpu_like`` accelerator (bench/zigzag/tpu_like.yaml, a copy of the package's)
with LOMA minimising energy, and accelsim's discrete-event engine on the same layers with
hwconfigs/zigzag_tpu_like32.yaml (every activation from and to DRAM, as ZigZag evaluates
layers). Prints, per layer and metric (DRAM bytes, DRAM / SRAM / register / MAC energy), both
tools' numbers and the difference, then the largest deviation of each metric and whether it lies
in the band docs/zigzag-crosscheck.md documents (tests/test_zigzag_crosscheck.py asserts the
same bands against the stored ZigZag numbers).

  python bench/zigzag_crosscheck.py                  # both tools (~4 min; asks to install ZigZag)
  python bench/zigzag_crosscheck.py --yes            # same, installing ZigZag without asking
  python bench/zigzag_crosscheck.py --reuse          # reuse ZigZag's output if inputs unchanged
  python bench/zigzag_crosscheck.py --from-golden    # accelsim vs the stored ZigZag numbers only
  python bench/zigzag_crosscheck.py --write-golden   # refresh tests/golden/zigzag_tpu_like32_*.csv
Exit status 1 if a metric leaves its documented band.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent / "zigzag"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from zzenv import DEFAULT_VENV, ensure_zigzag  # noqa: E402

from accelsim.api import load_hwconfig, load_workload, simulate  # noqa: E402
from accelsim.interop.zigzag import (  # noqa: E402
    METRICS,
    Band,
    LevelRow,
    accelsim_row,
    band_of,
    deviation_pct,
    dumps_golden,
    load_bands,
    load_golden,
    mac_stages_only,
    metric,
    outside_bands,
    zigzag_mapping,
    zigzag_row,
    zigzag_workload,
)

WORKLOAD = ROOT / "workloads/mobilenet_v1_0.5_baseline.json"
HW = ROOT / "hwconfigs/zigzag_tpu_like32.yaml"
ZZ_HW = HERE / "tpu_like.yaml"
GOLDEN = ROOT / "tests/golden/zigzag_tpu_like32_mobilenet_v1_0.5.csv"
BANDS = ROOT / "tests/golden/zigzag_tpu_like32_bands.json"


def run_zigzag(python: Path, work: Path, opt: str, reuse: bool) -> dict:
    """ZigZag on the exported workload and mapping in ``work``; its per-layer JSON."""
    work.mkdir(parents=True, exist_ok=True)
    wl = mac_stages_only(load_workload(WORKLOAD))
    hw = load_hwconfig(HW)
    files = {"workload.yaml": zigzag_workload(wl),
             "mapping.yaml": zigzag_mapping(wl, hw.mac_array.rows, hw.mac_array.cols)}
    for name, text in files.items():
        (work / name).write_text(text)
    key = hashlib.sha256((files["workload.yaml"] + files["mapping.yaml"] + ZZ_HW.read_text()
                          + opt).encode()).hexdigest()
    out = work / "zigzag.json"
    stamp = work / "key"
    if reuse and out.exists() and stamp.exists() and stamp.read_text() == key:
        print(f"reusing ZigZag's output in {work}", flush=True)
        return json.loads(out.read_text())
    print(f"running ZigZag 3.9.1 on {len(wl.layers)} layers (LOMA objective: {opt}) ...",
          flush=True)
    proc = subprocess.run([python, HERE / "run_zigzag.py", work / "workload.yaml", ZZ_HW,
                           work / "mapping.yaml", opt, out], capture_output=True, text=True,
                          cwd=work)
    if proc.returncode:
        sys.exit(f"ZigZag failed:\n{proc.stderr[-3000:]}")
    stamp.write_text(key)
    return json.loads(out.read_text())


def accelsim_rows() -> tuple[dict[str, LevelRow], float]:
    """accelsim's DES rows on the same layers and its simulation time (s)."""
    wl = mac_stages_only(load_workload(WORKLOAD))
    hw = load_hwconfig(HW)
    t0 = time.perf_counter()
    result = simulate(wl, hw, engine="des")
    seconds = time.perf_counter() - t0
    return {rec.name: accelsim_row(rec) for rec in result.layers}, seconds


def compare(ref: dict[str, LevelRow], ours: dict[str, LevelRow],
            bands: dict[str, tuple[Band, ...]]) -> bool:
    """Print the per-layer table, the deviation per metric and band, and the whole-network
    totals; True if every layer lies in its documented band for every metric."""
    print("\nPer layer: ZigZag (zz) and accelsim (acc); d% = 100 (acc - zz) / zz")
    print(f"{'layer':6}" + "".join(f" {m + ' zz':>15} {'acc':>11} {'d%':>7}" for m in METRICS))
    for name, z in ref.items():
        a = ours[name]
        print(f"{name:6}" + "".join(
            f" {metric(z, m):>15.4g} {metric(a, m):>11.4g} "
            f"{deviation_pct(metric(a, m), metric(z, m)):>+7.1f}" for m in METRICS))
    print("\nDeviation by metric and documented band (min .. max % over the band's layers):")
    for m in METRICS:
        for b in bands[m]:
            names = [n for n in ref if band_of(bands[m], n) is b]
            ds = [deviation_pct(metric(ours[n], m), metric(ref[n], m)) for n in names]
            if ds:
                print(f"  {m:12} {len(ds):>2} layers {min(ds):>+7.1f} .. {max(ds):>+7.1f}  band "
                      f"[{b.min_pct:+g}, {b.max_pct:+g}]  {b.why}")
    print("\nWhole network (sum over the layers):")
    for m in METRICS:
        z = sum(metric(r, m) for r in ref.values())
        a = sum(metric(r, m) for r in ours.values())
        print(f"  {m:12} ZigZag {z:>14.6g}  accelsim {a:>14.6g}  {deviation_pct(a, z):>+7.1f}%")
    bad = outside_bands(ref, ours, bands)
    for line in bad:
        print(f"OUTSIDE BAND: {line}")
    print("every layer within its documented band" if not bad else f"{len(bad)} outside")
    return not bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    ap.add_argument("--work", type=Path, default=Path.home() / ".cache/accelsim/zigzag-work")
    ap.add_argument("--opt", default="energy", choices=("energy", "latency", "EDP"),
                    help="ZigZag's LOMA objective (default energy)")
    ap.add_argument("--reuse", action="store_true", help="reuse ZigZag's output if unchanged")
    ap.add_argument("--from-golden", action="store_true",
                    help=f"compare against {GOLDEN.name} instead of running ZigZag")
    ap.add_argument("--write-golden", action="store_true", help=f"write {GOLDEN}")
    ap.add_argument("--yes", action="store_true", help="install ZigZag without asking")
    args = ap.parse_args(argv)
    if args.from_golden:
        ref = {r.layer: r for r in load_golden(GOLDEN)}
        zz_seconds = None
    else:
        python = ensure_zigzag(args.venv, args.yes, "the cross-check runs it")
        run = run_zigzag(python, args.work, args.opt, args.reuse)
        ref = {r.layer: r for r in (zigzag_row(layer) for layer in run["layers"])}
        zz_seconds = run["seconds"]
        if args.write_golden:
            GOLDEN.write_text(dumps_golden(ref.values(), _provenance(args.opt)))
            print(f"wrote {GOLDEN.relative_to(ROOT)}")
    ours, acc_seconds = accelsim_rows()
    ok = compare(ref, ours, load_bands(BANDS))
    print(f"\nSimulation time: accelsim {acc_seconds:.2f} s"
          + (f", ZigZag {zz_seconds:.1f} s (LOMA search included)" if zz_seconds else ""))
    if not args.from_golden:
        print(f"ZigZag stays installed in {args.venv} and its files in {args.work}; remove them "
              f"with: rm -rf {args.venv} {args.work}")
    return 0 if ok else 1


def _provenance(opt: str) -> list[str]:
    def sha(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()[:16]

    return ["ZigZag 3.9.1 (PyPI zigzag-dse==3.9.1 with six), zigzag.api."
            f"get_hardware_performance_zigzag(opt='{opt}'), run by bench/zigzag/run_zigzag.py",
            f"hardware bench/zigzag/tpu_like.yaml (sha256 {sha(ZZ_HW)}...): the package's tpu_like",
            "mapping and workload: accelsim.interop.zigzag.zigzag_mapping / zigzag_workload of "
            f"{WORKLOAD.relative_to(ROOT)} (MAC stages; sha256 {sha(WORKLOAD)}...)",
            "dram_*_bytes: data moved at ZigZag's dram level (elements x 16 bits); *_pj: ZigZag's "
            "energy per level (dram; sram_2MB; rf_128B + rf_2B; MACs)",
            "regenerate: python bench/zigzag_crosscheck.py --write-golden"]


if __name__ == "__main__":
    sys.exit(main())
