"""apscn doctor"""

from __future__ import annotations

import typer

from apscn_tracker.cli.common import JsonOpt, emit_json

_MARK = {"ok": "ok", "info": "--", "attention": "!!"}


def doctor(as_json: JsonOpt = False) -> None:
    """Check the loop and the setup: when the tick last ran, pending and failed messages, districts without
    a contact, configuration problems. Exit code 1 when something needs attention (for cron or monitoring)."""
    from apscn_tracker.config import ConfigError
    from apscn_tracker.services import doctor as svc
    from apscn_tracker.services.app import App

    try:
        ctx = App.from_env()
    except ConfigError as exc:
        result = svc.config_failure(exc)
    else:
        try:
            result = svc.doctor(ctx)
        finally:
            ctx.close()
    if as_json:
        emit_json(result)
    else:
        for check in result["checks"]:
            typer.echo(f"{_MARK.get(check['status'], '??')} {check['name']}: {check['message']}")
            for line in check["details"]:
                typer.echo(f"     {line}")
        typer.echo("all good" if result["ok"] else "something needs attention (see !! above)")
    if not result["ok"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(doctor)
