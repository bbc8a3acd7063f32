"""What every command shares: options, the app context, JSON and table output, error handling."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from apscn_tracker.services.app import App

TodayOpt = Annotated[
    str | None,
    typer.Option("--today", help="Act as if today were this date (YYYY-MM-DD). Also APSCN_TODAY.", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of a table.")]
VendorOpt = Annotated[str, typer.Option("--vendor", help="Vendor name.")]
YearOpt = Annotated[
    str | None,
    typer.Option("--year", help="School year, like 2026-27 (default: the current one).", show_default=False),
]


def parse_day(text: str | None, what: str = "date") -> date | None:
    if text is None:
        return None
    from apscn_tracker.config import parse_date

    return parse_date(text, what)


def make_app(today: str | None = None) -> App:
    from apscn_tracker.services.app import App

    return App.from_env(today=parse_day(today, "--today"))


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def print_table(
    rows: list[dict[str, Any]],
    columns: list[tuple[str, str]],
    *,
    title: str | None = None,
    styles: dict[str, dict[str, str]] | None = None,
) -> None:
    """A rich table; ``styles`` maps a column key to {value: style}."""
    from rich.console import Console
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


def _one_line(exc: BaseException) -> str | None:
    """The message for an error a user can act on, or None for a bug."""
    from apscn_tracker.config import ConfigError
    from apscn_tracker.errors import UserError

    if isinstance(exc, UserError | ConfigError):
        return str(exc)
    module = type(exc).__module__
    if module.startswith("apscn_tracker.ledger") and type(exc).__name__ == "LedgerError":
        return str(exc)
    if module.startswith("sqlalchemy"):
        from apscn_tracker.ledger.db import describe_db_error

        return describe_db_error(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return None


class ApscnGroup(TyperGroup):
    """Turns the errors a user can act on into one line on stderr and exit code 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            message = _one_line(exc)
            if message is None:
                raise
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(1) from None
