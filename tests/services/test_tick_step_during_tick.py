"""A step recorded by another process while the tick runs: the tick queues only the reminders that still hold
in the transaction that queues them (a renewal requested after the tick loaded its candidates gets no renewal
reminder). The other process is a real `apscn request` run; the tick runs in this process, and the test
records the step at a fixed point of it: after the load, or between two of its batches."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from apscn_tracker.ledger.models import District, Event, Outbox
from apscn_tracker.services import connections, districts, renewals
from apscn_tracker.services.setup import init
from apscn_tracker.services.tick import reminders, tick

TODAY = date(2026, 5, 1)  # June 30 minus 60 days: each connection (2025-26 done) is reminded to request 2026-27
LEAS = ("0101000", "0104000", "0401000")


@pytest.fixture
def app(make_app, monkeypatch):
    monkeypatch.setenv("APSCN_MAIL_FROM", "APSCN Tracker <tracker@coop.example>")
    app = make_app(TODAY)
    init(app)
    for lea in LEAS:
        districts.edit_district(app, lea=lea, add_emails=[f"data@{lea}.k12.example"])
        connections.connect(app, lea=lea, vendor="Xello", method="api")
        renewals.record_request(app, lea=lea, year="2025-26", on=date(2025, 6, 2))
        renewals.record_enabled(app, lea=lea, year="2025-26", on=date(2025, 6, 12))
        renewals.record_confirmed(app, lea=lea, year="2025-26", on=date(2025, 6, 13))
    return app


def request_next_year(lea: str) -> None:
    """`apscn request LEA --year next` in a process of its own, on the same ledger."""
    done = subprocess.run(
        [sys.executable, "-m", "apscn_tracker", "request", lea, "--year", "next", "--today", TODAY.isoformat()],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def reminded(app) -> list[str]:
    """The LEA codes with a renewal reminder queued; each reminder queued has its ``reminder_queued`` event."""
    with app.ledger.read() as s:
        queued = list(
            s.execute(
                select(District.lea_code)
                .join(Outbox, Outbox.district_id == District.id)
                .where(Outbox.kind == "renewal_reminder")
                .order_by(District.lea_code)
            ).scalars()
        )
        recorded = list(
            s.execute(
                select(District.lea_code)
                .join(Event, Event.district_id == District.id)
                .where(Event.kind == "reminder_queued")
                .order_by(District.lea_code)
            ).scalars()
        )
    assert recorded == queued
    return queued


def run_tick(app) -> dict:
    with freeze_time(f"{TODAY.isoformat()} 13:00:00", tick=True):
        return tick(app)


def test_a_request_recorded_after_the_tick_loaded_its_candidates_gets_no_renewal_reminder(app, monkeypatch):
    loaded: list[int] = []
    queue = reminders.queue_reminders

    def request_then_queue(app_, candidates, **kw):
        loaded.append(len(candidates))
        request_next_year("0104000")  # the tick has decided; the district renews before it queues
        return queue(app_, candidates, **kw)

    monkeypatch.setattr(reminders, "queue_reminders", request_then_queue)
    result = run_tick(app)
    assert loaded == [3]  # the load saw three renewals to remind
    assert result["queued"]["renewal_reminder"] == 2
    assert reminded(app) == ["0101000", "0401000"]


def test_a_request_recorded_between_two_batches_drops_only_its_own_reminder(app, monkeypatch):
    monkeypatch.setattr(reminders, "BATCH", 1)
    calls: list[str] = []

    def between_batches() -> bool:  # called before each batch, outside its transaction
        calls.append("batch")
        if len(calls) == 2:  # the first batch (0101000) is queued; 0104000 and 0401000 are still to come
            request_next_year("0401000")
        return False

    with freeze_time(f"{TODAY.isoformat()} 13:00:00", tick=True):
        result = tick(app, should_stop=between_batches)
    assert len(calls) >= 3
    assert result["queued"]["renewal_reminder"] == 2
    assert reminded(app) == ["0101000", "0104000"]
    assert sum(run_tick(app)["queued"].values()) == 0  # and the next tick has nothing to add
