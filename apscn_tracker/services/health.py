"""What ``/healthz`` tells a monitor: when the tick last ran and how it ended, how much mail waits or failed.
Counts and times only: no address, no setting, no secret."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from apscn_tracker.ledger.models import Outbox, TickRun
from apscn_tracker.services.app import App

TICK, OUTBOX = TickRun.__table__.c, Outbox.__table__.c


def health(app: App) -> dict[str, Any]:
    with app.ledger.read() as s:
        last = s.execute(
            select(TICK.today, TICK.started_at, TICK.finished_at, TICK.ok).order_by(TICK.id.desc()).limit(1)
        ).first()
        counts = dict(
            s.execute(
                select(OUTBOX.status, func.count())
                .where(OUTBOX.status.in_(("pending", "sending", "failed")))
                .group_by(OUTBOX.status)
            ).all()
        )
    tick = None
    if last is not None:
        today, started, finished, ok = last
        tick = {
            "today": today.isoformat(),
            "started_at": started.isoformat(),
            "finished_at": finished.isoformat() if finished else None,
            "ok": bool(ok),
        }
    return {
        "status": "ok",
        "today": app.today.isoformat(),
        "last_tick": tick,
        "mail": {
            "pending": counts.get("pending", 0),
            "sending": counts.get("sending", 0),
            "failed": counts.get("failed", 0),
        },
    }
