"""Deliver what the outbox holds: claim, send, mark, in that order, each step in its own short transaction.

- Claim: a few due rows (pending and due, or left in ``sending`` longer than ``CLAIM_TIMEOUT`` by a process that
  died) become ``sending`` with ``attempts + 1`` in a single UPDATE, so two senders never hold the same row.
- Send each through the configured transport, then
- mark it: ``sent`` (and a ``message_sent`` event); or back to ``pending`` with an exponential backoff after a
  temporary failure (it stays queued however long the server is down; after ``max_attempts`` tries the
  coordinator digest lists it); or ``failed`` after a permanent refusal, with a ``delivery_failed`` notice
  queued for the coordinator (unless the coordinator was the one refused).

Queuing that notice (recipients, context, rendering) is the service layer's: it hands ``deliver_due`` an
``Enqueue`` callback, which runs in the transaction that marks the row. Mail never imports the services.

A crash between send and mark leaves the row in ``sending``: the next sender on the same host claims it again at
once (its worker id, ``mail.owners.worker_id``, names a process that is gone), a sender elsewhere after the
timeout; it is resent with the same Message-ID, so the receiving side can recognise the duplicate.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, insert, update
from sqlmodel import Session

from apscn_tracker.ledger.models import Event, Outbox
from apscn_tracker.mail.claims import (
    CLAIM_BATCH,
    RENEW_AFTER,
    App,
    claim_batch,
    out_c,
    release,
    renew,
    rowcount,
)
from apscn_tracker.mail.kinds import DELIVERY_FAILED
from apscn_tracker.mail.message import HeaderError, address_emails, build_message, check_sender
from apscn_tracker.mail.outbox import OUTBOX, message_event
from apscn_tracker.mail.owners import worker_id
from apscn_tracker.mail.transports import PermanentError, SetupError, TemporaryError, make_transport

log = logging.getLogger("apscn_tracker.mail")

BASE_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=6)


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


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime (UTC)")
    return now.astimezone(UTC)


EVENT = Event.__table__


def _mine(row: Outbox, worker: str):
    return and_(out_c.id == row.id, out_c.status == "sending", out_c.claimed_by == worker)


def _sent_event(app: App, row: Outbox, *, transport: str, note: str | None) -> dict[str, Any]:
    return message_event(
        row,
        kind="message_sent",
        actor=app.actor,
        detail=f" ({note})" if note else "",
        message_id=row.message_id,
        transport=transport,
        attempts=row.attempts,
    )


def _mark_sent(
    app: App,
    row: Outbox,
    *,
    worker: str,
    now: datetime,
    transport: str,
    refused: dict[str, str],
    enqueue: Enqueue,
) -> None:
    """``sent`` with its ``message_sent`` event, in one short transaction of its own (Core statements: this runs
    once per message)."""
    note = "refused: " + "; ".join(f"{a}: {why}" for a, why in refused.items()) if refused else None
    if refused:  # some recipients refused: the coordinator is told, in the same transaction
        with app.ledger.write() as s:
            if _set_sent(s, row, now=now, note=note):
                s.execute(_INSERT_EVENT, [_sent_event(app, row, transport=transport, note=note)])
                _notify_coordinator(s, app, row, now=now, error=note or "", refused=list(refused), enqueue=enqueue)
    else:
        with app.ledger.write() as conn:
            if _set_sent(conn, row, now=now, note=None):
                conn.execute(_INSERT_EVENT, [_sent_event(app, row, transport=transport, note=None)])
    log.info("sent outbox #%s (%s) to %s", row.id, row.kind, row.to_addrs)


# built once: these run once per message, and building a statement costs more than running it
_INSERT_EVENT = insert(EVENT)
_SET_SENT = (
    update(OUTBOX)
    .where(out_c.id == bindparam("row_id"), out_c.status != "sent")
    .values(status="sent", sent_at=bindparam("sent_at"), last_error=bindparam("note"))
)


def _set_sent(conn: Session, row: Outbox, *, now: datetime, note: str | None) -> bool:
    done = rowcount(conn.execute(_SET_SENT, {"row_id": row.id, "sent_at": now, "note": note}))
    if not done:  # another sender took the row after our claim timed out and marked it first
        log.warning("outbox #%s was already marked sent by another sender", row.id)
    return bool(done)


def _mark_retry(app: App, row: Outbox, *, worker: str, now: datetime, error: str) -> datetime:
    wait = backoff(row.attempts)
    at = now + wait
    with app.ledger.write() as s:
        s.execute(
            update(OUTBOX)
            .where(_mine(row, worker))
            .values(status="pending", next_attempt_at=at, last_error=error, claimed_at=None, claimed_by=None)
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


def _mark_failed(app: App, row: Outbox, *, worker: str, now: datetime, error: str, enqueue: Enqueue) -> None:
    with app.ledger.write() as s:
        done = rowcount(s.execute(update(OUTBOX).where(_mine(row, worker)).values(status="failed", last_error=error)))
        if not done:
            return
        s.execute(
            _INSERT_EVENT,
            [
                message_event(
                    row, kind="message_failed", actor=app.actor, detail=f": {error}", message_id=row.message_id
                )
            ],
        )
        _notify_coordinator(s, app, row, now=now, error=error, refused=None, enqueue=enqueue)
    log.warning("outbox #%s (%s) failed for good: %s", row.id, row.kind, error)


def failure_notice(row: Outbox, *, error: str, refused: list[str] | None) -> dict[str, Any]:
    """The ``failed`` value of a ``delivery_failed`` email's context: what was refused, to whom, and why.
    ``refused``: the recipients refused while the others got it (None: nobody got it)."""
    return {
        "id": row.id,
        "kind": row.kind,
        "subject": row.subject,
        "to": row.to_addrs,
        "cc": row.cc_addrs,
        "error": error,
        "refused": refused or [],
        "partial": refused is not None,
        "created_at": row.created_at,
        "message_id": row.message_id,
    }


def _notify_coordinator(
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


def deliver_due(
    app: App,
    *,
    enqueue: Enqueue,
    now: datetime | None = None,
    limit: int | None = None,
    counts: dict[str, Any] | None = None,
) -> dict[str, int]:
    """Deliver every due message (at most ``limit``) through the configured transport, one connection.

    ``enqueue`` queues the coordinator's ``delivery_failed`` notices (see the module doc). ``now`` (aware UTC)
    fixes the clock for rehearsals and tests; by default the real time of each step.
    Returns counts: ``sent``, ``failed`` (refused for good), ``retrying`` (back in the queue for later); with
    ``counts`` given, they are added to it as each message is marked, so they stay true if the run stops on an
    error (a ``SetupError``, a full disk): what was sent before it is counted, the untried rows are given back.
    """
    fixed = _now(now) if now is not None else None
    if counts is None:
        counts = {"sent": 0, "failed": 0, "retrying": 0}
    check_sender(app.settings)  # a wrong mail_from is a setup problem: claim nothing
    worker = worker_id()
    transport = make_transport(app.settings)
    handled = 0
    with transport:
        while limit is None or handled < limit:
            want = CLAIM_BATCH if limit is None else min(CLAIM_BATCH, limit - handled)
            claimed_at = fixed or _now(None)
            check_room(app)  # a disk about to fill: stop before a claim that could not be given back
            batch = claim_batch(app, worker=worker, now=claimed_at, limit=want)
            if not batch:
                break
            handled += len(batch)
            left = list(batch)
            try:
                while left:
                    moment = fixed or _now(None)
                    if moment - claimed_at >= RENEW_AFTER:  # a slow server: keep the rest of the batch ours
                        left, claimed_at = renew(app, left, worker=worker, now=moment), moment
                        if not left:
                            break
                    check_room(app)  # the rest of the batch is given back below while that still fits
                    row = left.pop(0)
                    outcome = _deliver_one(app, transport, row, worker=worker, fixed=fixed, enqueue=enqueue)
                    if outcome == STOP:  # the server or the setup is at fault: try nothing else now
                        counts["retrying"] += 1
                        return counts
                    counts[outcome] += 1
            finally:
                _give_back(app, left, worker=worker)  # the batch stopped early: the rest waits for the next run
    return counts


MIN_FREE = 1 << 20
"""Delivery stops when the disk of the ledger (SQLite) or of the outbox folder has less free than this: room
left to mark what was sent and give back what was claimed, which a full disk would refuse."""


def check_room(app: App) -> None:
    """Raise ``SetupError`` when a disk delivery writes to has less than ``MIN_FREE`` bytes free."""
    s = app.settings
    places = [("the ledger", s.db_path)] if app.ledger.dialect == "sqlite" and not s.database_url else []
    if s.mail_transport == "file":
        places.append(("the outbox folder", s.outbox_dir))
    for what, path in places:
        folder = next((p for p in (path, *path.parents) if p.exists()), None)
        if folder is None:
            continue
        st = os.statvfs(folder)
        if st.f_bavail * st.f_frsize < MIN_FREE and not st.f_flag & os.ST_RDONLY:  # read-only: said when written
            raise SetupError(
                f"the disk holding {what} ({path}) is full (less than {MIN_FREE >> 20} MiB free): delivery "
                "stopped while it could still record what it sent; free some space"
            )


def _give_back(app: App, rows: list[Outbox], *, worker: str) -> None:
    """Release untried rows; if even that cannot be written (a full disk), they wait for the claim timeout, and
    the error that stopped the run is the one reported."""
    try:
        release(app, rows, worker=worker)
    except Exception:  # the ledger cannot be written now: say so, keep the first error
        log.info("could not give back %d claimed message(s); they wait for the claim timeout", len(rows))


STOP = "stop"


def _deliver_one(
    app: App, transport: Any, row: Outbox, *, worker: str, fixed: datetime | None, enqueue: Enqueue
) -> str:
    """Send one claimed row and mark it; which count it goes to (``STOP``: retrying, and stop the batch)."""
    try:
        message = build_message(row, app.settings)
        refused = transport.send(message)
    except (HeaderError, PermanentError) as exc:
        _mark_failed(app, row, worker=worker, now=fixed or _now(None), error=str(exc), enqueue=enqueue)
        return "failed"
    except SetupError:  # the setup, not this message: no try charged, the run stops
        _give_back(app, [row], worker=worker)
        raise
    except TemporaryError as exc:
        _mark_retry(app, row, worker=worker, now=fixed or _now(None), error=str(exc))
        return STOP if exc.stop_batch else "retrying"
    except Exception as exc:  # a bug: keep the message, say what happened, stop
        _mark_retry(app, row, worker=worker, now=fixed or _now(None), error=f"{type(exc).__name__}: {exc}")
        raise
    _mark_sent(
        app, row, worker=worker, now=fixed or _now(None), transport=transport.name, refused=refused, enqueue=enqueue
    )
    return "sent"
