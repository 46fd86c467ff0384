"""``accelsim verify``: the numba kernels against the torch reference model, layer by layer."""
from __future__ import annotations

from pathlib import Path

import click

from accelsim import api
from accelsim.cli.common import EXIT_CHECK_FAILED, echo_json, handle_errors, json_option
from accelsim.cli.trace import any_model_option, model_options, spec_from_options
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
@model_options
@json_option
@handle_errors
def verify_cmd(target: str, as_json: bool, **opts: object) -> None:
    """Run the reference network TARGET layer by layer on the kernels and check outputs and
    op counts. TARGET is a workload file written by `accelsim trace` (the model is rebuilt from
    its provenance) or a model name (mobilenet_v1, resnet20, resnet18, alexnet, squeezenet1_0)
    with the options of `accelsim trace`. FullBinConv layers must also reproduce torch's binary
    dot products exactly. Exit status 1 names every layer that does not match."""
    if target.endswith(".json") or Path(target).is_file():
        if any_model_option(opts):
            raise click.UsageError("model options apply to a model name, not to a workload "
                                   "file (the file's provenance fixes them)")
        source: object = Path(target)
    else:
        source = spec_from_options(target, opts)
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
