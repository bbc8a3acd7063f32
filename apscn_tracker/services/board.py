"""The web's status board: one school year's connections, filtered, counted by status and paged.

The rows come from ``status.status_statement`` (Core, no ORM object) narrowed in SQL by vendor and by a search
on LEA code or name; the status of each row is the domain's ``renewal_status``, so it counts and filters
after the read. Only the rows of the page asked for become dictionaries.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, or_, select

from apscn_tracker.domain.schoolyear import SchoolYear, parse_year
from apscn_tracker.domain.status import STATUSES
from apscn_tracker.errors import InputError
from apscn_tracker.ledger import queries as q
from apscn_tracker.services.app import App
from apscn_tracker.services.status import DISTRICT, RENEWAL, VENDOR, row_status, status_statement

PER_PAGE = 50
MAX_PER_PAGE = 500


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def board(
    app: App,
    *,
    year: str | None = None,
    vendor: str | None = None,
    status: str | None = None,
    search: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> dict[str, Any]:
    if status and status not in STATUSES:
        raise InputError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
    if not 1 <= per_page <= MAX_PER_PAGE or page < 1:
        raise InputError(f"page must be 1 or more and per_page 1 to {MAX_PER_PAGE}")
    today = app.today
    sy = parse_year(year, today)
    text = (search or "").strip()[:100]
    with app.ledger.read() as s:
        vendors = list(s.scalars(select(VENDOR.c.name).order_by(VENDOR.c.name)))
        on_record = set(s.scalars(select(RENEWAL.c.school_year).distinct()))
        vendor_id = None
        if vendor:
            vendor_id = s.scalar(select(VENDOR.c.id).where(func.lower(VENDOR.c.name) == vendor.strip().lower()))
            if vendor_id is None:
                q.get_vendor(s, name=vendor)  # its NotFound, with suggestions
        stmt = status_statement(sy, vendor_id=vendor_id)
        if text:
            stmt = stmt.where(
                or_(
                    DISTRICT.c.lea_code.startswith(text, autoescape=True),
                    func.lower(DISTRICT.c.name).contains(text.lower(), autoescape=True),
                )
            )
        found = s.execute(stmt).all()
    counts: Counter[str] = Counter()
    matched = []
    for row in found:
        st = row_status(row, sy, today).value
        counts[st] += 1
        if not status or st == status:
            matched.append((row, st))
    pages = max(1, -(-len(matched) // per_page))
    page = min(page, pages)
    rows = [
        {
            "lea": r[0],
            "district": r[1],
            "vendor": r[2],
            "method": r[3],
            "status": st,
            "requested_on": _iso(r[4]),
            "expected_enabled_by": _iso(r[5]),
            "enabled_on": _iso(r[6]),
            "confirmed_on": _iso(r[7]),
        }
        for r, st in matched[(page - 1) * per_page : page * per_page]
    ]
    current = SchoolYear.of(today)
    years = sorted({*on_record, current.start, current.next.start, sy.start})
    return {
        "school_year": sy.label,
        "years": [SchoolYear(y).label for y in years],
        "vendors": vendors,
        "statuses": list(STATUSES),
        "counts": {k: counts[k] for k in STATUSES if counts[k]},
        "total": len(found),
        "matched": len(matched),
        "page": page,
        "pages": pages,
        "per_page": per_page,
        "rows": rows,
    }
