"""What commands print: JSON for scripts, tables and check lists for people, warnings on stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer

from apscn_tracker.cli.table import Col, render


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
        for check in result["checks"]:
            typer.echo(f"{marks.get(check['status'], '??')} {check['name']}: {check['message']}")
            for line in check["details"]:
                typer.echo(f"     {line}")
        typer.echo(ok if result["ok"] else bad)
    if not result["ok"]:
        raise typer.Exit(1)


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
