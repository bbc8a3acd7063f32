"""The options every command shares, and the App they select (the ledger, today's date)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from apscn_tracker.cli.completion import complete_lea

if TYPE_CHECKING:
    from apscn_tracker.services.app import App

TodayOpt = Annotated[
    str | None,
    typer.Option("--today", help="Act as if today were this date (YYYY-MM-DD). Also APSCN_TODAY.", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of a table.")]
LeaArg = Annotated[
    str,
    typer.Argument(
        help="7-digit LEA code, or a part of the district name that only it has.", autocompletion=complete_lea
    ),
]
LeaOpt = Annotated[
    str | None,
    typer.Option(
        "--lea",
        help="Only this district (LEA code or a unique part of its name).",
        show_default=False,
        autocompletion=complete_lea,
    ),
]
VendorOpt = Annotated[str, typer.Option("--vendor", help="Vendor name.")]
YearOpt = Annotated[
    str | None,
    typer.Option(
        "--year",
        help="School year: 2026-27, 2026-2027, current, previous or next (default: the current one, or as the "
        "command's help says).",
        show_default=False,
    ),
]


# What help shows for a value (``--on DATE``, ``request LEA``), by parameter name: Typer would show its type
# (``<str>``, ``<list[str]>``). One table for every command; a parameter's own ``metavar=`` wins.
METAVARS = {
    **dict.fromkeys(("lea", "leas"), "LEA"),
    **dict.fromkeys(("today", "on", "requested_on", "enabled_on", "confirmed_on", "until"), "DATE"),
    **dict.fromkeys(("email", "add_email", "remove_email", "onboarding_email", "to"), "EMAIL"),
    **dict.fromkeys(("name", "new_name", "contact_name", "onboarding_name"), "NAME"),
    **dict.fromkeys(("file", "output", "from_file"), "FILE"),
    "year": "YEAR",
    "vendor": "VENDOR",
    "note": "TEXT",
    "county": "COUNTY",
    "contact_role": "ROLE",
    "only": "STATUS",
    "status": "STATUS",
    "kind": "KIND",
    "method": "METHOD",
    "fmt": "FORMAT",
    "limit": "N",
    "id": "ID",
    "undo": "STEP",
    "key": "KEY",
    "value": "VALUE",
}


def name_values(command: Any) -> None:
    """Give every parameter of ``command`` (and of its subcommands) its placeholder from ``METAVARS``: ``DATE``,
    ``LEA``, ``EMAIL``; TEXT or N for the others that take a value."""
    for param in getattr(command, "params", []):
        if param.metavar is None and not getattr(param, "is_flag", False) and param.name != "help":
            number = getattr(param, "bare_type", lambda: "")() in ("int", "float")
            fallback = "N" if number else "TEXT"
            param.metavar = METAVARS.get(param.name or "", fallback)
        if getattr(param, "param_type_name", "") == "argument":  # its placeholder says it all: no "LEA <str>"
            param.display_type_rich = lambda ctx: None
    for sub in getattr(command, "commands", {}).values():
        name_values(sub)


def parse_day(text: str | None, what: str = "date") -> date | None:
    if text is None:
        return None
    from apscn_tracker.config import parse_date  # lazy: keeps `apscn --help` from loading the settings

    return parse_date(text, what)


def make_app(today: str | None = None) -> App:
    from apscn_tracker.cli.output import warn
    from apscn_tracker.domain.closures import weekend_closure_warning
    from apscn_tracker.services.app import App  # lazy: `apscn --help` opens no ledger code

    app = App.from_env(today=parse_day(today, "--today"))
    warning = weekend_closure_warning(app.settings.extra_closures, app.settings.removed_closures)
    if warning:
        warn(warning)
    return app
