"""Inline SVG charts for the HTML report: pure functions from chart data to an SVG string.

No JavaScript, no fonts or images fetched: each chart is a self-contained ``<svg>`` element with a ``<title>``
and ``<desc>`` for screen readers, every text escaped. Colours survive printing (the page sets
``print-color-adjust: exact``) and each bar also carries its number, so a grey printout still reads.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

STATUS_COLORS = {
    "lapsed": "#9b1c1c",
    "overdue": "#d9480f",
    "not_requested": "#e0a800",
    "requested": "#1c7ed6",
    "enabled": "#5f3dc4",
    "confirmed": "#2b8a3e",
    "disconnected": "#868e96",
    "scripted": "#0c8599",
}
STATUS_LABELS = {
    "lapsed": "Lapsed",
    "overdue": "Overdue",
    "not_requested": "Not requested",
    "requested": "Requested",
    "enabled": "Enabled",
    "confirmed": "Confirmed",
    "disconnected": "Disconnected",
    "scripted": "Scripted (SFTP)",
}
_INK = "#212529"
_MUTED = "#6c757d"
_GRID = "#dee2e6"
_BAR = "#1c7ed6"
_LATE = "#d9480f"
_FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif\""


def _t(value: Any) -> str:
    return escape(str(value), quote=True)


def _open(width: int, height: int, title: str, desc: str, css_class: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{css_class}-title {css_class}-desc" '
        f'{_FONT} font-size="12">'
        f'<title id="{css_class}-title">{_t(title)}</title><desc id="{css_class}-desc">{_t(desc)}</desc>'
    )


def _empty(width: int, height: int, title: str, message: str, css_class: str) -> str:
    return (
        _open(width, height, title, message, css_class)
        + f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="none" stroke="{_GRID}"/>'
        + f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" fill="{_MUTED}">{_t(message)}</text>'
        + "</svg>"
    )


def compact(value: int) -> str:
    """A count in at most 4 characters where it can: 950, 7.5k, 12k, 1.2M."""
    if value < 1000:
        return str(value)
    if value < 10_000:
        return f"{value / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    if value < 1_000_000:
        return f"{value // 1000}k"
    return f"{value / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"


def _text_width(text: str, size: float) -> float:
    """A generous estimate of the width of ``text`` in a sans-serif font of ``size`` px."""
    return len(text) * size * 0.62


def _nice_max(value: int) -> int:
    """A round axis maximum >= value (1, 2, 5, 10, 20, 50 ...)."""
    if value <= 5:
        return max(value, 1)
    step = 1
    while True:
        for m in (1, 2, 5):
            if value <= m * step * 5:
                return m * step * 5
        step *= 10


def _ticks(top: int) -> list[int]:
    if top <= 5:
        return list(range(0, top + 1))
    return [top * i // 5 for i in range(6)]


def status_chart(items: list[dict[str, Any]]) -> str:
    """Horizontal bars: connections per status. ``items``: [{"status", "count"}] in display order."""
    title = "Connections by status"
    shown = [i for i in items if i["count"]]
    width, row_h, left = 540, 28, 120
    if not shown:
        return _empty(width, 80, title, "No connections this school year", "chart-status")
    height = row_h * len(shown) + 16
    total = sum(i["count"] for i in shown)
    value_labels = [f"{i['count']:,} ({100 * i['count'] / total:.0f}%)" for i in shown]
    right = 14 + max(_text_width(v, 12) for v in value_labels)
    top = max(i["count"] for i in shown)
    span = width - left - right
    desc = ", ".join(f"{STATUS_LABELS.get(i['status'], i['status'])}: {i['count']:,}" for i in shown)
    parts = [_open(width, height, title, desc, "chart-status")]
    for n, item in enumerate(shown):
        y = 8 + n * row_h
        w = max(2.0, span * item["count"] / top)
        color = STATUS_COLORS.get(item["status"], _BAR)
        label = STATUS_LABELS.get(item["status"], item["status"])
        share = 100 * item["count"] / total
        parts.append(
            f'<text x="{left - 8}" y="{y + 19}" text-anchor="end" fill="{_INK}">{_t(label)}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row_h - 10}" rx="2" fill="{color}">'
            f"<title>{_t(label)}: {item['count']:,}</title></rect>"
            f'<text x="{left + w + 6:.1f}" y="{y + 19}" fill="{_INK}">{item["count"]:,} '
            f'<tspan fill="{_MUTED}">({share:.0f}%)</tspan></text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _bars(
    values: list[int],
    labels: list[str | None],
    tips: list[str],
    *,
    title: str,
    desc: str,
    css_class: str,
    x_title: str,
    colors: list[str] | None = None,
    marker: tuple[float, str] | None = None,
    wide: bool = False,
) -> str:
    """Vertical bars with a y axis; ``labels[i]`` None leaves that bar's x label out; ``marker`` = (x index
    between bars, text) draws a dashed vertical line there."""
    width, height = (1080 if wide else 540), 240
    left, right, top_pad, bottom = 40, 14, 22, 50
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = _nice_max(max(values))
    n = len(values)
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.78)
    y0 = top_pad + plot_h
    parts = [_open(width, height, title, desc, css_class)]
    for tick in _ticks(top):
        y = y0 - plot_h * tick / top
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{_GRID}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{_MUTED}">{compact(tick)}</text>'
        )
    numbers = [compact(v) for v in values]
    show_numbers = max(_text_width(t, 10) for t in numbers) <= slot
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        x = left + i * slot + (slot - bar_w) / 2
        h = plot_h * value / top
        color = colors[i] if colors else _BAR
        if value:
            parts.append(
                f'<rect x="{x:.1f}" y="{y0 - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{color}">'
                f"<title>{_t(tips[i])}: {value:,}</title></rect>"
            )
            if show_numbers:
                parts.append(
                    f'<text x="{x + bar_w / 2:.1f}" y="{y0 - h - 4:.1f}" text-anchor="middle" '
                    f'font-size="10" fill="{_INK}">{numbers[i]}</text>'
                )
        if label is not None:
            cx = x + bar_w / 2
            parts.append(
                f'<text x="{cx:.1f}" y="{y0 + 14}" text-anchor="middle" font-size="10" '
                f'fill="{_MUTED}">{_t(label)}</text>'
            )
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y0}" y2="{y0}" stroke="{_INK}"/>')
    if marker is not None:
        pos, text = marker
        mx = left + pos * slot
        parts.append(
            f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{top_pad - 6}" y2="{y0}" stroke="{_LATE}" '
            f'stroke-dasharray="4 3"/>'
            f'<text x="{mx + 4:.1f}" y="{top_pad + 4}" fill="{_LATE}" font-size="11">{_t(text)}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 10}" text-anchor="middle" fill="{_INK}">{_t(x_title)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _month_day(d: date) -> str:
    """The month's abbreviation and the day without a leading zero: Jun 9, not Jun 09."""
    return f"{d.strftime('%b')} {d.day}"


def weeks_chart(weeks: list[dict[str, Any]], *, school_year_begins: date | None = None) -> str:
    """Bars: renewals enabled per week (weeks start on Monday). ``weeks``: [{"week_of": ISO date, "count"}]."""
    title = "Renewals enabled per week"
    if not weeks:
        return _empty(1080, 90, title, "No renewal was enabled this school year", "chart-weeks")
    days = [date.fromisoformat(w["week_of"]) for w in weeks]
    values = [int(w["count"]) for w in weeks]
    labels: list[str | None] = []
    if len(days) <= 12:
        labels = [_month_day(d) for d in days]
    else:  # the first week of each month (and the first bar), so long ranges stay legible
        seen: set[tuple[int, int]] = set()
        for i, d in enumerate(days):
            key = (d.year, d.month)
            labels.append(_month_day(d) if i == 0 or (key not in seen and d.day <= 7) else None)
            seen.add(key)
    marker = None
    if school_year_begins is not None and days[0] <= school_year_begins <= days[-1]:
        idx = (school_year_begins - days[0]).days / 7
        marker = (idx, "July 1")
    desc = "; ".join(f"week of {d.isoformat()}: {v}" for d, v in zip(days, values, strict=True) if v)
    return _bars(
        values,
        labels,
        [f"week of {_month_day(d)}, {d.year}" for d in days],
        title=title,
        desc=desc,
        css_class="chart-weeks",
        x_title="Week the state enabled the connection (week of Monday)",
        marker=marker,
        wide=True,
    )


def working_days_chart(histogram: list[dict[str, Any]], *, window: int = 10) -> str:
    """Bars: how many renewals took 0, 1, 2 ... working days to enable; bars past ``window`` in the late colour."""
    title = "State working days from request to enable"
    if not histogram:
        return _empty(540, 90, title, "No renewal was enabled this school year", "chart-working-days")
    counts = {int(h["working_days"]): int(h["count"]) for h in histogram}
    days = list(range(0, max(max(counts), window + 1) + 1))  # always show the window's edge
    values = [counts.get(d, 0) for d in days]
    labels: list[str | None] = [str(d) if len(days) <= 40 or d % 5 == 0 else None for d in days]
    colors = [_LATE if d > window else _BAR for d in days]
    marker = (window + 1, f"{window}-day window")
    desc = "; ".join(f"{d} working days: {v}" for d, v in zip(days, values, strict=True) if v)
    return _bars(
        values,
        labels,
        [f"{d} working days" for d in days],
        title=title,
        desc=desc,
        css_class="chart-working-days",
        x_title="Working days after the request day; late in orange",
        colors=colors,
        marker=marker,
    )
