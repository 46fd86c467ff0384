"""Writing outputs safely: never over an input, never half a file, no folder left by a failure.

* :func:`check_outputs` refuses, before anything is written, an output path that resolves (through
  symlinks, ``..`` and hard links) to an input file of the same command, to another output of it,
  or to a file bundled with accelsim (the repository's ``workloads/`` and ``hwconfigs/``, the
  package's own files and data): ``accelsim export-scalesim W.json -o W.json`` would otherwise
  destroy its input. Folder outputs are checked through the names written into them.
* :func:`atomic_write` and :func:`atomic_path` write to a temporary file in the target's folder,
  fsync it and rename it over the target only on success, so a failure (disk full, a file-size
  limit, Ctrl-C) leaves the old file or none, never a truncated one.
* :func:`output_dir` creates an output folder (and missing parents) and removes what it created
  if the command fails inside it.

An output that cannot be written is an :class:`OutputError` (bad input: exit status 2), one line
naming the file: ``FILE: <file>: 'FILE' (cannot write: No space left on device)``.

Floor 0: imports nothing of accelsim but :mod:`accelsim.errors`.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from accelsim.errors import InputError, Problem

_PACKAGE = Path(__file__).resolve().parent
#: Folders of the repository whose files are bundled inputs (when accelsim runs from a checkout).
BUNDLED_FOLDERS = ("workloads", "hwconfigs")


class OutputError(InputError):
    """An output path is unsafe (an input, a bundled file) or cannot be written."""


def bundled_roots() -> tuple[Path, ...]:
    """Folders whose files accelsim ships: the package itself (code and ``data/``) and, in a
    source checkout (a ``pyproject.toml`` beside the package), ``workloads/`` and ``hwconfigs/``."""
    roots = [_PACKAGE]
    repo = _PACKAGE.parent
    if (repo / "pyproject.toml").is_file():
        roots += [repo / name for name in BUNDLED_FOLDERS if (repo / name).is_dir()]
    return tuple(roots)


def _resolved(path: str | Path) -> Path:
    return Path(os.path.realpath(os.path.abspath(os.fspath(path))))


def _same(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(outputs: Mapping[str, str | Path | None], inputs: Iterable[str | Path],
                  *, allow_bundled: bool = False, source: str | None = None) -> None:
    """Refuse outputs that would overwrite an input, each other or a bundled file.

    ``outputs`` maps what each output is (an option name such as ``--out``, or
    ``--out/result.json`` for a file written into a folder) to its path (None: not written);
    ``inputs`` lists every file the command reads. Raises :class:`OutputError` with one problem
    per unsafe output, before anything is written."""
    ins = [(Path(p), _resolved(p)) for p in inputs if p is not None]
    roots = () if allow_bundled else bundled_roots()
    seen: list[tuple[str, Path]] = []
    problems = []
    for what, raw in outputs.items():
        if raw is None:
            continue
        path = _resolved(raw)
        why = None
        for given, real in ins:
            if _same(path, real):
                why = f"is the input {given}: writing it would destroy it; choose another path"
                break
        if why is None:
            for other, real in seen:
                if _same(path, real):
                    why = f"is also the output of {other}; choose another path"
                    break
        if why is None and path.exists() and not path.is_dir():
            for root in roots:
                if path.is_relative_to(root):
                    why = ("is a file bundled with accelsim; write elsewhere (accelsim "
                           "make-workloads regenerates the bundled workloads)")
                    break
        seen.append((what, path))
        if why is not None:
            problems.append(Problem(what, str(raw), why))
    if problems:
        raise OutputError(problems, source)


def cannot_write(path: str | Path, exc: OSError | str) -> OutputError:
    """The one-line error for an output that cannot be written (names the file)."""
    if isinstance(exc, str):
        why = exc
    elif isinstance(exc, FileExistsError):
        why = "a file is in the way of a folder"
    else:  # an errno's own words (pyarrow's messages wrap them in their own)
        why = os.strerror(exc.errno) if exc.errno else exc.strerror or type(exc).__name__
    return OutputError(Problem("<file>", str(path), f"cannot write: {why}"), str(path))


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """A temporary path beside ``target`` (same folder, same suffix) to write to; on success it
    is fsync'ed and renamed over ``target``, on failure removed. Missing parent folders are
    created. ``OSError`` s become :class:`OutputError` naming ``target``."""
    target = Path(target)
    created = missing_folders(target.parent)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        remove_created(created)
        raise cannot_write(target if exc.filename is None else exc.filename, exc) from None
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}",
                                    dir=target.parent)
        os.close(fd)
    except OSError as exc:
        remove_created(created)
        raise cannot_write(target, exc) from None
    tmp = Path(name)
    done = False
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, target)
        done = True
        fsync_dir(target.parent)
    except OSError as exc:
        raise cannot_write(target, exc) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if not done:
            remove_created(created)


def atomic_write(target: str | Path, data: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``data`` (text or bytes) to ``target`` atomically (see :func:`atomic_path`)."""
    with atomic_path(target) as tmp:
        if isinstance(data, str):
            with open(tmp, "w", encoding=encoding, newline="") as fh:
                fh.write(data)
        else:
            tmp.write_bytes(data)
    return Path(target)


@contextlib.contextmanager
def output_dir(path: str | Path, keep: Callable[[], bool] | None = None) -> Iterator[Path]:
    """Create the folder ``path`` (and missing parents) for the duration of a command; if the
    command fails (any exception, Ctrl-C included), remove the folders this call created,
    unless ``keep()`` says what the command wrote is worth keeping (e.g. finished points of a
    resumable run)."""
    path = Path(path)
    created = missing_folders(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        remove_created(created)
        raise cannot_write(path if exc.filename is None else exc.filename, exc) from None
    try:
        yield path
    except BaseException:
        if keep is None or not keep():
            remove_created(created)
        raise


def missing_folders(path: str | Path) -> list[Path]:
    """``path`` and its ancestors that do not exist yet, outermost first (what creating it
    creates; :func:`remove_created` removes them again)."""
    out = []
    p = Path(os.path.abspath(path))
    while not p.exists() and p != p.parent:
        out.append(p)
        p = p.parent
    return out[::-1]


def remove_created(created: list[Path]) -> None:
    """Remove the outermost of ``created`` (folders this process made), with what is in it."""
    if created:
        shutil.rmtree(created[0], ignore_errors=True)


def fsync_dir(path: str | Path) -> None:
    """fsync a folder (makes a rename in it durable); a no-op where folders cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def strict_json(data: Any, indent: int | None = None, sort_keys: bool = False) -> str:
    """JSON text of ``data`` that every JSON parser reads: NaN and infinities become ``null``
    (``json.dumps`` would write the bare words ``NaN`` / ``Infinity``), numpy scalars their
    Python values, paths their text. Raises ``TypeError`` for anything else that is not JSON."""
    return json.dumps(_finite(data), indent=indent, sort_keys=sort_keys, allow_nan=False)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, Mapping):
        return {k if isinstance(k, str) else str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _finite(obj.item())
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "tolist"):  # numpy arrays
        return _finite(obj.tolist())
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
