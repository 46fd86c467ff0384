"""Accounting conventions as data: what a published table counts, named and documented.

Published tables of the same network differ in what they count. A convention is a small YAML
document (schema ``accelsim.convention`` v1; the bundled ones are in
``accelsim/data/conventions/``, and any file of the same form can be passed by path, so a new
convention needs no code):

.. code-block:: yaml

    schema: accelsim.convention
    schema_version: 1
    name: fp_classifier
    description: what it counts, in words (printed with every table that uses it)
    citation: the table it reproduces ("-" for none)
    method: ops              # ops: the rules below; hbn2018: accelsim.hbn's per-layer rules
    rules:
      bn: folded             # folded | counted | ignored
      eltwise: counted       # counted | ignored
      fractional_hidden: false
      keep_fp: [fc]          # layer names or shell patterns counted as their fp16 equivalent
      fp_bytes: null         # bytes per stored full-precision value; null: as traced

Rules (docs/accounting.md): ``bn`` is what the bias stage of a conv or depthwise layer (a batch
norm folded into a bias; an FC's bias stays a bias) costs:
``folded`` one addition per output element and one stored value per channel (as traced),
``counted`` one multiply-add per output element and two stored values per channel (scale and
shift), ``ignored`` nothing. ``eltwise``: residual additions (``eltwise`` layers) ``counted`` as
one addition per element, or ``ignored``. ``fractional_hidden``: scale strassen stages by their
``paper_scale`` (the nominal, fractional hidden width). ``keep_fp``: the matching layers count
as the plain fp16 conv / FC of their shape whatever their variant. ``fp_bytes``: every stored
value wider than 2 bits takes this many bytes.

:func:`load_convention` reads one (by bundled name or path); :func:`accelsim.counts.counted`
applies its rules to a workload.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from accelsim.documents import parse_yaml, read_text
from accelsim.errors import InputError, Problem
from accelsim.fields import Reader

SCHEMA = "accelsim.convention"
SCHEMA_VERSION = 1
METHODS = ("ops", "hbn2018")
BN_RULES = ("folded", "counted", "ignored")
ELTWISE_RULES = ("counted", "ignored")
_TOP = ("schema", "schema_version", "name", "description", "citation", "method", "rules")
_RULES = ("bn", "eltwise", "fractional_hidden", "keep_fp", "fp_bytes")


@dataclass(frozen=True)
class AccountingConvention:
    """One accounting convention (see the module docstring); ``source`` is its file."""

    name: str
    description: str
    citation: str
    method: str = "ops"
    bn: str = "folded"
    eltwise: str = "counted"
    fractional_hidden: bool = False
    keep_fp: tuple[str, ...] = ()
    fp_bytes: int | None = None
    source: str = "<memory>"

    @property
    def structural(self) -> bool:
        """Whether the rules change a workload's stages (not just scale them)."""
        return (self.bn != "folded" or self.eltwise != "counted" or bool(self.keep_fp) or
                self.fp_bytes is not None)

    def summary(self) -> str:
        """One line: the name, the rules and the citation."""
        if self.method != "ops":
            rules = f"method {self.method}"
        else:
            rules = (f"bn {self.bn}, eltwise {self.eltwise}, fractional hidden widths "
                     f"{'yes' if self.fractional_hidden else 'no'}, keep fp "
                     f"{', '.join(self.keep_fp) or 'none'}, fp bytes "
                     f"{self.fp_bytes if self.fp_bytes is not None else 'as traced'}")
        cite = f"; {self.citation}" if self.citation and self.citation != "-" else ""
        return f"convention {self.name} ({rules}){cite}"


@functools.cache
def bundled() -> tuple[str, ...]:
    """Names of the conventions shipped in ``accelsim/data/conventions/``."""
    folder = resources.files("accelsim.data").joinpath("conventions")
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")))


def load_convention(name: str | Path | AccountingConvention,
                    field: str = "--convention") -> AccountingConvention:
    """A bundled convention by name, or one read from a YAML file; a convention passes through.
    Raises :class:`InputError` (one line per problem, naming ``field`` or the file)."""
    if isinstance(name, AccountingConvention):
        return name
    text = str(name)
    if text in bundled():
        return _bundled(text)
    path = Path(text)
    if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
        raise InputError(Problem(field, text, f"must be one of {', '.join(bundled())} or a "
                                 "convention YAML file (docs/accounting.md)"))
    try:
        doc = parse_yaml(read_text(path, InputError, text), text, InputError)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else "?"
        raise InputError(Problem("<document>", where, "malformed YAML"), text)
    return convention_from_dict(doc, text)


@functools.cache
def _bundled(name: str) -> AccountingConvention:
    text = resources.files("accelsim.data").joinpath("conventions", f"{name}.yaml").read_text()
    return convention_from_dict(yaml.safe_load(text), f"accelsim/data/conventions/{name}.yaml")


def convention_from_dict(doc: Any, source: str = "<memory>") -> AccountingConvention:
    """Check and read a convention document; raises :class:`InputError` listing every problem."""
    rd = Reader()
    top = rd.mapping(doc, "")
    if top is None:
        raise InputError(rd.problems, source)
    rd.keys(top, _TOP, "")
    schema = rd.string(top, "schema", "", choices=[SCHEMA])
    version = rd.integer(top, "schema_version", "", minimum=SCHEMA_VERSION,
                         maximum=SCHEMA_VERSION)
    name = rd.string(top, "name", "")
    description = rd.string(top, "description", "")
    citation = rd.string(top, "citation", "", default="-")
    method = rd.string(top, "method", "", choices=METHODS, default="ops")
    rules = rd.mapping(top.get("rules", {}) or {}, "rules") if method == "ops" else None
    values: dict[str, Any] = {}
    if rules is not None:
        rd.keys(rules, _RULES, "rules")
        values["bn"] = rd.string(rules, "bn", "rules", choices=BN_RULES, default="folded")
        values["eltwise"] = rd.string(rules, "eltwise", "rules", choices=ELTWISE_RULES,
                                      default="counted")
        values["fractional_hidden"] = rd.boolean(rules, "fractional_hidden", "rules",
                                                 default=False)
        keep = rd.sequence(rules.get("keep_fp") or [], "rules.keep_fp")
        if keep is not None:
            bad = [k for k in keep if not isinstance(k, str) or not k]
            if bad:
                rd.problem("rules.keep_fp", bad[0], "must be layer names or patterns")
            values["keep_fp"] = tuple(str(k) for k in keep)
        values["fp_bytes"] = rd.integer(rules, "fp_bytes", "rules", minimum=1, maximum=8,
                                        default=None)
    elif method != "ops" and "rules" in top:
        rd.problem("rules", "<key>", f"method {method} has its own rules (docs/accounting.md)")
    if rd.problems or None in (schema, version, name, description):
        raise InputError(rd.problems, source)
    return AccountingConvention(str(name), str(description), str(citation), str(method),
                                source=source, **values)
