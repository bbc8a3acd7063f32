"""apscn import-renewals | upload

Services are imported inside each command (lazily): `apscn --help` imports every command module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.options import JsonOpt, LeaArg, TodayOpt, VendorOpt, make_app, parse_day
from apscn_tracker.cli.output import emit_json


def import_renewals(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: lea_code, vendor, school_year, requested_on, enabled_on, confirmed_on[, note]; "
            "an empty date is a step not done."
        ),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and count; write nothing.")] = False,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record where each district stands from a spreadsheet: every row is checked first (every problem listed
    at once), then all are written in one transaction, or none."""
    from apscn_tracker.services.renewal_import import import_renewals as run

    r = run(make_app(today), path=file, dry_run=dry_run)
    if as_json:
        emit_json(r)
        return
    steps = r["steps"]
    verb = "would record" if dry_run else "recorded"
    typer.echo(
        f"{r['file']}: {r['rows']} rows; {verb} {steps['requested']} requests, {steps['enabled']} enabled, "
        f"{steps['confirmed']} confirmed ({r['unchanged']} rows already in the ledger"
        + (f", {r['connections_created']} API connections created" if r["connections_created"] else "")
        + ")"
    )


def upload(
    lea: LeaArg,
    vendor: VendorOpt = "Xello",
    on: Annotated[str | None, typer.Option("--on", help="Date of the upload (default: today).")] = None,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a scripted (SFTP) upload of a course-planning district and tell the vendor's Onboarding Manager."""
    from apscn_tracker.services.uploads import record_upload

    r = record_upload(make_app(today), lea=lea, vendor=vendor, on=parse_day(on, "--on"))
    if as_json:
        emit_json(r)
        return
    told = f"; upload_complete queued to {r['told']}" if r["told"] else "; already told about this day's upload"
    typer.echo(f"{r['lea']} {r['vendor']}: uploaded on {r['uploaded_on']}{told}")


def register(app: LazyCommands) -> None:
    app.command("import-renewals")(import_renewals)
    app.command()(upload)
