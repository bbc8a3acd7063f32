"""apscn doctor

Services are imported inside each command (lazily): `apscn --help` imports every command module.
"""

from __future__ import annotations

from contextlib import closing

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.options import JsonOpt, make_app
from apscn_tracker.cli.output import print_checks

_MARK = {"ok": "ok  ", "info": "--  ", "warn": "warn", "fail": "FAIL"}


def doctor(as_json: JsonOpt = False) -> None:
    """Check the loop and the setup. FAIL (exit code 1, for cron or monitoring) is what stops the reminders: the
    tick has not run in 26 hours, mail cannot be sent, the ledger is unsound. warn (exit code 0) is listed:
    districts without a contact, a placeholder sender, failed messages."""
    from apscn_tracker.config import ConfigError
    from apscn_tracker.services import doctor as svc

    try:
        ctx = make_app()
    except ConfigError as exc:
        result = svc.config_failure(exc)
    else:
        with closing(ctx):
            result = svc.doctor(ctx)
    warned = result["warnings"]
    ok = f"nothing stops the reminders; {warned} warning(s) to look at (warn above)" if warned else "all good"
    print_checks(result, marks=_MARK, ok=ok, bad="the reminders are at risk: fix what FAIL says above", as_json=as_json)


def register(app: LazyCommands) -> None:
    app.command()(doctor)
