"""Phase 4, delivery: what is due in the outbox (retries included), a batch at a time. The scheduler runs it on
its own as well, every few minutes."""

from __future__ import annotations

from apscn_tracker.services.app import App
from apscn_tracker.services.delivery import deliver_pending
from apscn_tracker.services.tick.base import StopFlag, never

DELIVERY_BATCH = 10  # messages per delivery call and SMTP connection (a stop request waits for at most one)


def deliver(app: App, *, should_stop: StopFlag = never) -> dict[str, int]:
    """Deliver what is due, ``DELIVERY_BATCH`` messages at a time, until nothing is due or a stop request."""
    total = {"sent": 0, "failed": 0, "retrying": 0}
    while not should_stop():
        got = deliver_pending(app, limit=DELIVERY_BATCH)
        for k in total:
            total[k] += int(got.get(k, 0))
        if sum(int(v) for v in got.values()) < DELIVERY_BATCH:
            break
    return total
