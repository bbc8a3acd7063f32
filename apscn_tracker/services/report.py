"""The yearly renewal report: load (set-based), compute (pure), render (templates), write.

``write_yearly_report`` is the scheduler's July 1 step: it writes the finished year's report, HTML and JSON,
to ``$APSCN_HOME/reports/`` (folder 0700, files 0600); the caller queues the ``report_ready`` email.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from apscn_tracker.domain.schoolyear import SchoolYear, parse_year
from apscn_tracker.errors import UserError
from apscn_tracker.report.render import FORMATS, SUFFIXES, iter_render, render
from apscn_tracker.report.stats import compute_report
from apscn_tracker.resources import templates_dir
from apscn_tracker.services.app import App
from apscn_tracker.services.output import atomic_write, check_output


def resolve_year(app: App, year: str | SchoolYear | None) -> SchoolYear:
    """``None``/``current``, ``previous``, ``next`` or a label like ``2025-26``."""
    if isinstance(year, SchoolYear):
        return year
    return parse_year(year, app.today)


def template_dirs(app: App) -> list[Path]:
    """The report templates: ``report/`` in the configured ``templates_dir`` first (a coordinator's own
    ``report.html`` or ``report.md`` wins), then the bundled ``templates/report/``."""

    bundled = templates_dir() / "report"
    custom = app.settings.templates_dir
    return [custom / "report", bundled] if custom else [bundled]


REPORT_STEPS = 4
"""Steps ``progress`` counts: this year's rows read, the year before read, statistics, the report written."""


def _no_progress(done: int, total: int) -> None:
    return None


def build_report(
    app: App, *, year: str | SchoolYear | None = None, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """The report data of one school year (JSON-ready), compared with the year before where the ledger has it.

    ``progress(done, REPORT_STEPS)`` is called as each step ends (the last step is writing, by the caller)."""
    from apscn_tracker.report.data import load_rows

    step = progress or _no_progress
    sy = resolve_year(app, year)
    step(0, REPORT_STEPS)
    with app.ledger.read() as s:
        rows = load_rows(s, sy)
        step(1, REPORT_STEPS)
        previous = load_rows(s, sy.previous)
        step(2, REPORT_STEPS)
    report = compute_report(
        rows,
        year=sy,
        today=app.today,
        calendar=app.calendar,
        previous_rows=previous,
        window=app.settings.activation_working_days,
    )
    step(3, REPORT_STEPS)
    return report


def format_for(fmt: str | None, output: Path | None) -> str:
    """The format asked for, else the one the output file's suffix names, else HTML."""

    if fmt:
        fmt = fmt.strip().lower()
        if fmt == "markdown":
            fmt = "md"
        if fmt not in FORMATS:
            raise UserError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
        return fmt
    if output is not None:
        return SUFFIXES.get(output.suffix.lower(), "html")
    return "html"


def render_report(app: App, report: dict[str, Any], fmt: str) -> str:

    return render(report, fmt, template_dirs=template_dirs(app))


def iter_report(app: App, report: dict[str, Any], fmt: str) -> Iterator[str]:
    """The rendered report as text chunks, so that a large one is never held whole in memory."""

    return iter_render(report, fmt, template_dirs=template_dirs(app))


def write_report(
    app: App,
    *,
    year: str | SchoolYear | None = None,
    fmt: str | None = None,
    output: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> str | Path:
    """Render the report; return the text when ``output`` is None, else write the file and return its path.

    A CSV file starts with a UTF-8 byte-order mark so that spreadsheets detect the encoding; text returned for
    standard output has none. The file is written beside its final name and renamed, so a reader never sees half.
    """
    fmt = format_for(fmt, output)
    if output is not None:
        check_output(output)  # before the work: a link, a FIFO or a device is refused, not replaced
    report = build_report(app, year=year, progress=progress)
    if output is None:
        text = render_report(app, report, fmt)
    else:
        encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
        atomic_write(output, iter_report(app, report, fmt), mode=None, encoding=encoding)
    (progress or _no_progress)(REPORT_STEPS, REPORT_STEPS)
    return text if output is None else output


def stream_report(
    app: App,
    *,
    year: str | SchoolYear | None = None,
    fmt: str | None = None,
    out: BinaryIO,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Write the report to a byte stream (standard output) as UTF-8, chunk by chunk."""
    fmt = format_for(fmt, None)
    for chunk in iter_report(app, build_report(app, year=year, progress=progress), fmt):
        out.write(chunk.encode("utf-8"))
    out.flush()
    (progress or _no_progress)(REPORT_STEPS, REPORT_STEPS)


def report_paths(app: App, year: SchoolYear) -> tuple[Path, Path]:
    """Where the yearly report of ``year`` goes: (HTML, JSON) in ``$APSCN_HOME/reports/``."""
    folder = app.settings.reports_dir
    stem = f"apscn-report-{year.label}"
    return folder / f"{stem}.html", folder / f"{stem}.json"


def write_yearly_report(app: App, *, year: SchoolYear) -> Path:
    """Write ``year``'s report as ``apscn-report-2025-26.html`` and ``.json`` in ``$APSCN_HOME/reports/``.

    Owner-only (folder 0700, files 0600), each file replaced atomically, so running it again (a catch-up tick)
    just refreshes the files. Returns the HTML path; the summary is in the JSON file beside it.
    """
    report = build_report(app, year=year)
    html_path, json_path = report_paths(app, year)
    folder = html_path.parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    atomic_write(json_path, iter_report(app, report, "json"), mode=0o600)
    atomic_write(html_path, iter_report(app, report, "html"), mode=0o600)
    return html_path


def report_summary(app: App, *, year: SchoolYear) -> dict[str, Any]:
    """The summary block of a written yearly report (for the ``report_ready`` email), or of a fresh build."""
    _, json_path = report_paths(app, year)
    if json_path.is_file():
        return json.loads(json_path.read_text(encoding="utf-8"))["summary"]
    return build_report(app, year=year)["summary"]
