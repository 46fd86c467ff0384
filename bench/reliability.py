"""Reliability figures for the README: bad inputs, fuzzing, crash safety, determinism, scale.

    python bench/reliability.py                  # everything (~3 min on 2 shared cores)
    python bench/reliability.py --kills 20       # more SIGKILLs of the same sweep
    python bench/reliability.py --no-scale       # skip the large-network runs (bench/scale.py)

It runs the same checks as tests/test_bad_inputs.py, test_bad_input_classes.py,
test_output_safety.py, test_process_lifecycle.py, test_workload_validate.py,
test_loader_fuzzing.py, test_engine_liveness.py, test_sweep_crash_safety.py, test_determinism.py
and test_scale.py (and imports their helpers, the bad-input corpus tests/bad_inputs/cases.yaml
and the generated classes), counts what happened and prints one markdown table. Method and the
figures of the last run: docs/reliability.md.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]

import numpy as np  # noqa: E402

from accelsim.dse import ResultStore, StoreError, sweep  # noqa: E402


def bad_inputs(tmp: Path) -> dict:
    """Every case of the corpus through the command line (in-process) and, for the marked
    ones, through the installed entry point too."""
    from click.testing import CliRunner
    from test_bad_inputs import BAD, CASES, _scratch, expand, mismatches

    from accelsim.cli import main

    clean, failures, lines = 0, [], 0
    for i, case in enumerate(CASES):
        where = _scratch(tmp / f"case{i}")
        res = CliRunner().invoke(main, expand(case["args"], where))
        crashed = res.exception is not None and not isinstance(res.exception, SystemExit)
        bad = mismatches(case, where, res.exit_code, res.stdout, res.stderr)
        wrote = sorted(p.name for p in where.iterdir()) != ["empty"]
        if crashed or bad or wrote:
            failures.append(case["id"])
        else:
            clean += 1
        lines += len(res.stderr.splitlines())
    files = [p for p in BAD.iterdir() if p.name != "cases.yaml" and not p.name.startswith("ok_")]
    commands = {" ".join(c["args"][:2]) if c["args"][0] == "plot" else c["args"][0]
                for c in CASES}
    return {"tried": len(CASES), "clean": clean, "failures": failures, "lines": lines,
            "files": len(files), "commands": len(commands),
            "subprocess": sum(1 for c in CASES if c.get("subprocess"))}


def bad_input_classes(tmp: Path) -> dict:
    """Every generated instance of every class of test_bad_input_classes.py, in-process:
    {class: (instances, rejected cleanly)} and the failures."""
    from test_bad_input_classes import CLASSES, run_instance, verdict

    out: dict[str, list[int]] = {}
    failures = []
    for cls, fns in CLASSES.items():
        out[cls] = [len(fns), 0]
        for i in range(len(fns)):
            where = tmp / f"{len(failures)}-{cls.replace(' ', '_')}-{i}"
            where.mkdir(parents=True)
            _, why, code, stdout, stderr = run_instance(cls, i, where)
            if verdict(why, code, stdout, stderr):
                failures.append(f"{cls}[{i}]")
            else:
                out[cls][1] += 1
    return {"classes": out, "failures": failures}


def output_safety(tmp: Path) -> dict:
    """Every writing command of test_output_safety.py with its output set to each of its inputs
    (as given, through '..', a symlink, a hard link): refused with the inputs unchanged."""
    from click.testing import CliRunner
    from test_output_safety import CASES, SPELLINGS, _digest, _scratch, _spell

    from accelsim.cli import main

    tried = refused = 0
    commands = set()
    cwd = os.getcwd()
    try:
        for i, (args, target) in enumerate(CASES):
            for how in SPELLINGS:
                (tmp / f"{i}-{how}").mkdir()
                where = _scratch(tmp / f"{i}-{how}")
                os.chdir(where)
                out = _spell(where, target, how)
                before = _digest(where)
                res = CliRunner().invoke(main, [out if a == "OUT" else a for a in args])
                tried += 1
                refused += res.exit_code == 2 and _digest(where) == before
                commands.add(" ".join(args[:2]) if args[0] == "plot" else args[0])
    finally:
        os.chdir(cwd)
    return {"tried": tried, "refused": refused, "commands": len(commands)}


def lifecycle(tmp: Path, kills: int) -> dict:
    """SIGKILL the parent of ``sweep --jobs 2`` ``kills`` times (resuming each time) and count
    workers alive 5 s later; then one Ctrl-C: exit status and the resume line."""
    import signal
    import time

    from test_process_lifecycle import _alive, _spec, _start_and_wait

    spec, store = _spec(tmp), tmp / "store"
    survivors = done = 0
    workers = 0
    for _ in range(kills):
        proc, family = _start_and_wait(spec, store)
        workers += len(family)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 5 and any(_alive(p) for p in family):
            time.sleep(0.05)
        survivors += sum(_alive(p) for p in family)
        done += 1
        if len(ResultStore(store).done_keys()) > 40:  # start over to keep work to interrupt
            import shutil
            shutil.rmtree(store)
    proc, family = _start_and_wait(spec, store)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return {"kills": done, "workers": workers, "survivors": survivors,
            "sigint_exit": proc.returncode, "resume_line": "resume with: accelsim sweep" in err}


def validator() -> dict:
    """Generated workloads with one field corrupted per run of the property test."""
    import test_workload_validate as tv

    fn = tv.test_one_corrupted_field_is_rejected_or_changes_no_number
    return {"examples": fn._hypothesis_internal_use_settings.max_examples,
            "classes": {k: len(v) for k, v in tv.CLASSES.items()}}


def fuzzing() -> dict:
    """Documents per run of each hypothesis fuzz test (its ``max_examples`` setting)."""
    import test_loader_fuzzing as fuzz

    out = {}
    for name in sorted(dir(fuzz)):
        fn = getattr(fuzz, name)
        if name.startswith("test_") and getattr(fn, "is_hypothesis_test", False):
            n = fn._hypothesis_internal_use_settings.max_examples
            out[name[len("test_"):]] = 2 * n if name == "test_arbitrary_text" else n
    return out


def crash_safety(tmp: Path, kills: int, seed: int) -> dict:
    """SIGKILL the same sweep ``kills`` times at random moments, resuming each time; then finish
    it and compare with an uninterrupted run."""
    import pyarrow.parquet as pq
    from test_bad_inputs import entry_point
    from test_sweep_crash_safety import kill_after_progress, sweep_spec

    spec = sweep_spec(tmp)
    ref = tmp / "ref.csv"
    sweep(spec, tmp / "ref", progress=False, export=ref)
    store = tmp / "killed"
    cmd = entry_point() + ["sweep", str(spec), "--store", str(store), "--chunk", "1",
                           "--no-progress"]
    rng = np.random.default_rng(seed)
    done: set[str] = set()
    killed = lost = duplicated = unreadable = 0
    at: list[int] = []
    for _ in range(3 * kills):
        if killed == kills:
            break
        ok, _ = kill_after_progress(cmd, store, int(rng.integers(1, 30)),
                                    float(rng.uniform(0.0, 0.05)))
        killed += ok
        rows: list[str] = []
        for part in ResultStore(store).parts():
            try:
                rows += pq.read_table(part, columns=["key"]).column("key").to_pylist()
            except Exception:
                unreadable += 1
        duplicated += len(rows) - len(set(rows))
        lost += len(done - set(rows))
        done |= set(rows)
        at.append(len(set(rows)))
    summary = sweep(spec, store, progress=False, export=tmp / "resumed.csv")
    try:
        ResultStore(store).table()
    except StoreError:
        unreadable += 1
    return {"kills": killed, "points": summary.total, "points_at_kills": at, "lost": lost,
            "duplicated": duplicated, "unreadable": unreadable,
            "recomputed": summary.computed - (summary.total - len(done)),
            "identical": (tmp / "resumed.csv").read_bytes() == ref.read_bytes()}


def determinism(tmp: Path) -> dict:
    """Byte comparisons of the same command in fresh processes (other hash seed, other folder),
    and of a sweep's export with one and two worker processes."""
    from dse_support import IAREA_HW, write_inputs, write_spec
    from test_determinism import _inputs, run_all

    a, b = _inputs(tmp / "a"), _inputs(tmp / "b")
    same = total = 0
    for engine, extra in (("des", ["--timeline", "out/timeline.json"]), ("analytic", [])):
        args = ["simulate", "wl.json", "--hw", "hw.yaml", "--engine", engine, "--schedule",
                "overlap", "--json", "--out", "out"] + extra
        out_a, out_b = run_all([(args, a, "1"), (args, b, "2")])
        names = ["result.json", "layers.csv"] + (["timeline.json"] if extra else [])
        for name in names:
            total += 1
            same += (a / "out" / name).read_bytes() == (b / "out" / name).read_bytes()
        total += 1
        same += out_a == out_b
    files = write_inputs(tmp, ("hybrid", "fp"))
    spec = write_spec(tmp, {
        "hw": str(IAREA_HW), "workloads": [p.name for p in files.values()],
        "engine": ["balance", "analytic", "des"], "schedule": ["sequential", "overlap"],
        "axes": {"mac_fraction": [0.25, 0.5, 0.75], "dram.bandwidth_bytes_per_cycle": [8, 64]}})
    run_all([(["sweep", str(spec), "--store", "one", "--export", "one.csv", "--no-progress"],
              tmp, "3"),
             (["sweep", str(spec), "--store", "two", "--jobs", "2", "--export", "two.csv",
               "--no-progress"], tmp, "4")])
    total += 1
    same += (tmp / "one.csv").read_bytes() == (tmp / "two.csv").read_bytes()
    return {"checks": total, "identical": same}


def scale() -> list[dict]:
    from scale import measure

    runs = [("chain1000", "sequential", "analytic"), ("chain1000", "sequential", "des"),
            ("resnet152_fp", "sequential", "des"), ("resnet152_fp", "overlap", "des"),
            ("resnet152_strassen", "overlap", "des")]
    return [measure(*r, trace=False) for r in runs]


def table(inputs: dict, fuzz: dict, crash: dict, det: dict, big: list[dict],
          classes: dict | None = None, outputs: dict | None = None,
          life: dict | None = None, valid: dict | None = None) -> str:
    rows = [
        ("bad inputs tried / rejected cleanly (exit 2, one `error: FILE: FIELD: VALUE (why)` "
         "line per problem, no traceback, nothing written)",
         f"{inputs['tried']} / {inputs['clean']} ({inputs['files']} corpus files, "
         f"{inputs['lines']} error lines, {inputs['commands']} commands; "
         f"{inputs['subprocess']} also through the installed entry point)"),
    ]
    if classes:
        n = sum(t for t, _ in classes["classes"].values())
        ok = sum(c for _, c in classes["classes"].values())
        rows.append(("generated bad inputs by class, tried / rejected cleanly",
                     f"{n} / {ok} (" + "; ".join(f"{k} {t}/{c}" for k, (t, c) in
                                                  classes["classes"].items()) + ")"))
    if valid:
        rows.append(("workloads with one field corrupted (hypothesis) rejected or giving the "
                     "same numbers", f"{valid['examples']} per test run, plus "
                     f"{sum(valid['classes'].values())} inconsistent workloads in "
                     f"{len(valid['classes'])} classes"))
    if outputs:
        rows.append(("outputs over an input (as given, `..`, symlink, hard link) refused, input "
                     "unchanged", f"{outputs['refused']} / {outputs['tried']} "
                                  f"({outputs['commands']} writing commands)"))
    if life:
        rows.append(("SIGKILLs of a `sweep --jobs 2` parent / workers alive 5 s later",
                     f"{life['kills']} / {life['survivors']} (of {life['workers']} workers); "
                     f"Ctrl-C: exit {life['sigint_exit']}, resume command "
                     f"{'printed' if life['resume_line'] else 'MISSING'}"))
    rows += [
        ("fuzzed documents per test run (hypothesis)",
         f"{sum(fuzz.values()):,} (" + ", ".join(f"{k.replace('_never_crashes', '')} {v:,}"
                                                 for k, v in fuzz.items()) + ")"),
        ("SIGKILLs of one sweep survived / points lost / duplicated / unreadable parts",
         f"{crash['kills']} / {crash['lost']} / {crash['duplicated']} / {crash['unreadable']} "
         f"({crash['points']} points; done at the kills: "
         f"{', '.join(map(str, crash['points_at_kills']))}; final export "
         f"{'byte-identical' if crash['identical'] else 'DIFFERENT'} to an uninterrupted run)"),
        ("determinism checks byte-identical (fresh processes, other hash seed and folder; "
         "sweep --jobs 1 vs 2)", f"{det['identical']} / {det['checks']}"),
    ]
    for r in big:
        what = f"scale: {r['workload']} {r['schedule']} {r['engine']}"
        if "stalled" in r:
            rows.append((what, f"stalled (LivenessError): {r['stalled']}"))
        else:
            rows.append((what, f"{r['layers']} layers, {r['tiles']:,} tiles, "
                               f"{r['map_s'] + r['run_s']:.1f} s "
                               f"({1e6 * (r['map_s'] + r['run_s']) / r['tiles']:.0f} us/tile), "
                               f"peak RSS {r['rss_mb']:.0f} MB"))
    out = ["| figure | value |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=8, help="SIGKILLs of the same sweep [8]")
    ap.add_argument("--seed", type=int, default=20240611, help="seed of the kill delays")
    ap.add_argument("--no-scale", action="store_true", help="skip the large-network runs")
    ap.add_argument("--parent-kills", type=int, default=10,
                    help="SIGKILLs of a sweep --jobs 2 parent (orphaned workers) [10]")
    ap.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = ap.parse_args(argv)
    if os.name != "posix" or not hasattr(signal, "SIGKILL"):
        print("needs a POSIX system (SIGKILL)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for sub in ("inputs", "classes", "outputs", "life", "crash", "det"):
            (tmp / sub).mkdir()
        figures = {"inputs": bad_inputs(tmp / "inputs"),
                   "classes": bad_input_classes(tmp / "classes"), "validator": validator(),
                   "outputs": output_safety(tmp / "outputs"),
                   "lifecycle": lifecycle(tmp / "life", args.parent_kills), "fuzz": fuzzing(),
                   "crash": crash_safety(tmp / "crash", args.kills, args.seed),
                   "determinism": determinism(tmp / "det"),
                   "scale": [] if args.no_scale else scale()}
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        print(table(figures["inputs"], figures["fuzz"], figures["crash"],
                    figures["determinism"], figures["scale"], figures["classes"],
                    figures["outputs"], figures["lifecycle"], figures["validator"]))
        failures = figures["inputs"]["failures"] + figures["classes"]["failures"]
        if failures:
            print("\nnot rejected cleanly: " + ", ".join(failures))
    ok = (not figures["inputs"]["failures"] and not figures["classes"]["failures"] and
          figures["outputs"]["refused"] == figures["outputs"]["tried"] and
          figures["lifecycle"]["survivors"] == 0 and figures["crash"]["lost"] == 0 and
          figures["crash"]["duplicated"] == 0 and figures["crash"]["identical"] and
          figures["determinism"]["identical"] == figures["determinism"]["checks"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
