"""``accelsim verify``: the numba kernels against the torch reference model, layer by layer."""
from __future__ import annotations

from pathlib import Path

import click

from accelsim import api
from accelsim.cli.common import EXIT_CHECK_FAILED, echo_json, handle_errors, json_option
from accelsim.verify import LayerCheck

_HEAD = (f"{'layer':<22} {'kind':<15} {'max abs err':>11} {'max rel err':>11} "
         f"{'err/bound':>9} {'fp64 e/b':>8} {'counts':>6} {'time s':>6}")


def _line(c: LayerCheck) -> str:
    counts = "ok" if all(s.ok for s in c.stages) and not any(
        p.startswith("stage") for p in c.problems) else "DIFF"
    return (f"{c.name:<22} {c.kind:<15} {c.max_abs_err:>11.3g} {c.max_rel_err:>11.3g} "
            f"{c.bound_ratio:>9.3g} {c.bound_ratio_fp64:>8.3g} {counts:>6} {c.seconds:>6.2f}")


@click.command("verify", epilog="Examples:\n\n"
               "  accelsim verify workloads/mobilenet_v1_0.5_hybrid_a0.375_r1.6.json\n\n"
               "  accelsim verify resnet20 --variant strassen --r-factor 1 --patch 2 --groups 4\n\n"
               "  accelsim verify resnet18 --variant strassen --patch 2 --groups 4 "
               "--resolution 112 --json")
@click.argument("target")
@click.option("--width", type=float, default=None, help="Channel width multiplier [1.0].")
@click.option("--resolution", type=int, default=None,
              help="Input height = width in pixels [224; 32 for resnet20].")
@click.option("--classes", type=int, default=None, help="Classes [1000; 10 for resnet20].")
@click.option("--variant", default=None, help="baseline, twn, strassen or hybrid [baseline].")
@click.option("--alpha", type=float, default=None,
              help="Fraction of output channels kept fp in hybrid layers [0].")
@click.option("--r-factor", "r_factor", type=float, default=None,
              help="Hidden width r = R_FACTOR * strassenified channels [1].")
@click.option("--patch", type=int, default=None, help="W_c patch size p [1].")
@click.option("--groups", type=int, default=None, help="Groups of W_b [1].")
@click.option("--fc-hidden", "fc_hidden", type=int, default=None,
              help="Hidden width of the strassenified FC [its input width].")
@click.option("--fp-bytes", "fp_bytes", type=click.Choice(["2", "4"]), default=None,
              help="Bytes per stored full-precision value [2].")
@click.option("--seed", type=int, default=None, help="Parameter/input seed [0].")
@click.option("--override", "overrides", multiple=True, metavar="NAME=ALPHA:RFACTOR",
              help="Per-layer alpha and r-factor of a strassenified conv (repeatable).")
@json_option
@handle_errors
def verify_cmd(target: str, width: float | None, resolution: int | None, classes: int | None,
               variant: str | None, alpha: float | None, r_factor: float | None,
               patch: int | None, groups: int | None, fc_hidden: int | None,
               fp_bytes: str | None, seed: int | None, overrides: tuple[str, ...],
               as_json: bool) -> None:
    """Run the reference network TARGET layer by layer on the kernels and check outputs and
    op counts. TARGET is a workload file written by `accelsim trace` (the model is rebuilt from
    its provenance) or a model name (mobilenet_v1, resnet20, resnet18) with the options of
    `accelsim trace`. Exit status 1 names every layer that does not match."""
    from accelsim.cli.trace import parse_override

    given = {"width": width, "resolution": resolution, "classes": classes, "variant": variant,
             "alpha": alpha, "r_factor": r_factor, "patch": patch, "groups": groups,
             "fc_hidden": fc_hidden, "fp_bytes": None if fp_bytes is None else int(fp_bytes),
             "seed": seed}
    given = {k: v for k, v in given.items() if v is not None}
    if target.endswith(".json") or Path(target).is_file():
        if given or overrides:
            raise click.UsageError("model options apply to a model name, not to a workload "
                                   "file (the file's provenance fixes them)")
        source: object = Path(target)
    else:
        source = api.ModelSpec(target, overrides=tuple(
            parse_override(o, i) for i, o in enumerate(overrides)), **given)
    if not as_json:
        click.echo(_HEAD)
    report = api.verify(source, on_layer=None if as_json else lambda c: click.echo(_line(c)))
    if as_json:
        echo_json(report.to_dict())
    else:
        n = len(report.layers)
        verdict = "all match" if report.ok else f"{len(report.failures)} failing"
        click.echo(f"{report.workload}: {n} layers verified in {report.seconds:.1f} s, "
                   f"{verdict}")
    if not report.ok:
        for problem in report.problems:
            click.echo(f"verify: {problem}", err=True)
        for layer in report.failures:
            for problem in layer.problems:
                click.echo(f"verify: layer {layer.name}: {problem}", err=True)
        raise SystemExit(EXIT_CHECK_FAILED)


COMMANDS = [verify_cmd]
