"""Render the report data of :func:`apscn_tracker.report.stats.compute_report` as HTML, Markdown, CSV or JSON.

HTML and Markdown come from the Jinja templates in ``templates/report/`` (HTML autoescaped); CSV from the csv
module, one row per renewal, with spreadsheet formulas neutralised; JSON from json. Jinja is imported inside the
functions so that loading this module stays cheap.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from apscn_tracker.report import charts
from apscn_tracker.report.stats import ROW_FIELDS

FORMATS = ("html", "md", "csv", "json")
SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".csv": "csv", ".json": "json"}
HTML_TEMPLATE = "report.html"
MARKDOWN_TEMPLATE = "report.md"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return neutralise(value)


def iter_csv(report: dict[str, Any], *, batch: int = 1000) -> Iterator[str]:
    """One row per connection and school year, with a header; ISO dates; CRLF line ends (RFC 4180)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ROW_FIELDS)
    for i, row in enumerate(report["rows"], 1):
        writer.writerow([_csv_cell(row.get(k)) for k in ROW_FIELDS])
        if i % batch == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def render_csv(report: dict[str, Any]) -> str:
    return "".join(iter_csv(report))


def iter_json(report: dict[str, Any], *, chunk: int = 1 << 16) -> Iterator[str]:
    """Indented JSON in chunks of about ``chunk`` characters (the encoder's own pieces are tiny)."""
    parts: list[str] = []
    size = 0
    for piece in json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(report):
        parts.append(piece)
        size += len(piece)
        if size >= chunk:
            yield "".join(parts)
            parts, size = [], 0
    parts.append("\n")
    yield "".join(parts)


def render_json(report: dict[str, Any]) -> str:
    return "".join(iter_json(report))


# -- templates -----------------------------------------------------------------------------------------------


def _pct(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def _num(value: Any) -> str:
    return "—" if value is None else str(value)


def _n(value: int | None) -> str:
    """A count with thousands separators (12,800); a dash for None."""
    return "—" if value is None else f"{value:,}"


def _signed(value: float | int | None, kind: str = "count") -> str:
    if value is None:
        return "—"
    if kind == "share":
        points = round(100 * value, 1)
        return "±0 pts" if points == 0 else f"{points:+.1f} pts"
    if value == 0:
        return "±0"
    return f"{value:+,}" if isinstance(value, int) else f"{value:+,.1f}"


def _metric(value: float | int | None, kind: str = "count") -> str:
    if value is None:
        return "—"
    if kind == "share":
        return _pct(value, 1)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def _month_day_year(value: str | date | None) -> str:
    if value is None:
        return "—"
    d = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{d.strftime('%B')} {d.day}, {d.year}"


def _md(value: Any) -> str:
    """A Markdown table cell: pipes and backslashes escaped, line breaks flattened, None as a dash."""
    if value is None or value == "":
        return "—"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    for ch in ("*", "_", "`", "<", "[", "]"):
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.split())


def environment(template_dirs: Sequence[Path]):
    """A Jinja environment over ``template_dirs`` (folders holding ``report.html`` and ``report.md``; the first
    that has a file wins), HTML autoescaped, undefined names an error, with the report's filters."""
    from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape  # lazy: ~40 ms; CSV and JSON need none
    from jinja2.sandbox import SandboxedEnvironment  # a coordinator's own template must not run code

    env = SandboxedEnvironment(
        loader=FileSystemLoader([str(p) for p in template_dirs]),
        autoescape=select_autoescape(enabled_extensions=("html", "htm"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(pct=_pct, num=_num, n=_n, signed=_signed, metric=_metric, month_day_year=_month_day_year, md=_md)
    env.globals.update(status_labels=charts.STATUS_LABELS, status_colors=charts.STATUS_COLORS)
    return env


def _chart_svgs(report: dict[str, Any]) -> dict[str, Any]:
    from markupsafe import Markup  # lazy, with jinja2 above

    c = report["charts"]
    begins = date.fromisoformat(report["begins"])
    return {
        "status": Markup(charts.status_chart(c["status"])),  # noqa: S704 - built from escaped parts
        "weeks": Markup(charts.weeks_chart(c["enabled_by_week"], school_year_begins=begins)),  # noqa: S704
        "working_days": Markup(  # noqa: S704
            charts.working_days_chart(c["working_days_to_enable"], window=report["window_working_days"])
        ),
    }


def _generate(template: str, report: dict[str, Any], template_dirs: Sequence[Path], **context: Any) -> Iterator[str]:
    title = f"APSCN API renewals {report['school_year']}"
    return environment(template_dirs).get_template(template).generate(r=report, title=title, **context)


def iter_html(report: dict[str, Any], *, template_dirs: Sequence[Path]) -> Iterator[str]:
    """One self-contained page: inline CSS and SVG, no script, nothing fetched."""
    return _generate(HTML_TEMPLATE, report, template_dirs, svg=_chart_svgs(report))


def render_html(report: dict[str, Any], *, template_dirs: Sequence[Path]) -> str:
    return "".join(iter_html(report, template_dirs=template_dirs))


def iter_markdown(report: dict[str, Any], *, template_dirs: Sequence[Path]) -> Iterator[str]:
    return _generate(MARKDOWN_TEMPLATE, report, template_dirs)


def render_markdown(report: dict[str, Any], *, template_dirs: Sequence[Path]) -> str:
    return "".join(iter_markdown(report, template_dirs=template_dirs))


def iter_render(report: dict[str, Any], fmt: str, *, template_dirs: Sequence[Path]) -> Iterator[str]:
    """The report in ``fmt`` as a stream of text chunks (the whole output never sits in memory)."""
    if fmt == "html":
        return iter_html(report, template_dirs=template_dirs)
    if fmt == "md":
        return iter_markdown(report, template_dirs=template_dirs)
    if fmt == "csv":
        return iter_csv(report)
    if fmt == "json":
        return iter_json(report)
    raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")


def render(report: dict[str, Any], fmt: str, *, template_dirs: Sequence[Path]) -> str:
    return "".join(iter_render(report, fmt, template_dirs=template_dirs))
