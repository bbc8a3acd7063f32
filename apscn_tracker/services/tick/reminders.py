"""Phase 2, the reminders: one set-based query loads every active API connection with its renewal of the current and
of the next school year; the pure rules of ``domain.reminders`` decide what is due (the latest milestone of each
rule, while its condition holds); what the outbox does not hold yet is rendered and queued with a
``reminder_queued`` event, ``BATCH`` at a time. Each batch's transaction reads its connections and renewals again
(one query) and runs the rules again: a step recorded since the load (``request --year next`` during the tick)
drops its reminder, so only what still holds is queued."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlmodel import Session

from apscn_tracker.domain.reminders import Due, Snapshot, due_reminders
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Connection, District, Event, Outbox, Renewal, Vendor
from apscn_tracker.mail.outbox import insert_many, queued_keys
from apscn_tracker.services.app import App
from apscn_tracker.services.lookup import Prefetched
from apscn_tracker.services.messages import prepare_message
from apscn_tracker.services.recipients import recipients
from apscn_tracker.services.tick.base import ACTOR, StopFlag, never

BATCH = 200  # reminders per transaction (and per set of look-ups of a dry run)

# the set-based statements below are plain SQL on the models' Core tables and their columns
CONNECTION, DISTRICT, VENDOR = Connection.__table__, District.__table__, Vendor.__table__
RENEWAL, EVENT, OUTBOX = Renewal.__table__, Event.__table__, Outbox.__table__
conn_t, dist_t, vend_t = CONNECTION.c, DISTRICT.c, VENDOR.c


@dataclass(frozen=True, slots=True)
class Candidate:
    """A due reminder with what the tick needs to queue and report it."""

    due: Due
    district_id: int
    vendor_id: int
    lea: str
    district: str
    vendor: str

    def row(self) -> dict[str, Any]:
        return {
            "key": self.due.key,
            "kind": self.due.kind,
            "lea": self.lea,
            "district": self.district,
            "vendor": self.vendor,
            "school_year": self.due.school_year.label,
            "milestone": self.due.milestone.isoformat(),
            "number": self.due.number,
        }


def _snapshots(current: SchoolYear, connection_ids: list[int] | None = None) -> Select[Any]:
    """Every active API connection (or those of ``connection_ids`` still active) with its names and its renewals
    of ``current`` and of the next school year: one statement, one row per connection."""
    upcoming = current.next
    this_year, next_year = RENEWAL.alias("r0"), RENEWAL.alias("r1")
    r0, r1 = this_year.c, next_year.c
    stmt = (
        select(
            conn_t.id,
            conn_t.district_id,
            conn_t.vendor_id,
            dist_t.lea_code,
            dist_t.name.label("district"),
            vend_t.name.label("vendor"),
            r0.requested_on,
            r0.expected_enabled_by,
            r0.enabled_on,
            r0.confirmed_on,
            r0.disconnected_on,
            r1.requested_on,
            r1.expected_enabled_by,
            r1.enabled_on,
            r1.confirmed_on,
            r1.disconnected_on,
        )
        .select_from(CONNECTION)
        .join(DISTRICT, dist_t.id == conn_t.district_id)
        .join(VENDOR, vend_t.id == conn_t.vendor_id)
        .outerjoin(this_year, and_(r0.connection_id == conn_t.id, r0.school_year == current.start))
        .outerjoin(next_year, and_(r1.connection_id == conn_t.id, r1.school_year == upcoming.start))
        .where(conn_t.retired_on.is_(None), conn_t.method == "api")
    )
    if connection_ids is not None:
        stmt = stmt.where(conn_t.id.in_(connection_ids))
    return stmt.order_by(dist_t.lea_code, vend_t.name)


def _due(app: App, session: Session, stmt: Select[Any]) -> list[Candidate]:
    """What the pure rules say is due today for the connections ``stmt`` reads (see ``_snapshots``)."""
    today, cal, rules = app.today, app.calendar, app.settings.reminders
    window = app.settings.activation_working_days
    current = SchoolYear.of(today)
    upcoming = current.next
    found: list[Candidate] = []
    for row in session.execute(stmt):
        cid, did, vid, lea, dname, vname = row[:6]
        req0, exp0, ena0, conf0, disc0 = row[6:11]
        req1, exp1, ena1, conf1, disc1 = row[11:16]
        snaps = [
            Snapshot(
                connection_id=cid,
                school_year=current,
                requested_on=req0,
                expected_enabled_by=exp0,
                enabled_on=ena0,
                confirmed_on=conf0,
                disconnected_on=disc0,
                next_year_requested=req1 is not None,
            )
        ]
        if req1 is not None:
            snaps.append(
                Snapshot(
                    connection_id=cid,
                    school_year=upcoming,
                    requested_on=req1,
                    expected_enabled_by=exp1,
                    enabled_on=ena1,
                    confirmed_on=conf1,
                    disconnected_on=disc1,
                )
            )
        for snap in snaps:
            for due in due_reminders(snap, today=today, calendar=cal, rules=rules, window=window):
                found.append(Candidate(due, did, vid, lea, dname, vname))
    return found


def load_candidates(app: App, session: Session) -> list[Candidate]:
    """Every reminder due today whose key is not in the outbox yet: one query for the snapshots, chunked key
    look-ups for what is already queued."""
    found = _due(app, session, _snapshots(SchoolYear.of(app.today)))
    queued = queued_keys(session, [c.due.key for c in found])
    return [c for c in found if c.due.key not in queued]


def still_due(app: App, session: Session, batch: Sequence[Candidate]) -> list[Candidate]:
    """The candidates of ``batch`` the rules still yield, read again in ``session`` (the transaction that queues
    them): a step recorded, a connection retired or moved off the API since ``load_candidates`` looked drops
    its reminder. One query for the whole batch."""
    if not batch:
        return []
    ids = sorted({c.due.connection_id for c in batch})
    holds = {c.due.key for c in _due(app, session, _snapshots(SchoolYear.of(app.today), ids))}
    return [c for c in batch if c.due.key in holds]


NUMBERED = ("send_details_reminder",)
"""The reminders whose text says "Reminder N of M"."""


def sent_before(session: Session, batch: Sequence[Candidate]) -> Counter[tuple[str, int, int, int]]:
    """How many reminders of each numbered kind the outbox already holds (not failed) per district, vendor and
    school year of ``batch``: one grouped query."""
    numbered = [c for c in batch if c.due.kind in NUMBERED]
    if not numbered:
        return Counter()
    out = OUTBOX.c
    rows = session.execute(
        select(out.kind, out.district_id, out.vendor_id, out.school_year, func.count())
        .where(
            out.kind.in_(NUMBERED),
            out.district_id.in_(sorted({c.district_id for c in numbered})),
            out.status != "failed",
        )
        .group_by(out.kind, out.district_id, out.vendor_id, out.school_year)
    )
    return Counter({(kind, did, vid, year): int(n) for kind, did, vid, year, n in rows})


def _extra(app: App, c: Candidate, before: Counter[tuple[str, int, int, int]]) -> dict[str, Any]:
    """Template values of one reminder: the days before June 30 of a renewal reminder, "2 of 3" of a details
    reminder, counted by what was actually sent: after missed days the first one a district gets is "1 of"
    the ones still to come. (A lapsed notice's place in its chain means nothing to a district that missed
    some.)"""
    due = c.due
    extra: dict[str, Any] = {}
    if due.days_before is not None:
        extra["milestone"] = due.days_before
    if due.kind in NUMBERED:
        number = before[(due.kind, c.district_id, c.vendor_id, due.school_year.start)] + 1
        extra["reminder_number"] = number
        extra["reminder_max"] = number + max(0, app.settings.reminders.details_max - due.number)
    return extra


def queue_reminders(
    app: App, candidates: list[Candidate], *, should_stop: StopFlag = never
) -> tuple[Counter[str], list[str], bool]:
    """Render and queue each candidate with its ``reminder_queued`` event, ``BATCH`` per transaction, if the
    rules still yield it in that transaction (``still_due``).

    Each batch reads what its messages need in a few set-based queries (``Prefetched``), renders them, and
    writes its outbox rows and events with one executemany each.
    Returns (queued per kind, keys nobody could be addressed for, whether a stop request cut it short)."""
    current = SchoolYear.of(app.today)
    years = (current.start, current.next.start)
    queued: Counter[str] = Counter()
    unsent: list[str] = []
    for chunk in q.chunks(candidates, BATCH):
        if should_stop():
            return queued, unsent, True
        done: Counter[str] = Counter()
        with app.ledger.write() as s:
            batch = still_due(app, s, chunk)  # what still holds now, in the transaction that queues it
            if not batch:
                continue
            look = Prefetched(s, district_ids=[c.district_id for c in batch], years=years)
            before = sent_before(s, batch)
            now = datetime.now(UTC)
            prepared: list[tuple[Candidate, dict[str, Any]]] = []
            for c in batch:
                values = prepare_message(
                    s,
                    app,
                    key=c.due.key,
                    kind=c.due.kind,
                    district_id=c.district_id,
                    vendor_id=c.vendor_id,
                    school_year=c.due.school_year,
                    extra=_extra(app, c, before),
                    now=now,
                    look=look,
                )
                if values is None:
                    unsent.append(c.due.key)
                else:
                    prepared.append((c, values))
            ids = insert_many(s, [values for _, values in prepared])
            events = []
            for c, values in prepared:
                outbox_id = ids.get(values["key"])
                if outbox_id is None:  # queued since load_candidates looked (another run): not ours to record
                    continue
                events.append(
                    q.event_row(
                        kind="reminder_queued",
                        actor=ACTOR,
                        district_id=c.district_id,
                        vendor_id=c.vendor_id,
                        school_year=c.due.school_year.start,
                        effective_on=app.today,
                        note=f"{c.due.kind} #{c.due.number} (due {c.due.milestone}) to {values['to_addrs']}",
                        data={
                            "key": c.due.key,
                            "kind": c.due.kind,
                            "milestone": c.due.milestone.isoformat(),
                            "number": c.due.number,
                            "outbox_id": outbox_id,
                        },
                    )
                )
                done[c.due.kind] += 1
            q.insert_rows(s, EVENT, events)
        queued.update(done)
    return queued, unsent, False


def would_queue(app: App, session: Session, candidates: list[Candidate]) -> list[dict[str, Any]]:
    """What would be queued, with its recipients (reads only: a few set-based reads per batch)."""
    current = SchoolYear.of(app.today)
    rows: list[dict[str, Any]] = []
    for batch in q.chunks(candidates, BATCH):
        look = Prefetched(
            session, district_ids=[c.district_id for c in batch], years=(current.start, current.next.start)
        )
        for c in batch:
            who = recipients(session, app, kind=c.due.kind, district_id=c.district_id, vendor_id=c.vendor_id, look=look)
            rows.append({**c.row(), "to": who.to, "cc": who.cc})
    return rows
