"""Errors raised by accelsim on bad input.

Every problem with a workload or hardware-config file is reported as one line of the form
``FILE: FIELD.PATH: VALUE (why)``; :class:`InputError` may carry several such problems at once
(loaders collect all of them before raising). The CLI prints them and exits with status 2.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in an input: where (``field`` is a dotted path), what value, and why."""

    field: str
    value: object
    why: str

    def render(self, source: str | None = None) -> str:
        value = self.value
        if isinstance(value, str) and not (value.startswith("<") and value.endswith(">")):
            value = repr(value)
        elif isinstance(value, (dict, list, tuple)):
            text = repr(value)
            value = text if len(text) <= 60 else text[:57] + "..."
        prefix = f"{_oneline(source)}: " if source else ""
        return f"{prefix}{_oneline(self.field)}: {_oneline(str(value))} ({self.why})"


def _oneline(text: str) -> str:
    """Escape control characters so that one problem is always one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode()
                   for ch in text)


class AccelsimWarning(UserWarning):
    """Something the user should know that does not stop the command (a config that leaves a
    quarter of its area budget unused, published points left out of a figure). The command
    line prints it as one ``warning:`` line on stderr."""


class AccelsimError(Exception):
    """Base class of every error accelsim raises on purpose."""


class InputError(AccelsimError):
    """A workload, hardware config or sweep spec is malformed or inconsistent.

    ``problems`` lists every problem found; ``source`` names the file (or ``<memory>``).
    ``str(err)`` is one line per problem, each naming the file, the field and the value.
    """

    def __init__(self, problems: list[Problem] | Problem, source: str | None = None):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = tuple(problems)
        self.source = source
        super().__init__(self._text())

    def _text(self) -> str:
        return "\n".join(p.render(self.source) for p in self.problems)

    def with_source(self, source: str) -> InputError:
        """The same problems (and error class) attributed to ``source``."""
        return type(self)(list(self.problems), source)


class ConfigError(InputError):
    """A hardware config is invalid."""


class WorkloadError(InputError):
    """A workload file is invalid."""


class CompatibilityError(InputError):
    """A workload cannot run on a hardware config (e.g. it needs a unit class the config lacks)."""


class LivenessError(AccelsimError):
    """The discrete-event engine stopped making progress; the message says who waits on what."""

