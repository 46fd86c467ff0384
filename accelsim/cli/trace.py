"""``accelsim trace`` and ``accelsim make-workloads``: the PyTorch reference model's commands.

torch is imported only when a command runs; without it the command prints one line saying to
``pip install torch==2.13.0`` and exits with status 2.
"""
from __future__ import annotations

from pathlib import Path

import click

from accelsim import api
from accelsim.cli.common import guard_outputs, handle_errors
from accelsim.errors import InputError, Problem
from accelsim.workload import dumps_workload

_VARIANTS = ("baseline", "twn", "strassen", "hybrid", "wbin", "fbin", "hbn")


def parse_binarize(text: str, index: int = 0) -> tuple[str, str]:
    """``NAME=KIND`` -> ``(NAME, KIND)`` (KIND checked by ModelSpec). Raises
    :class:`InputError`."""
    name, eq, kind = text.partition("=")
    if not (name and eq and kind):
        raise InputError(Problem(f"--binarize[{index}]", text,
                                 "expected NAME=KIND with KIND fp, wbin or fbin, e.g. "
                                 "layer4.0.conv1=wbin"))
    return name, kind


def parse_override(text: str, index: int = 0) -> tuple[str, float, float]:
    """``NAME=ALPHA:RFACTOR`` -> ``(NAME, ALPHA, RFACTOR)``. Raises :class:`InputError`."""
    name, eq, rest = text.partition("=")
    alpha, colon, factor = rest.partition(":")
    try:
        if not (name and eq and colon):
            raise ValueError
        return name, float(alpha), float(factor)
    except ValueError:
        raise InputError(Problem(f"--override[{index}]", text,
                                 "expected NAME=ALPHA:RFACTOR, e.g. pw3=0.5:1.6")) from None


_MODEL_OPTIONS = (
    click.option("--width", type=float, default=None, help="Channel width multiplier [1.0]."),
    click.option("--resolution", type=int, default=None,
                 help="Input height = width in pixels [224; 32 for resnet20]."),
    click.option("--classes", type=int, default=None, help="Classes [1000; 10 for resnet20]."),
    click.option("--variant", default=None, help=f"One of {', '.join(_VARIANTS)} [baseline]."),
    click.option("--alpha", type=float, default=None,
                 help="Fraction of output channels kept fp in hybrid layers [0]."),
    click.option("--r-factor", "r_factor", type=float, default=None,
                 help="Hidden width r = R_FACTOR * strassenified channels [1]."),
    click.option("--patch", type=int, default=None, help="W_c patch size p [1]."),
    click.option("--groups", type=int, default=None, help="Groups of W_b [1]."),
    click.option("--fc-hidden", "fc_hidden", type=int, default=None,
                 help="Hidden width of the strassenified FC [its input width]."),
    click.option("--fp-bytes", "fp_bytes", type=click.Choice(["2", "4"]), default=None,
                 help="Bytes per stored full-precision value [2]."),
    click.option("--seed", type=int, default=None, help="Parameter/input seed [0]."),
    click.option("--override", "overrides", multiple=True, metavar="NAME=ALPHA:RFACTOR",
                 help="Per-layer alpha and r-factor of a strassenified layer (repeatable); "
                      "alpha 1 keeps the layer (a conv, or fc) full precision."),
    click.option("--binarize", "binarize", multiple=True, metavar="NAME=KIND",
                 help="Binary variants: layer NAME as fp, wbin or fbin (repeatable)."),
    click.option("--binary-last", "binary_last", is_flag=True, default=None,
                 help="Binary variants: binarize the last layer too [it stays fp]."),
    click.option("--word-bits", "word_bits", type=int, default=None,
                 help="Binary variants: word width of the recorded word ops, a power of two "
                      "[64]."),
)


def model_options(fn):
    """The reference-model options shared by ``trace`` and ``verify`` (defined once)."""
    for option in reversed(_MODEL_OPTIONS):
        fn = option(fn)
    return fn


def given_options(opts: dict) -> dict:
    """The model options the user set (``None`` means: the ModelSpec default)."""
    given = {k: v for k, v in opts.items()
             if v is not None and k not in ("overrides", "binarize")}
    if "fp_bytes" in given:
        given["fp_bytes"] = int(given["fp_bytes"])
    return given


def spec_from_options(model: str, opts: dict) -> api.ModelSpec:
    overrides = tuple(parse_override(o, i) for i, o in enumerate(opts.get("overrides", ())))
    binarize = tuple(parse_binarize(b, i) for i, b in enumerate(opts.get("binarize", ())))
    return api.ModelSpec(model, overrides=overrides, binarize=binarize, **given_options(opts))


def any_model_option(opts: dict) -> bool:
    """Whether the user gave any model option (they do not apply to files)."""
    return bool(given_options(opts) or opts.get("overrides") or opts.get("binarize"))


@click.command("trace", epilog="Examples:\n\n  accelsim trace mobilenet_v1 --width 0.5 --variant "
               "hybrid --alpha 0.375 --r-factor 1.6 --fc-hidden 768 -o hybrid.json\n\n"
               "  accelsim trace resnet20 --variant hybrid --alpha 0.25 --patch 2 --groups 4 "
               "--override layer3.0.conv1=0.5:2 -o r20.json\n\n"
               "  accelsim trace --checkpoint runs/st/model.pt -o st.json\n\n"
               "  accelsim trace resnet18 --variant hbn --binarize layer4.1.conv2=wbin -o hbn.json")
@click.argument("model", required=False)
@model_options
@click.option("--checkpoint", type=click.Path(path_type=Path), default=None,
              help="Trace the trained network of this exported checkpoint (`accelsim train`) "
                   "instead of MODEL.")
@click.option("-o", "--output", "output", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Workload JSON file to write ('-' for stdout).")
@handle_errors
def trace_cmd(model: str | None, checkpoint: Path | None, output: Path, **opts: object) -> None:
    """Build the reference MODEL (mobilenet_v1, resnet20, resnet18, alexnet, squeezenet1_0), run
    it once and write its layers as a workload file. MODEL may also be a model spec file
    written by `accelsim partition -o` (then no model options). With --checkpoint, trace a
    trained network instead: zero-skip counts from its trained ternary weights, its test
    accuracy in the provenance."""
    spec_file = Path(model) if model is not None and model.endswith(".json") else None
    if str(output) != "-":
        guard_outputs({"--output": output}, [checkpoint, spec_file])
    if checkpoint is not None:
        if model is not None or any_model_option(opts):
            raise click.UsageError("--checkpoint fixes the network: give no MODEL or model "
                                   "options with it")
        folder = Path(".") if str(output) == "-" else output.parent
        wl = api.trace_checkpoint(checkpoint, relative_to=folder)
    elif model is None:
        raise click.UsageError("give a MODEL (mobilenet_v1, resnet20, resnet18, alexnet, "
                               "squeezenet1_0), a model spec file, or --checkpoint FILE")
    elif model.endswith(".json"):
        if any_model_option(opts):
            raise click.UsageError("model options apply to a model name, not to a spec file")
        wl = api.trace(api.load_spec(model))
    else:
        wl = api.trace(spec_from_options(model, opts))
    if str(output) == "-":
        click.echo(dumps_workload(wl), nl=False)
        return
    api.save_workload(wl, output)
    click.echo(f"wrote {output} ({len(wl.layers)} layers, {wl.num_stages} stages)")


@click.command("make-workloads", epilog="Example: accelsim make-workloads --out workloads/")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("workloads"), show_default=True, help="Output directory.")
@handle_errors
def make_workloads_cmd(out: Path) -> None:
    """Regenerate every bundled workload (MobileNet-V1 0.5 rows of Gope et al., ResNets)."""
    guard_outputs({"--out": out}, [], allow_bundled=True)
    for path, size in api.make_workloads(out):
        click.echo(f"wrote {path} ({size:,} bytes)")


COMMANDS = [trace_cmd, make_workloads_cmd]
