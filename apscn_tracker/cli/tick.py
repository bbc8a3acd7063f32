"""apscn tick

Services are imported inside each command (lazily): `apscn --help` imports every command module.
"""

from __future__ import annotations

from typing import Annotated

import typer

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.options import JsonOpt, TodayOpt, make_app
from apscn_tracker.cli.output import emit_json


def tick(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be disconnected and queued; write and send nothing.")
    ] = False,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the day's work once: June 30 rollover, due reminders, coordinator digest, delivery, heartbeat.

    Safe to run any number of times a day: each reminder is queued once. Missed days catch up with the
    latest due reminder only. Exit code 1 when a mail setup problem or a full disk stopped delivery (what
    was sent before it is counted, the rest waits); a mail server that is down is retried later with exit
    code 0, and `apscn doctor` flags what waits too long.
    """
    from apscn_tracker.services.tick import summary_line
    from apscn_tracker.services.tick import tick as run

    result = run(make_app(today), dry_run=dry_run)
    if as_json:
        emit_json(result)
    else:
        typer.echo(summary_line(result))
        for row in result.get("would_queue", []):
            to = ", ".join(row["to"]) or "nobody (no contact, no coordinator_email)"
            typer.echo(
                f"  {row['kind']} {row['lea']} {row['vendor']} {row['school_year']} (due {row['milestone']}) to {to}"
            )
        if result.get("report"):
            typer.echo(f"yearly report: {result['report']}")
    problem = f"delivery: {result['delivery_error']}" if result.get("delivery_error") else result.get("error")
    if problem:  # a mail setup problem or a full disk: one line; the counts above are what was done
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1)


def register(app: LazyCommands) -> None:
    app.command()(tick)
