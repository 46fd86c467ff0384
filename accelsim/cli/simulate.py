"""``accelsim simulate``: map a workload on a config and run the engine (or the bound)."""
from __future__ import annotations

from pathlib import Path

import click

from accelsim import api
from accelsim.choices import FusionPolicy, MappingObjective, MemoryPolicy
from accelsim.cli.common import (
    INPUT_PATH,
    echo_json,
    engine_option,
    guard_outputs,
    handle_errors,
    hw_option,
    json_option,
    out_option,
    schedule_option,
)
from accelsim.hw import hwconfig_to_dict
from accelsim.outputs import output_dir
from accelsim.results.tables import result_dict, summary_text, write_csv, write_json

_EPILOG = """\b
Examples:
  accelsim simulate workloads/mobilenet_v1_0.5_hybrid_a0.375_r1.6.json \\
      --hw hwconfigs/iso_area_45nm.yaml
  accelsim simulate workloads/mobilenet_v1_0.5_hybrid_a0.5_r1.json --hw hwconfigs/paper.yaml \\
      --engine analytic --schedule overlap
  accelsim simulate workloads/mobilenet_v1_0.5_baseline.json \\
      --hw hwconfigs/scalesim_ws32.yaml --json --out run/ --timeline run/trace.json
  accelsim simulate workloads/mobilenet_v1_0.5_twn.json --hw hwconfigs/iso_area_45nm.yaml \\
      --memory roundtrip
  accelsim simulate workloads/mobilenet_v1_0.5_baseline.json --hw hwconfigs/iso_area_45nm.yaml \\
      --fusion always
"""


@click.command("simulate", epilog=_EPILOG)
@click.argument("workload", type=INPUT_PATH)
@hw_option()
@engine_option(help_text="des: the discrete-event engine; analytic: its lower bound; "
               "sequential / balance: the op-count models.")
@schedule_option()
@click.option("--zero-skip", is_flag=True, help="Skip zero ternary weights (count and time).")
@json_option
@out_option("Write layers.csv and result.json (with the resolved config) here.")
@click.option("--timeline", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a Chrome trace-event JSON (open in ui.perfetto.dev); des only.")
@click.option("--memory", type=click.Choice(MemoryPolicy.values()), default=None,
              help="Where activations live between layers (overrides the config's "
              "mapping.memory): roundtrip through DRAM, or resident on chip when they fit.")
@click.option("--mapping-objective", "mapping_objective",
              type=click.Choice(MappingObjective.values()), default=None,
              help="What the per-layer mapping choices minimise (overrides the config's "
              "mapping.objective).")
@click.option("--fusion", type=click.Choice(FusionPolicy.values()), default=None,
              help="Run a layer and its sole consumer fused, chunk by chunk, their "
              "intermediate map kept on chip (overrides the config's mapping.fusion): off, "
              "auto (when the mapping objective says it wins) or always.")
@handle_errors
def simulate_cmd(workload: Path, hw: Path, engine: str, schedule: str, zero_skip: bool,
                 as_json: bool, out: Path | None, timeline: Path | None, memory: str | None,
                 mapping_objective: str | None, fusion: str | None) -> None:
    """Cycles, latency, energy and stalls of one inference, per layer and in total."""
    guard_outputs({"--timeline": timeline,
                   "--out/layers.csv": None if out is None else out / "layers.csv",
                   "--out/result.json": None if out is None else out / "result.json"},
                  [workload, hw])
    wl, cfg = api.load_workload(workload), api.load_hwconfig(hw)
    res = api.simulate(wl, cfg, engine=engine, schedule=schedule, zero_skip=zero_skip,
                       timeline=timeline, memory=memory, mapping_objective=mapping_objective,
                       fusion=fusion)
    if out is not None:  # created only now that the run succeeded
        with output_dir(out):
            write_csv(res, out / "layers.csv")
            write_json(res, out / "result.json",
                       {"config": hwconfig_to_dict(cfg), "workload_file": str(workload)})
    if as_json:
        echo_json(result_dict(res))
    else:
        click.echo(summary_text(res))


COMMANDS = [simulate_cmd]
