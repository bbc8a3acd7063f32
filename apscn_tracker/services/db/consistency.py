"""The data checks of ``apscn db check``: every renewal rebuilt from its events (``domain.projection.fold``) and
compared with its row, no event about a renewal without one; every message in a known state, each ``sent`` one
with exactly one ``message_sent`` event, none left in ``sending`` past the claim timeout or by a sender that is gone."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from apscn_tracker.domain.projection import DATE_FIELDS, EVENT_KINDS, fold
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.ledger.models import Connection, District, Event, Outbox, Renewal, Vendor
from apscn_tracker.mail.owners import abandoned
from apscn_tracker.services.db.common import LISTED, OK, PROBLEM, WARNING, Check, iso


def projection_check(s: Session) -> Check:
    """Fold the events of every renewal and compare with its row: one query for the events, one for the rows."""
    ev, conn, ren = Event.__table__.c, Connection.__table__.c, Renewal.__table__.c
    dist, vend = District.__table__.c, Vendor.__table__.c
    history: dict[tuple[int, int, int], list[tuple[str, date | None, dict[str, Any]]]] = defaultdict(list)
    bad_data: list[str] = []
    stmt = (
        select(ev.id, ev.district_id, ev.vendor_id, ev.school_year, ev.kind, ev.effective_on, ev.data)
        .where(
            ev.kind.in_(EVENT_KINDS),
            ev.district_id.is_not(None),
            ev.vendor_id.is_not(None),
            ev.school_year.is_not(None),
        )
        .order_by(ev.id)
    )
    for eid, did, vid, year, kind, on, data in s.execute(stmt):
        try:
            payload = json.loads(data) if data else {}
        except ValueError:
            bad_data.append(f"event {eid} ({kind}): data is not JSON")
            continue
        history[(did, vid, year)].append((kind, on, payload))
    rows = s.execute(
        select(conn.district_id, conn.vendor_id, ren.school_year, *(ren[f] for f in DATE_FIELDS)).join_from(
            Renewal.__table__, Connection.__table__, conn.id == ren.connection_id
        )
    ).all()
    names = {
        **{("d", i): code for i, code in s.execute(select(dist.id, dist.lea_code))},
        **{("v", i): name for i, name in s.execute(select(vend.id, vend.name))},
    }

    def label(did: int, vid: int, year: int) -> str:
        return f"{names.get(('d', did), did)} {names.get(('v', vid), vid)} {SchoolYear(year).label}"

    differ: list[str] = []
    seen: set[tuple[int, int, int]] = set()
    for did, vid, year, *stored in rows:
        key = (did, vid, year)
        seen.add(key)
        try:
            rebuilt = fold(history.get(key, [])).as_tuple()
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            differ.append(f"{label(*key)}: its events cannot be replayed ({type(exc).__name__}: {exc})")
            continue
        for name, have, want in zip(DATE_FIELDS, stored, rebuilt, strict=True):
            if have != want:
                differ.append(f"{label(*key)}: {name} is {iso(have)}, the events say {iso(want)}")
    for key, events in history.items():
        if key in seen:
            continue
        try:
            replayable = any(v is not None for v in fold(events).as_tuple())
        except (KeyError, TypeError, ValueError, AttributeError):
            replayable = True  # unreadable events without a row: worth a look all the same
        if replayable:
            differ.append(f"{label(*key)}: {len(events)} events but no renewal row")
    found = bad_data + differ
    if found:
        return Check(
            "projection",
            PROBLEM,
            f"{len(found)} renewal(s) differ from their event history",
            found[:LISTED] + ([f"... and {len(found) - LISTED} more"] if len(found) > LISTED else []),
        )
    return Check(
        "projection",
        OK,
        f"{len(rows)} renewals rebuilt from {sum(len(v) for v in history.values())} events: all equal",
    )


def outbox_check(s: Session, now: datetime) -> Check:
    ob, ev = Outbox.__table__.c, Event.__table__.c
    problems: list[str] = []
    warnings: list[str] = []
    by_status = dict(s.execute(select(ob.status, func.count()).group_by(ob.status)).all())
    unknown = {k: n for k, n in by_status.items() if k not in ("pending", "sending", "sent", "failed")}
    problems.extend(f"{n} message(s) in unknown state {k!r}" for k, n in unknown.items())
    no_date = s.scalar(select(func.count()).where(ob.status == "sent", ob.sent_at.is_(None)))
    if no_date:
        problems.append(f"{no_date} message(s) marked sent without a sent_at time")
    marks: dict[int, int] = defaultdict(int)
    for (data,) in s.execute(select(ev.data).where(ev.kind == "message_sent")):
        try:
            oid = json.loads(data or "{}").get("outbox_id")
        except ValueError:
            oid = None
        if isinstance(oid, int):
            marks[oid] += 1
    twice = sorted(oid for oid, n in marks.items() if n > 1)
    if twice:
        problems.append(f"message(s) recorded as sent more than once: {', '.join(map(str, twice[:LISTED]))}")
    sent_ids = set(s.scalars(select(ob.id).where(ob.status == "sent")))
    unrecorded = sorted(sent_ids - set(marks))
    if unrecorded:
        problems.append(
            f"message(s) marked sent with no message_sent event: {', '.join(map(str, unrecorded[:LISTED]))}"
        )
    ghosts = sorted(set(marks) - sent_ids)
    if ghosts:
        problems.append(f"message_sent event(s) for messages not marked sent: {', '.join(map(str, ghosts[:LISTED]))}")
    stuck = []
    for oid, claimed_at, by in s.execute(select(ob.id, ob.claimed_at, ob.claimed_by).where(ob.status == "sending")):
        why = abandoned(by, claimed_at, now)
        if why:
            gone = " (its process is gone)" if why == "gone" else ""
            stuck.append(f"message {oid} claimed by {by or 'unknown'} at {iso(claimed_at)}{gone}")
    if stuck:
        warnings.append(
            f"{len(stuck)} message(s) left in 'sending' by a process that stopped; the next delivery resends them "
            "with the same Message-ID"
        )
        warnings.extend(stuck[:LISTED])
    total = sum(by_status.values())
    summary = ", ".join(f"{n} {k}" for k, n in sorted(by_status.items())) or "empty"
    if problems:
        return Check("outbox", PROBLEM, f"{len(problems)} outbox problem(s) ({summary})", problems + warnings)
    if warnings:
        return Check("outbox", WARNING, warnings[0], warnings[1:])
    return Check("outbox", OK, f"{total} messages ({summary}), each sent at most once")
