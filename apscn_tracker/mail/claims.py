"""Claiming outbox rows for delivery: a sender takes due rows as its own before it sends them.

A claimed row is ``sending`` with its sender (``claimed_by``) and time (``claimed_at``) and ``attempts + 1``,
taken in one short transaction, so two senders never hold the same row. A row whose sender is provably gone
(it ran on this host and its process no longer exists: ``mail.owners``) is taken again by the next sender at
once; a row left in ``sending`` longer than ``CLAIM_TIMEOUT`` (its sender on another host died, or cannot be
told apart from a live one) is taken again after that timeout. Either is resent with the same Message-ID.
``mail.delivery`` sends and marks what is claimed here.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, Result, and_, select, update
from sqlalchemy.orm import Session

from apscn_tracker.config import Settings
from apscn_tracker.ledger.db import Ledger
from apscn_tracker.ledger.models import Outbox
from apscn_tracker.mail.outbox import OUTBOX
from apscn_tracker.mail.owners import CLAIM_TIMEOUT, gone, this_host

log = logging.getLogger("apscn_tracker.mail")

__all__ = [
    "CLAIM_BATCH",
    "CLAIM_TIMEOUT",
    "RENEW_AFTER",
    "App",
    "claim",
    "claim_batch",
    "out_c",
    "release",
    "renew",
    "rowcount",
]

CLAIM_BATCH = 10
"""Rows claimed at once. Each is still sent, then marked, on its own; rows of a batch that stops early are given
back at once, and a sender that dies leaves at most this many in ``sending`` until the next sender on its host
(or, from another host, ``CLAIM_TIMEOUT``)."""
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


def _held_by_gone(ids: list[int]):
    """Claimed by a sender that is gone (``_gone_ids``)."""
    return and_(out_c.status == "sending", out_c.id.in_(ids))


def _gone_ids(conn: Session, now: datetime) -> list[int]:
    """The rows in ``sending``, not stale yet, whose sender ran on this host and is gone (``owners.gone``). Reads
    the few rows in ``sending`` that name this host; each holder is checked once."""
    found = conn.execute(
        select(out_c.id, out_c.claimed_by).where(
            out_c.status == "sending",
            out_c.claimed_at > now - CLAIM_TIMEOUT,
            out_c.claimed_by.startswith(f"{this_host()}:", autoescape=True),
        )
    ).all()
    verdict: dict[str, bool] = {}
    ids = []
    for row_id, holder in found:
        if holder not in verdict:
            verdict[holder] = gone(holder)
            if verdict[holder]:
                log.warning("taking back the messages claimed by %s: that sender on this host is gone", holder)
        if verdict[holder]:
            ids.append(row_id)
    return ids


def _pending(now: datetime):
    """Waiting and due."""
    return and_(out_c.status == "pending", out_c.next_attempt_at <= now)


def claim_batch(app: App, *, worker: str, now: datetime, limit: int) -> list[Outbox]:
    """Take up to ``limit`` due rows for ``worker`` in one transaction, in the order they are to be sent:
    ``sending`` rows of a sender that is gone, then stale ``sending`` rows, then the oldest due ``pending`` rows,
    as ``Outbox`` objects (detached: the transaction is over; ``attempts`` already counts this try); an empty list
    when nothing is due.

    For each of the three: a SELECT of the ids, with one equality on ``status`` so that it
    reads ``ix_outbox_status_next`` in its order and stops after ``limit`` rows (one condition with an OR would
    collect and sort every due row), then an UPDATE .. RETURNING of those ids, in the same transaction. The
    ids are picked first, on their own, because PostgreSQL may run a ``LIMIT`` subquery inside an UPDATE more
    than once and take more rows than asked. On PostgreSQL the pick locks its rows (SKIP LOCKED): two senders
    never wait for, or take, the same row; on SQLite the transaction holds the write lock.
    """
    taken: list[Outbox] = []
    with app.ledger.write() as conn:
        dead = _gone_ids(conn, now)
        for due in (*([_held_by_gone(dead)] if dead else []), _stale(now), _pending(now)):
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
