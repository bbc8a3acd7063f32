"""apscn reminders start|pause|status

Services are imported inside each command (lazily): `apscn --help` imports every command module.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.options import JsonOpt, TodayOpt, make_app, parse_day
from apscn_tracker.cli.output import emit_json

sub = typer.Typer(no_args_is_help=True)


def _said(r: dict[str, Any]) -> str:
    if not r["held"]:
        return f"district reminders are running; {r['due_today']} due today go out with the next tick"
    until = f" until {r['until']} (they start again the day after)" if r["until"] else " until `apscn reminders start`"
    return f"district reminders are held{until}; {r['due_today']} would go out today"


@sub.command()
def start(today: TodayOpt = None, as_json: JsonOpt = False) -> None:
    """Start (or resume) district reminders: the next tick queues what is due."""
    from apscn_tracker.services.tick.hold import start as run

    r = run(make_app(today))
    emit_json(r) if as_json else typer.echo(_said(r))


@sub.command()
def pause(
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="Hold them up to and including this date (default: until started).", show_default=False
        ),
    ] = None,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hold district reminders: the tick records everything, queues nothing for districts, and the coordinator
    digest says how many would go out."""
    from apscn_tracker.services.tick.hold import pause as run

    r = run(make_app(today), until=parse_day(until, "--until"))
    emit_json(r) if as_json else typer.echo(_said(r))


@sub.command()
def status(today: TodayOpt = None, as_json: JsonOpt = False) -> None:
    """Say whether district reminders are held, since when, and how many are due today."""
    from apscn_tracker.services.tick.hold import status as run

    r = run(make_app(today))
    emit_json(r) if as_json else typer.echo(_said(r) + (f" (set {r['since']} by {r['by']})" if r["since"] else ""))


def register(app: LazyCommands) -> None:
    app.add_typer(sub, name="reminders", help="Hold or start the district reminders (a new ledger starts held).")
