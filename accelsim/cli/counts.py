"""``accelsim counts``, ``compare`` and ``paper``: the foundation's op-count views."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from accelsim import api
from accelsim.cli.binary import print_hbn_counts, print_hbn_table
from accelsim.cli.common import (
    EXIT_CHECK_FAILED,
    INPUT_PATH,
    convention_option,
    echo_json,
    handle_errors,
    hw_option,
    json_option,
)
from accelsim.counts import Convention
from accelsim.results.text import table

_WL = INPUT_PATH


@click.command("counts", epilog="Example: accelsim counts "
               "workloads/mobilenet_v1_0.5_hybrid_a0.375_r1.6.json")
@click.argument("workload", type=_WL)
@convention_option("'paper' rescales to the paper's fractional hidden widths; 'hbn2018': "
                   "Chakraborty et al.'s binary accounting (params / 32, FBin = WBin / 58).",
                   Convention.values())
@json_option
@handle_errors
def counts_cmd(workload: Path, convention: str, as_json: bool) -> None:
    """Totals (macs, muls, adds, model size) and one row per layer."""
    if convention == Convention.HBN2018:
        print_hbn_counts(workload, as_json)
        return
    data = api.counts(api.load_workload(workload), convention=convention)
    if as_json:
        echo_json(data)
        return
    t = data["totals"]
    click.echo(f"{data['workload']} ({convention} accounting)")
    click.echo(table(["layer", "kind", "variant", "macs", "muls", "adds", "adds (zero-skip)",
                      "weights B"],
                     [[r["name"], r["kind"], r["variant"], r["macs"], r["muls"], r["adds"],
                       r["adds_nonzero"], r["model_size_bytes"]] for r in data["layers"]], 0))
    click.echo(f"total: macs {t['macs']:,.0f}  muls {t['muls']:,.0f}  adds {t['adds']:,.0f}  "
               f"model size {t['model_size_kb']:.2f} KB ({t['model_size_bytes']:,.0f} B)")


@click.command("compare", epilog="Example: accelsim compare workloads/mobilenet_v1_0.5_*.json "
               "--hw hwconfigs/paper.yaml")
@click.argument("workloads", type=_WL, nargs=-1, required=True)
@hw_option()
@click.option("--baseline", type=_WL, default=None,
              help="Baseline workload (default: the one all-fp workload among WORKLOADS).")
@convention_option()
@json_option
@handle_errors
def compare_cmd(workloads: tuple[Path, ...], hw: Path, baseline: Path | None, convention: str,
                as_json: bool) -> None:
    """Energy and throughput normalised to the baseline on a same-area MAC-only accelerator."""
    wls = [api.load_workload(p) for p in workloads]
    base = api.load_workload(baseline) if baseline else None
    rows = api.compare(wls, api.load_hwconfig(hw), baseline=base, convention=convention)
    if as_json:
        echo_json([asdict(r) for r in rows])
        return
    click.echo(table(["workload", "MACs M", "muls M", "adds M", "size KB", "energy",
                      "thr balance", "thr sequential", "thr config", "MAC share bal.",
                      "MAC share seq."],
                     [[r.workload, r.macs_m, r.muls_m, r.adds_m, r.size_kb, r.energy,
                       r.thr_balance, r.thr_sequential, r.thr_config, r.mac_share_balance,
                       r.mac_share_sequential] for r in rows], 3))
    click.echo("thr balance: paper's whole-network bound; thr sequential: layers one after "
               "another on the best fixed split; thr config: on the config's own split.")


@click.command("paper", epilog="Examples: accelsim paper --json; accelsim paper --table hbn2018")
@click.option("--workloads", "workload_dir", type=INPUT_PATH,
              default=Path("workloads"), show_default=True, help="Folder of bundled workloads.")
@hw_option(required=False)
@click.option("--table", "which", type=click.Choice(["gope2019", "hbn2018"]), default="gope2019",
              show_default=True, help="gope2019: Gope et al.'s MobileNet table; hbn2018: "
              "Chakraborty et al.'s ResNet-18 table (no hardware config).")
@json_option
@handle_errors
def paper_cmd(workload_dir: Path, hw: Path | None, which: str, as_json: bool) -> None:
    """Regenerate Gope et al.'s MobileNet table, published value beside each computed one.

    Computed values are truncated to the printed digits, as the paper does; a cell that differs
    is flagged with '*'. Exit status 1 if a row other than the known-inconsistent one differs.
    With --table hbn2018: the HBN ResNet-18 table (docs/accounting.md), exit status 1 if a cell
    is outside its tolerance."""
    if which == "hbn2018":
        print_hbn_table(workload_dir, as_json)
        return
    cfg = api.load_hwconfig(hw or Path("hwconfigs/paper.yaml"))
    rows = api.paper_table(workload_dir, cfg)
    unexpected = [r.label for r in rows if not r.match and not r.note]
    if as_json:
        echo_json({"rows": [{"label": r.label, "workload": r.workload, "match": r.match,
                             "note": r.note, "cells": [asdict(c) for c in r.cells]}
                            for r in rows], "unexpected_mismatches": unexpected})
    else:
        headers = ["row"] + [f"{c} (pub / ours)" for c in
                             ("muls M", "adds M", "MACs M", "size KB", "energy", "thr")]
        body = []
        for r in rows:
            cells = []
            for c in r.cells:
                pub = "-" if c.published is None else f"{c.published:g}"
                ours = f"{c.shown:.2f}".rstrip("0").rstrip(".") if c.published is not None \
                    else f"{c.computed / 1 if c.computed else 0:.2f}"
                cells.append(f"{pub} / {ours}{'' if c.match else ' *'}")
            body.append([r.label] + cells)
        click.echo(table(headers, body))
        for r in rows:
            if r.note:
                full = {c.column: round(c.computed, 4) for c in r.cells
                        if c.computed is not None}
                click.echo(f"* {r.label}: {r.note}; computed {full}")
        click.echo(f"{sum(r.match for r in rows)}/{len(rows)} rows match the published digits.")
    if unexpected:
        raise SystemExit(EXIT_CHECK_FAILED)


COMMANDS = [counts_cmd, compare_cmd, paper_cmd]
