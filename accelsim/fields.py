"""Strict readers for nested mappings (JSON/YAML documents), shared by every loader.

A :class:`Reader` walks a document, checks types and ranges, rejects unknown keys (suggesting the
closest known key) and *collects* problems instead of stopping at the first one, so a loader can
report every mistake in a file at once. Values come back as plain Python numbers and strings.
"""
from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Any, TypeVar

from accelsim.errors import Problem
from accelsim.limits import NUMBER, SMALLEST

_T = TypeVar("_T")
_MISSING = object()


def need(value: _T | None) -> _T:
    """A value read by a :class:`Reader` after the caller checked that no problem was recorded
    for it: the reader returns None only together with a recorded problem, so None here is an
    accelsim bug (AssertionError), never bad input."""
    if value is None:
        raise AssertionError("a Reader returned None without recording a problem")
    return value
#: Largest magnitude a number in an input file may have (counts, sizes, bandwidths, energies,
#: clocks): beyond it the models' 64-bit integer and float arithmetic overflows. 1e15 is about
#: 100,000 times the MACs of a ResNet-152 inference (:data:`accelsim.limits.NUMBER`). Non-zero
#: numbers must also be at least :data:`accelsim.limits.SMALLEST` (1e-15) in magnitude, so that
#: reciprocals (cycles per byte of a bandwidth, seconds per cycle of a clock) stay finite.
LIMIT = NUMBER


class Reader:
    """Collects :class:`Problem` s while reading fields out of nested mappings."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    # -- bookkeeping -------------------------------------------------------------------------
    def problem(self, field: str, value: object, why: str) -> None:
        self.problems.append(Problem(field, value, why))

    def mapping(self, value: Any, field: str) -> dict | None:
        if not isinstance(value, dict):
            self.problem(field or "<document>", _short(value), "must be a mapping")
            return None
        return value

    def sequence(self, value: Any, field: str) -> list | None:
        if not isinstance(value, list):
            self.problem(field, _short(value), "must be a list")
            return None
        return value

    def keys(self, doc: dict, known: Iterable[str], path: str) -> None:
        """Report keys of ``doc`` that are not in ``known``, with a close-match suggestion."""
        known = list(known)
        for key in doc:
            if key not in known:
                near = difflib.get_close_matches(str(key), known, n=1)
                hint = f"unknown key; did you mean '{near[0]}'?" if near else \
                    f"unknown key; expected one of {', '.join(sorted(known))}"
                self.problem(_join(path, str(key)), "<key>", hint)

    # -- typed fields ------------------------------------------------------------------------
    def get(self, doc: dict, key: str, path: str, default: Any = _MISSING) -> Any:
        """``doc[key]``; a missing or null (``None``) value is a problem if the field is required
        (no ``default``) and gives ``default`` otherwise."""
        if key in doc and doc[key] is not None:
            return doc[key]
        if default is _MISSING:
            if key in doc:
                self.problem(_join(path, key), "<null>", "required field is null")
            else:
                self.problem(_join(path, key), "<missing>", "required field is missing")
            return None
        return default

    def integer(self, doc: dict, key: str, path: str, *, minimum: int | None = 0,
                maximum: int | None = LIMIT, default: Any = _MISSING) -> int | None:
        value = self.get(doc, key, path, default)
        if value is None or value is default and default is not _MISSING:
            return value
        field = _join(path, key)
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer() and math.isfinite(value):
                value = int(value)
            else:
                self.problem(field, value, "must be an integer")
                return None
        if minimum is not None and value < minimum:
            self.problem(field, value, f"must be >= {minimum}")
            return None
        if maximum is not None and value > maximum:
            self.problem(field, value, _too_large(maximum))
            return None
        return value

    def number(self, doc: dict, key: str, path: str, *, minimum: float | None = 0.0,
               strict: bool = False, maximum: float | None = LIMIT,
               default: Any = _MISSING) -> float | None:
        value = self.get(doc, key, path, default)
        if value is None or value is default and default is not _MISSING:
            return value
        field = _join(path, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(field, value, "must be a number")
            return None
        raw, value = value, float(value)
        if not math.isfinite(value):
            self.problem(field, raw, "must be finite")
            return None
        if minimum is not None and (value <= minimum if strict else value < minimum):
            self.problem(field, raw, f"must be {'>' if strict else '>='} {minimum:g}")
            return None
        if maximum is not None and value > maximum:
            self.problem(field, raw, _too_large(maximum))
            return None
        if value < -LIMIT:
            self.problem(field, raw, f"must be >= {-LIMIT:g}")
            return None
        if value != 0 and abs(value) < SMALLEST:
            self.problem(field, raw, f"must be 0 or at least {SMALLEST:g} in magnitude: "
                         "smaller values make derived quantities (cycles = bytes / bandwidth, "
                         "time = cycles / clock) overflow")
            return None
        return value

    def string(self, doc: dict, key: str, path: str, *, choices: Iterable[str] | None = None,
               default: Any = _MISSING) -> str | None:
        value = self.get(doc, key, path, default)
        if value is None or value is default and default is not _MISSING:
            return value
        field = _join(path, key)
        if not isinstance(value, str) or not value:
            self.problem(field, value, "must be a non-empty string")
            return None
        if choices is not None:
            choices = list(choices)
            if value not in choices:
                near = difflib.get_close_matches(value, choices, n=1)
                hint = f"; did you mean '{near[0]}'?" if near else ""
                self.problem(field, value, f"must be one of {', '.join(choices)}{hint}")
                return None
        return value

    def boolean(self, doc: dict, key: str, path: str, default: Any = _MISSING) -> bool | None:
        value = self.get(doc, key, path, default)
        if value is None or value is default and default is not _MISSING:
            return value
        if not isinstance(value, bool):
            self.problem(_join(path, key), value, "must be true or false")
            return None
        return value


def _too_large(maximum: float) -> str:
    if maximum == LIMIT:
        return f"must be <= {LIMIT:g}: larger values overflow the models' 64-bit arithmetic"
    return f"must be <= {maximum:g}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _short(value: Any) -> object:
    if isinstance(value, (dict, list)):
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    return value
