"""apscn report | calendar

Services are imported inside each command (lazily): `apscn --help` imports every command module.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.options import TodayOpt, make_app
from apscn_tracker.cli.progress import Progress

ReportYearOpt = Annotated[
    str | None,
    typer.Option(
        "--year",
        help="School year to report on: 2025-26 (or 2025-2026), current (default), previous or next.",
        show_default=False,
    ),
]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="html, md, csv or json (default: from the -o file's suffix; md on a terminal, else html).",
        show_default=False,
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write to this file instead of standard output.",
        show_default=False,
        dir_okay=False,
    ),
]


def report(year: ReportYearOpt = None, fmt: FormatOpt = None, output: OutputOpt = None, today: TodayOpt = None) -> None:
    """The yearly renewal report: who renewed before July 1, how long the state took, who lapsed and how long.

    HTML is one self-contained page (inline CSS and SVG charts, prints cleanly); Markdown is for pasting;
    CSV has one row per connection (UTF-8, ISO dates, header); JSON carries the same content as the HTML.
    """
    from apscn_tracker.services.report import stream_report, write_report

    ctx = make_app(today)
    if output is None and fmt is None and sys.stdout.isatty():  # a terminal reads Markdown, not a page of HTML
        fmt = "md"
    if output is None:
        # a bar on the terminal would land in the middle of the report when that is the terminal too
        with Progress("building the report") if not sys.stdout.isatty() else nullcontext() as bar:
            stream_report(ctx, year=year, fmt=fmt, out=sys.stdout.buffer, progress=bar.update if bar else None)
        return
    with Progress(f"building {output.name}") as bar:
        result = write_report(ctx, year=year, fmt=fmt, output=output, progress=bar.update)
    typer.echo(f"report written to {result}", err=True)


def calendar(
    lea: Annotated[
        str | None,
        typer.Option(
            "--lea", help="Only this district's pending renewals (default: every district).", show_default=False
        ),
    ] = None,
    output: OutputOpt = None,
    today: TodayOpt = None,
) -> None:
    """Deadlines as an iCalendar (.ics) file: the June 30 disconnects, the request-by dates, each pending
    renewal's expected enable date, with reminders. Import it again to update: event ids are stable."""
    from apscn_tracker.services.ical import write_calendar

    ctx = make_app(today)
    with Progress(f"building {output.name}") if output is not None else nullcontext():
        result = write_calendar(ctx, lea=lea, output=output)
    if isinstance(result, bytes):
        sys.stdout.buffer.write(result)
        sys.stdout.flush()
    else:
        typer.echo(f"calendar written to {result}", err=True)


def register(app: LazyCommands) -> None:
    app.command()(report)
    app.command()(calendar)
