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
from accelsim.conventions import AccountingConvention
from accelsim.counts import Convention
from accelsim.results.text import table
from accelsim.study.tinyml import TinymlTable

_WL = INPUT_PATH


@click.command("counts", epilog="Example: accelsim counts "
               "workloads/mobilenet_v1_0.5_hybrid_a0.375_r1.6.json")
@click.argument("workload", type=_WL)
@convention_option("'paper': the paper's fractional hidden widths; 'hbn2018': "
                   "Chakraborty et al.'s binary accounting (params / 32, FBin = WBin / 58).")
@json_option
@handle_errors
def counts_cmd(workload: Path, convention: str, as_json: bool) -> None:
    """Totals (macs, muls, adds, model size) and one row per layer."""
    conv = api.load_convention(convention)
    if conv.method == Convention.HBN2018:
        print_hbn_counts(workload, as_json)
        return
    data = api.counts(api.load_workload(workload), convention=conv)
    if as_json:
        echo_json(data)
        return
    t = data["totals"]
    click.echo(f"{data['workload']} ({conv.name} accounting)")
    click.echo(table(["layer", "kind", "variant", "macs", "muls", "adds", "adds (zero-skip)",
                      "weights B"],
                     [[r["name"], r["kind"], r["variant"], r["macs"], r["muls"], r["adds"],
                       r["adds_nonzero"], r["model_size_bytes"]] for r in data["layers"]], 0))
    click.echo(f"total: macs {t['macs']:,.0f}  muls {t['muls']:,.0f}  adds {t['adds']:,.0f}  "
               f"model size {t['model_size_kb']:,.2f} KB ({t['model_size_bytes']:,.0f} B)")
    click.echo(f"{conv.summary()}: {conv.description}")


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


_TABLES = {"gope2019": "Gope et al.'s MobileNet Tables 1-2",
           "tinyml2019": "the tinyML abstract's Table I and its headline percentages",
           "hbn2018": "Chakraborty et al.'s ResNet-18 table (no hardware config)"}


@click.command("paper", epilog="Examples: accelsim paper --json; accelsim paper --table "
               "tinyml2019; accelsim paper --table hbn2018")
@click.option("--workloads", "workload_dir", type=INPUT_PATH,
              default=Path("workloads"), show_default=True, help="Folder of bundled workloads.")
@hw_option(required=False)
@click.option("--table", "which", type=click.Choice(list(_TABLES)), default="gope2019",
              show_default=True, help="; ".join(f"{k}: {v}" for k, v in _TABLES.items()) + ".")
@json_option
@handle_errors
def paper_cmd(workload_dir: Path, hw: Path | None, which: str, as_json: bool) -> None:
    """Regenerate a published table, published value beside each computed one, with the
    accounting convention it needs.

    Computed values are truncated to the printed digits, as the paper does; a cell that differs
    is flagged with '*'. Exit status 1 if a row other than the known-inconsistent one differs.
    With --table tinyml2019: also the abstract's percentages, each with its definition.
    With --table hbn2018: the HBN ResNet-18 table (docs/accounting.md), exit status 1 if a cell
    is outside its tolerance."""
    if which == "hbn2018":
        print_hbn_table(workload_dir, as_json)
        return
    cfg = api.load_hwconfig(hw or Path("hwconfigs/paper.yaml"))
    if which == "tinyml2019":
        _print_tinyml(api.tinyml_table(workload_dir, cfg), as_json)
        return
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
        _echo_convention(api.load_convention(Convention.PAPER), cfg.name)
    if unexpected:
        raise SystemExit(EXIT_CHECK_FAILED)


def _echo_convention(conv: AccountingConvention, hw: str) -> None:
    click.echo(f"{conv.summary()}; hardware config {hw}.")
    click.echo(f"  {conv.description}")


def _print_tinyml(t: TinymlTable, as_json: bool) -> None:
    """``accelsim paper --table tinyml2019``: Table I and the text's percentages."""
    unexpected = [r.network for r in t.rows if not r.match and not r.note]
    if as_json:
        echo_json({"convention": asdict(t.convention),
                   "rows": [{"network": r.network, "workload": r.workload, "top1": r.top1,
                             "match": r.match, "note": r.note,
                             "cells": [asdict(c) for c in r.cells]} for r in t.rows],
                   "headlines": [asdict(h) for h in t.headlines],
                   "unexpected_mismatches": unexpected})
    else:
        click.echo("Gope et al., tinyML abstract, Table I: MobileNet-V1 0.5 on an "
                   "area-equivalent accelerator (published / ours, truncated to the printed "
                   "digits; '*' differs)")
        body = [[r.network, f"{r.top1:g}%"] +
                [f"{c.published:g} / {c.shown:g}{'' if c.match else ' *'}" for c in r.cells]
                for r in t.rows]
        click.echo(table(["row", "top-1 (published only)", "size KB", "energy",
                          "throughput"], body))
        for r in t.rows:
            if r.note:
                full = ", ".join(f"{c.column} {c.computed:.4g}" for c in r.cells)
                click.echo(f"* {r.network}: {r.note}; computed {full}")
        click.echo("\nHeadline percentages (each a ratio against the baseline row):")
        click.echo(table(["text", "printed", "from Tables 1-2", "accelsim", "follows"],
                         [[h.text, f"{h.printed:g}%", f"{h.from_table:.2f}%",
                           f"{h.computed:.2f}%", "yes" if h.consistent else "no"]
                          for h in t.headlines]))
        for h in t.headlines:
            click.echo(f"  {h.text}: {h.definition}")
        click.echo("'from Tables 1-2': the definition on the full paper's published row; "
                   "'follows': that value, rounded or truncated to the printed digits, is the "
                   "printed one. Top-1 accuracy needs the trained ImageNet networks: not "
                   "computed.")
        _echo_convention(t.convention, "paper")
    if unexpected:
        raise SystemExit(EXIT_CHECK_FAILED)


COMMANDS = [counts_cmd, compare_cmd, paper_cmd]
