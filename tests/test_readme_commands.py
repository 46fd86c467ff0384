"""Every command of the README's fenced bash blocks runs as written on the bundled files.

The commands are extracted from README.md (continuation lines joined, comments dropped, ``&&``
chains split), run in order in a temporary folder holding copies of ``workloads/``,
``hwconfigs/`` and ``examples/`` (so outputs never land in the repository and later commands
see earlier outputs), ``accelsim`` in-process through click, ``python`` as a subprocess. Only
the commands of :data:`SLOW` are skipped, each for the reason given; the test fails if one of
them is no longer in the README, so the list cannot go stale.
"""
from __future__ import annotations

import glob
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from accelsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("workloads", "hwconfigs", "examples")
#: Commands not run here (exact text after joining continuation lines), and why.
SLOW = {
    "python3.11 -m venv .venv": "creates a virtual environment: the suite runs inside one",
    ". .venv/bin/activate": "activates that environment",
    "pip install -e .": "installs the package the suite is testing",
    'pip install -e ".[test]"': "installs the package the suite is testing",
    "pytest": "the suite itself",
    "accelsim report --out report/": "about 30 s; tests/test_report.py runs its op-count part "
                                     "(--no-des) and draws its DES figures",
    "accelsim verify workloads/mobilenet_v1_0.5_hybrid_a0.375_r1.json": "about 8 s; "
        "tests/test_kernels_verify.py verifies three bundled workloads (the hybrid alpha = "
        "0.375, r = 1.6c among them) the same way",
    "accelsim verify resnet18 --variant strassen --r-factor 1 --patch 2 --groups 4": "about "
        "15 s; tests/test_kernels_verify.py verifies a strassen ResNet-18 at reduced "
        "resolution and ResNet-20 p = 2, g = 4",
}


def readme_commands(text: str) -> list[str]:
    """Each command of the README's ```bash blocks: continuation lines joined, comment lines
    and trailing comments dropped, ``&&`` chains split into their commands."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if not words:
                continue
            cmd: list[str] = []
            for w in words + ["&&"]:
                if w == "&&":
                    out.append(shlex.join(cmd).replace("'", '"'))
                    cmd = []
                else:
                    cmd.append(w)
    return out


def _argv(command: str) -> list[str]:
    """Words of ``command`` with globs expanded as the shell does (sorted matches)."""
    out: list[str] = []
    for w in shlex.split(command):
        matches = sorted(glob.glob(w)) if any(c in w for c in "*?[") else []
        out.extend(matches or [w])
    return out


def test_the_readme_lists_its_commands_and_the_skip_list_is_current():
    commands = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(commands) >= 20
    assert all(c.split()[0] in ("accelsim", "python", "python3.11", ".", "pip", "pytest")
               for c in commands), commands
    assert not [c for c in SLOW if c not in commands], "SLOW lists commands the README lost"
    assert not [c for c in commands if "../" in c or "shared/" in c]  # nothing outside the repo


@pytest.mark.torch
def test_every_readme_command_runs_on_the_bundled_files(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    for name in COPIED:
        shutil.copytree(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    commands = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    ran = []
    for command in commands:
        if command in SLOW:
            continue
        argv = _argv(command)
        if argv[0] == "python":
            proc = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True,
                                  timeout=120)
            assert proc.returncode == 0, f"{command}\n{proc.stderr[-2000:]}"
        else:
            assert argv[0] == "accelsim", command
            res = CliRunner().invoke(main, argv[1:])
            assert res.exit_code == 0, f"{command}\n{res.output[-2000:]}"
            assert "Traceback" not in res.output
        ran.append(command)
    assert len(ran) >= 18
    # the outputs the tour names exist, next to the inputs, never in the repository
    for out in ("run/trace.json", "points.csv", "split_store", "fraction.png", "pareto.png",
                "dram.png", "layers.png", "gantt.png", "mb.csv", "mb.json", "wl.json",
                "st_fp_fc.json", "hybrid_wl.json", "hbn.json", "trained_store",
                "docs/figures/accuracy.png"):
        assert (tmp_path / out).exists(), out
