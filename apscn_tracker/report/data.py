"""Load the report's rows from the ledger: one set-based statement per school year, whatever the size.

One ``SELECT`` joins connection, district, vendor and the year's renewal, with two grouped sub-queries: the
reminders sent (``outbox`` rows with status ``sent``, counted per district, vendor and school year) and whether the
district has any contact. No per-row queries, no ORM objects: 13,000 districts x 5 vendors is one pass.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.ledger.models import Connection, Contact, District, Outbox, Renewal, Vendor
from apscn_tracker.report.stats import ReportRow

REMINDER_KINDS = ("renewal_reminder", "lapsed_notice", "activation_overdue", "send_details_reminder")
"""Outbox kinds counted as reminders (DESIGN.md, reminder rules); on-demand messages and digests are not."""

_BATCH = 2000


def report_statement(year: SchoolYear, *, district_id: int | None = None, vendor_id: int | None = None):
    """The select behind :func:`load_rows` (exposed for tests and for ``EXPLAIN``)."""
    reminders = (
        select(Outbox.district_id, Outbox.vendor_id, func.count().label("n"))
        .where(Outbox.status == "sent", Outbox.school_year == year.start, Outbox.kind.in_(REMINDER_KINDS))
        .group_by(Outbox.district_id, Outbox.vendor_id)
        .subquery("reminders")
    )
    contacts = select(Contact.district_id).group_by(Contact.district_id).subquery("contacts")
    # A connection belongs to a year if it has a renewal for it, or existed (and was not yet retired) then.
    existed = and_(
        Connection.created_on <= year.ends,
        or_(Connection.retired_on.is_(None), Connection.retired_on >= year.begins),
    )
    stmt = (
        select(
            District.lea_code,
            District.name,
            District.county,
            Vendor.name,
            Connection.method,
            Renewal.requested_on,
            Renewal.expected_enabled_by,
            Renewal.enabled_on,
            Renewal.confirmed_on,
            func.coalesce(reminders.c.n, 0),
            contacts.c.district_id.is_not(None),
        )
        .select_from(Connection)
        .join(District, District.id == Connection.district_id)
        .join(Vendor, Vendor.id == Connection.vendor_id)
        .outerjoin(Renewal, and_(Renewal.connection_id == Connection.id, Renewal.school_year == year.start))
        .outerjoin(
            reminders,
            and_(reminders.c.district_id == Connection.district_id, reminders.c.vendor_id == Connection.vendor_id),
        )
        .outerjoin(contacts, contacts.c.district_id == Connection.district_id)
        .where(or_(Renewal.requested_on.is_not(None), existed))
        .order_by(District.lea_code, Vendor.name)
    )
    if district_id is not None:
        stmt = stmt.where(Connection.district_id == district_id)
    if vendor_id is not None:
        stmt = stmt.where(Connection.vendor_id == vendor_id)
    return stmt


def iter_rows(
    session: Session, year: SchoolYear, *, district_id: int | None = None, vendor_id: int | None = None
) -> Iterator[ReportRow]:
    """The year's rows, streamed from the database in batches (Core rows: no ORM identity map to fill)."""
    stmt = report_statement(year, district_id=district_id, vendor_id=vendor_id)
    result = session.connection().execute(stmt.execution_options(yield_per=_BATCH))
    for lea, name, county, vendor, method, req, exp, ena, conf, sent, has_contact in result:
        yield ReportRow(
            lea=lea,
            district=name,
            county=county,
            vendor=vendor,
            method=method,
            requested_on=req,
            expected_enabled_by=exp,
            enabled_on=ena,
            confirmed_on=conf,
            reminders_sent=int(sent),
            has_contact=bool(has_contact),
        )


def load_rows(
    session: Session, year: SchoolYear, *, district_id: int | None = None, vendor_id: int | None = None
) -> list[ReportRow]:
    return list(iter_rows(session, year, district_id=district_id, vendor_id=vendor_id))


def years_on_record(session: Session) -> list[SchoolYear]:
    """Every school year with a renewal row, oldest first."""
    return [
        SchoolYear(y) for y in session.scalars(select(Renewal.school_year).distinct().order_by(Renewal.school_year))
    ]
