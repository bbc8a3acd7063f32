"""Claiming outbox rows for delivery: a sender takes due rows as its own before it sends them.

A claimed row is ``sending`` with its sender (``claimed_by``) and time (``claimed_at``) and ``attempts + 1``,
taken in one short transaction, so two senders never hold the same row. A row left in ``sending`` longer than
``CLAIM_TIMEOUT`` was left by a sender that died: the next sender takes it again (and resends it with the same
Message-ID). ``mail.delivery`` sends and marks what is claimed here.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, Result, and_, select, update

from apscn_tracker.config import Settings
from apscn_tracker.ledger.db import Ledger
from apscn_tracker.ledger.models import Outbox
from apscn_tracker.mail.outbox import OUTBOX

log = logging.getLogger("apscn_tracker.mail")

CLAIM_TIMEOUT = timedelta(minutes=10)
"""A row in ``sending`` for longer than this was left by a process that died: it is claimed again."""
CLAIM_BATCH = 10
"""Rows claimed at once. Each is still sent, then marked, on its own; rows of a batch that stops early are given
back at once, and a sender that dies leaves at most this many in ``sending`` until ``CLAIM_TIMEOUT``."""
RENEW_AFTER = CLAIM_TIMEOUT / 2
"""A batch still being sent this long after its claim claims the rest of its rows again (a slow server)."""


class App(Protocol):
    """What delivery needs of the application (``services.app.App``): settings, ledger, who acts."""

    settings: Settings
    actor: str

    @property
    def ledger(self) -> Ledger: ...


out_c = OUTBOX.c


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE matched. Its result is a ``CursorResult``; ``Session.execute`` is typed as returning the
    plain ``Result``, which has no ``rowcount``."""
    return cast("CursorResult[Any]", result).rowcount


def _stale(now: datetime):
    """Left in ``sending`` longer than ``CLAIM_TIMEOUT``: its sender died between claim and mark."""
    return and_(out_c.status == "sending", out_c.claimed_at <= now - CLAIM_TIMEOUT)


def _pending(now: datetime):
    """Waiting and due."""
    return and_(out_c.status == "pending", out_c.next_attempt_at <= now)


def claim_batch(app: App, *, worker: str, now: datetime, limit: int) -> list[Outbox]:
    """Take up to ``limit`` due rows for ``worker`` in one transaction, in the order they are to be sent:
    stale ``sending`` rows first, then the oldest due ``pending`` rows, as ``Outbox`` objects (detached: the
    transaction is over; ``attempts`` already counts this try); an empty list when nothing is due.

    For each of the two (stale, then pending): a SELECT of the ids, with one equality on ``status`` so that it
    reads ``ix_outbox_status_next`` in its order and stops after ``limit`` rows (one condition with an OR would
    collect and sort every due row), then an UPDATE .. RETURNING of those ids, in the same transaction. The
    ids are picked first, on their own, because PostgreSQL may run a ``LIMIT`` subquery inside an UPDATE more
    than once and take more rows than asked. On PostgreSQL the pick locks its rows (SKIP LOCKED): two senders
    never wait for, or take, the same row; on SQLite the transaction holds the write lock.
    """
    taken: list[Outbox] = []
    with app.ledger.write() as conn:
        for due in (_stale(now), _pending(now)):
            want = limit - len(taken)
            if want <= 0:
                break
            pick = select(out_c.id).where(due).order_by(out_c.next_attempt_at, out_c.id).limit(want)
            if app.ledger.dialect == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = list(conn.execute(pick).scalars())
            if not ids:
                continue
            claimed = (
                update(OUTBOX)
                .where(out_c.id.in_(ids), due)
                .values(status="sending", claimed_at=now, claimed_by=worker, attempts=out_c.attempts + 1)
                .returning(*OUTBOX.c)
            )
            got = conn.scalars(select(Outbox).from_statement(claimed)).all()
            taken.extend(sorted(got, key=lambda r: (r.next_attempt_at, r.id)))
    return taken


def renew(app: App, rows: list[Outbox], *, worker: str, now: datetime) -> list[Outbox]:
    """Claim ``rows`` again as of ``now``, before their claim looks stale to another sender; returns the rows
    still held (one another sender took after a timeout is dropped, not sent twice)."""
    if not rows:
        return []
    with app.ledger.write() as conn:
        kept = set(
            conn.execute(
                update(OUTBOX)
                .where(out_c.id.in_([r.id for r in rows]), out_c.status == "sending", out_c.claimed_by == worker)
                .values(claimed_at=now)
                .returning(out_c.id)
            ).scalars()
        )
    for r in rows:
        if r.id not in kept:
            log.warning("outbox #%s was taken over by another sender while waiting in this batch", r.id)
    return [r for r in rows if r.id in kept]


def claim(app: App, *, worker: str, now: datetime) -> Outbox | None:
    """Take one due row for ``worker`` (its own transaction); None when nothing is due."""
    found = claim_batch(app, worker=worker, now=now, limit=1)
    return found[0] if found else None


def release(app: App, rows: list[Outbox], *, worker: str) -> None:
    """Give back claimed rows that were not tried (the batch stopped): pending again, the try not counted."""
    if not rows:
        return
    with app.ledger.write() as conn:
        conn.execute(
            update(OUTBOX)
            .where(out_c.id.in_([r.id for r in rows]), out_c.status == "sending", out_c.claimed_by == worker)
            .values(status="pending", claimed_at=None, claimed_by=None, attempts=out_c.attempts - 1)
        )
