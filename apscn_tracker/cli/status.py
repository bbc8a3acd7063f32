"""apscn status | history

Services are imported inside each command (lazily): `apscn --help` imports every command module.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.options import JsonOpt, LeaArg, TodayOpt, make_app
from apscn_tracker.cli.output import emit_json, print_table

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
    lea: Annotated[str | None, typer.Option(help="Only this district.", show_default=False)] = None,
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
            ("lea", "LEA"),
            ("district", "District"),
            ("vendor", "Vendor"),
            ("school_year", "Year"),
            ("method", "Method"),
            ("status", "Status"),
            ("requested_on", "Requested"),
            ("expected_enabled_by", "Expected"),
            ("enabled_on", "Enabled"),
            ("confirmed_on", "Confirmed"),
            ("working_days_to_enable", "WD"),
            *([("last_upload", "Uploaded")] if any(r.get("last_upload") for r in rows) else []),
        ],
        title=f"APSCN API renewals on {ctx.today}",
        styles=STYLES,
    )
    counts = Counter(r["status"] for r in rows)
    typer.echo("  ".join(f"{k}: {n}" for k, n in sorted(counts.items())))


def history(lea: LeaArg, as_json: JsonOpt = False) -> None:
    """Everything that happened to a district, oldest first (append-only)."""
    from apscn_tracker.services.status import history as run

    rows = run(make_app(), lea=lea)
    if as_json:
        keys = ("at", "on", "kind", "vendor", "school_year", "actor", "source", "note")
        emit_json([{k: r[k] for k in keys} for r in rows])
    else:
        print_table(
            [{**r, "actor": f"{r['actor']} via {r['source']}" if r["source"] else r["actor"]} for r in rows],
            [
                ("at", "Recorded (UTC)"),
                ("on", "On"),
                ("kind", "What"),
                ("vendor", "Vendor"),
                ("school_year", "Year"),
                ("actor", "By"),
                ("note", "Note"),
            ],
        )


def register(app: LazyCommands) -> None:
    app.command()(status)
    app.command()(history)
