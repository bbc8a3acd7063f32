"""Phase 3, the coordinator's mail: the daily digest, at most once a day (key ``coordinator_digest:{today}``) on a
day when reminders were queued; and on the first days of a school year, the yearly report of the year that just
ended (once: key ``report_ready:{year}``)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Event, Renewal
from apscn_tracker.mail.kinds import COORDINATOR_DIGEST, REPORT_READY
from apscn_tracker.mail.outbox import queued_keys
from apscn_tracker.services.app import App
from apscn_tracker.services.messages import queue_message
from apscn_tracker.services.report import report_paths, report_summary, write_yearly_report
from apscn_tracker.services.tick.base import ACTOR

log = logging.getLogger("apscn_tracker.tick")

DIGEST = COORDINATOR_DIGEST
REPORT_WINDOW = timedelta(days=31)  # a missed July 1 is caught up until the end of July

RENEWAL, EVENT = Renewal.__table__, Event.__table__
ren_t, ev_t = RENEWAL.c, EVENT.c


# -- the digest ------------------------------------------------------------------------------------------------


def digest_key(today: date) -> str:
    return f"{DIGEST}:{today.isoformat()}"


def _reminders_queued_on(session: Session, today: date) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(EVENT)
            .where(ev_t.kind == "reminder_queued", ev_t.effective_on == today, ev_t.district_id.is_not(None))
        )
        or 0
    )


def _digest_due(session: Session, key: str, today: date, planned: int) -> bool:
    if queued_keys(session, [key]):
        return False
    return planned > 0 or _reminders_queued_on(session, today) > 0


def queue_digest(app: App, *, dry_run: bool = False, planned: int = 0, held: int = 0) -> bool:
    """The coordinator digest, once a day, on a day when reminders went out (this run or an earlier one).

    ``planned``: the reminders this run queued (or would queue, in a dry run). When there are some, that settles
    it; only a run that queued none reads the day's ``reminder_queued`` events (a run cut short after its
    reminders leaves the digest to the next run that day). A dry run only reads. ``held``: the district
    reminders a hold kept back today (the digest says so).
    """
    key = digest_key(app.today)
    if dry_run:
        with app.ledger.read() as s:
            return _digest_due(s, key, app.today, planned) and bool(app.settings.coordinator_email)
    with app.ledger.write() as s:  # the check and the message in one unit of work: a second run finds the key
        if not _digest_due(s, key, app.today, planned):
            return False
        extra = {"held_reminders": held} if held else None
        row = queue_message(s, app, key=key, kind=DIGEST, extra=extra, now=datetime.now(UTC), checked=True)
        if row is None:
            return False
        q.add_event(
            s,
            kind="reminder_queued",
            actor=ACTOR,
            effective_on=app.today,
            note=f"{DIGEST} to {row.to_addrs}",
            data={"key": key, "kind": DIGEST, "outbox_id": row.id},
        )
        return True


# -- the yearly report -------------------------------------------------------------------------------------------


def report_key(year: SchoolYear) -> str:
    return f"{REPORT_READY}:{year.start}"


def _report_due(app: App, ended: SchoolYear) -> bool:
    """Within the window after the year ended, not queued yet, and the year has renewals in this ledger."""
    if app.today > ended.ends + REPORT_WINDOW:
        return False
    with app.ledger.read() as s:
        if queued_keys(s, [report_key(ended)]):
            return False
        return bool(s.scalar(select(func.count()).select_from(RENEWAL).where(ren_t.school_year == ended.start)))


def queue_yearly_report(app: App, *, dry_run: bool = False) -> dict[str, Any] | None:
    """On the first days of a school year: write the report of the year that ended, queue ``report_ready``.

    Once per year (the outbox key); a tick that missed July 1 catches up until the end of July. Returns
    ``{"path": ..., "queued": bool}`` (in a dry run the path is the file it would write), None when nothing
    is due.
    """
    ended = SchoolYear.of(app.today).previous
    if not _report_due(app, ended):
        return None
    if dry_run:
        return {"path": str(report_paths(app, ended)[0]), "queued": True}
    key = report_key(ended)
    path = write_yearly_report(app, year=ended)
    with app.ledger.write() as s:
        row = queue_message(
            s,
            app,
            key=key,
            kind=REPORT_READY,
            school_year=ended,
            extra={"path": str(path), "summary": report_summary(app, year=ended)},
            now=datetime.now(UTC),
        )
        if row is not None:
            q.add_event(
                s,
                kind="reminder_queued",
                actor=ACTOR,
                school_year=ended.start,
                effective_on=app.today,
                note=f"{REPORT_READY} {ended.label} to {row.to_addrs}",
                data={"key": key, "kind": REPORT_READY, "outbox_id": row.id, "path": str(path)},
            )
    log.info("yearly report %s written to %s", ended, path)
    return {"path": str(path), "queued": row is not None}
