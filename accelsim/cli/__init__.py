"""The ``accelsim`` command line: a thin shell over :mod:`accelsim.api`.

Each submodule defines ``COMMANDS``, a list of click commands; every command calls the
:mod:`accelsim.api` function of the same name and only formats its answer.
"""
from __future__ import annotations

import importlib

import click

from accelsim import __version__

_MODULES = ("counts", "trace", "simulate", "verify", "dse", "interop", "train", "binary")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="accelsim")
def main() -> None:
    """accelsim: MAC/adder accelerators for ternary, StrassenNets and hybrid networks.

    \b
    Typical session (bundled files):
      accelsim report --out report/
      accelsim paper
      accelsim simulate workloads/mobilenet_v1_0.5_hybrid_a0.375_r1.6.json \\
          --hw hwconfigs/iso_area_45nm.yaml
      accelsim compare workloads/mobilenet_v1_0.5_*.json --hw hwconfigs/paper.yaml
    """


for _name in _MODULES:
    for _cmd in importlib.import_module(f"accelsim.cli.{_name}").COMMANDS:
        main.add_command(_cmd)
