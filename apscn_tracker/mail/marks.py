"""Marking a message after a try, each in a short transaction of its own: the server's answer per recipient
(``mail.outcomes``) decides whether it is ``sent``, ``failed`` or waits for another try, and which event the
history gets. The coordinator's ``delivery_failed`` notice is queued in the same transaction, through the
``Enqueue`` callback the service layer passes in (mail imports no service)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, func, insert, update
from sqlmodel import Session

from apscn_tracker.ledger.models import Event, Outbox
from apscn_tracker.mail import outcomes
from apscn_tracker.mail.claims import App, out_c, rowcount
from apscn_tracker.mail.kinds import DELIVERY_FAILED
from apscn_tracker.mail.message import HeaderError, address_emails
from apscn_tracker.mail.outbox import OUTBOX, message_event

log = logging.getLogger("apscn_tracker.mail")

BASE_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=6)
EVENT = Event.__table__


class Enqueue(Protocol):
    """Queues an email in ``session``'s transaction: the service layer's ``queue_message``, bound to its app."""

    def __call__(
        self,
        session: Session,
        *,
        key: str,
        kind: str,
        district_id: int | None,
        vendor_id: int | None,
        school_year: int | None,
        extra: dict[str, Any],
        now: datetime,
    ) -> object: ...


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: 1, 2, 4, 8 ... minutes, at most 6 hours."""
    if attempts < 1:
        return BASE_DELAY
    if attempts > 20:
        return MAX_DELAY
    return min(BASE_DELAY * (2 ** (attempts - 1)), MAX_DELAY)


def _mine(row: Outbox, worker: str):
    return and_(out_c.id == row.id, out_c.status == "sending", out_c.claimed_by == worker)


# built once: these run once per message, and building a statement costs more than running it
_INSERT_EVENT = insert(EVENT)
_SET_SENT = (
    update(OUTBOX)
    .where(out_c.id == bindparam("row_id"), out_c.status != "sent")
    .values(
        status="sent",
        sent_at=func.coalesce(out_c.sent_at, bindparam("sent_at", type_=out_c.sent_at.type)),
        last_error=bindparam("note"),
        recipients=bindparam("states"),
    )
)


def _delivered(row: Outbox, accepted: list[str], tried: list[str]) -> str:
    """`` (delivered to a, b)`` when this try went to fewer than all the addressees."""
    if accepted and len(tried) < len(outcomes.addressees(row)) or len(accepted) < len(tried):
        return f" (delivered to {', '.join(accepted) or 'nobody'})"
    return ""


def settle(
    app: App,
    row: Outbox,
    *,
    worker: str,
    now: datetime,
    transport: str,
    tried: list[str],
    refused: dict[str, tuple[int, str]],
    states: dict[str, dict[str, Any]],
    enqueue: Enqueue,
) -> str:
    """Record the answers of one try and mark the row; which count it goes to (sent, failed, retrying)."""
    states = outcomes.record(states, tried, refused, now)
    taken = {a.lower() for a in refused}
    accepted = [a for a in tried if a.lower() not in taken]
    verdict = outcomes.verdict(row, states)
    if verdict == outcomes.SENT:
        bad = outcomes.in_state(row, states, outcomes.FAILED)
        note = "refused: " + outcomes.summary(states, bad) if bad else None
        _mark_sent(
            app,
            row,
            now=now,
            transport=transport,
            note=note,
            states=states,
            accepted=accepted,
            tried=tried,
            bad=bad,
            enqueue=enqueue,
        )
        return "sent"
    if verdict == outcomes.FAILED:
        bad = outcomes.in_state(row, states, outcomes.FAILED)
        got = outcomes.in_state(row, states, outcomes.SENT)
        error = "refused: " + outcomes.summary(states, bad)
        mark_failed(
            app,
            row,
            worker=worker,
            now=now,
            error=error,
            enqueue=enqueue,
            states=states,
            refused=bad if got else None,
            accepted=accepted,
        )
        return "failed"
    waiting = outcomes.in_state(row, states, outcomes.DEFERRED)
    error = "refused for now: " + outcomes.summary(states, waiting) if waiting else "not tried yet"
    mark_retry(app, row, worker=worker, now=now, error=error, states=states, accepted=accepted, tried=tried)
    return "retrying"


def _mark_sent(
    app: App,
    row: Outbox,
    *,
    now: datetime,
    transport: str,
    note: str | None,
    states: dict[str, dict[str, Any]],
    accepted: list[str],
    tried: list[str],
    bad: list[str],
    enqueue: Enqueue,
) -> None:
    """``sent`` with its ``message_sent`` event (``message_delivered`` for a message sent before, retried for
    the recipients it missed), in one transaction; the coordinator is told of recipients refused for good."""
    kind = "message_sent" if row.sent_at is None else "message_delivered"
    detail = _delivered(row, accepted, tried) + (f" ({note})" if note else "")
    event = message_event(
        row,
        kind=kind,
        actor=app.actor,
        detail=detail,
        message_id=row.message_id,
        transport=transport,
        attempts=row.attempts,
        delivered_to=accepted,
    )
    with app.ledger.write() as s:
        done = rowcount(
            s.execute(_SET_SENT, {"row_id": row.id, "sent_at": now, "note": note, "states": outcomes.dump(states)})
        )
        if not done:  # another sender took the row after our claim timed out and marked it first
            log.warning("outbox #%s was already marked sent by another sender", row.id)
            return
        s.execute(_INSERT_EVENT, [event])
        if bad:
            notify_coordinator(s, app, row, now=now, error=note or "", refused=bad, enqueue=enqueue)
    log.info("sent outbox #%s (%s) to %s", row.id, row.kind, ", ".join(accepted) or row.to_addrs)


def mark_retry(
    app: App,
    row: Outbox,
    *,
    worker: str,
    now: datetime,
    error: str,
    states: dict[str, dict[str, Any]] | None = None,
    accepted: list[str] | None = None,
    tried: list[str] | None = None,
) -> datetime:
    """Back to ``pending`` with a backoff; the recipients accepted in this try are recorded (and get a
    ``message_delivered`` event), so the next try goes only to the others."""
    at = now + backoff(row.attempts)
    values: dict[str, Any] = {
        "status": "pending",
        "next_attempt_at": at,
        "last_error": error,
        "claimed_at": None,
        "claimed_by": None,
    }
    if states is not None:
        values["recipients"] = outcomes.dump(states)
    with app.ledger.write() as s:
        done = rowcount(s.execute(update(OUTBOX).where(_mine(row, worker)).values(**values)))
        if done and accepted:
            detail = _delivered(row, accepted, tried or accepted) + f"; {error}"
            s.execute(
                _INSERT_EVENT,
                [
                    message_event(
                        row,
                        kind="message_delivered",
                        actor=app.actor,
                        detail=detail,
                        message_id=row.message_id,
                        delivered_to=accepted,
                    )
                ],
            )
    if row.attempts >= app.settings.max_attempts:
        log.warning(
            "outbox #%s (%s) still not delivered after %s tries: %s; it stays queued, next try %s",
            row.id,
            row.kind,
            row.attempts,
            error,
            at.isoformat(timespec="minutes"),
        )
    else:
        log.info("outbox #%s: %s; next try %s", row.id, error, at.isoformat(timespec="minutes"))
    return at


def mark_failed(
    app: App,
    row: Outbox,
    *,
    worker: str,
    now: datetime,
    error: str,
    enqueue: Enqueue,
    states: dict[str, dict[str, Any]] | None = None,
    refused: list[str] | None = None,
    accepted: list[str] | None = None,
) -> None:
    """``failed`` for good with its ``message_failed`` event, and the coordinator told (once: the notice's key
    is the message's)."""
    values: dict[str, Any] = {"status": "failed", "last_error": error}
    if states is not None:
        values["recipients"] = outcomes.dump(states)
    with app.ledger.write() as s:
        done = rowcount(s.execute(update(OUTBOX).where(_mine(row, worker)).values(**values)))
        if not done:
            return
        s.execute(
            _INSERT_EVENT,
            [
                message_event(
                    row,
                    kind="message_failed",
                    actor=app.actor,
                    detail=f": {error}",
                    message_id=row.message_id,
                    delivered_to=accepted or [],
                )
            ],
        )
        notify_coordinator(s, app, row, now=now, error=error, refused=refused, enqueue=enqueue)
    log.warning("outbox #%s (%s) failed for good: %s", row.id, row.kind, error)


def failure_notice(row: Outbox, *, error: str, refused: list[str] | None) -> dict[str, Any]:
    """The ``failed`` value of a ``delivery_failed`` email's context: what was refused, to whom, and why.
    ``refused``: the recipients refused while the others got it (None: nobody got it). ``sent``: whether the
    message counts as sent (every To recipient got it)."""
    refused_set = {a.lower() for a in refused or []}
    who = outcomes.addressees(row)
    return {
        "id": row.id,
        "kind": row.kind,
        "subject": row.subject,
        "to": row.to_addrs,
        "cc": row.cc_addrs,
        "error": error,
        "refused": refused or [],
        "partial": refused is not None,
        "sent": refused is not None and not any(role == "to" and a.lower() in refused_set for a, role in who),
        "created_at": row.created_at,
        "message_id": row.message_id,
    }


def notify_coordinator(
    s: Session, app: App, row: Outbox, *, now: datetime, error: str, refused: list[str] | None, enqueue: Enqueue
) -> None:
    """Queue a ``delivery_failed`` notice, unless there is no coordinator or the coordinator was refused."""
    coordinator = (app.settings.coordinator_email or "").strip().lower()
    if not coordinator or row.kind == DELIVERY_FAILED:
        return
    try:
        to = address_emails(row.to_addrs)
    except HeaderError:
        to = []
    if coordinator in ([a.lower() for a in refused] if refused is not None else to):
        return
    enqueue(
        s,
        key=f"{DELIVERY_FAILED}:{row.id}",
        kind=DELIVERY_FAILED,
        district_id=row.district_id,
        vendor_id=row.vendor_id,
        school_year=row.school_year,
        extra={"failed": failure_notice(row, error=error, refused=refused)},
        now=now,
    )
