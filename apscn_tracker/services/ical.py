"""``apscn calendar``: the deadlines as an iCalendar file, for one district or all.

One set-based select finds the pending renewals (requested, not enabled, current or next school year) together
with a grouped count of their request/correction events, which becomes the events' ``SEQUENCE``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Connection, District, Event, Renewal, Vendor
from apscn_tracker.report.ical import PendingRenewal, deadline_events, to_ical
from apscn_tracker.services.app import App
from apscn_tracker.services.output import atomic_write, check_output

conn = Connection.__table__.c
dist = District.__table__.c
vend = Vendor.__table__.c
ren = Renewal.__table__.c
event = Event.__table__.c


REVISION_KINDS = ("requested", "corrected")


def pending_renewals(s: Session, today: date, *, district_id: int | None = None) -> list[PendingRenewal]:
    """Requested, not yet enabled API renewals of the current and next school year (of one district if given)."""
    current = SchoolYear.of(today)
    years = (current.start, current.next.start)
    revisions = (
        select(event.district_id, event.vendor_id, event.school_year, func.count().label("n"))
        .where(event.kind.in_(REVISION_KINDS), event.school_year.in_(years))
        .group_by(event.district_id, event.vendor_id, event.school_year)
        .subquery("revisions")
    )
    stmt = (
        select(
            dist.lea_code,
            dist.name,
            vend.name,
            ren.school_year,
            ren.requested_on,
            ren.expected_enabled_by,
            func.coalesce(revisions.c.n, 1),
        )
        .select_from(Renewal)
        .join(Connection, conn.id == ren.connection_id)
        .join(District, dist.id == conn.district_id)
        .join(Vendor, vend.id == conn.vendor_id)
        .outerjoin(
            revisions,
            and_(
                revisions.c.district_id == conn.district_id,
                revisions.c.vendor_id == conn.vendor_id,
                revisions.c.school_year == ren.school_year,
            ),
        )
        .where(
            conn.retired_on.is_(None),
            conn.method == "api",
            ren.school_year.in_(years),
            ren.requested_on.is_not(None),
            ren.expected_enabled_by.is_not(None),
            ren.enabled_on.is_(None),
        )
        .order_by(dist.lea_code, vend.name, ren.school_year)
    )
    if district_id is not None:
        stmt = stmt.where(conn.district_id == district_id)
    return [
        PendingRenewal(
            lea=code,
            district=name,
            vendor=vendor,
            year=SchoolYear(sy),
            requested_on=req,
            expected_enabled_by=exp,
            revisions=int(n),
        )
        for code, name, vendor, sy, req, exp, n in s.execute(stmt)
    ]


def build_calendar(app: App, *, lea: str | None = None) -> bytes:
    """The iCalendar bytes: June 30 disconnects, request-by dates, each pending renewal's expected enable date.

    With ``lea``, the district is looked up once, for the calendar's name and the pending renewals alike."""
    name = "APSCN deadlines"
    district_id = None
    with app.ledger.read() as s:
        if lea:
            d = q.get_district(s, lea=lea)
            name = f"APSCN deadlines: {d.name} ({d.lea_code})"
            district_id = d.id
        pending = pending_renewals(s, app.today, district_id=district_id)
    events = deadline_events(
        today=app.today,
        calendar=app.calendar,
        pending=pending,
        window=app.settings.activation_working_days,
    )
    return to_ical(events, today=app.today, name=name)


def write_calendar(app: App, *, lea: str | None = None, output: Path | None = None) -> bytes | Path:
    """The calendar's bytes when ``output`` is None, else the path of the file written."""
    if output is not None:
        check_output(output)  # before the work: a link, a FIFO or a device is refused, not replaced
    data = build_calendar(app, lea=lea)
    if output is None:
        return data
    atomic_write(output, data, mode=None)
    return output
