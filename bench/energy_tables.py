#!/usr/bin/env python3
"""Regenerate accelsim's CACTI SRAM table (accelsim/data/energy/sram_cacti7.yaml).

Runs CACTI 7.0, the binary shipped inside the PyPI package ``zigzag-dse==3.9.1``
(``zigzag/cacti/cacti_master/cacti``; installed into its own virtual environment, asked for
first, see bench/zigzag/zzenv.py), on a grid of plain SRAM scratchpads: technology 45 nm and
28 nm, capacity 1 KiB to 4 MiB (powers of two), word (port) width 64, 128, 256 and 512 bits,
one exclusive read port and one exclusive write port, one bank. The other CACTI inputs are the
ones ZigZag's own CACTI wrapper uses (``zigzag/cacti/cacti_master/cacti_config_creator.py``):
ITRS high-performance cells and periphery, 360 K, UCA, "normal" access, ED^2 optimisation.
Each run's dynamic read and write energy per access (one word), standby leakage and area are
written to the table with this configuration in its header (a combination CACTI cannot
organise, e.g. 1 KiB of 512-bit words, is left out). About 4 s per run, 104 runs.

  python bench/energy_tables.py            # asks before installing ZigZag (~0.45 GB)
  python bench/energy_tables.py --yes      # installs without asking
  python bench/energy_tables.py --check    # compare a fresh run with the stored table only
"""
from __future__ import annotations

import argparse
import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent / "zigzag"))
from zzenv import DEFAULT_VENV, ensure_zigzag, package_dir  # noqa: E402

TABLE = ROOT / "accelsim/data/energy/sram_cacti7.yaml"
NODES_NM = (45, 28)
SIZES_KIB = tuple(2 ** i for i in range(13))  # 1 KiB .. 4 MiB
WIDTHS_BITS = (64, 128, 256, 512)

# CACTI input: the settings of ZigZag's wrapper, the size/width/technology filled in per run.
CFG = """\
-Array Power Gating - "false"
-WL Power Gating - "false"
-CL Power Gating - "false"
-Bitline floating - "false"
-Interconnect Power Gating - "false"
-Power Gating Performance Loss 0.01
-page size (bits) 8192
-burst length 8
-internal prefetch width 8
-Data array cell type - "itrs-hp"
-Data array peripheral type - "itrs-hp"
-Tag array cell type - "itrs-hp"
-Tag array peripheral type - "itrs-hp"
-operating temperature (K) 360
-tag size (b) "default"
-access mode (normal, sequential, fast) - "normal"
-design objective (weight delay, dynamic power, leakage power, cycle time, area) 0:0:0:100:0
-deviate (delay, dynamic power, leakage power, cycle time, area) 20:100000:100000:100000:100000
-NUCAdesign objective (weight delay, dynamic power, leakage power, cycle time, area) 100:100:0:0:100
-NUCAdeviate (delay, dynamic power, leakage power, cycle time, area) 10:10000:10000:10000:10000
-Optimize ED or ED^2 (ED, ED^2, NONE): "ED^2"
-Cache model (NUCA, UCA)  - "UCA"
-NUCA bank count 0
-Wire signaling (fullswing, lowswing, default) - "Global_30"
-Wire inside mat - "semi-global"
-Wire outside mat - "semi-global"
-Interconnect projection - "conservative"
-Core count 8
-Cache level (L2/L3) - "L3"
-Add ECC - "true"
-Print level (DETAILED, CONCISE) - "CONCISE"
-Print input parameters - "false"
-Force cache config - "false"
-Ndwl 1
-Ndbl 1
-Nspd 0
-Ndcm 1
-Ndsam1 0
-Ndsam2 0
-dram_type "DDR3"
-io state "WRITE"
-addr_timing 1.0
-mem_density 4 Gb
-bus_freq 800 MHz
-duty_cycle 1.0
-activity_dq 1.0
-activity_ca 0.5
-num_dq 72
-num_dqs 18
-num_ca 25
-num_clk  2
-num_mem_dq 2
-mem_data_width 8
-rtt_value 10000
-ron_value 34
-tflight_value
-num_bobs 1
-capacity 80
-num_channels_per_bob 1
-first metric "Cost"
-second metric "Bandwidth"
-third metric "Energy"
-DIMM model "ALL"
-mirror_in_bob "F"
-size (bytes) {size}
-block size (bytes) {block}
-output/input bus width {width}
-associativity 1
-read-write port 0
-exclusive read port 1
-exclusive write port 1
-single ended read ports 0
-UCA bank count 1
-technology (u) {tech}
-cache type "ram"
"""


def run_cacti(work: Path, node_nm: int, size_kib: int, width: int) -> dict[str, float] | None:
    """One CACTI run in ``work`` (a copy of the binary and its tech_params); its row, or None
    when CACTI finds no organisation for it (too few rows for the word width)."""
    cfg = work / "accelsim.cfg"
    cfg.write_text(CFG.format(size=size_kib * 1024, block=width // 8, width=width,
                              tech=node_nm / 1000))
    out = work / "accelsim.cfg.out"
    out.unlink(missing_ok=True)
    proc = subprocess.run(["./cacti", "-infile", cfg.name], cwd=work, capture_output=True,
                          text=True)
    if "no valid data array organizations" in proc.stdout:
        return None
    if proc.returncode or not out.exists():
        raise RuntimeError(f"CACTI failed for {node_nm} nm {size_kib} KiB x{width}: "
                           f"{proc.stdout[-500:]}{proc.stderr[-500:]}")
    rows = list(csv.reader(io.StringIO(out.read_text())))
    head = [h.strip() for h in rows[0]]
    row = dict(zip(head, (v.strip() for v in rows[-1])))
    return {"read_pj": float(row["Dynamic read energy (nJ)"]) * 1e3,
            "write_pj": float(row["Dynamic write energy (nJ)"]) * 1e3,
            "leakage_mw": float(row["Standby leakage per bank(mW)"]),
            "area_mm2": float(row["Area (mm2)"])}


def build(master: Path, work: Path) -> dict:
    """The table document: the header and one row per (node, capacity, width)."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copy2(master / "cacti", work / "cacti")
    shutil.copytree(master / "tech_params", work / "tech_params")
    shutil.copy2(master / "contention.dat", work / "contention.dat")
    nodes = {}
    for node in NODES_NM:
        rows = []
        for size in SIZES_KIB:
            for width in WIDTHS_BITS:
                r = run_cacti(work, node, size, width)
                if r is None:
                    print(f"{node} nm {size:5} KiB x{width:3}: no valid organisation, skipped")
                    continue
                rows.append([size, width, round(r["read_pj"], 4), round(r["write_pj"], 4),
                             round(r["leakage_mw"], 4), round(r["area_mm2"], 5)])
                print(f"{node} nm {size:5} KiB x{width:3}: read {r['read_pj']:9.3f} pJ, "
                      f"write {r['write_pj']:9.3f} pJ, leakage {r['leakage_mw']:9.3f} mW",
                      flush=True)
        nodes[f"{node}nm"] = rows
    return {"nodes": nodes}


HEADER = """\
# SRAM energy per access, leakage and area from CACTI 7.0 (Balasubramonian et al., "CACTI 7:
# New Tools for Interconnect Exploration in Innovative Off-Chip Memories", ACM TACO 14(2), 2017),
# the binary shipped in the PyPI package zigzag-dse 3.9.1 (zigzag/cacti/cacti_master/cacti),
# run by bench/energy_tables.py (regenerate: python bench/energy_tables.py --yes).
# CACTI inputs: plain "ram" scratchpad, UCA, 1 bank, 1 exclusive read + 1 exclusive write port,
# block size = word width, ITRS high-performance (itrs-hp) cells and periphery, 360 K,
# "normal" access, ED^2 objective, conservative interconnect (ZigZag's CACTI wrapper settings).
# Rows: [capacity KiB, word width bits, read pJ per word, write pJ per word, standby leakage mW
# (itrs-hp at 360 K: a worst case), area mm2]. Sanity check against a published table: at 45 nm
# a 64-bit read costs 7.5 / 21.2 / 113 pJ for 8 KiB / 32 KiB / 1 MiB here; Horowitz (ISSCC 2014,
# 45 nm) gives 10 / 20 / 100 pJ (accelsim/data/energy/sram_horowitz2014.yaml).
"""


def dump(doc: dict) -> str:
    """The table file's text: the header, then the CACTI rows by node."""
    body = {"source": "CACTI 7.0 (zigzag-dse 3.9.1 binary), bench/energy_tables.py",
            "kind": "sram", "columns": ["size_kib", "width_bits", "read_pj", "write_pj",
                                         "leakage_mw", "area_mm2"],
            "tables": {f"cacti7_{k}": {"node_nm": int(k[:-2]), "rows": v}
                       for k, v in doc["nodes"].items()}}
    text = HEADER + yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=100)
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    ap.add_argument("--work", type=Path, default=Path.home() / ".cache/accelsim/cacti-work")
    ap.add_argument("--yes", action="store_true", help="install ZigZag without asking")
    ap.add_argument("--check", action="store_true",
                    help=f"compare with {TABLE.relative_to(ROOT)} instead of writing it")
    args = ap.parse_args(argv)
    python = ensure_zigzag(args.venv, args.yes, "its CACTI 7 binary builds the SRAM table")
    doc = build(package_dir(python) / "cacti" / "cacti_master", args.work)
    text = dump(doc)
    if args.check:
        stored = yaml.safe_load(TABLE.read_text())["tables"]
        fresh = yaml.safe_load(text)["tables"]
        same = all(stored[k]["rows"] == fresh[k]["rows"] for k in fresh)
        print("stored table matches a fresh CACTI run" if same else "stored table differs")
        return 0 if same else 1
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text(text)
    print(f"wrote {TABLE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
