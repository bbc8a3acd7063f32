"""Deliver what the outbox holds: claim, send, mark, in that order, each step in its own short transaction.

- Claim: a few due rows (pending and due, or left in ``sending`` longer than ``CLAIM_TIMEOUT`` by a process that
  died) become ``sending`` with ``attempts + 1`` in a single UPDATE, so two senders never hold the same row.
- Send each through the configured transport, then
- mark it: ``sent`` (and a ``message_sent`` event); or back to ``pending`` with an exponential backoff after a
  temporary failure (it stays queued however long the server is down; after ``max_attempts`` tries the
  coordinator digest lists it); or ``failed`` after a permanent refusal, with a ``delivery_failed`` notice
  queued for the coordinator (unless the coordinator was the one refused).

Each recipient's answer is kept (``mail.outcomes``): a message is ``sent`` only when every To recipient was
accepted; one refused for now is tried again alone; a To refused for good makes it ``failed``. The marks are
``mail.marks``. Queuing the coordinator's notice (recipients, context, rendering) is the service layer's: it
hands ``deliver_due`` an ``Enqueue`` callback, which runs in the transaction that marks the row, and a
``Readdress`` callback that gives a message tried before the current contacts. Mail never imports the services.

A setup problem (``SetupError``) is remembered in the ledger (``mail.setup_state``): ``doctor`` says it, and after
a refused login delivery pauses until the mail settings change.

A crash between send and mark leaves the row in ``sending``: the next sender on the same host claims it again at
once (its worker id, ``mail.owners.worker_id``, names a process that is gone), a sender elsewhere after the
timeout; it is resent with the same Message-ID, so the receiving side can recognise the duplicate.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from apscn_tracker.ledger.models import Outbox
from apscn_tracker.mail import outcomes, setup_state
from apscn_tracker.mail.claims import CLAIM_BATCH, RENEW_AFTER, App, claim_batch, release, renew
from apscn_tracker.mail.marks import (
    BASE_DELAY,
    MAX_DELAY,
    Enqueue,
    backoff,
    failure_notice,
    mark_failed,
    mark_retry,
    settle,
)
from apscn_tracker.mail.message import HeaderError, build_message, check_sender, envelope_sender
from apscn_tracker.mail.owners import worker_id
from apscn_tracker.mail.transports import PermanentError, SetupError, TemporaryError, make_transport

log = logging.getLogger("apscn_tracker.mail")

__all__ = [
    "BASE_DELAY",
    "MAX_DELAY",
    "MIN_FREE",
    "Enqueue",
    "Readdress",
    "backoff",
    "check_room",
    "deliver_due",
    "failure_notice",
]

Readdress = Callable[[Session, list[Outbox]], None]
"""Gives rows tried before their current recipients, in the caller's write transaction (``services.readdress``)."""


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime (UTC)")
    return now.astimezone(UTC)


def deliver_due(
    app: App,
    *,
    enqueue: Enqueue,
    now: datetime | None = None,
    limit: int | None = None,
    counts: dict[str, Any] | None = None,
    readdress: Readdress | None = None,
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
    sender = envelope_sender(app.settings)
    known = setup_state.check(app)  # paused after a refused login: raises, nothing claimed
    worked: list[bool] = []
    try:
        _deliver(app, enqueue, fixed, limit, counts, readdress, sender, worked)
    except SetupError as exc:
        setup_state.remember(app, exc)
        raise
    if known and worked:  # the setup works again
        setup_state.forget(app)
    return counts


def _deliver(
    app: App,
    enqueue: Enqueue,
    fixed: datetime | None,
    limit: int | None,
    counts: dict[str, Any],
    readdress: Readdress | None,
    sender: str,
    worked: list[bool],
) -> None:
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
                again = [r for r in batch if r.attempts > 1]  # tried before: to the recipients of today
                if readdress is not None and again:
                    with app.ledger.write() as s:
                        readdress(s, again)
                while left:
                    moment = fixed or _now(None)
                    if moment - claimed_at >= RENEW_AFTER:  # a slow server: keep the rest of the batch ours
                        left, claimed_at = renew(app, left, worker=worker, now=moment), moment
                        if not left:
                            break
                    check_room(app)  # the rest of the batch is given back below while that still fits
                    row = left.pop(0)
                    outcome = _deliver_one(
                        app, transport, row, worker=worker, fixed=fixed, enqueue=enqueue, sender=sender
                    )
                    if outcome == STOP:  # the server or the setup is at fault: try nothing else now
                        counts["retrying"] += 1
                        return
                    worked.append(True)
                    counts[outcome] += 1
            finally:
                _give_back(app, left, worker=worker)  # the batch stopped early: the rest waits for the next run


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
    app: App, transport: Any, row: Outbox, *, worker: str, fixed: datetime | None, enqueue: Enqueue, sender: str
) -> str:
    """Send one claimed row to the recipients who have not received it, and mark it; which count it goes to
    (``STOP``: retrying, and stop the batch)."""
    states = outcomes.load(row)
    tried = outcomes.still_to_send(row, states)
    try:
        message = build_message(row, app.settings)
        refused = transport.send(message, sender=sender, recipients=tried) if tried else {}
    except HeaderError as exc:
        mark_failed(app, row, worker=worker, now=fixed or _now(None), error=str(exc), enqueue=enqueue)
        return "failed"
    except SetupError:  # the setup, not this message: no try charged, the run stops
        _give_back(app, [row], worker=worker)
        raise
    except PermanentError as exc:  # the message itself refused (at DATA): for every recipient of this try
        refused = {a: (exc.code or 550, str(exc)) for a in tried}
    except TemporaryError as exc:
        mark_retry(app, row, worker=worker, now=fixed or _now(None), error=str(exc))
        return STOP if exc.stop_batch else "retrying"
    except Exception as exc:  # a bug: keep the message, say what happened, stop
        mark_retry(app, row, worker=worker, now=fixed or _now(None), error=f"{type(exc).__name__}: {exc}")
        raise
    return settle(
        app,
        row,
        worker=worker,
        now=fixed or _now(None),
        transport=transport.name,
        tried=tried,
        refused=refused,
        states=states,
        enqueue=enqueue,
    )
