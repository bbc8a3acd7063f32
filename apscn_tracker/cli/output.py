"""What commands print: JSON for scripts, tables and check lists for people, warnings on stderr."""

from __future__ import annotations

import sys
from typing import Any

import typer


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
    columns: list[tuple[str, str]],
    *,
    title: str | None = None,
    styles: dict[str, dict[str, str]] | None = None,
) -> None:
    """A rich table; ``styles`` maps a column key to {value: style}."""
    from rich.console import Console  # lazy: rich is the heaviest import of a table command; --json skips it
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    for _, header in columns:
        table.add_column(header, overflow="fold")
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            text = "" if value is None else str(value)
            style = (styles or {}).get(key, {}).get(text)
            cells.append(f"[{style}]{text}[/]" if style else text.replace("[", r"\["))
        table.add_row(*cells)
    console = Console()
    if not console.is_terminal:  # piped or captured: don't fold cells to 80 columns
        console = Console(width=200)
    console.print(table)
    if not rows:
        typer.echo("(nothing to show)")
