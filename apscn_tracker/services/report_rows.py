"""The report's rows, read from the ledger for ``report.stats`` (the report layer itself never reads the ledger):
one set-based statement per school year, whatever the size.

One ``SELECT`` joins connection, district, vendor and the year's renewal, with two grouped sub-queries: the
reminders sent (``outbox`` rows with status ``sent``, counted per district, vendor and school year) and whether the
district has any contact. No per-row queries, no ORM objects: 13,000 districts x 5 vendors is one pass.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from apscn_tracker.domain.reminders import REMINDER_KINDS
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.ledger.models import Connection, Contact, District, Outbox, Renewal, Vendor
from apscn_tracker.report.stats import ReportRow

conn = Connection.__table__.c
dist = District.__table__.c
vend = Vendor.__table__.c
ren = Renewal.__table__.c
outbox = Outbox.__table__.c
contact = Contact.__table__.c


_BATCH = 2000


def report_statement(year: SchoolYear):
    """The select behind :func:`load_rows` (exposed for tests and for ``EXPLAIN``)."""
    reminders = (
        select(outbox.district_id, outbox.vendor_id, func.count().label("n"))
        # the reminder rules' kinds: on-demand messages and digests are no reminders
        .where(outbox.status == "sent", outbox.school_year == year.start, outbox.kind.in_(REMINDER_KINDS))
        .group_by(outbox.district_id, outbox.vendor_id)
        .subquery("reminders")
    )
    contacts = select(contact.district_id).group_by(contact.district_id).subquery("contacts")
    # A connection belongs to a year if it has a renewal for it, or existed (and was not yet retired) then.
    existed = and_(
        conn.created_on <= year.ends,
        or_(conn.retired_on.is_(None), conn.retired_on >= year.begins),
    )
    stmt = (
        select(
            dist.lea_code,
            dist.name,
            dist.county,
            vend.name,
            conn.method,
            ren.requested_on,
            ren.expected_enabled_by,
            ren.enabled_on,
            ren.confirmed_on,
            func.coalesce(reminders.c.n, 0),
            contacts.c.district_id.is_not(None),
            conn.retired_on,
        )
        .select_from(Connection)
        .join(District, dist.id == conn.district_id)
        .join(Vendor, vend.id == conn.vendor_id)
        .outerjoin(Renewal, and_(ren.connection_id == conn.id, ren.school_year == year.start))
        .outerjoin(
            reminders,
            and_(reminders.c.district_id == conn.district_id, reminders.c.vendor_id == conn.vendor_id),
        )
        .outerjoin(contacts, contacts.c.district_id == conn.district_id)
        .where(or_(ren.requested_on.is_not(None), existed))
        .order_by(dist.lea_code, vend.name)
    )
    return stmt


def iter_rows(session: Session, year: SchoolYear) -> Iterator[ReportRow]:
    """The year's rows, streamed from the database in batches (Core rows: no ORM identity map to fill)."""
    stmt = report_statement(year)
    result = session.connection().execute(stmt.execution_options(yield_per=_BATCH))
    for lea, name, county, vendor, method, req, exp, ena, conf, sent, has_contact, retired_on in result:
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
            retired_on=retired_on,
        )


def load_rows(session: Session, year: SchoolYear) -> list[ReportRow]:
    return list(iter_rows(session, year))
