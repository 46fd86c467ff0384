"""``accelsim import-scalesim`` / ``export-scalesim``: SCALE-Sim topology CSV interchange."""
from __future__ import annotations

from pathlib import Path

import click

from accelsim import api
from accelsim.cli.common import INPUT_PATH, handle_errors
from accelsim.workload import dumps_workload

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command("import-scalesim", epilog="""\b
Example:
  accelsim import-scalesim tests/golden/scalesim_mobilenet_v1_0.5_topology.csv -o mbv1.json
  accelsim counts mbv1.json""")
@click.argument("csv_path", type=INPUT_PATH)
@click.option("-o", "--out", type=_FILE, default=None,
              help="Workload JSON to write (default: print it).")
@click.option("--name", default=None, help="Workload name (default: the CSV's file stem).")
@click.option("--depthwise", type=click.Choice(["native", "split"]), default="native",
              show_default=True,
              help="DP rows as one depthwise layer, or split per channel as SCALE-Sim runs them.")
@click.option("--no-bias", is_flag=True,
              help="Leave out the per-output bias adds (SCALE-Sim models none).")
@handle_errors
def import_scalesim(csv_path: Path, out: Path | None, name: str | None, depthwise: str,
                    no_bias: bool) -> None:
    """Read a SCALE-Sim topology CSV as a baseline fp16 workload.

    IFMAP sizes are taken as SCALE-Sim's padded sizes (padding 0); rows named DP... are depthwise;
    a 1x1 filter on a 1x1 IFMAP is a linear layer.
    """
    wl = api.import_scalesim(csv_path, out, name=name, bias=not no_bias, depthwise=depthwise)
    if out is None:
        click.echo(dumps_workload(wl), nl=False)
    else:
        macs = sum(s.ops_dense for layer in wl.layers for s in layer.stages if s.op == "mac")
        click.echo(f"{out}: {len(wl.layers)} layers, {macs:,} MACs")


@click.command("export-scalesim", epilog="""\b
Example:
  accelsim export-scalesim mbv1.json -o mbv1_scalesim.csv""")
@click.argument("workload", type=INPUT_PATH)
@click.option("-o", "--out", type=_FILE, default=None, help="CSV to write (default: print it).")
@handle_errors
def export_scalesim(workload: Path, out: Path | None) -> None:
    """Write a baseline workload as a SCALE-Sim topology CSV.

    IFMAP sizes are padded so SCALE-Sim computes the workload's own output sizes; depthwise
    layers become DP rows; eltwise layers are left out; ternary/Strassen/hybrid layers are refused.
    """
    text = api.export_scalesim(workload, out)
    if out is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"{out}: {len(text.splitlines()) - 1} layers")


COMMANDS = [import_scalesim, export_scalesim]
