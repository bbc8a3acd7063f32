"""apscn doctor"""

from __future__ import annotations

from contextlib import closing

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.options import JsonOpt, make_app
from apscn_tracker.cli.output import print_checks

_MARK = {"ok": "ok", "info": "--", "attention": "!!"}


def doctor(as_json: JsonOpt = False) -> None:
    """Check the loop and the setup: when the tick last ran, pending and failed messages, districts without
    a contact, configuration problems. Exit code 1 when something needs attention (for cron or monitoring)."""
    from apscn_tracker.config import ConfigError
    from apscn_tracker.services import doctor as svc

    try:
        ctx = make_app()
    except ConfigError as exc:
        result = svc.config_failure(exc)
    else:
        with closing(ctx):
            result = svc.doctor(ctx)
    print_checks(result, marks=_MARK, ok="all good", bad="something needs attention (see !! above)", as_json=as_json)


def register(app: LazyCommands) -> None:
    app.command()(doctor)
