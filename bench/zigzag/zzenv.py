"""ZigZag's own virtual environment for the bench scripts (``zigzag_crosscheck.py``,
``energy_tables.py``): created once outside the repository, asked for first.

ZigZag (PyPI ``zigzag-dse==3.9.1``) imports ``six`` without declaring it, so both are installed.
The package also ships a CACTI 7 binary (``zigzag/cacti/cacti_master/cacti``), which
``energy_tables.py`` runs to build accelsim's SRAM energy table.
"""
from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ZIGZAG = ("zigzag-dse==3.9.1", "six")
DEFAULT_VENV = Path.home() / ".cache/accelsim/zigzag-venv"
_PROBE = ("from importlib.metadata import version as v; assert v('zigzag-dse') == '3.9.1'; "
          "import six, zigzag.api")


def ensure_zigzag(path: Path, yes: bool, why: str) -> Path:
    """Create ``path`` (a venv) with ZigZag 3.9.1 unless it already has it; its python.
    Says what it installs where and how to remove it, and asks first (``yes``: do not ask;
    without a terminal and without ``yes`` it stops). ``why``: one line on what it is for."""
    python = path / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", _PROBE],
                                          capture_output=True).returncode == 0:
        return python
    print(f"ZigZag 3.9.1 is not installed ({why}). This creates a virtual environment in {path} "
          f"and installs {' '.join(ZIGZAG)} and their dependencies from PyPI into it (about "
          f"0.45 GB), kept for later runs. Remove it with: rm -rf {path}", flush=True)
    if not yes:
        if not sys.stdin.isatty():
            sys.exit("not installing without a terminal to ask: rerun with --yes")
        if input("Install? [y/N] ").strip().lower() not in ("y", "yes"):
            sys.exit("not installed")
    print(f"creating ZigZag environment in {path} (pip install {' '.join(ZIGZAG)})", flush=True)
    venv.EnvBuilder(with_pip=True, clear=python.exists()).create(path)
    subprocess.run([python, "-m", "pip", "install", "-q", *ZIGZAG], check=True)
    return python


def package_dir(python: Path) -> Path:
    """Where the ``zigzag`` package of the venv whose interpreter is ``python`` lives."""
    out = subprocess.run([python, "-c", "import os, zigzag; print(os.path.dirname("
                          "zigzag.__file__))"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())
