"""The ``accelsim`` command line: a thin shell over :mod:`accelsim.api`.

Each submodule defines ``COMMANDS``, a list of click commands; every command calls the
:mod:`accelsim.api` function of the same name and only formats its answer.
"""
from __future__ import annotations

import importlib
from typing import Any

import click

from accelsim import __version__
from accelsim.cli.common import InternalError, Interrupted, debugging, internal_line

_MODULES = ("counts", "trace", "simulate", "verify", "dse", "interop", "train", "binary")


class _Main(click.Group):
    """The command group: what escapes a command's own error handling still ends as one line:
    Ctrl-C with exit status 130 (not click's "Aborted!" with 1), any other exception as an
    internal error with exit status 1 (its traceback under ``--debug``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise Interrupted("interrupted (Ctrl-C)") from None
        except Exception as exc:
            if debugging():
                raise
            raise InternalError(internal_line(exc)) from None


@click.group(cls=_Main,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="accelsim")
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error (exit "
              "status 1) instead of one line; also ACCELSIM_DEBUG=1.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """accelsim: MAC/adder accelerators for ternary, StrassenNets and hybrid networks.

    \b
    Typical session (bundled files):
      accelsim report --out report/
      accelsim paper
      accelsim simulate workloads/mobilenet_v1_0.5_hybrid_a0.375_r1.6.json \\
          --hw hwconfigs/iso_area_45nm.yaml
      accelsim compare workloads/mobilenet_v1_0.5_*.json --hw hwconfigs/paper.yaml

    \b
    Exit status: 0 done; 2 bad input (one "error: FILE: FIELD: VALUE (why)" line per
    problem); 1 an internal error or a failed check; 130 interrupted (Ctrl-C).
    """
    ctx.obj = {"debug": debug}


for _name in _MODULES:
    for _cmd in importlib.import_module(f"accelsim.cli.{_name}").COMMANDS:
        main.add_command(_cmd)
