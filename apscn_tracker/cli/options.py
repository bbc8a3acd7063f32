"""The options every command shares, and the App they select (the ledger, today's date)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from apscn_tracker.services.app import App

TodayOpt = Annotated[
    str | None,
    typer.Option("--today", help="Act as if today were this date (YYYY-MM-DD). Also APSCN_TODAY.", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of a table.")]
LeaArg = Annotated[str, typer.Argument(help="7-digit LEA code, or a part of the district name that only it has.")]
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
