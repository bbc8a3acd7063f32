"""apscn connect | request | enable | confirm | correct | retire

Services are imported inside each command (lazily): `apscn --help` imports every command module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from apscn_tracker.cli.completion import complete_lea
from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.options import JsonOpt, LeaArg, TodayOpt, VendorOpt, YearOpt, make_app, parse_day
from apscn_tracker.cli.output import emit_json

OnOpt = Annotated[str | None, typer.Option("--on", help="Date it happened (default: today).", show_default=False)]
NoteOpt = Annotated[str | None, typer.Option("--note", help="A note kept in the history.")]
LeasArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="LEA codes or unique parts of district names (several: all or nothing).",
        show_default=False,
        autocompletion=complete_lea,
    ),
]
FromOpt = Annotated[
    Path | None,
    typer.Option(
        "--from", help="A CSV with lea_code and an optional on column (all rows or none).", show_default=False
    ),
]


def _step(step: str, leas: list[str] | None, from_file: Path | None, as_json: bool, said: str, **given: Any) -> None:
    """One LEA: the step's own service; several, or --from FILE: the bulk service (one transaction)."""
    from apscn_tracker.services import bulk

    if not leas and from_file is None:
        raise typer.BadParameter("give an LEA (or several), or --from FILE", param_hint="LEA")
    if leas and from_file is not None:
        raise typer.BadParameter("give LEAs or --from FILE, not both", param_hint="LEA")
    app = make_app(given.pop("today"))
    if leas and len(leas) == 1:
        _done(bulk.STEPS[step](app, lea=leas[0], **given), as_json, said)
        return
    items = bulk.items_from_file(from_file) if from_file is not None else bulk.items_from_args(leas or [])
    results = bulk.bulk_step(app, step=step, items=items, where="line" if from_file else "arg", **given)
    if as_json:
        emit_json(results)
        return
    for r in results:
        _done(r, False, said)
    typer.echo(f"recorded {step} for {len(results)} districts")


def _done(r: dict[str, Any], as_json: bool, said: str) -> None:
    """Print a recorded step: its JSON, or one line that ``said`` ends, filled in from the result."""
    if as_json:
        emit_json(r)
    else:
        typer.echo(f"{r['lea']} {r['vendor']} {r['school_year']}: " + said.format_map(r))


def connect(
    lea: Annotated[str | None, typer.Argument(help="7-digit LEA code (or --all).", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every district without a connection to this vendor.")] = False,
    vendor: VendorOpt = "Xello",
    method: Annotated[
        str | None,
        typer.Option(help="api (APSCN, renewed yearly) or sftp (scripted upload).", show_default=False),
    ] = None,
    course_planning: Annotated[
        bool, typer.Option("--course-planning", help="Uses Xello course planning (implies sftp).")
    ] = False,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Connect a district to a vendor (API through APSCN, or SFTP upload for course planning)."""
    from apscn_tracker.services.connections import connect as run

    r = run(
        make_app(today),
        lea=lea,
        vendor=vendor,
        method=method,
        course_planning=course_planning,
        all_districts=all_,
    )
    if as_json:
        emit_json(r)
    elif all_:
        typer.echo(f"connected {r['connected']} districts to {r['vendor']} by {r['method']}")
    else:
        typer.echo(f"{r['lea']} {r['district']}: connected to {r['vendor']} by {r['method']}")


def request(
    leas: LeasArg = None,
    from_file: FromOpt = None,
    vendor: VendorOpt = "Xello",
    year: YearOpt = None,
    on: OnOpt = None,
    note: NoteOpt = None,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that the district submitted "APSCN: eSchoolPLUS API Request" (--year next for an advance one).

    Without --year: this school year before the renewal season; the next one once this one is requested or
    past its cut (a request could no longer be enabled by June 30); in the season, with this year lapsed,
    refused naming both choices.
    """
    _step(
        "request",
        leas,
        from_file,
        as_json,
        "requested on {requested_on}; APSCN should enable it by {expected_enabled_by}",
        vendor=vendor,
        year=year,
        on=parse_day(on, "--on"),
        note=note,
        today=today,
    )


def enable(
    leas: LeasArg = None,
    from_file: FromOpt = None,
    vendor: VendorOpt = "Xello",
    year: YearOpt = None,
    on: OnOpt = None,
    note: NoteOpt = None,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that APSCN enabled the API connection (without --year: the year requested and not enabled)."""
    _step(
        "enable",
        leas,
        from_file,
        as_json,
        "enabled on {enabled_on} ({working_days_to_enable} working days); {next_step}",
        vendor=vendor,
        year=year,
        on=parse_day(on, "--on"),
        note=note,
        today=today,
    )


def confirm(
    leas: LeasArg = None,
    from_file: FromOpt = None,
    vendor: VendorOpt = "Xello",
    year: YearOpt = None,
    on: OnOpt = None,
    note: NoteOpt = None,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that the connection details were sent to the vendor's Onboarding Manager (without --year: the
    year enabled and not confirmed)."""
    _step(
        "confirm",
        leas,
        from_file,
        as_json,
        "confirmed on {confirmed_on}: details sent to the Onboarding Manager",
        vendor=vendor,
        year=year,
        on=parse_day(on, "--on"),
        note=note,
        today=today,
    )


def correct(
    lea: LeaArg,
    vendor: VendorOpt = "Xello",
    year: YearOpt = None,
    requested_on: Annotated[str | None, typer.Option(help="The right request date.")] = None,
    enabled_on: Annotated[str | None, typer.Option(help="The right enable date.")] = None,
    confirmed_on: Annotated[str | None, typer.Option(help="The right confirm date.")] = None,
    undo: Annotated[str | None, typer.Option(help="Undo a step recorded by mistake: request, enable, confirm.")] = None,
    note: Annotated[str | None, typer.Option(help="Why (required).")] = None,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fix a wrong date or undo a step; the old record stays in the history."""
    from apscn_tracker.services.renewals import correct as run

    r = run(
        make_app(today),
        lea=lea,
        vendor=vendor,
        year=year,
        requested_on=parse_day(requested_on, "--requested-on"),
        enabled_on=parse_day(enabled_on, "--enabled-on"),
        confirmed_on=parse_day(confirmed_on, "--confirmed-on"),
        undo=undo,
        note=note,
    )
    if as_json:
        emit_json(r)
        return
    c = r["correction"]
    what = f"undid {c['undo'].replace('_on', '')}" if "undo" in c else f"{c['field']} {c['old']} -> {c['new']}"
    typer.echo(f"{r['lea']} {r['vendor']} {r['school_year']}: corrected ({what})")


def retire(
    lea: LeaArg,
    vendor: VendorOpt = "Xello",
    note: NoteOpt = None,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stop tracking a connection; its history stays."""
    from apscn_tracker.services.connections import retire as run

    r = run(make_app(today), lea=lea, vendor=vendor, note=note)
    emit_json(r) if as_json else typer.echo(f"{r['lea']} {r['vendor']}: retired on {r['retired_on']}")


def register(app: LazyCommands) -> None:
    for fn in (connect, request, enable, confirm, correct, retire):
        app.command()(fn)
