"""Shared pieces of the command line: error handling, exit codes and options defined once.

Exit status: 0 success; 2 bad input (one ``error: FILE: FIELD: VALUE (why)`` line per problem);
1 an internal error (one line, and the traceback with ``accelsim --debug``) or a check that
failed (``paper``, ``verify``); 130 interrupted (Ctrl-C); 141 the output pipe was closed
(``accelsim paper | head -1``), quietly.
"""
from __future__ import annotations

import functools
import os
import shlex
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from accelsim.choices import Model, Objective, SchedulePolicy
from accelsim.conventions import bundled
from accelsim.counts import Convention
from accelsim.errors import AccelsimError, AccelsimWarning, InputError, LivenessError, Problem
from accelsim.outputs import OutputError, check_outputs, strict_json

EXIT_BAD_INPUT = 2
EXIT_CHECK_FAILED = 1
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130
#: A reader closed the output pipe (``accelsim paper | head -1``): stop quietly, with the
#: status a process killed by SIGPIPE has in the shell.
EXIT_BROKEN_PIPE = 141
#: Environment variable that turns ``--debug`` on (tracebacks of internal errors).
DEBUG_ENV = "ACCELSIM_DEBUG"


def debugging() -> bool:
    """Whether ``accelsim --debug`` (or ``ACCELSIM_DEBUG=1``) asked for tracebacks."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    if root is not None and isinstance(root.obj, dict) and root.obj.get("debug"):
        return True
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


class BadInput(click.ClickException):
    """One line per problem on stderr, exit status 2, no traceback."""

    exit_code = EXIT_BAD_INPUT

    def show(self, file: Any = None) -> None:
        for line in self.format_message().splitlines():
            click.echo(f"error: {line}", err=True)


class EngineStalled(BadInput):
    """The engine stopped making progress on inputs that passed validation: an accelsim bug,
    not the user's, so exit status 1; one line naming who waits on what."""

    exit_code = EXIT_CHECK_FAILED


def stalled_line(exc: LivenessError, shown: int = 4) -> str:
    """:class:`LivenessError`'s report (a header and one line per stalled stage) as one line."""
    head, *waits = [line.strip() for line in str(exc).splitlines() if line.strip()]
    more = f"; and {len(waits) - shown} more stalled stages" if len(waits) > shown else ""
    return (f"{head} {'; '.join(waits[:shown])}{more} (the inputs are valid, so this is an "
            "accelsim bug: please report it with the workload and config)")


class Interrupted(click.ClickException):
    """Ctrl-C: what was saved and how to resume, on stderr; exit status 130."""

    exit_code = EXIT_INTERRUPTED

    def show(self, file: Any = None) -> None:
        for line in self.format_message().splitlines():
            click.echo(line, err=True)


class InternalError(click.ClickException):
    """An exception accelsim did not expect: one line (the traceback with ``--debug``), exit 1."""

    exit_code = EXIT_INTERNAL

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def internal_line(exc: BaseException) -> str:
    """One line for an unexpected exception, pointing at ``--debug``."""
    text = " ".join(str(exc).split()) or "(no message)"
    if len(text) > 300:
        text = text[:297] + "..."
    return (f"internal error ({type(exc).__name__}: {text}); this is an accelsim bug: rerun "
            "with 'accelsim --debug ...' for the traceback and report it with the inputs")


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """accelsim's warnings as one ``warning: ...`` line on stderr; others as Python shows them."""
    if issubclass(category, AccelsimWarning):
        click.echo(f"warning: {message}", err=True)
    else:
        click.echo(warnings.formatwarning(message, category, filename, lineno, line).rstrip(),
                   err=True)


def _quiet_broken_pipe() -> None:
    """The reader of stdout went away: point stdout at /dev/null (so the interpreter's final
    flush cannot fail again) and exit without a message."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    raise SystemExit(EXIT_BROKEN_PIPE)


def handle_errors(fn: Callable) -> Callable:
    """Turn accelsim's input errors (and unreadable files) into :class:`BadInput` (exit 2), a
    stalled engine into :class:`EngineStalled` (exit 1), Ctrl-C into exit 130 and any other
    exception into one line with exit status 1 (re-raised with its traceback under
    ``--debug``); print :class:`~accelsim.errors.AccelsimWarning` s as ``warning:`` lines on
    stderr; exit quietly (status 141) when the output pipe is closed."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> object:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default", AccelsimWarning)
                warnings.showwarning = _show_warning
                return fn(*args, **kwargs)
        except BrokenPipeError:
            _quiet_broken_pipe()
            raise  # not reached
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt as exc:
            raise Interrupted(str(exc) or "interrupted (Ctrl-C)") from None
        except InputError as exc:
            raise BadInput(str(exc)) from None
        except LivenessError as exc:
            raise EngineStalled(stalled_line(exc)) from None
        except AccelsimError as exc:
            raise BadInput(str(exc)) from None
        except OSError as exc:  # inputs are read by the loaders: this is an output that fails
            if debugging():
                raise
            where = str(exc.filename) if exc.filename is not None else None
            if where is None:
                raise InternalError(internal_line(exc)) from None
            why = "a file is in the way of a folder" if isinstance(exc, FileExistsError) else \
                exc.strerror or type(exc).__name__
            raise BadInput(Problem("<file>", where, f"cannot write: {why}").render(where)) \
                from None
        except MemoryError:
            raise BadInput("<memory>: <machine>: 'out of memory' (the workload or sweep is too "
                           "large for this machine; see the limits in docs/reliability.md)") \
                from None
        except Exception as exc:
            if debugging():
                raise
            raise InternalError(internal_line(exc)) from None

    return wrapper


def guard_outputs(outputs: Mapping[str, Path | None], inputs: Iterable[Path | None],
                  allow_bundled: bool = False) -> None:
    """Refuse (exit 2) outputs that resolve to an input of the command, to each other or to a
    bundled file, before anything is written (:func:`accelsim.outputs.check_outputs`)."""
    try:
        check_outputs(outputs, [p for p in inputs if p is not None],
                      allow_bundled=allow_bundled)
    except OutputError as exc:
        raise BadInput(str(exc)) from None


def command_line(*parts: object) -> str:
    """A shell command line of ``parts`` (None and False parts left out), quoted for a shell."""
    return shlex.join(str(p) for p in parts if p is not None and p is not False)


#: The type of every input file or folder argument. click does not check it: the loader that
#: reads it reports a missing file, a folder given for a file (and the reverse) in one line,
#: ``error: FILE: <file>: 'FILE' (cannot read: ...)``, like any other problem with an input.
INPUT_PATH = click.Path(path_type=Path)


def hw_option(required: bool = True, multiple: bool = False) -> Callable:
    return click.option("--hw", "hw", required=required, multiple=multiple,
                        type=INPUT_PATH,
                        help="Hardware config YAML (see hwconfigs/).")


def json_option(fn: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True,
                        help="Print machine-readable JSON instead of a table.")(fn)


def out_option(help_text: str = "Output directory.") -> Callable:
    return click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
                        default=None, help=help_text)


def jobs_option(fn: Callable) -> Callable:
    return click.option("--jobs", "jobs", type=click.IntRange(min=1), default=1,
                        show_default=True, help="Local worker processes.")(fn)


def echo_json(data: Any) -> None:
    """Print ``data`` as JSON that any parser reads (NaN and infinities as ``null``)."""
    click.echo(strict_json(data, indent=1))


def engine_option(models: Sequence[Model] = tuple(Model), default: Model = Model.DES,
                  help_text: str = "The model that answers.") -> Callable:
    """``--engine``: one of ``models`` (see :class:`accelsim.choices.Model`)."""
    return click.option("--engine", "engine", type=click.Choice([m.value for m in models]),
                        default=default.value, show_default=True, help=help_text)


def schedule_option(help_text: str = "Barrier between layers, or tiles start when inputs "
                    "allow.") -> Callable:
    """``--schedule``: one of :class:`accelsim.choices.SchedulePolicy`."""
    return click.option("--schedule", "schedule", type=click.Choice(SchedulePolicy.values()),
                        default=SchedulePolicy.SEQUENTIAL.value, show_default=True,
                        help=help_text)


def objective_option(fn: Callable) -> Callable:
    """``--objective``: one of :class:`accelsim.choices.Objective`."""
    return click.option("--objective", "objective", type=click.Choice(Objective.values()),
                        default=Objective.THROUGHPUT.value, show_default=True,
                        help="What to minimise: cycles, energy, or their product.")(fn)


def convention_option(help_text: str = "'paper': the paper's fractional hidden widths.",
                      ) -> Callable:
    """``--convention NAME|FILE``: a bundled accounting convention
    (:func:`accelsim.conventions.bundled`) or a convention YAML file; checked by the command's
    function, which reports a bad one in one line."""
    names = ", ".join(bundled())
    return click.option("--convention", "convention", metavar="NAME|FILE",
                        default=Convention.ACTUAL.value, show_default=True,
                        help=f"Accounting convention: {names}, or a convention YAML file "
                             f"(docs/accounting.md). {help_text}")
