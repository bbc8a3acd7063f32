"""Phase 4, delivery: what is due in the outbox (retries included), a batch at a time. The scheduler runs it on
its own as well, every few minutes."""

from __future__ import annotations

from typing import Any

from apscn_tracker.services.app import App
from apscn_tracker.services.delivery import deliver_pending
from apscn_tracker.services.tick.base import StopFlag, never

DELIVERY_BATCH = 10  # messages per delivery call and SMTP connection (a stop request waits for at most one)


COUNTS = ("sent", "failed", "retrying")


def deliver(app: App, *, should_stop: StopFlag = never, counts: dict[str, Any] | None = None) -> dict[str, int]:
    """Deliver what is due, ``DELIVERY_BATCH`` messages at a time, until nothing is due or a stop request.
    The counts are added to ``counts`` (when given) message by message: if an error stops the run (a mail setup
    problem, a full disk), they still say what was sent before it."""
    total: dict[str, Any] = counts if counts is not None else dict.fromkeys(COUNTS, 0)
    while not should_stop():
        before = sum(int(total[k]) for k in COUNTS)
        deliver_pending(app, limit=DELIVERY_BATCH, counts=total)
        if sum(int(total[k]) for k in COUNTS) - before < DELIVERY_BATCH:
            break
    return {k: int(total[k]) for k in COUNTS}
