"""Errors a user can act on become one line on stderr and exit code 1; anything else is a bug and shows its
traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer


def one_line(exc: BaseException) -> str | None:
    """The message for an error a user can act on, or None for a bug."""
    from apscn_tracker.config import ConfigError  # lazy: ~15 ms that `apscn --help` does not need
    from apscn_tracker.errors import UserError

    if isinstance(exc, UserError | ConfigError):  # LedgerError included
        return str(exc)
    module = type(exc).__module__
    if module.startswith("sqlalchemy"):
        from apscn_tracker.ledger.db import describe_db_error  # lazy: loaded already when this can happen

        return describe_db_error(exc)
    if module.startswith("jinja2"):  # a coordinator's own template: missing include, syntax, sandbox refusal
        from jinja2 import TemplateNotFound  # lazy: loaded already when this can happen

        if isinstance(exc, TemplateNotFound):
            return f"template {exc.name!r} not found: a template includes only files of its own folder"
        where = getattr(exc, "filename", None) or getattr(exc, "name", None)
        return f"template problem{f' in {where}' if where else ''}: {exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return None


@contextmanager
def told_in_one_line() -> Iterator[None]:
    """Around a command: an error a user can act on is printed as ``error: ...`` and exits with code 1."""
    try:
        yield
    except BrokenPipeError:  # the reader of stdout stopped reading (``| head``): not an error
        quiet_closed_pipe()
    except Exception as exc:
        message = one_line(exc)
        if message is None:
            raise
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(1) from None


def quiet_closed_pipe() -> NoReturn:
    """The reader of stdout has gone: point stdout at /dev/null (so the interpreter's last flush cannot fail
    again) and exit 0, as a filter does when ``head`` has read enough."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    raise SystemExit(0)
