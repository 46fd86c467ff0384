"""``accelsim train``, ``rediscover-strassen``, ``sensitivity`` and ``plot sensitivity``: the
training side of the reference model (docs/training.md). torch is imported only when a command
runs."""
from __future__ import annotations

import sys
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
from accelsim.cli.dse import plot_group
from accelsim.cli.trace import given_options, model_options, spec_from_options
from accelsim.errors import InputError, Problem
from accelsim.outputs import atomic_write
from accelsim.reference.schedule import PHASES, Phase


def _numbers(text: str, name: str, kind: type, count: int | None = None) -> list:
    """``"a,b,c"`` -> list of ``kind``. Raises :class:`InputError` naming the option."""
    try:
        values = [kind(v) for v in text.split(",")]
    except ValueError:
        raise InputError(Problem(name, text, f"must be comma-separated {kind.__name__}s"))\
            from None
    if count is not None and len(values) != count:
        raise InputError(Problem(name, text, f"must list {count} values"))
    return values


def _phases(epochs: str, lr: str, schedule: str, warmup: int | None,
            milestones: tuple[str, ...]) -> tuple[Phase, ...]:
    e = _numbers(epochs, "--epochs", int, 3)
    warmup = (1 if e[0] > 1 else 0) if warmup is None else warmup
    r = _numbers(lr, "--lr", float, 3)
    steps: dict[str, tuple[int, ...]] = {}
    for i, item in enumerate(milestones):
        name, colon, rest = item.partition(":")
        if not colon or name not in PHASES:
            raise InputError(Problem(f"--milestones[{i}]", item, "expected PHASE:E1,E2 with "
                                     f"PHASE one of {', '.join(PHASES)}"))
        steps[name] = tuple(_numbers(rest, f"--milestones[{i}]", int))
    return tuple(Phase(name, e[k], r[k], schedule, warmup if name == "fp" else 0,
                       steps.get(name, ())) for k, name in enumerate(PHASES))


@click.command("train", epilog="Examples:\n\n"
               "  accelsim train resnet20 --width 0.5 --resolution 16 --variant strassen "
               "--run runs/st\n\n"
               "  accelsim train resnet20 --width 0.5 --resolution 16 --variant hybrid "
               "--alpha 0.5 --teacher runs/base/model.pt --run runs/hy\n\n"
               "  accelsim train resnet20 --width 0.5 --resolution 16 --variant fbin "
               "--optimizer adam --lr 0.01,0.01,0.01 --epochs 20,0,0 --run runs/fbin\n\n"
               "  accelsim train resnet20 --data cifar10 --data-dir cifar-10-batches-bin "
               "--epochs 250,40,10 "
               "--lr 0.1,0.01,0.001 --schedule step --milestones fp:150,200 "
               "--milestones quantize:10,20,30 --run runs/c10")
@click.argument("model")
@model_options
@click.option("--data", type=click.Choice(["digits", "cifar10", "imagefolder"]),
              default="digits", show_default=True,
              help="digits (ships with scikit-learn), cifar10 (binary batches in --data-dir) "
                   "or imagefolder (--data-dir/train/<class>/, --data-dir/val/<class>/).")
@click.option("--data-dir", "data_dir", type=INPUT_PATH, default=None,
              help="Folder of the cifar10 or imagefolder data (nothing is downloaded).")
@click.option("--run", "run_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Run folder: checkpoint.pt after every epoch, model.pt at "
                                  "the end.")
@click.option("--resume", is_flag=True, help="Continue the run in --run from its last "
                                             "checkpoint.")
@click.option("--export", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the exported (folded) checkpoint [RUN/model.pt].")
@click.option("--epochs", default="30,10,5", show_default=True,
              help="Epochs of phases fp, quantize, freeze (a baseline or binary network runs "
                   "only fp).")
@click.option("--lr", default="0.1,0.01,0.001", show_default=True,
              help="Peak learning rate of each phase.")
@click.option("--schedule", type=click.Choice(["cosine", "step"]), default="cosine",
              show_default=True, help="Learning-rate schedule within each phase.")
@click.option("--warmup", type=click.IntRange(min=0), default=None,
              help="Linear warm-up epochs at the start of phase fp [1, or 0 for a 1-epoch "
                   "phase].")
@click.option("--milestones", multiple=True, metavar="PHASE:E1,E2",
              help="Step schedule: epochs (within PHASE) at which lr is multiplied by 0.1.")
@click.option("--optimizer", type=click.Choice(["sgd", "adam"]), default="sgd",
              show_default=True, help="SGD (--momentum, --nesterov) or Adam (as XNOR-Net trains "
                                      "binary networks); both with --weight-decay.")
@click.option("--batch-size", "batch_size", type=int, default=64, show_default=True)
@click.option("--momentum", type=float, default=0.9, show_default=True)
@click.option("--nesterov/--no-nesterov", default=True, show_default=True)
@click.option("--weight-decay", "weight_decay", type=float, default=1e-4, show_default=True)
@click.option("--shuffle-seed", "shuffle_seed", type=int, default=None,
              help="Seed of the data order and augmentation [the model's --seed].")
@click.option("--augment/--no-augment", default=True, show_default=True,
              help="Random translations by up to 1/8 of the image side.")
@click.option("--teacher", type=INPUT_PATH, default=None,
              help="Exported checkpoint of the uncompressed network to distil from.")
@click.option("--distill-weight", "distill_weight", type=float, default=1.0,
              show_default=True, help="Weight of the distillation term.")
@click.option("--temperature", type=float, default=1.0, show_default=True,
              help="Distillation temperature.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="torch threads (a run is bit-identical only with the same value).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar with loss and accuracy [on when stderr is a terminal].")
@json_option
@handle_errors
def train_cmd(model: str, data: str, data_dir: Path | None, run_dir: Path, resume: bool,
              export: Path | None, epochs: str, lr: str, schedule: str, warmup: int | None,
              milestones: tuple[str, ...], optimizer: str, batch_size: int, momentum: float,
              nesterov: bool,
              weight_decay: float, shuffle_seed: int | None, augment: bool, teacher: Path | None,
              distill_weight: float, temperature: float, threads: int,
              progress: bool | None, as_json: bool, **opts: object) -> None:
    """Train the reference MODEL (baseline, TWN, StrassenNets or hybrid variant) with the
    three-phase schedule: full-precision W_b/W_c, then ternary quantization (straight-through),
    then W_b/W_c frozen while ã, fp filters and BatchNorms are fine-tuned. A binary variant
    (wbin, fbin, hbn) runs the first phase only, binarized from the first step. Writes a
    checkpoint after every epoch (resume with --resume) and exports the network with
    BatchNorms folded, ready for `accelsim trace --checkpoint` (and, fbin, `accelsim
    partition`)."""
    from accelsim.reference.training_entry import spec_for_data

    if (data == "digits") != (data_dir is None):
        raise click.UsageError("--data-dir is needed by cifar10 and imagefolder, and only "
                               "by them")
    guard_outputs({"--export": export}, [teacher])
    data = data if data_dir is None else f"{data}:{data_dir}"
    spec = spec_for_data(spec_from_options(model, opts), data, "classes" in given_options(opts))
    config = api.TrainConfig(
        spec=spec.to_dict(), data=data, phases=_phases(epochs, lr, schedule, warmup,
                                                       milestones),
        batch_size=batch_size, momentum=momentum, nesterov=nesterov,
        weight_decay=weight_decay, seed=spec.seed if shuffle_seed is None else shuffle_seed,
        augment=augment, teacher=None if teacher is None else str(teacher),
        distill_weight=distill_weight, temperature=temperature, threads=threads,
        optimizer=optimizer)
    show = (not as_json) and (progress if progress is not None else sys.stderr.isatty())

    def line(r: api.EpochRecord) -> None:
        if not as_json:
            click.echo(f"epoch {r.epoch:>3} {r.phase:<8} lr {r.lr:.2e} loss {r.loss:.4f} "
                       f"train acc {r.train_acc:.4f} test acc {r.test_acc:.4f} "
                       f"({r.images / max(r.seconds, 1e-9):,.0f} images/s)")
    result = api.train(config, run_dir, resume=resume, export=export, progress=show,
                       on_epoch=line)
    if as_json:
        echo_json({"exported": str(result.exported), "accuracy": result.accuracy,
                   "test_images": result.test_images,
                   "history": [vars(r) for r in result.history]})
    else:
        click.echo(f"wrote {result.exported} (test accuracy {result.accuracy:.4f} on "
                   f"{result.test_images} images, BatchNorms folded)")


@click.command("rediscover-strassen", epilog="Examples:\n\n"
               "  accelsim rediscover-strassen --seeds 100 --json\n\n"
               "  accelsim rediscover-strassen --rank 6 --seeds 100")
@click.option("--rank", type=int, default=7, show_default=True,
              help="Hidden width r: multiplications of the 2x2 product.")
@click.option("--seeds", type=int, default=100, show_default=True,
              help="Random initialisations to try (the budget).")
@click.option("--first-seed", "first_seed", type=click.IntRange(min=0), default=0,
              show_default=True)
@click.option("--chunk", type=click.IntRange(min=1), default=100, show_default=True,
              help="Seeds trained at once (one batched computation).")
@click.option("--steps", default="4000,2000", show_default=True,
              help="SGD steps of the fp and quantized phases.")
@click.option("--batch", type=click.IntRange(min=1), default=16, show_default=True,
              help="Matrix pairs per step.")
@click.option("--lr", default="0.05,0.0003", show_default=True,
              help="Learning rates of the two phases.")
@click.option("--all", "run_all", is_flag=True,
              help="Try every seed of the budget (default: stop after the first chunk "
                   "that finds an exact algorithm).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
@json_option
@handle_errors
def rediscover_cmd(rank: int, seeds: int, first_seed: int, chunk: int, steps: str,
                   batch: int, lr: str, run_all: bool, threads: int, as_json: bool) -> None:
    """Train SPNs with RANK multiplications on products of random 2x2 matrices, one per seed,
    until one becomes an exact ternary algorithm (Strassen's, up to symmetry, for rank 7);
    report the success rate and time per seed, and check the algorithm exactly (coefficient
    tensor, integer products, numba kernels). Exit status 1 if a found algorithm fails a
    check."""
    report = api.rediscover_strassen(
        rank, seeds, first_seed=first_seed, chunk=chunk,
        steps=tuple(_numbers(steps, "--steps", int, 2)), batch=batch,
        lr=tuple(_numbers(lr, "--lr", float, 2)), stop_at_first=not run_all, threads=threads,
        on_chunk=None if as_json else
        lambda done, ok: click.echo(f"{done} seeds trained, {ok} exact", err=True))
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(f"rank {report.rank}: {len(report.exact_seeds)} exact of "
                   f"{report.seeds_tried} seeds ({100 * report.success_rate:.1f}%), "
                   f"{report.seconds:.1f} s, {report.seconds_per_seed:.3f} s per seed")
        if report.found is not None and report.check is not None:
            wa, wb, wc = report.found.arrays()
            click.echo(f"seed {report.found.seed}:")
            for name, m in (("W_a", wa), ("W_b", wb), ("W_c", wc)):
                click.echo(f"  {name} = {m.tolist()}")
            c = report.check
            click.echo(f"check: tensor identity {c.tensor_identity}; {c.pairs} integer "
                       f"products exact {c.integer_exact}; numba kernels exact "
                       f"{c.kernel_exact} ({c.kernel_muls_per_product:g} multiplications each)")
    if report.check is not None and not report.check.ok:
        raise SystemExit(EXIT_CHECK_FAILED)


@click.command("sensitivity", epilog="Example: accelsim sensitivity runs/base/model.pt "
               "--layer layer2.0.conv1 --out sens.json && accelsim plot sensitivity sens.json "
               "--out sens.png")
@click.argument("checkpoint", type=INPUT_PATH)
@click.option("--layer", required=True, help="A full-precision conv layer (trace name).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Result JSON (written after every width; an existing one is resumed).")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write filter,r,loss rows here.")
@click.option("--ranks", default="1,2,4,8,16,32", show_default=True,
              help="Hidden widths to train.")
@click.option("--pairs", type=int, default=100_000, show_default=True,
              help="Random inputs per phase.")
@click.option("--batch", type=int, default=32, show_default=True)
@click.option("--lr", default="0.01,0.001", show_default=True,
              help="Learning rates of the fp and quantized phases.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
@handle_errors
def sensitivity_cmd(checkpoint: Path, layer: str, out: Path, csv_out: Path | None, ranks: str,
                    pairs: int, batch: int, lr: str, seed: int, threads: int) -> None:
    """For LAYER of the trained network in CHECKPOINT, train a small ternary SPN per filter
    for each hidden width and record its loss: which filters are hard to strassenify
    (Gope et al., appendix C.1)."""
    guard_outputs({"--out": out, "--csv": csv_out}, [checkpoint])
    doc = api.sensitivity(
        checkpoint, layer, out, ranks=tuple(_numbers(ranks, "--ranks", int)), pairs=pairs,
        batch=batch, lr=tuple(_numbers(lr, "--lr", float, 2)), seed=seed, threads=threads,
        on_rank=lambda r, loss: click.echo(f"r = {r}: median relative loss "
                                           f"{sorted(loss)[len(loss) // 2]:.4g}, worst "
                                           f"{max(loss):.4g}"))
    if csv_out is not None:
        rows = ["filter,r,loss"] + [f"{f},{e['r']},{v!r}" for e in doc["results"]
                                    for f, v in enumerate(e["loss"])]
        atomic_write(csv_out, "\n".join(rows) + "\n")
    click.echo(f"wrote {out} ({doc['filters']} filters, widths "
               f"{', '.join(str(e['r']) for e in doc['results'])})")


@plot_group.command("sensitivity", epilog="Example: accelsim plot sensitivity sens.json "
                    "--out sens.png")
@click.argument("result", type=INPUT_PATH)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@handle_errors
def plot_sensitivity_cmd(result: Path, out: Path) -> None:
    """Per-filter loss against hidden width from an `accelsim sensitivity` RESULT."""
    guard_outputs({"--out": out}, [result])
    click.echo(f"wrote {api.plot_sensitivity(result, out)}")


COMMANDS = [train_cmd, rediscover_cmd, sensitivity_cmd]
