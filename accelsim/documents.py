"""Reading input files and parsing JSON / YAML documents safely: one place for every loader.

* :func:`read_text` refuses what is not a regular file (a FIFO would block forever,
  ``/dev/zero`` would be read until memory runs out) and files over
  :data:`accelsim.limits.INPUT_BYTES`, *before* reading them, then decodes UTF-8.
* :func:`parse_json` reads NaN and Infinity as floats (so a loader can name the field holding one)
  and rejects duplicate keys (``{"m": 1, "m": 2}`` would silently keep the later value).
* :func:`parse_yaml` is PyYAML's safe loader plus two checks on the composed document before
  anything is built: duplicate mapping keys, nesting deeper than :data:`MAX_DEPTH`, and the
  number of nodes the document expands to
  with every alias counted as often as it is used (:data:`accelsim.limits.DOCUMENT_NODES`; a
  "billion laughs" of 600 bytes expands to 10^9 nodes); recursive aliases are refused.

Each raises the caller's :class:`~accelsim.errors.InputError` subclass with one problem per
line (``FILE: FIELD: VALUE (why)``); malformed text raises the parser's own exception
(``json.JSONDecodeError``, ``yaml.YAMLError``, ``RecursionError`` for deep nesting) so that each
loader keeps its own message for it.
"""
from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from accelsim.errors import InputError, Problem
from accelsim.limits import DOCUMENT_NODES, INPUT_BYTES

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Deepest nesting of a YAML document (accelsim's documents nest 4 or 5 levels).
MAX_DEPTH = 200


def read_bytes(path: str | Path, error: type[InputError] = InputError,
               source: str | None = None) -> bytes:
    """The bytes of the regular file ``path`` (at most :data:`~accelsim.limits.INPUT_BYTES`).

    Raises ``error`` (``FILE: <file>: 'FILE' (cannot read: ...)``) for a missing file, a folder,
    a FIFO, a device or any other non-regular file, and a file over the size limit."""
    source = str(path) if source is None else source
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(_cannot(path, _why(exc)), source) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise error(_cannot(path, os.strerror(errno.EISDIR)), source)
        if not stat.S_ISREG(st.st_mode):
            raise error(_cannot(path, f"not a regular file ({_kind(st.st_mode)})"), source)
        limit = INPUT_BYTES.value()
        if st.st_size > limit:
            raise error(_cannot(path, INPUT_BYTES.exceeded(st.st_size)), source)
        chunks = []
        total = 0
        while True:  # the file may grow while it is read: stop one byte past the limit
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise error(_cannot(path, INPUT_BYTES.exceeded(total)), source)
        return b"".join(chunks)
    except OSError as exc:
        raise error(_cannot(path, _why(exc)), source) from None
    finally:
        os.close(fd)


def read_text(path: str | Path, error: type[InputError] = InputError,
              source: str | None = None) -> str:
    """:func:`read_bytes` decoded as UTF-8 (``cannot read: UnicodeDecodeError`` otherwise)."""
    data = read_bytes(path, error, source)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(_cannot(path, "UnicodeDecodeError"),
                    str(path) if source is None else source) from None


def check_input_file(path: str | Path, error: type[InputError] = InputError) -> None:
    """Refuse a path that is not a regular file within the size limit, without reading it (for
    inputs read by other libraries: checkpoints, Parquet parts)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise error(_cannot(path, _why(exc)), str(path)) from None
    if stat.S_ISDIR(st.st_mode):
        raise error(_cannot(path, os.strerror(errno.EISDIR)), str(path))
    if not stat.S_ISREG(st.st_mode):
        raise error(_cannot(path, f"not a regular file ({_kind(st.st_mode)})"), str(path))


# -- JSON ------------------------------------------------------------------------------------
class _Object(dict):
    """A JSON object that remembers the keys it was given more than once."""

    duplicates: tuple[str, ...] = ()


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dups: dict[str, None] = {}
        for k, _ in pairs:
            if k in seen:
                dups[k] = None
            seen.add(k)
        obj.duplicates = tuple(dups)
    return obj


def parse_json(text: str, source: str, error: type[InputError] = InputError) -> Any:
    """``json.loads`` with NaN/Infinity as floats and duplicate keys refused (one problem per
    duplicate, naming its path). Malformed JSON raises ``json.JSONDecodeError`` (or
    ``RecursionError`` when nested too deeply) for the caller to word."""
    doc = json.loads(text, parse_constant=float, object_pairs_hook=_pairs)
    problems = [Problem(path, "<key>", "duplicate key: given more than once in the same "
                        "object (the later value would silently win)")
                for path in _duplicate_paths(doc, "")]
    if problems:
        raise error(problems, source)
    return doc


def _duplicate_paths(value: Any, path: str) -> Iterator[str]:
    stack = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            for key in getattr(node, "duplicates", ()):
                yield _join(where, key)
            stack.extend((v, _join(where, str(k))) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{_item_name(v, i)}]")
                         for i, v in reversed(list(enumerate(node))))


def named_paths(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every node of a plain document, list items that have a string
    ``name`` named by it (``layers[conv1].stages[wb].m``), as the loaders name fields."""
    stack = [(value, path)]
    while stack:
        node, where = stack.pop()
        yield where, node
        if isinstance(node, dict):
            stack.extend((v, _join(where, str(k))) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{_item_name(v, i)}]")
                         for i, v in reversed(list(enumerate(node))))


# -- YAML ------------------------------------------------------------------------------------
def parse_yaml(text: str, source: str, error: type[InputError] = InputError) -> Any:
    """``yaml.safe_load`` with duplicate keys, recursive aliases and documents over
    :data:`~accelsim.limits.DOCUMENT_NODES` expanded nodes refused before the document is built.
    Malformed YAML raises ``yaml.YAMLError`` (deep nesting ``RecursionError``)."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, source, error)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_nodes(root: yaml.Node, source: str, error: type[InputError]) -> None:
    limit = DOCUMENT_NODES.value()
    sizes: dict[int, int] = {}
    busy: set[int] = set()
    problems: list[Problem] = []

    def size(node: yaml.Node, path: str, depth: int = 0) -> int:
        if depth > MAX_DEPTH:  # worded by each loader, as the parser's own RecursionError
            raise RecursionError("document nested too deeply")
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in busy:
            raise error(Problem(path or "<document>", "<alias>",
                                "a recursive alias (a node that contains itself)"), source)
        busy.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                total += size(item, f"{path}[{i}]", depth + 1)
                if total > limit:
                    break
        elif isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in node.value:
                name = str(k.value) if isinstance(k, yaml.ScalarNode) else "<key>"
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    if name in seen:
                        problems.append(Problem(
                            _join(path, name), f"line {k.start_mark.line + 1}",
                            f"duplicate key: also on line {seen[name]} (the later value "
                            "would silently win)"))
                    seen.setdefault(name, k.start_mark.line + 1)
                total += size(k, path, depth + 1) + size(v, _join(path, name), depth + 1)
                if total > limit:
                    break
        busy.discard(key)
        sizes[key] = total
        if total > limit:
            raise error(Problem(path or "<document>", "<aliases>",
                                DOCUMENT_NODES.exceeded(total) + " (YAML aliases expand "
                                "to a copy at every use)"), source)
        return total

    size(root, "")
    if problems:
        raise error(problems, source)


# -- helpers ---------------------------------------------------------------------------------
def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _item_name(value: Any, index: int) -> str:
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return str(value["name"])
    return str(index)


def _cannot(path: str | Path, why: str) -> Problem:
    return Problem("<file>", str(path), f"cannot read: {why}")


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"
