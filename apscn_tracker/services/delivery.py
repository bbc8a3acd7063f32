"""Deliver what is due in the outbox (``mail.delivery``), with the coordinator's ``delivery_failed`` notices
queued through ``queue_message`` like every other email, and a message tried before readdressed to the
contacts the ledger names now (``services.readdress``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from apscn_tracker.ledger.models import Outbox
from apscn_tracker.mail.delivery import deliver_due
from apscn_tracker.services.app import App
from apscn_tracker.services.messages import queue_message
from apscn_tracker.services.readdress import readdress


def deliver_pending(
    app: App, *, now: datetime | None = None, limit: int | None = None, counts: dict[str, Any] | None = None
) -> dict[str, int]:
    """Deliver every due message (at most ``limit``) through the configured transport; counts ``sent``,
    ``failed`` (refused for good) and ``retrying``, added to ``counts`` as they happen when it is given (they stay
    true when the run stops on an error). ``now`` (aware UTC) fixes the clock for rehearsals and tests."""

    def enqueue(session: Session, **message: Any) -> object:
        return queue_message(session, app, **message)

    def again(session: Session, rows: list[Outbox]) -> None:
        readdress(session, app, rows)

    return deliver_due(app, enqueue=enqueue, now=now, limit=limit, counts=counts, readdress=again)
