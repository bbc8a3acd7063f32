"""The reminder hold: a new ledger queues no district reminders until `apscn reminders start`.

One ``reminder_hold`` row (id 1). No row means running, as on a ledger made before holds existed. While held
(``until`` None, or today on or before ``until``) the tick still rolls over, records its run and queues the
coordinator digest, which says how many reminders would have gone out; districts get nothing. Each change is an
event (``reminders_held`` / ``reminders_started``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from apscn_tracker.errors import InputError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import ReminderHold
from apscn_tracker.services.app import App
from apscn_tracker.services.tick.reminders import load_candidates

ROW = 1


def held_on(session: Session, today: date) -> bool:
    """Whether district reminders are held on ``today``."""
    row = session.get(ReminderHold, ROW)
    return row is not None and row.held and (row.until is None or today <= row.until)


def set_hold(session: Session, app: App, *, held: bool, until: date | None = None, note: str | None = None) -> None:
    """Hold (until ``until``, or until started) or start district reminders, in the caller's transaction."""
    row = session.get(ReminderHold, ROW)
    if row is None:
        row = ReminderHold(id=ROW, held=held, until=until, changed_at=q.utcnow(), changed_by=app.actor)
        session.add(row)
    else:
        row.held, row.until, row.changed_at, row.changed_by = held, until, q.utcnow(), app.actor
    q.add_event(
        session,
        kind="reminders_held" if held else "reminders_started",
        actor=app.actor,
        effective_on=app.today,
        note=note,
        data={"until": until.isoformat()} if until else None,
    )


def start(app: App) -> dict[str, Any]:
    with app.ledger.write() as s:
        was = held_on(s, app.today)
        set_hold(s, app, held=False)
    return {**status(app), "was_held": was}


def pause(app: App, *, until: date | None = None) -> dict[str, Any]:
    if until is not None and until < app.today:
        raise InputError(f"--until {until} is in the past (today is {app.today})")
    with app.ledger.write() as s:
        set_hold(s, app, held=True, until=until)
    return status(app)


def status(app: App) -> dict[str, Any]:
    """Held or running, since when and by whom, and how many district reminders are due today."""
    with app.ledger.read() as s:
        row = s.get(ReminderHold, ROW)
        held = held_on(s, app.today)
        waiting = len(load_candidates(app, s))
    return {
        "held": held,
        "until": row.until.isoformat() if row is not None and held and row.until else None,
        "since": row.changed_at.isoformat(timespec="seconds") if row is not None else None,
        "by": row.changed_by if row is not None else None,
        "due_today": waiting,
        "today": app.today.isoformat(),
    }
