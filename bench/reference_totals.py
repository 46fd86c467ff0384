"""Totals of the bundled workloads under both accountings, and how long tracing takes.

    /work/venv/bin/python bench/reference_totals.py            # committed files only
    /work/venv/bin/python bench/reference_totals.py --retrace  # also time each trace (torch)

"actual": integer hidden widths as built; "paper": every stage rescaled by its paper_scale
(the paper's fractional r, e.g. 1.33 c). Size KB = sum(count * bits) / 8 / 1024.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from accelsim.reference.entry import BUNDLED
from accelsim.workload import dumps_workload, load_workload

ROOT = Path(__file__).resolve().parent.parent / "workloads"


def totals(wl, paper: bool) -> tuple[float, float, float, float]:
    t = {"mac": 0.0, "add": 0.0, "mul": 0.0}
    bits = 0.0
    for layer in wl.layers:
        for st in layer.stages:
            scale = st.paper_scale if paper else 1.0
            t[st.op] = t.get(st.op, 0.0) + st.ops_dense * scale
            bits += sum(w.count * w.bits for w in st.weights) * scale
    return t["mac"], t["mul"], t["add"], bits / 8 / 1024


def main() -> None:
    retrace = "--retrace" in sys.argv[1:]
    print(f"{'workload':42s} {'acct':6s} {'MACs':>13s} {'muls':>11s} {'adds':>13s} "
          f"{'size KB':>10s} {'file B':>7s}" + ("  trace s" if retrace else ""))
    for filename, spec in BUNDLED:
        path = ROOT / filename
        wl = load_workload(path)
        extra = ""
        if retrace:
            from accelsim.reference.trace import trace
            t0 = time.perf_counter()
            same = dumps_workload(trace(spec)) == path.read_text()
            extra = f"  {time.perf_counter() - t0:7.2f}" + ("" if same else "  DIFFERS")
        for acct in ("actual", "paper"):
            macs, muls, adds, kb = totals(wl, acct == "paper")
            print(f"{wl.name:42s} {acct:6s} {macs:13,.0f} {muls:11,.2f} {adds:13,.2f} "
                  f"{kb:10.3f} {path.stat().st_size:7d}" + (extra if acct == "actual" else ""))


if __name__ == "__main__":
    main()
