"""What commands print: JSON for scripts, tables and check lists for people, warnings on stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer

from apscn_tracker.cli.table import Col, render, terminal_width


def emit_json(data: Any) -> None:
    import json  # lazy: about 2 ms, a few percent of `apscn --help`, which prints no JSON

    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def print_checks(result: dict[str, Any], *, marks: dict[str, str], ok: str, bad: str, as_json: bool) -> None:
    """A list of named checks (``doctor``, ``db check``): JSON or one line each; exit 1 unless all are fine."""
    if as_json:
        emit_json(result)
    else:
        width = terminal_width(sys.stdout)  # wrapped to the terminal (or COLUMNS); a pipe gets whole lines
        for check in result["checks"]:
            mark = marks.get(check["status"], "??")
            _echo_wrapped(f"{mark} {check['name']}: {check['message']}", width, " " * (len(mark) + 1))
            for line in check["details"]:
                _echo_wrapped(f"     {line}", width, "       ")
        typer.echo(ok if result["ok"] else bad)
    if not result["ok"]:
        raise typer.Exit(1)


def _echo_wrapped(line: str, width: int | None, indent: str) -> None:
    if width is None or len(line) <= width:
        typer.echo(line)
        return
    import re  # lazy: only a long line on a terminal needs them
    import textwrap

    kept = re.sub(r"`[^`]*`", lambda m: m.group(0).replace(" ", "\x00"), line)  # a `command` stays on one line
    filled = textwrap.fill(kept, width, subsequent_indent=indent, break_on_hyphens=False, break_long_words=False)
    typer.echo(filled.replace("\x00", " "))


def print_table(
    rows: list[dict[str, Any]],
    columns: Sequence[Col | tuple[str, str]],
    *,
    title: str | None = None,
    styles: dict[str, dict[str, str]] | None = None,
    right: Sequence[str] = (),
) -> None:
    """A table that fits the terminal, one line per record (``cli/table.py``); ``styles`` maps a column key to
    {value: style}; a ``(key, header)`` pair is a flexible column."""
    render(rows, columns, title=title, styles=styles, right=right)
