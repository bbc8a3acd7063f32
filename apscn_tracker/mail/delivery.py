"""Deliver what the outbox holds: claim, send, mark, in that order, each step in its own short transaction.

- Claim: one due row (pending and due, or left in ``sending`` longer than ``CLAIM_TIMEOUT`` by a process that
  died) becomes ``sending`` with ``attempts + 1`` in a single UPDATE, so two senders never hold the same row.
- Send through the configured transport.
- Mark: ``sent`` (and a ``message_sent`` event); or back to ``pending`` with an exponential backoff after a
  temporary failure (it stays queued however long the server is down; after ``max_attempts`` tries the
  coordinator digest lists it); or ``failed`` after a permanent refusal, with a ``delivery_failed`` notice
  queued for the coordinator (unless the coordinator was the one refused).

A crash between send and mark leaves the row in ``sending``: it is claimed again after the timeout and resent
with the same Message-ID, so the receiving side can recognise the duplicate.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, Result, and_, select, update
from sqlmodel import col

from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Outbox
from apscn_tracker.mail.message import HeaderError, address_emails, build_message, check_sender
from apscn_tracker.mail.outbox import as_utc
from apscn_tracker.mail.transports import PermanentError, TemporaryError, make_transport

if TYPE_CHECKING:
    from apscn_tracker.services.app import App

log = logging.getLogger("apscn_tracker.mail")

CLAIM_TIMEOUT = timedelta(minutes=10)
"""A row in ``sending`` for longer than this was left by a process that died: it is claimed again."""
BASE_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=6)
CRASH_AFTER_SEND_ENV = "APSCN_TEST_CRASH_AFTER_SEND"
"""Fault injection for the tests: when set, the process exits right after a send, before the mark."""


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


def _stale(now: datetime):
    """Left in ``sending`` longer than ``CLAIM_TIMEOUT``: its sender died between claim and mark."""
    return and_(col(Outbox.status) == "sending", col(Outbox.claimed_at) <= now - CLAIM_TIMEOUT)


def _pending(now: datetime):
    """Waiting and due."""
    return and_(col(Outbox.status) == "pending", col(Outbox.next_attempt_at) <= now)


def claim(app: App, *, worker: str, now: datetime) -> Outbox | None:
    """Take one due row for ``worker`` (its own transaction); None when nothing is due.

    A stale ``sending`` row first, else the oldest due ``pending`` row: two statements, each with one equality
    on ``status``, so each reads ``ix_outbox_status_next`` in its order and stops at the first row (one
    condition with an OR would collect and sort every due row on each claim).
    """
    with app.ledger.transaction() as s:
        for due in (_stale(now), _pending(now)):
            pick = select(col(Outbox.id)).where(due).order_by(col(Outbox.next_attempt_at), col(Outbox.id)).limit(1)
            if app.ledger.dialect == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            stmt = (
                update(Outbox)
                .where(col(Outbox.id) == pick.scalar_subquery(), due)
                .values(status="sending", claimed_at=now, claimed_by=worker, attempts=col(Outbox.attempts) + 1)
                .returning(col(Outbox.id))
                .execution_options(synchronize_session=False)
            )
            row_id = s.execute(stmt).scalar()
            if row_id is not None:
                return s.scalars(
                    select(Outbox).where(col(Outbox.id) == row_id).execution_options(populate_existing=True)
                ).one()
        return None


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE matched. Its result is a ``CursorResult``; ``Session.execute`` is typed as returning the
    plain ``Result``, which has no ``rowcount``."""
    return cast("CursorResult[Any]", result).rowcount


def _mine(row: Outbox, worker: str):
    return and_(col(Outbox.id) == row.id, col(Outbox.status) == "sending", col(Outbox.claimed_by) == worker)


def _mark_sent(app: App, row: Outbox, *, worker: str, now: datetime, transport: str, refused: dict[str, str]) -> None:
    note = "refused: " + "; ".join(f"{a}: {why}" for a, why in refused.items()) if refused else None
    with app.ledger.transaction() as s:
        done = _rowcount(
            s.execute(
                update(Outbox)
                .where(col(Outbox.id) == row.id, col(Outbox.status) != "sent")
                .values(status="sent", sent_at=now, last_error=note)
                .execution_options(synchronize_session=False)
            )
        )
        if not done:  # another sender took the row after our claim timed out and marked it first
            log.warning("outbox #%s was already marked sent by another sender", row.id)
            return
        q.add_event(
            s,
            kind="message_sent",
            actor=app.actor,
            district_id=row.district_id,
            vendor_id=row.vendor_id,
            school_year=row.school_year,
            note=f"{row.kind} to {row.to_addrs}" + (f" ({note})" if note else ""),
            data={
                "outbox_id": row.id,
                "kind": row.kind,
                "message_id": row.message_id,
                "transport": transport,
                "attempts": row.attempts,
            },
        )
        if refused:
            _notify_coordinator(s, app, row, now=now, error=note or "", refused=list(refused))
    log.info("sent outbox #%s (%s) to %s", row.id, row.kind, row.to_addrs)


def _mark_retry(app: App, row: Outbox, *, worker: str, now: datetime, error: str) -> datetime:
    wait = backoff(row.attempts)
    at = now + wait
    with app.ledger.transaction() as s:
        s.execute(
            update(Outbox)
            .where(_mine(row, worker))
            .values(status="pending", next_attempt_at=at, last_error=error, claimed_at=None, claimed_by=None)
            .execution_options(synchronize_session=False)
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


def _mark_failed(app: App, row: Outbox, *, worker: str, now: datetime, error: str) -> None:
    with app.ledger.transaction() as s:
        done = _rowcount(
            s.execute(
                update(Outbox)
                .where(_mine(row, worker))
                .values(status="failed", last_error=error)
                .execution_options(synchronize_session=False)
            )
        )
        if not done:
            return
        q.add_event(
            s,
            kind="message_failed",
            actor=app.actor,
            district_id=row.district_id,
            vendor_id=row.vendor_id,
            school_year=row.school_year,
            note=f"{row.kind} to {row.to_addrs}: {error}",
            data={"outbox_id": row.id, "kind": row.kind, "message_id": row.message_id},
        )
        _notify_coordinator(s, app, row, now=now, error=error, refused=None)
    log.warning("outbox #%s (%s) failed for good: %s", row.id, row.kind, error)


def _notify_coordinator(s: Any, app: App, row: Outbox, *, now: datetime, error: str, refused: list[str] | None) -> None:
    """Queue a ``delivery_failed`` notice, unless there is no coordinator or the coordinator was refused."""
    coordinator = (app.settings.coordinator_email or "").strip().lower()
    if not coordinator or row.kind == "delivery_failed":
        return
    try:
        to = address_emails(row.to_addrs)
    except HeaderError:
        to = []
    if coordinator in ([a.lower() for a in refused] if refused is not None else to):
        return
    from apscn_tracker.services.messages import queue_message

    queue_message(
        s,
        app,
        key=f"delivery_failed:{row.id}",
        kind="delivery_failed",
        district_id=row.district_id,
        vendor_id=row.vendor_id,
        school_year=row.school_year,
        extra={
            "failed": {
                "id": row.id,
                "kind": row.kind,
                "subject": row.subject,
                "to": row.to_addrs,
                "cc": row.cc_addrs,
                "error": error,
                "refused": refused or [],
                "partial": refused is not None,
                "created_at": as_utc(row.created_at),
                "message_id": row.message_id,
            }
        },
        now=now,
    )


def _crash_hook() -> None:
    if os.environ.get(CRASH_AFTER_SEND_ENV):
        os._exit(70)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def deliver_pending(app: App, *, now: datetime | None = None, limit: int | None = None) -> dict[str, int]:
    """Deliver every due message (at most ``limit``) through the configured transport, one connection.

    ``now`` (aware UTC) fixes the clock for rehearsals and tests; by default the real time of each step.
    Returns counts: ``sent``, ``failed`` (refused for good), ``retrying`` (back in the queue for later).
    """
    fixed = _now(now) if now is not None else None
    counts = {"sent": 0, "failed": 0, "retrying": 0}
    check_sender(app.settings)  # a wrong mail_from is a setup problem: claim nothing
    worker = worker_id()
    transport = make_transport(app.settings)
    handled = 0
    with transport:
        while limit is None or handled < limit:
            row = claim(app, worker=worker, now=fixed or _now(None))
            if row is None:
                break
            handled += 1
            try:
                message = build_message(row, app.settings)
                refused = transport.send(message)
            except (HeaderError, PermanentError) as exc:
                _mark_failed(app, row, worker=worker, now=fixed or _now(None), error=str(exc))
                counts["failed"] += 1
                continue
            except TemporaryError as exc:
                _mark_retry(app, row, worker=worker, now=fixed or _now(None), error=str(exc))
                counts["retrying"] += 1
                if exc.stop_batch:
                    break
                continue
            except Exception as exc:  # a bug: keep the message, say what happened, stop
                _mark_retry(app, row, worker=worker, now=fixed or _now(None), error=f"{type(exc).__name__}: {exc}")
                counts["retrying"] += 1
                raise
            _crash_hook()
            _mark_sent(app, row, worker=worker, now=fixed or _now(None), transport=transport.name, refused=refused)
            counts["sent"] += 1
    return counts
