"""apscn status | history

Services are imported inside each command (lazily): `apscn --help` imports every command module.
"""

from __future__ import annotations

import sys
import textwrap
from collections import Counter
from typing import Annotated, Any

import typer

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.options import JsonOpt, LeaArg, LeaOpt, TodayOpt, make_app
from apscn_tracker.cli.output import emit_json, print_table
from apscn_tracker.cli.table import Col, terminal_width

# At 80 columns a status row keeps its code, name, year, status and the two dates that matter for chasing;
# the lowest `keep` goes first when the terminal is narrower than the whole row.
STATUS_COLUMNS = [
    Col("lea", "LEA", keep=20),
    Col("district", "District", flex=True, min=10, keep=18, names=True),
    Col("vendor", "Vendor", flex=True, min=5, keep=12),
    Col("school_year", "Year", keep=16),
    Col("method", "Method", keep=2),
    Col("status", "Status", keep=19),
    Col("requested_on", "Requested", keep=14),
    Col("expected_enabled_by", "Expected", keep=10),
    Col("enabled_on", "Enabled", keep=6),
    Col("confirmed_on", "Confirmed", keep=4),
    Col("working_days_to_enable", "WD", keep=1),
]
UPLOADED = Col("last_upload", "Uploaded", keep=5)  # a scripted (SFTP) connection's last upload
HISTORY_COLUMNS = [
    Col("at", "Recorded (UTC)", keep=2),
    Col("on", "On", keep=18),
    Col("kind", "What", keep=20),
    Col("vendor", "Vendor", flex=True, min=5, keep=8),
    Col("school_year", "Year", keep=14),
    Col("actor", "By", flex=True, min=6, keep=3),  # at 80 columns a correction's old -> new fits without it
    Col("note", "Note", flex=True, min=35, keep=16),  # "requested 2026-10-13 -> 2026-10-01" whole
]
STYLES = {
    "status": {
        "lapsed": "bold red",
        "overdue": "red",
        "not_requested": "yellow",
        "requested": "cyan",
        "enabled": "blue",
        "confirmed": "green",
        "disconnected": "dim",
        "scripted": "magenta",
    }
}


def status(
    year: Annotated[
        str | None, typer.Option(help="2026-27, current (default), previous, next or all.", show_default=False)
    ] = None,
    lea: LeaOpt = None,
    vendor: Annotated[str | None, typer.Option(help="Only this vendor.", show_default=False)] = None,
    only: Annotated[
        str | None, typer.Option(help="Only this status (e.g. overdue, lapsed).", show_default=False)
    ] = None,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Where each connection's APSCN request stands, one row per connection and school year."""
    from apscn_tracker.services.status import status_rows

    ctx = make_app(today)
    rows = status_rows(ctx, year=year, lea=lea, vendor=vendor, only=only)
    if as_json:
        emit_json(rows)
        return
    print_table(
        rows,
        [
            *STATUS_COLUMNS,
            *([Col("last_upload", "Uploaded", keep=5)] if any(r.get("last_upload") for r in rows) else []),
        ],
        title=f"APSCN API renewals on {ctx.today}",
        styles=STYLES,
        right=("working_days_to_enable",),
    )
    if not sys.stdout.isatty():  # piped: the records only, one a line
        return
    counts = Counter(r["status"] for r in rows)
    line = "  ".join(f"{k}: {n}" for k, n in sorted(counts.items()))
    typer.echo(textwrap.fill(line, terminal_width(sys.stdout) or 80, break_on_hyphens=False))


def history(lea: LeaArg, as_json: JsonOpt = False) -> None:
    """Everything that happened to a district, oldest first (append-only)."""
    from apscn_tracker.services.status import history as run

    rows = run(make_app(), lea=lea)
    if as_json:
        keys = ("at", "on", "kind", "vendor", "school_year", "actor", "source", "note", "change")
        emit_json([{k: r[k] for k in keys} for r in rows])
    else:
        print_table([_shown(r) for r in rows], HISTORY_COLUMNS)


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    """A history row as the table shows it: "On" is the day it took effect, else the day it was recorded; a step a
    district reported by its link names the contact "via link"."""
    actor = f"{row['actor']} via {row['source']}" if row.get("source") else row["actor"]
    return {**row, "on": row["on"] or row["at"][:10], "note": _noted(row), "actor": actor}


def _noted(row: dict[str, Any]) -> str | None:
    """The note, after what a correction changed (old -> new)."""
    parts = [p for p in (row.get("change"), row.get("note")) if p]
    return "; ".join(parts) or None


def register(app: LazyCommands) -> None:
    app.command()(status)
    app.command()(history)
