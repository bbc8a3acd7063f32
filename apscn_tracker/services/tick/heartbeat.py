"""Phase 5, the heartbeat: a ``TickRun`` row opened when a tick starts and closed with its counts, so
``apscn doctor`` and the scheduler's catch-up can tell when the loop last ran and how it ended."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import TickRun
from apscn_tracker.mail.owners import worker_id
from apscn_tracker.services.app import App

run_t = TickRun.__table__.c


def start_heartbeat(app: App, started: datetime) -> int:
    """Open the row of a run (not ok until it finishes); returns its id."""
    with app.ledger.write() as s:
        # who runs it, until its counts replace this: a run whose process is gone was killed (``doctor``)
        run = TickRun(today=app.today, started_at=started, ok=False, counts=json.dumps({"running": worker_id()}))
        s.add(run)
        s.flush()
        return int(run.id)  # type: ignore[arg-type]


def finish_heartbeat(app: App, run_id: int, *, ok: bool, counts: dict[str, Any], error: str | None) -> None:
    with app.ledger.write() as s:
        run = s.get(TickRun, run_id)
        if run is None:
            return
        run.finished_at = q.utcnow()
        run.ok = ok
        run.counts = json.dumps(counts, sort_keys=True, default=str)
        run.error = error


def last_tick(app: App, *, ok_only: bool = False) -> dict[str, Any] | None:
    """The latest heartbeat row (the latest finished one with ``ok_only``)."""
    with app.ledger.read() as s:  # a read: no write lock, no wait behind a running tick
        stmt = select(TickRun).order_by(run_t.id.desc()).limit(1)
        if ok_only:
            stmt = stmt.where(run_t.ok.is_(True))
        run = s.scalars(stmt).first()
        if run is None:
            return None
        return {
            "today": run.today.isoformat(),
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "ok": run.ok,
            "counts": json.loads(run.counts) if run.counts else None,
            "error": run.error,
        }
