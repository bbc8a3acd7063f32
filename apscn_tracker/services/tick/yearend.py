"""Phase 1, the June 30 rollover: every renewal of a school year that ended before today becomes disconnected on
the last day of its year, with one ``disconnected`` event each (one UPDATE .. RETURNING per ended year and one
bulk INSERT of events)."""

from __future__ import annotations

import logging

from sqlalchemy import func, select, update

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.steps import RenewalDates, disconnect
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Connection, Event, Renewal
from apscn_tracker.services.app import App
from apscn_tracker.services.tick.base import ACTOR

log = logging.getLogger("apscn_tracker.tick")

RENEWAL, EVENT = Renewal.__table__, Event.__table__
conn_t, ren_t = Connection.__table__.c, RENEWAL.c


def rollover(app: App, *, dry_run: bool = False) -> int:
    """Disconnect every renewal of a school year that ended before today; return how many (in a dry run, how
    many it would: a read, which waits for no writer)."""
    ended = ren_t.school_year < SchoolYear.of(app.today).start
    if dry_run:
        with app.ledger.read() as s:
            count = select(func.count()).select_from(RENEWAL).where(ended, ren_t.disconnected_on.is_(None))
            return int(s.scalar(count) or 0)
    with app.ledger.write() as s:
        years = sorted(s.scalars(select(ren_t.school_year).where(ended, ren_t.disconnected_on.is_(None)).distinct()))
        total = 0
        for start in years:
            year = SchoolYear(start)
            # the step of every renewal of the year (it depends on no other date), applied set-based below
            cut = disconnect(RenewalDates(), year=year, today=app.today)
            # UPDATE .. RETURNING: a concurrent tick re-checks disconnected_on and skips the rows we took
            done = list(
                s.execute(
                    update(RENEWAL)
                    .where(ren_t.school_year == start, ren_t.disconnected_on.is_(None))
                    .values(disconnected_on=cut.dates.disconnected_on)
                    .returning(ren_t.connection_id)
                ).scalars()
            )
            if not done:
                continue
            owners = {
                cid: (d, v)
                for cid, d, v in s.execute(
                    select(conn_t.id, conn_t.district_id, conn_t.vendor_id).where(
                        conn_t.id.in_(select(ren_t.connection_id).where(ren_t.school_year == start))
                    )
                )
            }
            now = q.utcnow()
            q.insert_rows(
                s,
                EVENT,
                [
                    q.event_row(
                        at=now,
                        effective_on=cut.event.effective_on,
                        kind=cut.event.kind,
                        district_id=owners[cid][0],
                        vendor_id=owners[cid][1],
                        school_year=start,
                        actor=ACTOR,
                        note=f"annual June 30 disconnect of {year.label}",
                    )
                    for cid in done
                ],
            )
            total += len(done)
            log.info("rollover: %d renewals of %s disconnected on %s", len(done), year.label, year.ends)
        return total
