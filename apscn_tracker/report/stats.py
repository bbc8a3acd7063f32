"""The yearly renewal report's numbers: a pure function of rows, a school year, a day and the state calendar.

No database, template or file access here: ``data.py`` loads the rows, ``render.py`` renders the result.

Definitions (they are printed in the report's notes, keep them in step with ``NOTES``):

- **Status** of a row is :func:`apscn_tracker.domain.status.renewal_status` on the report's *as-of* day: the
  report date, or June 30 for a school year that has ended (its final state before the annual disconnect).
- **Requested before July 1**: an API connection whose request for the year was submitted before the year began,
  so that the state had time to enable it before the disconnect; **enabled before July 1**: the state enabled it
  before the year began (no gap at all). Shares are of the year's API connections, ``None`` when there are none.
- **Working days to enable**: state working days from the request to the enable date
  (``StateCalendar.working_days_between``: the request day is day 0). An activation is **late** when it was
  enabled after its expected date (the 10th working day); it is **still overdue** when its status is ``overdue``.
- **Median and 90th percentile** use the *nearest-rank* method: the p-th percentile of n sorted values is the
  value at rank ``ceil(p * n / 100)`` (1-based). The result is always an observed number of days; the median of
  an even count is the lower of the two middle values.
- **Days without data** (API connections only): calendar days from July 1 until the connection was enabled again,
  ``enabled_on - July 1`` (0 when enabled on or before July 1). Never enabled: every day from July 1 through the
  report date or June 30, whichever comes first (a whole school year is 365 days, 366 with a February 29).
- **Retired**: a connection retired by the as-of day leaves the report from then: counted on its own line only
  (``summary["retired"]``, status ``retired`` in the rows); its days without data stop at its retirement.
- **Districts with no contact**: districts in the report without any contact address on record.
- **Comparison** with the previous school year only when the ledger has at least one request for it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.status import STATUSES, Status, renewal_status
from apscn_tracker.domain.workdays import ACTIVATION_WORKING_DAYS, StateCalendar

__all__ = [
    "NOTES",
    "PERCENTILE_METHOD",
    "ROW_FIELDS",
    "ReportRow",
    "compute_report",
    "days_without_data",
    "nearest_rank",
]

PERCENTILE_METHOD = "nearest-rank"

ROW_FIELDS = (
    "school_year",
    "lea",
    "district",
    "county",
    "vendor",
    "method",
    "status",
    "requested_on",
    "expected_enabled_by",
    "enabled_on",
    "confirmed_on",
    "working_days_to_enable",
    "enabled_late",
    "days_without_data",
    "reminders_sent",
    "has_contact",
)
"""The keys of each entry of ``compute_report(...)["rows"]``, in the order of the CSV columns."""

NOTES = (
    "Status is taken on the as-of day: the report date, or June 30 once the school year has ended.",
    "Requested/enabled before July 1: shares of the year's API connections.",
    "Working days count state-office working days (Ark. Code Ann. § 1-5-101) after the request day.",
    "Median and 90th percentile use the nearest-rank method: always an observed number of days.",
    "Days without data: calendar days from July 1 until the connection was enabled again "
    "(or through the as-of day if it never was).",
    "A connection retired during the year is counted on its own line; its days without data stop at its retirement.",
)


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One connection in one school year, as the report needs it."""

    lea: str
    district: str
    vendor: str
    method: str  # api | sftp
    county: str | None = None
    requested_on: date | None = None
    expected_enabled_by: date | None = None
    enabled_on: date | None = None
    confirmed_on: date | None = None
    reminders_sent: int = 0
    has_contact: bool = True
    retired_on: date | None = None


def nearest_rank(sorted_values: list[int], p: int) -> int | None:
    """The p-th percentile (1 <= p <= 100) of ascending values by nearest rank; None for no values."""
    if not 1 <= p <= 100:
        raise ValueError(f"percentile must be 1..100, not {p}")
    n = len(sorted_values)
    if n == 0:
        return None
    rank = (p * n + 99) // 100  # ceil(p * n / 100) in integers, no float rounding
    return sorted_values[max(rank, 1) - 1]


def days_without_data(row: ReportRow, year: SchoolYear, today: date) -> tuple[int, bool] | None:
    """(days, still ongoing) for an API row; None for a scripted (SFTP) one. A connection retired on or before
    the as-of day counts its days only up to its retirement."""
    if row.method != "api":
        return None
    stop = row.retired_on if row.retired_on is not None and row.retired_on <= min(today, year.ends) else None
    if row.enabled_on is not None and row.enabled_on <= today and (stop is None or row.enabled_on <= stop):
        return max(0, (row.enabled_on - year.begins).days), False
    if stop is not None:
        return max(0, (stop - year.begins).days), False
    end = min(today, year.ends)
    if end < year.begins:
        return 0, False
    return (end - year.begins).days + 1, today <= year.ends


def _share(count: int, of: int) -> float | None:
    return round(count / of, 4) if of else None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


@dataclass(frozen=True, slots=True)
class _Derived:
    row: ReportRow
    status: Status
    working_days: int | None
    late: bool | None
    gap: tuple[int, bool] | None
    retired: bool = False


def _derive(
    rows: Iterable[ReportRow], year: SchoolYear, today: date, as_of: date, cal: StateCalendar, window: int
) -> list[_Derived]:
    out: list[_Derived] = []
    for r in sorted(rows, key=lambda r: (r.lea, r.vendor.lower(), r.vendor)):
        status = renewal_status(
            method=r.method,
            year=year,
            today=as_of,
            requested_on=r.requested_on,
            expected_enabled_by=r.expected_enabled_by,
            enabled_on=r.enabled_on if r.enabled_on is None or r.enabled_on <= as_of else None,
            confirmed_on=r.confirmed_on if r.confirmed_on is None or r.confirmed_on <= as_of else None,
        )
        wd = late = None
        if r.method == "api" and r.requested_on is not None and r.enabled_on is not None:
            wd = cal.working_days_between(r.requested_on, r.enabled_on)
            late = r.enabled_on > r.expected_enabled_by if r.expected_enabled_by else wd > window
        retired = r.retired_on is not None and r.retired_on <= as_of
        out.append(_Derived(r, status, wd, late, days_without_data(r, year, today), retired))
    return out


def _requested_before(api: list[_Derived], year: SchoolYear) -> int:
    return sum(1 for x in api if x.row.requested_on is not None and x.row.requested_on < year.begins)


def _sorted_working_days(api: list[_Derived]) -> list[int]:
    return sorted(x.working_days for x in api if x.working_days is not None)


def _summary(every: list[_Derived], year: SchoolYear, as_of: date, cal: StateCalendar) -> dict[str, Any]:
    items = [x for x in every if not x.retired]  # a retired connection leaves the counts: its own line below
    retired = sorted((x for x in every if x.retired), key=lambda x: (x.row.lea, x.row.vendor))
    api = [x for x in items if x.row.method == "api"]
    n_api = len(api)
    by_status = Counter(x.status.value for x in items)
    req_before = _requested_before(api, year)
    ena_before = sum(1 for x in api if x.row.enabled_on is not None and x.row.enabled_on < year.begins)
    wds = _sorted_working_days(api)
    overdue: list[dict[str, Any]] = []
    for x in api:
        if x.status is Status.OVERDUE or x.late:
            r = x.row
            still_open = x.status is Status.OVERDUE
            waited = x.working_days if not still_open else cal.working_days_between(r.requested_on, as_of)  # type: ignore[arg-type]
            overdue.append(
                {
                    "lea": r.lea,
                    "district": r.district,
                    "vendor": r.vendor,
                    "requested_on": _iso(r.requested_on),
                    "expected_enabled_by": _iso(r.expected_enabled_by),
                    "enabled_on": _iso(r.enabled_on) if not still_open else None,
                    "working_days": waited,
                    "still_open": still_open,
                }
            )
    overdue.sort(key=lambda o: (not o["still_open"], -(o["working_days"] or 0), o["lea"], o["vendor"]))
    gaps: list[dict[str, Any]] = [
        {"lea": x.row.lea, "district": x.row.district, "vendor": x.row.vendor, "days": x.gap[0], "ongoing": x.gap[1]}
        for x in every
        if x.row.method == "api" and x.gap is not None and x.gap[0] > 0
    ]
    gaps.sort(key=lambda g: (-g["days"], g["lea"], g["vendor"]))
    no_contact = sorted({(x.row.lea, x.row.district) for x in items if not x.row.has_contact})
    return {
        "connections": len(items),
        "api_connections": n_api,
        "scripted_connections": len(items) - n_api,
        "districts": len({x.row.lea for x in items}),
        "by_status": {s: by_status.get(s, 0) for s in STATUSES},
        "requested_before_july1": {"count": req_before, "of": n_api, "share": _share(req_before, n_api)},
        "enabled_before_july1": {"count": ena_before, "of": n_api, "share": _share(ena_before, n_api)},
        "working_days_to_enable": {
            "count": len(wds),
            "median": nearest_rank(wds, 50),
            "p90": nearest_rank(wds, 90),
            "min": wds[0] if wds else None,
            "max": wds[-1] if wds else None,
            "method": PERCENTILE_METHOD,
        },
        "activations": {
            "enabled": len(wds),
            "on_time": sum(1 for x in api if x.late is False),
            "late": sum(1 for x in api if x.late),
            "still_overdue": by_status.get(Status.OVERDUE.value, 0),
        },
        "overdue_activations": overdue,
        "days_without_data": {
            "connections_with_gap": len(gaps),
            "total_days": sum(g["days"] for g in gaps),
            "longest": gaps[0]["days"] if gaps else 0,
            "ongoing": sum(1 for g in gaps if g["ongoing"]),
            "by_connection": gaps,
        },
        "districts_without_contact": {
            "count": len(no_contact),
            "districts": [{"lea": lea, "district": name} for lea, name in no_contact],
        },
        "retired": {
            "count": len(retired),
            "connections": [_retired(x) for x in retired],
        },
    }


def _retired(x: _Derived) -> dict[str, Any]:
    r, gap = x.row, (x.gap[0] if x.gap is not None else None)
    keys = ("lea", "district", "vendor", "retired_on", "days_without_data")
    return dict(zip(keys, (r.lea, r.district, r.vendor, _iso(r.retired_on), gap), strict=True))


def _by_vendor(items: list[_Derived], year: SchoolYear) -> list[dict[str, Any]]:
    groups: dict[str, list[_Derived]] = defaultdict(list)
    for x in items:
        if not x.retired:
            groups[x.row.vendor].append(x)
    out = []
    for vendor in sorted(groups, key=str.lower):
        xs = groups[vendor]
        api = [x for x in xs if x.row.method == "api"]
        wds = _sorted_working_days(api)
        req_before = _requested_before(api, year)
        out.append(
            {
                "vendor": vendor,
                "connections": len(xs),
                "api_connections": len(api),
                "requested_before_july1": req_before,
                "requested_before_july1_share": _share(req_before, len(api)),
                "enabled": len(wds),
                "median_working_days": nearest_rank(wds, 50),
                "still_overdue": sum(1 for x in api if x.status is Status.OVERDUE),
                "lapsed": sum(1 for x in api if x.status is Status.LAPSED),
            }
        )
    return out


def _charts(every: list[_Derived], summary: dict[str, Any]) -> dict[str, Any]:
    items = [x for x in every if not x.retired]
    enabled = [x.row.enabled_on for x in items if x.working_days is not None and x.row.enabled_on is not None]
    weeks: list[dict[str, Any]] = []
    if enabled:
        per_week: Counter[date] = Counter(d - timedelta(days=d.weekday()) for d in enabled)
        monday, last = min(per_week), max(per_week)
        while monday <= last:
            weeks.append({"week_of": monday.isoformat(), "count": per_week.get(monday, 0)})
            monday += timedelta(days=7)
    wds = Counter(x.working_days for x in items if x.working_days is not None)
    histogram = [{"working_days": d, "count": wds.get(d, 0)} for d in range(0, max(wds) + 1)] if wds else []
    return {
        "status": [{"status": s, "count": n} for s, n in summary["by_status"].items() if n],
        "enabled_by_week": weeks,
        "working_days_to_enable": histogram,
    }


def _row(x: _Derived, year: SchoolYear) -> dict[str, Any]:
    r = x.row
    return {
        "school_year": year.label,
        "lea": r.lea,
        "district": r.district,
        "county": r.county,
        "vendor": r.vendor,
        "method": r.method,
        "status": "retired" if x.retired else x.status.value,
        "requested_on": _iso(r.requested_on),
        "expected_enabled_by": _iso(r.expected_enabled_by),
        "enabled_on": _iso(r.enabled_on),
        "confirmed_on": _iso(r.confirmed_on),
        "working_days_to_enable": x.working_days,
        "enabled_late": x.late,
        "days_without_data": x.gap[0] if x.gap is not None else None,
        "reminders_sent": r.reminders_sent,
        "has_contact": r.has_contact,
    }


# (key, label, how to read the value from a summary, kind)
_COMPARED: tuple[tuple[str, str, Any, str], ...] = (
    ("api_connections", "API connections", lambda s: s["api_connections"], "count"),
    ("requested_before_july1", "Requested before July 1", lambda s: s["requested_before_july1"]["share"], "share"),
    ("enabled_before_july1", "Enabled before July 1", lambda s: s["enabled_before_july1"]["share"], "share"),
    ("median_working_days", "Median working days to enable", lambda s: s["working_days_to_enable"]["median"], "days"),
    ("p90_working_days", "90th percentile working days", lambda s: s["working_days_to_enable"]["p90"], "days"),
    ("enabled_late", "Enabled late", lambda s: s["activations"]["late"], "count"),
    ("still_overdue", "Still overdue", lambda s: s["activations"]["still_overdue"], "count"),
    ("lapsed", "Lapsed (no request)", lambda s: s["by_status"][Status.LAPSED.value], "count"),
    ("days_without_data", "Days without data (total)", lambda s: s["days_without_data"]["total_days"], "days"),
    (
        "connections_with_gap",
        "Connections with a gap",
        lambda s: s["days_without_data"]["connections_with_gap"],
        "count",
    ),
)


def _comparison(current: dict[str, Any], previous: dict[str, Any], year: SchoolYear, today: date) -> dict[str, Any]:
    metrics = []
    for key, label, get, kind in _COMPARED:
        cur, prev = get(current), get(previous)
        change = None if cur is None or prev is None else round(cur - prev, 4)
        metrics.append({"key": key, "label": label, "kind": kind, "previous": prev, "current": cur, "change": change})
    return {
        "school_year": year.previous.label,
        "current_complete": today > year.ends,
        "metrics": metrics,
    }


def _summarise(
    rows: Iterable[ReportRow], year: SchoolYear, today: date, cal: StateCalendar, window: int
) -> tuple[list[_Derived], dict[str, Any]]:
    """The year's derived rows and summary, statuses taken on its as-of day."""
    as_of = min(today, year.ends)
    items = _derive(rows, year, today, as_of, cal, window)
    return items, _summary(items, year, as_of, cal)


def compute_report(
    rows: Iterable[ReportRow],
    *,
    year: SchoolYear,
    today: date,
    calendar: StateCalendar,
    previous_rows: Iterable[ReportRow] | None = None,
    window: int = ACTIVATION_WORKING_DAYS,
) -> dict[str, Any]:
    """The whole report as JSON-ready data: ``summary``, ``by_vendor``, ``charts``, ``rows``, ``comparison``."""
    items, summary = _summarise(rows, year, today, calendar, window)
    comparison = None
    if previous_rows is not None:
        prev_rows = list(previous_rows)
        if any(r.requested_on is not None for r in prev_rows):
            _, prev_summary = _summarise(prev_rows, year.previous, today, calendar, window)
            comparison = _comparison(summary, prev_summary, year, today)
    return {
        "school_year": year.label,
        "begins": year.begins.isoformat(),
        "ends": year.ends.isoformat(),
        "report_date": today.isoformat(),
        "as_of": min(today, year.ends).isoformat(),
        "complete": today > year.ends,
        "window_working_days": window,
        "summary": summary,
        "by_vendor": _by_vendor(items, year),
        "charts": _charts(items, summary),
        "comparison": comparison,
        "notes": list(NOTES),
        "rows": [_row(x, year) for x in items],
    }
