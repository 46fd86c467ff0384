"""``accelsim allocate``, ``sweep``, ``pareto``, ``plot``, ``report``: design-space exploration."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from accelsim import api
from accelsim.choices import Model
from accelsim.cli.common import (
    INPUT_PATH,
    Interrupted,
    command_line,
    convention_option,
    echo_json,
    engine_option,
    guard_outputs,
    handle_errors,
    hw_option,
    jobs_option,
    json_option,
    objective_option,
    schedule_option,
)
from accelsim.dse.pareto import swept_fields
from accelsim.dse.sweep import SweepInterrupted
from accelsim.outputs import output_dir
from accelsim.results.text import table

_FILE = click.Path(dir_okay=False, path_type=Path)
_DIR = click.Path(file_okay=False, path_type=Path)
_IN = INPUT_PATH


def _baseline_option(fn):
    return click.option("--baseline", type=_IN, default=None,
                        help="Baseline workload: normalise to it on a same-area MAC-only array "
                             "(the paper's normalisation).")(fn)


def _maybe(path: Path | None):
    return api.load_workload(path) if path is not None else None


@click.command("allocate", epilog="Example: accelsim allocate workloads/mobilenet_v1_0.5_hybrid_"
               "a0.375_r1.6.json --hw hwconfigs/paper.yaml --baseline workloads/mobilenet_v1_0.5_"
               "baseline.json")
@click.argument("workload", type=_IN)
@hw_option()
@click.option("--area", "area", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Area budget in um2 [the config's area_budget_um2].")
@objective_option
@engine_option((Model.ANALYTIC, Model.DES), Model.ANALYTIC,
               "analytic: the op-count optima; des: also a local search with the "
               "discrete-event engine around the analytic optimum.")
@schedule_option("DES schedule (with --engine des).")
@convention_option("Op accounting of the balance bound.")
@click.option("--zero-skip", is_flag=True, help="Skip zero ternary weights.")
@_baseline_option
@json_option
@handle_errors
def allocate_cmd(workload: Path, hw: Path, area: float | None, objective: str, engine: str,
                 schedule: str, convention: str, zero_skip: bool, baseline: Path | None,
                 as_json: bool) -> None:
    """How many MAC units, adders, multipliers and binary lanes to build in the area budget."""
    rep = api.allocate_report(api.load_workload(workload), api.load_hwconfig(hw), area_um2=area,
                              objective=objective, engine=engine, schedule=schedule,
                              baseline=_maybe(baseline), zero_skip=zero_skip,
                              convention=convention)
    if as_json:
        echo_json(asdict(rep))
        return
    click.echo(format_allocation(rep))


def format_allocation(rep) -> str:
    """The terminal form of an :class:`~accelsim.dse.allocate.AllocationReport`."""
    norm = rep.baseline is not None
    lines = [f"{rep.workload} on {rep.hw}: area {rep.area_um2:,.0f} um2, objective "
             f"{rep.objective}" + (f", normalised to {rep.baseline} on a MAC-only array"
                                   if norm else "")]
    bound = f"{rep.bound_throughput:.3f} x" if norm else f"{rep.bound_cycles:,.0f} cycles"
    binary = any(c.counts.get("xnor", 0) for c in rep.choices) or rep.bound_binary_share > 0
    split = f", binary share {rep.bound_binary_share:.3f}" if binary else ""
    lines.append(f"paper balance bound (whole network, fractional split): MAC share "
                 f"{rep.bound_mac_share:.3f}{split}, throughput {bound}")
    head = ["chosen by", "MACs", "adders", "muls", *(["binary lanes"] if binary else []),
            "MAC share", *(["binary share"] if binary else []), "balance", "sequential", "DES",
            "energy uJ"]
    rows = []
    for c in rep.choices:
        if norm:
            vals = [c.thr_balance, c.thr_sequential, c.thr_des]
        else:
            vals = [c.balance_cycles, c.sequential_cycles, c.des_cycles]
        lanes = [c.counts.get("xnor", 0)] if binary else []
        shares = [c.mac_share, *([c.binary_share] if binary else [])]
        rows.append([c.chosen_by, c.counts["mac"], c.counts["add"], c.counts["mul"], *lanes,
                     *shares, *vals, c.energy_pj / 1e6])
    lines.append(table(head, rows, 3))
    lines.append(("throughput (x baseline)" if norm else "cycles") + ": balance = whole network "
                 "balanced (the paper's model); sequential = layers one after another on this "
                 "split; DES = discrete-event engine" +
                 (f" ({rep.schedule} schedule, {rep.des_runs} runs)" if rep.des_runs else "") +
                 "; energy: operations only for the analytic rows, everything (SRAM, DRAM, "
                 "leakage) for the DES row")
    last = rep.choices[-1]
    lines.append("")
    lines.append(table(["layer", "ideal MAC share", f"chosen ({last.chosen_by})"],
                       [[n, s, last.mac_share] for n, s in rep.layer_mac_share], 3))
    return "\n".join(lines)


@click.command("sweep", epilog="Examples (spec format: docs/dse.md):\n\n"
               "  accelsim sweep split.yaml --jobs 2"
               "\n\n  accelsim sweep spec.yaml --store results/s1 --dask tcp://127.0.0.1:8786 "
               "--export s1.csv")
@click.argument("spec", type=_IN)
@click.option("--store", type=_DIR, default=None, help="Result store directory [spec's store].")
@jobs_option
@click.option("--dask", "dask", default=None, metavar="ADDRESS",
              help="Run on an existing Dask scheduler instead of local processes.")
@click.option("--export", type=_FILE, default=None,
              help="Afterwards write the whole store as CSV sorted by key (canonical form).")
@click.option("--chunk", type=click.IntRange(min=1), default=None,
              help="Points per task [2048 on the array path, 64 other op-count points, "
                   "8 analytic, 1 DES].")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Progress bar on stderr.")
@json_option
@handle_errors
def sweep_cmd(spec: Path, store: Path | None, jobs: int, dask: str | None, export: Path | None,
              chunk: int | None, progress: bool, as_json: bool) -> None:
    """Evaluate every point of SPEC into a resumable result store (finished points are kept
    and skipped on rerun; a killed sweep loses no finished point)."""
    sizes = dict.fromkeys(("vector", "opcount", "analytic", "des"), chunk) if chunk else None
    try:
        s = api.sweep(spec, store, jobs=jobs, dask=dask, progress=progress, export=export,
                      chunk=sizes)
    except SweepInterrupted as exc:
        again = command_line("accelsim", "sweep", spec, "--store", exc.store,
                             *(("--jobs", jobs) if jobs > 1 else ()),
                             *(("--dask", dask) if dask else ()),
                             *(("--chunk", chunk) if chunk else ()),
                             *(("--export", export) if export else ()))
        raise Interrupted(f"{exc} (the store is consistent)\nresume with: {again}") from None
    if as_json:
        echo_json({**asdict(s), "points_per_s": s.points_per_s})
        return
    click.echo(f"{s.total:,} points: {s.skipped:,} already in {s.store}, {s.computed:,} computed "
               f"({s.errors:,} with an error) in {s.elapsed_s:.1f} s = {s.points_per_s:,.0f} "
               f"points/s [{s.executor}, {s.tasks} tasks]")
    if export is not None:
        click.echo(f"wrote {export}")


@click.command("pareto", epilog="Example: accelsim pareto results/mobilenet_split --baseline "
               "workloads/mobilenet_v1_0.5_baseline.json")
@click.argument("store", type=_IN)
@_baseline_option
@click.option("--by", "by", multiple=True, help="One front per value of this column "
              "(repeatable), e.g. --by workload.")
@click.option("--engine", "engines", multiple=True, help="Only rows of this engine.")
@json_option
@handle_errors
def pareto_cmd(store: Path, baseline: Path | None, by: tuple[str, ...],
               engines: tuple[str, ...], as_json: bool) -> None:
    """Energy-vs-throughput Pareto front of a sweep's results."""
    front = api.pareto(store, baseline=_maybe(baseline), by=by, engines=engines)
    thr, en = ("throughput_norm", "energy_norm") if baseline else ("inferences_per_s",
                                                                   "energy_pj")
    fields = swept_fields(front)
    cols = ["key", "workload", "hw", "engine", "schedule", *fields, "mac_units",
            "adder_units", thr, en]
    records = front[cols].astype(object).where(front[cols].notna(), None).to_dict("records")
    if as_json:
        echo_json(records)
        return
    click.echo(table(["workload", "engine", "schedule", *fields, "MACs", "adders",
                      "throughput" + (" (x)" if baseline else " (1/s)"),
                      "energy" + (" (x)" if baseline else " (uJ)")],
                     [[r["workload"], r["engine"], r["schedule"],
                       *("-" if r[f] is None else r[f] for f in fields),
                       r["mac_units"], r["adder_units"], r[thr],
                       r[en] if baseline else r[en] / 1e6] for r in records], 3))
    click.echo(f"{len(front)} points on the front")


@click.group("plot")
def plot_group() -> None:
    """Figures: fraction, pareto (from a sweep store), layers (one run), gantt (a trace)."""


def _out_file(fn):
    return click.option("--out", "out", type=_FILE, required=True,
                        help="Figure file: .png, .svg or .pdf.")(fn)


@plot_group.command("fraction", epilog="Example: accelsim plot fraction results/split "
                    "--baseline workloads/mobilenet_v1_0.5_baseline.json --out fraction.png")
@click.argument("store", type=_IN)
@_baseline_option
@click.option("--engine", "engines", multiple=True, help="Only rows of this engine.")
@click.option("--by", "by", multiple=True, metavar="FIELD",
              help="One panel per value of this swept field (repeatable), e.g. --by "
                   "dram.bandwidth_bytes_per_cycle; needed for every field the store varies "
                   "besides mac_fraction.")
@_out_file
@handle_errors
def plot_fraction_cmd(store: Path, baseline: Path | None, engines: tuple[str, ...],
                      by: tuple[str, ...], out: Path) -> None:
    """Throughput and energy vs MAC share per workload, optimum marked."""
    guard_outputs({"--out": out}, [baseline])
    path = api.plot_fraction(store, out, baseline=_maybe(baseline), engines=engines, by=by)
    click.echo(f"wrote {path}")


@plot_group.command("pareto", epilog="Example: accelsim plot pareto results/split --baseline "
                    "workloads/mobilenet_v1_0.5_baseline.json --out pareto.png")
@click.argument("store", type=_IN)
@_baseline_option
@click.option("--engine", "engines", multiple=True, help="Only rows of this engine.")
@click.option("--accuracy", "accuracy", type=_IN, multiple=True, metavar="WORKLOADS",
              help="Workload file or folder (repeatable): plot the test accuracy these "
                   "trained workloads carry against energy and throughput instead, for the "
                   "rows swept with them; rows without one are left out with a warning.")
@_out_file
@handle_errors
def plot_pareto_cmd(store: Path, baseline: Path | None, engines: tuple[str, ...],
                    accuracy: tuple[Path, ...], out: Path) -> None:
    """Energy vs throughput with the Pareto front, and the paper's points where comparable
    (--baseline, balance rows, the paper's cost table; otherwise a warning says why not).
    With --accuracy: accuracy vs energy and vs throughput, Pareto points large."""
    guard_outputs({"--out": out}, [baseline, *accuracy])
    path = api.plot_pareto(store, out, baseline=_maybe(baseline), engines=engines,
                           accuracy=accuracy)
    click.echo(f"wrote {path}")


@plot_group.command("layers", epilog="Example: accelsim plot layers workloads/mobilenet_v1_0.5_"
                    "twn.json --hw hwconfigs/iso_area_45nm.yaml --out layers.png")
@click.argument("workload", type=_IN)
@hw_option()
@engine_option((Model.DES, Model.ANALYTIC, Model.SEQUENTIAL))
@schedule_option()
@click.option("--zero-skip", is_flag=True)
@_out_file
@handle_errors
def plot_layers_cmd(workload: Path, hw: Path, engine: str, schedule: str, zero_skip: bool,
                    out: Path) -> None:
    """Per-layer stacked cycles and energy of one simulation."""
    guard_outputs({"--out": out}, [workload, hw])
    path = api.plot_layers(api.load_workload(workload), api.load_hwconfig(hw), out,
                           engine=engine, schedule=schedule, zero_skip=zero_skip)
    click.echo(f"wrote {path}")


@plot_group.command("gantt", epilog="Example: accelsim plot gantt timeline.json --out gantt.png")
@click.argument("trace", type=_IN)
@_out_file
@handle_errors
def plot_gantt_cmd(trace: Path, out: Path) -> None:
    """Gantt view of a DES timeline (Chrome trace JSON)."""
    guard_outputs({"--out": out}, [trace])
    click.echo(f"wrote {api.plot_gantt(trace, out)}")


@click.command("report", epilog="Example: accelsim report --out report/")
@click.option("--out", "out", type=_DIR, default=Path("report"), show_default=True)
@click.option("--workloads", "workload_dir", type=_DIR, default=Path("workloads"),
              show_default=True, help="Folder of the bundled workloads.")
@click.option("--hwconfigs", "hw_dir", type=_DIR, default=Path("hwconfigs"), show_default=True,
              help="Folder of the bundled configs (paper.yaml, iso_area_45nm.yaml).")
@click.option("--jobs", "jobs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Local worker processes for the DES runs.")
@click.option("--des/--no-des", default=True, show_default=True,
              help="--no-des: op-count models only (seconds instead of ~half a minute).")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Progress bars on stderr.")
@handle_errors
def report_cmd(out: Path, workload_dir: Path, hw_dir: Path, jobs: int, des: bool,
               progress: bool) -> None:
    """Simulate the bundled MobileNets on the bundled configs (balance bound, sequential,
    DES under both schedules); write tables (CSV, markdown) and figures into OUT. Every run is
    kept in the result store OUT/store: a report killed midway resumes where it stopped."""
    try:
        with output_dir(out, keep=lambda: any((out / "store").glob("part-*.parquet"))):
            rep = api.report(out, workload_dir=workload_dir, hw_dir=hw_dir, jobs=jobs, des=des,
                             progress=progress)
    except SweepInterrupted as exc:
        again = command_line("accelsim", "report", "--out", out,
                             *(("--workloads", workload_dir)
                               if workload_dir != Path("workloads") else ()),
                             *(("--hwconfigs", hw_dir) if hw_dir != Path("hwconfigs") else ()),
                             *(("--jobs", jobs) if jobs != 2 else ()),
                             *(() if des else ("--no-des",)))
        raise Interrupted(f"{exc} (the report's store is consistent)\nresume with: {again}") \
            from None
    click.echo(rep.markdown)
    click.echo(f"\nwrote {len(rep.files)} files into {out} in {rep.elapsed_s:.1f} s")


COMMANDS = [allocate_cmd, sweep_cmd, pareto_cmd, plot_group, report_cmd]
