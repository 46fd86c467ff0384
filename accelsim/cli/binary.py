"""``accelsim partition`` and the HBN views of ``accelsim paper`` / ``accelsim counts``."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from accelsim import api
from accelsim.cli.common import (
    EXIT_CHECK_FAILED,
    INPUT_PATH,
    echo_json,
    guard_outputs,
    handle_errors,
    json_option,
)
from accelsim.outputs import atomic_write
from accelsim.results.text import table

_HEADERS = ("FPrec params", "Bin params", "FPrec FLOPs", "WBin", "FBin", "Hybrid")


def print_hbn_table(workload_dir: Path, as_json: bool) -> None:
    """``accelsim paper --table hbn2018``: the table, published / computed, '*' outside the
    tolerance; exit status 1 if any cell is."""
    rows = api.hbn_paper_table(workload_dir)
    cells = [c for r in rows for c in r.cells if c.published is not None]
    bad = [f"{r.label}.{c.column}" for r in rows for c in r.cells if not c.match]
    worst = max(cells, key=lambda c: c.deviation)
    tight = max(cells, key=lambda c: c.deviation / c.tolerance)
    if as_json:
        echo_json({"rows": [{"label": r.label, "layer": r.layer, "match": r.match,
                             "cells": [dict(asdict(c), deviation=c.deviation, exact=c.exact,
                                            match=c.match) for c in r.cells]} for r in rows],
                   "cells": len(cells), "within_tolerance": len(cells) - len(bad),
                   "exact": sum(c.exact for c in cells), "mismatches": bad})
    else:
        click.echo("Chakraborty et al. 2018, ResNet-18 (params in 0.1 M, FLOPs = MACs in 10 M); "
                   "published / computed; rows matched to layers by shape, in order")
        body = []
        for r in rows:
            out = [r.label, r.layer]
            for c in r.cells:
                shown = f"{c.computed:.{c.digits}f}"
                flag = "" if c.match else " *"
                out.append(f"{c.published:.{c.digits}f} / {shown}{flag}")
            body.append(out)
        click.echo(table(["row", "layer", *_HEADERS], body))
        click.echo(f"{len(cells) - len(bad)}/{len(cells)} cells within tolerance "
                   f"({sum(c.exact for c in cells)} equal at the printed digits); largest "
                   f"deviation {worst.deviation:.4f} (tolerance {worst.tolerance:.4f}), largest "
                   f"share of its tolerance {tight.deviation / tight.tolerance:.2f}. WBin, FBin "
                   "and Hybrid use the published repeats, rounded to 0.01: their tolerance "
                   "includes 0.005 x FPrec FLOPs (docs/accounting.md).")
        conv = api.load_convention("hbn2018")
        click.echo(f"{conv.summary()}.\n  {conv.description}")
    if bad:
        raise SystemExit(EXIT_CHECK_FAILED)


def print_hbn_counts(workload: Path, as_json: bool) -> None:
    """``accelsim counts --convention hbn2018``: per-layer params and FLOPs."""
    data = api.hbn_counts(api.load_workload(workload))
    if as_json:
        echo_json(data)
        return
    click.echo(f"{data['workload']} (hbn2018 accounting: binary params / 32, FBin = WBin / 58, "
               "repeats from the traced weights)")
    click.echo(table(["layer", "kind", "FPrec params", "params", "FPrec MACs", "repeats",
                      "FLOPs"],
                     [[r["name"], r["kind"], r["fprec_params"], r["params"], r["fprec_flops"],
                       r["repeats"], r["flops"]] for r in data["layers"]], 3))
    t = data["totals"]
    click.echo(f"total: params {t['params']:,.0f} (FPrec {t['fprec_params']:,})  FLOPs "
               f"{t['flops']:,.0f} (FPrec {t['fprec_flops']:,})")


@click.command("partition", epilog="Example: accelsim train resnet20 --width 0.5 --resolution "
               "16 --variant fbin --optimizer adam --lr 0.01,0.01,0.01 --epochs 10,0,0 --run "
               "fbin_run && accelsim partition fbin_run/model.pt --ratio 0.3 --data digits "
               "-o hybrid.json && accelsim trace hybrid.json -o hybrid_wl.json")
@click.argument("checkpoint", type=INPUT_PATH)
@click.option("--ratio", type=float, required=True,
              help="Hybridization ratio R in (0, 1): the largest share of layers made "
                   "WeightBinConv.")
@click.option("--gamma", type=float, default=None,
              help="Weight of the cost term gamma / FLOPs [mean(E) / mean(1 / FLOPs)].")
@click.option("--images", type=int, default=16, show_default=True,
              help="Images the errors are averaged over: the first of --data's training "
                   "images, or seeded random ones (without --inputs or --data).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of those images.")
@click.option("--inputs", type=INPUT_PATH, default=None,
              help=".npy array (N, 3, H, W) of images to average the errors over instead.")
@click.option("--data", default=None, metavar="SOURCE",
              help="Average over training images of this data source of accelsim train "
                   "(digits, cifar10:DIR, imagefolder:DIR), as training normalised them.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the hybrid model spec here (input of accelsim trace).")
@json_option
@handle_errors
def partition_cmd(checkpoint: Path, ratio: float, gamma: float | None, images: int, seed: int,
                  inputs: Path | None, data: str | None, output: Path | None,
                  as_json: bool) -> None:
    """Choose the WeightBinConv layers of a hybrid binary network (Chakraborty et al. 2018)
    from a trained fully binarized (fbin) CHECKPOINT (the model.pt `accelsim train` exports):
    per-layer binarization error and FLOPs,
    score E + gamma / FLOPs, K-means on the scores with more and more clusters until the
    highest-score cluster holds at most a share R of the layers."""
    guard_outputs({"--output": output}, [checkpoint, inputs])
    result = api.partition(checkpoint, ratio=ratio, gamma=gamma, images=images, seed=seed,
                           inputs=inputs, data=data)
    assert result.spec is not None
    if output is not None:
        atomic_write(output, api.dumps_spec(result.spec, {
            "from": str(checkpoint), "ratio": result.ratio, "gamma": result.gamma,
            "clusters": result.clusters, "images": result.images,
            **({"data": data} if data is not None else {})}))
    if as_json:
        echo_json(result.to_dict())
        return
    click.echo(f"{result.spec.model}: {len(result.layers)} FullBinConv layers, errors over "
               f"{result.images} images, gamma {result.gamma:.4g}, ratio {result.ratio:g}")
    click.echo(table(["layer", "error E", "FLOPs NF", "score M", "cluster"],
                     [[r.name, r.error, r.flops, r.score, r.cluster] for r in result.layers],
                     4))
    for n, k, share in result.history:
        click.echo(f"N = {n}: highest-score cluster holds {k} layers ({share:.3f} of "
                   f"{len(result.layers)}){'  <= ratio: stop' if share <= result.ratio else ''}")
    if result.wbin:
        click.echo(f"WeightBinConv: {', '.join(result.wbin)}")
    else:
        click.echo("WeightBinConv: none (no cluster count gives a small enough top cluster)")
    click.echo(f"trace it: {trace_command(result.spec)} -o WORKLOAD.json" if output is None
               else f"wrote {output}: accelsim trace {output} -o WORKLOAD.json")


def trace_command(spec: api.ModelSpec) -> str:
    """The ``accelsim trace`` command line that builds ``spec`` (binary-family fields)."""
    default = api.ModelSpec(spec.model)
    parts = ["accelsim trace", spec.model]
    for field in ("width", "resolution", "classes", "variant", "fp_bytes", "seed", "word_bits"):
        value = getattr(spec, field)
        if value != getattr(default, field):
            parts.append(f"--{field.replace('_', '-')} {value:g}" if isinstance(value, float)
                         else f"--{field.replace('_', '-')} {value}")
    if spec.binary_last:
        parts.append("--binary-last")
    parts += [f"--binarize {n}={k}" for n, k in spec.binarize]
    return " ".join(parts)


COMMANDS = [partition_cmd]
